#!/usr/bin/env bash
# Installs every Debian package the build, tests and benchmarks need.
# Idempotent: runs `apt-get update` only when something is missing.
# `setup.sh fuzz` also installs clang (libFuzzer) for `make fuzz`.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  librust-blake3-dev b3sum
  libzstd-dev liblz4-dev libssl-dev libisal-dev
  libsqlite3-dev sqlite3 libpq-dev postgresql-15 libcurl4-openssl-dev
  ceph-mon ceph-osd ceph-mgr radosgw ceph-common
  libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nasm clang-format
  libboost-dev libpugixml-dev
  awscli rclone s3cmd python3-boto3 restic curl wrk nginx-light skopeo
)
if [ "${1:-}" = fuzz ]; then PACKAGES+=(clang); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

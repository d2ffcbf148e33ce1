# Encryption at rest through S3 (docs/format/encryption.md): SSE-S3 headers
# on an encrypted tenant, S3's refusals of SSE-KMS, SSE-C and of encryption
# in a tenant without it (nothing stored), and no plaintext, digest or ETag
# of what awscli uploaded in the store's files.

# start_encrypted_server: tenants alice (encrypted) and bob (plain) in a
# store whose master key is $TMP/master.key.
start_encrypted_server() {
  head -c 32 /dev/urandom > "$TMP/master.key"
  chmod 600 "$TMP/master.key"
  export ARTIFACT_STORE_MASTER_KEY_FILE=$TMP/master.key
  ALICE_ADD_ARGS=--encrypt start_server
}

test_encryption_sse_headers_and_refusals() {
  need_client aws
  start_encrypted_server
  rand_file "$TMP/f" 300000 sse
  awsa s3 mb s3://enc >/dev/null
  awsb s3 mb s3://plain >/dev/null
  # Encrypted tenant: AES256 asked for or not, GET/HEAD say AES256.
  awsa s3 cp "$TMP/f" s3://enc/asked --sse AES256 >/dev/null
  awsa s3 cp "$TMP/f" s3://enc/implied >/dev/null
  local h
  for k in asked implied; do
    h=$(awsa s3api head-object --bucket enc --key $k)
    expect_in "$h" '"ServerSideEncryption": "AES256"'
    awsa s3 cp s3://enc/$k "$TMP/back" >/dev/null
    cmp "$TMP/f" "$TMP/back"
  done
  h=$(awsa s3api get-bucket-encryption --bucket enc)
  expect_in "$h" '"SSEAlgorithm": "AES256"'
  # A multipart upload (20 MiB: awscli's parts) asking for AES256.
  rand_file "$TMP/big" $((20 << 20)) big
  awsa s3 cp "$TMP/big" s3://enc/big --sse AES256 >/dev/null
  awsa s3 cp s3://enc/big "$TMP/big.back" >/dev/null
  cmp "$TMP/big" "$TMP/big.back"
  # SSE-KMS and SSE-C: not implemented, nothing stored.
  expect_fail awsa s3 cp "$TMP/f" s3://enc/kms --sse aws:kms
  expect_in "$ERR" NotImplemented
  expect_fail awsa s3api put-object --bucket enc --key ssec --body "$TMP/f" \
    --sse-customer-algorithm AES256 --sse-customer-key 01234567890123456789012345678901
  expect_in "$ERR" NotImplemented
  expect_fail awsa s3api create-multipart-upload --bucket enc --key kms-mp --server-side-encryption aws:kms
  expect_in "$ERR" NotImplemented
  for k in kms ssec kms-mp; do
    expect_fail awsa s3api head-object --bucket enc --key $k
  done
  h=$(awsa s3api list-multipart-uploads --bucket enc)
  expect_not_in "$h" kms-mp
  # A plain tenant: no SSE header, AES256 refused (nothing would encrypt it).
  awsb s3 cp "$TMP/f" s3://plain/f >/dev/null
  h=$(awsb s3api head-object --bucket plain --key f)
  expect_not_in "$h" ServerSideEncryption
  expect_fail awsb s3 cp "$TMP/f" s3://plain/asked --sse AES256
  expect_in "$ERR" InvalidArgument
  expect_fail awsb s3api head-object --bucket plain --key asked
  expect_fail awsb s3api get-bucket-encryption --bucket plain
  expect_in "$ERR" ServerSideEncryptionConfigurationNotFoundError
}

test_encryption_no_plaintext_in_the_store_files() {
  need_client aws
  [ -z "${ARTIFACT_STORE_PACKS:-}" ] || skip "packs on S3: the files searched are DIR/packs"
  [ -z "${ARTIFACT_STORE_METADATA:-}" ] || skip "metadata on PostgreSQL: the files searched are DIR's"
  start_encrypted_server
  mkdir -p "$TMP/up"
  rand_file "$TMP/up/random.bin" 1500000 r1
  seq 1 300000 > "$TMP/up/text.txt"
  tar -C "$CLIENTS_DIR" -cf "$TMP/up/clients.tar" lib.sh aws_test.sh boto3_suite.py
  rand_file "$TMP/up/multipart.bin" $((12 << 20)) mp
  awsa s3 mb s3://enc >/dev/null
  awsa s3 mb s3://plainbytes-in-alice >/dev/null
  for f in random.bin text.txt clients.tar multipart.bin; do
    awsa s3api put-object --bucket enc --key "$f" --body "$TMP/up/$f" \
      --metadata "secret-note=do-not-show-me" --content-type application/x-secret-type >/dev/null
  done
  awsa s3 cp "$TMP/up/multipart.bin" s3://enc/mp-copy --sse AES256 >/dev/null  # multipart
  awsa s3 cp s3://enc/text.txt "$TMP/text.back" >/dev/null
  cmp "$TMP/up/text.txt" "$TMP/text.back"
  # The control: what bob (a plain tenant) stores the same search finds, so
  # the search can fail.
  rand_file "$TMP/bob-only.bin" 300000 bob
  awsb s3 mb s3://plain >/dev/null
  awsb s3 cp "$TMP/bob-only.bin" s3://plain/bob-only.bin >/dev/null
  stop_server
  "$PY" - "$TMP/store" "$TMP/up" "$TMP/bob-only.bin" <<'PY'
import hashlib, os, subprocess, sys
store, up, control = sys.argv[1], sys.argv[2], sys.argv[3]
blobs = {}
for root, _, files in os.walk(store):
    for f in files:
        p = os.path.join(root, f)
        with open(p, "rb") as fh:
            blobs[p] = fh.read()
def found(needle):
    return [p for p, b in blobs.items() if needle in b]
bad = []
for name in sorted(os.listdir(up)):
    data = open(os.path.join(up, name), "rb").read()
    for off in range(0, len(data) - 16, 4093):
        window = data[off:off + 16]
        if len(set(window)) < 4:
            continue  # runs of zeros (tar padding) are in every file
        hits = found(window)
        if hits:
            bad.append(f"{name}: plaintext at {off} in {hits[0]}")
            break
    b3 = subprocess.run(["b3sum", "--no-names", os.path.join(up, name)], capture_output=True,
                        text=True, check=True).stdout.strip()
    md5 = hashlib.md5(data).hexdigest()
    sha = hashlib.sha256(data).digest()
    for label, needle in (("BLAKE3 hex", b3.encode()), ("BLAKE3", bytes.fromhex(b3)),
                          ("MD5 ETag", md5.encode()), ("MD5", bytes.fromhex(md5)),
                          ("SHA-256", sha)):
        hits = found(needle)
        if hits:
            bad.append(f"{name}: {label} in {hits[0]}")
for label, needle in (("user metadata", b"do-not-show-me"), ("content type", b"application/x-secret-type")):
    hits = found(needle)
    if hits:
        bad.append(f"{label} in {hits[0]}")
ctl = open(control, "rb").read()
if not found(ctl[4093:4093 + 16]):
    bad.append("control: a plain tenant's bytes were not found: the search finds nothing")
ctl_b3 = subprocess.run(["b3sum", "--no-names", control], capture_output=True, text=True,
                        check=True).stdout.strip()
if not found(bytes.fromhex(ctl_b3)):
    bad.append("control: a plain tenant's content digest was not found")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"searched {len(blobs)} files: nothing found")
PY
}

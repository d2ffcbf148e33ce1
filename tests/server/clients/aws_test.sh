# awscli v2 (/usr/bin/aws): the high-level `aws s3` commands and the
# multipart, range and head calls of `aws s3api`.

test_aws_s3_cp_ls_rm_sync() {
  need_client aws
  start_server
  make_tree "$TMP/src"
  awsa s3 mb s3://awsbkt >/dev/null
  # One file by name, with a space and unicode in the key.
  awsa s3 cp "$TMP/src/ünïcödé ☃.bin" "s3://awsbkt/single/ünïcödé ☃.bin" >/dev/null
  awsa s3 cp "s3://awsbkt/single/ünïcödé ☃.bin" "$TMP/one.bin" >/dev/null
  cmp "$TMP/src/ünïcödé ☃.bin" "$TMP/one.bin"
  # A tree up and down again.
  awsa s3 sync "$TMP/src" s3://awsbkt/tree >/dev/null
  awsa s3 ls --recursive s3://awsbkt/tree/ > "$TMP/ls"
  local n
  n=$(wc -l < "$TMP/ls")
  [ "$n" -eq 9 ] || fail "ls --recursive lists $n objects, want 9: $(cat "$TMP/ls")"
  expect_in "$(cat "$TMP/ls")" "tree/nested/deeper/file 2.dat"
  expect_in "$(cat "$TMP/ls")" "tree/ünï/€uro.txt"
  expect_in "$(cat "$TMP/ls")" "tree/a+b&c=d.txt"
  awsa s3 sync s3://awsbkt/tree "$TMP/dst" >/dev/null
  diff -r "$TMP/src" "$TMP/dst"
  # Sizes and LastModified must satisfy sync: nothing left to copy either way.
  local out
  out=$(awsa s3 sync "$TMP/src" s3://awsbkt/tree)
  [ -z "$out" ] || fail "second upload sync copied files: $out"
  out=$(awsa s3 sync s3://awsbkt/tree "$TMP/dst")
  [ -z "$out" ] || fail "second download sync copied files: $out"
  # Delimited listing: folders as PRE, files with their sizes.
  awsa s3 ls s3://awsbkt/tree/ > "$TMP/ls1"
  expect_in "$(cat "$TMP/ls1")" "PRE nested/"
  expect_in "$(cat "$TMP/ls1")" "PRE sp ace/"
  grep -q " 2000 with space.txt\$" "$TMP/ls1" || fail "ls: $(cat "$TMP/ls1")"
  # A changed file goes up again; --delete removes what is gone locally.
  rand_file "$TMP/src/plain.txt" 1500 changed
  rm "$TMP/src/sp ace/y z.txt"
  awsa s3 sync --delete "$TMP/src" s3://awsbkt/tree >/dev/null
  awsa s3 cp s3://awsbkt/tree/plain.txt "$TMP/plain" >/dev/null
  cmp "$TMP/src/plain.txt" "$TMP/plain"
  expect_fail awsa s3api head-object --bucket awsbkt --key "tree/sp ace/y z.txt"
  # rm one, then the rest, then the bucket.
  awsa s3 rm "s3://awsbkt/tree/with space.txt" >/dev/null
  out=$(awsa s3 ls --recursive s3://awsbkt/tree/)
  expect_not_in "$out" "with space.txt"
  awsa s3 rm --recursive s3://awsbkt/ >/dev/null
  out=$(awsa s3 ls --recursive s3://awsbkt/ || true)
  [ -z "$out" ] || fail "rm --recursive left objects: $out"
  awsa s3 rb s3://awsbkt >/dev/null
  out=$(awsa s3 ls)
  expect_not_in "$out" awsbkt
}

test_aws_s3_cp_large_file_is_multipart() {
  need_client aws
  start_server
  rand_file "$TMP/big" $((20 * 1024 * 1024)) big
  awsa s3 mb s3://awsbig >/dev/null
  # Above the 8 MiB default threshold the CLI uploads in parts.
  awsa s3 cp "$TMP/big" s3://awsbig/big.bin >/dev/null
  local etag
  etag=$(awsa s3api head-object --bucket awsbig --key big.bin --query ETag --output text)
  case "$etag" in *-3\") ;; *) fail "ETag of a 3-part upload: $etag" ;; esac
  awsa s3 cp s3://awsbig/big.bin "$TMP/back" >/dev/null
  cmp "$TMP/big" "$TMP/back"
  # Between S3 locations, above 8 MiB, the CLI reads the source's tags and
  # copies it in ranged parts (UploadPartCopy); mv then deletes the source.
  awsa s3 cp s3://awsbig/big.bin s3://awsbig/copy.bin >/dev/null
  awsa s3 mv s3://awsbig/copy.bin s3://awsbig/moved.bin >/dev/null
  awsa s3 cp s3://awsbig/moved.bin "$TMP/moved" >/dev/null
  cmp "$TMP/big" "$TMP/moved"
  local ls
  ls=$(awsa s3 ls s3://awsbig/)
  expect_not_in "$ls" "copy.bin"
  awsa s3 mb s3://awsbig2 >/dev/null
  awsa s3 sync s3://awsbig/ s3://awsbig2/ >/dev/null
  awsa s3 cp s3://awsbig2/big.bin "$TMP/synced" >/dev/null
  cmp "$TMP/big" "$TMP/synced"
}

# Expected multipart ETag: md5 of the concatenated part md5s, "-" part count.
multipart_etag() {
  "$PY" - "$@" <<'PY'
import hashlib, sys
digests = b"".join(hashlib.md5(open(p, "rb").read()).digest() for p in sys.argv[1:])
print('"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(sys.argv) - 1))
PY
}

test_aws_s3api_multipart_upload() {
  need_client aws
  start_server
  rand_file "$TMP/big" $((20 * 1024 * 1024)) mp
  split -b $((8 * 1024 * 1024)) -d -a 1 "$TMP/big" "$TMP/part."
  awsa s3api create-bucket --bucket mpbkt >/dev/null
  local id n etag want out
  id=$(awsa s3api create-multipart-upload --bucket mpbkt --key "dir/big file.bin" \
         --content-type application/x-test --query UploadId --output text)
  [ -n "$id" ] && [ "$id" != None ] || fail "no UploadId"
  # Parts in reverse order: the server must order them by number.
  for n in 3 2 1; do
    etag=$(awsa s3api upload-part --bucket mpbkt --key "dir/big file.bin" --upload-id "$id" \
             --part-number $n --body "$TMP/part.$((n - 1))" --query ETag --output text)
    want="\"$(md5sum < "$TMP/part.$((n - 1))" | cut -d' ' -f1)\""
    [ "$etag" = "$want" ] || fail "part $n ETag $etag, want $want"
  done
  awsa s3api list-parts --bucket mpbkt --key "dir/big file.bin" --upload-id "$id" > "$TMP/parts.json"
  "$PY" - "$TMP/parts.json" <<'PY'
import json, sys
parts = json.load(open(sys.argv[1]))["Parts"]
assert [p["PartNumber"] for p in parts] == [1, 2, 3], parts
assert [p["Size"] for p in parts] == [8 << 20, 8 << 20, 4 << 20], parts
PY
  "$PY" - "$TMP/parts.json" > "$TMP/complete.json" <<'PY'
import json, sys
parts = json.load(open(sys.argv[1]))["Parts"]
print(json.dumps({"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]}))
PY
  etag=$(awsa s3api complete-multipart-upload --bucket mpbkt --key "dir/big file.bin" \
           --upload-id "$id" --multipart-upload "file://$TMP/complete.json" --query ETag --output text)
  want=$(multipart_etag "$TMP/part.0" "$TMP/part.1" "$TMP/part.2")
  [ "$etag" = "$want" ] || fail "complete ETag $etag, want $want"
  awsa s3api get-object --bucket mpbkt --key "dir/big file.bin" "$TMP/got" > "$TMP/get.json"
  cmp "$TMP/big" "$TMP/got"
  awsa s3api head-object --bucket mpbkt --key "dir/big file.bin" > "$TMP/head.json"
  "$PY" - "$TMP/head.json" "$want" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
assert h["ContentLength"] == 20 << 20, h
assert h["ETag"] == sys.argv[2], h
assert h["ContentType"] == "application/x-test", h
PY
  # The upload is gone once completed.
  expect_fail awsa s3api list-parts --bucket mpbkt --key "dir/big file.bin" --upload-id "$id"
  expect_in "$ERR" NoSuchUpload
  # Abort: listed while open, gone after, and its key never appears.
  id=$(awsa s3api create-multipart-upload --bucket mpbkt --key aborted.bin --query UploadId --output text)
  awsa s3api upload-part --bucket mpbkt --key aborted.bin --upload-id "$id" --part-number 1 \
    --body "$TMP/part.2" >/dev/null
  awsa s3api list-multipart-uploads --bucket mpbkt > "$TMP/uploads.json"
  expect_in "$(cat "$TMP/uploads.json")" "$id"
  awsa s3api abort-multipart-upload --bucket mpbkt --key aborted.bin --upload-id "$id"
  expect_fail awsa s3api list-parts --bucket mpbkt --key aborted.bin --upload-id "$id"
  expect_in "$ERR" NoSuchUpload
  expect_fail awsa s3api head-object --bucket mpbkt --key aborted.bin
  out=$(awsa s3api list-multipart-uploads --bucket mpbkt)
  expect_not_in "$out" "$id"
}

test_aws_s3api_get_range_and_head() {
  need_client aws
  start_server
  rand_file "$TMP/f" 100000 range
  awsa s3api create-bucket --bucket rngbkt >/dev/null
  awsa s3api put-object --bucket rngbkt --key "r f.bin" --body "$TMP/f" >/dev/null
  awsa s3api get-object --bucket rngbkt --key "r f.bin" --range bytes=100-199 "$TMP/got" > "$TMP/get.json"
  dd if="$TMP/f" of="$TMP/want" bs=100 skip=1 count=1 status=none
  cmp "$TMP/want" "$TMP/got"
  "$PY" - "$TMP/get.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
assert g["ContentLength"] == 100, g
assert g["ContentRange"] == "bytes 100-199/100000", g
PY
  awsa s3api get-object --bucket rngbkt --key "r f.bin" --range bytes=99990- "$TMP/tail" >/dev/null
  tail -c 10 "$TMP/f" | cmp - "$TMP/tail"
  expect_fail awsa s3api get-object --bucket rngbkt --key "r f.bin" --range bytes=100000- "$TMP/x"
  expect_in "$ERR" InvalidRange
  awsa s3api head-object --bucket rngbkt --key "r f.bin" > "$TMP/head.json"
  "$PY" - "$TMP/head.json" "\"$(md5sum < "$TMP/f" | cut -d' ' -f1)\"" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
assert h["ContentLength"] == 100000, h
assert h["ETag"] == sys.argv[2], h
assert "LastModified" in h, h
PY
  expect_fail awsa s3api head-object --bucket rngbkt --key missing
  expect_in "$ERR" "404"
}

# A store whose file system fills up (a 48 MiB tmpfs: needs root). The PUT
# that does not fit gets S3's error XML with 507 InsufficientStorage, which
# awscli shows and does not retry; the server logs it; nothing of the object
# is stored or left behind, and a PUT that fits works afterwards.
test_aws_full_disk_is_507_and_stores_nothing() {
  need_client aws
  [ "$(id -u)" = 0 ] || skip "needs root, to mount a 48 MiB tmpfs"
  [ -z "${ARTIFACT_STORE_PACKS:-}" ] || skip "packs on S3: fills the disk that holds DIR/packs"
  mkdir -p "$TMP/store"
  mount -t tmpfs -o size=48m tmpfs "$TMP/store" 2>/dev/null || skip "cannot mount a tmpfs here"
  trap 'umount "$TMP/store"' EXIT
  start_server
  trap 'rc=$?; stop_server || rc=1; umount "$TMP/store" || rc=1; exit $rc' EXIT
  rand_file "$TMP/big" 60000000 41
  rand_file "$TMP/small" 1000000 42
  awsa s3 mb s3://full >/dev/null
  expect_fail awsa s3api put-object --bucket full --key big --body "$TMP/big"
  expect_in "$ERR" "(InsufficientStorage)"
  expect_in "$ERR" "No space left on device"
  expect_in "$(cat "$TMP/server.log")" "PUT /full/big: 507 InsufficientStorage"
  [ -z "$(find "$TMP/store/packs" -name '*.tmp')" ] || fail "a .tmp pack was left"
  awsa s3 cp "$TMP/small" s3://full/small --only-show-errors
  [ "$(awsa s3 ls s3://full | awk '{print $NF}')" = small ] || fail "listing: $(awsa s3 ls s3://full)"
  awsa s3 cp s3://full/small "$TMP/small.back" --only-show-errors
  cmp "$TMP/small" "$TMP/small.back"
}

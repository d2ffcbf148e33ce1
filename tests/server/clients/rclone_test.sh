# rclone (provider Other, path style): copy, sync, check by MD5 (the ETag of
# a single-part upload, the X-Amz-Meta-Md5chksum of a multipart one), md5sum.

# rclone_check SRC DST: rclone check must compare MD5 hashes, not only sizes.
rclone_check() {
  local out
  out=$(rcl check "$1" "$2" 2>&1) || { fail "rclone check $1 $2: $out"; return 1; }
  expect_not_in "$out" "No common hash"
  expect_in "$out" "0 differences found"
}

test_rclone_copy_sync_check_md5sum() {
  need_client rclone
  start_server
  make_tree "$TMP/src"
  rcl mkdir alice:rcbkt
  rcl copy "$TMP/src" alice:rcbkt/copy
  rclone_check "$TMP/src" alice:rcbkt/copy
  # rclone md5sum reads the ETags; they must equal the local MD5s.
  rcl md5sum alice:rcbkt/copy | sort -k2 > "$TMP/remote.md5"
  tree_md5 "$TMP/src" | sort -k2 > "$TMP/local.md5"
  diff "$TMP/local.md5" "$TMP/remote.md5"
  # Sync: changed, added and deleted files.
  rcl sync "$TMP/src" alice:rcbkt/sync
  rand_file "$TMP/src/plain.txt" 1234 changed
  rand_file "$TMP/src/nested/new one.txt" 777 new
  rm "$TMP/src/with space.txt"
  rcl sync "$TMP/src" alice:rcbkt/sync
  rclone_check "$TMP/src" alice:rcbkt/sync
  local listing
  listing=$(rcl lsf -R alice:rcbkt/sync)
  expect_not_in "$listing" "with space.txt"
  expect_in "$listing" "nested/new one.txt"
  # And back down.
  rcl copy alice:rcbkt/sync "$TMP/back"
  diff -r "$TMP/src" "$TMP/back"
  # A corrupted local copy must be caught by the hash comparison.
  rand_file "$TMP/back/nested/x.bin" 300000 other
  expect_fail rcl check "$TMP/back" alice:rcbkt/sync
  rcl purge alice:rcbkt
}

test_rclone_multipart_upload_check() {
  need_client rclone
  start_server
  mkdir "$TMP/src"
  rand_file "$TMP/src/big file.bin" $((13 * 1024 * 1024)) rbig
  rcl mkdir alice:rcbig
  # 5 MiB chunks from 5 MiB up: a three-part upload.
  rcl copy --s3-upload-cutoff 5M --s3-chunk-size 5M "$TMP/src" alice:rcbig
  rclone_check "$TMP/src" alice:rcbig
  rcl copy alice:rcbig "$TMP/back"
  cmp "$TMP/src/big file.bin" "$TMP/back/big file.bin"
}

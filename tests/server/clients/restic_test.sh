# restic (Debian's 0.14): its S3 backend is the minio-go SDK, which many Go
# tools share. A repository in one of our buckets: init (which creates the
# bucket), two backups, check --read-data, restore, forget --prune.

rst() {
  AWS_ACCESS_KEY_ID=$A_KEY AWS_SECRET_ACCESS_KEY=$A_SECRET RESTIC_PASSWORD=test-only \
    restic --no-cache --quiet -r "s3:$ENDPOINT/resticbkt" "$@"
}

test_restic_backup_check_restore_prune() {
  need_client restic
  start_server
  make_tree "$TMP/src"
  rand_file "$TMP/src/big.bin" 20000000 big
  rst init
  rst backup "$TMP/src"
  rand_file "$TMP/src/plain.txt" 5000 changed
  rm "$TMP/src/with space.txt"
  rst backup "$TMP/src"
  rst check --read-data
  rst restore latest --target "$TMP/restore"
  diff -r "$TMP/src" "$TMP/restore$TMP/src"
  # Pruning rewrites and deletes pack files of the repository.
  rst forget --keep-last 1 --prune
  rst check --read-data
  local snapshots
  snapshots=$(rst snapshots --json)
  expect_in "$snapshots" '"paths"'
  [ "$(printf '%s' "$snapshots" | grep -o '"short_id"' | wc -l)" -eq 1 ] \
    || { fail "expected one snapshot after forget: $snapshots"; return 1; }
}

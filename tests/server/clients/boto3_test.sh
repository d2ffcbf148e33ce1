# boto3 (Debian's python3-boto3 under /usr/bin/python3): one server per case
# of boto3_suite.py, so a failure names the case.

boto3_test() { need_client boto3; start_server; boto3_case "$1"; stop_server; }

test_boto3_buckets() { boto3_test buckets; }
test_boto3_object_metadata() { need_client b3sum; boto3_test object_metadata; }
test_boto3_ranges() { boto3_test ranges; }
test_boto3_conditionals() { boto3_test conditionals; }
test_boto3_delete_objects() { boto3_test delete_objects; }
test_boto3_copy_object() { need_client b3sum; boto3_test copy_object; }
test_boto3_list_v2_pagination() { boto3_test list_v2_pagination; }
test_boto3_list_v1_marker() { boto3_test list_v1_marker; }
test_boto3_list_object_versions() { boto3_test list_object_versions; }
test_boto3_object_tagging() { boto3_test object_tagging; }
test_boto3_presigned() { boto3_test presigned; }
test_boto3_presigned_expired() { boto3_test presigned_expired; }
test_boto3_bad_credentials() { boto3_test bad_credentials; }
test_boto3_checksum_sha256() { boto3_test checksum_sha256; }
test_boto3_checksum_crc32c() { boto3_test checksum_crc32c; }
test_boto3_checksum_crc32() { boto3_test checksum_crc32; }
test_boto3_checksum_sha1() { boto3_test checksum_sha1; }
test_boto3_multipart_checksum() { boto3_test multipart_checksum; }
test_boto3_virtual_hosted() {
  need_client boto3
  SERVE_ARGS="--domain s3.test" start_server
  boto3_case virtual_hosted
  stop_server
}
test_boto3_tenant_isolation() { boto3_test tenant_isolation; }
test_boto3_content_api() { need_client b3sum; boto3_test content_api; }

#include "fuzz/fuzz.h"

namespace as::fuzz {

std::span<const FuzzTarget> AllTargets() {
  static constexpr FuzzTarget kTargets[] = {
      {"cbor", "CBOR strict decoder; Encode(Decode(b)) == b", FuzzCbor},
      {"manifest", "manifest decoder; EncodeManifest(DecodeManifest(b)) == b", FuzzManifest},
      {"frame", "frame header, CRC, base list and payload decoders (CRC fixed up)", FuzzFrame},
      {"attrs", "S3 object attributes (names.attrs); Decode(Encode(a)) == a", FuzzAttrs},
      {"xml", "CompleteMultipartUpload, Delete, CreateBucketConfiguration and Tagging bodies",
       FuzzXml},
      {"uri", "percent-decoding, query parsing; UriDecode(UriEncode(s)) == s", FuzzUri},
      {"http", "Range, HTTP/ISO dates, conditions, base64 round trips", FuzzHttpUtil},
      {"sigv4", "SigV4 parsing and verification; what SignSigV4 signs verifies", FuzzSigV4},
      {"chunked", "aws-chunked decoder; encode/decode round trip, tamper detection",
       FuzzAwsChunked},
      {"list", "ListObjects paging against a model: every entry exactly once", FuzzListing},
      {"damage", "damaged packs / lost database: no wrong byte out, verify truthful",
       FuzzStoreDamage},
      {"server", "signed requests through the server, S3 API and store: never a 5xx", FuzzServer},
  };
  return kTargets;
}

}  // namespace as::fuzz

// Harnesses for what a client sends: every byte here can come from anyone
// who can reach the port, before or after authentication.
#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz.h"
#include "s3/aws_chunked.h"
#include "s3/http_util.h"
#include "s3/listing.h"
#include "s3/sigv4.h"
#include "s3/uri.h"
#include "s3/xml.h"

namespace as::fuzz {

using namespace as::s3;  // NOLINT: the harnesses exercise this namespace only

void FuzzXml(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t which = in.Byte() % 4;
  std::string_view body = in.Rest();
  if (which == 0) {
    auto parts = ParseCompleteMultipartUpload(body);
    if (!parts.ok()) return;
    if (parts->empty()) FuzzFail("CompleteMultipartUpload accepted with no part");
    for (const auto& p : *parts) {
      if (p.part_number < 1 || p.part_number > 10000) FuzzFail("part number out of range");
    }
  } else if (which == 1) {
    auto del = ParseDelete(body);
    if (!del.ok()) return;
    if (del->keys.empty() || del->keys.size() > kMaxDeleteKeys) {
      FuzzFail("Delete accepted with " + std::to_string(del->keys.size()) + " keys");
    }
  } else if (which == 2) {
    (void)ParseCreateBucketConfiguration(body);
  } else {
    // Tagging: what is accepted is at most 50 tags, and the document our
    // own builder writes for them reads back as the same tags.
    auto tags = ParseTagging(body);
    if (!tags.ok()) return;
    if (tags->size() > 50)
      FuzzFail("Tagging accepted with " + std::to_string(tags->size()) + " tags");
    auto again = ParseTagging(TaggingXml(*tags));
    if (!again.ok())
      FuzzFail("TaggingXml of parsed tags does not parse: " + again.status().ToString());
    if (*again != *tags) FuzzFail("tags changed across TaggingXml and ParseTagging");
  }
}

void FuzzUri(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  std::string_view s = in.Rest();
  const bool keep_slash = flags & 1;
  auto back = UriDecode(UriEncode(s, keep_slash));
  if (!back.ok() || *back != s) FuzzFail("UriDecode(UriEncode(s)) != s");
  auto dec = UriDecode(s);
  if (dec.ok()) {
    auto again = UriDecode(UriEncode(*dec, keep_slash));
    if (!again.ok() || *again != *dec) FuzzFail("re-encoding a decoded string changed it");
  }
  RequestTarget t = SplitRequestTarget(s);
  std::string joined(t.path);
  if (t.has_query) joined += "?" + std::string(t.query);
  if (joined != s) FuzzFail("SplitRequestTarget lost bytes");
  (void)ParseQuery(s, flags & 2);
}

namespace {

constexpr int64_t kYear10000 = 253402300800;  // formatting stops at year 9999

void FuzzRange(FuzzInput& in) {
  uint64_t size = in.Int(1) == 0 ? in.Int(8) : in.Int(2);
  const bool absent = in.Byte() & 1;
  std::optional<std::string_view> header;
  if (!absent) header = in.Rest();
  RangeResult r = ResolveRange(header, size);
  if (r.kind == RangeResult::Kind::kPartial && (r.first > r.last || r.last >= size)) {
    FuzzFail("partial range [" + std::to_string(r.first) + ", " + std::to_string(r.last) +
             "] outside an object of " + std::to_string(size) + " bytes");
  }
  (void)ContentRange(r, size);
}

void FuzzDates(FuzzInput& in) {
  std::string_view s = in.Rest();
  if (auto t = ParseHttpDate(s); t && *t >= 0 && *t < kYear10000) {
    auto back = ParseHttpDate(FormatHttpDate(*t));
    if (!back || *back != *t) FuzzFail("FormatHttpDate of a parsed date does not parse back");
  }
  if (auto ms = ParseIso8601(s); ms && *ms >= 0 && *ms / 1000 < kYear10000) {
    auto back = ParseIso8601(FormatIso8601(*ms));
    if (!back || *back != *ms) FuzzFail("FormatIso8601 of a parsed time does not parse back");
  }
  if (auto t = ParseAmzDate(s); t && *t >= 0 && *t < kYear10000) {
    auto back = ParseAmzDate(FormatAmzDate(*t));
    if (!back || *back != *t) FuzzFail("FormatAmzDate of a parsed date does not parse back");
  }
  (void)ParseRfc1123Date(s);
}

void FuzzBase64(FuzzInput& in) {
  std::string_view s = in.Rest();
  if (auto d = Base64Decode(s); d && Base64Encode(*d) != s) {
    FuzzFail("strict base64 accepted a second spelling");
  }
  if (auto d = Base64UrlDecode(s); d && Base64UrlEncode(*d) != s) {
    FuzzFail("base64url accepted a second spelling");
  }
  auto rt = Base64Decode(Base64Encode(s));
  auto rtu = Base64UrlDecode(Base64UrlEncode(s));
  if (!rt || *rt != s || !rtu || *rtu != s) FuzzFail("base64 round trip failed");
  if (auto tok = DecodeContinuationToken(s); tok.ok()) {
    auto again = DecodeContinuationToken(EncodeContinuationToken(*tok));
    if (!again.ok() || *again != *tok) FuzzFail("continuation token round trip failed");
  }
  (void)ParseMaxKeys(s);
}

void FuzzConditions(FuzzInput& in) {
  const uint8_t flags = in.Byte();
  ConditionHeaders h;
  auto opt = [&](int bit) -> std::optional<std::string> {
    std::string_view v = in.Until('\n');
    if (flags & (1 << bit)) return std::string(v);
    return std::nullopt;
  };
  h.if_match = opt(0);
  h.if_none_match = opt(1);
  h.if_modified_since = opt(2);
  h.if_unmodified_since = opt(3);
  std::optional<ObjectState> cur;
  if (flags & 16) cur = ObjectState{std::string(in.Until('\n')), static_cast<int64_t>(in.Int(5))};
  (void)EvaluateConditions(h, cur, flags & 32);
}

}  // namespace

void FuzzHttpUtil(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  switch (in.Byte() % 4) {
    case 0:
      FuzzRange(in);
      break;
    case 1:
      FuzzDates(in);
      break;
    case 2:
      FuzzBase64(in);
      break;
    default:
      FuzzConditions(in);
      break;
  }
}

namespace {

constexpr std::string_view kSecret = "fuzzsecretfuzzsecretfuzzsecret0123456789";
const char* const kMethods[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};

// What an HTTP parser lets through as a field value, trimmed as it trims it.
std::optional<std::string> FieldValue(std::string_view v) {
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return std::nullopt;
  }
  size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  if (b == std::string_view::npos) return std::string();
  return std::string(v.substr(b, e - b + 1));
}
bool IsTarget(std::string_view t) {
  if (t.empty() || t[0] != '/') return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}
bool Reserved(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  return name == "host" || name == "authorization" || name == "x-amz-date" ||
         name == "x-amz-content-sha256" || name == "x-amz-security-token";
}

}  // namespace

// Input: flags, a target line, then "name:value" lines. First the raw request
// is parsed and verified as it came (no crash, any error). Then, when the
// pieces are what an HTTP parser would pass on, the request is signed as a
// client signs it (header and presigned forms) and must verify: a
// SignatureDoesNotMatch there is a canonicalization bug that real clients hit.
void FuzzSigV4(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  const int64_t now = 1795000000 + static_cast<int64_t>(in.Int(2));
  std::string method = kMethods[flags % 5];
  std::string target(in.Until('\n'));
  std::vector<HttpHeader> raw;
  while (!in.empty()) {
    std::string_view line = in.Until('\n');
    size_t colon = line.find(':');
    raw.emplace_back(std::string(line.substr(0, colon)),
                     colon == std::string_view::npos ? "" : std::string(line.substr(colon + 1)));
  }
  HttpRequestView req{method, target, raw};
  auto parsed = ParseSigV4(req, now);
  if (parsed.ok()) (void)VerifySigV4(*parsed, req, kSecret);

  if (!IsTarget(target)) return;
  std::vector<HttpHeader> headers;
  headers.emplace_back("Host", "127.0.0.1:9000");
  for (const auto& [n, v] : raw) {
    auto value = FieldValue(v);
    if (!IsHeaderName(n) || Reserved(n) || !value) continue;
    headers.emplace_back(n, *value);
  }
  SigV4Credentials creds{"AKIDFUZZ", std::string(kSecret), "us-east-1"};
  if (flags & 8) {
    std::vector<HttpHeader> host_only{headers.front()};
    std::string presigned = PresignSigV4({method, target, host_only}, creds, now, 3600);
    HttpRequestView signed_req{method, presigned, headers};
    auto auth = ParseSigV4(signed_req, now);
    if (!auth.ok()) return;  // e.g. the target already carried X-Amz-* parameters
    auto bad = VerifySigV4(*auth, signed_req, kSecret);
    if (bad && bad->code == "SignatureDoesNotMatch") {
      FuzzFail("a presigned URL made by PresignSigV4 does not verify: " + presigned);
    }
    return;
  }
  headers.emplace_back("x-amz-date", FormatAmzDate(now));
  headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  std::string authz = SignSigV4({method, target, headers}, "UNSIGNED-PAYLOAD", creds, now);
  headers.emplace_back("Authorization", authz);
  HttpRequestView signed_req{method, target, headers};
  auto auth = ParseSigV4(signed_req, now);
  if (!auth.ok()) return;  // e.g. X-Amz-* query parameters make it look presigned
  auto bad = VerifySigV4(*auth, signed_req, kSecret);
  if (bad && bad->code == "SignatureDoesNotMatch") {
    FuzzFail("a request signed by SignSigV4 does not verify: " + target);
  }
}

namespace {

// Serves `body` in pieces whose sizes cycle through `pattern` (1..16 bytes
// each, or all at once), as a socket would.
BodyReader PieceReader(std::string_view body, std::string_view pattern) {
  return [body, pattern, pos = size_t{0}, turn = size_t{0}](uint8_t* buf,
                                                            size_t cap) mutable -> Result<size_t> {
    size_t n = body.size() - pos;
    if (!pattern.empty()) {
      n = std::min<size_t>(n,
                           1 + static_cast<unsigned char>(pattern[turn++ % pattern.size()]) % 16);
    }
    n = std::min(n, cap);
    std::memcpy(buf, body.data() + pos, n);
    pos += n;
    return n;
  };
}

// Decodes all of it; nullopt on any error.
std::optional<std::string> DecodeAll(std::string_view body, const AwsChunkedParams& p,
                                     std::string_view pattern, size_t cap) {
  AwsChunkedDecoder dec(PieceReader(body, pattern), p);
  std::string out;
  std::vector<uint8_t> buf(cap);
  for (;;) {
    Result<size_t> n = dec.Read(buf.data(), buf.size());
    if (!n.ok()) {
      if (!dec.error()) FuzzFail("decoder failed without an S3 error: " + n.status().ToString());
      return std::nullopt;
    }
    if (*n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  if (!dec.finished() || dec.decoded_bytes() != out.size()) {
    FuzzFail("decoder ended without finishing or miscounted");
  }
  return out;
}

}  // namespace

// Input: flags, read pattern, then either a raw body to decode, or (flag 4)
// payload bytes to encode, decode and compare, with one byte of the encoded
// body changed when flag 8 is set: a signed body must then fail, or decode
// to the same payload.
void FuzzAwsChunked(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  std::string_view pattern = in.Bytes(in.Byte() % 8);
  const size_t cap = 1 + in.Byte() % 64 * 17;
  static const PayloadMode kModes[] = {PayloadMode::kStreamingSigned,
                                       PayloadMode::kStreamingSignedTrailer,
                                       PayloadMode::kStreamingUnsignedTrailer};
  AwsChunkedParams p;
  p.mode = kModes[flags % 3];
  p.amz_date = "20261124T010203Z";
  p.scope = "20261124/us-east-1/s3/aws4_request";
  p.signing_key = SigV4SigningKey(kSecret, "20261124", "us-east-1", "s3");
  p.seed_signature = std::string(64, 'a');
  p.max_chunk = 1 + in.Int(2);
  const bool signed_mode = p.mode != PayloadMode::kStreamingUnsignedTrailer;
  if ((flags & 4) == 0) {
    if (flags & 16) p.decoded_length = in.Int(2);
    (void)DecodeAll(in.Rest(), p, pattern, cap);
    return;
  }
  const size_t chunk_size = 1 + in.Int(2) % p.max_chunk;
  const size_t flip_at = in.Int(2);
  const uint8_t flip_xor = in.Byte() | 1;
  std::vector<HttpHeader> trailers;
  if (flags & 32) trailers.emplace_back("x-amz-checksum-crc32c", "AAAAAA==");
  std::string payload(in.Rest());
  p.decoded_length = payload.size();
  std::string body = AwsChunkedEncode(payload, chunk_size, p, trailers);
  if (flags & 8) {
    body[flip_at % body.size()] = static_cast<char>(body[flip_at % body.size()] ^ flip_xor);
    auto out = DecodeAll(body, p, pattern, cap);
    if (signed_mode && out && *out != payload) {
      FuzzFail("a changed signed body decoded to other bytes without an error");
    }
    return;
  }
  auto out = DecodeAll(body, p, pattern, cap);
  if (!out || *out != payload) FuzzFail("an encoded body did not decode to its payload");
}

namespace {

// What a listing must return: every key under the prefix, with the keys that
// hold the delimiter after the prefix rolled up to that point, after `start`.
std::vector<std::string> ExpectedEntries(const std::set<std::string>& keys, const ListRequest& r) {
  std::set<std::string> e;
  for (const auto& k : keys) {
    if (k.compare(0, r.prefix.size(), r.prefix) != 0) continue;
    size_t d = r.delimiter.empty() ? std::string::npos : k.find(r.delimiter, r.prefix.size());
    e.insert(d == std::string::npos ? k : k.substr(0, d + r.delimiter.size()));
  }
  return {e.upper_bound(r.start), e.end()};
}

}  // namespace

// Input: max-keys, then lines: prefix, delimiter, start, keys. Pages through
// the listing from `start` and compares every page with the model.
void FuzzListing(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  ListRequest r;
  r.max_keys = 1 + in.Byte() % 5;
  r.prefix = std::string(in.Until('\n'));
  r.delimiter = std::string(in.Until('\n'));
  r.start = std::string(in.Until('\n'));
  std::set<std::string> keys;
  while (!in.empty()) {
    std::string k(in.Until('\n'));
    if (!k.empty() && k.size() <= kMaxKeyBytes) keys.insert(k);
  }
  std::vector<ObjectSummary> objects;
  for (const auto& k : keys) objects.push_back(ObjectSummary{k, k.size(), "e", 0});
  MemoryListSource source(objects);
  const std::vector<std::string> want = ExpectedEntries(keys, r);
  std::vector<std::string> got;
  for (size_t page_no = 0;; page_no++) {
    if (page_no > want.size() + 1) FuzzFail("listing does not end");
    auto page = ListObjectsPage(r, source.AsSource());
    if (!page.ok()) FuzzFail("listing failed: " + page.status().ToString());
    std::vector<std::string> entries;
    for (const auto& o : page->contents) entries.push_back(o.key);
    for (const auto& cp : page->common_prefixes) entries.push_back(cp);
    std::sort(entries.begin(), entries.end());
    if (entries.size() > r.max_keys) FuzzFail("page longer than max-keys");
    got.insert(got.end(), entries.begin(), entries.end());
    if (!page->is_truncated) break;
    if (entries.empty() || page->next != entries.back()) {
      FuzzFail("a truncated page's next is not its last entry");
    }
    r.start = page->next;
  }
  if (got != want) {
    FuzzFail("pages list " + std::to_string(got.size()) + " entries, the model " +
             std::to_string(want.size()));
  }
}

}  // namespace as::fuzz

#include "s3/aws_chunked.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/bytes.h"
#include "s3/sigv4.h"

namespace as::s3 {
namespace {

constexpr size_t kReadAhead = 64 * 1024;
constexpr size_t kMaxLine = 4096;      // a chunk header or a trailer line
constexpr size_t kMaxTrailers = 32;
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::string_view kSigPrefix = ";chunk-signature=";

bool IsSignedMode(PayloadMode m) {
  return m == PayloadMode::kStreamingSigned || m == PayloadMode::kStreamingSignedTrailer;
}
bool HasTrailer(PayloadMode m) {
  return m == PayloadMode::kStreamingSignedTrailer || m == PayloadMode::kStreamingUnsignedTrailer;
}

std::string At(uint64_t offset) { return " at byte offset " + std::to_string(offset); }

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string AwsChunkSignature(const AwsChunkedParams& p, std::string_view previous,
                              std::string_view data) {
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n";
  sts.append(p.amz_date).push_back('\n');
  sts.append(p.scope).push_back('\n');
  sts.append(previous).push_back('\n');
  sts.append(kEmptySha256).push_back('\n');
  sts += Sha256Hex(data);
  return HmacSha256Hex(p.signing_key, sts);
}

std::string AwsTrailerSignature(const AwsChunkedParams& p, std::string_view previous,
                                std::string_view canonical_trailers) {
  std::string sts = "AWS4-HMAC-SHA256-TRAILER\n";
  sts.append(p.amz_date).push_back('\n');
  sts.append(p.scope).push_back('\n');
  sts.append(previous).push_back('\n');
  sts += Sha256Hex(canonical_trailers);
  return HmacSha256Hex(p.signing_key, sts);
}

S3Expected<AwsChunkedParams> AwsChunkedParamsFor(const SigV4Auth& auth, std::string_view secret,
                                                 const HttpRequestView& req) {
  if (auth.payload_mode != PayloadMode::kStreamingSigned &&
      auth.payload_mode != PayloadMode::kStreamingSignedTrailer &&
      auth.payload_mode != PayloadMode::kStreamingUnsignedTrailer) {
    return err::InvalidRequest("the body is not aws-chunked (x-amz-content-sha256 is not a "
                               "STREAMING-* value)");
  }
  AwsChunkedParams p;
  p.mode = auth.payload_mode;
  p.signing_key = SigV4SigningKey(secret, auth.date, auth.region, auth.service);
  p.amz_date = auth.amz_date;
  p.scope = auth.scope;
  p.seed_signature = auth.signature;
  std::optional<std::string_view> len;
  for (const auto& [n, v] : req.headers) {
    if (n.size() == 28 && std::equal(n.begin(), n.end(), "x-amz-decoded-content-length",
                                     [](char a, char b) { return (a | 0x20) == b || a == b; })) {
      if (len) return err::InvalidArgument("x-amz-decoded-content-length is repeated");
      len = TrimOws(v);
    }
  }
  if (!len) {
    return err::InvalidRequest("Missing required header for this request: "
                               "x-amz-decoded-content-length");
  }
  uint64_t n = 0;
  bool ok = !len->empty() && len->size() <= 19;
  for (char c : *len) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok) return err::InvalidArgument("x-amz-decoded-content-length is not a number");
  p.decoded_length = n;
  return p;
}

AwsChunkedDecoder::AwsChunkedDecoder(BodyReader raw, AwsChunkedParams params)
    : raw_(std::move(raw)),
      p_(std::move(params)),
      signed_(IsSignedMode(p_.mode)),
      prev_sig_(p_.seed_signature),
      in_(kReadAhead) {}

BodyReader AwsChunkedDecoder::AsReader() {
  return [this](uint8_t* buf, size_t cap) { return Read(buf, cap); };
}

Status AwsChunkedDecoder::Fail(S3Error e) {
  status_ = ToStatus(e);
  error_ = std::move(e);
  return status_;
}

Result<size_t> AwsChunkedDecoder::Read(uint8_t* buf, size_t cap) {
  if (!status_.ok()) return status_;
  while (out_pos_ == chunk_.size()) {
    if (done_) return size_t{0};
    Status s = NextChunk();
    if (!s.ok()) {
      if (status_.ok()) status_ = s;  // a raw reader error, kept as it is
      return status_;
    }
  }
  size_t n = std::min(cap, chunk_.size() - out_pos_);
  std::memcpy(buf, chunk_.data() + out_pos_, n);
  out_pos_ += n;
  return n;
}

Status AwsChunkedDecoder::Fill(bool* eof) {
  if (in_pos_ > 0) {  // slide what is left to the front
    std::memmove(in_.data(), in_.data() + in_pos_, in_len_ - in_pos_);
    consumed_ += in_pos_;
    in_len_ -= in_pos_;
    in_pos_ = 0;
  }
  *eof = false;
  if (in_len_ == in_.size()) return Status::OK();
  auto r = raw_(in_.data() + in_len_, in_.size() - in_len_);
  if (!r.ok()) return r.status();
  if (*r == 0) *eof = true;
  in_len_ += *r;
  return Status::OK();
}

Status AwsChunkedDecoder::ReadLine(std::string* line) {
  uint64_t start = Offset();
  size_t scanned = 0;  // bytes of the line already searched for '\n'
  while (true) {
    const uint8_t* base = in_.data() + in_pos_;
    size_t avail = in_len_ - in_pos_;
    auto* nl = static_cast<const uint8_t*>(std::memchr(base + scanned, '\n', avail - scanned));
    if (nl) {
      size_t len = static_cast<size_t>(nl - base);
      if (len == 0 || base[len - 1] != '\r') {
        return Fail(err::InvalidRequest("line without CR before LF" + At(Offset() + len)));
      }
      line->assign(reinterpret_cast<const char*>(base), len - 1);
      in_pos_ += len + 1;
      return Status::OK();
    }
    scanned = avail;
    if (avail > kMaxLine) {
      return Fail(err::InvalidRequest("chunk header or trailer line longer than " +
                                      std::to_string(kMaxLine) + " bytes" + At(start)));
    }
    bool eof;
    AS_RETURN_IF_ERROR(Fill(&eof));
    if (eof) {
      return Fail(err::IncompleteBody("the aws-chunked body ends inside a line" + At(Offset())));
    }
  }
}

Status AwsChunkedDecoder::ReadExact(uint8_t* dst, size_t n) {
  size_t have = std::min(n, in_len_ - in_pos_);
  if (have > 0) std::memcpy(dst, in_.data() + in_pos_, have);  // dst may be null when n is 0
  in_pos_ += have;
  size_t got = have;
  while (got < n) {  // large chunks go straight from the raw reader to `dst`
    auto r = raw_(dst + got, n - got);
    if (!r.ok()) return r.status();
    if (*r == 0) {
      consumed_ += got - have;
      return Fail(err::IncompleteBody("the aws-chunked body ends inside chunk " +
                                      std::to_string(chunk_index_) + At(Offset())));
    }
    got += *r;
  }
  consumed_ += got - have;
  return Status::OK();
}

Status AwsChunkedDecoder::NextChunk() {
  uint64_t at = Offset();
  std::string line;
  AS_RETURN_IF_ERROR(ReadLine(&line));
  size_t semi = line.find(';');
  std::string_view size_hex = std::string_view(line).substr(0, semi);
  std::string_view ext = semi == std::string::npos ? std::string_view()
                                                   : std::string_view(line).substr(semi);
  uint64_t size = 0;
  bool ok = !size_hex.empty() && size_hex.size() <= 15;
  for (char c : size_hex) {
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    ok = ok && v >= 0;
    if (ok) size = size * 16 + static_cast<uint64_t>(v);
  }
  if (!ok) return Fail(err::InvalidRequest("bad chunk size in chunk header" + At(at)));
  std::string_view sig;
  if (signed_) {
    if (!ext.starts_with(kSigPrefix) || !IsLowerHex64(ext.substr(kSigPrefix.size()))) {
      return Fail(err::InvalidRequest("chunk header without a valid chunk-signature" + At(at)));
    }
    sig = ext.substr(kSigPrefix.size());
  }
  if (size > p_.max_chunk) {
    return Fail(err::InvalidRequest("chunk of " + std::to_string(size) + " bytes" + At(at) +
                                    " is larger than the " + std::to_string(p_.max_chunk) +
                                    "-byte limit per chunk"));
  }
  if (p_.decoded_length && decoded_ + size > *p_.decoded_length) {
    return Fail(err::InvalidRequest("chunk" + At(at) + " goes past x-amz-decoded-content-length " +
                                    std::to_string(*p_.decoded_length)));
  }
  chunk_.resize(size);
  out_pos_ = 0;
  AS_RETURN_IF_ERROR(ReadExact(chunk_.data(), size));
  if (signed_) {
    std::string want = AwsChunkSignature(
        p_, prev_sig_, std::string_view(reinterpret_cast<const char*>(chunk_.data()), size));
    if (!SignaturesEqual(want, sig)) {
      chunk_.clear();  // not one byte of a chunk that fails its signature
      return Fail(err::SignatureDoesNotMatch("chunk " + std::to_string(chunk_index_) + At(at) +
                                             ": the chunk signature does not match"));
    }
    prev_sig_ = want;
  }
  chunk_index_++;
  if (size == 0) return FinishBody();
  std::string crlf;
  uint64_t end = Offset();
  AS_RETURN_IF_ERROR(ReadLine(&crlf));
  if (!crlf.empty()) {
    chunk_.clear();
    return Fail(err::InvalidRequest("chunk data not followed by CRLF" + At(end)));
  }
  decoded_ += size;
  return Status::OK();
}

Status AwsChunkedDecoder::FinishBody() {
  // After the final chunk: trailer lines (trailer modes), then an empty line.
  std::string canonical;  // trailers as signed: "name:value\n"
  std::optional<std::string> trailer_sig;
  while (true) {
    uint64_t at = Offset();
    std::string line;
    AS_RETURN_IF_ERROR(ReadLine(&line));
    if (line.empty()) break;
    if (!HasTrailer(p_.mode) || trailer_sig || trailers_.size() == kMaxTrailers) {
      return Fail(err::InvalidRequest("unexpected line after the final chunk" + At(at)));
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Fail(err::InvalidRequest("malformed trailer" + At(at)));
    }
    std::string name = line.substr(0, colon);
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    std::string value(TrimOws(std::string_view(line).substr(colon + 1)));
    if (name == "x-amz-trailer-signature") {
      if (!signed_) {
        return Fail(err::InvalidRequest("trailer signature in an unsigned body" + At(at)));
      }
      trailer_sig = value;
      continue;
    }
    canonical += name + ":" + value + "\n";
    trailers_.emplace_back(std::move(name), std::move(value));
  }
  if (signed_ && HasTrailer(p_.mode)) {
    if (!trailer_sig) return Fail(err::SignatureDoesNotMatch("x-amz-trailer-signature is missing"));
    if (!SignaturesEqual(AwsTrailerSignature(p_, prev_sig_, canonical), *trailer_sig)) {
      return Fail(err::SignatureDoesNotMatch("the trailer signature does not match"));
    }
  }
  if (p_.decoded_length && decoded_ != *p_.decoded_length) {
    return Fail(err::IncompleteBody("the body decodes to " + std::to_string(decoded_) +
                                    " bytes but x-amz-decoded-content-length is " +
                                    std::to_string(*p_.decoded_length)));
  }
  bool eof = false;
  if (in_pos_ == in_len_) AS_RETURN_IF_ERROR(Fill(&eof));
  if (!eof || in_pos_ != in_len_) {
    return Fail(err::InvalidRequest("data after the end of the aws-chunked body" + At(Offset())));
  }
  done_ = true;
  return Status::OK();
}

std::string AwsChunkedEncode(std::string_view data, size_t chunk_size, const AwsChunkedParams& p,
                             std::span<const HttpHeader> trailers) {
  const bool sign = IsSignedMode(p.mode);
  std::string out, prev = p.seed_signature;
  auto chunk = [&](std::string_view piece) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", piece.size());
    out += hex;
    if (sign) {
      prev = AwsChunkSignature(p, prev, piece);
      out += std::string(kSigPrefix) + prev;
    }
    out += "\r\n";
    out.append(piece);
    if (!piece.empty()) out += "\r\n";
  };
  for (size_t i = 0; i < data.size(); i += chunk_size) chunk(data.substr(i, chunk_size));
  chunk({});
  if (HasTrailer(p.mode)) {
    std::string canonical;
    for (const auto& [n, v] : trailers) {
      out += n + ":" + v + "\r\n";
      canonical += n + ":" + v + "\n";
    }
    if (sign) out += "x-amz-trailer-signature:" + AwsTrailerSignature(p, prev, canonical) + "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace as::s3

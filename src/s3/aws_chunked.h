// aws-chunked bodies: what a client sends when x-amz-content-sha256 is one of
// the STREAMING-* values. The body is a series of chunks,
//
//   <hex size>;chunk-signature=<64 hex>\r\n<size bytes>\r\n      (signed modes)
//   <hex size>\r\n<size bytes>\r\n                               (unsigned trailer)
//
// ending with a chunk of size 0, then (trailer modes) lines "name:value\r\n"
// (signed trailer: the last is x-amz-trailer-signature), then "\r\n".
//
// Each chunk signature is HMAC(signing key, "AWS4-HMAC-SHA256-PAYLOAD\n" +
// amz_date + "\n" + scope + "\n" + previous signature + "\n" + hex sha256("") +
// "\n" + hex sha256(chunk data)), chained from the request's own (seed)
// signature, so chunks can be neither altered, reordered, dropped nor added.
// The trailer signature is HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" + amz_date +
// "\n" + scope + "\n" + last chunk signature + "\n" + hex sha256(trailers as
// "name:value\n" lines)).
//
// AwsChunkedDecoder is a pull reader over the raw body that yields the decoded
// payload. Contract:
//  * A chunk's bytes are released only after the whole chunk has been read
//    and its signature verified; a chunk is buffered whole, so chunks larger
//    than max_chunk (16 MiB) are refused before any of it is read.
//  * Read returns 0 only once everything checked out: the final chunk, the
//    trailers and their signature, the decoded length against
//    x-amz-decoded-content-length, and nothing after the end. Any error means
//    the caller must discard what it was given (bytes from earlier chunks were
//    authentic, but the body as a whole is not).
//  * How an S3 failure travels: Read returns ToStatus(e) (InvalidArgument,
//    "<Code>: <message>") and error() returns e itself, for the XML response.
//    Codes: SignatureDoesNotMatch (chunk or trailer signature), IncompleteBody
//    (body ends early, or fewer bytes than declared), InvalidRequest (bad
//    framing, oversize chunk, bytes after the end); messages name the byte
//    offset in the raw body. A failure of the raw reader itself is returned as
//    it is and error() stays nullopt. Errors are sticky.
//  * The raw reader must return 0 at the end of the request body (not at the
//    end of the connection): the decoder reads until then to reject trailing bytes.
//  * Trailer values (e.g. x-amz-checksum-crc32c) are exposed, not checked:
//    comparing a checksum with the data is the caller's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "s3/s3_error.h"
#include "s3/sigv4.h"

namespace as::s3 {

// Reads up to `cap` bytes into `buf`; 0 means the end.
using BodyReader = std::function<Result<size_t>(uint8_t* buf, size_t cap)>;

inline constexpr size_t kAwsChunkedMaxChunk = size_t{16} << 20;

struct AwsChunkedParams {
  PayloadMode mode = PayloadMode::kStreamingSigned;  // one of the STREAMING-* modes
  // Signed modes only:
  SigV4Key signing_key{};
  std::string amz_date;        // as signed, "yyyymmddThhmmssZ"
  std::string scope;           // "<date>/<region>/s3/aws4_request"
  std::string seed_signature;  // the request's signature
  // x-amz-decoded-content-length; nullopt skips the length check.
  std::optional<uint64_t> decoded_length;
  size_t max_chunk = kAwsChunkedMaxChunk;
};

// Parameters for a request whose SigV4Auth has been verified with `secret`:
// InvalidRequest unless auth.payload_mode is a STREAMING-* mode and the
// request carries x-amz-decoded-content-length (InvalidArgument when it is not
// a number).
S3Expected<AwsChunkedParams> AwsChunkedParamsFor(const SigV4Auth& auth, std::string_view secret,
                                                 const HttpRequestView& req);

// The signature of one chunk given the previous one (hex).
std::string AwsChunkSignature(const AwsChunkedParams& p, std::string_view previous,
                              std::string_view data);
// The trailer signature; `canonical_trailers` is the "name:value\n" lines.
std::string AwsTrailerSignature(const AwsChunkedParams& p, std::string_view previous,
                                std::string_view canonical_trailers);

class AwsChunkedDecoder {
 public:
  AwsChunkedDecoder(BodyReader raw, AwsChunkedParams params);

  // Up to `cap` decoded bytes; 0 = the end, everything verified.
  Result<size_t> Read(uint8_t* buf, size_t cap);
  // Read() as a BodyReader; the decoder must outlive it.
  BodyReader AsReader();

  std::optional<S3Error> error() const { return error_; }
  bool finished() const { return done_ && out_pos_ == chunk_.size(); }
  // Trailer lines in order (names lowercased, values trimmed), without
  // x-amz-trailer-signature; complete once finished().
  const std::vector<HttpHeader>& trailers() const { return trailers_; }
  uint64_t decoded_bytes() const { return decoded_; }

 private:
  Status NextChunk();
  Status FinishBody();
  Status Fail(S3Error e);
  Status Fill(bool* eof);  // more raw bytes into in_
  Status ReadLine(std::string* line);
  Status ReadExact(uint8_t* dst, size_t n);
  uint64_t Offset() const { return consumed_ + in_pos_; }

  BodyReader raw_;
  AwsChunkedParams p_;
  bool signed_;
  std::string prev_sig_;
  std::vector<uint8_t> in_;  // raw bytes read ahead
  size_t in_pos_ = 0, in_len_ = 0;
  uint64_t consumed_ = 0;    // raw offset of in_[0]
  std::vector<uint8_t> chunk_;  // the current verified chunk
  size_t out_pos_ = 0;
  uint64_t decoded_ = 0;
  uint64_t chunk_index_ = 0;
  bool done_ = false;
  Status status_;  // sticky error
  std::optional<S3Error> error_;
  std::vector<HttpHeader> trailers_;
};

// Client side, for tests and tools: `data` framed in chunks of `chunk_size`
// (the last may be shorter), signed when p.mode is a signed mode, ending with
// `trailers` in the trailer modes.
std::string AwsChunkedEncode(std::string_view data, size_t chunk_size, const AwsChunkedParams& p,
                             std::span<const HttpHeader> trailers = {});

}  // namespace as::s3

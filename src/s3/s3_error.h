// S3Error: an error as an S3 client sees it (HTTP status, the <Code> and
// <Message> of the XML error document), and S3Expected<T>, the value-or-S3Error
// that protocol code returns.
//
// How S3 errors travel: protocol functions that can fail in a client-visible
// way return S3Expected<T> (or std::optional<S3Error> when there is no value:
// nullopt means success). They never return as::Status, because a Status has no
// room for the S3 code and the HTTP status. Where an S3 failure must pass
// through an interface built on Status (a body reader, see aws_chunked.h), the
// object behind that interface keeps the S3Error and the Status it returns is
// ToStatus(error): InvalidArgument for 4xx, Internal for 5xx.
//
// The helpers in namespace err build the codes the authentication code uses;
// other code adds its own (NoSuchKey, ...) the same way, with MakeS3Error.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "base/status.h"

namespace as::s3 {

struct S3Error {
  int http_status = 500;
  std::string code;     // e.g. "SignatureDoesNotMatch"
  std::string message;  // human-readable; no secrets, may name header or byte offset
};

S3Error MakeS3Error(int status, std::string code, std::string message);

// "<Code>: <message>" as a Status: InvalidArgument for 4xx, Internal otherwise.
Status ToStatus(const S3Error& e);

template <typename T>
class [[nodiscard]] S3Expected {
 public:
  S3Expected(T value) : v_(std::move(value)) {}    // NOLINT: implicit by design
  S3Expected(S3Error err) : v_(std::move(err)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const S3Error& error() const { return std::get<S3Error>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, S3Error> v_;
};

namespace err {

S3Error AccessDenied(std::string message = "Access Denied");
S3Error SignatureDoesNotMatch(std::string message =
                                  "The request signature we calculated does not match the "
                                  "signature you provided. Check your key and signing method.");
S3Error InvalidAccessKeyId(std::string message = "The AWS access key Id you provided does not "
                                                 "exist in our records.");
S3Error AuthorizationHeaderMalformed(std::string message);
S3Error AuthorizationQueryParametersError(std::string message);
S3Error RequestTimeTooSkewed(std::string message = "The difference between the request time "
                                                   "and the current time is too large.");
S3Error MissingSecurityHeader(std::string message = "Your request is missing a required header.");
S3Error XAmzContentSHA256Mismatch(std::string message = "The provided 'x-amz-content-sha256' "
                                                        "header does not match what was computed.");
S3Error InvalidDigest(std::string message = "The Content-MD5 you specified was invalid.");
S3Error BadDigest(std::string message = "The Content-MD5 you specified did not match what we "
                                        "received.");
S3Error IncompleteBody(std::string message = "You did not provide the number of bytes specified "
                                             "by the Content-Length HTTP header.");
S3Error InvalidRequest(std::string message);
S3Error InvalidArgument(std::string message);
S3Error InvalidURI(std::string message = "Couldn't parse the specified URI.");
S3Error MalformedXML(std::string message = "The XML you provided was not well-formed or did not "
                                           "validate against our published schema.");
S3Error EntityTooLarge(std::string message = "Your proposed upload exceeds the maximum allowed "
                                             "object size.");

}  // namespace err
}  // namespace as::s3

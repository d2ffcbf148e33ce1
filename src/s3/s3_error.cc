#include "s3/s3_error.h"

namespace as::s3 {

S3Error MakeS3Error(int status, std::string code, std::string message) {
  return S3Error{status, std::move(code), std::move(message)};
}

Status ToStatus(const S3Error& e) {
  std::string msg = e.code + ": " + e.message;
  if (e.http_status >= 400 && e.http_status < 500) return Status::InvalidArgument(std::move(msg));
  return Status::Internal(std::move(msg));
}

namespace err {

S3Error AccessDenied(std::string m) { return MakeS3Error(403, "AccessDenied", std::move(m)); }
S3Error SignatureDoesNotMatch(std::string m) {
  return MakeS3Error(403, "SignatureDoesNotMatch", std::move(m));
}
S3Error InvalidAccessKeyId(std::string m) {
  return MakeS3Error(403, "InvalidAccessKeyId", std::move(m));
}
S3Error AuthorizationHeaderMalformed(std::string m) {
  return MakeS3Error(400, "AuthorizationHeaderMalformed", std::move(m));
}
S3Error AuthorizationQueryParametersError(std::string m) {
  return MakeS3Error(400, "AuthorizationQueryParametersError", std::move(m));
}
S3Error RequestTimeTooSkewed(std::string m) {
  return MakeS3Error(403, "RequestTimeTooSkewed", std::move(m));
}
S3Error MissingSecurityHeader(std::string m) {
  return MakeS3Error(400, "MissingSecurityHeader", std::move(m));
}
S3Error XAmzContentSHA256Mismatch(std::string m) {
  return MakeS3Error(400, "XAmzContentSHA256Mismatch", std::move(m));
}
S3Error InvalidDigest(std::string m) { return MakeS3Error(400, "InvalidDigest", std::move(m)); }
S3Error BadDigest(std::string m) { return MakeS3Error(400, "BadDigest", std::move(m)); }
S3Error IncompleteBody(std::string m) { return MakeS3Error(400, "IncompleteBody", std::move(m)); }
S3Error InvalidRequest(std::string m) { return MakeS3Error(400, "InvalidRequest", std::move(m)); }
S3Error InvalidArgument(std::string m) {
  return MakeS3Error(400, "InvalidArgument", std::move(m));
}
S3Error InvalidURI(std::string m) { return MakeS3Error(400, "InvalidURI", std::move(m)); }
S3Error MalformedXML(std::string m) { return MakeS3Error(400, "MalformedXML", std::move(m)); }
S3Error EntityTooLarge(std::string m) { return MakeS3Error(400, "EntityTooLarge", std::move(m)); }

}  // namespace err
}  // namespace as::s3

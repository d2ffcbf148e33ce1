#include "server/oci_api.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "s3/http_util.h"
#include "s3/sigv4.h"

namespace as {

std::string OciApi::ErrorJson(const std::string& code, const std::string& message) {
  return nlohmann::json{{"errors", {{{"code", code}, {"message", message}}}}}.dump();
}

void OciApi::Handle(const HttpRequest& req, RequestBody&, ResponseWriter& w) {
  w.SetHeader("Docker-Distribution-API-Version", "registry/2.0");
  auto error = [&](int status, const std::string& code, const std::string& message) {
    w.Send(status, ErrorJson(code, message), "application/json").IgnoreError();
  };
  // HTTP Basic: "Basic base64(id:secret)", a tenant's S3 access key.
  auto unauthorized = [&](const std::string& why) {
    w.SetOperation("OciAuthFailed");
    w.SetHeader("WWW-Authenticate", "Basic realm=\"artifact-store\"");
    error(401, "UNAUTHORIZED", why);
  };
  const std::string* auth = req.Header("authorization");
  if (!auth) return unauthorized("authentication required: a tenant's access key id and secret");
  if (auth->size() < 6 || ::strncasecmp(auth->c_str(), "basic ", 6) != 0) {
    return unauthorized("only HTTP Basic authentication is accepted (access key id:secret)");
  }
  auto decoded = s3::Base64Decode(std::string_view(*auth).substr(6));
  const size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) return unauthorized("malformed Basic credentials");
  auto key = keys_.Find(decoded->substr(0, colon));
  if (!key.ok()) {
    w.SetOperation("OciError");
    // A server the store relies on did not answer: the client may retry.
    return error(503, "UNAVAILABLE", key.status().ToString());
  }
  if (!*key || !s3::SignaturesEqual((*key)->secret, std::string_view(*decoded).substr(colon + 1))) {
    return unauthorized("unknown access key id or wrong secret");
  }
  std::string_view path(req.target);
  path = path.substr(0, path.find('?'));
  if ((req.method == "GET" || req.method == "HEAD") && (path == "/v2/" || path == "/v2")) {
    w.SetOperation("OciPing");
    return w.Send(200, "{}", "application/json").IgnoreError();
  }
  w.SetOperation("OciUnsupported");
  error(405, "UNSUPPORTED",
        "this registry answers /v2/ and authentication only so far; pull and push are not "
        "built yet");
}

}  // namespace as

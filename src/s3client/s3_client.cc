#include "s3client/s3_client.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <pugixml.hpp>
#include <thread>

#include "base/bytes.h"
#include "s3/http_util.h"
#include "s3/uri.h"

namespace as {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// An S3 XML timestamp as unix seconds (0 when it does not parse).
int64_t XmlTime(const char* text) { return s3::ParseIso8601(text).value_or(0) / 1000; }

// The response's XML document, or Corruption naming `what`.
Status LoadXml(const S3Client::Response& resp, pugi::xml_document* doc, const std::string& what) {
  if (doc->load_string(resp.body.c_str())) return Status::OK();
  return Status::Corruption("S3 " + what + ": the answer is not XML");
}

struct CurlInit {
  CurlInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct BodySink {
  S3Client::Response* resp;
  const S3Client::Request* req;
};

size_t OnBody(char* p, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t len = size * n;
  S3Client::Response* resp = sink->resp;
  const S3Client::Request& req = *sink->req;
  if (req.into && resp->status / 100 == 2) {
    // Straight into the caller's buffer; more than asked for stops the
    // transfer (the caller sees the length mismatch).
    if (resp->received + len > req.into_len) return 0;
    std::memcpy(static_cast<uint8_t*>(req.into) + resp->received, p, len);
    resp->received += len;
    return len;
  }
  resp->body.append(p, len);
  return len;
}

size_t OnHeader(char* p, size_t size, size_t n, void* user) {
  auto* resp = static_cast<S3Client::Response*>(user);
  std::string_view line(p, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // The status is known before the body arrives: OnBody reads it.
    resp->headers.clear();  // a 100 Continue's, or a redirect's
    const size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      resp->status = std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    }
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    resp->headers.emplace_back(Lower(std::string(TrimOws(line.substr(0, colon)))),
                               std::string(TrimOws(line.substr(colon + 1))));
  }
  return size * n;
}

}  // namespace

std::string S3Client::Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

namespace {
std::string Base64Of(const Md5Bytes& md5) {
  return s3::Base64Encode(std::string_view(reinterpret_cast<const char*>(md5.data()), md5.size()));
}
}  // namespace

Result<s3::SigV4Credentials> LoadS3Credentials(const std::string& file) {
  s3::SigV4Credentials c;
  if (std::string r = Env("AWS_REGION"); !r.empty()) {
    c.region = r;
  } else if (std::string d = Env("AWS_DEFAULT_REGION"); !d.empty()) {
    c.region = d;
  }
  if (file.empty()) {
    c.access_key_id = Env("AWS_ACCESS_KEY_ID");
    c.secret = Env("AWS_SECRET_ACCESS_KEY");
    if (!c.access_key_id.empty() && !c.secret.empty()) return c;
    return Status::InvalidArgument(
        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a "
        "credentials file (init --s3-credentials FILE, mode 0600)");
  }
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return Status::FromErrno("S3 credentials " + file, errno);
  if (st.st_mode & 077) {
    return Status::FailedPrecondition("S3 credentials " + file +
                                      " may be read by others; chmod 600 it");
  }
  std::ifstream in(file);
  // The [default] section: AWS_PROFILE names a profile of the user's own
  // tools, not of a file this store was configured with.
  const std::string want = "default";
  std::string line, section;
  c.access_key_id.clear();
  c.secret.clear();
  while (std::getline(in, line)) {
    std::string_view l = TrimOws(line);
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    if (l.front() == '[' && l.back() == ']') {
      section = std::string(TrimOws(l.substr(1, l.size() - 2)));
      if (section.starts_with("profile ")) section = std::string(TrimOws(section.substr(8)));
      continue;
    }
    if (section != want) continue;
    const size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string k(TrimOws(l.substr(0, eq)));
    const std::string v(TrimOws(l.substr(eq + 1)));
    if (k == "aws_access_key_id") c.access_key_id = v;
    if (k == "aws_secret_access_key") c.secret = v;
    if (k == "region" && Env("AWS_REGION").empty() && Env("AWS_DEFAULT_REGION").empty()) {
      c.region = v;
    }
  }
  if (c.access_key_id.empty() || c.secret.empty()) {
    return Status::InvalidArgument("S3 credentials " + file + ": no aws_access_key_id and " +
                                   "aws_secret_access_key in [" + want + "]");
  }
  return c;
}

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Endpoint ep) {
  static CurlInit init;
  std::string url = ep.url;
  while (url.ends_with("/")) url.pop_back();
  std::string host;
  if (url.starts_with("http://")) {
    host = url.substr(7);
  } else if (url.starts_with("https://")) {
    host = url.substr(8);
  } else {
    return Status::InvalidArgument("S3 endpoint " + ep.url +
                                   ": not an http:// or https:// URL");
  }
  if (host.empty() || host.find('/') != std::string::npos) {
    return Status::InvalidArgument("S3 endpoint " + ep.url +
                                   ": give the server only (scheme://host[:port])");
  }
  ep.url = url;
  return std::unique_ptr<S3Client>(new S3Client(std::move(ep), std::move(host)));
}

S3Client::~S3Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* S3Client::TakeHandle() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void S3Client::GiveBack(void* h) {
  std::lock_guard<std::mutex> l(mu_);
  if (idle_.size() < 64) {
    idle_.push_back(h);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(h));
  }
}

Result<S3Client::Response> S3Client::Call(const Request& r, bool not_found_ok) {
  // Quick retries only: a longer outage is the caller's 503 to retry.
  constexpr int kTries = 4;
  Status last;
  for (int attempt = 0; attempt < kTries; attempt++) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << (2 * attempt - 2)));
    void* h = TakeHandle();
    if (!h) return Status::Internal("curl_easy_init failed");
    bool retry = false;
    auto resp = CallOnce(r, h, &retry);
    if (retry) {
      curl_easy_cleanup(static_cast<CURL*>(h));  // its connection may be broken
    } else {
      GiveBack(h);
    }
    if (resp.ok()) {
      if (resp->status == 404 && not_found_ok) return resp;
      if (resp->status / 100 == 2) return resp;
    }
    if (!retry) {
      if (!resp.ok()) return resp.status();
      break;
    }
    last = resp.status();
  }
  if (!last.ok()) return last;
  return Status::Internal("unreachable");
}

Result<S3Client::Response> S3Client::CallOnce(const Request& r, void* h, bool* retry) {
  CURL* c = static_cast<CURL*>(h);
  curl_easy_reset(c);
  std::string target = "/" + r.bucket;
  if (!r.key.empty()) {
    target += "/";
    s3::AppendUriEncoded(r.key, true, &target);
  }
  if (!r.query.empty()) target += "?" + r.query;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<s3::HttpHeader> headers = r.headers;
  headers.emplace_back("host", host_);
  headers.emplace_back("x-amz-date", s3::FormatAmzDate(now));
  headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  s3::HttpRequestView view{r.method, target, headers};
  const std::string auth = s3::SignSigV4(view, "UNSIGNED-PAYLOAD", ep_.creds, now);

  curl_slist* list = nullptr;
  for (const auto& [k, v] : headers) {
    if (k == "host") continue;  // curl writes it from the URL
    list = curl_slist_append(list, (k + ": " + v).c_str());
  }
  list = curl_slist_append(list, ("Authorization: " + auth).c_str());
  list = curl_slist_append(list, "Expect:");        // no 100-continue round trip
  list = curl_slist_append(list, "Content-Type:");  // not form data
  const std::string url = ep_.url + target;
  Response resp;
  BodySink sink{&resp, &r};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  // A stalled transfer (under 1 KiB/s for 30 s) fails rather than hangs.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
  if (r.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (r.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  if (r.method == "PUT" || r.method == "POST") {
    static const char kEmpty[] = "";
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body ? r.body : kEmpty);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body_len));
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  const std::string what = r.bucket + (r.key.empty() ? "" : "/" + r.key);
  if (rc == CURLE_WRITE_ERROR && r.into) {
    return Status::Corruption("S3 object " + what + ": more bytes than the " +
                              std::to_string(r.into_len) + " asked for");
  }
  if (rc != CURLE_OK) {
    *retry = true;
    return Status::Unavailable("S3 endpoint " + ep_.url + " (" + r.method + " " + what +
                               "): " + curl_easy_strerror(rc));
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  resp.status = code;
  if (code / 100 == 2 || code == 404) {
    if (code == 404) {
      // Which 404: a missing bucket is a configuration error, not a missing pack.
      pugi::xml_document doc;
      std::string s3code;
      if (doc.load_string(resp.body.c_str())) s3code = doc.child("Error").child_value("Code");
      if (s3code == "NoSuchBucket") {
        return Status::NotFound("S3 bucket " + r.bucket + " does not exist at " + ep_.url);
      }
    }
    return resp;
  }
  // An error document: <Error><Code>..</Code><Message>..</Message></Error>.
  std::string s3code, message;
  pugi::xml_document doc;
  if (doc.load_string(resp.body.c_str())) {
    s3code = doc.child("Error").child_value("Code");
    message = doc.child("Error").child_value("Message");
  }
  std::string text = "S3 " + r.method + " " + what + " at " + ep_.url + ": HTTP " +
                     std::to_string(code) + (s3code.empty() ? "" : " " + s3code) +
                     (message.empty() ? "" : " (" + message + ")");
  if (code >= 500) {
    *retry = true;
    return Status::Unavailable(std::move(text));
  }
  if (code == 403) return Status::FailedPrecondition(std::move(text));
  if (s3code == "BadDigest" || s3code == "InvalidDigest") return Status::Corruption(std::move(text));
  if (code == 416) return Status::Corruption(std::move(text));
  return Status::InvalidArgument(std::move(text));
}

Status S3Client::HeadBucket(const std::string& bucket) {
  AS_ASSIGN_OR_RETURN(auto resp, Call({.method = "HEAD", .bucket = bucket}, true));
  if (resp.status == 404) return Status::NotFound("S3 bucket " + bucket + " does not exist at " + ep_.url);
  return Status::OK();
}

Status S3Client::CreateBucket(const std::string& bucket) {
  return Call({.method = "PUT", .bucket = bucket}).status();
}

Result<std::string> S3Client::PutObject(const std::string& bucket, const std::string& key,
                                        const void* data, size_t n, const Md5Bytes& md5) {
  Request r{.method = "PUT", .bucket = bucket, .key = key};
  r.headers.emplace_back("content-md5", Base64Of(md5));
  r.body = data;
  r.body_len = n;
  AS_ASSIGN_OR_RETURN(auto resp, Call(r));
  return Unquote(resp.Header("etag"));
}

Result<std::string> S3Client::GetObject(const std::string& bucket, const std::string& key) {
  AS_ASSIGN_OR_RETURN(auto resp, Call({.method = "GET", .bucket = bucket, .key = key}, true));
  if (resp.status == 404) return Status::NotFound("S3 object " + bucket + "/" + key + " is not there");
  return std::move(resp.body);
}

Status S3Client::GetRange(const std::string& bucket, const std::string& key, uint64_t offset,
                          size_t n, void* out) {
  if (n == 0) return Status::OK();
  Request r{.method = "GET", .bucket = bucket, .key = key};
  r.headers.emplace_back("range", "bytes=" + std::to_string(offset) + "-" +
                                      std::to_string(offset + n - 1));
  r.into = out;
  r.into_len = n;
  AS_ASSIGN_OR_RETURN(auto resp, Call(r, true));
  if (resp.status == 404) return Status::NotFound("S3 object " + bucket + "/" + key + " is not there");
  if (resp.status != 206 && !(resp.status == 200 && offset == 0)) {
    return Status::Corruption("S3 object " + bucket + "/" + key + ": a range request got HTTP " +
                              std::to_string(resp.status));
  }
  if (resp.received != n) {
    return Status::Corruption("S3 object " + bucket + "/" + key + ": asked for " +
                              std::to_string(n) + " bytes at offset " + std::to_string(offset) +
                              ", got " + std::to_string(resp.received) + " (truncated?)");
  }
  return Status::OK();
}

Result<S3ObjectInfo> S3Client::HeadObject(const std::string& bucket, const std::string& key) {
  AS_ASSIGN_OR_RETURN(auto resp, Call({.method = "HEAD", .bucket = bucket, .key = key}, true));
  if (resp.status == 404) return Status::NotFound("S3 object " + bucket + "/" + key + " is not there");
  S3ObjectInfo o;
  o.size = std::strtoull(resp.Header("content-length").c_str(), nullptr, 10);
  o.etag = Unquote(resp.Header("etag"));
  return o;
}

Status S3Client::DeleteObject(const std::string& bucket, const std::string& key) {
  return Call({.method = "DELETE", .bucket = bucket, .key = key}, true).status();
}

Status S3Client::ListObjects(const std::string& bucket, const std::string& prefix,
                             const std::function<void(const S3ObjectInfo&)>& each) {
  std::string token;
  for (;;) {
    std::string q = "list-type=2&prefix=" + s3::UriEncode(prefix, false);
    if (!token.empty()) q += "&continuation-token=" + s3::UriEncode(token, false);
    AS_ASSIGN_OR_RETURN(auto resp, Call({.method = "GET", .bucket = bucket, .query = q}));
    pugi::xml_document doc;
    AS_RETURN_IF_ERROR(LoadXml(resp, &doc, "list of " + bucket + "/" + prefix));
    auto root = doc.child("ListBucketResult");
    for (auto c : root.children("Contents")) {
      S3ObjectInfo o;
      o.key = c.child_value("Key");
      o.size = std::strtoull(c.child_value("Size"), nullptr, 10);
      o.mtime = XmlTime(c.child_value("LastModified"));
      each(o);
    }
    if (std::string(root.child_value("IsTruncated")) != "true") return Status::OK();
    token = root.child_value("NextContinuationToken");
    if (token.empty()) return Status::Corruption("S3 list of " + bucket + ": truncated without a token");
  }
}

Result<std::string> S3Client::CreateMultipartUpload(const std::string& bucket,
                                                    const std::string& key) {
  AS_ASSIGN_OR_RETURN(auto resp,
                      Call({.method = "POST", .bucket = bucket, .key = key, .query = "uploads="}));
  pugi::xml_document doc;
  std::string id;
  if (doc.load_string(resp.body.c_str())) {
    id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  }
  if (id.empty()) return Status::Corruption("S3 CreateMultipartUpload of " + bucket + "/" + key + ": no UploadId");
  return id;
}

Result<std::string> S3Client::UploadPart(const std::string& bucket, const std::string& key,
                                         const std::string& upload_id, int number,
                                         const void* data, size_t n, const Md5Bytes& md5) {
  Request r{.method = "PUT", .bucket = bucket, .key = key,
            .query = "partNumber=" + std::to_string(number) +
                     "&uploadId=" + s3::UriEncode(upload_id, false)};
  r.headers.emplace_back("content-md5", Base64Of(md5));
  r.body = data;
  r.body_len = n;
  AS_ASSIGN_OR_RETURN(auto resp, Call(r));
  return Unquote(resp.Header("etag"));
}

Result<std::string> S3Client::CompleteMultipartUpload(const std::string& bucket,
                                                      const std::string& key,
                                                      const std::string& upload_id,
                                                      const std::vector<Md5Bytes>& md5s) {
  std::string body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < md5s.size(); i++) {
    body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>\"" +
            ToHex(md5s[i].data(), md5s[i].size()) + "\"</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  Request r{.method = "POST", .bucket = bucket, .key = key,
            .query = "uploadId=" + s3::UriEncode(upload_id, false)};
  r.body = body.data();
  r.body_len = body.size();
  AS_ASSIGN_OR_RETURN(auto resp, Call(r));
  // S3 may answer 200 with an error document (a failure found late).
  pugi::xml_document doc;
  AS_RETURN_IF_ERROR(LoadXml(resp, &doc, "CompleteMultipartUpload of " + bucket + "/" + key));
  if (doc.child("Error")) {
    return Status::Unavailable("S3 CompleteMultipartUpload of " + bucket + "/" + key + ": " +
                               doc.child("Error").child_value("Code") + " (" +
                               doc.child("Error").child_value("Message") + ")");
  }
  return Unquote(doc.child("CompleteMultipartUploadResult").child_value("ETag"));
}

Status S3Client::AbortMultipartUpload(const std::string& bucket, const std::string& key,
                                      const std::string& upload_id) {
  return Call({.method = "DELETE", .bucket = bucket, .key = key,
               .query = "uploadId=" + s3::UriEncode(upload_id, false)},
              true)
      .status();
}

Status S3Client::ListMultipartUploads(const std::string& bucket, const std::string& prefix,
                                      const std::function<void(const S3Upload&)>& each) {
  std::string key_marker, id_marker;
  for (;;) {
    std::string q = "uploads=&prefix=" + s3::UriEncode(prefix, false);
    if (!key_marker.empty()) {
      q += "&key-marker=" + s3::UriEncode(key_marker, false) +
           "&upload-id-marker=" + s3::UriEncode(id_marker, false);
    }
    AS_ASSIGN_OR_RETURN(auto resp, Call({.method = "GET", .bucket = bucket, .query = q}));
    pugi::xml_document doc;
    AS_RETURN_IF_ERROR(LoadXml(resp, &doc, "list of uploads in " + bucket + "/" + prefix));
    auto root = doc.child("ListMultipartUploadsResult");
    for (auto u : root.children("Upload")) {
      S3Upload up;
      up.key = u.child_value("Key");
      up.upload_id = u.child_value("UploadId");
      up.initiated = XmlTime(u.child_value("Initiated"));
      each(up);
    }
    if (std::string(root.child_value("IsTruncated")) != "true") return Status::OK();
    key_marker = root.child_value("NextKeyMarker");
    id_marker = root.child_value("NextUploadIdMarker");
    if (key_marker.empty()) return Status::OK();
  }
}

}  // namespace as

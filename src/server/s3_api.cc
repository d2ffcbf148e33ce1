#include "server/s3_api.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

#include "base/bytes.h"
#include "s3/http_util.h"
#include "s3/xml.h"
#include "server/s3_request.h"

namespace as {

namespace {

// The bucket of a virtual-hosted-style request: Host "<bucket>.<domain>"
// (port ignored, any case) for one of `domains`.
std::optional<std::string> VirtualHostBucket(const HttpRequest& req,
                                             const std::vector<std::string>& domains) {
  const std::string* host_header = req.Header("host");
  if (!host_header || domains.empty()) return std::nullopt;
  std::string_view host = *host_header;
  if (auto colon = host.rfind(':'); colon != std::string_view::npos && host.back() != ']') {
    host = host.substr(0, colon);
  }
  for (const std::string& d : domains) {
    if (host.size() < d.size() + 2 || host[host.size() - d.size() - 1] != '.') continue;
    if (!AsciiIEquals(host.substr(host.size() - d.size()), d)) continue;
    std::string bucket(host.substr(0, host.size() - d.size() - 1));
    // Bucket names are lowercase; hosts are not case-sensitive.
    for (char& c : bucket) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return bucket;
  }
  return std::nullopt;
}

// Splits "/bucket/key..." (decoded) into bucket and key.
void SplitPath(const std::string& path, std::string* bucket, std::string* key) {
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  size_t slash = path.find('/', start);
  if (slash == std::string::npos) {
    *bucket = path.substr(start);
    return;
  }
  *bucket = path.substr(start, slash - start);
  *key = path.substr(slash + 1);
}

// Digest::ToString in one allocation (it takes three), as every GET and HEAD
// answers x-amz-meta-as-content.
std::string DigestText(const Digest& d) {
  const char* name = DigestAlgoName(d.algo);
  if (!name) return d.ToString();
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t n = d.size(), name_len = std::strlen(name);
  std::string s(name_len + 1 + 2 * n, ':');
  std::memcpy(s.data(), name, name_len);
  char* w = s.data() + name_len + 1;
  for (size_t i = 0; i < n; i++) {
    *w++ = kHex[d.bytes[i] >> 4];
    *w++ = kHex[d.bytes[i] & 15];
  }
  return s;
}

const std::set<std::string>& KeptHeaders() {
  static const std::set<std::string> h = {"content-encoding", "content-disposition",
                                          "cache-control", "content-language", "expires"};
  return h;
}

}  // namespace

// ---- S3Request helpers ----------------------------------------------------

const std::string* S3Request::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::string S3Request::Resource() const {
  // Before the path is split (an authentication error), the path as sent.
  if (bucket.empty() && !path.empty()) return path;
  return "/" + bucket + (key.empty() ? "" : "/" + key);
}

void S3Request::Error(const s3::S3Error& e) {
  // The server's own failures (a full disk, a damaged pack, an I/O error) are
  // the operator's to see: one line each on stderr. Client errors are not.
  if (e.http_status >= 500) {
    std::fprintf(stderr, "artifact-store: %s %s: %d %s (request %s%s): %s\n", req.method.c_str(),
                 Resource().c_str(), e.http_status, e.code.c_str(), req.request_id.c_str(),
                 w.head_sent() ? ", body cut short" : "", e.message.c_str());
  }
  if (w.head_sent()) return;  // mid-stream: the short body tells the client
  s3::ErrorDoc doc{e.code, e.message, Resource(), req.request_id, {}};
  if (e.code == "NoSuchBucket" || e.code == "BucketNotEmpty") doc.extra.push_back({"BucketName", bucket});
  if (e.code == "NoSuchKey") doc.extra.push_back({"Key", key});
  // A request the handler did not read to the end may have a large body
  // behind it; the server drains small ones and closes otherwise.
  w.Send(e.http_status, s3::ErrorXml(doc), "application/xml").IgnoreError();
}

void S3Request::Error(const Status& s, const s3::S3Error& not_found) {
  switch (s.code()) {
    case Code::kNotFound: return Error(not_found);
    case Code::kInvalidArgument: return Error(s3::err::InvalidArgument(s.message()));
    case Code::kFailedPrecondition:
      return Error(s3::MakeS3Error(409, "BucketNotEmpty", s.message()));
    case Code::kAlreadyExists:
      return Error(s3::MakeS3Error(409, "BucketAlreadyOwnedByYou", s.message()));
    default:
      return Error(ServerError(s));
  }
}

void S3Request::Xml(int status, const std::string& xml) {
  w.Send(status, xml, "application/xml").IgnoreError();
}

bool S3Request::RequireBucket() {
  auto b = store->GetBucket(tenant, bucket);
  if (b.ok()) return true;
  Error(b.status(), NoSuchBucket(bucket));
  return false;
}

bool S3Request::TenantEncrypted() {
  if (!encrypted_) {
    auto t = store->GetTenant(tenant);
    encrypted_ = t.ok() && t->encrypted;
  }
  return *encrypted_;
}

std::optional<s3::S3Error> S3Request::CheckSse() {
  auto not_implemented = [](const std::string& what) {
    return s3::MakeS3Error(501, "NotImplemented",
                           "A header you provided implies functionality that is not "
                           "implemented: " + what);
  };
  if (Header("x-amz-server-side-encryption-customer-algorithm") ||
      Header("x-amz-server-side-encryption-customer-key") ||
      Header("x-amz-copy-source-server-side-encryption-customer-algorithm")) {
    return not_implemented("SSE-C (keys the client provides); the store encrypts with keys its "
                           "operator holds (SSE-S3, AES256)");
  }
  if (Header("x-amz-server-side-encryption-aws-kms-key-id") ||
      Header("x-amz-server-side-encryption-context")) {
    return not_implemented("SSE-KMS; the store encrypts with keys its operator holds (AES256)");
  }
  const std::string* sse = Header("x-amz-server-side-encryption");
  if (sse) {
    if (*sse == "aws:kms" || *sse == "aws:kms:dsse") {
      return not_implemented("SSE-KMS (" + *sse + "); the store encrypts with keys its operator "
                             "holds (AES256)");
    }
    if (*sse != "AES256") {
      return s3::err::InvalidArgument("The encryption method specified is not supported: " +
                                      *sse);
    }
    if (!TenantEncrypted()) {
      return s3::err::InvalidArgument(
          "Server-side encryption (AES256) was asked for, but tenant '" + tenant +
          "' is not encrypted at rest (an operator makes it so when the tenant is created)");
    }
  }
  if (TenantEncrypted()) w.SetHeader("x-amz-server-side-encryption", "AES256");
  return std::nullopt;
}

void S3Request::SetObjectHeaders(const ArtifactInfo& info, const ObjectAttrs& attrs) {
  if (TenantEncrypted()) w.SetHeader("x-amz-server-side-encryption", "AES256");
  if (!attrs.etag.empty()) w.SetHeader("ETag", Quoted(attrs.etag));
  w.SetHeader("Last-Modified", s3::FormatHttpDate(info.created));
  w.SetHeader("Content-Type",
              attrs.content_type.empty() ? "binary/octet-stream" : attrs.content_type);
  w.SetHeader("Accept-Ranges", "bytes");
  for (const auto& [k, v] : attrs.headers) w.SetHeader(k, v);
  for (const auto& [k, v] : attrs.user) w.SetHeader("x-amz-meta-" + k, v);
  // Our own identity of the bytes, checkable with b3sum (not in an encrypted
  // tenant, whose catalog keeps only a keyed value of it).
  if (info.content.algo == DigestAlgo::kBlake3) {
    w.SetHeader("x-amz-meta-as-content", DigestText(info.content));
  }
  if (!attrs.tags.empty()) w.SetHeader("x-amz-tagging-count", std::to_string(attrs.tags.size()));
  const std::string* mode = req.Header("x-amz-checksum-mode");
  if (mode && AsciiIEquals(*mode, "enabled")) {
    // A part (?partNumber) of a multipart object is not what they describe.
    const std::string* range = req.Header("range");
    const bool part = HasQuery("partNumber") && attrs.parts > 1;
    if (!part &&
        (!range || s3::ResolveRange(*range, info.size).kind != s3::RangeResult::Kind::kPartial)) {
      SetChecksumHeaders(attrs);
    }
  }
}

void S3Request::SetChecksumHeaders(const ObjectAttrs& attrs) {
  // Every checksum kept (an object from before one-per-object has CRC32C and
  // SHA256, both checked at its PUT); a client validates the one it prefers.
  for (s3::ChecksumAlgo a : s3::kAllChecksumAlgos) {
    if (!attrs.checksum(a).empty()) w.SetHeader(s3::Spec(a).header, attrs.checksum(a));
  }
  if (attrs.FirstChecksum()) w.SetHeader("x-amz-checksum-type", attrs.ChecksumTypeName());
}

s3::S3Expected<ObjectAttrs> AttrsFromHeaders(const HttpRequest& req) {
  ObjectAttrs a;
  size_t user_bytes = 0;
  for (const auto& [name, value] : req.headers) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-type") {
      a.content_type = value;
    } else if (KeptHeaders().count(lower)) {
      // aws-chunked is how the body travelled, not what it is.
      if (lower == "content-encoding" && AsciiIStartsWith(value, "aws-chunked")) {
        std::string rest = value.size() > 11 && value[11] == ',' ? value.substr(12) : "";
        while (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
        if (!rest.empty()) a.headers[lower] = rest;
        continue;
      }
      a.headers[lower] = value;
    } else if (lower.rfind("x-amz-meta-", 0) == 0 && lower.size() > 11) {
      std::string k = lower.substr(11);
      if (k == "as-content") continue;  // ours, set on the way out
      user_bytes += k.size() + value.size();
      a.user[k] = value;
    }
  }
  if (user_bytes > 2048) {
    return s3::MakeS3Error(400, "MetadataTooLarge",
                           "Your metadata headers exceed the maximum allowed metadata size.");
  }
  auto tags = TagsFromHeader(req);
  if (!tags.ok()) return tags.error();
  a.tags = std::move(*tags);
  return a;
}

std::optional<uint32_t> ParseSmallNumber(const std::string* s) {
  if (!s || s->empty() || s->size() > 5) return std::nullopt;
  uint32_t n = 0;
  for (char c : *s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

void RetryWhileChanging(S3Request& r, const char* message, const std::function<bool()>& once) {
  for (int attempt = 0; attempt < 5; attempt++) {
    if (!once()) return;
  }
  r.Error(s3::MakeS3Error(409, "OperationAborted", message));
}

std::optional<FoundObject> FindObject(S3Request& r) {
  auto info = r.store->Lookup(r.Name());
  if (!info.ok()) {
    if (info.status().code() != Code::kNotFound || r.RequireBucket()) {
      r.Error(info.status(), NoSuchKey(r.key));
    }
    return std::nullopt;
  }
  auto attrs = ObjectAttrs::DecodeFor(info->attrs, info->content);
  if (!attrs.ok()) {
    r.Error(ServerError(attrs.status()));
    return std::nullopt;
  }
  return FoundObject{std::move(*info), std::move(*attrs)};
}

Result<std::string> ReadBody(S3Request& r, size_t max) {
  std::string out;
  uint8_t buf[65536];
  while (true) {
    AS_ASSIGN_OR_RETURN(size_t n, r.body.Read(buf, sizeof(buf)));
    if (n == 0) break;
    out.append(reinterpret_cast<char*>(buf), n);
    if (out.size() > max) {
      return Status::InvalidArgument("request body over " + std::to_string(max) + " bytes");
    }
  }
  return out;
}

namespace {

// GET ?acl: a canned owner-only policy (there are no ACLs here); s3cmd asks.
void AnswerAcl(S3Request& r) {
  r.w.SetOperation("GetAcl");
  if (r.key.empty() ? !r.RequireBucket() : !r.store->Lookup(r.Name()).ok()) {
    if (!r.key.empty()) r.Error(NoSuchKey(r.key));
    return;
  }
  // Tenant names are letters, digits and - _ . only: no escaping needed.
  r.Xml(200,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AccessControlPolicy xmlns=\""
        "http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>" + r.tenant +
        "</ID><DisplayName>" + r.tenant + "</DisplayName></Owner><AccessControlList><Grant>"
        "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:type=\"CanonicalUser\"><ID>" + r.tenant + "</ID><DisplayName>" + r.tenant +
        "</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>");
}

// GET or DELETE of an object's ?tagging: no object has tags here. awscli
// reads them to carry them along with a multipart copy (aws s3 cp/mv/sync
// between S3 locations, from 8 MiB).
// A bucket configuration this server never has: reading it gets S3's own
// answer for one that was never set (tools that manage buckets, such as
// Terraform, read them all and take these 404s as "unset", a 501 as a failure).
struct Unconfigured {
  const char* subresource;
  const char* code;
  const char* message;
};
constexpr Unconfigured kUnconfigured[] = {
    {"cors", "NoSuchCORSConfiguration", "The CORS configuration does not exist"},
    {"encryption", "ServerSideEncryptionConfigurationNotFoundError",
     "The server side encryption configuration was not found"},
    {"lifecycle", "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"},
    {"object-lock", "ObjectLockConfigurationNotFoundError",
     "Object Lock configuration does not exist for this bucket"},
    {"ownershipControls", "OwnershipControlsNotFoundError",
     "The bucket ownership controls were not found"},
    {"policy", "NoSuchBucketPolicy", "The bucket policy does not exist"},
    {"publicAccessBlock", "NoSuchPublicAccessBlockConfiguration",
     "The public access block configuration was not found"},
    {"replication", "ReplicationConfigurationNotFoundError",
     "The replication configuration was not found"},
    {"tagging", "NoSuchTagSet", "The TagSet does not exist"},
    {"website", "NoSuchWebsiteConfiguration", "The specified bucket does not have a website "
                                              "configuration"},
};

const Unconfigured* FindUnconfigured(std::string_view k) {
  for (const auto& u : kUnconfigured) {
    if (k == u.subresource) return &u;
  }
  return nullptr;
}

}  // namespace

bool AnsweredSubresource(S3Request& r) {
  static const std::set<std::string, std::less<>> kUnsupported = {
      "accelerate", "acl",     "analytics",  "attributes", "cors",          "encryption",
      "intelligent-tiering",   "inventory",  "legal-hold", "lifecycle",     "logging",
      "metrics",    "notification", "object-lock", "ownershipControls",    "policy",
      "policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore",
      "retention",  "select",  "tagging",    "torrent",    "versions",      "website"};
  const std::string& m = r.req.method;
  for (const auto& [k, v] : r.query) {
    // Every name above starts with a lowercase letter; the X-Amz-* of a
    // presigned URL never do, and need no lookup.
    if (k.empty() || k[0] < 'a' || k[0] > 'z' || !kUnsupported.count(k)) continue;
    if (k == "acl" && (m == "GET" || m == "HEAD")) {
      AnswerAcl(r);
      return true;
    }
    if (k == "versions" && r.key.empty() && m == "GET") return false;  // ListObjectVersions
    if (k == "attributes" && !r.key.empty() && m == "GET") {
      GetObjectAttributes(r);
      return true;
    }
    if (k == "tagging" && !r.key.empty() && (m == "GET" || m == "PUT" || m == "DELETE")) {
      ObjectTagging(r);
      return true;
    }
    if (k == "encryption" && r.key.empty() && m == "GET" && r.TenantEncrypted()) {
      // The tenant's encryption at rest is SSE-S3 on every bucket.
      r.w.SetOperation("GetBucketEncryption");
      if (r.RequireBucket()) {
        r.Xml(200,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<ServerSideEncryptionConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
              "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
              "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled>"
              "</Rule></ServerSideEncryptionConfiguration>");
      }
      return true;
    }
    const Unconfigured* u = r.key.empty() && m == "GET" ? FindUnconfigured(k) : nullptr;
    if (u) {
      r.w.SetOperation("GetBucketConfiguration");
      if (r.RequireBucket()) r.Error(s3::MakeS3Error(404, u->code, u->message));
      return true;
    }
    r.w.SetOperation("Unsupported");
    r.Error(s3::MakeS3Error(501, "NotImplemented",
                            "This server does not implement the ?" + k + " sub-resource"));
    return true;
  }
  return false;
}

s3::S3Error NoSuchKey(const std::string& key) {
  return s3::MakeS3Error(404, "NoSuchKey", "The specified key does not exist: " + key);
}
s3::S3Error NoSuchBucket(const std::string& bucket) {
  return s3::MakeS3Error(404, "NoSuchBucket", "The specified bucket does not exist: " + bucket);
}
s3::S3Error NoSuchUpload(const std::string& id) {
  return s3::MakeS3Error(404, "NoSuchUpload", "The specified upload does not exist: " + id);
}
s3::S3Error UnsupportedChecksumAlgorithm() {
  return s3::err::InvalidRequest(
      "Checksum algorithm provided is unsupported. Please try again with any of the valid types: "
      "[CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
}

s3::S3Error ServerError(const Status& s) {
  if (s.code() == Code::kNoSpace) {
    return s3::MakeS3Error(
        507, "InsufficientStorage",
        "The store's file system is full; nothing was stored (" + s.message() + ")");
  }
  if (s.code() == Code::kUnavailable) {
    // SDKs retry a 503 with backoff, which is what a restarting database
    // needs; nothing of the failed request was committed.
    return s3::MakeS3Error(503, "ServiceUnavailable",
                           "A server the store relies on (its metadata or its packs) did not answer; retry (" + s.message() +
                               ")");
  }
  if (s.code() == Code::kBusy) {
    // Another server's transaction won a race (a deadlock broken, a chunk
    // collected under a put that began before gc doomed it): nothing of the
    // request was committed, and a retry succeeds.
    return s3::MakeS3Error(503, "SlowDown", "Please reduce your request rate; retry (" +
                                                s.message() + ")");
  }
  return s3::MakeS3Error(500, "InternalError", s.ToString());
}

// ---- S3Api ------------------------------------------------------------------

S3Api::S3Api(Store* store, S3ApiOptions options)
    : store_(store), options_(std::move(options)), keys_(store) {}

bool S3Api::VirtualHosted(const HttpRequest& req) const {
  return VirtualHostBucket(req, options_.domains).has_value();
}

void S3Api::Handle(const HttpRequest& req, RequestBody& body, ResponseWriter& w) {
  S3Request r(req, body, w);
  r.store = store_;
  r.region = options_.region;
  r.max_put_bytes = options_.max_put_bytes;
  s3::RequestTarget t = s3::SplitRequestTarget(req.target);
  auto path = s3::UriDecode(t.path);
  if (!path.ok()) return r.Error(path.error());
  r.path = std::move(path).value();
  auto query = s3::ParseQuery(t.query);
  if (!query.ok()) return r.Error(query.error());
  r.query = std::move(query).value();

  // Authentication: who is asking decides which tenant's data is visible.
  // HttpRequest keeps its headers as the same (name, value) pairs: no copy;
  // the query parsed above is SigV4's too.
  s3::HttpRequestView view{req.method, req.target, req.headers, &r.query};
  auto auth = s3::ParseSigV4(view, static_cast<int64_t>(std::time(nullptr)));
  if (!auth.ok()) {
    w.SetOperation("AuthFailed");
    return r.Error(auth.error());
  }
  auto key = keys_.Find(auth->access_key_id);
  if (!key.ok()) return r.Error(ServerError(key.status()));
  if (!*key) {
    w.SetOperation("AuthFailed");
    return r.Error(s3::err::InvalidAccessKeyId());
  }
  s3::SigV4Key signing_key;
  {
    thread_local std::string id;  // reused: no allocation per request
    id.assign(auth->access_key_id).append("/").append(auth->scope);
    std::lock_guard<std::mutex> l(signing_mu_);
    auto it = signing_keys_.find(id);
    if (it == signing_keys_.end()) {
      if (signing_keys_.size() > 10000) signing_keys_.clear();
      it = signing_keys_
               .emplace(id, s3::SigV4SigningKey((*key)->secret, auth->date, auth->region,
                                                auth->service))
               .first;
    }
    signing_key = it->second;
  }
  if (auto e = s3::VerifySigV4WithKey(*auth, view, signing_key)) {
    w.SetOperation("AuthFailed");
    return r.Error(*e);
  }
  r.auth = std::move(auth).value();
  r.tenant = (*key)->tenant;
  r.secret = (*key)->secret;

  if (auto bucket = VirtualHostBucket(req, options_.domains)) {
    r.bucket = std::move(*bucket);
    r.key = r.path.rfind('/', 0) == 0 ? r.path.substr(1) : r.path;
  } else if (r.path.rfind("/v1/", 0) == 0) {
    return ContentOp(r);
  } else {
    SplitPath(r.path, &r.bucket, &r.key);
  }
  if (r.bucket.empty()) {
    if (req.method == "GET") return ListBuckets(r);
    w.SetOperation("Unsupported");
    return r.Error(s3::MakeS3Error(405, "MethodNotAllowed",
                                   "The specified method is not allowed against this resource."));
  }
  if (AnsweredSubresource(r)) return;
  if (r.key.empty()) return BucketOp(r);
  if (r.key.size() > 1024) {
    return r.Error(s3::MakeS3Error(400, "KeyTooLongError", "Your key is too long."));
  }
  if (r.key.find('\0') != std::string::npos) return r.Error(s3::err::InvalidURI());
  return ObjectOp(r);
}

void S3Api::AddStoreGauges(Store* store, Metrics* metrics) {
  metrics->AddGaugeSource([store](std::string* out) {
    auto s = store->Stats();
    if (!s.ok()) return;
    Metrics::AppendGauge(out, "as_store_logical_bytes", "Sum of the sizes of live artifacts.",
                         double(s->logical_bytes));
    Metrics::AppendGauge(out, "as_store_unique_bytes", "Raw bytes of distinct chunks.",
                         double(s->unique_bytes));
    Metrics::AppendGauge(out, "as_store_stored_bytes", "Frame bytes of distinct chunks in packs.",
                         double(s->stored_bytes));
    Metrics::AppendGauge(out, "as_store_dedup_ratio", "Logical bytes / unique chunk bytes.",
                         s->dedup_ratio());
    Metrics::AppendGauge(out, "as_store_compression_ratio", "Unique bytes / stored bytes.",
                         s->compression_ratio());
    Metrics::AppendGauge(out, "as_store_packs", "Sealed pack files.", double(s->packs));
    Metrics::AppendGauge(out, "as_store_names", "Live names.", double(s->names));
    if (auto space = store->Space(); space.ok()) {
      Metrics::AppendGauge(out, "as_store_fs_size_bytes", "Size of the store's file system.",
                           double(space->fs_size_bytes));
      Metrics::AppendGauge(out, "as_store_fs_free_bytes",
                           "Bytes free on the store's file system (for this process).",
                           double(space->fs_free_bytes));
      Metrics::AppendGauge(out, "as_store_reserve_bytes",
                           "The store's reserve for freeing a full disk; 0 once spent.",
                           double(space->reserve_bytes));
    }
    const StoreCounters c = store->Counters();
    Metrics::AppendCounter(out, "as_store_group_commits_total",
                           "Shared-pack commits of small puts (one fsync and transaction each).",
                           double(c.group_commits));
    Metrics::AppendCounter(out, "as_store_group_committed_puts_total",
                           "Puts committed by them (divided by the commits: the group size).",
                           double(c.group_committed_puts));
    Metrics::AppendCounter(out, "as_store_delta_chunks_total",
                           "New chunks stored compressed against stored chunks they resemble.",
                           double(c.delta_chunks));
    Metrics::AppendCounter(out, "as_gc_refs_resurrected_total",
                           "Rows gc had doomed that commits of this server brought back.",
                           double(c.refs_resurrected));
    Metrics::AppendCounter(out, "as_gc_refs_gone_total",
                           "Commits refused (503) because gc had collected a row they referenced.",
                           double(c.refs_gone));
    Metrics::AppendCounter(out, "as_session_fenced_commits_total",
                           "Commits refused (503) because gc had expelled this server's session.",
                           double(c.commits_fenced));
    Metrics::AppendCounter(out, "as_session_renewals_total",
                           "Times this server found its session expelled and began a new one.",
                           double(c.session_renewals));
    Metrics::AppendGauge(out, "as_filter_ready",
                         "1 once the dedup filter is loaded; 0 while puts ask the index.",
                         double(c.filter_ready));
    Metrics::AppendGauge(out, "as_filter_keys", "Chunk keys in the dedup filter.",
                         double(c.filter_keys));
    Metrics::AppendGauge(out, "as_filter_bytes", "Memory of the dedup filter's table.",
                         double(c.filter_bytes));
    Metrics::AppendCounter(out, "as_filter_rebuilds_total",
                           "Dedup filters rebuilt from the index (files missing or stale).",
                           double(c.filter_rebuilds));
  });
}

}  // namespace as

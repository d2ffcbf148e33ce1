// The content-addressed API: GET|HEAD /v1/blobs/<digest> (Range supported)
// and GET /v1/manifests/<digest>, within the caller's tenant.
#include "server/s3_request.h"

namespace as {

namespace {

s3::S3Error NoSuchDigest(const std::string& what) {
  return s3::MakeS3Error(404, "NotFound", "no artifact with digest " + what + " in this tenant");
}

void Blob(S3Request& r, const std::string& ref, bool head) {
  r.w.SetOperation(head ? "HeadBlob" : "GetBlob");
  auto digest = Digest::Parse(ref);
  if (!digest.ok()) return r.Error(s3::err::InvalidArgument(digest.status().message()));
  auto info = r.store->LookupDigest(r.tenant, *digest);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) return r.Error(NoSuchDigest(ref));
    return r.Error(ServerError(info.status()));
  }
  // The digest names the bytes forever: caches may keep them.
  r.w.SetHeader("ETag", Quoted(info->content.ToString()));
  r.w.SetHeader("Cache-Control", "public, max-age=31536000, immutable");
  r.w.SetHeader("Content-Type", "application/octet-stream");
  r.w.SetHeader("Accept-Ranges", "bytes");
  r.w.SetHeader("x-as-content-digest", info->content.ToString());
  r.w.SetHeader("x-as-manifest-digest", info->manifest.ToString());
  SendArtifact(r, *info, head, NoSuchDigest(ref));
}

void ManifestDoc(S3Request& r, const std::string& ref) {
  r.w.SetOperation("GetManifest");
  auto digest = Digest::Parse(ref);
  if (!digest.ok()) return r.Error(s3::err::InvalidArgument(digest.status().message()));
  auto bytes = r.store->ManifestBytes(r.tenant, ref);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) return r.Error(NoSuchDigest(ref));
    return r.Error(ServerError(bytes.status()));
  }
  r.w.SetHeader("Cache-Control", "public, max-age=31536000, immutable");
  r.w.Send(200, std::string(bytes->begin(), bytes->end()), "application/cbor").IgnoreError();
}

}  // namespace

void ContentOp(S3Request& r) {
  const std::string& m = r.req.method;
  constexpr std::string_view kBlobs = "/v1/blobs/", kManifests = "/v1/manifests/";
  if ((m == "GET" || m == "HEAD") && r.path.rfind(kBlobs, 0) == 0) {
    return Blob(r, r.path.substr(kBlobs.size()), m == "HEAD");
  }
  if (m == "GET" && r.path.rfind(kManifests, 0) == 0) {
    return ManifestDoc(r, r.path.substr(kManifests.size()));
  }
  r.w.SetOperation("Unsupported");
  r.Error(s3::MakeS3Error(404, "NotFound", "no such API: " + m + " " + r.path));
}

}  // namespace as

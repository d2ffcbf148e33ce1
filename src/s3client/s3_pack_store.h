// Packs as objects in an S3-compatible bucket (docs/scaleout.md, "Packs"):
//   <prefix>/STORE                   marker: which store the prefix is bound to
//   <prefix>/packs/<hh>/<name>.pack  one object per pack
//
// Writes: a pack that stays under one part (16 MiB), and every `small` one,
// is one PutObject with Content-MD5; a larger one is a multipart upload
// started when its first part fills, each part sent with Content-MD5 on a
// helper thread while the next fills, and the completed ETag compared with
// the MD5 of the part MD5s: that is the check that replaces a local pack's
// read-back. A sink dropped before Seal aborts its upload; one a killed
// process left is listed (not sealed) for gc.
//
// Reads: ranged GETs. A pack of 4 MiB or less (every group-commit pack) is
// fetched whole on its first read; in a larger one a reader read front to
// back (gets, verify, reindex) fetches ahead in growing windows (256 KiB
// doubling to 16 MiB), so neighbouring frames come in one request, and a
// random read fetches exactly its frame. The last fetch of each reader is
// kept (packs are immutable; every frame is still CRC-checked as it is
// read), within 512 MiB for all readers together.
#pragma once

#include <memory>
#include <string>

#include "pack/pack_store.h"
#include "s3client/s3_client.h"

namespace as {

struct S3PacksUrl {
  std::string bucket, prefix;  // prefix without slashes at either end; may be empty
};
// "s3://bucket" or "s3://bucket/some/prefix".
Result<S3PacksUrl> ParseS3PacksUrl(const std::string& url);

inline constexpr size_t kS3PartSize = 16 << 20;

// Opens the bucket prefix for the store `store_uuid`. With `create` (init),
// a missing bucket is created and the marker written; a prefix whose marker
// names another store is refused either way (FailedPrecondition naming
// both), and so is, without `create`, a prefix with no marker.
Result<std::unique_ptr<PackStore>> OpenS3PackStore(S3Endpoint endpoint, const std::string& url,
                                                   const std::string& store_uuid, bool create);

}  // namespace as

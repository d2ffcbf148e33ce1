// One page of ListObjects / ListObjectsV2 over a sorted key source: prefix,
// delimiter roll-up into common prefixes, max-keys, the start position
// (marker, start-after or continuation token) and where the next page begins.
//
// Order and positions are bytewise over the UTF-8 key. A page lists the
// entries (keys and common prefixes) that sort after its start position, in
// order; a common prefix counts once toward max-keys. So resuming from the
// last entry of a page (NextMarker, or the token that encodes it) returns
// every key and every common prefix exactly once across pages, even when a
// roll-up spans pages. A start position inside a rolled-up group (marker
// "photos/b" with delimiter "/") skips that group, whose prefix sorts before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace as::s3 {

inline constexpr size_t kMaxListKeys = 1000;
// S3's limit on a key's UTF-8 length; the skip over a rolled-up group is
// exact for keys up to this length (and for every valid UTF-8 key).
inline constexpr size_t kMaxKeyBytes = 1024;

// What a listing shows of one object.
struct ObjectSummary {
  std::string key = {};
  uint64_t size = 0;
  std::string etag = {};       // without quotes; the XML adds them
  int64_t last_modified = 0;   // unix milliseconds
};

// The sorted key source. Returns, in ascending bytewise order, at most `limit`
// objects whose keys start with `prefix` and are strictly greater than
// `after` ("" = from the first key). Returning fewer than `limit` means there
// are no more. Keys are never empty.
using ListSource = std::function<Result<std::vector<ObjectSummary>>(
    const std::string& prefix, const std::string& after, size_t limit)>;

struct ListRequest {
  std::string prefix = {};
  std::string delimiter = {};  // "" = no roll-up
  std::string start = {};      // list entries after this ("" = from the start)
  size_t max_keys = kMaxListKeys;  // 0..1000
};

struct ListPage {
  std::vector<ObjectSummary> contents;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  // When truncated: the last entry listed (a key or a common prefix), where
  // the next page starts. V1 returns it as NextMarker (when a delimiter was
  // given), V2 as NextContinuationToken = EncodeContinuationToken(next).
  std::string next;
  size_t key_count() const { return contents.size() + common_prefixes.size(); }
};

// Lists one page. max_keys 0 lists nothing and is not truncated. Errors from
// the source are returned as they are; a source that breaks its contract
// (unsorted, repeated, outside the prefix) is kInternal rather than a loop.
//
// Efficiency: after a common prefix P is emitted the source is asked for keys
// after SkipPast(P), so a group of a million keys costs one query, not a
// million rows.
Result<ListPage> ListObjectsPage(const ListRequest& req, const ListSource& source);

// A string greater than every key of at most kMaxKeyBytes that starts with
// `p` (p followed by 0xff bytes up to that length, at least one), and less
// than every greater string that does not start with p. Valid UTF-8 never
// holds 0xff, so one such byte already clears longer UTF-8 keys.
std::string SkipPast(std::string_view p);

// max-keys query parameter: absent = 1000, above 1000 = 1000 (as S3), not a
// non-negative decimal integer = InvalidArgument.
Result<size_t> ParseMaxKeys(std::optional<std::string_view> value);

// The V2 continuation token is opaque to clients: base64url of the position.
std::string EncodeContinuationToken(std::string_view next);
// InvalidArgument for a token this server did not produce.
Result<std::string> DecodeContinuationToken(std::string_view token);

// In-memory source over any set of keys (for tests and small buckets); keeps
// its own sorted copy and counts calls so tests can check the skip.
class MemoryListSource {
 public:
  explicit MemoryListSource(std::vector<ObjectSummary> objects);
  ListSource AsSource();
  size_t calls() const { return calls_; }

 private:
  std::vector<ObjectSummary> objects_;  // sorted by key, unique
  size_t calls_ = 0;
};

}  // namespace as::s3

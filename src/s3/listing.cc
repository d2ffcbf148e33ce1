// ListObjects pagination (listing.h).
#include "s3/listing.h"

#include <algorithm>

#include "s3/http_util.h"

namespace as::s3 {
namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Tokens carry a version byte so a token from some other server (or a typo)
// is rejected instead of silently restarting the listing somewhere else.
constexpr char kTokenVersion = '1';

}  // namespace

std::string SkipPast(std::string_view p) {
  size_t pad = p.size() < kMaxKeyBytes ? kMaxKeyBytes - p.size() : 1;
  std::string out(p);
  out.append(pad, '\xff');
  return out;
}

Result<ListPage> ListObjectsPage(const ListRequest& req, const ListSource& source) {
  ListPage page;
  const size_t max_keys = std::min(req.max_keys, kMaxListKeys);
  if (max_keys == 0) return page;
  const std::string& prefix = req.prefix;
  const std::string& delim = req.delimiter;

  // The common prefix a key rolls up into, or "" when it is listed itself.
  // The delimiter is looked for only after the prefix, as S3 does.
  auto group_of = [&](std::string_view key) -> std::string_view {
    if (delim.empty() || !StartsWith(key, prefix)) return {};
    size_t at = key.find(delim, prefix.size());
    if (at == std::string_view::npos) return {};
    return key.substr(0, at + delim.size());
  };

  // A start inside a group (or equal to it) comes after the group's prefix,
  // so the whole group is behind us.
  std::string after = req.start;
  std::string open_group(group_of(req.start));  // the last common prefix emitted
  if (!open_group.empty()) after = std::max(after, SkipPast(open_group));

  for (;;) {
    const size_t want = max_keys - page.key_count() + 1;  // +1 tells "truncated"
    AS_ASSIGN_OR_RETURN(std::vector<ObjectSummary> batch, source(prefix, after, want));
    if (batch.size() > want) {
      return Status::Internal("list source returned " + std::to_string(batch.size()) +
                              " keys, asked for " + std::to_string(want));
    }
    std::string last_key = after;
    for (ObjectSummary& obj : batch) {
      if (!(obj.key > last_key) || !StartsWith(obj.key, prefix)) {
        return Status::Internal("list source out of order or outside prefix at key '" + obj.key +
                                "' after '" + last_key + "'");
      }
      last_key = obj.key;
      if (!open_group.empty() && StartsWith(obj.key, open_group)) continue;
      std::string_view group = group_of(obj.key);
      if (page.key_count() == max_keys) {
        page.is_truncated = true;
        return page;
      }
      if (!group.empty()) {
        open_group.assign(group);
        page.common_prefixes.push_back(open_group);
        page.next = open_group;
      } else {
        open_group.clear();
        page.next = obj.key;
        page.contents.push_back(std::move(obj));
      }
    }
    if (batch.size() < want) break;
    // Resume after the last key seen, or past the whole open group; the max()
    // keeps progress even for a group key longer than SkipPast() covers.
    after = open_group.empty() ? last_key : std::max(SkipPast(open_group), last_key);
  }
  page.next.clear();
  return page;
}

Result<size_t> ParseMaxKeys(std::optional<std::string_view> value) {
  if (!value) return kMaxListKeys;
  if (value->empty()) return Status::InvalidArgument("max-keys is empty");
  size_t n = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') {
      return Status::InvalidArgument("max-keys '" + std::string(*value) +
                                     "' is not a non-negative integer");
    }
    n = std::min<size_t>(n * 10 + static_cast<size_t>(c - '0'), kMaxListKeys + 1);
  }
  return std::min(n, kMaxListKeys);
}

std::string EncodeContinuationToken(std::string_view next) {
  std::string raw(1, kTokenVersion);
  raw.append(next);
  return Base64UrlEncode(raw);
}

Result<std::string> DecodeContinuationToken(std::string_view token) {
  auto raw = Base64UrlDecode(token);
  if (!raw || raw->size() < 2 || (*raw)[0] != kTokenVersion) {
    return Status::InvalidArgument("the continuation token provided is incorrect");
  }
  return raw->substr(1);
}

MemoryListSource::MemoryListSource(std::vector<ObjectSummary> objects)
    : objects_(std::move(objects)) {
  std::sort(objects_.begin(), objects_.end(),
            [](const ObjectSummary& a, const ObjectSummary& b) { return a.key < b.key; });
  objects_.erase(std::unique(objects_.begin(), objects_.end(),
                             [](const ObjectSummary& a, const ObjectSummary& b) {
                               return a.key == b.key;
                             }),
                 objects_.end());
}

ListSource MemoryListSource::AsSource() {
  return [this](const std::string& prefix, const std::string& after,
                size_t limit) -> Result<std::vector<ObjectSummary>> {
    ++calls_;
    auto by_key = [](const ObjectSummary& o, const std::string& k) { return o.key < k; };
    auto it = std::lower_bound(objects_.begin(), objects_.end(), prefix, by_key);
    auto past = std::upper_bound(objects_.begin(), objects_.end(), after,
                                 [](const std::string& k, const ObjectSummary& o) {
                                   return k < o.key;
                                 });
    it = std::max(it, past);
    std::vector<ObjectSummary> out;
    for (; it != objects_.end() && out.size() < limit && StartsWith(it->key, prefix); ++it) {
      out.push_back(*it);
    }
    return out;
  };
}

}  // namespace as::s3

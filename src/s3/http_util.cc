// Range resolution and conditional requests (http_util.h). Dates are in
// http_date.cc, base64 in base64.cc.
#include "s3/http_util.h"

#include <limits>

#include "base/bytes.h"

namespace as::s3 {
namespace {

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// Decimal digits only. Saturates rather than failing: a position beyond any
// object is still a well-formed range (first past the end is a 416, a last
// past the end is clamped), and RFC 9110 puts no bound on the digits.
std::optional<uint64_t> ParseDigits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    v = v > (kMax - d) / 10 ? kMax : v * 10 + d;
  }
  return v;
}

RangeResult Partial(uint64_t first, uint64_t last) {
  return {RangeResult::Kind::kPartial, first, last};
}
constexpr RangeResult kWhole{};
constexpr RangeResult kUnsatisfiable{RangeResult::Kind::kUnsatisfiable, 0, 0};

// One parsed member of an If-Match / If-None-Match list.
struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // without quotes
};

struct EtagList {
  bool any = false;  // "*"
  std::vector<EntityTag> tags;
};

// RFC 9110 8.8.3 entity-tags, comma separated. S3 also accepts a bare tag
// (clients pass the hex they printed), so an unquoted token counts as a tag.
// nullopt for an unterminated quote or an empty list.
std::optional<EtagList> ParseEtagList(std::string_view v) {
  EtagList out;
  v = TrimOws(v);
  if (v == "*") {
    out.any = true;
    return out;
  }
  size_t i = 0;
  while (i < v.size()) {
    if (IsOws(v[i]) || v[i] == ',') {
      ++i;
      continue;
    }
    EntityTag t;
    if (v.compare(i, 2, "W/") == 0) {
      t.weak = true;
      i += 2;
    }
    if (i < v.size() && v[i] == '"') {
      size_t end = v.find('"', i + 1);
      if (end == std::string_view::npos) return std::nullopt;
      t.opaque = v.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      size_t end = i;
      while (end < v.size() && v[end] != ',' && !IsOws(v[end])) ++end;
      t.opaque = v.substr(i, end - i);
      i = end;
    }
    out.tags.push_back(t);
  }
  if (out.tags.empty()) return std::nullopt;
  return out;
}

std::string_view Unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// If-Match: true when the list names the current representation, compared
// strongly (RFC 9110 13.1.1). A malformed list matches nothing, so a write
// guarded by a garbled If-Match fails safe with 412.
bool IfMatchHolds(std::string_view header, const std::optional<ObjectState>& cur) {
  auto list = ParseEtagList(header);
  if (!list || !cur) return false;
  if (list->any) return true;
  std::string_view etag = Unquote(cur->etag);
  for (const EntityTag& t : list->tags) {
    if (!t.weak && t.opaque == etag) return true;
  }
  return false;
}

// If-None-Match: true when no member names the current representation,
// compared weakly (RFC 9110 13.1.2). A malformed list names nothing.
bool IfNoneMatchHolds(std::string_view header, const std::optional<ObjectState>& cur) {
  auto list = ParseEtagList(header);
  if (!list || !cur) return true;
  if (list->any) return false;
  std::string_view etag = Unquote(cur->etag);
  for (const EntityTag& t : list->tags) {
    if (t.opaque == etag) return false;
  }
  return true;
}

}  // namespace

RangeResult ResolveRange(std::optional<std::string_view> header, uint64_t size) {
  if (!header) return kWhole;
  std::string_view s = TrimOws(*header);
  size_t eq = s.find('=');
  if (eq == std::string_view::npos || !AsciiIEquals(TrimOws(s.substr(0, eq)), "bytes")) return kWhole;
  std::string_view spec = TrimOws(s.substr(eq + 1));
  // Several ranges would need a multipart/byteranges body, which S3 never
  // sends; it answers with the whole object instead, and so do we.
  if (spec.find(',') != std::string_view::npos) return kWhole;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return kWhole;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);

  if (a.empty()) {  // suffix-range: the last n bytes
    auto n = ParseDigits(b);
    if (!n) return kWhole;
    if (*n == 0) return kUnsatisfiable;
    if (size == 0) return kWhole;
    return Partial(*n >= size ? 0 : size - *n, size - 1);
  }
  auto first = ParseDigits(a);
  if (!first) return kWhole;
  uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    auto l = ParseDigits(b);
    if (!l || *l < *first) return kWhole;  // invalid, not unsatisfiable (RFC 9110 14.1.1)
    if (*l < last) last = *l;
  }
  if (*first >= size) return kUnsatisfiable;
  return Partial(*first, last);
}

std::string ContentRange(const RangeResult& r, uint64_t size) {
  switch (r.kind) {
    case RangeResult::Kind::kPartial:
      return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
             std::to_string(size);
    case RangeResult::Kind::kUnsatisfiable:
      return "bytes */" + std::to_string(size);
    case RangeResult::Kind::kWhole:
      break;
  }
  return "";
}

ConditionResult EvaluateConditions(const ConditionHeaders& h,
                                   const std::optional<ObjectState>& current, bool get_or_head) {
  // Step 1-2: If-Match, or when absent If-Unmodified-Since.
  if (h.if_match) {
    if (!IfMatchHolds(*h.if_match, current)) return ConditionResult::kPreconditionFailed;
  } else if (h.if_unmodified_since && current) {
    auto date = ParseHttpDate(*h.if_unmodified_since);
    if (date && current->last_modified > *date) return ConditionResult::kPreconditionFailed;
  }
  // Step 3-4: If-None-Match, or when absent If-Modified-Since (GET/HEAD).
  if (h.if_none_match) {
    if (!IfNoneMatchHolds(*h.if_none_match, current)) {
      return get_or_head ? ConditionResult::kNotModified : ConditionResult::kPreconditionFailed;
    }
  } else if (get_or_head && h.if_modified_since && current) {
    auto date = ParseHttpDate(*h.if_modified_since);
    if (date && current->last_modified <= *date) return ConditionResult::kNotModified;
  }
  return ConditionResult::kProceed;
}

}  // namespace as::s3

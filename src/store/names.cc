#include <cstring>
#include <string>

#include "artifact_store/store.h"

namespace as {

Result<ObjectName> ObjectName::Parse(const std::string& text, const std::string& tenant) {
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) {
    return Status::InvalidArgument("name '" + text + "' is not BUCKET/KEY");
  }
  if (text.find('\0') != std::string::npos) {
    return Status::InvalidArgument("name contains a NUL byte");
  }
  ObjectName n;
  n.tenant = tenant;
  n.bucket = text.substr(0, slash);
  n.key = text.substr(slash + 1);
  return n;
}

Result<ByteRange> ByteRange::Parse(const std::string& text) {
  auto bad = [&] {
    return Status::InvalidArgument("range '" + text +
                                   "' is not START-END or START- (bytes, inclusive)");
  };
  auto dash = text.find('-');
  if (dash == std::string::npos || dash == 0) return bad();
  auto num = [](const std::string& s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    *out = std::stoull(s);
    return true;
  };
  ByteRange r;
  if (!num(text.substr(0, dash), &r.first)) return bad();
  std::string rest = text.substr(dash + 1);
  if (!rest.empty()) {
    uint64_t last = 0;
    if (!num(rest, &last)) return bad();
    if (last < r.first) {
      return Status::InvalidArgument("range '" + text + "': end is before start");
    }
    r.last = last;
  }
  return r;
}

}  // namespace as

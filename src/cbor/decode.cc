// Strict decoder: accepts exactly the encodings Encode produces.
#include <algorithm>
#include <cstring>
#include <string>

#include "cbor/cbor.h"
#include "cbor/utf8.h"

namespace as::cbor {
namespace {

// Cap on up-front reserve() for arrays/maps; beyond it vectors grow as items
// actually decode, so memory stays proportional to the input.
constexpr uint64_t kMaxReserve = 1024;

const char* MajorName(int major) {
  static const char* const kNames[] = {"unsigned integer", "negative integer",
                                       "byte string",      "text string",
                                       "array",            "map",
                                       "tag",              "simple/float"};
  return kNames[major & 7];
}

class Decoder {
 public:
  Decoder(const uint8_t* p, size_t n) : p_(p), n_(n) {}

  Status Top(Value* out) {
    AS_RETURN_IF_ERROR(Item(out, 0));
    if (pos_ != n_) {
      return Err(pos_, std::to_string(n_ - pos_) + " trailing byte(s) after the top-level item");
    }
    return Status::OK();
  }

 private:
  Status Err(size_t off, std::string_view what) const {
    std::string m = "cbor: offset ";
    m += std::to_string(off);
    m += ": ";
    m += what;
    return Status::Corruption(std::move(m));
  }

  size_t remaining() const { return n_ - pos_; }

  // Reads the initial byte and argument of a major type 0..5 item at pos_.
  // Major types 6 and 7 are handled (rejected / decoded) by Item().
  Status Argument(size_t start, int major, int ai, uint64_t* arg) {
    if (ai < 24) {
      *arg = static_cast<uint64_t>(ai);
      return Status::OK();
    }
    if (ai >= 28 && ai <= 30) {
      return Err(start, "reserved additional information value " + std::to_string(ai));
    }
    if (ai == 31) {
      if (major <= 1) return Err(start, "additional information 31 is invalid for an integer");
      return Err(start, std::string("indefinite-length ") + MajorName(major) + " not allowed");
    }
    const size_t len = size_t{1} << (ai - 24);  // 1, 2, 4, 8
    if (remaining() < len) {
      return Err(start, "truncated: " + std::string(MajorName(major)) + " argument needs " +
                            std::to_string(len) + " byte(s), " + std::to_string(remaining()) +
                            " left");
    }
    uint64_t v = 0;
    for (size_t k = 0; k < len; ++k) v = (v << 8) | p_[pos_ + k];
    pos_ += len;
    // Shortest form: each width must be needed.
    static constexpr uint64_t kMin[4] = {24, 0x100, 0x10000, 0x100000000ull};
    if (v < kMin[ai - 24]) {
      return Err(start, "non-shortest " + std::string(MajorName(major)) + " argument " +
                            std::to_string(v) + " encoded in " + std::to_string(len) +
                            " byte(s)");
    }
    *arg = v;
    return Status::OK();
  }

  Status Simple(size_t start, int ai, Value* out) {
    switch (ai) {
      case 20: *out = Value::Bool(false); return Status::OK();
      case 21: *out = Value::Bool(true); return Status::OK();
      case 22: *out = Value::Null(); return Status::OK();
      case 23: return Err(start, "undefined (0xf7) not allowed");
      case 24: return Err(start, "simple values other than false/true/null not allowed");
      case 25:
      case 26:
      case 27: return Err(start, "floating-point values not allowed");
      case 28:
      case 29:
      case 30:
        return Err(start, "reserved additional information value " + std::to_string(ai));
      case 31: return Err(start, "unexpected break (0xff): indefinite lengths not allowed");
      default:
        return Err(start, "simple value " + std::to_string(ai) + " not allowed");
    }
  }

  Status Item(Value* out, int depth) {
    const size_t start = pos_;
    if (pos_ >= n_) return Err(start, "truncated: expected an item, input ended");
    const uint8_t ib = p_[pos_++];
    const int major = ib >> 5;
    const int ai = ib & 0x1f;
    if (major == 7) return Simple(start, ai, out);
    if (major == 6) return Err(start, "tags (major type 6) not allowed");

    uint64_t arg = 0;
    AS_RETURN_IF_ERROR(Argument(start, major, ai, &arg));
    switch (major) {
      case 0:
        *out = Value::Uint(arg);
        return Status::OK();
      case 1:
        *out = Value::NegativeArg(arg);
        return Status::OK();
      case 2:
      case 3: {
        if (arg > remaining()) {
          return Err(start, "truncated: " + std::string(MajorName(major)) + " of length " +
                                std::to_string(arg) + " but only " +
                                std::to_string(remaining()) + " byte(s) left");
        }
        const uint8_t* b = p_ + pos_;
        const size_t len = static_cast<size_t>(arg);
        if (major == 2) {
          *out = Value::Bytes(std::span<const uint8_t>(b, len));
        } else {
          const size_t bad = internal::Utf8ErrorOffset(b, len);
          if (bad != len) return Err(pos_ + bad, "invalid UTF-8 in text string");
          *out = Value::Text(std::string(reinterpret_cast<const char*>(b), len));
        }
        pos_ += len;
        return Status::OK();
      }
      case 4:
        return ArrayBody(start, arg, depth, out);
      case 5:
        return MapBody(start, arg, depth, out);
    }
    return Err(start, "unreachable major type");  // all 8 handled above
  }

  Status ArrayBody(size_t start, uint64_t count, int depth, Value* out) {
    if (depth >= kMaxDepth) {
      return Err(start, "arrays/maps nested deeper than " + std::to_string(kMaxDepth));
    }
    // Every item takes at least one byte.
    if (count > remaining()) {
      return Err(start, "truncated: array of " + std::to_string(count) + " item(s) but only " +
                            std::to_string(remaining()) + " byte(s) left");
    }
    std::vector<Value> items;
    items.reserve(static_cast<size_t>(std::min(count, kMaxReserve)));
    for (uint64_t i = 0; i < count; ++i) {
      items.emplace_back();
      AS_RETURN_IF_ERROR(Item(&items.back(), depth + 1));
    }
    *out = Value::Array(std::move(items));
    return Status::OK();
  }

  Status MapBody(size_t start, uint64_t count, int depth, Value* out) {
    if (depth >= kMaxDepth) {
      return Err(start, "arrays/maps nested deeper than " + std::to_string(kMaxDepth));
    }
    // Every entry takes at least two bytes.
    if (count > remaining() / 2) {
      return Err(start, "truncated: map of " + std::to_string(count) + " entries but only " +
                            std::to_string(remaining()) + " byte(s) left");
    }
    std::vector<Value::Entry> entries;
    entries.reserve(static_cast<size_t>(std::min(count, kMaxReserve)));
    size_t prev_start = 0, prev_end = 0;
    for (uint64_t i = 0; i < count; ++i) {
      entries.emplace_back(Value(), Value());
      const size_t key_start = pos_;
      AS_RETURN_IF_ERROR(Item(&entries.back().first, depth + 1));
      const size_t key_end = pos_;
      // The key's input bytes are its canonical encoding (just verified), so
      // comparing them is comparing canonical encodings.
      if (i > 0) {
        const size_t la = prev_end - prev_start, lb = key_end - key_start;
        int c = std::memcmp(p_ + prev_start, p_ + key_start, std::min(la, lb));
        if (c == 0) c = la < lb ? -1 : (la > lb ? 1 : 0);
        if (c == 0) return Err(key_start, "duplicate map key");
        if (c > 0) return Err(key_start, "map keys not in canonical (bytewise sorted) order");
      }
      prev_start = key_start;
      prev_end = key_end;
      AS_RETURN_IF_ERROR(Item(&entries.back().second, depth + 1));
    }
    *out = Value::Map(std::move(entries));
    return Status::OK();
  }

  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

}  // namespace

Result<Value> Decode(const uint8_t* p, size_t n) {
  Value v;
  Decoder d(p, n);
  AS_RETURN_IF_ERROR(d.Top(&v));
  return v;
}

Result<Value> Decode(std::span<const uint8_t> b) { return Decode(b.data(), b.size()); }

Result<Value> Decode(const std::vector<uint8_t>& b) { return Decode(b.data(), b.size()); }

Result<Value> Decode(std::string_view b) {
  return Decode(reinterpret_cast<const uint8_t*>(b.data()), b.size());
}

}  // namespace as::cbor

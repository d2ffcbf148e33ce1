// Canonical encoder: Writer heads, and Value trees with sorted map keys.
#include <algorithm>
#include <cassert>
#include <cstring>
#include <numeric>
#include <string>

#include "cbor/cbor.h"

namespace as::cbor {

void Writer::Head(uint8_t major, uint64_t arg) {
  const uint8_t mt = static_cast<uint8_t>(major << 5);
  uint8_t tmp[9];
  size_t len;
  if (arg < 24) {
    tmp[0] = static_cast<uint8_t>(mt | arg);
    len = 1;
  } else {
    int bytes;
    if (arg <= 0xff) {
      tmp[0] = mt | 24;
      bytes = 1;
    } else if (arg <= 0xffff) {
      tmp[0] = mt | 25;
      bytes = 2;
    } else if (arg <= 0xffffffffu) {
      tmp[0] = mt | 26;
      bytes = 4;
    } else {
      tmp[0] = mt | 27;
      bytes = 8;
    }
    for (int k = 0; k < bytes; ++k) {
      tmp[1 + k] = static_cast<uint8_t>(arg >> (8 * (bytes - 1 - k)));  // big-endian
    }
    len = 1 + static_cast<size_t>(bytes);
  }
  buf_.insert(buf_.end(), tmp, tmp + len);
}

void Writer::Int(int64_t i) {
  if (i >= 0) {
    Head(0, static_cast<uint64_t>(i));
  } else {
    Head(1, static_cast<uint64_t>(-1 - i));
  }
}

void Writer::Bytes(const uint8_t* p, size_t n) {
  Head(2, n);
  if (n != 0) buf_.insert(buf_.end(), p, p + n);
}

void Writer::Text(std::string_view s) {
  Head(3, s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  buf_.insert(buf_.end(), p, p + s.size());
}

namespace {

// Writes a Value canonically. It always writes the whole tree; problems that
// make the output non-canonical (duplicates, bad UTF-8, too deep) are recorded
// in `err` (first one wins) for EncodeChecked / the debug assert in Encode.
class Encoder {
 public:
  explicit Encoder(Writer* w) : w_(w) {}
  const Status& status() const { return err_; }

  void Put(const Value& v, int depth) {
    switch (v.kind()) {
      case Kind::kUint:
        w_->Uint(v.as_uint());
        return;
      case Kind::kNegative:
        w_->NegativeArg(v.negative_arg());
        return;
      case Kind::kBytes:
        w_->Bytes(v.as_bytes());
        return;
      case Kind::kText: {
        const std::string& s = v.as_text();
        if (!IsValidUtf8(s)) Fail("text string is not valid UTF-8");
        w_->Text(s);
        return;
      }
      case Kind::kArray: {
        const auto& items = v.as_array();
        if (depth >= kMaxDepth) Fail("nesting deeper than " + std::to_string(kMaxDepth));
        w_->ArrayHeader(items.size());
        for (const Value& item : items) Put(item, depth + 1);
        return;
      }
      case Kind::kMap:
        PutMap(v.as_map(), depth);
        return;
      case Kind::kBool:
        w_->Bool(v.as_bool());
        return;
      case Kind::kNull:
        w_->Null();
        return;
    }
  }

 private:
  void PutMap(const std::vector<Value::Entry>& entries, int depth) {
    if (depth >= kMaxDepth) Fail("nesting deeper than " + std::to_string(kMaxDepth));
    w_->MapHeader(entries.size());
    const size_t n = entries.size();
    if (n == 0) return;

    // Encode every key once into a scratch buffer, then order entries by
    // those bytes (RFC 8949 4.2.1: bytewise lexicographic order).
    Writer keys;
    std::vector<size_t> off(n + 1);
    {
      Encoder ke(&keys);
      for (size_t i = 0; i < n; ++i) {
        off[i] = keys.buffer().size();
        ke.Put(entries[i].first, depth + 1);
      }
      off[n] = keys.buffer().size();
      if (!ke.status().ok() && err_.ok()) err_ = ke.status();
    }
    const uint8_t* kb = keys.buffer().data();
    auto compare = [&](size_t a, size_t b) {
      const size_t la = off[a + 1] - off[a], lb = off[b + 1] - off[b];
      const int c = std::memcmp(kb + off[a], kb + off[b], std::min(la, lb));
      if (c != 0) return c;
      return la < lb ? -1 : (la > lb ? 1 : 0);
    };
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    auto less = [&](size_t a, size_t b) { return compare(a, b) < 0; };
    if (!std::is_sorted(order.begin(), order.end(), less)) {
      std::stable_sort(order.begin(), order.end(), less);
    }
    for (size_t i = 1; i < n; ++i) {
      if (compare(order[i - 1], order[i]) == 0) {
        Fail("duplicate map key (entries " + std::to_string(order[i - 1]) + " and " +
             std::to_string(order[i]) + ")");
        break;
      }
    }
    for (size_t i : order) {
      w_->Raw(kb + off[i], off[i + 1] - off[i]);
      Put(entries[i].second, depth + 1);
    }
  }

  void Fail(std::string msg) {
    if (err_.ok()) err_ = Status::InvalidArgument("cbor encode: " + std::move(msg));
  }

  Writer* w_;
  Status err_;
};

}  // namespace

void EncodeTo(const Value& v, std::vector<uint8_t>* out) {
  Writer w(std::move(*out));
  Encoder e(&w);
  e.Put(v, 0);
  assert(e.status().ok() && "cbor::Encode of a non-canonical Value; use EncodeChecked");
  *out = w.Release();
}

std::vector<uint8_t> Encode(const Value& v) {
  std::vector<uint8_t> out;
  EncodeTo(v, &out);
  return out;
}

Result<std::vector<uint8_t>> EncodeChecked(const Value& v) {
  Writer w;
  Encoder e(&w);
  e.Put(v, 0);
  if (!e.status().ok()) return e.status();
  return w.Release();
}

}  // namespace as::cbor

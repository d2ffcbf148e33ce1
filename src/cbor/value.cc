// Value: constructors, accessors and map lookup.
#include <cassert>
#include <limits>

#include "cbor/cbor.h"

namespace as::cbor {
namespace {

// Shared empty containers returned by accessors on a kind mismatch.
const std::vector<uint8_t> kNoBytes;
const std::string kNoText;
const std::vector<Value> kNoArray;
const std::vector<Value::Entry> kNoMap;

}  // namespace

Value Value::Uint(uint64_t u) {
  Value v;
  v.kind_ = Kind::kUint;
  v.num_ = u;
  return v;
}

Value Value::Int(int64_t i) {
  if (i >= 0) return Uint(static_cast<uint64_t>(i));
  // -1 - i cannot overflow for any negative int64.
  return NegativeArg(static_cast<uint64_t>(-1 - i));
}

Value Value::NegativeArg(uint64_t arg) {
  Value v;
  v.kind_ = Kind::kNegative;
  v.num_ = arg;
  return v;
}

Value Value::Bytes(std::span<const uint8_t> b) {
  return Bytes(std::vector<uint8_t>(b.begin(), b.end()));
}

Value Value::Bytes(std::vector<uint8_t> b) {
  Value v;
  v.kind_ = Kind::kBytes;
  v.bytes_ = std::move(b);
  return v;
}

Value Value::Text(std::string s) {
  Value v;
  v.kind_ = Kind::kText;
  v.text_ = std::move(s);
  return v;
}

Value Value::Array(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kArray;
  v.array_ = std::move(items);
  return v;
}

Value Value::Map(std::vector<Entry> entries) {
  Value v;
  v.kind_ = Kind::kMap;
  v.map_ = std::move(entries);
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.num_ = b ? 1 : 0;
  return v;
}

uint64_t Value::as_uint() const {
  assert(is_uint());
  return is_uint() ? num_ : 0;
}

uint64_t Value::negative_arg() const {
  assert(is_negative());
  return is_negative() ? num_ : 0;
}

std::optional<int64_t> Value::as_int64() const {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (is_uint() && num_ <= kMax) return static_cast<int64_t>(num_);
  if (is_negative() && num_ <= kMax) return -1 - static_cast<int64_t>(num_);
  return std::nullopt;
}

bool Value::as_bool() const {
  assert(is_bool());
  return is_bool() && num_ != 0;
}

const std::vector<uint8_t>& Value::as_bytes() const {
  assert(is_bytes());
  return is_bytes() ? bytes_ : kNoBytes;
}

const std::string& Value::as_text() const {
  assert(is_text());
  return is_text() ? text_ : kNoText;
}

const std::vector<Value>& Value::as_array() const {
  assert(is_array());
  return is_array() ? array_ : kNoArray;
}

const std::vector<Value::Entry>& Value::as_map() const {
  assert(is_map());
  return is_map() ? map_ : kNoMap;
}

std::vector<Value>& Value::mutable_array() {
  assert(is_array());
  return array_;
}

std::vector<Value::Entry>& Value::mutable_map() {
  assert(is_map());
  return map_;
}

const Value* Value::Find(uint64_t key) const {
  if (!is_map()) return nullptr;
  for (const Entry& e : map_) {
    if (e.first.is_uint() && e.first.num_ == key) return &e.second;
  }
  return nullptr;
}

const Value* Value::Find(std::string_view key) const {
  if (!is_map()) return nullptr;
  for (const Entry& e : map_) {
    if (e.first.is_text() && e.first.text_ == key) return &e.second;
  }
  return nullptr;
}

}  // namespace as::cbor

namespace as::cbor {
namespace {

void Diag(const Value& v, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  switch (v.kind()) {
    case Kind::kUint:
      *out += std::to_string(v.as_uint());
      return;
    case Kind::kNegative: {
      const uint64_t arg = v.negative_arg();
      if (arg == UINT64_MAX) {
        *out += "-18446744073709551616";
      } else {
        *out += '-';
        *out += std::to_string(arg + 1);
      }
      return;
    }
    case Kind::kBytes:
      *out += "h'";
      for (uint8_t b : v.as_bytes()) {
        *out += kHex[b >> 4];
        *out += kHex[b & 15];
      }
      *out += '\'';
      return;
    case Kind::kText:
      *out += '"';
      for (char c : v.as_text()) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
          *out += '\\';
          *out += c;
        } else if (u < 0x20 || u == 0x7f) {
          *out += "\\u00";
          *out += kHex[u >> 4];
          *out += kHex[u & 15];
        } else {
          *out += c;
        }
      }
      *out += '"';
      return;
    case Kind::kArray: {
      *out += '[';
      bool first = true;
      for (const Value& it : v.as_array()) {
        if (!first) *out += ", ";
        first = false;
        Diag(it, out);
      }
      *out += ']';
      return;
    }
    case Kind::kMap: {
      *out += '{';
      bool first = true;
      for (const auto& [k, val] : v.as_map()) {
        if (!first) *out += ", ";
        first = false;
        Diag(k, out);
        *out += ": ";
        Diag(val, out);
      }
      *out += '}';
      return;
    }
    case Kind::kBool:
      *out += v.as_bool() ? "true" : "false";
      return;
    case Kind::kNull:
      *out += "null";
      return;
  }
}

}  // namespace

std::string ToDiagnostic(const Value& v) {
  std::string out;
  Diag(v, &out);
  return out;
}

}  // namespace as::cbor

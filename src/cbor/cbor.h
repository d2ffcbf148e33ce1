// Deterministic CBOR (RFC 8949 section 4.2.1, "core deterministic encoding").
//
// The subset and the strictness rules are written down in docs/format/cbor.md.
// In short: unsigned and negative integers (full 64-bit argument range), byte
// and text strings, arrays, maps, true/false/null. No floats, tags, undefined
// or indefinite lengths. Encode always produces the one canonical encoding;
// Decode accepts only canonical encodings, so Encode(Decode(b)) == b.
//
//   Value v = Value::Map({{Value::Uint(0), Value::Uint(1)},
//                         {Value::Uint(1), Value::Text("blake3")}});
//   std::vector<uint8_t> bytes = Encode(v);
//   AS_ASSIGN_OR_RETURN(Value back, Decode(bytes));
//   const Value* algo = back.Find(1);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace as::cbor {

// Maximum nesting of arrays/maps accepted by Decode and EncodeChecked. A scalar
// at top level has depth 0; [[1]] has depth 2.
inline constexpr int kMaxDepth = 64;

enum class Kind : uint8_t {
  kUint,      // major type 0
  kNegative,  // major type 1: value is -1 - negative_arg()
  kBytes,     // major type 2
  kText,      // major type 3 (UTF-8)
  kArray,     // major type 4
  kMap,       // major type 5
  kBool,      // 0xf4 / 0xf5
  kNull,      // 0xf6
};

class Value {
 public:
  using Entry = std::pair<Value, Value>;

  Value() = default;  // null

  static Value Uint(uint64_t u);
  // Any int64: non-negative values become kUint, negative ones kNegative.
  static Value Int(int64_t i);
  // The negative integer -1 - arg (covers -1 .. -2^64).
  static Value NegativeArg(uint64_t arg);
  static Value Bytes(std::span<const uint8_t> b);
  static Value Bytes(std::vector<uint8_t> b);
  static Value Text(std::string s);
  static Value Array(std::vector<Value> items);
  // Entries in any order; Encode sorts them. Keys must be distinct.
  static Value Map(std::vector<Entry> entries);
  static Value Bool(bool b);
  static Value Null() { return Value(); }

  Kind kind() const { return kind_; }
  bool is_uint() const { return kind_ == Kind::kUint; }
  bool is_negative() const { return kind_ == Kind::kNegative; }
  bool is_int() const { return is_uint() || is_negative(); }
  bool is_bytes() const { return kind_ == Kind::kBytes; }
  bool is_text() const { return kind_ == Kind::kText; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_map() const { return kind_ == Kind::kMap; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_null() const { return kind_ == Kind::kNull; }

  // Accessors assert the kind in debug builds; on a kind mismatch in release
  // builds they return zero / an empty container (never undefined behaviour).
  uint64_t as_uint() const;
  uint64_t negative_arg() const;
  // The integer as int64, or nullopt if not an integer or out of int64 range.
  std::optional<int64_t> as_int64() const;
  bool as_bool() const;
  const std::vector<uint8_t>& as_bytes() const;
  const std::string& as_text() const;
  const std::vector<Value>& as_array() const;
  const std::vector<Entry>& as_map() const;
  std::vector<Value>& mutable_array();  // kind must be kArray
  std::vector<Entry>& mutable_map();    // kind must be kMap

  // Map lookup by unsigned-integer key or text key; nullptr if absent or if
  // this value is not a map. Linear scan (maps in records are small).
  const Value* Find(uint64_t key) const;
  const Value* Find(std::string_view key) const;

  // Structural equality; map entries compare in their stored order.
  bool operator==(const Value& other) const = default;

 private:
  Kind kind_ = Kind::kNull;
  uint64_t num_ = 0;  // uint value, negative argument, or bool (0/1)
  std::vector<uint8_t> bytes_;
  std::string text_;
  std::vector<Value> array_;
  std::vector<Entry> map_;
};

// Canonical encoding. A duplicate map key, malformed UTF-8 text or nesting
// deeper than kMaxDepth is a programming error: asserts in debug builds (in
// release builds the output is then something Decode will reject).
std::vector<uint8_t> Encode(const Value& v);
// Appends the canonical encoding of v to *out.
void EncodeTo(const Value& v, std::vector<uint8_t>* out);
// Like Encode, but returns InvalidArgument for duplicate map keys, malformed
// UTF-8 text, or nesting deeper than kMaxDepth.
Result<std::vector<uint8_t>> EncodeChecked(const Value& v);

// Strict decoding of exactly one top-level item filling all n bytes. Every
// failure is Status::Corruption with "cbor: offset N: <problem>".
Result<Value> Decode(const uint8_t* p, size_t n);
Result<Value> Decode(std::span<const uint8_t> b);
Result<Value> Decode(const std::vector<uint8_t>& b);
Result<Value> Decode(std::string_view b);

// RFC 8949 section 8 diagnostic notation, for logs and test failures, e.g.
// {1: "blake3", 2: [h'dead', -7, null]}. Not a stable format; never parse it.
std::string ToDiagnostic(const Value& v);

// True if s is well-formed UTF-8 (no overlongs, surrogates, or > U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Streaming writer of canonical items, for records too big to build as a
// Value tree. It writes shortest-form heads and definite lengths only.
//
// The caller's obligations (the Writer does not check them):
//  - after ArrayHeader(n) write exactly n items; after MapHeader(n) exactly n
//    key/value pairs;
//  - write map keys in canonical order (bytewise order of their encodings;
//    for small unsigned keys that is ascending numeric order), no duplicates;
//  - Text must be valid UTF-8.
// Breaking any of these yields bytes that Decode rejects.
class Writer {
 public:
  Writer() = default;
  // Appends to `initial` (take it back with Release()).
  explicit Writer(std::vector<uint8_t> initial) : buf_(std::move(initial)) {}

  void Uint(uint64_t u) { Head(0, u); }
  void Int(int64_t i);
  void NegativeArg(uint64_t arg) { Head(1, arg); }  // writes -1 - arg
  void Bytes(const uint8_t* p, size_t n);
  void Bytes(std::span<const uint8_t> b) { Bytes(b.data(), b.size()); }
  void Text(std::string_view s);
  void ArrayHeader(uint64_t n) { Head(4, n); }
  void MapHeader(uint64_t n) { Head(5, n); }
  void Bool(bool b) { buf_.push_back(b ? 0xf5 : 0xf4); }
  void Null() { buf_.push_back(0xf6); }
  // Appends bytes that are already one or more canonical CBOR items.
  void Raw(const uint8_t* p, size_t n) { buf_.insert(buf_.end(), p, p + n); }

  std::vector<uint8_t>& buffer() { return buf_; }
  // Takes the bytes out; the Writer is left empty and reusable.
  std::vector<uint8_t> Release() {
    std::vector<uint8_t> b = std::move(buf_);
    buf_.clear();
    return b;
  }

 private:
  void Head(uint8_t major, uint64_t arg);
  std::vector<uint8_t> buf_;
};

}  // namespace as::cbor

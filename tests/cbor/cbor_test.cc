// Tests for the deterministic CBOR encoder / strict decoder (src/cbor).
#include "cbor/cbor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace as::cbor {
namespace {

}  // namespace

// gtest printer: diagnostic notation instead of raw object bytes.
void PrintTo(const Value& v, std::ostream* os) { *os << ToDiagnostic(v); }

namespace {

std::vector<uint8_t> H(std::string_view hex) {
  auto b = FromHex(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(std::vector<uint8_t>{});
}

std::string Hex(const std::vector<uint8_t>& b) { return ToHex(b.data(), b.size()); }

Value T(const char* s) { return Value::Text(s); }
Value U(uint64_t u) { return Value::Uint(u); }

// Checks Encode(v) == hex, EncodeChecked agrees, and Decode(hex) == v.
void ExpectEncoding(const Value& v, std::string_view hex) {
  SCOPED_TRACE(std::string(hex));
  EXPECT_EQ(Hex(Encode(v)), hex);
  auto checked = EncodeChecked(v);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(Hex(*checked), hex);
  auto back = Decode(H(hex));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value(), v);
}

// ---------------------------------------------------------------- known vectors

// From ../shared/vectors/fastcdc-v2020.md, "Deterministic CBOR known encodings".
TEST(CborKnown, VectorsFile) {
  ExpectEncoding(U(24), "1818");
  ExpectEncoding(U(1000), "1903e8");
  ExpectEncoding(U(1000000), "1a000f4240");
  ExpectEncoding(U(UINT64_MAX), "1bffffffffffffffff");
  ExpectEncoding(Value::Int(-100), "3863");
  ExpectEncoding(T(""), "60");
  ExpectEncoding(Value::Array({U(1), Value::Array({U(2), U(3)}), Value::Array({U(4), U(5)})}),
                 "8301820203820405");
  ExpectEncoding(Value::Map({{T("a"), U(1)}, {T("b"), Value::Array({U(2), U(3)})}}),
                 "a26161016162820203");
  // Keys sorted by their encoded bytes: "z" (617a) before "aa" (626161).
  ExpectEncoding(Value::Map({{T("z"), U(1)}, {T("aa"), U(2)}}), "a2617a0162616102");
  EXPECT_EQ(Hex(Encode(Value::Map({{T("aa"), U(2)}, {T("z"), U(1)}}))), "a2617a0162616102");
}

TEST(CborKnown, Simple) {
  ExpectEncoding(Value::Bool(false), "f4");
  ExpectEncoding(Value::Bool(true), "f5");
  ExpectEncoding(Value::Null(), "f6");
  ExpectEncoding(Value(), "f6");
  ExpectEncoding(Value::Bytes(std::vector<uint8_t>{}), "40");
  ExpectEncoding(Value::Bytes(H("01020304")), "4401020304");
  ExpectEncoding(T("IETF"), "6449455446");
  ExpectEncoding(T("\xc3\xbc"), "62c3bc");                  // U+00FC
  ExpectEncoding(T("\xe6\xb0\xb4"), "63e6b0b4");            // U+6C34
  ExpectEncoding(T("\xf0\x90\x85\x91"), "64f0908591");      // U+10151
  ExpectEncoding(Value::Array({}), "80");
  ExpectEncoding(Value::Map({}), "a0");
}

TEST(CborKnown, IntegerBoundaries) {
  struct Case {
    uint64_t v;
    const char* hex;
  };
  const Case kUnsigned[] = {
      {0, "00"},
      {23, "17"},
      {24, "1818"},
      {255, "18ff"},
      {256, "190100"},
      {65535, "19ffff"},
      {65536, "1a00010000"},
      {0xffffffffull, "1affffffff"},
      {0x100000000ull, "1b0000000100000000"},
      {UINT64_MAX, "1bffffffffffffffff"},
  };
  for (const Case& c : kUnsigned) {
    ExpectEncoding(U(c.v), c.hex);
    Writer w;
    w.Uint(c.v);
    EXPECT_EQ(Hex(w.buffer()), c.hex);
    // The same argument boundaries apply to negative integers (-1 - v).
    std::string neg = c.hex;
    neg[0] = static_cast<char>(neg[0] + 2);  // major 0 -> major 1 (0x00 -> 0x20)
    ExpectEncoding(Value::NegativeArg(c.v), neg);
  }
  ExpectEncoding(Value::Int(-1), "20");
  ExpectEncoding(Value::Int(-24), "37");
  ExpectEncoding(Value::Int(-25), "3818");
  ExpectEncoding(Value::Int(-256), "38ff");
  ExpectEncoding(Value::Int(-257), "390100");
  ExpectEncoding(Value::NegativeArg(UINT64_MAX), "3bffffffffffffffff");  // -2^64
  ExpectEncoding(Value::Int(INT64_MIN), "3b7fffffffffffffff");
  ExpectEncoding(Value::Int(INT64_MAX), "1b7fffffffffffffff");
  EXPECT_EQ(Value::Int(5), U(5));
  EXPECT_EQ(Value::Int(-1), Value::NegativeArg(0));
}

TEST(CborKnown, LengthBoundaries) {
  for (size_t n : {size_t{0}, size_t{23}, size_t{24}, size_t{255}, size_t{256}, size_t{65535},
                   size_t{65536}}) {
    SCOPED_TRACE(n);
    std::vector<uint8_t> payload(n, 0x61);
    std::vector<uint8_t> b = Encode(Value::Bytes(payload));
    std::vector<uint8_t> t = Encode(Value::Text(std::string(n, 'a')));
    Writer hw;
    hw.Uint(n);
    const std::vector<uint8_t>& head = hw.buffer();
    ASSERT_EQ(b.size(), head.size() + n);
    ASSERT_EQ(t.size(), head.size() + n);
    EXPECT_EQ(b[0], head[0] | 0x40);
    EXPECT_EQ(t[0], head[0] | 0x60);
    EXPECT_TRUE(std::equal(head.begin() + 1, head.end(), b.begin() + 1));
    auto db = Decode(b);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ(db->as_bytes(), payload);
    auto dt = Decode(t);
    ASSERT_TRUE(dt.ok()) << dt.status().ToString();
    EXPECT_EQ(dt->as_text().size(), n);
  }
  // 24 array items: header 0x98 0x18.
  std::vector<Value> items(24, U(0));
  std::vector<uint8_t> a = Encode(Value::Array(items));
  EXPECT_EQ(a[0], 0x98);
  EXPECT_EQ(a[1], 0x18);
  EXPECT_EQ(a.size(), 26u);
}

// ------------------------------------------------------------------ map order

TEST(CborMap, KeysSortedByEncodedBytes) {
  // Unsigned ints sort numerically, and before negatives (0x20..), byte
  // strings (0x40..), text (0x60..), arrays, maps, simple values.
  Value m = Value::Map({
      {Value::Bool(true), U(0)},
      {T("b"), U(1)},
      {Value::Int(-1), U(2)},
      {U(100), U(3)},
      {Value::Array({}), U(4)},
      {U(10), U(5)},
      {Value::Bytes(H("00")), U(6)},
      {T("a"), U(7)},
      {Value::Map({}), U(8)},
  });
  EXPECT_EQ(Hex(Encode(m)), "a9" "0a05" "186403" "2002" "410006" "616107" "616201" "8004"
                            "a008" "f500");
  // Integer keys written out of order.
  EXPECT_EQ(Hex(Encode(Value::Map({{U(2), U(0)}, {U(0), U(0)}, {U(1), U(0)}}))), "a3000001000200");
  // Shorter-encoded text key first even if lexically larger.
  EXPECT_EQ(Hex(Encode(Value::Map({{T("ab"), U(0)}, {T("b"), U(0)}}))), "a261620062616200");
}

TEST(CborMap, Diagnostic) {
  Value v = Value::Map({{U(1), T("b\"3")},
                        {U(2), Value::Array({Value::Bytes(H("dead")), Value::Int(-7),
                                             Value::Null(), Value::Bool(true)})},
                        {Value::NegativeArg(UINT64_MAX), Value::Map({})}});
  EXPECT_EQ(ToDiagnostic(v),
            "{1: \"b\\\"3\", 2: [h'dead', -7, null, true], -18446744073709551616: {}}");
}

TEST(CborMap, FindAndAccessors) {
  Value m = Value::Map({{U(0), U(7)}, {U(3), T("x")}, {T("name"), Value::Bool(true)},
                        {Value::Int(-1), U(9)}});
  ASSERT_NE(m.Find(0), nullptr);
  EXPECT_EQ(m.Find(0)->as_uint(), 7u);
  ASSERT_NE(m.Find(3), nullptr);
  EXPECT_EQ(m.Find(3)->as_text(), "x");
  EXPECT_EQ(m.Find(1), nullptr);
  ASSERT_NE(m.Find("name"), nullptr);
  EXPECT_TRUE(m.Find("name")->as_bool());
  EXPECT_EQ(m.Find("nam"), nullptr);
  EXPECT_EQ(U(1).Find(0), nullptr);
  EXPECT_EQ(T("name").Find("name"), nullptr);

  EXPECT_EQ(U(5).as_int64(), 5);
  EXPECT_EQ(Value::Int(-5).as_int64(), -5);
  EXPECT_EQ(Value::Int(INT64_MIN).as_int64(), INT64_MIN);
  EXPECT_EQ(U(UINT64_MAX).as_int64(), std::nullopt);
  EXPECT_EQ(Value::NegativeArg(UINT64_MAX).as_int64(), std::nullopt);
  EXPECT_EQ(T("5").as_int64(), std::nullopt);
  EXPECT_TRUE(Value::Int(-5).is_int());
  EXPECT_TRUE(Value::Int(-5).is_negative());
  EXPECT_EQ(Value::Int(-5).negative_arg(), 4u);
  EXPECT_TRUE(Value().is_null());
  EXPECT_EQ(m.kind(), Kind::kMap);
  EXPECT_EQ(m.as_map().size(), 4u);

  Value a = Value::Array({});
  a.mutable_array().push_back(U(1));
  EXPECT_EQ(Hex(Encode(a)), "8101");
}

// ------------------------------------------------------------- Writer / EncodeTo

TEST(CborWriter, MatchesEncode) {
  Writer w;
  w.MapHeader(4);
  w.Uint(0);
  w.Uint(1);  // schema version
  w.Uint(1);
  w.Text("blake3");
  w.Uint(2);
  w.ArrayHeader(3);
  w.Int(-7);
  w.Bool(false);
  w.Null();
  w.Uint(3);
  const uint8_t digest[4] = {0xde, 0xad, 0xbe, 0xef};
  w.Bytes(digest, sizeof digest);

  Value v = Value::Map({
      {U(3), Value::Bytes(std::span<const uint8_t>(digest, 4))},
      {U(0), U(1)},
      {U(2), Value::Array({Value::Int(-7), Value::Bool(false), Value::Null()})},
      {U(1), T("blake3")},
  });
  EXPECT_EQ(Hex(w.buffer()), Hex(Encode(v)));
  std::vector<uint8_t> taken = w.Release();
  EXPECT_TRUE(w.buffer().empty());
  auto back = Decode(taken);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Find(1)->as_text(), "blake3");

  // EncodeTo appends.
  std::vector<uint8_t> out = {0xaa};
  EncodeTo(U(1000), &out);
  EncodeTo(T("a"), &out);
  EXPECT_EQ(Hex(out), "aa1903e86161");

  // Writer adopting an existing buffer.
  Writer w2(std::vector<uint8_t>{0x82});
  w2.Uint(1);
  w2.Int(-100);
  EXPECT_EQ(Hex(w2.buffer()), "82013863");
  EXPECT_TRUE(Decode(w2.buffer()).ok());
}

// ----------------------------------------------------------- encoder checking

TEST(CborEncodeChecked, RejectsNonCanonicalValues) {
  auto dup = EncodeChecked(Value::Map({{U(1), U(0)}, {U(2), U(0)}, {U(1), U(5)}}));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("duplicate map key"), std::string::npos)
      << dup.status().ToString();

  auto dup_text = EncodeChecked(
      Value::Array({Value::Map({{T("k"), U(0)}, {T("k"), U(0)}})}));
  ASSERT_FALSE(dup_text.ok());
  EXPECT_EQ(dup_text.status().code(), Code::kInvalidArgument);

  // Int(5) and Uint(5) are the same key.
  EXPECT_FALSE(EncodeChecked(Value::Map({{U(5), U(0)}, {Value::Int(5), U(1)}})).ok());

  auto utf8 = EncodeChecked(Value::Text("\xff"));
  ASSERT_FALSE(utf8.ok());
  EXPECT_EQ(utf8.status().code(), Code::kInvalidArgument);
  EXPECT_NE(utf8.status().message().find("UTF-8"), std::string::npos);

  // Bad text inside a map key is caught too.
  EXPECT_FALSE(EncodeChecked(Value::Map({{T("\xc0\x80"), U(0)}})).ok());

  Value deep = U(0);
  for (int i = 0; i < kMaxDepth; ++i) deep = Value::Array({deep});
  EXPECT_TRUE(EncodeChecked(deep).ok());
  Value deeper = Value::Array({deep});
  auto too_deep = EncodeChecked(deeper);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("nesting"), std::string::npos);
}

#ifndef NDEBUG
TEST(CborEncodeDeathTest, DuplicateKeyAsserts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(Encode(Value::Map({{U(1), U(0)}, {U(1), U(0)}})), "EncodeChecked");
}
#endif

// ---------------------------------------------------------- decoder rejection

struct Reject {
  const char* hex;
  size_t offset;
  const char* what;  // substring of the message
};

void ExpectReject(const Reject& r) {
  SCOPED_TRACE(r.hex);
  auto v = Decode(H(r.hex));
  ASSERT_FALSE(v.ok()) << "accepted";
  EXPECT_EQ(v.status().code(), Code::kCorruption);
  const std::string& m = v.status().message();
  const std::string want_off = "cbor: offset " + std::to_string(r.offset) + ": ";
  EXPECT_EQ(m.rfind(want_off, 0), 0u) << m;
  EXPECT_NE(m.find(r.what), std::string::npos) << m;
}

TEST(CborDecode, RejectsNonShortest) {
  const Reject kCases[] = {
      {"1817", 0, "non-shortest unsigned integer argument 23"},
      {"190017", 0, "non-shortest"},
      {"1900ff", 0, "non-shortest"},
      {"1a0000ffff", 0, "non-shortest"},
      {"1b00000000ffffffff", 0, "non-shortest"},
      {"1b0000000000000000", 0, "non-shortest"},
      {"3817", 0, "non-shortest negative integer"},
      {"5800", 0, "non-shortest byte string"},
      {"780161", 0, "non-shortest text string"},
      {"9800", 0, "non-shortest array"},
      {"b800", 0, "non-shortest map"},
      {"82011817", 2, "non-shortest"},
      {"a1190001 00", 1, "non-shortest"},
  };
  for (const Reject& r : kCases) {
    std::string hex = r.hex;
    hex.erase(std::remove(hex.begin(), hex.end(), ' '), hex.end());
    ExpectReject({hex.c_str(), r.offset, r.what});
  }
}

TEST(CborDecode, RejectsIndefiniteAndReserved) {
  const Reject kCases[] = {
      {"5f4100ff", 0, "indefinite-length byte string"},
      {"7f6161ff", 0, "indefinite-length text string"},
      {"9f01ff", 0, "indefinite-length array"},
      {"bf0101ff", 0, "indefinite-length map"},
      {"1f", 0, "invalid for an integer"},
      {"3f", 0, "invalid for an integer"},
      {"ff", 0, "unexpected break"},
      {"8101ff", 2, "trailing"},
      {"1c", 0, "reserved additional information value 28"},
      {"3d", 0, "reserved additional information value 29"},
      {"5e", 0, "reserved additional information value 30"},
      {"7c", 0, "reserved"},
      {"9d", 0, "reserved"},
      {"be", 0, "reserved"},
      {"fc", 0, "reserved"},
      {"fe", 0, "reserved"},
  };
  for (const Reject& r : kCases) ExpectReject(r);
}

TEST(CborDecode, RejectsMapOrderAndDuplicates) {
  const Reject kCases[] = {
      {"a202000100", 3, "not in canonical"},
      {"a262616101617a02", 5, "not in canonical"},  // {"aa":1,"z":2}
      {"a201000100", 3, "duplicate map key"},
      {"a3000001000100", 5, "duplicate map key"},
      {"a2617a01617a02", 4, "duplicate map key"},
      {"a220000000", 3, "not in canonical"},  // -1 before 0
  };
  for (const Reject& r : kCases) ExpectReject(r);
  // Nested map inside an array, unsorted.
  ExpectReject({"81a202000100", 4, "not in canonical"});
  // Keys that are themselves maps: {{1:0}:0, {}:0} has a10100 before a0.
  ExpectReject({"a2a1010000a000", 5, "not in canonical"});
}

TEST(CborDecode, RejectsTrailingAndTruncated) {
  const Reject kCases[] = {
      {"", 0, "truncated"},
      {"0000", 1, "1 trailing byte"},
      {"f6f6f6", 1, "2 trailing byte"},
      {"18", 0, "truncated"},
      {"1901", 0, "truncated"},
      {"1a000102", 0, "truncated"},
      {"1b00010203040506", 0, "truncated"},
      {"6261", 0, "truncated: text string of length 2"},
      {"44010203", 0, "truncated: byte string of length 4"},
      {"8201", 0, "truncated: array of 2 item(s) but only 1 byte(s) left"},
      {"828100", 3, "truncated: expected an item"},
      {"a101", 0, "truncated: map of 1"},
      {"a20102", 0, "truncated: map of 2"},
      {"a1010203", 3, "trailing"},
      {"83", 0, "truncated: array of 3"},
      // Lengths far beyond the input: rejected before any allocation.
      {"5bffffffffffffffff", 0, "truncated: byte string of length 18446744073709551615"},
      {"7bffffffffffffffff", 0, "truncated: text string"},
      {"9bffffffffffffffff", 0, "truncated: array of 18446744073709551615"},
      {"bbffffffffffffffff", 0, "truncated: map of"},
      {"9a7fffffff00", 0, "truncated: array"},
      {"8181819a7fffffff", 3, "truncated: array"},
  };
  for (const Reject& r : kCases) ExpectReject(r);
}

TEST(CborDecode, RejectsFloatsSimpleTagsUndefined) {
  const Reject kCases[] = {
      {"f90000", 0, "floating-point"},
      {"f93c00", 0, "floating-point"},
      {"fa47c35000", 0, "floating-point"},
      {"fb3ff199999999999a", 0, "floating-point"},
      {"f97e00", 0, "floating-point"},  // NaN
      {"f7", 0, "undefined"},
      {"f820", 0, "simple values other than"},
      {"f8ff", 0, "simple values other than"},
      {"e0", 0, "simple value 0"},
      {"f3", 0, "simple value 19"},
      {"c074323031332d30332d32315432303a30343a30305a", 0, "tags"},
      {"c11a514b67b0", 0, "tags"},
      {"d82076687474703a2f2f7777772e6578616d706c652e636f6d", 0, "tags"},
      {"c249010000000000000000", 0, "tags"},  // bignum
      {"8201c0", 2, "tags"},
      {"a101f7", 2, "undefined"},
  };
  for (const Reject& r : kCases) ExpectReject(r);
}

TEST(CborDecode, RejectsInvalidUtf8) {
  const Reject kCases[] = {
      {"61ff", 1, "invalid UTF-8"},
      {"6180", 1, "invalid UTF-8"},        // stray continuation
      {"62c328", 1, "invalid UTF-8"},      // bad continuation
      {"62c080", 1, "invalid UTF-8"},      // overlong NUL
      {"62c1bf", 1, "invalid UTF-8"},      // overlong
      {"63e08080", 1, "invalid UTF-8"},    // overlong 3-byte
      {"63eda080", 1, "invalid UTF-8"},    // surrogate U+D800
      {"63edbfbf", 1, "invalid UTF-8"},    // surrogate U+DFFF
      {"64f0808080", 1, "invalid UTF-8"},  // overlong 4-byte
      {"64f4908080", 1, "invalid UTF-8"},  // U+110000
      {"64f5808080", 1, "invalid UTF-8"},
      {"6461c3a9e2", 4, "invalid UTF-8"},  // sequence cut by the string end
      {"6361e282", 2, "invalid UTF-8"},
      {"a16261ff00", 3, "invalid UTF-8"},  // in a map key
  };
  for (const Reject& r : kCases) ExpectReject(r);
  // The edges that are valid.
  for (const char* ok : {"62c280", "62dfbf", "63e0a080", "63ed9fbf", "63ee8080", "63efbfbf",
                         "64f0908080", "64f48fbfbf", "6100", "617f"}) {
    auto v = Decode(H(ok));
    EXPECT_TRUE(v.ok()) << ok << ": " << v.status().ToString();
  }
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("h\xc3\xa9llo"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));
}

TEST(CborDecode, NestingLimit) {
  for (uint8_t head : {uint8_t{0x81}, uint8_t{0xa1}}) {
    SCOPED_TRACE(head);
    // kMaxDepth nested containers: accepted.
    std::vector<uint8_t> ok;
    for (int i = 0; i < kMaxDepth; ++i) {
      ok.push_back(head);
      if (head == 0xa1) ok.push_back(0x00);  // key 0
    }
    ok.push_back(0x00);
    auto v = Decode(ok);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(Encode(*v), ok);
    // One more: rejected at the offset of the innermost container.
    std::vector<uint8_t> bad;
    for (int i = 0; i < kMaxDepth + 1; ++i) {
      bad.push_back(head);
      if (head == 0xa1) bad.push_back(0x00);
    }
    bad.push_back(0x00);
    const size_t off = static_cast<size_t>(kMaxDepth) * (head == 0xa1 ? 2 : 1);
    auto r = Decode(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(),
              "cbor: offset " + std::to_string(off) + ": arrays/maps nested deeper than 64");
  }
  // A very deep hostile input does not recurse without bound.
  std::vector<uint8_t> hostile(1 << 20, 0x81);
  EXPECT_FALSE(Decode(hostile).ok());
  // Empty innermost containers count as a level too.
  std::vector<uint8_t> empties(kMaxDepth, 0x81);
  empties.back() = 0x80;
  EXPECT_TRUE(Decode(empties).ok());
  empties.insert(empties.begin(), 0x81);
  EXPECT_FALSE(Decode(empties).ok());
}

TEST(CborDecode, Overloads) {
  EXPECT_EQ(Decode(std::string_view("\x18\x18", 2))->as_uint(), 24u);
  std::vector<uint8_t> b = {0x20};
  EXPECT_EQ(Decode(std::span<const uint8_t>(b))->as_int64(), -1);
  EXPECT_EQ(Decode(b.data(), b.size())->as_int64(), -1);
  EXPECT_FALSE(Decode(nullptr, 0).ok());
}

// ----------------------------------------------------- randomized round trips

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t s_;
};

uint64_t RandomArg(Rng& r) {
  switch (r.Below(6)) {
    case 0: return r.Below(24);
    case 1: return r.Below(256);
    case 2: return r.Below(65536);
    case 3: return r.Below(1ull << 32);
    case 4: return r.Next();
    default: {
      const uint64_t edges[] = {23, 24, 255, 256, 65535, 65536, 0xffffffffull,
                                0x100000000ull, UINT64_MAX};
      return edges[r.Below(std::size(edges))];
    }
  }
}

std::string RandomUtf8(Rng& r) {
  std::string s;
  const size_t n = r.Below(r.Below(4) == 0 ? 300 : 8);
  for (size_t i = 0; i < n; ++i) {
    uint32_t cp;
    switch (r.Below(4)) {
      case 0: cp = static_cast<uint32_t>(r.Below(0x80)); break;
      case 1: cp = 0x80 + static_cast<uint32_t>(r.Below(0x800 - 0x80)); break;
      case 2:
        cp = 0x800 + static_cast<uint32_t>(r.Below(0x10000 - 0x800));
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000;
        break;
      default: cp = 0x10000 + static_cast<uint32_t>(r.Below(0x110000 - 0x10000)); break;
    }
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  return s;
}

Value RandomValue(Rng& r, int depth) {
  const uint64_t kinds = depth >= 6 ? 6 : 8;
  switch (r.Below(kinds)) {
    case 0: return Value::Uint(RandomArg(r));
    case 1: return Value::NegativeArg(RandomArg(r));
    case 2: {
      std::vector<uint8_t> b(r.Below(r.Below(4) == 0 ? 300 : 10));
      for (auto& x : b) x = static_cast<uint8_t>(r.Next());
      return Value::Bytes(std::move(b));
    }
    case 3: return Value::Text(RandomUtf8(r));
    case 4: return Value::Bool(r.Below(2) == 1);
    case 5: return Value::Null();
    case 6: {
      std::vector<Value> items(r.Below(6));
      for (auto& it : items) it = RandomValue(r, depth + 1);
      return Value::Array(std::move(items));
    }
    default: {
      // Distinct keys (by encoding), in random order.
      std::vector<Value::Entry> entries;
      std::vector<std::vector<uint8_t>> seen;
      const uint64_t n = r.Below(6);
      for (uint64_t i = 0; i < n; ++i) {
        Value k = r.Below(3) == 0 ? RandomValue(r, depth + 1) : Value::Uint(r.Below(30));
        std::vector<uint8_t> kb = Encode(k);
        if (std::find(seen.begin(), seen.end(), kb) != seen.end()) continue;
        seen.push_back(kb);
        entries.emplace_back(std::move(k), RandomValue(r, depth + 1));
      }
      return Value::Map(std::move(entries));
    }
  }
}

// v with every map's entries sorted into canonical order (what Decode returns).
Value Canonical(const Value& v) {
  if (v.is_array()) {
    std::vector<Value> items;
    for (const Value& it : v.as_array()) items.push_back(Canonical(it));
    return Value::Array(std::move(items));
  }
  if (v.is_map()) {
    std::vector<Value::Entry> entries;
    for (const auto& [k, val] : v.as_map()) entries.emplace_back(Canonical(k), Canonical(val));
    std::sort(entries.begin(), entries.end(), [](const Value::Entry& a, const Value::Entry& b) {
      return Encode(a.first) < Encode(b.first);  // both start with a head: same as bytewise
    });
    return Value::Map(std::move(entries));
  }
  return v;
}

uint64_t TestSeed() {
  if (const char* s = std::getenv("AS_TEST_SEED")) return std::strtoull(s, nullptr, 0);
  return 0x5eedcb0e2024ull;
}

TEST(CborRandom, RoundTrip) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE("seed (AS_TEST_SEED) = " + std::to_string(seed));
  Rng r(seed);
  for (int i = 0; i < 3000; ++i) {
    Value v = RandomValue(r, 0);
    auto enc = EncodeChecked(v);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    ASSERT_EQ(*enc, Encode(v));
    auto dec = Decode(*enc);
    ASSERT_TRUE(dec.ok()) << "iteration " << i << ": " << dec.status().ToString() << "\n"
                          << Hex(*enc);
    ASSERT_EQ(dec.value(), Canonical(v)) << "iteration " << i;
    ASSERT_EQ(Encode(*dec), *enc) << "iteration " << i;
  }
}

// Mutates valid encodings; Decode must never crash, and whatever it accepts
// must be canonical: re-encoding gives back exactly the input bytes.
TEST(CborRandom, MutationsAreRejectedOrCanonical) {
  const uint64_t seed = TestSeed() ^ 0xf022;
  SCOPED_TRACE("seed (AS_TEST_SEED) = " + std::to_string(TestSeed()));
  Rng r(seed);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> b = Encode(RandomValue(r, 0));
    const uint64_t rounds = 1 + r.Below(3);
    for (uint64_t k = 0; k < rounds; ++k) {
      const size_t pos = b.empty() ? 0 : static_cast<size_t>(r.Below(b.size()));
      switch (r.Below(7)) {
        case 0:
          if (!b.empty()) b[pos] ^= static_cast<uint8_t>(1u << r.Below(8));
          break;
        case 1:
          if (!b.empty()) b[pos] = static_cast<uint8_t>(r.Next());
          break;
        case 2:
          b.insert(b.begin() + static_cast<ptrdiff_t>(pos), static_cast<uint8_t>(r.Next()));
          break;
        case 3:
          if (!b.empty()) b.erase(b.begin() + static_cast<ptrdiff_t>(pos));
          break;
        case 4:
          b.resize(static_cast<size_t>(r.Below(b.size() + 1)));
          break;
        case 5: {  // interesting head bytes
          const uint8_t heads[] = {0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x5f, 0x9f, 0xbf, 0xff,
                                   0xf7, 0xf9, 0xc0, 0xa2, 0x82, 0x7b, 0x9b, 0x1c};
          if (!b.empty()) b[pos] = heads[r.Below(std::size(heads))];
          break;
        }
        default: {  // duplicate a slice
          if (b.empty()) break;
          const size_t len = static_cast<size_t>(r.Below(std::min<size_t>(8, b.size() - pos) + 1));
          std::vector<uint8_t> slice(b.begin() + static_cast<ptrdiff_t>(pos),
                                     b.begin() + static_cast<ptrdiff_t>(pos + len));
          b.insert(b.begin() + static_cast<ptrdiff_t>(r.Below(b.size() + 1)), slice.begin(),
                   slice.end());
          break;
        }
      }
    }
    auto d = Decode(b);
    if (d.ok()) {
      ++accepted;
      ASSERT_EQ(Hex(Encode(*d)), Hex(b)) << "iteration " << i;
    } else {
      ++rejected;
      ASSERT_EQ(d.status().code(), Code::kCorruption);
      ASSERT_EQ(d.status().message().rfind("cbor: offset ", 0), 0u) << d.status().message();
    }
  }
  // Both outcomes must actually be exercised.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 100);
}

TEST(CborRandom, NoiseNeverCrashes) {
  Rng r(TestSeed() ^ 0xabcdef);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> b(r.Below(40));
    for (auto& x : b) x = static_cast<uint8_t>(r.Next());
    auto d = Decode(b);
    if (d.ok()) {
      ASSERT_EQ(Encode(*d), b);
    }
  }
}

}  // namespace
}  // namespace as::cbor

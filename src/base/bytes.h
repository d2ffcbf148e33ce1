// Little-endian loads/stores and hex, used by every byte format.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace as {

inline void PutU16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void PutU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void PutU64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint16_t GetU16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
inline uint32_t GetU32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline uint64_t GetU64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "formats assume a little-endian host");

std::string ToHex(const uint8_t* p, size_t n);
// ToHex appended to *out (no string of its own: for building long lists).
void AppendHex(std::string* out, const uint8_t* p, size_t n);
// Lowercase or uppercase hex of even length; nullopt on anything else.
std::optional<std::vector<uint8_t>> FromHex(std::string_view s);

// ASCII case-insensitive comparison, for protocol tokens and header names
// (never locale-dependent).
bool AsciiIEquals(std::string_view a, std::string_view b);
bool AsciiIStartsWith(std::string_view s, std::string_view prefix);
// `s` without leading and trailing spaces and tabs (HTTP's optional
// whitespace around header values and list items).
std::string_view TrimOws(std::string_view s);

}  // namespace as

// HTTP dates and ISO 8601 timestamps (http_util.h), on std::chrono's civil
// calendar so no libc time zone state (timegm, TZ) is involved.
#include <chrono>
#include <cstdio>
#include <ctime>

#include "s3/http_util.h"

namespace as::s3 {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::sys_days;

constexpr const char* kDays[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kLongDays[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                      "Thursday", "Friday", "Saturday"};
constexpr const char* kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Civil {
  int year = 0;
  unsigned month = 0, day = 0;  // 1-based
  unsigned hour = 0, minute = 0, second = 0;
};

Civil ToCivil(int64_t unix_seconds, unsigned* weekday) {
  std::chrono::sys_seconds tp{seconds{unix_seconds}};
  sys_days d = floor<days>(tp);
  std::chrono::year_month_day ymd{d};
  std::chrono::hh_mm_ss hms{tp - d};
  if (weekday) *weekday = std::chrono::weekday{d}.c_encoding();
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<unsigned>(hms.hours().count()),
          static_cast<unsigned>(hms.minutes().count()),
          static_cast<unsigned>(hms.seconds().count())};
}

// nullopt for an impossible calendar date or time of day. Second 60 (a leap
// second, allowed by the grammar) lands on the next minute's first second.
std::optional<int64_t> FromCivil(const Civil& c) {
  std::chrono::year_month_day ymd{std::chrono::year{c.year}, std::chrono::month{c.month},
                                  std::chrono::day{c.day}};
  if (!ymd.ok() || c.hour > 23 || c.minute > 59 || c.second > 60) return std::nullopt;
  int64_t d = sys_days{ymd}.time_since_epoch().count();
  return d * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
}

// A cursor over the text; each Take* consumes on success only.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return s_.empty(); }
  bool Lit(std::string_view lit) {
    if (s_.substr(0, lit.size()) != lit) return false;
    s_.remove_prefix(lit.size());
    return true;
  }
  // Exactly n decimal digits.
  bool Digits(size_t n, unsigned* out) {
    if (s_.size() < n) return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (s_[i] < '0' || s_[i] > '9') return false;
      v = v * 10 + static_cast<unsigned>(s_[i] - '0');
    }
    s_.remove_prefix(n);
    *out = v;
    return true;
  }
  // One of `names`, returning its index.
  template <size_t N>
  bool OneOf(const char* const (&names)[N], unsigned* index) {
    for (size_t i = 0; i < N; ++i) {
      if (Lit(names[i])) {
        *index = static_cast<unsigned>(i);
        return true;
      }
    }
    return false;
  }
  bool Time(Civil* c) {
    return Digits(2, &c->hour) && Lit(":") && Digits(2, &c->minute) && Lit(":") &&
           Digits(2, &c->second);
  }
  std::string_view rest() const { return s_; }

 private:
  std::string_view s_;
};

int CurrentYear() {
  return ToCivil(static_cast<int64_t>(std::time(nullptr)), nullptr).year;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<int64_t> ParseImfFixdate(std::string_view s) {
  Cursor p(s);
  Civil c;
  unsigned wd, mon, year;
  if (!(p.OneOf(kDays, &wd) && p.Lit(", ") && p.Digits(2, &c.day) && p.Lit(" ") &&
        p.OneOf(kMonths, &mon) && p.Lit(" ") && p.Digits(4, &year) && p.Lit(" ") &&
        p.Time(&c) && p.Lit(" GMT") && p.done())) {
    return std::nullopt;
  }
  c.month = mon + 1;
  c.year = static_cast<int>(year);
  return FromCivil(c);
}

// "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<int64_t> ParseRfc850(std::string_view s) {
  Cursor p(s);
  Civil c;
  unsigned wd, mon, yy;
  if (!(p.OneOf(kLongDays, &wd) && p.Lit(", ") && p.Digits(2, &c.day) && p.Lit("-") &&
        p.OneOf(kMonths, &mon) && p.Lit("-") && p.Digits(2, &yy) && p.Lit(" ") && p.Time(&c) &&
        p.Lit(" GMT") && p.done())) {
    return std::nullopt;
  }
  // RFC 9110 5.6.7: a year more than 50 years ahead belongs to the past century.
  int now = CurrentYear();
  int year = now / 100 * 100 + static_cast<int>(yy);
  if (year > now + 50) year -= 100;
  c.month = mon + 1;
  c.year = year;
  return FromCivil(c);
}

// "Sun Nov  6 08:49:37 1994"
std::optional<int64_t> ParseAsctime(std::string_view s) {
  Cursor p(s);
  Civil c;
  unsigned wd, mon, year;
  if (!(p.OneOf(kDays, &wd) && p.Lit(" ") && p.OneOf(kMonths, &mon) && p.Lit(" "))) {
    return std::nullopt;
  }
  if (!(p.Digits(2, &c.day) || (p.Lit(" ") && p.Digits(1, &c.day)))) return std::nullopt;
  if (!(p.Lit(" ") && p.Time(&c) && p.Lit(" ") && p.Digits(4, &year) && p.done())) {
    return std::nullopt;
  }
  c.month = mon + 1;
  c.year = static_cast<int>(year);
  return FromCivil(c);
}

}  // namespace

std::string FormatHttpDate(int64_t unix_seconds) {
  unsigned wd = 0;
  Civil c = ToCivil(unix_seconds, &wd);
  if (c.year >= 0 && c.year <= 9999) {
    // Every GET and HEAD answers Last-Modified: written by hand, since
    // snprintf's format parsing costs more than the rest of this function.
    std::string out = "Ddd, 00 Mmm 0000 00:00:00 GMT";
    auto two = [&out](size_t at, unsigned v) {
      out[at] = static_cast<char>('0' + v / 10);
      out[at + 1] = static_cast<char>('0' + v % 10);
    };
    out.replace(0, 3, kDays[wd], 3);
    two(5, c.day);
    out.replace(8, 3, kMonths[c.month - 1], 3);
    two(12, static_cast<unsigned>(c.year) / 100);
    two(14, static_cast<unsigned>(c.year) % 100);
    two(17, c.hour);
    two(20, c.minute);
    two(23, c.second);
    return out;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02u:%02u:%02u GMT", kDays[wd], c.day,
                kMonths[c.month - 1], c.year, c.hour, c.minute, c.second);
  return buf;
}

std::string FormatIso8601(int64_t unix_millis) {
  std::chrono::sys_time<milliseconds> tp{milliseconds{unix_millis}};
  auto secs = floor<seconds>(tp);
  Civil c = ToCivil(secs.time_since_epoch().count(), nullptr);
  auto ms = static_cast<unsigned>((tp - secs).count());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", c.year, c.month, c.day,
                c.hour, c.minute, c.second, ms);
  return buf;
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  if (auto t = ParseImfFixdate(text)) return t;
  if (auto t = ParseRfc850(text)) return t;
  return ParseAsctime(text);
}

std::optional<int64_t> ParseIso8601(std::string_view text) {
  Cursor p(text);
  Civil c;
  unsigned year;
  if (!(p.Digits(4, &year) && p.Lit("-") && p.Digits(2, &c.month) && p.Lit("-") &&
        p.Digits(2, &c.day) && p.Lit("T") && p.Time(&c))) {
    return std::nullopt;
  }
  c.year = static_cast<int>(year);
  int64_t millis = 0;
  if (p.Lit(".")) {
    unsigned digit;
    int n = 0;
    while (p.Digits(1, &digit)) {
      if (n < 3) millis = millis * 10 + digit;
      ++n;
    }
    if (n == 0 || n > 9) return std::nullopt;
    for (int i = n; i < 3; ++i) millis *= 10;
  }
  if (!(p.Lit("Z") && p.done())) return std::nullopt;
  auto secs = FromCivil(c);
  if (!secs) return std::nullopt;
  return *secs * 1000 + millis;
}

}  // namespace as::s3

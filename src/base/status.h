// Status and Result<T>: how errors travel in artifact-store.
//
// Contract: OK costs one pointer compare; an error carries a code and a message
// that names the thing (file, digest, byte offset) where it began. Callers add
// context with WithContext() as the error climbs. No exceptions cross module
// boundaries; kernels never fail and never return a Status.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace as {

enum class Code : int {
  kOk = 0,
  kNotFound = 1,         // unknown name, digest, file
  kCorruption = 2,       // a check failed: CRC, digest, format
  kInvalidArgument = 3,  // bad input from the caller (range, option, name)
  kIOError = 4,          // the OS said no
  kAlreadyExists = 5,
  kBusy = 6,         // store in use by another process
  kUnsupported = 7,  // newer format version, unknown codec
  kInternal = 8,
  kFailedPrecondition = 9,  // the state forbids it: bucket not empty, precondition
  kNoSpace = 10,            // the file system or the quota is full (ENOSPC, EDQUOT, SQLITE_FULL)
  kUnavailable = 11,        // a server the store relies on (PostgreSQL) did not answer: retry
};

const char* CodeName(Code c);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string msg);

  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  // A status naming `what` and the errno text, e.g. "open /x/y: No such file":
  // NotFound for ENOENT, NoSpace for ENOSPC and EDQUOT, else IOError.
  static Status FromErrno(std::string_view what, int err);
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Busy(std::string m) { return {Code::kBusy, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status NoSpace(std::string m) { return {Code::kNoSpace, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  const std::string& message() const;
  std::string ToString() const;  // "corruption: pack 1f.. offset 42: crc mismatch"

  // Prefixes the message with "ctx: ". No-op on OK.
  Status WithContext(std::string_view ctx) const;

  void IgnoreError() const {}

 private:
  struct Rep {
    Code code;
    std::string msg;
  };
  std::shared_ptr<const Rep> rep_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status s) : v_(std::move(s)) {}     // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace as

#define AS_CONCAT_INNER(a, b) a##b
#define AS_CONCAT(a, b) AS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if it is not OK.
#define AS_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::as::Status _as_st = (expr);           \
    if (!_as_st.ok()) return _as_st;        \
  } while (0)

// `AS_ASSIGN_OR_RETURN(auto x, F())` binds x to the value or returns the error.
#define AS_ASSIGN_OR_RETURN(lhs, rexpr) \
  AS_ASSIGN_OR_RETURN_IMPL(AS_CONCAT(_as_res_, __LINE__), lhs, rexpr)
#define AS_ASSIGN_OR_RETURN_IMPL(res, lhs, rexpr) \
  auto res = (rexpr);                             \
  if (!res.ok()) return res.status();             \
  lhs = std::move(res).value()

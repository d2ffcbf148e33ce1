#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace as {

const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not found";
    case Code::kCorruption: return "corruption";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kIOError: return "I/O error";
    case Code::kAlreadyExists: return "already exists";
    case Code::kBusy: return "busy";
    case Code::kUnsupported: return "unsupported";
    case Code::kInternal: return "internal error";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kNoSpace:
      return "out of space";
    case Code::kUnavailable:
      return "unavailable";
  }
  return "unknown";
}

Status::Status(Code code, std::string msg)
    : rep_(code == Code::kOk ? nullptr : std::make_shared<Rep>(Rep{code, std::move(msg)})) {}

Status Status::FromErrno(std::string_view what, int err) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  const Code c = err == ENOENT                    ? Code::kNotFound
                 : err == ENOSPC || err == EDQUOT ? Code::kNoSpace
                                                  : Code::kIOError;
  return Status(c, std::move(m));
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->msg : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(rep_->code)) + ": " + rep_->msg;
}

Status Status::WithContext(std::string_view ctx) const {
  if (ok()) return *this;
  return Status(rep_->code, std::string(ctx) + ": " + rep_->msg);
}

}  // namespace as

#include "index/metadata.h"

#include "index/pg_metadata.h"
#include "index/sqlite_metadata.h"

namespace as {

bool Metadata::IsUrl(const std::string& where) {
  return where.rfind("postgresql://", 0) == 0 || where.rfind("postgres://", 0) == 0;
}

Result<std::unique_ptr<Metadata>> Metadata::Open(const std::string& where, bool create) {
  if (IsUrl(where)) {
    AS_ASSIGN_OR_RETURN(auto pg, PgMetadata::Open(where, create));
    return std::unique_ptr<Metadata>(std::move(pg));
  }
  if (where.find("://") != std::string::npos) {
    return Status::InvalidArgument("metadata " + where +
                                   ": unknown scheme (a file path, or postgresql://...)");
  }
  AS_ASSIGN_OR_RETURN(auto lite, SqliteMetadata::Open(where, create));
  return std::unique_ptr<Metadata>(std::move(lite));
}

void Metadata::StartRootLog() {
  std::lock_guard<std::mutex> l(root_log_mu_);
  root_log_on_ = true;
  root_log_.clear();
}

std::vector<Metadata::BoundRoot> Metadata::StopRootLog() {
  std::lock_guard<std::mutex> l(root_log_mu_);
  root_log_on_ = false;
  return std::move(root_log_);
}

void Metadata::LogRoot(BoundRoot r) {
  std::lock_guard<std::mutex> l(root_log_mu_);
  if (root_log_on_) root_log_.push_back(std::move(r));
}

Status Metadata::TakeCopySource(const NameRow& src, const std::optional<Digest>& expect,
                                NameRow* to) {
  if (expect && src.manifest != *expect) {
    return Status::FailedPrecondition("name " + src.bucket + "/" + src.key +
                                      " was rebound during the copy");
  }
  to->manifest = src.manifest;
  to->content = src.content;
  to->size = src.size;
  if (to->attrs.empty()) to->attrs = src.attrs;
  LogRoot({to->tenant, std::nullopt, to->manifest});
  return Status::OK();
}

}  // namespace as

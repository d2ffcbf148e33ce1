#include "index/metadata.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "index/pg_metadata.h"
#include "index/sqlite_metadata.h"

namespace as {

std::string CounterColumns(const std::string& wrap) {
  std::string out;
  for (const CounterField& f : kCounterFields) {
    if (!out.empty()) out += ", ";
    if (wrap.empty()) {
      out += f.name;
    } else {
      const size_t at = wrap.find("%s");
      out += wrap.substr(0, at) + f.name + wrap.substr(at + 2);
    }
  }
  return out;
}

std::string TotalsDiff(const StoreTotals& kept, const StoreTotals& scan) {
  std::string out;
  for (const CounterField& f : kCounterFields) {
    if (kept.*f.field == scan.*f.field) continue;
    if (!out.empty()) out += ", ";
    out += std::string(f.name) + " " + std::to_string(kept.*f.field) + " (scan " +
           std::to_string(scan.*f.field) + ")";
  }
  return out;
}

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

Result<std::optional<Location>> ChunkIndex::FindLiveChunk(uint32_t domain, const Digest& d) {
  std::vector<std::optional<Location>> out;
  AS_RETURN_IF_ERROR(FindChunks(domain, &d, 1, &out, true));
  return out[0];
}

Result<uint64_t> ChunkIndex::WatchChunkGeneration() {
  return Status::Unsupported("the chunk generation is kept only by embedded (SQLite) metadata");
}

Result<std::optional<uint64_t>> ChunkIndex::SoleChunkGeneration() {
  return Status::Unsupported("the chunk generation is kept only by embedded (SQLite) metadata");
}

Metadata::Op::~Op() {
  if (!m_) return;
  std::lock_guard<std::mutex> l(m_->ops_mu_);
  m_->ops_.erase(id_);
}

Metadata::Op Metadata::BeginOp() {
  std::lock_guard<std::mutex> l(ops_mu_);
  const uint64_t id = ++next_op_;
  ops_.emplace(id, op_epoch_);
  return Op(this, op_epoch_, op_session_, id);
}

std::optional<int64_t> Metadata::SeeEpoch(int64_t epoch, int64_t session) {
  std::lock_guard<std::mutex> l(ops_mu_);
  op_epoch_ = epoch;
  op_session_ = session;
  return OldestOpLocked();
}

std::optional<int64_t> Metadata::OldestOp() {
  std::lock_guard<std::mutex> l(ops_mu_);
  return OldestOpLocked();
}

std::optional<int64_t> Metadata::OldestOpLocked() const {
  std::optional<int64_t> oldest;
  for (const auto& [id, e] : ops_) oldest = oldest ? std::min(*oldest, e) : e;
  return oldest;
}

namespace {
int64_t EnvMillis(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  const long long n = std::atoll(v);
  return n > 0 ? n : fallback;
}
}  // namespace

int64_t Metadata::HeartbeatMillis() {
  static const int64_t ms = EnvMillis("AS_TEST_HEARTBEAT_MS", 2000);
  return ms;
}

int64_t Metadata::SessionTtlMillis() {
  static const int64_t ms = EnvMillis("AS_TEST_SESSION_TTL_MS", 30000);
  return ms;
}

Status Metadata::RefGone(const Digest& d) {
  refs_gone_.fetch_add(1, std::memory_order_relaxed);
  return Status::Busy("chunk " + d.ToString() +
                      ", which this put deduplicated against, was collected by gc meanwhile; "
                      "nothing was stored: retry");
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
  return Status::OK();
}

}  // namespace as

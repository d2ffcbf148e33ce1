#include "index/pg_conn.h"

#include "base/bytes.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>
#include <optional>

namespace as {

namespace {

// Notices ("relation already exists, skipping") are not errors: keep them
// off the server's stderr.
void QuietNotice(void*, const char*) {}

// libpq's messages end in a newline.
std::string TrimEnd(std::string msg) {
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

}  // namespace

void AppendPgHex(std::string* out, const Digest& d) {
  uint8_t b[1 + Digest::kMaxSize];
  d.EncodeTo(b);
  AppendHex(out, b, d.EncodedSize());
}

std::string PgHex(const Digest& d) {
  std::string s;
  AppendPgHex(&s, d);
  return s;
}

std::string PgHexBytes(const std::string& bytes) {
  return ToHex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

PgResult::~PgResult() {
  if (r_) PQclear(r_);
}

int PgResult::rows() const { return PQntuples(r_); }
bool PgResult::IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10);
}

namespace {
// A bytea column's bytes (bytea_output = hex: "\x" then two digits a byte);
// nullopt when it is not that.
std::optional<std::vector<uint8_t>> ByteaOf(pg_result* r, int row, int col) {
  const char* v = PQgetvalue(r, row, col);
  const size_t n = static_cast<size_t>(PQgetlength(r, row, col));
  if (n < 2 || v[0] != '\\' || v[1] != 'x') return std::nullopt;
  return FromHex(std::string_view(v + 2, n - 2));
}
}  // namespace

std::string PgResult::Bytes(int row, int col) const {
  auto bytes = ByteaOf(r_, row, col);
  if (!bytes) return {};
  return std::string(bytes->begin(), bytes->end());
}

Result<Digest> PgResult::Dig(int row, int col) const {
  auto bytes = ByteaOf(r_, row, col);
  auto d = bytes ? Digest::Decode(bytes->data(), bytes->size())
                 : Result<Digest>(Status::Corruption("a digest column that is not bytea"));
  if (!d.ok()) return d.status().WithContext("metadata row");
  return d;
}

int64_t PgResult::Affected() const { return std::strtoll(PQcmdTuples(r_), nullptr, 10); }

PgConn::PgConn(std::string url, std::string describe, std::string settings)
    : url_(std::move(url)), describe_(std::move(describe)), settings_(std::move(settings)) {}

PgConn::~PgConn() {
  if (conn_) PQfinish(conn_);
}

Status PgConn::Connect() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return Status::OK();
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  // The URL first (expand_dbname), then a default application_name that
  // names us in pg_stat_activity unless the URL gives one.
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* vals[] = {url_.c_str(), "artifact-store", nullptr};
  conn_ = PQconnectdbParams(keys, vals, 1);
  if (!conn_) return Status::Unavailable("metadata " + describe_ + ": out of memory connecting");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string msg = TrimEnd(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    return Status::Unavailable("metadata " + describe_ + ": cannot connect: " + msg);
  }
  PQsetNoticeProcessor(conn_, QuietNotice, nullptr);
  // Hex bytea output (what Bytes() reads), UTC, and a bound on how long a
  // stuck transaction can hold row locks.
  const std::string set =
      "SET bytea_output = 'hex'; SET TimeZone = 'UTC'; "
      "SET idle_in_transaction_session_timeout = '60s'; " + settings_;
  PGresult* r = PQexec(conn_, set.c_str());
  if (PQresultStatus(r) != PGRES_COMMAND_OK) return Error("session settings", r);
  PQclear(r);
  return Status::OK();
}

Status PgConn::Error(const std::string& what, pg_result* r) {
  std::string msg = TrimEnd(r ? PQresultErrorMessage(r) : "");
  if (msg.empty() && conn_) msg = TrimEnd(PQerrorMessage(conn_));
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string code = state ? state : "";
  if (r) PQclear(r);
  const std::string text = "metadata " + describe_ + ": " + what + ": " + msg;
  // A broken connection is dropped here and made anew by the next call.
  if (conn_ && PQstatus(conn_) != CONNECTION_OK) {
    PQfinish(conn_);
    conn_ = nullptr;
    return Status::Unavailable(text + " (connection lost)");
  }
  // The server is shutting down or starting (admin_shutdown, crash_shutdown,
  // cannot_connect_now): as good as unreachable, and worth a retry.
  if (code == "57P01" || code == "57P02" || code == "57P03" || code.rfind("08", 0) == 0) {
    return Status::Unavailable(text);
  }
  if (code == "23505") return Status::AlreadyExists(text);
  // Deadlock or serialization failure: another server's transaction won;
  // nothing of this one was committed, and a retry succeeds.
  if (code == "40P01" || code == "40001") return Status::Busy(text);
  if (code == "53100") return Status::NoSpace(text);
  if (code.rfind("22", 0) == 0) return Status::InvalidArgument(text);  // data exception
  return Status::IOError(text);
}

Status PgConn::CParams(const PgParams& params, std::vector<const char*>* vals) const {
  vals->reserve(params.size());
  for (const std::string& p : params) {
    if (std::memchr(p.data(), 0, p.size()) != nullptr) {
      return Status::InvalidArgument("metadata " + describe_ +
                                     ": a name or value holds a NUL byte, which is not stored");
    }
    vals->push_back(p.c_str());
  }
  return Status::OK();
}

Result<PgResult> PgConn::Exec(const std::string& sql, const PgParams& params) {
  std::vector<const char*> vals;
  AS_RETURN_IF_ERROR(CParams(params, &vals));
  AS_RETURN_IF_ERROR(Connect());
  // Without parameters, the simple protocol: it also runs a script of
  // several statements (the schema), as one implicit transaction.
  PGresult* r = vals.empty() ? PQexec(conn_, sql.c_str())
                             : PQexecParams(conn_, sql.c_str(), static_cast<int>(vals.size()),
                                            nullptr, vals.data(), nullptr, nullptr, 0);
  const ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return Error(What(sql), r);
  }
  return PgResult(r);
}

Status PgConn::Run(const std::string& sql, const PgParams& params) {
  return Exec(sql, params).status();
}

Status PgConn::Stream(const std::string& sql, const PgParams& params,
                      const std::function<Status(const PgResult&)>& fn) {
  std::vector<const char*> vals;
  AS_RETURN_IF_ERROR(CParams(params, &vals));
  AS_RETURN_IF_ERROR(Connect());
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(vals.size()), nullptr, vals.data(),
                         nullptr, nullptr, 0) ||
      !PQsetSingleRowMode(conn_)) {
    return Error(What(sql), nullptr);
  }
  Status s;
  // Every result must be read, even after fn fails, before the connection
  // can run another statement.
  while (PGresult* r = PQgetResult(conn_)) {
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_SINGLE_TUPLE) {
      PgResult row(r);
      if (s.ok()) s = fn(row);
    } else if (st == PGRES_TUPLES_OK) {
      PQclear(r);
    } else {
      Status e = Error(What(sql), r);
      if (s.ok()) s = e;
      if (!conn_) break;
    }
  }
  return s;
}

Status PgConn::Transaction(const std::function<Status()>& fn) {
  AS_RETURN_IF_ERROR(Run("BEGIN"));
  Status s = fn();
  if (s.ok()) {
    s = Run("COMMIT");
    if (!s.ok() && s.code() == Code::kUnavailable) {
      s = Status::Unavailable(s.message() +
                              "; the commit's outcome is unknown (a retry of the same request "
                              "is safe)");
    }
    return s;
  }
  if (conn_) Run("ROLLBACK").IgnoreError();
  return s;
}

PgPool::PgPool(std::string url, std::string describe, size_t max_conns)
    : url_(std::move(url)), describe_(std::move(describe)), max_(max_conns) {}

PgPool::~PgPool() = default;

PgPool::Lease PgPool::Acquire() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return !idle_.empty() || open_ < max_; });
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(c));
  }
  open_++;
  return Lease(this, std::make_unique<PgConn>(url_, describe_));
}

PgPool::Lease::~Lease() {
  if (!c_) return;
  std::lock_guard<std::mutex> l(p_->mu_);
  p_->idle_.push_back(std::move(c_));
  p_->cv_.notify_one();
}

}  // namespace as

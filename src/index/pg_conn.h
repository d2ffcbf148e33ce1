// A thin layer over libpq for PgMetadata: one connection (reconnected when
// it breaks), statements with text parameters, results read by row and
// column, errors as Status naming the database and what failed.
//
// Every parameter travels as text: digests and byte strings as hex (the SQL
// decodes them with decode($n, 'hex')), integers in decimal. A text
// parameter cannot hold a NUL byte (libpq takes C strings); one that does is
// refused with InvalidArgument rather than silently cut short.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/status.h"

struct pg_conn;
struct pg_result;

namespace as {

using PgParams = std::vector<std::string>;

std::string PgHex(const Digest& d);  // algorithm byte + digest, as hex
void AppendPgHex(std::string* out, const Digest& d);
std::string PgHexBytes(const std::string& bytes);

class PgResult {
 public:
  explicit PgResult(pg_result* r) : r_(r) {}
  ~PgResult();
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  bool IsNull(int row, int col) const;
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  // A bytea column (hex output).
  std::string Bytes(int row, int col) const;
  Result<Digest> Dig(int row, int col) const;
  // Rows affected, for INSERT/UPDATE/DELETE.
  int64_t Affected() const;

 private:
  pg_result* r_;
};

class PgConn {
 public:
  // Connects lazily (at the first statement) and again after a break.
  // `settings`: more SET statements for every session it opens.
  PgConn(std::string url, std::string describe, std::string settings = "");
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  Result<PgResult> Exec(const std::string& sql, const PgParams& params = {});
  // Exec that expects no rows back.
  Status Run(const std::string& sql, const PgParams& params = {});
  // Runs a query in single-row mode: fn sees one row at a time (row 0 of
  // its result), so a table of any size streams through bounded memory.
  Status Stream(const std::string& sql, const PgParams& params,
                const std::function<Status(const PgResult&)>& fn);
  // BEGIN .. COMMIT around fn, ROLLBACK when fn or the commit fails.
  Status Transaction(const std::function<Status()>& fn);

 private:
  Status Connect();
  // The libpq form of params, in *vals (pointing into params); InvalidArgument
  // if one holds a NUL byte.
  Status CParams(const PgParams& params, std::vector<const char*>* vals) const;
  // sql's first words, to name the statement in an error.
  static std::string What(const std::string& sql) {
    return sql.substr(0, sql.find_first_of("(\n"));
  }
  Status Error(const std::string& what, pg_result* r);
  const std::string url_, describe_, settings_;
  pg_conn* conn_ = nullptr;
};

// Connections handed to one thread at a time (Lease); opened lazily, at most
// max_conns; Acquire waits when every one is out.
class PgPool {
 public:
  PgPool(std::string url, std::string describe, size_t max_conns);
  ~PgPool();

  class Lease {
   public:
    Lease(PgPool* p, std::unique_ptr<PgConn> c) : p_(p), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept = default;
    ~Lease();
    PgConn& operator*() { return *c_; }
    PgConn* operator->() { return c_.get(); }

   private:
    PgPool* p_;
    std::unique_ptr<PgConn> c_;
  };
  Lease Acquire();

 private:
  const std::string url_, describe_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t open_ = 0;
  std::vector<std::unique_ptr<PgConn>> idle_;
};

}  // namespace as

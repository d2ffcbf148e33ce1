// A thin RAII layer over SQLite: statements with bound parameters and
// errors as Status naming the database file and the SQL that failed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace as {

class SqliteStmt {
 public:
  SqliteStmt(sqlite3* db, sqlite3_stmt* st, const std::string* path) : db_(db), st_(st), path_(path) {}
  ~SqliteStmt();
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;
  SqliteStmt(SqliteStmt&& o) noexcept : db_(o.db_), st_(o.st_), path_(o.path_) { o.st_ = nullptr; }

  // Binding is 1-based, like SQLite.
  SqliteStmt& Bind(int i, int64_t v);
  SqliteStmt& Bind(int i, std::string_view text);
  SqliteStmt& BindBlob(int i, const void* p, size_t n);
  SqliteStmt& BindNull(int i);

  // Result<bool>: true when a row is ready, false when done.
  Result<bool> Step();
  Status Run();  // steps to completion
  void Reset();  // reset + clear bindings, for reuse

  int64_t Int(int col) const;
  std::string Text(int col) const;
  std::vector<uint8_t> Blob(int col) const;
  const uint8_t* BlobPtr(int col, size_t* n) const;
  bool IsNull(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* st_;
  const std::string* path_;
};

// A statement prepared once and kept by its owner (the hot lookups of every
// GET would otherwise parse their SQL each time); reset when the handle goes,
// which also ends the read transaction a row left open.
class CachedStmt {
 public:
  explicit CachedStmt(SqliteStmt* st) : st_(st) {}
  CachedStmt(CachedStmt&& o) noexcept : st_(o.st_) { o.st_ = nullptr; }
  CachedStmt(const CachedStmt&) = delete;
  CachedStmt& operator=(const CachedStmt&) = delete;
  ~CachedStmt() {
    if (st_) st_->Reset();
  }
  SqliteStmt& operator*() { return *st_; }
  SqliteStmt* operator->() { return st_; }

 private:
  SqliteStmt* st_;
};

class SqliteDb {
 public:
  // Every connection runs with PRAGMA recursive_triggers=ON: the metadata's
  // counters rely on INSERT OR REPLACE firing DELETE triggers for the row it
  // replaces.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool create);
  // A connection for reads only (PRAGMA query_only) on an existing database,
  // with a page cache of cache_kib and up to mmap_bytes of the file mapped.
  static Result<std::unique_ptr<SqliteDb>> OpenReader(const std::string& path, int cache_kib,
                                                      int64_t mmap_bytes);
  ~SqliteDb();
  Status Exec(std::string_view sql);
  Result<SqliteStmt> Prepare(std::string_view sql);
  int64_t LastInsertRowId() const;
  int64_t Changes() const;
  const std::string& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

}  // namespace as

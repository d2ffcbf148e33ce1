#include "index/sqlite_db.h"

#include <sqlite3.h>

namespace as {

namespace {
Status SqlError(sqlite3* db, const std::string& path, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = "metadata " + path + ": " + std::string(what) + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) return Status::Busy(msg);
  if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB) {
    return Status::Corruption(msg);
  }
  if ((code & 0xff) == SQLITE_FULL) return Status::NoSpace(msg);
  // A second row with the same key: what PostgreSQL's unique_violation is
  // too (the metadata contract).
  if (code == SQLITE_CONSTRAINT_PRIMARYKEY || code == SQLITE_CONSTRAINT_UNIQUE) {
    return Status::AlreadyExists(msg);
  }
  return Status::IOError(msg);
}
}  // namespace

SqliteStmt::~SqliteStmt() {
  if (st_) sqlite3_finalize(st_);
}

SqliteStmt& SqliteStmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
SqliteStmt& SqliteStmt::Bind(int i, std::string_view text) {
  sqlite3_bind_text(st_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
SqliteStmt& SqliteStmt::BindBlob(int i, const void* p, size_t n) {
  sqlite3_bind_blob(st_, i, p, static_cast<int>(n), SQLITE_TRANSIENT);
  return *this;
}
SqliteStmt& SqliteStmt::BindNull(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

Result<bool> SqliteStmt::Step() {
  int r = sqlite3_step(st_);
  if (r == SQLITE_ROW) return true;
  if (r == SQLITE_DONE) return false;
  return SqlError(db_, *path_, sqlite3_sql(st_));
}

Status SqliteStmt::Run() {
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) break;
  }
  Reset();
  return Status::OK();
}

void SqliteStmt::Reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

int64_t SqliteStmt::Int(int col) const { return sqlite3_column_int64(st_, col); }
std::string SqliteStmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}
std::vector<uint8_t> SqliteStmt::Blob(int col) const {
  size_t n = 0;
  const uint8_t* p = BlobPtr(col, &n);
  return std::vector<uint8_t>(p, p + n);
}
const uint8_t* SqliteStmt::BlobPtr(int col, size_t* n) const {
  const void* p = sqlite3_column_blob(st_, col);
  *n = static_cast<size_t>(sqlite3_column_bytes(st_, col));
  return static_cast<const uint8_t*>(p);
}
bool SqliteStmt::IsNull(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  // unix-excl: the first connection takes an exclusive POSIX lock on the
  // file for the process and keeps it (the store's LOCK file already makes
  // this process the only user); connections of this process then lock
  // among themselves in memory, with no fcntl per transaction, and WAL keeps
  // its index in heap memory instead of a -shm file.
  if (sqlite3_open_v2(path.c_str(), &db, flags, "unix-excl") != SQLITE_OK) {
    Status s = db ? SqlError(db, path, "open") : Status::IOError("metadata " + path + ": open");
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteDb> out(new SqliteDb(db, path));
  sqlite3_busy_timeout(db, 5000);
  // The kept counters (schema v7, docs/format/metadata.md) are exact only if
  // the row that INSERT OR REPLACE replaces fires the DELETE triggers, which
  // SQLite does only with recursive triggers on. On every connection, readers
  // too, so that no connection of this build can ever write without it.
  AS_RETURN_IF_ERROR(out->Exec("PRAGMA recursive_triggers=ON"));
  return out;
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::OpenReader(const std::string& path, int cache_kib,
                                                       int64_t mmap_bytes) {
  AS_ASSIGN_OR_RETURN(auto db, Open(path, false));
  AS_RETURN_IF_ERROR(db->Exec("PRAGMA query_only=1"));
  AS_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-" + std::to_string(cache_kib)));
  AS_RETURN_IF_ERROR(db->Exec("PRAGMA mmap_size=" + std::to_string(mmap_bytes)));
  return db;
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

Status SqliteDb::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Status st = SqlError(db_, path_, s.substr(0, 60));
    sqlite3_free(err);
    return st;
  }
  return Status::OK();
}

Result<SqliteStmt> SqliteDb::Prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr) !=
      SQLITE_OK) {
    return SqlError(db_, path_, "prepare " + std::string(sql.substr(0, 60)));
  }
  return SqliteStmt(db_, st, &path_);
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

}  // namespace as

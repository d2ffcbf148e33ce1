#include "index/read_pool.h"

namespace as {

class ReadPool::Conn {
 public:
  explicit Conn(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

  SqliteDb& db() { return *db_; }
  Result<CachedStmt> Cached(const std::string& sql) {
    // A handful of statements per connection: a linear scan beats a map.
    for (auto& [key, st] : stmts_) {
      if (key == &sql) return CachedStmt(st.get());
    }
    AS_ASSIGN_OR_RETURN(auto st, db_->Prepare(sql));
    stmts_.emplace_back(&sql, std::make_unique<SqliteStmt>(std::move(st)));
    return CachedStmt(stmts_.back().second.get());
  }

 private:
  // Declared first, destroyed last: sqlite3_close refuses while statements live.
  std::unique_ptr<SqliteDb> db_;
  std::vector<std::pair<const std::string*, std::unique_ptr<SqliteStmt>>> stmts_;
};

ReadPool::ReadPool(std::string path, Options options) : path_(std::move(path)), options_(options) {}

ReadPool::~ReadPool() {
  std::lock_guard<std::mutex> l(mu_);
  idle_.clear();
  all_.clear();
}

ReadPool::Lease::~Lease() {
  if (conn_) pool_->Release(conn_);
}

SqliteDb& ReadPool::Lease::db() {
  return conn_->db();
}

Result<CachedStmt> ReadPool::Lease::Cached(const std::string& sql) {
  return conn_->Cached(sql);
}

Result<ReadPool::Lease> ReadPool::Acquire() {
  std::unique_lock<std::mutex> l(mu_);
  free_.wait(l, [&] { return !idle_.empty() || all_.size() + opening_ < options_.max_conns; });
  if (!idle_.empty()) {
    Conn* c = idle_.back();
    idle_.pop_back();
    return Lease(this, c);
  }
  // Opening reads the schema and maps the file: not under the pool's lock.
  opening_++;
  l.unlock();
  auto db = SqliteDb::OpenReader(path_, options_.cache_kib, options_.mmap_bytes);
  l.lock();
  opening_--;
  if (!db.ok()) {
    free_.notify_one();  // the slot is free again
    return db.status().WithContext("read connection");
  }
  all_.push_back(std::make_unique<Conn>(std::move(db).value()));
  return Lease(this, all_.back().get());
}

void ReadPool::Release(Conn* c) {
  {
    std::lock_guard<std::mutex> l(mu_);
    idle_.push_back(c);
  }
  free_.notify_one();
}

size_t ReadPool::open_conns() {
  std::lock_guard<std::mutex> l(mu_);
  return all_.size();
}

}  // namespace as

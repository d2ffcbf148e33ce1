// A pool of read-only SQLite connections to one WAL database, so that reads
// run side by side instead of queueing on the writer's connection.
//
// Contract:
// - A statement on a pooled connection runs in its own read transaction and
//   sees every transaction committed (on any connection of this process)
//   before it started, and nothing of one still in progress: WAL readers read
//   the last committed snapshot and never wait for the writer.
// - Acquire() hands a connection to one thread until its Lease goes. The pool
//   mutex is held only to pop or push a connection, never during SQL.
//   Connections are opened lazily, at most max_conns; when all are out,
//   Acquire() waits for one. A thread must not hold two leases at once (with
//   every connection out, two such threads could wait on each other).
// - A lease must leave no statement stepping when it goes (CachedStmt and
//   SqliteStmt reset or finalize theirs at scope exit): a statement left on a
//   row would keep its read transaction, and its stale snapshot, open.
// - The pool is destroyed before the writer's connection, with every lease
//   returned; it closes all its connections, so the writer's close is the
//   last one and checkpoints the WAL.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "index/sqlite_db.h"

namespace as {

class ReadPool {
 public:
  struct Options {
    size_t max_conns = 4;
    int cache_kib = 512;                      // private page cache per connection
    int64_t mmap_bytes = int64_t{256} << 20;  // shared by the OS, not per connection
  };
  ReadPool(std::string path, Options options);
  ~ReadPool();
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  class Conn;
  class Lease {
   public:
    Lease(ReadPool* pool, Conn* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::exchange(o.conn_, nullptr)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    SqliteDb& db();
    // `sql` must have static storage: statements are cached per connection
    // by its address (no hashing of the text on every lookup).
    Result<CachedStmt> Cached(const std::string& sql);

   private:
    ReadPool* pool_;
    Conn* conn_;
  };
  Result<Lease> Acquire();

  size_t open_conns();  // for tests

 private:
  void Release(Conn* c);

  const std::string path_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable free_;
  std::vector<std::unique_ptr<Conn>> all_;  // owned; opened ones
  std::vector<Conn*> idle_;                 // LIFO: the warmest cache goes out first
  size_t opening_ = 0;                      // being opened outside mu_
};

}  // namespace as

#include "pg_test.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "index/pg_conn.h"

namespace as::testing {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

PgTestSchema::PgTestSchema() {
  if (const char* u = std::getenv("AS_TEST_PG_URL"); u && *u) {
    server_ = u;
  } else if (const char* st = std::getenv("AS_TEST_PG_STATE"); st && *st) {
    server_ = ReadFile(std::string(st) + "/url");
    if (server_.empty()) {
      skip_ = ReadFile(std::string(st) + "/skip");
      if (skip_.empty()) skip_ = "the test PostgreSQL server did not start (see pg_server_start)";
      return;
    }
  } else {
    skip_ = "no PostgreSQL server: run through ctest (its `pg` fixture starts one) or set "
            "AS_TEST_PG_URL";
    return;
  }
  static std::atomic<int> n{0};
  schema_ = "t_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  PgConn c(server_, server_);
  Status s = c.Run("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_);
  if (!s.ok()) {
    // Not a skip: a server was named and does not work.
    schema_.clear();
    error_ = s.ToString();
    return;
  }
  url_ = server_ + (server_.find('?') == std::string::npos ? "?" : "&") +
         "options=-csearch_path%3D" + schema_;
}

std::string DropAllTables(const std::string& url) {
  PgConn c(url, url);
  auto r = c.Exec("SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                  "WHERE schemaname = current_schema()");
  if (!r.ok()) return r.status().ToString();
  if (r->IsNull(0, 0)) return "";
  Status s = c.Run("DROP TABLE " + r->Text(0, 0));
  return s.ok() ? "" : s.ToString();
}

PgTestSchema::~PgTestSchema() {
  if (schema_.empty()) return;
  PgConn c(server_, server_);
  c.Run("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE").IgnoreError();
}

}  // namespace as::testing

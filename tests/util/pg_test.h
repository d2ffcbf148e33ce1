// PostgreSQL for the unit tests: each test gets a schema of its own on the
// test server that CTest's `pg` fixture starts (tests/util/pg_server.sh), so
// tests run side by side without seeing each other's rows.
//
// The server is found through AS_TEST_PG_URL (any server the caller runs;
// the tests create and drop schemas in it) or AS_TEST_PG_STATE (the
// fixture's state directory). Without either, or where PostgreSQL is not
// installed, PgTestSchema::skip says why and the test skips.
#pragma once

#include <string>

namespace as::testing {

// Drops every table in the schema `url` searches first: a store's lost
// database, for the repair tests. Empty on success, else the error.
std::string DropAllTables(const std::string& url);

class PgTestSchema {
 public:
  PgTestSchema();   // creates the schema (or sets skip)
  ~PgTestSchema();  // drops it
  PgTestSchema(const PgTestSchema&) = delete;
  PgTestSchema& operator=(const PgTestSchema&) = delete;

  const std::string& url() const { return url_; }    // the schema's own URL
  const std::string& skip() const { return skip_; }  // non-empty: why not
  // Non-empty: a server was named but the schema could not be made (a test
  // failure, not a skip).
  const std::string& error() const { return error_; }

 private:
  std::string server_, schema_, url_, skip_, error_;
};

}  // namespace as::testing

// A fresh store for a test: a temp directory, small chunks (1/4/16 KiB by
// default, so tests of a few hundred KB span many), everything else at its
// default.
// Header-only: as_test_util does not link the store (its users do).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <cstdlib>
#include <vector>

#include "artifact_store/store.h"
#include "store/store_config.h"
#include "pg_test.h"
#include "test_util.h"

namespace as::testing {

// Store::Open for the tests. With AS_TEST_STORE_METADATA=postgresql, a store
// made here keeps its metadata in a schema of its own on the test server
// (pg_test.h), so the same suites run once more on PostgreSQL.
inline bool StoresOnPostgres() {
  const char* v = std::getenv("AS_TEST_STORE_METADATA");
  return v && std::string(v) == "postgresql";
}

// With AS_TEST_STORE_PACKS=s3 (and AS_TEST_RGW_STATE, tests/util/rgw_server.sh),
// a store made here keeps its packs on that RGW, under a prefix of its own.
inline bool StoresOnS3() {
  const char* v = std::getenv("AS_TEST_STORE_PACKS");
  return v && std::string(v) == "s3";
}

// For a test about pack files in DIR/packs (damaging, counting, an Env that
// fails their writes): with the packs in a bucket it does not apply.
#define AS_SKIP_UNLESS_LOCAL_PACKS()                                                 \
  do {                                                                               \
    if (::as::testing::StoresOnS3()) GTEST_SKIP() << "packs on S3: about DIR/packs"; \
  } while (0)

inline std::string ReadStateFile(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

inline Result<std::unique_ptr<Store>> OpenStore(const std::string& dir, StoreOptions o) {
  const bool fresh = o.create_if_missing && !std::filesystem::exists(dir + "/STORE");
  if (StoresOnS3() && fresh && o.packs.empty()) {
    const char* state = std::getenv("AS_TEST_RGW_STATE");
    if (!state) return Status::Internal("AS_TEST_STORE_PACKS=s3 but no AS_TEST_RGW_STATE");
    // The store directory's path (made unique by TempDir) names the prefix.
    std::string prefix = std::filesystem::absolute(dir).lexically_normal().string();
    while (!prefix.empty() && prefix.front() == '/') prefix.erase(0, 1);
    o.packs = "s3://as-store-tests/" + prefix;
    o.s3_endpoint = ReadStateFile(std::string(state) + "/endpoint");
    o.s3_credentials = std::string(state) + "/credentials";  // rgw_server.sh wrote it
  }
  if (StoresOnPostgres() && o.create_if_missing && o.metadata.empty() &&
      !std::filesystem::exists(dir + "/STORE")) {
    static std::vector<std::unique_ptr<PgTestSchema>> schemas;  // dropped at exit
    auto schema = std::make_unique<PgTestSchema>();
    if (!schema->skip().empty() || !schema->error().empty()) {
      return Status::Internal("AS_TEST_STORE_METADATA=postgresql but no schema: " +
                              schema->skip() + schema->error());
    }
    o.metadata = schema->url();
    schemas.push_back(std::move(schema));
  }
  return Store::Open(dir, o);
}

// Opens (creating) a store in a new temp dir named after `tag`; *dir gets the
// path. Null, with a test failure recorded, if it cannot.
inline std::unique_ptr<Store> OpenTestStore(const std::string& tag, std::string* dir,
                                            StoreOptions o = {},
                                            ChunkerParams chunker = {1024, 4096, 16384, 1}) {
  *dir = TempDir(tag);
  o.create_if_missing = true;
  o.chunker = chunker;
  auto s = OpenStore(*dir, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Loses a store's metadata database, as a disk or a DBA might: the SQLite
// files in the store directory, or every table of its PostgreSQL schema.
inline void LoseMetadata(const std::string& dir) {
  for (const char* f : {"/metadata.db", "/metadata.db-wal", "/metadata.db-shm"}) {
    std::filesystem::remove(dir + f);
  }
  std::ifstream config(dir + "/CONFIG");
  for (std::string line; std::getline(config, line);) {
    if (line.rfind("metadata = ", 0) == 0) {
      const std::string err = DropAllTables(line.substr(11));
      EXPECT_TRUE(err.empty()) << err;
    }
  }
}

// Every regular file under <dir>/packs, .tmp leftovers included (a test that
// compares it with the index's pack count wants none).
// With the packs in a bucket (CONFIG's packs), the objects and unfinished
// uploads under its prefix.
inline size_t PackFileCount(const std::string& dir) {
  auto config = ReadStoreConfig(Env::Default(), dir);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (config.ok() && !config->packs.empty()) {
    auto packs = OpenPackStore(Env::Default(), dir, *config, false);
    EXPECT_TRUE(packs.ok()) << packs.status().ToString();
    std::vector<PackObject> all;
    EXPECT_TRUE(packs.ok() && (*packs)->List(&all).ok());
    return all.size();
  }
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir + "/packs")) {
    n += e.is_regular_file() ? 1 : 0;
  }
  return n;
}

// A fixture owning a store and its directory: closed and removed after the test.
class TempStoreTest : public ::testing::Test {
 protected:
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace as::testing

// A fresh store for a test: a temp directory, small chunks (1/4/16 KiB by
// default, so tests of a few hundred KB span many), everything else at its
// default.
// Header-only: as_test_util does not link the store.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "artifact_store/store.h"
#include "test_util.h"

namespace as::testing {

// Opens (creating) a store in a new temp dir named after `tag`; *dir gets the
// path. Null, with a test failure recorded, if it cannot.
inline std::unique_ptr<Store> OpenTestStore(const std::string& tag, std::string* dir,
                                            StoreOptions o = {},
                                            ChunkerParams chunker = {1024, 4096, 16384, 1}) {
  *dir = TempDir(tag);
  o.create_if_missing = true;
  o.chunker = chunker;
  auto s = Store::Open(*dir, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Every regular file under <dir>/packs, .tmp leftovers included (a test that
// compares it with the index's pack count wants none).
inline size_t PackFileCount(const std::string& dir) {
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

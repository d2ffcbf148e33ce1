// A fresh store for a test: a temp directory, small chunks (1/4/16 KiB by
// default, so tests of a few hundred KB span many), everything else at its
// default.
// Header-only: as_test_util does not link the store.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

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

}  // namespace as::testing

// DIR/CONFIG: what a store's directory says about the parts that are not in
// it (docs/format/store.md). Lines of `key = value`; `#` starts a comment.
//   store_uuid = <32 hex>       made at init; the metadata holds the same
//                               (meta.store_uuid), so a store directory and
//                               a database of another store are never paired
//   metadata = postgresql://... absent: DIR/metadata.db (SQLite)
//   packs = s3://bucket/prefix  absent: DIR/packs
//   s3_endpoint = http://host:port    the S3 server of `packs`
//   s3_credentials = /path/file       optional: a 0600 AWS credentials file
// A key this build does not know is refused, so an older build never opens
// a store whose parts it would not find.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "artifact_store/store.h"
#include "base/env.h"
#include "index/metadata.h"
#include "pack/pack_store.h"

namespace as {

struct StoreConfig {
  std::string store_uuid;  // empty for stores made before CONFIG existed
  std::string metadata;    // empty: SQLite in the store directory
  std::string packs;       // empty: DIR/packs
  std::string s3_endpoint, s3_credentials;
};

inline constexpr const char* kStoreConfigFile = "CONFIG";

// A store without CONFIG (made by an older build) reads as the defaults.
Result<StoreConfig> ReadStoreConfig(Env* env, const std::string& dir);
Status WriteStoreConfig(Env* env, const std::string& dir, const StoreConfig& c);
Result<std::string> NewStoreUuid();

// Opens the metadata CONFIG names. For an existing store, its store_uuid
// must match; a missing database (SQLite file, or a PostgreSQL database
// without the tables) is Corruption naming `repair --reindex`, unless
// options.recreate_missing_metadata, which makes an empty one
// (second = true).
Result<std::pair<std::unique_ptr<Metadata>, bool>> OpenMetadata(Env* env, const std::string& dir,
                                                                const StoreConfig& config,
                                                                bool exists,
                                                                const StoreOptions& options);

// The pack store CONFIG names: DIR/packs, or a bucket prefix (its marker
// written when `create`, checked otherwise).
Result<std::unique_ptr<PackStore>> OpenPackStore(Env* env, const std::string& dir,
                                                 const StoreConfig& config, bool create);

}  // namespace as

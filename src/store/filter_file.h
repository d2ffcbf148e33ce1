// The dedup filter on disk (docs/format/filter.md): a base file with the
// whole table, stamped with the chunk generation it was taken at, and log
// files that each add the keys of the chunks stored between two
// generations. The chain base -> log -> log ... is current when it ends at
// the generation the metadata holds now (ChunkIndex::WatchChunkGeneration).
//
//   <dir>/filter/base             header + KeyTable buckets
//   <dir>/filter/log-<from, hex>  header + keys added from `from` to `to`
//
// Every file is written whole (temporary name, sync, rename, sync of the
// directory) and checked whole when read (CRC-32C of header and body, the
// store's uuid): a torn, truncated or foreign file is never used, only
// ignored, and the filter is rebuilt from the index instead. Nothing here is
// the only copy of anything: the index is.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "kernels/kernels.h"
#include "store/key_table.h"

namespace as {

class FilterFiles {
 public:
  // uuid: the store's; files of another store are ignored.
  FilterFiles(Env* env, std::string store_dir, const std::string& uuid, const KernelTable* k);

  // What is on disk: the base's stamp and the logs that chain from it.
  struct Chain {
    bool base = false;          // a base file with a sound header
    uint64_t base_gen = 0;
    uint64_t base_buckets = 0, base_keys = 0;
    std::vector<std::string> logs;  // in chain order
    uint64_t end = 0;           // the generation the chain reaches
    uint64_t log_keys = 0;      // keys in all its logs
  };
  // Reads headers only (64 bytes a file).
  Chain ReadChain();

  // The chain's table: base, then every log's keys. Corruption names the
  // file that is not sound; Cancelled-like Busy when `stop` turned true.
  Result<KeyTable> Load(const Chain& chain, const std::atomic<bool>& stop);

  // Writes a log from `from` to `to` with `keys` (any number, none too:
  // a generation change that only removed rows).
  Status AppendLog(uint64_t from, uint64_t to, const std::vector<uint64_t>& keys);
  // Writes a new base at `gen` from `table` and removes every log and stray
  // file (the new base holds their keys).
  Status WriteBase(uint64_t gen, const KeyTable& table);
  // Removes the filter's files (`repair --reindex`: the index was made anew).
  Status RemoveAll();

  const std::string& dir() const { return dir_; }

 private:
  std::string LogName(uint64_t from) const;
  Status WriteWhole(const std::string& name, const std::vector<uint8_t>& header,
                    const void* body, size_t body_len);

  Env* env_;
  std::string dir_;
  uint64_t uuid_hash_;
  const KernelTable* k_;
};

}  // namespace as

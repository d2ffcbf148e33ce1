// The CLI's commands. Each returns the process exit status:
// 0 success, 1 error (message on stderr), 3 verify found damage.
#pragma once

#include <cstdint>
#include <optional>
#include <memory>
#include <string>

#include "artifact_store/store.h"

namespace as::cli {

inline constexpr int kExitError = 1;
inline constexpr int kExitDamaged = 3;
// The store's reserve (StoreOptions::reserve_bytes): what `rm` and `gc` spend
// when the file system is full to the last block.
inline constexpr uint64_t kReserveBytes = 16 << 20;

struct Globals {
  std::string store = "./data";
  uint64_t reserve = kReserveBytes;  // --reserve; 0: none, and DIR/RESERVE is deleted
  std::string cpu;  // "" = best the CPU has
  std::string tenant = "default";
  std::string master_key_file;  // --master-key-file (env ARTIFACT_STORE_MASTER_KEY_FILE)
};

// Where a new store's parts go (init's flags; see StoreOptions).
struct StoreParts {
  std::string metadata;  // empty: SQLite in the store directory
  std::string packs;     // empty: DIR/packs
  std::string s3_endpoint, s3_credentials;
};
struct InitArgs {
  uint32_t min = 0, avg = 0, max = 0;  // 0 = default
  int nc = -1;
  uint64_t pack_size = 0;  // 0 = default
  StoreParts parts;
  bool encrypt = false;  // every tenant encrypted; makes the master key file if missing
  bool json = false;
};
struct PutArgs {
  std::string file;
  std::string name;
  std::string codec;
  int level = 0;  // 0 = default
  bool no_delta = false;
  bool json = false;
};
struct GetArgs {
  std::string ref, out, range;
};
struct ChunksArgs {
  std::string file;
  uint32_t min = 16384, avg = 65536, max = 262144;
  int nc = 1;
  bool json = false;
};
struct GcArgs {
  bool dry_run = false;
  double threshold = 0.5;
  int64_t merge_below = -1;  // -1: the store's default
  int64_t grace = 3600;
  int64_t upload_grace = 86400;
  std::string rekey;  // gc --rekey TENANT, or `rekey TENANT`
  bool json = false;
};
struct ServeArgs {
  // [http://|https://]HOST:PORT, one or more (https: TLS with tls_cert).
  std::vector<std::string> listen = {"127.0.0.1:9000"};
  std::string tls_cert, tls_key;  // PEM files
  int tls_handshake_timeout = 10;  // seconds
  int threads = 64;
  int pollers = 0;
  std::string ready_file;
  int64_t gc_interval = 3600;  // seconds; 0 = never
  std::string region = "us-east-1";
  std::vector<std::string> domains;  // virtual-hosted-style: <bucket>.<domain>
};

int CmdInit(const Globals& g, const InitArgs& a);
int CmdPut(const Globals& g, const PutArgs& a);
int CmdGet(const Globals& g, const GetArgs& a);
int CmdLs(const Globals& g, const std::string& prefix, bool json);
int CmdStat(const Globals& g, const std::string& ref, bool json);
int CmdRm(const Globals& g, const std::string& name);
int CmdChunks(const Globals& g, const ChunksArgs& a);
int CmdVerify(const Globals& g, bool full, bool json);
int CmdGc(const Globals& g, const GcArgs& a);
int CmdStats(const Globals& g, bool json);
int CmdReindex(const Globals& g, bool json);
int CmdCpu(const Globals& g, bool json);
int CmdServe(const Globals& g, const ServeArgs& a);
int CmdTenantAdd(const Globals& g, const std::string& tenant, bool encrypt, bool json);
int CmdTenantRotateKey(const Globals& g, const std::string& tenant, bool json);
int CmdTenantRetireKeys(const Globals& g, const std::string& tenant, bool json);
int CmdRotateMasterKey(const Globals& g, const std::string& new_key_file, bool json);
int CmdTenantList(const Globals& g, bool json);

// Shared by the commands: prints "artifact-store: <error>" and returns 1.
int Fail(const Status& s);
Result<std::unique_ptr<Store>> OpenStore(const Globals& g, bool create = false,
                                         const ChunkerParams* params = nullptr,
                                         uint64_t pack_size = 0, bool repair = false,
                                         const StoreParts& parts = {}, bool encrypt = false,
                                         bool without_key = false, bool keep_filter = false);

}  // namespace as::cli

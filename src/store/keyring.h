// Encrypted tenants' keys (docs/format/encryption.md, DESIGN contract 8).
//
// Each encrypted tenant has an id key and one or more data keys, 32 random
// bytes each, stored only wrapped by the master key: in the catalog's keys
// table, and in a copy beside the packs' index (DIR/KEYS) so that `repair
// --reindex` can rebuild a lost database from the packs with the master key.
// In memory they are unwrapped once, at open (and again when another
// process adds one).
//
// - The id key makes the tenant's chunk and manifest ids keyed BLAKE3
//   (digest algorithm 3): dedup within the tenant still works, and nothing
//   on disk tests whether someone's known file is in the store.
// - A lookup key (derived from the id key) makes what the catalog keeps of
//   an artifact's plain content digest: a keyed value of it, so `get
//   blake3:...` still finds the artifact.
// - Data keys seal frames (AES-256-GCM); a frame's key id names its key.
//   New frames use the newest (`tenant rotate-key` adds one).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/env.h"
#include "crypto/master_key.h"
#include "index/metadata.h"
#include "pack/frame.h"

namespace as {

struct TenantKeys {
  uint32_t domain = 0;
  crypto::Key id_key;
  crypto::Key lookup_key;
  uint32_t current = 0;  // the data key new frames are sealed under
  std::map<uint32_t, crypto::Key> data;

  // Small catalog values (attrs) sealed under the newest data key: a marker
  // byte 0xff (no CBOR item starts with it), 'A', 'T', version 1, the key id
  // (u32 LE), then nonce || ciphertext || tag.
  Result<std::string> SealValue(std::string_view plain) const;
  static bool IsSealedValue(std::string_view v);
  static uint32_t SealedValueKey(std::string_view v);  // of a sealed value
  // Opens a sealed value with `key` (the data key its id names).
  static Result<std::string> OpenValue(uint32_t domain, const crypto::Key& key, std::string_view v);
  // SealFramePayload under the newest data key.
  Status SealFrame(FrameInfo* info, const uint8_t* plain, size_t n,
                   std::vector<uint8_t>* out) const {
    return SealFramePayload(data.at(current), current, info, plain, n, out);
  }
  // A chunk's or manifest's id: keyed BLAKE3 of its bytes.
  Digest Id(const void* p, size_t n) const;
  // What the catalog holds for an artifact whose plain content digest is c.
  Digest ContentLookup(const Digest& c) const;
};

class Keyring {
 public:
  // meta value: "1" when every new tenant is made encrypted (init --encrypt).
  static constexpr const char* kEncryptNewTenants = "encrypt_new_tenants";
  // meta value: a key wrapped under the master key, to tell a wrong master
  // key before anything else is done.
  static constexpr const char* kMasterCheck = "master_key_check";

  // master: null when none was given. Load() says whether one is needed.
  Keyring(Env* env, std::string dir, std::string store_uuid,
          std::unique_ptr<crypto::MasterKey> master);
  // Before the metadata is opened: when DIR/KEYS exists, the master key must
  // be given (unless AllowLocked) and open its check value. InvalidArgument
  // naming the key file otherwise; OK without a KEYS file.
  Status CheckAgainstBackup();
  // The metadata the keys are read from and written to (before Load).
  void Attach(Metadata* meta) { meta_ = meta; }

  // Reads and unwraps every key. InvalidArgument when the store has
  // encrypted tenants (or encrypts new ones) and no master key was given,
  // or the one given is not the store's; nothing is written either way.
  Status Load();
  // Load() without a master key: the encrypted domains are known (their
  // rows), their keys are not; For() of one fails naming the missing key.
  void AllowLocked() { allow_locked_ = true; }
  // Makes this store encrypt new tenants (init --encrypt), or only records
  // its master key (the first `tenant add --encrypt`): the check value.
  Status Enable(bool encrypt_new_tenants);
  bool encrypts_new_tenants() const { return encrypt_new_; }
  bool has_master() const { return master_ != nullptr; }
  // How long keys read are used before they are read again: 30 s (tests
  // shorten it: AS_TEST_KEY_RELOAD_MS). A key that has not been the newest
  // for twice this long seals nothing new in any process.
  static std::chrono::milliseconds ReloadAfter();
  // Keys of the domain; null for a plain tenant. A domain not seen before
  // makes it read the keys again (another process may have made the
  // tenant): a tenant's keys are committed with the tenant, so what this
  // read finds is final. Keys read more than ReloadAfter() ago are read
  // again, so a key another process added (tenant rotate-key on a store
  // several servers share) seals new frames here too within that time; if
  // that read fails, the keys held are used (keys are only ever added).
  Result<std::shared_ptr<const TenantKeys>> For(uint32_t domain);
  // The data key `id` of the domain, reloading the keys once if it is not
  // known (another process rotated). Corruption naming the key when it
  // belongs to another domain or to none.
  Result<crypto::Key> DataKey(uint32_t domain, uint32_t id);
  // The rows a new encrypted tenant starts with (Catalog::CreateTenant).
  Result<std::vector<KeyRow>> NewTenantRows(uint32_t domain);
  // tenant rotate-key: a new data key for the domain; new frames use it.
  Result<uint32_t> Rotate(uint32_t domain);
  // rotate-master-key: every key rewrapped under `next` in one transaction,
  // and the check value with them; from then on only `next` opens the store.
  Status RotateMaster(std::unique_ptr<crypto::MasterKey> next);
  // DIR/KEYS, rewritten from the catalog when it differs (after a change,
  // and at open).
  Status SyncBackup();
  // After this process changed the keys table: Load() and SyncBackup().
  Status Refresh() {
    AS_RETURN_IF_ERROR(Load());
    return SyncBackup();
  }
  // Reindex into a new database: the keys back from DIR/KEYS (checked
  // against the master key first). NotFound when there is no KEYS file.
  Status RestoreFromBackup();

 private:
  std::string Aad(uint32_t domain, char kind) const;
  Status LoadLocked();
  Status ReadBackup(std::vector<KeyRow>* rows, std::string* check, bool* encrypt_new);
  std::string BackupText(const std::vector<KeyRow>& rows, const std::string& check) const;

  Env* env_;
  std::string dir_;
  Metadata* meta_ = nullptr;
  std::string uuid_;
  std::unique_ptr<crypto::MasterKey> master_;
  mutable std::mutex mu_;
  std::map<uint32_t, std::shared_ptr<const TenantKeys>> domains_;
  std::map<uint32_t, uint32_t> key_domain_;  // key id -> domain
  std::set<uint32_t> plain_;                 // domains known to have no keys
  bool encrypt_new_ = false;
  bool allow_locked_ = false;
  std::chrono::steady_clock::time_point loaded_at_{};
  std::set<uint32_t> locked_;  // encrypted domains, when opened without the master key
};

}  // namespace as

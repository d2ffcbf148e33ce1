#include "store/keyring.h"

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sstream>

#include "base/bytes.h"
#include "hash/blake3.h"

namespace as {

namespace {
constexpr const char* kBackupFile = "KEYS";
// Changing this string changes every encrypted tenant's content lookups.
constexpr const char* kLookupContext = "artifact-store 2026-12 content digest lookup";

std::string Hex(const std::vector<uint8_t>& v) { return ToHex(v.data(), v.size()); }
}  // namespace

Digest TenantKeys::Id(const void* p, size_t n) const { return Blake3Keyed(id_key.data(), p, n); }

Digest TenantKeys::ContentLookup(const Digest& c) const {
  uint8_t b[1 + Digest::kMaxSize];
  c.EncodeTo(b);
  return Blake3Keyed(lookup_key.data(), b, c.EncodedSize());
}

namespace {
constexpr char kValueMagic[4] = {'\xff', 'A', 'T', 1};
constexpr size_t kValueHead = 8;  // magic and key id

std::string ValueAad(uint32_t domain, uint32_t key_id) {
  return "artifact-store catalog value v1 domain " + std::to_string(domain) + " key " +
         std::to_string(key_id);
}
}  // namespace

bool TenantKeys::IsSealedValue(std::string_view v) {
  return v.size() >= kValueHead + crypto::kSealOverhead && v.compare(0, 4, kValueMagic, 4) == 0;
}

uint32_t TenantKeys::SealedValueKey(std::string_view v) {
  return GetU32(reinterpret_cast<const uint8_t*>(v.data()) + 4);
}

Result<std::string> TenantKeys::SealValue(std::string_view plain) const {
  std::string out(kValueHead + plain.size() + crypto::kSealOverhead, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(p, kValueMagic, 4);
  PutU32(p + 4, current);
  AS_RETURN_IF_ERROR(crypto::Seal(data.at(current), ValueAad(domain, current),
                                  reinterpret_cast<const uint8_t*>(plain.data()), plain.size(),
                                  p + kValueHead));
  return out;
}

Result<std::string> TenantKeys::OpenValue(uint32_t domain, const crypto::Key& key,
                                          std::string_view v) {
  if (!IsSealedValue(v)) return Status::Corruption("not a sealed catalog value");
  const uint32_t id = SealedValueKey(v);
  std::string out(v.size() - kValueHead - crypto::kSealOverhead, '\0');
  Status s = crypto::Open(key, ValueAad(domain, id),
                          reinterpret_cast<const uint8_t*>(v.data()) + kValueHead,
                          v.size() - kValueHead, reinterpret_cast<uint8_t*>(out.data()));
  if (!s.ok()) return Status::Corruption("a sealed catalog value does not open: " + s.message());
  return out;
}

Keyring::Keyring(Env* env, std::string dir, std::string store_uuid,
                 std::unique_ptr<crypto::MasterKey> master)
    : env_(env), dir_(std::move(dir)), uuid_(std::move(store_uuid)), master_(std::move(master)) {}

std::string Keyring::Aad(uint32_t domain, char kind) const {
  std::string a = "artifact-store key v1";
  a.push_back('\0');
  a += uuid_;
  a.push_back('\0');
  a += std::to_string(domain);
  a.push_back('\0');
  a.push_back(kind);
  return a;
}

namespace {
std::string CheckAad(const std::string& uuid) {
  return std::string("artifact-store master key check") + '\0' + uuid;
}

Result<std::optional<std::string>> OptionalMeta(Metadata* m, const char* key) {
  auto v = m->GetMeta(key);
  if (v.ok()) return std::optional<std::string>(*v);
  if (v.status().code() == Code::kNotFound) return std::optional<std::string>();
  return v.status();
}
}  // namespace

Status Keyring::Load() {
  std::lock_guard<std::mutex> l(mu_);
  return LoadLocked();
}

Status Keyring::LoadLocked() {
  // Built aside and swapped in only whole: a failed read leaves the keys
  // held as they were.
  AS_ASSIGN_OR_RETURN(auto check, OptionalMeta(meta_, kMasterCheck));
  AS_ASSIGN_OR_RETURN(auto flag, OptionalMeta(meta_, kEncryptNewTenants));
  AS_ASSIGN_OR_RETURN(std::vector<KeyRow> rows, meta_->ListKeys());
  const bool encrypt_new = flag && *flag == "1";
  std::map<uint32_t, std::shared_ptr<const TenantKeys>> domains;
  std::map<uint32_t, uint32_t> key_domain;
  std::set<uint32_t> locked;
  if (!check && rows.empty() && !encrypt_new) {
    // a plain store
  } else if (!master_ && allow_locked_) {
    for (const KeyRow& r : rows) locked.insert(r.domain);
  } else if (!master_) {
    return Status::InvalidArgument(
        "store " + dir_ +
        " has encrypted tenants: open it with its master key (--master-key-file FILE, or "
        "ARTIFACT_STORE_MASTER_KEY_FILE)");
  } else {
    if (check) {
      auto w = FromHex(*check);
      if (!w) {
        return Status::Corruption("metadata: meta." + std::string(kMasterCheck) + " is not hex");
      }
      AS_RETURN_IF_ERROR(master_->Unwrap(*w, CheckAad(uuid_)).status());
    }
    std::map<uint32_t, std::shared_ptr<TenantKeys>> built;
    for (const KeyRow& r : rows) {
      AS_ASSIGN_OR_RETURN(crypto::Key k, master_->Unwrap(r.wrapped, Aad(r.domain, r.kind)));
      auto& t = built[r.domain];
      if (!t) {
        t = std::make_shared<TenantKeys>();
        t->domain = r.domain;
      }
      if (r.kind == 'I') {
        t->id_key = k;
        Blake3DeriveKey(kLookupContext, k.data(), crypto::kKeySize, t->lookup_key.data());
      } else if (r.kind == 'D') {
        t->data[r.id] = k;
        t->current = std::max(t->current, r.id);
      } else {
        return Status::Corruption("metadata: key " + std::to_string(r.id) + " of unknown kind '" +
                                  std::string(1, r.kind) + "'");
      }
      key_domain[r.id] = r.domain;
    }
    for (auto& [d, t] : built) {
      if (t->current == 0) {
        return Status::Corruption("metadata: encrypted domain " + std::to_string(d) +
                                  " has no data key");
      }
      domains[d] = t;
    }
  }
  encrypt_new_ = encrypt_new;
  domains_ = std::move(domains);
  key_domain_ = std::move(key_domain);
  locked_ = std::move(locked);
  plain_.clear();
  loaded_at_ = std::chrono::steady_clock::now();
  return Status::OK();
}

std::chrono::milliseconds Keyring::ReloadAfter() {
  const char* v = std::getenv("AS_TEST_KEY_RELOAD_MS");
  return std::chrono::milliseconds(v ? std::max(1L, std::atol(v)) : 30000L);
}

Result<std::shared_ptr<const TenantKeys>> Keyring::For(uint32_t domain) {
  std::lock_guard<std::mutex> l(mu_);
  if (std::chrono::steady_clock::now() - loaded_at_ > ReloadAfter() &&
      !LoadLocked().ok()) {
    // The database did not answer (or the master key was rotated by another
    // process): go on with the keys held, and try again later.
    loaded_at_ = std::chrono::steady_clock::now();
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    auto it = domains_.find(domain);
    if (it != domains_.end()) return std::shared_ptr<const TenantKeys>(it->second);
    if (plain_.count(domain)) return std::shared_ptr<const TenantKeys>();
    if (locked_.count(domain)) {
      return Status::InvalidArgument("an encrypted tenant's data: the store was opened without "
                                     "its master key (--master-key-file FILE)");
    }
    if (attempt == 0) AS_RETURN_IF_ERROR(LoadLocked());
  }
  plain_.insert(domain);
  return std::shared_ptr<const TenantKeys>();
}

Result<crypto::Key> Keyring::DataKey(uint32_t domain, uint32_t id) {
  std::lock_guard<std::mutex> l(mu_);
  if (locked_.count(domain)) {
    return Status::InvalidArgument("an encrypted tenant's frame: the store was opened without "
                                   "its master key (--master-key-file FILE)");
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    auto kd = key_domain_.find(id);
    if (kd != key_domain_.end()) {
      if (kd->second != domain) {
        return Status::Corruption("frame sealed under key " + std::to_string(id) +
                                  ", a key of another tenant");
      }
      return domains_.at(domain)->data.at(id);
    }
    if (attempt == 0) AS_RETURN_IF_ERROR(LoadLocked());
  }
  return Status::Corruption("frame sealed under key " + std::to_string(id) +
                            ", which this store does not have");
}

Result<std::vector<KeyRow>> Keyring::NewTenantRows(uint32_t domain) {
  if (!master_) {
    return Status::InvalidArgument("an encrypted tenant needs the store's master key "
                                   "(--master-key-file FILE)");
  }
  std::vector<KeyRow> rows;
  for (char kind : {'I', 'D'}) {
    AS_ASSIGN_OR_RETURN(crypto::Key k, crypto::RandomKey());
    KeyRow r;
    r.domain = domain;
    r.kind = kind;
    r.created = static_cast<int64_t>(std::time(nullptr));
    AS_ASSIGN_OR_RETURN(r.wrapped, master_->Wrap(k, Aad(domain, kind)));
    rows.push_back(std::move(r));
  }
  return rows;
}

Status Keyring::Enable(bool encrypt_new_tenants) {
  if (!master_) {
    return Status::InvalidArgument("encryption needs a master key (--master-key-file FILE)");
  }
  std::lock_guard<std::mutex> l(mu_);
  AS_ASSIGN_OR_RETURN(auto check, OptionalMeta(meta_, kMasterCheck));
  if (!check) {
    AS_ASSIGN_OR_RETURN(crypto::Key k, crypto::RandomKey());
    AS_ASSIGN_OR_RETURN(auto w, master_->Wrap(k, CheckAad(uuid_)));
    AS_RETURN_IF_ERROR(meta_->SetMeta(kMasterCheck, Hex(w)));
  }
  if (encrypt_new_tenants) AS_RETURN_IF_ERROR(meta_->SetMeta(kEncryptNewTenants, "1"));
  return LoadLocked();
}

Result<uint32_t> Keyring::Rotate(uint32_t domain) {
  AS_ASSIGN_OR_RETURN(auto keys, For(domain));
  if (!keys) return Status::FailedPrecondition("the tenant is not encrypted");
  AS_ASSIGN_OR_RETURN(crypto::Key k, crypto::RandomKey());
  KeyRow r;
  r.domain = domain;
  r.kind = 'D';
  r.created = static_cast<int64_t>(std::time(nullptr));
  AS_ASSIGN_OR_RETURN(r.wrapped, master_->Wrap(k, Aad(domain, 'D')));
  AS_ASSIGN_OR_RETURN(uint32_t id, meta_->AddKey(r));
  AS_RETURN_IF_ERROR(Refresh());
  return id;
}

Status Keyring::RotateMaster(std::unique_ptr<crypto::MasterKey> next) {
  if (!master_) return Status::InvalidArgument("the store has no master key to rotate");
  std::lock_guard<std::mutex> l(mu_);
  AS_RETURN_IF_ERROR(LoadLocked());  // the current key opens everything
  AS_ASSIGN_OR_RETURN(std::vector<KeyRow> rows, meta_->ListKeys());
  for (KeyRow& r : rows) {
    AS_ASSIGN_OR_RETURN(crypto::Key k, master_->Unwrap(r.wrapped, Aad(r.domain, r.kind)));
    AS_ASSIGN_OR_RETURN(r.wrapped, next->Wrap(k, Aad(r.domain, r.kind)));
  }
  AS_ASSIGN_OR_RETURN(crypto::Key c, crypto::RandomKey());
  AS_ASSIGN_OR_RETURN(auto check, next->Wrap(c, CheckAad(uuid_)));
  AS_RETURN_IF_ERROR(meta_->RewrapKeys(rows, kMasterCheck, Hex(check)));
  master_ = std::move(next);
  AS_RETURN_IF_ERROR(LoadLocked());
  return Status::OK();
}

std::string Keyring::BackupText(const std::vector<KeyRow>& rows, const std::string& check) const {
  std::string t =
      "# artifact-store keys (docs/format/encryption.md): every key wrapped by the master key,\n"
      "# a copy of the catalog's for `repair --reindex`. Useless without the master key.\n";
  t += "store_uuid " + uuid_ + "\n";
  t += "encrypt_new_tenants " + std::string(encrypt_new_ ? "1" : "0") + "\n";
  t += "check " + check + "\n";
  for (const KeyRow& r : rows) {
    t += "key " + std::to_string(r.id) + " " + std::to_string(r.domain) + " " +
         std::string(1, r.kind) + " " + std::to_string(r.created) + " " + Hex(r.wrapped) + "\n";
  }
  return t;
}

Status Keyring::SyncBackup() {
  if (!master_) return Status::OK();  // nothing changed that needs a copy
  AS_ASSIGN_OR_RETURN(auto check, OptionalMeta(meta_, kMasterCheck));
  if (!check) return Status::OK();  // a plain store: no file
  AS_ASSIGN_OR_RETURN(std::vector<KeyRow> rows, meta_->ListKeys());
  const std::string text = BackupText(rows, *check);
  const std::string path = dir_ + "/" + kBackupFile;
  if (env_->FileExists(path)) {
    auto have = env_->ReadFileToString(path);
    if (have.ok() && *have == text) return Status::OK();
  }
  AS_RETURN_IF_ERROR(env_->WriteStringToFileSync(path + ".tmp", text));
  AS_RETURN_IF_ERROR(env_->RenameFile(path + ".tmp", path));
  return env_->SyncDir(dir_);
}

Status Keyring::ReadBackup(std::vector<KeyRow>* rows, std::string* check, bool* encrypt_new) {
  const std::string path = dir_ + "/" + kBackupFile;
  if (!env_->FileExists(path)) return Status::NotFound(path + " does not exist");
  AS_ASSIGN_OR_RETURN(std::string text, env_->ReadFileToString(path));
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n++;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string word;
    f >> word;
    auto bad = [&] {
      return Status::Corruption(path + " line " + std::to_string(n) + ": cannot read '" + line +
                                "'");
    };
    if (word == "store_uuid") {
      std::string u;
      f >> u;
      if (u != uuid_) {
        return Status::InvalidArgument(path + " belongs to store " + u + ", not this one (" +
                                       uuid_ + ")");
      }
    } else if (word == "encrypt_new_tenants") {
      std::string v;
      f >> v;
      *encrypt_new = v == "1";
    } else if (word == "check") {
      f >> *check;
    } else if (word == "key") {
      KeyRow r;
      std::string kind, hex;
      f >> r.id >> r.domain >> kind >> r.created >> hex;
      auto w = FromHex(hex);
      if (f.fail() || kind.size() != 1 || !w) return bad();
      r.kind = kind[0];
      r.wrapped = std::move(*w);
      rows->push_back(std::move(r));
    } else {
      return bad();
    }
  }
  return Status::OK();
}

Status Keyring::CheckAgainstBackup() {
  std::vector<KeyRow> rows;
  std::string check;
  bool encrypt_new = false;
  Status read = ReadBackup(&rows, &check, &encrypt_new);
  if (read.code() == Code::kNotFound) return Status::OK();
  AS_RETURN_IF_ERROR(read);
  if (!master_) {
    if (allow_locked_) return Status::OK();
    return Status::InvalidArgument(
        "store " + dir_ +
        " has encrypted tenants: open it with its master key (--master-key-file FILE, or "
        "ARTIFACT_STORE_MASTER_KEY_FILE)");
  }
  auto w = FromHex(check);
  if (!w) return Status::Corruption(dir_ + "/KEYS: no check value");
  return master_->Unwrap(*w, CheckAad(uuid_)).status();
}

Status Keyring::RestoreFromBackup() {
  std::vector<KeyRow> rows;
  std::string check;
  bool encrypt_new = false;
  AS_RETURN_IF_ERROR(ReadBackup(&rows, &check, &encrypt_new));
  if (!master_) {
    return Status::InvalidArgument("store " + dir_ +
                                   " has encrypted tenants (its KEYS file): give its master key "
                                   "(--master-key-file FILE)");
  }
  auto w = FromHex(check);
  if (!w) return Status::Corruption(dir_ + "/KEYS: no check value");
  AS_RETURN_IF_ERROR(master_->Unwrap(*w, CheckAad(uuid_)).status());
  AS_RETURN_IF_ERROR(meta_->RestoreKeys(rows));
  AS_RETURN_IF_ERROR(meta_->SetMeta(kMasterCheck, check));
  if (encrypt_new) AS_RETURN_IF_ERROR(meta_->SetMeta(kEncryptNewTenants, "1"));
  return Load();
}

}  // namespace as

// The master key: the one secret an operator holds for a store with
// encrypted tenants. It never encrypts data; it wraps the tenants' keys
// (docs/format/encryption.md), which the store keeps wrapped only.
//
// MasterKey is the interface a key source implements, so that a KMS (KMIP,
// Vault's transit engine) can stand where the file stands today without a
// change to the data path: the store only ever asks it to wrap and unwrap
// 32-byte keys, never for the master key itself.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/aead.h"

namespace as::crypto {

class MasterKey {
 public:
  virtual ~MasterKey() = default;
  // What it is, for messages: "master key file /etc/artifact-store/master.key".
  virtual std::string Describe() const = 0;
  // A key sealed for storage; `aad` binds it to its use (store, tenant, kind).
  virtual Result<std::vector<uint8_t>> Wrap(const Key& key, std::string_view aad) = 0;
  // InvalidArgument naming this source when `wrapped` was not wrapped by
  // this master key with this aad (another key, another store).
  virtual Result<Key> Unwrap(const std::vector<uint8_t>& wrapped, std::string_view aad) = 0;
};

// The master key in a file: exactly 32 bytes, owned by this user, no access
// for group or others (mode 0600 or 0400). Anything else is InvalidArgument
// naming the file, before a byte of it is used.
Result<std::unique_ptr<MasterKey>> OpenMasterKeyFile(const std::string& path);
// Writes a new file of 32 random bytes with mode 0600 (O_EXCL: AlreadyExists
// if the path exists) and syncs it and its directory.
Status CreateMasterKeyFile(const std::string& path);

}  // namespace as::crypto

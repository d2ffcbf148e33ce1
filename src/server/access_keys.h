// The tenants' access keys, as every authenticated request asks for one:
// read from the store once, then kept (a key never changes once made; a new
// key is a new id). Shared by the S3 and OCI APIs. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "artifact_store/store.h"

namespace as {

class AccessKeys {
 public:
  explicit AccessKeys(Store* store) : store_(store) {}
  // The key with this id; null when there is none. Shared, not copied.
  Result<std::shared_ptr<const AccessKey>> Find(const std::string& id);

 private:
  Store* store_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const AccessKey>> found_;
};

}  // namespace as

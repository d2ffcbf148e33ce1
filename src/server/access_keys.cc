#include "server/access_keys.h"

namespace as {

Result<std::shared_ptr<const AccessKey>> AccessKeys::Find(const std::string& id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = found_.find(id);
    if (it != found_.end()) return it->second;
  }
  AS_ASSIGN_OR_RETURN(auto k, store_->FindAccessKey(id));
  if (!k) return std::shared_ptr<const AccessKey>();  // not kept: it may be made later
  auto found = std::make_shared<const AccessKey>(std::move(*k));
  std::lock_guard<std::mutex> l(mu_);
  found_.emplace(id, found);
  return found;
}

}  // namespace as

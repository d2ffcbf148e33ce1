#include "store/chunk_filter.h"

namespace as {

void ChunkFilter::Insert(uint32_t domain, const Digest& d) {
  if (no_keys_) return;
  std::lock_guard<std::mutex> l(mu_);
  keys_.insert(Key(domain, d));
}

void ChunkFilter::InsertMany(const std::vector<uint64_t>& keys) {
  if (no_keys_) return;
  std::lock_guard<std::mutex> l(mu_);
  keys_.reserve(keys_.size() + keys.size());
  keys_.insert(keys.begin(), keys.end());
}

bool ChunkFilter::MayBeStored(uint32_t domain, const Digest& d) const {
  if (no_keys_) return true;
  std::lock_guard<std::mutex> l(mu_);
  return keys_.count(Key(domain, d)) != 0;
}

size_t ChunkFilter::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return keys_.size();
}

}  // namespace as

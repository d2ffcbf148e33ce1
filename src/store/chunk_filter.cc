#include "store/chunk_filter.h"

namespace as {

ChunkFilter::Lease::Lease(ChunkFilter* f) : f_(f) {
  std::lock_guard<std::mutex> l(f_->mu_);
  f_->leases_.insert(this);
}

ChunkFilter::Lease::~Lease() {
  std::lock_guard<std::mutex> l(f_->mu_);
  f_->leases_.erase(this);
}

void ChunkFilter::ForgetDoomed() {
  std::lock_guard<std::mutex> l(mu_);
  doomed_.clear();
}

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

bool ChunkFilter::CheckAndLease(uint32_t domain, const Digest& d, Lease* lease) {
  uint64_t k = Key(domain, d);
  std::lock_guard<std::mutex> l(mu_);
  if (no_keys_ ? doomed_.count(k) != 0 : keys_.count(k) == 0) return false;
  lease->keys_.insert(k);
  return true;
}

std::vector<bool> ChunkFilter::SpareLeasedAndErase(const std::vector<uint64_t>& keys) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<bool> spared(keys.size(), false);
  for (size_t i = 0; i < keys.size(); i++) {
    for (const Lease* lease : leases_) {
      if (lease->keys_.count(keys[i])) {
        spared[i] = true;
        break;
      }
    }
    if (spared[i]) continue;
    if (no_keys_) {
      doomed_.insert(keys[i]);
    } else {
      keys_.erase(keys[i]);
    }
  }
  return spared;
}

size_t ChunkFilter::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return keys_.size();
}

}  // namespace as

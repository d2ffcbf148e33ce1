#include "store/manifest_cache.h"


namespace as {

uint64_t ManifestCache::KeyOf(uint32_t domain, const Digest& d) {
  return d.Prefix64() ^ (uint64_t{domain} * 0x9E3779B97F4A7C15ull);
}

std::shared_ptr<const Manifest> ManifestCache::Find(uint32_t domain, const Digest& digest) {
  std::lock_guard<std::mutex> l(mu_);
  auto [lo, hi] = index_.equal_range(KeyOf(domain, digest));
  for (auto it = lo; it != hi; ++it) {
    auto e = it->second;
    if (e->domain != domain || e->digest != digest) continue;
    lru_.splice(lru_.begin(), lru_, e);
    return e->manifest;
  }
  return nullptr;
}

void ManifestCache::Insert(uint32_t domain, const Digest& digest,
                           std::shared_ptr<const Manifest> m) {
  const size_t cost = Cost(*m);
  if (cost > max_refs_ / 4) return;  // one huge manifest would flush the rest
  std::lock_guard<std::mutex> l(mu_);
  const uint64_t key = KeyOf(domain, digest);
  auto [lo, hi] = index_.equal_range(key);
  for (auto it = lo; it != hi; ++it) {
    if (it->second->domain == domain && it->second->digest == digest) return;  // raced
  }
  lru_.push_front(Entry{domain, digest, std::move(m)});
  index_.emplace(key, lru_.begin());
  refs_ += cost;
  while (refs_ > max_refs_ && !lru_.empty()) {
    auto last = std::prev(lru_.end());
    auto [a, b] = index_.equal_range(KeyOf(last->domain, last->digest));
    for (auto it = a; it != b; ++it) {
      if (it->second == last) {
        index_.erase(it);
        break;
      }
    }
    refs_ -= Cost(*last->manifest);
    lru_.erase(last);
  }
}

}  // namespace as

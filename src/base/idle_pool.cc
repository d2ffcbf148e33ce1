#include "base/idle_pool.h"

#include <algorithm>

namespace as {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<IdlePoolBase*> pools;
};

Registry& Pools() {
  static auto* r = new Registry;  // pools are static objects too: outlive them all
  return *r;
}

}  // namespace

void IdlePoolBase::Register() {
  Registry& r = Pools();
  std::lock_guard<std::mutex> l(r.mu);
  r.pools.push_back(this);
}

void IdlePoolBase::Unregister() {
  Registry& r = Pools();
  std::lock_guard<std::mutex> l(r.mu);
  r.pools.erase(std::remove(r.pools.begin(), r.pools.end(), this), r.pools.end());
}

size_t TrimIdlePools(IdleClock::duration age) {
  const IdleClock::time_point before = IdleClock::now() - age;
  Registry& r = Pools();
  // Under the registry's lock, so no pool is destroyed mid-trim; a pool's
  // own lock is taken inside (never the other way round).
  std::lock_guard<std::mutex> l(r.mu);
  size_t freed = 0;
  for (IdlePoolBase* p : r.pools) freed += p->TrimGivenBefore(before);
  return freed;
}

}  // namespace as

#include "store/key_table.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace as {

namespace {

// Maps a 64-bit value onto [0, n) by its high bits (Lemire's multiply-shift):
// no power-of-two sizes, so the table can grow by a quarter.
size_t Range(uint64_t v, size_t n) {
  return static_cast<size_t>((static_cast<unsigned __int128>(v) * n) >> 64);
}

// A second, independent hash for the other bucket (splitmix64's finalizer).
uint64_t Mix(uint64_t k) {
  k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ULL;
  k = (k ^ (k >> 27)) * 0x94d049bb133111ebULL;
  return k ^ (k >> 31);
}

constexpr int kMaxKicks = 500;

bool FreeSlot(KeyTable::Bucket& b, uint64_t key) {
  for (uint64_t& s : b.k) {
    if (s == 0) {
      s = key;
      return true;
    }
  }
  return false;
}

bool Has(const KeyTable::Bucket& b, uint64_t key) {
  // Eight compares the compiler turns into a few vector ones.
  bool hit = false;
  for (uint64_t s : b.k) hit |= (s == key);
  return hit;
}

}  // namespace

size_t KeyTable::BucketsFor(size_t expected) {
  // 80% full once `expected` keys are in: growing is left for the keys after.
  return std::max<size_t>(1, static_cast<size_t>(std::ceil(expected / (kSlots * 0.8))));
}

KeyTable::KeyTable(size_t expected) : buckets_(BucketsFor(expected)) {}

size_t KeyTable::Home(uint64_t key) const { return Range(key, buckets_.size()); }

size_t KeyTable::Alt(uint64_t key) const {
  const size_t n = buckets_.size();
  size_t a = Range(Mix(key), n);
  if (a == Home(key) && n > 1) a = (a + 1 == n) ? 0 : a + 1;
  return a;
}

bool KeyTable::Contains(uint64_t key) const {
  if (key == 0) return false;
  return Has(buckets_[Home(key)], key) || Has(buckets_[Alt(key)], key);
}

bool KeyTable::Place(uint64_t key) {
  // On false, some key (not necessarily `key`) is out of the table: the
  // caller grows from the table it had plus that key (Insert), or drops
  // the whole attempt (Grow).
  size_t b = Home(key);
  if (FreeSlot(buckets_[b], key)) return true;
  b = Alt(key);
  if (FreeSlot(buckets_[b], key)) return true;
  uint64_t cur = key;
  for (int i = 0; i < kMaxKicks; i++) {
    walk_ ^= walk_ << 13;
    walk_ ^= walk_ >> 7;
    walk_ ^= walk_ << 17;
    std::swap(cur, buckets_[b].k[walk_ % kSlots]);
    b = (Home(cur) == b) ? Alt(cur) : Home(cur);
    if (FreeSlot(buckets_[b], cur)) return true;
  }
  homeless_ = cur;
  return false;
}

void KeyTable::Grow(size_t min_buckets) {
  size_t n = std::max(min_buckets, static_cast<size_t>(buckets_.size() * kGrowth) + 1);
  for (;;) {
    KeyTable t;
    t.buckets_.assign(n, Bucket{});
    bool ok = true;
    for (const Bucket& b : buckets_) {
      for (uint64_t k : b.k) {
        if (k != 0 && !(ok = t.Place(k))) break;
      }
      if (!ok) break;
    }
    if (ok && homeless_ != 0) ok = t.Place(homeless_);
    if (ok) {
      if (homeless_ != 0) size_++;
      homeless_ = 0;
      buckets_ = std::move(t.buckets_);
      return;
    }
    n = static_cast<size_t>(n * kGrowth) + 1;
  }
}

bool KeyTable::Insert(uint64_t key) {
  if (key == 0 || Contains(key)) return false;
  if (static_cast<double>(size_ + 1) > kMaxLoad * static_cast<double>(buckets_.size() * kSlots)) {
    Grow(0);
  }
  if (Place(key)) {
    size_++;
    return true;
  }
  // `key` is in; one evicted key is not: a bigger table takes them all.
  Grow(0);
  return true;
}

bool KeyTable::Erase(uint64_t key) {
  if (key == 0) return false;
  for (size_t b : {Home(key), Alt(key)}) {
    for (uint64_t& s : buckets_[b].k) {
      if (s == key) {
        s = 0;
        size_--;
        return true;
      }
    }
  }
  return false;
}

bool KeyTable::Adopt(std::vector<Bucket> buckets, size_t size) {
  buckets_ = std::move(buckets);
  size_ = 0;
  bool ok = !buckets_.empty();
  for (size_t i = 0; ok && i < buckets_.size(); i++) {
    for (uint64_t k : buckets_[i].k) {
      if (k == 0) continue;
      if (Home(k) != i && Alt(k) != i) ok = false;
      size_++;
    }
  }
  if (ok && size_ == size) return true;
  buckets_.assign(1, Bucket{});
  size_ = 0;
  return false;
}

}  // namespace as

#include "store/chunk_filter.h"

#include <utility>

namespace as {

bool ChunkFilter::MayBeStored(uint32_t domain, const Digest& d) const {
  if (!ready()) return true;
  const uint64_t k = Key(domain, d);
  std::lock_guard<std::mutex> l(mu_);
  return table_.Contains(k);
}

void ChunkFilter::EndCommit(uint32_t domain, const std::vector<Digest>& added) {
  if (!no_keys_ && !added.empty()) {
    std::lock_guard<std::mutex> l(mu_);
    for (const Digest& d : added) {
      const uint64_t k = Key(domain, d);
      added_.push_back(k);
      if (ready()) {
        table_.Insert(k);
      } else {
        pending_.push_back(k);
      }
    }
  }
  in_commit_.fetch_sub(1, std::memory_order_acq_rel);
}

void ChunkFilter::Install(KeyTable t) {
  if (no_keys_) return;
  std::lock_guard<std::mutex> l(mu_);
  table_ = std::move(t);
  for (uint64_t k : pending_) table_.Insert(k);
  pending_.clear();
  pending_.shrink_to_fit();
  ready_.store(true, std::memory_order_release);
}

void ChunkFilter::Forget() {
  std::lock_guard<std::mutex> l(mu_);
  ready_.store(false, std::memory_order_release);
  table_ = KeyTable();
  pending_.clear();
  added_.clear();
}

std::vector<uint64_t> ChunkFilter::TakeAdded() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<uint64_t> out;
  out.swap(added_);
  return out;
}

void ChunkFilter::ReturnAdded(const std::vector<uint64_t>& keys) {
  std::lock_guard<std::mutex> l(mu_);
  added_.insert(added_.begin(), keys.begin(), keys.end());
}

size_t ChunkFilter::added() const {
  std::lock_guard<std::mutex> l(mu_);
  return added_.size();
}

Status ChunkFilter::WriteTable(const TableWriter& write) {
  std::lock_guard<std::mutex> l(mu_);
  if (!ready()) return Status::NotFound("the dedup filter is not loaded");
  AS_RETURN_IF_ERROR(write(table_));
  added_.clear();
  return Status::OK();
}

size_t ChunkFilter::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return ready() ? table_.size() : 0;
}

size_t ChunkFilter::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return table_.bytes();
}

}  // namespace as

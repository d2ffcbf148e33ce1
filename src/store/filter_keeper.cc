// The dedup filter's life in a store whose metadata is in its directory:
// loading, rebuilding, and writing it out (docs/index-at-scale.md).
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "store/store_impl.h"

namespace as {

namespace {
// A long-running process writes the keys it added once this many gathered,
// or once a minute when fewer did (a log of 64 Ki keys is 512 KiB).
constexpr size_t kLogEvery = 64 << 10;
constexpr auto kLogAfter = std::chrono::seconds(60);
// Logs are folded into a new base when they hold more keys than this share
// of the base (loading replays them), and never for fewer than this many.
constexpr double kLogShare = 0.25;
constexpr uint64_t kLogFloor = 1 << 20;
}  // namespace

void StoreImpl::StartFilter() {
  if (filter_.holds_no_keys() || !filter_files_) return;
  std::lock_guard<std::mutex> l(filter_mu_);
  if (filter_started_) return;
  filter_started_ = true;
  // Before this process's first change of chunk rows (the store's LOCK
  // keeps other processes out): from here SoleChunkGeneration() says
  // whether the rows changed only through this process.
  auto watch = meta_->WatchChunkGeneration();
  if (!watch.ok()) return;  // no stamp, so nothing is ever written; puts ask the index
  filter_watch_ = *watch;
  filter_thread_ = std::thread([this] { FilterMain(); });
}

void StoreImpl::FilterMain() {
  FilterFiles::Chain chain = filter_files_->ReadChain();
  const bool current = chain.base && chain.end == filter_watch_;
  Status s;
  if (current) {
    {
      std::lock_guard<std::mutex> l(filter_mu_);
      filter_files_end_ = chain.end;
      filter_base_keys_ = chain.base_keys;
      filter_log_keys_ = chain.log_keys;
    }
    auto t = filter_files_->Load(chain, filter_stopping_);
    if (t.ok()) {
      filter_.Install(std::move(t).value());
      filter_loads_.fetch_add(1, std::memory_order_relaxed);
    }
    s = t.status();
    if (!s.ok() && s.code() != Code::kBusy) {
      std::lock_guard<std::mutex> l(filter_mu_);
      filter_files_end_.reset();  // not sound after all: only a new base helps
    }
  }
  // A load cut short by StopFilter leaves current files: the keys added
  // since go in a log at close. Anything else not loaded is rebuilt.
  const bool cut_short = current && s.code() == Code::kBusy;
  if (!filter_.ready() && !cut_short) {
    // Missing, stale, torn or from another store: the index is the truth.
    // Once, and to the end even if the process is closing (StopFilter waits),
    // so that the next process finds current files.
    s = RebuildFilter();
    if (s.ok()) filter_rebuilds_.fetch_add(1, std::memory_order_relaxed);
    if (s.ok()) s = PersistFilter(/*base=*/true);
  }
  if (!s.ok() && s.code() != Code::kBusy) {
    std::fprintf(stderr, "artifact-store: dedup filter: %s (puts ask the index instead)\n",
                 s.ToString().c_str());
  }
  if (!options_.keep_filter) return;
  // A long-running process writes its added keys as it goes, so a crash
  // loses at most a minute of them (and then only costs a rebuild).
  auto last = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> l(filter_mu_);
  while (!filter_stop_) {
    filter_cv_.wait_for(l, std::chrono::seconds(5));
    if (filter_stop_) break;
    const size_t added = filter_.added();
    if (added == 0) continue;
    if (added < kLogEvery && std::chrono::steady_clock::now() - last < kLogAfter) continue;
    l.unlock();
    Status p = PersistFilter(false);
    if (!p.ok()) {
      std::fprintf(stderr, "artifact-store: dedup filter: %s\n", p.ToString().c_str());
    }
    last = std::chrono::steady_clock::now();
    l.lock();
  }
}

Status StoreImpl::RebuildFilter() {
  // Sized from the kept counters (O(1)): 80% full once the rows are in
  // (10 bytes a chunk), room for 16% more before it first grows. A rebuild
  // also drops the keys of chunks gc deleted.
  size_t expect = 0;
  if (auto t = meta_->Totals(); t.ok()) expect = t->unique_chunks;
  KeyTable t(expect);
  AS_RETURN_IF_ERROR(meta_->ForEachChunk([&](const ChunkKey& k, const Location&) {
    t.Insert(ChunkFilter::Key(k.domain, k.digest));
  }));
  // Rows read after the watch began are all in; rows this process added
  // meanwhile are in the filter's pending keys, installed with it.
  filter_.Install(std::move(t));
  return Status::OK();
}

Status StoreImpl::PersistFilter(bool base) {
  AS_ASSIGN_OR_RETURN(std::optional<uint64_t> gen, meta_->SoleChunkGeneration());
  std::unique_lock<std::mutex> l(filter_mu_);
  if (!gen) {
    // Rows changed other than through this process (sqlite3 by hand, a
    // restored backup): the files cannot be made current from here. (A
    // reindex through this process forgets the filter itself: reindex.cc.)
    filter_files_end_.reset();
    return Status::OK();
  }
  // Every commit counted in `gen` has put its keys in (see BeginCommit).
  if (filter_.commits_in_flight() > 0) return Status::OK();
  const bool fold = filter_files_end_ &&
                    static_cast<double>(filter_log_keys_ + filter_.added()) >
                        std::max<double>(kLogFloor, kLogShare * static_cast<double>(filter_base_keys_));
  if ((base || !filter_files_end_ || fold) && filter_.ready()) {
    size_t keys = 0;
    AS_RETURN_IF_ERROR(filter_.WriteTable([&](const KeyTable& t) {
      keys = t.size();
      return filter_files_->WriteBase(*gen, t);
    }));
    filter_files_end_ = *gen;
    filter_base_keys_ = keys;
    filter_log_keys_ = 0;
    return Status::OK();
  }
  if (!filter_files_end_) return Status::OK();  // stale files, no table: a rebuild will do
  if (*gen == *filter_files_end_) return Status::OK();  // nothing changed
  std::vector<uint64_t> keys = filter_.TakeAdded();
  Status s = filter_files_->AppendLog(*filter_files_end_, *gen, keys);
  if (!s.ok()) {
    filter_.ReturnAdded(keys);
    return s;
  }
  filter_files_end_ = *gen;
  filter_log_keys_ += keys.size();
  return Status::OK();
}

void StoreImpl::StopFilter() {
  {
    std::lock_guard<std::mutex> l(filter_mu_);
    if (!filter_started_) return;
    filter_stop_ = true;
  }
  // A load from the files is cut short (they stay current: the keys added
  // since go in a log below); a rebuild is waited for (FilterMain).
  filter_stopping_.store(true);
  filter_cv_.notify_all();
  if (filter_thread_.joinable()) filter_thread_.join();
  Status s = PersistFilter(false);
  if (!s.ok()) {
    std::fprintf(stderr, "artifact-store: dedup filter not written (%s); it is rebuilt later\n",
                 s.ToString().c_str());
  }
}

}  // namespace as

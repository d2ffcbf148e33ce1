#include <map>

#include "base/test_pause.h"
#include "store/put_txn.h"

namespace as {
namespace {
// Up to this, a group's pack is written through the page cache: O_DIRECT's
// writer thread and 8 MiB of aligned buffers cost more than they save.
constexpr uint64_t kSmallPack = 4 << 20;
}  // namespace

// Here, where GroupCommit is complete. The filter's thread uses the
// metadata: it ends first.
StoreImpl::~StoreImpl() { StopFilter(); }

Status StoreImpl::GroupCommit::Submit(PutTxn* t) {
  Pending me{t, Status::OK()};
  {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back(&me);
    if (!leading_) {  // nobody leads, so the queue held nobody before me
      leading_ = true;
      me.state.store(kLead, std::memory_order_relaxed);
    }
  }
  uint32_t s;
  while ((s = me.state.load(std::memory_order_acquire)) == kWaiting) me.state.wait(kWaiting);
  if (s == kLead) Lead(&me);
  return me.status;
}

void StoreImpl::GroupCommit::Lead(Pending* me) {
  // Take about a pack's worth (at least one: me, at the front) and commit it.
  std::vector<Pending*> batch;
  {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t bytes = 0;
    while (!queue_.empty() && (batch.empty() || bytes < s_->pack_target_size_)) {
      bytes += queue_.front()->txn->held_bytes();
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
  }
  std::map<uint32_t, std::vector<Pending*>> by_domain;  // a pack holds one domain
  for (Pending* p : batch) by_domain[p->txn->commit().domain].push_back(p);
  for (const auto& [domain, group] : by_domain) Commit(domain, group);
  Pending* next = nullptr;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!queue_.empty()) next = queue_.front();
    leading_ = next != nullptr;
  }
  // A woken put may return (and its Pending go) before notify_one: that
  // only asks the kernel to wake the address (no read of it), and a put that
  // later waits there tolerates a spurious wake-up.
  for (Pending* p : batch) {
    if (p == me) continue;
    p->state.store(kDone, std::memory_order_release);
    p->state.notify_one();
  }
  if (next) {
    next->state.store(kLead, std::memory_order_release);
    next->state.notify_one();
  }
}

StoreCounters StoreImpl::Counters() const {
  StoreCounters c;
  c.group_commits = group_->commits();
  c.group_committed_puts = group_->committed_puts();
  c.delta_chunks = delta_chunks_.load(std::memory_order_relaxed);
  c.refs_resurrected = meta_->refs_resurrected();
  c.refs_gone = meta_->refs_gone();
  c.commits_fenced = meta_->commits_fenced();
  c.session_renewals = meta_->session_renewals();
  c.filter_ready = filter_.ready() ? 1 : 0;
  c.filter_loads = filter_loads_.load(std::memory_order_relaxed);
  c.filter_rebuilds = filter_rebuilds_.load(std::memory_order_relaxed);
  c.filter_keys = filter_.size();
  c.filter_bytes = filter_.bytes();
  return c;
}


size_t StoreImpl::GroupCommit::queued() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

void StoreImpl::GroupCommit::Commit(uint32_t domain, const std::vector<Pending*>& group) {
  auto fail_all = [&](const Status& st) {
    for (Pending* p : group) p->status = st;
  };
  uint64_t bytes = 0;
  for (const Pending* p : group) bytes += p->txn->held_bytes();
  auto w = s_->NewPackWriter(domain, bytes <= kSmallPack);
  if (!w.ok()) return fail_all(w.status());
  const std::string name = (*w)->name();
  Status st;
  for (Pending* p : group) {
    st = p->txn->WriteHeld(w->get());
    if (!st.ok()) break;
  }
  Result<SealedPack> sealed = st.ok() ? (*w)->Seal() : Result<SealedPack>(st);
  w->reset();  // an unsealed writer removes its file
  if (!sealed.ok()) {
    s_->PackDone(name);
    return fail_all(sealed.status());
  }
  std::vector<const PutCommit*> commits;
  for (Pending* p : group) commits.push_back(&p->txn->commit());
  std::vector<Status> results;
  // The group's pack is sealed (and uploaded); its one transaction is next.
  TestPause("group-commit");
  {
    std::shared_lock<std::shared_mutex> l(s_->commit_mu_);
    st = s_->meta_->CommitPuts(*sealed, commits, &results);
  }
  if (!st.ok()) {
    s_->packs_->Remove(name).IgnoreError();
    s_->PackDone(name);
    return fail_all(st);
  }
  // Only now: until its rows exist, gc must not sweep it as an orphan.
  s_->PackDone(name);
  commits_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < group.size(); i++) {
    group[i]->status = results[i];
    if (!results[i].ok()) continue;
    group[i]->txn->MarkCommitted();
    committed_puts_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace as

// What one put writes and the transaction that names it (put.cc), and the
// group commit that lets small puts share a pack and a transaction
// (group_commit.cc). Internal to the store.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "codec/codec.h"
#include "store/store_impl.h"

namespace as {

// A put's frames and its metadata commit. Frames are held in memory while
// they add up to at most kHoldBytes (and the target pack size): such a small put is committed by
// the group commit, in a pack it shares with the puts committing at the same time. Past that, the
// frames go to packs of the put's own, of about the target size, each sealed (fsync + read-back
// verify) before its metadata. A full pack is sealed on a thread of its own while the put fills
// the next one, and committed there with its chunk rows (no manifest, no name: nothing a reader
// sees, but dedup finds them), so the device's write-back and fsync and the index's inserts
// overlap with chunking and compressing: a put's last transaction holds only its last pack's rows,
// the manifest and the name. Until that commit nothing is visible. If the put fails, the packs it
// had not committed are removed at once; those committed early are garbage that gc collects like
// any unreferenced chunk (and meanwhile other puts may dedup against them). The put's Op keeps
// gc from sweeping them before its last commit, which lists them in its refs (PutCommit::refs).
class StoreImpl::PutTxn {
 public:
  static constexpr uint64_t kHoldBytes = 1 << 20;

  // keys: the tenant's when it is encrypted (the manifest is sealed and
  // keyed like its chunks).
  PutTxn(StoreImpl* s, uint32_t domain, std::shared_ptr<const TenantKeys> keys)
      : s_(s), keys_(std::move(keys)) {
    commit_.domain = domain;
  }
  ~PutTxn();

  // Appends one frame (payload: its stored bytes). While held, the
  // location's offset is the frame's index among the held ones (pack 0).
  Result<Location> Append(const FrameInfo& info, const uint8_t* payload);
  // The manifest is a frame too, so the packs alone describe every artifact.
  Result<ManifestRow> AppendManifest(const Manifest& m, Compressor* compressor);
  // Makes the put durable and visible; an error leaves nothing of it.
  Status Commit();

  PutCommit& commit() { return commit_; }
  // The bases of delta chunks in packs committed early, for the last
  // commit's refs (the chunks themselves are in the manifest).
  void AddEarlyRefs(std::vector<Digest>* out) const;
  uint64_t stored_bytes() const { return stored_bytes_; }

  // For the group commit: the held frames' bytes; writing them into w (this
  // put's locations then point into it, as pack 0); marking it committed.
  uint64_t held_bytes() const { return held_bytes_; }
  Status WriteHeld(PackWriter* w);
  void MarkCommitted() { committed_ = true; }

 private:
  struct Held {
    FrameInfo info;
    std::vector<uint8_t> payload;
  };
  Result<Location> AppendToPack(const FrameInfo& info, const uint8_t* payload);
  // Held frames go to packs of the put's own (it outgrew kHoldBytes).
  Status Spill();
  // Puts every held frame somewhere and points the locations at them.
  Status Place(const std::function<Result<Location>(const Held&)>& put);
  // Seals every pack (the one in the background, then the open one).
  Status Seal();
  // Starts sealing the open pack in the background, after the one before.
  Status SealInBackground();
  // Waits for the background seal and early commit, if any.
  Status WaitSealing();
  // Moves the rows of pack `index` (its chunks and their bases) out of
  // commit_ into a commit of their own.
  PutCommit TakePackRows(int64_t index);
  // Commits a sealed pack with its rows (on the sealing thread).
  Status CommitEarly(SealedPack sealed, PutCommit early);

  StoreImpl* s_;
  std::shared_ptr<const TenantKeys> keys_;
  PutCommit commit_;
  bool holding_ = true;
  bool placing_ = false;  // Spill() is placing the held frames (see AppendToPack)
  std::vector<Held> held_;
  uint64_t held_bytes_ = 0;
  std::unique_ptr<PackWriter> writer_;
  int64_t writer_index_ = 0;  // the open pack's index among those this put started
  int64_t packs_started_ = 0;
  int64_t early_packs_ = 0;          // committed on their own (the first ones started)
  std::vector<Digest> early_bases_;  // see AddEarlyRefs
  std::thread sealing_;              // at most one pack sealing in the background
  std::optional<Status> sealed_;     // its seal's and commit's outcome, once joined
  std::vector<std::string> written_;  // pack names, to un-register at the end
  bool committed_ = false;
  uint64_t stored_bytes_ = 0;
};

// Group commit. A small put waits in a queue; the first put to find no
// commit in progress leads: it takes the queue (up to about a pack's worth),
// writes each domain's frames into one new pack, seals it, and commits all
// of those puts in one transaction, each in a savepoint of its own. Under
// concurrency N puts then cost one pack, one fsync and one metadata commit
// instead of N; a put alone is committed at once, as before.
class StoreImpl::GroupCommit {
 public:
  explicit GroupCommit(StoreImpl* s) : s_(s) {}
  // Returns when t is committed or has failed.
  Status Submit(PutTxn* t);
  // Puts waiting for a leader (tests).
  size_t queued() const;
  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  uint64_t committed_puts() const { return committed_puts_.load(std::memory_order_relaxed); }

 private:
  // A waiting put. Each waits on its own word, set once by the leader that
  // committed it (kDone) or that hands it the lead (kLead): one wake-up per
  // put, where one shared condition variable woke every waiter at each
  // commit and had them all take the mutex again.
  enum : uint32_t { kWaiting, kDone, kLead };
  struct Pending {
    PutTxn* txn;
    Status status;
    std::atomic<uint32_t> state{kWaiting};
  };
  // Commits a batch from the queue (me first in it), then wakes its puts
  // and hands the lead to the first put still queued, if any.
  void Lead(Pending* me);
  void Commit(uint32_t domain, const std::vector<Pending*>& group);

  StoreImpl* s_;
  mutable std::mutex mu_;
  std::deque<Pending*> queue_;
  bool leading_ = false;  // a put is leading, or has been handed the lead
  std::atomic<uint64_t> commits_{0}, committed_puts_{0};
};

}  // namespace as

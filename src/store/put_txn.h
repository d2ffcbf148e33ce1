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
// frames go to packs of the put's own, of about the target size, sealed (fsync + read-back verify)
// before the one metadata transaction. A full pack is sealed on a thread of its own while the put
// fills the next one, so the device's write-back and fsync overlap with chunking and compressing;
// Commit waits for every seal. Until it commits nothing is visible; if it fails, the packs it
// sealed are removed at once rather than left for gc.
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
  // Waits for the background seal, if any, and adds its pack to commit_.
  Status WaitSealing();

  StoreImpl* s_;
  std::shared_ptr<const TenantKeys> keys_;
  PutCommit commit_;
  bool holding_ = true;
  std::vector<Held> held_;
  uint64_t held_bytes_ = 0;
  std::unique_ptr<PackWriter> writer_;
  int64_t writer_index_ = 0;  // the open pack's index in commit_.packs, once sealed
  int64_t packs_started_ = 0;
  std::thread sealing_;                       // at most one pack sealing in the background
  std::optional<Result<SealedPack>> sealed_;  // its result, once joined
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

#include "index/pg_metadata.h"

#include <algorithm>
#include <functional>
#include <ctime>
#include <map>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "index/pg_conn.h"
#include "index/pg_rows.h"

namespace as {

using namespace pgrows;  // NOLINT: this file is the row helpers' main user

namespace {

// Buckets and keys are bytea: any bytes a caller names (SQLite's TEXT keeps
// them too), in bytewise order, S3's UTF-8 order. Other text columns compare
// bytewise too (COLLATE "C"). `off` is SQLite's `offset`, a reserved word here. Integers
// are bigint throughout: lengths and sizes never wrap.
const char* kPgSchema = R"sql(
CREATE TABLE meta(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE tenants(
  name text COLLATE "C" PRIMARY KEY, domain integer NOT NULL UNIQUE, created bigint NOT NULL);
CREATE TABLE packs(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE,
  domain integer NOT NULL, size bigint NOT NULL, frames bigint NOT NULL, created bigint NOT NULL);
CREATE TABLE chunks(
  domain integer NOT NULL, digest bytea NOT NULL, pack bigint NOT NULL, off bigint NOT NULL,
  frame_len bigint NOT NULL, raw_len bigint NOT NULL, PRIMARY KEY(domain, digest))
  WITH (fillfactor = 90);
CREATE INDEX chunks_pack ON chunks(pack);
CREATE TABLE chunk_bases(
  domain integer NOT NULL, digest bytea NOT NULL, base bytea NOT NULL,
  PRIMARY KEY(domain, digest, base));
CREATE TABLE manifests(
  domain integer NOT NULL, digest bytea NOT NULL, content bytea NOT NULL, size bigint NOT NULL,
  chunks bigint NOT NULL, pack bigint NOT NULL, off bigint NOT NULL, frame_len bigint NOT NULL,
  raw_len bigint NOT NULL, PRIMARY KEY(domain, digest)) WITH (fillfactor = 90);
CREATE INDEX manifests_content ON manifests(domain, content);
CREATE INDEX manifests_pack ON manifests(pack);
CREATE TABLE names(
  tenant text COLLATE "C" NOT NULL, bucket bytea NOT NULL, key bytea NOT NULL,
  manifest bytea NOT NULL, content bytea NOT NULL, size bigint NOT NULL, version bigint NOT NULL,
  created bigint NOT NULL, attrs bytea NOT NULL DEFAULT '', PRIMARY KEY(tenant, bucket, key));
CREATE INDEX names_manifest ON names(manifest);
CREATE INDEX names_content ON names(tenant, content);
CREATE TABLE buckets(
  tenant text COLLATE "C" NOT NULL, bucket bytea NOT NULL, created bigint NOT NULL,
  PRIMARY KEY(tenant, bucket));
CREATE TABLE uploads(
  id text COLLATE "C" PRIMARY KEY, tenant text COLLATE "C" NOT NULL,
  bucket bytea NOT NULL, key bytea NOT NULL,
  attrs bytea NOT NULL DEFAULT '', created bigint NOT NULL);
CREATE INDEX uploads_name ON uploads(tenant, bucket, key);
CREATE INDEX uploads_created ON uploads(created);
CREATE TABLE upload_parts(
  upload text COLLATE "C" NOT NULL, number bigint NOT NULL, manifest bytea NOT NULL,
  content bytea NOT NULL, size bigint NOT NULL, attrs bytea NOT NULL DEFAULT '',
  created bigint NOT NULL, PRIMARY KEY(upload, number));
CREATE TABLE access_keys(
  id text COLLATE "C" PRIMARY KEY, tenant text COLLATE "C" NOT NULL, secret text NOT NULL,
  created bigint NOT NULL);
)sql";

// Version 2: gc's doom marks (see Metadata::Doom), gc's shared state (the
// epoch, moved on by every doom, and the token of the run that owns gc),
// the servers' sessions and the packs they are writing.
const char* kPgSchemaV2 = R"sql(
ALTER TABLE chunks ADD COLUMN state "char" NOT NULL DEFAULT 'L';
ALTER TABLE chunks ADD COLUMN doom_epoch bigint;
ALTER TABLE manifests ADD COLUMN state "char" NOT NULL DEFAULT 'L';
ALTER TABLE manifests ADD COLUMN doom_epoch bigint;
CREATE INDEX chunks_doomed ON chunks(domain, digest) WHERE state = 'D';
CREATE INDEX manifests_doomed ON manifests(domain, digest) WHERE state = 'D';
CREATE TABLE gc_state(id integer PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL,
  token bigint NOT NULL);
INSERT INTO gc_state VALUES (1, 0, 0);
CREATE TABLE sessions(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, host text NOT NULL, pid integer NOT NULL,
  started timestamptz NOT NULL DEFAULT now(), heartbeat timestamptz NOT NULL DEFAULT now(),
  seen_epoch bigint NOT NULL, min_inflight bigint);
CREATE TABLE pending_packs(
  name text COLLATE "C" PRIMARY KEY, session bigint NOT NULL,
  created timestamptz NOT NULL DEFAULT now());
)sql";

// Version 3: encrypted tenants' keys, wrapped by the master key
// (docs/format/encryption.md).
const char* kPgSchemaV3 = R"sql(
CREATE TABLE keys(
  id integer PRIMARY KEY, domain integer NOT NULL, kind text NOT NULL, wrapped bytea NOT NULL,
  created bigint NOT NULL);
)sql";

// Version 4: the totals kept by triggers, so that Totals() sums a few rows
// instead of counting the tables. Each backend adds to a row of its own
// (slot = its pid; slot 0 holds the rest): no two transactions running at
// once ever lock the same counters row, so servers committing at once
// neither wait for each other there nor deadlock through it. Each INSERT or
// DELETE statement adds once (statement-level triggers over the transition
// tables), not once a row. as_count_add(deltas in kCounterFields' order).
std::string CounterAddFunction() {
  std::string set, values;
  int i = 1;
  for (const CounterField& f : kCounterFields) {
    const std::string d = "d[" + std::to_string(i++) + "]";
    set += (set.empty() ? "" : ", ") + std::string(f.name) + " = " + f.name + " + " + d;
    values += ", " + d;
  }
  return "CREATE OR REPLACE FUNCTION as_count_add(d bigint[]) RETURNS void LANGUAGE plpgsql AS "
         "$f$ BEGIN UPDATE counters SET " + set + " WHERE slot = pg_backend_pid(); IF NOT FOUND "
         "THEN INSERT INTO counters VALUES (pg_backend_pid()" + values + "); END IF; END $f$;\n";
}

// ARRAY[...] of kCounterFields' order: `of(counter)` where it names one, else 0.
std::string CounterArray(const std::function<std::string(const std::string&)>& of) {
  std::string out;
  for (const CounterField& f : kCounterFields) {
    const std::string v = of(f.name);
    out += (out.empty() ? "" : ", ") + (v.empty() ? std::string("0") : v);
  }
  return "ARRAY[" + out + "]::bigint[]";
}

// One table's trigger functions and triggers (OR REPLACE: a database whose
// tables were dropped, to be rebuilt by `repair --reindex`, keeps its
// functions): `count` (a counter) counts its rows, `sums` (column, counter)
// add up a column.
std::string CounterTriggers(const std::string& table, const std::string& count,
                            const std::vector<std::pair<std::string, std::string>>& sums) {
  // The statement's rows counted and summed in one query over its
  // transition table (x.n, x.s1, ...), added with the sign of the event.
  std::string sel = "count(*) AS n", cols;
  for (size_t i = 0; i < sums.size(); i++) {
    sel += ", coalesce(sum(" + sums[i].first + "), 0) AS s" + std::to_string(i + 1);
    cols += (cols.empty() ? "" : ", ") + sums[i].first;
  }
  auto add = [&](const std::string& sign, const std::string& rows) {
    const std::string deltas = CounterArray([&](const std::string& c) -> std::string {
      if (c == count) return sign + "x.n";
      for (size_t i = 0; i < sums.size(); i++) {
        if (c == sums[i].second) return sign + "x.s" + std::to_string(i + 1);
      }
      return "";
    });
    return "PERFORM as_count_add(" + deltas + ") FROM (SELECT " + sel + " FROM " + rows +
           ") AS x WHERE x.n > 0;";
  };
  const std::string fn = "as_count_" + table;
  std::string sql = "CREATE OR REPLACE FUNCTION " + fn + "() RETURNS trigger LANGUAGE plpgsql AS "
                    "$f$ BEGIN IF TG_OP = 'INSERT' THEN " + add("", "new_rows") + " ELSE " +
                    add("-", "old_rows") + " END IF; RETURN NULL; END $f$;\n";
  sql += "CREATE TRIGGER " + table + "_counted_insert AFTER INSERT ON " + table +
         " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION " + fn + "();\n";
  sql += "CREATE TRIGGER " + table + "_counted_delete AFTER DELETE ON " + table +
         " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION " + fn + "();\n";
  if (!cols.empty()) {
    // Row by row, and only where a summed column changes (rare: a chunk
    // stored anew with another codec, a name rebound): PostgreSQL gives
    // transition tables to no trigger with a column list, and gc's UPDATEs
    // of many rows change none of these columns.
    std::string when;
    for (const auto& [col, counter] : sums) {
      when += (when.empty() ? "" : " OR ") + ("OLD." + col) + " IS DISTINCT FROM NEW." + col;
    }
    const std::string row = CounterArray([&](const std::string& c) -> std::string {
      for (const auto& [col, counter] : sums) {
        if (c == counter) return "NEW." + col + " - OLD." + col;
      }
      return "";
    });
    sql += "CREATE OR REPLACE FUNCTION " + fn + "_row() RETURNS trigger LANGUAGE plpgsql AS $f$ "
           "BEGIN PERFORM as_count_add(" + row + "); RETURN NULL; END $f$;\n";
    sql += "CREATE TRIGGER " + table + "_counted_update AFTER UPDATE OF " + cols + " ON " + table +
           " FOR EACH ROW WHEN (" + when + ") EXECUTE FUNCTION " + fn + "_row();\n";
  }
  return sql;
}

// The totals counted from the tables (ScanTotals, and version 4's backfill).
const char* kScanTotalsSql =
    "SELECT (SELECT count(*) FROM names), (SELECT coalesce(sum(size), 0) FROM names), "
    "(SELECT count(*) FROM chunks), (SELECT coalesce(sum(raw_len), 0) FROM chunks), "
    "(SELECT coalesce(sum(frame_len), 0) FROM chunks), (SELECT count(*) FROM packs), "
    "(SELECT coalesce(sum(size), 0) FROM packs), (SELECT count(*) FROM manifests)";

std::string PgSchemaV4() {
  std::string sql = "CREATE TABLE counters(slot integer PRIMARY KEY";
  for (const CounterField& f : kCounterFields) sql += std::string(", ") + f.name + " bigint NOT NULL DEFAULT 0";
  // Slot 0, the backfill, in kCounterFields' order (kScanTotalsSql's).
  sql += ");\nINSERT INTO counters SELECT 0, * FROM (" + std::string(kScanTotalsSql) + ") AS scan;\n";
  sql += CounterAddFunction();
  sql += CounterTriggers("names", "names", {{"size", "name_bytes"}});
  sql += CounterTriggers("chunks", "chunks", {{"raw_len", "chunk_raw_bytes"}, {"frame_len", "chunk_frame_bytes"}});
  sql += CounterTriggers("packs", "packs", {{"size", "pack_bytes"}});
  sql += CounterTriggers("manifests", "manifests", {});
  return sql;
}

// Folds the rows of backends that have ended into slot 0, so that the
// table stays as small as the set of live backends (run at every open). A
// row a new backend with a reused pid has just updated is folded with what
// it added (the DELETE returns the row's latest version); it makes another.
std::string FoldCountersSql() {
  std::string sums, set;
  for (const CounterField& f : kCounterFields) {
    const std::string n = f.name;
    sums += (sums.empty() ? "" : ", ") + ("coalesce(sum(" + n + "), 0) AS " + n);
    set += (set.empty() ? "" : ", ") + (n + " = c." + n + " + x." + n);
  }
  return "WITH dead AS (DELETE FROM counters WHERE slot <> 0 AND slot NOT IN (SELECT pid FROM "
         "pg_stat_activity WHERE pid IS NOT NULL) RETURNING *) UPDATE counters c SET " + set +
         " FROM (SELECT " + sums + " FROM dead) AS x WHERE c.slot = 0";
}

StoreTotals TotalsOf(const PgResult& r) {
  StoreTotals t;
  int col = 0;
  for (const CounterField& f : kCounterFields) t.*f.field = static_cast<uint64_t>(r.Int(0, col++));
  return t;
}

// `select` (which has a WHERE clause when `where`) limited to the `limit`
// rows after `after` (null: from the first) in key order, and its
// *params: a page of a paged read (ForEachChunkAfter, ForEachDoomedAfter).
std::string KeyPageSql(const std::string& select, bool where, const ChunkKey* after, size_t limit,
                       PgParams* params) {
  std::string sql = select;
  *params = {I(static_cast<int64_t>(limit))};
  if (after) {
    sql += std::string(where ? " AND" : " WHERE") +
           " (domain, digest) > ($2::integer, decode($3, 'hex'))";
    params->push_back(I(after->domain));
    params->push_back(PgHex(after->digest));
  }
  return sql + " ORDER BY domain, digest LIMIT $1::bigint";
}

// Advisory locks, keyed (class, schema) so that stores in different schemas
// of one database do not share them: gc's ownership (a session lock of the
// run's own connection), and the epoch lock, which commits take shared and
// a doom exclusive (transaction locks; the lock manager queues them fairly,
// so a doom is not starved by a stream of commits).
const char* kGcOwnerLock = "731406022, hashtext(current_schema())";
const char* kEpochLock = "731406023, hashtext(current_schema())";

// Serialises schema creation between servers initialising the same
// database at once (an arbitrary key of this program's).
constexpr const char* kSchemaLockKey = "7314060021";

// The password in a postgresql:// URL's user-info part, if there is one.
bool UrlHasPassword(const std::string& url) {
  const size_t start = url.find("://") + 3;
  const size_t end = url.find_first_of("/?", start);
  const std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string::npos) return false;
  return authority.substr(0, at).find(':') != std::string::npos;
}

}  // namespace

PgMetadata::PgMetadata(std::string url) : url_(std::move(url)) {
  writer_ = std::make_unique<PgConn>(url_, url_);
  const size_t conns = std::max<size_t>(4, 2 * size_t{std::thread::hardware_concurrency()});
  pool_ = std::make_unique<PgPool>(url_, url_, conns);
}

PgMetadata::~PgMetadata() {
  {
    std::lock_guard<std::mutex> l(beat_mu_);
    stopping_ = true;
  }
  beat_cv_.notify_all();
  if (beater_.joinable()) beater_.join();
  // A clean exit: the session goes now rather than after its TTL.
  if (beat_conn_ && session() > 0) {
    beat_conn_->Run("DELETE FROM sessions WHERE id = $1", {I(session())}).IgnoreError();
  }
  // Released by the server when the session ends, but that is after our
  // disconnect, asynchronously: unlock first, so that the next process to
  // open the store does not find it still held.
  if (gc_conn_) gc_conn_->Run("SELECT pg_advisory_unlock_all()").IgnoreError();
  if (lock_conn_) lock_conn_->Run("SELECT pg_advisory_unlock_all()").IgnoreError();
}

Result<std::unique_ptr<PgMetadata>> PgMetadata::Open(const std::string& url, bool create) {
  if (UrlHasPassword(url)) {
    return Status::InvalidArgument(
        "metadata URL holds a password: give it in PGPASSWORD or a passfile (~/.pgpass, "
        "PGPASSFILE) instead, so it never shows on a command line or in the store's config");
  }
  std::unique_ptr<PgMetadata> m(new PgMetadata(url));
  AS_RETURN_IF_ERROR(m->Migrate(create));
  AS_RETURN_IF_ERROR(m->StartSession());
  return m;
}

Status PgMetadata::Migrate(bool create) {
  std::lock_guard<std::mutex> l(mu_);
  PgConn& c = *writer_;
  return c.Transaction([&]() -> Status {
    AS_RETURN_IF_ERROR(c.Run(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")"));
    AS_ASSIGN_OR_RETURN(auto have, c.Exec("SELECT to_regclass('meta') IS NOT NULL"));
    const bool exists = have.Text(0, 0) == "t";
    if (create) {
      if (exists) {
        std::string uuid;
        auto u = c.Exec("SELECT value FROM meta WHERE key = 'store_uuid'");
        if (u.ok() && u->rows() > 0) uuid = " (store " + u->Text(0, 0) + ")";
        return Status::AlreadyExists("metadata " + url_ + " already holds a store's tables" +
                                     uuid + "; give each store a database (or schema) of its own");
      }
      AS_RETURN_IF_ERROR(c.Run(kPgSchema));
      AS_RETURN_IF_ERROR(c.Run(kPgSchemaV2));
      AS_RETURN_IF_ERROR(c.Run(kPgSchemaV3));
      AS_RETURN_IF_ERROR(c.Run(PgSchemaV4()));
      return c.Run("INSERT INTO meta VALUES ('schema_version', $1)", {I(kPgSchemaVersion)});
    }
    if (!exists) {
      return Status::NotFound("metadata " + url_ + " holds no artifact-store tables");
    }
    AS_ASSIGN_OR_RETURN(auto v, c.Exec("SELECT value FROM meta WHERE key = 'schema_version'"));
    if (v.rows() == 0) {
      return Status::Corruption("metadata " + url_ + ": no schema version");
    }
    const int version = std::atoi(v.Text(0, 0).c_str());
    if (version > kPgSchemaVersion) {
      return Status::Unsupported("metadata " + url_ + " has schema version " + v.Text(0, 0) +
                                 ", newer than this build (" + I(kPgSchemaVersion) +
                                 "): upgrade artifact-store");
    }
    // Every step in this one transaction: the database is at its old
    // version or at this build's, never between.
    if (version < 2) {
      AS_RETURN_IF_ERROR(c.Run(kPgSchemaV2));
      AS_RETURN_IF_ERROR(c.Run("UPDATE meta SET value = '2' WHERE key = 'schema_version'"));
    }
    if (version < 3) {
      AS_RETURN_IF_ERROR(c.Run(kPgSchemaV3));
      AS_RETURN_IF_ERROR(c.Run("UPDATE meta SET value = '3' WHERE key = 'schema_version'"));
    }
    if (version < 4) {
      // The backfill counts every table once, under the schema lock: other
      // servers' commits wait for it (they would miss the counters anyway).
      AS_RETURN_IF_ERROR(c.Run("LOCK TABLE names, chunks, packs, manifests IN SHARE MODE"));
      AS_RETURN_IF_ERROR(c.Run(PgSchemaV4()));
      AS_RETURN_IF_ERROR(c.Run("UPDATE meta SET value = '4' WHERE key = 'schema_version'"));
    }
    return c.Run(FoldCountersSql());
  });
}

Status PgMetadata::LockStore(const std::string& store_uuid, bool exclusive) {
  // 60 bits of the uuid: a positive bigint key.
  const std::string hex = store_uuid.substr(0, 15);
  if (hex.size() != 15 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Status::InvalidArgument("store uuid '" + store_uuid + "' is not 32 hex digits");
  }
  std::lock_guard<std::mutex> l(mu_);
  lock_conn_ = std::make_unique<PgConn>(url_, url_);
  lock_key_ = std::to_string(std::stoll(hex, nullptr, 16));
  lock_exclusive_ = exclusive;
  lock_checked_ = 0;
  return CheckStoreLock();
}

Status PgMetadata::CheckStoreLock() {
  if (lock_key_.empty()) return Status::OK();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (now - lock_checked_ < kLockCheckSeconds) return Status::OK();
  // The lock connection holds no other advisory lock: any it holds is ours.
  // A new session (after a reconnect) holds none and takes it again.
  AS_ASSIGN_OR_RETURN(auto held, lock_conn_->Exec(
      "SELECT EXISTS(SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND "
      "pid = pg_backend_pid() AND granted)"));
  if (held.Text(0, 0) != "t") {
    AS_ASSIGN_OR_RETURN(auto r, lock_conn_->Exec(
        std::string("SELECT pg_try_advisory_lock") + (lock_exclusive_ ? "" : "_shared") + "($1)",
        {lock_key_}));
    if (r.Text(0, 0) != "t") {
      return Status::Busy(
          "store is in use by another process on " + url_ +
          (lock_exclusive_
               ? " (its packs are in a local directory, so one process at a time: put the "
                 "packs on S3 for several servers, docs/scaleout.md)"
               : " that has it for itself (a process of this store whose packs are local)"));
    }
  }
  lock_checked_ = now;
  return Status::OK();
}

Status PgMetadata::StartSession() {
  // A lost heartbeat only holds the horizon back, and a pending pack's row
  // lost in a crash of the database leaves the pack to the grace period (as
  // a pack of no row is): neither is worth a WAL flush.
  beat_conn_ = std::make_unique<PgConn>(url_, url_, "SET synchronous_commit = off");
  pending_conn_ = std::make_unique<PgConn>(url_, url_, "SET synchronous_commit = off");
  {
    std::lock_guard<std::mutex> l(beat_mu_);
    AS_RETURN_IF_ERROR(Register());
  }
  beater_ = std::thread([this] {
    std::unique_lock<std::mutex> l(beat_mu_);
    while (!stopping_) {
      beat_cv_.wait_for(l, std::chrono::milliseconds(HeartbeatMillis()));
      if (stopping_) break;
      Beat().IgnoreError();  // a database that does not answer: the next beat tries again
    }
  });
  return Status::OK();
}

namespace {
// This machine, as sessions name it: the host name and the kernel's boot id,
// so that a session of this machine is known for one even across a reboot
// (and two machines that share a host name are not taken for one).
std::string ThisMachine() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  std::string boot;
  if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "r")) {
    char buf[64] = {0};
    if (std::fgets(buf, sizeof buf, f)) boot = buf;
    std::fclose(f);
  }
  while (!boot.empty() && (boot.back() == '\n' || boot.back() == ' ')) boot.pop_back();
  return std::string(host) + (boot.empty() ? "" : " boot " + boot);
}
}  // namespace

Status PgMetadata::Register() {
  AS_ASSIGN_OR_RETURN(auto r, beat_conn_->Exec(
      "INSERT INTO sessions(host, pid, seen_epoch) SELECT $1, $2, epoch FROM gc_state "
      "WHERE id = 1 RETURNING id, seen_epoch",
      {ThisMachine(), I(static_cast<int64_t>(::getpid()))}));
  if (r.rows() == 0) return Status::Corruption("metadata " + url_ + ": gc_state has no row");
  session_.store(r.Int(0, 0), std::memory_order_release);
  SeeEpoch(r.Int(0, 1), session());
  return Status::OK();
}

Status PgMetadata::Beat() {
  AS_ASSIGN_OR_RETURN(auto e, beat_conn_->Exec("SELECT epoch FROM gc_state WHERE id = 1"));
  if (e.rows() == 0) return Status::Corruption("metadata " + url_ + ": gc_state has no row");
  const int64_t epoch = e.Int(0, 0);
  // Ops begun from here on start in `epoch`; the oldest still running is
  // reported with it.
  const std::optional<int64_t> oldest = SeeEpoch(epoch, session());
  AS_ASSIGN_OR_RETURN(auto r, beat_conn_->Exec(
      "UPDATE sessions SET heartbeat = now(), seen_epoch = $2, "
      "min_inflight = NULLIF($3, '')::bigint WHERE id = $1",
      {I(session()), I(epoch), oldest ? I(*oldest) : std::string()}));
  if (r.Affected() == 0) {
    // Expelled (this process was silent for longer than the TTL): its Ops
    // in flight fail at their commits; new ones start in a new session.
    expelled_.fetch_add(1, std::memory_order_relaxed);
    return Register();
  }
  return Status::OK();
}

Status PgMetadata::Fence(PgConn& c, const PutCommit& p, CommitGuard* g) {
  if (p.session == 0 || p.session == g->fenced) return Status::OK();
  // FOR KEY SHARE: gc's expelling DELETE waits for this commit; after it,
  // no commit of the session can pass here.
  AS_ASSIGN_OR_RETURN(auto r, c.Exec("SELECT 1 FROM sessions WHERE id = $1 FOR KEY SHARE",
                                     {I(p.session)}));
  if (r.rows() == 0) {
    fenced_.fetch_add(1, std::memory_order_relaxed);
    // Busy, not Unavailable: this put's failure, not its group's (503 too).
    return Status::Busy("this server's session " + I(p.session) + " on " + url_ +
                        " was expelled by gc (its heartbeat stopped for longer than the "
                        "session TTL); nothing was stored; retry");
  }
  g->fenced = p.session;
  return Status::OK();
}

Status PgMetadata::Write(const std::function<Status(PgConn&)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  AS_RETURN_IF_ERROR(CheckStoreLock());
  PgConn& c = *writer_;
  return c.Transaction([&] { return fn(c); });
}

Result<std::optional<Location>> PgMetadata::FindChunk(uint32_t domain, const Digest& d) {
  std::vector<std::optional<Location>> out;
  AS_RETURN_IF_ERROR(FindChunks(domain, &d, 1, &out));
  return out[0];
}

Status PgMetadata::FindChunks(uint32_t domain, const Digest* d, size_t n,
                              std::vector<std::optional<Location>>* out, bool live_only) {
  out->assign(n, std::nullopt);
  if (n == 0) return Status::OK();
  // One statement for the batch: one snapshot, one round trip.
  std::string list;
  list.reserve(n * (2 * (1 + Digest::kMaxSize) + 1));
  for (size_t i = 0; i < n; i++) {
    if (i) list += ',';
    AppendPgHex(&list, d[i]);
  }
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(
      "SELECT q.i, c.pack, c.off, c.frame_len, c.raw_len "
      "FROM unnest(string_to_array($2, ',')) WITH ORDINALITY AS q(d, i) "
      "JOIN chunks c ON c.domain = $1 AND c.digest = decode(q.d, 'hex')" +
          std::string(live_only ? " AND c.state = 'L'" : ""),
      {I(domain), list}));
  for (int i = 0; i < r.rows(); i++) {
    const int64_t at = r.Int(i, 0) - 1;
    if (at >= 0 && static_cast<size_t>(at) < n) (*out)[static_cast<size_t>(at)] = ColLocation(r, i, 1);
  }
  return Status::OK();
}

Status PgMetadata::ForEachChunk(const std::function<void(const ChunkKey&, const Location&)>& fn) {
  auto c = pool_->Acquire();
  return c->Stream("SELECT digest, pack, off, frame_len, raw_len, domain FROM chunks", {},
                   [&](const PgResult& r) -> Status {
                     ChunkKey key;
                     AS_ASSIGN_OR_RETURN(key.digest, r.Dig(0, 0));
                     key.domain = static_cast<uint32_t>(r.Int(0, 5));
                     fn(key, ColLocation(r, 0, 1));
                     return Status::OK();
                   });
}

Status PgMetadata::ForEachChunkInPack(
    int64_t pack, const std::function<void(const ChunkKey&, const Location&)>& fn) {
  auto c = pool_->Acquire();
  return c->Stream("SELECT digest, pack, off, frame_len, raw_len, domain FROM chunks "
                   "WHERE pack = $1 ORDER BY off",
                   {std::to_string(pack)}, [&](const PgResult& r) -> Status {
                     ChunkKey key;
                     AS_ASSIGN_OR_RETURN(key.digest, r.Dig(0, 0));
                     key.domain = static_cast<uint32_t>(r.Int(0, 5));
                     fn(key, ColLocation(r, 0, 1));
                     return Status::OK();
                   });
}

Status PgMetadata::ForEachChunkAfter(
    const ChunkKey* after, size_t limit,
    const std::function<void(const ChunkKey&, const Location&)>& fn) {
  auto c = pool_->Acquire();
  PgParams params;
  const std::string sql = KeyPageSql("SELECT digest, pack, off, frame_len, raw_len, domain FROM chunks",
                                     false, after, limit, &params);
  return c->Stream(sql, params, [&](const PgResult& r) -> Status {
    ChunkKey key;
    AS_ASSIGN_OR_RETURN(key.digest, r.Dig(0, 0));
    key.domain = static_cast<uint32_t>(r.Int(0, 5));
    fn(key, ColLocation(r, 0, 1));
    return Status::OK();
  });
}

Status PgMetadata::ForEachChunkBase(
    const std::function<void(const ChunkKey&, const Digest&)>& fn) {
  auto c = pool_->Acquire();
  return c->Stream("SELECT domain, digest, base FROM chunk_bases", {},
                   [&](const PgResult& r) -> Status {
                     ChunkKey key;
                     key.domain = static_cast<uint32_t>(r.Int(0, 0));
                     AS_ASSIGN_OR_RETURN(key.digest, r.Dig(0, 1));
                     AS_ASSIGN_OR_RETURN(Digest base, r.Dig(0, 2));
                     fn(key, base);
                     return Status::OK();
                   });
}

Result<std::optional<ManifestRow>> PgMetadata::FindManifestBy(const char* column,
                                                              uint32_t domain, const Digest& d) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(std::string("SELECT ") + kManifestCols +
                                          " FROM manifests WHERE domain = $1 AND " + column +
                                          " = decode($2, 'hex') LIMIT 1",
                                      {I(domain), PgHex(d)}));
  if (r.rows() == 0) return std::optional<ManifestRow>();
  AS_ASSIGN_OR_RETURN(auto m, ColManifest(r, 0));
  return std::optional<ManifestRow>(std::move(m));
}

Result<std::optional<ManifestRow>> PgMetadata::FindManifest(uint32_t domain,
                                                            const Digest& manifest) {
  return FindManifestBy("digest", domain, manifest);
}

Result<std::optional<ManifestRow>> PgMetadata::FindManifestByContent(uint32_t domain,
                                                                     const Digest& content) {
  return FindManifestBy("content", domain, content);
}

Status PgMetadata::ForEachManifest(const std::function<void(const ManifestRow&)>& fn) {
  auto c = pool_->Acquire();
  return c->Stream(std::string("SELECT ") + kManifestCols + " FROM manifests", {},
                   [&](const PgResult& r) -> Status {
                     AS_ASSIGN_OR_RETURN(auto m, ColManifest(r, 0));
                     fn(m);
                     return Status::OK();
                   });
}

Status PgMetadata::ForEachDoomed(
    const std::function<void(const ChunkKey&, bool manifest, int64_t pack, int64_t epoch)>& fn) {
  auto c = pool_->Acquire();
  return c->Stream("SELECT domain, digest, pack, false, coalesce(doom_epoch, 0) FROM chunks "
                   "WHERE state = 'D' UNION ALL SELECT domain, digest, pack, true, "
                   "coalesce(doom_epoch, 0) FROM manifests WHERE state = 'D'",
                   {}, [&](const PgResult& r) -> Status {
                     ChunkKey key;
                     key.domain = static_cast<uint32_t>(r.Int(0, 0));
                     AS_ASSIGN_OR_RETURN(key.digest, r.Dig(0, 1));
                     fn(key, r.Text(0, 3) == "t", r.Int(0, 2), r.Int(0, 4));
                     return Status::OK();
                   });
}

Status PgMetadata::ForEachDoomedAfter(
    bool manifests, const ChunkKey* after, size_t limit,
    const std::function<void(const ChunkKey&, int64_t pack, int64_t epoch)>& fn) {
  auto c = pool_->Acquire();
  // By the doomed rows' partial index (chunks_doomed, manifests_doomed),
  // from `after` on.
  const std::string table = manifests ? "manifests" : "chunks";
  PgParams params;
  const std::string sql = KeyPageSql("SELECT domain, digest, pack, coalesce(doom_epoch, 0) FROM " +
                                         table + " WHERE state = 'D'",
                                     true, after, limit, &params);
  return c->Stream(sql, params, [&](const PgResult& r) -> Status {
    ChunkKey key;
    key.domain = static_cast<uint32_t>(r.Int(0, 0));
    AS_ASSIGN_OR_RETURN(key.digest, r.Dig(0, 1));
    fn(key, r.Int(0, 2), r.Int(0, 3));
    return Status::OK();
  });
}

Result<std::vector<PackRow>> PgMetadata::ListPacks() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r,
                      c->Exec(std::string("SELECT ") + kPackCols + " FROM packs ORDER BY id"));
  return Collect<PackRow>(r, ColPack);
}

Result<std::optional<PackRow>> PgMetadata::GetPack(int64_t id) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(std::string("SELECT ") + kPackCols +
                                          " FROM packs WHERE id = $1",
                                      {I(id)}));
  if (r.rows() == 0) return std::optional<PackRow>();
  return std::optional<PackRow>(ColPack(r, 0));
}

Status PgMetadata::InsertPacks(PgConn& c, const std::vector<SealedPack>& packs,
                               std::vector<int64_t>* ids) {
  for (const auto& p : packs) {
    AS_ASSIGN_OR_RETURN(auto r, c.Exec("INSERT INTO packs(name, domain, size, frames, created) "
                                       "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                                       {p.name, I(p.domain), I(static_cast<int64_t>(p.size)),
                                        I(static_cast<int64_t>(p.entries.size())), Now()}));
    ids->push_back(r.Int(0, 0));
  }
  return Status::OK();
}

Status PgMetadata::InsertChunks(PgConn& c, const std::vector<std::pair<ChunkKey, Location>>& rows,
                                const std::vector<int64_t>& ids) {
  // One row per key, the last one given winning (SQLite's INSERT OR
  // REPLACE), sorted by key so that two writers inserting the same new
  // chunks lock them in the same order and cannot deadlock.
  std::map<std::pair<uint32_t, std::string>, const Location*> last;
  for (const auto& [key, loc] : rows) last[{key.domain, PgHex(key.digest)}] = &loc;
  auto it = last.begin();
  while (it != last.end()) {
    Columns cols(6);
    for (size_t n = 0; n < kBatchRows && it != last.end(); n++, ++it) {
      const Location& loc = *it->second;
      cols.Add(0, I(it->first.first));
      cols.Add(1, it->first.second);
      cols.Add(2, I(ResolvePack(loc.pack, ids)));
      cols.Add(3, I(static_cast<int64_t>(loc.offset)));
      cols.Add(4, I(loc.frame_len));
      cols.Add(5, I(loc.raw_len));
    }
    // The newest durable copy wins: a gc that is dropping the old copy only
    // deletes rows that still point into the pack it drops.
    AS_RETURN_IF_ERROR(c.Run(
        "INSERT INTO chunks(domain, digest, pack, off, frame_len, raw_len) "
        "SELECT d::integer, decode(g, 'hex'), p::bigint, o::bigint, f::bigint, r::bigint FROM "
        "unnest(string_to_array($1, ','), string_to_array($2, ','), string_to_array($3, ','), "
        "string_to_array($4, ','), string_to_array($5, ','), string_to_array($6, ',')) "
        "AS t(d, g, p, o, f, r) "
        "ON CONFLICT (domain, digest) DO UPDATE SET pack = EXCLUDED.pack, off = EXCLUDED.off, "
        "frame_len = EXCLUDED.frame_len, raw_len = EXCLUDED.raw_len, state = 'L', doom_epoch = NULL",
        cols.cols));
  }
  return Status::OK();
}

Status PgMetadata::InsertBases(PgConn& c, const std::vector<std::pair<ChunkKey, Digest>>& rows) {
  return InBatches(
      rows, 3,
      [](Columns& cols, const std::pair<ChunkKey, Digest>& r) {
        cols.Add(0, I(r.first.domain));
        cols.Add(1, PgHex(r.first.digest));
        cols.Add(2, PgHex(r.second));
      },
      [&](const std::vector<std::string>& cols) {
        return c.Run(
            "INSERT INTO chunk_bases SELECT d::integer, decode(g, 'hex'), decode(b, 'hex') FROM "
            "unnest(string_to_array($1, ','), string_to_array($2, ','), "
            "string_to_array($3, ',')) AS t(d, g, b) ON CONFLICT DO NOTHING",
            cols);
      });
}

Status PgMetadata::InsertManifest(PgConn& c, const ManifestRow& m,
                                  const std::vector<int64_t>& ids) {
  return c.Run(
      "INSERT INTO manifests(domain, digest, content, size, chunks, pack, off, frame_len, raw_len) "
      "VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), $4, $5, $6, $7, $8, $9) "
      "ON CONFLICT (domain, digest) DO UPDATE SET content = EXCLUDED.content, "
      "size = EXCLUDED.size, chunks = EXCLUDED.chunks, pack = EXCLUDED.pack, off = EXCLUDED.off, "
      "frame_len = EXCLUDED.frame_len, raw_len = EXCLUDED.raw_len, state = 'L', doom_epoch = NULL",
      {I(m.domain), PgHex(m.digest), PgHex(m.content), I(static_cast<int64_t>(m.size)),
       I(static_cast<int64_t>(m.chunks)), I(ResolvePack(m.loc.pack, ids)),
       I(static_cast<int64_t>(m.loc.offset)), I(m.loc.frame_len), I(m.loc.raw_len)});
}

Status PgMetadata::BindName(PgConn& c, const NameRow& n, bool require_bucket) {
  if (require_bucket) {
    // FOR KEY SHARE: a DeleteBucket running now waits for this commit, then
    // finds the name and refuses.
    AS_ASSIGN_OR_RETURN(auto b, c.Exec("SELECT 1 FROM buckets WHERE tenant = $1 AND "
                                       "bucket = decode($2, 'hex') FOR KEY SHARE",
                                       {n.tenant, PgHexBytes(n.bucket)}));
    if (b.rows() == 0) return Status::NotFound("bucket " + n.bucket);
  } else {
    AS_RETURN_IF_ERROR(c.Run("INSERT INTO buckets VALUES ($1, decode($2, 'hex'), $3) "
                             "ON CONFLICT DO NOTHING",
                             {n.tenant, PgHexBytes(n.bucket), I(n.created)}));
  }
  return c.Run(
      "INSERT INTO names VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), decode($4, 'hex'), "
      "decode($5, 'hex'), $6, 1, $7, "
      "decode($8, 'hex')) ON CONFLICT (tenant, bucket, key) DO UPDATE SET "
      "manifest = EXCLUDED.manifest, content = EXCLUDED.content, size = EXCLUDED.size, "
      "version = names.version + 1, created = EXCLUDED.created, attrs = EXCLUDED.attrs",
      {n.tenant, PgHexBytes(n.bucket), PgHexBytes(n.key), PgHex(n.manifest), PgHex(n.content),
       I(static_cast<int64_t>(n.size)), I(n.created), PgHexBytes(n.attrs)});
}

Result<PgMetadata::CommitGuard> PgMetadata::HoldEpoch(PgConn& c, int64_t session) {
  // The lock first, then (a new statement, so a new snapshot) the epoch: a
  // doom that committed before the lock was granted is seen. The same
  // statement fences the first put's session (one round trip, not two).
  AS_RETURN_IF_ERROR(c.Run(std::string("SELECT pg_advisory_xact_lock_shared(") + kEpochLock + ")"));
  AS_ASSIGN_OR_RETURN(auto r, c.Exec(
      "SELECT (SELECT epoch FROM gc_state WHERE id = 1), (SELECT count(*) FROM (SELECT 1 FROM "
      "sessions WHERE id = $1 FOR KEY SHARE) s)",
      {I(session)}));
  if (r.Text(0, 0).empty()) return Status::Corruption("metadata " + url_ + ": gc_state has no row");
  CommitGuard g;
  g.epoch = r.Int(0, 0);
  if (r.Int(0, 1) > 0) g.fenced = session;
  return g;
}

Status PgMetadata::KeepRefs(PgConn& c, const PutCommit& p, int64_t epoch) {
  if (p.epoch == epoch || !p.refs) return Status::OK();
  std::vector<Digest> refs;
  p.refs(&refs);
  std::map<std::string, const Digest*> sorted;  // by hex: the digests' byte order
  uint64_t brought_back = 0;
  for (const Digest& d : refs) sorted.emplace(PgHex(d), &d);
  auto it = sorted.begin();
  while (it != sorted.end()) {
    std::string list;
    std::vector<const Digest*> batch;
    for (size_t n = 0; n < kBatchRows && it != sorted.end(); n++, ++it) {
      if (!list.empty()) list += ',';
      list += it->first;
      batch.push_back(it->second);
    }
    // A gc doomed rows since this put looked its chunks up: lock them (in
    // digest order, like every writer), bring back the doomed ones, and fail
    // if one is gone.
    AS_ASSIGN_OR_RETURN(auto r, c.Exec(
        "WITH t AS (SELECT decode(g, 'hex') AS g FROM unnest(string_to_array($2, ',')) AS g), "
        "l AS (SELECT x.digest, x.state FROM chunks x JOIN t ON x.domain = $1 AND x.digest = t.g "
        "ORDER BY x.digest FOR UPDATE OF x), "
        "up AS (UPDATE chunks x SET state = 'L', doom_epoch = NULL FROM l WHERE x.domain = $1 AND "
        "x.digest = l.digest AND l.state = 'D' RETURNING 1) "
        "SELECT (SELECT count(*) FROM l), (SELECT count(*) FROM up)",
        {I(p.domain), list}));
    brought_back += static_cast<uint64_t>(r.Int(0, 1));
    if (static_cast<size_t>(r.Int(0, 0)) != batch.size()) {
      for (const Digest* d : batch) {
        AS_ASSIGN_OR_RETURN(auto h, c.Exec("SELECT 1 FROM chunks WHERE domain = $1 AND "
                                           "digest = decode($2, 'hex')",
                                           {I(p.domain), PgHex(*d)}));
        if (h.rows() == 0) return RefGone(*d);
      }
    }
  }
  resurrected_ += brought_back;
  return Status::OK();
}

Status PgMetadata::CommitPutRows(PgConn& c, const PutCommit& p, const std::vector<int64_t>& ids,
                                 CommitGuard* g) {
  AS_RETURN_IF_ERROR(Fence(c, p, g));
  AS_RETURN_IF_ERROR(KeepRefs(c, p, g->epoch));
  std::vector<std::pair<ChunkKey, Location>> chunks;
  chunks.reserve(p.chunks.size());
  for (const auto& [d, loc] : p.chunks) chunks.push_back({ChunkKey{p.domain, d}, loc});
  AS_RETURN_IF_ERROR(InsertChunks(c, chunks, ids));
  if (!p.bases.empty()) {
    std::vector<std::pair<ChunkKey, Digest>> bases;
    for (const auto& [d, base] : p.bases) {
      bases.push_back({ChunkKey{p.domain, d}, base});
    }
    AS_RETURN_IF_ERROR(InsertBases(c, bases));
  }
  if (p.manifest) AS_RETURN_IF_ERROR(InsertManifest(c, *p.manifest, ids));
  if (p.complete_upload) AS_RETURN_IF_ERROR(DeleteUploadIn(c, *p.complete_upload));
  if (p.name) AS_RETURN_IF_ERROR(BindName(c, *p.name, p.require_bucket));
  if (p.part) {
    // The upload must still exist (and stay, until this commits): an abort
    // that won the race leaves nothing to attach the part to.
    AS_ASSIGN_OR_RETURN(auto u, c.Exec("SELECT 1 FROM uploads WHERE id = $1 FOR KEY SHARE",
                                       {p.part->upload}));
    if (u.rows() == 0) return Status::NotFound("upload " + p.part->upload);
    const PartRow& q = *p.part;
    AS_RETURN_IF_ERROR(c.Run(
        "INSERT INTO upload_parts VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'), $5, "
        "decode($6, 'hex'), $7) ON CONFLICT (upload, number) DO UPDATE SET "
        "manifest = EXCLUDED.manifest, content = EXCLUDED.content, size = EXCLUDED.size, "
        "attrs = EXCLUDED.attrs, created = EXCLUDED.created",
        {q.upload, I(q.number), PgHex(q.manifest), PgHex(q.content),
         I(static_cast<int64_t>(q.size)), PgHexBytes(q.attrs), I(q.created)}));
  }
  return Status::OK();
}

Status PgMetadata::CommitPut(const PutCommit& p) {
  return Write([&](PgConn& c) -> Status {
    AS_ASSIGN_OR_RETURN(CommitGuard g, HoldEpoch(c, p.session));
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c, p.packs, &ids));
    return CommitPutRows(c, p, ids, &g);
  });
}

Status PgMetadata::CommitPuts(const SealedPack& shared, const std::vector<const PutCommit*>& puts,
                              std::vector<Status>* results) {
  results->assign(puts.size(), Status::OK());
  Status s = Write([&](PgConn& c) -> Status {
    AS_ASSIGN_OR_RETURN(CommitGuard g, HoldEpoch(c, puts.empty() ? 0 : puts[0]->session));
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c, {shared}, &ids));
    for (size_t i = 0; i < puts.size(); i++) {
      AS_RETURN_IF_ERROR(c.Run("SAVEPOINT put"));
      Status one = CommitPutRows(c, *puts[i], ids, &g);
      if (!one.ok()) {
        // A lost connection is the transaction's failure, not this put's.
        if (one.code() == Code::kUnavailable || one.code() == Code::kIOError) return one;
        AS_RETURN_IF_ERROR(c.Run("ROLLBACK TO SAVEPOINT put"));
        (*results)[i] = one;
      }
      AS_RETURN_IF_ERROR(c.Run("RELEASE SAVEPOINT put"));
    }
    return Status::OK();
  });
  return s;
}

Result<int64_t> PgMetadata::BeginGc() {
  std::lock_guard<std::mutex> l(gc_mu_);
  // A session lock is re-entrant within its session: this process's own
  // runs are kept apart here.
  if (gc_running_) return Status::Busy("gc is already running in this process (" + url_ + ")");
  if (!gc_conn_) gc_conn_ = std::make_unique<PgConn>(url_, url_);
  AS_ASSIGN_OR_RETURN(auto r, gc_conn_->Exec(std::string("SELECT pg_try_advisory_lock(") +
                                             kGcOwnerLock + ")"));
  if (r.Text(0, 0) != "t") {
    return Status::Busy("gc is already running on another server of the store (" + url_ + ")");
  }
  // A new token supersedes any older run still going (one whose server
  // lost its connection, and so the lock, but not yet its thread).
  auto t = gc_conn_->Exec("UPDATE gc_state SET token = token + 1 WHERE id = 1 RETURNING token");
  if (!t.ok() || t->rows() == 0) {
    gc_conn_->Run(std::string("SELECT pg_advisory_unlock(") + kGcOwnerLock + ")").IgnoreError();
    return t.ok() ? Status::Corruption("metadata " + url_ + ": gc_state has no row") : t.status();
  }
  gc_running_ = true;
  return t->Int(0, 0);
}

void PgMetadata::EndGc() {
  std::lock_guard<std::mutex> l(gc_mu_);
  gc_running_ = false;
  if (gc_conn_) {
    gc_conn_->Run(std::string("SELECT pg_advisory_unlock(") + kGcOwnerLock + ")").IgnoreError();
  }
}

Result<int64_t> PgMetadata::GcEpoch() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec("SELECT epoch FROM gc_state WHERE id = 1"));
  if (r.rows() == 0) return Status::Corruption("metadata " + url_ + ": gc_state has no row");
  return r.Int(0, 0);
}

Result<int64_t> PgMetadata::Horizon(uint64_t* expelled) {
  {
    // This process's own report, fresh: a store with one server need not
    // wait for its heartbeat.
    std::lock_guard<std::mutex> l(beat_mu_);
    AS_RETURN_IF_ERROR(Beat());
  }
  uint64_t n = 0;
  Status s = Write([&](PgConn& c) -> Status {
    // A session of this very machine whose process is gone (killed, crashed)
    // goes at once: no need to wait out its TTL. (A live pid, even reused,
    // keeps it: that only waits.)
    AS_ASSIGN_OR_RETURN(auto mine, c.Exec("SELECT id, pid FROM sessions WHERE host = $1 AND "
                                          "id <> $2",
                                          {ThisMachine(), I(session())}));
    for (int i = 0; i < mine.rows(); i++) {
      const pid_t pid = static_cast<pid_t>(mine.Int(i, 1));
      if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
      AS_ASSIGN_OR_RETURN(auto d, c.Exec("DELETE FROM sessions WHERE id = $1", {mine.Text(i, 0)}));
      n += static_cast<uint64_t>(d.Affected());
    }
    // Both times are the database's. Nobody is expelled until the database
    // has been up for a TTL: after an outage every heartbeat is old.
    AS_ASSIGN_OR_RETURN(auto r, c.Exec(
        "WITH gone AS (DELETE FROM sessions WHERE heartbeat < now() - $1 * interval '1 ms' AND "
        "now() - pg_postmaster_start_time() > $1 * interval '1 ms' RETURNING id) "
        "SELECT count(*) FROM gone",
        {I(SessionTtlMillis())}));
    n += static_cast<uint64_t>(r.Int(0, 0));
    return Status::OK();
  });
  AS_RETURN_IF_ERROR(s);
  if (expelled) *expelled = n;
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto h, c->Exec(
      "SELECT coalesce((SELECT min(least(seen_epoch, coalesce(min_inflight, seen_epoch))) FROM "
      "sessions), (SELECT epoch FROM gc_state WHERE id = 1))"));
  return h.Int(0, 0);
}

Status PgMetadata::AddPendingPack(const std::string& name) {
  std::lock_guard<std::mutex> l(pending_mu_);
  return pending_conn_->Run("INSERT INTO pending_packs(name, session) VALUES ($1, $2)",
                            {name, I(session())});
}

void PgMetadata::RemovePendingPack(const std::string& name) {
  std::lock_guard<std::mutex> l(pending_mu_);
  pending_conn_->Run("DELETE FROM pending_packs WHERE name = $1", {name}).IgnoreError();
}

Result<std::map<std::string, bool>> PgMetadata::PendingPacks() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(
      "SELECT p.name, EXISTS (SELECT 1 FROM sessions s WHERE s.id = p.session) FROM "
      "pending_packs p"));
  std::map<std::string, bool> out;
  for (int i = 0; i < r.rows(); i++) out.emplace(r.Text(i, 0), r.Text(i, 1) == "t");
  return out;
}

Status PgMetadata::CheckGcToken(PgConn& c, int64_t token) {
  // FOR SHARE: a BeginGc that would supersede this run waits for it.
  AS_ASSIGN_OR_RETURN(auto r, c.Exec("SELECT 1 FROM gc_state WHERE id = 1 AND token = $1 "
                                     "FOR SHARE", {I(token)}));
  if (r.rows() == 0) {
    return Status::Busy("gc run " + I(token) + " was superseded by a later one; nothing changed");
  }
  return Status::OK();
}

namespace {
// Rows named by (domain, digest[, pack]) columns $1, $2[, $3], locked in key
// order (as every writer locks them, so two writers cannot deadlock): the
// head of a statement over `l`.
std::string LockedRows(const std::string& table, bool with_pack, const std::string& state) {
  return "WITH t AS (SELECT d::integer AS d, decode(g, 'hex') AS g" +
         std::string(with_pack ? ", p::bigint AS p" : "") +
         " FROM unnest(string_to_array($1, ','), string_to_array($2, ',')" +
         (with_pack ? ", string_to_array($3, ','))" : ")") + " AS t(d, g" +
         (with_pack ? ", p" : "") + ")), l AS (SELECT x.domain, x.digest FROM " + table +
         " x JOIN t ON x.domain = t.d AND x.digest = t.g" + (with_pack ? " AND x.pack = t.p" : "") +
         " WHERE x.state = '" + state + "' ORDER BY x.domain, x.digest FOR UPDATE OF x) ";
}
}  // namespace

Status PgMetadata::Doom(int64_t token, const std::vector<std::pair<ChunkKey, int64_t>>& chunks,
                        const std::vector<std::pair<ChunkKey, int64_t>>& manifests,
                        int64_t* epoch) {
  return Write([&](PgConn& c) -> Status {
    // Exclusive: waits for the commits in progress; later ones wait for
    // this, then see the new epoch and check their references.
    AS_RETURN_IF_ERROR(c.Run(std::string("SELECT pg_advisory_xact_lock(") + kEpochLock + ")"));
    AS_ASSIGN_OR_RETURN(auto e, c.Exec("UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1 AND "
                                       "token = $1 RETURNING epoch", {I(token)}));
    if (e.rows() == 0) {
      return Status::Busy("gc run " + I(token) + " was superseded by a later one; nothing changed");
    }
    const std::string e_now = e.Text(0, 0);
    if (epoch) *epoch = e.Int(0, 0);
    for (const bool manifest : {false, true}) {
      const std::string table = manifest ? "manifests" : "chunks";
      AS_RETURN_IF_ERROR(InBatches(
          manifest ? manifests : chunks, 3,
          [](Columns& cols, const std::pair<ChunkKey, int64_t>& r) {
            cols.Add(0, I(r.first.domain));
            cols.Add(1, PgHex(r.first.digest));
            cols.Add(2, I(r.second));
          },
          [&](const std::vector<std::string>& cols) {
            return c.Run(LockedRows(table, true, "L") + "UPDATE " + table +
                             " x SET state = 'D', doom_epoch = " + e_now +
                             " FROM l WHERE x.domain = l.domain AND x.digest = l.digest",
                         cols);
          }));
    }
    return Status::OK();
  });
}

Status PgMetadata::CommitSweep(int64_t token, const Sweep& sw, uint64_t* dropped) {
  uint64_t n = 0;
  Status s = Write([&](PgConn& c) -> Status {
    n = 0;
    AS_RETURN_IF_ERROR(CheckGcToken(c, token));
    for (const bool manifest : {false, true}) {
      const std::string table = manifest ? "manifests" : "chunks";
      for (const bool keep : {true, false}) {
        const auto& rows = manifest ? (keep ? sw.keep_manifests : sw.drop_manifests)
                                    : (keep ? sw.keep_chunks : sw.drop_chunks);
        std::string sql = LockedRows(table, false, "D");
        if (keep) {
          sql += "UPDATE " + table + " x SET state = 'L', doom_epoch = NULL FROM l WHERE "
                 "x.domain = l.domain AND x.digest = l.digest RETURNING 0";
        } else {
          // A dropped chunk's bases go with its row.
          sql += ", gone AS (DELETE FROM " + table + " x USING l WHERE x.domain = l.domain AND "
                 "x.digest = l.digest RETURNING x.domain, x.digest)" +
                 (manifest ? std::string()
                           : ", b AS (DELETE FROM chunk_bases b USING gone WHERE "
                             "b.domain = gone.domain AND b.digest = gone.digest)") +
                 " SELECT count(*) FROM gone";
        }
        AS_RETURN_IF_ERROR(InBatches(
            rows, 2,
            [](Columns& cols, const ChunkKey& k) {
              cols.Add(0, I(k.domain));
              cols.Add(1, PgHex(k.digest));
            },
            [&](const std::vector<std::string>& cols) -> Status {
              AS_ASSIGN_OR_RETURN(auto r, c.Exec(sql, cols));
              if (!keep) n += static_cast<uint64_t>(r.Int(0, 0));
              return Status::OK();
            }));
      }
    }
    return Status::OK();
  });
  if (s.ok() && dropped) *dropped = n;
  return s;
}

Status PgMetadata::CommitGc(int64_t token, const GcCommit& g, std::vector<int64_t>* deleted) {
  std::vector<int64_t> gone;
  Status s = Write([&](PgConn& c) -> Status {
    gone.clear();
    AS_RETURN_IF_ERROR(CheckGcToken(c, token));
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c, g.new_packs, &ids));
    for (const char* table : {"chunks", "manifests"}) {
      const bool chunks = std::string_view(table) == "chunks";
      // In key order, like every writer; only rows still in the old pack.
      auto add = [&](Columns& cols, const GcMove& m) {
        cols.Add(0, I(m.key.domain));
        cols.Add(1, PgHex(m.key.digest));
        cols.Add(2, I(m.from_pack));
        cols.Add(3, I(ResolvePack(m.to.pack, ids)));
        cols.Add(4, I(static_cast<int64_t>(m.to.offset)));
        cols.Add(5, I(m.to.frame_len));
        cols.Add(6, I(m.to.raw_len));
      };
      AS_RETURN_IF_ERROR(InBatches(chunks ? g.moved_chunks : g.moved_manifests, 7, add,
                                   [&](const std::vector<std::string>& cols) {
        return c.Run(
            std::string("WITH t AS (SELECT d::integer AS d, decode(g, 'hex') AS g, p::bigint AS p, "
                        "np::bigint AS np, o::bigint AS o, f::bigint AS f, r::bigint AS r FROM "
                        "unnest(string_to_array($1, ','), string_to_array($2, ','), "
                        "string_to_array($3, ','), string_to_array($4, ','), "
                        "string_to_array($5, ','), string_to_array($6, ','), "
                        "string_to_array($7, ',')) AS t(d, g, p, np, o, f, r)), "
                        "l AS (SELECT x.domain, x.digest, t.np, t.o, t.f, t.r FROM ") +
                table + " x JOIN t ON x.domain = t.d AND x.digest = t.g AND x.pack = t.p "
                "ORDER BY x.domain, x.digest FOR UPDATE OF x) UPDATE " + table +
                " x SET pack = l.np, off = l.o, frame_len = l.f, raw_len = l.r FROM l "
                "WHERE x.domain = l.domain AND x.digest = l.digest",
            cols);
      }));
    }
    if (!g.dead_packs.empty()) {
      std::string list;
      for (int64_t id : g.dead_packs) {
        if (!list.empty()) list += ',';
        list += I(id);
      }
      // Only packs no row points into any more (a doomed row brought back
      // keeps its pack).
      AS_ASSIGN_OR_RETURN(auto r, c.Exec(
          "DELETE FROM packs p WHERE id = ANY(string_to_array($1, ',')::bigint[]) AND "
          "NOT EXISTS (SELECT 1 FROM chunks x WHERE x.pack = p.id) AND "
          "NOT EXISTS (SELECT 1 FROM manifests x WHERE x.pack = p.id) RETURNING id",
          {list}));
      for (int i = 0; i < r.rows(); i++) gone.push_back(r.Int(i, 0));
    }
    return Status::OK();
  });
  if (s.ok() && deleted) *deleted = std::move(gone);
  return s;
}

Status PgMetadata::CommitReindex(const Reindex& r) {
  return Write([&](PgConn& c) -> Status {
    AS_RETURN_IF_ERROR(c.Run("DELETE FROM chunks; DELETE FROM chunk_bases; "
                             "DELETE FROM manifests; DELETE FROM packs"));
    std::vector<int64_t> ids;
    AS_RETURN_IF_ERROR(InsertPacks(c, r.packs, &ids));
    AS_RETURN_IF_ERROR(InsertChunks(c, r.chunks, ids));
    AS_RETURN_IF_ERROR(InsertBases(c, r.bases));
    for (const auto& m : r.manifests) AS_RETURN_IF_ERROR(InsertManifest(c, m, ids));
    return Status::OK();
  });
}

Result<StoreTotals> PgMetadata::Totals() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec("SELECT " + CounterColumns("sum(%s)") + " FROM counters"));
  return TotalsOf(r);
}

Result<StoreTotals> PgMetadata::ScanTotals() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(kScanTotalsSql));
  return TotalsOf(r);
}

Result<std::vector<std::string>> PgMetadata::CheckIntegrity(bool /*thorough*/) {
  auto c = pool_->Acquire();
  std::vector<std::string> out;
  // One snapshot for the checks and the counters against a scan: a
  // difference means a write bypassed the triggers (an edit by hand, a
  // TRUNCATE), and `stats` is wrong until the counters are redone.
  Status s = c->Transaction([&]() -> Status {
    AS_RETURN_IF_ERROR(c->Run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
    AS_ASSIGN_OR_RETURN(auto r, c->Exec(
        "SELECT 'chunks', count(*) FROM chunks x WHERE NOT EXISTS (SELECT 1 FROM packs p WHERE "
        "p.id = x.pack) UNION ALL SELECT 'manifests', count(*) FROM manifests x WHERE NOT EXISTS "
        "(SELECT 1 FROM packs p WHERE p.id = x.pack)"));
    for (int i = 0; i < r.rows(); i++) {
      if (r.Int(i, 1) != 0) {
        out.push_back(r.Text(i, 1) + " " + r.Text(i, 0) + " rows point at packs not in the table");
      }
    }
    AS_ASSIGN_OR_RETURN(auto kept, c->Exec("SELECT " + CounterColumns("sum(%s)") + " FROM counters"));
    AS_ASSIGN_OR_RETURN(auto scan, c->Exec(kScanTotalsSql));
    if (std::string diff = TotalsDiff(TotalsOf(kept), TotalsOf(scan)); !diff.empty()) {
      out.push_back("counters differ from the tables: " + diff);
    }
    return Status::OK();
  });
  AS_RETURN_IF_ERROR(s);
  return out;
}

Result<NameRow> PgMetadata::CopyName(const NameRow& from, NameRow to, bool require_bucket,
                                     const std::optional<Digest>& expect) {
  Status s = Write([&](PgConn& c) -> Status {
    // FOR SHARE: the source cannot be rebound or removed until this commits.
    AS_ASSIGN_OR_RETURN(auto r, c.Exec(std::string("SELECT ") + kNameCols +
                                           " FROM names WHERE tenant = $1 AND "
                                           "bucket = decode($2, 'hex') AND "
                                           "key = decode($3, 'hex') FOR SHARE",
                                       {from.tenant, PgHexBytes(from.bucket),
                                        PgHexBytes(from.key)}));
    if (r.rows() == 0) return Status::NotFound("name " + from.bucket + "/" + from.key);
    AS_ASSIGN_OR_RETURN(NameRow src, ColName(r, 0));
    AS_RETURN_IF_ERROR(TakeCopySource(src, expect, &to));
    return BindName(c, to, require_bucket);
  });
  if (!s.ok()) return s;
  return to;
}

Status PgMetadata::DeleteUpload(const std::string& id) {
  return Write([&](PgConn& c) { return DeleteUploadIn(c, id); });
}

}  // namespace as

// The catalog half of the SQLite metadata (index/metadata.h, Catalog):
// settings, tenants, names and their cache, buckets, name binding and
// copies, multipart uploads and their parts, access keys.
#include <algorithm>
#include <ctime>

#include "index/sqlite_metadata.h"
#include "index/sqlite_metadata_rows.h"

namespace as {

using namespace rows;  // NOLINT(build/namespaces): the helpers are this file's vocabulary

namespace {

constexpr const char* kUploadCols = "id, tenant, bucket, key, coalesce(attrs, ''), created";
constexpr const char* kPartCols =
    "upload, number, manifest, content, size, coalesce(attrs, ''), created";

UploadRow ColUpload(const SqliteStmt& st, int first = 0) {
  return UploadRow{st.Text(first),     st.Text(first + 1), st.Text(first + 2),
                   st.Text(first + 3), st.Text(first + 4), st.Int(first + 5)};
}

Result<PartRow> ColPart(const SqliteStmt& st, int first = 0) {
  PartRow p;
  p.upload = st.Text(first);
  p.number = static_cast<uint32_t>(st.Int(first + 1));
  AS_ASSIGN_OR_RETURN(p.manifest, ColDigest(st, first + 2));
  AS_ASSIGN_OR_RETURN(p.content, ColDigest(st, first + 3));
  p.size = static_cast<uint64_t>(st.Int(first + 4));
  p.attrs = st.Text(first + 5);
  p.created = st.Int(first + 6);
  return p;
}

// The smallest string greater than every string starting with `prefix`
// (bytewise), or "" when there is none (all 0xff).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c != 0xff) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

}  // namespace

namespace {
// About 16K names of a few hundred bytes each: a few MiB at most.
constexpr size_t kNameCacheEntries = 16384;
}  // namespace

Result<std::string> SqliteMetadata::GetMeta(const std::string& key) {
  // A read on the writer's connection: it takes the writer's mutex but is
  // not a write, so it leaves the name cache alone.
  std::lock_guard<std::mutex> l(mu_);
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT value FROM meta WHERE key = ?"));
  st.Bind(1, key);
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("metadata key " + key);
  return st.Text(0);
}

Status SqliteMetadata::SetMeta(const std::string& key, const std::string& value) {
  WriteLock l(this);
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR REPLACE INTO meta VALUES (?, ?)"));
  st.Bind(1, key).Bind(2, value);
  return st.Run();
}

Result<uint32_t> SqliteMetadata::TenantDomain(const std::string& tenant, bool create) {
  {
    std::shared_lock<std::shared_mutex> r(domains_mu_);
    auto it = domains_.find(tenant);
    if (it != domains_.end()) return it->second;
  }
  AS_ASSIGN_OR_RETURN(uint32_t d, LoadTenantDomain(tenant, create));
  std::unique_lock<std::shared_mutex> w(domains_mu_);
  domains_[tenant] = d;
  return d;
}

Result<uint32_t> SqliteMetadata::LoadTenantDomain(const std::string& tenant, bool create) {
  static const std::string kSql = "SELECT domain FROM tenants WHERE name = ?";
  {
    AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
    AS_ASSIGN_OR_RETURN(auto c, r.Cached(kSql));
    c->Bind(1, tenant);
    AS_ASSIGN_OR_RETURN(bool found, c->Step());
    if (found) return static_cast<uint32_t>(c->Int(0));
  }
  if (!create) return Status::NotFound("tenant '" + tenant + "'");
  // Made here or by a concurrent call since the read above: INSERT OR IGNORE.
  WriteLock l(this);
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare(kSql));
  AS_ASSIGN_OR_RETURN(auto ins, db_->Prepare(
      "INSERT OR IGNORE INTO tenants VALUES (?, (SELECT coalesce(max(domain), 0) + 1 FROM "
      "tenants), ?)"));
  ins.Bind(1, tenant).Bind(2, static_cast<int64_t>(std::time(nullptr)));
  AS_RETURN_IF_ERROR(ins.Run());
  st.Bind(1, tenant);
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal("tenant '" + tenant + "' vanished after insert");
  return static_cast<uint32_t>(st.Int(0));
}

Status SqliteMetadata::RestoreTenant(const std::string& tenant, uint32_t domain) {
  WriteLock l(this);
  AS_ASSIGN_OR_RETURN(auto st,
                      db_->Prepare("SELECT name, domain FROM tenants WHERE name = ? OR domain = ?"));
  st.Bind(1, tenant).Bind(2, static_cast<int64_t>(domain));
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) {
    const std::string name = st.Text(0);
    const auto dom = static_cast<uint32_t>(st.Int(1));
    if (name == tenant && dom == domain) return Status::OK();
    return Status::AlreadyExists("tenant '" + tenant + "' for domain " + std::to_string(domain) +
                                 ": the database has tenant '" + name + "' in domain " +
                                 std::to_string(dom));
  }
  AS_ASSIGN_OR_RETURN(auto ins, db_->Prepare("INSERT INTO tenants VALUES (?, ?, ?)"));
  ins.Bind(1, tenant)
      .Bind(2, static_cast<int64_t>(domain))
      .Bind(3, static_cast<int64_t>(std::time(nullptr)));
  AS_RETURN_IF_ERROR(ins.Run());
  std::unique_lock<std::shared_mutex> w(domains_mu_);
  domains_[tenant] = domain;
  return Status::OK();
}

namespace {
Status InsertKey(SqliteDb* db, const KeyRow& k, bool with_id) {
  AS_ASSIGN_OR_RETURN(auto st, db->Prepare(
      with_id ? "INSERT INTO keys(id, domain, kind, wrapped, created) VALUES (?,?,?,?,?)"
              : "INSERT INTO keys(id, domain, kind, wrapped, created) VALUES "
                "((SELECT coalesce(max(id), 0) + 1 FROM keys),?,?,?,?)"));
  int i = 1;
  if (with_id) st.Bind(i++, int64_t{k.id});
  st.Bind(i, int64_t{k.domain}).Bind(i + 1, std::string(1, k.kind));
  st.BindBlob(i + 2, k.wrapped.data(), k.wrapped.size()).Bind(i + 3, k.created);
  return st.Run();
}

Result<uint32_t> LastKeyId(SqliteDb* db) {
  AS_ASSIGN_OR_RETURN(auto st, db->Prepare("SELECT max(id) FROM keys"));
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal("no key after insert");
  return static_cast<uint32_t>(st.Int(0));
}

KeyRow ColKey(const SqliteStmt& q) {
  KeyRow k;
  k.id = static_cast<uint32_t>(q.Int(0));
  k.domain = static_cast<uint32_t>(q.Int(1));
  const std::string kind = q.Text(2);
  k.kind = kind.empty() ? '?' : kind[0];
  size_t n = 0;
  const uint8_t* p = q.BlobPtr(3, &n);
  k.wrapped.assign(p, p + n);
  k.created = q.Int(4);
  return k;
}
}  // namespace

Result<uint32_t> SqliteMetadata::CreateTenant(const std::string& tenant,
                                              const NewTenantKeys& keys) {
  WriteLock l(this);
  uint32_t domain = 0;
  AS_RETURN_IF_ERROR(InTransaction(db_.get(), [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("SELECT 1 FROM tenants WHERE name = ?"));
    st.Bind(1, tenant);
    AS_ASSIGN_OR_RETURN(bool found, st.Step());
    if (found) return Status::AlreadyExists("tenant '" + tenant + "' exists");
    AS_ASSIGN_OR_RETURN(auto d, db_->Prepare("SELECT coalesce(max(domain), 0) + 1 FROM tenants"));
    AS_ASSIGN_OR_RETURN(bool row, d.Step());
    if (!row) return Status::Internal("no next domain");
    domain = static_cast<uint32_t>(d.Int(0));
    AS_ASSIGN_OR_RETURN(auto ins, db_->Prepare("INSERT INTO tenants VALUES (?, ?, ?)"));
    ins.Bind(1, tenant).Bind(2, int64_t{domain}).Bind(3, static_cast<int64_t>(std::time(nullptr)));
    AS_RETURN_IF_ERROR(ins.Run());
    if (!keys) return Status::OK();
    AS_ASSIGN_OR_RETURN(std::vector<KeyRow> rows, keys(domain));
    for (const KeyRow& k : rows) AS_RETURN_IF_ERROR(InsertKey(db_.get(), k, false));
    return Status::OK();
  }));
  std::unique_lock<std::shared_mutex> w(domains_mu_);
  domains_[tenant] = domain;
  return domain;
}

Result<std::vector<KeyRow>> SqliteMetadata::ListKeys() {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(
      "SELECT id, domain, kind, wrapped, created FROM keys ORDER BY id"));
  return CollectRows<KeyRow>(st, ColKey);
}

Result<uint32_t> SqliteMetadata::AddKey(const KeyRow& k) {
  WriteLock l(this);
  uint32_t id = 0;
  AS_RETURN_IF_ERROR(InTransaction(db_.get(), [&]() -> Status {
    AS_RETURN_IF_ERROR(InsertKey(db_.get(), k, false));
    AS_ASSIGN_OR_RETURN(id, LastKeyId(db_.get()));
    return Status::OK();
  }));
  return id;
}

Status SqliteMetadata::RewrapKeys(const std::vector<KeyRow>& rows, const std::string& meta_key,
                                  const std::string& meta_value) {
  WriteLock l(this);
  return InTransaction(db_.get(), [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto ids, db_->Prepare("SELECT id FROM keys ORDER BY id"));
    std::vector<uint32_t> have;
    while (true) {
      AS_ASSIGN_OR_RETURN(bool row, ids.Step());
      if (!row) break;
      have.push_back(static_cast<uint32_t>(ids.Int(0)));
    }
    std::vector<uint32_t> given;
    for (const KeyRow& k : rows) given.push_back(k.id);
    std::sort(given.begin(), given.end());
    if (have != given) {
      return Status::FailedPrecondition("the store's keys changed during the rewrap; run it again");
    }
    AS_ASSIGN_OR_RETURN(auto up, db_->Prepare("UPDATE keys SET wrapped = ? WHERE id = ?"));
    for (const KeyRow& k : rows) {
      up.BindBlob(1, k.wrapped.data(), k.wrapped.size()).Bind(2, int64_t{k.id});
      AS_RETURN_IF_ERROR(up.Run());
      up.Reset();
    }
    AS_ASSIGN_OR_RETURN(auto m, db_->Prepare("INSERT OR REPLACE INTO meta VALUES (?, ?)"));
    m.Bind(1, meta_key).Bind(2, meta_value);
    return m.Run();
  });
}

Status SqliteMetadata::RestoreKeys(const std::vector<KeyRow>& rows) {
  WriteLock l(this);
  return InTransaction(db_.get(), [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto st, db_->Prepare(
        "SELECT id, domain, kind, wrapped, created FROM keys WHERE id = ?"));
    for (const KeyRow& k : rows) {
      st.Bind(1, int64_t{k.id});
      AS_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row) {
        KeyRow have = ColKey(st);
        if (have.domain != k.domain || have.kind != k.kind || have.wrapped != k.wrapped) {
          return Status::AlreadyExists("key " + std::to_string(k.id) +
                                       " is in the database with other contents");
        }
      } else {
        AS_RETURN_IF_ERROR(InsertKey(db_.get(), k, true));
      }
      st.Reset();
    }
    return Status::OK();
  });
}

Status SqliteMetadata::RetireKeys(uint32_t domain, const std::vector<uint32_t>& ids,
                                  std::vector<uint32_t>* deleted) {
  WriteLock l(this);
  deleted->clear();
  return InTransaction(db_.get(), [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto del, db_->Prepare(
        "DELETE FROM keys WHERE id = ? AND domain = ? AND kind = 'D' AND id < "
        "(SELECT max(id) FROM keys WHERE domain = ? AND kind = 'D')"));
    for (uint32_t id : ids) {
      del.Bind(1, int64_t{id}).Bind(2, int64_t{domain}).Bind(3, int64_t{domain});
      AS_RETURN_IF_ERROR(del.Run());
      if (db_->Changes() > 0) deleted->push_back(id);
      del.Reset();
    }
    return Status::OK();
  });
}

Result<std::optional<NameRow>> SqliteMetadata::GetName(const std::string& tenant,
                                                 const std::string& bucket,
                                                 const std::string& key) {
  static const std::string kSql =
      std::string("SELECT ") + kNameCols + " FROM names WHERE tenant=? AND bucket=? AND key=?";
  // The cache key: the three parts with their lengths, so no two differ
  // only in where one part ends.
  std::string ck;
  ck.reserve(tenant.size() + bucket.size() + key.size() + 8);
  for (const std::string* part : {&tenant, &bucket}) {
    ck += std::to_string(part->size());
    ck += ':';
    ck += *part;
  }
  ck += key;
  // Read before the query: a write that ends after this makes the entry
  // stale, whichever snapshot the query saw.
  const uint64_t writes = writes_.load(std::memory_order_acquire);
  {
    std::lock_guard<std::mutex> l(names_mu_);
    auto it = names_.find(ck);
    if (it != names_.end() && it->second.writes == writes) return it->second.row;
  }
  std::optional<NameRow> found;
  {
    AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
    AS_ASSIGN_OR_RETURN(auto st, r.Cached(kSql));
    st->Bind(1, tenant).Bind(2, bucket).Bind(3, key);
    AS_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row) {
      AS_ASSIGN_OR_RETURN(found, ColName(*st));
    }
  }
  std::lock_guard<std::mutex> l(names_mu_);
  if (names_.size() >= kNameCacheEntries) names_.clear();
  names_.insert_or_assign(std::move(ck), CachedName{writes, found});
  return found;
}

Result<std::vector<NameRow>> SqliteMetadata::ListNames(const std::string& tenant,
                                                 const std::string& prefix) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  // substr() rather than LIKE: names may hold % and _.
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kNameCols +
                                            " FROM names WHERE tenant=? AND substr(bucket || '/' "
                                            "|| key, 1, ?) = ? ORDER BY bucket, key"));
  st.Bind(1, tenant).Bind(2, static_cast<int64_t>(prefix.size())).Bind(3, prefix);
  return QueryNames(st);
}

Result<std::vector<NameRow>> SqliteMetadata::QueryNames(SqliteStmt& st) {
  std::vector<NameRow> out;
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    AS_ASSIGN_OR_RETURN(auto n, ColName(st));
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::optional<NameRow>> SqliteMetadata::FindNameByDigest(const std::string& tenant,
                                                          const Digest& d) {
  // Two indexed lookups (names_content, names_manifest) rather than one
  // "content=? OR manifest=?", which SQLite would answer with a scan.
  static const std::string kSql[2] = {
      std::string("SELECT ") + kNameCols + " FROM names WHERE tenant=? AND content=? LIMIT 1",
      std::string("SELECT ") + kNameCols + " FROM names WHERE manifest=? AND tenant=? LIMIT 1"};
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  for (const std::string& sql : kSql) {
    AS_ASSIGN_OR_RETURN(auto st, r.Cached(sql));
    const bool by_content = &sql == &kSql[0];
    if (by_content) {
      st->Bind(1, tenant);
      BindDigest(*st, 2, d);
    } else {
      BindDigest(*st, 1, d);
      st->Bind(2, tenant);
    }
    AS_ASSIGN_OR_RETURN(auto rows, QueryNames(*st));
    if (!rows.empty()) return std::optional<NameRow>(std::move(rows[0]));
  }
  return std::optional<NameRow>();
}

Result<std::vector<NameRow>> SqliteMetadata::AllNames() {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kNameCols + " FROM names"));
  return QueryNames(st);
}

Result<std::vector<NameRow>> SqliteMetadata::NamesForManifest(const Digest& manifest) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kNameCols +
                                            " FROM names WHERE manifest = ?"));
  BindDigest(st, 1, manifest);
  return QueryNames(st);
}

Status SqliteMetadata::RemoveName(const std::string& tenant, const std::string& bucket,
                            const std::string& key) {
  WriteLock l(this);
  AS_ASSIGN_OR_RETURN(auto st,
                      db_->Prepare("DELETE FROM names WHERE tenant=? AND bucket=? AND key=?"));
  st.Bind(1, tenant).Bind(2, bucket).Bind(3, key);
  AS_RETURN_IF_ERROR(st.Run());
  if (db_->Changes() == 0) return Status::NotFound("name " + bucket + "/" + key);
  return Status::OK();
}

Status SqliteMetadata::CreateBucket(const std::string& tenant, const std::string& bucket) {
  WriteLock l(this);
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT OR IGNORE INTO buckets VALUES (?,?,?)"));
  st.Bind(1, tenant).Bind(2, bucket).Bind(3, static_cast<int64_t>(std::time(nullptr)));
  AS_RETURN_IF_ERROR(st.Run());
  if (db_->Changes() == 0) return Status::AlreadyExists("bucket " + bucket);
  return Status::OK();
}

Status SqliteMetadata::DeleteBucket(const std::string& tenant, const std::string& bucket) {
  WriteLock l(this);
  return InTransaction(db_.get(), [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto busy, db_->Prepare(
        "SELECT EXISTS(SELECT 1 FROM names WHERE tenant=? AND bucket=?) OR "
        "EXISTS(SELECT 1 FROM uploads WHERE tenant=? AND bucket=?)"));
    busy.Bind(1, tenant).Bind(2, bucket).Bind(3, tenant).Bind(4, bucket);
    AS_ASSIGN_OR_RETURN(bool row, busy.Step());
    if (row && busy.Int(0) != 0) {
      return Status::FailedPrecondition("bucket " + bucket + " is not empty");
    }
    AS_ASSIGN_OR_RETURN(auto del, db_->Prepare("DELETE FROM buckets WHERE tenant=? AND bucket=?"));
    del.Bind(1, tenant).Bind(2, bucket);
    AS_RETURN_IF_ERROR(del.Run());
    if (db_->Changes() == 0) return Status::NotFound("bucket " + bucket);
    return Status::OK();
  });
}

Result<std::vector<BucketRow>> SqliteMetadata::ListBuckets(const std::string& tenant) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(
      "SELECT tenant, bucket, created FROM buckets WHERE tenant=? ORDER BY bucket"));
  st.Bind(1, tenant);
  return CollectRows<BucketRow>(
      st, [](const SqliteStmt& q) { return BucketRow{q.Text(0), q.Text(1), q.Int(2)}; });
}

Result<std::optional<BucketRow>> SqliteMetadata::GetBucket(const std::string& tenant,
                                                     const std::string& bucket) {
  static const std::string kSql =
      "SELECT tenant, bucket, created FROM buckets WHERE tenant=? AND bucket=?";
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.Cached(kSql));
  st->Bind(1, tenant).Bind(2, bucket);
  AS_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<BucketRow>();
  return std::optional<BucketRow>(BucketRow{st->Text(0), st->Text(1), st->Int(2)});
}

Result<std::vector<NameRow>> SqliteMetadata::ListKeys(const std::string& tenant,
                                                const std::string& bucket,
                                                const std::string& prefix,
                                                const std::string& after, size_t limit) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  // A range scan on the primary key: key >= prefix and key < PrefixEnd(prefix).
  // Text compares bytewise (BINARY collation), like S3's UTF-8 order.
  const std::string lo = after >= prefix ? after : prefix;
  const std::string hi = PrefixEnd(prefix);
  std::string sql = std::string("SELECT ") + kNameCols +
                    " FROM names WHERE tenant=? AND bucket=? AND key " +
                    (after >= prefix && !after.empty() ? ">" : ">=") + " ?";
  if (!hi.empty()) sql += " AND key < ?";
  sql += " ORDER BY key LIMIT ?";
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(sql));
  st.Bind(1, tenant).Bind(2, bucket).Bind(3, lo);
  if (!hi.empty()) st.Bind(4, hi);
  st.Bind(hi.empty() ? 4 : 5, static_cast<int64_t>(limit));
  return QueryNames(st);
}

Status SqliteMetadata::BindNameLocked(const NameRow& n, bool require_bucket) {
  AS_ASSIGN_OR_RETURN(auto b, db_->Prepare(
      require_bucket ? "SELECT 1 FROM buckets WHERE tenant=? AND bucket=?"
                     : "INSERT OR IGNORE INTO buckets VALUES (?,?,?)"));
  b.Bind(1, n.tenant).Bind(2, n.bucket);
  if (require_bucket) {
    AS_ASSIGN_OR_RETURN(bool row, b.Step());
    if (!row) return Status::NotFound("bucket " + n.bucket);
  } else {
    b.Bind(3, n.created);
    AS_RETURN_IF_ERROR(b.Run());
  }
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare(
      "INSERT INTO names VALUES (?,?,?,?,?,?,1,?,?) ON CONFLICT(tenant, bucket, key) DO "
      "UPDATE SET manifest=excluded.manifest, content=excluded.content, "
      "size=excluded.size, version=names.version+1, created=excluded.created, "
      "attrs=excluded.attrs"));
  st.Bind(1, n.tenant).Bind(2, n.bucket).Bind(3, n.key);
  BindDigest(st, 4, n.manifest);
  BindDigest(st, 5, n.content);
  st.Bind(6, static_cast<int64_t>(n.size)).Bind(7, n.created);
  st.BindBlob(8, n.attrs.data(), n.attrs.size());
  return st.Run();
}

Status SqliteMetadata::SetNameAttrs(const std::string& tenant, const std::string& bucket,
                              const std::string& key, const std::string& attrs,
                              const std::optional<Digest>& expect) {
  WriteLock l(this);
  return InTransaction(db_.get(), [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto st, db_->Prepare(std::string("SELECT ") + kNameCols +
                                              " FROM names WHERE tenant=? AND bucket=? AND key=?"));
    st.Bind(1, tenant).Bind(2, bucket).Bind(3, key);
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("name " + bucket + "/" + key);
    AS_ASSIGN_OR_RETURN(NameRow current, ColName(st));
    if (expect && current.manifest != *expect) {
      return Status::FailedPrecondition("name " + bucket + "/" + key + " was rebound meanwhile");
    }
    AS_ASSIGN_OR_RETURN(
        auto up, db_->Prepare("UPDATE names SET attrs=? WHERE tenant=? AND bucket=? AND key=?"));
    up.BindBlob(1, attrs.data(), attrs.size()).Bind(2, tenant).Bind(3, bucket).Bind(4, key);
    return up.Run();
  });
}

Result<NameRow> SqliteMetadata::CopyName(const NameRow& from, NameRow to, bool require_bucket,
                                   const std::optional<Digest>& expect) {
  WriteLock l(this);
  Status s = InTransaction(db_.get(), [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto st, db_->Prepare(std::string("SELECT ") + kNameCols +
                                              " FROM names WHERE tenant=? AND bucket=? AND key=?"));
    st.Bind(1, from.tenant).Bind(2, from.bucket).Bind(3, from.key);
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("name " + from.bucket + "/" + from.key);
    AS_ASSIGN_OR_RETURN(NameRow src, ColName(st));
    AS_RETURN_IF_ERROR(TakeCopySource(src, expect, &to));
    return BindNameLocked(to, require_bucket);
  });
  if (!s.ok()) return s;
  return to;
}

Status SqliteMetadata::CreateUpload(const UploadRow& u) {
  WriteLock l(this);
  return InTransaction(db_.get(), [&]() -> Status {
    AS_ASSIGN_OR_RETURN(auto b, db_->Prepare("SELECT 1 FROM buckets WHERE tenant=? AND bucket=?"));
    b.Bind(1, u.tenant).Bind(2, u.bucket);
    AS_ASSIGN_OR_RETURN(bool row, b.Step());
    if (!row) return Status::NotFound("bucket " + u.bucket);
    AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO uploads VALUES (?,?,?,?,?,?)"));
    st.Bind(1, u.id).Bind(2, u.tenant).Bind(3, u.bucket).Bind(4, u.key);
    st.BindBlob(5, u.attrs.data(), u.attrs.size()).Bind(6, u.created);
    return st.Run();
  });
}

Result<std::optional<UploadRow>> SqliteMetadata::GetUpload(const std::string& id) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kUploadCols +
                                            " FROM uploads WHERE id=?"));
  st.Bind(1, id);
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<UploadRow>();
  return std::optional<UploadRow>(ColUpload(st));
}

Result<std::vector<UploadRow>> SqliteMetadata::ListUploads(const std::string& tenant,
                                                     const std::string& bucket) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kUploadCols +
                                            " FROM uploads WHERE tenant=? AND bucket=? "
                                            "ORDER BY key, created, id"));
  st.Bind(1, tenant).Bind(2, bucket);
  return CollectRows<UploadRow>(st, [](const SqliteStmt& q) { return ColUpload(q); });
}

Result<std::vector<UploadRow>> SqliteMetadata::UploadsBefore(int64_t cutoff) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kUploadCols +
                                            " FROM uploads WHERE created < ? ORDER BY created"));
  st.Bind(1, cutoff);
  return CollectRows<UploadRow>(st, [](const SqliteStmt& q) { return ColUpload(q); });
}

Result<std::vector<PartRow>> SqliteMetadata::ListParts(const std::string& upload) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(std::string("SELECT ") + kPartCols +
                                            " FROM upload_parts WHERE upload=? ORDER BY number"));
  st.Bind(1, upload);
  return CollectRows<PartRow>(st, [](const SqliteStmt& q) { return ColPart(q); });
}

Result<std::vector<std::pair<std::string, PartRow>>> SqliteMetadata::AllParts() {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(
      "SELECT u.tenant, p.upload, p.number, p.manifest, p.content, p.size, "
      "coalesce(p.attrs, ''), p.created FROM upload_parts p JOIN uploads u ON u.id = p.upload"));
  std::vector<std::pair<std::string, PartRow>> out;
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    AS_ASSIGN_OR_RETURN(auto p, ColPart(st, 1));
    out.emplace_back(st.Text(0), std::move(p));
  }
  return out;
}

Status SqliteMetadata::InsertPartLocked(const PartRow& p) {
  // The upload must still exist: an abort (or gc expiry) that won the race
  // leaves nothing to attach the part to.
  AS_ASSIGN_OR_RETURN(auto u, db_->Prepare("SELECT 1 FROM uploads WHERE id=?"));
  u.Bind(1, p.upload);
  AS_ASSIGN_OR_RETURN(bool row, u.Step());
  if (!row) return Status::NotFound("upload " + p.upload);
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare(
      "INSERT OR REPLACE INTO upload_parts VALUES (?,?,?,?,?,?,?)"));
  st.Bind(1, p.upload).Bind(2, int64_t{p.number});
  BindDigest(st, 3, p.manifest);
  BindDigest(st, 4, p.content);
  st.Bind(5, static_cast<int64_t>(p.size));
  st.BindBlob(6, p.attrs.data(), p.attrs.size()).Bind(7, p.created);
  return st.Run();
}

Status SqliteMetadata::DeleteUploadLocked(const std::string& id) {
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("DELETE FROM uploads WHERE id=?"));
  st.Bind(1, id);
  AS_RETURN_IF_ERROR(st.Run());
  if (db_->Changes() == 0) return Status::NotFound("upload " + id);
  AS_ASSIGN_OR_RETURN(auto parts, db_->Prepare("DELETE FROM upload_parts WHERE upload=?"));
  parts.Bind(1, id);
  return parts.Run();
}

Status SqliteMetadata::DeleteUpload(const std::string& id) {
  WriteLock l(this);
  return InTransaction(db_.get(), [&] { return DeleteUploadLocked(id); });
}

Status SqliteMetadata::AddAccessKey(const AccessKeyRow& k) {
  WriteLock l(this);
  AS_ASSIGN_OR_RETURN(auto st, db_->Prepare("INSERT INTO access_keys VALUES (?,?,?,?)"));
  st.Bind(1, k.id).Bind(2, k.tenant).Bind(3, k.secret).Bind(4, k.created);
  return st.Run();
}

Result<std::optional<AccessKeyRow>> SqliteMetadata::FindAccessKey(const std::string& id) {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(
      "SELECT id, tenant, secret, created FROM access_keys WHERE id=?"));
  st.Bind(1, id);
  AS_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<AccessKeyRow>();
  return std::optional<AccessKeyRow>(AccessKeyRow{st.Text(0), st.Text(1), st.Text(2), st.Int(3)});
}

Result<std::vector<AccessKeyRow>> SqliteMetadata::ListAccessKeys() {
  AS_ASSIGN_OR_RETURN(auto r, pool_->Acquire());
  AS_ASSIGN_OR_RETURN(auto st, r.db().Prepare(
      "SELECT id, tenant, secret, created FROM access_keys ORDER BY tenant, created"));
  return CollectRows<AccessKeyRow>(st, [](const SqliteStmt& q) {
    return AccessKeyRow{q.Text(0), q.Text(1), q.Text(2), q.Int(3)};
  });
}

}  // namespace as

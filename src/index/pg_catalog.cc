// The catalog half of the PostgreSQL metadata (index/metadata.h, Catalog):
// settings, tenants and their encryption keys, names, buckets, multipart
// uploads, access keys.
#include <algorithm>
#include <ctime>

#include "base/bytes.h"
#include "index/pg_conn.h"
#include "index/pg_metadata.h"
#include "index/pg_rows.h"

namespace as {

using namespace pgrows;  // NOLINT: the row helpers are this file's vocabulary

Result<std::string> PgMetadata::GetMeta(const std::string& key) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec("SELECT value FROM meta WHERE key = $1", {key}));
  if (r.rows() == 0) return Status::NotFound("metadata key " + key);
  return r.Text(0, 0);
}

Status PgMetadata::SetMeta(const std::string& key, const std::string& value) {
  return Write([&](PgConn& c) {
    return c.Run(
        "INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        {key, value});
  });
}

Result<uint32_t> PgMetadata::TenantDomain(const std::string& tenant, bool create) {
  {
    std::shared_lock<std::shared_mutex> r(domains_mu_);
    auto it = domains_.find(tenant);
    if (it != domains_.end()) return it->second;
  }
  uint32_t domain = 0;
  {
    auto c = pool_->Acquire();
    AS_ASSIGN_OR_RETURN(auto r, c->Exec("SELECT domain FROM tenants WHERE name = $1", {tenant}));
    if (r.rows() > 0) domain = static_cast<uint32_t>(r.Int(0, 0));
  }
  if (domain == 0) {
    if (!create) return Status::NotFound("tenant '" + tenant + "'");
    AS_RETURN_IF_ERROR(Write([&](PgConn& c) -> Status {
      // The table lock makes max(domain) + 1 safe between servers too.
      AS_RETURN_IF_ERROR(c.Run("LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE"));
      AS_RETURN_IF_ERROR(c.Run(
          "INSERT INTO tenants SELECT $1, coalesce(max(domain), 0) + 1, $2 FROM tenants "
          "ON CONFLICT (name) DO NOTHING",
          {tenant, Now()}));
      AS_ASSIGN_OR_RETURN(auto r, c.Exec("SELECT domain FROM tenants WHERE name = $1", {tenant}));
      if (r.rows() == 0) return Status::Internal("tenant '" + tenant + "' vanished after insert");
      domain = static_cast<uint32_t>(r.Int(0, 0));
      return Status::OK();
    }));
  }
  std::unique_lock<std::shared_mutex> w(domains_mu_);
  domains_[tenant] = domain;
  return domain;
}

Status PgMetadata::RestoreTenant(const std::string& tenant, uint32_t domain) {
  AS_RETURN_IF_ERROR(Write([&](PgConn& c) -> Status {
    AS_RETURN_IF_ERROR(c.Run("LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE"));
    AS_ASSIGN_OR_RETURN(auto r, c.Exec("SELECT name, domain FROM tenants WHERE name = $1 OR "
                                       "domain = $2 LIMIT 1",
                                       {tenant, I(domain)}));
    if (r.rows() > 0) {
      const std::string name = r.Text(0, 0);
      const auto dom = static_cast<uint32_t>(r.Int(0, 1));
      if (name == tenant && dom == domain) return Status::OK();
      return Status::AlreadyExists("tenant '" + tenant + "' for domain " + I(domain) +
                                   ": the database has tenant '" + name + "' in domain " +
                                   I(dom));
    }
    return c.Run("INSERT INTO tenants VALUES ($1, $2, $3)", {tenant, I(domain), Now()});
  }));
  std::unique_lock<std::shared_mutex> w(domains_mu_);
  domains_[tenant] = domain;
  return Status::OK();
}

namespace {

// Key ids are max(id) + 1, read and used in one transaction: the table
// lock makes that safe between servers (two adding keys at once would
// otherwise take the same id, and one would fail). EXCLUSIVE lets readers
// (ListKeys) through.
Status LockKeys(PgConn& c) { return c.Run("LOCK TABLE keys IN EXCLUSIVE MODE"); }

// Inserts k under the next id (after LockKeys); returns the id.
Result<uint32_t> InsertNextKey(PgConn& c, const KeyRow& k) {
  AS_ASSIGN_OR_RETURN(auto r, c.Exec(
      "INSERT INTO keys SELECT coalesce(max(id), 0) + 1, $1, $2, decode($3, 'hex'), $4 "
      "FROM keys RETURNING id",
      {I(k.domain), std::string(1, k.kind), ToHex(k.wrapped.data(), k.wrapped.size()),
       I(k.created)}));
  if (r.rows() != 1) return Status::Internal("no key id after insert");
  return static_cast<uint32_t>(r.Int(0, 0));
}

KeyRow ColKey(const PgResult& q, int i) {
  KeyRow k;
  k.id = static_cast<uint32_t>(q.Int(i, 0));
  k.domain = static_cast<uint32_t>(q.Int(i, 1));
  const std::string kind = q.Text(i, 2);
  k.kind = kind.empty() ? '?' : kind[0];
  const std::string wrapped = q.Bytes(i, 3);
  k.wrapped.assign(wrapped.begin(), wrapped.end());
  k.created = q.Int(i, 4);
  return k;
}

constexpr const char* kKeyCols = "id, domain, kind, wrapped, created";

}  // namespace

Result<uint32_t> PgMetadata::CreateTenant(const std::string& tenant, const NewTenantKeys& keys) {
  uint32_t domain = 0;
  AS_RETURN_IF_ERROR(Write([&](PgConn& c) -> Status {
    // As TenantDomain: the table lock makes max(domain) + 1 safe between
    // servers. tenants first, then keys: no transaction takes them the
    // other way round, so two never wait on each other.
    AS_RETURN_IF_ERROR(c.Run("LOCK TABLE tenants IN SHARE ROW EXCLUSIVE MODE"));
    AS_ASSIGN_OR_RETURN(auto have, c.Exec("SELECT 1 FROM tenants WHERE name = $1", {tenant}));
    if (have.rows() > 0) return Status::AlreadyExists("tenant '" + tenant + "' exists");
    AS_ASSIGN_OR_RETURN(auto r, c.Exec(
        "INSERT INTO tenants SELECT $1, coalesce(max(domain), 0) + 1, $2 FROM tenants "
        "RETURNING domain",
        {tenant, Now()}));
    if (r.rows() != 1) return Status::Internal("no domain for tenant '" + tenant + "'");
    domain = static_cast<uint32_t>(r.Int(0, 0));
    if (!keys) return Status::OK();
    AS_ASSIGN_OR_RETURN(std::vector<KeyRow> rows, keys(domain));
    if (rows.empty()) return Status::OK();
    AS_RETURN_IF_ERROR(LockKeys(c));
    for (const KeyRow& k : rows) AS_RETURN_IF_ERROR(InsertNextKey(c, k).status());
    return Status::OK();
  }));
  std::unique_lock<std::shared_mutex> w(domains_mu_);
  domains_[tenant] = domain;
  return domain;
}

Result<std::vector<KeyRow>> PgMetadata::ListKeys() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r,
                      c->Exec(std::string("SELECT ") + kKeyCols + " FROM keys ORDER BY id"));
  return Collect<KeyRow>(r, [](const PgResult& q, int i) -> Result<KeyRow> {
    return ColKey(q, i);
  });
}

Result<uint32_t> PgMetadata::AddKey(const KeyRow& k) {
  uint32_t id = 0;
  AS_RETURN_IF_ERROR(Write([&](PgConn& c) -> Status {
    AS_RETURN_IF_ERROR(LockKeys(c));
    AS_ASSIGN_OR_RETURN(id, InsertNextKey(c, k));
    return Status::OK();
  }));
  return id;
}

Status PgMetadata::RewrapKeys(const std::vector<KeyRow>& rows, const std::string& meta_key,
                              const std::string& meta_value) {
  return Write([&](PgConn& c) -> Status {
    // The lock holds off AddKey and CreateTenant until this commits, so
    // the set checked here is the set rewrapped.
    AS_RETURN_IF_ERROR(LockKeys(c));
    AS_ASSIGN_OR_RETURN(auto ids, c.Exec("SELECT id FROM keys ORDER BY id"));
    std::vector<uint32_t> have;
    for (int i = 0; i < ids.rows(); i++) have.push_back(static_cast<uint32_t>(ids.Int(i, 0)));
    std::vector<uint32_t> given;
    for (const KeyRow& k : rows) given.push_back(k.id);
    std::sort(given.begin(), given.end());
    if (have != given) {
      return Status::FailedPrecondition("the store's keys changed during the rewrap; run it again");
    }
    // One statement a row: a store has few keys (two per encrypted tenant,
    // one more per data key rotation) and a rewrap is rare.
    for (const KeyRow& k : rows) {
      AS_RETURN_IF_ERROR(c.Run("UPDATE keys SET wrapped = decode($1, 'hex') WHERE id = $2",
                               {ToHex(k.wrapped.data(), k.wrapped.size()), I(k.id)}));
    }
    return c.Run(
        "INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        {meta_key, meta_value});
  });
}

Status PgMetadata::RetireKeys(uint32_t domain, const std::vector<uint32_t>& ids,
                              std::vector<uint32_t>* deleted) {
  return Write([&](PgConn& c) -> Status {
    deleted->clear();
    AS_RETURN_IF_ERROR(LockKeys(c));
    for (uint32_t id : ids) {
      AS_ASSIGN_OR_RETURN(auto r, c.Exec(
          "DELETE FROM keys WHERE id = $1 AND domain = $2 AND kind = 'D' AND id < "
          "(SELECT max(id) FROM keys WHERE domain = $2 AND kind = 'D') RETURNING id",
          {I(id), I(domain)}));
      if (r.rows() > 0) deleted->push_back(id);
    }
    return Status::OK();
  });
}

Status PgMetadata::RestoreKeys(const std::vector<KeyRow>& rows) {
  return Write([&](PgConn& c) -> Status {
    AS_RETURN_IF_ERROR(LockKeys(c));
    for (const KeyRow& k : rows) {
      AS_ASSIGN_OR_RETURN(auto r, c.Exec(std::string("SELECT ") + kKeyCols +
                                             " FROM keys WHERE id = $1",
                                         {I(k.id)}));
      if (r.rows() > 0) {
        const KeyRow have = ColKey(r, 0);
        if (have.domain != k.domain || have.kind != k.kind || have.wrapped != k.wrapped) {
          return Status::AlreadyExists("key " + I(k.id) +
                                       " is in the database with other contents");
        }
        continue;
      }
      AS_RETURN_IF_ERROR(c.Run("INSERT INTO keys VALUES ($1, $2, $3, decode($4, 'hex'), $5)",
                               {I(k.id), I(k.domain), std::string(1, k.kind),
                                ToHex(k.wrapped.data(), k.wrapped.size()), I(k.created)}));
    }
    return Status::OK();
  });
}

Result<std::vector<NameRow>> PgMetadata::QueryNames(const std::string& sql,
                                                    const std::vector<std::string>& params) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(sql, params));
  return Collect<NameRow>(r, ColName);
}

Result<std::optional<NameRow>> PgMetadata::GetName(const std::string& tenant,
                                                   const std::string& bucket,
                                                   const std::string& key) {
  // No cache: another server may rebind the name at any time, and S3
  // promises read-after-write (a primary-key read costs tens of us).
  AS_ASSIGN_OR_RETURN(auto rows,
                      QueryNames(std::string("SELECT ") + kNameCols +
                                     " FROM names WHERE tenant = $1 AND bucket = decode($2, 'hex') "
                                     "AND key = decode($3, 'hex')",
                                 {tenant, PgHexBytes(bucket), PgHexBytes(key)}));
  if (rows.empty()) return std::optional<NameRow>();
  return std::optional<NameRow>(std::move(rows[0]));
}

Result<std::vector<NameRow>> PgMetadata::ListNames(const std::string& tenant,
                                                   const std::string& prefix) {
  // A byte comparison rather than LIKE: names may hold % and _.
  return QueryNames(std::string("SELECT ") + kNameCols +
                        " FROM names WHERE tenant = $1 AND substring(bucket || '\\x2f'::bytea || "
                        "key from 1 for $3) = decode($2, 'hex') ORDER BY bucket, key",
                    {tenant, PgHexBytes(prefix), I(static_cast<int64_t>(prefix.size()))});
}

Result<std::vector<NameRow>> PgMetadata::NamesForManifest(const Digest& manifest) {
  return QueryNames(std::string("SELECT ") + kNameCols +
                        " FROM names WHERE manifest = decode($1, 'hex')",
                    {PgHex(manifest)});
}

Result<std::optional<NameRow>> PgMetadata::FindNameByDigest(const std::string& tenant,
                                                            const Digest& d) {
  for (const char* col : {"content", "manifest"}) {
    AS_ASSIGN_OR_RETURN(auto rows, QueryNames(std::string("SELECT ") + kNameCols +
                                                  " FROM names WHERE tenant = $1 AND " + col +
                                                  " = decode($2, 'hex') LIMIT 1",
                                              {tenant, PgHex(d)}));
    if (!rows.empty()) return std::optional<NameRow>(std::move(rows[0]));
  }
  return std::optional<NameRow>();
}

Result<std::vector<NameRow>> PgMetadata::AllNames() {
  return QueryNames(std::string("SELECT ") + kNameCols + " FROM names", {});
}

Status PgMetadata::RemoveName(const std::string& tenant, const std::string& bucket,
                              const std::string& key) {
  return Write([&](PgConn& c) -> Status {
    AS_ASSIGN_OR_RETURN(auto r, c.Exec("DELETE FROM names WHERE tenant = $1 AND "
                                       "bucket = decode($2, 'hex') AND key = decode($3, 'hex')",
                                       {tenant, PgHexBytes(bucket), PgHexBytes(key)}));
    if (r.Affected() == 0) return Status::NotFound("name " + bucket + "/" + key);
    return Status::OK();
  });
}

Status PgMetadata::CreateBucket(const std::string& tenant, const std::string& bucket) {
  return Write([&](PgConn& c) -> Status {
    AS_ASSIGN_OR_RETURN(auto r, c.Exec("INSERT INTO buckets VALUES ($1, decode($2, 'hex'), $3) "
                                       "ON CONFLICT DO NOTHING",
                                       {tenant, PgHexBytes(bucket), Now()}));
    if (r.Affected() == 0) return Status::AlreadyExists("bucket " + bucket);
    return Status::OK();
  });
}

Status PgMetadata::DeleteBucket(const std::string& tenant, const std::string& bucket) {
  return Write([&](PgConn& c) -> Status {
    // The row first: its lock waits for commits that bind names into the
    // bucket (they hold FOR KEY SHARE on it), so the check below sees them.
    AS_ASSIGN_OR_RETURN(auto del, c.Exec("DELETE FROM buckets WHERE tenant = $1 AND "
                                         "bucket = decode($2, 'hex')",
                                         {tenant, PgHexBytes(bucket)}));
    if (del.Affected() == 0) return Status::NotFound("bucket " + bucket);
    AS_ASSIGN_OR_RETURN(auto busy, c.Exec(
        "SELECT EXISTS(SELECT 1 FROM names WHERE tenant = $1 AND bucket = decode($2, 'hex')) OR "
        "EXISTS(SELECT 1 FROM uploads WHERE tenant = $1 AND bucket = decode($2, 'hex'))",
        {tenant, PgHexBytes(bucket)}));
    if (busy.Text(0, 0) == "t") {
      return Status::FailedPrecondition("bucket " + bucket + " is not empty");
    }
    return Status::OK();
  });
}

Result<std::vector<BucketRow>> PgMetadata::ListBuckets(const std::string& tenant) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec("SELECT tenant, bucket, created FROM buckets "
                                      "WHERE tenant = $1 ORDER BY bucket",
                                      {tenant}));
  return Collect<BucketRow>(r, [](const PgResult& q, int i) -> Result<BucketRow> {
    return BucketRow{q.Text(i, 0), q.Bytes(i, 1), q.Int(i, 2)};
  });
}

Result<std::optional<BucketRow>> PgMetadata::GetBucket(const std::string& tenant,
                                                       const std::string& bucket) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec("SELECT tenant, bucket, created FROM buckets "
                                      "WHERE tenant = $1 AND bucket = decode($2, 'hex')",
                                      {tenant, PgHexBytes(bucket)}));
  if (r.rows() == 0) return std::optional<BucketRow>();
  return std::optional<BucketRow>(BucketRow{r.Text(0, 0), r.Bytes(0, 1), r.Int(0, 2)});
}

Result<std::vector<NameRow>> PgMetadata::ListKeys(const std::string& tenant,
                                                  const std::string& bucket,
                                                  const std::string& prefix,
                                                  const std::string& after, size_t limit) {
  // A range scan on the primary key: key >= prefix (or > after) and
  // key < PrefixEnd(prefix), bytewise.
  const bool from_after = after >= prefix && !after.empty();
  const std::string lo = from_after ? after : prefix;
  const std::string hi = PrefixEnd(prefix);
  std::string sql = std::string("SELECT ") + kNameCols +
                    " FROM names WHERE tenant = $1 AND bucket = decode($2, 'hex') AND key " +
                    (from_after ? ">" : ">=") + " decode($3, 'hex')";
  std::vector<std::string> params = {tenant, PgHexBytes(bucket), PgHexBytes(lo),
                                     I(static_cast<int64_t>(limit))};
  if (!hi.empty()) {
    sql += " AND key < decode($5, 'hex')";
    params.push_back(PgHexBytes(hi));
  }
  sql += " ORDER BY key LIMIT $4";
  return QueryNames(sql, params);
}

Status PgMetadata::SetNameAttrs(const std::string& tenant, const std::string& bucket,
                                const std::string& key, const std::string& attrs,
                                const std::optional<Digest>& expect) {
  return Write([&](PgConn& c) -> Status {
    AS_ASSIGN_OR_RETURN(auto r, c.Exec("SELECT manifest FROM names WHERE tenant = $1 AND "
                                       "bucket = decode($2, 'hex') AND key = decode($3, 'hex') "
                                       "FOR UPDATE",
                                       {tenant, PgHexBytes(bucket), PgHexBytes(key)}));
    if (r.rows() == 0) return Status::NotFound("name " + bucket + "/" + key);
    AS_ASSIGN_OR_RETURN(Digest current, r.Dig(0, 0));
    if (expect && current != *expect) {
      return Status::FailedPrecondition("name " + bucket + "/" + key + " was rebound meanwhile");
    }
    return c.Run("UPDATE names SET attrs = decode($4, 'hex') WHERE tenant = $1 AND "
                 "bucket = decode($2, 'hex') AND key = decode($3, 'hex')",
                 {tenant, PgHexBytes(bucket), PgHexBytes(key), PgHexBytes(attrs)});
  });
}

Status PgMetadata::CreateUpload(const UploadRow& u) {
  return Write([&](PgConn& c) -> Status {
    AS_ASSIGN_OR_RETURN(auto b, c.Exec("SELECT 1 FROM buckets WHERE tenant = $1 AND "
                                       "bucket = decode($2, 'hex') FOR KEY SHARE",
                                       {u.tenant, PgHexBytes(u.bucket)}));
    if (b.rows() == 0) return Status::NotFound("bucket " + u.bucket);
    return c.Run("INSERT INTO uploads VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'), "
                 "decode($5, 'hex'), $6)",
                 {u.id, u.tenant, PgHexBytes(u.bucket), PgHexBytes(u.key), PgHexBytes(u.attrs),
                  I(u.created)});
  });
}

Result<std::optional<UploadRow>> PgMetadata::GetUpload(const std::string& id) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(std::string("SELECT ") + kUploadCols +
                                          " FROM uploads WHERE id = $1",
                                      {id}));
  if (r.rows() == 0) return std::optional<UploadRow>();
  return std::optional<UploadRow>(ColUpload(r, 0));
}

Result<std::vector<UploadRow>> PgMetadata::ListUploads(const std::string& tenant,
                                                       const std::string& bucket) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(std::string("SELECT ") + kUploadCols +
                                          " FROM uploads WHERE tenant = $1 AND "
                                          "bucket = decode($2, 'hex') ORDER BY key, created, id",
                                      {tenant, PgHexBytes(bucket)}));
  return Collect<UploadRow>(r, ColUpload);
}

Result<std::vector<UploadRow>> PgMetadata::UploadsBefore(int64_t cutoff) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(std::string("SELECT ") + kUploadCols +
                                          " FROM uploads WHERE created < $1 ORDER BY created",
                                      {I(cutoff)}));
  return Collect<UploadRow>(r, ColUpload);
}

Result<std::vector<PartRow>> PgMetadata::ListParts(const std::string& upload) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(std::string("SELECT ") + kPartCols +
                                          " FROM upload_parts WHERE upload = $1 ORDER BY number",
                                      {upload}));
  return Collect<PartRow>(r, [](const PgResult& q, int i) { return ColPart(q, i); });
}

Result<std::vector<std::pair<std::string, PartRow>>> PgMetadata::AllParts() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec(
      "SELECT u.tenant, p.upload, p.number, p.manifest, p.content, p.size, p.attrs, p.created "
      "FROM upload_parts p JOIN uploads u ON u.id = p.upload"));
  std::vector<std::pair<std::string, PartRow>> out;
  for (int i = 0; i < r.rows(); i++) {
    AS_ASSIGN_OR_RETURN(auto p, ColPart(r, i, 1));
    out.emplace_back(r.Text(i, 0), std::move(p));
  }
  return out;
}

Status PgMetadata::DeleteUploadIn(PgConn& c, const std::string& id) {
  AS_ASSIGN_OR_RETURN(auto r, c.Exec("DELETE FROM uploads WHERE id = $1", {id}));
  if (r.Affected() == 0) return Status::NotFound("upload " + id);
  return c.Run("DELETE FROM upload_parts WHERE upload = $1", {id});
}

Status PgMetadata::AddAccessKey(const AccessKeyRow& k) {
  return Write([&](PgConn& c) {
    return c.Run("INSERT INTO access_keys VALUES ($1, $2, $3, $4)",
                 {k.id, k.tenant, k.secret, I(k.created)});
  });
}

Result<std::optional<AccessKeyRow>> PgMetadata::FindAccessKey(const std::string& id) {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec("SELECT id, tenant, secret, created FROM access_keys "
                                      "WHERE id = $1",
                                      {id}));
  if (r.rows() == 0) return std::optional<AccessKeyRow>();
  return std::optional<AccessKeyRow>(
      AccessKeyRow{r.Text(0, 0), r.Text(0, 1), r.Text(0, 2), r.Int(0, 3)});
}

Result<std::vector<AccessKeyRow>> PgMetadata::ListAccessKeys() {
  auto c = pool_->Acquire();
  AS_ASSIGN_OR_RETURN(auto r, c->Exec("SELECT id, tenant, secret, created FROM access_keys "
                                      "ORDER BY tenant, created"));
  return Collect<AccessKeyRow>(r, [](const PgResult& q, int i) -> Result<AccessKeyRow> {
    return AccessKeyRow{q.Text(i, 0), q.Text(i, 1), q.Text(i, 2), q.Int(i, 3)};
  });
}

}  // namespace as

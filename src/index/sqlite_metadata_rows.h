// Row helpers shared by the metadata source files (not a public header):
// digest columns, names rows, transactions.
#pragma once

#include "index/sqlite_metadata.h"

namespace as::rows {

struct DigestBlob {
  uint8_t b[1 + Digest::kMaxSize];
  size_t n;
  explicit DigestBlob(const Digest& d) : n(d.EncodedSize()) { d.EncodeTo(b); }
};

inline SqliteStmt& BindDigest(SqliteStmt& st, int i, const Digest& d) {
  DigestBlob b(d);
  return st.BindBlob(i, b.b, b.n);
}

inline Result<Digest> ColDigest(const SqliteStmt& st, int col) {
  size_t n = 0;
  const uint8_t* p = st.BlobPtr(col, &n);
  auto d = Digest::Decode(p, n);
  if (!d.ok()) return d.status().WithContext("metadata row");
  return d;
}

// Reads a names row selected as kNameCols.
inline Result<NameRow> ColName(const SqliteStmt& st) {
  NameRow r;
  r.tenant = st.Text(0);
  r.bucket = st.Text(1);
  r.key = st.Text(2);
  AS_ASSIGN_OR_RETURN(r.manifest, ColDigest(st, 3));
  AS_ASSIGN_OR_RETURN(r.content, ColDigest(st, 4));
  r.size = static_cast<uint64_t>(st.Int(5));
  r.version = static_cast<uint64_t>(st.Int(6));
  r.created = st.Int(7);
  r.attrs = st.Text(8);
  return r;
}

inline constexpr const char* kNameCols =
    "tenant, bucket, key, manifest, content, size, version, created, coalesce(attrs, '')";
// Runs fn inside BEGIN IMMEDIATE .. COMMIT, rolling back on failure.
template <typename Fn>
Status InTransaction(SqliteDb* db, Fn&& fn) {
  AS_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
  Status s = fn();
  if (s.ok()) s = db->Exec("COMMIT");
  if (!s.ok()) db->Exec("ROLLBACK").IgnoreError();
  return s;
}

// Steps st to the end, turning each row into a Row with col(st), which
// returns a Row or a Result<Row>.
template <typename Row, typename Col>
Result<std::vector<Row>> CollectRows(SqliteStmt& st, Col&& col) {
  std::vector<Row> out;
  while (true) {
    AS_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Result<Row> r = col(st);
    if (!r.ok()) return r.status();
    out.push_back(std::move(r).value());
  }
  return out;
}

}  // namespace as::rows

// Row helpers shared by the PostgreSQL metadata's source files (not a public
// header): column lists, row readers, batched parameters.
#pragma once

#include <ctime>
#include <algorithm>
#include <string>
#include <vector>

#include "index/metadata.h"
#include "index/pg_conn.h"

namespace as::pgrows {

constexpr const char* kManifestCols =
    "digest, content, size, chunks, pack, off, frame_len, raw_len, domain";
constexpr const char* kNameCols =
    "tenant, bucket, key, manifest, content, size, version, created, attrs";
constexpr const char* kUploadCols = "id, tenant, bucket, key, attrs, created";
constexpr const char* kPartCols = "upload, number, manifest, content, size, attrs, created";
constexpr const char* kPackCols = "id, name, size, frames, created, domain";

inline std::string I(int64_t v) { return std::to_string(v); }
inline std::string Now() { return I(static_cast<int64_t>(std::time(nullptr))); }

inline Location ColLocation(const PgResult& r, int row, int first) {
  return Location{r.Int(row, first), static_cast<uint64_t>(r.Int(row, first + 1)),
                  static_cast<uint32_t>(r.Int(row, first + 2)),
                  static_cast<uint32_t>(r.Int(row, first + 3))};
}

inline Result<ManifestRow> ColManifest(const PgResult& r, int row) {
  ManifestRow m;
  AS_ASSIGN_OR_RETURN(m.digest, r.Dig(row, 0));
  AS_ASSIGN_OR_RETURN(m.content, r.Dig(row, 1));
  m.size = static_cast<uint64_t>(r.Int(row, 2));
  m.chunks = static_cast<uint64_t>(r.Int(row, 3));
  m.loc = ColLocation(r, row, 4);
  m.domain = static_cast<uint32_t>(r.Int(row, 8));
  return m;
}

inline Result<NameRow> ColName(const PgResult& r, int row) {
  NameRow n;
  n.tenant = r.Text(row, 0);
  n.bucket = r.Bytes(row, 1);
  n.key = r.Bytes(row, 2);
  AS_ASSIGN_OR_RETURN(n.manifest, r.Dig(row, 3));
  AS_ASSIGN_OR_RETURN(n.content, r.Dig(row, 4));
  n.size = static_cast<uint64_t>(r.Int(row, 5));
  n.version = static_cast<uint64_t>(r.Int(row, 6));
  n.created = r.Int(row, 7);
  n.attrs = r.Bytes(row, 8);
  return n;
}

inline PackRow ColPack(const PgResult& r, int row) {
  return PackRow{r.Int(row, 0), r.Text(row, 1), static_cast<uint64_t>(r.Int(row, 2)),
                 static_cast<uint32_t>(r.Int(row, 3)), r.Int(row, 4),
                 static_cast<uint32_t>(r.Int(row, 5))};
}

inline UploadRow ColUpload(const PgResult& r, int row) {
  return UploadRow{r.Text(row, 0), r.Text(row, 1), r.Bytes(row, 2),
                   r.Bytes(row, 3), r.Bytes(row, 4), r.Int(row, 5)};
}

inline Result<PartRow> ColPart(const PgResult& r, int row, int first = 0) {
  PartRow p;
  p.upload = r.Text(row, first);
  p.number = static_cast<uint32_t>(r.Int(row, first + 1));
  AS_ASSIGN_OR_RETURN(p.manifest, r.Dig(row, first + 2));
  AS_ASSIGN_OR_RETURN(p.content, r.Dig(row, first + 3));
  p.size = static_cast<uint64_t>(r.Int(row, first + 4));
  p.attrs = r.Bytes(row, first + 5);
  p.created = r.Int(row, first + 6);
  return p;
}

template <typename Row, typename Col>
inline Result<std::vector<Row>> Collect(const PgResult& r, Col&& col) {
  std::vector<Row> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); i++) {
    Result<Row> row = col(r, i);
    if (!row.ok()) return row.status();
    out.push_back(std::move(row).value());
  }
  return out;
}

// Comma-joined lists, for unnest(string_to_array($n, ',')): a batch of rows
// in one statement instead of one round trip each.
struct Columns {
  std::vector<std::string> cols;
  explicit Columns(size_t n) : cols(n) {}
  void Add(size_t i, const std::string& v) {
    if (!cols[i].empty()) cols[i] += ',';
    cols[i] += v;
  }
};

// At most this many rows per batched statement: bounds one statement's
// parameter text (about 100 bytes a row) at a few MiB.
constexpr size_t kBatchRows = 20000;

// Runs `run` once per batch of at most kBatchRows of `rows`, each batch as
// `ncols` text columns that `add` fills one row at a time (for statements
// over unnest(string_to_array($1, ','), ...)).
template <typename Row, typename Add, typename Run>
Status InBatches(const std::vector<Row>& rows, size_t ncols, Add add, Run run) {
  for (size_t at = 0; at < rows.size(); at += kBatchRows) {
    Columns cols(ncols);
    for (size_t i = at; i < std::min(rows.size(), at + kBatchRows); i++) add(cols, rows[i]);
    AS_RETURN_IF_ERROR(run(cols.cols));
  }
  return Status::OK();
}

// The smallest string greater than every string starting with `prefix`
// (bytewise), or "" when there is none (all 0xff).
inline std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto c = static_cast<unsigned char>(prefix.back());
    if (c != 0xff) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

inline int64_t ResolvePack(int64_t p, const std::vector<int64_t>& ids) {
  return p >= 0 ? ids.at(static_cast<size_t>(p)) : -1 - p;
}

}  // namespace as::pgrows

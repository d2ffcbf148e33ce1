#include "store/store_config.h"

#include <sys/stat.h>

#include <cerrno>

#include "base/bytes.h"
#include "s3client/s3_pack_store.h"
#include "store/store_impl.h"

namespace as {

namespace {

// A CONFIG line's part without the spaces and tabs around it (and a
// trailing '\r' from an editor that writes CRLF).
std::string Trim(std::string_view s) {
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return std::string(TrimOws(s));
}

}  // namespace

Result<StoreConfig> ReadStoreConfig(Env* env, const std::string& dir) {
  StoreConfig c;
  const std::string path = dir + "/" + kStoreConfigFile;
  if (!env->FileExists(path)) return c;
  AS_ASSIGN_OR_RETURN(std::string text, env->ReadFileToString(path));
  size_t at = 0, line_no = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = Trim(std::string_view(text).substr(at, end - at));
    at = end + 1;
    line_no++;
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) +
                                     ": expected `key = value`");
    }
    const std::string_view view(line);
    const std::string key = Trim(view.substr(0, eq)), value = Trim(view.substr(eq + 1));
    if (key == "store_uuid") {
      c.store_uuid = value;
    } else if (key == "metadata") {
      c.metadata = value;
    } else if (key == "packs") {
      c.packs = value;
    } else if (key == "s3_endpoint") {
      c.s3_endpoint = value;
    } else if (key == "s3_credentials") {
      c.s3_credentials = value;
    } else {
      return Status::Unsupported(path + ":" + std::to_string(line_no) + ": unknown setting '" +
                                 key + "' (a newer artifact-store made this store?)");
    }
  }
  return c;
}

Status WriteStoreConfig(Env* env, const std::string& dir, const StoreConfig& c) {
  std::string text =
      "# artifact-store: where this store's parts are (docs/format/store.md)\n"
      "store_uuid = " + c.store_uuid + "\n";
  if (!c.metadata.empty()) text += "metadata = " + c.metadata + "\n";
  if (!c.packs.empty()) text += "packs = " + c.packs + "\n";
  if (!c.s3_endpoint.empty()) text += "s3_endpoint = " + c.s3_endpoint + "\n";
  if (!c.s3_credentials.empty()) text += "s3_credentials = " + c.s3_credentials + "\n";
  return env->WriteStringToFileSync(dir + "/" + kStoreConfigFile, text);
}

Result<std::unique_ptr<PackStore>> OpenPackStore(Env* env, const std::string& dir,
                                                 const StoreConfig& config, bool create) {
  if (config.packs.empty()) {
    if (!config.s3_endpoint.empty()) {
      return Status::InvalidArgument("s3_endpoint " + config.s3_endpoint +
                                     " without packs = s3://bucket/prefix");
    }
    return NewLocalPackStore(env, dir + "/packs");
  }
  if (config.s3_endpoint.empty()) {
    return Status::InvalidArgument("packs " + config.packs +
                                   " needs an S3 endpoint (init --s3-endpoint URL)");
  }
  AS_ASSIGN_OR_RETURN(auto creds, LoadS3Credentials(config.s3_credentials));
  return OpenS3PackStore(S3Endpoint{config.s3_endpoint, std::move(creds)}, config.packs,
                         config.store_uuid, create);
}

Result<std::string> NewStoreUuid() { return RandomText(32, "0123456789abcdef"); }

Result<std::pair<std::unique_ptr<Metadata>, bool>> OpenMetadata(Env* env, const std::string& dir,
                                                                const StoreConfig& config,
                                                                bool exists,
                                                                const StoreOptions& options) {
  std::unique_ptr<Metadata> meta;
  bool recreate = false;
  if (config.metadata.empty()) {
    const std::string db_path = dir + "/metadata.db";
    recreate = exists && !env->FileExists(db_path);
    if (recreate && !options.recreate_missing_metadata) {
      return Status::Corruption("metadata database " + db_path +
                                " is missing; `artifact-store repair --reindex` rebuilds it "
                                "from the packs");
    }
    if (recreate) {
      // A WAL left by the lost database must not be replayed into a new one.
      env->RemoveFile(db_path + "-wal").IgnoreError();
      env->RemoveFile(db_path + "-shm").IgnoreError();
    }
    AS_ASSIGN_OR_RETURN(meta, Metadata::Open(db_path, !exists || recreate));
    // The database holds tenants' secret keys: owner-only, like
    // ~/.aws/credentials. (SQLite gives the -wal file the database's mode.)
    for (const char* suffix : {"", "-wal"}) {
      if (::chmod((db_path + suffix).c_str(), 0600) != 0 && errno != ENOENT) {
        return Status::FromErrno("chmod 0600 " + db_path + suffix, errno);
      }
    }
  } else {
    if (!Metadata::IsUrl(config.metadata)) {
      return Status::InvalidArgument("metadata " + config.metadata +
                                     ": not a postgresql:// URL (leave it out for SQLite in the "
                                     "store directory)");
    }
    auto m = Metadata::Open(config.metadata, !exists);
    if (!m.ok() && !exists && m.status().code() == Code::kAlreadyExists) {
      // Ours, if an init of this very store stopped before its marker.
      auto mine = Metadata::Open(config.metadata, false);
      if (mine.ok()) {
        auto uuid = (*mine)->GetMeta("store_uuid");
        if (uuid.ok() && *uuid == config.store_uuid) m = std::move(mine);
      }
    }
    if (!m.ok() && exists && m.status().code() == Code::kNotFound) {
      if (!options.recreate_missing_metadata) {
        return Status::Corruption(m.status().message() +
                                  "; `artifact-store repair --reindex` rebuilds the index from "
                                  "the packs");
      }
      recreate = true;
      m = Metadata::Open(config.metadata, true);
    }
    if (!m.ok()) return m.status();
    meta = std::move(m).value();
  }
  if (exists && !recreate && !config.store_uuid.empty()) {
    auto uuid = meta->GetMeta("store_uuid");
    if (uuid.ok() && *uuid != config.store_uuid) {
      return Status::FailedPrecondition("metadata " + meta->Describe() + " belongs to store " +
                                        *uuid + ", not to " + dir + " (store " +
                                        config.store_uuid + ")");
    }
  }
  if (recreate && !config.store_uuid.empty()) {
    AS_RETURN_IF_ERROR(meta->SetMeta("store_uuid", config.store_uuid));
  }
  if (!config.store_uuid.empty()) {
    // Several servers share a store only if they share its packs (a bucket).
    AS_RETURN_IF_ERROR(meta->LockStore(config.store_uuid, config.packs.empty()));
  }
  return std::make_pair(std::move(meta), recreate);
}

}  // namespace as

#include "crypto/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace as::crypto {
namespace {

// Wrapped form: a version byte, then Seal's nonce || ciphertext || tag.
constexpr uint8_t kWrapVersion = 1;
constexpr size_t kWrappedSize = 1 + kKeySize + kSealOverhead;

class FileMasterKey final : public MasterKey {
 public:
  FileMasterKey(std::string path, const Key& k) : path_(std::move(path)), key_(k) {}
  std::string Describe() const override { return "master key file " + path_; }

  Result<std::vector<uint8_t>> Wrap(const Key& key, std::string_view aad) override {
    std::vector<uint8_t> out(kWrappedSize);
    out[0] = kWrapVersion;
    AS_RETURN_IF_ERROR(Seal(key_, aad, key.data(), kKeySize, out.data() + 1));
    return out;
  }

  Result<Key> Unwrap(const std::vector<uint8_t>& w, std::string_view aad) override {
    if (w.size() != kWrappedSize || w[0] != kWrapVersion) {
      return Status::Corruption("a wrapped key of " + std::to_string(w.size()) +
                                " bytes (version " + std::to_string(w.empty() ? 0 : w[0]) +
                                "), not a version 1 wrapped key");
    }
    Key k;
    if (!Open(key_, aad, w.data() + 1, w.size() - 1, k.data()).ok()) {
      return Status::InvalidArgument(Describe() +
                                     " does not open this store's keys (another key, or one "
                                     "that was rotated out)");
    }
    return k;
  }

 private:
  std::string path_;
  Key key_;
};

Status Errno(const std::string& what, const std::string& path) {
  return Status::FromErrno(what + " master key file " + path, errno);
}

}  // namespace

Result<std::unique_ptr<MasterKey>> OpenMasterKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::NotFound("master key file " + path + " does not exist");
    }
    return Errno("cannot open", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("cannot stat", path);
    ::close(fd);
    return s;
  }
  auto refuse = [&](const std::string& why) {
    ::close(fd);
    return Status::InvalidArgument("master key file " + path + " " + why);
  };
  if (!S_ISREG(st.st_mode)) return refuse("is not a regular file");
  if (st.st_uid != ::geteuid()) return refuse("is not owned by this user");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return refuse(std::string("has mode ") + mode +
                  "; it must not be readable by group or others (chmod 600)");
  }
  if (st.st_size != static_cast<off_t>(kKeySize)) {
    return refuse("holds " + std::to_string(st.st_size) + " bytes, not the " +
                  std::to_string(kKeySize) + " random bytes of a key");
  }
  Key k;
  ssize_t got = ::pread(fd, k.data(), kKeySize, 0);
  ::close(fd);
  if (got != static_cast<ssize_t>(kKeySize)) return Errno("cannot read", path);
  return std::unique_ptr<MasterKey>(new FileMasterKey(path, k));
}

Status CreateMasterKeyFile(const std::string& path) {
  AS_ASSIGN_OR_RETURN(Key k, RandomKey());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists("master key file " + path + " exists");
    return Errno("cannot create", path);
  }
  bool ok = ::write(fd, k.data(), kKeySize) == static_cast<ssize_t>(kKeySize) && ::fsync(fd) == 0;
  Status s = ok ? Status::OK() : Errno("cannot write", path);
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return s;
  }
  // Its directory entry durable too.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string(".")
                          : slash == 0               ? std::string("/")
                                                     : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

}  // namespace as::crypto

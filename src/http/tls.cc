#include "http/tls.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

namespace as {

namespace {

// The first error OpenSSL queued, in words ("" when none); the queue is
// emptied either way.
std::string TakeSslError() {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    // "error:0A00010B:SSL routines::wrong version number": the words.
    const char* words = std::strrchr(buf, ':');
    out = words && words[1] ? words + 1 : buf;
  }
  ERR_clear_error();
  return out;
}

std::string Time(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// A passphrase-protected key would otherwise make OpenSSL prompt on the
// terminal: refuse, noting that one was asked for (*asked, when given), so
// that Load can say so.
int NoPassphrase(char*, int, int, void* asked) {
  if (asked) *static_cast<bool*>(asked) = true;
  return -1;
}

// Opens `path` for reading, or says why not, naming it and what it is for.
Result<std::unique_ptr<BIO, decltype(&BIO_free)>> OpenPem(const std::string& path,
                                                          const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::FromErrno(std::string("TLS ") + what + " " + path, errno);
  BIO* b = BIO_new_fp(f, BIO_CLOSE);
  if (!b) {
    std::fclose(f);
    return Status::Internal("TLS: out of memory");
  }
  return std::unique_ptr<BIO, decltype(&BIO_free)>(b, BIO_free);
}

// ALPN: HTTP/1.1 when offered; otherwise no answer (the client decides).
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* sel = nullptr;
  unsigned char sel_len = 0;
  if (SSL_select_next_proto(&sel, &sel_len, kHttp11, sizeof(kHttp11), in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = sel;
    *outlen = sel_len;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

struct Built {
  std::shared_ptr<ssl_ctx_st> ctx;
  std::string describe;
};

Result<Built> Build(const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  // The certificate chain: the leaf first, then its intermediates.
  AS_ASSIGN_OR_RETURN(auto cb, OpenPem(cert_file, "certificate"));
  std::unique_ptr<X509, decltype(&X509_free)> leaf(
      PEM_read_bio_X509_AUX(cb.get(), nullptr, NoPassphrase, nullptr), X509_free);
  if (!leaf) {
    return Status::InvalidArgument("TLS certificate " + cert_file +
                                   ": no PEM certificate in it (" + TakeSslError() + ")");
  }
  std::vector<std::unique_ptr<X509, decltype(&X509_free)>> chain;
  for (;;) {
    X509* x = PEM_read_bio_X509(cb.get(), nullptr, NoPassphrase, nullptr);
    if (!x) break;
    chain.emplace_back(x, X509_free);
  }
  ERR_clear_error();  // the end of the file reads as "no start line"
  const time_t now = std::time(nullptr);
  if (X509_cmp_time(X509_get0_notAfter(leaf.get()), const_cast<time_t*>(&now)) < 0) {
    return Status::InvalidArgument("TLS certificate " + cert_file + " expired on " +
                                   Time(X509_get0_notAfter(leaf.get())));
  }
  if (X509_cmp_time(X509_get0_notBefore(leaf.get()), const_cast<time_t*>(&now)) > 0) {
    return Status::InvalidArgument("TLS certificate " + cert_file + " is not valid before " +
                                   Time(X509_get0_notBefore(leaf.get())));
  }
  AS_ASSIGN_OR_RETURN(auto kb, OpenPem(key_file, "key"));
  bool passphrase_asked = false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(kb.get(), nullptr, NoPassphrase, &passphrase_asked), EVP_PKEY_free);
  if (!key) {
    std::string why = TakeSslError();
    if (passphrase_asked) {
      return Status::InvalidArgument("TLS key " + key_file +
                                     ": the key is protected by a passphrase; give the server "
                                     "an unencrypted key (openssl pkey -in KEY -out KEY.plain)");
    }
    return Status::InvalidArgument("TLS key " + key_file + ": no PEM private key in it (" + why +
                                   ")");
  }

  std::shared_ptr<ssl_ctx_st> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Status::Internal("TLS: SSL_CTX_new: " + TakeSslError());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  // TLS 1.2: forward secrecy and AEAD only (TLS 1.3's suites all are).
  if (SSL_CTX_set_cipher_list(c, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                 "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                 "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
    return Status::Internal("TLS: cipher list: " + TakeSslError());
  }
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_ENABLE_KTLS |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An idle keep-alive connection keeps no record buffers (~34 KiB each).
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(c, SelectAlpn, nullptr);
  if (SSL_CTX_use_certificate(c, leaf.get()) != 1) {
    return Status::InvalidArgument("TLS certificate " + cert_file + ": " + TakeSslError());
  }
  for (auto& x : chain) {
    if (SSL_CTX_add1_chain_cert(c, x.get()) != 1) {
      return Status::InvalidArgument("TLS certificate " + cert_file + ": chain: " + TakeSslError());
    }
  }
  if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
    return Status::InvalidArgument("TLS key " + key_file + " does not match the certificate in " +
                                   cert_file + " (" + TakeSslError() + ")");
  }
  char subject[256] = "?";
  X509_NAME_oneline(X509_get_subject_name(leaf.get()), subject, sizeof(subject));
  std::string d = std::string("subject ") + subject + ", valid until " +
                  Time(X509_get0_notAfter(leaf.get())) + ", from " + cert_file;
  if (!chain.empty()) d += " (with " + std::to_string(chain.size()) + " chain certificate(s))";
  return Built{std::move(ctx), std::move(d)};
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::Load(std::string cert_file, std::string key_file) {
  std::shared_ptr<TlsContext> t(new TlsContext(std::move(cert_file), std::move(key_file)));
  AS_RETURN_IF_ERROR(t->Reload());
  return t;
}

Status TlsContext::Reload() {
  AS_ASSIGN_OR_RETURN(Built b, Build(cert_file_, key_file_));
  std::lock_guard<std::mutex> l(mu_);
  ctx_ = std::move(b.ctx);
  describe_ = std::move(b.describe);
  return Status::OK();
}

std::string TlsContext::Describe() const {
  std::lock_guard<std::mutex> l(mu_);
  return describe_;
}

ssl_st* TlsContext::NewSession(int fd) const {
  std::shared_ptr<ssl_ctx_st> c;
  {
    std::lock_guard<std::mutex> l(mu_);
    c = ctx_;
  }
  // The session holds its own reference to the context: a Reload() meanwhile
  // does not pull it from under the connection.
  SSL* s = SSL_new(c.get());
  if (s && SSL_set_fd(s, fd) != 1) {
    SSL_free(s);
    s = nullptr;
  }
  ERR_clear_error();
  return s;
}

TlsStep TlsAcceptStep(ssl_st* ssl, std::string* error, bool* plain_http) {
  *plain_http = false;
  ERR_clear_error();
  int r = SSL_accept(ssl);
  if (r == 1) return TlsStep::kDone;
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ) return TlsStep::kWantRead;
  if (e == SSL_ERROR_WANT_WRITE) return TlsStep::kWantWrite;
  unsigned long code = ERR_peek_error();
  if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_HTTP_REQUEST) {
    *plain_http = true;
  }
  if (e == SSL_ERROR_SYSCALL) {
    *error = errno != 0 ? std::strerror(errno) : "the client closed the connection";
    ERR_clear_error();
  } else {
    *error = TakeSslError();
    if (error->empty()) *error = "handshake failed";
  }
  return TlsStep::kFailed;
}

bool TlsKernelSend(ssl_st* ssl) { return BIO_get_ktls_send(SSL_get_wbio(ssl)) != 0; }

void TlsEnd(ssl_st* ssl) {
  if (!ssl) return;
  if (SSL_is_init_finished(ssl) && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN)) {
    // close_notify, so a client reading to the end knows the end is real;
    // never waiting on a client that does not read.
    int fd = SSL_get_fd(ssl);
    int fl = fd >= 0 ? ::fcntl(fd, F_GETFL) : -1;
    if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    SSL_shutdown(ssl);
  }
  ERR_clear_error();
  SSL_free(ssl);
}

ssize_t TlsRecv(ssl_st* ssl, void* p, size_t n) {
  ERR_clear_error();
  errno = 0;
  int r = SSL_read(ssl, p, int(std::min<size_t>(n, INT_MAX)));
  if (r > 0) return r;
  switch (SSL_get_error(ssl, r)) {
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      return 0;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:  // a blocking socket: its timeout passed
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (errno == 0) return 0;  // the peer closed without close_notify
      return -1;
    default:
      ERR_clear_error();
      errno = EPROTO;
      return -1;
  }
}

namespace {
Status WriteAll(ssl_st* ssl, const uint8_t* p, size_t n) {
  while (n > 0) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_write(ssl, p, int(std::min<size_t>(n, 1 << 30)));
    if (r > 0) {
      p += r;
      n -= size_t(r);
      continue;
    }
    int e = SSL_get_error(ssl, r);
    const int err = errno;
    std::string why = TakeSslError();
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ||
        (e == SSL_ERROR_SYSCALL && (err == EAGAIN || err == EWOULDBLOCK))) {
      return Status::IOError("send: client accepted no data before the timeout");
    }
    if (e == SSL_ERROR_SYSCALL && err != 0) return Status::FromErrno("TLS send", err);
    return Status::IOError("TLS send: " + (why.empty() ? std::string("connection closed") : why));
  }
  return Status::OK();
}
}  // namespace

Status TlsSendAll(ssl_st* ssl, const iovec* iov, int count) {
  // One record can carry 16 KiB: pieces smaller than that (a head, a chunk
  // size line) are gathered rather than each sent as a record of its own.
  constexpr size_t kGather = 16 << 10;
  uint8_t gathered[kGather];
  size_t held = 0;
  for (int i = 0; i < count; i++) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    size_t n = iov[i].iov_len;
    if (held + n <= kGather) {
      std::memcpy(gathered + held, p, n);
      held += n;
      continue;
    }
    if (held > 0) {
      // Top the gathered record up to a full one from this piece.
      size_t take = kGather - held;
      std::memcpy(gathered + held, p, take);
      AS_RETURN_IF_ERROR(WriteAll(ssl, gathered, kGather));
      held = 0;
      p += take;
      n -= take;
    }
    if (n >= kGather) {
      AS_RETURN_IF_ERROR(WriteAll(ssl, p, n));
    } else {
      std::memcpy(gathered, p, n);
      held = n;
    }
  }
  return held > 0 ? WriteAll(ssl, gathered, held) : Status::OK();
}

Status TlsSendFile(ssl_st* ssl, int file_fd, uint64_t offset, size_t n) {
  if (TlsKernelSend(ssl)) {
    while (n > 0) {
      ERR_clear_error();
      ossl_ssize_t r = SSL_sendfile(ssl, file_fd, off_t(offset), n, 0);
      if (r > 0) {
        offset += uint64_t(r);
        n -= size_t(r);
        continue;
      }
      const int err = errno;
      std::string why = TakeSslError();
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return Status::IOError("send: client accepted no data before the timeout");
      }
      if (r == 0) return Status::IOError("sendfile: the file ended early");
      return err != 0 ? Status::FromErrno("TLS sendfile", err)
                      : Status::IOError("TLS sendfile: " + why);
    }
    return Status::OK();
  }
  // In user space: the bytes pass through a buffer on their way to be
  // encrypted. One per worker thread, kept: a buffer per call cost a
  // zeroing, page faults and an munmap each time (perf: ~5% of a 64 MiB GET).
  constexpr size_t kPiece = 128 << 10;
  thread_local std::unique_ptr<uint8_t[]> buf;
  if (!buf) buf.reset(new uint8_t[kPiece]);
  while (n > 0) {
    size_t want = std::min(n, kPiece);
    ssize_t r = ::pread(file_fd, buf.get(), want, off_t(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      return r < 0 ? Status::FromErrno("response body: reading a file", errno)
                   : Status::IOError("response body: the file ended before byte " +
                                     std::to_string(offset + n));
    }
    AS_RETURN_IF_ERROR(WriteAll(ssl, buf.get(), size_t(r)));
    offset += uint64_t(r);
    n -= size_t(r);
  }
  return Status::OK();
}

bool TlsPending(ssl_st* ssl) { return SSL_has_pending(ssl) == 1; }

}  // namespace as

// TLS for the HTTP server (OpenSSL 3): a listener's certificate and key, and
// the server side of a connection's handshake.
//
// Contract:
//  - TlsContext::Load checks what an operator gets wrong before the server
//    listens, each error naming the file: missing or unreadable, not PEM, no
//    certificate or no key in it, a key that does not match the
//    certificate, a key protected by a passphrase (never prompted for), a
//    certificate expired or not yet valid.
//  - TLS 1.2 and 1.3 only; in 1.2 only ECDHE with AES-GCM or ChaCha20-Poly1305
//    (forward secrecy, AEAD); no renegotiation, no compression. ALPN:
//    http/1.1 when the client offers it (a client offering only h2 gets no
//    ALPN answer and speaks HTTP/1.1 or leaves).
//  - Kernel TLS is asked for (SSL_OP_ENABLE_KTLS): where the kernel and the
//    cipher allow it, OpenSSL hands the keys to the kernel after the
//    handshake, and the socket then takes sendfile(2) and splice(2) of file
//    bytes, encrypted on their way out without passing through the process.
//  - Reload() swaps in a new certificate and key for connections accepted
//    from then on; connections already open keep theirs. On any error the
//    old pair stays and the error says why.
//  - Thread-safe.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

struct ssl_st;
struct ssl_ctx_st;

namespace as {

class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> Load(std::string cert_file, std::string key_file);
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Reads the two files again (SIGHUP).
  Status Reload();
  // "subject CN=..., valid until 2027-01-05 12:00:00 UTC, from FILE".
  std::string Describe() const;

  // A session for a new connection on `fd`, from the current pair. Null
  // only when OpenSSL is out of memory.
  ssl_st* NewSession(int fd) const;

 private:
  TlsContext(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}
  const std::string cert_file_, key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<ssl_ctx_st> ctx_;  // guarded by mu_
  std::string describe_;             // guarded by mu_
};

// One step of the server side of a handshake on a non-blocking socket.
enum class TlsStep {
  kDone,       // handshake complete
  kWantRead,   // call again when the socket is readable
  kWantWrite,  // ... writable
  kFailed,     // give up; *error says why
};
TlsStep TlsAcceptStep(ssl_st* ssl, std::string* error, bool* plain_http);

// True when the kernel encrypts what is written to the session's socket.
bool TlsKernelSend(ssl_st* ssl);

// Sends close_notify if the session can still say it, without waiting;
// then frees it. Null is fine.
void TlsEnd(ssl_st* ssl);

// recv(2) and sendmsg(2) over a session on a blocking socket (the socket's
// SO_RCVTIMEO/SO_SNDTIMEO bound each wait: EAGAIN after it).
// TlsRecv: >0 bytes, 0 at the end of the stream, -1 with errno set.
ssize_t TlsRecv(ssl_st* ssl, void* p, size_t n);
// Every byte of iov[0..count). Small pieces are gathered so that they leave
// in one record.
Status TlsSendAll(ssl_st* ssl, const iovec* iov, int count);
// n bytes of file_fd from offset: with kernel TLS by sendfile, otherwise
// read and written through the session.
Status TlsSendFile(ssl_st* ssl, int file_fd, uint64_t offset, size_t n);
// Decrypted bytes, or bytes of a record, already read from the socket.
bool TlsPending(ssl_st* ssl);

}  // namespace as

// Internal to the HTTP server: the response half of a connection, and the
// small wire helpers both halves use. No Beast here: the head is written by
// hand (it is a few appends) and leaves with the first body bytes in one
// sendmsg.
//
// Contract: Response frames whatever the handler does. Send() is a whole
// response; WriteHead() commits status and headers but sends nothing until
// the first Write() or Finish(), so a small body shares the head's packet.
// A Content-Length body that ends short is never padded: the connection is
// marked to close, and the client sees a truncated body.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "http/http_server.h"
#include "http/splice_batch.h"

struct ssl_st;

namespace as::http_internal {

// A connection's socket: plain, or TLS (server/tls.h). Both halves of a
// connection read and write through it.
struct Wire {
  int fd = -1;
  ssl_st* ssl = nullptr;     // TLS session (owned by the server); null: plain
  bool kernel_send = false;  // kernel TLS: the kernel encrypts what fd sends
  // File bytes may go to the socket by sendfile/splice: plain, or kernel TLS.
  bool direct_files() const { return !ssl || kernel_send; }
};

bool IEquals(std::string_view a, std::string_view b);  // ASCII case-insensitive
void AppendUint(std::string* out, uint64_t v);
// 16 upper-case hex digits, unique in this process.
void NewRequestId(std::string* out);
// Writes every byte of iov[0..count) (consuming iov), with MSG_NOSIGNAL and
// `flags` (MSG_MORE: more follows at once, hold back a partial packet).
Status SendAll(int fd, iovec* iov, int count, int flags = 0);
// SendAll over the wire (a TLS session ignores flags).
Status SendAll(const Wire& w, iovec* iov, int count, int flags = 0);
// recv(2) over the wire: >0 bytes, 0 at the end, -1 with errno (EAGAIN:
// nothing now when `dontwait`, else nothing within the socket's timeout).
ssize_t Recv(const Wire& w, void* p, size_t n, bool dontwait);
// Bytes already read from the socket that a Recv would give (TLS only).
bool Pending(const Wire& w);

class Response {
 public:
  // What the response asks of its connection when it writes the head.
  class Host {
   public:
    // True when the connection will close after this response whatever the
    // handler does (client asked, server stopping, request body unread).
    virtual bool MustClose() const = 0;

   protected:
    ~Host() = default;
  };

  Response(Host* host, std::string server_name)
      : host_(host), server_name_(std::move(server_name)) {}

  // Starts the response to `req` on `wire` (both kept by pointer).
  void Begin(const Wire* wire, const HttpRequest* req);

  void SetStatus(int status) { status_ = status; }
  void SetHeader(std::string name, std::string value);
  void SetOperation(std::string op) { op_ = std::move(op); }
  void CloseAfter() { close_ = true; }
  Status Send(int status, std::string body, std::string content_type);
  Status WriteHead(std::optional<uint64_t> content_length);
  Status Write(const uint8_t* data, size_t n);
  // Write, sending from file_fd at offset when that pays (see ResponseWriter).
  Status WriteFile(const uint8_t* data, size_t n, int file_fd, uint64_t offset);
  Status Finish();
  // After the handler: 500 if it sent nothing; a chunked body it did not
  // finish is cut (no last chunk); a Content-Length body is finished.
  void Complete();

  bool head_committed() const { return head_committed_; }
  bool head_flushed() const { return head_flushed_; }
  bool close() const { return close_; }
  bool broken() const { return !write_error_.ok(); }  // a send failed
  int status() const { return status_; }
  const std::string& op() const { return op_; }
  uint64_t body_bytes_sent() const { return written_; }

 private:
  void AppendHead(uint64_t length, bool chunked, bool close_delimited);
  // Sends the head if not yet sent, then data raw or as one chunk, and the
  // last chunk if asked, in one syscall.
  Status Flush(const uint8_t* data, size_t n, bool chunk, bool last_chunk, int flags = 0);
  // The checks Write makes before sending n body bytes; sets close_ on an
  // overrun.
  Status CheckWrite(size_t n);
  // Sends what batch_ holds (before anything else goes to the socket).
  Status DrainBatch(bool more);
  Status Failed(Status s);  // records a send error: the connection closes

  Host* const host_;
  const std::string server_name_;
  const Wire* wire_ = nullptr;
  const HttpRequest* req_ = nullptr;
  bool is_head_request_ = false;

  int status_ = 200;
  // headers_[0..header_count_) are live; the rest keep their capacity.
  std::vector<std::pair<std::string, std::string>> headers_;
  size_t header_count_ = 0;
  std::string op_;
  std::string head_;              // serialized head, until flushed
  bool head_committed_ = false;   // Send or WriteHead called
  bool head_flushed_ = false;     // head_ written to the socket
  bool finished_ = false;
  bool close_ = false;            // the connection ends after this response
  bool chunked_ = false;
  bool close_delimited_ = false;  // HTTP/1.0 client, length unknown
  uint64_t promised_ = 0;         // Content-Length, when not chunked
  uint64_t written_ = 0;          // body bytes sent
  Status write_error_;
  SpliceBatch batch_;  // file bytes on their way (large bodies only)
  bool batch_tried_ = false;
};

}  // namespace as::http_internal

// A blocking HTTP/1.1 test client over a raw socket, so tests choose every
// byte on the wire (shared by the server test suites).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace as::testing {

inline std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  uint64_t body_bytes = 0;
  bool complete = false;  // the framing said the body ended (not a cut)
  std::string Header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

// A blocking client with its own read buffer.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  // From now on the bytes go through this TLS session (handshake done; the
  // caller keeps it and frees it after the client).
  void UseTls(SSL* ssl) { ssl_ = ssl; }
  void Close() {
    ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view s) {
    while (!s.empty()) {
      ssize_t r = ssl_ ? SSL_write(ssl_, s.data(), int(s.size()))
                       : ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (r <= 0) return false;
      s.remove_prefix(size_t(r));
    }
    return true;
  }

  // Reads until the buffer holds n bytes; false at end of stream.
  bool Fill(size_t n) {
    while (buf_.size() < n) {
      char tmp[65536];
      ssize_t r = ssl_ ? SSL_read(ssl_, tmp, int(sizeof(tmp))) : ::recv(fd_, tmp, sizeof(tmp), 0);
      if (r <= 0) return false;
      buf_.append(tmp, size_t(r));
    }
    return true;
  }
  bool ReadLine(std::string* line) {
    for (;;) {
      size_t p = buf_.find("\r\n");
      if (p != std::string::npos) {
        *line = buf_.substr(0, p);
        buf_.erase(0, p + 2);
        return true;
      }
      if (!Fill(buf_.size() + 1)) return false;
    }
  }
  // Hands body bytes to `sink` (or keeps them in body when null).
  bool ReadBody(uint64_t n, Response* r, const std::function<void(const char*, size_t)>& sink) {
    while (n > 0) {
      if (buf_.empty() && !Fill(1)) return false;
      size_t k = size_t(std::min<uint64_t>(n, buf_.size()));
      if (sink) {
        sink(buf_.data(), k);
      } else {
        r->body.append(buf_, 0, k);
      }
      r->body_bytes += k;
      buf_.erase(0, k);
      n -= k;
    }
    return true;
  }

  // One response; `head` for a response to HEAD (no body whatever it says).
  Response Read(bool head = false,
                const std::function<void(const char*, size_t)>& sink = nullptr) {
    Response r;
    std::string line;
    if (!ReadLine(&line)) return r;
    if (line.size() < 12 || line.rfind("HTTP/1.", 0) != 0) return r;
    r.status = std::stoi(line.substr(9, 3));
    while (ReadLine(&line) && !line.empty()) {
      size_t c = line.find(':');
      std::string v = line.substr(c + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[Lower(line.substr(0, c))] = v;
    }
    if (head || r.status == 100 || r.status == 204 || r.status == 304) {
      r.complete = true;
      return r;
    }
    if (Lower(r.Header("transfer-encoding")) == "chunked") {
      for (;;) {
        if (!ReadLine(&line)) return r;
        uint64_t n = std::stoull(line, nullptr, 16);
        if (n == 0) {
          while (ReadLine(&line) && !line.empty()) {
          }
          r.complete = true;
          return r;
        }
        if (!ReadBody(n, &r, sink) || !ReadLine(&line)) return r;
      }
    }
    if (!r.Header("content-length").empty()) {
      r.complete = ReadBody(std::stoull(r.Header("content-length")), &r, sink);
      return r;
    }
    while (Fill(buf_.size() + 1)) {
    }
    ReadBody(buf_.size(), &r, sink);
    r.complete = true;
    return r;
  }

  // True when the server closed: the next read sees end of stream.
  bool AtEof() {
    if (!buf_.empty()) return false;
    char c;
    if (ssl_) return SSL_read(ssl_, &c, 1) <= 0;  // close_notify, or the socket's end
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

}  // namespace as::testing

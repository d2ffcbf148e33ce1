// TLS on the HTTP server (server/tls.h): certificates checked at start and
// reloaded, requests and file bodies over TLS, and what a bad client gets.
// Certificates are made here with OpenSSL; the client is OpenSSL's too.
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "http/http_server.h"
#include "http/metrics.h"
#include "http/tls.h"
#include "http_test_client.h"
#include "test_util.h"

namespace as {
namespace {

using testing::Client;

// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
  std::string p = testing::TempDir("tls");
  ~TempDir() { std::filesystem::remove_all(p); }
  const std::string& path() const { return p; }
};

// A self-signed certificate for CN (SAN DNS:localhost, IP:127.0.0.1), valid
// from `from` to `to` seconds from now, and its key; the key encrypted with
// `passphrase` when one is given.
void MakeCert(const std::string& cert_file, const std::string& key_file, const std::string& cn,
              long from = -60, long to = 86400, const char* passphrase = nullptr) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), std::rand() & 0x7fffffff);
  X509_gmtime_adj(X509_getm_notBefore(x), from);
  X509_gmtime_adj(X509_getm_notAfter(x), to);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  std::FILE* f = std::fopen(cert_file.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key_file.c_str(), "w");
  if (passphrase) {
    PEM_write_PrivateKey(f, key, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                         const_cast<char*>(passphrase));
  } else {
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

// A TLS client connection on top of the test client: verifies the server
// against `ca_file`; max_version caps what it offers (0: any).
struct TlsConn {
  std::unique_ptr<Client> c;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::string error;

  TlsConn(int port, const std::string& ca_file, int max_version = 0) : c(new Client(port)) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_security_level(ctx, 0);  // let it offer TLS 1.0 when asked
    if (max_version) SSL_CTX_set_max_proto_version(ctx, max_version);
    SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    static const unsigned char kAlpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof(kAlpn));
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, c->fd());
    SSL_set1_host(ssl, "localhost");
    if (SSL_connect(ssl) != 1) {
      char buf[256] = "";
      ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
      error = buf[0] ? buf : "handshake failed";
      ERR_clear_error();
      return;
    }
    c->UseTls(ssl);
  }
  ~TlsConn() {
    c.reset();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  bool ok() const { return error.empty(); }
  std::string PeerCn() const {
    X509* x = SSL_get1_peer_certificate(ssl);
    if (!x) return "";
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    X509_free(x);
    return cn;
  }
  std::string Alpn() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  testing::Response Get(const std::string& target) {
    EXPECT_TRUE(c->Send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    return c->Read();
  }
};

// True when the server ends the connection (at most a TLS alert before
// the end, never an HTTP answer) before the client's 20 s timeout.
bool ClosedWithoutAnswer(Client& c) {
  std::string got;
  for (;;) {
    char buf[4096];
    ssize_t r = ::recv(c.fd(), buf, sizeof(buf), 0);
    if (r > 0) {
      got.append(buf, size_t(r));
      continue;
    }
    if (r == 0 || errno == ECONNRESET) break;
    ADD_FAILURE() << "still open: " << std::strerror(errno);
    return false;
  }
  // An alert record: content type 21.
  EXPECT_TRUE(got.empty() || got[0] == 21) << "answered: " << got.substr(0, 80);
  return got.empty() || got[0] == 21;
}

// A server with one TLS listener and one plain, and a handler with a few
// routes: /hello, /echo (PUT: answers the body's length), /stream?n=N (N
// generated bytes, written), /file (a file's bytes given by file only).
struct TlsServer {
  TempDir dir;
  std::string cert, key, file;
  std::shared_ptr<TlsContext> tls;
  Metrics metrics;
  std::unique_ptr<HttpServer> server;

  explicit TlsServer(int threads = 4, int handshake_timeout = 10) {
    cert = dir.path() + "/cert.pem";
    key = dir.path() + "/key.pem";
    file = dir.path() + "/body.bin";
    MakeCert(cert, key, "one");
    std::string bytes(5 << 20, 0);
    for (size_t i = 0; i < bytes.size(); i++) bytes[i] = char((i * 131) >> 7);
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    auto t = TlsContext::Load(cert, key);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    tls = *t;
    HttpServerOptions o;
    o.listeners = {{"127.0.0.1:0", tls}, {"127.0.0.1:0", nullptr}};
    o.threads = threads;
    o.tls_handshake_timeout_seconds = handshake_timeout;
    auto s = HttpServer::Start(
        o, [this](const HttpRequest& q, RequestBody& b, ResponseWriter& w) { Handle(q, b, w); },
        &metrics);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    server = std::move(*s);
  }
  int tls_port() const { return std::stoi(server->urls()[0].substr(server->urls()[0].rfind(':') + 1)); }
  int plain_port() const {
    return std::stoi(server->urls()[1].substr(server->urls()[1].rfind(':') + 1));
  }
  static char Byte(uint64_t i) { return char((i * 131) >> 7); }

  void Handle(const HttpRequest& q, RequestBody& b, ResponseWriter& w) {
    const std::string& t = q.target;
    if (t == "/hello") {
      w.Send(200, "hello over " + std::string(q.Header("host") ? *q.Header("host") : "?"),
             "text/plain").IgnoreError();
    } else if (t == "/echo") {
      std::vector<uint8_t> buf(100000);
      uint64_t n = 0;
      for (;;) {
        auto r = b.Read(buf.data(), buf.size());
        if (!r.ok() || *r == 0) break;
        n += *r;
      }
      w.Send(200, std::to_string(n), "text/plain").IgnoreError();
    } else if (t.rfind("/stream?n=", 0) == 0) {
      uint64_t n = std::stoull(t.substr(10));
      w.WriteHead(n).IgnoreError();
      std::string piece;
      for (uint64_t i = 0; i < n;) {
        piece.clear();
        for (; piece.size() < (1 << 20) && i < n; i++) piece.push_back(Byte(i));
        if (!w.Write(reinterpret_cast<const uint8_t*>(piece.data()), piece.size()).ok()) return;
      }
      w.Finish().IgnoreError();
    } else if (t == "/file") {
      int fd = ::open(file.c_str(), O_RDONLY);
      const uint64_t size = std::filesystem::file_size(file);
      w.WriteHead(size).IgnoreError();
      // Pieces of 1 MiB, from the file only (no bytes given).
      for (uint64_t off = 0; off < size; off += 1 << 20) {
        if (!w.WriteFile(nullptr, size_t(std::min<uint64_t>(1 << 20, size - off)), fd, off).ok()) break;
      }
      w.Finish().IgnoreError();
      ::close(fd);
    } else {
      w.Send(404, "", "").IgnoreError();
    }
  }

  double Metric(const std::string& name) {
    std::string text = metrics.Render();
    size_t p = text.find("\n" + name + " ");
    return p == std::string::npos ? -1 : std::stod(text.substr(p + name.size() + 2));
  }
};

TEST(Tls, RequestsBodiesAndPipelinedRequestsGoThroughOneSession) {
  TlsServer s;
  TlsConn c(s.tls_port(), s.cert);
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.PeerCn(), "one");
  EXPECT_EQ(c.Alpn(), "http/1.1");  // offered h2 first: not taken
  EXPECT_EQ(SSL_version(c.ssl) >= TLS1_2_VERSION, true);
  auto r = c.Get("/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello over localhost");
  // An upload larger than a record, then a large written body and a body
  // sent from a file, on the same connection.
  std::string body(3 << 20, 'x');
  ASSERT_TRUE(c.c->Send("PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body));
  r = c.c->Read();
  EXPECT_EQ(r.body, std::to_string(body.size()));
  r = c.Get("/stream?n=7000001");
  ASSERT_TRUE(r.complete);
  ASSERT_EQ(r.body.size(), 7000001u);
  for (uint64_t i = 0; i < r.body.size(); i += 4099) ASSERT_EQ(r.body[i], TlsServer::Byte(i)) << i;
  r = c.Get("/file");
  ASSERT_TRUE(r.complete);
  ASSERT_EQ(r.body.size(), size_t(5 << 20));
  for (uint64_t i = 0; i < r.body.size(); i += 4099) ASSERT_EQ(r.body[i], TlsServer::Byte(i)) << i;
  // Two requests in one record: the second is already decrypted inside the
  // server's session when the first is answered (epoll cannot see it).
  ASSERT_TRUE(c.c->Send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: b\r\n\r\n"));
  EXPECT_EQ(c.c->Read().body, "hello over a");
  EXPECT_EQ(c.c->Read().body, "hello over b");
  EXPECT_EQ(s.Metric("as_tls_connections_userspace_total") +
                s.Metric("as_tls_connections_kernel_total"),
            1);
  // The plain listener serves the same handler.
  Client plain(s.plain_port());
  ASSERT_TRUE(plain.Send("GET /hello HTTP/1.1\r\nHost: p\r\n\r\n"));
  EXPECT_EQ(plain.Read().body, "hello over p");
}

TEST(Tls, PlainHttpOldVersionsAndGarbageAreRefusedAndServingGoesOn) {
  TlsServer s;
  {
    Client plain(s.tls_port());
    ASSERT_TRUE(plain.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = plain.Read();
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("speaks HTTPS"), std::string::npos) << r.body;
  }
  for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    TlsConn old(s.tls_port(), s.cert, version);
    EXPECT_FALSE(old.ok()) << "TLS version " << version << " was accepted";
  }
  {
    Client garbage(s.tls_port());
    std::string junk(3000, '\0');
    for (size_t i = 0; i < junk.size(); i++) junk[i] = char(i * 7 + 22);
    garbage.Send(junk);
    EXPECT_TRUE(ClosedWithoutAnswer(garbage));
  }
  TlsConn good(s.tls_port(), s.cert);
  ASSERT_TRUE(good.ok()) << good.error;
  EXPECT_EQ(good.Get("/hello").status, 200);
  EXPECT_EQ(s.Metric("as_tls_plain_http_refused_total"), 1);
  EXPECT_GE(s.Metric("as_tls_handshake_failures_total"), 4);
}

TEST(Tls, AStalledHandshakeHoldsNoWorkerAndIsCutAtItsTimeout) {
  TlsServer s(/*threads=*/1, /*handshake_timeout=*/1);
  // Half a ClientHello: a record header promising 512 bytes, and 20 of them.
  Client stalled(s.tls_port());
  std::string half = std::string("\x16\x03\x01\x02\x00", 5) + std::string(20, '\x01');
  ASSERT_TRUE(stalled.Send(half));
  Client silent(s.tls_port());  // connects and says nothing
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The one worker is free for a client that completes its handshake.
  {
    TlsConn good(s.tls_port(), s.cert);
    ASSERT_TRUE(good.ok()) << good.error;
    EXPECT_EQ(good.Get("/hello").status, 200);
  }
  // Both are cut once the timeout has passed (the reads end, they do not
  // wait out the client's own 20 s timeout).
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ClosedWithoutAnswer(stalled));
  EXPECT_TRUE(ClosedWithoutAnswer(silent));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  // Counted by the worker that finds them cut, a moment after the client
  // sees the end.
  for (int i = 0; i < 100 && s.Metric("as_tls_handshake_failures_total") < 2; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(s.Metric("as_tls_handshake_failures_total"), 2);
}

TEST(Tls, LoadNamesTheFileOfEachMistake) {
  TempDir dir;
  const std::string cert = dir.path() + "/c.pem", key = dir.path() + "/k.pem";
  MakeCert(cert, key, "one");
  auto expect_error = [](const std::string& c, const std::string& k, const std::string& names,
                         const std::string& says) {
    auto t = TlsContext::Load(c, k);
    ASSERT_FALSE(t.ok()) << "loaded " << c << " " << k;
    EXPECT_NE(t.status().message().find(names), std::string::npos) << t.status().ToString();
    EXPECT_NE(t.status().message().find(says), std::string::npos) << t.status().ToString();
  };
  expect_error(dir.path() + "/missing.pem", key, "missing.pem", "No such file");
  expect_error(cert, dir.path() + "/nokey.pem", "nokey.pem", "No such file");
  std::FILE* f = std::fopen((dir.path() + "/junk.pem").c_str(), "w");
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  expect_error(dir.path() + "/junk.pem", key, "junk.pem", "no PEM certificate");
  expect_error(cert, dir.path() + "/junk.pem", "junk.pem", "no PEM private key");
  MakeCert(dir.path() + "/c2.pem", dir.path() + "/k2.pem", "two");
  expect_error(cert, dir.path() + "/k2.pem", "does not match", "c.pem");
  MakeCert(dir.path() + "/old.pem", dir.path() + "/oldk.pem", "old", -7200, -3600);
  expect_error(dir.path() + "/old.pem", dir.path() + "/oldk.pem", "old.pem", "expired");
  MakeCert(dir.path() + "/soon.pem", dir.path() + "/soonk.pem", "soon", 3600, 7200);
  expect_error(dir.path() + "/soon.pem", dir.path() + "/soonk.pem", "soon.pem", "not valid before");
  MakeCert(dir.path() + "/p.pem", dir.path() + "/pk.pem", "p", -60, 86400, "secret");
  expect_error(dir.path() + "/p.pem", dir.path() + "/pk.pem", "pk.pem", "passphrase");
  auto ok = TlsContext::Load(cert, key);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_NE((*ok)->Describe().find("CN=one"), std::string::npos) << (*ok)->Describe();
}

TEST(Tls, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  TlsServer s;
  TlsConn before(s.tls_port(), s.cert);
  ASSERT_TRUE(before.ok()) << before.error;
  EXPECT_EQ(before.PeerCn(), "one");
  // A bad pair is refused and the old one stays.
  std::FILE* f = std::fopen(s.key.c_str(), "w");
  std::fputs("garbage\n", f);
  std::fclose(f);
  EXPECT_FALSE(s.tls->Reload().ok());
  {
    TlsConn still(s.tls_port(), s.cert);
    ASSERT_TRUE(still.ok()) << still.error;
    EXPECT_EQ(still.PeerCn(), "one");
  }
  MakeCert(s.cert, s.key, "two");
  ASSERT_TRUE(s.tls->Reload().ok());
  TlsConn after(s.tls_port(), s.cert);
  ASSERT_TRUE(after.ok()) << after.error;
  EXPECT_EQ(after.PeerCn(), "two");
  EXPECT_EQ(after.Get("/hello").status, 200);
  // The connection made before goes on with its session.
  auto r = before.Get("/stream?n=3000000");
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.body.size(), 3000000u);
}

}  // namespace
}  // namespace as

// `serve` and `tenant`: the HTTP server over the embedded store, and the
// access keys it authenticates against.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "base/idle_pool.h"
#include "cli/commands.h"
#include "http/http_server.h"
#include "http/metrics.h"
#include "server/oci_api.h"
#include "server/router.h"
#include "server/s3_api.h"
#include "http/tls.h"

namespace as::cli {

using nlohmann::json;

namespace {

// Written to a temporary name and renamed, so a reader never sees half a URL.
// One URL a line, in the order of --listen.
Status WriteReadyFile(const std::string& path, const std::vector<std::string>& urls) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    for (const std::string& url : urls) f << url << "\n";
    if (!f.good()) return Status::IOError("writing " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno("rename " + tmp, errno);
  return Status::OK();
}

// --listen's addresses, each plain or TLS; *tls: the certificate they share.
Result<std::vector<HttpListener>> Listeners(const ServeArgs& a, std::shared_ptr<TlsContext>* tls) {
  std::vector<HttpListener> out;
  std::vector<bool> secure;  // by listener: https://
  for (const std::string& l : a.listen) {
    HttpListener h;
    secure.push_back(l.rfind("https://", 0) == 0);
    if (secure.back()) {
      h.address = l.substr(8);
    } else if (l.rfind("http://", 0) == 0) {
      h.address = l.substr(7);
    } else if (l.find("://") != std::string::npos) {
      return Status::InvalidArgument("--listen " + l + ": the scheme must be http:// or https://");
    } else {
      h.address = l;
    }
    if (!h.address.empty() && h.address.back() == '/') h.address.pop_back();
    out.push_back(std::move(h));
  }
  if (out.empty()) return Status::InvalidArgument("--listen: no address");
  const bool want_tls = std::find(secure.begin(), secure.end(), true) != secure.end();
  const bool files = !a.tls_cert.empty() || !a.tls_key.empty();
  if (want_tls && (a.tls_cert.empty() || a.tls_key.empty())) {
    return Status::InvalidArgument(
        "an https:// listener needs --tls-cert FILE and --tls-key FILE (PEM)");
  }
  if (files && !want_tls) {
    return Status::InvalidArgument(
        "--tls-cert/--tls-key given but no https:// listener: say which address speaks TLS, "
        "e.g. --listen https://0.0.0.0:9443 (a bare HOST:PORT is plain HTTP)");
  }
  if (want_tls) {
    AS_ASSIGN_OR_RETURN(*tls, TlsContext::Load(a.tls_cert, a.tls_key));
    for (size_t i = 0; i < out.size(); i++) {
      if (secure[i]) out[i].tls = *tls;
    }
  }
  return out;
}

// Runs `fn` every `period` on a thread of its own until destroyed (a period
// of 0: never). The destructor waits for a run in progress.
class Every {
 public:
  Every(std::chrono::seconds period, std::function<void()> fn) : fn_(std::move(fn)) {
    if (period.count() > 0) thread_ = std::thread([this, period] { Run(period); });
  }
  Every(const Every&) = delete;
  Every& operator=(const Every&) = delete;
  ~Every() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run(std::chrono::seconds period) {
    std::unique_lock<std::mutex> l(mu_);
    while (!cv_.wait_for(l, period, [this] { return stop_; })) {
      l.unlock();
      fn_();
      l.lock();
    }
  }
  std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: started once the rest is built
};

// Runs gc every `interval` seconds. GC runs beside puts and gets, on this
// server and on the others of the store (Metadata::Doom); one run at a
// time across them, so a run that finds another server's going is skipped.
// A failure is reported and retried at the next run.
class BackgroundGc {
 public:
  // What the runs did, for /metrics (shared: a scrape may outlive this).
  struct Totals {
    std::atomic<uint64_t> runs{0}, failures{0}, bytes_reclaimed{0}, packs_merged{0};
    std::atomic<uint64_t> skipped{0}, resurrected{0}, expelled{0};
    std::atomic<int64_t> horizon_lag{0};
    std::atomic<double> last_seconds{0};
  };

  BackgroundGc(Store* store, int64_t interval, Metrics* metrics)
      : store_(store), totals_(std::make_shared<Totals>()) {
    metrics->AddGaugeSource([t = totals_](std::string* out) {
      Metrics::AppendCounter(out, "as_gc_runs_total", "Background gc runs.", double(t->runs));
      Metrics::AppendCounter(out, "as_gc_failures_total", "Background gc runs that failed.",
                             double(t->failures));
      Metrics::AppendCounter(out, "as_gc_bytes_reclaimed_total", "Pack bytes gc freed.",
                             double(t->bytes_reclaimed));
      Metrics::AppendCounter(out, "as_gc_packs_merged_total",
                             "Small packs gc merged into full-size ones.", double(t->packs_merged));
      Metrics::AppendCounter(out, "as_gc_skipped_total",
                             "Background runs skipped: another server's gc was running.",
                             double(t->skipped));
      Metrics::AppendCounter(out, "as_gc_resurrected_total",
                             "Doomed rows gc kept because a put referenced them meanwhile.",
                             double(t->resurrected));
      Metrics::AppendCounter(out, "as_gc_sessions_expelled_total",
                             "Silent servers' sessions this server's gc expelled.",
                             double(t->expelled));
      Metrics::AppendGauge(out, "as_gc_horizon_lag_epochs",
                           "How far the horizon lagged behind gc's last doom (puts still running "
                           "that began before it).",
                           double(t->horizon_lag));
      Metrics::AppendGauge(out, "as_gc_last_seconds",
                           "How long the last background run that did its work took.",
                           t->last_seconds.load());
    });
    every_.emplace(std::chrono::seconds(interval), [this] { RunOnce(); });
  }

 private:
  void RunOnce() {
    auto r = store_->Gc(GcOptions{});
    // What the run held (its key tables, the metadata writer's larger page
    // cache while it swept: SqliteMetadata::kGcWriterCacheKib) is freed in
    // small blocks that glibc keeps in its arenas unless asked: give them
    // back, so that a server's memory after a gc is what it was before.
    malloc_trim(0);
    if (!r.ok() && r.status().code() == Code::kBusy) {
      totals_->skipped++;  // another server's run: it does the work
      return;
    }
    totals_->runs++;
    if (r.ok()) {
      totals_->bytes_reclaimed += r->bytes_reclaimed;
      totals_->packs_merged += r->packs_merged;
      totals_->resurrected += r->resurrected;
      totals_->expelled += r->sessions_expelled;
      totals_->horizon_lag = r->horizon_lag;
      totals_->last_seconds = r->seconds;
    }
    if (!r.ok()) {
      totals_->failures++;
      std::fprintf(stderr, "artifact-store: background gc: %s\n", r.status().ToString().c_str());
    } else if (r->reserve_released) {
      std::fprintf(stderr,
                   "artifact-store: background gc: the file system was full to the last block: "
                   "released the store's reserve (RESERVE) to commit; %llu bytes freed\n",
                   static_cast<unsigned long long>(r->bytes_reclaimed));
    } else if (!r->rewrites_skipped.empty()) {
      std::fprintf(stderr,
                   "artifact-store: background gc: no room to rewrite packs; deleted those "
                   "with no live data, %llu bytes (%s)\n",
                   static_cast<unsigned long long>(r->bytes_reclaimed),
                   r->rewrites_skipped.c_str());
    } else if (r->bytes_reclaimed || r->uploads_expired || r->packs_merged) {
      std::fprintf(stderr,
                   "artifact-store: gc reclaimed %llu bytes, merged %llu small packs into %llu, "
                   "aborted %llu uploads, in %.1f s\n",
                   static_cast<unsigned long long>(r->bytes_reclaimed),
                   static_cast<unsigned long long>(r->packs_merged),
                   static_cast<unsigned long long>(r->packs_written),
                   static_cast<unsigned long long>(r->uploads_expired), r->seconds);
    }
  }

  Store* store_;
  std::shared_ptr<Totals> totals_;
  std::optional<Every> every_;  // last: stopped first
};

}  // namespace

int CmdServe(const Globals& g, const ServeArgs& a) {
  // Signals are taken by sigwait below: block them before any thread starts
  // so every thread inherits the mask.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // A server runs for weeks and every put starts compression threads with
  // multi-MiB batch buffers. glibc's dynamic mmap threshold would move those
  // into per-thread arenas that it never gives back (RSS grew ~150 MiB per
  // GiB uploaded); a fixed threshold keeps large buffers in mmap, returned on
  // free (tests/server/robust: three 1 GiB puts stay near 50 MiB).
  mallopt(M_MMAP_THRESHOLD, 256 << 10);

  // The listeners first: a mistake in them is an error before the store
  // is opened (or created).
  std::shared_ptr<TlsContext> tls;
  auto listeners = Listeners(a, &tls);
  if (!listeners.ok()) return Fail(listeners.status());

  // keep_filter: the dedup filter loads (or is rebuilt) in the background
  // and is written out as it changes; requests are answered meanwhile.
  auto store = OpenStore(g, /*create=*/true, nullptr, 0, false, {}, false, false,
                         /*keep_filter=*/true);
  if (!store.ok()) return Fail(store.status());
  auto keys = (*store)->ListAccessKeys();
  if (!keys.ok()) return Fail(keys.status());
  if (keys->empty()) {
    auto k = (*store)->AddAccessKey(kDefaultTenant);
    if (!k.ok()) return Fail(k.status());
    std::printf(
        "Created tenant \"%s\" with an S3 access key (shown once; `artifact-store tenant add "
        "NAME` makes more):\n  access key id:     %s\n  secret access key: %s\n",
        k->tenant.c_str(), k->id.c_str(), k->secret.c_str());
    std::fflush(stdout);
  }
  Metrics metrics;
  S3ApiOptions api_options;
  api_options.region = a.region;
  api_options.domains = a.domains;
  S3Api api(store->get(), api_options);
  S3Api::AddStoreGauges(store->get(), &metrics);
  HttpServerOptions ho;
  ho.listeners = std::move(*listeners);
  ho.tls_handshake_timeout_seconds = a.tls_handshake_timeout;
  ho.threads = a.threads;
  ho.pollers = a.pollers;
  OciApi oci(store->get());
  Router router(store->get(), &metrics, &api, &oci);
  auto server = HttpServer::Start(
      ho, [&router](const HttpRequest& req, RequestBody& body, ResponseWriter& w) {
        router.Handle(req, body, w);
      },
      &metrics);
  if (!server.ok()) return Fail(server.status());
  BackgroundGc gc(store->get(), a.gc_interval, &metrics);
  // After a burst the buffer and compressor pools hold ~112 MiB idle; give
  // back what nobody took again within a minute.
  Every trim(std::chrono::seconds(30), [] { TrimIdlePools(std::chrono::seconds(60)); });
  std::string urls;
  for (const std::string& u : (*server)->urls()) urls += (urls.empty() ? "" : ", ") + u;
  std::fprintf(stderr, "artifact-store: serving %s on %s (%d connections at once)\n",
               g.store.c_str(), urls.c_str(), a.threads);
  if (tls) std::fprintf(stderr, "artifact-store: TLS certificate: %s\n", tls->Describe().c_str());
  if (!a.ready_file.empty()) {
    if (Status s = WriteReadyFile(a.ready_file, (*server)->urls()); !s.ok()) return Fail(s);
  }
  int sig = 0;
  while (sigwait(&stop, &sig) == 0 && sig == SIGHUP) {
    if (!tls) {
      std::fprintf(stderr, "artifact-store: SIGHUP: no TLS listener, nothing to reload\n");
    } else if (Status s = tls->Reload(); !s.ok()) {
      std::fprintf(stderr, "artifact-store: SIGHUP: kept the certificate in use: %s\n",
                   s.ToString().c_str());
    } else {
      std::fprintf(stderr, "artifact-store: SIGHUP: reloaded the TLS certificate: %s\n",
                   tls->Describe().c_str());
    }
  }
  std::fprintf(stderr, "artifact-store: %s: finishing requests in flight, then stopping\n",
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*server)->Shutdown();
  return 0;
}

int CmdTenantAdd(const Globals& g, const std::string& tenant, bool encrypt, bool as_json) {
  auto store = OpenStore(g, /*create=*/true);
  if (!store.ok()) return Fail(store.status());
  if (encrypt) {
    Status made = (*store)->CreateTenant(tenant, true);
    if (made.code() == Code::kAlreadyExists) {
      return Fail(Status::AlreadyExists(
          "tenant '" + tenant + "' exists; whether a tenant is encrypted is decided when it is "
          "created (run `tenant add` without --encrypt to add an access key)"));
    }
    if (!made.ok()) return Fail(made);
  }
  auto k = (*store)->AddAccessKey(tenant);
  if (!k.ok()) return Fail(k.status());
  auto info = (*store)->GetTenant(tenant);
  if (!info.ok()) return Fail(info.status());
  if (as_json) {
    std::printf("%s\n", json({{"tenant", k->tenant},
                              {"encrypted", info->encrypted},
                              {"access_key_id", k->id},
                              {"secret_access_key", k->secret}})
                            .dump()
                            .c_str());
  } else {
    std::printf("tenant:            %s%s\naccess key id:     %s\nsecret access key: %s\n",
                k->tenant.c_str(), info->encrypted ? " (encrypted)" : "", k->id.c_str(),
                k->secret.c_str());
  }
  return 0;
}

int CmdTenantRotateKey(const Globals& g, const std::string& tenant, bool as_json) {
  auto store = OpenStore(g);
  if (!store.ok()) return Fail(store.status());
  auto id = (*store)->RotateTenantKey(tenant);
  if (!id.ok()) return Fail(id.status());
  auto info = (*store)->GetTenant(tenant);
  if (!info.ok()) return Fail(info.status());
  if (as_json) {
    std::printf("%s\n", json({{"tenant", tenant}, {"key", *id}, {"keys", info->keys}}).dump().c_str());
  } else {
    std::printf("tenant %s: new frames are sealed under data key %u (%u data keys; older frames "
                "keep theirs until `rekey`)\n",
                tenant.c_str(), *id, info->keys);
  }
  return 0;
}

int CmdTenantRetireKeys(const Globals& g, const std::string& tenant, bool as_json) {
  auto store = OpenStore(g);
  if (!store.ok()) return Fail(store.status());
  auto r = (*store)->RetireTenantKeys(tenant);
  if (!r.ok()) return Fail(r.status());
  if (as_json) {
    json kept = json::array();
    for (const auto& [id, why] : r->kept) kept.push_back({{"key", id}, {"why", why}});
    std::printf("%s\n", json({{"tenant", tenant}, {"retired", r->retired}, {"kept", kept}})
                            .dump()
                            .c_str());
    return 0;
  }
  for (uint32_t id : r->retired) std::printf("retired data key %u\n", id);
  for (const auto& [id, why] : r->kept) std::printf("kept data key %u: %s\n", id, why.c_str());
  if (r->retired.empty() && r->kept.empty()) {
    std::printf("tenant %s has no older data key\n", tenant.c_str());
  }
  return 0;
}

int CmdRotateMasterKey(const Globals& g, const std::string& new_key_file, bool as_json) {
  auto store = OpenStore(g);
  if (!store.ok()) return Fail(store.status());
  Status made = CreateMasterKeyFile(new_key_file);
  if (!made.ok() && made.code() != Code::kAlreadyExists) return Fail(made);
  Status s = (*store)->RotateMasterKey(new_key_file);
  if (!s.ok()) return Fail(s);
  if (as_json) {
    std::printf("%s\n", json({{"master_key_file", new_key_file}}).dump().c_str());
  } else {
    std::printf("every tenant key is now wrapped by %s%s; %s no longer opens the store\n",
                new_key_file.c_str(), made.ok() ? " (made now: keep a copy somewhere safe)" : "",
                g.master_key_file.c_str());
  }
  return 0;
}

int CmdTenantList(const Globals& g, bool as_json) {
  auto store = OpenStore(g);
  if (!store.ok()) return Fail(store.status());
  auto keys = (*store)->ListAccessKeys();
  if (!keys.ok()) return Fail(keys.status());
  json out = json::array();
  for (const AccessKey& k : *keys) {
    if (as_json) {
      out.push_back({{"tenant", k.tenant}, {"access_key_id", k.id}, {"created", k.created}});
    } else {
      std::printf("%-20s %s\n", k.tenant.c_str(), k.id.c_str());
    }
  }
  if (as_json) std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace as::cli

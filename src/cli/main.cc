// artifact-store: command-line interface to an embedded store.
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/commands.h"

using namespace as::cli;

int main(int argc, char** argv) {
  CLI::App app{
      "artifact-store: a content-addressed artifact store.\n"
      "Bytes are cut by FastCDC, addressed by BLAKE3, deduplicated, compressed and packed;\n"
      "every read is checked (CRC-32C per frame). Content digests match `b3sum`."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every command");
  Globals g;
  if (const char* s = std::getenv("ARTIFACT_STORE")) g.store = s;
  if (const char* c = std::getenv("ARTIFACT_STORE_CPU")) g.cpu = c;
  app.add_option("-s,--store", g.store, "Store directory (env ARTIFACT_STORE)")
      ->capture_default_str();
  app.add_option("--cpu", g.cpu,
                 "Cap the kernel tier: portable|sse42|avx2|avx512 (env ARTIFACT_STORE_CPU)");
  app.add_option("--reserve", g.reserve,
                 "Room kept for freeing room: DIR/RESERVE, spent by rm and gc when the file "
                 "system is full to the last block (SIZE: bytes or KiB, MiB, GiB; 0: keep none "
                 "and delete it)")
      ->envname("ARTIFACT_STORE_RESERVE")
      ->transform(CLI::AsSizeValue(false).description(""))
      ->type_name("SIZE")
      ->default_str("16MiB");
  app.add_option("--tenant", g.tenant,
                 "The tenant put, get, ls, stat and rm work in (env ARTIFACT_STORE_TENANT)")
      ->envname("ARTIFACT_STORE_TENANT")
      ->capture_default_str();
  app.add_option("--master-key-file", g.master_key_file,
                 "The store's master key: a file of 32 random bytes, mode 0600, that wraps the "
                 "encrypted tenants' keys. Needed by every command on a store with encrypted "
                 "tenants (env ARTIFACT_STORE_MASTER_KEY_FILE)")
      ->envname("ARTIFACT_STORE_MASTER_KEY_FILE")
      ->type_name("FILE");
  int rc = 0;

  InitArgs init;
  auto* c_init = app.add_subcommand("init", "Create an empty store in --store");
  c_init->add_option("--min", init.min, "Chunker minimum chunk size in bytes (default 16384)");
  c_init->add_option("--avg", init.avg, "Chunker average chunk size (default 65536)");
  c_init->add_option("--max", init.max, "Chunker maximum chunk size (default 262144)");
  c_init->add_option("--nc", init.nc, "Normalization level 0..3 (default 1)");
  c_init->add_option("--pack-size", init.pack_size,
                     "Target pack size in bytes (default 67108864 = 64 MiB; at least 1 MiB)")
      ->check(CLI::Range(uint64_t{1} << 20, uint64_t{1} << 34));
  c_init->add_option(
      "--metadata", init.parts.metadata,
      "Where the metadata lives: leave out for SQLite in the store directory (the default), or "
      "a PostgreSQL URL, postgresql://[USER@]HOST[:PORT]/DB[?options=-csearch_path%3DSCHEMA]. "
      "The password comes from PGPASSWORD or ~/.pgpass (never the URL). Kept in DIR/CONFIG: "
      "every later command needs only -s DIR. One database (or schema) per store. A store "
      "made by a first put or serve (without init) takes ARTIFACT_STORE_METADATA too")
      ->envname("ARTIFACT_STORE_METADATA");
  c_init->add_option(
      "--packs", init.parts.packs,
      "Where the packs live: leave out for DIR/packs (the default), or s3://BUCKET[/PREFIX] on "
      "an S3-compatible server (Ceph RGW, MinIO, AWS), made if missing. A marker object "
      "PREFIX/STORE binds the prefix to this store; another store on it is refused")
      ->envname("ARTIFACT_STORE_PACKS");
  c_init->add_option("--s3-endpoint", init.parts.s3_endpoint,
                     "The S3 server of --packs: http[s]://HOST[:PORT]")
      ->envname("ARTIFACT_STORE_S3_ENDPOINT");
  c_init->add_option(
      "--s3-credentials", init.parts.s3_credentials,
      "A credentials file in AWS's INI form (mode 0600; its [default] section) for "
      "--packs. Without it the keys come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. Keys "
      "never go on the command line or into CONFIG")
      ->envname("ARTIFACT_STORE_S3_CREDENTIALS");
  c_init->add_flag("--encrypt", init.encrypt,
                   "Encrypt every tenant (default among them) at rest with AES-256-GCM; makes "
                   "--master-key-file if it does not exist");
  c_init->add_flag("--json", init.json, "Print JSON");
  c_init->callback([&] { rc = CmdInit(g, init); });

  PutArgs put;
  auto* c_put = app.add_subcommand(
      "put", "Store a file (or - for stdin); prints its content digest blake3:<hex>");
  c_put->add_option("file", put.file, "File to store, or - for stdin")->required();
  c_put->add_option("-n,--name", put.name,
                    "Name BUCKET/KEY (default: default/<file name>; required for stdin)");
  c_put->add_option("--codec", put.codec, "zstd (default) | lz4 | none");
  c_put->add_option("--level", put.level,
                    "zstd level: -7..-1 (fast) or 1..19 (default 1; see docs/benchmarks.md)")
      ->check(CLI::Range(-7, 19));
  c_put->add_flag("--no-delta", put.no_delta,
                  "Store each new chunk on its own, never compressed against the stored "
                  "chunks it resembles (delta chunks cost a read of their bases on get)");
  c_put->add_flag("--json", put.json, "Print JSON: digests, sizes and what was new");
  c_put->callback([&] { rc = CmdPut(g, put); });

  GetArgs get;
  auto* c_get = app.add_subcommand(
      "get", "Write an artifact's bytes, checked, to stdout or -o FILE");
  c_get->add_option("ref", get.ref, "BUCKET/KEY, or a digest blake3:<hex>")->required();
  c_get->add_option("-o,--output", get.out,
                    "Output file (written as FILE.part, fsynced and renamed when complete; "
                    "8 MiB and more bypass the page cache)");
  c_get->add_option("--range", get.range, "Bytes START-END (inclusive) or START- (to the end)");
  c_get->callback([&] { rc = CmdGet(g, get); });

  std::string ls_prefix;
  bool ls_json = false;
  auto* c_ls = app.add_subcommand("ls", "List names, optionally under a prefix");
  c_ls->add_option("prefix", ls_prefix, "Prefix of BUCKET/KEY");
  c_ls->add_flag("--json", ls_json, "Print JSON lines");
  c_ls->callback([&] { rc = CmdLs(g, ls_prefix, ls_json); });

  std::string stat_ref;
  bool stat_json = false;
  auto* c_stat = app.add_subcommand("stat", "Size, digests, chunk count and chunker parameters");
  c_stat->add_option("ref", stat_ref, "BUCKET/KEY or blake3:<hex>")->required();
  c_stat->add_flag("--json", stat_json, "Print JSON");
  c_stat->callback([&] { rc = CmdStat(g, stat_ref, stat_json); });

  std::string rm_name;
  auto* c_rm = app.add_subcommand(
      "rm",
      "Remove a name (space is reclaimed by gc). On a disk full to the last block it spends the "
      "store's reserve (DIR/RESERVE, --reserve) to commit");
  c_rm->add_option("name", rm_name, "BUCKET/KEY")->required();
  c_rm->callback([&] { rc = CmdRm(g, rm_name); });

  ChunksArgs chunks;
  auto* c_chunks = app.add_subcommand(
      "chunks", "Show a file's FastCDC chunks: offset length gear_hash blake3:<hex>");
  c_chunks->add_option("file", chunks.file, "File, or - for stdin")->required();
  c_chunks->add_option("--min", chunks.min, "Minimum chunk size")->capture_default_str();
  c_chunks->add_option("--avg", chunks.avg, "Average chunk size")->capture_default_str();
  c_chunks->add_option("--max", chunks.max, "Maximum chunk size")->capture_default_str();
  c_chunks->add_option("--nc", chunks.nc, "Normalization level 0..3")->capture_default_str();
  c_chunks->add_flag("--json", chunks.json, "Print JSON lines");
  c_chunks->callback([&] { rc = CmdChunks(g, chunks); });

  bool verify_full = false, verify_json = false;
  auto* c_verify = app.add_subcommand(
      "verify",
      "Check the metadata (SQLite: quick_check of metadata.db; PostgreSQL: that no row points at "
      "a missing pack) and every frame's CRC-32C; exit 3 if anything is damaged");
  c_verify->add_flag("--full", verify_full,
                     "Also re-hash every chunk (BLAKE3), decode every manifest and run SQLite's "
                     "full integrity_check");
  c_verify->add_flag("--json", verify_json, "Print JSON");
  c_verify->callback([&] { rc = CmdVerify(g, verify_full, verify_json); });

  GcArgs gc;
  auto* c_gc = app.add_subcommand(
      "gc",
      "Delete packs with no live chunk, rewrite sparse ones, merge small ones; report what was "
      "reclaimed. On a full disk it deletes what needs no copy first, and at the last block "
      "spends the store's reserve (DIR/RESERVE, --reserve) to commit");
  c_gc->add_flag("--dry-run", gc.dry_run, "Report what would be reclaimed; change nothing");
  c_gc->add_option("--threshold", gc.threshold,
                   "Rewrite packs whose live share is under this fraction")
      ->capture_default_str();
  c_gc->add_option("--merge-below", gc.merge_below,
                   "Merge the live frames of packs smaller than BYTES into full-size packs "
                   "(default: a quarter of the pack size, 16 MiB unless `init --pack-size`; "
                   "0: never merge)")
      ->check(CLI::NonNegativeNumber);
  c_gc->add_option("--grace", gc.grace,
                   "Seconds an unreferenced pack file is left alone (an upload may own it)")
      ->capture_default_str();
  c_gc->add_option("--upload-grace", gc.upload_grace,
                   "Seconds after which an unfinished multipart upload is aborted")
      ->capture_default_str();
  c_gc->add_option("--rekey", gc.rekey,
                   "Also rewrite this encrypted tenant's packs that hold frames sealed under an "
                   "older data key, sealing every frame anew under its newest (`rekey`)")
      ->type_name("TENANT");
  c_gc->add_flag("--json", gc.json, "Print JSON");
  c_gc->callback([&] { rc = CmdGc(g, gc); });

  GcArgs rekey;
  auto* c_rekey = app.add_subcommand(
      "rekey",
      "Seal an encrypted tenant's data anew under its newest data key (after `tenant "
      "rotate-key`): a gc pass that rewrites every pack holding an older key's frames, with "
      "gc's crash safety; puts and gets go on meanwhile");
  c_rekey->add_option("TENANT", rekey.rekey, "Tenant name")->required();
  c_rekey->add_flag("--json", rekey.json, "Print JSON");
  c_rekey->callback([&] { rc = CmdGc(g, rekey); });

  bool stats_json = false;
  auto* c_stats = app.add_subcommand(
      "stats",
      "Logical, unique and stored bytes; dedup and compression ratios; free space and the "
      "store's reserve");
  c_stats->add_flag("--json", stats_json, "Print JSON");
  c_stats->callback([&] { rc = CmdStats(g, stats_json); });

  bool reindex = false, repair_json = false;
  auto* c_repair = app.add_subcommand("repair", "Repair the metadata from the packs");
  c_repair
      ->add_flag("--reindex", reindex,
                 "Rebuild the chunk/manifest/pack index from the packs. If the metadata was "
                 "lost (metadata.db deleted, or the PostgreSQL database emptied), also the "
                 "tenants (under their old dedup domains) and the names, from the manifests' "
                 "name hints. Not in the packs, so not restored: S3 access keys "
                 "(issue new ones with `tenant add NAME`), S3 attributes and tags, names made "
                 "by a copy; and names removed since the last gc come back")
      ->required();
  c_repair->add_flag("--json", repair_json, "Print JSON");
  c_repair->callback([&] { rc = CmdReindex(g, repair_json); });

  bool cpu_json = false;
  auto* c_cpu = app.add_subcommand("cpu", "CPU features and the kernel variant chosen for each");
  c_cpu->add_flag("--json", cpu_json, "Print JSON");
  c_cpu->callback([&] { rc = CmdCpu(g, cpu_json); });

  ServeArgs serve;
  auto* c_serve = app.add_subcommand(
      "serve",
      "Serve the store over HTTP: the S3 API (path-style, SigV4) and the content-addressed API "
      "(/v1/blobs/<digest>, /v1/manifests/<digest>), /healthz and /metrics. Creates the store "
      "if missing; on the first serve of a store without keys, creates tenant 'default' and "
      "prints its key once. Stops gracefully on SIGTERM or SIGINT; SIGHUP reloads the TLS "
      "certificate and key.");
  c_serve->add_option("--listen", serve.listen,
                      "Address to listen on, [http://|https://]HOST:PORT (port 0 picks one); "
                      "repeat for several, e.g. --listen https://0.0.0.0:9443 --listen "
                      "127.0.0.1:9000 (TLS for clients, plain for local health checks and "
                      "/metrics). https:// needs --tls-cert and --tls-key")
      ->capture_default_str();
  c_serve->add_option("--tls-cert", serve.tls_cert,
                      "PEM certificate for the https:// listeners: the server's certificate "
                      "first, then its intermediates (a chain file). Checked at start (a "
                      "missing, unreadable, mismatched or expired one is an error naming the "
                      "file) and read again on SIGHUP, without dropping connections");
  c_serve->add_option("--tls-key", serve.tls_key,
                      "PEM private key of --tls-cert, without a passphrase");
  c_serve->add_option("--tls-handshake-timeout", serve.tls_handshake_timeout,
                      "Seconds a client has to complete its TLS handshake")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  c_serve->add_option("--threads", serve.threads,
                      "Requests served at once (one worker thread each); idle keep-alive "
                      "connections hold no thread")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  c_serve->add_option("--pollers", serve.pollers,
                      "Workers that wait for requests at once (0 = CPUs available + 1); the "
                      "rest step in while one waits on a client, a body or the disk")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  c_serve->add_option("--ready-file", serve.ready_file,
                      "Write the server's URLs to this file once it listens, one a line in "
                      "--listen order (for scripts)");
  c_serve->add_option("--gc-interval", serve.gc_interval,
                      "Seconds between background gc runs (0 = never); gc also aborts "
                      "multipart uploads older than a day")
      ->capture_default_str();
  c_serve->add_option("--region", serve.region, "Region reported to S3 clients")
      ->capture_default_str();
  c_serve->add_option("--domain", serve.domains,
                      "Also serve virtual-hosted-style requests (Host: BUCKET.DOMAIN, the default "
                      "of the AWS SDKs for Go, Java and JavaScript when the endpoint is a DNS "
                      "name) for this domain; repeat for several (env ARTIFACT_STORE_DOMAINS, "
                      "comma-separated). Path-style requests work either way")
      ->envname("ARTIFACT_STORE_DOMAINS")
      ->delimiter(',');
  c_serve->callback([&] { rc = CmdServe(g, serve); });

  auto* c_tenant = app.add_subcommand("tenant", "Manage tenants and their S3 access keys");
  c_tenant->require_subcommand(1);
  std::string tenant_name;
  bool tenant_json = false;
  auto* c_tenant_add = c_tenant->add_subcommand(
      "add", "Create a tenant (if new) and a new access key for it; prints the key id and secret");
  c_tenant_add->add_option("NAME", tenant_name, "Tenant name (letters, digits, - _ .)")
      ->required();
  c_tenant_add->add_flag("--json", tenant_json,
                         "Print {\"tenant\", \"access_key_id\", \"secret_access_key\"}");
  bool tenant_encrypt = false;
  c_tenant_add->add_flag("--encrypt", tenant_encrypt,
                         "Make the new tenant encrypted at rest (AES-256-GCM, keyed chunk ids); "
                         "needs --master-key-file. Decided at creation, never changed");
  c_tenant_add->callback(
      [&] { rc = CmdTenantAdd(g, tenant_name, tenant_encrypt, tenant_json); });
  auto* c_tenant_rotate = c_tenant->add_subcommand(
      "rotate-key", "Give an encrypted tenant a new data key: new frames use it, older frames "
                    "stay readable under theirs");
  c_tenant_rotate->add_option("NAME", tenant_name, "Tenant name")->required();
  c_tenant_rotate->add_flag("--json", tenant_json, "Print JSON");
  c_tenant_rotate->callback([&] { rc = CmdTenantRotateKey(g, tenant_name, tenant_json); });
  auto* c_tenant_retire = c_tenant->add_subcommand(
      "retire-keys",
      "Delete an encrypted tenant's older data keys that no frame and no value is sealed under "
      "any more (run `rekey` first); a key newer than a minute, or one still in use, is kept "
      "and reported");
  c_tenant_retire->add_option("NAME", tenant_name, "Tenant name")->required();
  c_tenant_retire->add_flag("--json", tenant_json, "Print JSON");
  c_tenant_retire->callback([&] { rc = CmdTenantRetireKeys(g, tenant_name, tenant_json); });
  bool tenant_ls_json = false;
  auto* c_tenant_ls = c_tenant->add_subcommand("ls", "List tenants' access key ids (no secrets)");
  c_tenant_ls->add_flag("--json", tenant_ls_json, "Print JSON");
  c_tenant_ls->callback([&] { rc = CmdTenantList(g, tenant_ls_json); });

  std::string new_master;
  bool rotate_json = false;
  auto* c_rotate_master = app.add_subcommand(
      "rotate-master-key",
      "Rewrap every tenant key under a new master key, in one transaction (no data is "
      "rewritten); afterwards only the new key opens the store");
  c_rotate_master->add_option("--new-key-file", new_master,
                              "The new master key file (made, mode 0600, if it does not exist)")
      ->required()
      ->type_name("FILE");
  c_rotate_master->add_flag("--json", rotate_json, "Print JSON");
  c_rotate_master->callback([&] { rc = CmdRotateMasterKey(g, new_master, rotate_json); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}

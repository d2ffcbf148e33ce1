#!/usr/bin/env python3
"""Turn the JSON lines of bench/ingest.sh and bench/peers.sh into Markdown tables.

Usage: report.py --ingest FILE.jsonl [--peers FILE.jsonl] [--corpus DIR] > tables.md

Every figure is the median of the runs with (min-max); MB/s is 10^6 bytes per
second of wall time. Ratios are of medians.
"""
import argparse
import collections
import json
import os
import statistics

GiB = 1 << 30
NEW_V2 = None  # genuinely new bytes of real_v2 (from corpus/real_v2.json)


def load(path):
    recs = []
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    recs.append(json.loads(line))
    return recs


class Data:
    def __init__(self, recs):
        self.by = collections.defaultdict(list)
        for r in recs:
            key = (r.get("tool"), r.get("mode"), r.get("corpus"), r.get("op"))
            self.by[key].append(r)

    def get(self, tool, mode, corpus, op):
        return self.by.get((tool, mode, corpus, op), [])

    def series(self, tool, mode, corpus, op, fn):
        out = []
        for r in self.get(tool, mode, corpus, op):
            if r.get("rc", 0) != 0:
                continue
            v = fn(r)
            if v is not None:
                out.append(v)
        return out

    def cpu_mbs(self, tool, mode, corpus, op):
        """MB per CPU second (user + sys): what the path would do with the core to itself."""
        return self.series(tool, mode, corpus, op,
                           lambda r: r["bytes"] / max(r["user"] + r["sys"], 1e-3) / 1e6)

    def mbs(self, tool, mode, corpus, op, plus_sync=None):
        """MB/s per run; plus_sync names the op whose wall time is added (same run)."""
        syncs = {}
        if plus_sync:
            for r in self.get(tool, mode, corpus, plus_sync):
                syncs[r.get("run")] = r["wall"]
        return self.series(tool, mode, corpus, op,
                           lambda r: r["bytes"] / (r["wall"] + syncs.get(r.get("run"), 0)) / 1e6)


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(xs, digits=0, unit=""):
    if not xs:
        return "n/a"
    m = med(xs)
    f = "%%.%df" % digits
    if len(xs) == 1:
        return (f % m) + unit + " (1 run)"
    return (f % m) + unit + " (" + (f % min(xs)) + "-" + (f % max(xs)) + ")"


def mb(n):
    return "%.1f MB" % (n / 1e6) if n is not None else "n/a"


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "n/a"
    return ("%%.%dfx" % digits) % (a / b)


def pct(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return "%.0f%%" % (100.0 * a / b)


def ours_tables(d, modes):
    out = []
    for mode in modes:
        lim = d.get("limit", mode, None, "limits")
        pc = [r["out"]["pagecache_read_gbs"] * 1e3 for r in lim if r.get("out")]
        mc = [r["out"]["memcpy_gbs"] * 1e3 for r in lim if r.get("out")]
        mr = [r["out"]["mem_read_gbs"] * 1e3 for r in lim if r.get("out")]
        dw = d.mbs("limit", mode, "random_1g", "limit_write")
        out.append("\n### artifact-store, %s (%s)\n" % (
            mode, "taskset -c 1" if mode == "1core" else "taskset -c 0,1"))
        out.append("Limits measured in the same run: page-cache `read()` pass %s MB/s, "
                   "memcpy %s MB/s, in-memory read pass %s MB/s, "
                   "`dd bs=4M conv=fdatasync` write of 1 GiB to /tmp %s MB/s.\n" % (
                       fmt(pc), fmt(mc), fmt(mr), fmt(dw)))
        out.append("| path | MB/s median (min-max) | user s | sys s | MB per CPU-s | vs limit |")
        out.append("|---|---|---|---|---|---|")
        for corpus in ("random_1g", "real_v1", "real_v2"):
            xs = d.mbs("artifact-store", mode, corpus, "put")
            us = d.series("artifact-store", mode, corpus, "put", lambda r: r["user"])
            ss = d.series("artifact-store", mode, corpus, "put", lambda r: r["sys"])
            extra = "" if corpus != "real_v2" else " (into the real_v1 store)"
            cx = d.cpu_mbs("artifact-store", mode, corpus, "put")
            out.append("| put %s%s | %s | %s | %s | %s | %s of page-cache read, %s of dd write |" % (
                corpus, extra, fmt(xs), fmt(us, 2), fmt(ss, 2), fmt(cx), pct(med(xs), med(pc)),
                pct(med(xs), med(dw))))
        for corpus in ("random_1g", "real_v1", "real_v2"):
            xs = d.mbs("artifact-store", mode, corpus, "get_warm")
            us = d.series("artifact-store", mode, corpus, "get_warm", lambda r: r["user"])
            ss = d.series("artifact-store", mode, corpus, "get_warm", lambda r: r["sys"])
            cx = d.cpu_mbs("artifact-store", mode, corpus, "get_warm")
            out.append("| get %s, warm cache, to /dev/null | %s | %s | %s | %s | %s of memcpy |" % (
                corpus, fmt(xs), fmt(us, 2), fmt(ss, 2), fmt(cx), pct(med(xs), med(mc))))
        for corpus in ("random_1g", "real_v1"):
            xs = d.mbs("artifact-store", mode, corpus, "get_cold")
            cold = d.mbs("artifact-store", mode, corpus, "limit_cold_read")
            us = d.series("artifact-store", mode, corpus, "get_cold", lambda r: r["user"])
            ss = d.series("artifact-store", mode, corpus, "get_cold", lambda r: r["sys"])
            cx = d.cpu_mbs("artifact-store", mode, corpus, "get_cold")
            out.append("| get %s, cold cache, to /dev/null | %s | %s | %s | %s | cold `cat` of its "
                       "packs: %s MB/s of pack bytes |" % (
                           corpus, fmt(xs), fmt(us, 2), fmt(ss, 2), fmt(cx), fmt(cold)))
        for corpus in ("random_1g", "real_v1", "real_v2"):
            xs = d.mbs("artifact-store", mode, corpus, "get_file")
            us = d.series("artifact-store", mode, corpus, "get_file", lambda r: r["user"])
            ss = d.series("artifact-store", mode, corpus, "get_file", lambda r: r["sys"])
            cx = d.cpu_mbs("artifact-store", mode, corpus, "get_file")
            out.append("| get %s -o /tmp/FILE (with fsync) | %s | %s | %s | %s | %s of dd write |" % (
                corpus, fmt(xs), fmt(us, 2), fmt(ss, 2), fmt(cx), pct(med(xs), med(dw))))
        out.append("")
        out.append("| stored | put --json stored_bytes | du -sB1 of the store (after) |")
        out.append("|---|---|---|")
        for corpus in ("random_1g", "real_v1", "real_v2"):
            st = d.series("artifact-store", mode, corpus, "put",
                          lambda r: (r.get("out") or {}).get("stored_bytes"))
            du = d.series("artifact-store", mode, corpus, "du", lambda r: r.get("du_bytes"))
            label = corpus
            if corpus == "real_v2":
                label = "real_v2 added (new bytes: %s)" % mb(NEW_V2)
                du_v1 = d.series("artifact-store", mode, "real_v1", "du", lambda r: r.get("du_bytes"))
                du = [b - a for a, b in zip(du_v1, du)]
            out.append("| %s | %s | %s |" % (label, mb(med(st)) + spread_mb(st),
                                             mb(med(du)) + spread_mb(du)))
    return out


def spread_mb(xs):
    if len(xs) < 2 or min(xs) == max(xs):
        return ""
    return " (%.1f-%.1f)" % (min(xs) / 1e6, max(xs) / 1e6)


def peers_table(d, peers):
    out = []
    out.append("\n### Peers, one core (taskset -c 1), and artifact-store in the same session\n")
    out.append("Ingest and restore are shown as run, and (in brackets) with a `sync` of the "
               "files written added to the wall time; artifact-store's own figures always "
               "include its fsyncs. Restore of v2 compares with `artifact-store get -o FILE`.\n")
    out.append("| tool | ingest real_v1 MB/s | real_v2 adds | restore v2 MB/s | ingest random_1g MB/s |")
    out.append("|---|---|---|---|---|")
    ours = {
        "v1": d.mbs("artifact-store", "1core", "real_v1", "put"),
        "adds": d.series("artifact-store", "1core", "real_v2", "put",
                         lambda r: (r.get("out") or {}).get("stored_bytes")),
        "restore": d.mbs("artifact-store", "1core", "real_v2", "get_file"),
        "random": d.mbs("artifact-store", "1core", "random_1g", "put"),
    }
    out.append("| artifact-store (zstd default) | %s | %s | %s | %s |" % (
        fmt(ours["v1"]), mb(med(ours["adds"])), fmt(ours["restore"]), fmt(ours["random"])))
    ratios = []
    for p in peers:
        v1 = d.mbs(p, "1core", "real_v1", "put")
        v1s = d.mbs(p, "1core", "real_v1", "put", plus_sync="put_sync")
        adds = d.series(p, "1core", "real_v2", "du", lambda r: r.get("stored_bytes"))
        rs = d.mbs(p, "1core", "real_v2", "restore")
        rss = d.mbs(p, "1core", "real_v2", "restore", plus_sync="restore_sync")
        rnd = d.mbs(p, "1core", "random_1g", "put")
        rnds = d.mbs(p, "1core", "random_1g", "put", plus_sync="put_sync")
        if not (v1 or rnd):
            continue
        out.append("| %s | %s [%s] | %s | %s [%s] | %s [%s] |" % (
            p, fmt(v1), fmt(v1s), mb(med(adds)) + spread_mb(adds), fmt(rs), fmt(rss),
            fmt(rnd), fmt(rnds)))
        ratios.append("| ours / %s | %s | %s | %s | %s |" % (
            p, ratio(med(ours["v1"]), med(v1s)), ratio(med(ours["adds"]), med(adds)),
            ratio(med(ours["restore"]), med(rss)), ratio(med(ours["random"]), med(rnds))))
    out.append("")
    out.append("CPU efficiency, MB per CPU-second (user + sys), which the other people's jobs on the "
               "shared cores disturb less than wall time:\n")
    out.append("| tool | ingest real_v1 | ingest real_v2 | restore v2 | ingest random_1g |")
    out.append("|---|---|---|---|---|")
    for t in ["artifact-store"] + list(peers):
        rest = "get_file" if t == "artifact-store" else "restore"
        out.append("| %s | %s | %s | %s | %s |" % (
            t, fmt(d.cpu_mbs(t, "1core", "real_v1", "put")), fmt(d.cpu_mbs(t, "1core", "real_v2", "put")),
            fmt(d.cpu_mbs(t, "1core", "real_v2", rest)), fmt(d.cpu_mbs(t, "1core", "random_1g", "put"))))
    out.append("")
    out.append("Ratios artifact-store / peer (peer figures with sync; for \"adds\" lower is better):\n")
    out.append("| | ingest real_v1 | real_v2 adds | restore v2 | ingest random_1g |")
    out.append("|---|---|---|---|---|")
    out.extend(ratios)
    return out


def targets(d):
    r = med(d.mbs("artifact-store", "1core", "random_1g", "put"))
    v = med(d.mbs("artifact-store", "1core", "real_v1", "put"))
    gr = med(d.mbs("artifact-store", "1core", "random_1g", "get_warm"))
    gv = med(d.mbs("artifact-store", "1core", "real_v1", "get_warm"))
    grf = med(d.mbs("artifact-store", "1core", "random_1g", "get_file"))
    gvf = med(d.mbs("artifact-store", "1core", "real_v1", "get_file"))
    adds = med(d.series("artifact-store", "1core", "real_v2", "put",
                        lambda r: (r.get("out") or {}).get("stored_bytes")))

    def row(name, target, got, unit, higher=True):
        if got is None:
            return "| %s | %s | n/a | n/a |" % (name, target)
        ok = got >= target[0] if higher else got <= target[0]
        return "| %s | %s %s | %.0f %s | %s (%s of target) |" % (
            name, (">=" if higher else "<="), "%g %s" % (target[0], unit), got, unit,
            "met" if ok else "MISSED", pct(got, target[0]))

    out = ["\n### Issue 2 targets, single core\n",
           "| target | wanted | measured (median) | |", "|---|---|---|---|",
           row("ingest random_1g", (700,), r, "MB/s"),
           row("ingest real_v1 (default codec)", (350,), v, "MB/s"),
           row("restore random_1g (warm, to /dev/null)", (2000,), gr, "MB/s"),
           row("restore random_1g (-o FILE, fsync)", (2000,), grf, "MB/s"),
           row("restore real_v1 (warm, to /dev/null)", (1000,), gv, "MB/s"),
           row("restore real_v1 (-o FILE, fsync)", (1000,), gvf, "MB/s"),
           row("real_v2 adds", (12.8,), adds / 1e6 if adds else None, "MB", higher=False)]
    return out


def main():
    global NEW_V2
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingest", required=True)
    ap.add_argument("--peers")
    ap.add_argument("--corpus")
    a = ap.parse_args()
    recs = load(a.ingest) + load(a.peers)
    d = Data(recs)
    if a.corpus and os.path.exists(os.path.join(a.corpus, "real_v2.json")):
        with open(os.path.join(a.corpus, "real_v2.json")) as f:
            NEW_V2 = json.load(f)["new_bytes"]
    modes = [m for m in ("1core", "2core") if d.get("artifact-store", m, "random_1g", "put")]
    peers = []
    for r in recs:
        t = r.get("tool")
        if t not in ("artifact-store", "limit", None) and t not in peers:
            peers.append(t)
    lines = []
    lines += targets(d)
    lines += ours_tables(d, modes)
    if peers:
        lines += peers_table(d, peers)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

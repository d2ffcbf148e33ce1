#!/usr/bin/python3
"""points.jsonl of bench/http/run.sh (+ the wrk outputs it names) -> Markdown tables.

Per point (server, method, object, connections): medians over the repetitions of
 - req/s: wrk's Requests/sec (completed requests / run time);
 - MB/s (10^6 bytes/s of object bytes): req/s x object size, except for 64 MiB objects,
   where few requests complete in a run and the ones in flight at the end would be
   lost: GET uses wrk's Transfer/sec (every byte read, headers included: <0.001%),
   PUT uses the body bytes the server consumed while the run went on (TCP bytes received
   minus the unread receive queue of its connections, from ss -ti, sampled 0.3 s after
   the start and 0.2 s before the end);
 - MB per server CPU-second: those bytes / (utime+stime of the server during the run),
   the per-core figure that other jobs on the shared cores disturb less than wall time;
 - p50 and p99 latency from wrk --latency (completed requests only).
Ratios are ours / nginx of the medians.
"""
import json
import os
import re
import statistics
import sys

UNITS_T = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
UNITS_B = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
LARGE = 64 << 20


def parse_wrk(path, jsonl):
    if not os.path.exists(path):  # the temp dir is gone: the copy run.sh keeps next to the JSONL
        path = os.path.join(re.sub(r"\.jsonl$", "", jsonl) + "-raw", os.path.basename(path))
    t = open(path, errors="replace").read()
    r = {"ok": False}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", t, re.M)
    if not m:
        return r
    r["ok"] = True
    r["rps"] = float(m.group(1))
    m = re.search(r"^Transfer/sec:\s+([\d.]+)(\w+)", t, re.M)
    r["tps"] = float(m.group(1)) * UNITS_B[m.group(2)] if m else 0.0
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", t)
    r["n"] = int(m.group(1))
    r["secs"] = float(m.group(2)) * UNITS_T[m.group(3)]
    for p in ("50", "99"):
        if r["n"] == 0:  # wrk prints 0us when nothing completed
            r["p" + p] = None
            continue
        m = re.search(r"^\s+%s%%\s+([\d.]+)(\w+)" % p, t, re.M)
        r["p" + p] = float(m.group(1)) * UNITS_T[m.group(2)] if m else None
    err = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    if m:
        err += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    if m:
        err += int(m.group(1))
    r["err"] = err
    return r


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_lat(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_n(x, nd=0):
    if x is None:
        return "-"
    return f"{x:,.{nd}f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def size_name(n):
    return {4096: "4 KiB", 1 << 20: "1 MiB", LARGE: "64 MiB"}.get(n, f"{n} B")


def whole_cpus(groups, agg):
    """The same points counted by whole CPUs (/proc/stat), where the loopback's TCP work
    shows wherever it ran: on the server's CPU, in softirq or not, or on the client's."""
    rows = []
    for k in sorted(groups, key=lambda k: (k[0], k[3], k[2], k[1])):
        o, n = groups[k].get("ours", []), groups[k].get("nginx", [])
        vals = {f + s: agg(recs, f) for s, recs in (("o", o), ("n", n))
                for f in ("mb_per_srv", "mb_per_both", "srv_frac", "cli_frac")}
        if vals["mb_per_srvo"] is None or vals["mb_per_srvn"] is None:
            continue
        label = size_name(k[2]) + (" text" if k[1].startswith("t") else "")
        rows.append(f"| {k[0]} {label} | {k[3]} "
                    f"| {fmt_n(vals['srv_fraco'], 2)} / {fmt_n(vals['srv_fracn'], 2)} "
                    f"| {fmt_n(vals['cli_fraco'], 2)} / {fmt_n(vals['cli_fracn'], 2)} "
                    f"| {fmt_n(vals['mb_per_srvo'])} / {fmt_n(vals['mb_per_srvn'])} "
                    f"| **{fmt_ratio(vals['mb_per_srvo'], vals['mb_per_srvn'])}** "
                    f"| {fmt_n(vals['mb_per_botho'])} / {fmt_n(vals['mb_per_bothn'])} "
                    f"| **{fmt_ratio(vals['mb_per_botho'], vals['mb_per_bothn'])}** |")
    if not rows:
        return
    print("### Whole CPUs\n")
    print("Busy ticks of the server's and the client's pinned CPUs from /proc/stat "
          "(user, system, irq, softirq), whoever ran there. On loopback the receiving "
          "socket's TCP work runs in the context that transmits: the server's send call, "
          "or the client's acknowledgement when the send queue is already full; so server "
          "CPU alone moves with how the sender paces its writes. Medians.\n")
    print("| request | conns | server CPU busy ours / nginx | client CPU busy ours / nginx "
          "| MB per server CPU-s ours / nginx | **ratio** "
          "| MB per (server + client) CPU-s ours / nginx | **ratio** |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    print()


def main():
    pts = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    groups = {}
    for p in pts:
        w = parse_wrk(p["raw"], sys.argv[1])
        rec = dict(p)
        rec.update(w)
        if w["ok"]:
            big = p["bytes"] >= LARGE
            if not big:
                mbps = w["rps"] * p["bytes"] / 1e6
            elif p["method"] == "GET":
                mbps = w["tps"] / 1e6
            else:
                mbps = p["rx"] / p["rx_secs"] / 1e6 if p["rx_secs"] > 0 else None
            rec["mbps"] = mbps
            if big and p["method"] == "PUT":  # CPU over the same interval as the bytes
                rec["mb_per_cpu"] = (p["rx"] / 1e6 / p["rx_cpu_s"] if p["rx_cpu_s"] > 0 else None)
                rec["cpu_frac"] = p["rx_cpu_s"] / p["rx_secs"] if p["rx_secs"] > 0 else None
            else:
                rec["mb_per_cpu"] = (mbps * p["wall"] / p["cpu_s"]
                                     if p["cpu_s"] > 0 and mbps is not None else None)
                rec["cpu_frac"] = p["cpu_s"] / p["wall"]
                # Whole CPUs (older logs lack these): on loopback the receiver's TCP work
                # runs in whichever context sends or acknowledges, partly in softirq.
                srv, cli = p.get("srv_busy_s"), p.get("cli_busy_s")
                if srv and cli and mbps is not None:
                    rec["mb_per_srv"] = mbps * p["wall"] / srv
                    rec["mb_per_both"] = mbps * p["wall"] / (srv + cli)
                    rec["srv_frac"] = srv / p["wall"]
                    rec["cli_frac"] = cli / p["wall"]
        groups.setdefault((p["method"], p["obj"], p["bytes"], p["conns"]), {}).setdefault(
            p["server"], []).append(rec)

    def agg(recs, k):
        return med([r.get(k) for r in recs if r["ok"]])

    summary = {}
    for method in ("GET", "PUT"):
        keys = sorted((k for k in groups if k[0] == method), key=lambda k: (k[3], k[2], k[1]))
        if not keys:
            continue
        print(f"### {method}\n")
        print("| object | conns | req/s ours | req/s nginx | MB/s ours | MB/s nginx | **ours/nginx** "
              "| MB per CPU-s ours | nginx | **ours/nginx per CPU-s** | p50 ours | p50 nginx "
              "| p99 ours | p99 nginx | server CPU busy ours / nginx | errors ours / nginx |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for k in keys:
            o, n = groups[k].get("ours", []), groups[k].get("nginx", [])
            row = {}
            for name, recs in (("o", o), ("n", n)):
                for f in ("rps", "mbps", "mb_per_cpu", "p50", "p99", "cpu_frac"):
                    row[name + f] = agg(recs, f)
                row[name + "err"] = sum(r.get("err", 0) for r in recs) + sum(
                    1 for r in recs if not r["ok"])
            # Ratios of the two servers within each repetition (run back to back), min-max.
            for f, key in (("mbps", "rr"), ("mb_per_cpu", "rc")):
                byrep = {}
                for r in o + n:
                    if r["ok"] and r.get(f):
                        byrep.setdefault(r["rep"], {})[r["server"]] = r[f]
                rs = [v["ours"] / v["nginx"] for v in byrep.values() if len(v) == 2]
                row[key] = f" ({min(rs):.2f}-{max(rs):.2f})" if len(rs) > 1 else ""
            summary[k] = row
            label = size_name(k[2]) + (" text" if k[1].startswith("t") else "")
            print(f"| {label} | {k[3]} | {fmt_n(row['orps'])} | {fmt_n(row['nrps'])} "
                  f"| {fmt_n(row['ombps'])} | {fmt_n(row['nmbps'])} "
                  f"| **{fmt_ratio(row['ombps'], row['nmbps'])}**{row['rr']} "
                  f"| {fmt_n(row['omb_per_cpu'])} | {fmt_n(row['nmb_per_cpu'])} "
                  f"| **{fmt_ratio(row['omb_per_cpu'], row['nmb_per_cpu'])}**{row['rc']} "
                  f"| {fmt_lat(row['op50'])} | {fmt_lat(row['np50'])} "
                  f"| {fmt_lat(row['op99'])} | {fmt_lat(row['np99'])} "
                  f"| {fmt_n(row['ocpu_frac'], 2)} / {fmt_n(row['ncpu_frac'], 2)} "
                  f"| {row['oerr']} / {row['nerr']} |")
        print()

    whole_cpus(groups, agg)
    reps = max(p["rep"] for p in pts)
    print(f"Medians of {reps} runs. MB/s = 10^6 bytes of object per second; for 64 MiB "
          "objects GET MB/s is wrk's Transfer/sec and PUT MB/s the body bytes the server "
          "consumed during the run (ss -ti), as few requests complete in a run; p50/p99 "
          "are of completed requests (\"-\": none completed). \"server CPU busy\" = server CPU-seconds / wall-seconds "
          "(1.00 = the whole pinned core). errors = wrk socket errors + non-2xx responses, "
          "summed over the runs. Ratios: of the medians, and (min-max) of the ratios within "
          "each repetition.\n")

    print("### Targets of the issue\n")
    print("| target | measured (median) | |")
    print("|---|---|---|")
    for c in (1, 64):
        k = ("GET", "o64m", LARGE, c)
        if k in summary:
            r = summary[k]
            wall = r["ombps"] / r["nmbps"] if r["ombps"] and r["nmbps"] else None
            pc = r["omb_per_cpu"] / r["nmb_per_cpu"] if r["omb_per_cpu"] and r["nmb_per_cpu"] else None
            ok = pc is not None and pc >= 0.70
            print(f"| 64 MiB GET >= 70% of nginx per core, {c} conn | "
                  f"{pc * 100 if pc else 0:.0f}% per server CPU-s ({wall * 100 if wall else 0:.0f}% wall, "
                  f"{fmt_n(r['ombps'])} vs {fmt_n(r['nmbps'])} MB/s) | {'met' if ok else 'MISSED'} |")
    for c in (64, 1):
        k = ("GET", "o4k", 4096, c)
        if k in summary:
            r = summary[k]
            ok = r["orps"] is not None and r["orps"] >= 20000
            print(f"| 4 KiB GET >= 20,000 req/s, {c} conn | {fmt_n(r['orps'])} req/s "
                  f"(nginx {fmt_n(r['nrps'])}; {fmt_n(r['orps'] / r['ocpu_frac'] if r['orps'] and r['ocpu_frac'] else None)} "
                  f"per server CPU-s) | {'met' if ok else 'MISSED'} |")
    print()


if __name__ == "__main__":
    main()

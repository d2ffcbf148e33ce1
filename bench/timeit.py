#!/usr/bin/env python3
"""Run one command and append one JSON line with its wall, user and sys seconds.

Usage: timeit.py --log FILE [--stdout PATH] [--set k=v ...] -- CMD ARGS...

  --log FILE      JSON lines file the record is appended to
  --stdout PATH   the command's stdout goes there (e.g. /dev/null); default: inherited
  --capture PATH  like --stdout, and the output is parsed as JSON into the record's "out"
  --set k=v       extra fields of the record (numbers are stored as numbers)

Wall time is time.perf_counter around fork/exec/wait; user and sys come from
wait4() rusage, so they include every thread and every child of the command;
nivcsw (involuntary context switches: preempted by someone else) and load1 (the
1-minute load average at the start) say how busy the shared machine was.
Exits with the command's status (the record is written either way, with "rc").
"""
import json
import os
import subprocess
import sys
import time


def value(s):
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return s


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit(__doc__)
    cut = argv.index("--")
    opts, cmd = argv[:cut], argv[cut + 1:]
    log = stdout = capture = None
    fields = {}
    i = 0
    while i < len(opts):
        o = opts[i]
        if o == "--log":
            log = opts[i + 1]
        elif o == "--stdout":
            stdout = opts[i + 1]
        elif o == "--capture":
            capture = stdout = opts[i + 1]
        elif o == "--set":
            k, _, v = opts[i + 1].partition("=")
            fields[k] = value(v)
        else:
            sys.exit("timeit: unknown option " + o)
        i += 2
    if not log or not cmd:
        sys.exit(__doc__)

    out = open(stdout, "wb") if stdout else None
    with open("/proc/loadavg") as f:
        load1 = float(f.read().split()[0])
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=out)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if out:
        out.close()
    rc = os.waitstatus_to_exitcode(status)
    p.returncode = rc
    rec = dict(fields)
    rec.update(wall=round(wall, 4), user=round(ru.ru_utime, 3), sys=round(ru.ru_stime, 3),
               maxrss_kb=ru.ru_maxrss, nivcsw=ru.ru_nivcsw, load1=load1, rc=rc)
    if capture:
        try:
            with open(capture) as f:
                rec["out"] = json.loads(f.read().strip().splitlines()[-1])
        except (ValueError, IndexError, OSError):
            rec["out"] = None
    with open(log, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
    if rc != 0:
        print("timeit: %s exited %d" % (" ".join(cmd), rc), file=sys.stderr)
    sys.exit(rc)


if __name__ == "__main__":
    main()

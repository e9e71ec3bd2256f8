#!/usr/bin/env python3
"""bench/startup.py BUILD_DIR [--rules 100000] [--reps 3]

Start-up with a 100,000-rule config, tailbox beside sing-box 1.13.19 in the same run: the config
is route_bench's "mixed" config (domain, domain_suffix and ip_cidr rules in turn, every 7th with a
port; bench/route_bench.cpp make_config) plus a mixed inbound, written to a file. Measured, each
the median of REPS runs with its peak or listening RSS:

  sb-route plan -c CONFIG </dev/null     read, compile, exit at the end of its (empty) input
  sb-relay -c CONFIG                     from exec until its inbound accepts a connection
  sing-box check -c CONFIG               read and create every service, then exit
  sing-box run -c CONFIG                 from exec until its inbound accepts a connection

Prints a Markdown section on stdout; exit 1 when a program fails or does not listen."""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BenchError, free_port, log, memory_kb, tree  # noqa: E402


def cidr_for(i):
    return "%d.%d.%d.0/24" % (10 + i // 65536, (i // 256) % 256, i % 256)


def config(n, port):
    rules = []
    for i in range(n):
        k = i % 3
        r = {"domain": "host%d.example.com" % i} if k == 0 else {"domain_suffix": "site%d.test" % i} if k == 1 \
            else {"ip_cidr": cidr_for(i)}
        if i % 7 == 0:
            r["port"] = 443
        r["outbound"] = "proxy" if i % 2 else "direct"
        rules.append(r)
    return {"log": {"disabled": True},
            "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": port}],
            "outbounds": [{"type": "direct", "tag": "direct"},
                          {"type": "socks", "tag": "proxy", "server": "127.0.0.1", "server_port": 1080}],
            "route": {"rules": rules, "final": "direct"}}


def timed_exit(cmd):
    """Wall time (ms) and peak RSS (kB) of CMD run to its end."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, st, ru = os.wait4(p.pid, 0)
    ms = (time.perf_counter() - t0) * 1000
    err = p.stderr.read().decode(errors="replace").strip()
    if os.waitstatus_to_exitcode(st) != 0:
        raise BenchError("%s failed: %s" % (" ".join(cmd[:2]), err[-300:]))
    return ms, ru.ru_maxrss


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def timed_listen(cmd, port):
    """Time (ms) from exec until 127.0.0.1:PORT accepts, and the RSS (kB) then; the process is stopped."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not accepts(port):
            if p.poll() is not None:
                raise BenchError("%s exited before it listened: %s" % (" ".join(cmd[:2]), p.stderr.read().decode()[-300:]))
            if time.perf_counter() - t0 > 60:
                raise BenchError("%s did not listen on %d within 60 s" % (" ".join(cmd[:2]), port))
            time.sleep(0.002)
        ms = (time.perf_counter() - t0) * 1000
        rss = memory_kb(tree(p.pid))[0]
    finally:
        p.terminate()
        p.wait(10)
    return ms, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rules", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_STARTUP_REPS", 3)))
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    sb_route, sb_relay = os.path.join(b, "cmd", "sb-route", "sb-route"), os.path.join(b, "cmd", "sb-relay", "sb-relay")
    singbox = os.path.join(b, "singbox", "sing-box")
    for exe in (sb_route, sb_relay, singbox):
        if not os.access(exe, os.X_OK):
            print("bench/startup.py: %s is not built (make bench builds the tools and sing-box)" % exe, file=sys.stderr)
            return 1
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config(a.rules, port), f)
        cfg = f.name
    size = os.path.getsize(cfg)
    rows = [("sb-route plan -c CONFIG </dev/null", lambda: timed_exit([sb_route, "plan", "-c", cfg])),
            ("sb-relay --events none -c CONFIG (until it accepts)", lambda: timed_listen([sb_relay, "--events", "none", "-c", cfg], port)),
            ("sing-box check -c CONFIG", lambda: timed_exit([singbox, "check", "-c", cfg])),
            ("sing-box run -c CONFIG (until it accepts)", lambda: timed_listen([singbox, "run", "-c", cfg], port))]
    res = {name: [] for name, _ in rows}
    try:
        if accepts(port):
            raise BenchError("port %d is already taken" % port)
        for rep in range(a.reps):
            for name, fn in rows:  # interleaved, so that a busy moment hits every row alike
                res[name].append(fn())
        log("startup: %d repetitions done" % a.reps)
    except (BenchError, OSError) as e:
        print("bench/startup.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        os.unlink(cfg)
    med = {n: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for n, v in res.items()}
    print("## Start-up with %s rules: tailbox beside sing-box\n" % format(a.rules, ","))
    print("The config of route_bench's `mixed` row (domain, domain_suffix and ip_cidr rules in turn, every 7th with a port) "
          "with a mixed inbound, as one JSON file (%.1f MB). Medians of %d interleaved runs; load average %s at the end.\n"
          % (size / 1e6, a.reps,
             " ".join(open("/proc/loadavg").read().split()[:3])))
    print("| command | median time | RSS | each run (ms) |")
    print("|---|---|---|---|")
    for name, _ in rows:
        print("| `%s` | %.0f ms | %.1f MiB | %s |" % (name, med[name][0], med[name][1] / 1024, ", ".join("%.0f" % x[0] for x in res[name])))
    r_plan = med[rows[0][0]][0] / med[rows[2][0]][0]
    r_run = med[rows[1][0]][0] / med[rows[3][0]][0]
    print("\nsb-route plan takes %.2f× the time of sing-box check; sb-relay is listening after %.2f× the time sing-box run takes. "
          "Goal (sb-route's compile, the route_bench table above): < 200 ms.\n" % (r_plan, r_run))
    print("Commands: the config is written by `bench/startup.py` (function `config`); BUILD is the build directory:\n")
    print("```\nBUILD/cmd/sb-route/sb-route plan -c CONFIG </dev/null\nBUILD/cmd/sb-relay/sb-relay --events none -c CONFIG\n"
          "BUILD/singbox/sing-box check -c CONFIG\nBUILD/singbox/sing-box run -c CONFIG\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

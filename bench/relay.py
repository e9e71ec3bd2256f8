#!/usr/bin/env python3
"""bench/relay.py BUILD_DIR [--runs 2] [--reps 3] [--secs 2] [--kit SBBENCH]

sb-relay on loopback beside its peers, side by side in one run: the load generator alone
(direct), the splice relay (bench/peers/splice_relay.c, the zero-copy ceiling), microsocks, dante,
v2ray (Debian) and sing-box (make singbox: mixed inbound, direct outbound). RUNS runs, each the
median of REPS repetitions; every figure is measured by tbload (bench/tbload.cpp) against its own
sink and echo servers. A goal is met only when it holds in every run. Prints a Markdown section on
stdout, progress on stderr; exit 1 (loudly) when a peer or server did not start.

--kit SBBENCH also measures every peer with another load generator that has sbbench's command line
(tput|conn PROXY|direct PORT N SECS) in the same repetitions, and prints both side by side."""
import argparse
import collections
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BenchError, Held, Proc, fmt, fmt_ratio, free_port, log, median, memory_kb,  # noqa: E402
                      probe, ratio, spread, tbload, tree, wait_drained, wait_listening, wait_ready_line)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = ["microsocks", "dante", "v2ray", "sing-box"]      # "best peer" is the best of these
SAME_SCOPE = ["dante", "v2ray", "sing-box"]              # idle RSS: sb-relay ≤ every one of these
ORDER = ["direct", "splice"] + PEERS + ["sb-relay"]
HTTP = ["sing-box", "sb-relay"]                          # mixed inbounds: HTTP CONNECT too


def configs(w, port):
    """The config file of each peer that needs one, for PORT."""
    with open(os.path.join(HERE, "peers", "danted.conf")) as f:
        dante = f.read().replace("port = 21082", "port = %d" % port)
    with open(os.path.join(HERE, "peers", "v2ray.json")) as f:
        v2 = json.load(f)
    v2["inbounds"][0]["port"] = port
    v2ray = json.dumps(v2)
    mixed = ('{"log": {"disabled": true}, "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1",'
             ' "listen_port": %d}], "outbounds": [{"type": "direct", "tag": "direct"}], "route": {"final": "direct"}}' % port)
    out = {}
    for name, text in (("dante", dante), ("v2ray", v2ray), ("mixed", mixed)):
        out[name] = os.path.join(w, "%s-%d.conf" % (name, port))
        with open(out[name], "w") as f:
            f.write(text)
    return out


def command(name, build, port, conf):
    """The command line of peer NAME listening on 127.0.0.1:PORT, and how RESULTS.md shows it."""
    singbox = os.path.join(build, "singbox", "sing-box")
    cmds = {
        "splice": ([os.path.join(build, "bench", "splice_relay"), str(port)], "BUILD/bench/splice_relay PORT"),
        "microsocks": (["microsocks", "-i", "127.0.0.1", "-p", str(port)], "microsocks -i 127.0.0.1 -p PORT"),
        "dante": (["/usr/sbin/danted", "-f", conf["dante"], "-N", "2"], "danted -f danted.conf -N 2   # bench/peers/danted.conf"),
        "v2ray": (["v2ray", "-config", conf["v2ray"]], "v2ray -config v2ray.json   # bench/peers/v2ray.json"),
        "sing-box": ([singbox, "run", "-c", conf["mixed"]], "BUILD/singbox/sing-box run -c mixed.json   # mixed inbound, direct outbound"),
        "sb-relay": ([os.path.join(build, "cmd", "sb-relay", "sb-relay"), "--events", "none", "-c", conf["mixed"]],
                     "BUILD/cmd/sb-relay/sb-relay --events none -c mixed.json   # the same config"),
    }
    return cmds[name]


class Loopback:
    def __init__(self, args):
        self.a = args
        self.build = os.path.abspath(args.build)
        self.exe = os.path.join(self.build, "bench", "tbload")
        self.w = tempfile.mkdtemp(prefix="tb-bench-")
        self.procs, self.port, self.shown, self.idle = [], {}, {}, {}
        # data[run][peer][figure] = [value per repetition]
        self.data = collections.defaultdict(lambda: collections.defaultdict(lambda: collections.defaultdict(list)))
        self.lines = []

    def start(self, name, cmd, **kw):
        p = Proc(name, cmd, out=os.path.join(self.w, name + ".log"), **kw)
        self.procs.append(p)
        return p

    def start_servers(self):
        for name in ("sink", "echo"):
            p = self.start(name, [self.exe, name, "--listen", "127.0.0.1:0"])
            self.port[name] = wait_ready_line(p)
            wait_listening(p, self.port[name])
        self.sink, self.echo = "127.0.0.1:%d" % self.port["sink"], "127.0.0.1:%d" % self.port["echo"]

    def start_peers(self):
        for name in [n for n in ORDER if n != "direct"]:
            port = free_port()
            cmd, shown = command(name, self.build, port, configs(self.w, port))
            if not shutil.which(cmd[0]):
                raise BenchError("%s is not installed or not built (%s): make bench installs and builds every peer" % (name, cmd[0]))
            p = self.start(name, cmd)
            wait_listening(p, port)
            self.port[name], self.shown[name] = port, shown
            time.sleep(0.3)
            self.idle[name] = memory_kb(tree(p.pid))  # before its first connection
            probe(self.exe, self.echo, "socks5://127.0.0.1:%d" % port)
            if name in HTTP:
                probe(self.exe, self.echo, "http://127.0.0.1:%d" % port)
            self.pid_of = getattr(self, "pid_of", {})
            self.pid_of[name] = p.pid
            log("relay: %s listens on 127.0.0.1:%d (pid %d)" % (name, port, p.pid))

    def proxy(self, name, scheme="socks5"):
        return "none" if name == "direct" else "%s://127.0.0.1:%d" % (scheme, self.port[name])

    def measure(self, run, name):
        d, s, px = self.data[run][name], self.a.secs, self.proxy(name)
        for n in (1, 8):  # each figure starts once the last one's connections are gone (wait_drained)
            d["tput%d" % n].append(tbload(self.exe, "tput", self.sink, px, streams=n, secs=s)["GB/s"])
            wait_drained(self.port["sink"])
        for c in (1, 64):
            r = tbload(self.exe, "conn", self.echo, px, clients=c, secs=s)
            d["c%d" % c].append(r["conn/s"])
            d["c%d_p50" % c].append(r["p50_us"])
            d["c%d_p99" % c].append(r["p99_us"])
            d["c%d_fails" % c].append(r["fails"])
            wait_drained(self.port["echo"])
        if name in HTTP:
            for c in (1, 64):
                r = tbload(self.exe, "conn", self.echo, self.proxy(name, "http"), clients=c, secs=s)
                d["http_c%d" % c].append(r["conn/s"])
                d["http_c%d_p99" % c].append(r["p99_us"])
                wait_drained(self.port["echo"])
        if name != "direct":
            if not self.procs_alive(name):
                raise BenchError("%s died during the run" % name)
            h = Held(self.exe, self.echo, px, 1000, secs=120)
            time.sleep(0.5)
            rss, uss = memory_kb(tree(self.pid_of[name]))
            h.release()
            wait_drained(self.port["echo"])
            d["rss1000"].append(rss)
            d["uss1000"].append(uss)
        if self.a.kit:
            self.measure_kit(d, name)
        self.lines.append("run=%d name=%s %s" % (run, name, " ".join("%s=%g" % (k, v[-1]) for k, v in d.items())))

    def measure_kit(self, d, name):
        px = "direct" if name == "direct" else "127.0.0.1:%d" % self.port[name]
        kit = lambda *a: subprocess.run([self.a.kit] + [str(x) for x in a], capture_output=True, text=True, timeout=120).stdout
        for n in (1, 8):
            out = kit("tput", px, self.port["sink"], n, self.a.secs)
            d["kit_tput%d" % n].append(float(out.split("GB/s=")[1]))
        for c in (1, 64):
            kv = dict(x.split("=", 1) for x in kit("conn", px, self.port["echo"], c, self.a.secs).split() if "=" in x)
            d["kit_c%d" % c].append(float(kv["conn/s"]))
            d["kit_c%d_p99" % c].append(float(kv["p99_us"]))

    def procs_alive(self, name):
        return name == "direct" or any(p.alive() for p in self.procs if p.name == name)

    def run(self):
        self.start_servers()
        self.start_peers()
        for run in range(1, self.a.runs + 1):
            for rep in range(self.a.reps):
                order = ORDER[rep % len(ORDER):] + ORDER[:rep % len(ORDER)]  # no peer always first
                for name in order:
                    log("relay: run %d, repetition %d: %s" % (run, rep + 1, name))
                    self.measure(run, name)

    def stop(self):
        for p in reversed(self.procs):
            p.stop()
        shutil.rmtree(self.w, ignore_errors=True)

    def med(self, run, name, fig):
        if fig in ("rss_idle", "uss_idle"):
            v = self.idle.get(name)
            return None if v is None else v[0 if fig == "rss_idle" else 1]
        return median(self.data[run][name].get(fig, []))


# figure, column, higher is better, compared with ("best", a peer, "scope", or a number), goal ratio
GOALS = [
    ("conn/s, concurrency 1", "c1", True, "best", 1.2),
    ("conn/s, concurrency 64", "c64", True, "best", 1.2),
    ("throughput, 1 stream (GB/s)", "tput1", True, "splice", 0.9),
    ("throughput, 8 streams (GB/s)", "tput8", True, "best", 1.0),
    ("p99 latency at concurrency 64 (µs)", "c64_p99", False, "best", 1.0),
    ("RSS with 1000 relayed connections (kB)", "rss1000", False, "best", 1.0),
    ("RSS idle (kB)", "rss_idle", False, "scope", 1.0),
    ("USS idle (kB)", "uss_idle", False, 1024, 1.0),
]
ROWS = [("throughput, 1 stream (GB/s)", "tput1"), ("throughput, 8 streams (GB/s)", "tput8"),
        ("conn/s, concurrency 1", "c1"), ("p99 at concurrency 1 (µs)", "c1_p99"),
        ("conn/s, concurrency 64", "c64"), ("p50 at concurrency 64 (µs)", "c64_p50"), ("p99 at concurrency 64 (µs)", "c64_p99"),
        ("HTTP CONNECT conn/s, concurrency 1", "http_c1"), ("HTTP CONNECT conn/s, concurrency 64", "http_c64"),
        ("HTTP CONNECT p99 at concurrency 64 (µs)", "http_c64_p99"),
        ("RSS idle (kB)", "rss_idle"), ("USS idle (kB)", "uss_idle"),
        ("RSS with 1000 connections (kB)", "rss1000"), ("USS with 1000 connections (kB)", "uss1000")]


def compare_with(lb, run, col, higher, against):
    """(the value sb-relay is compared with, its name)."""
    if isinstance(against, (int, float)):
        return against, "%d kB" % against
    names = {"best": PEERS, "scope": SAME_SCOPE}.get(against, [against])
    vals = [(lb.med(run, n, col), n) for n in names if lb.med(run, n, col) is not None]
    if not vals:
        return None, "–"
    if against == "scope":
        return min(vals)
    return max(vals) if higher else min(vals)


def report(lb, a, load_start):
    runs = list(range(1, a.runs + 1))
    p = print
    p("## relay: sb-relay on loopback beside sing-box and the other peers\n")
    p("Loopback SOCKS5 (and HTTP CONNECT where the inbound is mixed), %d runs, each the median of %d repetitions of %g s "
      "per figure; tbload and the proxies share the machine's %d cores. Load average %s at the start, %s at the end. "
      "Compare ratios within a run, not absolute figures across runs.\n"
      % (a.runs, a.reps, a.secs, os.cpu_count(), load_start, " ".join(open("/proc/loadavg").read().split()[:3])))
    if os.environ.get("TB_BENCH_NETNS") == "1":
        p("The whole section (every peer, tbload and its servers) ran in a network namespace of its own (bench/run.sh) with net.ipv4.tcp_max_tw_buckets=%s: "
          "the connection-rate figures close some 100,000 loopback connections a minute, and dante, which binds each "
          "outgoing socket before it connects, ran out of ephemeral ports to the TIME_WAIT sockets on an idle machine "
          "(its 1000-connection hold failed). The limit applies to every peer alike.\n"
          % open("/proc/sys/net/ipv4/tcp_max_tw_buckets").read().strip())
    p("### Goals\n")
    p("| figure | sb-relay | compared with | " + " | ".join("run %d" % r for r in runs) + " | spread | goal | met in every run |")
    p("|---|---|---|" + "---|" * len(runs) + "---|---|---|")
    for label, col, higher, against, goal in GOALS:
        cells, rs, ok = [], [], True
        for r in runs:
            other, who = compare_with(lb, r, col, higher, against)
            x = ratio(lb.med(r, "sb-relay", col), other)
            rs.append(x)
            ok = ok and x is not None and (x >= goal if higher else x <= goal)
            cells.append("%s (%s %s)" % (fmt_ratio(x), who, fmt(other)))
        what = {"best": "best peer", "scope": "best of dante, v2ray, sing-box"}.get(against, str(against))
        g = ("≥ %g× %s" if higher else "≤ %g× %s") % (goal, what) if not isinstance(against, int) else "≤ %d kB" % against
        p("| %s | %s | %s | %s | %s | %s | %s |" % (label, " / ".join(fmt(lb.med(r, "sb-relay", col)) for r in runs), what,
                                               " | ".join(cells), spread(rs), g, "yes" if ok else "**no**"))
    p("\nRatios are sb-relay's median over the other's in the same run (above 1 is better for throughput and conn/s, "
      "below 1 for latency and memory); spread is the range of that ratio over the runs. Idle RSS and USS are taken once, "
      "after a peer starts and before its first connection, so they are the same in every run.\n")
    for r in runs:
        p("### Run %d: medians of %d repetitions\n" % (r, a.reps))
        p("| figure | " + " | ".join(ORDER) + " |")
        p("|---|" + "---|" * len(ORDER))
        for label, col in ROWS:
            p("| %s | %s |" % (label, " | ".join(fmt(lb.med(r, n, col)) for n in ORDER)))
        p()
    p("How each figure grows from 1 to 8 streams and from 1 to 64 clients (run 1): " + "; ".join(
        "%s %s / %s" % (n, fmt_ratio(ratio(lb.med(1, n, "tput8"), lb.med(1, n, "tput1"))),
                        fmt_ratio(ratio(lb.med(1, n, "c64"), lb.med(1, n, "c1")))) for n in ORDER) + ".\n")
    if a.kit:
        kit_table(lb, runs)
    p("Commands (BUILD is the build directory; PORT a free loopback port, checked to be the peer's own):\n")
    p("```")
    p("BUILD/bench/tbload sink --listen 127.0.0.1:0; BUILD/bench/tbload echo --listen 127.0.0.1:0")
    for n in ORDER:
        if n in lb.shown:
            p(lb.shown[n])
    p("BUILD/bench/tbload tput --target SINK --proxy socks5://127.0.0.1:PORT --streams 1|8 --secs %g" % a.secs)
    p("BUILD/bench/tbload conn --target ECHO --proxy socks5://127.0.0.1:PORT|http://127.0.0.1:PORT --clients 1|64 --secs %g" % a.secs)
    p("BUILD/bench/tbload hold --target ECHO --proxy socks5://127.0.0.1:PORT --count 1000   # RSS/USS of the peer's process tree (smaps_rollup)")
    p("```\n")
    p("<details><summary>every measurement</summary>\n\n```")
    for line in lb.lines:
        p(line)
    p("```\n\n</details>\n")


def kit_table(lb, runs):
    p = print
    p("### tbload beside the team's earlier load generator (sbbench)\n")
    p("Both measured every peer in the same repetitions, against the same sink and echo servers. Medians of run 1.\n")
    p("| peer | tput 1 (GB/s) tbload / sbbench | tput 8 | conn/s c=1 | conn/s c=64 | p99 c=64 (µs) |")
    p("|---|---|---|---|---|---|")
    for n in ORDER:
        cells = []
        for ours, theirs in (("tput1", "kit_tput1"), ("tput8", "kit_tput8"), ("c1", "kit_c1"), ("c64", "kit_c64"), ("c64_p99", "kit_c64_p99")):
            x, y = lb.med(1, n, ours), lb.med(1, n, theirs)
            cells.append("%s / %s (%s)" % (fmt(x), fmt(y), fmt_ratio(ratio(x, y))))
        p("| %s | %s |" % (n, " | ".join(cells)))
    p("\nsb-relay's ratio to the best peer as each generator sees it:\n")
    p("| figure | tbload | sbbench |")
    p("|---|---|---|")
    for label, ours, theirs, higher in (("conn/s c=1", "c1", "kit_c1", True), ("conn/s c=64", "c64", "kit_c64", True),
                                        ("tput 1", "tput1", "kit_tput1", True), ("tput 8", "tput8", "kit_tput8", True),
                                        ("p99 c=64", "c64_p99", "kit_c64_p99", False)):
        row = []
        for col in (ours, theirs):
            o, who = compare_with(lb, 1, col, higher, "best")
            row.append("%s (%s)" % (fmt_ratio(ratio(lb.med(1, "sb-relay", col), o)), who))
        p("| %s | %s |" % (label, " | ".join(row)))
    p()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 2)))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", 3)))
    ap.add_argument("--secs", type=float, default=float(os.environ.get("BENCH_SECS", 2)))
    ap.add_argument("--kit")
    ap.add_argument("--only", help="measure only these (space-separated names of the table's columns)")
    a = ap.parse_args()
    if a.only:
        ORDER[:] = [n for n in ORDER if n in a.only.split()]
    # 1000 held connections need ~2000 descriptors in each proxy and in tbload.
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    load_start = open("/proc/loadavg").read().split()[:3]
    lb = Loopback(a)
    try:
        lb.run()
    except (BenchError, OSError, subprocess.TimeoutExpired) as e:
        print("bench/relay.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        lb.stop()
    report(lb, a, " ".join(load_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())

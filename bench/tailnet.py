#!/usr/bin/env python3
"""bench/tailnet.py BUILD_DIR [--runs 1] [--reps 3] [--secs 2]

Into a real tailnet (tests/tailnet/lab, built by make lab): from the lab's node namespace to
tbload's sink and echo servers on the peer's tailnet address, side by side in one run:

  limit       tbload straight over the node's kernel tailscale0, no proxy
  sb-relay    tailbox's pipeline (ts-status watch | sb-route plan | sb-relay --events none), the
              tailscale endpoint over the kernel tailscale0
  tailscaled  tailscaled's own SOCKS5: a second tailscaled in the node's namespace, logged in as
              node "usnode", with --tun=userspace-networking --socks5-server
  sb-relay-dial  the same pipeline against that userspace tailscaled, forced onto the Local API
              dial transport (sb-relay --socket --tailscale-transport dial)
  sing-box    sing-box 1.13.19's tailscale endpoint (tsnet + gVisor), logged in as node "sbnode"
              with the lab's control_url and auth key, through its mixed inbound

Figures: throughput with 1 and 8 streams, connections per second at 1 and 64 clients with p50/p99,
RSS/USS of each whole stack idle and with 1000 open connections. Prints a Markdown section on
stdout; exit 1 (loudly) when something did not start, 77 when the lab cannot run here (the reason
on stderr)."""
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
from benchlib import (BenchError, Held, Proc, comm, fmt, fmt_ratio, log, median, memory_kb, probe,  # noqa: E402
                      pss_kb, ratio, spread, tbload, tree, wait_drained, wait_listening, wait_ready_line)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAB = os.path.join(ROOT, "tests", "tailnet", "lab")
ALL_ROWS = ["limit", "sb-relay", "sb-relay-dial", "tailscaled", "sing-box"]
ROWS = [r for r in ALL_ROWS if r in os.environ.get("BENCH_TAILNET_ROWS", " ".join(ALL_ROWS)).split()]
STAGES = ("ts-status", "sb-route", "sb-relay")


class Unavailable(Exception):
    pass


class Tailnet:
    def __init__(self, a):
        self.a = a
        self.build = os.path.abspath(a.build)
        self.exe = os.path.join(self.build, "bench", "tbload")
        self.w = tempfile.mkdtemp(prefix="tb-bench-tailnet-")
        self.labdir = os.path.join(self.w, "lab")
        self.env = dict(os.environ, LAB_BIN=os.path.join(self.build, "tailnet"))
        self.procs, self.proxy, self.mem_pids, self.idle = {}, {}, {}, {}
        self.data = collections.defaultdict(lambda: collections.defaultdict(lambda: collections.defaultdict(list)))
        self.lines, self.up, self.failed = [], False, {}

    # ------------------------------------------------------------------ the lab and its servers
    def lab_up(self):
        r = subprocess.run(["bash", LAB, "up", self.labdir], capture_output=True, text=True, env=self.env)
        self.up = True
        if r.returncode == 77:
            raise Unavailable(r.stderr.strip().splitlines()[-1])
        if r.returncode != 0:
            raise BenchError("lab up failed (%d): %s" % (r.returncode, r.stderr.strip()[-400:]))
        lab = json.loads(r.stdout)
        self.ts, self.url, self.key = lab["tailscale"], lab["control_url"], lab["auth_key"]
        self.node_ns, self.node_sock = lab["nodes"]["node"]["netns"], lab["nodes"]["node"]["socket"]
        self.peer_ns = lab["nodes"]["peer"]["netns"]
        self.peer4 = [ip for ip in lab["nodes"]["peer"]["ips"] if "." in ip][0]
        self.login(self.node_sock, "node")
        for ns in (self.node_ns, self.peer_ns):  # many short connections: reuse TIME_WAIT ports
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1",
                            "net.ipv4.ip_local_port_range=1024 65000"], check=True)
        with open(os.path.join(self.labdir, "pids", "tailscaled-node")) as f:
            self.node_tailscaled = int(f.read())

    def login(self, sock, name):
        r = subprocess.run([self.ts, "--socket=" + sock, "up", "--login-server=" + self.url, "--auth-key=" + self.key,
                            "--hostname=" + name, "--timeout=60s"], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError("%s did not log in to the lab: %s" % (name, r.stderr.strip()[-300:]))

    def start(self, name, cmd, ns=None, **kw):
        p = Proc(name, cmd, ns=ns, out=os.path.join(self.w, name + ".log"), **kw)
        self.procs[name] = p
        return p

    def start_servers(self):
        for name, port in (("sink", 5201), ("echo", 5202)):
            p = self.start(name, [self.exe, name, "--listen", "0.0.0.0:%d" % port], ns=self.peer_ns)
            wait_ready_line(p)
            wait_listening(p, port, self.peer_ns)
        self.sink, self.echo = "%s:5201" % self.peer4, "%s:5202" % self.peer4

    # ------------------------------------------------------------------ the stacks
    def start_relay(self, row="sb-relay", port=1080, sock=None, extra=""):
        """tailbox's pipeline against the tailscaled of SOCK (default: the lab node's kernel one)."""
        sock = sock or self.node_sock
        cfg = os.path.join(self.w, row + ".json")
        with open(cfg, "w") as f:
            json.dump({"endpoints": [{"type": "tailscale", "tag": "ts-ep"}],
                       "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": port}],
                       "outbounds": [{"type": "direct", "tag": "direct"}],
                       "route": {"rules": [{"rule_set": "tailscale", "outbound": "ts-ep"}], "final": "direct"}}, f)
        b = os.path.join(self.build, "cmd")
        pipe = "%s/ts-status/ts-status watch --socket %s | %s/sb-route/sb-route plan -c %s | %s/sb-relay/sb-relay --events none%s" % (
            b, sock, b, cfg, b, extra)
        p = self.start(row, ["bash", "-c", pipe], ns=self.node_ns)
        wait_listening(p, port, self.node_ns)
        self.proxy[row] = "socks5://127.0.0.1:%d" % port
        daemon = self.node_tailscaled if sock == self.node_sock else self.procs["tailscaled"].pid
        self.mem_pids[row] = lambda: [x for x in tree(p.pid) if comm(x) in STAGES] + tree(daemon)

    def start_relay_dial(self):
        """The same pipeline against the userspace tailscaled, forced onto the Local API dial transport."""
        sock = os.path.join(self.w, "usnode", "tailscaled.sock")
        self.start_relay("sb-relay-dial", 1081, sock, " --socket %s --tailscale-transport dial" % sock)

    def start_userspace_tailscaled(self):
        d = os.path.join(self.w, "usnode")
        for sub in ("state", "etc", "etc-work"):
            os.makedirs(os.path.join(d, sub))
        sock = os.path.join(d, "tailscaled.sock")
        # As the lab does: /etc under an overlay of its own, so nothing it writes reaches the host's.
        wrap = 'mount -t overlay bench-etc -o "lowerdir=/etc,upperdir=$0/etc,workdir=$0/etc-work" /etc && exec "$@"'
        p = self.start("tailscaled", ["env", "TS_ASSUME_NETWORK_UP_FOR_TEST=1", "TS_DISABLE_PORTMAPPER=1", "TS_LOGS_DIR=" + d,
                                      "unshare", "--mount", "sh", "-c", wrap, d,
                                      os.path.join(self.build, "tailnet", "tailscaled"), "--tun=userspace-networking",
                                      "--socks5-server=127.0.0.1:1055", "--statedir=" + d + "/state", "--socket=" + sock,
                                      "--port=0", "--no-logs-no-support"], ns=self.node_ns)
        end = time.time() + 20
        while subprocess.run([self.ts, "--socket=" + sock, "status", "--json", "--peers=false"],
                             capture_output=True).returncode != 0:
            if not p.alive() or time.time() > end:
                raise BenchError("the userspace tailscaled did not answer: %s" % p.tail())
            time.sleep(0.1)
        self.login(sock, "usnode")
        wait_listening(p, 1055, self.node_ns)
        self.proxy["tailscaled"] = "socks5://127.0.0.1:1055"
        self.mem_pids["tailscaled"] = lambda: tree(p.pid)

    def start_singbox(self):
        cfg = os.path.join(self.w, "sing-box.json")
        with open(cfg, "w") as f:
            json.dump({"log": {"level": "warn"},
                       "endpoints": [{"type": "tailscale", "tag": "ts-ep", "control_url": self.url, "auth_key": self.key,
                                      "state_directory": os.path.join(self.w, "sbnode"), "hostname": "sbnode"}],
                       "inbounds": [{"type": "mixed", "tag": "in", "listen": "127.0.0.1", "listen_port": 2080}],
                       "route": {"final": "ts-ep"}}, f)
        p = self.start("sing-box", [os.path.join(self.build, "singbox", "sing-box"), "run", "-c", cfg], ns=self.node_ns)
        wait_listening(p, 2080, self.node_ns, secs=60)
        self.proxy["sing-box"] = "socks5://127.0.0.1:2080"
        self.mem_pids["sing-box"] = lambda: tree(p.pid)

    def start_all(self):
        self.lab_up()
        self.start_servers()
        self.proxy["limit"] = "none"
        probe(self.exe, self.echo, "none", ns=self.node_ns, secs=30)  # the tailnet path itself, first
        self.mem_pids["limit"] = lambda: tree(self.node_tailscaled)
        if "sb-relay-dial" in ROWS and "tailscaled" not in ROWS:
            ROWS.append("tailscaled")  # the dial row needs the userspace tailscaled
        for row, start in (("sb-relay", self.start_relay), ("tailscaled", self.start_userspace_tailscaled),
                           ("sb-relay-dial", self.start_relay_dial), ("sing-box", self.start_singbox)):
            if row in ROWS:
                self.attempt(row, start)
        for row in list(ROWS):  # readiness: one connection to the peer's echo server through each stack
            self.attempt(row, lambda: probe(self.exe, self.echo, self.proxy[row], ns=self.node_ns, secs=60))
            if row in ROWS:
                log("tailnet: %s answers" % row)
        if "limit" not in ROWS or len(ROWS) < 2:
            raise BenchError("nothing to compare: %s" % "; ".join("%s: %s" % kv for kv in self.failed.items()))
        time.sleep(1)
        for row in ROWS:
            self.idle[row] = memory_kb(self.mem_pids[row]()) + (pss_kb(self.mem_pids[row]()),)

    def attempt(self, row, fn):
        """FN for ROW; a row that does not start or answer is left out, named in the report, and fails the run."""
        try:
            fn()
        except BenchError as e:
            out = self.procs[row].tail(5) if row in self.procs else ""
            self.failed[row] = "%s%s" % (e, "; its output: " + out if out else "")
            log("tailnet: %s FAILED: %s" % (row, self.failed[row]))
            if row in ROWS:
                ROWS.remove(row)
            if row in self.procs:
                self.procs.pop(row).stop()

    # ------------------------------------------------------------------ measuring
    def measure(self, run, row):
        d, s, px, ns = self.data[run][row], self.a.secs, self.proxy[row], self.node_ns
        for n in (1, 8):
            d["tput%d" % n].append(tbload(self.exe, "tput", self.sink, px, ns=ns, streams=n, secs=s)["GB/s"] * 1000)
            wait_drained(5201, self.peer_ns)  # each figure starts on an empty path
        for c in (1, 64):
            r = tbload(self.exe, "conn", self.echo, px, ns=ns, clients=c, secs=s)
            d["c%d" % c].append(r["conn/s"])
            d["c%d_p50" % c].append(r["p50_us"])
            d["c%d_p99" % c].append(r["p99_us"])
            wait_drained(5202, self.peer_ns)
        h = Held(self.exe, self.echo, px, 1000, ns=ns, secs=180)
        time.sleep(0.5)
        if row == "sb-relay":
            self.check_kernel_path()
        if row == "sb-relay-dial":
            self.check_dial_path()
        rss, uss = memory_kb(self.mem_pids[row]())
        pss = pss_kb(self.mem_pids[row]())
        h.release()
        wait_drained(5202, self.peer_ns)  # the 1000 connections close before the next figure
        d["rss1000"].append(rss)
        d["uss1000"].append(uss)
        d["pss1000"].append(pss)
        for name, p in self.procs.items():
            if not p.alive():
                raise BenchError("%s exited during the run: %s" % (name, p.tail()))
        self.lines.append("run=%d row=%s %s" % (run, row, " ".join("%s=%g" % (k, v[-1]) for k, v in d.items())))

    def check_kernel_path(self):
        """sb-relay's 1000 connections to the peer leave from the node's own tailnet address."""
        out = subprocess.run(["ip", "netns", "exec", self.node_ns, "ss", "-tnpH", "state", "established",
                              "dst", self.echo], capture_output=True, text=True).stdout
        n = sum(1 for line in out.splitlines() if '"sb-relay"' in line and line.split()[2].startswith("100."))
        if n < 1000:
            raise BenchError("sb-relay holds %d connections to %s from a tailnet address, not 1000" % (n, self.echo))

    def check_dial_path(self):
        """sb-relay's 1000 connections go through the Local API socket, none through tailscaled's SOCKS5."""
        out = subprocess.run(["ip", "netns", "exec", self.node_ns, "ss", "-tnpH", "state", "established",
                              "dst", "127.0.0.1:1055"], capture_output=True, text=True).stdout
        n = sum(1 for line in out.splitlines() if '"sb-relay"' in line)
        ux = subprocess.run(["ip", "netns", "exec", self.node_ns, "ss", "-xpH", "state", "connected"],
                            capture_output=True, text=True).stdout
        m = sum(1 for line in ux.splitlines() if '"sb-relay"' in line)
        if n > 0 or m < 1000:
            raise BenchError("sb-relay over the dial transport holds %d connections to tailscaled's SOCKS5 and %d unix "
                             "connections, not 0 and 1000" % (n, m))

    def run(self):
        self.start_all()
        for run in range(1, self.a.runs + 1):
            for rep in range(self.a.reps):
                for row in ROWS[rep % len(ROWS):] + ROWS[:rep % len(ROWS)]:
                    log("tailnet: run %d, repetition %d: %s" % (run, rep + 1, row))
                    self.measure(run, row)

    def stop(self):
        if os.environ.get("BENCH_KEEP"):  # debugging: leave the lab up
            log("tailnet: kept %s (bash tests/tailnet/lab down %s)" % (self.w, self.labdir))
            return
        for p in reversed(list(self.procs.values())):
            p.stop()
        if self.up:
            subprocess.run(["bash", LAB, "down", self.labdir], capture_output=True, env=self.env)
        shutil.rmtree(self.w, ignore_errors=True)

    def med(self, run, row, fig):
        if fig in ("rss_idle", "uss_idle", "pss_idle"):
            return self.idle[row][("rss_idle", "uss_idle", "pss_idle").index(fig)] if row in self.idle else None
        return median(self.data[run][row].get(fig, []))


# figure, column, higher is better, [(row compared with, goal ratio)]
GOALS = [
    ("throughput, 1 stream (MB/s)", "tput1", True, [("limit", 0.9), ("tailscaled", 2.0), ("sing-box", 2.0)]),
    ("throughput, 8 streams (MB/s)", "tput8", True, [("limit", 0.9), ("tailscaled", 2.0), ("sing-box", 2.0)]),
    ("p99 latency at concurrency 64 (µs)", "c64_p99", False, [("tailscaled", 1.0), ("sing-box", 1.0)]),
    ("RSS idle, whole stack (kB)", "rss_idle", False, [("sing-box", 1.0)]),
    ("RSS with 1000 connections, whole stack (kB)", "rss1000", False, [("sing-box", 1.0)]),
    ("PSS idle, whole stack (kB)", "pss_idle", False, [("sing-box", 1.0)]),
    ("PSS with 1000 connections, whole stack (kB)", "pss1000", False, [("sing-box", 1.0)]),
]
FIGURES = [("throughput, 1 stream (MB/s)", "tput1"), ("throughput, 8 streams (MB/s)", "tput8"),
           ("conn/s, concurrency 1", "c1"), ("p99 at concurrency 1 (µs)", "c1_p99"),
           ("conn/s, concurrency 64", "c64"), ("p50 at concurrency 64 (µs)", "c64_p50"), ("p99 at concurrency 64 (µs)", "c64_p99"),
           ("RSS idle (kB)", "rss_idle"), ("USS idle (kB)", "uss_idle"),
           ("PSS idle (kB)", "pss_idle"), ("RSS with 1000 connections (kB)", "rss1000"),
           ("USS with 1000 connections (kB)", "uss1000"), ("PSS with 1000 connections (kB)", "pss1000")]
SHARED_NOTE = ("The tailscaled and sb-relay-dial rows share one userspace tailscaled, whose Go heap grows over the "
               "run and is not returned at once: their RSS/USS with 1000 connections are that process's high-water mark "
               "so far, not each row's own. Idle figures were taken once, before the first connection.")
PSS_NOTE = ("RSS summed over a stack's processes counts each shared page (libc, libstdc++, the page cache of a binary) once "
            "per process that maps it, so it overstates a stack of several processes; PSS divides each shared page among "
            "the processes that map it, and its sum is what the stack costs. Both are reported, each with the goal.")
STACK = {"limit": "the node's kernel tailscaled", "sb-relay": "ts-status + sb-route + sb-relay + the node's kernel tailscaled",
         "sb-relay-dial": "ts-status + sb-route + sb-relay (--tailscale-transport dial) + the userspace tailscaled",
         "tailscaled": "tailscaled (userspace networking, SOCKS5)", "sing-box": "sing-box (tsnet + gVisor inside)"}


def report(tn, a, load_start):
    p, runs = print, list(range(1, a.runs + 1))
    p("## tailnet: sb-relay into a real tailnet beside tailscaled's SOCKS5 and sing-box's endpoint\n")
    p("The lab (tests/tailnet/lab: tailscaled, tailscale and the control server at tailscale.com v1.102.5): from the node's "
      "namespace to tbload's sink and echo on the peer's tailnet address (peer: kernel tailscale0). %d run(s), each the median "
      "of %d repetitions of %g s per figure, on the same %d cores as everything else in the lab (WireGuard included). "
      "Load average %s at the start, %s at the end.\n"
      % (a.runs, a.reps, a.secs, os.cpu_count(), load_start, " ".join(open("/proc/loadavg").read().split()[:3])))
    p("### Goals\n")
    p("| figure | sb-relay | compared with | " + " | ".join("run %d" % r for r in runs) + " | spread | goal | met in every run |")
    p("|---|---|---|" + "---|" * len(runs) + "---|---|---|")
    for label, col, higher, against in GOALS:
        for other, goal in against:
            rs = [ratio(tn.med(r, "sb-relay", col), tn.med(r, other, col)) for r in runs]
            strict = col.startswith(("rss", "pss"))  # "uses less memory than sing-box"
            ok = all(x is not None and (x >= goal if higher else x < goal if strict else x <= goal) for x in rs)
            p("| %s | %s | %s | %s | %s | %s | %s |" % (
                label, " / ".join(fmt(tn.med(r, "sb-relay", col)) for r in runs), other,
                " | ".join("%s (%s)" % (fmt_ratio(x), fmt(tn.med(r, other, col))) for r, x in zip(runs, rs)),
                spread(rs), ("≥ %g×" if higher else "< %g×" if strict else "≤ %g×") % goal, "yes" if ok else "**no**"))
    p()
    for row, why in tn.failed.items():
        p("**%s: not measured, it did not start or answer:** %s\n" % (row, why))
    p("Memory goals compare whole stacks: %s. %s %s\n" % ("; ".join("%s = %s" % kv for kv in STACK.items()), SHARED_NOTE, PSS_NOTE))
    for r in runs:
        p("### Run %d: medians of %d repetitions\n" % (r, a.reps))
        p("| figure | " + " | ".join(ROWS) + " |")
        p("|---|" + "---|" * len(ROWS))
        for label, col in FIGURES:
            p("| %s | %s |" % (label, " | ".join(fmt(tn.med(r, n, col)) for n in ROWS)))
        p()
    p("How each figure grows (run 1), from 1 to 8 streams / from 1 to 64 clients: " + "; ".join(
        "%s %s / %s" % (n, fmt_ratio(ratio(tn.med(1, n, "tput8"), tn.med(1, n, "tput1"))),
                        fmt_ratio(ratio(tn.med(1, n, "c64"), tn.med(1, n, "c1")))) for n in ROWS) + ".\n")
    if "sb-relay-dial" in ROWS:
        p("sb-relay-dial (no goal in the issue; the same userspace tailscaled as the tailscaled row) over tailscaled's own "
          "SOCKS5, run 1: " + ", ".join("%s %s" % (label.split(" (")[0], fmt_ratio(ratio(tn.med(1, "sb-relay-dial", col),
                                                                                        tn.med(1, "tailscaled", col))))
                                        for label, col in FIGURES[:7]) + ".\n")
    p("Commands (BUILD is the build directory; NODE and PEER are the lab's namespaces, PEER4 the peer's tailnet IPv4):\n")
    p("```")
    p("bash tests/tailnet/lab up DIR; tailscale --socket NODE_SOCK up --login-server CONTROL_URL --auth-key KEY")
    p("ip netns exec PEER BUILD/bench/tbload sink --listen 0.0.0.0:5201; ... echo --listen 0.0.0.0:5202")
    p("ip netns exec NODE sh -c 'BUILD/cmd/ts-status/ts-status watch --socket NODE_SOCK | BUILD/cmd/sb-route/sb-route plan -c relay.json"
      " | BUILD/cmd/sb-relay/sb-relay --events none'   # tailscale endpoint, mixed 127.0.0.1:1080")
    p("ip netns exec NODE tailscaled --tun=userspace-networking --socks5-server=127.0.0.1:1055 --statedir ... --socket US_SOCK --port=0;"
      " tailscale --socket US_SOCK up --hostname usnode ...")
    p("ip netns exec NODE BUILD/singbox/sing-box run -c sing-box.json   # tailscale endpoint (control_url, auth_key), mixed 127.0.0.1:2080, route.final ts-ep")
    p("ip netns exec NODE BUILD/bench/tbload tput --target PEER4:5201 --proxy none|socks5://127.0.0.1:1080|:1055|:2080 --streams 1|8 --secs %g" % a.secs)
    p("ip netns exec NODE BUILD/bench/tbload conn --target PEER4:5202 --proxy ... --clients 1|64 --secs %g" % a.secs)
    p("ip netns exec NODE BUILD/bench/tbload hold --target PEER4:5202 --proxy ... --count 1000   # RSS/USS of the whole stack")
    p("```\n")
    p("<details><summary>every measurement</summary>\n\n```")
    for line in tn.lines:
        p(line)
    p("```\n\n</details>\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_TAILNET_RUNS", 1)))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", 3)))
    ap.add_argument("--secs", type=float, default=float(os.environ.get("BENCH_SECS", 2)))
    a = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    load_start = " ".join(open("/proc/loadavg").read().split()[:3])
    tn = Tailnet(a)
    try:
        tn.run()
    except Unavailable as e:
        print("bench/tailnet.py: the lab cannot run here: %s" % e, file=sys.stderr)
        return 77
    except (BenchError, OSError, subprocess.TimeoutExpired) as e:
        print("bench/tailnet.py: %s" % e, file=sys.stderr)
        return 1
    finally:
        tn.stop()
    report(tn, a, load_start)
    return 1 if tn.failed else 0


if __name__ == "__main__":
    sys.exit(main())

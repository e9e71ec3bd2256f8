"""What bench/relay.py and bench/tailnet.py share: starting a server and proving it is the one
listening (its own port, its own process: never whatever holds the port), the memory of a process
tree, running tbload, medians and the Markdown of a figure with its goal.

Every failure raises BenchError with one line saying what did not start or did not answer; the
scripts turn it into a loud failure (exit 1) instead of measuring something else."""
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import time


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def in_ns(ns, cmd):
    return (["ip", "netns", "exec", ns] if ns else []) + list(cmd)


def free_port():
    """A loopback port free right now (the owner check below catches a race)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A process in its own session (so that stop() reaches its children), output to a file."""

    def __init__(self, name, cmd, ns=None, out=None, stdin=subprocess.DEVNULL, env=None):
        self.name, self.out = name, out
        self.fh = open(out, "w") if out else subprocess.DEVNULL
        self.p = subprocess.Popen(in_ns(ns, cmd), stdin=stdin, stdout=self.fh, stderr=subprocess.STDOUT,
                                  start_new_session=True, env=env)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def tail(self, n=3):
        if not self.out or not os.path.exists(self.out):
            return ""
        with open(self.out, errors="replace") as f:
            return " | ".join(l.strip() for l in f.read().splitlines()[-n:])

    def stop(self, secs=10):
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(secs)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.p.wait()
        if self.fh is not subprocess.DEVNULL:
            self.fh.close()


def children():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    """pid and every descendant."""
    kids, out, todo = children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def listeners(port, ns=None):
    """PIDs owning a TCP listening socket on PORT (in namespace NS)."""
    out = subprocess.run(in_ns(ns, ["ss", "-ltnpH", "sport = :%d" % port]), capture_output=True, text=True).stdout
    pids = set()
    for part in out.split("pid=")[1:]:
        pids.add(int(part.split(",", 1)[0]))
    return pids


def wait_drained(port, ns=None, secs=30):
    """Waits until the server on PORT (in NS) holds no established connection: a proxy that buffered
    a bulk run's bytes (its sockets, a splice pipe) is still sending them after the client stopped,
    and the next figure must not share the path with that tail. Bounded; raises when it does not end."""
    deadline = time.time() + secs
    while True:
        out = subprocess.run(in_ns(ns, ["ss", "-tnH", "state", "established", "( sport = :%d )" % port]),
                             capture_output=True, text=True).stdout
        n = len(out.splitlines())
        if n == 0:
            return
        if time.time() > deadline:
            raise BenchError("the server on port %d still holds %d connections %d s after the figure ended" % (port, n, secs))
        time.sleep(0.02)


def wait_listening(proc, port, ns=None, secs=20, owners=None):
    """Until PORT listens and its owner is PROC or a descendant (or one of OWNERS); else BenchError."""
    end = time.time() + secs
    while True:
        if not proc.alive():
            raise BenchError("%s exited before it listened on port %d: %s" % (proc.name, port, proc.tail()))
        held = listeners(port, ns)
        mine = set(owners or []) | set(tree(proc.pid))
        if held & mine:
            return
        if held:
            raise BenchError("port %d is held by another process (%s), not by %s" %
                             (port, ", ".join("%d %s" % (p, comm(p)) for p in held), proc.name))
        if time.time() > end:
            raise BenchError("%s did not listen on port %d within %d s: %s" % (proc.name, port, secs, proc.tail()))
        time.sleep(0.05)


def wait_ready_line(proc, secs=10):
    """A tbload server's "ready PORT" line (its output file); the port."""
    end = time.time() + secs
    while time.time() < end:
        with open(proc.out) as f:
            for line in f:
                if line.startswith("ready "):
                    return int(line.split()[1])
        if not proc.alive():
            break
        time.sleep(0.02)
    raise BenchError("%s did not report ready within %d s: %s" % (proc.name, secs, proc.tail()))


def memory_kb(pids):
    """(RSS, USS) in kB summed over PIDS, from smaps_rollup (USS: private clean + dirty)."""
    rss = uss = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k == "Rss":
                        rss += int(v.split()[0])
                    elif k in ("Private_Clean", "Private_Dirty"):
                        uss += int(v.split()[0])
        except OSError:
            pass
    return rss, uss


def pss_kb(pids):
    """PSS in kB summed over PIDS: each shared page counted once over all the processes that map it,
    which is what a stack of several processes costs (summed RSS counts a shared library once per
    process)."""
    pss = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                pss += sum(int(v.split()[0]) for k, _, v in (line.partition(":") for line in f) if k == "Pss")
        except OSError:
            pass
    return pss


def parse_kv(line):
    return {k: v for k, _, v in (w.partition("=") for w in line.split()) if _}


def tbload(exe, mode, target, proxy="none", ns=None, timeout=120, **opts):
    """One tbload measurement; its key=value line as a dict of floats."""
    cmd = [exe, mode, "--target", target, "--proxy", proxy]
    for k, v in opts.items():
        cmd += ["--" + k, str(v)]
    r = subprocess.run(in_ns(ns, cmd), capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise BenchError("tbload %s through %s failed: %s" % (mode, proxy, r.stderr.strip()[-300:]))
    return {k: float(v) for k, v in parse_kv(r.stdout).items()}


class Held:
    """tbload hold: COUNT connections open until release()."""

    def __init__(self, exe, target, proxy, count, ns=None, secs=60):
        cmd = in_ns(ns, [exe, "hold", "--target", target, "--proxy", proxy, "--count", str(count)])
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err = ""
        ready, _, _ = select.select([self.p.stdout], [], [], secs)
        line = self.p.stdout.readline() if ready else "(no answer within %d s)" % secs
        if not line.startswith("held ") or int(line.split()[1]) != count:
            self.release()
            raise BenchError("holding %d connections through %s: %s %s" % (count, proxy, line.strip(), self.err))

    def release(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.err = self.p.stderr.read().strip()


def probe(exe, target, proxy, ns=None, secs=20):
    """A readiness probe: one connection through PROXY echoed by TARGET, retried for SECS."""
    end, last = time.time() + secs, ""
    while time.time() < end:
        r = subprocess.run(in_ns(ns, [exe, "hold", "--target", target, "--proxy", proxy, "--count", "1"]),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if r.returncode == 0 and r.stdout.startswith("held 1 "):
            return
        last = (r.stdout + r.stderr).strip()
        time.sleep(0.2)
    raise BenchError("no connection through %s to %s within %d s: %s" % (proxy, target, secs, last))


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, unit=""):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return "%d%s" % (round(v), unit)
    return "%.3g%s" % (v, unit)


def ratio(a, b):
    return None if a is None or not b else a / b


def fmt_ratio(r):
    return "–" if r is None else "%.2f×" % r


def spread(xs):
    """The range of XS as 'lo–hi' (ratios)."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    return "%.2f–%.2f×" % (min(xs), max(xs)) if len(xs) > 1 else "%.2f×" % xs[0]


def dump_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)

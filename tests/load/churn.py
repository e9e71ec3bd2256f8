#!/usr/bin/env python3
"""Peer churn against fake_tailscaled, and the reader of `ts-status watch` (tests/load/watch-churn.sh).

  churn.py consume DIR
      read watch's stdout: every line must be a JSON object with "v" and "type" (bad lines are
      counted); the last status record is kept in DIR/last.json (written atomically), counts in
      DIR/counts.json at EOF.
  churn.py churn --control SOCK --duration S [--period 0.1] [--peers N] [--seed K]
      one control call every PERIOD seconds for S seconds, rotating through: a generated peer goes
      offline, one comes online, a new peer is added, an added peer is removed. Prints a summary.
  churn.py compare --socket SOCK --last FILE [--timeout 20]
      wait until FILE (watch's last status record) has the same peers (by id) with the same
      online flags as the daemon's status; print the result and exit 0, or 1 after the timeout.
"""
import argparse
import json
import os
import random
import socket
import sys
import time
import urllib.parse


def http(sock_path, method, path, host="fake"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(sock_path)
    s.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % (method, path, host)).encode())
    chunks = []
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        chunks.append(d)
    s.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        out, rest = [], body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line, 16)
            if n == 0:
                break
            out.append(rest[:n])
            rest = rest[n + 2:]
        body = b"".join(out)
    return status, body


def cmd_consume(a):
    counts = {"lines": 0, "bad": 0, "status": 0, "event": 0, "other": 0, "max_line": 0}
    last = os.path.join(a.dir, "last.json")
    for line in sys.stdin.buffer:
        counts["lines"] += 1
        counts["max_line"] = max(counts["max_line"], len(line))
        try:
            rec = json.loads(line)
            ok = isinstance(rec, dict) and rec.get("v") == 1 and "type" in rec
        except ValueError:
            ok = False
        if not ok:
            counts["bad"] += 1
            sys.stderr.write("bad line: %r\n" % line[:200])
            continue
        t = rec["type"]
        counts[t if t in ("status", "event") else "other"] += 1
        if t == "status":
            with open(last + ".tmp", "wb") as f:
                f.write(line)
            os.replace(last + ".tmp", last)
    with open(os.path.join(a.dir, "counts.json"), "w") as f:
        json.dump(counts, f)


def cmd_churn(a):
    rnd = random.Random(a.seed)
    added = []
    n_added = 0
    calls = {"offline": 0, "online": 0, "add": 0, "remove": 0}
    errors = 0
    t0 = time.monotonic()
    i = 0
    while time.monotonic() - t0 < a.duration:
        step = ["offline", "online", "add", "remove"][i % 4]
        if step == "remove" and not added:
            step = "add"
        if step in ("offline", "online"):
            q = {"name": "peer%d" % rnd.randint(1, a.peers), "online": "true" if step == "online" else "false"}
            path = "/peer?" + urllib.parse.urlencode(q)
        elif step == "add":
            n_added += 1
            name = "churn%d" % n_added
            added.append(name)
            path = "/peer/add?" + urllib.parse.urlencode({"name": name, "os": "linux", "online": "true"})
        else:
            path = "/peer/remove?" + urllib.parse.urlencode({"name": added.pop(0)})
        status, body = http(a.control, "POST", path)
        if status != 200:
            errors += 1
            sys.stderr.write("control %s: %d %s\n" % (path, status, body[:200]))
        calls[step] += 1
        i += 1
        # The period is the churn rate, not a synchronisation: pace against the start time.
        delay = t0 + i * a.period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"calls": i, "by_kind": calls, "errors": errors, "seconds": round(time.monotonic() - t0, 1),
                      "added_left": len(added)}), flush=True)
    sys.exit(1 if errors else 0)


def daemon_view(sock):
    status, body = http(sock, "GET", "/localapi/v0/status", host="local-tailscaled.sock")
    if status != 200:
        raise RuntimeError("status %d" % status)
    st = json.loads(body)
    return {p["ID"]: bool(p.get("Online")) for p in (st.get("Peer") or {}).values()}


def watch_view(path):
    try:
        with open(path, "rb") as f:
            rec = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return {p["id"]: bool(p.get("online")) for p in rec.get("peers", [])}


def cmd_compare(a):
    want = daemon_view(a.socket)
    t0 = time.monotonic()
    got = None
    while time.monotonic() - t0 < a.timeout:
        got = watch_view(a.last)
        if got == want:
            print(json.dumps({"match": True, "peers": len(want), "online": sum(want.values()),
                              "waited_ms": int((time.monotonic() - t0) * 1000)}), flush=True)
            return
        time.sleep(0.1)
    got = got or {}
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    differ = sorted(k for k in set(want) & set(got) if want[k] != got[k])[:5]
    print(json.dumps({"match": False, "peers": len(want), "watch_peers": len(got), "missing": missing,
                      "extra": extra, "online_differs": differ}), flush=True)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("consume")
    c.add_argument("dir")
    c = sub.add_parser("churn")
    c.add_argument("--control", required=True)
    c.add_argument("--duration", type=float, default=60)
    c.add_argument("--period", type=float, default=0.1)
    c.add_argument("--peers", type=int, default=1000)
    c.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("compare")
    c.add_argument("--socket", required=True)
    c.add_argument("--last", required=True)
    c.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    {"consume": cmd_consume, "churn": cmd_churn, "compare": cmd_compare}[a.cmd](a)


if __name__ == "__main__":
    main()

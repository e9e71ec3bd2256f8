#!/usr/bin/env python3
"""Load generator for sb-relay (tests/load, tests/cli/load-smoke.sh, scripts/tsan.sh).

It runs its own echo server on 127.0.0.1 (kernel-chosen port) and reaches it through the relay
with SOCKS5 CONNECT or HTTP CONNECT. Every connection pushes random bytes and checks that the
same bytes come back. Results are JSON lines on stdout, one per phase, flushed; errors are
counted by kind, never raised.

  loadgen.py hold --proxy PORT -n N [--conc C] [--payload B]
      open N relayed connections (C handshakes at a time), push B bytes through each and check
      the echo; print {"phase":"held",...}; then obey stdin lines: "push" (push again through
      every held connection, print {"phase":"pushed",...}), "close" (close them all, wait until
      the echo server saw every close, print {"phase":"closed",...}); EOF exits.
  loadgen.py soak --proxy PORT --duration S [--conc C]
      C workers for S seconds, each looping over a mix of short connections (one push, close)
      and long ones (several pushes with pauses), SOCKS5 and HTTP CONNECT alternately; a
      {"phase":"soak",...} progress line every 5 s and {"phase":"soak_done",...} at the end.
  loadgen.py cap --proxy PORT --admit M --over K
      hold M connections (all must be admitted), then K more clients, half SOCKS5 (expect
      method reply 0xFF), half HTTP CONNECT (expect 503); then push through the M admitted ones.
"""
import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time

EOL = b"\r\n"


def emit(**kw):
    print(json.dumps(kw, sort_keys=True), flush=True)


class Echo:
    def __init__(self):
        self.open = 0
        self.total = 0

    async def handle(self, reader, writer):
        self.open += 1
        self.total += 1
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, backlog=4096, limit=1 << 20)
        self.port = self.server.sockets[0].getsockname()[1]


class Refused(Exception):
    pass


async def socks5_connect(proxy, port, timeout):
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", proxy), timeout)
    try:
        w.write(b"\x05\x01\x00")
        rep = await asyncio.wait_for(r.readexactly(2), timeout)
        if rep == b"\x05\xff":
            raise Refused("socks5 method 0xff")
        if rep != b"\x05\x00":
            raise ValueError("greeting reply %r" % rep)
        w.write(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big"))
        rep = await asyncio.wait_for(r.readexactly(10), timeout)
        if rep[1] != 0:
            raise ValueError("socks5 reply %d" % rep[1])
        return r, w
    except BaseException:
        w.close()
        raise


async def http_connect(proxy, port, timeout):
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", proxy), timeout)
    try:
        w.write(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (port, port))
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), timeout)
        status = head.split(b" ", 2)[1]
        if status == b"503":
            raise Refused("http 503")
        if status != b"200":
            raise ValueError("http status %s" % status.decode(errors="replace"))
        return r, w
    except BaseException:
        w.close()
        raise


async def push(r, w, size, timeout):
    data = os.urandom(size)
    w.write(data)
    await w.drain()
    got = await asyncio.wait_for(r.readexactly(size), timeout)
    if got != data:
        raise ValueError("echo mismatch")


def kind(e):
    if isinstance(e, Refused):
        return str(e)
    if isinstance(e, asyncio.TimeoutError):
        return "timeout"
    if isinstance(e, asyncio.IncompleteReadError):
        return "eof"
    return type(e).__name__ + (": " + str(e) if isinstance(e, ValueError) else "")


class Stats:
    def __init__(self):
        self.ok = 0
        self.failed = 0
        self.errors = {}

    def fail(self, e):
        self.failed += 1
        k = kind(e)
        self.errors[k] = self.errors.get(k, 0) + 1

    def dict(self):
        return {"ok": self.ok, "failed": self.failed, "errors": self.errors}


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def open_many(a, echo, n, proto_of, st, held):
    sem = asyncio.Semaphore(a.conc)

    async def one(i):
        async with sem:
            try:
                dial = socks5_connect if proto_of(i) == "socks5" else http_connect
                r, w = await dial(a.proxy, echo.port, a.timeout)
                try:
                    await push(r, w, a.payload, a.timeout)
                except BaseException:
                    w.close()
                    raise
                held.append((r, w))
                st.ok += 1
            except Exception as e:  # counted, never raised
                st.fail(e)

    await asyncio.gather(*(one(i) for i in range(n)))


async def push_all(a, held):
    st = Stats()
    sem = asyncio.Semaphore(a.conc)

    async def one(r, w):
        async with sem:
            try:
                await push(r, w, a.payload, a.timeout)
                st.ok += 1
            except Exception as e:
                st.fail(e)

    await asyncio.gather(*(one(r, w) for r, w in held))
    return st


async def close_all(echo, held, timeout=30):
    for _, w in held:
        w.close()
    held.clear()
    t0 = time.monotonic()
    while echo.open and time.monotonic() - t0 < timeout:
        await asyncio.sleep(0.05)
    return echo.open


async def cmd_hold(a):
    echo = Echo()
    await echo.start()
    held = []
    st = Stats()
    t0 = time.monotonic()
    await open_many(a, echo, a.n, lambda i: "http" if a.http_every and i % a.http_every == 0 else "socks5", st, held)
    emit(phase="held", n=a.n, held=len(held), ms=int((time.monotonic() - t0) * 1000), echo_open=echo.open, **st.dict())
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = line.strip()
        if cmd == "push":
            t0 = time.monotonic()
            p = await push_all(a, held)
            emit(phase="pushed", held=len(held), ms=int((time.monotonic() - t0) * 1000), **p.dict())
        elif cmd == "close":
            left = await close_all(echo, held)
            emit(phase="closed", echo_open=left, echo_total=echo.total)
    await close_all(echo, held, 5)


async def cmd_soak(a):
    echo = Echo()
    await echo.start()
    st = Stats()
    short = [0]
    long_ = [0]
    active = [0]
    deadline = time.monotonic() + a.duration
    rnd = random.Random(a.seed)

    async def conn(is_long, proto):
        dial = socks5_connect if proto == "socks5" else http_connect
        r, w = await dial(a.proxy, echo.port, a.timeout)
        active[0] += 1
        try:
            if is_long:
                for _ in range(rnd.randint(5, 20)):
                    if time.monotonic() > deadline:  # the soak ends: finish cleanly, no new push
                        break
                    await push(r, w, rnd.randint(64, 4096), a.timeout)
                    await asyncio.sleep(rnd.uniform(0.05, 0.5))
            else:
                await push(r, w, rnd.randint(1, 16384), a.timeout)
        finally:
            active[0] -= 1
            w.close()

    async def worker(k):
        i = 0
        while time.monotonic() < deadline:
            is_long = rnd.random() < a.long_share
            proto = "http" if (k + i) % 2 else "socks5"
            i += 1
            try:
                await conn(is_long, proto)
                st.ok += 1
                (long_ if is_long else short)[0] += 1
            except Exception as e:
                st.fail(e)

    async def progress():
        t0 = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(5)
            emit(phase="soak", t=int(time.monotonic() - t0), active=active[0], short=short[0], long=long_[0], **st.dict())

    t0 = time.monotonic()
    prog = asyncio.ensure_future(progress())
    await asyncio.gather(*(worker(k) for k in range(a.conc)))
    prog.cancel()
    t1 = time.monotonic()
    while echo.open and time.monotonic() - t1 < 30:
        await asyncio.sleep(0.05)
    emit(phase="soak_done", s=round(time.monotonic() - t0, 1), short=short[0], long=long_[0], echo_open=echo.open,
         echo_total=echo.total, **st.dict())


async def cmd_cap(a):
    echo = Echo()
    await echo.start()
    held = []
    st = Stats()
    await open_many(a, echo, a.admit, lambda i: "socks5", st, held)
    over = Stats()
    refused = {"socks5": 0, "http": 0}

    async def extra(i):
        proto = "http" if i % 2 else "socks5"
        dial = socks5_connect if proto == "socks5" else http_connect
        try:
            r, w = await dial(a.proxy, echo.port, a.timeout)
            w.close()
            over.ok += 1  # admitted although over the cap
        except Refused:
            refused[proto] += 1
        except Exception as e:
            over.fail(e)

    sem = asyncio.Semaphore(16)  # the relay answers at most 64 refusals at a time

    async def extra_bounded(i):
        async with sem:
            await extra(i)

    await asyncio.gather(*(extra_bounded(i) for i in range(a.over)))
    p = await push_all(a, held)
    emit(phase="cap", admit=a.admit, held=len(held), admitted_failed=st.failed, over=a.over,
         refused_socks5=refused["socks5"], refused_http=refused["http"], over_admitted=over.ok,
         over_failed=over.failed, over_errors=over.errors, push_ok=p.ok, push_failed=p.failed,
         errors=st.errors)
    await close_all(echo, held, 10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["hold", "soak", "cap"])
    ap.add_argument("--proxy", type=int, required=True)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--conc", type=int, default=200)
    ap.add_argument("--payload", type=int, default=1024)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--http-every", type=int, default=0, help="hold: every Nth connection uses HTTP CONNECT")
    ap.add_argument("--duration", type=float, default=120)
    ap.add_argument("--long-share", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--admit", type=int, default=100)
    ap.add_argument("--over", type=int, default=50)
    a = ap.parse_args()
    raise_nofile()
    asyncio.run({"hold": cmd_hold, "soak": cmd_soak, "cap": cmd_cap}[a.mode](a))


if __name__ == "__main__":
    main()

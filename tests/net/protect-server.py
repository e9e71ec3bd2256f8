#!/usr/bin/env python3
"""A protect server, as Android's VpnService is to sing-box's protect_path (sing's
common/control/protect_unix.go): on a Unix stream socket, each client sends one byte with a
socket descriptor in SCM_RIGHTS; the server marks that socket (SO_MARK, as VpnService.protect
exempts it from the VPN) and answers one byte.

usage: protect-server.py PATH MARK [--refuse | --hang]
  --refuse  close each connection without answering
  --hang    keep each connection open without answering
Prints a JSON line {"type":"ready"} once listening, then one per request:
{"type":"protected","family":"AF_INET","kind":"SOCK_STREAM","mark":524288} (or "refused" / "held").
"""
import json
import os
import socket
import sys

SO_MARK = getattr(socket, "SO_MARK", 36)


def log(**kw):
    print(json.dumps(kw), flush=True)


def main():
    path, mark = sys.argv[1], int(sys.argv[2], 0)
    mode = sys.argv[3] if len(sys.argv) > 3 else ""
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    log(type="ready")
    held = []
    while True:
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1, 4)
        if mode == "--refuse":
            for fd in fds:
                os.close(fd)
            log(type="refused")
            conn.close()
            continue
        if mode == "--hang":
            for fd in fds:
                os.close(fd)
            log(type="held")
            held.append(conn)
            continue
        for fd in fds:
            s = socket.socket(fileno=fd)
            s.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
            log(type="protected", family=s.family.name, kind=s.type.name,
                mark=s.getsockopt(socket.SOL_SOCKET, SO_MARK))
            s.close()
        conn.sendall(b"\x01" if msg else b"")
        conn.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""usage: stdout-socket.py FILE CMD...

Runs CMD with its stdout on a Unix stream socket, as systemd's default StandardOutput=journal gives
a service (tailbox-proxy.service), and appends whatever arrives to FILE. SIGTERM and SIGINT are
passed on to CMD. Exits with CMD's status once the socket has no writer left.
"""
import signal
import socket
import subprocess
import sys

ours, theirs = socket.socketpair()
child = subprocess.Popen(sys.argv[2:], stdout=theirs)
theirs.close()
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda s, _f: child.send_signal(s))
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        data = ours.recv(65536)
        if not data:
            break
        out.write(data)
sys.exit(child.wait())

#!/usr/bin/env python3
"""A small HTTP server for the namespace tests (tests/net): it says who connected.

usage: httpd.py NAME PORT ADDR...

Listens on every ADDR (IPv4 or IPv6 literal) at PORT. Once all are bound it prints
{"type":"ready",...} on stdout, then one JSON line per request: {"type":"request","server":NAME,
"client":IP,"local":IP,"path":PATH}. Lines are flushed at once, so a test can wait for them.

GET /             -> "NAME saw CLIENT_IP\n"
GET /hold?file=F  -> "NAME holding for CLIENT_IP\n" at once, then, when the file F exists
                     (checked every 50 ms, for at most 60 s), "NAME released\n" and the end.
                     A long-lived connection that a test can keep open across plan changes.
"""
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

NAME = sys.argv[1]
PORT = int(sys.argv[2])
ADDRS = sys.argv[3:]
lock = threading.Lock()


def emit(rec):
    with lock:
        sys.stdout.write(json.dumps(rec) + "\n")
        sys.stdout.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the body ends when the connection closes: simple streaming

    def do_GET(self):
        client = self.client_address[0]
        if client.startswith("::ffff:"):
            client = client[len("::ffff:"):]
        url = urllib.parse.urlsplit(self.path)
        emit({"type": "request", "server": NAME, "client": client,
              "local": self.connection.getsockname()[0], "path": url.path})
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if url.path == "/hold":
            self.end_headers()
            self.wfile.write(f"{NAME} holding for {client}\n".encode())
            self.wfile.flush()
            f = urllib.parse.parse_qs(url.query).get("file", [""])[0]
            deadline = time.monotonic() + 60
            while f and not os.path.exists(f) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.wfile.write(f"{NAME} released\n".encode() if f and os.path.exists(f) else b"timed out\n")
            emit({"type": "released", "server": NAME, "client": client})
            return
        body = f"{NAME} saw {client}\n".encode()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # requests are logged as JSON above
        pass


def serve(addr):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET

    class Server(http.server.ThreadingHTTPServer):
        address_family = family
        daemon_threads = True

        def server_bind(self):
            if family == socket.AF_INET6:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            super().server_bind()

    return Server((addr, PORT), Handler)


servers = [serve(a) for a in ADDRS]
for s in servers:
    threading.Thread(target=s.serve_forever, daemon=True).start()
emit({"type": "ready", "server": NAME, "port": PORT, "addrs": ADDRS, "pid": os.getpid()})
threading.Event().wait()

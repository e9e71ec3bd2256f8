#!/usr/bin/env python3
"""A SOCKS5 server that names itself: the marker behind one outbound of a sing-box config.

usage: socks-marker.py NAME PORT [NAME PORT ...]

Listens on 127.0.0.1 at each PORT. Each SOCKS5 CONNECT (no authentication) is answered with
success, then with "HTTP/1.0 200 OK" and the body "NAME DESTINATION\n", and closed: a curl
through the proxy that ran the config prints which outbound its connection was routed to, and the
destination as the outbound sent it. Once every port is bound it prints {"type":"ready"} on stdout.
"""
import json
import socket
import socketserver
import struct
import sys
import threading


def read(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def handler(name):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            s = self.request
            try:
                ver, nmethods = read(s, 2)
                read(s, nmethods)
                s.sendall(b"\x05\x00")
                ver, cmd, _, atyp = read(s, 4)
                if atyp == 1:
                    host = socket.inet_ntop(socket.AF_INET, read(s, 4))
                elif atyp == 4:
                    host = "[" + socket.inet_ntop(socket.AF_INET6, read(s, 16)) + "]"
                else:
                    host = read(s, read(s, 1)[0]).decode()
                port = struct.unpack(">H", read(s, 2))[0]
                if cmd != 1:
                    s.sendall(b"\x05\x07\x00\x01\x00\x00\x00\x00\x00\x00")
                    return
                s.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
                body = "%s %s:%d\n" % (name, host, port)
                s.sendall(("HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
            except (EOFError, OSError, ValueError):
                pass

    return Handler


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


args = sys.argv[1:]
if not args or len(args) % 2:
    sys.exit("usage: socks-marker.py NAME PORT [NAME PORT ...]")
servers = [Server(("127.0.0.1", int(args[i + 1])), handler(args[i])) for i in range(0, len(args), 2)]
for srv in servers[1:]:
    threading.Thread(target=srv.serve_forever, daemon=True).start()
print(json.dumps({"type": "ready"}), flush=True)
servers[0].serve_forever()

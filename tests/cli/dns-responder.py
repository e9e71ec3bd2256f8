#!/usr/bin/env python3
"""A DNS responder for the tests: answers every A question with one marker address, so the
address a client ends up with names the server that answered. AAAA questions get an empty
NOERROR answer; names under --nxdomain get NXDOMAIN. It logs each question it answers to
stdout as "<proto> <name> <type>" (and each DoH connection as "https connection from IP") and starts
with one line "ready udp=P tcp=P https=P".

  dns-responder.py --marker 127.0.0.2 [--nxdomain nx.test] [--cert C --key K] [--listen ADDR]
                   [--huge NAME] [--drip NAME] [--drip-head NAME] [--hangup NAME]
                   [--drop-kept NAME] [--soa SECS]

Over DoH, a question for a name under --huge gets a 1 MiB body, one under --drip gets its
answer a byte every half second, and one under --drip-head its status line and headers so.
After answering one under --hangup, it closes the connection without a "Connection: close"; asked
for one under --drop-kept on a connection that was used before, it closes it without an answer.
With --soa, NXDOMAIN and empty answers carry an SOA whose TTL and MINIMUM are SECS.

UDP and TCP (RFC 1035), and with --cert/--key DNS over HTTPS (RFC 8484, POST), on ADDR (default
127.0.0.1), each on a port the kernel chooses.
"""
import argparse
import http.server
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time


def parse_question(msg):
    pos, labels = 12, []
    while msg[pos]:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    qtype, qclass = struct.unpack("!HH", msg[pos + 1:pos + 5])
    return ".".join(labels).lower(), qtype, msg[12:pos + 5]


LOG = threading.Lock()  # sb-relay asks A and AAAA at once: one whole line per question


def answer(msg, args, proto):
    ident = msg[:2]
    name, qtype, question = parse_question(msg)
    with LOG:
        print(f"{proto} {name} {qtype}", flush=True)
    nx = any(name == s or name.endswith("." + s) for s in args.nxdomain)
    flags = 0x8180 | (3 if nx else 0)
    records = b""
    if qtype == 1 and not nx:
        records = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(args.marker)
    authority = b""
    if args.soa and not records:  # RFC 2308: a negative answer carries the zone's SOA
        rdata = b"\0\0" + struct.pack("!IIIII", 1, 3600, 600, 86400, args.soa)
        authority = b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, args.soa, len(rdata)) + rdata
    return (ident + struct.pack("!HHHHH", flags, 1, 1 if records else 0, 1 if authority else 0, 0) + question
            + records + authority)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--marker", required=True)
    p.add_argument("--nxdomain", action="append", default=[])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--huge", action="append", default=[])
    p.add_argument("--drip", action="append", default=[])
    p.add_argument("--drip-head", action="append", default=[])
    p.add_argument("--hangup", action="append", default=[])
    p.add_argument("--drop-kept", action="append", default=[])
    p.add_argument("--soa", type=int, default=0)
    args = p.parse_args()

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((args.listen, 0))

    def serve_udp():
        while True:
            msg, peer = udp.recvfrom(65535)
            udp.sendto(answer(msg, args, "udp"), peer)

    class Tcp(socketserver.BaseRequestHandler):
        def handle(self):
            while True:
                head = self.request.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    return
                msg = self.request.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
                out = answer(msg, args, "tcp")
                self.request.sendall(struct.pack("!H", len(out)) + out)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    tcp = socketserver.ThreadingTCPServer((args.listen, 0), Tcp)

    class Doh(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # connections are kept, as real DoH servers keep them
        disable_nagle_algorithm = True  # headers and body are two writes

        def handle(self):
            with LOG:
                print("https connection from %s" % self.client_address[0], flush=True)
            super().handle()

        def reply(self, msg):
            name = parse_question(msg)[0]
            under = lambda names: any(name == s or name.endswith("." + s) for s in names)
            self.asked = getattr(self, "asked", 0) + 1  # one handler per connection
            if under(args.drop_kept) and self.asked > 1:
                self.close_connection = True  # as a server whose keep-alive ran out just then
                return
            out = answer(msg, args, "https")
            if under(args.huge):
                out += bytes(1 << 20)
            if under(args.drip_head):
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/dns-message\r\nX-Pad: " + b"x" * 100
                try:
                    for i in range(len(head)):
                        self.wfile.write(head[i:i + 1])
                        time.sleep(0.5)
                except OSError:
                    pass
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/dns-message")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            try:
                if under(args.drip):
                    self.wfile.flush()
                    for i in range(len(out)):
                        self.wfile.write(out[i:i + 1])
                        self.wfile.flush()
                        time.sleep(0.5)
                else:
                    self.wfile.write(out)
                if under(args.hangup):
                    self.close_connection = True  # without saying so: the client still holds it
            except OSError:
                pass  # the client gave up, as it should

        def do_POST(self):
            if self.path != "/dns-query" or self.headers.get("Content-Type") != "application/dns-message":
                self.send_error(415)
                return
            self.reply(self.rfile.read(int(self.headers["Content-Length"])))

        def log_message(self, *a):
            pass

    https_port = 0
    if args.cert:
        doh = http.server.ThreadingHTTPServer((args.listen, 0), Doh)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        doh.socket = ctx.wrap_socket(doh.socket, server_side=True)
        https_port = doh.server_address[1]
        threading.Thread(target=doh.serve_forever, daemon=True).start()
    threading.Thread(target=serve_udp, daemon=True).start()
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    with LOG:
        print(f"ready udp={udp.getsockname()[1]} tcp={tcp.server_address[1]} https={https_port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())

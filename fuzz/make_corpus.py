#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from the test fixtures and hand-written
protocol bytes. Run from anywhere; it rewrites only the seed files it owns (names start with a
fixed prefix) and never touches fuzz/regressions/. Plan records need a built sb-route:

    python3 fuzz/make_corpus.py [--sb-route build/cmd/sb-route/sb-route]

The committed corpus is what this script wrote; scripts/fuzz.sh fuzzes a working copy of it and
never adds to it.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(*parts):
    with open(os.path.join(FIX, *parts), "rb") as f:
        return f.read()


def socks5():
    v4 = bytes([1, 10, 0, 0, 1]) + struct.pack(">H", 443)
    v6 = bytes([4]) + bytes.fromhex("fd7a115ca1e000000000000000000001") + struct.pack(">H", 22)
    name = b"peer.tail1234.ts.net"
    dom = bytes([3, len(name)]) + name + struct.pack(">H", 80)
    put("socks5", "greeting-noauth", bytes([5, 1, 0]))
    put("socks5", "greeting-noauth-userpass", bytes([5, 2, 0, 2]))
    put("socks5", "userpass", bytes([1, 4]) + b"user" + bytes([6]) + b"secret")
    put("socks5", "connect-ipv4", bytes([5, 1, 0]) + v4)
    put("socks5", "connect-ipv6", bytes([5, 1, 0]) + v6)
    put("socks5", "connect-domain", bytes([5, 1, 0]) + dom)
    put("socks5", "connect-domain-ip-literal", bytes([5, 1, 0, 3, 7]) + b"1.2.3.4" + struct.pack(">H", 53))
    put("socks5", "udp-associate", bytes([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]))
    put("socks5", "bind-unknown-atyp", bytes([5, 2, 0, 9, 1, 2, 3, 4, 0, 80]))
    put("socks5", "reply-succeeded", bytes([5, 0, 0]) + v4)
    put("socks5", "udp-datagram-domain", bytes([0, 0, 0]) + dom + b"payload")
    put("socks5", "udp-datagram-fragment", bytes([0, 0, 1]) + v4 + b"x")


def socks4():
    put("socks4", "connect", bytes([4, 1]) + struct.pack(">H", 80) + bytes([93, 184, 216, 34]) + b"user\0")
    put("socks4", "connect-no-user", bytes([4, 1, 1, 187, 10, 0, 0, 1, 0]))
    put("socks4", "socks4a", bytes([4, 1, 1, 187, 0, 0, 0, 1]) + b"alice\0example.com\0")
    put("socks4", "socks4a-empty-host", bytes([4, 1, 0, 80, 0, 0, 0, 9, 0, 0]))
    put("socks4", "bind", bytes([4, 2, 0, 21, 192, 168, 1, 1]) + b"\0")


def http_proxy():
    put("http_proxy", "connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
        "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n")
    put("http_proxy", "connect-ipv6", "CONNECT [fd7a:115c:a1e0::1]:22 HTTP/1.1\r\n\r\n")
    put("http_proxy", "get-absolute", "GET http://peer.tail1234.ts.net:8080/path?q=1#frag HTTP/1.1\r\n"
        "Host: peer.tail1234.ts.net:8080\r\nProxy-Connection: keep-alive\r\nConnection: X-Hop, keep-alive\r\n"
        "X-Hop: 1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n")
    put("http_proxy", "get-http10", "GET http://user:pw@example.com HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    put("http_proxy", "post-content-length", "POST http://example.com/form HTTP/1.1\r\nHost: example.com\r\n"
        "Content-Length: 11\r\nTE: trailers\r\n\r\nhello=world")
    put("http_proxy", "post-chunked", "POST http://[::1]:80/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n")
    put("http_proxy", "origin-form", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    put("http_proxy", "response-200", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n"
        "Connection: close\r\nKeep-Alive: timeout=5\r\n\r\nhello")
    put("http_proxy", "response-chunked", "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n")
    put("http_proxy", "auth-urlsafe", "GET http://example.com/ HTTP/1.1\r\n"
        "Proxy-Authorization: basic dT8_On4-\r\n\r\n")


def http_chunked():
    # First byte: where the rest is split in two; then a chunked body (and what follows it).
    put("http_chunked", "simple", b"\x07" + b"5\r\nhello\r\n0\r\n\r\n")
    put("http_chunked", "ext-trailer-next", b"\x03" + b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: y\r\n\r\nGET / HTTP/1.1\r\n")
    put("http_chunked", "bad-size", b"\x00" + b"zz\r\n")
    put("http_chunked", "big-size", b"\x02" + b"11170\r\n")
    put("http_chunked", "empty-body", b"\x01" + b"0\r\n\r\n")


def dns_response():
    # Answers as 100.100.100.100 (tailscaled's resolver, Go's dnsmessage) gives them: the question
    # echoed, answer names compressed to a pointer at it (0xC00C), TTL 600.
    def name(n):
        return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"

    def msg(qid, flags, qname, qtype, answers, extra=b"", ns=0, ar=0):
        head = struct.pack(">HHHHHH", qid, flags, 1, len(answers), ns, ar)
        return head + name(qname) + struct.pack(">HH", qtype, 1) + b"".join(answers) + extra

    def rr(rtype, rdata, owner=b"\xc0\x0c", ttl=600):
        return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata

    peer = "peer.tail1234.ts.net"
    v4 = bytes([100, 101, 102, 103])
    v6 = bytes.fromhex("fd7a115ca1e0ab12400000000000000a")
    put("dns_response", "a-magicdns", msg(0x8a31, 0x8580, peer, 1, [rr(1, v4)]))
    put("dns_response", "aaaa-magicdns", msg(0x1f07, 0x8580, peer, 28, [rr(28, v6)]))
    put("dns_response", "a-nxdomain", msg(0x0102, 0x8583, "nope.tail1234.ts.net", 1, []))
    put("dns_response", "aaaa-nodata-soa", msg(0x7e11, 0x8580, "ipv4only.tail1234.ts.net", 28, [], ns=1,
        extra=rr(6, name("tail1234.ts.net") + name("hostmaster.tail1234.ts.net") + struct.pack(">IIIII", 1, 2, 3, 4, 60))))
    put("dns_response", "a-split-dns-cname", msg(0x4242, 0x8180, "git.corp.tail1234.ts.net", 1,
        [rr(5, b"\x03www\xc0\x0c"), rr(1, bytes([10, 0, 0, 7]), owner=b"\xc0\x36")]))
    put("dns_response", "a-two-answers-uncompressed", msg(0x0a0b, 0x8180, peer, 1,
        [rr(1, v4, owner=name(peer)), rr(1, bytes([100, 64, 0, 2]), owner=name(peer))]))
    put("dns_response", "a-with-edns-opt", msg(0x55aa, 0x8180, peer, 1, [rr(1, v4)], ar=1,
        extra=b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)))
    put("dns_response", "servfail-truncated", struct.pack(">HHHHHH", 0x3333, 0x8382, 1, 0, 0, 0) + name(peer)[:9])
    put("dns_response", "pointer-loop", struct.pack(">HHHHHH", 9, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01")
    put("dns_response", "query-not-response", msg(0x1234, 0x0100, peer, 1, []))


def localapi():
    la = os.path.join(FIX, "localapi")
    for f in sorted(os.listdir(la)):
        if f.startswith("status-") or f.startswith("peerstatus-"):
            put("status", f, read("localapi", f))
    # The 2000-peer scenario status is built by the fake; a small hand-made one stands in.
    put("status", "minimal-running", '{"Version":"1.96.2","BackendState":"Running","TUN":true,'
        '"Self":{"ID":"n1","HostName":"h","DNSName":"h.t.ts.net.","TailscaleIPs":["100.64.0.1"],"Online":true},'
        '"Peer":{"nodekey:ab":{"ID":"n2","HostName":"p","DNSName":"p.t.ts.net.","TailscaleIPs":["100.64.0.2"],'
        '"PrimaryRoutes":["10.0.0.0/24"],"Online":true,"ExitNode":true,"KeyExpiry":"2030-01-01T00:00:00Z"}},'
        '"MagicDNSSuffix":"t.ts.net","CurrentTailnet":{"Name":"t","MagicDNSSuffix":"t.ts.net","MagicDNSEnabled":true},'
        '"User":{"1":{"ID":1,"LoginName":"a@b","DisplayName":"A"}},"Health":["x"]}')
    with open(os.path.join(ROOT, "tests", "fakes", "daemon.cpp")) as f:
        src = f.read()
    start = src.index('kDefaultPrefs = R"(') + len('kDefaultPrefs = R"(')
    prefs = src[start:src.index(')"', start)]
    put("prefs", "fake-daemon-default-v1.102", prefs)
    put("prefs", "unit-test", '{"ControlURL":"https://controlplane.tailscale.com","RouteAll":true,"ExitNodeID":"",'
        '"CorpDNS":true,"WantRunning":true,"AdvertiseTags":null,"Hostname":"h","AdvertiseRoutes":["10.0.0.0/24"],'
        '"NetfilterMode":2,"AllowSingleHosts":true,"Config":{"PrivateNodeKey":"privkey:0000"},"NewIn2027":1}')
    put("prefs", "tags-exit-node", '{"ExitNodeID":"nX","ExitNodeIP":"100.64.0.9","ExitNodeAllowLANAccess":true,'
        '"AdvertiseTags":["tag:server","tag:ci"],"OperatorUser":"alice","RunSSH":true,"ShieldsUp":true,"LoggedOut":false}')
    put("notify", "engine-update-v1.98.9", read("localapi", "notify-engine-update-v1.98.9-ELIDED-by-poster.txt"))
    put("notify", "initial-state", '{"Version":"1.102.0","SessionID":"s1","State":6,"Prefs":' +
        json.dumps(json.loads(prefs), separators=(",", ":")) + ',"Health":{"Warnings":{}}}\n'
        '{"State":"NeedsLogin","BrowseToURL":"https://login.tailscale.com/a/abc"}\n{"LoginFinished":{}}\n')
    put("notify", "errors-and-deltas", '{"ErrMessage":"backend error","State":2}\n'
        '{"PeersChanged":[{"ID":5}],"PeersRemoved":[7],"PeerChangedPatch":[{"NodeID":5,"Online":true}]}\n'
        '{"NetMap":{"SelfNode":{}}}\n')


def to_yaml(v, indent=0):
    """Block-style YAML for JSON values (enough for the seed configs)."""
    pad = "  " * indent
    if isinstance(v, dict):
        if not v:
            return pad + "{}\n"
        out = ""
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                out += f"{pad}{json.dumps(k)}:\n" + to_yaml(x, indent + 1)
            else:
                out += f"{pad}{json.dumps(k)}: {scalar(x)}\n"
        return out
    if isinstance(v, list):
        if not v:
            return pad + "[]\n"
        out = ""
        for x in v:
            if isinstance(x, (dict, list)) and x:
                inner = to_yaml(x, indent + 1)
                out += f"{pad}- " + inner.lstrip(" ")
            else:
                out += f"{pad}- {scalar(x)}\n"
        return out
    return pad + scalar(v) + "\n"


def scalar(x):
    if isinstance(x, (dict, list)):
        return json.dumps(x)
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (int, float)):
        return json.dumps(x)
    return json.dumps(x)  # a double-quoted YAML scalar


def configs():
    seeds = {}
    cfg_dir = os.path.join(FIX, "singbox", "configs")
    for f in sorted(os.listdir(cfg_dir)):
        if f.endswith(".json"):
            seeds["singbox-" + f[:-5]] = read("singbox", "configs", f).decode()
    for f in ("direct.json", "reject-local.json"):
        seeds["relay-" + f[:-5]] = read("relay", f).decode()
    seeds["route-tailnet-config"] = read("route", "tailnet-config.json").decode()
    cases = json.load(open(os.path.join(FIX, "singbox", "route_cases.json")))["cases"]
    seen = set()
    for c in cases:  # one config per distinct set of rule keys: coverage, not bulk
        cfg = c["config"]
        keys = set()
        for r in cfg.get("route", {}).get("rules", []):
            keys |= set(r)
        keys |= {"dns"} if "dns" in cfg else set()
        keys |= {"rule_set"} if "rule_set" in cfg.get("route", {}) else set()
        sig = tuple(sorted(keys))
        if sig in seen:
            continue
        seen.add(sig)
        seeds["case-" + c["id"]] = json.dumps(cfg, indent=1)
    seeds["jsonc-comments-trailing-commas"] = (
        '// sing-box accepts comments\n{\n  /* block */ "log": {"level": "info",},  # hash\n'
        '  "outbounds": [{"type": "direct", "tag": "direct",},],\n}\n')
    for name, text in seeds.items():
        put("config_json", name, text)
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        put("config_yaml", name, "# " + name + "\n" + to_yaml(obj))
    put("config_yaml", "yaml-features", "log: {level: warn}\nroute:\n  final: direct\n  rules:\n"
        "    - domain_suffix: [example.com, .test]\n      outbound: direct\n    - port: 443\n"
        "      ip_cidr: ['10.0.0.0/8']\n      action: reject\noutbounds:\n  - &d {type: direct, tag: direct}\n"
        "  - {<<: *d, tag: d2}\nexperimental: ~\n")


def records(sb_route):
    put("status_record", "status-running", read("route", "status-running.jsonl"))
    put("status_record", "status-unreachable", read("route", "status-unreachable.jsonl"))
    put("status_record", "mixed-stream", read("route", "status-running.jsonl") +
        b'\n{"v":1,"type":"event","event":"peer_online","peer":"x"}\nnot json\n' +
        read("route", "status-unreachable.jsonl"))
    if not sb_route:
        print("make_corpus: no --sb-route: plan_record seeds left as they are", file=sys.stderr)
        return
    status = read("route", "status-running.jsonl")
    cfgs = ["tests/fixtures/route/tailnet-config.json", "tests/fixtures/relay/direct.json",
            "tests/fixtures/singbox/configs/issue-1787-mixed-ruleset-block.json"]
    for cfg in [None] + cfgs:
        args = [os.path.abspath(sb_route), "plan"] + (["-c", cfg] if cfg else [])
        out = subprocess.run(args, input=status + b"\n" + read("route", "status-unreachable.jsonl"),
                             capture_output=True, check=False, cwd=ROOT).stdout
        if not out:
            print(f"make_corpus: sb-route plan gave nothing for {cfg}", file=sys.stderr)
            continue
        name = "plan-" + (os.path.basename(cfg)[:-5] if cfg else "default-config")
        put("plan_record", name, out)
    put("plan_record", "not-plans", b'{"v":1,"type":"status"}\n\n{"v":1,"type":"plan"}\n[1,2]\n'
        b'{"v":2,"type":"plan","source":{}}\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sb-route", help="a built sb-route, for the plan records")
    a = ap.parse_args()
    socks5()
    socks4()
    http_proxy()
    http_chunked()
    dns_response()
    localapi()
    configs()
    records(a.sb_route)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Watches what enters the tunnel: every IPv4 and IPv6 packet sent on an interface (a TUN such
as tailscale0, whose frames start at the IP header), one JSON line each, flushed at once:
{"type":"packet","v":4,"src":"198.18.0.1","dst":"198.18.0.2","proto":6}. Prints
{"type":"ready"} once the packet socket is bound. Run it inside the namespace.

usage: tun-watch.py IFNAME
"""
import ipaddress
import json
import socket
import sys

ETH_P_ALL = 3
PACKET_OUTGOING = 4


def main():
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((sys.argv[1], 0))
    print(json.dumps({"type": "ready"}), flush=True)
    while True:
        data, addr = s.recvfrom(65535)
        if addr[2] != PACKET_OUTGOING or not data:
            continue
        v = data[0] >> 4
        if v == 4 and len(data) >= 20:
            rec = {"v": 4, "src": str(ipaddress.IPv4Address(data[12:16])),
                   "dst": str(ipaddress.IPv4Address(data[16:20])), "proto": data[9]}
        elif v == 6 and len(data) >= 40:
            rec = {"v": 6, "src": str(ipaddress.IPv6Address(data[8:24])),
                   "dst": str(ipaddress.IPv6Address(data[24:40])), "proto": data[6]}
        else:
            continue
        print(json.dumps({"type": "packet", **rec}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Sends a ClientHello over a hand-made TCP connection whose data segments
arrive in reverse order. Runs in the client namespace with a source address
that namespace does not own, so its kernel never answers the server's
segments with a reset; scapy sees them on the wire."""
import argparse
import random

from scapy.all import IP, TCP, conf, send, sr1

ap = argparse.ArgumentParser()
ap.add_argument("--src", required=True)
ap.add_argument("--dst", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--hello", required=True)
ap.add_argument("--segments", type=int, default=3)
args = ap.parse_args()

conf.verb = 0
hello = open(args.hello, "rb").read()
sport = random.randrange(20000, 60000)
isn = random.randrange(1 << 31)
ip = IP(src=args.src, dst=args.dst)
synack = sr1(ip / TCP(sport=sport, dport=args.port, flags="S", seq=isn), timeout=3)
if synack is None:
    raise SystemExit("no SYN-ACK")
ack = synack[TCP].seq + 1
send(ip / TCP(sport=sport, dport=args.port, flags="A", seq=isn + 1, ack=ack))
size = -(-len(hello) // args.segments)
parts = [(i, hello[i:i + size]) for i in range(0, len(hello), size)]
for off, part in reversed(parts):
    send(ip / TCP(sport=sport, dport=args.port, flags="PA", seq=isn + 1 + off, ack=ack) / part)

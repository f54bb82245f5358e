#!/usr/bin/env python3
"""Accepts one TCP connection and saves the client's first bytes: everything
it sends until it goes quiet (it is waiting for a ServerHello) or 64 KiB."""
import argparse
import socket
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--quiet-ms", type=int, default=400)
args = ap.parse_args()

srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
srv.bind(("::", args.port))
srv.listen(8)
srv.settimeout(30)
print("capture_hello: listening on", args.port, file=sys.stderr, flush=True)
conn, _ = srv.accept()
conn.settimeout(args.quiet_ms / 1000)
data = b""
while len(data) < 65536:
    try:
        chunk = conn.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
with open(args.out, "wb") as f:
    f.write(data)
conn.close()

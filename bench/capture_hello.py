#!/usr/bin/env python3
"""Captures the first ClientHello a real client sends to 127.0.0.1:PORT.

usage: capture_hello.py OUT -- CLIENT ARGS...   ({port} in ARGS is replaced)

Listens on a free loopback port, runs the client, reads the client's first
TLS records until the ClientHello message is complete, writes exactly those
bytes (record headers included) to OUT and closes the connection, which
makes the client give up. Exits non-zero when no ClientHello arrives.
"""
import os
import signal
import socket
import struct
import subprocess
import sys

TIMEOUT = 20  # seconds; chromium's first start is slow
RECORD_HEADER = 5
HANDSHAKE_HEADER = 4


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError("client closed before its ClientHello ended")
        data += chunk
    return data


def read_hello(conn):
    """Returns the records that carry the first handshake message."""
    raw, handshake = b"", b""
    while True:
        header = read_exact(conn, RECORD_HEADER)
        ctype, _, length = struct.unpack("!BHH", header)
        if ctype != 22:
            raise ValueError("not a TLS handshake record")
        raw += header + read_exact(conn, length)
        handshake += raw[-length:]
        if len(handshake) >= HANDSHAKE_HEADER:
            need = HANDSHAKE_HEADER + int.from_bytes(handshake[1:4], "big")
            if len(handshake) >= need:
                return raw


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    out = sys.argv[1]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(TIMEOUT)
    port = srv.getsockname()[1]
    cmd = [a.replace("{port}", str(port)) for a in sys.argv[3:]]
    client = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        conn, _ = srv.accept()
        conn.settimeout(TIMEOUT)
        hello = read_hello(conn)
        conn.close()
    finally:
        # The client leads its own session: end its helpers too (chromium's).
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()
    with open(out, "wb") as f:
        f.write(hello)
    print(f"{out}: {len(hello)} bytes from {cmd[0]}")


if __name__ == "__main__":
    main()

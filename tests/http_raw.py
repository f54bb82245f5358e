#!/usr/bin/env python3
"""Sends raw request bytes and prints the status of each response read.

Usage: http_raw.py [--tls SNI] [--cert CRT --key KEY] PORT PAYLOAD
PAYLOAD is a Python bytes literal body (escapes such as \\r, \\n, \\x00 and
\\t are decoded); {PAD:N} expands to N bytes of 'a'. Without --tls the
bytes go over plain TCP (the suite's negative controls, straight to an
upstream). Reads until the peer closes or stays quiet for 3 s, then prints
the response statuses separated by spaces ("-" when none came)."""
import argparse
import codecs
import re
import socket
import ssl
import sys


def payload(text):
    text = re.sub(r"\{PAD:(\d+)\}", lambda m: "a" * int(m.group(1)), text)
    return codecs.escape_decode(text.encode("latin-1"))[0]


def read_all(sock):
    data = b""
    sock.settimeout(3)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ssl.SSLError, ConnectionResetError):
        pass
    return data


def skip_chunked(data):
    while True:
        eol = data.find(b"\r\n")
        if eol < 0:
            return b""
        size = int(data[:eol].split(b";")[0], 16)
        data = data[eol + 2 + size + 2:] if size else data[eol + 2:]
        if not size:
            end = data.find(b"\r\n\r\n") if not data.startswith(b"\r\n") else -2
            return data[end + 4:]


def statuses(data):
    """Walks responses by their framing (Content-Length or close)."""
    out = []
    while data:
        head_end = data.find(b"\r\n\r\n")
        if head_end < 0 or not data.startswith(b"HTTP/1."):
            break
        head = data[:head_end].decode("latin-1")
        out.append(head.split(" ", 2)[1])
        data = data[head_end + 4:]
        m = re.search(r"(?im)^content-length:\s*(\d+)\s*$", head)
        if m:
            data = data[int(m.group(1)):]
        elif re.search(r"(?im)^transfer-encoding:\s*chunked\s*$", head):
            data = skip_chunked(data)
        else:
            break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("port", type=int)
    ap.add_argument("payload")
    a = ap.parse_args()
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    sock = raw
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        if a.cert:
            ctx.load_cert_chain(a.cert, a.key)
        sock = ctx.wrap_socket(raw, server_hostname=a.tls)
    sock.sendall(payload(a.payload))
    print(" ".join(statuses(read_all(sock))) or "-")
    return 0


sys.exit(main())

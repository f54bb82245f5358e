#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Holds connections open through the proxy, for the fd and memory checks of
tests/test_proxy_fds.sh:

    proxy_hold.py SOCK POLICY N BULK_CONNS BULK_MB
    proxy_hold.py tls PORT SNI CAFILE N BULK_CONNS BULK_MB

opens N connections to an echo upstream (tests/proxy_peers.py
echo-server): hand-offs naming POLICY, with the generation in
TS_GENERATION, as tests/proxy_peers.py sends them, or TLS connections to
tagshaked on PORT; echoes a few bytes on each, and on the first
BULK_CONNS also BULK_MB MiB (a bulk transfer: the proxy splices a plain
one through pipes), then prints "ready N" and holds every connection idle
until a line arrives on stdin. Then it half-closes each (TLS: TCP EOF),
checks the echo's last word and prints "closed: W wrong"."""
import os
import socket
import ssl
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_peers import handoff, read_all  # noqa: E402


def echo_exact(s, data):
    """Sends data (from a thread: the echo answers while we send) and reads
    the same number of bytes back."""
    th = threading.Thread(target=s.sendall, args=(data,))
    th.start()
    got = bytearray()
    while len(got) < len(data):
        b = s.recv(1 << 20)
        if not b:
            break
        got += b
    th.join()
    return bytes(got) == data


def echo_chunks(s, data, chunk=65536):
    """echo_exact one chunk at a time, from one thread (an SSL object is
    not used from two at once)."""
    for off in range(0, len(data), chunk):
        part = data[off:off + chunk]
        s.sendall(part)
        got = bytearray()
        while len(got) < len(part):
            b = s.recv(len(part) - len(got))
            if not b:
                return False
            got += b
        if bytes(got) != part:
            return False
    return True


def tls_connector(port, sni, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return lambda: ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))),
                                   server_hostname=sni)


def main():
    if sys.argv[1] == "tls":
        connect, echo = tls_connector(*sys.argv[2:5]), echo_chunks
        args = sys.argv[5:]
    else:
        connect, echo = (lambda: handoff(sys.argv[1], sys.argv[2])), echo_exact
        args = sys.argv[3:]
    n, bulk_conns, bulk_mb = (int(a) for a in args)
    bulk = bytes(range(256)) * (4096 * bulk_mb)
    conns, bad = [], 0
    for i in range(n):
        c = connect()
        conns.append(c)
        bad += not echo(c, b"conn-%d;" % i)
        if i < bulk_conns:
            bad += not echo(c, bulk)
    print("ready", n - bad, flush=True)
    sys.stdin.readline()
    wrong = 0
    for c in conns:
        socket.socket.shutdown(c, socket.SHUT_WR)
        wrong += read_all(c) != b"bye"
        c.close()
    print("closed: %d wrong" % wrong, flush=True)


if __name__ == "__main__":
    main()

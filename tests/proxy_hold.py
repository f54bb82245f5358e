#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Holds hand-offs open through the proxy, for the fd and memory checks of
tests/test_proxy_fds.sh:

    proxy_hold.py SOCK POLICY N BULK_CONNS BULK_MB

opens N connections (hand-offs naming POLICY, with the generation in
TS_GENERATION, as tests/proxy_peers.py sends them) to an echo upstream (tests/proxy_peers.py echo-server),
echoes a few bytes on each, and on the first BULK_CONNS also BULK_MB MiB
(a bulk transfer: the proxy splices it through pipes), then prints
"ready N" and holds every connection idle until a line arrives on stdin.
Then it half-closes each, checks the echo's last word and prints
"closed: W wrong"."""
import os
import socket
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


def main():
    path, policy, n, bulk_conns, bulk_mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    bulk = bytes(range(256)) * (4096 * bulk_mb)
    conns, bad = [], 0
    for i in range(n):
        c = handoff(path, policy)
        conns.append(c)
        bad += not echo_exact(c, b"conn-%d;" % i)
        if i < bulk_conns:
            bad += not echo_exact(c, bulk)
    print("ready", n - bad, flush=True)
    sys.stdin.readline()
    wrong = 0
    for c in conns:
        c.shutdown(socket.SHUT_WR)
        wrong += read_all(c) != b"bye"
        c.close()
    print("closed: %d wrong" % wrong, flush=True)


if __name__ == "__main__":
    main()

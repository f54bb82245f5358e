#!/usr/bin/env python3
"""Flood clients for tests/test_floods.sh.

idle PORT COUNT FIRST PER READY HOLD
    COUNT TCP connections that never send a byte, PER from each loopback
    source 127.0.0.FIRST, 127.0.0.FIRST+1, ...; once all are connected,
    writes "connected N" to READY, holds them HOLD seconds, then prints
    "closed K of N": how many the server closed meanwhile.
silent PORT SRC
    one connection from SRC that sends nothing; prints the seconds until the
    server closed it: "closed after S s".
handshake PORT SNI CAFILE [SRC]
    one TLS handshake (python ssl, real OpenSSL) from SRC (default
    127.0.0.1); prints "handshake ok ms=M" (connect to Finished) or
    "handshake failed ms=M ERROR".
"""
import select
import socket
import ssl
import sys
import time


def connect_from(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def idle(port, count, first, per, ready, hold):
    conns = []
    for i in range(count):
        conns.append(connect_from("127.0.0.%d" % (first + i // per), port))
    # wait for every handshake of TCP (the accept queue completes it)
    # poll, not select: fds beyond 1024
    p = select.poll()
    pending = {}
    for s in conns:
        p.register(s, select.POLLOUT)
        pending[s.fileno()] = s
    deadline = time.time() + 10
    while pending and time.time() < deadline:
        for fd, _ in p.poll(500):
            p.unregister(fd)
            pending.pop(fd, None)
    with open(ready, "w") as f:
        f.write("connected %d\n" % (count - len(pending)))
    time.sleep(hold)
    closed = 0
    for s in conns:
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1  # reset
    print("closed %d of %d" % (closed, count))


def silent(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    t0 = time.time()
    s.settimeout(30)
    try:
        s.recv(1)
    except OSError:
        pass
    print("closed after %.1f s" % (time.time() - t0))


def handshake(port, sni, cafile, src="127.0.0.1"):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    t0 = time.monotonic()
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.bind((src, 0))
        raw.settimeout(20)
        raw.connect(("127.0.0.1", port))
        s = ctx.wrap_socket(raw, server_hostname=sni)
        ms = (time.monotonic() - t0) * 1000
        print("handshake ok ms=%d" % ms)
        s.close()
    except (OSError, ssl.SSLError) as e:
        ms = (time.monotonic() - t0) * 1000
        print("handshake failed ms=%d %s" % (ms, e))


def main():
    a = sys.argv[1:]
    if a[0] == "idle":
        idle(int(a[1]), int(a[2]), int(a[3]), int(a[4]), a[5], float(a[6]))
    elif a[0] == "silent":
        silent(int(a[1]), a[2])
    elif a[0] == "handshake":
        handshake(int(a[1]), a[2], a[3], *a[4:])
    else:
        sys.exit("unknown command " + a[0])


if __name__ == "__main__":
    main()

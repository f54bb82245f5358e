#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Hostile TLS clients for tests/test_hostile.sh. Each command connects to
127.0.0.1:PORT, misbehaves in one way, waits for the server to end the
connection, and prints one line the suite asserts on (counts, bytes the
server sent, seconds until it closed)."""
import json
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

# RFC 8446 / RFC 6066 / RFC 7685 numbers
HANDSHAKE, ALERT = 22, 21
CLIENT_HELLO = 1
EXT_SNI, EXT_GROUPS, EXT_POINTS, EXT_SIGALGS = 0, 10, 11, 13
EXT_PADDING, EXT_VERSIONS, EXT_PSK_MODES, EXT_KEY_SHARE = 21, 43, 45, 51
X25519 = 0x001D
RECORD_MAX = 16384
# How long a client waits for the server's close before calling it a hang.
WAIT_LIMIT = 30


def ext(t, body):
    return struct.pack(">HH", t, len(body)) + body


def client_hello(sni, size=0):
    """A TLS 1.3 ClientHello OpenSSL accepts (X25519 key share), in as many
    records as it needs; padded with the padding extension to `size` bytes
    of handshake message when size is larger."""
    names = struct.pack(">BH", 0, len(sni)) + sni.encode()
    exts = b"".join([
        ext(EXT_SNI, struct.pack(">H", len(names)) + names) if sni else b"",
        ext(EXT_GROUPS, struct.pack(">HHH", 4, X25519, 0x0017)),
        ext(EXT_POINTS, b"\x01\x00"),
        ext(EXT_SIGALGS, struct.pack(">HHHH", 6, 0x0403, 0x0804, 0x0401)),
        ext(EXT_VERSIONS, b"\x04\x03\x04\x03\x03"),
        ext(EXT_PSK_MODES, b"\x01\x01"),
        ext(EXT_KEY_SHARE, struct.pack(">HHH", 36, X25519, 32) + os.urandom(32)),
    ])
    suites = struct.pack(">H5H", 10, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F)
    body = b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + suites + b"\x01\x00"
    fixed = len(body) + 2 + len(exts) + 4
    if size > fixed + 4:
        exts += ext(EXT_PADDING, bytes(size - fixed - 4))
    body += struct.pack(">H", len(exts)) + exts
    msg = struct.pack(">I", CLIENT_HELLO << 24 | len(body)) + body
    out = b""
    for i in range(0, len(msg), RECORD_MAX):
        part = msg[i:i + RECORD_MAX]
        out += struct.pack(">BHH", HANDSHAKE, 0x0301, len(part)) + part
    return out


def connect(port):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.settimeout(WAIT_LIMIT)
    return s


def drain(s):
    """Reads until the server closes; returns (bytes received, first byte)."""
    n, first = 0, None
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            first = b[0] if first is None else first
            n += len(b)
    except ConnectionResetError:
        pass
    except socket.timeout:
        return -1, first
    return n, first


def kind(first):
    return {None: "nothing", HANDSHAKE: "handshake", ALERT: "alert"}.get(first, "other")


def ended(s, t0):
    n, first = drain(s)
    s.close()
    if n < 0:
        return "hang"
    return "closed after %.1f s, server sent %s" % (time.monotonic() - t0, kind(first))


def silent(port, count, ready_file=None):
    """COUNT connections that never send a byte (READY_FILE is written once
    they are all connected)."""
    t0 = time.monotonic()
    conns = [connect(port) for _ in range(int(count))]
    if ready_file:
        with open(ready_file, "w") as f:
            f.write("%d\n" % len(conns))
    results = []
    for s in conns:
        results.append(drain(s)[0])
        s.close()
    return "%d of %d closed with nothing sent, last after %.1f s" % (
        sum(r == 0 for r in results), len(results), time.monotonic() - t0)


def slow(port, sni):
    """A valid ClientHello, one byte per second, until the server closes."""
    hello, sent = client_hello(sni), 0
    s = connect(port)
    t0 = time.monotonic()
    try:
        for b in hello:
            s.send(bytes([b]))
            sent += 1
            # a second between bytes, unless the server ends it first
            if select.select([s], [], [], 1.0)[0]:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    return "%s; %s" % ("stopped early" if sent < len(hello) else "all sent", ended(s, t0))


def half(port, sni):
    """Half a ClientHello, then silence."""
    hello = client_hello(sni)
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(hello[:len(hello) // 2])
    return ended(s, t0)


def hello_silence(port, sni):
    """A whole ClientHello, then silence."""
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(client_hello(sni))
    return ended(s, t0)


def big(port, sni, size):
    """A ClientHello of SIZE handshake bytes (beyond 16 KiB: two records),
    then the client closes once the server has answered or closed."""
    hello = client_hello(sni, int(size))
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(hello)
    s.settimeout(5)
    try:
        first = s.recv(1)
    except (socket.timeout, ConnectionResetError):
        first = b""
    s.close()
    return "%d records, server answered %s after %.1f s" % (
        (len(hello) + RECORD_MAX) // (RECORD_MAX + 5), kind(first[0] if first else None),
        time.monotonic() - t0)


def garbage(port, size):
    """SIZE random bytes that are no TLS at all."""
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\n" + os.urandom(int(size)))
    return ended(s, t0)


def reject_many(port, sni, count, threads):
    """COUNT connections for a `reject` SNI, THREADS at a time; counts those
    closed without a single byte from the server."""
    results, lock = [], threading.Lock()
    per = int(count) // int(threads)

    def run():
        local = []
        for _ in range(per):
            s = connect(port)
            try:
                s.sendall(client_hello(sni))
            except (BrokenPipeError, ConnectionResetError):
                pass
            local.append(drain(s)[0])
            s.close()
        with lock:
            results.extend(local)
    t0 = time.monotonic()
    ts = [threading.Thread(target=run) for _ in range(int(threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return "%d of %d closed with nothing sent in %.1f s" % (
        sum(r == 0 for r in results), len(results), time.monotonic() - t0)


def cert(port, sni, cafile, certfile, keyfile):
    """A TLS 1.3 client presenting CERTFILE (leaf, then whatever chain the
    file holds); prints "echoed" when the relay works, else the alert."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.load_cert_chain(certfile, keyfile)
    raw = connect(port)
    s = raw
    try:
        s = ctx.wrap_socket(raw, server_hostname=sni)
        # TLS 1.3: a refused certificate is answered after the client's
        # Finished; read first, so no write of ours races the alert
        s.settimeout(0.5)
        try:
            got = s.recv(4)
        except socket.timeout:
            got = None
        s.settimeout(WAIT_LIMIT)
        if got is None:
            s.sendall(b"ping")
            got = s.recv(4)
        return "echoed" if got == b"ping" else "closed after the handshake"
    except ssl.SSLError as e:
        return "alert %s" % (e.reason or type(e).__name__)
    except ConnectionResetError:
        return "reset"
    finally:
        s.close()


def one_echo(port, sni, cafile, certfile=None, keyfile=None, timeout=10):
    """One TLS connection that sends "ping" and waits for it back; returns
    the outcome: echoed, refused (alert or close), or hang."""
    ctx = ssl.create_default_context(cafile=cafile)
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    try:
        raw = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    except OSError:
        return "unreachable"
    try:
        s = ctx.wrap_socket(raw, server_hostname=sni)
        s.sendall(b"ping")
        got = b""
        while len(got) < 4:
            b = s.recv(4 - len(got))
            if not b:
                break
            got += b
        s.close()
        return "echoed" if got == b"ping" else "refused"
    except socket.timeout:
        return "hang"
    except (ssl.SSLError, OSError):
        return "refused"
    finally:
        raw.close()


def mixed(port, seconds, cafile, certfile, keyfile, threads):
    """Connections until SECONDS are up, THREADS at a time, in turn: the
    require SNI with a valid certificate, the require SNI without one, the
    none SNI. Prints the outcomes per kind as JSON."""
    kinds = [("require+cert", "secure.test", certfile, keyfile),
             ("require-nocert", "secure.test", None, None),
             ("none", "open.test", None, None)]
    out = {k[0]: {} for k in kinds}
    lock = threading.Lock()
    end = time.monotonic() + float(seconds)

    def run(i):
        while time.monotonic() < end:
            name, sni, c, k = kinds[i % 3]
            i += 1
            r = one_echo(port, sni, cafile, c, k)
            with lock:
                out[name][r] = out[name].get(r, 0) + 1
    ts = [threading.Thread(target=run, args=(n,)) for n in range(int(threads))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return json.dumps(out, sort_keys=True)


def hold(port, sni, cafile, count, ready_file, seconds):
    """Opens COUNT connections that each echo once and then stay open;
    writes how many are held to READY_FILE, holds them SECONDS, closes."""
    ctx = ssl.create_default_context(cafile=cafile)
    held, bad = [], 0
    for _ in range(int(count)):
        try:
            s = ctx.wrap_socket(connect(port), server_hostname=sni)
            s.sendall(b"ping")
            if s.recv(4) == b"ping":
                held.append(s)
                continue
        except (ssl.SSLError, OSError):
            pass
        bad += 1
    with open(ready_file, "w") as f:
        f.write("%d\n" % len(held))
    time.sleep(float(seconds))
    for s in held:
        s.close()
    return "held %d, failed %d" % (len(held), bad)


def tlv(t, v):
    return struct.pack(">BH", t, len(v)) + v


def bad_handoffs(sock_path):
    """Malformed hand-offs on the proxy's unix socket, as a broken or hostile
    handshaker would send them; each carries the end of a socketpair, and
    the other end must see EOF (the proxy closed what it received).
    Prints, per case, "closed" or "open"."""
    mode = tlv(0xE3, b"\x01")
    cases = [("truncated TLV", mode + b"\x02\x00\x10abc", 1),
             ("bad SSL TLV", mode + tlv(0x20, b"\x01"), 1),
             ("no fd", mode, 0),
             ("three fds", mode, 3),
             ("40 KB message", mode + tlv(0xE4, bytes(40000)), 1),
             ("empty message", b"", 1)]
    out = []
    for name, meta, nfds in cases:
        pairs = [socket.socketpair() for _ in range(nfds)]
        u = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        u.connect(sock_path)
        try:
            socket.send_fds(u, [meta], [b.fileno() for _, b in pairs])
        except OSError as e:
            out.append("%s: send %s" % (name, e.strerror))
            continue
        for _, b in pairs:
            b.close()
        states = []
        for a, _ in pairs:
            a.settimeout(2)
            try:
                states.append("closed" if a.recv(1) == b"" else "data")
            except socket.timeout:
                states.append("open")
            except ConnectionResetError:
                states.append("closed")
            a.close()
        u.close()
        out.append("%s: %s" % (name, ",".join(states) or "-"))
    return "; ".join(out)


def main():
    cmds = {"bad-handoffs": bad_handoffs, "mixed": mixed, "hold": hold, "cert": cert, "silent": silent, "slow": slow, "half": half, "hello-silence": hello_silence,
            "big": big, "garbage": garbage, "reject": reject_many}
    print(cmds[sys.argv[1]](*sys.argv[2:]), flush=True)


if __name__ == "__main__":
    main()

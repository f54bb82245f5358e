#!/usr/bin/env python3
"""Peers for tests/test_policy_reload.sh.

upstream PORT NAME
    a proxy-v2 upstream: reads the PROXY v2 header the proxy sends, answers
    "NAME cert=1" when it carries a client certificate (TLV 0xE4), else
    "NAME cert=0", then closes.
one PORT SNI CAFILE [CERT KEY]
    one connection through tagshaked: prints the upstream's answer, or
    "failed" (handshake refused) or "closed" (handshake done, no answer).
load PORT SNI CAFILE CERT KEY SECONDS THREADS
    THREADS clients loop for SECONDS, half of them with the certificate;
    prints one line per kind, "cert: OUTCOME=N ..." and "nocert: ...".
"""
import collections
import socket
import ssl
import struct
import sys
import threading
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def upstream(port, name):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(512)

    def serve(c):
        try:
            hdr = b""
            while len(hdr) < 16:
                b = c.recv(16 - len(hdr))
                if not b:
                    return
                hdr += b
            if hdr[:12] != SIG:
                return
            n = struct.unpack(">H", hdr[14:16])[0]
            body = b""
            while len(body) < n:
                b = c.recv(n - len(body))
                if not b:
                    return
                body += b
            addr = {0x11: 12, 0x21: 36}.get(hdr[13], 0)
            tlvs, off, cert = body[addr:], 0, 0
            while off + 3 <= len(tlvs):
                t, l = tlvs[off], struct.unpack(">H", tlvs[off + 1:off + 3])[0]
                if t == 0xE4 and l > 0:
                    cert = 1
                off += 3 + l
            c.sendall(("%s cert=%d\n" % (name, cert)).encode())
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def one(port, sni, cafile, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    ctx.check_hostname = False
    if cert:
        ctx.load_cert_chain(cert, key)
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        s = ctx.wrap_socket(raw, server_hostname=sni)
    except (OSError, ssl.SSLError):
        return "failed"
    try:
        data = b""
        while not data.endswith(b"\n"):
            b = s.recv(100)
            if not b:
                break
            data += b
    except (OSError, ssl.SSLError):
        # TLS 1.3: a refused client certificate shows after the handshake
        data = b""
        if not cert:
            return "failed"
    finally:
        s.close()
    return data.decode().strip() or "closed"


def load(port, sni, cafile, cert, key, seconds, threads):
    counts = {"cert": collections.Counter(), "nocert": collections.Counter()}
    lock = threading.Lock()
    end = time.time() + seconds

    def run(i):
        kind = "cert" if i % 2 == 0 else "nocert"
        while time.time() < end:
            r = one(port, sni, cafile, *((cert, key) if kind == "cert" else ()))
            with lock:
                counts[kind][r] += 1

    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for kind in ("cert", "nocert"):
        print(kind + ": " + " ".join("%s=%d" % (k.replace(" ", "_"), v)
                                     for k, v in sorted(counts[kind].items())))


def main():
    a = sys.argv[1:]
    if a[0] == "upstream":
        upstream(int(a[1]), a[2])
    elif a[0] == "one":
        print(one(int(a[1]), a[2], a[3], *a[4:6]))
    elif a[0] == "load":
        load(int(a[1]), a[2], a[3], a[4], a[5], float(a[6]), int(a[7]))


if __name__ == "__main__":
    main()

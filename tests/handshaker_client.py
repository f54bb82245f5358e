#!/usr/bin/env python3
"""Real-client probes for the handshaker suites (python3 ssl).

  certreq HOST PORT SNI N CAFILE [CERT KEY]
      N handshakes (TLS 1.3 and 1.2 alternating); prints
      "handshakes=OK failed=F certreq=C": C counts CertificateRequest
      messages the client received (ssl's message callback).
  hold HOST PORT SNI CAFILE SECONDS
      one connection: handshake, wait, then send a request and print the
      first response line (a connection alive across a reload).
  rawhello HOST PORT SNI
      TLS 1.3 ClientHello via a memory BIO, then reads: prints
      "bytes=N" (N = bytes the server sent before closing).
"""
import socket
import ssl
import sys
import time


def ctx_for(cafile, cert=None, key=None, version=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert, key)
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def certreq(host, port, sni, n, cafile, cert=None, key=None):
    seen = [0]

    def cb(conn, direction, version, content_type, msg_type, data):
        if direction == "read" and msg_type == ssl._TLSMessageType.CERTIFICATE_REQUEST:
            seen[0] += 1

    ctxs = [ctx_for(cafile, cert, key, v)
            for v in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2)]
    for c in ctxs:
        c._msg_callback = cb
    ok = failed = 0
    for i in range(n):
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                with ctxs[i % 2].wrap_socket(s, server_hostname=sni) as ss:
                    ss.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    ss.recv(1)  # a TLS 1.3 require failure shows up here
                    ok += 1
        except (ssl.SSLError, OSError):
            failed += 1
    print(f"handshakes={ok} failed={failed} certreq={seen[0]}")


def hold(host, port, sni, cafile, seconds):
    ctx = ctx_for(cafile)
    with socket.create_connection((host, port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=sni) as ss:
            print("connected", flush=True)
            time.sleep(float(seconds))
            ss.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                b = ss.recv(4096)
                if not b:
                    break
                data += b
    print(data.split(b"\r\n")[0].decode())


def rawhello(host, port, sni):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni or None)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    got = 0
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(out.read())
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                got += len(b)
        except ConnectionResetError:
            pass
    print(f"bytes={got}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "certreq":
        certreq(args[0], int(args[1]), args[2], int(args[3]), *args[4:])
    elif cmd == "hold":
        hold(args[0], int(args[1]), args[2], args[3], args[4])
    elif cmd == "rawhello":
        rawhello(args[0], int(args[1]), args[2] if len(args) > 2 else "")

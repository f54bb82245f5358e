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
  garbage HOST PORT N
      N connections sending random bytes; prints "answered=K" (K answers
      other than an alert or a close).
  hello HOST PORT SNI
      a hand-built TLS 1.3 ClientHello naming SNI byte for byte (any bytes);
      prints "alert=N", "record=T" (first record type) or "closed".
  hrr HOST PORT SNI1 SNI2
      a hand-built TLS 1.3 ClientHello whose only key share is for a group
      the server does not implement while x25519 is also supported, so the
      server asks again
      (HelloRetryRequest); the second ClientHello names SNI2. Prints
      "hrr=1 alert=N" or "hrr=1 serverhello" (or "hrr=0 ..." without HRR).
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


# A group OpenSSL 3.0 does not implement: its key share is ignored, so the
# server asks for x25519 with a HelloRetryRequest.
UNKNOWN_GROUP = 0x6399

# RFC 8446 4.1.3: the ServerHello.random of a HelloRetryRequest.
HRR_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


def u16(n):
    return n.to_bytes(2, "big")


def ext(typ, body):
    return u16(typ) + u16(len(body)) + body


def client_hello(sni, group, share, session_id, rnd):
    name = sni.encode()
    exts = ext(0, u16(len(name) + 3) + b"\x00" + u16(len(name)) + name)  # server_name
    exts += ext(43, b"\x02\x03\x04")                           # supported_versions: 1.3
    exts += ext(10, u16(4) + u16(UNKNOWN_GROUP) + u16(0x001d))    # groups: ?, x25519
    exts += ext(13, u16(4) + u16(0x0403) + u16(0x0804))           # ecdsa_p256, rsa_pss
    exts += ext(51, u16(len(share) + 4) + u16(group) + u16(len(share)) + share)
    exts += ext(45, b"\x01\x01")                                 # psk_dhe_ke
    body = b"\x03\x03" + rnd + bytes([len(session_id)]) + session_id
    body += u16(2) + u16(0x1301) + b"\x01\x00" + u16(len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + u16(len(hs)) + hs


def read_record(s):
    head = b""
    while len(head) < 5:
        b = s.recv(5 - len(head))
        if not b:
            return None, b""
        head += b
    n = int.from_bytes(head[3:5], "big")
    body = b""
    while len(body) < n:
        b = s.recv(n - len(body))
        if not b:
            break
        body += b
    return head[0], body


def hrr(host, port, sni1, sni2):
    import os
    sid, rnd = os.urandom(32), os.urandom(32)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(client_hello(sni1, UNKNOWN_GROUP, os.urandom(32), sid, rnd))
        typ, body = read_record(s)
        got_hrr = typ == 22 and body[:1] == b"\x02" and body[6:38] == HRR_RANDOM
        if not got_hrr:
            print(f"hrr=0 type={typ}")
            return
        s.sendall(client_hello(sni2, 0x001d, os.urandom(32), sid, rnd))
        while True:
            typ, body = read_record(s)
            if typ is None:
                print("hrr=1 closed")
                return
            if typ == 21:
                print(f"hrr=1 alert={body[1]}")
                return
            if typ == 22 and body[:1] == b"\x02":
                print("hrr=1 serverhello")
                return


def hello_answer(host, port, sni):
    """Sends one hand-built ClientHello; prints the server's first answer."""
    import os
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(client_hello(sni, 0x001d, os.urandom(32), os.urandom(32), os.urandom(32)))
        typ, body = read_record(s)
        if typ is None:
            print("closed")
        elif typ == 21:
            print(f"alert={body[1]}")
        else:
            print(f"record={typ}")


def garbage(host, port, n):
    """n connections of random bytes (some shaped like a TLS record);
    prints how many got any answer other than an alert or a close."""
    import os
    import random
    rng = random.Random(4)
    answered = 0
    for i in range(n):
        body = os.urandom(rng.randint(1, 3000))
        if i % 2:  # a handshake record header in front of the noise
            body = b"\x16\x03\x01" + len(body).to_bytes(2, "big") + b"\x01" + body
        with socket.create_connection((host, port), timeout=5) as s:
            try:
                s.sendall(body)
                s.shutdown(socket.SHUT_WR)
                typ, _ = read_record(s)
            except OSError:
                typ = None
            if typ not in (None, 21):
                answered += 1
    print(f"answered={answered}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "certreq":
        certreq(args[0], int(args[1]), args[2], int(args[3]), *args[4:])
    elif cmd == "hold":
        hold(args[0], int(args[1]), args[2], args[3], args[4])
    elif cmd == "garbage":
        garbage(args[0], int(args[1]), int(args[2]))
    elif cmd == "hello":
        hello_answer(args[0], int(args[1]), args[2])
    elif cmd == "hrr":
        hrr(args[0], int(args[1]), args[2], args[3])
    elif cmd == "rawhello":
        rawhello(args[0], int(args[1]), args[2] if len(args) > 2 else "")

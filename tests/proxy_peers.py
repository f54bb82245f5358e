#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Peers for the proxy suites: upstreams (a PROXY v2 decoder that checks
every TLV against the certificate the test used, echo, greeter, holder),
TLS clients, and a raw hand-off sender (SCM_RIGHTS + TLVs, as tagshaked
sends them) for tests that need no TLS. Prints results; the shell suites
assert on them."""
import hashlib
import json
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
NAMES = {0x01: "alpn", 0x02: "authority", 0x20: "ssl", 0xE0: "policy", 0xE1: "route",
         0xE2: "action", 0xE3: "mode", 0xE4: "cert", 0xE5: "fingerprint", 0xE6: "subject",
         0xE7: "issuer", 0xE8: "serial", 0xE9: "cert_id", 0xEA: "ca_id", 0xEB: "resumed", 0xEC: "peer", 0xED: "local",
         0xEE: "match", 0xEF: "chain"}
SSL_SUB = {0x21: "version", 0x22: "cn", 0x23: "cipher", 0x24: "sig_alg", 0x25: "key_alg"}


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("short read")
        b += c
    return b


def tlvs(data):
    out, i = [], 0
    while i < len(data):
        t, ln = data[i], struct.unpack(">H", data[i + 1:i + 3])[0]
        out.append((t, data[i + 3:i + 3 + ln]))
        i += 3 + ln
    if i != len(data):
        raise ValueError("TLV overrun")
    return out


def read_pp2_bytes(s):
    """The PROXY v2 header's bytes: the fixed part and what it announces."""
    fixed = recv_exact(s, 16)
    if fixed[:12] != SIG:
        raise ValueError("no PROXY v2 signature")
    return fixed + recv_exact(s, struct.unpack(">H", fixed[14:16])[0])


def read_pp2(s):
    header = read_pp2_bytes(s)
    fixed, body = header[:16], header[16:]
    fam, addrs = fixed[13], {}
    if fam == 0x11:
        addrs = {"src": socket.inet_ntoa(body[0:4]), "dst": socket.inet_ntoa(body[4:8]),
                 "sport": struct.unpack(">H", body[8:10])[0],
                 "dport": struct.unpack(">H", body[10:12])[0]}
        body = body[12:]
    elif fam == 0x21:
        body = body[36:]
    return fixed[12], fam, addrs, tlvs(body)


def addr_tlv(v):
    fam = v[0]
    ln = 4 if fam == 4 else 16
    ip = socket.inet_ntop(socket.AF_INET if fam == 4 else socket.AF_INET6, v[1:1 + ln])
    return "%s:%d" % (ip, struct.unpack(">H", v[1 + ln:3 + ln])[0])


def decode(ts):
    """TLV list → {name: python value}; SSL sub-TLVs flattened."""
    d = {}
    for t, v in ts:
        name = NAMES.get(t, "0x%02x" % t)
        if t == 0x20:
            d["ssl_client"], d["ssl_verify"] = v[0], struct.unpack(">I", v[1:5])[0]
            for st, sv in tlvs(v[5:]):
                d[SSL_SUB.get(st, "0x%02x" % st)] = sv.decode()
        elif t in (0xE1, 0xE9, 0xEA):
            d[name] = struct.unpack(">H", v)[0]
        elif t in (0xE2, 0xE3, 0xEB, 0xEE):
            d[name] = v[0]
        elif t in (0xE4, 0xE5, 0xEF):
            d[name] = v.hex()
        elif t in (0xEC, 0xED):
            d[name] = addr_tlv(v)
        else:
            d[name] = v.decode()
    return d


def tlv_server(path, expected_file):
    """Each connection: the PROXY v2 header, then one JSON line from the
    client with what only it knows; answers one line per checked value."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        try:
            ver, fam, addrs, ts = read_pp2(c)
            got = decode(ts)
            f = c.makefile("rb")
            client = json.loads(f.readline())
            want = json.load(open(expected_file))
            want.update(client["tlv"])
            lines = ["ver_cmd %s" % ("ok" if ver == 0x21 else "bad %#x" % ver),
                     "family %s" % ("ok" if fam == 0x11 else "bad %#x" % fam)]
            for k, v in sorted(client["addrs"].items()):
                lines.append("addr_%s %s" % (k, "ok" if addrs.get(k) == v else
                                             "bad got %r want %r" % (addrs.get(k), v)))
            for k, v in sorted(want.items()):
                lines.append("%s %s" % (k, "ok" if got.get(k) == v else
                                        "bad got %r want %r" % (got.get(k), v)))
            extra = sorted(set(got) - set(want))
            lines.append("unexpected_tlvs %s" % ("ok" if not extra else "bad " + ",".join(extra)))
            c.sendall(("\n".join(lines) + "\n").encode())
            f.close()
        except Exception as e:  # report, keep serving
            c.sendall(("error %s\n" % e).encode())
        c.close()


def tls_client(port, sni, cafile, cert, key, payload_kind):
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection(("127.0.0.1", int(port)))
    s = ctx.wrap_socket(raw, server_hostname=sni)
    if payload_kind == "tlv":
        info = {"tlv": {"authority": sni, "alpn": s.selected_alpn_protocol(),
                        "version": s.version(), "cipher": s.cipher()[0],
                        "peer": "127.0.0.1:%d" % s.getsockname()[1],
                        "local": "127.0.0.1:%d" % int(port)},
                "addrs": {"src": "127.0.0.1", "sport": s.getsockname()[1],
                          "dst": "127.0.0.1", "dport": int(port)}}
        s.sendall((json.dumps(info) + "\n").encode())
    else:  # bytes from argv (backslash escapes), e.g. pipelined HTTP requests
        s.sendall(payload_kind.encode().decode("unicode_escape").encode("latin-1"))
        # half-close under TLS: TCP FIN without close_notify, reading goes on
        socket.socket.shutdown(s, socket.SHUT_WR)
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not b:
            break
        out += b
    sys.stdout.write(out.decode("latin-1"))


class BioClient:
    """A TLS client over memory BIOs: each step (close_notify sent, read
    to the end) is taken separately, and the end of the server's stream says
    how it came: "close_notify" or "eof" (TCP FIN without it)."""

    def __init__(self, port, sni, cafile, keylog=""):
        ctx = ssl.create_default_context(cafile=cafile)
        if keylog:
            ctx.keylog_filename = keylog
        self.sock = socket.create_connection(("127.0.0.1", int(port)))
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)
        self._run(self.obj.do_handshake)

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _run(self, fn, *args):
        while True:
            try:
                r = fn(*args)
                self._flush()
                return r
            except ssl.SSLWantReadError:
                self._flush()
                b = self.sock.recv(65536)
                if b:
                    self.inc.write(b)
                else:
                    self.inc.write_eof()

    def send(self, data):
        self._run(self.obj.write, data)

    def close_notify(self):
        try:
            self.obj.unwrap()  # sends it, then would wait for the server's
        except ssl.SSLWantReadError:
            pass
        self._flush()

    def read_to_end(self):
        got = b""
        while True:
            try:
                b = self._run(self.obj.read, 65536)
            except ssl.SSLEOFError:
                return got, "eof"
            except ssl.SSLZeroReturnError:  # close_notify after ours
                b = b""
            if not b:  # the read that met the peer's close_notify
                return got, "close_notify"
            got += b


def tls_close(port, sni, cafile, first, payload):
    """first=client: sends payload and its close_notify, then reads to the
    end. first=server: reads to the end (the upstream closed), then sends
    payload and its close_notify. Prints what it read and how it ended."""
    c = BioClient(port, sni, cafile)
    if first == "client":
        c.send(payload.encode())
        c.close_notify()
        got, how = c.read_to_end()
    else:
        got, how = c.read_to_end()
        c.send(payload.encode())
        c.close_notify()
        time.sleep(0.2)  # the proxy reads it before the socket closes
    print(got.decode(), how)


def tls_bulk(port, sni, cafile, mb):
    """MB MiB of random bytes to an echo upstream over TLS, read back while
    they are sent; then TCP EOF. Prints "match" when every byte came back
    in order (and the echo's last word), and the MB/s each way."""
    ctx = ssl.create_default_context(cafile=cafile)
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port))), server_hostname=sni)
    data = os.urandom(int(mb) << 20)
    sent, got, t0 = 0, bytearray(), time.monotonic()
    s.setblocking(False)
    while True:
        r, w, _ = select.select([s], [s] if sent < len(data) else [], [], 10)
        if not r and not w:
            break
        if w:
            try:
                sent += s.send(data[sent:sent + 65536])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
            if sent == len(data):
                socket.socket.shutdown(s, socket.SHUT_WR)
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
            if not b:
                break
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
    dt = time.monotonic() - t0
    print("match" if bytes(got) == data + b"bye" else "mismatch (%d of %d bytes)" % (len(got), len(data) + 3),
          "%.0f" % (len(data) / dt / 1e6))


def pp2_dump(path, log):
    """A PROXY v2 upstream that records, per connection, the MODE TLV's
    mode and the types of its sub-TLVs, and the whole header in hex; then
    answers "dumped", ends its side and reads the client's to the end."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        header = read_pp2_bytes(c)
        addr_len = {0x11: 12, 0x21: 36}.get(header[13], 0)
        mode = dict(tlvs(header[16 + addr_len:])).get(0xE3, b"")
        subs = ",".join("%02x" % t for t, _ in tlvs(mode[1:])) if mode else "-"
        with open(log, "a") as f:
            f.write("mode=%s subtlvs=%s header=%s\n" % (mode[0] if mode else "-", subs, header.hex()))
        c.sendall(b"dumped\n")
        c.shutdown(socket.SHUT_WR)
        read_all(c)
        c.close()


# --- hand-offs without TLS, for relay behaviour -------------------------

def handoff(sock_path, policy, authority=b"raw.test", alpn=b"", records=None):
    """A hand-off as tagshaked sends one: the policy entry that decided and
    the policy generation (TS_GENERATION, hex, from `tagshake check
    --generation`) in MODE's sub-TLV; the proxy takes the route from them.
    Relay mode, or records mode (4) with records: the RECORDS sub-TLV's
    value (b"": none)."""
    def tlv(t, v):
        return struct.pack(">BH", t, len(v)) + v
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    gen = int(os.environ.get("TS_GENERATION", "0"), 16)
    mode = (b"\x01" if records is None else b"\x04") + tlv(0x01, struct.pack(">Q", gen))
    if records:
        mode += tlv(0x02, records)
    meta = tlv(0x02, authority) + tlv(0xE0, policy.encode()) + tlv(0xE3, mode)
    if alpn:
        meta += tlv(0x01, alpn)
    u = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    u.connect(sock_path)
    socket.send_fds(u, [meta], [b.fileno()])
    b.close()
    u.close()
    return a


def read_all(s):
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b


def serve_unix(path, handler):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1024)  # the proxy connects without waiting: a full backlog is a refusal
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def echo_handler(c):
    """Echoes as it reads; after the client's EOF sends 'bye' and closes."""
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.sendall(b"bye")
    c.close()


def greeter_handler(c, log):
    """Says hello and closes its write side first, then records what the
    client still sends."""
    c.sendall(b"hello")
    c.shutdown(socket.SHUT_WR)
    got = read_all(c)
    with open(log, "ab") as f:
        f.write(got + b"\n")
    c.close()


def holder(port, fill):
    """Accepts nothing (fill>0: a full accept queue, SYNs dropped) or
    accepts and stays silent."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(0)
    held = []
    if fill:
        for _ in range(fill):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", int(port)))
            except BlockingIOError:
                pass
            held.append(s)
        time.sleep(3600)
    while True:
        held.append(srv.accept()[0])


def recorder(port, log):
    """An upstream that greets ("hello\n"), echoes, and logs each
    connection: "open N" at accept, "close N bytes=B" at EOF or reset (B:
    the bytes it received)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(64)
    lock = threading.Lock()

    def note(line):
        with lock, open(log, "a") as f:
            f.write(line + "\n")

    def serve(c, n):
        got = 0
        try:
            c.sendall(b"hello\n")
            while True:
                b = c.recv(65536)
                if not b:
                    break
                got += len(b)
                c.sendall(b)
        except OSError:
            pass
        note("close %d bytes=%d" % (n, got))
        c.close()

    n = 0
    while True:
        c = srv.accept()[0]
        n += 1
        note("open %d" % n)
        threading.Thread(target=serve, args=(c, n), daemon=True).start()


def abort_hello(port, sni, wait_s):
    """Sends a ClientHello, waits WAIT_S seconds (the server decides and
    answers), then closes the TCP connection without finishing (wait_s
    "hang": keeps it open until killed)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # memory BIOs: the server's answer is never fed back, so the handshake
    # cannot finish however fast the server is
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    t = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        t.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(out.read())
    if wait_s == "hang":
        time.sleep(3600)
    time.sleep(float(wait_s))
    s.close()
    print("aborted")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "tlv-server":
        tlv_server(*args)
    elif cmd == "tls-client":
        tls_client(*args)
    elif cmd == "echo-server":
        serve_unix(args[0], echo_handler)
    elif cmd == "greeter":
        serve_unix(args[0], lambda c: greeter_handler(c, args[1]))
    elif cmd == "holder":
        holder(args[0], int(args[1]))
    elif cmd == "recorder":  # PORT LOG
        recorder(args[0], args[1])
    elif cmd == "abort-hello":  # PORT SNI SECONDS|hang
        abort_hello(*args)
    elif cmd == "tls-close":  # PORT SNI CAFILE client|server PAYLOAD
        tls_close(*args)
    elif cmd == "tls-bulk":  # PORT SNI CAFILE MB
        tls_bulk(*args)
    elif cmd == "pp2-dump":  # PATH LOG
        pp2_dump(*args)
    elif cmd == "half-close":  # SOCK ROUTE: client half-closes first
        s = handoff(args[0], args[1])
        s.sendall(b"ping")
        s.shutdown(socket.SHUT_WR)
        print(read_all(s).decode())
    elif cmd == "upstream-closes-first":  # SOCK ROUTE
        s = handoff(args[0], args[1])
        got = read_all(s)
        s.sendall(b"late data")
        s.shutdown(socket.SHUT_WR)
        print(got.decode(), read_all(s).decode() == "")
    elif cmd == "bulk":  # SOCK ROUTE MB: streams MB both ways, prints digests + MB/s
        s = handoff(args[0], args[1])
        total = int(args[2]) << 20
        chunk = bytes(range(256)) * 256
        sent = hashlib.sha256()

        def send():
            left = total
            while left:
                b = chunk[:min(left, len(chunk))]
                s.sendall(b)
                sent.update(b)
                left -= len(b)
            s.shutdown(socket.SHUT_WR)
        t0 = time.monotonic()
        th = threading.Thread(target=send)
        th.start()
        got = hashlib.sha256()
        n = 0
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got.update(b)
            n += len(b)
        th.join()
        dt = time.monotonic() - t0
        ref = sent.copy()
        ref.update(b"bye")  # the echo server's last word after EOF
        print("match" if got.hexdigest() == ref.hexdigest() and n == total + 3 else "mismatch",
              "%.0f" % (total / dt / 1e6))
    elif cmd == "many":  # SOCK ROUTE N: N connections open at once, each its own bytes
        conns = [handoff(args[0], args[1]) for _ in range(int(args[2]))]
        for i, c in enumerate(conns):
            c.sendall(b"conn-%d;" % i)
            c.shutdown(socket.SHUT_WR)
        bad = sum(read_all(c) != b"conn-%d;bye" % i for i, c in enumerate(conns))
        print("%d of %d wrong" % (bad, len(conns)))
    elif cmd == "drain":  # SOCK ROUTE PID: SIGTERM the proxy mid-connection
        import os
        import signal
        s = handoff(args[0], args[1])
        s.sendall(b"a")
        r1 = s.recv(10)
        os.kill(int(args[2]), signal.SIGTERM)
        time.sleep(0.3)
        gone = not os.path.exists(args[0])
        s.sendall(b"b")
        r2 = s.recv(10)
        s.shutdown(socket.SHUT_WR)
        print(r1.decode(), r2.decode(), read_all(s).decode(), "socket-gone" if gone else "socket-kept")
    elif cmd == "stuck":  # SOCK ROUTE: small writes until the path is full, then wait
        s = handoff(args[0], args[1])
        s.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                sent += s.send(b"m" * 100)
            except BlockingIOError:
                time.sleep(0.05)  # let the proxy fill its side
                try:
                    sent += s.send(b"m" * 100)
                except BlockingIOError:
                    break
        time.sleep(float(args[2]))
        print(sent)
    elif cmd == "h2":  # SOCK ROUTE: an h2 hand-off to an http route
        s = handoff(args[0], args[1], b"kong.test", b"h2")
        s.settimeout(5)
        try:
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            got = s.recv(4096)  # the front end's SETTINGS, if it answers
            # end our side and drain, so that neither side resets the other
            s.shutdown(socket.SHUT_WR)
            read_all(s)
        except (BrokenPipeError, ConnectionResetError):
            got = b""  # closed with our bytes unread: a reset, no answer either
        print("closed" if got == b"" else "answered")
    elif cmd == "records-refused":  # SOCK ROUTE SUITE SECRET_LEN: a records hand-off
        # the proxy cannot serve (SECRET_LEN 0: without the secrets); prints
        # "closed" when it closed the connection without a byte
        suite, slen = int(args[2], 16), int(args[3])
        rec = struct.pack(">HQQB", suite, 0, 0, slen) + b"\xa5" * (2 * slen) if slen else b""
        s = handoff(args[0], args[1], records=rec)
        s.settimeout(5)
        print("closed" if read_all(s) == b"" else "answered")
    elif cmd == "timed-eof":  # SOCK ROUTE: seconds until the proxy closes
        s = handoff(args[0], args[1])
        t0 = time.monotonic()
        s.settimeout(20)
        data = read_all(s)
        print("%.1f %d" % (time.monotonic() - t0, len(data)))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Peers of the HTTP/2 suite (tests/test_proxy_h2.sh).

echo-upstream PORT: an HTTP/1.1 upstream that answers every request with the
  request head exactly as it arrived, then its decoded body; /trailers answers
  chunked with gRPC-style trailers; /page is an HTML page whose script shows
  the protocol the browser used and fetches /sub four times; /slow waits;
  /close closes the connection after its answer without saying so. The
  log has one line per request: request line | fields | port=CLIENT PORT.
Hostile HTTP/2 clients over TLS, frames written with hyperframe and HPACK
  (python3-h2's parts), each printing what the proxy did:
  rapid-reset, continuation-flood, settings-flood, big-headers, streams.
"""
import socket
import socketserver
import ssl
import sys
import time

from hpack import Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame,
                              HeadersFrame, RstStreamFrame, SettingsFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ERRORS = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
          7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR", 11: "ENHANCE_YOUR_CALM"}


# ---- the upstream ----------------------------------------------------------

def read_head(f):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = f.readline()
        if not line:
            return None
        head += line
    return head


def read_body(f, head):
    low = head.lower()
    if b"\r\ntransfer-encoding: chunked\r\n" in low:
        body = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:  # trailer fields, if any, are echoed after the body
                while True:
                    line = f.readline()
                    if line in (b"\r\n", b""):
                        return body
                    body += line
            body += f.read(size)
            f.readline()
    for line in low.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return f.read(int(line.split(b":")[1]))
    return b""


PAGE = b"""<html><body><div id=p>-</div><div id=s>-</div><script>
document.getElementById('p').textContent = 'proto=' +
  performance.getEntriesByType('navigation')[0].nextHopProtocol;
Promise.all([1,2,3,4].map(i => fetch('/sub?' + i).then(r => r.text())))
  .then(t => { document.getElementById('s').textContent = 'subs=' + t.length; });
</script></body></html>"""


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            head = read_head(self.rfile)
            if head is None:
                return
            try:
                body = read_body(self.rfile, head)
            except ValueError:
                return  # the proxy closed mid-body (a stream reset)
            path = head.split(b" ")[1]
            if LOG:
                with open(LOG, "ab") as f:
                    f.write(head.split(b"\r\n")[0] + b" | " + b"|".join(
                        line for line in head.split(b"\r\n")[1:] if line) +
                        b"|port=%d\n" % self.client_address[1])
            if path.startswith(b"/trailers"):
                out = (b"HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\n"
                       b"Transfer-Encoding: chunked\r\nTrailer: grpc-status\r\n\r\n"
                       b"5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\n\r\n")
            elif path.startswith(b"/page"):
                out = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
                       % len(PAGE)) + PAGE
            else:
                if path.startswith(b"/slow"):
                    time.sleep(30)
                payload = head + body
                out = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Hop: x\r\n"
                       b"Connection: X-Hop\r\nContent-Length: %d\r\n\r\n" % len(payload)) + payload
            try:
                self.wfile.write(out)
                self.wfile.flush()
            except OSError:
                return
            # /close: the connection ends after the answer, unannounced (an
            # upstream's idle timeout racing the proxy's pool)
            if b"connection: close" in head.lower() or path.startswith(b"/close"):
                return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


LOG = None


# ---- hostile clients -------------------------------------------------------

def connect(port, sni, ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=sni)
    assert s.selected_alpn_protocol() == "h2", s.selected_alpn_protocol()
    s.sendall(PREFACE + SettingsFrame(0).serialize())
    return s


def request_block(enc, sni, path="/", extra=()):
    return enc.encode([(":method", "GET"), (":scheme", "https"), (":authority", sni),
                       (":path", path)] + list(extra))


def frames(s, timeout=10):
    """Reads frames until EOF or timeout; yields each (None at the end)."""
    s.settimeout(timeout)
    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            data = s.recv(65536)
        except (socket.timeout, ConnectionResetError, ssl.SSLError):
            data = b""
        if not data:
            break
        buf += data
        while len(buf) >= 9:
            f, length = Frame.parse_frame_header(memoryview(buf[:9]))
            if len(buf) < 9 + length:
                break
            f.parse_body(memoryview(buf[9:9 + length]))
            buf = buf[9 + length:]
            yield f


def outcome(s, timeout=10):
    """What the proxy ended with: GOAWAY code (None when the peer could not
    even be sent one), whether it closed, and whether that came before the
    proxy's idle timeout (3 s in the suite) could have done it."""
    t0 = time.monotonic()
    goaway = None
    for f in frames(s, timeout):
        if isinstance(f, GoAwayFrame):
            goaway = ERRORS.get(f.error_code, str(f.error_code))
    try:
        s.settimeout(2)
        closed = s.recv(1) == b""
    except (OSError, ssl.SSLError):
        closed = True
    return "goaway=%s %s %s" % (goaway, "closed" if closed else "open",
                                "quickly" if time.monotonic() - t0 < 2 else "slowly")


def send_quietly(s, data):
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass


def rapid_reset(port, sni, ca, n):
    """CVE-2023-44487: HEADERS then RST_STREAM, n times, never waiting."""
    s = connect(port, sni, ca)
    enc = Encoder()
    out = b""
    for i in range(n):
        sid = 2 * i + 1
        out += HeadersFrame(sid, request_block(enc, sni), flags=["END_HEADERS", "END_STREAM"]).serialize()
        out += RstStreamFrame(sid, error_code=8).serialize()
    send_quietly(s, out)
    print(outcome(s))


def continuation_flood(port, sni, ca, n):
    """CVE-2024-27316 class: one header block in endless CONTINUATION frames."""
    s = connect(port, sni, ca)
    enc = Encoder()
    out = HeadersFrame(1, request_block(enc, sni)).serialize()
    filler = enc.encode([("x-filler", "a" * 1000)])
    for _ in range(n):
        out += ContinuationFrame(1, filler).serialize()
    send_quietly(s, out)
    print(outcome(s))


def settings_flood(port, sni, ca, n):
    """SETTINGS frames (each wants an ACK) sent without reading any answer."""
    s = connect(port, sni, ca)
    frame = SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 65535}).serialize()
    s.settimeout(5)
    for _ in range(n // 100):
        send_quietly(s, frame * 100)
    print(outcome(s))


def big_headers(port, sni, ca, size):
    """A header list over SETTINGS_MAX_HEADER_LIST_SIZE: the stream's status."""
    s = connect(port, sni, ca)
    enc = Encoder()
    fields = [("x-big-%d" % i, "v" * 900) for i in range(size // 1000)]
    send_quietly(s, HeadersFrame(1, request_block(enc, sni, "/", fields),
                                 flags=["END_HEADERS", "END_STREAM"]).serialize())
    status = None
    from hpack import Decoder
    dec = Decoder()
    dec.max_allowed_table_size = 65536
    for f in frames(s, 5):
        if isinstance(f, HeadersFrame) and f.stream_id == 1:
            status = dict(dec.decode(f.data)).get(":status")
            break
    print("status=%s" % status)


def two_authorities(port, sni, ca, other):
    """Stream 1 for the connection's own name, stream 3 for another
    policy's, stream 5 for the own name again: each stream's status and
    whether the connection is still open after them."""
    from hpack import Decoder
    s = connect(port, sni, ca)
    enc, dec = Encoder(), Decoder()
    out = b""
    for sid, name in ((1, sni), (3, other), (5, sni)):
        out += HeadersFrame(sid, request_block(enc, name, "/echo"),
                            flags=["END_HEADERS", "END_STREAM"]).serialize()
    send_quietly(s, out)
    status = {}
    for f in frames(s, 3):
        if isinstance(f, HeadersFrame) and f.stream_id not in status:
            status[f.stream_id] = dict(dec.decode(f.data)).get(":status")
        if isinstance(f, GoAwayFrame):
            status["goaway"] = f.error_code
        if len(status) == 3:
            break
    send_quietly(s, HeadersFrame(7, request_block(enc, sni, "/echo"),
                                 flags=["END_HEADERS", "END_STREAM"]).serialize())
    for f in frames(s, 3):
        if isinstance(f, HeadersFrame) and f.stream_id == 7:
            status[7] = dict(dec.decode(f.data)).get(":status")
            break
    print(" ".join("%s=%s" % (k, status[k]) for k in sorted(status, key=str)))


def request_trailers(port, sni, ca):
    """A POST whose body ends with trailers (gRPC clients send none, but
    HTTP/2 allows them): the status and the body echoed back."""
    from hpack import Decoder
    s = connect(port, sni, ca)
    enc, dec = Encoder(), Decoder()
    head = enc.encode([(":method", "POST"), (":scheme", "https"), (":authority", sni),
                       (":path", "/post")])
    out = HeadersFrame(1, head, flags=["END_HEADERS"]).serialize()
    out += DataFrame(1, b"part1-").serialize() + DataFrame(1, b"part2").serialize()
    out += HeadersFrame(1, enc.encode([("x-trailer", "t")]),
                        flags=["END_HEADERS", "END_STREAM"]).serialize()
    send_quietly(s, out)
    status, body = None, b""
    for f in frames(s, 5):
        if isinstance(f, HeadersFrame) and f.stream_id == 1 and status is None:
            status = dict(dec.decode(f.data)).get(":status")
        if isinstance(f, DataFrame) and f.stream_id == 1:
            body += f.data
            if "END_STREAM" in f.flags:
                break
    print("status=%s trailer_upstream=%s body_end=%s" % (
        status, b"x-trailer" in body.lower(), body[-11:].decode()))


def idle(port, sni, ca):
    """A connection with no request, left open: how it ends."""
    s = connect(port, sni, ca)
    print(outcome(s, 8))


def streams(port, sni, ca, n, path):
    """n streams opened at once (request bodies never finished): counts
    the streams refused with RST_STREAM, then closes."""
    s = connect(port, sni, ca)
    enc = Encoder()
    out = b""
    for i in range(n):
        out += HeadersFrame(2 * i + 1, request_block(enc, sni, path), flags=["END_HEADERS"]).serialize()
    send_quietly(s, out)
    refused = 0
    for f in frames(s, 3):
        if isinstance(f, RstStreamFrame):
            refused += 1
        if isinstance(f, GoAwayFrame):
            print("goaway=%s" % ERRORS.get(f.error_code, f.error_code))
    print("refused=%d" % refused)


def main():
    global LOG
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "echo-upstream":
        LOG = args[1] if len(args) > 1 else None
        Server(("127.0.0.1", int(args[0])), Echo).serve_forever()
    # PORT SNI ARGS... CAFILE
    port, sni, rest, ca = int(args[0]), args[1], args[2:-1], args[-1]
    if cmd == "rapid-reset":
        rapid_reset(port, sni, ca, int(rest[0]))
    elif cmd == "continuation-flood":
        continuation_flood(port, sni, ca, int(rest[0]))
    elif cmd == "settings-flood":
        settings_flood(port, sni, ca, int(rest[0]))
    elif cmd == "big-headers":
        big_headers(port, sni, ca, int(rest[0]))
    elif cmd == "two-authorities":
        two_authorities(port, sni, ca, rest[0])
    elif cmd == "request-trailers":
        request_trailers(port, sni, ca)
    elif cmd == "idle":
        idle(port, sni, ca)
    elif cmd == "streams":
        streams(port, sni, ca, int(rest[0]), rest[1])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()

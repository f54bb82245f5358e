#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""The demo's upstream (scripts/run.sh): an HTTP/1.1 server on a unix socket
that answers every request with the request line and the headers it
received, so the metadata the proxy added (X-Client-Cert-* in the demo's
kong style) is what curl prints."""
import http.server
import os
import socketserver
import sys


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        lines = [self.requestline] + [f"{k}: {v}" for k, v in self.headers.items()]
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_any

    # unix peers have no (host, port): the default log line would fail
    def address_string(self):
        return "unix"

    def log_message(self, fmt, *args):
        sys.stderr.write("echo-upstream: " + (fmt % args) + "\n")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    with Server(path, Echo) as srv:
        try:
            srv.serve_forever()
        except KeyboardInterrupt:  # Ctrl-C reaches the whole process group
            pass


if __name__ == "__main__":
    main()

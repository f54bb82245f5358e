#!/usr/bin/env python3
"""An HTTP upstream behind a PROXY v2 header, for the proxy-v2 checks of
tests/test_request.sh (Debian's nginx 1.22 has no $proxy_protocol_tlv_*
variables): each connection reads the PROXY v2 header, then one HTTP
request, and answers with what the header said about the client
certificate: "client=<PP2_CLIENT_* bits> verify=<n> cn=<CN or ->
cert=<sha256 of the certificate TLV, or ->".

usage: pp2_http_upstream.py UNIX_SOCKET_PATH
"""
import hashlib
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_peers import read_pp2, decode  # noqa: E402


def answer(c):
    _, _, _, ts = read_pp2(c)
    got = decode(ts)
    req = b""
    while b"\r\n\r\n" not in req:
        chunk = c.recv(4096)
        if not chunk:
            return
        req += chunk
    cert = dict(ts).get(0xE4)
    body = "client=%s verify=%s cn=%s cert=%s\n" % (
        got.get("ssl_client", "-"), got.get("ssl_verify", "-"), got.get("cn", "-"),
        hashlib.sha256(cert).hexdigest() if cert else "-")
    c.sendall(("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
               % (len(body), body)).encode())


def main():
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sys.argv[1])
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        try:
            answer(c)
        except Exception as e:  # report in the body, keep serving
            c.sendall(("HTTP/1.1 500 x\r\nConnection: close\r\n\r\nerror %s\n" % e).encode())
        c.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A WSGI upstream for tests/test_http_hostile.sh: wsgiref's server, which
maps X_Client_Cert and X-Client-Cert (any case) to one environ key and joins
repeated fields with a comma, the first one received first. Each request is
answered with 200 and logged as one JSON line: the environ keys an
application would trust for identity, forwarding and routing, the path and
the body. Usage: wsgi_upstream.py PORT LOGFILE"""
import json
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

PORT, LOG = int(sys.argv[1]), sys.argv[2]
KEYS = (
    "HTTP_HOST",
    "HTTP_X_CLIENT_CERT",
    "HTTP_X_CLIENT_CERT_SUBJECT_DN",
    "HTTP_CLIENT_CERT",
    "HTTP_CLIENT_CERT_CHAIN",
    "HTTP_X_FORWARDED_CLIENT_CERT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_CONNECTION",
    "HTTP_TRANSFER_ENCODING",
    "CONTENT_LENGTH",
)


def app(environ, start_response):
    n = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(n) if n else b""
    rec = {k: environ[k] for k in KEYS if environ.get(k)}
    rec["method"] = environ["REQUEST_METHOD"]
    rec["path"] = environ.get("PATH_INFO", "")
    rec["body"] = body.decode("latin-1")
    line = json.dumps(rec, sort_keys=True)
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")
    out = (line + "\n").encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


make_server("127.0.0.1", PORT, app, handler_class=QuietHandler).serve_forever()

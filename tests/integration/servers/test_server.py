#!/usr/bin/env python3
"""A small HTTP server for shipgate's smoke-test integration tests.

Listens on 127.0.0.1 (port from argv[1], default 0 = any free port), prints
the port on the first line of stdout, then serves until SIGTERM/SIGINT.

Endpoints (any method):
  /slow?ms=N                 waits N ms, then 200 {"slept_ms": N, "path": ...}
  /fail                      500 {"error": "fail"}
  /flap?key=K&fail=N         the first N requests for key K get 503, later ones
                             200 {"key": K, "count": <request number>}
  /retry-after?key=K&seconds=S
                             the first request for key K gets 503 with
                             "Retry-After: S", later ones 200 {"key": K}
  /status?code=N             status N, JSON body {"status": N}
  /echo                      200 {"method", "path", "headers" (lower-case
                             names), "body"} of the request
Anything else is 404.
"""
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Counters:
    """Requests seen per key, shared by the handler threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}

    def next(self, key):
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


COUNTERS = Counters()


def number(query, name, default=0):
    try:
        return int(query.get(name, default))
    except ValueError:
        return default


def slow(handler, query):
    ms = number(query, "ms")
    time.sleep(ms / 1000.0)
    return 200, {"slept_ms": ms, "path": handler.path}, {}


def fail(handler, query):
    return 500, {"error": "fail"}, {}


def flap(handler, query):
    key = query.get("key", "")
    count = COUNTERS.next("flap:" + key)
    if count <= number(query, "fail"):
        return 503, {"key": key, "count": count}, {}
    return 200, {"key": key, "count": count}, {}


def retry_after(handler, query):
    key = query.get("key", "")
    if COUNTERS.next("retry-after:" + key) == 1:
        return 503, {"key": key}, {"Retry-After": str(number(query, "seconds", 1))}
    return 200, {"key": key}, {}


def status(handler, query):
    code = number(query, "code", 200)
    return code, {"status": code}, {}


def echo(handler, query):
    headers = {name.lower(): value for name, value in handler.headers.items()}
    body = handler.body.decode("utf-8", errors="replace")
    return 200, {"method": handler.command, "path": handler.path, "headers": headers, "body": body}, {}


ROUTES = {"/slow": slow, "/fail": fail, "/flap": flap, "/retry-after": retry_after, "/status": status, "/echo": echo}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real services do
    server_version = "shipgate-test-server"

    def handle_request(self):
        url = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        length = number(self.headers, "Content-Length")
        self.body = self.rfile.read(length) if length > 0 else b""
        route = ROUTES.get(url.path)
        code, payload, headers = route(self, query) if route else (404, {"error": "not found"}, {})
        self.reply(code, payload, headers)

    def reply(self, code, payload, headers):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_request

    def log_message(self, format, *args):
        pass  # the tests read results, not logs


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many parallel connects must not overflow the backlog

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is expected here


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = Server(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

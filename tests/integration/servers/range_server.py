#!/usr/bin/env python3
"""A small HTTP server for shipgate's artifact download tests.

Usage: range_server.py DIR [PORT]. Serves the files in DIR on 127.0.0.1
(port 0 = any free port), prints the port on the first line of stdout, then
serves until SIGTERM/SIGINT.

Endpoints (GET):
  /files/NAME                the file, with "Range: bytes=N-" answered by
                             206 and Content-Range. Query options:
                               ignore_range=1      always 200 with the whole file
                               fail=N&key=K        the first N requests for key K get 503
                               break_after=N&key=K the first request for key K
                                                   announces the whole length but
                                                   sends N bytes and hangs up
                               delay_ms=N          a pause after every 64 KiB
  /redirect?hops=N&to=PATH   302 to itself with hops=N-1, and to PATH at 0
  /stream?bytes=N            200 without Content-Length: N bytes (0 = endless),
                             then the connection closes
  /log                       the requests seen so far as JSON lines
                             {"path": ..., "range": ...}, oldest first
Anything else is 404.
"""
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

CHUNK = 64 * 1024


class State:
    """Request counters and the request log, shared by the handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.log = []

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def record(self, path, range_header):
        with self.lock:
            self.log.append({"path": path, "range": range_header})

    def lines(self):
        with self.lock:
            return "".join(json.dumps(entry) + "\n" for entry in self.log)


STATE = State()


def number(query, name, default=0):
    try:
        return int(query.get(name, default))
    except ValueError:
        return default


def range_start(header):
    """N from "bytes=N-", or None for anything else."""
    if not header or not header.startswith("bytes=") or not header.endswith("-"):
        return None
    try:
        return int(header[len("bytes="):-1])
    except ValueError:
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "shipgate-range-server"

    def do_GET(self):
        url = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        STATE.record(self.path, self.headers.get("Range"))
        if url.path.startswith("/files/"):
            self.serve_file(url.path[len("/files/"):], query)
        elif url.path == "/redirect":
            self.redirect(query)
        elif url.path == "/stream":
            self.stream(number(query, "bytes"))
        elif url.path == "/log":
            self.reply(200, STATE.lines().encode())
        else:
            self.reply(404, b"not found\n")

    def reply(self, code, body, headers=None):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def serve_file(self, name, query):
        path = os.path.join(self.server.root, os.path.basename(name))
        if not os.path.isfile(path):
            return self.reply(404, b"not found\n")
        key = query.get("key", "")
        if number(query, "fail") and STATE.count("fail:" + key) <= number(query, "fail"):
            return self.reply(503, b"try later\n")
        with open(path, "rb") as f:
            data = f.read()
        start = None if query.get("ignore_range") == "1" else range_start(self.headers.get("Range"))
        if start is not None and start >= len(data):
            return self.reply(416, b"", {"Content-Range": "bytes */%d" % len(data)})
        body = data if start is None else data[start:]
        self.send_response(200 if start is None else 206)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if start is not None:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        limit = len(body)
        if "break_after" in query and STATE.count("break:" + key) == 1:
            limit = min(limit, number(query, "break_after"))
        self.send_slowly(body[:limit], number(query, "delay_ms"))
        if limit < len(body):
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)

    def send_slowly(self, body, delay_ms):
        for offset in range(0, len(body), CHUNK):
            self.wfile.write(body[offset:offset + CHUNK])
            if delay_ms:
                self.wfile.flush()
                time.sleep(delay_ms / 1000.0)

    def redirect(self, query):
        hops = number(query, "hops")
        target = query.get("to", "/")
        location = target if hops <= 1 else "/redirect?hops=%d&to=%s" % (hops - 1, quote(target, safe=""))
        self.reply(302, b"", {"Location": location})

    def stream(self, total):
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sent = 0
        chunk = b"x" * CHUNK
        try:
            while total == 0 or sent < total:
                part = chunk if total == 0 else chunk[:total - sent]
                self.wfile.write(part)
                sent += len(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading, as the size-limit tests expect

    def log_message(self, format, *args):
        pass  # the tests read /log, not stderr


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up mid-transfer is expected here


def main():
    root = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    server = Server(("127.0.0.1", port), Handler)
    server.root = root
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

#!/usr/bin/env python3
"""The app of the blue-green test, shipped inside every release:

  python3 <root>/<colour>/app.py --port PORT --pidfile FILE

It serves the release it was started from (the folder this file really is
in, links resolved), whatever the colour links point at later:
  /   200 "version <VERSION>\\n"; 503 "version <VERSION> broken\\n" when the
      release holds a file named BROKEN (a release whose health check fails)
Every answer carries X-App-Version and X-App-Pid.

SIGTERM/SIGINT: stop accepting, finish the requests in flight, exit 0. The
pidfile is written (atomically) once the server accepts connections and
removed on exit. Only python3's standard library is used.
"""
import argparse
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RELEASE_DIR = os.path.dirname(os.path.realpath(__file__))
with open(os.path.join(RELEASE_DIR, "VERSION"), encoding="utf-8") as version_file:
    VERSION = version_file.read().strip()
BROKEN = os.path.exists(os.path.join(RELEASE_DIR, "BROKEN"))


def log(message):
    sys.stderr.write("%s app[%d] %s\n" % (time.strftime("%H:%M:%S"), os.getpid(), message))
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # one line per request would flood the log under load

    def do_GET(self):  # noqa: N802 - the base class's name
        if BROKEN:
            self.answer(503, ("version %s broken\n" % VERSION).encode())
        else:
            self.answer(200, ("version %s\n" % VERSION).encode())

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-App-Version", VERSION)
        self.send_header("X-App-Pid", str(os.getpid()))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() waits for the requests in flight
    allow_reuse_address = True
    request_queue_size = 128


def write_pidfile(path):
    temporary = "%s.tmp-%d" % (path, os.getpid())
    with open(temporary, "w", encoding="utf-8") as f:
        f.write("%d\n" % os.getpid())
    os.replace(temporary, path)


def remove_own_pidfile(path):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read().strip() == str(os.getpid()):
                os.unlink(path)
    except OSError:
        pass


def main(argv):
    parser = argparse.ArgumentParser(description="shipgate blue-green test app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pidfile", required=True)
    options = parser.parse_args(argv)
    server = Server(("127.0.0.1", options.port), Handler)
    stopping = threading.Lock()

    def stop(signum, _frame):
        # shutdown() waits for serve_forever, which runs in this thread.
        if stopping.acquire(blocking=False):
            threading.Thread(target=server.shutdown, daemon=True).start()
            log("stopping (signal %d)" % signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_pidfile(options.pidfile)
    log("version %s%s serving on 127.0.0.1:%d from %s" %
        (VERSION, " (broken)" if BROKEN else "", options.port, RELEASE_DIR))
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    remove_own_pidfile(options.pidfile)
    log("version %s stopped" % VERSION)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

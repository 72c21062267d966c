#!/usr/bin/env python3
"""The demo's web server, managed by the launch plan's commands.

  site.py start PORT   serve $SHIPGATE_CURRENT/public on 127.0.0.1:PORT (in the background)
  site.py stop         stop the server started for $SHIPGATE_ROOT

/health answers 200 while a page is served. The pid is kept in
$SHIPGATE_ROOT/shared/site.pid.
"""
import http.server
import os
import signal
import socketserver
import sys
import time


def pid_file():
    return os.path.join(os.environ["SHIPGATE_ROOT"], "shared", "site.pid")


def stop():
    try:
        with open(pid_file()) as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.02)
    except ProcessLookupError:
        pass
    os.unlink(pid_file())
    return 0


def serve(port, folder):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=folder, **kwargs)

        def do_GET(self):
            if self.path == "/health":
                self.send_response(200)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    socketserver.TCPServer.allow_reuse_address = True
    with socketserver.TCPServer(("127.0.0.1", port), Handler) as server:
        server.serve_forever()


def start(port):
    # The release `current` points at now, resolved once: the server keeps
    # serving it until it is restarted.
    folder = os.path.realpath(os.path.join(os.environ["SHIPGATE_CURRENT"], "public"))
    child = os.fork()
    if child:
        with open(pid_file(), "w") as handle:
            handle.write(str(child))
        return 0
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    serve(port, folder)
    os._exit(0)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "stop":
        sys.exit(stop())
    if len(sys.argv) == 3 and sys.argv[1] == "start":
        sys.exit(start(int(sys.argv[2])))
    sys.stderr.write(__doc__)
    sys.exit(2)

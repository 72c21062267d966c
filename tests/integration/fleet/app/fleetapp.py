#!/usr/bin/env python3
"""The fleet tests' app: one per host, started and stopped by the plan's
commands over ssh, on the host.

  fleetapp.py start --root ROOT --address ADDR [--port 8080] [--host NAME]
  fleetapp.py stop  --root ROOT
  fleetapp.py serve --root ROOT --address ADDR [--port 8080] [--host NAME]   (what start runs)

`start` reads the version of the release ROOT/current points at
(current/VERSION), starts `serve` in the background (setsid, output to
ROOT/shared/app.log, pid in ROOT/shared/app.pid) and returns once it
answers, or exits 1 saying why. `stop` ends the process of the pid file and
waits for it (exit 0 when nothing runs).

The server answers on ADDR:PORT:
  GET /ready    200 "ready" as soon as it listens
  GET /health   200 "ok version=V; host=NAME" for the version V it runs, or
                500 "failing version=V" while ROOT/shared/fail-V exists
                (a test makes one host's release fail by creating it)
  GET /version  200 "V"
  GET /health?probe  the same, logged as a "probe" (a test looking) instead of "health"

Files in ROOT/shared/ a test reads or writes:
  events.log    one line per event, "EPOCH_MS EVENT VERSION [DETAIL]":
                start/stop (the commands), health (each /health answer,
                with its status), probe (/health?probe); the clock is the
                machine's
  fail-V        /health answers 500 for version V while it exists
  slow-V        `start` of version V sleeps this many seconds first
  drop-V        `start` of version V renames it to dropped-V and first runs
                the command it holds (a JSON list: argv), e.g. the harness's
                `hosts.sh drop DIR NAME`, so the host drops mid-batch
"""
import argparse
import http.server
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import time


def shared(root, name):
    return os.path.join(root, "shared", name)


def now_ms():
    return int(time.time() * 1000)


def log_event(root, event, version, detail=""):
    line = "%d %s %s %s" % (now_ms(), event, version, detail)
    # One write of a short line to an O_APPEND file: lines of concurrent
    # processes never interleave.
    fd = os.open(shared(root, "events.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line.rstrip() + "\n").encode())
    finally:
        os.close(fd)


def current_version(root):
    path = os.path.join(root, "current", "VERSION")
    with open(path) as handle:
        return handle.read().strip()


def read_pid(root):
    try:
        with open(shared(root, "app.pid")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (an exited child nobody reaped) is not running.
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def serve(args):
    root, version = args.root, current_version(args.root)
    host = args.host or args.address

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status, text):
            body = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/ready":
                self.answer(200, "ready")
            elif self.path == "/version":
                self.answer(200, version)
            elif self.path in ("/health", "/health?probe"):
                if os.path.exists(shared(root, "fail-" + version)):
                    status, text = 500, "failing version=%s; host=%s" % (version, host)
                else:
                    status, text = 200, "ok version=%s; host=%s" % (version, host)
                # The tests' own look (?probe) is told apart from the deploy's checks.
                log_event(root, "probe" if self.path.endswith("?probe") else "health", version, str(status))
                self.answer(status, text)
            else:
                self.answer(404, "not found")

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        allow_reuse_address = True
        daemon_threads = True

    server = Server((args.address, args.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log_event(root, "serving", version, "%s:%d pid %d" % (args.address, args.port, os.getpid()))
    server.serve_forever()


def answers(address, port):
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def run_drop_hook(root, version):
    hook = shared(root, "drop-" + version)
    if not os.path.exists(hook):
        return
    with open(hook) as handle:
        argv = json.load(handle)
    os.rename(hook, shared(root, "dropped-" + version))
    log_event(root, "drop", version, " ".join(argv))
    subprocess.run(argv, check=False)


def start(args):
    root = args.root
    os.makedirs(os.path.join(root, "shared"), exist_ok=True)
    version = current_version(root)
    try:
        with open(shared(root, "slow-" + version)) as handle:
            time.sleep(float(handle.read().strip() or "0"))
    except FileNotFoundError:
        pass
    run_drop_hook(root, version)
    pid = read_pid(root)
    if pid and running(pid):
        sys.stderr.write("fleetapp: already running as pid %d; stop it first\n" % pid)
        return 1
    log_event(root, "start", version)
    argv = [sys.executable, os.path.abspath(__file__), "serve", "--root", root,
            "--address", args.address, "--port", str(args.port)]
    if args.host:
        argv += ["--host", args.host]
    with open(shared(root, "app.log"), "ab") as out:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                 start_new_session=True, close_fds=True)
    with open(shared(root, "app.pid"), "w") as handle:
        handle.write("%d\n" % child.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if child.poll() is not None:
            sys.stderr.write("fleetapp: version %s exited with %d at start; see %s\n"
                             % (version, child.returncode, shared(root, "app.log")))
            return 1
        if answers(args.address, args.port):
            print("fleetapp: version %s serving on %s:%d (pid %d)" % (version, args.address, args.port, child.pid))
            return 0
        time.sleep(0.05)
    sys.stderr.write("fleetapp: version %s does not answer on %s:%d after 10 s; see %s\n"
                     % (version, args.address, args.port, shared(root, "app.log")))
    return 1


def stop(args):
    root = args.root
    pid = read_pid(root)
    if pid is None:
        return 0
    version = "-"
    try:
        version = current_version(root)
    except OSError:
        pass
    if running(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if running(pid):
            os.kill(pid, signal.SIGKILL)
            while running(pid):
                time.sleep(0.02)
    os.unlink(shared(root, "app.pid"))
    log_event(root, "stop", version, "pid %d" % pid)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["start", "stop", "serve"])
    parser.add_argument("--root", required=True)
    parser.add_argument("--address")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="")
    args = parser.parse_args()
    if args.action != "stop" and not args.address:
        parser.error("--address is needed to %s" % args.action)
    return {"start": start, "stop": stop, "serve": serve}[args.action](args) or 0


if __name__ == "__main__":
    sys.exit(main())

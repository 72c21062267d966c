#!/usr/bin/env python3
"""Starts and stops one colour of the blue-green test app, as a plan's
start and stop commands do with a real service manager. Argv only:

  colourctl.py start --app <root>/<colour>/app.py --port PORT --pidfile F --log F [--timeout S]
  colourctl.py stop  --pidfile F [--timeout S]
  colourctl.py status --pidfile F

start   starts the app in its own session (it outlives this command) and
        returns once it accepts connections on PORT; fails when it already
        runs (the deploy must have stopped the colour first).
stop    sends SIGTERM and waits for the exit (SIGKILL after --timeout); a
        colour that does not run is fine.
status  prints the pid and exits 0 when it runs, 3 when it does not.
Exit status: 0 done, 1 failed (the message says why), 2 bad usage.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time

POLL_S = 0.01


def fail(message):
    sys.stderr.write("colourctl: %s\n" % message)
    sys.exit(1)


def alive(pid):
    """True while pid runs; a zombie nobody has reaped yet counts as gone."""
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def running_pid(pidfile):
    try:
        with open(pidfile, encoding="ascii") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def start(options):
    pid = running_pid(options.pidfile)
    if pid is not None:
        fail("the app already runs (pid %d, %s); stop it first" % (pid, options.pidfile))
    if not os.path.isfile(options.app):
        fail("%s does not exist: is the colour link pointing at a release?" % options.app)
    with open(options.log, "ab") as log:
        child = subprocess.Popen([sys.executable, options.app, "--port", str(options.port), "--pidfile",
                                  options.pidfile], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True, cwd=os.path.dirname(options.app))
    deadline = time.monotonic() + options.timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            fail("the app exited with status %d while starting; see %s" % (child.returncode, options.log))
        if running_pid(options.pidfile) == child.pid and accepts(options.port):
            print("started pid %d on port %d" % (child.pid, options.port))
            return 0
        time.sleep(POLL_S)
    child.kill()
    fail("the app did not accept connections on port %d within %.0f s; see %s" %
         (options.port, options.timeout, options.log))
    return 1


def stop(options):
    pid = running_pid(options.pidfile)
    if pid is None:
        print("not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + options.timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(POLL_S)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        print("pid %d killed after %.0f s" % (pid, options.timeout))
    else:
        print("stopped pid %d" % pid)
    return 0


def status(options):
    pid = running_pid(options.pidfile)
    if pid is None:
        print("not running")
        return 3
    print("running, pid %d" % pid)
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--app", help="<root>/<colour>/app.py (start)")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (start)")
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--log", help="the app's output (start)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (default 10)")
    options = parser.parse_args(argv)
    if options.action == "start":
        if not (options.app and options.port and options.log):
            parser.error("start needs --app, --port and --log")
        return start(options)
    return stop(options) if options.action == "stop" else status(options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

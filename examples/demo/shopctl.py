#!/usr/bin/env python3
"""Starts and stops the demo shop on a host: what a systemd unit does in real
life. The launch plan's start and stop commands run it over ssh.

  shopctl.py start --root ROOT --address ADDR [--port 8080]
  shopctl.py stop  --root ROOT

`start` runs the shop of the release ROOT/current points at
(ROOT/current/shop.py) in the background, with its output in
ROOT/shared/shop.log and its pid in ROOT/shared/shop.pid, and returns once it
answers on ADDR:PORT (exit 1, saying why, if it does not within 10 s).
`stop` ends the process of the pid file (exit 0 when none runs).
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time


def pid_file(root):
    return os.path.join(root, "shared", "shop.pid")


def read_pid(root):
    try:
        with open(pid_file(root)) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # an exited child nobody reaped is not running
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def answers(address, port):
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def start(args):
    os.makedirs(os.path.join(args.root, "shared"), exist_ok=True)
    pid = read_pid(args.root)
    if pid and running(pid):
        sys.stderr.write("shopctl: the shop already runs as pid %d; stop it first\n" % pid)
        return 1
    app = os.path.join(args.root, "current", "shop.py")
    argv = [sys.executable, app, "--root", args.root, "--address", args.address, "--port", str(args.port)]
    with open(os.path.join(args.root, "shared", "shop.log"), "ab") as log:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 start_new_session=True, close_fds=True)
    with open(pid_file(args.root), "w") as handle:
        handle.write("%d\n" % child.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if child.poll() is not None:
            sys.stderr.write("shopctl: the shop exited with %d at start; see %s/shared/shop.log\n"
                             % (child.returncode, args.root))
            return 1
        if answers(args.address, args.port):
            print("shopctl: the shop serves on %s:%d (pid %d)" % (args.address, args.port, child.pid))
            return 0
        time.sleep(0.05)
    sys.stderr.write("shopctl: the shop does not answer on %s:%d after 10 s\n" % (args.address, args.port))
    return 1


def stop(args):
    pid = read_pid(args.root)
    if pid is None:
        return 0
    if running(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    os.unlink(pid_file(args.root))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="start or stop the demo shop")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--root", required=True)
    parser.add_argument("--address")
    parser.add_argument("--port", type=int, default=8080)
    arguments = parser.parse_args()
    if arguments.action == "start" and not arguments.address:
        parser.error("start needs --address")
    sys.exit(start(arguments) if arguments.action == "start" else stop(arguments))

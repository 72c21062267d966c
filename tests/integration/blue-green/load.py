#!/usr/bin/env python3
"""Continuous HTTP load for the blue-green test, recording every request.

  load.py --url URL --stop-file PATH --events PATH [--keepalive N] [--fresh N]
          [--timeout S] [--started-file PATH]

N threads reuse one keep-alive connection each and N threads open a new
connection per request, until the --stop-file exists. Every request is one
line of the events file (JSON): [start, end, thread, version, failure,
detail], times in seconds since the epoch (the clock `date +%s.%N` and
bash's $EPOCHREALTIME read). `version` is taken from an answer "version V"
with status 200; anything else is a failure:
  status   an HTTP status other than 200 (detail: the status and body)
  error    no complete answer: refused, reset, closed, timeout
  body     status 200 with a body that is not "version V"
One retry is made, as RFC 9112 section 9.3.1 lets a client do for an
idempotent request, only when a reused keep-alive connection was closed
before any byte of the answer came (nginx closes its idle keep-alive
connections when a reload retires the old workers); that request is then
recorded with the retry's outcome and detail "retried: <why>", so the
report counts retries apart. Nothing else is retried.
--started-file is written once the first good answer came. The last line
on stdout sums it up. Exit status: 0 when nothing failed, 1 when something
did, 2 on bad usage.
"""
import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
from urllib.parse import urlsplit

BODY = re.compile(rb"^version ([A-Za-z0-9._+-]+)\n$")


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.events = []
        self.first_good = threading.Event()

    def add(self, event):
        with self.lock:
            self.events.append(event)
        if event[3] is not None:
            self.first_good.set()


class Worker(threading.Thread):
    def __init__(self, name, url, keepalive, timeout, stop, recorder):
        super().__init__(daemon=True, name=name)
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.path = parts.path or "/"
        self.keepalive, self.timeout, self.stop, self.recorder = keepalive, timeout, stop, recorder
        self.connection = None

    def run(self):
        while not self.stop.is_set():
            started = time.time()
            reused = self.connection is not None
            version, failure, detail = self.one_request()
            if reused and failure == "closed":
                version, failure, retry_detail = self.one_request()
                detail = "retried: %s%s" % (detail, "; then " + retry_detail if failure else "")
            if failure == "closed":
                failure = "error"
            self.recorder.add([started, time.time(), self.name, version, failure, detail])
        self.close()

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def one_request(self):
        reused = self.connection is not None
        how = "reused connection" if reused else "new connection"
        answered = False  # the status line came
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            headers = {} if self.keepalive else {"Connection": "close"}
            self.connection.request("GET", self.path, headers=headers)
            response = self.connection.getresponse()
            answered = True
            body = response.read()
            if not self.keepalive or response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            # Closed before any byte of the answer: "closed" (retried once on a reused connection).
            closed = not answered and isinstance(error, (http.client.RemoteDisconnected, ConnectionResetError,
                                                         BrokenPipeError))
            return None, "closed" if closed else "error", "%s: %s (%s)" % (type(error).__name__, error, how)
        if response.status != 200:
            return None, "status", "HTTP %d: %r" % (response.status, body[:80])
        found = BODY.match(body)
        if not found:
            return None, "body", "%r" % body[:80]
        return found.group(1).decode(), None, None


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--started-file")
    parser.add_argument("--keepalive", type=int, default=3)
    parser.add_argument("--fresh", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=10.0)
    options = parser.parse_args(argv)
    if options.keepalive + options.fresh < 1:
        parser.error("at least one thread is needed")

    stop = threading.Event()
    recorder = Recorder()
    workers = [Worker("keepalive-%d" % i, options.url, True, options.timeout, stop, recorder)
               for i in range(options.keepalive)]
    workers += [Worker("fresh-%d" % i, options.url, False, options.timeout, stop, recorder)
                for i in range(options.fresh)]
    for worker in workers:
        worker.start()
    started_written = False
    while not os.path.exists(options.stop_file):
        if options.started_file and not started_written and recorder.first_good.is_set():
            with open(options.started_file, "w", encoding="utf-8") as f:
                f.write("%f\n" % time.time())
            started_written = True
        time.sleep(0.02)
    stop.set()
    for worker in workers:
        worker.join(options.timeout + 5)

    with recorder.lock:
        events = sorted(recorder.events)
    with open(options.events, "w", encoding="utf-8") as f:
        for event in events:
            f.write(json.dumps(event) + "\n")
    failed = sum(1 for event in events if event[4] is not None)
    retried = sum(1 for event in events if event[4] is None and event[5])
    versions = {}
    for event in events:
        if event[3] is not None:
            versions[event[3]] = versions.get(event[3], 0) + 1
    print("load: %d requests, %d failed, %d retried once on a new connection, versions %s" %
          (len(events), failed, retried, json.dumps(versions, sort_keys=True)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

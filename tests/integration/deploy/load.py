#!/usr/bin/env python3
"""Continuous HTTP load that checks every answer, for the zero-downtime test.

  load.py --url NAME=URL [--url ...] --page FILE [--page ...]
          --stop-file PATH --report PATH [--keepalive N] [--fresh N]
          [--timeout S] [--started-file PATH]

For every URL it runs N threads that reuse one keep-alive connection and N
threads that open a new connection per request, until PATH --stop-file
exists. An answer counts as good only when its status is 200 and its body is
byte for byte one of the --page files; anything else is a failure:
  status   an HTTP status other than 200
  error    no complete answer: refused, reset, timeout, short body
  torn     a body that starts as one known page and ends as another
  unknown  any other body
--started-file is written once every URL has had a good answer.
The report (JSON) holds per URL: requests, good, failures by kind, answers
per version, version changes seen by the threads, and the first failures in
detail. The last line on stdout sums it up. Exit status: 0 when nothing
failed, 1 when something did, 2 on bad usage.
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import sys
import threading
import time
from urllib.parse import urlsplit

MARKER = re.compile(rb"version ([A-Za-z0-9._+-]+) (begin|end)")
MAX_SAMPLES = 20


class Pages:
    """The known pages, by digest, and which version each one is."""

    def __init__(self, files):
        self.by_digest = {}
        for path in files:
            with open(path, "rb") as f:
                body = f.read()
            self.by_digest[hashlib.sha256(body).digest()] = self.version_of(body) or os.path.basename(path)

    @staticmethod
    def version_of(body):
        found = MARKER.search(body[:256])
        return found.group(1).decode() if found else None

    def classify(self, body):
        """(version, None) for a known page, (None, "torn"/"unknown") otherwise."""
        version = self.by_digest.get(hashlib.sha256(body).digest())
        if version is not None:
            return version, None
        first = MARKER.search(body[:256])
        last = None
        for last in MARKER.finditer(body[-256:]):
            pass
        if first and last and first.group(1) != last.group(1):
            return None, "torn"
        return None, "unknown"


class Stats:
    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.requests = 0
        self.good = 0
        self.failures = {}
        self.versions = {}
        self.changes = 0
        self.samples = []

    def record(self, version, failure, detail, started):
        with self.lock:
            self.requests += 1
            if failure is None:
                self.good += 1
                self.versions[version] = self.versions.get(version, 0) + 1
                return
            self.failures[failure] = self.failures.get(failure, 0) + 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append({"at": round(started, 3), "kind": failure, "detail": detail})

    def to_json(self):
        with self.lock:
            return {"requests": self.requests, "good": self.good, "failed": sum(self.failures.values()),
                    "failures": dict(self.failures), "versions": dict(self.versions),
                    "version_changes": self.changes, "first_failures": list(self.samples)}


class Worker(threading.Thread):
    def __init__(self, url, stats, pages, keepalive, timeout, stop, t0):
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        self.stats, self.pages, self.keepalive = stats, pages, keepalive
        self.timeout, self.stop, self.t0 = timeout, stop, t0
        self.connection = None
        self.last_version = None

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic() - self.t0
            version, failure, detail = self.one_request()
            self.stats.record(version, failure, detail, started)
            if version is not None and version != self.last_version:
                if self.last_version is not None:
                    with self.stats.lock:
                        self.stats.changes += 1
                self.last_version = version
        self.close()

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def one_request(self):
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            headers = {} if self.keepalive else {"Connection": "close"}
            self.connection.request("GET", self.path, headers=headers)
            response = self.connection.getresponse()
            body = response.read()
            if not self.keepalive or response.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return None, "error", "%s: %s" % (type(error).__name__, error)
        if response.status != 200:
            return None, "status", "HTTP %d, body %r" % (response.status, body[:120])
        version, problem = self.pages.classify(body)
        if problem is not None:
            return None, problem, "%d bytes, starts %r, ends %r" % (len(body), body[:60], body[-60:])
        return version, None, None


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", action="append", required=True, help="NAME=URL")
    parser.add_argument("--page", action="append", required=True, help="a known page (file)")
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--started-file")
    parser.add_argument("--keepalive", type=int, default=2, help="keep-alive threads per URL")
    parser.add_argument("--fresh", type=int, default=2, help="new-connection threads per URL")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    options = parser.parse_args(argv)
    urls = []
    for item in options.url:
        name, sep, url = item.partition("=")
        if not sep or not url.startswith("http://"):
            parser.error("--url takes NAME=http://HOST:PORT/PATH, got %r" % item)
        urls.append((name, url))
    options.urls = urls
    return options


def main(argv):
    options = parse_args(argv)
    pages = Pages(options.page)
    stop = threading.Event()
    t0 = time.monotonic()
    stats = {name: Stats(name) for name, _ in options.urls}
    workers = []
    for name, url in options.urls:
        for keepalive, count in ((True, options.keepalive), (False, options.fresh)):
            workers += [Worker(url, stats[name], pages, keepalive, options.timeout, stop, t0) for _ in range(count)]
    for worker in workers:
        worker.start()
    started_written = False
    while not os.path.exists(options.stop_file):
        if options.started_file and not started_written and all(s.good > 0 for s in stats.values()):
            with open(options.started_file, "w", encoding="utf-8") as f:
                f.write("started\n")
            started_written = True
        time.sleep(0.02)
    stop.set()
    for worker in workers:
        worker.join(options.timeout + 5)
    elapsed = time.monotonic() - t0
    report = {"seconds": round(elapsed, 3), "urls": {name: s.to_json() for name, s in stats.items()}}
    with open(options.report, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    failed = 0
    for name, s in stats.items():
        data = s.to_json()
        failed += data["failed"]
        versions = ", ".join("%s: %d" % item for item in sorted(data["versions"].items()))
        print("%-8s %6d requests, %d failed %s, %d version changes seen; per version: %s" % (
            name, data["requests"], data["failed"], data["failures"] or "", data["version_changes"], versions))
        for sample in data["first_failures"][:5]:
            print("         t=%.3fs %s: %s" % (sample["at"], sample["kind"], sample["detail"]))
    total = sum(s.requests for s in stats.values())
    print("load: %d requests in %.1f s (%.0f/s), %d failed" % (total, elapsed, total / max(elapsed, 1e-9), failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

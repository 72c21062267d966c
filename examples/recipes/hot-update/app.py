#!/usr/bin/env python3
"""A pricing service whose rules are hot-updated: it never stops.

  app.py --rules-root ROOT --port PORT

Serves on 127.0.0.1:PORT:
  GET  /price?item=NAME  200 {"item", "price", "rules_version"} (404 for an unknown item;
                         503 before any rules are loaded)
  GET  /health           200 {"status": "ok", "rules_version": V} (503 before any rules)
  POST /admin/reload     loads ROOT/current/rules.json; 200 {"rules_version": V}, or 500 with
                         the reason when the new rules are invalid (the old ones stay in use)

A reload reads and checks the whole new rule set first, then swaps one
reference: a request sees the old rules or the new ones, never a mix.
"""
import argparse
import http.server
import json
import os
import socketserver
import sys
import threading
from urllib.parse import parse_qs, urlparse


class Rules:
    def __init__(self, version, prices):
        self.version = version
        self.prices = prices


def load(root):
    with open(os.path.join(root, "current", "rules.json")) as handle:
        document = json.load(handle)
    version, prices = document["version"], document["prices"]
    if not isinstance(prices, dict) or not prices:
        raise ValueError("prices must be a non-empty mapping")
    for item, price in prices.items():
        if not isinstance(price, (int, float)) or price <= 0:
            raise ValueError("price of %s must be a positive number, got %r" % (item, price))
    return Rules(str(version), dict(prices))


def main():
    parser = argparse.ArgumentParser(description="the hot-update recipe's pricing service")
    parser.add_argument("--rules-root", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    state = {"rules": None}
    lock = threading.Lock()  # one reload at a time; readers take the reference as is

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status, document):
            body = (json.dumps(document) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            rules = state["rules"]
            url = urlparse(self.path)
            if rules is None:
                self.answer(503, {"error": "no rules loaded yet"})
            elif url.path == "/health":
                self.answer(200, {"status": "ok", "rules_version": rules.version})
            elif url.path == "/price":
                item = parse_qs(url.query).get("item", [""])[0]
                if item not in rules.prices:
                    self.answer(404, {"error": "unknown item %r" % item})
                else:
                    self.answer(200, {"item": item, "price": rules.prices[item], "rules_version": rules.version})
            else:
                self.answer(404, {"error": "not found"})

        def do_POST(self):
            if self.path != "/admin/reload":
                self.answer(404, {"error": "not found"})
                return
            with lock:
                try:
                    rules = load(args.rules_root)
                except (OSError, KeyError, ValueError) as error:
                    self.answer(500, {"error": "the new rules were not loaded: %s" % error})
                    return
                state["rules"] = rules
            self.answer(200, {"rules_version": rules.version})

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        allow_reuse_address = True
        daemon_threads = True

    Server(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The demo shop: the application a release ships.

  shop.py --root ROOT --address ADDR --port PORT

Serves the release ROOT/current points at, on ADDR:PORT:
  GET /ready       200 "ready" as soon as it listens
  GET /health      200 {"status": "ok", "version": V, "host": ADDR}
  GET /            the home page, which names the version
  GET /api/quote   200 {"total": ..., "fee": ..., "currency": "CNY"}: a
                   checkout quote for a sample basket, priced with the
                   payment settings of ROOT/shared/shop.conf

The release carries VERSION and FEATURES (feature flags, one per line).
Release 2.0 turns on "new-checkout", which prices the payment fee from the
gateway's own setting; the environment's shop.conf says which gateway is
used (payments=sandbox in test and staging, payments=live in prod).
The pricing functions are plain functions, tested by test_shop.py.
"""
import argparse
import http.server
import json
import os
import signal
import socketserver
import sys

BASKET = [("tea", 2, 18.50), ("cup", 1, 32.00)]


def read_lines(path):
    try:
        with open(path) as handle:
            return [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    except FileNotFoundError:
        return []


def read_conf(path):
    conf = {}
    for line in read_lines(path):
        key, _, value = line.partition("=")
        conf[key.strip()] = value.strip()
    return conf


def subtotal(basket):
    return round(sum(quantity * price for _, quantity, price in basket), 2)


def payment_fee(amount, conf, features):
    """The payment fee for an amount, from the shop's payment settings."""
    if "new-checkout" in features:
        # The new checkout reads the fee rate of the gateway in use.
        gateway = conf.get("payments", "sandbox")
        rate = float(conf["fee_rate_" + gateway])
    else:
        rate = float(conf.get("fee_rate", "0.01"))
    return round(amount * rate, 2)


def quote(basket, conf, features):
    amount = subtotal(basket)
    fee = payment_fee(amount, conf, features)
    return {"subtotal": amount, "fee": fee, "total": round(amount + fee, 2), "currency": "CNY"}


def serve(root, address, port):
    current = os.path.join(root, "current")
    with open(os.path.join(current, "VERSION")) as handle:
        version = handle.read().strip()
    features = set(read_lines(os.path.join(current, "FEATURES")))
    conf_path = os.path.join(root, "shared", "shop.conf")

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status, body, content_type):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/ready":
                self.answer(200, "ready\n", "text/plain")
            elif self.path == "/health":
                self.answer(200, json.dumps({"status": "ok", "version": version, "host": address}), "application/json")
            elif self.path == "/":
                page = "<!doctype html><title>demo shop</title><h1>demo shop</h1><p>version %s</p>\n" % version
                self.answer(200, page, "text/html; charset=utf-8")
            elif self.path == "/api/quote":
                try:
                    body = json.dumps(quote(BASKET, read_conf(conf_path), features))
                except (KeyError, ValueError) as error:
                    self.answer(500, json.dumps({"error": "pricing failed: %r" % error}), "application/json")
                    return
                self.answer(200, body, "application/json")
            else:
                self.answer(404, "not found\n", "text/plain")

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        allow_reuse_address = True
        daemon_threads = True

    server = Server((address, port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the demo shop")
    parser.add_argument("--root", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, default=8080)
    arguments = parser.parse_args()
    serve(arguments.root, arguments.address, arguments.port)

#!/usr/bin/python3
"""Peer for the shipgate benchmark: the same counting job done with junitparser.

Run with Debian's /usr/bin/python3 (python3-junitparser lives in its
dist-packages). Loads the whole report with JUnitXml.fromfile (lxml DOM),
walks every testcase and classifies it like shipgate does:
error > failure > skipped > passed. Prints one line:
  tests=N passed=N failed=N errors=N skipped=N
"""
import sys

from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite


def iter_cases(node):
    # JUnitXml iterates its <testsuite>s; a TestSuite iterates its testcases
    # (junitparser's TestSuite.__iter__ already descends into nested suites).
    if isinstance(node, TestSuite):
        yield from node
    else:
        for suite in node:
            yield from suite


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: junitparser_count.py REPORT.xml")
    xml = JUnitXml.fromfile(sys.argv[1])
    c = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    for case in iter_cases(xml):
        c["tests"] += 1
        res = case.result
        if any(isinstance(r, Error) for r in res):
            c["errors"] += 1
        elif any(isinstance(r, Failure) for r in res):
            c["failed"] += 1
        elif any(isinstance(r, Skipped) for r in res):
            c["skipped"] += 1
        else:
            c["passed"] += 1
    print(" ".join("%s=%d" % (k, v) for k, v in c.items()))


if __name__ == "__main__":
    main()

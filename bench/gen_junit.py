#!/usr/bin/env python3
"""Generate a large, deterministic JUnit XML report for benchmarking shipgate.

Standard library only. Output is streamed suite by suite (one write per suite),
so memory stays small regardless of --cases.

Shape of the report (for the default 1,000,000 cases, ~125 MB):
  <testsuites> with suites of ~1000 <testcase> each (Surefire-like layout),
  realistic Java/pytest-style classnames and names, time="..." attributes,
  ~5% failures, each with <failure message="..." type="..."> holding a 20-line
  message + stack trace and a several-line <system-out>; ~0.1% errors
  (<error>, exception in setup); ~0.2% skipped (<skipped message="..."/>).
  Messages contain XML-escaped characters (&lt; &gt; &amp; &quot;) and a few
  names contain non-ASCII characters, so a reader must decode entities/UTF-8.

The totals actually written are printed on stdout as one line
  tests=N passed=N failed=N errors=N skipped=N flaky=0 bytes=N suites=N
and also stored next to the report in FILE.totals.json.

The outcome of a case depends only on its index, so the same --cases always
produces a byte-identical file.
"""

import argparse
import json
import os
import sys
import time

PACKAGES = [
    "acme.bill", "acme.inv", "acme.ledger", "acme.pay", "acme.auth",
    "acme.cat", "acme.search", "acme.ship", "ex.orders", "ex.stock",
    "sg.api", "sg.core", "it.cart", "unit.price", "e2e.store",
]
CLASSES = [
    "InvoiceTest", "PostingTest", "RefundTest", "TokenTest", "SessionIT",
    "ImportTest", "ParserTest", "RateTest", "ValidatorTest", "ReserveIT",
    "RoutesTest", "RetryTest", "TestCart", "TestDiscount", "TestLogin", "FormatTest",
]
VERBS = [
    "sums", "rejects", "accepts", "rounds", "saves", "retries", "parses",
    "encodes", "renders", "holds", "expires", "refunds", "merges", "sorts",
]
OBJECTS = [
    "total", "negative", "empty", "half_even", "dup", "timeout", "unicode",
    "big_body", "zero_qty", "stale", "no_hdr", "tax_free", "multi_ccy", "partial",
]
TAGS = ["", "", "", "", "", "[A] ", "", "[P0] ", "", "", "[B] ", ""]
UNICODE_OBJECTS = ["測試_kanji", "prüfung_äöü", "тест_кириллица", "naïve_café"]

FAIL_TYPES = [
    "org.opentest4j.AssertionFailedError",
    "java.lang.AssertionError",
    "AssertionError",
    "org.junit.ComparisonFailure",
]


def esc_attr(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;")
             .replace(">", "&gt;").replace('"', "&quot;"))


def esc_text(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def outcome(i):
    """Outcome of case i, a pure function of its index."""
    h = (i * 2654435761 + 12345) & 0xFFFFFFFF
    h ^= h >> 15
    r = h % 1000
    if r < 50:
        return "failed"      # 5.0 %
    if r < 51:
        return "error"       # 0.1 %
    if r < 53:
        return "skipped"     # 0.2 %
    return "passed"


def failure_block(i, classname, name):
    """A ~20-line failure: message line, comparison, then a stack trace."""
    expected = 100 + i % 900
    actual = expected + 1 + i % 7
    ftype = FAIL_TYPES[i % len(FAIL_TYPES)]
    msg = 'expected: <%d> but was: <%d>' % (expected, actual)
    short_cls = classname.rsplit(".", 1)[-1]
    lines = [
        "%s: %s" % (ftype, msg),
        "    Expected :%d" % expected,
        "    Actual   :%d" % actual,
        "\tat o.j.j.api.AssertionUtils.fail(AU.java:55)",
        "\tat o.j.j.api.AssertEquals.fail(AE.java:197)",
        "\tat o.j.j.api.Assertions.assertEquals(A.java:150)",
        "\tat %s.%s(%s.java:%d)" % (classname, name.split(" ")[-1], short_cls, 40 + i % 400),
        "\tat j.b/j.l.r.Method.invoke(Method.java:580)",
        "\tat o.j.p.c.u.RU.invokeMethod(RU.java:728)",
        "\tat o.j.j.e.e.MI.proceed(MI.java:60)",
        "\tat o.j.j.e.d.TMTD.invoke(TMTD.java:218)",
        "\tat o.j.p.e.s.h.TC.execute(TC.java:73)",
        "\tat o.j.p.e.s.h.NTT.recurse(NTT.java:141)",
        "\tat o.j.p.e.s.h.NTT.execute(NTT.java:95)",
        "\tat j.b/j.u.ArrayList.forEach(AL.java:1596)",
        "\tat o.a.m.s.j.JPP.invoke(JPP.java:184)",
        "\tat o.a.m.s.b.FB.runSuites(FB.java:385)",
        "\tat o.a.m.s.b.FB.execute(FB.java:162)",
        "\tat o.a.m.s.b.FB.main(FB.java:507)",
    ]
    sysout = [
        "12:%02d:%02d INFO  start %s" % (i // 60 % 60, i % 60, name),
        "12:%02d:%02d DEBUG SELECT * FROM t WHERE id=%d & f<>0" % (i // 60 % 60, i % 60, i),
        "12:%02d:%02d INFO  done in %d ms" % (i // 60 % 60, i % 60, 5 + i % 300),
    ]
    return (
        '>\n    <failure message="%s" type="%s">%s</failure>\n'
        "    <system-out>%s</system-out>\n  </testcase>\n"
        % (esc_attr(msg), ftype, esc_text("\n".join(lines)), esc_text("\n".join(sysout)))
    )


def error_block(i, classname):
    lines = [
        "java.lang.IllegalStateException: fixture db not reachable (try %d)" % (1 + i % 3),
        "\tat %s.setUp(%s.java:%d)" % (classname, classname.rsplit(".", 1)[-1], 20 + i % 30),
        "\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)",
        "\tat org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)",
        "Caused by: java.net.ConnectException: Connection refused",
        "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)",
    ]
    return (
        '>\n    <error message="fixture database not reachable" '
        'type="java.lang.IllegalStateException">%s</error>\n  </testcase>\n'
        % esc_text("\n".join(lines))
    )


def generate(cases, out_path, suite_size=1000):
    totals = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "flaky": 0}
    n_suites = (cases + suite_size - 1) // suite_size
    written = 0
    with open(out_path, "wb") as f:
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<testsuites name="shipgate-bench" tests="%d">\n' % cases
        )
        b = head.encode("utf-8")
        f.write(b)
        written += len(b)
        i = 0
        for s in range(n_suites):
            n = min(suite_size, cases - i)
            pkg = PACKAGES[s % len(PACKAGES)]
            cls = CLASSES[(s // len(PACKAGES)) % len(CLASSES)]
            classname = "%s.%s%d" % (pkg, cls, s)
            parts = []
            sf = se = ss = 0
            stime = 0
            for k in range(n):
                idx = i + k
                o = outcome(idx)
                obj = OBJECTS[idx % len(OBJECTS)]
                if idx % 997 == 0:
                    obj = UNICODE_OBJECTS[idx % len(UNICODE_OBJECTS)]
                name = "%s%s_%s_%d" % (TAGS[idx % len(TAGS)], VERBS[(idx // 3) % len(VERBS)], obj, k)
                ms = (idx * 7919) % 250
                stime += ms
                start = '  <testcase name="%s" classname="%s" time="%d.%03d"' % (
                    esc_attr(name), classname, ms // 1000, ms % 1000)
                if o == "passed":
                    parts.append(start + "/>\n")
                elif o == "failed":
                    sf += 1
                    parts.append(start + failure_block(idx, classname, name))
                elif o == "error":
                    se += 1
                    parts.append(start + error_block(idx, classname))
                else:
                    ss += 1
                    parts.append(start + '>\n    <skipped message="flaky on CI &amp; tracked in BUG-%d"/>\n  </testcase>\n' % (idx % 5000))
            suite_head = (
                '  <testsuite name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" '
                'time="%d.%03d" timestamp="2024-05-01T12:%02d:%02d" hostname="ci-runner-%d">\n'
                '    <properties>\n      <property name="java.version" value="21.0.2"/>\n'
                '      <property name="build" value="%d"/>\n    </properties>\n'
                % (classname, n, sf, se, ss, stime // 1000, stime % 1000,
                   (s // 60) % 60, s % 60, s % 8, 4242)
            )
            chunk = (suite_head + "".join(parts) + "  </testsuite>\n").encode("utf-8")
            f.write(chunk)
            written += len(chunk)
            totals["tests"] += n
            totals["failed"] += sf
            totals["errors"] += se
            totals["skipped"] += ss
            totals["passed"] += n - sf - se - ss
            i += n
        tail = b"</testsuites>\n"
        f.write(tail)
        written += len(tail)
    totals["bytes"] = written
    totals["suites"] = n_suites
    return totals


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000, help="number of testcases (default 1000000)")
    ap.add_argument("--out", default="junit-bench.xml", help="output file (default junit-bench.xml)")
    ap.add_argument("--suite-size", type=int, default=1000, help="testcases per testsuite (default 1000)")
    a = ap.parse_args()
    if a.cases < 1 or a.suite_size < 1:
        ap.error("--cases and --suite-size must be >= 1")
    t0 = time.time()
    tmp = a.out + ".part"
    totals = generate(a.cases, tmp, a.suite_size)
    os.replace(tmp, a.out)
    with open(a.out + ".totals.json", "w") as f:
        json.dump(totals, f, indent=2)
        f.write("\n")
    print(" ".join("%s=%d" % (k, totals[k]) for k in
                   ("tests", "passed", "failed", "errors", "skipped", "flaky", "bytes", "suites")))
    print("wrote %s (%.1f MB) in %.1fs" % (a.out, totals["bytes"] / 1e6, time.time() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()

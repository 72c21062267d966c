#!/usr/bin/env python3
"""Judges the requests load.py recorded against the shipgate commands run
meanwhile, for the blue-green test:

  analyse.py --events FILE --phases FILE [--switch PHASE OLD NEW]... [--hold PHASE VERSION]...
             [--max-switch-seconds PHASE S]... [--max-mixed-ms MS]

--phases has one line per command: "NAME START END" (seconds since the
epoch, in the order they ran; nothing else ran in between). The checks:
  * no request failed, from the first to the last;
  * requests load.py retried (a reused keep-alive connection closed before
    any answer, which nginx does when a reload retires its old workers)
    happened only during a --switch phase or --drain-ms after it;
  * --switch: every request that started before PHASE was answered by OLD;
    during PHASE the answers change from OLD to NEW once: the first NEW
    answer started after PHASE began, and the window in which both were
    seen (from the first NEW answer's start to the last OLD answer's end)
    is at most --max-mixed-ms long and ends at most --drain-ms after PHASE
    (`nginx -s reload` returns before the old workers have finished the
    requests they hold); after that, until the next phase, only NEW;
  * --hold: every request that started during PHASE or before the next
    phase was answered by VERSION (traffic never moved);
  * --max-switch-seconds: the first NEW answer of PHASE started less than S
    seconds after PHASE began.
It prints one figure line per phase. Exit status: 0 when every check held,
1 when one failed (each failure is printed), 2 on bad usage.
"""
import argparse
import json
import sys


def load_events(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_phases(path):
    phases = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                name, start, end = line.split()
                phases.append({"name": name, "start": float(start), "end": float(end)})
    return phases


class Judge:
    def __init__(self, events, phases):
        self.events, self.phases = events, phases
        self.problems = []

    def fail(self, message):
        self.problems.append(message)

    def phase(self, name):
        for index, phase in enumerate(self.phases):
            if phase["name"] == name:
                following = self.phases[index + 1]["start"] if index + 1 < len(self.phases) else float("inf")
                previous = self.phases[index - 1]["end"] if index > 0 else float("-inf")
                return phase, previous, following
        raise SystemExit("analyse: no phase %r in the phases file" % name)

    def where(self, t):
        for phase in self.phases:
            if phase["start"] <= t <= phase["end"]:
                return "%s +%.3fs" % (phase["name"], t - phase["start"])
        before = [p for p in self.phases if p["end"] < t]
        return "after %s +%.3fs" % (before[-1]["name"], t - before[-1]["end"]) if before else "before the first phase"

    def no_failures(self):
        failed = [e for e in self.events if e[4] is not None]
        good = len(self.events) - len(failed)
        print("requests: %d, answered correctly: %d, failed: %d" % (len(self.events), good, len(failed)))
        for event in failed[:10]:
            self.fail("failed request (%s, %s): %s %s" % (self.where(event[0]), event[2], event[4], event[5]))
        if len(failed) > 10:
            self.fail("... and %d more failed requests" % (len(failed) - 10))

    def between(self, start, end):
        return [e for e in self.events if start <= e[0] < end and e[3] is not None]

    def wrong(self, events, want, what):
        bad = [e for e in events if e[3] != want]
        if bad:
            first = bad[0]
            self.fail("%s: %d answer(s) not from %s, the first from %s at %s (%s)" %
                      (what, len(bad), want, first[3] or "none (%s: %s)" % (first[4], first[5]),
                       self.where(first[0]), first[2]))

    def switch(self, name, old, new, limits):
        phase, previous_end, next_start = self.phase(name)
        start, end = phase["start"], phase["end"]
        self.wrong(self.between(previous_end, start), old, "before %s" % name)
        window = [e for e in self.events if start <= e[0] < next_start and e[3] is not None]
        self.wrong([e for e in window if e[3] != new], old, "during and after %s" % name)
        news = [e for e in window if e[3] == new]
        if not news:
            self.fail("%s: no answer from %s after it began (%d requests): the switch did not happen under load" %
                      (name, new, len(window)))
            return
        first_new = min(e[0] for e in news)
        olds = [e for e in self.events if e[3] == old and e[0] < next_start]
        last_old = max(e[1] for e in olds) if olds else start
        mixed_ms = max(0.0, (last_old - first_new) * 1000)
        took = first_new - start
        print("%s: traffic moved %s -> %s %.0f ms after the command started (command %.0f ms); "
              "both answered during %.1f ms (the last %s answer ended %+.0f ms after the command); "
              "%d request(s) during the command; %d thread(s) saw %s after %s" %
              (name, old, new, took * 1000, (end - start) * 1000, mixed_ms, old, (last_old - end) * 1000,
               len(self.between(start, end)), self.flip_backs(window, old, new), old, new))
        if first_new < start:
            self.fail("%s: %s answered before the command began" % (name, new))
        if last_old > end + limits["drain_ms"] / 1000:
            self.fail("%s: %s still answered %.0f ms after the command ended (at most %d ms expected)" %
                      (name, old, (last_old - end) * 1000, limits["drain_ms"]))
        if mixed_ms > limits["mixed_ms"]:
            self.fail("%s: %s and %s were both answering for %.1f ms (at most %d ms expected)" %
                      (name, old, new, mixed_ms, limits["mixed_ms"]))
        if limits.get(name) is not None and took >= limits[name]:
            self.fail("%s: traffic moved %.3f s after the command started (under %.1f s expected)" %
                      (name, took, limits[name]))

    def retries(self, switch_phases, drain_ms):
        retried = [e for e in self.events if e[4] is None and e[5]]
        allowed = []
        for name in switch_phases:
            phase, _, _ = self.phase(name)
            allowed.append((phase["start"], phase["end"] + drain_ms / 1000))
        for event in retried:
            if not any(a <= event[0] <= b for a, b in allowed):
                self.fail("a request was retried outside any switch (%s, %s): %s" %
                          (self.where(event[0]), event[2], event[5]))
        places = sorted(set(self.where(e[0]).split(" ")[0] + " " + self.where(e[0]).split(" ")[1]
                            for e in retried)) if retried else []
        print("keep-alive requests retried once on a new connection (idle connection closed by an nginx reload): "
              "%d%s" % (len(retried), (" (" + ", ".join(places) + ")") if places else ""))

    @staticmethod
    def flip_backs(events, old, new):
        """Threads that got `old` after they had got `new`."""
        seen_new, flipped = set(), set()
        for event in sorted(events):
            if event[3] == new:
                seen_new.add(event[2])
            elif event[3] == old and event[2] in seen_new:
                flipped.add(event[2])
        return len(flipped)

    def hold(self, name, version):
        phase, _, next_start = self.phase(name)
        # Failed requests count too: they were answered by no version at all.
        events = [e for e in self.events if phase["start"] <= e[0] < next_start]
        self.wrong(events, version, "during %s" % name)
        print("%s: %d requests until the next command, all answered by %s: %s" %
              (name, len(events), version, "yes" if all(e[3] == version for e in events) else "NO"))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", required=True)
    parser.add_argument("--phases", required=True)
    parser.add_argument("--switch", nargs=3, action="append", default=[], metavar=("PHASE", "OLD", "NEW"))
    parser.add_argument("--hold", nargs=2, action="append", default=[], metavar=("PHASE", "VERSION"))
    parser.add_argument("--max-switch-seconds", nargs=2, action="append", default=[], metavar=("PHASE", "S"))
    parser.add_argument("--max-mixed-ms", type=float, default=250)
    parser.add_argument("--drain-ms", type=float, default=250)
    options = parser.parse_args(argv)
    judge = Judge(load_events(options.events), load_phases(options.phases))
    limits = {name: float(seconds) for name, seconds in options.max_switch_seconds}
    limits.update({"mixed_ms": options.max_mixed_ms, "drain_ms": options.drain_ms})
    judge.no_failures()
    judge.retries([name for name, _, _ in options.switch], options.drain_ms)
    for name, old, new in options.switch:
        judge.switch(name, old, new, limits)
    for name, version in options.hold:
        judge.hold(name, version)
    for problem in judge.problems:
        print("FAIL: " + problem, file=sys.stderr)
    return 1 if judge.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

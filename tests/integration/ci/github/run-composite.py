#!/usr/bin/python3
"""Runs one composite action (action.yml) the way GitHub's runner does, for tests.

GitHub's own runner (actions/runner) cannot run here: it needs a connection
to GitHub. This is its stand-in for composite actions, limited to what
plugins/github uses:

- inputs: the given ones (an undeclared input is an error), else the
  declared defaults; `required` is not enforced, as on GitHub;
- `${{ ... }}` in a step's `if`, `env`, `run` and `working-directory`, and in
  the action's `outputs.*.value`: the contexts inputs, github (with
  action_path), runner, env and steps.<id>.outputs/outcome/conclusion;
  literals, == != < <= > >= ! && || and parentheses; success(), failure(),
  always(), cancelled(). Anything else is refused, so a test never passes on
  an expression this runner does not understand;
- each `run:` step with shell bash, run as `bash --noprofile --norc -eo
  pipefail {0}` in the workspace, with GITHUB_ACTIONS, CI, GITHUB_OUTPUT,
  GITHUB_STEP_SUMMARY, GITHUB_PATH, GITHUB_ENV, RUNNER_TEMP,
  GITHUB_ACTION_PATH, GITHUB_WORKSPACE and the run's identity variables;
- stdout and stderr go to one log; workflow commands are read from it:
  `::add-mask::` masks the value (as `***`) in everything printed after it,
  `::error`/`::warning`/`::notice` become annotations;
- step outputs (`name=value` and `name<<DELIMITER`), GITHUB_ENV and
  GITHUB_PATH are applied as the runner applies them, and kept in --job-dir
  for the next action of the same job, with the job summary;
- --cancel-when PATH: once PATH exists (a point the test waits for), the
  step's process gets SIGINT, 7.5 s later SIGTERM, 2.5 s later SIGKILL: how
  the runner cancels a step. Only that process is signalled, as on GitHub.

usage: run-composite.py ACTION_DIR [--input NAME=VALUE]... [--env NAME=VALUE]...
         [--github KEY=VALUE]... --job-dir DIR [--workspace DIR] [--result FILE]
         [--raw-log FILE] [--cancel-when PATH]

Prints the masked log. Writes --result as JSON: conclusion (success or
failure), exit_code (of the failed step, else 0), outputs, steps,
annotations (level, properties, message), masks (how many). Exit status: 0
when the action succeeded, 1 when it failed, 2 for a bad action or usage.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid

import yaml


class Refused(Exception):
    """A feature this stand-in does not implement, or a bad action: exit 2."""


# --- expressions --------------------------------------------------------------

TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
)""", re.X)


def tokenize(text):
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Refused(f"cannot parse expression at '{text[pos:]}'")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        elif kind == "number":
            value = float(value)
        tokens.append((kind, value))
    return tokens


def lookup(mapping, key):
    """Property access, case-insensitive as on GitHub; a missing key is null."""
    if not isinstance(mapping, dict):
        return None
    for name, value in mapping.items():
        if name.lower() == str(key).lower():
            return value
    return None


def to_text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def truthy(value):
    if isinstance(value, str):
        return value != ""
    return bool(value)


def compare(left, right, op):
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    elif isinstance(left, (int, float)) or isinstance(right, (int, float)):
        try:
            left, right = float(to_text(left) or 0), float(to_text(right) or 0)
        except ValueError:
            return op == "!="
    else:
        left, right = to_text(left), to_text(right)
    return {"==": left == right, "!=": left != right, "<": left < right,
            "<=": left <= right, ">": left > right, ">=": left >= right}[op]


class Evaluator:
    def __init__(self, contexts, status):
        self.contexts = contexts  # name -> dict
        self.status = status      # "success" or "failure" so far

    def evaluate(self, text):
        self.tokens, self.pos = tokenize(text), 0
        value = self.or_expr()
        if self.pos != len(self.tokens):
            raise Refused(f"unexpected '{self.tokens[self.pos][1]}' in '{text}'")
        return value

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self, value=None):
        token = self.peek()
        if token[0] is None or (value is not None and token[1] != value):
            raise Refused(f"expected '{value}' in expression")
        self.pos += 1
        return token

    def or_expr(self):
        value = self.and_expr()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_expr()
            value = value if truthy(value) else right
        return value

    def and_expr(self):
        value = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.comparison()
            value = right if truthy(value) else value
        return value

    def comparison(self):
        value = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            value = compare(value, self.unary(), op)
        return value

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind in ("string", "number"):
            return value
        if (kind, value) == ("op", "("):
            inner = self.or_expr()
            self.take(")")
            return inner
        if kind != "name":
            raise Refused(f"unexpected '{value}' in expression")
        if value in ("true", "false"):
            return value == "true"
        if value == "null":
            return None
        if self.peek() == ("op", "("):
            self.take()
            self.take(")")
            functions = {"success": self.status == "success", "failure": self.status == "failure",
                         "always": True, "cancelled": False}
            if value not in functions:
                raise Refused(f"function {value}() is not supported here")
            return functions[value]
        if value not in self.contexts:
            raise Refused(f"context '{value}' is not supported here")
        current = self.contexts[value]
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                current = lookup(current, self.take()[1])
            else:
                key = self.or_expr()
                self.take("]")
                current = lookup(current, to_text(key))
        return current


def expand(text, evaluator):
    """Replaces each ${{ expr }} in text by its value as text."""
    if not isinstance(text, str):
        return to_text(text)
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: to_text(evaluator.evaluate(m.group(1))), text, flags=re.S)


def condition(text, evaluator):
    if text is None:
        return evaluator.status == "success"
    text = text.strip() if isinstance(text, str) else to_text(text)
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, flags=re.S)
    return truthy(evaluator.evaluate(match.group(1) if match else text))


# --- workflow commands and files ------------------------------------------------------

def unescape_data(text):
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text):
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def parse_command(line):
    """'::name k=v,k=v::data' -> (name, properties, data), or None."""
    match = re.match(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$", line)
    if not match:
        return None
    properties = {}
    for pair in (match.group(2) or "").split(","):
        if "=" in pair:
            key, value = pair.split("=", 1)
            properties[key.strip()] = unescape_property(value)
    return match.group(1).lower(), properties, unescape_data(match.group(3))


def parse_file_command(path):
    """GITHUB_OUTPUT / GITHUB_ENV syntax: name=value or name<<DELIMITER ... DELIMITER."""
    values = {}
    if not os.path.exists(path):
        return values
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line == "":
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            if index >= len(lines):
                raise Refused(f"{path}: no closing delimiter for '{name}'")
            index += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise Refused(f"{path}: cannot read line '{line}'")
    return values


class Log:
    """The step log: masks applied as the runner does, annotations collected."""

    def __init__(self, raw_path):
        self.masks = []
        self.annotations = []
        self.raw = open(raw_path, "a", encoding="utf-8") if raw_path else None

    def mask(self, text):
        for secret in sorted(self.masks, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def line(self, text):
        if self.raw:
            self.raw.write(text + "\n")
            self.raw.flush()
        command = parse_command(text)
        if command and command[0] == "add-mask":
            if command[2]:
                self.masks.append(command[2])
            text = "::add-mask::***"
        elif command and command[0] in ("error", "warning", "notice"):
            self.annotations.append({"level": command[0], "properties": {k: self.mask(v) for k, v in command[1].items()},
                                     "message": self.mask(command[2])})
        print(self.mask(text), flush=True)


# --- running ----------------------------------------------------------------------------

def pairs(items, what):
    result = {}
    for item in items:
        if "=" not in item:
            raise Refused(f"{what} '{item}' is not NAME=VALUE")
        name, value = item.split("=", 1)
        result[name] = value
    return result


def cancel(process, when, done):
    """Waits for the file `when`, then signals the process as the runner does."""
    while not os.path.exists(when):
        if done.wait(0.05):
            return
    for delay, sig in ((0, signal.SIGINT), (7.5, signal.SIGTERM), (2.5, signal.SIGKILL)):
        if done.wait(delay):
            return
        if process.poll() is None:
            process.send_signal(sig)


def run_step(script, env, cwd, log, cancel_when):
    process = subprocess.Popen(["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                               cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    done = threading.Event()
    if cancel_when:
        threading.Thread(target=cancel, args=(process, cancel_when, done), daemon=True).start()
    for raw in process.stdout:
        log.line(raw.decode("utf-8", errors="replace").rstrip("\n").rstrip("\r"))
    code = process.wait()
    done.set()
    return code if code >= 0 else 128 - code


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action_dir")
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--github", action="append", default=[])
    parser.add_argument("--job-dir", required=True)
    parser.add_argument("--workspace", default=os.getcwd())
    parser.add_argument("--result")
    parser.add_argument("--raw-log")
    parser.add_argument("--cancel-when")
    options = parser.parse_args()

    action_dir = os.path.realpath(options.action_dir)
    action = yaml.safe_load(open(os.path.join(action_dir, "action.yml"), encoding="utf-8"))
    if (action.get("runs") or {}).get("using") != "composite":
        raise Refused("only composite actions (runs.using: composite) are supported")
    job_dir = os.path.realpath(options.job_dir)
    workspace = os.path.realpath(options.workspace)
    runner_temp = os.path.join(job_dir, "runner-temp")
    os.makedirs(runner_temp, exist_ok=True)
    state_path = os.path.join(job_dir, "state.json")
    state = json.load(open(state_path)) if os.path.exists(state_path) else {"env": {}, "path": []}
    summary_path = os.path.join(job_dir, "summary.md")

    github = {"action_path": action_dir, "actor": "octocat", "triggering_actor": "octocat",
              "sha": "4f2a9c1e0b7d4b1c9a1e2f3a4b5c6d7e8f9a0b1c", "ref": "refs/heads/main", "ref_name": "main",
              "ref_type": "branch", "repository": "acme/shop", "repository_owner": "acme", "run_id": "4242",
              "run_number": "17", "run_attempt": "1", "server_url": "https://github.com",
              "api_url": "https://api.github.com", "workflow": "release", "job": "release",
              "event_name": "push", "workspace": workspace}
    github.update(pairs(options.github, "--github"))

    declared = action.get("inputs") or {}
    given = pairs(options.input, "--input")
    unknown = [name for name in given if name.lower() not in {d.lower() for d in declared}]
    if unknown:
        raise Refused(f"unexpected input(s) {unknown}; the action declares {sorted(declared)}")
    defaults_evaluator = Evaluator({"github": github, "runner": {"temp": runner_temp, "os": "Linux"}}, "success")
    inputs = {}
    for name, spec in declared.items():
        value = lookup(given, name)
        if value is None:
            value = expand((spec or {}).get("default", ""), defaults_evaluator)
        inputs[name] = value

    base_env = dict(os.environ)
    base_env.update(state["env"])
    base_env.update(pairs(options.env, "--env"))
    identity = {
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_ACTION_PATH": action_dir, "GITHUB_WORKSPACE": workspace,
        "RUNNER_TEMP": runner_temp, "RUNNER_OS": "Linux", "GITHUB_SHA": github["sha"], "GITHUB_REF": github["ref"],
        "GITHUB_REF_NAME": github["ref_name"], "GITHUB_REF_TYPE": github["ref_type"],
        "GITHUB_REPOSITORY": github["repository"], "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
        "GITHUB_RUN_ID": github["run_id"], "GITHUB_RUN_NUMBER": github["run_number"],
        "GITHUB_RUN_ATTEMPT": github["run_attempt"], "GITHUB_SERVER_URL": github["server_url"],
        "GITHUB_API_URL": github["api_url"], "GITHUB_WORKFLOW": github["workflow"], "GITHUB_JOB": github["job"],
        "GITHUB_ACTOR": github["actor"], "GITHUB_TRIGGERING_ACTOR": github["triggering_actor"],
        "GITHUB_EVENT_NAME": github["event_name"],
    }

    log = Log(options.raw_log)
    steps, results, status, failed_code = {}, [], "success", 0
    for index, step in enumerate((action["runs"].get("steps") or [])):
        step_id = step.get("id") or f"__step{index}"
        contexts = {"inputs": inputs, "github": github, "runner": {"temp": runner_temp, "os": "Linux"},
                    "steps": steps, "env": base_env}
        evaluator = Evaluator(contexts, status)
        if not condition(step.get("if"), evaluator):
            steps[step_id] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
            results.append({"id": step_id, "outcome": "skipped"})
            continue
        if "run" not in step:
            raise Refused(f"step {step_id}: only run: steps are supported")
        if step.get("shell") != "bash":
            raise Refused(f"step {step_id}: shell '{step.get('shell')}' is not supported (bash only)")
        files = {}
        for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV"):
            files[name] = os.path.join(runner_temp, f"{name.lower()}_{uuid.uuid4().hex}")
            open(files[name], "w").close()
        env = dict(base_env)
        env["PATH"] = os.pathsep.join(list(reversed(state["path"])) + [base_env.get("PATH", "")])
        env.update(identity)
        env.update(files)
        for name, value in (step.get("env") or {}).items():
            env[name] = expand(value, evaluator)
        script = os.path.join(runner_temp, f"{uuid.uuid4().hex}.sh")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(expand(step["run"], evaluator))
        cwd = os.path.join(workspace, expand(step.get("working-directory", ""), evaluator))
        code = run_step(script, env, cwd, log, options.cancel_when)

        outputs = parse_file_command(files["GITHUB_OUTPUT"])
        outcome = "success" if code == 0 else "failure"
        steps[step_id] = {"outputs": outputs, "outcome": outcome,
                          "conclusion": "success" if step.get("continue-on-error") else outcome}
        results.append({"id": step_id, "outcome": outcome, "exit_code": code})
        # Like the runner: GITHUB_ENV and GITHUB_PATH apply to the later steps
        # (and the later actions of the job), the summary is added to the job's.
        new_env = parse_file_command(files["GITHUB_ENV"])
        state["env"].update(new_env)
        base_env.update(new_env)
        state["path"] += [p for p in open(files["GITHUB_PATH"]).read().split("\n") if p]
        with open(files["GITHUB_STEP_SUMMARY"], encoding="utf-8") as src, open(summary_path, "a", encoding="utf-8") as dst:
            dst.write(src.read())
        if steps[step_id]["conclusion"] == "failure" and status == "success":
            status, failed_code = "failure", code

    evaluator = Evaluator({"inputs": inputs, "github": github, "steps": steps, "env": base_env,
                           "runner": {"temp": runner_temp, "os": "Linux"}}, status)
    outputs = {name: expand((spec or {}).get("value", ""), evaluator)
               for name, spec in (action.get("outputs") or {}).items()}
    json.dump(state, open(state_path, "w"))
    if options.result:
        json.dump({"conclusion": status, "exit_code": failed_code, "outputs": outputs, "steps": results,
                   "annotations": log.annotations, "masks": len(log.masks), "summary": summary_path},
                  open(options.result, "w"), indent=2)
    return 0 if status == "success" else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Refused as error:
        print(f"run-composite: {error}", file=sys.stderr)
        sys.exit(2)

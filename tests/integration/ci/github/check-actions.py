#!/usr/bin/python3
"""Checks shipgate's composite actions and the workflows that use them.

actionlint lints workflows but does not read a local action's action.yml, so
it cannot tell a misspelt or missing input. This does, for every use of
plugins/github/<action> (as ./plugins/github/<action> or
<owner>/<repo>/plugins/github/<action>@<ref>) in the given files:

- each `with:` key is an input the action declares;
- each input the action marks `required: true` is given.

and for every action.yml under ACTIONS_DIR:

- name, description and `runs.using: composite`;
- every input and output has a description, every output a value;
- no `${{ ... }}` inside a `run:` (inputs reach the scripts through env:);
- every `run:` step has `shell: bash` and maps each input to INPUT_<NAME>.

and for every --tables FILE (a Markdown page listing the actions): each
action's inputs and outputs are named (as `name`) in the action's section
(`### action`) or table row (| `action` |), the ones every action shares
anywhere in the page.

usage: check-actions.py ACTIONS_DIR [--tables FILE]... FILE...   (workflow
.yml files, or .md files whose ```yaml blocks are checked one by one)
Exit status: 0 when all is well, 1 with one line per problem.
"""

import os
import re
import sys

import yaml

USES = re.compile(r"^(?:\./|[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)plugins/github/([a-z-]+)(?:@[A-Za-z0-9_./-]+)?$")


def load_actions(actions_dir, problems):
    actions = {}
    for name in sorted(os.listdir(actions_dir)):
        path = os.path.join(actions_dir, name, "action.yml")
        if not os.path.isfile(path):
            continue
        action = yaml.safe_load(open(path, encoding="utf-8"))
        actions[name] = action
        where = f"{name}/action.yml"
        for key in ("name", "description"):
            if not action.get(key):
                problems.append(f"{where}: no {key}")
        runs = action.get("runs") or {}
        if runs.get("using") != "composite":
            problems.append(f"{where}: runs.using is not composite")
        inputs = action.get("inputs") or {}
        for input_name, spec in inputs.items():
            if not (spec or {}).get("description"):
                problems.append(f"{where}: input '{input_name}' has no description")
        for output_name, spec in (action.get("outputs") or {}).items():
            if not (spec or {}).get("description") or not (spec or {}).get("value"):
                problems.append(f"{where}: output '{output_name}' needs a description and a value")
        for step in runs.get("steps") or []:
            if "run" not in step:
                continue
            if "${{" in step["run"]:
                problems.append(f"{where}: step '{step.get('id')}' has an expression inside run: (use env:)")
            if step.get("shell") != "bash":
                problems.append(f"{where}: step '{step.get('id')}' has no shell: bash")
            env = step.get("env") or {}
            for input_name in inputs:
                variable = "INPUT_" + input_name.upper().replace("-", "_")
                if env.get(variable) != "${{ inputs.%s }}" % input_name:
                    problems.append(f"{where}: input '{input_name}' is not passed as {variable}")
    return actions


def steps_using(node):
    """Every mapping with a `uses:` anywhere in a parsed document."""
    if isinstance(node, dict):
        if isinstance(node.get("uses"), str):
            yield node
        for value in node.values():
            yield from steps_using(value)
    elif isinstance(node, list):
        for value in node:
            yield from steps_using(value)


def documents(path, problems):
    text = open(path, encoding="utf-8").read()
    if not path.endswith(".md"):
        return [(path, yaml.safe_load(text))]
    result = []
    for match in re.finditer(r"^```ya?ml\n(.*?)^```", text, flags=re.S | re.M):
        line = text[:match.start()].count("\n") + 1
        try:
            result.append((f"{path}:{line}", yaml.safe_load(match.group(1))))
        except yaml.YAMLError as error:
            problems.append(f"{path}:{line}: the yaml block does not parse: {error}")
    return result


SHARED_INPUTS = {"shipgate", "out-dir", "name", "secret-env", "args"}
SHARED_OUTPUTS = {"exit-code", "verdict", "json", "junit", "markdown"}


def check_tables(path, actions, problems):
    text = open(path, encoding="utf-8").read()
    for name, action in actions.items():
        section = re.search(r"^### %s\n(.*?)(?=^#{1,3} |\Z)" % re.escape(name), text, flags=re.S | re.M)
        row = re.search(r"^\| `%s` \|.*$" % re.escape(name), text, flags=re.M)
        region = section.group(1) if section else row.group(0) if row else None
        if region is None:
            problems.append(f"{path}: action '{name}' is not listed")
            continue
        for kind in ("inputs", "outputs"):
            shared = SHARED_INPUTS if kind == "inputs" else SHARED_OUTPUTS
            for key in action.get(kind) or {}:
                where = text if key in shared and name != "setup" else region
                if f"`{key}`" not in where:
                    problems.append(f"{path}: {kind[:-1]} '{key}' of action '{name}' is not listed")


def main():
    arguments = sys.argv[1:]
    tables = []
    while "--tables" in arguments:
        index = arguments.index("--tables")
        tables.append(arguments[index + 1])
        del arguments[index:index + 2]
    if len(arguments) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = []
    actions = load_actions(arguments[0], problems)
    for path in tables:
        check_tables(path, actions, problems)
    checked = 0
    for path in arguments[1:]:
        for where, document in documents(path, problems):
            for step in steps_using(document):
                match = USES.match(step["uses"])
                if not match:
                    continue
                checked += 1
                name = match.group(1)
                if name not in actions:
                    problems.append(f"{where}: uses {step['uses']}: there is no action '{name}'")
                    continue
                declared = actions[name].get("inputs") or {}
                given = step.get("with") or {}
                for key in given:
                    if key not in declared:
                        problems.append(f"{where}: {step['uses']} has no input '{key}' (it has: {', '.join(declared)})")
                for key, spec in declared.items():
                    if (spec or {}).get("required") and key not in given:
                        problems.append(f"{where}: {step['uses']} needs input '{key}'")
    for problem in problems:
        print(problem)
    print(f"{len(actions)} actions, {checked} uses checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

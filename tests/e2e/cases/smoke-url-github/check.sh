#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# A quick-mode check (--url) has no file and line: its annotation names none.
expect_eq "$(grep -c '^::warning title=unreachable%3A ' "$STDOUT")" 1 "the annotation of the unreachable URL"
expect_eq "$(grep -c '^::[a-z]* file=' "$STDOUT")" 0 "annotations pointing at a file"

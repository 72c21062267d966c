#!/usr/bin/env bash
source "$REPO/tests/e2e/lib.sh"
# The billion-laughs report must be refused at its DOCTYPE, before any entity
# is expanded: no test case is read from it.
r="$WORK/result.json"
expect_json "$r" .verdict '"inconclusive"'
expect_json "$r" '.reports[0].error | test("^tests/fixtures/e2e/billion-laughs.xml:2:[0-9]+: DOCTYPE declarations are refused")' true
expect_json "$r" '.totals.tests' 0
# Nothing expanded into any output.
expect_file_lacks "$STDOUT" "lollol"
expect_file_lacks "$r" "lollol"

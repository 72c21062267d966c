#!/usr/bin/env bash
# A report left over from an earlier pipeline: written in 2019.
cp "$FIXTURES/e2e/pass.xml" "$WORK/old.xml"
touch -d '2019-06-01 12:00:00 UTC' "$WORK/old.xml"
cp "$FIXTURES/e2e/pass.xml" "$WORK/fresh.xml"

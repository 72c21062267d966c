#!/usr/bin/env node
// Peer for the shipgate benchmark: the same counting job done with the npm
// package junit2json (pinned in package.json). Reads the whole report into a
// string, converts it with junit2json's parse() (xml2js underneath), walks every
// testcase and classifies it: error > failure > skipped > passed.
// Prints one line: tests=N passed=N failed=N errors=N skipped=N
// The report is large, so run with a raised heap, e.g.
//   node --max-old-space-size=8192 junit2json_count.js REPORT.xml
import { readFileSync } from 'node:fs';
import { parse } from 'junit2json';

const file = process.argv[2];
if (!file) {
  console.error('usage: junit2json_count.js REPORT.xml');
  process.exit(2);
}

const c = { tests: 0, passed: 0, failed: 0, errors: 0, skipped: 0 };

function walkSuite(suite) {
  for (const tc of suite.testcase ?? []) {
    c.tests++;
    if (tc.error && tc.error.length) c.errors++;
    else if (tc.failure && tc.failure.length) c.failed++;
    else if (tc.skipped && tc.skipped.length) c.skipped++;
    else c.passed++;
  }
  for (const inner of suite.testsuite ?? []) walkSuite(inner); // nested suites
}

const xml = readFileSync(file, 'utf8');
const out = await parse(xml);
if (!out) {
  console.error('junit2json returned nothing');
  process.exit(2);
}
walkSuite(out); // <testsuites> root has .testsuite[], a <testsuite> root has .testcase[]
console.log(Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' '));

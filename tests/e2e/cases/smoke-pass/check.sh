source "$REPO/tests/e2e/lib.sh"
expect_json "$WORK/r.json" '.verdict' '"pass"'
expect_json "$WORK/r.json" '.summary.passed' '4'
expect_json "$WORK/r.json" '.checks | length' '4'
expect_json "$WORK/r.json" '.checks[1].id' '"home page over https"'
xsd_valid "$WORK/r.xml"
grep -q '&gt;&gt;&gt; sent' "$WORK/r.xml" || { echo "JUnit lacks the transcript"; exit 1; }

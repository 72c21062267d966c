source "$REPO/tests/e2e/lib.sh"
expect_json "$WORK/r.json" '.tls.insecure' 'true'
grep -q 'TLS certificate verification is OFF' "$WORK/r.xml" || { echo "JUnit does not flag --insecure"; exit 1; }
grep -q 'TLS certificate verification is OFF' "$WORK/r.md" || { echo "Markdown does not flag --insecure"; exit 1; }

for file in "$WORK/r.json" "$WORK/r.xml" "$WORK/r.md" "$STDOUT" "$STDERR"; do
  if grep -q 'opaque-credential-789' "$file"; then echo "secret leaked into $file"; exit 1; fi
done
grep -q 'Authorization: \*\*\*' "$WORK/r.json" || { echo "masked header not found in the transcript"; exit 1; }

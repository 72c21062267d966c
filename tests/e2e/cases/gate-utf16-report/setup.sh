# A UTF-16 JUnit report with a BOM (as some .NET and Windows tools write).
printf '<?xml version="1.0" encoding="UTF-16"?>\n<testsuite name="s"><testcase classname="c" name="测试 a"><failure message="boom"/></testcase><testcase classname="c" name="b"/></testsuite>\n' |
  iconv -f UTF-8 -t UTF-16 > "$WORK/utf16.xml"

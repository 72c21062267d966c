#!/usr/bin/env bash
# A zip header and NUL bytes under a .xml name (an artifact upload gone wrong).
printf 'PK\003\004\024\000\000\000\010\000\377\376binary\000\000\001\002 not xml' >"$WORK/report.xml"

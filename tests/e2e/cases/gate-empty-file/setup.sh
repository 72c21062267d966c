#!/usr/bin/env bash
: >"$WORK/empty.xml"

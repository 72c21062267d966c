#!/usr/bin/env bash
mkdir -p "$WORK/out"

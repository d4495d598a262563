#!/bin/sh
# A trivial agent for benchmarks: records when it started and where (its worktree), changes nothing.
echo "$(date +%s.%N) $PWD" >> "$1"

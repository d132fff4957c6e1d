#!/usr/bin/env bash
# The type check and the lint, side by side: each is one process, so on a 2-core machine they
# take the time of the slower one instead of the sum. Each one's output is printed whole, after
# it ends, so the two do not interleave; the script fails if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
tsc_out=$(mktemp)
lint_out=$(mktemp)
trap 'rm -f "$tsc_out" "$lint_out"' EXIT

npx tsc --noEmit >"$tsc_out" 2>&1 &
tsc_pid=$!
npm run --silent lint >"$lint_out" 2>&1 &
lint_pid=$!

wait "$tsc_pid"
tsc_status=$?
wait "$lint_pid"
lint_status=$?

if [ "$tsc_status" -ne 0 ]; then
  echo "tsc --noEmit failed:"
  cat "$tsc_out"
fi
if [ "$lint_status" -ne 0 ]; then
  echo "npm run lint failed:"
  cat "$lint_out"
fi
[ "$tsc_status" -eq 0 ] && [ "$lint_status" -eq 0 ]

#!/bin/sh
# Runs each unit-test binary and prints one closing line with the totals.
passed=0 failed=0
# libgomp spins between parallel regions by default, which stalls on a busy machine.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
for t in "$@"; do
    if "$t"; then
        passed=$((passed + 1))
    else
        echo "FAIL: $t" >&2
        failed=$((failed + 1))
    fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

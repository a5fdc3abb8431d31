#!/usr/bin/env bash
# `make fuzz`: a long property-test campaign. The PropEr suite (tests/rust_hook_prop_tests.erl:
# generated hook arguments through the real plugin and NIF, every mode) at FUZZ_SCALE times
# its `make test` case counts, and the SDK's proptest properties (src/proptests.rs) at
# FUZZ_SCALE x 4,000 cases each. Prints the cases run and the distinct failures; exits 1
# when there is any.
set -uo pipefail
cd "$(dirname "$0")/.."
SCALE=${FUZZ_SCALE:-20}
CARGO=${CARGO:-cargo}
PROPS=$(grep -c '^    #\[test\]' src/proptests.rs)
RUST_CASES=$((SCALE * 4000))

echo "fuzz: Rust properties, $PROPS x $RUST_CASES cases"
rust_log=$(mktemp)
PROPTEST_CASES=$RUST_CASES $CARGO test --release -p emqx-rust-hook --lib proptests 2>&1 | tee "$rust_log" | grep -E "^test |test result"
rust_failures=$(grep -c '^test proptests::.* FAILED' "$rust_log")
grep -A3 "minimal failing input" "$rust_log"
rm -f "$rust_log"

echo "fuzz: Erlang properties at FUZZ_SCALE=$SCALE"
erl_log=$(mktemp)
FUZZ_SCALE=$SCALE erl -noshell -pa _build/test/lib/*/ebin _build/test/lib/*/test _build/test/extras/tests \
    -eval 'rust_hook_prop_tests:run_fuzz(), halt().' 2>&1 | tee "$erl_log" | grep -E "cases|memory|fuzz:|failure:|Failed|passed"
erl_cases=$(sed -n 's/^fuzz: \([0-9]*\) generated cases, \([0-9]*\) distinct failures$/\1/p' "$erl_log")
erl_failures=$(sed -n 's/^fuzz: \([0-9]*\) generated cases, \([0-9]*\) distinct failures$/\2/p' "$erl_log")
rm -f "$erl_log"

total=$((PROPS * RUST_CASES + ${erl_cases:-0}))
failures=$((rust_failures + ${erl_failures:-1}))
echo "fuzz: $total generated cases ($((PROPS * RUST_CASES)) Rust, ${erl_cases:-0} Erlang), $failures distinct failures"
[ "$failures" -eq 0 ]

#!/bin/sh
# `cargo test` in a hook crate as a user creates it from the README: tests/user_crate/ is
# copied to a fresh directory outside the workspace, pointed at this SDK by path, and
# tested (unit tests and doctests). Offline: it reuses the workspace's Cargo.lock and the
# dependencies `make lint` already fetched. Fails unless both kinds of test ran and passed.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/emqx_rust_hook_user_crate.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cp -r "$root/tests/user_crate/src" "$dir/"
sed "s#@SDK_PATH@#$root#" "$root/tests/user_crate/Cargo.toml.in" >"$dir/Cargo.toml"
cp "$root/Cargo.lock" "$dir/Cargo.lock"
cd "$dir"
CARGO_TARGET_DIR="$root/target/user_crate" ${CARGO:-cargo} test --offline 2>&1 | tee "$dir/out.txt"
grep -q '^     Running unittests src/lib.rs' "$dir/out.txt"
grep -q '^test result: ok. 3 passed' "$dir/out.txt"
grep -q '^   Doc-tests user_hooks' "$dir/out.txt"
grep -q '^test result: ok. 1 passed' "$dir/out.txt"
echo "user crate: cargo test green (unit tests and doctests) in $dir"

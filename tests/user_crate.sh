#!/usr/bin/env bash
# A hook crate as a user starts one: `starter/new-crate.sh` creates it in a fresh
# directory outside the workspace, then, as its output tells the user:
#   cargo test                 unit tests, doctests and the scenario test on a real EMQX
#   cargo build --release      and `make plugin LIB=...`: the plugin directory with its .so
# Fails unless every kind of test ran and passed and the plugin holds the library.
# Without a broker (no EMQX_HOME and no kit), the scenario test cannot run: outside CI
# this runs `cargo test --lib` and `--doc` and says plainly that the scenario did not run;
# on CI (or with --required) it is a failure, as for the broker suite.
# Offline: it reuses the workspace's Cargo.lock (the starter copies it) and the
# dependencies `make lint` fetched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd -P)
required=0
[ "${1:-}" = --required ] && required=1
[ "${CI:-}" = true ] && required=1
CARGO=${CARGO:-cargo}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/emqx_rust_hook_user_crate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dir=$tmp/acme-hooks

"$root/starter/new-crate.sh" "$dir" | tee "$tmp/starter.txt"
grep -q "^Next:" "$tmp/starter.txt"
cd "$dir"

scenario=1
if ! home=$("$root/tests/broker/emqx-home.sh"); then
    if [ $required = 1 ]; then
        echo "user crate: FAILED to find or build an EMQX broker for its scenario test" >&2
        exit 1
    fi
    scenario=0
fi
if [ $scenario = 1 ]; then
    EMQX_HOME=$home CARGO_TARGET_DIR="$root/target/user_crate" $CARGO test --offline 2>&1 | tee "$tmp/out.txt"
else
    { CARGO_TARGET_DIR="$root/target/user_crate" $CARGO test --offline --lib &&
      CARGO_TARGET_DIR="$root/target/user_crate" $CARGO test --offline --doc; } 2>&1 | tee "$tmp/out.txt"
fi
grep -q '^     Running unittests src/lib.rs' "$tmp/out.txt"
grep -q '^test result: ok. 3 passed' "$tmp/out.txt"
grep -q '^   Doc-tests acme_hooks' "$tmp/out.txt"
grep -q '^test src/lib.rs - AcmeHooks (line .*) ... ok' "$tmp/out.txt"
if [ $scenario = 1 ]; then
    grep -q '^     Running tests/scenario.rs' "$tmp/out.txt"
    grep -q '^test clients_with_the_password_connect_subscribe_and_publish ... ok' "$tmp/out.txt"
fi
if grep -q 'test result: FAILED' "$tmp/out.txt"; then exit 1; fi

# Package it.
CARGO_TARGET_DIR="$root/target/user_crate" $CARGO build --release --offline
make -s -C "$root" plugin LIB="$root/target/user_crate/release/libacme_hooks.so" CARGO="$CARGO"
test -f "$root/_build/plugin/emqx_rust_hook/priv/libacme_hooks.so"
test -f "$root/_build/plugin/emqx_rust_hook/ebin/emqx_rust_hook.app"

if [ $scenario = 1 ]; then
    echo "user crate: created by the starter; cargo test green (unit tests, doctests, scenario on EMQX at $home); plugin built"
else
    echo "=================================================================="
    echo "USER CRATE: unit tests and doctests green, plugin built; its SCENARIO"
    echo "TEST DID NOT RUN: no EMQX broker (see above). Set EMQX_HOME, or put the"
    echo "EMQX kit (shared/emqx/build.sh) beside the repository."
    echo "=================================================================="
fi

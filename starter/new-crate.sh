#!/usr/bin/env bash
# Creates a new hook crate from starter/template: a library with one hook, unit tests
# with the SDK's test values, a scenario test on a real EMQX broker.
#   starter/new-crate.sh DIR [NAME]     (make new-crate DIR=... [NAME=...])
# NAME (the package name) defaults to DIR's base name. DIR must not exist or be empty.
set -euo pipefail
sdk=$(cd "$(dirname "$0")/.." && pwd -P)
dir=${1:?usage: starter/new-crate.sh DIR [NAME]}
name=${2:-$(basename "$dir")}
if ! [[ $name =~ ^[a-z][a-z0-9_-]*$ ]]; then
    echo "new-crate: '$name' is not a crate name (lower case letters, digits, - and _)" >&2
    exit 2
fi
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    echo "new-crate: $dir exists and is not empty" >&2
    exit 2
fi
crate=${name//-/_}
# my_hooks / my-hooks -> MyHooks
type=$(echo "$name" | sed -E 's/(^|[-_])([a-z0-9])/\U\2/g')

mkdir -p "$dir/src" "$dir/tests"
dir=$(cd "$dir" && pwd -P)
t=$sdk/starter/template
fill() { sed -e "s#@NAME@#$name#g" -e "s#@CRATE@#$crate#g" -e "s#@TYPE@#$type#g" -e "s#@SDK@#$sdk#g" "$1" >"$2"; }
fill "$t/Cargo.toml.in" "$dir/Cargo.toml"
fill "$t/src/lib.rs" "$dir/src/lib.rs"
fill "$t/tests/scenario.rs" "$dir/tests/scenario.rs"
cp "$t/.gitignore" "$dir/.gitignore"
# The dependency versions the SDK is tested with (cargo drops what the crate does not use).
cp "$sdk/Cargo.lock" "$dir/Cargo.lock"

cat <<MSG
Created the hook crate $name in $dir:
  Cargo.toml          depends on the SDK at $sdk
  src/lib.rs          $type: client_authenticate (a password from the plugin conf), unit tests
  tests/scenario.rs   the library in a real EMQX broker with real MQTT clients

Next:
  cd $dir
  cargo test                   # unit tests, doctests, and the scenario test, which needs an
                               # EMQX 4.2 broker: EMQX_HOME=/path/to/emqx cargo test
                               # (cargo test --lib; cargo test --doc: the rest, without one)
  cargo build --release        # target/release/lib$crate.so
  make -C $sdk plugin LIB=$dir/target/release/lib$crate.so
                               # the plugin directory to install into EMQX 4.2:
                               # $sdk/_build/plugin/emqx_rust_hook/
                               # set exhook.drivers.rust.init.password in its etc/emqx_rust_hook.conf
Guide: $sdk/docs/guide.md
MSG

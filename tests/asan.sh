#!/usr/bin/env bash
# The integration suite with AddressSanitizer builds of the hook libraries (not part of
# `make test`): the libraries are built by the nightly toolchain with
# `-Zsanitizer=address` (stable Rust has no sanitizers), and the VM is started with the
# ASan runtime preloaded (GCC's libasan: a cdylib cannot bring its own). Leak checking is
# off: the VM keeps its memory until exit on purpose. Any ASan report aborts the VM
# (the suite fails) and is printed. The quarantine of freed memory is kept small (4 MB):
# the suite's memory-flatness checks would otherwise measure ASan's quarantine.
# Arguments go to `rebar3 eunit` (e.g. --module=rust_hook_safety_tests).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-gnu
DIR=$PWD/target-asan
RUSTFLAGS="-Zsanitizer=address" CARGO_TARGET_DIR=$DIR cargo +nightly build --release --target $TARGET \
    $(for d in native/*/; do n=$(basename "$d"); [ "$n" = bench_hooks ] || printf -- '-p %s ' "$n"; done)
ASAN_RT=$(gcc -print-file-name=libasan.so)
rebar3 as test compile
RUST_HOOK_LIB_DIR=$DIR/$TARGET/release LD_PRELOAD=$ASAN_RT \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=4:log_path=$DIR/asan \
    rebar3 eunit "${@:---dir=erlang/test,tests}"
if ls "$DIR"/asan.* >/dev/null 2>&1; then
    cat "$DIR"/asan.*
    exit 1
fi
echo "asan: no reports"

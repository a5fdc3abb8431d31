#!/usr/bin/env bash
# `make test-package`: each tarball of `make package` installed into a fresh EMQX broker
# (4.2 and 4.4; tests/broker/emqx-home.sh) by running the install steps of the README
# literally: the README's `sh` block for that release is checked to be the one in the
# package's INSTALL.md, then run with EMQX (a private copy of the release, on free ports)
# and TARBALL set. Then: the plugin is active, `rust_hook status` shows the library, a
# real MQTT client sees the example's decision (SUBSCRIBE without username: 0x80), after
# a restart of the broker all of it again, and the README's library upgrade (the new
# build copied over the configured .so, `rust_hook reload`) runs the new library.
#   tests/package_install.sh [4.2|4.4]...   (default: both; needs `make package`)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(4.2 4.4)

free_port() { erl -noshell -eval '{ok, S} = gen_tcp:listen(0, []), {ok, P} = inet:port(S), io:format("~b", [P]), halt().'; }

# The sh block after the marker line `<!-- install-steps <version> -->` (README) or the
# first sh block (INSTALL.md).
block() {
    awk -v marker="$2" '
        marker == "" || index($0, marker) { armed = 1 }
        armed && /^```sh/ { on = 1; next }
        on && /^```/ { exit }
        on { print }' "$1"
}

# MQTT 3.1.1 CONNECT (client id, no username), SUBSCRIBE a/b QoS 1: prints the SUBACK code.
suback_code() {
    erl -noshell -eval '
        {ok, S} = gen_tcp:connect("127.0.0.1", '"$1"', [binary, {active, false}], 5000),
        Id = <<"pkg-check">>,
        Var = <<0, 4, "MQTT", 4, 2, 0, 60, (byte_size(Id)):16, Id/binary>>,
        ok = gen_tcp:send(S, <<16, (byte_size(Var)), Var/binary>>),
        {ok, <<32, 2, _, 0>>} = gen_tcp:recv(S, 4, 5000),
        Sub = <<0, 1, 0, 3, "a/b", 1>>,
        ok = gen_tcp:send(S, <<130, (byte_size(Sub)), Sub/binary>>),
        {ok, <<144, 3, 0, 1, Code>>} = gen_tcp:recv(S, 5, 5000),
        io:format("~b", [Code]), halt().'
}

for v in "${versions[@]}"; do
    tarball=$(ls "$ROOT"/_build/package/emqx_rust_hook-*-emqx$v-example_hook.tar.gz)
    if ! home=$(tests/broker/emqx-home.sh "$v"); then
        if [ "${CI:-}" = true ] || [ "${REQUIRED:-}" = 1 ]; then
            echo "package test: no EMQX $v broker (see above)" >&2; exit 1
        fi
        echo "PACKAGE TEST DID NOT RUN ON EMQX $v: no broker (reason above)."
        continue
    fi
    readme=$(block README.md "<!-- install-steps $v -->")
    install=$(block <(tar -xzOf "$tarball" --wildcards '*/INSTALL.md') "")
    [ -n "$readme" ] || { echo "no install steps for $v in README.md" >&2; exit 1; }
    if [ "$readme" != "$install" ]; then
        echo "README.md's install steps for EMQX $v differ from the package's INSTALL.md:" >&2
        diff <(echo "$readme") <(echo "$install") >&2 || true
        exit 1
    fi
    T=$(mktemp -d /tmp/emqx-rust-hook-package-XXXXXX)
    mkdir -p "$T/emqx" "$T/work"
    for d in bin etc lib data plugins releases; do [ -e "$home/$d" ] && cp -a "$home/$d" "$T/emqx/"; done
    export EMQX_NODE_NAME=pkgtest$$x${v/./}@127.0.0.1 EMQX_MQTT_PORT=$(free_port) EMQX_DIST_PORT=$(free_port)
    unset EMQX_DATA_DIR EMQX_LOG_DIR EMQX_CLUSTER_SEEDS EMQX_RPC_PORT
    trap '"$T/emqx/bin/emqx" stop >/dev/null 2>&1 || true' EXIT
    echo "== EMQX $v: the README's install steps, in $T"
    (cd "$T/work" && EMQX=$T/emqx TARBALL=$tarball bash -euxo pipefail -c "$readme") > "$T/steps.log" 2>&1 \
        || { cat "$T/steps.log"; echo "EMQX $v: the install steps failed" >&2; exit 1; }
    out=$(cat "$T/steps.log")
    grep -q "OK" <<< "$out" && ! grep -q "FAILED" <<< "$out" || { echo "$out"; echo "checksums" >&2; exit 1; }
    grep -q "Plugin emqx_rust_hook loaded successfully" <<< "$out" || { echo "$out"; echo "EMQX $v: not loaded" >&2; exit 1; }
    grep -q "rust driver: .*libexample_hook.so" <<< "$out" || { echo "$out"; echo "EMQX $v: no status" >&2; exit 1; }
    grep -q "Plugin(emqx_rust_hook, .*active=true" <<< "$("$T/emqx/bin/emqx_ctl" plugins list)" \
        || { echo "EMQX $v: plugin not active" >&2; exit 1; }
    code=$(suback_code "$EMQX_MQTT_PORT")
    [ "$code" = 128 ] || { echo "EMQX $v: SUBACK $code, expected 128 (the example's ACL)" >&2; exit 1; }
    # `plugins load` was recorded in data/loaded_plugins: loaded again at the next start.
    "$T/emqx/bin/emqx" stop >/dev/null
    "$T/emqx/bin/emqx" start >/dev/null
    grep -q "Plugin(emqx_rust_hook, .*active=true" <<< "$("$T/emqx/bin/emqx_ctl" plugins list)" \
        || { echo "EMQX $v: plugin not active after a restart" >&2; exit 1; }
    code=$(suback_code "$EMQX_MQTT_PORT")
    [ "$code" = 128 ] || { echo "EMQX $v: after a restart SUBACK $code, expected 128" >&2; exit 1; }
    # Upgrading the library as the README says: the new build copied over the
    # configured .so, then `rust_hook reload`.
    case $v in 4.2) pdir=$T/emqx/plugins/emqx_rust_hook ;; *) pdir=$T/emqx/etc/plugins/emqx_rust_hook ;; esac
    cp "$ROOT/target/release/libexample_hook.so" "$pdir/priv/libexample_hook.so"
    out=$("$T/emqx/bin/emqx_ctl" rust_hook reload)
    grep -q "^reloaded .*libexample_hook.so (SDK " <<< "$out" \
        || { echo "EMQX $v: rust_hook reload failed: $out" >&2; exit 1; }
    grep -q "libexample_hook.so" <<< "$("$T/emqx/bin/emqx_ctl" rust_hook status)" \
        || { echo "EMQX $v: the upgraded library is not the one running" >&2; exit 1; }
    code=$(suback_code "$EMQX_MQTT_PORT")
    [ "$code" = 128 ] || { echo "EMQX $v: after the upgrade SUBACK $code, expected 128" >&2; exit 1; }
    "$T/emqx/bin/emqx" stop >/dev/null
    trap - EXIT
    rm -rf "$T"
    echo "== EMQX $v: package installed as the README says, plugin active, example deciding (SUBACK 0x80), loaded again after a restart, library upgraded by reload: ok"
done

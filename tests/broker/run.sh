#!/usr/bin/env bash
# Runs the broker suite (tests/broker/) on EMQX 4.2 and on EMQX 4.4: the plugin installed
# into a real broker the way the README tells users, driven by real MQTT clients.
#   tests/broker/run.sh [4.2|4.4]...  `make test`: for each version (default: both), a
#                                     broker without a kit to build or a home is said
#                                     plainly and skipped (exit 0), except on CI
#   tests/broker/run.sh --required    `make test-broker` and CI: no broker is a failure
# Brokers: tests/broker/emqx-home.sh (EMQX_HOME for 4.2, EMQX44_HOME for 4.4, else the
# kits beside the repository). Expects `make plugin` to have run.
set -euo pipefail
cd "$(dirname "$0")/../.."
required=0
versions=()
for a in "$@"; do
    case $a in
        --required) required=1 ;;
        4.2|4.4) versions+=("$a") ;;
        *) echo "usage: $0 [--required] [4.2|4.4]..." >&2; exit 2 ;;
    esac
done
[ ${#versions[@]} -gt 0 ] || versions=(4.2 4.4)
[ "${CI:-}" = true ] && required=1

status=0
for v in "${versions[@]}"; do
    if ! home=$(tests/broker/emqx-home.sh "$v"); then
        if [ $required = 1 ]; then
            echo "broker suite: FAILED to find or build an EMQX $v broker (see above)" >&2
            exit 1
        fi
        echo "=================================================================="
        echo "BROKER SUITE DID NOT RUN ON EMQX $v: no broker (reason above)."
        echo "Run it with EMQX_HOME=/path/to/emqx-4.2 (or EMQX44_HOME=/path/to/emqx-4.4)"
        echo "make test-broker, or put the EMQX kits (shared/emqx/build.sh,"
        echo "shared/emqx44/build.sh) beside the repository."
        echo "=================================================================="
        continue
    fi
    echo "broker suite on EMQX $v: EMQX_HOME=$home"
    EMQX_HOME=$home ${CARGO:-cargo} test --release -p broker-tests --test broker || status=1
    # The example library's own scenario test (emqx-rust-hook-testkit, as hook crates use it).
    EMQX_HOME=$home ${CARGO:-cargo} test --release -p example_hook --test scenario || status=1
done
exit $status

#!/usr/bin/env bash
# Runs the broker suite (tests/broker/): the plugin installed into a real EMQX 4.2 broker
# the way the README tells users, driven by real MQTT clients.
#   tests/broker/run.sh            `make test`: when there is no broker (no EMQX_HOME and no
#                                  kit to build), says so plainly and exits 0, except on CI
#   tests/broker/run.sh --required `make test-broker` and CI: no broker is a failure
# Expects `make plugin` to have run (the plugin dir and the test libraries in target/release/).
set -euo pipefail
cd "$(dirname "$0")/../.."
required=0
[ "${1:-}" = --required ] && required=1
[ "${CI:-}" = true ] && required=1

if ! home=$(tests/broker/emqx-home.sh); then
    if [ $required = 1 ]; then
        echo "broker suite: FAILED to find or build an EMQX broker (see above)" >&2
        exit 1
    fi
    echo "=================================================================="
    echo "BROKER SUITE DID NOT RUN: no EMQX broker (reason above)."
    echo "Run it with EMQX_HOME=/path/to/emqx-4.2 make test-broker, or put the"
    echo "EMQX kit (shared/emqx/build.sh) beside the repository."
    echo "=================================================================="
    exit 0
fi
echo "broker suite: EMQX_HOME=$home"
EMQX_HOME=$home ${CARGO:-cargo} test --release -p broker-tests --test broker
# The example library's own scenario test (emqx-rust-hook-testkit, as hook crates use it).
EMQX_HOME=$home ${CARGO:-cargo} test --release -p example_hook --test scenario

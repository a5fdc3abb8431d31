# emqx-rust-hook: build, test and demo. `make demo` and `make test` work from a fresh
# clone once Rust, Erlang/OTP and rebar3 are installed (.ci/run installs the latter two).

CARGO ?= cargo
REBAR ?= rebar3
# Every crate under native/ is built to target/release/lib<name>.so.
NATIVE := $(notdir $(wildcard native/*))

.PHONY: all build rust erlang test lint unit user-crate new-crate integration broker test-broker test-package demo bench bench-storage bench-broker bench-mode-cost fuzz plugin package clean

all: build

build: rust erlang

rust:
	$(CARGO) build --release --workspace

erlang:
	$(REBAR) as test compile

## The README's test command: lint, Rust unit tests, then the Erlang host and the
## integration tests that load the real .so files into a real BEAM through the plugin,
## then the broker suite on EMQX 4.2 and 4.4 and the package install test (real brokers;
## says so plainly when there are none).
test: lint unit build user-crate integration broker test-package

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --release -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps -p emqx-rust-hook -p emqx-rust-hook-testkit --features emqx-rust-hook/tokio

## The SDK's unit tests, integration tests (tests/*.rs) and doctests, the testkit's
## doctests, the example library's unit tests (its scenario test runs with `broker`), and
## the decisions of bench/exhook-server (make bench-broker's gRPC HookProvider) and the
## figures of bench-broker's report.
## PROPTEST_CASES: cases per proptest property (src/proptests.rs; 16 properties).
unit:
	PROPTEST_CASES=$${PROPTEST_CASES:-4000} $(CARGO) test --release -p emqx-rust-hook -p emqx-rust-hook-macros -p emqx-rust-hook-testkit --features emqx-rust-hook/tokio
	$(CARGO) test --release -p example_hook --lib
	$(CARGO) test --release -p emqx_jobs
	$(CARGO) test --release -p exhook-bench-server
	$(CARGO) test --release -p broker-tests --bin bench-broker

## A hook crate created by the starter in a temp dir outside the workspace: its
## `cargo test` (unit tests, doctests, scenario test on a real EMQX) and its plugin.
user-crate:
	CARGO=$(CARGO) tests/user_crate.sh

## A new hook crate: make new-crate DIR=../my-hooks [NAME=my-hooks]
new-crate:
	@test -n "$(DIR)" || { echo "usage: make new-crate DIR=path/to/crate [NAME=name]" >&2; exit 2; }
	starter/new-crate.sh "$(DIR)" $(NAME)

## two_hooks is also built without --release (target/debug), as `cargo build` makes a
## library, for the test of the plugin's warning about such builds.
integration: build plugin
	$(CARGO) build -p two_hooks
	$(REBAR) eunit --dir erlang/test,tests

## The broker suite (tests/broker/): the plugin installed into a real EMQX 4.2 and a real
## EMQX 4.4 broker as the README tells users, driven by real MQTT clients. Brokers:
## $$EMQX_HOME (4.2) and $$EMQX44_HOME (4.4), else the EMQX kits beside the repository
## (../shared/emqx, ../shared/emqx44), built once into ~/.cache/emqx-rust-hook.
## `make test` skips a version with a plain message when it has neither; `make test-broker`
## (and CI) fail instead. EMQX_VERSIONS="4.4" runs one version only.
EMQX_VERSIONS ?= 4.2 4.4
broker: plugin
	tests/broker/run.sh $(EMQX_VERSIONS)

test-broker: plugin
	tests/broker/run.sh --required $(EMQX_VERSIONS)

## A long property-test campaign: the PropEr suite (tests/rust_hook_prop_tests.erl) at
## FUZZ_SCALE (default 20) times its `make test` case counts and the proptest properties
## at FUZZ_SCALE x 4,000 cases each; prints the cases run and the distinct failures.
fuzz: build plugin
	CARGO=$(CARGO) tests/fuzz.sh

## The example library making real decisions in a few client lifecycles, then the four
## jobs of native/emqx_jobs on SQLite (connection log, password auth, ACL, storage).
demo: build
	erl -noshell -pa _build/test/lib/*/ebin _build/test/lib/*/test _build/test/extras/tests \
	    -eval 'emqx_rust_hook_demo:main(), halt().'
	erl -noshell -pa _build/test/lib/*/ebin _build/test/lib/*/test _build/test/extras/tests \
	    -eval 'try emqx_rust_hook_jobs_demo:main() of ok -> halt(0) catch C:E:S -> io:format(standard_error, "jobs demo failed: ~p:~p~n~p~n", [C, E, S]), halt(1) end.'

## Benchmarks (not part of `make test`; CI never fails on timing): every execution mode
## side by side with a pure-Erlang hook in one BEAM run (bench/results.json), then the
## SDK's pure-Rust microbenchmarks (criterion). See BENCHMARKS.md.
bench: build
	$(CARGO) build --release -p bench_hooks --examples
	mkdir -p _build/bench
	erlc -I erlang/include -o _build/bench bench/emqx_rust_hook_bench.erl
	erl -noshell -pa _build/test/lib/*/ebin _build/test/lib/*/test _build/test/extras/tests _build/bench \
	    -eval 'try emqx_rust_hook_bench:main() of ok -> halt(0) catch C:E:S -> io:format(standard_error, "bench failed: ~p:~p~n~p~n", [C, E, S]), halt(1) end.'
	$(CARGO) bench -p emqx-rust-hook --bench sdk
	$(MAKE) bench-storage

## The storage job of native/emqx_jobs through the hook path into SQLite and PostgreSQL
## (a throwaway server; skipped, and said, without PostgreSQL): msgs/s merged into
## bench/results.json as {"hook": "message.publish", "mode": "storage_sqlite" | "storage_postgres"}.
bench-storage: build
	mkdir -p _build/bench
	erlc -o _build/bench bench/emqx_rust_hook_storage_bench.erl
	erl -noshell -pa _build/test/lib/*/ebin _build/test/lib/*/test _build/test/extras/tests _build/bench \
	    -eval 'try emqx_rust_hook_storage_bench:main() of ok -> halt(0) catch C:E:S -> io:format(standard_error, "bench failed: ~p:~p~n~p~n", [C, E, S]), halt(1) end.'

## What the plugin's per-call machinery costs (stand-in host, one BEAM): the 19-hook
## library inline or `auto', latency sampling on or off, alternated over rounds
## (BENCH_N calls per case, BENCH_ROUNDS rounds). See BENCHMARKS.md.
bench-mode-cost: build
	$(CARGO) build --release -p bench_all_hooks --examples
	mkdir -p _build/bench
	erlc -I erlang/include -o _build/bench bench/emqx_rust_hook_bench.erl bench/emqx_rust_hook_mode_cost.erl
	erl -noshell -pa _build/test/lib/*/ebin _build/test/lib/*/test _build/test/extras/tests _build/bench \
	    -eval 'try emqx_rust_hook_mode_cost:main() of ok -> halt(0) catch C:E:S -> io:format(standard_error, "bench failed: ~p:~p~n~p~n", [C, E, S]), halt(1) end.'

## The real EMQX 4.2 broker saturated by MQTT clients, every hook configuration side by
## side in one run (no hooks, Erlang hooks, the 19-hook Rust library in several modes,
## async, the Python SDK when a Python 3.10 exists): bench/broker-results.json and .md.
## EMQX=4.4 (or BENCH_EMQX=4.4): the EMQX 4.4 broker, with the gRPC emqx_exhook and a
## Python and a Rust (bench/exhook-server) HookProvider beside the library:
## bench/broker-results-4.4.json and .md.
## BENCH_ROUNDS, BENCH_SECS... (see BENCHMARKS.md). Broker: as for `make test-broker`.
bench-broker: plugin
	$(CARGO) build --release -p bench_all_hooks --examples
	$(CARGO) build --release -p broker-tests --bin bench-broker
	$(CARGO) build --release -p exhook-bench-server
	BENCH_EMQX=$(if $(EMQX),$(EMQX),$${BENCH_EMQX:-4.2}) target/release/bench-broker

## The plugin as EMQX loads it, with the example library: _build/plugin/emqx_rust_hook/
## (copy it to <emqx>/plugins/, and etc/emqx_rust_hook.conf to <emqx>/etc/plugins/).
## LIB=path/to/libyours.so puts your library in priv/ instead.
LIB ?= target/release/libexample_hook.so
plugin: rust
	$(REBAR) compile
	rm -rf _build/plugin/emqx_rust_hook
	mkdir -p _build/plugin/emqx_rust_hook/ebin _build/plugin/emqx_rust_hook/priv _build/plugin/emqx_rust_hook/etc
	cp _build/default/lib/emqx_rust_hook/ebin/* _build/plugin/emqx_rust_hook/ebin/
	cp erlang/priv/emqx_rust_hook.schema $(LIB) _build/plugin/emqx_rust_hook/priv/
	cp erlang/etc/emqx_rust_hook.conf _build/plugin/emqx_rust_hook/etc/
	@echo "plugin in _build/plugin/emqx_rust_hook/"

## Versioned tarballs for EMQX 4.2 and 4.4 in _build/package/ (the plugin dir with LIB,
## the conf, INSTALL.md for that release, SHA256SUMS); see package/package.sh.
package: plugin
	package/package.sh $(LIB)

## The packages installed into a fresh EMQX 4.2 and 4.4 broker by running the README's
## install steps (tests/package_install.sh; like the broker suite, a version without a
## broker is skipped with a plain message, except on CI).
test-package: package
	tests/package_install.sh $(EMQX_VERSIONS)

clean:
	$(CARGO) clean
	rm -rf _build

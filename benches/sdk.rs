//! Microbenchmarks of the SDK's pure code (no BEAM needed): topic filters, message ids,
//! password comparison, property names, addresses. Decoding and encoding terms need a
//! live VM; they are measured end to end by `make bench` (bench/emqx_rust_hook_bench.erl).
//!
//! Run with `cargo bench -p emqx-rust-hook --bench sdk` (part of `make bench`).
//! See BENCHMARKS.md for how these numbers relate to the per-call cost of a hook.
//!
//! The pure modules are compiled into this bench from the SDK's own source files
//! (`src/topic.rs`, `src/types/`) instead of linking the SDK's rlib: every executable
//! that links the rlib also gets its NIF functions (rustler registers them through
//! `#[used]` statics, which rustc always keeps), and with them ~50 `enif_*` symbols that
//! only exist inside the BEAM. Rust calls them through the GOT, so even with
//! `--unresolved-symbols=ignore-all` and `-z lazy` the loader refuses to start the
//! binary (`undefined symbol: enif_priv_data`). Same source, same `bench` profile.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;

// Linted as part of the library (where these items are public API); here they are
// private, unused in part, and would trip lints meant for private code.
#[allow(dead_code, unused_imports, clippy::all)]
#[path = "../src/topic.rs"]
mod topic;
#[allow(dead_code, unused_imports, clippy::all)]
#[path = "../src/types/mod.rs"]
mod types;

use topic::{matches, validate_filter};
use types::{ip_from_parts, MessageId, Password, PropName};

fn topic(c: &mut Criterion) {
    let mut g = c.benchmark_group("topic::matches");
    for (name, topic, filter) in [
        ("exact t/1 ~ t/1", "t/1", "t/1"),
        ("hash t/1 ~ t/#", "t/1", "t/#"),
        (
            "plus 5 levels",
            "sensors/eu/room-17/temperature/raw",
            "sensors/+/+/temperature/+",
        ),
        ("miss at level 1", "alerts/eu/x", "sensors/#"),
        ("$SYS vs #", "$SYS/brokers/node/version", "#"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| matches(black_box(topic), black_box(filter)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("topic::validate_filter");
    let long = "a/".repeat(200) + "#";
    for (name, filter) in [
        ("t/#", "t/#"),
        ("sensors/+/temperature/#", "sensors/+/temperature/#"),
        ("201 levels", long.as_str()),
    ] {
        g.bench_function(name, |b| b.iter(|| validate_filter(black_box(filter))));
    }
    g.finish();
}

fn types(c: &mut Criterion) {
    // The id of the captured `alice` publish (tests/fixtures/emqx-4.2.14-captures).
    let id = MessageId([0, 6, 97, 32, 185, 206, 123, 192, 244, 31, 0, 0, 1, 85, 0, 0]);
    c.bench_function("MessageId::to_hex", |b| b.iter(|| black_box(&id).to_hex()));
    c.bench_function("MessageId::timestamp_us", |b| {
        b.iter(|| black_box(&id).timestamp_us())
    });

    let pw = Password::new(b"correct horse battery staple");
    c.bench_function("Password::matches (equal, 28 bytes)", |b| {
        b.iter(|| black_box(pw).matches(black_box(b"correct horse battery staple")))
    });
    c.bench_function("Password::matches (length differs)", |b| {
        b.iter(|| black_box(pw).matches(black_box(b"secret")))
    });

    c.bench_function("PropName::from_name (message_expiry_interval)", |b| {
        b.iter(|| PropName::from_name(black_box("message_expiry_interval")))
    });
    c.bench_function("PropName::from_name (unknown)", |b| {
        b.iter(|| PropName::from_name(black_box("x_custom_property")))
    });

    c.bench_function("ip_from_parts (IPv4)", |b| {
        b.iter(|| ip_from_parts(black_box(&[127, 0, 0, 1])))
    });
    c.bench_function("ip_from_parts (IPv4-mapped IPv6)", |b| {
        b.iter(|| ip_from_parts(black_box(&[0, 0, 0, 0, 0, 0xffff, 0x7f00, 1])))
    });
}

fn config() -> Criterion {
    // Short runs: the whole of `make bench` stays within a few minutes on 2 cores.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = topic, types
}
criterion_main!(benches);

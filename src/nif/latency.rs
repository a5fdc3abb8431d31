//! The latency NIFs (see `crate::latency`): the plugin sets the rate with
//! `latency_sample(Hook, Every)` (0, the value before it does: off) and reads
//! `latency_summary(Hook)` for `rust_hook stats` and the `exhook.rust.<hook>.p50_us` /
//! `.p99_us` / `.max_us` gauges.

use super::entry::slot;
use crate::hookpoint::HookPoint;
use rustler::{Encoder, Env, Term};

fn hook_of(term: Term) -> Option<HookPoint> {
    HookPoint::from_name(&term.atom_to_string().ok()?)
}

/// `latency_sample(Hook, Every) -> ok | {error, not_started}`: the started library times
/// one call of `Hook` in `Every` per thread (the first of each thread always; 0: none).
#[rustler::nif]
fn latency_sample<'a>(env: Env<'a>, hook: Term<'a>, every: u32) -> Term<'a> {
    let inst = slot(env).and_then(|s| s.instance.load_full());
    match (inst, hook_of(hook)) {
        (Some(inst), Some(hook)) => {
            inst.core.latency(hook).set_every(every);
            super::atoms::ok().encode(env)
        }
        _ => (super::atoms::error(), super::atoms::not_started()).encode(env),
    }
}

/// `latency_summary(Hook) -> {Samples, P50, P99, Max}` (µs) of the started library, or
/// `undefined`.
#[rustler::nif]
fn latency_summary<'a>(env: Env<'a>, hook: Term<'a>) -> Term<'a> {
    let inst = slot(env).and_then(|s| s.instance.load_full());
    match (inst, hook_of(hook)) {
        (Some(inst), Some(hook)) => {
            let s = inst.core.latency(hook).summary();
            (s.samples, s.p50, s.p99, s.max).encode(env)
        }
        _ => super::atoms::undefined().encode(env),
    }
}

//! Bounds on what one hook call may cost the broker, whatever the terms it gets.
//!
//! Every walk the SDK makes over a term of unknown shape is bounded in depth (so no
//! thread's stack can overflow, whichever thread it runs on) and in the number of terms
//! it visits (so a caller's cost does not grow with what a client or a plugin put in a
//! term). Past a bound the SDK uses a defined fallback, documented where it applies, and
//! logs it (the first time, then every 10,000th).

use rustler::sys::{enif_get_list_cell, ErlNifTerm};
use rustler::{Term, TermType};
use std::sync::atomic::{AtomicU64, Ordering};

/// A decoded `Reason` nests at most this deep; deeper parts become `Reason::Truncated`.
pub const REASON_MAX_DEPTH: usize = 32;
/// A decoded `Reason` holds at most this many terms; the rest becomes `Reason::Truncated`.
pub const REASON_MAX_TERMS: usize = 1024;
/// Binaries and texts inside a `Reason` keep at most this many bytes.
pub const REASON_MAX_BYTES: usize = 256;
/// An iolist payload is flattened only when it has at most this many elements ...
pub const IOLIST_MAX_TERMS: usize = 65_536;
/// ... and nests at most this deep; otherwise the payload reads as empty.
pub const IOLIST_MAX_DEPTH: usize = 64;
/// The arguments of a pool or queued call are copied for the worker only when they
/// hold at most this many terms (elements of tuples, lists and maps, counted); a larger
/// call fails at once (`failed_action` applies).
pub const COPY_MAX_TERMS: usize = 20_000;
/// A topic-filter list (`client.subscribe`, `client.unsubscribe`) is decoded only up to
/// this many filters; a longer list fails the call (`failed_action` applies).
pub const MAX_FILTERS: usize = 1024;
/// A properties map keeps at most this many entries, and `User-Property` at most this
/// many pairs; the rest is left out (and logged).
pub const MAX_PROPERTIES: usize = 1024;
/// `SessInfo::subscriptions` keeps at most this many subscriptions; the rest is left
/// out (and logged).
pub const MAX_SUBSCRIPTIONS: usize = 1024;

static TRUNCATED: AtomicU64 = AtomicU64::new(0);

/// Notes that `what` was past its bound and got the fallback (logged the first time,
/// then every 10,000th).
#[cold]
pub fn past_bound(what: &str) {
    let n = TRUNCATED.fetch_add(1, Ordering::Relaxed) + 1;
    if n == 1 || n % 10_000 == 0 {
        tracing::warn!(
            "{what} is past the SDK's bound; using the fallback ({n} such terms so far)"
        );
    }
}

/// The head and tail of a list cell, or `None` for `[]` and non-lists.
#[inline]
pub fn list_cell<'a>(list: Term<'a>) -> Option<(Term<'a>, Term<'a>)> {
    let env = list.get_env();
    let mut head = std::mem::MaybeUninit::<ErlNifTerm>::uninit();
    let mut tail = std::mem::MaybeUninit::<ErlNifTerm>::uninit();
    // SAFETY: reads a cell of a live term; head and tail (set on success) belong to the
    // same environment.
    unsafe {
        (enif_get_list_cell(
            env.as_c_arg(),
            list.as_c_arg(),
            head.as_mut_ptr(),
            tail.as_mut_ptr(),
        ) != 0)
            .then(|| {
                (
                    Term::new(env, head.assume_init()),
                    Term::new(env, tail.assume_init()),
                )
            })
    }
}

/// Whether `term` is an iolist (or a binary) of at most [`IOLIST_MAX_TERMS`] elements
/// nested at most [`IOLIST_MAX_DEPTH`] deep. Walks without recursion.
pub fn iolist_within_bounds(term: Term) -> bool {
    if term.get_type() == TermType::Binary {
        return true;
    }
    let mut budget = IOLIST_MAX_TERMS;
    // (rest of a list, its depth)
    let mut stack: Vec<(Term, usize)> = vec![(term, 1)];
    while let Some((mut list, depth)) = stack.pop() {
        loop {
            match list.get_type() {
                TermType::Binary => break, // an improper tail may be a binary
                TermType::List => {}
                _ => return false,
            }
            let Some((head, tail)) = list_cell(list) else {
                break; // []
            };
            if budget == 0 {
                return false;
            }
            budget -= 1;
            match head.get_type() {
                TermType::Binary => {}
                TermType::Integer => match head.decode::<i64>() {
                    Ok(0..=255) => {}
                    _ => return false,
                },
                TermType::List => {
                    if depth >= IOLIST_MAX_DEPTH {
                        return false;
                    }
                    stack.push((head, depth + 1));
                }
                _ => return false,
            }
            list = tail;
        }
    }
    true
}

/// Whether `term` is a list of at most `max` elements (walks at most `max + 1` cells).
pub fn list_within(term: Term, max: usize) -> bool {
    let mut rest = term;
    for _ in 0..=max {
        match list_cell(rest) {
            Some((_, tail)) => rest = tail,
            None => return true,
        }
    }
    false
}

/// Whether `t` is an immediate term (an atom, a small integer, a local pid or port, `[]`):
/// the primary tag `0b11` of the VM's term layout (`erl_term.h`, the same in every OTP
/// release). Only a shortcut for [`fits`]: nothing is dereferenced on its answer, and a
/// term it does not recognise is classified by `enif_term_type` as before.
#[inline(always)]
fn is_immediate(t: ErlNifTerm) -> bool {
    // SAFETY: `ErlNifTerm` is `#[repr(transparent)]` over `size_t` (a `usize`).
    let word: usize = unsafe { std::mem::transmute::<ErlNifTerm, usize>(t) };
    word & 0b11 == 0b11
}

/// Whether `term` holds at most `budget` terms (every element of a tuple, list or map
/// counts one, and so does every list cell). Walks without recursion, with the raw term
/// API (this runs on the caller's scheduler for every pool and queued call), and stops as
/// soon as the budget is spent, so its cost is bounded by `budget` whatever the term.
pub fn fits(term: Term, budget: usize) -> bool {
    use rustler::sys::{
        enif_get_list_cell, enif_get_tuple, enif_map_iterator_create, enif_map_iterator_destroy,
        enif_map_iterator_get_pair, enif_map_iterator_next, enif_term_type, ErlNifMapIterator,
        ErlNifMapIteratorEntry, ErlNifTermType as T,
    };
    let env = term.get_env().as_c_arg();
    let mut left = budget;
    // Terms still to look at; small calls never leave the inline part.
    let mut inline = [term.as_c_arg(); 32];
    let mut n_inline = 0usize;
    let mut spill: Vec<ErlNifTerm> = Vec::new();
    macro_rules! push {
        ($t:expr) => {{
            let t: ErlNifTerm = $t;
            if n_inline + spill.len() >= left {
                return false;
            }
            if is_immediate(t) {
                // Nothing inside: counted now, without a call into the VM (most map
                // keys and many values are atoms or small integers).
                left -= 1;
            } else if n_inline < inline.len() {
                inline[n_inline] = t;
                n_inline += 1;
            } else {
                spill.push(t);
            }
        }};
    }
    push!(term.as_c_arg());
    // SAFETY: every term read below belongs to `env` (the elements of a live term).
    unsafe {
        loop {
            let t = match spill.pop() {
                Some(t) => t,
                None if n_inline > 0 => {
                    n_inline -= 1;
                    inline[n_inline]
                }
                None => return true,
            };
            if left == 0 {
                return false;
            }
            left -= 1;
            match enif_term_type(env, t) {
                T::ERL_NIF_TERM_TYPE_TUPLE => {
                    let mut arity = 0;
                    let mut elems: *const ErlNifTerm = std::ptr::null();
                    if enif_get_tuple(env, t, &mut arity, &mut elems) != 0 {
                        for i in 0..arity as usize {
                            push!(*elems.add(i));
                        }
                    }
                }
                T::ERL_NIF_TERM_TYPE_LIST => {
                    let (mut rest, mut head, mut tail) = (t, t, t);
                    while enif_get_list_cell(env, rest, &mut head, &mut tail) != 0 {
                        if left == 0 {
                            return false;
                        }
                        left -= 1; // the cell
                        push!(head);
                        rest = tail;
                    }
                    if !matches!(enif_term_type(env, rest), T::ERL_NIF_TERM_TYPE_LIST) {
                        push!(rest); // an improper tail
                    }
                }
                T::ERL_NIF_TERM_TYPE_MAP => {
                    let mut iter = std::mem::MaybeUninit::<ErlNifMapIterator>::uninit();
                    if enif_map_iterator_create(
                        env,
                        t,
                        iter.as_mut_ptr(),
                        ErlNifMapIteratorEntry::ERL_NIF_MAP_ITERATOR_HEAD,
                    ) != 0
                    {
                        let iter = iter.assume_init_mut();
                        let (mut k, mut v) = (t, t);
                        let mut within = true;
                        while enif_map_iterator_get_pair(env, iter, &mut k, &mut v) != 0 {
                            if n_inline + spill.len() + 2 > left {
                                within = false;
                                break;
                            }
                            push!(k);
                            push!(v);
                            enif_map_iterator_next(env, iter);
                        }
                        enif_map_iterator_destroy(env, iter);
                        if !within {
                            return false;
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

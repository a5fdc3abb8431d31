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
        tracing::warn!("{what} is past the SDK's bound; using the fallback ({n} such terms so far)");
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

/// Whether `term` holds at most `budget` terms (every element of a tuple, list or map
/// counts one). Walks without recursion and stops as soon as the budget is spent, so its
/// cost is bounded by `budget` whatever the term.
pub fn fits(term: Term, budget: usize) -> bool {
    let mut left = budget;
    let mut stack: Vec<Term> = vec![term];
    while let Some(t) = stack.pop() {
        if left == 0 {
            return false;
        }
        left -= 1;
        match t.get_type() {
            TermType::Tuple => {
                if let Some(tuple) = super::term::Tuple::of(t) {
                    if stack.len() + tuple.len() > left {
                        return false;
                    }
                    stack.extend((0..tuple.len()).filter_map(|i| tuple.get(i)));
                }
            }
            TermType::List => {
                let mut rest = t;
                while let Some((head, tail)) = list_cell(rest) {
                    if left == 0 || stack.len() + 1 > left {
                        return false;
                    }
                    left -= 1; // the cell
                    stack.push(head);
                    rest = tail;
                }
                if rest.get_type() != TermType::List {
                    stack.push(rest); // an improper tail
                }
            }
            TermType::Map => {
                if let Some(iter) = rustler::MapIterator::new(t) {
                    for (k, v) in iter {
                        // Keys and values count when popped; the stack never holds
                        // more than what is left of the budget.
                        if stack.len() + 2 > left {
                            return false;
                        }
                        stack.push(k);
                        stack.push(v);
                    }
                }
            }
            _ => {}
        }
    }
    true
}

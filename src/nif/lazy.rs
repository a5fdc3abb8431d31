//! Lazy arguments of an `async fn` hook call: its future is first polled over the
//! caller's own terms, and they are copied only when the call goes pending.
//!
//! The rule that makes this sound: nothing handed out during the first poll points into
//! the caller's heap, which the VM may move or free once the NIF returns.
//!
//! - Bytes read during the first poll go through [`stable`]: a binary of at most 64
//!   bytes (a heap binary, which lives on the caller's heap), an unaligned one (which the
//!   VM copies into memory of the call) and a flattened iolist are copied into the
//!   call's arena, memory of the SDK that lives as long as the call. A larger binary
//!   lives off the heap, and the copy made when the call goes pending holds a reference
//!   to it, so its bytes stay where they are.
//! - A view ([`Held`](super::term::Held)) made during the first poll keeps a pointer to
//!   the call's [`Lazy`]. When the call goes pending, [`Lazy::settle`] records where each
//!   term a view may hold lives in the copy, and the view reads the copy from then on.
//!
//! Reads are captured while [`capturing`] runs: the decoders of the call's arguments
//! and the views' accessors turn it on, on whatever thread they run (a scoped thread of
//! the hook's code included).

use parking_lot::Mutex;
use rustler::sys::{ErlNifEnv, ErlNifTerm};
use rustler::{Binary, Env, Term};
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Bytes of the arena kept inside the context itself (most calls need fewer).
const INLINE: usize = 1024;

/// The largest binary the VM keeps on a process heap (`ERL_ONHEAP_BIN_LIMIT`).
const ON_HEAP_MAX: usize = 64;

/// The lazy state of one `async fn` call: its arena, and where its terms live once it
/// has gone pending.
pub struct Lazy {
    used: AtomicUsize,
    inline: UnsafeCell<[u8; INLINE]>,
    more: Mutex<Vec<Box<[u8]>>>,
    settled: OnceLock<Settled>,
}

/// Where the terms views may hold live in the copy of a pending call.
struct Settled {
    env: *mut ErlNifEnv,
    /// (the caller's term, the same term in the copy).
    pairs: Vec<(ErlNifTerm, ErlNifTerm)>,
}

// SAFETY: the arena hands out disjoint ranges (reserved atomically) and never writes a
// range twice; `more` is behind a lock; `settled` is written once, between polls, before
// any thread reads it. The copy's environment is read-only while the future lives.
unsafe impl Sync for Lazy {}
// SAFETY: as above; nothing in `Lazy` is tied to a thread.
unsafe impl Send for Lazy {}
// SAFETY: `Settled` is read only (see `Lazy`).
unsafe impl Send for Settled {}
// SAFETY: see `Send`.
unsafe impl Sync for Settled {}

thread_local! {
    /// The call whose reads this thread captures (see [`capturing`]).
    static CAPTURE: Cell<*const Lazy> = const { Cell::new(std::ptr::null()) };
    /// A context kept for the next call of this thread: most calls are ready at once.
    static SPARE: Cell<Option<Box<Lazy>>> = const { Cell::new(None) };
}

impl Lazy {
    /// A context for a new call (this thread's spare when there is one).
    pub fn take() -> Box<Lazy> {
        SPARE
            .try_with(|s| s.take())
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                Box::new(Lazy {
                    used: AtomicUsize::new(0),
                    inline: UnsafeCell::new([0; INLINE]),
                    more: Mutex::new(Vec::new()),
                    settled: OnceLock::new(),
                })
            })
    }

    /// Gives back the context of a call that is over: its future, and everything that
    /// borrowed from the arena, is gone.
    pub fn give(mut lazy: Box<Lazy>) {
        if lazy.settled.get().is_some() {
            return;
        }
        *lazy.used.get_mut() = 0;
        let more = lazy.more.get_mut();
        if more.len() > 4 {
            *more = Vec::new();
        }
        more.clear();
        let _ = SPARE.try_with(|s| s.set(Some(lazy)));
    }

    /// Copies `bytes` into the arena; the copy lives as long as `self`.
    fn keep(&self, bytes: &[u8]) -> &[u8] {
        let n = bytes.len();
        if n == 0 {
            return &[];
        }
        let start = self.used.fetch_add(n, Ordering::Relaxed);
        if start.checked_add(n).is_some_and(|end| end <= INLINE) {
            // SAFETY: [start, start + n) was reserved by this call alone, inside the
            // buffer, and is never written again while `self` lives.
            unsafe {
                let dst = (self.inline.get() as *mut u8).add(start);
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, n);
                return std::slice::from_raw_parts(dst, n);
            }
        }
        let boxed: Box<[u8]> = bytes.into();
        let ptr: *const [u8] = &*boxed;
        self.more.lock().push(boxed);
        // SAFETY: the box is kept (and never changed) until `self` is reset or dropped.
        unsafe { &*ptr }
    }

    /// Records where the terms `caller` (the call's arguments, and the headers of a
    /// message among them) live in the copy `copy` (same positions), in the
    /// environment `env`. Called once, when the call goes pending, between polls.
    pub fn settle(&self, env: Env<'static>, caller: &[Term], copy: &[Term<'static>]) {
        let mut pairs = Vec::with_capacity(caller.len() + 2);
        for (c, o) in caller.iter().zip(copy) {
            pairs.push((c.as_c_arg(), o.as_c_arg()));
            // A message's headers are viewed on their own (`Message::headers`).
            if let (Some(ch), Some(oh)) = (headers(*c), headers(*o)) {
                pairs.push((ch.as_c_arg(), oh.as_c_arg()));
            }
        }
        let _ = self.settled.set(Settled {
            env: env.as_c_arg(),
            pairs,
        });
    }

    /// True once the call went pending: its views read the copy.
    #[inline]
    pub fn is_settled(&self) -> bool {
        self.settled.get().is_some()
    }

    /// Where the caller's term `raw` lives in the copy, once the call is settled.
    #[inline]
    pub fn resolve(&self, raw: ErlNifTerm) -> Option<(*mut ErlNifEnv, ErlNifTerm)> {
        let s = self.settled.get()?;
        match s.pairs.iter().find(|(c, _)| *c == raw) {
            Some((_, o)) => Some((s.env, *o)),
            // Views are made only of the arguments and of a message's headers, which
            // `settle` records; a panic here is contained and fails the call.
            None => panic!("a view of a term that was not copied for the pending call"),
        }
    }
}

/// The headers of a `#message{}` record.
fn headers(record: Term) -> Option<Term> {
    super::term::Tuple::of(record)
        .filter(|t| t.len() == 9)?
        .get(5)
}

/// Runs `f` with this thread's reads of binaries captured into `lazy`'s arena (none
/// when `lazy` is null or settled).
#[inline]
pub fn capturing<R>(lazy: *const Lazy, f: impl FnOnce() -> R) -> R {
    // SAFETY: a non-null context outlives the views and arguments that carry it.
    if lazy.is_null() || unsafe { &*lazy }.is_settled() {
        return f();
    }
    struct Restore(*const Lazy);
    impl Drop for Restore {
        fn drop(&mut self) {
            CAPTURE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CAPTURE.with(|c| c.replace(lazy)));
    f()
}

/// The call whose reads are being captured on this thread (null when none).
#[inline]
pub fn current() -> *const Lazy {
    CAPTURE.with(|c| c.get())
}

/// `bytes`, the contents of the binary `term`, made safe to keep for the rest of the
/// call when a lazy call's reads are captured (see the module's rule).
#[inline]
pub fn stable<'a>(term: Term<'a>, bytes: &'a [u8]) -> &'a [u8] {
    let lazy = current();
    if lazy.is_null() {
        return bytes;
    }
    // SAFETY: the captured context outlives the call's views (`capturing`).
    let lazy = unsafe { &*lazy };
    if bytes.len() <= ON_HEAP_MAX || !aligned(term, bytes) {
        // SAFETY: the arena lives as long as the views that carry the context ('a).
        return unsafe { extend(lazy.keep(bytes)) };
    }
    bytes
}

/// `bytes`, flattened by the VM into memory of the caller's call, copied into the
/// arena when a lazy call's reads are captured.
#[inline]
pub fn stable_copy(bytes: &[u8]) -> &[u8] {
    let lazy = current();
    if lazy.is_null() {
        return bytes;
    }
    // SAFETY: as in `stable`.
    unsafe { extend((*lazy).keep(bytes)) }
}

/// True when `bytes` are the binary's own (the VM copies an unaligned sub-binary into
/// a new buffer on each inspection, so a second one lands elsewhere).
fn aligned(term: Term, bytes: &[u8]) -> bool {
    term.decode::<Binary>()
        .is_ok_and(|b| b.as_slice().as_ptr() == bytes.as_ptr())
}

/// # Safety
/// The caller guarantees the arena outlives `'b`.
unsafe fn extend<'b>(bytes: &[u8]) -> &'b [u8] {
    std::slice::from_raw_parts(bytes.as_ptr(), bytes.len())
}

//! Fast, allocation-free reads of Erlang terms: map lookups that return `None` instead
//! of building an error, tuples as borrowed slices, and atom names interned as
//! `&'static str` (atoms live as long as the VM, so each name is leaked once).

use super::lazy::Lazy;
use parking_lot::Mutex;
use rustler::sys::{enif_get_map_value, enif_get_tuple, ErlNifEnv, ErlNifTerm};
use rustler::{Atom, Binary, Env, Term, TermType};
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// The value under `key` in `map`; `None` when `map` is not a map or has no such key.
#[inline]
pub fn map_get<'a>(map: Term<'a>, key: Atom) -> Option<Term<'a>> {
    let mut value = std::mem::MaybeUninit::<ErlNifTerm>::uninit();
    // SAFETY: plain read of a term that lives in `map`'s environment.
    let found = unsafe {
        enif_get_map_value(
            map.get_env().as_c_arg(),
            map.as_c_arg(),
            key.as_c_arg(),
            value.as_mut_ptr(),
        )
    };
    // SAFETY: set by a successful lookup; the value belongs to the map's environment.
    (found != 0).then(|| unsafe { Term::new(map.get_env(), value.assume_init()) })
}

/// A term kept by a view. Unlike `rustler::Term`, it is covariant in `'a`, so views of
/// terms with different lifetimes can be kept together (the term lives at least `'a`).
///
/// A view made while a lazy `async fn` call's reads are captured also keeps that call's
/// context (see `lazy`): its reads of bytes are captured, and once the call has gone
/// pending it reads the copy of its term instead of the caller's.
#[derive(Clone, Copy)]
pub struct Held<'a> {
    env: *mut ErlNifEnv,
    term: ErlNifTerm,
    lazy: *const Lazy,
    life: PhantomData<&'a ()>,
}

// SAFETY: as for `rustler::Term` (which rustler declares `Send + Sync`): a held term is
// a handle to immutable data that lives for `'a`. The views that hold it may therefore
// be awaited across threads: an `async fn` hook's arguments are the caller's terms
// during the first poll (which runs within the NIF call, and hands out no bytes of the
// caller's heap; see `lazy`), then a copy in a process-independent environment
// (`OwnedEnv`) that the SDK keeps alive, unchanged, until the hook's future is dropped,
// and reading such terms is allowed from any thread. A view of a caller's process-bound
// term in a sync call cannot leave the NIF call (`'a`) except through a scoped thread of
// the hook itself, which is no more than what rustler's `Term` already allows.
unsafe impl Send for Held<'_> {}
// SAFETY: see `Send` above: reads do not mutate the term.
unsafe impl Sync for Held<'_> {}

impl<'a> Held<'a> {
    /// Keeps `term`, with the lazy call whose reads are captured on this thread, if any.
    #[inline]
    pub fn new(term: Term<'a>) -> Self {
        Held {
            env: term.get_env().as_c_arg(),
            term: term.as_c_arg(),
            lazy: super::lazy::current(),
            life: PhantomData,
        }
    }

    /// Keeps `term`, a part of this view's term, with this view's lazy call (unless it
    /// has gone pending: `term` is then already of the copy).
    #[inline]
    pub fn child(&self, term: Term<'a>) -> Self {
        // SAFETY: a view's lazy context outlives the view.
        let settled = !self.lazy.is_null() && unsafe { &*self.lazy }.is_settled();
        Held {
            env: term.get_env().as_c_arg(),
            term: term.as_c_arg(),
            lazy: if settled { std::ptr::null() } else { self.lazy },
            life: PhantomData,
        }
    }

    /// The term again (once a lazy call has gone pending: the same term in its copy).
    #[inline]
    pub fn get(&self) -> Term<'a> {
        let (mut env, mut term) = (self.env, self.term);
        if !self.lazy.is_null() {
            // SAFETY: a view's lazy context outlives the view.
            if let Some((e, t)) = unsafe { &*self.lazy }.resolve(term) {
                (env, term) = (e, t);
            }
        }
        let marker: &'a () = &();
        // SAFETY: `env` and `term` come from a `Term<'a>`, valid for `'a`, or from the
        // copy of a pending lazy call, which lives as long as the call's views.
        unsafe { Term::new(Env::new(marker, env), term) }
    }

    /// `f` over the term, with reads of bytes captured for a lazy call (use it for every
    /// read that returns borrowed bytes).
    #[inline]
    pub fn read<R>(&self, f: impl FnOnce(Term<'a>) -> R) -> R {
        super::lazy::capturing(self.lazy, || f(self.get()))
    }
}

/// A tuple's elements, borrowed from the term.
#[derive(Clone, Copy)]
pub struct Tuple<'a> {
    held: Held<'a>,
    elems: &'a [ErlNifTerm],
}

impl<'a> Tuple<'a> {
    /// The elements of `term` when it is a tuple.
    #[inline]
    pub fn of(term: Term<'a>) -> Option<Tuple<'a>> {
        let mut arity = 0;
        let mut array: *const ErlNifTerm = std::ptr::null();
        // SAFETY: enif_get_tuple fills `array` with a pointer into the tuple, which lives
        // as long as the term's environment ('a).
        unsafe {
            if enif_get_tuple(
                term.get_env().as_c_arg(),
                term.as_c_arg(),
                &mut arity,
                &mut array,
            ) == 0
            {
                return None;
            }
            let elems = std::slice::from_raw_parts(array, arity as usize);
            Some(Tuple {
                held: Held::new(term),
                elems,
            })
        }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.elems.len()
    }

    /// Element `i`, if there is one.
    #[inline]
    pub fn get(&self, i: usize) -> Option<Term<'a>> {
        // SAFETY: the element belongs to the tuple's environment.
        self.elems
            .get(i)
            .map(|raw| unsafe { Term::new(self.held.get().get_env(), *raw) })
    }

    /// The raw elements (to build a changed copy of the tuple).
    pub fn raw(&self) -> &'a [ErlNifTerm] {
        self.elems
    }
}

/// True when `term` is the atom `atom`.
#[inline]
pub fn is(term: Term, atom: Atom) -> bool {
    atom == term
}

/// A binary's bytes, borrowed.
#[inline]
pub fn binary<'a>(term: Term<'a>) -> Option<&'a [u8]> {
    let bytes = term.decode::<Binary<'a>>().ok()?.as_slice();
    Some(super::lazy::stable(term, bytes))
}

thread_local! {
    /// This thread's atom names: a short list is faster than any shared table.
    static LOCAL_NAMES: RefCell<Vec<(ErlNifTerm, &'static str)>> = const { RefCell::new(Vec::new()) };
}

static NAMES: Mutex<Option<HashMap<ErlNifTerm, &'static str>>> = Mutex::new(None);

/// How many names one thread keeps before going to the shared table.
const LOCAL_NAMES_MAX: usize = 64;

/// The name of an atom, without allocating after the first time (per VM) it is seen.
pub fn atom_name(term: Term) -> Option<&'static str> {
    if term.get_type() != TermType::Atom {
        return None;
    }
    let raw = term.as_c_arg();
    if let Some(name) =
        LOCAL_NAMES.with(|l| l.borrow().iter().find(|(k, _)| *k == raw).map(|(_, n)| *n))
    {
        return Some(name);
    }
    let name = {
        let mut table = NAMES.lock();
        let table = table.get_or_insert_with(HashMap::new);
        match table.get(&raw) {
            Some(n) => *n,
            None => {
                let leaked: &'static str = Box::leak(term.atom_to_string().ok()?.into_boxed_str());
                table.insert(raw, leaked);
                leaked
            }
        }
    };
    LOCAL_NAMES.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() < LOCAL_NAMES_MAX {
            l.push((raw, name));
        }
    });
    Some(name)
}

static MALFORMED: AtomicU64 = AtomicU64::new(0);

/// Notes a field that has the wrong type: the accessor returns its default, and the
/// first such field (then every 10,000th) is logged.
#[cold]
pub fn malformed(what: &'static str, expected: &'static str) {
    let n = MALFORMED.fetch_add(1, Ordering::Relaxed) + 1;
    if n == 1 || n % 10_000 == 0 {
        tracing::warn!(
            "{what}: expected {expected}; using the default ({n} malformed fields so far)"
        );
    }
}

/// Readers of map fields for the typed views: absent and `undefined` are `None`; a value
/// of the wrong type is `None` too, and noted with [`malformed`].
pub mod field {
    use super::*;
    use crate::nif::atoms;
    use crate::types::{ip_from_parts, Bytes};
    use std::net::IpAddr;

    /// The value of `key`, unless absent or `undefined`.
    #[inline]
    pub fn defined<'a>(map: Term<'a>, key: Atom) -> Option<Term<'a>> {
        map_get(map, key).filter(|t| !is(*t, atoms::undefined()))
    }

    /// A binary.
    #[inline]
    pub fn bytes<'a>(map: Held<'a>, key: Atom, what: &'static str) -> Option<Bytes<'a>> {
        map.read(|map| {
            let t = defined(map, key)?;
            binary(t).map(Bytes).or_else(|| {
                malformed(what, "a binary");
                None
            })
        })
    }

    /// An integer that fits `T`.
    #[inline]
    pub fn int<T: TryFrom<i64>>(map: Term, key: Atom, what: &'static str) -> Option<T> {
        let t = defined(map, key)?;
        t.decode::<i64>()
            .ok()
            .and_then(|i| T::try_from(i).ok())
            .or_else(|| {
                malformed(what, "an integer in range");
                None
            })
    }

    /// `true` or `false`.
    #[inline]
    pub fn boolean(map: Term, key: Atom, what: &'static str) -> Option<bool> {
        let t = defined(map, key)?;
        if is(t, atoms::true_()) {
            Some(true)
        } else if is(t, atoms::false_()) {
            Some(false)
        } else {
            malformed(what, "a boolean");
            None
        }
    }

    /// An atom's name.
    #[inline]
    pub fn atom(map: Term, key: Atom, what: &'static str) -> Option<&'static str> {
        let t = defined(map, key)?;
        atom_name(t).or_else(|| {
            malformed(what, "an atom");
            None
        })
    }

    /// A properties map (`None` when absent, `undefined` or malformed).
    pub fn properties<'a>(
        map: Held<'a>,
        key: Atom,
        what: &'static str,
    ) -> Option<crate::types::Properties<'a>> {
        map.read(|map| {
            let t = defined(map, key)?;
            crate::nif::decode::properties(t, what)
                .map_err(|e| malformed(e.what, e.expected))
                .ok()
        })
    }

    /// An `inet:ip_address()` tuple (IPv4-mapped IPv6 normalised); `None` for anything
    /// else (4.3+ may report non-IP peers, which is not an error).
    pub fn ip(term: Term) -> Option<IpAddr> {
        let t = Tuple::of(term)?;
        let mut parts = [0u64; 8];
        for (i, p) in parts.iter_mut().enumerate().take(t.len().min(8)) {
            *p = t.get(i)?.decode::<u64>().ok()?;
        }
        ip_from_parts(&parts[..t.len().min(8)])
    }
}

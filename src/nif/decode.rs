//! Erlang terms to the SDK's eagerly decoded values: properties, subscription options,
//! topic-filter lists, session info, reasons and the small accumulators. (ClientInfo,
//! ConnInfo and Message are views that read their fields on demand: `crate::types`.)
//! Lenient where EMQX versions and gateways differ (missing keys become `None` or a
//! default), strict where a wrong shape means the term is not what the contract says
//! (a clear [`DecodeError`]).

use super::atoms;
use super::bounds;
use super::term::{self, atom_name, field, map_get, Tuple};
use crate::types::*;
use rustler::{Atom, Term, TermType};

/// A term that does not have the shape the contract gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {expected}")]
pub struct DecodeError {
    /// The place, e.g. `clientinfo.peerhost`.
    pub what: &'static str,
    /// The shape that was expected.
    pub expected: &'static str,
}

type R<T> = Result<T, DecodeError>;

fn err<T>(what: &'static str, expected: &'static str) -> R<T> {
    Err(DecodeError { what, expected })
}

/// A binary (borrowed).
pub fn bytes<'a>(term: Term<'a>, what: &'static str) -> R<Bytes<'a>> {
    term::binary(term).map(Bytes).ok_or(DecodeError {
        what,
        expected: "a binary",
    })
}

/// A UTF-8 binary (topics).
pub fn text<'a>(term: Term<'a>, what: &'static str) -> R<&'a str> {
    let b = bytes(term, what)?;
    std::str::from_utf8(b.0).or_else(|_| err(what, "a UTF-8 binary"))
}

/// An atom's name.
pub fn atom_text(term: Term, what: &'static str) -> R<&'static str> {
    atom_name(term).ok_or(DecodeError {
        what,
        expected: "an atom",
    })
}

/// Checks that `term` is a map.
pub fn ensure_map(term: Term, what: &'static str) -> R<()> {
    if term.get_type() == TermType::Map {
        Ok(())
    } else {
        err(what, "a map")
    }
}

/// An MQTT 5 properties map (`undefined` is empty). At most
/// [`MAX_PROPERTIES`](bounds::MAX_PROPERTIES) entries and `User-Property` pairs are
/// kept; the rest is left out and logged.
pub fn properties<'a>(term: Term<'a>, what: &'static str) -> R<Properties<'a>> {
    let mut props = Properties::new();
    if term::is(term, atoms::undefined()) {
        return Ok(props);
    }
    ensure_map(term, what)?;
    let iter = rustler::MapIterator::new(term).ok_or(DecodeError {
        what,
        expected: "a map",
    })?;
    for (i, (k, v)) in iter.enumerate() {
        if i == bounds::MAX_PROPERTIES {
            bounds::past_bound(what);
            break;
        }
        let name = atom_text(k, what)?;
        let key = match PropName::from_name(name) {
            Some(n) => PropKey::Known(n),
            None => PropKey::Unknown(name.to_string()),
        };
        props.push(key, prop_value(v));
    }
    Ok(props)
}

fn prop_value<'a>(v: Term<'a>) -> PropValue<'a> {
    if let Ok(i) = v.decode::<i64>() {
        return PropValue::Int(i);
    }
    if let Some(b) = term::binary(v) {
        return PropValue::Bin(Bytes(b));
    }
    if v.get_type() == TermType::List {
        let pair = |p: Term<'a>| {
            let kv = Tuple::of(p).filter(|t| t.len() == 2)?;
            Some((
                Bytes(term::binary(kv.get(0)?)?),
                Bytes(term::binary(kv.get(1)?)?),
            ))
        };
        let mut pairs = Vec::new();
        let mut rest = v;
        while let Some((head, tail)) = bounds::list_cell(rest) {
            if pairs.len() == bounds::MAX_PROPERTIES {
                bounds::past_bound("User-Property");
                return PropValue::Pairs(pairs);
            }
            match pair(head) {
                Some(p) => pairs.push(p),
                None => return PropValue::Other,
            }
            rest = tail;
        }
        return PropValue::Pairs(pairs);
    }
    PropValue::Other
}

fn opt_properties<'a>(map: Term<'a>, key: Atom, what: &'static str) -> R<Option<Properties<'a>>> {
    field::defined(map, key)
        .map(|t| properties(t, what))
        .transpose()
}

/// The client id of a clientinfo map as log lines show it ([`crate::logsafe::clientid`]:
/// quoted, escaped, at most 64 characters; `""` when absent).
pub fn clientid_for_log(term: Term) -> String {
    crate::logsafe::clientid(
        map_get(term, atoms::clientid())
            .and_then(term::binary)
            .unwrap_or_default(),
    )
}

fn opt_int<T: TryFrom<i64>>(map: Term, key: Atom, what: &'static str) -> R<Option<T>> {
    match field::defined(map, key) {
        None => Ok(None),
        Some(t) => t
            .decode::<i64>()
            .ok()
            .and_then(|i| T::try_from(i).ok())
            .map(Some)
            .ok_or(DecodeError {
                what,
                expected: "an integer in range",
            }),
    }
}

/// `subopts()`.
pub fn subopts<'a>(term: Term<'a>) -> R<SubOpts<'a>> {
    ensure_map(term, "subopts")?;
    let qos = match opt_int::<u8>(term, atoms::qos(), "subopts.qos")? {
        Some(q) => Some(QoS::from_u8(q).ok_or(DecodeError {
            what: "subopts.qos",
            expected: "0, 1 or 2",
        })?),
        None => None,
    };
    Ok(SubOpts {
        qos,
        rh: opt_int(term, atoms::rh(), "subopts.rh")?,
        rap: opt_int(term, atoms::rap(), "subopts.rap")?,
        nl: opt_int(term, atoms::nl(), "subopts.nl")?,
        share: field::defined(term, atoms::share())
            .map(|t| bytes(t, "subopts.share").map(|b| b.to_string_lossy().into_owned()))
            .transpose()?,
        subid: opt_int(term, atoms::subid(), "subopts.subid")?,
        is_new: match field::defined(term, atoms::is_new()) {
            Some(t) => Some(
                t.decode::<bool>()
                    .or_else(|_| err("subopts.is_new", "a boolean"))?,
            ),
            None => None,
        },
        sub_props: opt_properties(term, atoms::sub_props(), "subopts.sub_props")?,
        unsub_props: opt_properties(term, atoms::unsub_props(), "subopts.unsub_props")?,
    })
}

/// A topic-filter list `[{Filter, SubOpts}]` of at most
/// [`MAX_FILTERS`](bounds::MAX_FILTERS) filters (a longer list is an error: a hook must
/// not decide on part of a list).
pub fn topic_filters<'a>(term: Term<'a>) -> R<Vec<TopicFilter<'a>>> {
    if term.get_type() != TermType::List {
        return err("topic_filters", "a list");
    }
    let mut list = Vec::new();
    let mut rest = term;
    while let Some((head, tail)) = bounds::list_cell(rest) {
        if list.len() == bounds::MAX_FILTERS {
            return err(
                "topic_filters",
                "at most 1024 filters (the SDK's bound on one call)",
            );
        }
        list.push(head);
        rest = tail;
    }
    if !rest.is_empty_list() {
        return err("topic_filters", "a proper list");
    }
    list.into_iter()
        .map(|el| match Tuple::of(el).filter(|t| t.len() == 2) {
            Some(t) => Ok(TopicFilter {
                topic: text(t.get(0).expect("2-tuple"), "topic_filters[].topic")?,
                opts: subopts(t.get(1).expect("2-tuple"))?,
            }),
            None => err("topic_filters[]", "a {binary(), map()} tuple"),
        })
        .collect()
}

/// `sessinfo()`.
pub fn sessinfo<'a>(term: Term<'a>) -> R<SessInfo<'a>> {
    ensure_map(term, "sessinfo")?;
    let mut subscriptions = Vec::new();
    if let Some(subs) = field::defined(term, atoms::subscriptions()) {
        let iter = rustler::MapIterator::new(subs).ok_or(DecodeError {
            what: "sessinfo.subscriptions",
            expected: "a map",
        })?;
        for (i, (k, v)) in iter.enumerate() {
            if i == bounds::MAX_SUBSCRIPTIONS {
                bounds::past_bound("sessinfo.subscriptions");
                break;
            }
            subscriptions.push(TopicFilter {
                topic: text(k, "sessinfo.subscriptions key")?,
                opts: subopts(v)?,
            });
        }
    }
    Ok(SessInfo {
        subscriptions,
        upgrade_qos: field::defined(term, atoms::upgrade_qos())
            .is_some_and(|t| term::is(t, atoms::true_())),
        retry_interval: opt_int(term, atoms::retry_interval(), "sessinfo.retry_interval")?,
        await_rel_timeout: opt_int(
            term,
            atoms::await_rel_timeout(),
            "sessinfo.await_rel_timeout",
        )?,
        created_at: opt_int(term, atoms::created_at(), "sessinfo.created_at")?,
    })
}

/// Any reason term, structurally, within the bounds of `bounds` (depth
/// [`REASON_MAX_DEPTH`](super::bounds::REASON_MAX_DEPTH), terms
/// [`REASON_MAX_TERMS`](super::bounds::REASON_MAX_TERMS), bytes per binary or text
/// [`REASON_MAX_BYTES`](super::bounds::REASON_MAX_BYTES)): what lies past them becomes
/// [`Reason::Truncated`] (binaries keep their first bytes), and the truncation is logged.
/// Runs on any thread: the recursion is at most `REASON_MAX_DEPTH` deep.
pub fn reason(term: Term) -> Reason {
    let mut walk = ReasonWalk {
        budget: bounds::REASON_MAX_TERMS,
        truncated: false,
    };
    let r = walk.reason(term, 0);
    if walk.truncated {
        bounds::past_bound("a reason term");
    }
    r
}

struct ReasonWalk {
    budget: usize,
    truncated: bool,
}

impl ReasonWalk {
    fn take(&mut self, depth: usize) -> bool {
        if depth >= bounds::REASON_MAX_DEPTH || self.budget == 0 {
            self.truncated = true;
            return false;
        }
        self.budget -= 1;
        true
    }

    fn reason(&mut self, term: Term, depth: usize) -> Reason {
        if !self.take(depth) {
            return Reason::Truncated;
        }
        match term.get_type() {
            TermType::Atom => Reason::Atom(atom_name(term).unwrap_or_default().to_string()),
            TermType::Integer => term
                .decode::<i64>()
                .map_or_else(|_| Reason::Other("<big integer>".into()), Reason::Int),
            TermType::Binary => {
                let b = term::binary(term).unwrap_or_default();
                if b.len() > bounds::REASON_MAX_BYTES {
                    self.truncated = true;
                }
                Reason::Binary(b[..b.len().min(bounds::REASON_MAX_BYTES)].to_vec())
            }
            TermType::Tuple => match Tuple::of(term) {
                Some(t) => Reason::Tuple(self.items((0..t.len()).filter_map(|i| t.get(i)), depth)),
                None => Reason::Other("<tuple>".into()),
            },
            TermType::List => {
                let mut cells = Vec::new();
                let mut rest = term;
                while let Some((head, tail)) = bounds::list_cell(rest) {
                    cells.push(head);
                    if cells.len() > self.budget {
                        break; // the items below stop at the budget anyway
                    }
                    rest = tail;
                }
                Reason::List(self.items(cells.into_iter(), depth))
            }
            _ => {
                let mut text = String::new();
                self.render(term, depth, &mut text);
                Reason::Other(text)
            }
        }
    }

    /// The items of a tuple or list; a [`Reason::Truncated`] stands for the rest once
    /// the budget is spent.
    fn items<'a>(&mut self, terms: impl Iterator<Item = Term<'a>>, depth: usize) -> Vec<Reason> {
        let mut out = Vec::new();
        for t in terms {
            if self.budget == 0 {
                self.truncated = true;
                out.push(Reason::Truncated);
                break;
            }
            out.push(self.reason(t, depth + 1));
        }
        out
    }

    /// Erlang-like text for maps, floats, pids and the like, within the same bounds
    /// (and at most `REASON_MAX_BYTES` bytes).
    fn render(&mut self, term: Term, depth: usize, out: &mut String) {
        use std::fmt::Write as _;
        if out.len() >= bounds::REASON_MAX_BYTES {
            self.truncated = true;
            return;
        }
        match term.get_type() {
            TermType::Map => {
                out.push_str("#{");
                if let Some(iter) = rustler::MapIterator::new(term) {
                    for (i, (k, v)) in iter.enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        if out.len() >= bounds::REASON_MAX_BYTES || !self.take(depth + 1) {
                            self.truncated = true;
                            out.push_str("...");
                            break;
                        }
                        let _ = write!(
                            out,
                            "{} => {}",
                            self.reason(k, depth + 1),
                            self.reason(v, depth + 1)
                        );
                    }
                }
                out.push('}');
            }
            TermType::Float => {
                let _ = write!(out, "{}", term.decode::<f64>().unwrap_or(f64::NAN));
            }
            TermType::Pid => out.push_str("#Pid"),
            TermType::Port => out.push_str("#Port"),
            TermType::Ref => out.push_str("#Ref"),
            TermType::Fun => out.push_str("#Fun"),
            _ => {
                let _ = write!(out, "{}", self.reason(term, depth + 1));
            }
        }
        if out.len() > bounds::REASON_MAX_BYTES {
            let mut cut = bounds::REASON_MAX_BYTES;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str("...");
            self.truncated = true;
        }
    }
}

/// `publish` | `subscribe`.
pub fn pubsub(term: Term) -> R<PubSub> {
    if term::is(term, atoms::publish()) {
        Ok(PubSub::Publish)
    } else if term::is(term, atoms::subscribe()) {
        Ok(PubSub::Subscribe)
    } else {
        err("pubsub", "publish or subscribe")
    }
}

/// The ACL accumulator: `allow`, anything else is deny (contract 2.8).
pub fn acl_result(term: Term) -> AclResult {
    if term::is(term, atoms::allow()) {
        AclResult::Allow
    } else {
        AclResult::Deny
    }
}

/// The authentication accumulator.
pub fn auth_result(term: Term) -> R<AuthResult> {
    ensure_map(term, "auth result")?;
    Ok(AuthResult {
        auth_result: field::atom(term, atoms::auth_result(), "auth_result")
            .map(ConnackReason::from_atom),
        anonymous: field::boolean(term, atoms::anonymous(), "anonymous"),
        is_superuser: field::boolean(term, atoms::is_superuser(), "is_superuser"),
    })
}

/// `#{node => node()}` of `message.dropped`.
pub fn node(term: Term) -> &'static str {
    map_get(term, atoms::node())
        .and_then(atom_name)
        .unwrap_or("")
}

//! Erlang terms to the SDK's eagerly decoded values: properties, subscription options,
//! topic-filter lists, session info, reasons and the small accumulators. (ClientInfo,
//! ConnInfo and Message are views that read their fields on demand: `crate::types`.)
//! Lenient where EMQX versions and gateways differ (missing keys become `None` or a
//! default), strict where a wrong shape means the term is not what the contract says
//! (a clear [`DecodeError`]).

use super::atoms;
use super::term::{self, atom_name, field, map_get, Tuple};
use crate::types::*;
use rustler::{Atom, Binary, Term, TermType};

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

/// An MQTT 5 properties map (`undefined` is empty).
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
    for (k, v) in iter {
        let name = atom_text(k, what)?;
        let key = match PropName::from_name(name) {
            Some(n) => PropKey::Known(n),
            None => PropKey::Unknown(name.to_string()),
        };
        props.push(key, prop_value(v));
    }
    Ok(props)
}

fn prop_value(v: Term) -> PropValue {
    if let Ok(i) = v.decode::<i64>() {
        return PropValue::Int(i);
    }
    if let Some(b) = term::binary(v) {
        return PropValue::Bin(Bytes(b));
    }
    if let Ok(list) = v.decode::<Vec<Term>>() {
        let pairs: Option<Vec<_>> = list
            .into_iter()
            .map(|p| {
                let kv = Tuple::of(p).filter(|t| t.len() == 2)?;
                Some((
                    Bytes(term::binary(kv.get(0)?)?),
                    Bytes(term::binary(kv.get(1)?)?),
                ))
            })
            .collect();
        if let Some(pairs) = pairs {
            return PropValue::Pairs(pairs);
        }
    }
    PropValue::Other
}

fn opt_properties<'a>(map: Term<'a>, key: Atom, what: &'static str) -> R<Option<Properties<'a>>> {
    field::defined(map, key)
        .map(|t| properties(t, what))
        .transpose()
}

/// The client id of a clientinfo map, for log lines (empty when absent).
pub fn clientid_for_log(term: Term) -> String {
    map_get(term, atoms::clientid())
        .and_then(term::binary)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
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

/// A topic-filter list `[{Filter, SubOpts}]`.
pub fn topic_filters<'a>(term: Term<'a>) -> R<Vec<TopicFilter<'a>>> {
    let list: Vec<Term<'a>> = term.decode().or_else(|_| err("topic_filters", "a list"))?;
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
        for (k, v) in iter {
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

/// Any reason term, structurally.
pub fn reason(term: Term) -> Reason {
    match term.get_type() {
        TermType::Atom => Reason::Atom(term.atom_to_string().unwrap_or_default()),
        TermType::Integer => term
            .decode::<i64>()
            .map_or_else(|_| Reason::Other(format!("{term:?}")), Reason::Int),
        TermType::Binary => Reason::Binary(
            term.decode::<Binary>()
                .map(|b| b.as_slice().to_vec())
                .unwrap_or_default(),
        ),
        TermType::Tuple => match Tuple::of(term) {
            Some(t) => Reason::Tuple((0..t.len()).filter_map(|i| t.get(i)).map(reason).collect()),
            None => Reason::Other(format!("{term:?}")),
        },
        TermType::List => match term.decode::<Vec<Term>>() {
            Ok(items) => Reason::List(items.into_iter().map(reason).collect()),
            Err(_) => Reason::Other(format!("{term:?}")),
        },
        _ => Reason::Other(format!("{term:?}")),
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

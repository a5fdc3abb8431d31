//! Decisions to the terms EMQX expects (`ok`, `{ok, Acc}`, `{stop, Acc}`). Every
//! returned accumulator is built from the original term (only what changed is changed)
//! and has the exact shape the hook needs, so EMQX never gets a wrong-shaped value.

use super::atoms;
use super::bounds::list_cell;
use super::term::{map_get, Tuple};
use crate::decision::*;
use crate::topic::{validate_filter, validate_name};
use crate::types::NewProperty;
use rustler::{Atom, Encoder, Env, NewBinary, Term};

/// A decision that cannot be turned into a valid accumulator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid decision: {0}")]
pub struct EncodeError(pub String);

type R<'a> = Result<Term<'a>, EncodeError>;

fn bad<T>(msg: impl Into<String>) -> Result<T, EncodeError> {
    Err(EncodeError(msg.into()))
}

fn ok(env: Env) -> Term {
    atoms::ok().encode(env)
}

fn tagged<'a>(env: Env<'a>, tag: Atom, acc: Term<'a>) -> Term<'a> {
    (tag, acc).encode(env)
}

fn binary<'a>(env: Env<'a>, data: &[u8]) -> Term<'a> {
    let mut b = NewBinary::new(env, data.len());
    b.as_mut_slice().copy_from_slice(data);
    b.into()
}

fn put<'a>(map: Term<'a>, key: impl Encoder, value: impl Encoder) -> R<'a> {
    map.map_put(key, value)
        .or_else(|_| bad("accumulator is not a map"))
}

fn atom_named(env: Env, name: &str) -> Atom {
    // Names come from the SDK's own enums, never from client data.
    Atom::from_str(env, name).expect("static atom name")
}

/// `client.authenticate` (contract 2.7, 3.6).
pub fn auth<'a>(env: Env<'a>, decision: AuthDecision, acc: Term<'a>) -> R<'a> {
    let (result, superuser) = match decision {
        AuthDecision::Abstain => return Ok(ok(env)),
        AuthDecision::Allow => (atoms::success(), false),
        AuthDecision::AllowSuperuser => (atoms::success(), true),
        AuthDecision::Deny(reason) => (atom_named(env, reason.as_atom()), false),
    };
    if acc.get_type() != rustler::TermType::Map {
        return bad("accumulator is not a map");
    }
    let mut map = set(env, acc, atoms::auth_result(), result)?;
    map = set(env, map, atoms::anonymous(), atoms::false_())?;
    if superuser {
        map = set(env, map, atoms::is_superuser(), atoms::true_())?;
    }
    Ok(tagged(env, atoms::stop(), map))
}

/// `map` with `key => value`; the same map when it already holds that value (the
/// accumulator is copied only when something changes).
fn set<'a>(env: Env<'a>, map: Term<'a>, key: Atom, value: Atom) -> R<'a> {
    match map_get(map, key) {
        Some(v) if value == v => Ok(map),
        _ => put(map, key, value.to_term(env)),
    }
}

/// `client.check_acl` (contract 3.7).
pub fn acl(env: Env, decision: AclDecision) -> Term {
    match decision {
        AclDecision::Abstain => ok(env),
        AclDecision::Allow => (atoms::stop(), atoms::allow()).encode(env),
        AclDecision::Deny => (atoms::stop(), atoms::deny()).encode(env),
    }
}

/// Puts properties into a properties map (known names only, kinds checked).
pub fn put_properties<'a>(env: Env<'a>, map: Term<'a>, props: &[NewProperty]) -> R<'a> {
    let mut map = if map.get_type() == rustler::TermType::Map {
        map
    } else {
        Term::map_new(env)
    };
    for p in props {
        p.validate().map_err(EncodeError)?;
        let key = atom_named(env, p.name().as_str());
        let value = match p {
            NewProperty::Int(_, i) => i.encode(env),
            NewProperty::Bin(_, b) => binary(env, b),
            NewProperty::UserProperties(pairs) => pairs
                .iter()
                .map(|(k, v)| (binary(env, k), binary(env, v)))
                .collect::<Vec<_>>()
                .encode(env),
        };
        map = put(map, key, value)?;
    }
    Ok(map)
}

/// The nine elements of a `#message{}` record, to build a changed copy.
fn message_fields<'a>(env: Env<'a>, msg: Term<'a>) -> Result<Vec<Term<'a>>, EncodeError> {
    match Tuple::of(msg) {
        Some(t) if t.len() == 9 => Ok(t
            .raw()
            .iter()
            .map(|raw| unsafe { Term::new(env, *raw) })
            .collect()),
        _ => bad("not a #message{} record"),
    }
}

/// A message record with `change` applied.
pub fn changed_message<'a>(env: Env<'a>, msg: Term<'a>, change: &MessageChange) -> R<'a> {
    let mut f = message_fields(env, msg)?;
    if let Some(topic) = &change.topic {
        // What EMQX 4.2 accepts as a topic name (emqx_topic:validate(name, _)).
        validate_name(topic).map_err(|e| {
            let shown: String = topic.chars().take(64).collect();
            EncodeError(format!("topic {shown:?}: {e}"))
        })?;
        f[6] = binary(env, topic.as_bytes());
    }
    if let Some(payload) = &change.payload {
        f[7] = binary(env, payload);
    }
    if let Some(qos) = change.qos {
        f[2] = qos.as_u8().encode(env);
    }
    if let Some(retain) = change.retain {
        f[4] = put(f[4], atoms::retain(), retain)?;
    }
    if !change.properties.is_empty() {
        let old = f[5]
            .map_get(atoms::properties())
            .unwrap_or_else(|_| Term::map_new(env));
        let props = put_properties(env, old, &change.properties)?;
        f[5] = put(f[5], atoms::properties(), props)?;
    }
    Ok(rustler::types::tuple::make_tuple(env, &f))
}

/// `message.publish` (contract 3.16).
pub fn publish<'a>(env: Env<'a>, decision: &PublishDecision, msg: Term<'a>) -> R<'a> {
    match decision {
        PublishDecision::Abstain => Ok(ok(env)),
        PublishDecision::Change(change) if change.is_empty() => Ok(ok(env)),
        PublishDecision::Change(change) => {
            Ok(tagged(env, atoms::ok(), changed_message(env, msg, change)?))
        }
        PublishDecision::Deny => {
            let mut f = message_fields(env, msg)?;
            f[5] = put(f[5], atoms::allow_publish(), false)?;
            Ok(tagged(
                env,
                atoms::stop(),
                rustler::types::tuple::make_tuple(env, &f),
            ))
        }
    }
}

/// `message.delivered` (contract 3.17).
pub fn delivered<'a>(env: Env<'a>, decision: &DeliverDecision, msg: Term<'a>) -> R<'a> {
    match decision {
        DeliverDecision::Abstain => Ok(ok(env)),
        DeliverDecision::Change(change) if change.is_empty() => Ok(ok(env)),
        DeliverDecision::Change(change) => {
            Ok(tagged(env, atoms::ok(), changed_message(env, msg, change)?))
        }
    }
}

/// `client.subscribe` / `client.unsubscribe` (contract 3.8, 3.9). Every element is
/// `{binary(), map()}`; for subscribe the map keeps its `qos`.
pub fn filters<'a>(
    env: Env<'a>,
    decision: &FilterDecision,
    list: Term<'a>,
    subscribe: bool,
) -> R<'a> {
    let changes = match decision {
        FilterDecision::Abstain => return Ok(ok(env)),
        FilterDecision::Change(changes) => changes,
    };
    // Walked cell by cell: rustler's list decoder panics on an improper list.
    let mut original: Vec<Term<'a>> = Vec::new();
    let mut rest = list;
    while let Some((head, tail)) = list_cell(rest) {
        original.push(head);
        rest = tail;
    }
    if !rest.is_empty_list() {
        return bad("topic filters are not a proper list");
    }
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        let Some(el) = original.get(c.from) else {
            return bad(format!(
                "filter index {} out of range (the list has {})",
                c.from,
                original.len()
            ));
        };
        let Some((topic, opts)) = Tuple::of(*el)
            .filter(|t| t.len() == 2)
            .and_then(|t| Some((t.get(0)?, t.get(1)?)))
        else {
            return bad("topic filter element is not a 2-tuple");
        };
        let topic = match &c.topic {
            Some(t) => {
                validate_filter(t).map_err(|e| EncodeError(format!("filter {t:?}: {e}")))?;
                binary(env, t.as_bytes())
            }
            None => topic,
        };
        let opts = match c.qos {
            Some(_) if !subscribe => return bad("an unsubscribe filter has no QoS"),
            Some(q) => put(opts, atoms::qos(), q.as_u8())?,
            None => opts,
        };
        let qos_ok = map_get(opts, atoms::qos())
            .and_then(|q| q.decode::<u8>().ok())
            .is_some_and(|q| q <= 2);
        if subscribe && !qos_ok {
            return bad("a subscribe filter needs a qos of 0, 1 or 2");
        }
        out.push((topic, opts).encode(env));
    }
    Ok(tagged(env, atoms::ok(), out.encode(env)))
}

/// `client.connect` (contract 3.2).
pub fn connect<'a>(env: Env<'a>, decision: &ConnectDecision, props: Term<'a>) -> R<'a> {
    match decision {
        ConnectDecision::Abstain => Ok(ok(env)),
        ConnectDecision::Change(p) => Ok(tagged(env, atoms::ok(), put_properties(env, props, p)?)),
        ConnectDecision::Deny(reason) => {
            Ok((atoms::stop(), (atoms::error(), i64::from(reason.code()))).encode(env))
        }
    }
}

/// `client.connack` (contract 3.3).
pub fn connack<'a>(env: Env<'a>, decision: &ConnackDecision, props: Term<'a>) -> R<'a> {
    match decision {
        ConnackDecision::Abstain => Ok(ok(env)),
        ConnackDecision::Change(p) => Ok(tagged(env, atoms::ok(), put_properties(env, props, p)?)),
    }
}

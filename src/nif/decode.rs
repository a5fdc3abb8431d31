//! Erlang terms to the SDK's typed values (`crate::types`). Lenient where EMQX versions
//! and gateways differ (missing keys become `None` or a default), strict where a wrong
//! shape means the term is not what the contract says (a clear [`DecodeError`]).

use super::atoms;
use crate::types::*;
use rustler::{Atom, Binary, Term, TermType};
use std::net::IpAddr;

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

/// The elements of a tuple, borrowed from the term.
pub fn tuple<'a>(term: Term<'a>) -> Option<Vec<Term<'a>>> {
    rustler::types::tuple::get_tuple(term).ok()
}

fn is_undefined(term: Term) -> bool {
    atoms::undefined() == term
}

fn get<'a>(map: Term<'a>, key: Atom) -> Option<Term<'a>> {
    map.map_get(key).ok()
}

/// A map value that may be absent or `undefined`.
fn get_defined<'a>(map: Term<'a>, key: Atom) -> Option<Term<'a>> {
    get(map, key).filter(|t| !is_undefined(*t))
}

/// A binary (borrowed).
pub fn bytes<'a>(term: Term<'a>, what: &'static str) -> R<Bytes<'a>> {
    match term.decode::<Binary<'a>>() {
        Ok(b) => Ok(Bytes(b.as_slice())),
        Err(_) => err(what, "a binary"),
    }
}

/// A binary that may be `undefined`.
fn opt_bytes<'a>(map: Term<'a>, key: Atom, what: &'static str) -> R<Option<Bytes<'a>>> {
    get_defined(map, key).map(|t| bytes(t, what)).transpose()
}

/// A UTF-8 binary (topics).
pub fn text<'a>(term: Term<'a>, what: &'static str) -> R<&'a str> {
    let b = bytes(term, what)?;
    std::str::from_utf8(b.0).or_else(|_| err(what, "a UTF-8 binary"))
}

/// An atom's name.
pub fn atom_text(term: Term, what: &'static str) -> R<String> {
    match term.atom_to_string() {
        Ok(s) => Ok(s),
        Err(_) => err(what, "an atom"),
    }
}

fn opt_atom_text(map: Term, key: Atom, what: &'static str) -> R<Option<String>> {
    get_defined(map, key)
        .map(|t| atom_text(t, what))
        .transpose()
}

fn int<T: TryFrom<i64>>(term: Term, what: &'static str) -> R<T> {
    term.decode::<i64>()
        .ok()
        .and_then(|i| T::try_from(i).ok())
        .map_or_else(|| err(what, "an integer in range"), Ok)
}

fn opt_int<T: TryFrom<i64>>(map: Term, key: Atom, what: &'static str) -> R<Option<T>> {
    get_defined(map, key).map(|t| int(t, what)).transpose()
}

fn boolean(term: Term, what: &'static str) -> R<bool> {
    term.decode::<bool>().or_else(|_| err(what, "a boolean"))
}

fn opt_bool(map: Term, key: Atom, what: &'static str) -> R<Option<bool>> {
    get_defined(map, key).map(|t| boolean(t, what)).transpose()
}

/// An `inet:ip_address()` tuple; `None` for anything else (4.3+ may report non-IP peers).
pub fn ip(term: Term) -> Option<IpAddr> {
    let parts = tuple(term)?;
    let mut nums = [0u64; 8];
    for (n, p) in nums.iter_mut().zip(&parts) {
        *n = p.decode::<u64>().ok()?;
    }
    ip_from_parts(&nums[..parts.len().min(8)])
}

fn peer(term: Option<Term>) -> Option<std::net::SocketAddr> {
    let parts = tuple(term?)?;
    match parts.as_slice() {
        [host, port] => socket_addr(ip(*host), port.decode::<u16>().ok()),
        _ => None,
    }
}

fn ensure_map(term: Term, what: &'static str) -> R<()> {
    if term.get_type() == TermType::Map {
        Ok(())
    } else {
        err(what, "a map")
    }
}

/// An MQTT 5 properties map.
pub fn properties<'a>(term: Term<'a>, what: &'static str) -> R<Properties<'a>> {
    if is_undefined(term) {
        return Ok(Properties::new());
    }
    ensure_map(term, what)?;
    let mut props = Properties::new();
    let iter = rustler::MapIterator::new(term).ok_or(DecodeError {
        what,
        expected: "a map",
    })?;
    for (k, v) in iter {
        let name = atom_text(k, what)?;
        let key = match PropName::from_name(&name) {
            Some(n) => PropKey::Known(n),
            None => PropKey::Unknown(name),
        };
        props.push(key, prop_value(v));
    }
    Ok(props)
}

fn prop_value(v: Term) -> PropValue {
    if let Ok(i) = v.decode::<i64>() {
        return PropValue::Int(i);
    }
    if let Ok(b) = v.decode::<Binary>() {
        return PropValue::Bin(Bytes(b.as_slice()));
    }
    if let Ok(list) = v.decode::<Vec<Term>>() {
        let pairs: Option<Vec<_>> = list
            .into_iter()
            .map(|p| {
                let kv = tuple(p)?;
                match kv.as_slice() {
                    [k, v] => Some((
                        Bytes(k.decode::<Binary>().ok()?.as_slice()),
                        Bytes(v.decode::<Binary>().ok()?.as_slice()),
                    )),
                    _ => None,
                }
            })
            .collect();
        if let Some(pairs) = pairs {
            return PropValue::Pairs(pairs);
        }
    }
    PropValue::Other
}

fn opt_properties<'a>(map: Term<'a>, key: Atom, what: &'static str) -> R<Option<Properties<'a>>> {
    get_defined(map, key)
        .map(|t| properties(t, what))
        .transpose()
}

/// `conninfo()`.
pub fn conninfo<'a>(term: Term<'a>) -> R<ConnInfo<'a>> {
    ensure_map(term, "conninfo")?;
    let socktype = match get(term, atoms::socktype()) {
        Some(t) => match atom_text(t, "conninfo.socktype")?.as_str() {
            "tcp" => SockType::Tcp,
            "ssl" => SockType::Ssl,
            "proxy" => SockType::Proxy,
            "ws" => SockType::Ws,
            other => SockType::Other(other.to_string()),
        },
        None => SockType::Other(String::new()),
    };
    let peercert = match get(term, atoms::peercert()) {
        None => PeerCert::Undefined,
        Some(t) if atoms::nossl() == t => PeerCert::NoSsl,
        Some(t) if is_undefined(t) => PeerCert::Undefined,
        Some(t) => match t.decode::<Binary>() {
            Ok(b) => PeerCert::Der(Bytes(b.as_slice())),
            Err(_) => PeerCert::Other,
        },
    };
    Ok(ConnInfo {
        socktype,
        peername: peer(get(term, atoms::peername())),
        sockname: peer(get(term, atoms::sockname())),
        peercert,
        conn_mod: opt_atom_text(term, atoms::conn_mod(), "conninfo.conn_mod")?,
        proto_name: opt_bytes(term, atoms::proto_name(), "conninfo.proto_name")?
            .unwrap_or_default(),
        // 4.3+ gateways may send a binary proto_ver: decode leniently.
        proto_ver: get(term, atoms::proto_ver()).and_then(|t| t.decode::<u8>().ok()),
        clean_start: opt_bool(term, atoms::clean_start(), "conninfo.clean_start")?.unwrap_or(true),
        keepalive: opt_int(term, atoms::keepalive(), "conninfo.keepalive")?.unwrap_or(0),
        clientid: opt_bytes(term, atoms::clientid(), "conninfo.clientid")?.unwrap_or_default(),
        username: opt_bytes(term, atoms::username(), "conninfo.username")?,
        conn_props: opt_properties(term, atoms::conn_props(), "conninfo.conn_props")?
            .unwrap_or_default(),
        receive_maximum: opt_int(term, atoms::receive_maximum(), "conninfo.receive_maximum")?,
        expiry_interval: opt_int(term, atoms::expiry_interval(), "conninfo.expiry_interval")?,
        connected_at: opt_int(term, atoms::connected_at(), "conninfo.connected_at")?,
        disconnected_at: opt_int(term, atoms::disconnected_at(), "conninfo.disconnected_at")?,
        disconn_props: opt_properties(term, atoms::disconn_props(), "conninfo.disconn_props")?,
    })
}

/// `clientinfo()`.
pub fn clientinfo<'a>(term: Term<'a>) -> R<ClientInfo<'a>> {
    ensure_map(term, "clientinfo")?;
    Ok(ClientInfo {
        zone: opt_atom_text(term, atoms::zone(), "clientinfo.zone")?,
        protocol: opt_atom_text(term, atoms::protocol(), "clientinfo.protocol")?
            .unwrap_or_default(),
        peerhost: get_defined(term, atoms::peerhost()).and_then(ip),
        sockport: opt_int(term, atoms::sockport(), "clientinfo.sockport")?,
        clientid: opt_bytes(term, atoms::clientid(), "clientinfo.clientid")?.unwrap_or_default(),
        username: opt_bytes(term, atoms::username(), "clientinfo.username")?,
        password: opt_bytes(term, atoms::password(), "clientinfo.password")?
            .map(|b| Password::new(b.0)),
        mountpoint: opt_bytes(term, atoms::mountpoint(), "clientinfo.mountpoint")?,
        is_bridge: opt_bool(term, atoms::is_bridge(), "clientinfo.is_bridge")?.unwrap_or(false),
        is_superuser: opt_bool(term, atoms::is_superuser(), "clientinfo.is_superuser")?
            .unwrap_or(false),
        anonymous: opt_bool(term, atoms::anonymous(), "clientinfo.anonymous")?,
        auth_result: opt_atom_text(term, atoms::auth_result(), "clientinfo.auth_result")?,
        cn: opt_bytes(term, atoms::cn(), "clientinfo.cn")?,
        dn: opt_bytes(term, atoms::dn(), "clientinfo.dn")?,
    })
}

/// The client id of a clientinfo map, for log lines (empty when absent).
pub fn clientid_for_log(term: Term) -> String {
    get_defined(term, atoms::clientid())
        .and_then(|t| t.decode::<Binary>().ok())
        .map(|b| String::from_utf8_lossy(b.as_slice()).into_owned())
        .unwrap_or_default()
}

/// `subopts()`.
pub fn subopts<'a>(term: Term<'a>) -> R<SubOpts<'a>> {
    ensure_map(term, "subopts")?;
    Ok(SubOpts {
        qos: match opt_int::<u8>(term, atoms::qos(), "subopts.qos")? {
            Some(q) => Some(QoS::from_u8(q).ok_or(DecodeError {
                what: "subopts.qos",
                expected: "0, 1 or 2",
            })?),
            None => None,
        },
        rh: opt_int(term, atoms::rh(), "subopts.rh")?,
        rap: opt_int(term, atoms::rap(), "subopts.rap")?,
        nl: opt_int(term, atoms::nl(), "subopts.nl")?,
        share: opt_bytes(term, atoms::share(), "subopts.share")?
            .map(|b| b.to_string_lossy().into_owned()),
        subid: opt_int(term, atoms::subid(), "subopts.subid")?,
        is_new: opt_bool(term, atoms::is_new(), "subopts.is_new")?,
        sub_props: opt_properties(term, atoms::sub_props(), "subopts.sub_props")?,
        unsub_props: opt_properties(term, atoms::unsub_props(), "subopts.unsub_props")?,
    })
}

/// A topic-filter list `[{Filter, SubOpts}]`.
pub fn topic_filters<'a>(term: Term<'a>) -> R<Vec<TopicFilter<'a>>> {
    let list: Vec<Term<'a>> = term.decode().or_else(|_| err("topic_filters", "a list"))?;
    list.into_iter()
        .map(|el| match tuple(el).as_deref() {
            Some([topic, opts]) => Ok(TopicFilter {
                topic: text(*topic, "topic_filters[].topic")?,
                opts: subopts(*opts)?,
            }),
            _ => err("topic_filters[]", "a {binary(), map()} tuple"),
        })
        .collect()
}

/// `sessinfo()`.
pub fn sessinfo<'a>(term: Term<'a>) -> R<SessInfo<'a>> {
    ensure_map(term, "sessinfo")?;
    let mut subscriptions = Vec::new();
    if let Some(subs) = get_defined(term, atoms::subscriptions()) {
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
        upgrade_qos: opt_bool(term, atoms::upgrade_qos(), "sessinfo.upgrade_qos")?.unwrap_or(false),
        retry_interval: opt_int(term, atoms::retry_interval(), "sessinfo.retry_interval")?,
        await_rel_timeout: opt_int(
            term,
            atoms::await_rel_timeout(),
            "sessinfo.await_rel_timeout",
        )?,
        created_at: opt_int(term, atoms::created_at(), "sessinfo.created_at")?,
    })
}

/// The nine elements of a `#message{}` record, checked for the tag and the arity.
pub fn message_fields(term: Term) -> R<Vec<Term>> {
    match tuple(term) {
        Some(f) if f.len() == 9 && atoms::message() == f[0] => Ok(f),
        _ => err("message", "a #message{} record (9-tuple tagged message)"),
    }
}

/// The `#message{}` record.
pub fn message<'a>(term: Term<'a>) -> R<Message<'a>> {
    let f = message_fields(term)?;
    let id_bin = bytes(f[1], "message.id")?;
    let id: [u8; 16] = id_bin
        .0
        .try_into()
        .or_else(|_| err("message.id", "16 bytes"))?;
    let qos = QoS::from_u8(int(f[2], "message.qos")?).ok_or(DecodeError {
        what: "message.qos",
        expected: "0, 1 or 2",
    })?;
    let from = if is_undefined(f[3]) {
        Publisher::Undefined
    } else if let Ok(b) = f[3].decode::<Binary>() {
        Publisher::Client(Bytes(b.as_slice()))
    } else {
        Publisher::System(atom_text(f[3], "message.from")?)
    };
    let payload = match f[7].decode::<Binary>() {
        Ok(b) => b,
        // The record type allows iodata; flatten it (one copy, in the caller's heap).
        Err(_) => {
            Binary::from_iolist(f[7]).or_else(|_| err("message.payload", "a binary or iolist"))?
        }
    };
    Ok(Message {
        id: MessageId(id),
        qos,
        from,
        flags: flags(f[4])?,
        headers: headers(f[5])?,
        topic: text(f[6], "message.topic")?,
        payload: Bytes(payload.as_slice()),
        timestamp: int(f[8], "message.timestamp")?,
    })
}

fn flags(term: Term) -> R<Flags> {
    ensure_map(term, "message.flags")?;
    let mut flags = Flags::default();
    let iter = rustler::MapIterator::new(term).ok_or(DecodeError {
        what: "message.flags",
        expected: "a map",
    })?;
    for (k, v) in iter {
        let on = v.decode::<bool>().unwrap_or(false);
        match atom_text(k, "message.flags key")?.as_str() {
            "dup" => flags.dup = on,
            "retain" => flags.retain = on,
            "sys" => flags.sys = on,
            "nl" => flags.nl = on,
            other => flags.other.push((other.to_string(), on)),
        }
    }
    Ok(flags)
}

fn headers<'a>(term: Term<'a>) -> R<Headers<'a>> {
    ensure_map(term, "message.headers")?;
    Ok(Headers {
        proto_ver: get(term, atoms::proto_ver()).and_then(|t| t.decode::<u8>().ok()),
        protocol: opt_atom_text(term, atoms::protocol(), "message.headers.protocol")?,
        username: opt_bytes(term, atoms::username(), "message.headers.username")?,
        peerhost: get_defined(term, atoms::peerhost()).and_then(ip),
        properties: opt_properties(term, atoms::properties(), "message.headers.properties")?
            .unwrap_or_default(),
        allow_publish: opt_bool(
            term,
            atoms::allow_publish(),
            "message.headers.allow_publish",
        )?,
        puback_props: opt_properties(term, atoms::puback_props(), "message.headers.puback_props")?,
        retained: get(term, atoms::retained()).is_some_and(|t| atoms::true_() == t),
        deliver_begin_at: opt_int(
            term,
            atoms::deliver_begin_at(),
            "message.headers.deliver_begin_at",
        )?,
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
        TermType::Tuple => Reason::Tuple(
            tuple(term)
                .unwrap_or_default()
                .into_iter()
                .map(reason)
                .collect(),
        ),
        TermType::List => match term.decode::<Vec<Term>>() {
            Ok(items) => Reason::List(items.into_iter().map(reason).collect()),
            Err(_) => Reason::Other(format!("{term:?}")),
        },
        _ => Reason::Other(format!("{term:?}")),
    }
}

/// `publish` | `subscribe`.
pub fn pubsub(term: Term) -> R<PubSub> {
    if atoms::publish() == term {
        Ok(PubSub::Publish)
    } else if atoms::subscribe() == term {
        Ok(PubSub::Subscribe)
    } else {
        err("pubsub", "publish or subscribe")
    }
}

/// The ACL accumulator: `allow`, anything else is deny (contract 2.8).
pub fn acl_result(term: Term) -> AclResult {
    if atoms::allow() == term {
        AclResult::Allow
    } else {
        AclResult::Deny
    }
}

/// The authentication accumulator.
pub fn auth_result(term: Term) -> R<AuthResult> {
    ensure_map(term, "auth result")?;
    Ok(AuthResult {
        auth_result: opt_atom_text(term, atoms::auth_result(), "auth_result")?,
        anonymous: opt_bool(term, atoms::anonymous(), "anonymous")?,
        is_superuser: opt_bool(term, atoms::is_superuser(), "is_superuser")?,
    })
}

/// `#{node => node()}` of `message.dropped`.
pub fn node(term: Term) -> String {
    get(term, atoms::node())
        .and_then(|t| t.atom_to_string().ok())
        .unwrap_or_default()
}

//! The `#message{}` record (contract 2.5), as a view over EMQX's tuple: the topic is
//! checked and borrowed when the view is made, every other field is read when its
//! accessor is called (an iolist payload is flattened only when `payload()` is called).

use super::owned::{cold, HeadersData, MessageData, PublisherData, Repr};
use super::{Bytes, MessageId, Properties, Protocol, QoS};
use crate::nif::atoms;
use crate::nif::decode::DecodeError;
use crate::nif::term::{self, field, Held, Tuple};
use rustler::{Binary, Term};
use std::fmt;
use std::net::IpAddr;

/// Who published a message (`#message.from`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Publisher<'a> {
    /// A client id (may be empty for the will message of a client with a generated id).
    Client(Bytes<'a>),
    /// A system publisher such as `emqx_sys` or `emqx_alarm` (an atom).
    System(&'static str),
    /// `undefined`.
    Undefined,
}

/// `#message.flags` (a missing flag is false).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Flags {
    /// `dup`.
    pub dup: bool,
    /// `retain`.
    pub retain: bool,
    /// `sys`: a message from EMQX itself.
    pub sys: bool,
    /// `nl`: set on delivered copies for no-local subscriptions.
    pub nl: bool,
    /// Other flags, by name.
    pub other: Vec<(&'static str, bool)>,
}

/// `#message.headers`: the known headers; other keys survive untouched when a message is
/// returned to EMQX.
#[derive(Clone, Copy)]
pub struct Headers<'a> {
    repr: Repr<'a, Held<'a>, HeadersData>,
}

impl<'a> Headers<'a> {
    /// `proto_ver` of the publishing client.
    pub fn proto_ver(&self) -> Option<u8> {
        match self.repr {
            Repr::Term(h) => {
                field::defined(h.get(), atoms::proto_ver()).and_then(|t| t.decode::<u8>().ok())
            }
            Repr::Owned(d) => cold(|| d.proto_ver),
        }
    }

    /// `protocol` of the publishing client.
    pub fn protocol(&self) -> Option<Protocol> {
        match self.repr {
            Repr::Term(h) => field::atom(h.get(), atoms::protocol(), "message.headers.protocol")
                .map(Protocol::from_atom),
            Repr::Owned(d) => cold(|| d.protocol),
        }
    }

    /// `username` of the publishing client.
    pub fn username(&self) -> Option<Bytes<'a>> {
        match self.repr {
            Repr::Term(h) => field::bytes(h, atoms::username(), "message.headers.username"),
            Repr::Owned(d) => cold(|| d.username.as_deref().map(Bytes)),
        }
    }

    /// `peerhost` of the publishing client.
    pub fn peerhost(&self) -> Option<IpAddr> {
        match self.repr {
            Repr::Term(h) => field::defined(h.get(), atoms::peerhost()).and_then(field::ip),
            Repr::Owned(d) => cold(|| d.peerhost),
        }
    }

    /// `properties`: the PUBLISH properties (empty for v3/v4).
    pub fn properties(&self) -> Properties<'a> {
        match self.repr {
            Repr::Term(h) => {
                field::properties(h, atoms::properties(), "message.headers.properties")
                    .unwrap_or_default()
            }
            Repr::Owned(d) => cold(|| d.properties.clone()),
        }
    }

    /// `allow_publish`: `Some(false)` when a hook cancelled the publish.
    pub fn allow_publish(&self) -> Option<bool> {
        match self.repr {
            Repr::Term(h) => field::boolean(
                h.get(),
                atoms::allow_publish(),
                "message.headers.allow_publish",
            ),
            Repr::Owned(d) => cold(|| d.allow_publish),
        }
    }

    /// `puback_props`: `message.acked` only.
    pub fn puback_props(&self) -> Option<Properties<'a>> {
        match self.repr {
            Repr::Term(h) => {
                field::properties(h, atoms::puback_props(), "message.headers.puback_props")
            }
            Repr::Owned(d) => cold(|| d.puback_props.clone()),
        }
    }

    /// `retained`: re-sent by the retainer.
    pub fn retained(&self) -> bool {
        match self.repr {
            Repr::Term(h) => field::boolean(h.get(), atoms::retained(), "message.headers.retained")
                .unwrap_or(false),
            Repr::Owned(d) => cold(|| d.retained),
        }
    }

    /// `deliver_begin_at` (4.4), ms.
    pub fn deliver_begin_at(&self) -> Option<i64> {
        match self.repr {
            Repr::Term(h) => field::int(
                h.get(),
                atoms::deliver_begin_at(),
                "message.headers.deliver_begin_at",
            ),
            Repr::Owned(d) => cold(|| d.deliver_begin_at),
        }
    }
}

/// A message, borrowed from the record EMQX passed (the payload is not copied).
#[derive(Clone, Copy)]
pub struct Message<'a> {
    fields: Repr<'a, Held<'a>, MessageData>,
    topic: &'a str,
    /// The payload when it is a binary (as EMQX passes it, and always for a built
    /// message); `None` for iodata, which `payload()` flattens when called.
    payload: Option<&'a [u8]>,
}

impl<'a> Message<'a> {
    /// A view of a `#message{}` record: checks the tag, the arity and the topic (UTF-8).
    pub(crate) fn new(term: Term<'a>) -> Result<Self, DecodeError> {
        let bad = |what, expected| DecodeError { what, expected };
        let fields = Tuple::of(term)
            .filter(|f| f.len() == 9 && f.get(0).is_some_and(|t| term::is(t, atoms::message())))
            .ok_or(bad(
                "message",
                "a #message{} record (9-tuple tagged message)",
            ))?;
        let topic = fields
            .get(6)
            .and_then(term::binary)
            .ok_or(bad("message.topic", "a binary"))?;
        let topic =
            std::str::from_utf8(topic).map_err(|_| bad("message.topic", "a UTF-8 binary"))?;
        let payload = fields.get(7).and_then(term::binary);
        Ok(Message {
            fields: Repr::Term(Held::new(term)),
            topic,
            payload,
        })
    }

    /// A view of a built value ([`crate::testing`]).
    pub(crate) fn from_data(data: &'a MessageData) -> Self {
        Message {
            fields: Repr::Owned(data),
            topic: &data.topic,
            payload: Some(&data.payload),
        }
    }

    /// `id`: the 16-byte GUID (all zeros when malformed).
    pub fn id(&self) -> MessageId {
        let fields = match self.fields {
            Repr::Term(h) => h,
            Repr::Owned(d) => return cold(|| d.id),
        };
        let bytes = elem(fields, 1).and_then(term::binary);
        match bytes.and_then(|b| <[u8; 16]>::try_from(b).ok()) {
            Some(id) => MessageId(id),
            None => {
                term::malformed("message.id", "16 bytes");
                MessageId([0; 16])
            }
        }
    }

    /// `qos`.
    pub fn qos(&self) -> QoS {
        let fields = match self.fields {
            Repr::Term(h) => h,
            Repr::Owned(d) => return cold(|| d.qos),
        };
        let q = elem(fields, 2)
            .and_then(|t| t.decode::<u8>().ok())
            .and_then(QoS::from_u8);
        q.unwrap_or_else(|| {
            term::malformed("message.qos", "0, 1 or 2");
            QoS::AtMostOnce
        })
    }

    /// `from`.
    pub fn from(&self) -> Publisher<'a> {
        let fields = match self.fields {
            Repr::Term(h) => h,
            Repr::Owned(d) => {
                return cold(|| match &d.from {
                    PublisherData::Client(id) => Publisher::Client(Bytes(id)),
                    PublisherData::System(name) => Publisher::System(name),
                    PublisherData::Undefined => Publisher::Undefined,
                })
            }
        };
        fields.read(|record| match Tuple::of(record).and_then(|f| f.get(3)) {
            Some(t) if term::is(t, atoms::undefined()) => Publisher::Undefined,
            Some(t) => match term::binary(t) {
                Some(b) => Publisher::Client(Bytes(b)),
                None => term::atom_name(t).map_or(Publisher::Undefined, Publisher::System),
            },
            None => Publisher::Undefined,
        })
    }

    /// `flags`.
    pub fn flags(&self) -> Flags {
        let fields = match self.fields {
            Repr::Term(h) => h,
            Repr::Owned(d) => return cold(|| d.flags.clone()),
        };
        let mut flags = Flags::default();
        let Some(map) = elem(fields, 4) else {
            return flags;
        };
        let Some(iter) = rustler::MapIterator::new(map) else {
            term::malformed("message.flags", "a map");
            return flags;
        };
        for (k, v) in iter {
            let on = term::is(v, atoms::true_());
            match term::atom_name(k) {
                Some("dup") => flags.dup = on,
                Some("retain") => flags.retain = on,
                Some("sys") => flags.sys = on,
                Some("nl") => flags.nl = on,
                Some(other) => flags.other.push((other, on)),
                None => term::malformed("message.flags key", "an atom"),
            }
        }
        flags
    }

    /// `headers`.
    pub fn headers(&self) -> Headers<'a> {
        match self.fields {
            Repr::Term(h) => Headers {
                repr: Repr::Term(h.child(elem(h, 5).expect("a 9-tuple has element 5"))),
            },
            Repr::Owned(d) => Headers {
                repr: Repr::Owned(&d.headers),
            },
        }
    }

    /// `topic` (mounted).
    pub fn topic(&self) -> &'a str {
        self.topic
    }

    /// `payload`. EMQX passes a binary, which is borrowed. An iolist (which plugins may
    /// build) is flattened on each call, when it has at most 65,536 elements nested at
    /// most 64 deep; any other payload reads as empty, and is logged.
    pub fn payload(&self) -> Bytes<'a> {
        if let Some(p) = self.payload {
            return Bytes(p);
        }
        let Repr::Term(fields) = self.fields else {
            return Bytes(&[]);
        };
        fields.read(|record| {
            let Some(t) = Tuple::of(record).and_then(|f| f.get(7)) else {
                return Bytes(&[]);
            };
            if !crate::nif::bounds::iolist_within_bounds(t) {
                term::malformed(
                    "message.payload",
                    "a binary, or an iolist within the SDK's bounds",
                );
                return Bytes(&[]);
            }
            match Binary::from_iolist(t) {
                // A flattened iolist lives in memory of this call of the VM's: kept.
                Ok(b) => Bytes(crate::nif::lazy::stable_copy(b.as_slice())),
                Err(_) => {
                    term::malformed("message.payload", "a binary or an iolist");
                    Bytes(&[])
                }
            }
        })
    }

    /// `timestamp`, ms since the epoch.
    pub fn timestamp(&self) -> i64 {
        let fields = match self.fields {
            Repr::Term(h) => h,
            Repr::Owned(d) => return cold(|| d.timestamp),
        };
        elem(fields, 8)
            .and_then(|t| t.decode::<i64>().ok())
            .unwrap_or_else(|| {
                term::malformed("message.timestamp", "an integer");
                0
            })
    }

    /// True for `$SYS/...` topics.
    pub fn is_sys_topic(&self) -> bool {
        self.topic.starts_with("$SYS/")
    }
}

/// Element `i` of a `#message{}` record (whose arity the view checked).
fn elem(record: Held<'_>, i: usize) -> Option<Term<'_>> {
    Tuple::of(record.get())?.get(i)
}

serialize_view!(
    Headers,
    [
        proto_ver,
        protocol,
        username,
        peerhost,
        properties,
        allow_publish,
        puback_props,
        retained,
        deliver_begin_at
    ]
);

serialize_view!(
    Message,
    [id, qos, from, flags, headers, topic, payload, timestamp]
);

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id())
            .field("qos", &self.qos())
            .field("from", &self.from())
            .field("topic", &self.topic)
            .field("payload_len", &self.payload().len())
            .field("timestamp", &self.timestamp())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Headers")
            .field("username", &self.username())
            .field("peerhost", &self.peerhost())
            .field("proto_ver", &self.proto_ver())
            .finish_non_exhaustive()
    }
}

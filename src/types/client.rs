//! `conninfo()` and `clientinfo()` (contract 2.1 and 2.2), as views over EMQX's maps:
//! each accessor reads its field when called, so a hook pays only for what it reads.
//! Absent and `undefined` fields are `None`; other map keys stay in the term EMQX gets
//! back.

use super::owned::{cold, ClientInfoData, ConnInfoData, PeerCertData, Repr};
use super::{socket_addr, Bytes, ConnackReason, Password, Properties, Protocol, Zone};
use crate::nif::atoms;
use crate::nif::decode::{ensure_map, DecodeError};
use crate::nif::term::{self, field, Held};
use rustler::Term;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The transport of a connection (`conninfo.socktype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SockType {
    /// Plain TCP.
    Tcp,
    /// TLS.
    Ssl,
    /// A PROXY-protocol listener.
    Proxy,
    /// WebSocket (ws and wss).
    Ws,
    /// Anything else a gateway or a later version reports.
    Other(&'static str),
}

/// The client certificate slot of `conninfo` (`peercert`); EMQX treats it as opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PeerCert<'a> {
    /// `nossl`: plain TCP.
    NoSsl,
    /// `undefined` (or absent): TLS without a client certificate, plain ws, or 4.4.
    Undefined,
    /// The DER certificate.
    Der(Bytes<'a>),
    /// A PROXY protocol v2 proplist or another shape.
    Other,
}

fn peer(term: Option<Term>) -> Option<SocketAddr> {
    let t = term::Tuple::of(term?)?;
    if t.len() != 2 {
        return None;
    }
    socket_addr(field::ip(t.get(0)?), t.get(1)?.decode::<u16>().ok())
}

/// The transport and the CONNECT packet of a connection.
#[derive(Clone, Copy)]
pub struct ConnInfo<'a> {
    repr: Repr<'a, Held<'a>, ConnInfoData>,
}

impl<'a> ConnInfo<'a> {
    /// A view of a conninfo map.
    pub(crate) fn new(map: Term<'a>) -> Result<Self, DecodeError> {
        ensure_map(map, "conninfo")?;
        Ok(ConnInfo {
            repr: Repr::Term(Held::new(map)),
        })
    }

    /// A view of a built value ([`crate::testing`]).
    pub(crate) fn from_data(data: &'a ConnInfoData) -> Self {
        ConnInfo {
            repr: Repr::Owned(data),
        }
    }

    /// `socktype`.
    pub fn socktype(&self) -> Option<SockType> {
        let name = match self.repr {
            Repr::Term(h) => field::atom(h.get(), atoms::socktype(), "conninfo.socktype")?,
            Repr::Owned(d) => return cold(|| d.socktype),
        };
        Some(match name {
            "tcp" => SockType::Tcp,
            "ssl" => SockType::Ssl,
            "proxy" => SockType::Proxy,
            "ws" => SockType::Ws,
            other => SockType::Other(other),
        })
    }

    /// `peername`: the client address (IPv4-mapped IPv6 normalised); `None` when absent
    /// or not an IP address (4.3+ local sockets).
    pub fn peername(&self) -> Option<SocketAddr> {
        match self.repr {
            Repr::Term(h) => peer(term::map_get(h.get(), atoms::peername())),
            Repr::Owned(d) => cold(|| d.peername),
        }
    }

    /// `sockname`: the listener address.
    pub fn sockname(&self) -> Option<SocketAddr> {
        match self.repr {
            Repr::Term(h) => peer(term::map_get(h.get(), atoms::sockname())),
            Repr::Owned(d) => cold(|| d.sockname),
        }
    }

    /// `peercert`.
    pub fn peercert(&self) -> PeerCert<'a> {
        let h = match self.repr {
            Repr::Term(h) => h,
            Repr::Owned(d) => {
                return cold(|| match &d.peercert {
                    PeerCertData::NoSsl => PeerCert::NoSsl,
                    PeerCertData::Undefined => PeerCert::Undefined,
                    PeerCertData::Der(der) => PeerCert::Der(Bytes(der)),
                    PeerCertData::Other => PeerCert::Other,
                })
            }
        };
        h.read(|map| match term::map_get(map, atoms::peercert()) {
            None => PeerCert::Undefined,
            Some(t) if term::is(t, atoms::nossl()) => PeerCert::NoSsl,
            Some(t) if term::is(t, atoms::undefined()) => PeerCert::Undefined,
            Some(t) => term::binary(t).map_or(PeerCert::Other, |b| PeerCert::Der(Bytes(b))),
        })
    }

    /// `conn_mod`, e.g. `emqx_connection` or `emqx_ws_connection`.
    pub fn conn_mod(&self) -> Option<&'static str> {
        match self.repr {
            Repr::Term(h) => field::atom(h.get(), atoms::conn_mod(), "conninfo.conn_mod"),
            Repr::Owned(d) => cold(|| d.conn_mod),
        }
    }

    /// `proto_name`, e.g. `MQTT` (`MQIsdp` for 3.1).
    pub fn proto_name(&self) -> Option<Bytes<'a>> {
        match self.repr {
            Repr::Term(h) => field::bytes(h, atoms::proto_name(), "conninfo.proto_name"),
            Repr::Owned(d) => cold(|| d.proto_name.as_deref().map(Bytes)),
        }
    }

    /// `proto_ver`: 3, 4 or 5 (`None` when a 4.3+ gateway sends a binary).
    pub fn proto_ver(&self) -> Option<u8> {
        match self.repr {
            Repr::Term(h) => {
                field::defined(h.get(), atoms::proto_ver()).and_then(|t| t.decode::<u8>().ok())
            }
            Repr::Owned(d) => cold(|| d.proto_ver),
        }
    }

    /// `clean_start` (true when absent).
    pub fn clean_start(&self) -> bool {
        match self.repr {
            Repr::Term(h) => field::boolean(h.get(), atoms::clean_start(), "conninfo.clean_start")
                .unwrap_or(true),
            Repr::Owned(d) => cold(|| d.clean_start),
        }
    }

    /// `keepalive` in seconds.
    pub fn keepalive(&self) -> Option<u16> {
        match self.repr {
            Repr::Term(h) => field::int(h.get(), atoms::keepalive(), "conninfo.keepalive"),
            Repr::Owned(d) => cold(|| d.keepalive),
        }
    }

    /// `clientid` as sent in CONNECT; may be empty (the assigned id is in [`ClientInfo`]).
    pub fn clientid(&self) -> Bytes<'a> {
        match self.repr {
            Repr::Term(h) => {
                field::bytes(h, atoms::clientid(), "conninfo.clientid").unwrap_or_default()
            }
            Repr::Owned(d) => cold(|| Bytes(&d.clientid)),
        }
    }

    /// `username` as sent in CONNECT.
    pub fn username(&self) -> Option<Bytes<'a>> {
        match self.repr {
            Repr::Term(h) => field::bytes(h, atoms::username(), "conninfo.username"),
            Repr::Owned(d) => cold(|| d.username.as_deref().map(Bytes)),
        }
    }

    /// `conn_props`: the CONNECT properties (empty for v3/v4).
    pub fn conn_props(&self) -> Properties<'a> {
        match self.repr {
            Repr::Term(h) => {
                field::properties(h, atoms::conn_props(), "conninfo.conn_props").unwrap_or_default()
            }
            Repr::Owned(d) => cold(|| d.conn_props.clone()),
        }
    }

    /// `receive_maximum`.
    pub fn receive_maximum(&self) -> Option<u32> {
        match self.repr {
            Repr::Term(h) => field::int(
                h.get(),
                atoms::receive_maximum(),
                "conninfo.receive_maximum",
            ),
            Repr::Owned(d) => cold(|| d.receive_maximum),
        }
    }

    /// `expiry_interval` in seconds (`0xFFFFFFFF` means never).
    pub fn expiry_interval(&self) -> Option<u32> {
        match self.repr {
            Repr::Term(h) => field::int(
                h.get(),
                atoms::expiry_interval(),
                "conninfo.expiry_interval",
            ),
            Repr::Owned(d) => cold(|| d.expiry_interval),
        }
    }

    /// `connected_at`, ms since the epoch (set from `client.connected` on).
    pub fn connected_at(&self) -> Option<i64> {
        match self.repr {
            Repr::Term(h) => field::int(h.get(), atoms::connected_at(), "conninfo.connected_at"),
            Repr::Owned(d) => cold(|| d.connected_at),
        }
    }

    /// `disconnected_at`, ms since the epoch (in `client.disconnected`).
    pub fn disconnected_at(&self) -> Option<i64> {
        match self.repr {
            Repr::Term(h) => field::int(
                h.get(),
                atoms::disconnected_at(),
                "conninfo.disconnected_at",
            ),
            Repr::Owned(d) => cold(|| d.disconnected_at),
        }
    }

    /// `disconn_props`: the DISCONNECT properties, when the client sent one.
    pub fn disconn_props(&self) -> Option<Properties<'a>> {
        match self.repr {
            Repr::Term(h) => field::properties(h, atoms::disconn_props(), "conninfo.disconn_props"),
            Repr::Owned(d) => cold(|| d.disconn_props.clone()),
        }
    }
}

/// The authenticated client.
#[derive(Clone, Copy)]
pub struct ClientInfo<'a> {
    repr: Repr<'a, Held<'a>, ClientInfoData>,
}

impl<'a> ClientInfo<'a> {
    /// A view of a clientinfo map.
    pub(crate) fn new(map: Term<'a>) -> Result<Self, DecodeError> {
        ensure_map(map, "clientinfo")?;
        Ok(ClientInfo {
            repr: Repr::Term(Held::new(map)),
        })
    }

    /// A view of a built value ([`crate::testing`]).
    pub(crate) fn from_data(data: &'a ClientInfoData) -> Self {
        ClientInfo {
            repr: Repr::Owned(data),
        }
    }

    /// `zone`, e.g. [`Zone::External`] (`None` when 4.3+ leaves it `undefined`).
    pub fn zone(&self) -> Option<Zone> {
        match self.repr {
            Repr::Term(h) => {
                field::atom(h.get(), atoms::zone(), "clientinfo.zone").map(Zone::from_atom)
            }
            Repr::Owned(d) => cold(|| d.zone),
        }
    }

    /// `protocol`: [`Protocol::Mqtt`], or a gateway's.
    pub fn protocol(&self) -> Option<Protocol> {
        match self.repr {
            Repr::Term(h) => field::atom(h.get(), atoms::protocol(), "clientinfo.protocol")
                .map(Protocol::from_atom),
            Repr::Owned(d) => cold(|| d.protocol),
        }
    }

    /// `peerhost` (IPv4-mapped IPv6 normalised).
    pub fn peerhost(&self) -> Option<IpAddr> {
        match self.repr {
            Repr::Term(h) => field::defined(h.get(), atoms::peerhost()).and_then(field::ip),
            Repr::Owned(d) => cold(|| d.peerhost),
        }
    }

    /// `sockport`: the listener port.
    pub fn sockport(&self) -> Option<u16> {
        match self.repr {
            Repr::Term(h) => field::int(h.get(), atoms::sockport(), "clientinfo.sockport"),
            Repr::Owned(d) => cold(|| d.sockport),
        }
    }

    /// `clientid`: the final id (generated when the client sent an empty one).
    pub fn clientid(&self) -> Bytes<'a> {
        match self.repr {
            Repr::Term(h) => {
                field::bytes(h, atoms::clientid(), "clientinfo.clientid").unwrap_or_default()
            }
            Repr::Owned(d) => cold(|| Bytes(&d.clientid)),
        }
    }

    /// `username`.
    pub fn username(&self) -> Option<Bytes<'a>> {
        match self.repr {
            Repr::Term(h) => field::bytes(h, atoms::username(), "clientinfo.username"),
            Repr::Owned(d) => cold(|| d.username.as_deref().map(Bytes)),
        }
    }

    /// `password`: only in `client.authenticate`. Never printed.
    pub fn password(&self) -> Option<Password<'a>> {
        match self.repr {
            Repr::Term(h) => field::bytes(h, atoms::password(), "clientinfo.password")
                .map(|b| Password::new(b.0)),
            Repr::Owned(d) => cold(|| d.password.as_deref().map(Password::new)),
        }
    }

    /// `mountpoint`.
    pub fn mountpoint(&self) -> Option<Bytes<'a>> {
        match self.repr {
            Repr::Term(h) => field::bytes(h, atoms::mountpoint(), "clientinfo.mountpoint"),
            Repr::Owned(d) => cold(|| d.mountpoint.as_deref().map(Bytes)),
        }
    }

    /// `is_bridge`.
    pub fn is_bridge(&self) -> bool {
        match self.repr {
            Repr::Term(h) => {
                field::boolean(h.get(), atoms::is_bridge(), "clientinfo.is_bridge").unwrap_or(false)
            }
            Repr::Owned(d) => cold(|| d.is_bridge),
        }
    }

    /// `is_superuser`.
    pub fn is_superuser(&self) -> bool {
        match self.repr {
            Repr::Term(h) => {
                field::boolean(h.get(), atoms::is_superuser(), "clientinfo.is_superuser")
                    .unwrap_or(false)
            }
            Repr::Owned(d) => cold(|| d.is_superuser),
        }
    }

    /// `anonymous`, merged in after authentication.
    pub fn anonymous(&self) -> Option<bool> {
        match self.repr {
            Repr::Term(h) => field::boolean(h.get(), atoms::anonymous(), "clientinfo.anonymous"),
            Repr::Owned(d) => cold(|| d.anonymous),
        }
    }

    /// `auth_result`, merged in after authentication.
    pub fn auth_result(&self) -> Option<ConnackReason> {
        match self.repr {
            Repr::Term(h) => field::atom(h.get(), atoms::auth_result(), "clientinfo.auth_result")
                .map(ConnackReason::from_atom),
            Repr::Owned(d) => cold(|| d.auth_result),
        }
    }

    /// `cn` from the client certificate.
    pub fn cn(&self) -> Option<Bytes<'a>> {
        match self.repr {
            Repr::Term(h) => field::bytes(h, atoms::cn(), "clientinfo.cn"),
            Repr::Owned(d) => cold(|| d.cn.as_deref().map(Bytes)),
        }
    }

    /// `dn` from the client certificate.
    pub fn dn(&self) -> Option<Bytes<'a>> {
        match self.repr {
            Repr::Term(h) => field::bytes(h, atoms::dn(), "clientinfo.dn"),
            Repr::Owned(d) => cold(|| d.dn.as_deref().map(Bytes)),
        }
    }
}

serialize_view!(
    ConnInfo,
    [
        socktype,
        peername,
        sockname,
        peercert,
        conn_mod,
        proto_name,
        proto_ver,
        clean_start,
        keepalive,
        clientid,
        username,
        conn_props,
        receive_maximum,
        expiry_interval,
        connected_at,
        disconnected_at,
        disconn_props
    ]
);

serialize_view!(
    ClientInfo,
    [
        zone,
        protocol,
        peerhost,
        sockport,
        clientid,
        username,
        password,
        mountpoint,
        is_bridge,
        is_superuser,
        anonymous,
        auth_result,
        cn,
        dn
    ]
);

impl fmt::Debug for ConnInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnInfo")
            .field("socktype", &self.socktype())
            .field("peername", &self.peername())
            .field("clientid", &self.clientid())
            .field("username", &self.username())
            .field("proto_ver", &self.proto_ver())
            .field("clean_start", &self.clean_start())
            .field("keepalive", &self.keepalive())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ClientInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientInfo")
            .field("clientid", &self.clientid())
            .field("username", &self.username())
            .field("password", &self.password())
            .field("peerhost", &self.peerhost())
            .field("zone", &self.zone())
            .field("protocol", &self.protocol())
            .field("is_superuser", &self.is_superuser())
            .finish_non_exhaustive()
    }
}

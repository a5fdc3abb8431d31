//! `conninfo()` and `clientinfo()` (contract 2.1 and 2.2).

use super::{Bytes, Password, Properties};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// The transport of a connection (`conninfo.socktype`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
    Other(String),
}

/// The client certificate slot of `conninfo` (`peercert`); EMQX treats it as opaque.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PeerCert<'a> {
    /// `nossl`: plain TCP.
    NoSsl,
    /// `undefined`: TLS without a client certificate, plain ws, or 4.4 (always).
    Undefined,
    /// The DER certificate.
    Der(Bytes<'a>),
    /// A PROXY protocol v2 proplist or another shape.
    Other,
}

/// The transport and the CONNECT packet of a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnInfo<'a> {
    /// `socktype`.
    pub socktype: SockType,
    /// `peername`: the client address (IPv4-mapped IPv6 normalised), `None` when not IP.
    pub peername: Option<SocketAddr>,
    /// `sockname`: the listener address.
    pub sockname: Option<SocketAddr>,
    /// `peercert`.
    pub peercert: PeerCert<'a>,
    /// `conn_mod`, e.g. `emqx_connection` or `emqx_ws_connection`.
    pub conn_mod: Option<String>,
    /// `proto_name`, e.g. `MQTT` (`MQIsdp` for 3.1).
    pub proto_name: Bytes<'a>,
    /// `proto_ver`: 3, 4 or 5 (`None` when a gateway sends a binary).
    pub proto_ver: Option<u8>,
    /// `clean_start`.
    pub clean_start: bool,
    /// `keepalive` in seconds.
    pub keepalive: u16,
    /// `clientid` as sent in CONNECT; may be empty (the assigned id is in [`ClientInfo`]).
    pub clientid: Bytes<'a>,
    /// `username` as sent in CONNECT.
    pub username: Option<Bytes<'a>>,
    /// `conn_props`: the CONNECT properties (`#{}` for v3/v4).
    pub conn_props: Properties<'a>,
    /// `receive_maximum`.
    pub receive_maximum: Option<u32>,
    /// `expiry_interval` in seconds (`0xFFFFFFFF` means never).
    pub expiry_interval: Option<u32>,
    /// `connected_at`, ms since the epoch (set from `client.connected` on).
    pub connected_at: Option<i64>,
    /// `disconnected_at`, ms since the epoch (in `client.disconnected`).
    pub disconnected_at: Option<i64>,
    /// `disconn_props`: the DISCONNECT properties, when the client sent one.
    pub disconn_props: Option<Properties<'a>>,
}

/// The authenticated client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientInfo<'a> {
    /// `zone`, e.g. `external` (`None` when 4.3+ leaves it `undefined`).
    pub zone: Option<String>,
    /// `protocol`: `mqtt`, or a gateway's name.
    pub protocol: String,
    /// `peerhost` (IPv4-mapped IPv6 normalised).
    pub peerhost: Option<IpAddr>,
    /// `sockport`: the listener port.
    pub sockport: Option<u16>,
    /// `clientid`: the final id (generated when the client sent an empty one).
    pub clientid: Bytes<'a>,
    /// `username`.
    pub username: Option<Bytes<'a>>,
    /// `password`: only in `client.authenticate`. Never printed.
    pub password: Option<Password<'a>>,
    /// `mountpoint`.
    pub mountpoint: Option<Bytes<'a>>,
    /// `is_bridge`.
    pub is_bridge: bool,
    /// `is_superuser`.
    pub is_superuser: bool,
    /// `anonymous`, merged in after authentication.
    pub anonymous: Option<bool>,
    /// `auth_result`, merged in after authentication.
    pub auth_result: Option<String>,
    /// `cn` from the client certificate.
    pub cn: Option<Bytes<'a>>,
    /// `dn` from the client certificate.
    pub dn: Option<Bytes<'a>>,
}

impl ClientInfo<'_> {
    /// A placeholder for a client id when logging: the id as text.
    pub fn id_for_log(&self) -> String {
        self.clientid.to_string()
    }
}

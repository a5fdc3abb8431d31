//! The values behind views built without a VM ([`crate::testing`]): a view reads either
//! a live term (the hook path) or one of these, through the same accessors.

use super::{ConnackReason, MessageId, Properties, Protocol, QoS, SockType, Zone};
use std::net::{IpAddr, SocketAddr};

/// What a view reads: a live term (`T`, e.g. a held map) or a built value.
pub(crate) enum Repr<'a, T: Copy, D> {
    /// A term EMQX passed (the hook path).
    Term(T),
    /// A value built by [`crate::testing`].
    Owned(&'a D),
}

// Copy whatever `D` is: a view holds a reference to it.
impl<T: Copy, D> Clone for Repr<'_, T, D> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Copy, D> Copy for Repr<'_, T, D> {}

/// Runs `f` out of line and marked cold: views of live terms (the hook path) take the
/// other branch, and the code for built values must not weigh on their layout or
/// inlining.
#[cold]
#[inline(never)]
pub(crate) fn cold<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// `peercert` of a built conninfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PeerCertData {
    NoSsl,
    Undefined,
    Der(Vec<u8>),
    Other,
}

/// A built password: its `Debug` never shows the bytes (so neither does a builder's).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretBytes(pub Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::ops::Deref for SecretBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// The fields of a built `ClientInfo`.
#[derive(Clone, Debug)]
pub(crate) struct ClientInfoData {
    pub zone: Option<Zone>,
    pub protocol: Option<Protocol>,
    pub peerhost: Option<IpAddr>,
    pub sockport: Option<u16>,
    pub clientid: Vec<u8>,
    pub username: Option<Vec<u8>>,
    pub password: Option<SecretBytes>,
    pub mountpoint: Option<Vec<u8>>,
    pub is_bridge: bool,
    pub is_superuser: bool,
    pub anonymous: Option<bool>,
    pub auth_result: Option<ConnackReason>,
    pub cn: Option<Vec<u8>>,
    pub dn: Option<Vec<u8>>,
}

/// The fields of a built `ConnInfo`.
#[derive(Clone, Debug)]
pub(crate) struct ConnInfoData {
    pub socktype: Option<SockType>,
    pub peername: Option<SocketAddr>,
    pub sockname: Option<SocketAddr>,
    pub peercert: PeerCertData,
    pub conn_mod: Option<&'static str>,
    pub proto_name: Option<Vec<u8>>,
    pub proto_ver: Option<u8>,
    pub clean_start: bool,
    pub keepalive: Option<u16>,
    pub clientid: Vec<u8>,
    pub username: Option<Vec<u8>>,
    pub conn_props: Properties<'static>,
    pub receive_maximum: Option<u32>,
    pub expiry_interval: Option<u32>,
    pub connected_at: Option<i64>,
    pub disconnected_at: Option<i64>,
    pub disconn_props: Option<Properties<'static>>,
}

/// `#message.from` of a built message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublisherData {
    Client(Vec<u8>),
    System(&'static str),
    Undefined,
}

/// The headers of a built message.
#[derive(Clone, Debug)]
pub(crate) struct HeadersData {
    pub proto_ver: Option<u8>,
    pub protocol: Option<Protocol>,
    pub username: Option<Vec<u8>>,
    pub peerhost: Option<IpAddr>,
    pub properties: Properties<'static>,
    pub allow_publish: Option<bool>,
    pub puback_props: Option<Properties<'static>>,
    pub retained: bool,
    pub deliver_begin_at: Option<i64>,
}

/// The fields of a built message.
#[derive(Clone, Debug)]
pub(crate) struct MessageData {
    pub id: MessageId,
    pub qos: QoS,
    pub from: PublisherData,
    pub flags: super::Flags,
    pub headers: HeadersData,
    pub topic: String,
    pub payload: Vec<u8>,
    pub timestamp: i64,
}

//! Builders of [`ClientInfo`] and [`ConnInfo`].

use super::leak;
use crate::types::owned::{ClientInfoData, ConnInfoData, PeerCertData, SecretBytes};
use crate::types::{ClientInfo, ConnInfo, ConnackReason, PeerCert, Properties, Protocol};
use crate::types::{SockType, Zone};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn bytes(text: Option<&str>) -> Option<Vec<u8>> {
    text.map(|t| t.as_bytes().to_vec())
}

impl ClientInfo<'static> {
    /// A builder of a test value (module [`crate::testing`]), by default `pub1`'s
    /// clientinfo as a real EMQX 4.2.14 broker passed it once the client was connected:
    ///
    /// ```text
    /// #{anonymous => true, auth_result => success, clientid => <<"pub1">>,
    ///   is_bridge => false, is_superuser => false, mountpoint => undefined,
    ///   peerhost => {127,0,0,1}, protocol => mqtt, sockport => 1883,
    ///   username => <<"alice">>, zone => external}
    /// ```
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let c = ClientInfo::builder().clientid("sensor-7").username(None).build();
    /// assert_eq!(c.clientid(), "sensor-7");
    /// assert_eq!(c.username(), None);
    /// assert_eq!(c.zone(), Some(Zone::External));
    /// ```
    pub fn builder() -> ClientInfoBuilder {
        ClientInfoBuilder {
            data: ClientInfoData {
                zone: Some(Zone::External),
                protocol: Some(Protocol::Mqtt),
                peerhost: Some(LOCALHOST),
                sockport: Some(1883),
                clientid: b"pub1".to_vec(),
                username: Some(b"alice".to_vec()),
                password: None,
                mountpoint: None,
                is_bridge: false,
                is_superuser: false,
                anonymous: Some(true),
                auth_result: Some(ConnackReason::Success),
                cn: None,
                dn: None,
            },
        }
    }
}

/// Builds a [`ClientInfo`] test value; start from [`ClientInfo::builder`]. Each setter
/// sets one field of the map; `None` makes an optional field absent (`undefined`).
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientInfoBuilder {
    data: ClientInfoData,
}

impl ClientInfoBuilder {
    /// The shape `client.authenticate` gets: with a password (`secret`, `pub1`'s, unless
    /// set), and without `anonymous` and `auth_result`, which EMQX merges in afterwards.
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let c = ClientInfo::builder().authenticating().build();
    /// assert!(c.password().unwrap().matches(b"secret"));
    /// assert_eq!(c.auth_result(), None);
    /// ```
    pub fn authenticating(mut self) -> Self {
        if self.data.password.is_none() {
            self.data.password = Some(SecretBytes(b"secret".to_vec()));
        }
        self.data.anonymous = None;
        self.data.auth_result = None;
        self
    }

    /// `zone`.
    pub fn zone(mut self, zone: impl Into<Option<Zone>>) -> Self {
        self.data.zone = zone.into();
        self
    }

    /// `protocol`.
    pub fn protocol(mut self, protocol: impl Into<Option<Protocol>>) -> Self {
        self.data.protocol = protocol.into();
        self
    }

    /// `peerhost`.
    pub fn peerhost(mut self, ip: impl Into<Option<IpAddr>>) -> Self {
        self.data.peerhost = ip.into();
        self
    }

    /// `sockport`.
    pub fn sockport(mut self, port: impl Into<Option<u16>>) -> Self {
        self.data.sockport = port.into();
        self
    }

    /// `clientid`.
    pub fn clientid(mut self, id: impl AsRef<[u8]>) -> Self {
        self.data.clientid = id.as_ref().to_vec();
        self
    }

    /// `username`.
    pub fn username<'s>(mut self, username: impl Into<Option<&'s str>>) -> Self {
        self.data.username = bytes(username.into());
        self
    }

    /// `password` (in a real broker, only `client.authenticate` has one).
    pub fn password<'s>(mut self, password: impl Into<Option<&'s str>>) -> Self {
        self.data.password = bytes(password.into()).map(SecretBytes);
        self
    }

    /// `mountpoint`.
    pub fn mountpoint<'s>(mut self, mountpoint: impl Into<Option<&'s str>>) -> Self {
        self.data.mountpoint = bytes(mountpoint.into());
        self
    }

    /// `is_bridge`.
    pub fn is_bridge(mut self, on: bool) -> Self {
        self.data.is_bridge = on;
        self
    }

    /// `is_superuser`.
    pub fn is_superuser(mut self, on: bool) -> Self {
        self.data.is_superuser = on;
        self
    }

    /// `anonymous`.
    pub fn anonymous(mut self, on: impl Into<Option<bool>>) -> Self {
        self.data.anonymous = on.into();
        self
    }

    /// `auth_result`.
    pub fn auth_result(mut self, result: impl Into<Option<ConnackReason>>) -> Self {
        self.data.auth_result = result.into();
        self
    }

    /// `cn` (from a client certificate).
    pub fn cn<'s>(mut self, cn: impl Into<Option<&'s str>>) -> Self {
        self.data.cn = bytes(cn.into());
        self
    }

    /// `dn` (from a client certificate).
    pub fn dn<'s>(mut self, dn: impl Into<Option<&'s str>>) -> Self {
        self.data.dn = bytes(dn.into());
        self
    }

    /// The view (its data lives until the test process exits).
    pub fn build(self) -> ClientInfo<'static> {
        ClientInfo::from_data(leak(self.data))
    }
}

impl ConnInfo<'static> {
    /// A builder of a test value (module [`crate::testing`]), by default `pub1`'s
    /// conninfo as a real EMQX 4.2.14 broker passed it to `client.connected`:
    ///
    /// ```text
    /// #{clean_start => true, clientid => <<"pub1">>, conn_mod => emqx_connection,
    ///   conn_props => #{}, connected_at => 1795643044427, expiry_interval => 0,
    ///   keepalive => 60, peercert => nossl, peername => {{127,0,0,1},53700},
    ///   proto_name => <<"MQTT">>, proto_ver => 4, receive_maximum => 32,
    ///   sockname => {{127,0,0,1},1883}, socktype => tcp, username => <<"alice">>}
    /// ```
    ///
    /// ```
    /// use emqx_rust_hook::prelude::*;
    ///
    /// let c = ConnInfo::builder().proto_ver(5).keepalive(30).build();
    /// assert_eq!((c.proto_ver(), c.keepalive()), (Some(5), Some(30)));
    /// assert_eq!(c.peername().unwrap().to_string(), "127.0.0.1:53700");
    /// ```
    pub fn builder() -> ConnInfoBuilder {
        ConnInfoBuilder {
            data: ConnInfoData {
                socktype: Some(SockType::Tcp),
                peername: Some(SocketAddr::new(LOCALHOST, 53700)),
                sockname: Some(SocketAddr::new(LOCALHOST, 1883)),
                peercert: PeerCertData::NoSsl,
                conn_mod: Some("emqx_connection"),
                proto_name: Some(b"MQTT".to_vec()),
                proto_ver: Some(4),
                clean_start: true,
                keepalive: Some(60),
                clientid: b"pub1".to_vec(),
                username: Some(b"alice".to_vec()),
                conn_props: Properties::new(),
                receive_maximum: Some(32),
                expiry_interval: Some(0),
                connected_at: Some(1_795_643_044_427),
                disconnected_at: None,
                disconn_props: None,
            },
        }
    }
}

/// Builds a [`ConnInfo`] test value; start from [`ConnInfo::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ConnInfoBuilder {
    data: ConnInfoData,
}

impl ConnInfoBuilder {
    /// The shape `client.connect` gets: before the connection is accepted, so without
    /// `connected_at`.
    pub fn connecting(mut self) -> Self {
        self.data.connected_at = None;
        self
    }

    /// The shape `client.disconnected` gets: with `disconnected_at` (4 ms after
    /// `connected_at`, as captured) and the DISCONNECT properties `#{}`.
    pub fn disconnected(mut self) -> Self {
        self.data.disconnected_at = Some(self.data.connected_at.unwrap_or(0) + 4);
        self.data.disconn_props = Some(Properties::new());
        self
    }

    /// `socktype`.
    pub fn socktype(mut self, socktype: impl Into<Option<SockType>>) -> Self {
        self.data.socktype = socktype.into();
        self
    }

    /// `peername`: the client's address.
    pub fn peername(mut self, addr: impl Into<Option<SocketAddr>>) -> Self {
        self.data.peername = addr.into();
        self
    }

    /// `sockname`: the listener's address.
    pub fn sockname(mut self, addr: impl Into<Option<SocketAddr>>) -> Self {
        self.data.sockname = addr.into();
        self
    }

    /// `peercert`: [`PeerCert::NoSsl`], [`PeerCert::Undefined`], a DER certificate or
    /// [`PeerCert::Other`].
    pub fn peercert(mut self, cert: PeerCert<'_>) -> Self {
        self.data.peercert = match cert {
            PeerCert::NoSsl => PeerCertData::NoSsl,
            PeerCert::Undefined => PeerCertData::Undefined,
            PeerCert::Der(der) => PeerCertData::Der(der.as_bytes().to_vec()),
            PeerCert::Other => PeerCertData::Other,
        };
        self
    }

    /// `conn_mod`, e.g. `emqx_ws_connection`.
    pub fn conn_mod(mut self, module: impl Into<Option<&'static str>>) -> Self {
        self.data.conn_mod = module.into();
        self
    }

    /// `proto_name`.
    pub fn proto_name<'s>(mut self, name: impl Into<Option<&'s str>>) -> Self {
        self.data.proto_name = bytes(name.into());
        self
    }

    /// `proto_ver`: 3, 4 or 5.
    pub fn proto_ver(mut self, version: impl Into<Option<u8>>) -> Self {
        self.data.proto_ver = version.into();
        self
    }

    /// `clean_start`.
    pub fn clean_start(mut self, on: bool) -> Self {
        self.data.clean_start = on;
        self
    }

    /// `keepalive` in seconds.
    pub fn keepalive(mut self, seconds: impl Into<Option<u16>>) -> Self {
        self.data.keepalive = seconds.into();
        self
    }

    /// `clientid` as sent in CONNECT.
    pub fn clientid(mut self, id: impl AsRef<[u8]>) -> Self {
        self.data.clientid = id.as_ref().to_vec();
        self
    }

    /// `username`.
    pub fn username<'s>(mut self, username: impl Into<Option<&'s str>>) -> Self {
        self.data.username = bytes(username.into());
        self
    }

    /// `conn_props`: the CONNECT properties.
    pub fn conn_props(mut self, props: Properties<'static>) -> Self {
        self.data.conn_props = props;
        self
    }

    /// `receive_maximum`.
    pub fn receive_maximum(mut self, n: impl Into<Option<u32>>) -> Self {
        self.data.receive_maximum = n.into();
        self
    }

    /// `expiry_interval` in seconds.
    pub fn expiry_interval(mut self, seconds: impl Into<Option<u32>>) -> Self {
        self.data.expiry_interval = seconds.into();
        self
    }

    /// `connected_at`, ms since the epoch.
    pub fn connected_at(mut self, ms: impl Into<Option<i64>>) -> Self {
        self.data.connected_at = ms.into();
        self
    }

    /// `disconnected_at`, ms since the epoch.
    pub fn disconnected_at(mut self, ms: impl Into<Option<i64>>) -> Self {
        self.data.disconnected_at = ms.into();
        self
    }

    /// `disconn_props`: the DISCONNECT properties.
    pub fn disconn_props(mut self, props: impl Into<Option<Properties<'static>>>) -> Self {
        self.data.disconn_props = props.into();
        self
    }

    /// The view (its data lives until the test process exits).
    pub fn build(self) -> ConnInfo<'static> {
        ConnInfo::from_data(leak(self.data))
    }
}

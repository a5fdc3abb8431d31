//! Typed views of the terms EMQX passes to hooks. Binaries are borrowed from the
//! terms, `undefined` is `None`, and addresses are [`std::net::IpAddr`].

mod address;
mod bytes;
mod client;
mod message;
mod properties;
mod reason;
mod session;

pub use address::{ip_from_parts, normalize as normalize_ip, socket_addr};
pub use bytes::{Bytes, Password};
pub use client::{ClientInfo, ConnInfo, PeerCert, SockType};
pub use message::{Flags, Headers, Message, MessageId, Publisher};
pub use properties::{NewProperty, PropKey, PropKind, PropName, PropValue, Properties};
pub use reason::{AclResult, AuthResult, PubSub, QoS, Reason};
pub use session::{SessInfo, SubOpts, TopicFilter};

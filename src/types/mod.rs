//! Typed views of the terms EMQX passes to hooks. Binaries are borrowed from the
//! terms, `undefined` is `None`, and addresses are [`std::net::IpAddr`]. `ClientInfo`,
//! `ConnInfo` and `Message` read each field when its accessor is called, so a hook pays
//! only for what it reads.

/// `serde::Serialize` for a view: a struct of its accessors' values, in the given order.
#[cfg(not(test))]
macro_rules! serialize_view {
    ($ty:ident, [$($field:ident),* $(,)?]) => {
        impl serde::Serialize for $ty<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut m = s.serialize_struct(stringify!($ty), [$(stringify!($field)),*].len())?;
                $( m.serialize_field(stringify!($field), &self.$field())?; )*
                m.end()
            }
        }
    };
}

mod address;
mod bytes;
// The views over live terms need the VM; the SDK's own unit tests run without one.
#[cfg(not(test))]
mod client;
mod id;
#[cfg(not(test))]
mod message;
mod names;
// The values behind views built by `crate::testing`.
#[cfg(not(test))]
pub(crate) mod owned;
mod properties;
mod reason;
mod session;

pub use address::{ip_from_parts, normalize as normalize_ip, socket_addr};
pub use bytes::{Bytes, Password};
#[cfg(not(test))]
pub use client::{ClientInfo, ConnInfo, PeerCert, SockType};
pub use id::MessageId;
#[cfg(not(test))]
pub use message::{Flags, Headers, Message, Publisher};
pub use names::{ConnackReason, Protocol, Zone};
pub use properties::{NewProperty, PropKey, PropKind, PropName, PropValue, Properties};
pub use reason::{AclResult, AuthResult, PubSub, QoS, Reason};
pub use session::{SessInfo, SubOpts, TopicFilter};

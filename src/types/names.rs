//! Atom-valued fields whose usual values are known: each is an enum with a variant per
//! known atom and `Other` for any atom a later EMQX version or a gateway sends.

use serde::Serialize;
use std::fmt;

/// An enum over atoms: a variant per known name, `Other(name)` for the rest.
macro_rules! atom_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $atom:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("`", $atom, "`")] $variant, )*
            /// Any other atom (a gateway's, or a later EMQX version's).
            Other(&'static str),
        }

        impl $name {
            /// The value of an atom's name.
            pub fn from_atom(name: &'static str) -> Self {
                match name {
                    $( $atom => $name::$variant, )*
                    other => $name::Other(other),
                }
            }

            /// The atom's name.
            pub const fn as_atom(self) -> &'static str {
                match self {
                    $( $name::$variant => $atom, )*
                    $name::Other(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_atom())
            }
        }

        /// Serialized as the atom's name.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_atom())
            }
        }
    };
}

atom_enum! {
    /// The listener zone of a client (`clientinfo.zone`).
    pub enum Zone {
        External = "external",
        Internal = "internal",
    }
}

atom_enum! {
    /// The protocol a client speaks (`clientinfo.protocol`): `mqtt`, or a gateway's.
    pub enum Protocol {
        Mqtt = "mqtt",
        MqttSn = "mqtt-sn",
        Coap = "coap",
        Lwm2m = "lwm2m",
        Stomp = "stomp",
    }
}

atom_enum! {
    /// A CONNACK reason, by the MQTT 5 reason-code name EMQX uses as an atom: the `rc`
    /// of `client.connack` and the `auth_result` of `client.authenticate` (contract 2.7,
    /// 2.9, appendix A). The name is the same for v3 clients, whose wire code differs.
    pub enum ConnackReason {
        Success = "success",
        UnspecifiedError = "unspecified_error",
        MalformedPacket = "malformed_packet",
        ProtocolError = "protocol_error",
        ImplementationSpecificError = "implementation_specific_error",
        UnsupportedProtocolVersion = "unsupported_protocol_version",
        ClientIdentifierNotValid = "client_identifier_not_valid",
        BadUsernameOrPassword = "bad_username_or_password",
        NotAuthorized = "not_authorized",
        ServerUnavailable = "server_unavailable",
        ServerBusy = "server_busy",
        Banned = "banned",
        BadAuthenticationMethod = "bad_authentication_method",
        TopicNameInvalid = "topic_name_invalid",
        PacketTooLarge = "packet_too_large",
        QuotaExceeded = "quota_exceeded",
        PayloadFormatInvalid = "payload_format_invalid",
        RetainNotSupported = "retain_not_supported",
        QosNotSupported = "qos_not_supported",
        UseAnotherServer = "use_another_server",
        ServerMoved = "server_moved",
        ConnectionRateExceeded = "connection_rate_exceeded",
    }
}

impl ConnackReason {
    /// True for `success`.
    pub fn is_success(self) -> bool {
        self == ConnackReason::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_other_atoms_round_trip() {
        for name in ["external", "internal", "my_zone"] {
            assert_eq!(Zone::from_atom(name).as_atom(), name);
        }
        assert_eq!(Zone::from_atom("external"), Zone::External);
        assert_eq!(Zone::from_atom("my_zone"), Zone::Other("my_zone"));
        assert_eq!(Protocol::from_atom("mqtt-sn"), Protocol::MqttSn);
        assert_eq!(Protocol::from_atom("exproto"), Protocol::Other("exproto"));
        assert_eq!(
            ConnackReason::from_atom("bad_username_or_password"),
            ConnackReason::BadUsernameOrPassword
        );
        assert_eq!(
            ConnackReason::from_atom("password_error"),
            ConnackReason::Other("password_error")
        );
        assert!(ConnackReason::from_atom("success").is_success());
        assert_eq!(ConnackReason::Banned.to_string(), "banned");
    }
}

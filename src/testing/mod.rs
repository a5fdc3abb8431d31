//! Test values: every hook argument built without a VM, so a hook method can be called
//! from `cargo test`.
//!
//! Each argument type has a builder whose defaults are the terms a real EMQX 4.2.14
//! broker passed to its hooks (`tests/fixtures/emqx-4.2.14-captures/`): the client `pub1`,
//! user `alice`, on `127.0.0.1` through the TCP listener on port 1883, MQTT 3.1.1,
//! publishing `hello` to `t/1` at QoS 1. Change only what your test is about:
//!
//! ```
//! use emqx_rust_hook::prelude::*;
//!
//! struct Auth;
//!
//! #[emqx_rust_hook::export]
//! impl Hooks for Auth {
//!     fn init(_: &Config) -> Result<Self, InitError> {
//!         Ok(Auth)
//!     }
//!
//!     fn client_authenticate(&self, c: &ClientInfo, _: AuthResult) -> AuthDecision {
//!         match (c.username(), c.password()) {
//!             (Some(u), Some(p)) if u == "alice" && p.matches(b"pw") => AuthDecision::Allow,
//!             _ => AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword),
//!         }
//!     }
//! }
//!
//! let hooks = Auth::init(&Config::builder().build()).unwrap();
//! let alice = ClientInfo::builder().username("alice").password("pw").build();
//! assert_eq!(hooks.client_authenticate(&alice, AuthResult::builder().build()), AuthDecision::Allow);
//! let mallory = ClientInfo::builder().username("alice").password("guess").build();
//! assert_eq!(
//!     hooks.client_authenticate(&mallory, AuthResult::builder().build()),
//!     AuthDecision::Deny(AuthDenyReason::BadUsernameOrPassword)
//! );
//! ```
//!
//! A built view reads through the same accessors as the one a hook gets from EMQX
//! (`make test` checks, field by field, that each default reads exactly like the
//! captured term it is modelled on). Its data is leaked (a few hundred bytes), so the
//! view is `Copy` and `'static` like the live one; build test values in tests, not in a
//! hot loop of a long-running program.
//!
//! | Type | Builder | Default modelled on |
//! |---|---|---|
//! | [`ClientInfo`] | [`ClientInfo::builder`] | `pub1`'s clientinfo once connected (`client.check_acl`...); [`ClientInfoBuilder::authenticating`] gives the shape of `client.authenticate` |
//! | [`ConnInfo`] | [`ConnInfo::builder`] | `pub1`'s conninfo in `client.connected` |
//! | [`Message`] (flags, [`Headers`], properties) | [`Message::builder`] | `pub1`'s `message.publish` |
//! | [`Properties`] | [`Properties::builder`] | `#{}` (what v3/v4 clients have) |
//! | [`TopicFilter`] with [`SubOpts`] | [`TopicFilter::builder`] | `{<<"t/#">>, #{qos => 1, nl => 0, rap => 0, rh => 0}}` of `client.subscribe` |
//! | [`SubOpts`] | [`SubOpts::builder`] | the options of `session.subscribed` |
//! | [`SessInfo`] | [`SessInfo::builder`] | `pub1`'s sessinfo in `session.created` |
//! | [`AuthResult`] | [`AuthResult::builder`] | `#{anonymous => true, auth_result => success}` |
//! | [`AclResult`], [`PubSub`], [`ConnackReason`] | plain values | `allow`, `publish`, `success` |
//! | [`Reason`] | [`reason`] | `normal`, `{shutdown, normal}`, `no_subscribers` |
//! | [`Config`] | [`Config::builder`] | the plugin's defaults |
//!
//! [`block_on`] runs a future to completion on the test's thread, for async code your
//! hooks call.

mod block_on;
mod client;
mod config;
mod message;
pub mod reason;
mod values;

pub use block_on::block_on;
pub use client::{ClientInfoBuilder, ConnInfoBuilder};
pub use config::ConfigBuilder;
pub use message::MessageBuilder;
pub use values::{
    AuthResultBuilder, PropertiesBuilder, SessInfoBuilder, SubOptsBuilder, TopicFilterBuilder,
};

#[cfg(doc)]
use crate::{
    config::Config,
    types::{
        AclResult, AuthResult, ClientInfo, ConnInfo, ConnackReason, Headers, Message, Properties,
        PubSub, Reason, SessInfo, SubOpts, TopicFilter,
    },
};

/// Moves `value` to the heap for good and returns a reference that lives as long as the
/// test process: what lets a built view be `Copy` and `'static` like a live one.
pub(crate) fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// Bytes that live as long as the process (for the borrowed fields of eager types).
pub(crate) fn leak_bytes(bytes: &[u8]) -> &'static [u8] {
    Box::leak(bytes.to_vec().into_boxed_slice())
}

/// Text that lives as long as the process.
pub(crate) fn leak_str(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

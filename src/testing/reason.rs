//! The reasons a real EMQX 4.2.14 broker passed to the hooks that take one. Any other
//! reason is a [`Reason`] value built by hand, e.g.
//! `Reason::Tuple(vec![Reason::Atom("shutdown".into()), Reason::Atom("kicked".into())])`.
//!
//! ```
//! use emqx_rust_hook::testing::reason;
//!
//! assert_eq!(reason::terminated().unwrap_shutdown(), &reason::disconnected());
//! assert_eq!(reason::terminated().to_string(), "{shutdown,normal}");
//! ```

use crate::types::Reason;

/// `normal`: `client.disconnected` after a DISCONNECT.
pub fn disconnected() -> Reason {
    Reason::Atom("normal".into())
}

/// `{shutdown, normal}`: `session.terminated` after a DISCONNECT.
pub fn terminated() -> Reason {
    Reason::Tuple(vec![Reason::Atom("shutdown".into()), disconnected()])
}

/// `no_subscribers`: `message.dropped` when nobody subscribed to the topic.
pub fn dropped() -> Reason {
    Reason::Atom("no_subscribers".into())
}

/// The node of `message.dropped`, as captured.
pub const DROPPED_NODE: &str = "emqx@127.0.0.1";

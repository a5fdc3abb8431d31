//! # emqx-rust-hook
//!
//! Write EMQX 4.x broker hooks in Rust. Implement [`Hooks`] for a type of yours (only the
//! hooks you need), put `#[emqx_rust_hook::export]` on the impl block, build the crate
//! as a `cdylib`, and point the `emqx_rust_hook` plugin at the `.so`:
//!
//! ```text
//! use emqx_rust_hook::prelude::*;
//!
//! struct MyHooks;
//!
//! #[emqx_rust_hook::export]
//! impl Hooks for MyHooks {
//!     fn init(_config: &Config) -> Result<Self, InitError> {
//!         Ok(MyHooks)
//!     }
//!
//!     fn client_authenticate(&self, client: &ClientInfo, _acc: &AuthResult) -> AuthDecision {
//!         if client.clientid.is_empty() { AuthDecision::Deny(DenyReason::NotAuthorized) } else { AuthDecision::Allow }
//!     }
//! }
//! ```
//!
//! The plugin registers exactly the hooks the impl block defines. Arguments arrive as
//! typed values borrowed from EMQX's terms ([`types`]); decisions are types
//! ([`decision`]) that the SDK turns into valid EMQX return values.

#![warn(missing_docs)]

pub mod config;
mod counter;
pub mod decision;
// The modules that call the VM (enif_*) are left out of the SDK's own unit-test
// binary, which runs without a BEAM; the integration tests in tests/ run them for real.
#[cfg(not(test))]
pub mod erl;
pub mod hookpoint;
#[cfg(not(test))]
pub mod hooks;
#[cfg(not(test))]
pub mod log;
#[cfg(not(test))]
mod nif;
mod panic;
#[cfg(feature = "tokio")]
pub mod rt;
pub mod spec;
pub mod topic;
pub mod types;
mod workers;

pub use config::{Config, FailedAction, InitError};
pub use emqx_rust_hook_macros::export;
pub use hookpoint::{HookKind, HookPoint};
#[cfg(not(test))]
pub use hooks::Hooks;
pub use spec::{HookSpec, Mode};
pub use workers::deadline;

/// Everything a hook library usually needs, in one `use`.
pub mod prelude {
    pub use crate::config::{Config, FailedAction, InitError};
    pub use crate::decision::*;
    #[cfg(not(test))]
    pub use crate::hooks::Hooks;
    pub use crate::types::*;
}

/// Used by the code `#[export]` generates; not part of the public API.
#[doc(hidden)]
#[cfg(not(test))]
pub mod __private {
    pub use crate::nif::entry::nif_entry;
    pub use rustler::sys::ErlNifEntry;
}

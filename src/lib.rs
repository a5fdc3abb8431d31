//! # emqx-rust-hook
//!
//! Write EMQX 4.x broker hooks in Rust. Implement [`Hooks`] for a type of yours (only the
//! hooks you need), put `#[emqx_rust_hook::export]` on the impl block, build the crate
//! as a `cdylib`, and point the `emqx_rust_hook` plugin at the `.so`:
//!
//! ```no_run
//! use emqx_rust_hook::prelude::*;
//!
//! struct MyHooks {
//!     banned: Vec<String>,
//! }
//!
//! #[emqx_rust_hook::export]
//! impl Hooks for MyHooks {
//!     fn init(config: &Config) -> Result<Self, InitError> {
//!         let banned = config.get("banned").unwrap_or("").split(',').map(String::from);
//!         Ok(MyHooks { banned: banned.collect() })
//!     }
//!
//!     fn client_authenticate(&self, client: &ClientInfo, _acc: AuthResult) -> AuthDecision {
//!         match client.clientid().as_str() {
//!             None | Some("") => AuthDecision::Deny(AuthDenyReason::ClientIdentifierNotValid),
//!             Some(id) if self.banned.iter().any(|b| b == id) => {
//!                 AuthDecision::Deny(AuthDenyReason::Banned)
//!             }
//!             Some(_) => AuthDecision::Abstain,
//!         }
//!     }
//! }
//! ```
//!
//! The plugin registers exactly the hooks the impl block defines. Arguments arrive as
//! typed values borrowed from EMQX's terms ([`types`]); decisions are types
//! ([`decision`]) that the SDK turns into valid EMQX return values.
//!
//! `cargo test` works in a hook crate (x86_64 Linux): the SDK defines the VM's `enif_*`
//! functions as trampolines that the `.so` loaded by the VM points at the VM's own
//! functions, and that abort with `enif_<name> called outside a BEAM` in a test binary.
//! Unit-test decisions and helpers there; hooks, which read live terms, run for real in
//! the integration tests. The hook examples in these docs are doctests marked `no_run`.

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
#[cfg_attr(test, allow(dead_code))]
mod latency;
#[cfg(not(test))]
pub mod log;
mod log_context;
mod logsafe;
#[cfg(not(test))]
mod nif;
mod panic;
#[cfg(test)]
mod proptests;
pub mod rt;
mod scoped;
pub mod spec;
// Test values are views over built data; like the views, left out of the SDK's own
// unit-test binary (tests/testing_values.rs and the doctests exercise them).
#[cfg(not(test))]
pub mod testing;
pub mod topic;
pub mod types;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod vm_symbols;
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
    pub use crate::hookpoint::HookPoint;
    #[cfg(not(test))]
    pub use crate::hooks::Hooks;
    pub use crate::spec::Mode;
    pub use crate::types::*;
}

// The README's examples, compiled as doctests (they use the `tokio` feature).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

/// Used by the code `#[export]` generates; not part of the public API.
#[doc(hidden)]
#[cfg(not(test))]
pub mod __private {
    pub use crate::nif::asyncargs::{args, AsyncArgs, CallFuture, Decided};
    pub use crate::nif::entry::nif_entry;
    pub use rustler::sys::ErlNifEntry;
}

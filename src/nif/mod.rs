//! The NIF side: the code that talks to the VM.
//!
//! - `entry`: the library entry (`nif_init`, load, upgrade, unload) and the per-module
//!   state; `pin` keeps a loaded library mapped.
//! - `lifecycle`: `start/1`, `stop/0`, `stats/0`; `instance`: the started library.
//! - `calls`: the hook NIFs; `dispatch`: one hook call (decode, user code, encode).
//! - `asynccall`: `async fn` hook calls (first poll here, then the SDK's runtime);
//!   `asyncargs`: their arguments and answers; `lazy`: what lets the first poll read
//!   the caller's own terms (a call copies them only when it goes pending).
//! - `offload`: hook calls copied to the SDK's workers (`crate::workers`); `pending`: the
//!   cancellable handle of a pool call.
//! - `watch`: the watchdog of `auto`-mode hooks (the default mode); `latency`: the
//!   sampled per-hook latency behind `rust_hook stats`.
//! - `term`: fast term reads; `decode`/`encode`: terms to values and decisions to terms;
//!   `atoms`: the atoms the SDK uses.
//!
//! The typed views in `crate::types` read their fields through `term`.

pub mod asyncargs;
pub mod asynccall;
pub mod atoms;
pub mod bounds;
pub mod calls;
pub mod decode;
pub mod dispatch;
pub mod encode;
pub mod entry;
pub mod instance;
pub mod latency;
pub mod lazy;
pub mod lifecycle;
pub mod offload;
pub mod pending;
pub mod pin;
pub mod term;
pub mod watch;

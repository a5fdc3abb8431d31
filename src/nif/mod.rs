//! The NIF side: the only code that touches rustler's term API. `entry` is the library
//! entry and per-module state, `calls` the NIF functions, `dispatch` one hook call,
//! `decode`/`encode` the term conversions.

pub mod atoms;
pub mod calls;
pub mod decode;
pub mod dispatch;
pub mod encode;
pub mod entry;
pub mod exec;
pub mod instance;
pub mod job;
pub mod pin;
pub mod term;

//! Test fixture: the same hooks as `reload_hooks`, built as a second library, so that
//! reload tests can alternate two libraries. Its records name this crate.

include!("../../reload_hooks/src/hooks.rs");

//! Test fixture for `emqx_ctl rust_hook reload`. A second library with the same hooks is
//! `reload_hooks_b`; every line either writes names the library that wrote it.

include!("hooks.rs");

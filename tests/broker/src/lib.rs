//! The broker suite's harness: a real EMQX 4.2 broker ([`broker::Broker`]) with the plugin
//! installed as the README tells users, real MQTT 3.1.1 and 5 clients ([`mqtt`]) (both
//! from `testkit/`, which hook crates use for their own scenario tests), and a small
//! runner ([`runner`]) that shares one broker between the cases that need the same
//! setup and always stops it.

pub use emqx_rust_hook_testkit::{broker, mqtt};
pub mod pg;
pub mod runner;

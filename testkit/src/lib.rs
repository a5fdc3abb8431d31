//! # emqx-rust-hook-testkit
//!
//! Scenario tests of a hook library against a real EMQX 4.2 broker, from `cargo test`:
//! the library the test built, loaded by the real `emqx_rust_hook` plugin into a real
//! EMQX, driven by real MQTT 3.1.1 and 5 clients (rumqttc). Add it to a hook crate as a
//! dev-dependency (by path or git, like the SDK) and write tests in `tests/`:
//!
//! ```no_run
//! use emqx_rust_hook_testkit::{HookBroker, Opts};
//!
//! #[test]
//! fn alice_gets_in_and_receives_her_message() {
//!     let broker = HookBroker::for_crate(env!("CARGO_PKG_NAME"))
//!         .init("prefix", "sensors/")
//!         .start();
//!     assert_eq!(broker.connack(&Opts::new("mallory").login("alice", "guess")), 0x04);
//!     let mut sub = broker.connect(&Opts::new("sub").login("alice", "pw")).unwrap();
//!     assert_eq!(sub.subscribe("sensors/#", 1), 1);
//!     let mut publ = broker.connect(&Opts::new("pub").login("alice", "pw")).unwrap();
//!     publ.publish("sensors/1", 1, false, b"21.5");
//!     assert_eq!(sub.recv().payload, b"21.5");
//!     assert_eq!(broker.hook_calls()["client.authenticate"], 3);
//! }
//! ```
//!
//! The broker is `$EMQX_HOME` (an EMQX 4.2 release), else the EMQX 4.2.14 kit beside
//! the SDK checkout, built once into `~/.cache/emqx-rust-hook/`. Without either,
//! [`HookBrokerBuilder::start`] fails the test and says what it needs. Each broker is a
//! private copy of the release on free ports (tests may run in parallel), started in
//! about 5 to 10 s, and stopped when dropped (or by a watchdog if the test process
//! dies); `BROKER_KEEP=1` keeps its directory, with its `log/`, for inspection.
//!
//! The SDK's own broker suite (`tests/broker/`) is written with the same [`broker`] and
//! [`mqtt`] modules.

#![warn(missing_docs)]

pub mod broker;
mod hook_broker;
pub mod mqtt;
mod plugin;

pub use broker::Broker;
pub use hook_broker::{crate_library, emqx_home, HookBroker, HookBrokerBuilder};
pub use mqtt::{Client, Msg, Opts};

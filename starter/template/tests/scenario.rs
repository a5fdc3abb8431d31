//! The library in a real EMQX 4.2 broker, driven by real MQTT clients
//! (emqx-rust-hook-testkit). Needs EMQX_HOME=/path/to/emqx-4.2 (or the EMQX kit beside
//! the SDK checkout); without it, the test fails and says so (`cargo test --lib` and
//! `cargo test --doc` run the other tests alone).

use emqx_rust_hook_testkit::{HookBroker, Opts};

#[test]
fn clients_with_the_password_connect_subscribe_and_publish() {
    let broker = HookBroker::for_crate(env!("CARGO_PKG_NAME"))
        .init("password", "s3cret")
        .start();
    assert_eq!(broker.hooks(), ["client.authenticate"]);

    // CONNACK 4 (bad username or password) for a wrong password, 0 for the right one.
    assert_eq!(broker.connack(&Opts::new("mallory").login("alice", "guess")), 4);
    let mut sub = broker.connect(&Opts::new("sub").login("alice", "s3cret")).unwrap();
    assert_eq!(sub.subscribe("sensors/#", 1), 1); // SUBACK: granted QoS 1
    let mut publ = broker.connect(&Opts::new("pub").login("bob", "s3cret")).unwrap();
    publ.publish("sensors/1/temp", 1, false, b"21.5");

    let m = sub.recv();
    assert_eq!((m.topic.as_str(), m.payload.as_slice()), ("sensors/1/temp", &b"21.5"[..]));
    sub.disconnect();
    publ.disconnect();

    // Three logins reached the hook.
    assert_eq!(broker.hook_calls()["client.authenticate"], 3);
}

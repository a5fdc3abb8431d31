//! The example library in a real EMQX 4.2 broker, from `cargo test` (emqx-rust-hook-testkit):
//! its decisions as real MQTT clients see them, and the hooks that ran.

use emqx_rust_hook_testkit::{HookBroker, Opts};
use std::time::Duration;

#[test]
fn users_publish_and_subscribe_anonymous_clients_do_not() {
    let broker = HookBroker::for_crate(env!("CARGO_PKG_NAME")).start();
    assert_eq!(
        broker.hooks(),
        [
            "client.connect",
            "client.connected",
            "client.authenticate",
            "client.check_acl",
            "message.publish"
        ]
    );

    // Any client id logs in (with or without a password).
    assert_eq!(
        broker.connack(&Opts::new("ex-login").login("alice", "pw")),
        0
    );
    let mut sub = broker
        .connect(&Opts::new("ex-sub").login("alice", "pw"))
        .unwrap();
    let mut anon = broker.connect(&Opts::new("ex-anon")).unwrap();

    // The ACL needs a username: SUBACK 0x80 for the anonymous client.
    assert_eq!(sub.subscribe("ex/#", 1), 1);
    assert_eq!(anon.subscribe("ex/#", 1), 0x80);

    // The anonymous client's publish is dropped; the user's arrives, alone.
    anon.publish("ex/1", 1, false, b"must not arrive");
    let mut publ = broker
        .connect(&Opts::new("ex-pub").login("bob", "pw"))
        .unwrap();
    publ.publish("ex/2", 1, false, b"hello");
    let m = sub.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("ex/2", &b"hello"[..])
    );
    assert!(sub.drain(Duration::from_millis(300)).is_empty());

    // Which hooks ran: 4 logins, 4 ACL checks (2 subscribes, 2 publishes), and
    // message.publish for the allowed message only.
    assert_eq!(broker.await_hook_calls("client.connected", 4), 4);
    let calls = broker.hook_calls();
    assert_eq!(calls["client.authenticate"], 4, "{calls:?}");
    assert_eq!(calls["client.check_acl"], 4, "{calls:?}");
    assert_eq!(calls["message.publish"], 1, "{calls:?}");

    // Its log lines are in the broker's log.
    assert!(broker
        .await_log_line(&["publish: topic=ex/2", "(5 bytes)"])
        .is_some());
    for c in [sub, anon, publ] {
        c.disconnect();
    }
}

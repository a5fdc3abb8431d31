//! native/slow_hooks on a real broker: a panicking hook, a hook slower than
//! `call_timeout`, `failed_action = deny` vs `ignore`, a full notification queue, while
//! other clients keep working.

use broker_tests::broker::{native_lib, Broker, Setup};
use broker_tests::mqtt::{connect, Opts};
use broker_tests::runner::Group;
use std::time::Duration;

fn conf(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "exhook.drivers.rust.call_timeout = 500ms",
        "exhook.drivers.rust.init.sleep_ms = 3000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

pub fn setup() -> Setup {
    Setup {
        lib: Some(native_lib("slow_hooks")),
        conf: conf(&[
            "exhook.drivers.rust.failed_action = ignore",
            "exhook.drivers.rust.failed_action.client_authenticate = deny",
        ]),
        ..Setup::default()
    }
}

pub fn group() -> Group {
    Group {
        name: "failures",
        setup,
        cases: vec![
            (
                "slow login (> call_timeout) with deny: refused, others served meanwhile",
                slow_login_deny,
            ),
            (
                "panicking login with deny: refused, broker keeps serving",
                panic_login_deny,
            ),
            (
                "panicking inline ACL hook with ignore: the chain goes on",
                panic_acl_ignore,
            ),
            (
                "panicking and slow message.publish with ignore: message delivered unchanged",
                publish_failures_ignore,
            ),
            (
                "failures counted in rust_hook stats and logged without the password",
                counted_and_logged,
            ),
            (
                "failed_action switched (deny for ACL, ignore for login) by reloading the plugin",
                switched_actions,
            ),
            (
                "full notification queue: events dropped and counted, clients unaffected",
                full_queue,
            ),
        ],
    }
}

/// A counter of `emqx_ctl rust_hook stats` (`<hook> calls=.. errors=.. ...`).
pub fn stat(b: &Broker, hook: &str, key: &str) -> u64 {
    let text = b.ctl(&["rust_hook", "stats"]).text;
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(hook))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{key}=")))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no {hook} {key} in:\n{text}"))
}

/// A client that logs in, subscribes and gets its own message: the broker serves.
fn served(b: &Broker, id: &str) {
    let mut c = connect(b.mqtt_port, &Opts::new(id).login("ok", "pw")).unwrap();
    assert_eq!(c.subscribe(&format!("served/{id}"), 1), 1);
    c.publish(&format!("served/{id}"), 1, false, b"still here");
    assert_eq!(c.recv().payload, b"still here");
    c.disconnect();
}

fn slow_login_deny(b: &mut Broker) {
    let port = b.mqtt_port;
    let slow =
        std::thread::spawn(move || connect(port, &Opts::new("f-slow").login("slow", "pw")).err());
    // While the slow login waits for its hook, others log in and exchange messages.
    for i in 0..5 {
        served(b, &format!("f-during-slow-{i}"));
    }
    assert_eq!(slow.join().unwrap().as_deref(), Some("NotAuthorized"));
    served(b, "f-after-slow");
}

fn panic_login_deny(b: &mut Broker) {
    for i in 0..3 {
        let r = connect(
            b.mqtt_port,
            &Opts::new(&format!("f-panic-{i}")).login("panic", "hunter2"),
        );
        assert_eq!(r.err().as_deref(), Some("NotAuthorized"));
    }
    assert!(b.ping());
    served(b, "f-after-panic");
}

fn panic_acl_ignore(b: &mut Broker) {
    let mut c = connect(b.mqtt_port, &Opts::new("f-acl").login("ok", "pw")).unwrap();
    // The inline ACL hook panics for panic/...; ignore: it abstains, the file ACL allows.
    assert_eq!(c.subscribe("panic/acl", 1), 1);
    c.disconnect();
    served(b, "f-after-acl");
}

fn publish_failures_ignore(b: &mut Broker) {
    let mut sub = connect(b.mqtt_port, &Opts::new("f-pub-sub").login("ok", "pw")).unwrap();
    assert_eq!(
        sub.subscribe_many(&[("panic/pub", 1), ("slow/pub", 1)]),
        [1, 1]
    );
    let mut p = connect(b.mqtt_port, &Opts::new("f-pub").login("ok", "pw")).unwrap();
    p.publish("panic/pub", 1, false, b"after a panic");
    let m = sub.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("panic/pub", &b"after a panic"[..])
    );
    // Slower than call_timeout: the publisher waits call_timeout, then the message goes on.
    p.publish("slow/pub", 1, false, b"after a timeout");
    let m = sub.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("slow/pub", &b"after a timeout"[..])
    );
    sub.disconnect();
    p.disconnect();
}

fn counted_and_logged(b: &mut Broker) {
    assert!(stat(b, "client.authenticate", "timeouts") >= 1);
    assert!(stat(b, "client.authenticate", "panics") >= 3);
    assert!(stat(b, "client.check_acl", "panics") >= 1);
    assert!(stat(b, "message.publish", "panics") >= 1);
    assert!(stat(b, "message.publish", "timeouts") >= 1);
    let line = b
        .await_log_line(&["client.authenticate", "panic"])
        .unwrap_or_else(|| panic!("no panic line:\n{}", b.log_tail(40)));
    assert!(line.contains("[error]"), "{line}");
    assert!(
        b.await_log_line(&["client.authenticate", "timeout"])
            .is_some(),
        "{}",
        b.log_tail(40)
    );
    assert!(!b.log().contains("hunter2"), "a password reached the log");
}

fn switched_actions(b: &mut Broker) {
    b.write_conf(
        Some(&native_lib("slow_hooks")),
        &conf(&[
            "exhook.drivers.rust.failed_action = deny",
            "exhook.drivers.rust.failed_action.client_authenticate = ignore",
        ]),
    );
    let out = b.ctl(&["plugins", "reload", "emqx_rust_hook"]);
    assert!(out.text.contains("successfully"), "{}", out.text);
    let status = b.ctl(&["rust_hook", "status"]).text;
    assert!(status.contains("failed_action=deny"), "{status}");
    // Login: the panic is ignored, allow_anonymous lets the client in.
    let c = connect(b.mqtt_port, &Opts::new("f-sw-panic").login("panic", "pw")).unwrap();
    c.disconnect();
    // ACL: the panic now denies.
    let mut c = connect(b.mqtt_port, &Opts::new("f-sw-acl").login("ok", "pw")).unwrap();
    assert_eq!(
        c.subscribe_many(&[("panic/acl", 1), ("fine/acl", 1)]),
        [0x80, 1]
    );
    c.disconnect();
    served(b, "f-after-switch");
}

fn full_queue(b: &mut Broker) {
    b.write_conf(
        Some(&native_lib("slow_hooks")),
        &conf(&[
            "exhook.drivers.rust.notify_queue_size = 2",
            "exhook.drivers.rust.pool_size = 1",
            "exhook.drivers.rust.init.notify_sleep_us = 1000000",
        ]),
    );
    let out = b.ctl(&["plugins", "reload", "emqx_rust_hook"]);
    assert!(out.text.contains("successfully"), "{}", out.text);
    // 20 connects: client.connected is queued, each takes 1 s, the queue holds 2.
    let clients: Vec<_> = (0..20)
        .map(|i| {
            connect(
                b.mqtt_port,
                &Opts::new(&format!("f-q-{i}")).login("ok", "pw"),
            )
            .unwrap()
        })
        .collect();
    served(b, "f-q-served");
    for c in clients {
        c.disconnect();
    }
    let dropped = stat(b, "client.connected", "dropped");
    assert!(dropped >= 1, "dropped={dropped}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(b.ping());
}

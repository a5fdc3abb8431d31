//! Captures the hook arguments of a real EMQX broker (`EMQX_HOME`) into
//! `tests/fixtures/emqx-<version>-captures/`: a logging callback on the 19 hookpoints
//! (`testkit/probe/rust_hook_capture.erl`, priority 1000, the plugin not loaded) while real MQTT
//! clients play the scenarios below. The logs have the format of the 4.2.14 captures, and
//! the EUnit tests replay them through the plugin (`tests/rust_hook_decode_tests.erl`).
//!
//! `EMQX_HOME=$(tests/broker/emqx-home.sh 4.4) cargo run --release -p broker-tests --example capture`

use broker_tests::broker::{repo_root, Broker, Setup, Version};
use broker_tests::mqtt::{connect, Opts};
use rumqttc::v5::mqttbytes::v5::{Filter, RetainForwardRule};
use rumqttc::v5::mqttbytes::QoS;
use std::path::Path;
use std::time::Duration;

fn main() {
    let setup = Setup {
        load: false,
        ..Setup::default()
    };
    let b = Broker::start(&setup);
    let release = match b.version {
        Version::V4_2 => "4.2.14",
        Version::V4_4 => "4.4.19",
    };
    let out = repo_root().join(format!("tests/fixtures/emqx-{release}-captures"));
    std::fs::create_dir_all(&out).unwrap();
    b.load_erl_module(&repo_root().join("testkit/probe/rust_hook_capture.erl"));
    let p = b.mqtt_port;
    capture(&b, &out.join("sub-pub.log"), || sub_pub(p));
    capture(&b, &out.join("persistent-session.log"), || persistent(p));
    capture(&b, &out.join("mqtt5-qos2-will.log"), || mqtt5(p));
    println!("captures in {}", out.display());
}

fn capture(b: &Broker, file: &Path, scenario: impl FnOnce()) {
    let v = b.eval(&format!("rust_hook_capture:start(\"{}\").", file.display()));
    assert_eq!(v, "ok");
    scenario();
    // Let the last notifications (disconnects, session terminations) run.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(b.eval("rust_hook_capture:stop()."), "ok");
    // $SYS heartbeats are of no use here and vary: keep only the clients' calls.
    let text = std::fs::read_to_string(file).unwrap();
    let kept: Vec<&str> = text
        .split("\n=== ")
        .filter(|block| !block.contains("<<\"$SYS/"))
        .collect();
    std::fs::write(file, kept.join("\n=== ")).unwrap();
    println!("{}: {} calls", file.display(), kept.len());
}

/// An MQTT 3.1.1 subscriber and a publisher with a login: connect, authenticate,
/// subscribe, ACL, publish, deliver, ack, disconnect.
fn sub_pub(port: u16) {
    let mut sub = connect(port, &Opts::new("sub1")).unwrap();
    assert_eq!(sub.subscribe("t/#", 1), 1);
    let mut publ = connect(port, &Opts::new("pub1").login("alice", "secret")).unwrap();
    publ.publish("t/1", 1, false, b"hello");
    assert_eq!(sub.recv().payload, b"hello");
    publ.disconnect();
    sub.disconnect();
}

/// A persistent session: unsubscribe, publish with no subscriber (message.dropped),
/// reconnect (session.resumed), takeover by a second connection (session.takeovered),
/// clean-start reconnect (session.discarded).
fn persistent(port: u16) {
    let o = Opts::new("persist1").clean(false);
    let mut c = connect(port, &o).unwrap();
    assert_eq!(c.subscribe("t/persist", 1), 1);
    assert_eq!(c.subscribe("t/other", 0), 0);
    c.unsubscribe("t/other");
    c.publish("nosub/x", 1, false, b"nobody");
    c.disconnect();
    let c = connect(port, &o).unwrap();
    let c2 = connect(port, &o).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(c);
    let c3 = connect(port, &Opts::new("persist1").clean(true)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(c2);
    c3.disconnect();
}

/// MQTT 5: CONNECT with User-Property pairs and a session expiry, SUBSCRIBE with options
/// and properties, a QoS 2 publish with properties, a retained message, and a client
/// dropped without DISCONNECT (its will is published).
fn mqtt5(port: u16) {
    let mut o = Opts::new("v5sub").v5().login("bob", "pw5");
    o.user_props = vec![("k1".into(), "v1".into()), ("k1".into(), "v2".into())];
    o.session_expiry = Some(30);
    let mut sub = connect(port, &o).unwrap();
    let mut f = Filter::new("t/v5/#", QoS::ExactlyOnce);
    f.nolocal = true;
    f.preserve_retain = true;
    f.retain_forward_rule = RetainForwardRule::OnNewSubscribe;
    assert_eq!(
        sub.subscribe5(vec![f], vec![("sk".into(), "sv".into())]),
        [2]
    );
    let mut willer = Opts::new("v5will").v5();
    willer.will = Some(("t/v5/will".into(), b"gone".to_vec(), 1, false));
    let w = connect(port, &willer).unwrap();
    let mut publ = connect(port, &Opts::new("v5pub").v5()).unwrap();
    publ.publish_props(
        "t/v5/q2",
        2,
        false,
        b"exactly once",
        vec![("pk".into(), "pv".into())],
    );
    assert_eq!(sub.recv().payload, b"exactly once");
    publ.publish("t/v5/retained", 1, true, b"kept");
    assert_eq!(sub.recv().payload, b"kept");
    w.kill();
    assert_eq!(sub.recv().payload, b"gone");
    publ.publish("t/v5/retained", 1, true, b"");
    let _ = sub.drain(Duration::from_millis(300));
    publ.disconnect();
    sub.disconnect();
}

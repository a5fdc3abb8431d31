//! native/test_hooks (all 19 hooks; reports what it decoded to `rust_hook_probe`),
//! installed by putting its .so into the plugin's priv/ and pointing the conf at it.
//! Every hookpoint is reached by real clients, and what Rust decoded is compared with
//! what the clients sent; then the library's decisions as the clients see them.

use broker_tests::broker::{native_lib, Broker, Setup, Version};
use broker_tests::mqtt::{connect, Client, Opts};
use broker_tests::runner::Group;
use rumqttc::v5::mqttbytes::v5::{Filter, RetainForwardRule};
use rumqttc::v5::mqttbytes::QoS;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

/// Hookpoints whose reports the cases checked.
static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

pub fn setup() -> Setup {
    Setup {
        lib: Some(native_lib("test_hooks")),
        emqx_conf: vec!["mqtt.max_packet_size = 4MB".to_string()],
        mountpoint_listener: true,
        ..Setup::default()
    }
}

pub fn group() -> Group {
    Group {
        name: "hooks",
        setup,
        cases: vec![
            (
                "client.connect/authenticate/connack/connected decode the CONNECT",
                connect_hooks,
            ),
            (
                "MQTT 3.1.1 client: protocol version 4, clean session",
                mqtt311,
            ),
            (
                "client.subscribe/check_acl/session.subscribed: filters with options",
                subscribe_hooks,
            ),
            (
                "message.publish/delivered/acked: 1 MiB binary payload, QoS 1, properties",
                big_publish,
            ),
            ("QoS 2 publish and release", qos2),
            ("retained message delivered to a later subscriber", retained),
            ("will message published when the client drops", will_message),
            ("message.dropped with no subscribers", dropped),
            ("client.unsubscribe/session.unsubscribed", unsubscribe_hooks),
            (
                "session resumed, takeovered and discarded by reconnecting",
                sessions,
            ),
            ("client.disconnected/session.terminated", disconnect_hooks),
            (
                "hook order and terminate reason as the release runs them",
                release_order,
            ),
            ("a mountpoint set on the listener's zone", mountpoint),
            ("all 19 hookpoints reached", all_reached),
            (
                "emqx_ctl rust_hook status/stats and exhook.rust.* metrics",
                ctl_and_metrics,
            ),
            (
                "decision: CONNACK rejected with a code (client.connect)",
                reject_connect,
            ),
            ("decision: login denied, allowed, superuser", auth_decisions),
            (
                "decision: ACL denies subscribe (0x80) and publish (nothing delivered)",
                acl_decisions,
            ),
            (
                "decision: publish rewritten, cancelled, properties added",
                publish_decisions,
            ),
            (
                "decision: subscription list filtered and changed",
                subscribe_decisions,
            ),
            (
                "decision: delivery changed per subscriber",
                deliver_decisions,
            ),
        ],
    }
}

// ---------------------------------------------------------------------------------------
// Reading reports

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| {
        let next = match k.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(k),
        };
        next.unwrap_or(&Value::Null)
    })
}

/// A report, cut short for failure messages (payloads can be 1 MiB).
fn short(v: &Value) -> String {
    let t = v.to_string();
    if t.len() > 600 {
        format!("{}...", &t[..600])
    } else {
        t
    }
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    get(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string in {}", short(v)))
}

/// A binary as the probe writes it: a UTF-8 string or `{"$bytes": [..]}`.
fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(m) if m.contains_key("$bytes") => m["$bytes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect(),
        other => panic!("not a binary: {other}"),
    }
}

/// The client id a report is about.
fn client_of(r: &Value) -> Option<&str> {
    get(r, "clientinfo.clientid")
        .as_str()
        .or_else(|| get(r, "conninfo.clientid").as_str())
        .or_else(|| get(r, "message.from").get(1).and_then(|v| v.as_str()))
}

/// Reports of `hook` about `client`.
fn of<'a>(reports: &'a [Value], hook: &str, client: &str) -> Vec<&'a Value> {
    reports
        .iter()
        .filter(|r| r["hook"] == hook && client_of(r) == Some(client))
        .collect()
}

/// Takes reports until `hook` about `client` has come `n` times; returns all.
fn await_hook(b: &Broker, hook: &str, client: &str, n: usize) -> Vec<Value> {
    let all = b.probe_until(|r| of(r, hook, client).len() >= n);
    assert!(
        of(&all, hook, client).len() >= n,
        "{hook} for {client}: expected {n} report(s), got {:?}",
        all.iter()
            .map(|r| (r["hook"].as_str().unwrap_or("?"), client_of(r)))
            .collect::<Vec<_>>()
    );
    seen(&all);
    all
}

fn seen(reports: &[Value]) {
    let mut s = SEEN.lock().unwrap();
    for r in reports {
        s.insert(r["hook"].as_str().unwrap().to_string());
    }
}

fn one<'a>(reports: &'a [Value], hook: &str, client: &str) -> &'a Value {
    let v = of(reports, hook, client);
    assert_eq!(
        v.len(),
        1,
        "{hook} for {client}: {:?}",
        v.iter().map(|r| short(r)).collect::<Vec<_>>()
    );
    v[0]
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    // {"User-Property": ["Pairs", [[k, v], ...]]}
    get(v, "User-Property")
        .get(1)
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .map(|kv| {
                    (
                        kv[0].as_str().unwrap().into(),
                        kv[1].as_str().unwrap().into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn user(id: &str) -> Opts {
    Opts::new(id).login("user1", "secret")
}

fn sub(b: &Broker, id: &str, filter: &str, qos: u8) -> Client {
    let mut c = connect(b.mqtt_port, &user(id)).unwrap();
    assert_eq!(c.subscribe(filter, qos), qos);
    c
}

// ---------------------------------------------------------------------------------------
// Every hookpoint, decoded values compared with what the clients sent

fn connect_hooks(b: &mut Broker) {
    b.probe_start();
    let mut o = user("hk-conn").v5();
    o.keepalive = 30;
    o.user_props = vec![("k".into(), "v".into()), ("k".into(), "w".into())];
    let c = connect(b.mqtt_port, &o).unwrap();
    // client.connack's decision: a User-Property added to the CONNACK.
    assert_eq!(c.connack_props, [("hook".to_string(), "rust".to_string())]);
    let r = await_hook(b, "client.connected", "hk-conn", 1);
    let conn = one(&r, "client.connect", "hk-conn");
    let ci = &conn["conninfo"];
    assert_eq!(s(ci, "proto_name"), "MQTT");
    assert_eq!(ci["proto_ver"], 5);
    assert_eq!(ci["keepalive"], 30);
    assert_eq!(ci["clean_start"], true);
    assert_eq!(s(ci, "username"), "user1");
    assert_eq!(s(ci, "socktype"), "Tcp");
    let peer = s(ci, "peername");
    assert!(
        peer.starts_with("127.0.0.1:") && peer[10..].parse::<u16>().unwrap() > 0,
        "{peer}"
    );
    assert_eq!(s(ci, "sockname"), format!("127.0.0.1:{}", b.mqtt_port));
    let sent = vec![("k".to_string(), "v".to_string()), ("k".into(), "w".into())];
    assert_eq!(pairs(&conn["props"]), sent);
    assert_eq!(pairs(&ci["conn_props"]), sent);

    let auth = one(&r, "client.authenticate", "hk-conn");
    assert_eq!(s(auth, "password"), "secret");
    // The password never appears in the serialized view.
    assert_eq!(s(auth, "clientinfo.password"), "<redacted>");
    assert_eq!(s(auth, "clientinfo.username"), "user1");
    assert_eq!(s(auth, "clientinfo.peerhost"), "127.0.0.1");
    assert_eq!(get(auth, "clientinfo.sockport"), b.mqtt_port);
    assert_eq!(s(auth, "clientinfo.zone"), "external");
    assert_eq!(s(auth, "clientinfo.protocol"), "mqtt");

    let ack = one(&r, "client.connack", "hk-conn");
    assert_eq!(s(ack, "rc"), "success");
    let connected = one(&r, "client.connected", "hk-conn");
    assert!(get(connected, "conninfo.connected_at").as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(s(connected, "conninfo.peername"), peer);
    // The same client's peer in every hook.
    c.disconnect();
}

fn mqtt311(b: &mut Broker) {
    let mut o = user("hk-v4").clean(false);
    o.keepalive = 45;
    let c = connect(b.mqtt_port, &o).unwrap();
    let r = await_hook(b, "client.connected", "hk-v4", 1);
    let ci = &one(&r, "client.connect", "hk-v4")["conninfo"];
    assert_eq!(s(ci, "proto_name"), "MQTT");
    assert_eq!(ci["proto_ver"], 4);
    assert_eq!(ci["keepalive"], 45);
    assert_eq!(ci["clean_start"], false);
    c.disconnect();
}

fn subscribe_hooks(b: &mut Broker) {
    let mut c = connect(b.mqtt_port, &user("hk-sub").v5()).unwrap();
    let f = |path: &str, qos, nl, rap, rh| Filter {
        path: path.into(),
        qos,
        nolocal: nl,
        preserve_retain: rap,
        retain_forward_rule: rh,
    };
    let codes = c.subscribe5(
        vec![
            f(
                "t/opts/a",
                QoS::AtLeastOnce,
                true,
                true,
                RetainForwardRule::Never,
            ),
            f(
                "t/opts/+",
                QoS::ExactlyOnce,
                false,
                false,
                RetainForwardRule::OnNewSubscribe,
            ),
        ],
        vec![("sp".into(), "1".into())],
    );
    assert_eq!(codes, [1, 2]);
    let r = await_hook(b, "session.subscribed", "hk-sub", 2);
    let cs = one(&r, "client.subscribe", "hk-sub");
    assert_eq!(pairs(&cs["props"]), [("sp".to_string(), "1".to_string())]);
    let filters = cs["filters"].as_array().unwrap();
    assert_eq!(filters.len(), 2);
    assert_eq!(s(&filters[0], "topic"), "t/opts/a");
    assert_eq!(s(&filters[0], "opts.qos"), "AtLeastOnce");
    assert_eq!(
        (
            &filters[0]["opts"]["nl"],
            &filters[0]["opts"]["rap"],
            &filters[0]["opts"]["rh"]
        ),
        (&Value::from(1), &Value::from(1), &Value::from(2))
    );
    assert_eq!(s(&filters[1], "topic"), "t/opts/+");
    assert_eq!(s(&filters[1], "opts.qos"), "ExactlyOnce");
    assert_eq!(
        (
            &filters[1]["opts"]["nl"],
            &filters[1]["opts"]["rap"],
            &filters[1]["opts"]["rh"]
        ),
        (&Value::from(0), &Value::from(0), &Value::from(1))
    );
    let acl: Vec<&str> = of(&r, "client.check_acl", "hk-sub")
        .iter()
        .map(|a| {
            assert_eq!(s(a, "pubsub"), "Subscribe");
            s(a, "topic")
        })
        .collect();
    assert_eq!(acl, ["t/opts/a", "t/opts/+"]);
    let subd = of(&r, "session.subscribed", "hk-sub");
    assert_eq!(s(subd[0], "topic"), "t/opts/a");
    assert_eq!(get(subd[0], "opts.nl"), 1);
    assert_eq!(get(subd[0], "opts.is_new"), true);
    assert_eq!(s(subd[1], "topic"), "t/opts/+");
    c.disconnect();
}

fn big_publish(b: &mut Broker) {
    let mut s5 = connect(b.mqtt_port, &user("hk-big-sub").v5()).unwrap();
    assert_eq!(s5.subscribe("t/big", 1), 1);
    b.probe_take();
    let payload: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    let mut p = connect(b.mqtt_port, &user("hk-big-pub").v5()).unwrap();
    let props = vec![("p".to_string(), "q".to_string())];
    p.publish_props("t/big", 1, false, &payload, props.clone());
    let m = s5.recv();
    assert_eq!(m.payload.len(), payload.len());
    assert!(m.payload == payload, "payload changed on the way");
    assert_eq!(m.user_props, props);
    let r = await_hook(b, "message.acked", "hk-big-sub", 1);
    let pubr = one(&r, "message.publish", "hk-big-pub");
    assert_eq!(s(pubr, "message.topic"), "t/big");
    assert_eq!(s(pubr, "message.qos"), "AtLeastOnce");
    assert_eq!(get(pubr, "message.flags.retain"), false);
    assert_eq!(get(pubr, "message.flags.dup"), false);
    assert_eq!(s(pubr, "message.headers.username"), "user1");
    assert_eq!(get(pubr, "message.headers.proto_ver"), 5);
    assert!(
        bytes(get(pubr, "message.payload")) == payload,
        "decoded payload differs"
    );
    let del = one(&r, "message.delivered", "hk-big-sub");
    assert_eq!(s(del, "message.from.1"), "hk-big-pub");
    assert_eq!(del["message_id"], pubr["message_id"]);
    assert!(bytes(get(del, "message.payload")) == payload);
    let acked = one(&r, "message.acked", "hk-big-sub");
    assert_eq!(acked["message_id"], pubr["message_id"]);
    s5.disconnect();
    p.disconnect();
}

fn qos2(b: &mut Broker) {
    let mut sb = sub(b, "hk-q2-sub", "t/q2", 2);
    b.probe_take();
    let mut p = connect(b.mqtt_port, &user("hk-q2-pub")).unwrap();
    // publish() waits for the PUBCOMP: the broker has received PUBREL and released it.
    p.publish("t/q2", 2, false, b"exactly once");
    let m = sb.recv();
    assert_eq!((m.qos, m.payload.as_slice()), (2, &b"exactly once"[..]));
    let r = await_hook(b, "message.acked", "hk-q2-sub", 1);
    let pubr = one(&r, "message.publish", "hk-q2-pub");
    assert_eq!(s(pubr, "message.qos"), "ExactlyOnce");
    assert_eq!(
        one(&r, "message.delivered", "hk-q2-sub")["message_id"],
        pubr["message_id"]
    );
    assert_eq!(
        s(one(&r, "message.acked", "hk-q2-sub"), "message.qos"),
        "ExactlyOnce"
    );
    assert!(
        sb.drain(Duration::from_millis(200)).is_empty(),
        "delivered twice"
    );
    sb.disconnect();
    p.disconnect();
}

fn retained(b: &mut Broker) {
    let mut p = connect(b.mqtt_port, &user("hk-ret-pub")).unwrap();
    p.publish("t/ret", 1, true, b"kept");
    b.probe_take();
    let mut sb = connect(b.mqtt_port, &user("hk-ret-sub")).unwrap();
    assert_eq!(sb.subscribe("t/ret", 1), 1);
    let m = sb.recv();
    assert_eq!((m.payload.as_slice(), m.retain), (&b"kept"[..], true));
    let r = await_hook(b, "message.delivered", "hk-ret-sub", 1);
    let del = one(&r, "message.delivered", "hk-ret-sub");
    assert_eq!(s(del, "message.topic"), "t/ret");
    assert_eq!(get(del, "message.flags.retain"), true);
    assert_eq!(s(del, "message.from.1"), "hk-ret-pub");
    // Clear it for later cases.
    p.publish("t/ret", 1, true, b"");
    sb.disconnect();
    p.disconnect();
}

fn will_message(b: &mut Broker) {
    let mut w = sub(b, "hk-will-sub", "t/will/#", 1);
    let mut o = user("hk-will");
    o.will = Some(("t/will/hk".into(), b"gone".to_vec(), 1, false));
    let c = connect(b.mqtt_port, &o).unwrap();
    b.probe_take();
    c.kill();
    let m = w.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("t/will/hk", &b"gone"[..])
    );
    let r = await_hook(b, "message.publish", "hk-will", 1);
    let pubr = one(&r, "message.publish", "hk-will");
    assert_eq!(s(pubr, "message.topic"), "t/will/hk");
    assert_eq!(s(pubr, "message.qos"), "AtLeastOnce");
    let r = {
        let mut all = r;
        if of(&all, "client.disconnected", "hk-will").is_empty() {
            all.extend(await_hook(b, "client.disconnected", "hk-will", 1));
        }
        all
    };
    let d = one(&r, "client.disconnected", "hk-will");
    assert_ne!(s(d, "reason"), "normal", "{}", short(d));
    w.disconnect();
}

fn dropped(b: &mut Broker) {
    let mut p = connect(b.mqtt_port, &user("hk-drop")).unwrap();
    b.probe_take();
    p.publish("nosub/x", 1, false, b"nobody listens");
    let r = await_hook(b, "message.dropped", "hk-drop", 1);
    let d = one(&r, "message.dropped", "hk-drop");
    assert_eq!(s(d, "reason"), "no_subscribers");
    assert_eq!(s(d, "node"), b.node);
    assert_eq!(s(d, "message.topic"), "nosub/x");
    assert_eq!(bytes(get(d, "message.payload")), b"nobody listens");
    p.disconnect();
}

fn unsubscribe_hooks(b: &mut Broker) {
    let mut c = sub(b, "hk-unsub", "t/un/#", 1);
    b.probe_take();
    c.unsubscribe("t/un/#");
    let r = await_hook(b, "session.unsubscribed", "hk-unsub", 1);
    let cu = one(&r, "client.unsubscribe", "hk-unsub");
    assert_eq!(s(&cu["filters"][0], "topic"), "t/un/#");
    let su = one(&r, "session.unsubscribed", "hk-unsub");
    assert_eq!(s(su, "topic"), "t/un/#");
    assert_eq!(s(su, "opts.qos"), "AtLeastOnce");
    c.disconnect();
}

fn sessions(b: &mut Broker) {
    let id = "hk-sess";
    let o = user(id).clean(false);
    let mut c = connect(b.mqtt_port, &o).unwrap();
    assert_eq!(c.subscribe("t/sess", 1), 1);
    c.disconnect();
    b.probe_take();
    // Reconnect without clean session: the stored session is resumed.
    let mut c2 = connect(b.mqtt_port, &o).unwrap();
    assert!(c2.session_present);
    let r = await_hook(b, "session.resumed", id, 1);
    let res = one(&r, "session.resumed", id);
    let subs: Vec<&str> = get(res, "sessinfo.subscriptions")
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(f, "topic"))
        .collect();
    assert_eq!(subs, ["t/sess"]);
    assert!(of(&r, "session.created", id).is_empty());
    // The same client id connects while c2 is online: the session is taken over.
    let c3 = connect(b.mqtt_port, &o).unwrap();
    assert!(c3.session_present);
    let why = c2.await_closed();
    let r = await_hook(b, "session.takeovered", id, 1);
    assert_eq!(of(&r, "session.resumed", id).len(), 1, "{why}");
    c3.disconnect();
    b.probe_take();
    // Clean session on an existing session: discarded, a new one created.
    let c4 = connect(b.mqtt_port, &user(id)).unwrap();
    assert!(!c4.session_present);
    let mut r = await_hook(b, "session.discarded", id, 1);
    if of(&r, "session.created", id).is_empty() {
        r.extend(await_hook(b, "session.created", id, 1));
    }
    assert_eq!(of(&r, "session.created", id).len(), 1);
    c4.disconnect();
}

fn disconnect_hooks(b: &mut Broker) {
    let c = connect(b.mqtt_port, &user("hk-bye")).unwrap();
    b.probe_take();
    c.disconnect();
    let mut r = await_hook(b, "client.disconnected", "hk-bye", 1);
    if of(&r, "session.terminated", "hk-bye").is_empty() {
        r.extend(await_hook(b, "session.terminated", "hk-bye", 1));
    }
    let d = one(&r, "client.disconnected", "hk-bye");
    assert_eq!(s(d, "reason"), "normal");
    assert!(get(d, "conninfo.disconnected_at").as_i64().unwrap() > 1_600_000_000_000);
    let t = one(&r, "session.terminated", "hk-bye");
    assert!(s(t, "reason").contains("normal"), "{}", short(t));
}

/// What differs between 4.2 and 4.4 in the notifications (the contract's section 5):
/// 4.4 opens the session before `client.connected` (4.2 after), and unwraps
/// `session.terminated`'s reason (`normal`; 4.2 `{shutdown, normal}`). Both notifications
/// of one client go through the same queue shard, so the reports keep their order.
fn release_order(b: &mut Broker) {
    b.probe_take();
    let c = connect(b.mqtt_port, &user("hk-order")).unwrap();
    let mut r = await_hook(b, "client.connected", "hk-order", 1);
    if of(&r, "session.created", "hk-order").is_empty() {
        r.extend(await_hook(b, "session.created", "hk-order", 1));
    }
    let seq: Vec<&str> = r
        .iter()
        .filter(|v| client_of(v) == Some("hk-order"))
        .filter_map(|v| v["hook"].as_str())
        .filter(|h| *h == "session.created" || *h == "client.connected")
        .collect();
    match b.version {
        Version::V4_2 => assert_eq!(seq, ["client.connected", "session.created"]),
        Version::V4_4 => assert_eq!(seq, ["session.created", "client.connected"]),
    }
    c.disconnect();
    let r = await_hook(b, "session.terminated", "hk-order", 1);
    let reason = s(one(&r, "session.terminated", "hk-order"), "reason");
    match b.version {
        Version::V4_2 => assert!(
            reason != "normal" && reason.contains("shutdown") && reason.contains("normal"),
            "{reason}"
        ),
        Version::V4_4 => assert_eq!(reason, "normal"),
    }
}

fn mountpoint(b: &mut Broker) {
    let port = b.mp_port.unwrap();
    let mut sb = connect(port, &user("hk-mp-sub")).unwrap();
    assert_eq!(sb.subscribe("t/m", 1), 1);
    let mut outside = sub(b, "hk-mp-outside", "mp/t/m", 1);
    b.probe_take();
    let mut p = connect(port, &user("hk-mp-pub")).unwrap();
    p.publish("t/m", 1, false, b"mounted");
    // Inside the mountpoint the topic is t/m; outside it is mp/t/m.
    assert_eq!(sb.recv().topic, "t/m");
    assert_eq!(outside.recv().topic, "mp/t/m");
    let r = await_hook(b, "message.publish", "hk-mp-pub", 1);
    assert_eq!(
        s(one(&r, "message.publish", "hk-mp-pub"), "message.topic"),
        "mp/t/m"
    );
    let a = one(&r, "client.check_acl", "hk-mp-pub");
    assert_eq!(s(a, "clientinfo.mountpoint"), "mp/");
    assert_eq!(s(a, "topic"), "t/m");
    // Message hooks see the mounted topic, so a hook's `topics` filter matches it:
    // test_hooks' message.delivered filter `t/#` does not match `mp/t/m`.
    std::thread::sleep(Duration::from_millis(500));
    let later = b.probe_take();
    assert!(of(&later, "message.delivered", "hk-mp-sub").is_empty());
    assert!(of(&later, "message.delivered", "hk-mp-outside").is_empty());
    for c in [sb, outside, p] {
        c.disconnect();
    }
}

fn all_reached(b: &mut Broker) {
    seen(&b.probe_take());
    let s = SEEN.lock().unwrap();
    let missing: Vec<&str> = [
        "client.connect",
        "client.connack",
        "client.connected",
        "client.disconnected",
        "client.authenticate",
        "client.check_acl",
        "client.subscribe",
        "client.unsubscribe",
        "session.created",
        "session.subscribed",
        "session.unsubscribed",
        "session.resumed",
        "session.discarded",
        "session.takeovered",
        "session.terminated",
        "message.publish",
        "message.delivered",
        "message.acked",
        "message.dropped",
    ]
    .into_iter()
    .filter(|h| !s.contains(*h))
    .collect();
    assert!(missing.is_empty(), "never reached: {missing:?}");
}

/// The value of `name` in `emqx_ctl broker metrics` (lines `name : value`). EMQX 4.2
/// prints names cut to 30 characters, so `exhook.rust.client_authenticate` shows as
/// `exhook.rust.client_authenticat` (and its `.failed` twin the same way): the first
/// line with the cut name is the calls counter (the list is sorted by full name).
pub fn metric(b: &Broker, name: &str) -> Option<u64> {
    let cut: String = name.chars().take(30).collect();
    b.ctl(&["broker", "metrics"]).text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == cut).then(|| v.trim().parse().ok())?
    })
}

fn ctl_and_metrics(b: &mut Broker) {
    let status = b.ctl(&["rust_hook", "status"]).text;
    assert!(status.contains("libtest_hooks.so"), "{status}");
    for h in ["client.connect ", "message.dropped ", "session.takeovered "] {
        assert!(status.contains(h), "{h} missing in {status}");
    }
    assert_eq!(b.hooks_registered(), 19);
    for i in 0..10 {
        connect(b.mqtt_port, &user(&format!("hk-count-{i}")))
            .unwrap()
            .disconnect();
    }
    let stats = b.ctl(&["rust_hook", "stats"]).text;
    let auth = stats
        .lines()
        .find(|l| l.starts_with("client.authenticate") || l.starts_with("client_authenticate"))
        .unwrap_or_else(|| panic!("no authenticate line in {stats}"));
    let calls: u64 = auth
        .split_whitespace()
        .find_map(|w| w.strip_prefix("calls="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{auth}"));
    assert!(calls >= 10, "{auth}");
    // Synced into EMQX's metrics once a second.
    std::thread::sleep(Duration::from_millis(1500));
    let m = metric(b, "exhook.rust.client_authenticate").unwrap_or_else(|| {
        panic!(
            "no exhook.rust.client_authenticate in emqx_ctl broker metrics:\n{}",
            b.ctl(&["broker", "metrics"]).text
        )
    });
    assert!(m >= calls, "metric {m} < calls {calls}");
    // Each metric is created once: EMQX 4.2 logs every emqx_metrics:new/1 of a known name.
    let log = b.log();
    let spam: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("exhook.rust.") && l.contains("already exists"))
        .take(3)
        .collect();
    assert!(spam.is_empty(), "{spam:?}");
}

// ---------------------------------------------------------------------------------------
// Decisions that change what the broker does

fn reject_connect(b: &mut Broker) {
    // test_hooks rejects client id `reject_me` in client.connect with 0x87.
    assert_eq!(
        connect(b.mqtt_port, &user("reject_me").v5())
            .err()
            .as_deref(),
        Some("NotAuthorized")
    );
    // MQTT 3.1.1 has no 0x87: EMQX sends the 3.1.1 code for "not authorized" (5).
    assert_eq!(
        connect(b.mqtt_port, &user("reject_me")).err().as_deref(),
        Some("NotAuthorized")
    );
    // Others still get in.
    connect(b.mqtt_port, &user("hk-not-rejected"))
        .unwrap()
        .disconnect();
}

fn auth_decisions(b: &mut Broker) {
    let wrong = Opts::new("hk-wrong").login("user1", "wrong");
    assert_eq!(
        connect(b.mqtt_port, &wrong).err().as_deref(),
        Some("BadUserNamePassword")
    );
    assert_eq!(
        connect(b.mqtt_port, &wrong.clone().v5()).err().as_deref(),
        Some("BadUserNamePassword")
    );
    // Abstain + allow_anonymous = true: let in.
    connect(
        b.mqtt_port,
        &Opts::new("hk-abstain").login("user1", "other"),
    )
    .unwrap()
    .disconnect();
    // Superuser: EMQX skips ACL checks for it, so `denied/...` is granted.
    let mut su = connect(b.mqtt_port, &Opts::new("hk-super").login("super", "x")).unwrap();
    assert_eq!(su.subscribe("denied/su", 1), 1);
    let mut normal = connect(b.mqtt_port, &user("hk-normal")).unwrap();
    assert_eq!(normal.subscribe("denied/su", 1), 0x80);
    su.disconnect();
    normal.disconnect();
}

fn acl_decisions(b: &mut Broker) {
    let mut c = connect(b.mqtt_port, &user("hk-acl")).unwrap();
    assert_eq!(
        c.subscribe_many(&[("denied/x", 1), ("allowed/x", 1), ("t/acl", 0)]),
        [0x80, 1, 0]
    );
    // Publish: the superuser listens to everything.
    let mut su = connect(b.mqtt_port, &Opts::new("hk-acl-su").login("super", "x")).unwrap();
    assert_eq!(
        su.subscribe_many(&[("denied/#", 1), ("allowed/#", 1)]),
        [1, 1]
    );
    c.publish("denied/x", 1, false, b"dropped by ACL");
    c.publish("allowed/x", 1, false, b"passes");
    let m = su.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("allowed/x", &b"passes"[..])
    );
    assert!(su.drain(Duration::from_millis(300)).is_empty());
    c.disconnect();
    su.disconnect();
}

fn publish_decisions(b: &mut Broker) {
    let mut all = connect(b.mqtt_port, &user("hk-pd-all").v5()).unwrap();
    assert_eq!(
        all.subscribe_many(&[
            ("rewrite/#", 1),
            ("rewritten/#", 1),
            ("cancel/#", 1),
            ("props/#", 1)
        ]),
        [1, 1, 1, 1]
    );
    let mut p = connect(b.mqtt_port, &user("hk-pd-pub").v5()).unwrap();
    p.publish("cancel/a", 1, false, b"cancelled");
    p.publish("rewrite/a", 1, false, b"hello");
    let m = all.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("rewritten/a", &b"HELLO"[..])
    );
    p.publish_props("props/a", 1, false, b"x", vec![("mine".into(), "1".into())]);
    let m = all.recv();
    assert_eq!(m.topic, "props/a");
    assert!(
        m.user_props
            .contains(&("via".to_string(), "rust".to_string())),
        "{:?}",
        m.user_props
    );
    assert!(all.drain(Duration::from_millis(300)).is_empty());
    all.disconnect();
    p.disconnect();
}

fn subscribe_decisions(b: &mut Broker) {
    let mut c = connect(b.mqtt_port, &user("hk-sd")).unwrap();
    let codes = c.subscribe_many(&[
        ("rewrite/me", 1),
        ("qos0/me", 1),
        ("drop/me", 1),
        ("keep/me", 1),
    ]);
    // Only what the hook left is subscribed: rewritten/me, qos0/me at QoS 0, keep/me.
    let subs = b.ctl(&["subscriptions", "show", "hk-sd"]).text;
    let mut topics: Vec<&str> = subs
        .lines()
        .filter_map(|l| l.strip_prefix("hk-sd -> "))
        .collect();
    topics.sort();
    assert_eq!(topics, ["keep/me", "qos0/me", "rewritten/me"], "{subs}");
    let mut p = connect(b.mqtt_port, &user("hk-sd-pub")).unwrap();
    for t in ["drop/me", "rewritten/me", "qos0/me", "keep/me"] {
        p.publish(t, 1, false, t.as_bytes());
    }
    let got: Vec<(String, u8)> = c
        .drain(Duration::from_millis(700))
        .into_iter()
        .map(|m| (m.topic, m.qos))
        .collect();
    assert_eq!(
        got,
        [
            ("rewritten/me".to_string(), 1),
            ("qos0/me".to_string(), 0),
            ("keep/me".to_string(), 1)
        ],
        "SUBACK was {codes:?}"
    );
    match b.version {
        // EMQX 4.2 answers with one SUBACK code per filter the hook returned: 3 codes for
        // the 4 filters sent (MQTT wants one per filter; rumqttc accepts it).
        Version::V4_2 => assert_eq!(codes, [1, 0, 1], "SUBACK codes"),
        // EMQX 4.4 runs the hook after the ACL check and keys the codes by the filters
        // the client sent: a filter the hook removed or renamed keeps its ACL-stage code
        // 0x00 (so `rewrite/me` and `drop/me` read "granted QoS 0"), `qos0/me` gets the
        // QoS the hook set, `keep/me` its own.
        Version::V4_4 => assert_eq!(codes, [0, 0, 0, 1], "SUBACK codes"),
    }
    c.disconnect();
    p.disconnect();
}

fn deliver_decisions(b: &mut Broker) {
    let mut a = sub(b, "hk-dd-a", "up/#", 1);
    let mut other = sub(b, "hk-dd-b", "up/+", 1);
    let mut p = connect(b.mqtt_port, &user("hk-dd-pub")).unwrap();
    p.publish("up/x", 1, false, b"shout");
    assert_eq!(a.recv().payload, b"SHOUT");
    let m = other.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("up/x", &b"SHOUT"[..])
    );
    for c in [a, other, p] {
        c.disconnect();
    }
}

//! The example library (native/example_hook), installed exactly as `make plugin` builds
//! it: its decisions as real clients see them, and its log lines in the broker's log.

use broker_tests::broker::{Broker, Setup};
use broker_tests::mqtt::{connect, raw_connect, Opts};
use broker_tests::runner::Group;
use std::time::Duration;

pub fn group() -> Group {
    Group {
        name: "example",
        setup: Setup::default,
        cases: vec![
            ("plugin loaded and listed", loaded),
            ("login allowed for a client id", login_allowed),
            (
                "empty client id: EMQX assigns one before authenticate",
                empty_client_id,
            ),
            ("subscribe without username: SUBACK 0x80", subscribe_denied),
            (
                "publish without username: nothing delivered",
                publish_denied,
            ),
            ("allowed traffic flows, QoS 0/1/2", allowed_flows),
            (
                "MQTT 5 user properties reach the subscriber intact",
                user_properties,
            ),
            ("library log lines in the broker log", log_lines),
            (
                "emqx_ctl rust_hook disable/enable: a disabled hook does not run",
                disable_enable,
            ),
            (
                "latency p50/p99/max in rust_hook stats and as EMQX metrics",
                latency,
            ),
        ],
    }
}

fn user(id: &str) -> Opts {
    Opts::new(id).login("alice", "pw")
}

fn loaded(b: &mut Broker) {
    let list = b.ctl(&["plugins", "list"]).text;
    assert!(
        list.lines()
            .any(|l| l.contains("Plugin(emqx_rust_hook,") && l.contains("active=true")),
        "{list}"
    );
    let status = b.ctl(&["rust_hook", "status"]).text;
    assert!(status.contains("libexample_hook.so"), "{status}");
    // The example implements 5 hooks: exactly those are registered, once each.
    let counts = b.hook_counts();
    let ours: Vec<&str> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(h, _)| h.as_str())
        .collect();
    assert_eq!(
        ours,
        [
            "client.connect",
            "client.connected",
            "client.authenticate",
            "client.check_acl",
            "message.publish"
        ],
        "{counts:?}"
    );
    assert!(counts.iter().all(|(_, n)| *n <= 1), "{counts:?}");
}

fn login_allowed(b: &mut Broker) {
    let c = connect(b.mqtt_port, &Opts::new("ex-login")).expect("login with a client id");
    c.disconnect();
}

/// The example denies an empty client id, but a real 4.2 broker assigns a client id to
/// a clean-session client with an empty one before `client.authenticate` runs, so the
/// login succeeds; without clean session, EMQX itself refuses it (0x02).
fn empty_client_id(b: &mut Broker) {
    assert_eq!(raw_connect(b.mqtt_port, "", true), 0x00);
    assert_eq!(raw_connect(b.mqtt_port, "", false), 0x02);
}

fn subscribe_denied(b: &mut Broker) {
    let mut c = connect(b.mqtt_port, &Opts::new("ex-anon-sub")).unwrap();
    assert_eq!(c.subscribe("ex/denied", 1), 0x80);
    let mut c5 = connect(b.mqtt_port, &Opts::new("ex-anon-sub5").v5()).unwrap();
    let codes = c5.subscribe_many(&[("ex/denied", 1)]);
    assert!(codes[0] >= 0x80, "MQTT 5 SUBACK {codes:?}");
    let mut u = connect(b.mqtt_port, &user("ex-user-sub")).unwrap();
    assert_eq!(u.subscribe("ex/denied", 1), 1);
    c.disconnect();
    c5.disconnect();
    u.disconnect();
}

fn publish_denied(b: &mut Broker) {
    let mut sub = connect(b.mqtt_port, &user("ex-pd-sub")).unwrap();
    assert_eq!(sub.subscribe("ex/pd/#", 1), 1);
    let mut anon = connect(b.mqtt_port, &Opts::new("ex-pd-anon")).unwrap();
    anon.publish("ex/pd/1", 1, false, b"must not arrive");
    anon.publish("ex/pd/0", 0, false, b"must not arrive");
    // A message that is allowed, sent after the denied ones, arrives first and alone.
    let mut pubr = connect(b.mqtt_port, &user("ex-pd-user")).unwrap();
    pubr.publish("ex/pd/ok", 1, false, b"allowed");
    let m = sub.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("ex/pd/ok", &b"allowed"[..])
    );
    assert!(sub.drain(Duration::from_millis(300)).is_empty());
    for c in [sub, anon, pubr] {
        c.disconnect();
    }
}

fn allowed_flows(b: &mut Broker) {
    let mut sub = connect(b.mqtt_port, &user("ex-flow-sub")).unwrap();
    assert_eq!(sub.subscribe_many(&[("ex/flow/#", 2)]), [2]);
    let mut p = connect(b.mqtt_port, &user("ex-flow-pub")).unwrap();
    for q in 0..=2u8 {
        p.publish(
            &format!("ex/flow/{q}"),
            q,
            false,
            format!("q{q}").as_bytes(),
        );
        let m = sub.recv();
        assert_eq!(m.topic, format!("ex/flow/{q}"));
        assert_eq!(m.payload, format!("q{q}").into_bytes());
        assert_eq!(m.qos, q);
    }
    sub.disconnect();
    p.disconnect();
}

fn user_properties(b: &mut Broker) {
    let mut sub = connect(b.mqtt_port, &user("ex-up-sub").v5()).unwrap();
    assert_eq!(sub.subscribe("ex/up", 1), 1);
    let mut p = connect(b.mqtt_port, &user("ex-up-pub").v5()).unwrap();
    let props = vec![
        ("a".to_string(), "1".to_string()),
        ("b".to_string(), "2".to_string()),
        ("a".to_string(), "3".to_string()),
        ("ünï".to_string(), "cödé".to_string()),
    ];
    p.publish_props("ex/up", 1, false, b"with props", props.clone());
    let m = sub.recv();
    assert_eq!(m.payload, b"with props");
    assert_eq!(m.user_props, props);
    sub.disconnect();
    p.disconnect();
}

fn log_lines(b: &mut Broker) {
    assert!(
        b.await_log_line(&[&format!(
            "example hook library started (EMQX {}.",
            b.version.name()
        )])
        .is_some(),
        "{}",
        b.log_tail(40)
    );
    // The clients stay connected until their line is logged: the plugin's logger reads
    // the client's logger metadata from its connection process, which must still live
    // (the line is written a moment after the hook ran, more so on a busy machine).
    let c = connect(b.mqtt_port, &user("ex-log-client")).unwrap();
    let line = b
        .await_log_line(&["client connecting: clientid=ex-log-client"])
        .unwrap_or_else(|| panic!("no connect line:\n{}", b.log_tail(40)));
    c.disconnect();
    assert!(line.contains("[info]"), "{line}");
    // Named like EMQX's own client lines (`clientid@IP:Port`, from the logger metadata;
    // EMQX 4.2's formatter prints the binary client id as `<<"...">>`).
    assert!(names_client(&line, "ex-log-client"), "{line}");
    let mut p = connect(b.mqtt_port, &user("ex-log-pub")).unwrap();
    p.publish("ex/log", 1, false, b"logged payload");
    let line = b
        .await_log_line(&["example_hook: publish: topic=ex/log", "logged payload"])
        .unwrap_or_else(|| panic!("no publish line:\n{}", b.log_tail(20)));
    p.disconnect();
    assert!(names_client(&line, "ex-log-pub"), "{line}");
}

/// The line starts, after time and level, with `id@127.0.0.1:Port` as EMQX's formatter
/// prints its logger metadata `clientid` and `peername`.
fn names_client(line: &str, id: &str) -> bool {
    [
        format!("] {id}@127.0.0.1:"),
        format!("] <<\"{id}\">>@127.0.0.1:"),
    ]
    .iter()
    .any(|p| line.contains(p.as_str()))
}

/// `calls=` of `hook` in `emqx_ctl rust_hook stats`, and the whole line.
fn stats_line(b: &Broker, hook: &str) -> (u64, String) {
    let stats = b.ctl(&["rust_hook", "stats"]).text;
    let line = stats
        .lines()
        .find(|l| l.starts_with(hook))
        .unwrap_or_else(|| panic!("no {hook} line in {stats}"))
        .to_string();
    (field(&line, "calls"), line)
}

fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
}

fn acl_count(b: &Broker) -> u32 {
    b.hook_counts()
        .into_iter()
        .find(|(h, _)| h == "client.check_acl")
        .map(|(_, n)| n)
        .unwrap()
}

/// The example denies a subscribe without username (its `client.check_acl`). Each step
/// uses a new client: EMQX caches ACL results per connection.
fn disable_enable(b: &mut Broker) {
    let anon_sub = |id: &str| {
        let mut c = connect(b.mqtt_port, &Opts::new(id)).unwrap();
        let code = c.subscribe("ex/switch", 1);
        c.disconnect();
        code
    };
    assert_eq!(anon_sub("ex-sw-1"), 0x80);
    let out = b.ctl(&["rust_hook", "disable", "client.check_acl"]).text;
    assert!(out.contains("client.check_acl disabled"), "{out}");
    assert_eq!(acl_count(b), 0);
    let status = b.ctl(&["rust_hook", "status"]).text;
    assert!(
        status
            .lines()
            .any(|l| l.contains("client.check_acl") && l.contains("DISABLED")),
        "{status}"
    );
    let (before, _) = stats_line(b, "client.check_acl");
    // Not registered: EMQX's own default (acl_nomatch = allow) decides, Rust is not called.
    assert_eq!(anon_sub("ex-sw-2"), 1);
    assert_eq!(stats_line(b, "client.check_acl").0, before);
    // The other hooks still run.
    let (auth0, _) = stats_line(b, "client.authenticate");
    assert_eq!(anon_sub("ex-sw-3"), 1);
    assert!(stats_line(b, "client.authenticate").0 > auth0);
    let out = b.ctl(&["rust_hook", "enable", "client_check_acl"]).text;
    assert!(out.contains("client.check_acl enabled"), "{out}");
    assert_eq!(acl_count(b), 1);
    assert_eq!(anon_sub("ex-sw-4"), 0x80);
    assert!(stats_line(b, "client.check_acl").0 > before);
    // A name the library does not implement is refused, nothing changes.
    let out = b.ctl(&["rust_hook", "disable", "message.delivered"]).text;
    assert!(out.contains("not a hook of the loaded library"), "{out}");
    assert_eq!(b.hooks_registered(), 5);
}

fn latency(b: &mut Broker) {
    for i in 0..5 {
        connect(b.mqtt_port, &user(&format!("ex-lat-{i}")))
            .unwrap()
            .disconnect();
    }
    // The metrics publisher runs once a second; no hook runs while we read.
    std::thread::sleep(Duration::from_millis(1500));
    let (calls, line) = stats_line(b, "client.authenticate");
    // Each scheduler thread times its first call of each hook and then one in 16
    // (`latency_sample`): at least one call in 16 was timed, and no call twice.
    let samples = field(&line, "samples");
    assert!(
        samples >= 1 && samples * 16 >= calls && samples <= calls,
        "{line}"
    );
    let (p50, p99, max) = (
        field(&line, "p50_us"),
        field(&line, "p99_us"),
        field(&line, "max_us"),
    );
    assert!(p50 <= p99 && p99 <= max, "{line}");
    let gauges = b.eval(
        "list_to_tuple([emqx_metrics:val(N) || N <- ['exhook.rust.client_authenticate.p50_us', \
          'exhook.rust.client_authenticate.p99_us', 'exhook.rust.client_authenticate.max_us']]).",
    );
    assert_eq!(gauges, format!("{{{p50},{p99},{max}}}"), "{line}");
}

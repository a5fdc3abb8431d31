//! native/async_fn_hooks on a real broker: while 100 `async fn` logins await (past
//! `call_timeout`), 20 logins of the same hook that do not await are served; the 100
//! then fall back (`failed_action = deny`: CONNACK not authorized) and their futures are
//! dropped (each `Drop` reports to the probe). And bytes an `async fn` borrowed from its
//! arguments before a pending await are the client's after it (the `hold_all` login and
//! the `hold/` messages of the fixture).

use broker_tests::broker::{native_lib, Broker, Setup};
use broker_tests::mqtt::{connect, Opts};
use broker_tests::runner::Group;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn setup() -> Setup {
    Setup {
        lib: Some(native_lib("async_fn_hooks")),
        conf: vec![
            // Long enough that 20 other logins are surely served before the awaiting
            // ones fall back, whatever the machine's load: ordering, not timing.
            "exhook.drivers.rust.call_timeout = 4s".into(),
            "exhook.drivers.rust.failed_action.client_authenticate = deny".into(),
            "exhook.drivers.rust.init.sleep_ms = 60000".into(),
        ],
        ..Setup::default()
    }
}

pub fn group() -> Group {
    Group {
        name: "async",
        setup,
        cases: vec![
            (
                "100 awaiting async logins: 20 others served first, the 100 refused at \
                 call_timeout, their futures dropped",
                pending_logins,
            ),
            (
                "bytes borrowed before a pending await (client id, password, topic, small \
                 and large payloads, publisher, header) are the client's after it",
                bytes_held_across_await,
            ),
        ],
    }
}

fn in_flight(b: &Broker) -> u64 {
    b.eval("maps:get(in_flight, maps:get('client.authenticate', emqx_rust_hook_nif:stats())).")
        .parse()
        .unwrap()
}

fn pending_logins(b: &mut Broker) {
    b.probe_start();
    let port = b.mqtt_port;
    let fast_done = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..100)
        .map(|i| {
            let fast_done = fast_done.clone();
            std::thread::spawn(move || {
                let r = connect(
                    port,
                    &Opts::new(&format!("a-sleep-{i}")).login("sleep", "pw"),
                );
                (r.err(), fast_done.load(Ordering::SeqCst))
            })
        })
        .collect();
    let t0 = Instant::now();
    while in_flight(b) < 100 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the 100 logins never all pended"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let fast: Vec<_> = (0..20)
        .map(|i| {
            let fast_done = fast_done.clone();
            std::thread::spawn(move || {
                let c = connect(port, &Opts::new(&format!("a-fast-{i}")).login("fast", "pw"));
                let ok = c.map(|c| c.disconnect()).is_ok();
                fast_done.fetch_add(1, Ordering::SeqCst);
                ok
            })
        })
        .collect();
    for f in fast {
        assert!(f.join().unwrap(), "a login that does not await was refused");
    }
    for s in slow {
        let (err, fast_before) = s.join().unwrap();
        assert_eq!(err.as_deref(), Some("NotAuthorized"));
        // Every fast login had its answer before this awaiting one fell back.
        assert_eq!(fast_before, 20);
    }
    // The 100 futures were dropped (cancelled): each Drop reported.
    let t0 = Instant::now();
    let mut drops = 0;
    while drops < 100 && t0.elapsed() < Duration::from_secs(30) {
        drops += b
            .probe_take()
            .iter()
            .filter(|r| r.to_string().contains("a-sleep-"))
            .count();
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(drops, 100);
    assert_eq!(in_flight(b), 0);
}

fn bytes_held_across_await(b: &mut Broker) {
    b.probe_start();
    // While the calls await, every process of the node is collected again and again and
    // garbage is made: a caller's heap moves and its old memory is reused, so bytes kept
    // from the caller's heap instead of the call's own would be seen to change.
    b.eval(
        "register(held_churn, spawn(fun() -> L = fun L(N) -> \
            _ = [erlang:garbage_collect(P) || P <- processes()], \
            _ = [binary:copy(<<\"x\">>, 48) || _ <- lists:seq(1, 2000)], \
            receive stop -> ok after 0 -> L(N + 1) end end, L(0) end)).",
    );
    let port = b.mqtt_port;
    let clients: Vec<_> = (0..20)
        .map(|i| {
            std::thread::spawn(move || {
                let id = format!("held-{i}");
                // More than 64 bytes: a binary off the client's heap; the rest are on it.
                let password = format!("pw-{i}-").repeat(20);
                let (small, big) = (format!("small-{i}"), format!("big-{i}-").repeat(30));
                let mut c = connect(port, &Opts::new(&id).login("hold_all", &password))
                    .expect("a hold_all login is allowed");
                c.publish(&format!("hold/{id}/s"), 1, false, small.as_bytes());
                c.publish(&format!("hold/{id}/b"), 1, false, big.as_bytes());
                c.disconnect();
                (id, password, small, big)
            })
        })
        .collect();
    let cases: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    b.eval("held_churn ! stop.");
    // The fixture's async client_connected reports too: only the held ones count here.
    let held = |r: &serde_json::Value| r[0].as_str().is_some_and(|t| t.starts_with("held_"));
    let reports = b.probe_until(|r| r.iter().filter(|v| held(v)).count() >= 3 * cases.len());
    // {held_all, Id, Password, Mountpoint, SameAfter} and {held_msg, Topic, Payload, From,
    // HeaderUser, UserProperty, SameAfter} (see native/async_fn_hooks).
    let mut want: Vec<serde_json::Value> = Vec::new();
    for (id, password, small, big) in &cases {
        want.push(serde_json::json!(["held_all", id, password, "", true]));
        for (suffix, payload) in [("s", small), ("b", big)] {
            let topic = format!("hold/{id}/{suffix}");
            want.push(serde_json::json!([
                "held_msg", topic, payload, id, "hold_all", "", true
            ]));
        }
    }
    let key = |v: &serde_json::Value| v.to_string();
    let mut got: Vec<_> = reports.into_iter().filter(held).collect();
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got, want);
}

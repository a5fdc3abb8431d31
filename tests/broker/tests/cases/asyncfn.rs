//! native/async_fn_hooks on a real broker: while 100 `async fn` logins await (past
//! `call_timeout`), 20 logins of the same hook that do not await are served; the 100
//! then fall back (`failed_action = deny`: CONNACK not authorized) and their futures are
//! dropped (each `Drop` reports to the probe).

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
        cases: vec![(
            "100 awaiting async logins: 20 others served first, the 100 refused at \
             call_timeout, their futures dropped",
            pending_logins,
        )],
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

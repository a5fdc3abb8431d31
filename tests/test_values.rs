//! The test values of `emqx_rust_hook::testing`, read through the views' accessors: every
//! setter reaches its accessor, and `None` makes a field absent. (That each default reads
//! like the captured term it is modelled on is checked in a real BEAM:
//! tests/rust_hook_testing_values_tests.erl.)

use emqx_rust_hook::prelude::*;
use emqx_rust_hook::testing::{block_on, reason};
use std::net::{IpAddr, SocketAddr};

#[test]
fn client_info_setters() {
    let ip: IpAddr = "10.0.0.5".parse().unwrap();
    let c = ClientInfo::builder()
        .zone(Zone::Internal)
        .protocol(Protocol::MqttSn)
        .peerhost(ip)
        .sockport(8883)
        .clientid(b"\xffid".as_slice())
        .username("bob")
        .password("pw")
        .mountpoint("mp/")
        .is_bridge(true)
        .is_superuser(true)
        .anonymous(false)
        .auth_result(ConnackReason::NotAuthorized)
        .cn("cn1")
        .dn("dn1")
        .build();
    assert_eq!(c.zone(), Some(Zone::Internal));
    assert_eq!(c.protocol(), Some(Protocol::MqttSn));
    assert_eq!(c.peerhost(), Some(ip));
    assert_eq!(c.sockport(), Some(8883));
    assert_eq!(c.clientid().as_bytes(), b"\xffid");
    assert_eq!(c.username(), Some("bob".into()));
    assert!(c.password().unwrap().matches(b"pw"));
    assert_eq!(c.mountpoint(), Some("mp/".into()));
    assert!(c.is_bridge() && c.is_superuser());
    assert_eq!(c.anonymous(), Some(false));
    assert_eq!(c.auth_result(), Some(ConnackReason::NotAuthorized));
    assert_eq!((c.cn(), c.dn()), (Some("cn1".into()), Some("dn1".into())));
    // The password never prints, also from a built value.
    assert!(!format!("{c:?}").contains("pw\""), "{c:?}");

    let none = ClientInfo::builder()
        .zone(None)
        .peerhost(None)
        .username(None)
        .auth_result(None)
        .build();
    assert_eq!(
        (
            none.zone(),
            none.peerhost(),
            none.username(),
            none.auth_result()
        ),
        (None, None, None, None)
    );
    assert_eq!(none.password().map(|p| p.expose().to_vec()), None);
}

#[test]
fn conn_info_setters() {
    let peer: SocketAddr = "[2001:db8::1]:4000".parse().unwrap();
    let props = Properties::builder()
        .int(PropName::SessionExpiryInterval, 60)
        .build();
    let c = ConnInfo::builder()
        .socktype(SockType::Ws)
        .peername(peer)
        .peercert(PeerCert::Der(Bytes(b"DER")))
        .conn_mod("emqx_ws_connection")
        .proto_name("MQTT")
        .proto_ver(5)
        .clean_start(false)
        .clientid("c5")
        .conn_props(props)
        .expiry_interval(60)
        .disconnected()
        .build();
    assert_eq!(c.socktype(), Some(SockType::Ws));
    assert_eq!(c.peername(), Some(peer));
    assert_eq!(c.peercert(), PeerCert::Der(Bytes(b"DER")));
    assert_eq!(c.conn_mod(), Some("emqx_ws_connection"));
    assert_eq!((c.proto_ver(), c.clean_start()), (Some(5), false));
    assert_eq!(c.clientid(), "c5");
    assert_eq!(
        c.conn_props().int(PropName::SessionExpiryInterval),
        Some(60)
    );
    assert_eq!(c.expiry_interval(), Some(60));
    assert_eq!(c.disconnected_at(), Some(1_795_643_044_431));
    assert_eq!(c.disconn_props(), Some(Properties::new()));
    assert_eq!(
        ConnInfo::builder().connecting().build().connected_at(),
        None
    );
}

#[test]
fn message_setters() {
    let m = Message::builder()
        .id([7; 16])
        .qos(QoS::ExactlyOnce)
        .from(Publisher::System("emqx_sys"))
        .dup(true)
        .sys(true)
        .topic("$SYS/brokers")
        .payload([0u8, 1, 2])
        .timestamp(5)
        .username(None)
        .proto_ver(5)
        .allow_publish(false)
        .retained(true)
        .deliver_begin_at(9)
        .properties(
            Properties::builder()
                .user_property("a", "1")
                .user_property("a", "2")
                .bin(PropName::ResponseTopic, "r/1")
                .build(),
        )
        .build();
    assert_eq!(m.id(), MessageId([7; 16]));
    assert_eq!(m.qos(), QoS::ExactlyOnce);
    assert_eq!(m.from(), Publisher::System("emqx_sys"));
    let f = m.flags();
    assert!(f.dup && f.sys && !f.retain && !f.nl);
    assert!(m.is_sys_topic());
    assert_eq!(m.payload().as_bytes(), [0, 1, 2]);
    assert_eq!(m.timestamp(), 5);
    let h = m.headers();
    assert_eq!((h.username(), h.proto_ver()), (None, Some(5)));
    assert_eq!(h.allow_publish(), Some(false));
    assert!(h.retained());
    assert_eq!(h.deliver_begin_at(), Some(9));
    let props = h.properties();
    let pairs: Vec<_> = props
        .user_properties()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(pairs, [("a".into(), "1".into()), ("a".into(), "2".into())]);
    assert_eq!(props.bin(PropName::ResponseTopic), Some("r/1".into()));
    let from_client = Message::builder().from_client("c9").build();
    assert_eq!(from_client.from(), Publisher::Client("c9".into()));
}

#[test]
fn subscriptions_sessions_and_results() {
    let t = TopicFilter::builder("a/+")
        .qos(QoS::AtMostOnce)
        .share("g")
        .build();
    assert_eq!((t.topic, t.opts.qos), ("a/+", Some(QoS::AtMostOnce)));
    assert_eq!(t.opts.share.as_deref(), Some("g"));
    assert_eq!(t.opts.is_new, None);
    let unsub = TopicFilter::builder("u/1").opts(SubOpts::default()).build();
    assert_eq!(unsub.opts, SubOpts::default());

    let o = SubOpts::builder().nl(1).rap(1).rh(2).subid(7).build();
    assert_eq!(
        (o.nl, o.rap, o.rh, o.subid),
        (Some(1), Some(1), Some(2), Some(7))
    );
    assert_eq!(o.is_new, Some(true));

    let s = SessInfo::builder()
        .subscription("t/#", SubOpts::builder().is_new(None).build())
        .upgrade_qos(true)
        .build();
    assert_eq!(s.subscriptions.len(), 1);
    assert!(s.upgrade_qos);
    assert_eq!(s.retry_interval, Some(30));

    let a = AuthResult::builder()
        .is_superuser(true)
        .anonymous(None)
        .build();
    assert_eq!(
        a,
        AuthResult {
            auth_result: Some(ConnackReason::Success),
            anonymous: None,
            is_superuser: Some(true)
        }
    );
    assert_eq!(reason::dropped().as_atom(), Some("no_subscribers"));
}

#[test]
fn config_and_block_on() {
    let c = Config::builder()
        .set("db_password", "hunter2")
        .pool_size(2)
        .mode(HookPoint::ClientAuthenticate, Mode::Inline)
        .emqx_version("4.4.19")
        .build();
    assert_eq!(c.get("db_password"), Some("hunter2"));
    assert!(!format!("{c:?}").contains("hunter2"));
    assert_eq!(c.pool_size(), 2);
    assert_eq!(c.mode(HookPoint::ClientAuthenticate), Some(Mode::Inline));
    assert_eq!(c.emqx_minor_version(), Some((4, 4)));

    // A future woken from another thread.
    let (tx, rx) = std::sync::mpsc::channel::<u32>();
    let fut = async move {
        std::thread::spawn(move || tx.send(42).unwrap());
        std::future::poll_fn(|cx| match rx.try_recv() {
            Ok(v) => std::task::Poll::Ready(v),
            Err(_) => {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await
    };
    assert_eq!(block_on(fut), 42);
}

/// `Config::builder()` has the plugin's defaults, which are set in one place:
/// erlang/include/emqx_rust_hook.hrl.
#[test]
fn config_defaults_are_the_plugins() {
    let hrl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/erlang/include/emqx_rust_hook.hrl"
    ))
    .unwrap();
    let default = |name: &str| -> String {
        let key = format!("-define(DEFAULT_{name},");
        let line = hrl.lines().find(|l| l.starts_with(&key)).expect(name);
        line[key.len()..]
            .split(')')
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    let c = Config::builder().build();
    assert_eq!(
        c.call_timeout().as_millis().to_string(),
        default("CALL_TIMEOUT")
    );
    assert_eq!(c.hook_priority().to_string(), default("HOOK_PRIORITY"));
    assert_eq!(c.pool_size().to_string(), default("POOL_SIZE"));
    assert_eq!(c.pool_max_size().to_string(), default("POOL_MAX_SIZE"));
    assert_eq!(
        c.async_max_in_flight().to_string(),
        default("ASYNC_MAX_IN_FLIGHT")
    );
    assert_eq!(
        c.notify_queue_size().to_string(),
        default("NOTIFY_QUEUE_SIZE")
    );
    assert_eq!(format!("{:?}", c.failed_action()), "Ignore");
    assert_eq!(default("FAILED_ACTION"), "ignore");
    assert_eq!(format!("{:?}", c.overflow()), "DropNewest");
    assert_eq!(default("OVERFLOW"), "drop_newest");
    // Every default of the hrl is checked above, except `latency_sample` and
    // `reload_drain`, which only the plugin (Erlang) reads.
    assert!(hrl.contains("-define(DEFAULT_LATENCY_SAMPLE,"));
    assert!(hrl.contains("-define(DEFAULT_RELOAD_DRAIN,"));
    assert_eq!(hrl.matches("-define(DEFAULT_").count(), 10);
    // The SDK version the plugin speaks is this crate's.
    assert!(hrl.contains(&format!(
        "-define(SDK_VERSION, <<\"{}\">>).",
        env!("CARGO_PKG_VERSION")
    )));
}

#[test]
fn a_built_password_never_shows_in_debug() {
    let builder = ClientInfo::builder().password("hunter2-pw");
    let c = builder.clone().build();
    assert!(c.password().unwrap().matches(b"hunter2-pw"));
    for text in [format!("{builder:?}"), format!("{c:?}")] {
        assert!(!text.contains("hunter2"), "{text}");
        // Nor as the byte list a derived Debug of the bytes would print.
        assert!(!text.contains("104, 117, 110"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }
}

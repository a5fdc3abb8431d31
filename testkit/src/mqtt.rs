//! Real MQTT clients (rumqttc, MQTT 3.1.1 and 5) behind one small blocking API: each
//! client's event loop runs on its own thread and hands the packets it receives over
//! a channel, so a test waits for exactly what it expects, with a timeout.

use rumqttc::v5;
use rumqttc::RecvTimeoutError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a client waits for an answer the broker owes it.
pub const WAIT: Duration = Duration::from_secs(10);

/// Connect options (the fields the tests vary).
#[derive(Clone, Debug)]
pub struct Opts {
    /// Client id.
    pub id: String,
    /// MQTT 5 instead of 3.1.1.
    pub v5: bool,
    /// Username (with `password`, or alone with an empty password).
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Clean session / clean start.
    pub clean: bool,
    /// Keepalive in seconds.
    pub keepalive: u64,
    /// Will message: topic, payload, QoS, retain.
    pub will: Option<(String, Vec<u8>, u8, bool)>,
    /// MQTT 5 CONNECT User-Property pairs.
    pub user_props: Vec<(String, String)>,
    /// MQTT 5 Session-Expiry-Interval.
    pub session_expiry: Option<u32>,
}

impl Opts {
    /// MQTT 3.1.1, clean session, keepalive 60, no credentials.
    pub fn new(id: &str) -> Opts {
        Opts {
            id: id.to_string(),
            v5: false,
            username: None,
            password: None,
            clean: true,
            keepalive: 60,
            will: None,
            user_props: Vec::new(),
            session_expiry: None,
        }
    }

    /// MQTT 5.
    pub fn v5(mut self) -> Opts {
        self.v5 = true;
        self
    }

    /// Username and password.
    pub fn login(mut self, user: &str, password: &str) -> Opts {
        self.username = Some(user.to_string());
        self.password = Some(password.to_string());
        self
    }

    /// Clean session flag.
    pub fn clean(mut self, clean: bool) -> Opts {
        self.clean = clean;
        self
    }
}

/// A message a client received.
#[derive(Clone, Debug, PartialEq)]
pub struct Msg {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS.
    pub qos: u8,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 User-Property pairs.
    pub user_props: Vec<(String, String)>,
}

/// What the event loop reports.
#[derive(Debug)]
enum Ev {
    ConnAck {
        session_present: bool,
        user_props: Vec<(String, String)>,
    },
    Publish(Msg),
    SubAck(Vec<u8>),
    UnsubAck,
    PubAck,
    PubComp,
    Closed(String),
}

enum Handle {
    V3(rumqttc::Client),
    V5(v5::Client),
}

/// A connected client.
pub struct Client {
    stop: Arc<AtomicBool>,
    handle: Option<Handle>,
    rx: Receiver<Ev>,
    pump: Option<JoinHandle<()>>,
    /// Session-Present of the CONNACK.
    pub session_present: bool,
    /// User-Property pairs of the CONNACK (MQTT 5).
    pub connack_props: Vec<(String, String)>,
    /// Messages received while waiting for something else.
    pending: Vec<Msg>,
}

fn qos3(q: u8) -> rumqttc::QoS {
    match q {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn qos5(q: u8) -> v5::mqttbytes::QoS {
    match q {
        0 => v5::mqttbytes::QoS::AtMostOnce,
        1 => v5::mqttbytes::QoS::AtLeastOnce,
        _ => v5::mqttbytes::QoS::ExactlyOnce,
    }
}

const MAX_PACKET: usize = 4 << 20;

/// How often an event loop looks at its stop flag.
const TICK: Duration = Duration::from_millis(100);

/// Marks the end of the requests channel in the pumps.
const DONE: () = ();

/// The reason code of a SUBACK entry, as on the wire.
fn suback5(c: &v5::mqttbytes::v5::SubscribeReasonCode) -> u8 {
    use v5::mqttbytes::v5::SubscribeReasonCode as C;
    match c {
        C::Success(q) => *q as u8,
        C::Failure | C::Unspecified => 0x80,
        C::ImplementationSpecific => 0x83,
        C::NotAuthorized => 0x87,
        C::TopicFilterInvalid => 0x8F,
        C::PkidInUse => 0x91,
        C::QuotaExceeded => 0x97,
        C::SharedSubscriptionsNotSupported => 0x9E,
        C::SubscriptionIdNotSupported => 0xA1,
        C::WildcardSubscriptionsNotSupported => 0xA2,
    }
}

/// Connects to 127.0.0.1:`port`. `Err` holds the refusal (the CONNACK code's name, e.g.
/// `NotAuthorized`) or the connection error.
pub fn connect(port: u16, o: &Opts) -> Result<Client, String> {
    let (tx, rx) = channel();
    let stop = Arc::new(AtomicBool::new(false));
    let (handle, pump) = if o.v5 {
        let mut m = v5::MqttOptions::new(&o.id, "127.0.0.1", port);
        m.set_keep_alive(Duration::from_secs(o.keepalive))
            .set_clean_start(o.clean)
            .set_max_packet_size(Some(MAX_PACKET as u32))
            .set_connection_timeout(10);
        if let Some(u) = &o.username {
            m.set_credentials(u, o.password.clone().unwrap_or_default());
        }
        if let Some((t, p, q, r)) = &o.will {
            m.set_last_will(v5::mqttbytes::v5::LastWill::new(
                t,
                p.clone(),
                qos5(*q),
                *r,
                None,
            ));
        }
        if !o.user_props.is_empty() {
            m.set_user_properties(o.user_props.clone());
        }
        m.set_session_expiry_interval(o.session_expiry);
        let (c, mut conn) = v5::Client::new(m, 64);
        let stop2 = stop.clone();
        let pump = std::thread::spawn(move || {
            let mut connected = false;
            use v5::mqttbytes::v5::Packet as P;
            loop {
                if stop2.load(Ordering::Relaxed) {
                    break; // drops the connection: the socket closes without DISCONNECT
                }
                // Until the CONNACK, block: the connect handshake must not be cancelled
                // by a timeout (that would start it again). Then poll with a timeout so
                // that the stop flag is seen.
                let ev = if !connected {
                    match conn.recv() {
                        Ok(ev) => Ok(ev),
                        Err(_) => Err(DONE),
                    }
                } else {
                    match conn.recv_timeout(TICK) {
                        Err(v5::RecvTimeoutError::Timeout) => continue,
                        Err(v5::RecvTimeoutError::Disconnected) => Err(DONE),
                        Ok(ev) => Ok(ev),
                    }
                };
                let ev = match ev {
                    Err(DONE) => Ev::Closed("requests done".into()),
                    Ok(Ok(v5::Event::Incoming(p))) => match p {
                        P::ConnAck(a) => Ev::ConnAck {
                            session_present: a.session_present,
                            user_props: a.properties.map(|p| p.user_properties).unwrap_or_default(),
                        },
                        P::Publish(p) => Ev::Publish(Msg {
                            topic: String::from_utf8_lossy(&p.topic).into_owned(),
                            payload: p.payload.to_vec(),
                            qos: p.qos as u8,
                            retain: p.retain,
                            user_props: p.properties.map(|p| p.user_properties).unwrap_or_default(),
                        }),
                        P::SubAck(s) => Ev::SubAck(s.return_codes.iter().map(suback5).collect()),
                        P::UnsubAck(_) => Ev::UnsubAck,
                        P::PubAck(_) => Ev::PubAck,
                        P::PubComp(_) => Ev::PubComp,
                        P::Disconnect(d) => Ev::Closed(format!("DISCONNECT {:?}", d.reason_code)),
                        _ => continue,
                    },
                    Ok(Ok(_)) => continue,
                    Ok(Err(v5::ConnectionError::ConnectionRefused(code))) => {
                        Ev::Closed(format!("{code:?}"))
                    }
                    Ok(Err(e)) => Ev::Closed(e.to_string()),
                };
                connected |= matches!(ev, Ev::ConnAck { .. });
                let closed = matches!(ev, Ev::Closed(_));
                if tx.send(ev).is_err() || closed {
                    break;
                }
            }
        });
        (Handle::V5(c), pump)
    } else {
        let mut m = rumqttc::MqttOptions::new(&o.id, "127.0.0.1", port);
        m.set_keep_alive(Duration::from_secs(o.keepalive))
            .set_clean_session(o.clean)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET);
        if let Some(u) = &o.username {
            m.set_credentials(u, o.password.clone().unwrap_or_default());
        }
        if let Some((t, p, q, r)) = &o.will {
            m.set_last_will(rumqttc::LastWill::new(t, p.clone(), qos3(*q), *r));
        }
        let (c, mut conn) = rumqttc::Client::new(m, 64);
        let stop2 = stop.clone();
        let pump = std::thread::spawn(move || {
            let mut connected = false;
            use rumqttc::Packet as P;
            loop {
                if stop2.load(Ordering::Relaxed) {
                    break; // drops the connection: the socket closes without DISCONNECT
                }
                // Until the CONNACK, block: the connect handshake must not be cancelled
                // by a timeout (that would start it again). Then poll with a timeout so
                // that the stop flag is seen.
                let ev = if !connected {
                    match conn.recv() {
                        Ok(ev) => Ok(ev),
                        Err(_) => Err(DONE),
                    }
                } else {
                    match conn.recv_timeout(TICK) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => Err(DONE),
                        Ok(ev) => Ok(ev),
                    }
                };
                let ev = match ev {
                    Err(DONE) => Ev::Closed("requests done".into()),
                    Ok(Ok(rumqttc::Event::Incoming(p))) => match p {
                        P::ConnAck(a) => Ev::ConnAck {
                            session_present: a.session_present,
                            user_props: Vec::new(),
                        },
                        P::Publish(p) => Ev::Publish(Msg {
                            topic: p.topic,
                            payload: p.payload.to_vec(),
                            qos: p.qos as u8,
                            retain: p.retain,
                            user_props: Vec::new(),
                        }),
                        P::SubAck(s) => Ev::SubAck(
                            s.return_codes
                                .iter()
                                .map(|c| match c {
                                    rumqttc::SubscribeReasonCode::Success(q) => *q as u8,
                                    rumqttc::SubscribeReasonCode::Failure => 0x80,
                                })
                                .collect(),
                        ),
                        P::UnsubAck(_) => Ev::UnsubAck,
                        P::PubAck(_) => Ev::PubAck,
                        P::PubComp(_) => Ev::PubComp,
                        _ => continue,
                    },
                    Ok(Ok(_)) => continue,
                    Ok(Err(rumqttc::ConnectionError::ConnectionRefused(code))) => {
                        Ev::Closed(format!("{code:?}"))
                    }
                    Ok(Err(e)) => Ev::Closed(e.to_string()),
                };
                connected |= matches!(ev, Ev::ConnAck { .. });
                let closed = matches!(ev, Ev::Closed(_));
                if tx.send(ev).is_err() || closed {
                    break;
                }
            }
        });
        (Handle::V3(c), pump)
    };
    let mut c = Client {
        stop,
        handle: Some(handle),
        rx,
        pump: Some(pump),
        session_present: false,
        connack_props: Vec::new(),
        pending: Vec::new(),
    };
    match c.rx.recv_timeout(WAIT) {
        Ok(Ev::ConnAck {
            session_present,
            user_props,
        }) => {
            c.session_present = session_present;
            c.connack_props = user_props;
            Ok(c)
        }
        Ok(Ev::Closed(why)) => Err(why),
        Ok(other) => Err(format!("expected CONNACK, got {other:?}")),
        Err(_) => Err("no CONNACK within 10 s".to_string()),
    }
}

impl Client {
    /// Waits for an event matching `want`; publishes seen meanwhile are kept for
    /// [`recv`](Self::recv). Panics on timeout or a closed connection.
    fn wait(&mut self, what: &str, want: impl Fn(&Ev) -> bool) -> Ev {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Ev::Publish(m)) if !want(&Ev::Publish(m.clone())) => self.pending.push(m),
                Ok(ev) if want(&ev) => return ev,
                Ok(Ev::Closed(why)) => panic!("connection closed while waiting for {what}: {why}"),
                Ok(_) => {}
                Err(_) => panic!("no {what} within {WAIT:?}"),
            }
        }
    }

    /// SUBSCRIBE with one filter per `(topic, qos)`; returns the SUBACK codes.
    pub fn subscribe_many(&mut self, filters: &[(&str, u8)]) -> Vec<u8> {
        match self.handle.as_ref().unwrap() {
            Handle::V3(c) => c
                .subscribe_many(
                    filters
                        .iter()
                        .map(|(t, q)| rumqttc::SubscribeFilter::new(t.to_string(), qos3(*q))),
                )
                .unwrap(),
            Handle::V5(c) => c
                .subscribe_many(
                    filters
                        .iter()
                        .map(|(t, q)| v5::mqttbytes::v5::Filter::new(*t, qos5(*q))),
                )
                .unwrap(),
        }
        match self.wait("SUBACK", |e| matches!(e, Ev::SubAck(_))) {
            Ev::SubAck(codes) => codes,
            _ => unreachable!(),
        }
    }

    /// SUBSCRIBE one filter; returns its SUBACK code.
    pub fn subscribe(&mut self, topic: &str, qos: u8) -> u8 {
        self.subscribe_many(&[(topic, qos)])[0]
    }

    /// MQTT 5 SUBSCRIBE with full options (no-local, retain-as-published, retain
    /// handling 0..2) and User-Property pairs; returns the SUBACK codes.
    pub fn subscribe5(
        &mut self,
        filters: Vec<v5::mqttbytes::v5::Filter>,
        user_props: Vec<(String, String)>,
    ) -> Vec<u8> {
        let Handle::V5(c) = self.handle.as_ref().unwrap() else {
            panic!("subscribe5 on an MQTT 3.1.1 client")
        };
        let props = v5::mqttbytes::v5::SubscribeProperties {
            id: None,
            user_properties: user_props,
        };
        c.subscribe_many_with_properties(filters, props).unwrap();
        match self.wait("SUBACK", |e| matches!(e, Ev::SubAck(_))) {
            Ev::SubAck(codes) => codes,
            _ => unreachable!(),
        }
    }

    /// UNSUBSCRIBE, waiting for the UNSUBACK.
    pub fn unsubscribe(&mut self, topic: &str) {
        match self.handle.as_ref().unwrap() {
            Handle::V3(c) => c.unsubscribe(topic).unwrap(),
            Handle::V5(c) => c.unsubscribe(topic).unwrap(),
        }
        self.wait("UNSUBACK", |e| matches!(e, Ev::UnsubAck));
    }

    /// PUBLISH; for QoS 1 waits for the PUBACK, for QoS 2 for the PUBCOMP.
    pub fn publish(&mut self, topic: &str, qos: u8, retain: bool, payload: &[u8]) {
        self.publish_props(topic, qos, retain, payload, Vec::new())
    }

    /// PUBLISH with MQTT 5 User-Property pairs (ignored for 3.1.1 clients).
    pub fn publish_props(
        &mut self,
        topic: &str,
        qos: u8,
        retain: bool,
        payload: &[u8],
        user_props: Vec<(String, String)>,
    ) {
        match self.handle.as_ref().unwrap() {
            Handle::V3(c) => c
                .publish(topic, qos3(qos), retain, payload.to_vec())
                .unwrap(),
            Handle::V5(c) => {
                let props = v5::mqttbytes::v5::PublishProperties {
                    user_properties: user_props,
                    ..Default::default()
                };
                c.publish_with_properties(topic, qos5(qos), retain, payload.to_vec(), props)
                    .unwrap()
            }
        }
        match qos {
            0 => {}
            1 => {
                self.wait("PUBACK", |e| matches!(e, Ev::PubAck));
            }
            _ => {
                self.wait("PUBCOMP", |e| matches!(e, Ev::PubComp));
            }
        }
    }

    /// The next message received, waiting up to `timeout`.
    pub fn recv_within(&mut self, timeout: Duration) -> Option<Msg> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Ev::Publish(m)) => return Some(m),
                Ok(Ev::Closed(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
            }
        }
    }

    /// The next message; panics when none comes within [`WAIT`].
    pub fn recv(&mut self) -> Msg {
        self.recv_within(WAIT)
            .unwrap_or_else(|| panic!("no message within {WAIT:?}"))
    }

    /// Messages received within `d` (to check that nothing more comes).
    pub fn drain(&mut self, d: Duration) -> Vec<Msg> {
        let mut v = Vec::new();
        let deadline = Instant::now() + d;
        while let Some(m) = self.recv_within(deadline.saturating_duration_since(Instant::now())) {
            v.push(m);
        }
        v
    }

    /// Waits until the broker closes the connection; returns why (panics after 10 s).
    pub fn await_closed(&mut self) -> String {
        match self.wait("the connection to close", |e| matches!(e, Ev::Closed(_))) {
            Ev::Closed(why) => why,
            _ => unreachable!(),
        }
    }

    /// Sends DISCONNECT and waits for the connection to end.
    pub fn disconnect(mut self) {
        match self.handle.as_ref().unwrap() {
            Handle::V3(c) => {
                let _ = c.disconnect();
            }
            Handle::V5(c) => {
                let _ = c.disconnect();
            }
        }
        // The broker closes the connection after DISCONNECT.
        let _ = self.rx.recv_timeout(Duration::from_secs(2));
        self.finish();
    }

    /// Drops the TCP connection without DISCONNECT (the will is published).
    pub fn kill(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle = None;
        if let Some(p) = self.pump.take() {
            let _ = p.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Sends a bare MQTT 3.1.1 CONNECT with `client_id` (which may be empty, which rumqttc
/// refuses to send) and returns the CONNACK return code.
pub fn raw_connect(port: u16, client_id: &str, clean: bool) -> u8 {
    raw_connect_login(port, client_id, clean, None)
}

/// Sends a bare MQTT 3.1.1 CONNECT with `client_id` and, if given, a username and a
/// password, and returns the CONNACK return code as on the wire: 0 accepted, 2
/// identifier rejected, 3 server unavailable, 4 bad username or password, 5 not
/// authorized. The connection is closed afterwards.
pub fn raw_connect_login(
    port: u16,
    client_id: &str,
    clean: bool,
    login: Option<(&str, &str)>,
) -> u8 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut flags = if clean { 0x02 } else { 0 };
    if login.is_some() {
        flags |= 0xC0; // username and password
    }
    let mut var = vec![0, 4, b'M', b'Q', b'T', b'T', 4, flags, 0, 60];
    let mut string = |b: &[u8]| {
        var.extend_from_slice(&(b.len() as u16).to_be_bytes());
        var.extend_from_slice(b);
    };
    string(client_id.as_bytes());
    if let Some((user, password)) = login {
        string(user.as_bytes());
        string(password.as_bytes());
    }
    assert!(var.len() < 128, "CONNECT too long for this helper");
    let mut pkt = vec![0x10, var.len() as u8];
    pkt.extend(var);
    s.write_all(&pkt).unwrap();
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).expect("CONNACK");
    assert_eq!(ack[0], 0x20, "not a CONNACK: {ack:?}");
    ack[3]
}

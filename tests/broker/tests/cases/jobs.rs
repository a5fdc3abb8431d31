//! The jobs library (native/emqx_jobs: connection log, password authentication, ACL
//! rules, message storage) in the real broker with real clients, once on SQLite and
//! once on PostgreSQL (a throwaway server, `tests/pg/pg.sh`). What the jobs wrote is
//! read back with the library's own database layer. On PostgreSQL also: the server is
//! stopped in the middle of a stream of publishes and started again.

use broker_tests::broker::{native_lib, Broker, Setup};
use broker_tests::mqtt::{connect, Opts};
use broker_tests::pg;
use broker_tests::runner::Group;
use emqx_jobs::db::{Backend, Conn, Param};
use emqx_jobs::password::HashKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
enum Db {
    Sqlite,
    Postgres,
}

/// The SQLite group.
pub fn sqlite_group() -> Group {
    Group {
        name: "jobs_sqlite",
        setup: || setup(Db::Sqlite),
        cases: vec![
            ("status shows the four jobs; cmd clear_cache", |b| {
                status(b, Db::Sqlite)
            }),
            ("login: password, unknown user, bound client id", |b| {
                login(b, Db::Sqlite)
            }),
            ("acl: rules, placeholders, eq, $share, superuser", |b| {
                acl(b, Db::Sqlite)
            }),
            ("acl: listener with a mountpoint", |b| {
                acl_mountpoint(b, Db::Sqlite)
            }),
            ("connection log: connects and disconnects recorded", |b| {
                conn_log(b, Db::Sqlite)
            }),
            ("storage: messages and acks stored and read back", |b| {
                storage(b, Db::Sqlite)
            }),
            ("no password in the broker log", |b| {
                no_secrets(b, Db::Sqlite)
            }),
            ("unload writes every accepted message", |b| {
                unload_flushes(b, Db::Sqlite)
            }),
        ],
    }
}

/// The PostgreSQL group.
pub fn postgres_group() -> Group {
    Group {
        name: "jobs_postgres",
        setup: || setup(Db::Postgres),
        cases: vec![
            ("status shows the four jobs; cmd clear_cache", |b| {
                status(b, Db::Postgres)
            }),
            (
                "login: bcrypt password, unknown user, bound client id",
                |b| login(b, Db::Postgres),
            ),
            ("acl: rules, placeholders, eq, $share, superuser", |b| {
                acl(b, Db::Postgres)
            }),
            ("acl: listener with a mountpoint", |b| {
                acl_mountpoint(b, Db::Postgres)
            }),
            ("connection log: connects and disconnects recorded", |b| {
                conn_log(b, Db::Postgres)
            }),
            ("storage: messages and acks stored and read back", |b| {
                storage(b, Db::Postgres)
            }),
            ("outage: PostgreSQL stopped and started mid-stream", outage),
            ("no password in the broker log", |b| {
                no_secrets(b, Db::Postgres)
            }),
            ("unload writes every accepted message", |b| {
                unload_flushes(b, Db::Postgres)
            }),
        ],
    }
}

const PG_DB: &str = "emqx_jobs_broker";

fn sqlite_path() -> PathBuf {
    std::env::temp_dir().join(format!("emqx-jobs-broker-{}.db", std::process::id()))
}

fn backend(db: Db) -> Backend {
    match db {
        Db::Sqlite => Backend::Sqlite {
            path: sqlite_path(),
        },
        Db::Postgres => {
            let pg = pg::shared();
            Backend::postgres(&pg.dsn(PG_DB), Some(&pg.password)).unwrap()
        }
    }
}

fn conn(db: Db) -> Conn {
    backend(db).open().expect("open the test database")
}

/// SQLite users get salted SHA-256 (EMQX's default kind), PostgreSQL users bcrypt.
fn hash(db: Db) -> &'static str {
    match db {
        Db::Sqlite => "salt,sha256",
        Db::Postgres => "bcrypt",
    }
}

const USERS: &[(&str, &str, &str, bool, Option<&str>)] = &[
    ("alice", "alice-pw-1", "s-a", false, None),
    ("bob", "bob-pw-2", "s-b", false, None),
    ("root", "root-pw-3", "s-r", true, None),
    ("meter", "meter-pw-4", "s-m", false, Some("meter-1")),
];

/// The rules, in order; anything else is denied (`acl_nomatch = deny`).
const RULES: &[(i64, &str, &str, &str, Option<&str>)] = &[
    (1, "deny", "publish", "store/denied/#", None),
    (2, "allow", "pubsub", "users/%u/#", None),
    (3, "allow", "subscribe", "dev/%c/#", None),
    (4, "allow", "subscribe", "eq wild/#", None),
    (5, "allow", "pubsub", "store/#", None),
    (6, "allow", "publish", "bob/#", Some("bob")),
    (7, "allow", "pubsub", "jobs/#", None),
];

fn seed(db: Db) {
    let mut c = conn(db);
    c.script(emqx_jobs::auth::schema()).unwrap();
    c.script(emqx_jobs::acl::schema()).unwrap();
    let kind: HashKind = hash(db).parse().unwrap();
    for (user, pw, salt, su, cid) in USERS {
        c.execute(
            "INSERT INTO mqtt_user (username, password_hash, salt, is_superuser, clientid) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                Param::Text(user.to_string()),
                Param::Text(kind.hash(pw.as_bytes(), salt, 6)),
                Param::Text(salt.to_string()),
                Param::Bool(*su),
                Param::opt_text(cid.map(str::to_string)),
            ],
        )
        .unwrap();
    }
    for (ord, perm, action, topic, user) in RULES {
        c.execute(
            "INSERT INTO mqtt_acl (ord, permission, action, topic, username) VALUES ($1, $2, $3, $4, $5)",
            &[
                Param::Int(*ord),
                Param::Text(perm.to_string()),
                Param::Text(action.to_string()),
                Param::Text(topic.to_string()),
                Param::opt_text(user.map(str::to_string)),
            ],
        )
        .unwrap();
    }
}

fn setup(db: Db) -> Setup {
    let mut conf = vec![
        "conn_log = on".to_string(),
        "auth = on".into(),
        "acl = on".into(),
        "store = on".into(),
        "store_acked = on".into(),
        "store_topics = store/#,mp/store/#".into(),
        "store_retry_max = 1s".into(),
        "auth_unknown_user = deny".into(),
        "acl_nomatch = deny".into(),
        "acl_cache_ttl = 0".into(),
        format!("auth_hash = {}", hash(db)),
    ];
    match db {
        Db::Sqlite => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_path().display()));
            }
            // Removes the file when this process is gone (the broker keeps it open
            // until then).
            let path = sqlite_path().display().to_string();
            let _ = std::process::Command::new("setsid")
                .args([
                    "sh",
                    "-c",
                    &format!(
                        "while kill -0 {} 2>/dev/null; do sleep 1; done; rm -f '{path}' '{path}-wal' '{path}-shm'",
                        std::process::id()
                    ),
                ])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            conf.push("backend = sqlite".into());
            conf.push(format!("sqlite_path = {}", sqlite_path().display()));
        }
        Db::Postgres => {
            let pg = pg::shared();
            pg.fresh_db(PG_DB);
            conf.push("backend = postgres".into());
            conf.push(format!("postgres_dsn = {}", pg.dsn(PG_DB)));
            conf.push(format!("postgres_password = {}", pg.password));
        }
    }
    seed(db);
    Setup {
        lib: Some(native_lib("emqx_jobs")),
        conf: conf
            .into_iter()
            .map(|l| format!("exhook.drivers.rust.init.{l}"))
            .collect(),
        mountpoint_listener: true,
        ..Setup::default()
    }
}

fn login_opts(id: &str, user: &str) -> Opts {
    let pw = USERS.iter().find(|u| u.0 == user).expect("a seeded user").1;
    Opts::new(id).login(user, pw)
}

/// Rows of `sql`, polled until `done(rows)` holds (the writers are asynchronous) or
/// 20 s pass; returns the last rows read.
fn rows_until(
    db: Db,
    sql: &str,
    params: &[Param],
    done: impl Fn(&[Vec<Param>]) -> bool,
) -> Vec<Vec<Param>> {
    let t0 = Instant::now();
    let mut c = conn(db);
    loop {
        let rows = c.query(sql, params).expect("query");
        if done(&rows) || t0.elapsed() > Duration::from_secs(20) {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(db: Db, sql: &str, params: &[Param]) -> i64 {
    conn(db).query(sql, params).unwrap()[0][0].as_i64().unwrap()
}

fn status_text(b: &Broker) -> String {
    b.ctl(&["rust_hook", "status"]).text
}

/// The value of `name: value` in `rust_hook status`.
fn status_value(b: &Broker, name: &str) -> String {
    let text = status_text(b);
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{name}: "))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no {name} in status:\n{text}"))
}

fn status(b: &mut Broker, db: Db) {
    let s = status_text(b);
    assert!(s.contains("libemqx_jobs.so"), "{s}");
    for line in [
        "conn_log: on",
        "auth: on",
        "acl: on",
        "store: on",
        "store.db: up",
        "conn_log.db: up",
    ] {
        assert!(s.contains(line), "{line:?} missing:\n{s}");
    }
    let where_ = match db {
        Db::Sqlite => format!("store.database: sqlite:{}", sqlite_path().display()),
        Db::Postgres => format!(
            "store.database: postgres://127.0.0.1:{}/{PG_DB}",
            pg::shared().port
        ),
    };
    assert!(s.contains(&where_), "{where_:?} missing:\n{s}");
    assert!(s.contains("store.buffer: 0/100000"), "{s}");
    let out = b.ctl(&["rust_hook", "cmd", "clear_cache"]).text;
    assert!(out.contains("auth and acl caches cleared"), "{out}");
    let out = b.ctl(&["rust_hook", "cmd", "nonsense"]).text;
    assert!(out.contains("error: unknown command"), "{out}");
}

fn login(b: &mut Broker, _db: Db) {
    let port = b.mqtt_port;
    connect(port, &login_opts("login-1", "alice"))
        .expect("alice logs in")
        .disconnect();
    let wrong = connect(
        port,
        &Opts::new("login-2").login("alice", "not-her-password"),
    );
    assert_eq!(wrong.err().as_deref(), Some("BadUserNamePassword"));
    let unknown = connect(port, &Opts::new("login-3").login("nobody", "x"));
    assert_eq!(unknown.err().as_deref(), Some("NotAuthorized"));
    let anonymous = connect(port, &Opts::new("login-4"));
    assert_eq!(anonymous.err().as_deref(), Some("NotAuthorized"));
    // meter is bound to client id meter-1.
    connect(port, &login_opts("meter-1", "meter"))
        .expect("meter as meter-1")
        .disconnect();
    let other_id = connect(port, &login_opts("meter-2", "meter"));
    assert_eq!(other_id.err().as_deref(), Some("NotAuthorized"));
    // MQTT 5 too.
    connect(port, &login_opts("login-5", "bob").v5())
        .expect("bob over MQTT 5")
        .disconnect();
    assert!(status_value(b, "auth.denied").parse::<u64>().unwrap() >= 2);
    assert!(status_value(b, "auth.unknown").parse::<u64>().unwrap() >= 2);
}

fn acl(b: &mut Broker, _db: Db) {
    let port = b.mqtt_port;
    let mut sub = connect(port, &login_opts("acl-sub", "bob")).unwrap();
    assert_eq!(sub.subscribe("store/#", 1), 1);
    let mut alice = connect(port, &login_opts("acl-alice", "alice")).unwrap();
    // Rule 1 denies publishing under store/denied/; rule 5 allows the rest of store/.
    alice.publish("store/denied/1", 1, false, b"must not arrive");
    alice.publish("store/acl/1", 1, false, b"allowed");
    let m = sub.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("store/acl/1", &b"allowed"[..])
    );
    // The superuser flag: EMQX does not ask the ACL for root.
    let mut root = connect(port, &login_opts("acl-root", "root")).unwrap();
    root.publish("store/denied/2", 1, false, b"from root");
    assert_eq!(sub.recv().topic, "store/denied/2");
    // Subscriptions, against the rule table.
    let codes = alice.subscribe_many(&[
        ("other/x", 0),         // no rule: acl_nomatch = deny
        ("users/alice/#", 1),   // users/%u/#
        ("users/bob/#", 1),     // someone else's
        ("dev/acl-alice/#", 0), // dev/%c/#
        ("dev/other/#", 0),
        ("wild/#", 0),               // eq wild/#
        ("wild/a", 0),               // eq: not a pattern
        ("$share/g1/jobs/share", 0), // the rule is written without $share/g1/
        ("$share/g1/other/share", 0),
    ]);
    assert_eq!(codes, [0x80, 1, 0x80, 0, 0x80, 0, 0x80, 0, 0x80]);
    // A per-user rule: bob may publish under bob/, alice may not.
    assert_eq!(root.subscribe("bob/#", 1), 1);
    let mut bob = connect(port, &login_opts("acl-bob", "bob")).unwrap();
    alice.publish("bob/a", 1, false, b"from alice");
    bob.publish("bob/b", 1, false, b"from bob");
    let m = root.recv();
    assert_eq!(
        (m.topic.as_str(), m.payload.as_slice()),
        ("bob/b", &b"from bob"[..])
    );
    assert!(root.drain(Duration::from_millis(300)).is_empty());
    for c in [sub, alice, root, bob] {
        c.disconnect();
    }
}

/// On a listener with `mountpoint = mp/`, EMQX asks the ACL with the unmounted topic,
/// so the same rules apply; the stored topic is the mounted one.
fn acl_mountpoint(b: &mut Broker, db: Db) {
    let port = b.mp_port.expect("mountpoint listener");
    let mut sub = connect(port, &login_opts("mp-sub", "bob")).unwrap();
    assert_eq!(sub.subscribe("store/mp/#", 1), 1);
    assert_eq!(sub.subscribe("other/#", 1), 0x80);
    let mut p = connect(port, &login_opts("mp-pub", "alice")).unwrap();
    p.publish("store/mp/first", 1, false, b"x");
    p.publish("store/denied/mp", 1, false, b"must not arrive");
    p.publish("store/mp/ok", 1, false, b"ok");
    let got: Vec<String> = (0..2).map(|_| sub.recv().topic).collect();
    assert_eq!(got, ["store/mp/first", "store/mp/ok"]);
    let rows = rows_until(
        db,
        "SELECT topic FROM mqtt_msg WHERE from_clientid = $1 ORDER BY ts, topic",
        &[Param::Text("mp-pub".into())],
        |r| r.len() >= 2,
    );
    let topics: Vec<&str> = rows.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(topics.len(), 2, "{topics:?}");
    assert!(
        topics.contains(&"mp/store/mp/ok") && topics.contains(&"mp/store/mp/first"),
        "{topics:?}"
    );
    sub.disconnect();
    p.disconnect();
}

fn conn_log(b: &mut Broker, db: Db) {
    let port = b.mqtt_port;
    let mut o = login_opts("cl-1", "alice").v5();
    o.keepalive = 30;
    connect(port, &o).unwrap().disconnect();
    let sql = "SELECT username, peerhost, peerport, protocol, proto_ver, keepalive, clean_start, \
               connected_at, disconnected_at, reason, node FROM mqtt_conn_log WHERE clientid = $1";
    let rows = rows_until(db, sql, &[Param::Text("cl-1".into())], |r| {
        r.len() == 1 && r[0][8] != Param::Null
    });
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r[0].as_str(), Some("alice"));
    assert_eq!(r[1].as_str(), Some("127.0.0.1"));
    assert!(r[2].as_i64().unwrap() > 0);
    assert_eq!(r[3].as_str(), Some("MQTT"));
    assert_eq!(r[4].as_i64(), Some(5));
    assert_eq!(r[5].as_i64(), Some(30));
    assert!(r[6].as_bool());
    let (at, gone) = (r[7].as_i64().unwrap(), r[8].as_i64().unwrap());
    assert!(at > 1_600_000_000_000 && gone >= at, "{at} {gone}");
    assert_eq!(r[9].as_str(), Some("normal"));
    assert_eq!(r[10].as_str(), Some(b.node.as_str()));
    // A dropped TCP connection, and a session kept (clean start off): a second row.
    let c2 = connect(port, &login_opts("cl-2", "bob").clean(false)).unwrap();
    c2.kill();
    let rows = rows_until(db, sql, &[Param::Text("cl-2".into())], |r| {
        r.len() == 1 && r[0][8] != Param::Null
    });
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(!rows[0][6].as_bool());
    let reason = rows[0][9].as_str().unwrap().to_string();
    assert!(!reason.is_empty() && reason != "normal", "{reason}");
    // A refused login is no connection.
    let refused = connect(port, &Opts::new("cl-3").login("alice", "wrong"));
    assert!(refused.is_err());
    connect(port, &login_opts("cl-4", "bob"))
        .unwrap()
        .disconnect();
    rows_until(db, sql, &[Param::Text("cl-4".into())], |r| r.len() == 1);
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM mqtt_conn_log WHERE clientid = 'cl-3'",
            &[]
        ),
        0
    );
    // Never the password, in no column.
    let all = conn(db).query("SELECT * FROM mqtt_conn_log", &[]).unwrap();
    assert!(!format!("{all:?}").contains("alice-pw"), "{all:?}");
}

fn storage(b: &mut Broker, db: Db) {
    let port = b.mqtt_port;
    let mut sub = connect(port, &login_opts("st-sub", "bob")).unwrap();
    assert_eq!(sub.subscribe("store/st/#", 1), 1);
    let mut p = connect(port, &login_opts("st-pub", "alice")).unwrap();
    // Not stored (store_topics), published first: once the others are there, so would it be.
    p.publish("jobs/not-stored", 1, false, b"x");
    p.publish("store/st/q0", 0, false, b"zero");
    p.publish("store/st/q1", 1, false, &[0, 1, 2, 255]);
    p.publish("store/st/r", 2, true, b"retained");
    for _ in 0..3 {
        sub.recv();
    }
    let rows = rows_until(
        db,
        "SELECT topic, payload, qos, retain, from_clientid, from_username, ts, msgid \
         FROM mqtt_msg WHERE from_clientid = $1 ORDER BY topic",
        &[Param::Text("st-pub".into())],
        |r| r.len() >= 3,
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    let expect: [(&str, &[u8], i64, bool); 3] = [
        ("store/st/q0", b"zero", 0, false),
        ("store/st/q1", &[0, 1, 2, 255], 1, false),
        ("store/st/r", b"retained", 2, true),
    ];
    for (r, (topic, payload, qos, retain)) in rows.iter().zip(expect) {
        assert_eq!(r[0].as_str(), Some(topic));
        assert_eq!(r[1], Param::Bytes(payload.to_vec()), "{topic}");
        assert_eq!(r[2].as_i64(), Some(qos), "{topic}");
        assert_eq!(r[3].as_bool(), retain, "{topic}");
        assert_eq!(r[4].as_str(), Some("st-pub"));
        assert_eq!(r[5].as_str(), Some("alice"));
        assert!(r[6].as_i64().unwrap() > 1_600_000_000_000);
        let id = r[7].as_str().unwrap();
        assert!(
            id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
    }
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM mqtt_msg WHERE topic = 'jobs/not-stored'",
            &[]
        ),
        0
    );
    // The subscriber acknowledged the QoS 1 and 2 deliveries (QoS 0 has no ack).
    let acked = rows_until(
        db,
        "SELECT a.msgid, m.topic FROM mqtt_msg_acked a JOIN mqtt_msg m ON m.msgid = a.msgid \
         WHERE a.clientid = $1 ORDER BY m.topic",
        &[Param::Text("st-sub".into())],
        |r| r.len() >= 2,
    );
    let topics: Vec<&str> = acked.iter().map(|r| r[1].as_str().unwrap()).collect();
    assert_eq!(topics, ["store/st/q1", "store/st/r"]);
    // Clear the retained message (an empty retained publish, itself stored).
    p.publish("store/st/r", 1, true, b"");
    sub.disconnect();
    p.disconnect();
    assert_eq!(status_value(b, "store.dropped"), "0");
}

/// PostgreSQL stops while a client publishes (QoS 1) and starts again: the broker goes on
/// serving the connected clients, the store buffers and retries, and afterwards every
/// message is in the table exactly once. A login during the outage is refused
/// (`auth_on_error = deny`, the default).
fn outage(b: &mut Broker) {
    let db = Db::Postgres;
    let pg = pg::shared();
    let port = b.mqtt_port;
    let mut sub = connect(port, &login_opts("out-sub", "bob")).unwrap();
    assert_eq!(sub.subscribe("store/out", 1), 1);
    let mut p = connect(port, &login_opts("out-pub", "alice")).unwrap();
    let n = 600;
    for i in 0..n {
        if i == 200 {
            pg.stop_server().unwrap();
        }
        if i == 400 {
            // Down: the writer has seen it (the messages since the stop wait in its buffer).
            let t0 = Instant::now();
            while status_value(b, "store.db") != "down" && t0.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(100));
            }
            assert_eq!(status_value(b, "store.db"), "down");
            assert!(
                b.await_log_line(&["store: database", "unavailable"])
                    .is_some(),
                "{}",
                b.log_tail(20)
            );
            let refused = connect(port, &login_opts("out-login", "alice"));
            assert_eq!(refused.err().as_deref(), Some("NotAuthorized"));
            pg.start_server().unwrap();
        }
        p.publish("store/out", 1, false, format!("m{i}").as_bytes());
    }
    // Every message reached the subscriber: the broker served throughout.
    for i in 0..n {
        assert_eq!(sub.recv().payload, format!("m{i}").into_bytes());
    }
    let sql = "SELECT count(*), count(DISTINCT payload) FROM mqtt_msg WHERE topic = 'store/out'";
    let rows = rows_until(db, sql, &[], |r| r[0][0].as_i64() == Some(n));
    assert_eq!(
        (rows[0][0].as_i64(), rows[0][1].as_i64()),
        (Some(n), Some(n))
    );
    assert_eq!(status_value(b, "store.db"), "up");
    assert_eq!(status_value(b, "store.dropped"), "0");
    assert_ne!(status_value(b, "store.failures"), "0");
    assert!(b
        .await_log_line(&["store: database", "is back after"])
        .is_some());
    // Logins and ACL queries work again (the pooled connections the restart cut are
    // replaced, not reported as failures).
    connect(port, &login_opts("out-login-2", "alice"))
        .expect("login after the outage")
        .disconnect();
    assert_eq!(sub.subscribe("users/bob/after", 0), 0);
    sub.disconnect();
    p.disconnect();
}

fn no_secrets(b: &mut Broker, db: Db) {
    let log = b.log();
    assert!(log.contains("emqx_jobs started"), "{}", b.log_tail(20));
    for (_, pw, ..) in USERS {
        assert!(!log.contains(pw), "a user's password is in the broker log");
    }
    if let Db::Postgres = db {
        assert!(
            !log.contains(&pg::shared().password),
            "the database password is in the broker log"
        );
        assert!(!status_text(b).contains(&pg::shared().password));
    }
}

/// `plugins unload` runs `terminate`, which writes what the buffers hold: every message
/// the store accepted (each PUBACK came after `message.publish` ran) is in the table.
fn unload_flushes(b: &mut Broker, db: Db) {
    let port = b.mqtt_port;
    let mut p = connect(port, &login_opts("fl-pub", "alice")).unwrap();
    let n = 500;
    for i in 0..n {
        p.publish("store/flush", 1, false, format!("f{i}").as_bytes());
    }
    let out = b.ctl(&["plugins", "unload", "emqx_rust_hook"]);
    assert!(out.text.contains("unloaded successfully"), "{}", out.text);
    let c = count(
        db,
        "SELECT count(*) FROM mqtt_msg WHERE topic = 'store/flush'",
        &[],
    );
    assert_eq!(c, n);
    let out = b.ctl(&["plugins", "load", "emqx_rust_hook"]);
    assert!(out.text.contains("loaded successfully"), "{}", out.text);
    p.kill();
}

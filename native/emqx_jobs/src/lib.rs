//! `libemqx_jobs.so`: the four jobs people write EMQX hooks for, as one library an
//! operator deploys with configuration alone, each job a small module a Rust developer
//! can read as an example:
//!
//! | Job | Module | Hooks | Enabled by |
//! |---|---|---|---|
//! | connection log | `conn_log.rs` | `client.connected`, `client.disconnected` (inline: a push into a bounded buffer) | `init.conn_log = on` |
//! | password authentication | `auth.rs`, `password.rs` | `client.authenticate` (`async fn`) | `init.auth = on` |
//! | ACL rules | `acl.rs` | `client.check_acl` (`async fn`) | `init.acl = on` |
//! | message storage | `store.rs` | `message.publish`, `message.acked` (inline: a push) | `init.store = on` |
//!
//! They share `db.rs` (SQLite or PostgreSQL), `pool.rs` (connections for the deciding
//! jobs), `writer.rs` (the batching writer of the log and the store) and `settings.rs`.
//! The hooks of a job that is off return at once (no opinion). Every job reports its
//! state in `emqx_ctl rust_hook status`.
//!
//! The database calls are synchronous: the deciding hooks are `async fn`s that answer a
//! cache hit at once (ready on the first poll, an inline hook's cost) and await a miss's
//! query and hash on the SDK runtime's blocking pool (`rt::runtime().spawn_blocking`),
//! never on a BEAM scheduler; the notifications only push into a buffer.

pub mod acl;
pub mod auth;
pub mod conn_log;
pub mod db;
pub mod password;
pub mod pool;
pub mod settings;
pub mod store;
pub mod writer;

use crate::conn_log::{ConnLog, Connected, Event};
use crate::db::Backend;
use crate::store::{Acked, Store, Stored};
use crate::writer::{Writer, WriterOptions};
use emqx_rust_hook::prelude::*;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::info;

/// The library: each job, when enabled.
///
/// Its hooks are methods (the deciding ones `async fn`s), so a test calls them as EMQX
/// would, here the ACL job on an empty rule table that denies what no rule matches:
///
/// ```
/// use emqx_jobs::Jobs;
/// use emqx_rust_hook::prelude::*;
/// use emqx_rust_hook::testing::block_on;
///
/// let db = std::env::temp_dir().join(format!("emqx_jobs_doctest_{}.db", std::process::id()));
/// let config = Config::builder()
///     .set("acl", "on")
///     .set("sqlite_path", db.to_str().unwrap())
///     .set("acl_nomatch", "deny")
///     .build();
/// let jobs = Jobs::init(&config).unwrap();
/// let client = ClientInfo::builder().username("alice").build();
/// let acl = block_on(jobs.client_check_acl(&client, PubSub::Publish, "t/1", AclResult::Allow));
/// assert_eq!(acl, AclDecision::Deny);
/// jobs.terminate();
/// let _ = std::fs::remove_file(db);
/// ```
pub struct Jobs {
    conn_log: Option<ConnLog>,
    auth: Option<Arc<auth::Auth>>,
    acl: Option<Arc<acl::Acl>>,
    store: Option<Store>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The node name written into the connection log: `init.node`, else `$EMQX_NODE_NAME`,
/// else the host name.
fn node_name(config: &Config) -> String {
    if let Some(n) = config.get("node") {
        return n.to_string();
    }
    if let Ok(n) = std::env::var("EMQX_NODE_NAME") {
        return n;
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Creates a job's tables when `init.create_tables` is on (the default).
fn create_tables(
    config: &Config,
    backend: &Backend,
    job: &str,
    ddl: &str,
) -> Result<(), InitError> {
    if !settings::switch(config, "create_tables", true)? {
        return Ok(());
    }
    backend.open().and_then(|mut c| c.script(ddl)).map_err(|e| {
        InitError::new(format!(
            "{job}: creating tables in {}: {e}",
            backend.label()
        ))
    })
}

fn writer_options(
    config: &Config,
    job: &'static str,
    capacity: usize,
) -> Result<WriterOptions, InitError> {
    Ok(WriterOptions {
        name: job,
        capacity: settings::count(config, &format!("{job}_buffer"), capacity)?,
        batch: settings::count(config, &format!("{job}_batch"), 1000)?,
        retry_max: settings::duration(config, &format!("{job}_retry_max"), Duration::from_secs(5))?,
        flush_timeout: settings::duration(
            config,
            &format!("{job}_flush_timeout"),
            Duration::from_secs(10),
        )?,
    })
}

impl Jobs {
    fn start_conn_log(config: &Config) -> Result<Option<ConnLog>, InitError> {
        if !settings::switch(config, "conn_log", false)? {
            return Ok(None);
        }
        let backend = Backend::from_config(config, "conn_log")?;
        create_tables(config, &backend, "conn_log", conn_log::schema())?;
        let options = writer_options(config, "conn_log", 10_000)?;
        Ok(Some(ConnLog {
            writer: Writer::start(options, backend, conn_log::WRITE),
            node: node_name(config),
        }))
    }

    fn start_store(config: &Config) -> Result<Option<Store>, InitError> {
        if !settings::switch(config, "store", false)? {
            return Ok(None);
        }
        let backend = Backend::from_config(config, "store")?;
        create_tables(
            config,
            &backend,
            "store",
            &store::schema(backend.blob_type()),
        )?;
        let topics: Vec<String> = config
            .get("store_topics")
            .unwrap_or("#")
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        for t in &topics {
            emqx_rust_hook::topic::validate_filter(t)
                .map_err(|e| InitError::new(format!("init.store_topics: {t:?}: {e}")))?;
        }
        let acks = if settings::switch(config, "store_acked", false)? {
            let o = writer_options(config, "store_acked", 100_000)?;
            Some(Writer::start(o, backend.clone(), store::write_acks))
        } else {
            None
        };
        let options = writer_options(config, "store", 100_000)?;
        Ok(Some(Store {
            topics,
            messages: Writer::start(options, backend, store::write_messages),
            acks,
        }))
    }

    fn start_auth(config: &Config) -> Result<Option<Arc<auth::Auth>>, InitError> {
        if !settings::switch(config, "auth", false)? {
            return Ok(None);
        }
        let backend = Backend::from_config(config, "auth")?;
        create_tables(config, &backend, "auth", auth::schema())?;
        auth::Auth::from_config(config, backend).map(|a| Some(Arc::new(a)))
    }

    fn start_acl(config: &Config) -> Result<Option<Arc<acl::Acl>>, InitError> {
        if !settings::switch(config, "acl", false)? {
            return Ok(None);
        }
        let backend = Backend::from_config(config, "acl")?;
        create_tables(config, &backend, "acl", acl::schema())?;
        acl::Acl::from_config(config, backend).map(|a| Some(Arc::new(a)))
    }
}

/// A client's username as text (`None` when absent or empty).
fn text(b: Option<Bytes<'_>>) -> Option<String> {
    b.filter(|b| !b.is_empty())
        .map(|b| b.to_string_lossy().into_owned())
}

#[emqx_rust_hook::export]
impl Hooks for Jobs {
    fn init(config: &Config) -> Result<Self, InitError> {
        let jobs = Jobs {
            conn_log: Jobs::start_conn_log(config)?,
            auth: Jobs::start_auth(config)?,
            acl: Jobs::start_acl(config)?,
            store: Jobs::start_store(config)?,
        };
        info!(
            "emqx_jobs started: conn_log={} auth={} acl={} store={}",
            jobs.conn_log.is_some(),
            jobs.auth.is_some(),
            jobs.acl.is_some(),
            jobs.store.is_some()
        );
        Ok(jobs)
    }

    fn terminate(&self) {
        // Write what the buffers hold before the library goes away.
        if let Some(c) = &self.conn_log {
            c.writer.stop();
        }
        if let Some(s) = &self.store {
            s.stop();
        }
        info!("emqx_jobs stopped");
    }

    fn status(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (job, on) in [
            ("conn_log", self.conn_log.is_some()),
            ("auth", self.auth.is_some()),
            ("acl", self.acl.is_some()),
            ("store", self.store.is_some()),
        ] {
            out.push((job.to_string(), if on { "on" } else { "off" }.to_string()));
        }
        if let Some(c) = &self.conn_log {
            out.extend(c.writer.status());
        }
        if let Some(a) = &self.auth {
            out.extend(a.status());
        }
        if let Some(a) = &self.acl {
            out.extend(a.status());
        }
        if let Some(s) = &self.store {
            out.extend(s.status());
        }
        out
    }

    /// `emqx_ctl rust_hook cmd clear_cache`: empties the login and ACL caches (after a
    /// password or a rule changed).
    fn command(&self, args: &[String]) -> Result<String, String> {
        match args {
            [c] if c == "clear_cache" => {
                if let Some(a) = &self.auth {
                    a.clear_cache();
                }
                if let Some(a) = &self.acl {
                    a.clear_cache();
                }
                Ok("auth and acl caches cleared".into())
            }
            _ => Err(format!(
                "unknown command {args:?} (emqx_jobs knows: clear_cache)"
            )),
        }
    }

    #[hook(inline)]
    fn client_connected(&self, client: &ClientInfo, conninfo: &ConnInfo) {
        let Some(log) = &self.conn_log else { return };
        let peer = conninfo.peername();
        log.record(Event::Connected(Connected {
            clientid: client.clientid().to_string_lossy().into_owned(),
            username: text(client.username()),
            peerhost: peer.map(|p| p.ip().to_string()),
            peerport: peer.map(|p| p.port()),
            protocol: text(conninfo.proto_name()),
            proto_ver: conninfo.proto_ver(),
            keepalive: conninfo.keepalive(),
            clean_start: conninfo.clean_start(),
            connected_at: conninfo.connected_at().unwrap_or_else(now_ms),
        }));
    }

    #[hook(inline)]
    fn client_disconnected(&self, client: &ClientInfo, reason: &Reason, conninfo: &ConnInfo) {
        let Some(log) = &self.conn_log else { return };
        log.record(Event::Disconnected {
            clientid: client.clientid().to_string_lossy().into_owned(),
            connected_at: conninfo.connected_at().unwrap_or(0),
            disconnected_at: conninfo.disconnected_at().unwrap_or_else(now_ms),
            reason: reason.unwrap_shutdown().to_string(),
        });
    }

    // A cache hit (or a decision needing no database) is ready on the first poll, on
    // the client's scheduler; a miss awaits the query and the (slow) hash on the SDK
    // runtime's blocking pool, never on a scheduler.
    async fn client_authenticate(
        &self,
        client: &ClientInfo<'_>,
        _result: AuthResult,
    ) -> AuthDecision {
        let Some(auth) = &self.auth else {
            return AuthDecision::Abstain;
        };
        let username = text(client.username());
        let clientid = client.clientid().to_string_lossy();
        let password = client.password();
        let outcome = auth
            .check_async(
                username.as_deref(),
                &clientid,
                password.as_ref().map(|p| p.expose()),
            )
            .await;
        auth.decision(outcome)
    }

    async fn client_check_acl(
        &self,
        client: &ClientInfo<'_>,
        pubsub: PubSub,
        topic: &str,
        _result: AclResult,
    ) -> AclDecision {
        let Some(acl) = &self.acl else {
            return AclDecision::Abstain;
        };
        let username = text(client.username());
        acl.check_async(
            username.as_deref(),
            &client.clientid().to_string_lossy(),
            pubsub,
            topic,
        )
        .await
    }

    #[hook(inline)]
    fn message_publish(&self, message: &Message) -> PublishDecision {
        let Some(store) = &self.store else {
            return PublishDecision::Abstain;
        };
        let topic = message.topic();
        if !store.wants(topic) {
            return PublishDecision::Abstain;
        }
        let from_clientid = match message.from() {
            Publisher::Client(c) => Some(c.to_string_lossy().into_owned()),
            _ => None,
        };
        store.messages.push(Stored {
            msgid: message.id().to_hex(),
            topic: topic.to_string(),
            payload: message.payload().as_bytes().to_vec(),
            qos: message.qos().as_u8(),
            retain: message.flags().retain,
            from_clientid,
            from_username: text(message.headers().username()),
            ts: message.timestamp(),
        });
        PublishDecision::Abstain
    }

    #[hook(inline)]
    fn message_acked(&self, client: &ClientInfo, message: &Message) {
        let Some(store) = &self.store else { return };
        let Some(acks) = store.acks.as_ref().filter(|_| store.wants(message.topic())) else {
            return;
        };
        acks.push(Acked {
            msgid: message.id().to_hex(),
            clientid: client.clientid().to_string_lossy().into_owned(),
            acked_at: now_ms(),
        });
    }
}

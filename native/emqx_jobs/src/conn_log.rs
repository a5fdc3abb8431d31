//! Job 1, the connection log (`client.connected` / `client.disconnected`): one row per
//! connection, written by the batching [`Writer`] so no client waits for the database.
//!
//! ```sql
//! CREATE TABLE mqtt_conn_log (
//!   clientid TEXT NOT NULL, username TEXT, peerhost TEXT, peerport BIGINT,
//!   protocol TEXT, proto_ver BIGINT, keepalive BIGINT, clean_start BOOLEAN,
//!   connected_at BIGINT NOT NULL,   -- ms since the epoch (EMQX's conninfo)
//!   disconnected_at BIGINT, reason TEXT, node TEXT NOT NULL,
//!   PRIMARY KEY (clientid, connected_at, node)
//! );
//! ```
//!
//! The connect inserts the row (a retry inserts nothing twice: the key is client id,
//! connect time and node); the disconnect fills `disconnected_at` and `reason` of that
//! row. The password is never read.

use crate::db::{Conn, DbError, Param};
use crate::writer::{WriteFn, Writer};

/// The table.
pub fn schema() -> &'static str {
    "CREATE TABLE IF NOT EXISTS mqtt_conn_log (\
       clientid TEXT NOT NULL, username TEXT, peerhost TEXT, peerport BIGINT, \
       protocol TEXT, proto_ver BIGINT, keepalive BIGINT, clean_start BOOLEAN, \
       connected_at BIGINT NOT NULL, disconnected_at BIGINT, reason TEXT, node TEXT NOT NULL, \
       PRIMARY KEY (clientid, connected_at, node))"
}

/// A connect, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connected {
    /// Client id (lossy UTF-8).
    pub clientid: String,
    /// Username.
    pub username: Option<String>,
    /// Peer address.
    pub peerhost: Option<String>,
    /// Peer port.
    pub peerport: Option<u16>,
    /// `MQTT`, `MQIsdp`...
    pub protocol: Option<String>,
    /// 3, 4 or 5.
    pub proto_ver: Option<u8>,
    /// Seconds.
    pub keepalive: Option<u16>,
    /// Clean start / clean session.
    pub clean_start: bool,
    /// ms since the epoch.
    pub connected_at: i64,
}

/// One event for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `client.connected`.
    Connected(Connected),
    /// `client.disconnected`.
    Disconnected {
        /// Client id.
        clientid: String,
        /// The connect time of the connection that ended (the row's key).
        connected_at: i64,
        /// ms since the epoch.
        disconnected_at: i64,
        /// EMQX's reason (`normal`, `tcp_closed`, `kicked`...).
        reason: String,
    },
}

/// The connection log: its writer, and the node name put in each row.
pub struct ConnLog {
    /// The batching writer.
    pub writer: Writer<(String, Event)>,
    /// This node's name.
    pub node: String,
}

const INSERT: &str = "INSERT INTO mqtt_conn_log (clientid, username, peerhost, peerport, protocol, \
     proto_ver, keepalive, clean_start, connected_at, node) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) \
     ON CONFLICT (clientid, connected_at, node) DO NOTHING";
const UPDATE: &str = "UPDATE mqtt_conn_log SET disconnected_at = $1, reason = $2 \
     WHERE clientid = $3 AND connected_at = $4 AND node = $5";

/// Writes a batch of events in order, in one transaction.
pub fn write(conn: &mut Conn, events: &[(String, Event)]) -> Result<(), DbError> {
    let statements: Vec<(&str, Vec<Param>)> = events
        .iter()
        .map(|(node, e)| match e {
            Event::Connected(c) => (
                INSERT,
                vec![
                    Param::Text(c.clientid.clone()),
                    Param::opt_text(c.username.clone()),
                    Param::opt_text(c.peerhost.clone()),
                    c.peerport.map_or(Param::Null, |p| Param::Int(p.into())),
                    Param::opt_text(c.protocol.clone()),
                    c.proto_ver.map_or(Param::Null, |p| Param::Int(p.into())),
                    c.keepalive.map_or(Param::Null, |k| Param::Int(k.into())),
                    Param::Bool(c.clean_start),
                    Param::Int(c.connected_at),
                    Param::Text(node.clone()),
                ],
            ),
            Event::Disconnected {
                clientid,
                connected_at,
                disconnected_at,
                reason,
            } => (
                UPDATE,
                vec![
                    Param::Int(*disconnected_at),
                    Param::Text(reason.clone()),
                    Param::Text(clientid.clone()),
                    Param::Int(*connected_at),
                    Param::Text(node.clone()),
                ],
            ),
        })
        .collect();
    conn.transaction(&statements)
}

/// The write function for [`Writer::start`].
pub const WRITE: WriteFn<(String, Event)> = write;

impl ConnLog {
    /// Buffers an event (never blocks; see [`Writer::push`]).
    pub fn record(&self, event: Event) {
        self.writer.push((self.node.clone(), event));
    }
}

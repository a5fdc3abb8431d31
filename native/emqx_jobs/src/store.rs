//! Job 4, message storage (`message.publish`, and `message.acked` with
//! `init.store_acked = on`): each message whose topic matches `init.store_topics`
//! (comma-separated filters, default `#`; `$SYS/...` is never stored) is copied into the
//! batching [`Writer`], which writes many rows per statement and one transaction per
//! batch. The publisher never waits for the database: see `writer.rs` for the buffer,
//! the outage path and the rule when the buffer is full (new messages dropped and
//! counted).
//!
//! ```sql
//! CREATE TABLE mqtt_msg (
//!   msgid TEXT PRIMARY KEY,       -- EMQX's 16-byte GUID in hex: a retry never stores twice
//!   topic TEXT NOT NULL,          -- as the broker holds it (mountpoint included)
//!   payload BYTEA,                -- BLOB in SQLite
//!   qos BIGINT NOT NULL, retain BOOLEAN NOT NULL,
//!   from_clientid TEXT, from_username TEXT,
//!   ts BIGINT NOT NULL            -- ms since the epoch (the message's timestamp)
//! );
//! CREATE TABLE mqtt_msg_acked (   -- init.store_acked = on
//!   msgid TEXT NOT NULL, clientid TEXT NOT NULL, acked_at BIGINT NOT NULL,
//!   PRIMARY KEY (msgid, clientid)
//! );
//! ```

use crate::db::{multi_row_insert, Conn, DbError, Param};
use crate::writer::Writer;

/// The tables, for a backend whose bytes type is `blob`.
pub fn schema(blob: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS mqtt_msg (\
           msgid TEXT PRIMARY KEY, topic TEXT NOT NULL, payload {blob}, \
           qos BIGINT NOT NULL, retain BOOLEAN NOT NULL, \
           from_clientid TEXT, from_username TEXT, ts BIGINT NOT NULL); \
         CREATE TABLE IF NOT EXISTS mqtt_msg_acked (\
           msgid TEXT NOT NULL, clientid TEXT NOT NULL, acked_at BIGINT NOT NULL, \
           PRIMARY KEY (msgid, clientid))"
    )
}

/// A message, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The GUID in hex.
    pub msgid: String,
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// 0, 1 or 2.
    pub qos: u8,
    /// The retain flag.
    pub retain: bool,
    /// The publisher's client id.
    pub from_clientid: Option<String>,
    /// The publisher's username.
    pub from_username: Option<String>,
    /// ms since the epoch.
    pub ts: i64,
}

/// A subscriber's acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acked {
    /// The GUID in hex.
    pub msgid: String,
    /// The subscriber.
    pub clientid: String,
    /// ms since the epoch.
    pub acked_at: i64,
}

/// Rows per INSERT statement (9 parameters each).
const ROWS_PER_STATEMENT: usize = 200;

const MSG_HEAD: &str =
    "mqtt_msg (msgid, topic, payload, qos, retain, from_clientid, from_username, ts)";
const ACK_HEAD: &str = "mqtt_msg_acked (msgid, clientid, acked_at)";

/// Writes a batch of messages in one transaction; a message already stored is skipped.
pub fn write_messages(conn: &mut Conn, msgs: &[Stored]) -> Result<(), DbError> {
    let sqls: Vec<String> = msgs
        .chunks(ROWS_PER_STATEMENT)
        .map(|c| multi_row_insert(MSG_HEAD, 8, c.len(), " ON CONFLICT (msgid) DO NOTHING"))
        .collect();
    let statements: Vec<(&str, Vec<Param>)> = msgs
        .chunks(ROWS_PER_STATEMENT)
        .zip(&sqls)
        .map(|(chunk, sql)| {
            let params = chunk
                .iter()
                .flat_map(|m| {
                    [
                        Param::Text(m.msgid.clone()),
                        Param::Text(m.topic.clone()),
                        Param::Bytes(m.payload.clone()),
                        Param::Int(m.qos.into()),
                        Param::Bool(m.retain),
                        Param::opt_text(m.from_clientid.clone()),
                        Param::opt_text(m.from_username.clone()),
                        Param::Int(m.ts),
                    ]
                })
                .collect();
            (sql.as_str(), params)
        })
        .collect();
    conn.transaction(&statements)
}

/// Writes a batch of acknowledgements in one transaction (idempotent).
pub fn write_acks(conn: &mut Conn, acks: &[Acked]) -> Result<(), DbError> {
    let sqls: Vec<String> = acks
        .chunks(ROWS_PER_STATEMENT)
        .map(|c| {
            multi_row_insert(
                ACK_HEAD,
                3,
                c.len(),
                " ON CONFLICT (msgid, clientid) DO NOTHING",
            )
        })
        .collect();
    let statements: Vec<(&str, Vec<Param>)> = acks
        .chunks(ROWS_PER_STATEMENT)
        .zip(&sqls)
        .map(|(chunk, sql)| {
            let params = chunk
                .iter()
                .flat_map(|a| {
                    [
                        Param::Text(a.msgid.clone()),
                        Param::Text(a.clientid.clone()),
                        Param::Int(a.acked_at),
                    ]
                })
                .collect();
            (sql.as_str(), params)
        })
        .collect();
    conn.transaction(&statements)
}

/// The storage job.
pub struct Store {
    /// Which topics are stored.
    pub topics: Vec<String>,
    /// Messages.
    pub messages: Writer<Stored>,
    /// Acknowledgements (`init.store_acked = on`).
    pub acks: Option<Writer<Acked>>,
}

impl Store {
    /// Whether `topic` is stored.
    pub fn wants(&self, topic: &str) -> bool {
        self.topics
            .iter()
            .any(|f| emqx_rust_hook::topic::matches(topic, f))
    }

    /// Writes what is buffered and stops (from `Hooks::terminate`).
    pub fn stop(&self) {
        self.messages.stop();
        if let Some(a) = &self.acks {
            a.stop();
        }
    }

    /// `(name, value)` lines for `emqx_ctl rust_hook status`.
    pub fn status(&self) -> Vec<(String, String)> {
        let mut out = vec![("store.topics".to_string(), self.topics.join(","))];
        out.extend(self.messages.status());
        if let Some(a) = &self.acks {
            out.extend(a.status());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Backend;

    #[test]
    fn batches_larger_than_one_statement_and_retries_store_once() {
        let dir = std::env::temp_dir().join(format!("emqx_jobs_store_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let b = Backend::Sqlite {
            path: dir.join("s.db"),
        };
        let mut c = b.open().unwrap();
        c.script(&schema(b.blob_type())).unwrap();
        let msgs: Vec<Stored> = (0..450)
            .map(|i| Stored {
                msgid: format!("{i:032X}"),
                topic: format!("t/{i}"),
                payload: vec![i as u8, 0, 255],
                qos: (i % 3) as u8,
                retain: i % 2 == 0,
                from_clientid: Some("pub".into()),
                from_username: None,
                ts: 1_700_000_000_000 + i,
            })
            .collect();
        write_messages(&mut c, &msgs).unwrap();
        // The same batch again (a retry after a lost commit acknowledgement): no duplicates.
        write_messages(&mut c, &msgs[100..300]).unwrap();
        let rows = c
            .query(
                "SELECT msgid, payload, qos, retain, from_username FROM mqtt_msg ORDER BY ts",
                &[],
            )
            .unwrap();
        assert_eq!(rows.len(), 450);
        assert_eq!(rows[7][1], Param::Bytes(vec![7, 0, 255]));
        assert_eq!(rows[7][2].as_i64(), Some(1));
        assert!(!rows[7][3].as_bool());
        assert_eq!(rows[7][4], Param::Null);
        let acks = vec![Acked {
            msgid: msgs[0].msgid.clone(),
            clientid: "sub".into(),
            acked_at: 5,
        }];
        write_acks(&mut c, &acks).unwrap();
        write_acks(&mut c, &acks).unwrap();
        assert_eq!(
            c.query("SELECT msgid FROM mqtt_msg_acked", &[])
                .unwrap()
                .len(),
            1
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

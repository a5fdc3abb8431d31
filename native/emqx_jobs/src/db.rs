//! The database the jobs use: SQLite (embedded, the default) or PostgreSQL, behind one
//! small synchronous API: [`Backend`] says where (from the `init.*` settings) and opens
//! a [`Conn`]; a `Conn` runs statements with [`Param`]s, queries, and batches of
//! statements in one transaction.
//!
//! SQL is written once, with PostgreSQL's `$1, $2...` placeholders; for SQLite they
//! become `?1, ?2...` (SQLite's numbered parameters), so every statement means the same
//! on both. Column types are the common subset: `TEXT`, `BIGINT`, `BOOLEAN` and a
//! binary type (`BYTEA` / `BLOB`, see [`Backend::blob_type`]).

use emqx_rust_hook::prelude::*;
use postgres::types::{IsNull, ToSql, Type};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A database error, as text (never holds a secret: the password is not in any
/// statement, and the DSN is not part of the error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError(pub String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError(format!("sqlite: {e}"))
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        // `{e:#}` would add the source chain; the short form names the cause.
        match e.as_db_error() {
            Some(db) => DbError(format!("postgres: {}: {}", db.code().code(), db.message())),
            None => DbError(format!("postgres: {e}")),
        }
    }
}

/// A value bound to a statement, or read from a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    /// SQL `NULL`.
    Null,
    /// An integer (`BIGINT`).
    Int(i64),
    /// A boolean (`BOOLEAN`; an integer 0/1 in SQLite).
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes (`BYTEA` / `BLOB`).
    Bytes(Vec<u8>),
}

impl Param {
    /// Text, or `NULL` for `None`.
    pub fn opt_text(s: Option<String>) -> Param {
        s.map_or(Param::Null, Param::Text)
    }

    /// The text of a `Text` value (`None` otherwise).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Param::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A boolean: `Bool`, or an integer other than 0 (SQLite stores booleans so).
    pub fn as_bool(&self) -> bool {
        match self {
            Param::Bool(b) => *b,
            Param::Int(i) => *i != 0,
            Param::Text(s) => matches!(s.as_str(), "1" | "t" | "true"),
            _ => false,
        }
    }

    /// An integer (`None` unless `Int`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Param::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Param::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Param::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Param::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(*b as i64)),
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(i) => match *ty {
                Type::INT2 => (i16::try_from(*i)?).to_sql(ty, out),
                Type::INT4 => (i32::try_from(*i)?).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Param::Bool(b) => b.to_sql(ty, out),
            Param::Text(s) => s.to_sql(ty, out),
            Param::Bytes(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// Where a job's tables live.
#[derive(Clone)]
pub enum Backend {
    /// An SQLite file (created when missing).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres {
        /// Connection settings (the password included; never printed).
        config: Box<postgres::Config>,
        /// `host:port/dbname`, for log lines and status.
        label: String,
    },
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// How long to wait for a PostgreSQL connection, and for SQLite's lock.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

impl Backend {
    /// The backend of `job`: `init.<job>_backend`, else `init.backend` (`sqlite`, the
    /// default, or `postgres`). SQLite: `init.sqlite_path` (default `emqx_jobs.db`, in
    /// the broker's working directory). PostgreSQL: `init.postgres_dsn` (libpq's
    /// `key=value` form or a `postgres://` URL, without the password) and
    /// `init.postgres_password` (a secret: never printed).
    pub fn from_config(config: &Config, job: &str) -> Result<Backend, InitError> {
        let kind = config
            .get(&format!("{job}_backend"))
            .or_else(|| config.get("backend"))
            .unwrap_or("sqlite");
        match kind {
            "sqlite" => Ok(Backend::Sqlite {
                path: PathBuf::from(config.get("sqlite_path").unwrap_or("emqx_jobs.db")),
            }),
            "postgres" | "postgresql" => {
                let dsn = config.get("postgres_dsn").ok_or_else(|| {
                    InitError::new(format!(
                        "{job}: backend postgres needs exhook.drivers.rust.init.postgres_dsn"
                    ))
                })?;
                Self::postgres(dsn, config.get("postgres_password"))
                    .map_err(|e| InitError::new(format!("{job}: {e}")))
            }
            other => Err(InitError::new(format!(
                "{job}: unknown backend {other:?} (sqlite or postgres)"
            ))),
        }
    }

    /// A PostgreSQL backend from a DSN and an optional password.
    pub fn postgres(dsn: &str, password: Option<&str>) -> Result<Backend, DbError> {
        let mut config: postgres::Config = dsn
            .parse()
            .map_err(|_| DbError("init.postgres_dsn is not a valid PostgreSQL DSN".into()))?;
        if let Some(p) = password {
            config.password(p);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("emqx_jobs");
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                postgres::config::Host::Tcp(h) => h.clone(),
                postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .unwrap_or_else(|| "localhost".into());
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let label = format!(
            "postgres://{host}:{port}/{}",
            config.get_dbname().unwrap_or("")
        );
        Ok(Backend::Postgres {
            config: Box::new(config),
            label,
        })
    }

    /// Where the tables are, without any secret: `sqlite:PATH` or
    /// `postgres://host:port/db`.
    pub fn label(&self) -> String {
        match self {
            Backend::Sqlite { path } => format!("sqlite:{}", path.display()),
            Backend::Postgres { label, .. } => label.clone(),
        }
    }

    /// The column type for bytes.
    pub fn blob_type(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "BLOB",
            Backend::Postgres { .. } => "BYTEA",
        }
    }

    /// Opens a connection.
    pub fn open(&self) -> Result<Conn, DbError> {
        match self {
            Backend::Sqlite { path } => {
                let c = rusqlite::Connection::open(path)?;
                c.busy_timeout(CONNECT_TIMEOUT)?;
                // WAL: readers (auth, ACL) never wait for the writers (log, storage).
                c.pragma_update(None, "journal_mode", "WAL")?;
                c.pragma_update(None, "synchronous", "NORMAL")?;
                Ok(Conn::Sqlite(c))
            }
            Backend::Postgres { config, .. } => Ok(Conn::Postgres(Box::new(PgConn {
                client: config.connect(postgres::NoTls)?,
                statements: HashMap::new(),
            }))),
        }
    }
}

/// An open connection.
pub enum Conn {
    /// SQLite.
    Sqlite(rusqlite::Connection),
    /// PostgreSQL.
    Postgres(Box<PgConn>),
}

/// A PostgreSQL connection and its prepared statements.
pub struct PgConn {
    /// The client.
    client: postgres::Client,
    /// Prepared statements, by SQL text.
    statements: HashMap<String, postgres::Statement>,
}

/// `$1, $2...` to SQLite's `?1, ?2...` (the jobs' SQL has no other `$`).
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn pg_refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// At most this many prepared statements are kept per PostgreSQL connection.
const MAX_STATEMENTS: usize = 64;

fn prepared(
    client: &mut impl postgres::GenericClient,
    statements: &mut HashMap<String, postgres::Statement>,
    sql: &str,
) -> Result<postgres::Statement, DbError> {
    if let Some(s) = statements.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql)?;
    if statements.len() >= MAX_STATEMENTS {
        statements.clear();
    }
    statements.insert(sql.to_string(), s.clone());
    Ok(s)
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Param, DbError> {
    let ty = row.columns()[i].type_().clone();
    let v = match ty {
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Param::Bool),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Param::Int(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Param::Int(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Param::Int),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Param::Bytes),
        _ => row.try_get::<_, Option<String>>(i)?.map(Param::Text),
    };
    Ok(v.unwrap_or(Param::Null))
}

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Param {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Param::Null,
        ValueRef::Integer(i) => Param::Int(i),
        ValueRef::Real(f) => Param::Int(f as i64),
        ValueRef::Text(t) => Param::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Param::Bytes(b.to_vec()),
    }
}

impl Conn {
    /// Runs DDL (several statements separated by `;`, no parameters).
    pub fn script(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(pg) => Ok(pg.client.batch_execute(sql)?),
        }
    }

    /// Runs one statement; returns the rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, DbError> {
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare_cached(&sqlite_sql(sql))?;
                Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
            }
            Conn::Postgres(pg) => {
                let PgConn { client, statements } = &mut **pg;
                let st = prepared(client, statements, sql)?;
                Ok(client.execute(&st, &pg_refs(params))?)
            }
        }
    }

    /// Runs a query; returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Param]) -> Result<Vec<Vec<Param>>, DbError> {
        match self {
            Conn::Sqlite(c) => {
                let mut st = c.prepare_cached(&sqlite_sql(sql))?;
                let n = st.column_count();
                let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(
                        (0..n)
                            .map(|i| r.get_ref(i).map(sqlite_value))
                            .collect::<Result<_, _>>()?,
                    );
                }
                Ok(out)
            }
            Conn::Postgres(pg) => {
                let PgConn { client, statements } = &mut **pg;
                let st = prepared(client, statements, sql)?;
                client
                    .query(&st, &pg_refs(params))?
                    .iter()
                    .map(|r| (0..r.len()).map(|i| pg_value(r, i)).collect())
                    .collect()
            }
        }
    }

    /// Runs `statements` in order in one transaction: all or nothing.
    pub fn transaction(&mut self, statements: &[(&str, Vec<Param>)]) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => {
                let tx = c.transaction()?;
                for (sql, params) in statements {
                    let mut st = tx.prepare_cached(&sqlite_sql(sql))?;
                    st.execute(rusqlite::params_from_iter(params.iter()))?;
                }
                Ok(tx.commit()?)
            }
            Conn::Postgres(pg) => {
                let PgConn {
                    client,
                    statements: cache,
                } = &mut **pg;
                let mut tx = client.transaction()?;
                for (sql, params) in statements {
                    let st = prepared(&mut tx, cache, sql)?;
                    tx.execute(&st, &pg_refs(params))?;
                }
                Ok(tx.commit()?)
            }
        }
    }
}

/// `INSERT INTO {head} VALUES ($1,..,$cols),(...)...{tail}` for `rows` rows: one
/// statement for many rows (one round trip to PostgreSQL instead of `rows`).
pub fn multi_row_insert(head: &str, cols: usize, rows: usize, tail: &str) -> String {
    let mut sql = format!("INSERT INTO {head} VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", r * cols + c + 1));
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_for_sqlite() {
        assert_eq!(sqlite_sql("a = $1 AND b = $12"), "a = ?1 AND b = ?12");
        assert_eq!(
            multi_row_insert("t (a, b)", 2, 2, " ON CONFLICT DO NOTHING"),
            "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn sqlite_roundtrip_and_transaction() {
        let dir = std::env::temp_dir().join(format!("emqx_jobs_db_{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let b = Backend::Sqlite {
            path: dir.join("t.db"),
        };
        let mut c = b.open().unwrap();
        c.script("DROP TABLE IF EXISTS t; CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, f BOOLEAN, b BLOB, z TEXT)")
            .unwrap();
        let row = vec![
            Param::Text("a".into()),
            Param::Int(7),
            Param::Bool(true),
            Param::Bytes(vec![0, 255]),
            Param::Null,
        ];
        let sql = multi_row_insert("t", 5, 1, " ON CONFLICT (k) DO NOTHING");
        assert_eq!(c.execute(&sql, &row).unwrap(), 1);
        // Idempotent: the same key again changes nothing.
        assert_eq!(c.execute(&sql, &row).unwrap(), 0);
        let got = c
            .query(
                "SELECT k, n, f, b, z FROM t WHERE k = $1",
                &[Param::Text("a".into())],
            )
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0][0].as_str(), Some("a"));
        assert_eq!(got[0][1].as_i64(), Some(7));
        assert!(got[0][2].as_bool());
        assert_eq!(got[0][3], Param::Bytes(vec![0, 255]));
        assert_eq!(got[0][4], Param::Null);
        // A failing statement rolls the whole transaction back.
        let bad = c.transaction(&[
            (
                "INSERT INTO t (k) VALUES ($1)",
                vec![Param::Text("b".into())],
            ),
            (
                "INSERT INTO nope (k) VALUES ($1)",
                vec![Param::Text("c".into())],
            ),
        ]);
        assert!(bad.is_err());
        assert!(c
            .query("SELECT k FROM t WHERE k = 'b'", &[])
            .unwrap()
            .is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn postgres_label_hides_the_password() {
        let b = Backend::postgres(
            "host=db.example port=5433 user=emqx dbname=mqtt",
            Some("s3cret"),
        )
        .unwrap();
        assert_eq!(b.label(), "postgres://db.example:5433/mqtt");
        assert!(!format!("{b:?}").contains("s3cret"));
        assert!(Backend::postgres("host=a port=notaport", None).is_err());
    }
}

//! `emqx_jobs_admin`: the jobs' tables from the command line: create them, add users
//! (the password hashed the way `init.auth_hash` says) and ACL rules, read the connection
//! log and the stored messages back.
//!
//! ```text
//! emqx_jobs_admin --sqlite PATH | --postgres DSN   (password: $EMQX_JOBS_PG_PASSWORD)
//!   init
//!   add-user USER PASSWORD [--hash KIND] [--superuser] [--clientid ID]   (PASSWORD - : read a line from stdin)
//!   add-rule ORD allow|deny publish|subscribe|pubsub TOPIC [--username U] [--clientid C]
//!   connections
//!   messages
//! ```

use emqx_jobs::db::{Backend, Conn, Param};
use emqx_jobs::password::HashKind;
use std::process::exit;

const USAGE: &str = "usage: emqx_jobs_admin --sqlite PATH | --postgres DSN  COMMAND
  init                      create the tables of the four jobs
  add-user USER PASSWORD [--hash KIND] [--superuser] [--clientid ID]
                            (PASSWORD - reads it from stdin; KIND as init.auth_hash, default sha256,salt)
  add-rule ORD allow|deny publish|subscribe|pubsub TOPIC [--username U] [--clientid C]
  connections               print the connection log
  messages                  print the stored messages
PostgreSQL's password: $EMQX_JOBS_PG_PASSWORD";

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("emqx_jobs_admin: {msg}");
    exit(1)
}

/// `--name VALUE` out of `args` (removed), if present.
fn option(args: &mut Vec<String>, name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    if i + 1 >= args.len() {
        fail(format!("{name} needs a value"));
    }
    let v = args.remove(i + 1);
    args.remove(i);
    Some(v)
}

fn flag(args: &mut Vec<String>, name: &str) -> bool {
    match args.iter().position(|a| a == name) {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    }
}

fn text(p: &Param) -> String {
    match p {
        Param::Null => "-".into(),
        Param::Int(i) => i.to_string(),
        Param::Bool(b) => b.to_string(),
        Param::Text(s) => s.clone(),
        Param::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
    }
}

fn print_rows(c: &mut Conn, header: &str, sql: &str) {
    println!("{header}");
    for r in c.query(sql, &[]).unwrap_or_else(|e| fail(e)) {
        println!("{}", r.iter().map(text).collect::<Vec<_>>().join(" | "));
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let backend = if let Some(path) = option(&mut args, "--sqlite") {
        Backend::Sqlite { path: path.into() }
    } else if let Some(dsn) = option(&mut args, "--postgres") {
        let pw = std::env::var("EMQX_JOBS_PG_PASSWORD").ok();
        Backend::postgres(&dsn, pw.as_deref()).unwrap_or_else(|e| fail(e))
    } else {
        fail(USAGE)
    };
    let hash = option(&mut args, "--hash").unwrap_or_else(|| "sha256,salt".into());
    let superuser = flag(&mut args, "--superuser");
    let clientid = option(&mut args, "--clientid");
    let username = option(&mut args, "--username");
    let mut c = backend.open().unwrap_or_else(|e| fail(e));
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["init"] => {
            let ddl = [
                emqx_jobs::conn_log::schema().to_string(),
                emqx_jobs::auth::schema().to_string(),
                emqx_jobs::acl::schema().to_string(),
                emqx_jobs::store::schema(backend.blob_type()),
            ];
            for d in ddl {
                c.script(&d).unwrap_or_else(|e| fail(e));
            }
            println!("tables created in {}", backend.label());
        }
        ["add-user", user, password] => {
            let password = if *password == "-" {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).unwrap_or_else(|e| fail(e));
                line.trim_end_matches(['\r', '\n']).to_string()
            } else {
                password.to_string()
            };
            let kind: HashKind = hash.parse().unwrap_or_else(|e| fail(e));
            let mut salt = [0u8; 8];
            getrandom::fill(&mut salt).unwrap_or_else(|e| fail(e));
            let salt = hex::encode(salt);
            c.execute(
                "INSERT INTO mqtt_user (username, password_hash, salt, is_superuser, clientid) VALUES ($1, $2, $3, $4, $5)",
                &[
                    Param::Text(user.to_string()),
                    Param::Text(kind.hash(password.as_bytes(), &salt, 10)),
                    Param::Text(salt),
                    Param::Bool(superuser),
                    Param::opt_text(clientid),
                ],
            )
            .unwrap_or_else(|e| fail(e));
            println!("user {user} added ({hash})");
        }
        ["add-rule", ord, perm, action, topic] => {
            let ord: i64 = ord.parse().unwrap_or_else(|_| fail("ORD must be a number"));
            emqx_jobs::acl::Rule::parse(perm, action, topic).unwrap_or_else(|e| fail(e));
            c.execute(
                "INSERT INTO mqtt_acl (ord, permission, action, topic, username, clientid) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    Param::Int(ord),
                    Param::Text(perm.to_string()),
                    Param::Text(action.to_string()),
                    Param::Text(topic.to_string()),
                    Param::opt_text(username),
                    Param::opt_text(clientid),
                ],
            )
            .unwrap_or_else(|e| fail(e));
            println!("rule {ord}: {perm} {action} {topic}");
        }
        ["connections"] => print_rows(
            &mut c,
            "clientid | username | peerhost | peerport | protocol | proto_ver | keepalive | clean_start | connected_at | disconnected_at | reason",
            "SELECT clientid, username, peerhost, peerport, protocol, proto_ver, keepalive, clean_start, \
             connected_at, disconnected_at, reason FROM mqtt_conn_log ORDER BY connected_at",
        ),
        ["messages"] => print_rows(
            &mut c,
            "topic | payload | qos | retain | from_clientid | from_username | ts | msgid",
            "SELECT topic, payload, qos, retain, from_clientid, from_username, ts, msgid FROM mqtt_msg ORDER BY ts, msgid",
        ),
        _ => fail(USAGE),
    }
}

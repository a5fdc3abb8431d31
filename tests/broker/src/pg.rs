//! A throwaway PostgreSQL server for the jobs' cases (`tests/pg/pg.sh`): one cluster per
//! test run in a temp dir, on a free port, with a password for TCP logins; stopped and
//! removed by a watchdog when this process ends, however it ends.

use crate::broker::{free_port, repo_root};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The running server.
pub struct Pg {
    /// The cluster's data directory.
    pub dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The password of user `postgres` over TCP.
    pub password: String,
}

fn script() -> PathBuf {
    repo_root().join("tests/pg/pg.sh")
}

fn run(args: &[&str]) -> Result<String, String> {
    let o = Command::new(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("tests/pg/pg.sh: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if o.status.success() {
        Ok(text)
    } else {
        Err(format!("tests/pg/pg.sh {args:?} failed: {text}"))
    }
}

/// Whether PostgreSQL's server binaries are installed.
pub fn available() -> bool {
    run(&["available"]).is_ok()
}

static SHARED: OnceLock<Pg> = OnceLock::new();

/// The server of this test run, started on first use.
pub fn shared() -> &'static Pg {
    SHARED.get_or_init(|| Pg::start().unwrap_or_else(|e| panic!("{e}")))
}

impl Pg {
    fn start() -> Result<Pg, String> {
        let parent = std::env::temp_dir().join(format!("emqx-rust-hook-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&parent);
        std::fs::create_dir_all(&parent).map_err(|e| e.to_string())?;
        // The server runs as user postgres when we are root: let it reach the dir.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let dir = parent.join("cluster");
        let pg = Pg {
            dir,
            port: free_port(),
            password: "pg-Secret-4711".to_string(),
        };
        run(&["init", &pg.dir.to_string_lossy(), &pg.password])?;
        pg.start_server()?;
        // Stops the server and removes it when this process is gone.
        let watchdog = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; {} stop {} ; rm -rf {}",
            std::process::id(),
            script().display(),
            pg.dir.display(),
            parent.display()
        );
        Command::new("setsid")
            .args(["sh", "-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("watchdog: {e}"))?;
        Ok(pg)
    }

    /// Starts the server (again).
    pub fn start_server(&self) -> Result<(), String> {
        run(&["start", &self.dir.to_string_lossy(), &self.port.to_string()]).map(|_| ())
    }

    /// Stops the server (fast shutdown: open connections are cut).
    pub fn stop_server(&self) -> Result<(), String> {
        run(&["stop", &self.dir.to_string_lossy()]).map(|_| ())
    }

    /// Runs SQL as `postgres` over the server's socket; returns psql's unaligned output.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        run(&[
            "psql",
            &self.dir.to_string_lossy(),
            &self.port.to_string(),
            sql,
        ])
    }

    /// A fresh, empty database `name` (dropped first if it exists).
    pub fn fresh_db(&self, name: &str) {
        self.psql(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        self.psql(&format!("CREATE DATABASE {name}")).unwrap();
    }

    /// The DSN of database `db`, without the password (see [`Pg::password`]).
    pub fn dsn(&self, db: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={db}",
            self.port
        )
    }
}

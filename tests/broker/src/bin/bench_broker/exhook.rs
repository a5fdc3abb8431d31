//! The HookProvider servers of the `exhook_python` and `exhook_rust` configurations
//! (EMQX 4.4's gRPC `emqx_exhook`): started once per run on a free port, beside the
//! broker, and stopped when the run ends. `exhook_rust` is `bench/exhook-server/`
//! (tonic); `exhook_python` is `bench/broker/exhook/exhook_bench_server.py`, the kit's
//! reference server adapted to the same decisions, in a virtualenv with grpcio and
//! grpcio-tools from PyPI made once in the cache directory.

use broker_tests::broker::{free_port, repo_root};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which HookProvider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// `bench/broker/exhook/exhook_bench_server.py` (grpcio).
    Python,
    /// `target/release/exhook-bench-server` (tonic).
    Rust,
}

/// A running HookProvider server; stopped (SIGKILL, then reaped) on drop.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// Its OS pid (for its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// emqx_exhook's own proto in the release at `home` (`lib/emqx_exhook-*/priv/protos/`).
pub fn proto(home: &Path) -> Option<PathBuf> {
    std::fs::read_dir(home.join("lib"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("emqx_exhook-"))
        .map(|e| e.path().join("priv/protos/exhook.proto"))
        .find(|p| p.is_file())
}

fn cache_dir() -> PathBuf {
    std::env::var("EMQX_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/emqx-rust-hook")
        })
}

/// The virtualenv's python with grpcio and grpcio-tools (made once), or why there is none.
fn python_venv() -> Result<PathBuf, String> {
    let venv = cache_dir().join("exhook-grpc-venv");
    let vpy = venv.join("bin/python3");
    let has_grpc = |p: &Path| {
        Command::new(p)
            .args(["-c", "import grpc, grpc_tools"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_grpc(&vpy) {
        return Ok(vpy);
    }
    let py = std::env::var("BENCH_PYTHON3").unwrap_or_else(|_| "python3".into());
    let made = Command::new(&py).args(["-m", "venv"]).arg(&venv).output();
    if !made.as_ref().is_ok_and(|o| o.status.success()) {
        return Err(format!("{py} -m venv {} failed", venv.display()));
    }
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "grpcio", "grpcio-tools"])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.status.success() || !has_grpc(&vpy) {
        return Err(format!(
            "pip install grpcio grpcio-tools failed: {}",
            String::from_utf8_lossy(&pip.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ));
    }
    Ok(vpy)
}

/// Starts `provider` on a free port and waits until it accepts connections.
pub fn start(provider: Provider, proto: &Path) -> Result<Server, String> {
    let port = free_port();
    let mut cmd = match provider {
        Provider::Rust => {
            let bin = repo_root().join("target/release/exhook-bench-server");
            if !bin.is_file() {
                return Err(format!("{} is not built", bin.display()));
            }
            let mut c = Command::new(bin);
            c.arg("--listen").arg(format!("127.0.0.1:{port}"));
            c
        }
        Provider::Python => {
            let py = python_venv()?;
            let mut c = Command::new(py);
            c.arg(repo_root().join("bench/broker/exhook/exhook_bench_server.py"))
                .arg("--proto")
                .arg(proto)
                .arg("--port")
                .arg(port.to_string());
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{provider:?} HookProvider: {e}"))?;
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!("{provider:?} HookProvider exited ({st})"));
        }
        if t0.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{provider:?} HookProvider did not listen on {port} in 60 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Server { child, port })
}

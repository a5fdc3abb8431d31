//! `exhook-bench-server [--listen 127.0.0.1:9000]`: the gRPC HookProvider that
//! `make bench-broker` puts beside EMQX 4.4's `emqx_exhook` (configuration
//! `exhook_rust`): what a Rust developer on 4.4 would otherwise write, with tonic.
//! It declares the 19 hooks that emqx_exhook offers and makes the decisions of
//! `native/bench_all_hooks` (see [`provider`]). Serves until SIGTERM or Ctrl-C.

mod provider;

use provider::pb::hook_provider_server::HookProviderServer;
use std::net::SocketAddr;

/// The address to listen on: `--listen ADDR`, else 127.0.0.1:9000.
fn listen_addr() -> Result<SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:9000".to_string();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => addr = args.next().ok_or("--listen needs an address")?,
            _ => {
                return Err(format!(
                    "unknown argument {a}; usage: exhook-bench-server [--listen ADDR]"
                ))
            }
        }
    }
    addr.parse().map_err(|e| format!("--listen {addr}: {e}"))
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[tokio::main]
async fn main() {
    let addr = match listen_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("exhook-bench-server: {e}");
            std::process::exit(2);
        }
    };
    println!("exhook-bench-server: HookProvider on {addr}");
    let served = tonic::transport::Server::builder()
        .add_service(HookProviderServer::new(provider::BenchProvider))
        .serve_with_shutdown(addr, shutdown())
        .await;
    if let Err(e) = served {
        eprintln!("exhook-bench-server: {addr}: {e}");
        std::process::exit(1);
    }
}

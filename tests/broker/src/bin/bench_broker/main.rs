//! `make bench-broker`: the real EMQX 4.2 (or 4.4) broker, saturated by MQTT clients
//! (rumqttc), with every hook configuration side by side in one run: no hooks, the same
//! decisions as pure-Erlang hooks, the 19-hook Rust library in several modes, async hook
//! methods (when built), and the stock way from another language: on 4.2
//! `emqx_extension_hook` with the Python SDK (when a Python 3.10 exists), on 4.4 the gRPC
//! `emqx_exhook` with a Python (grpcio) and a Rust (tonic) HookProvider. The
//! configurations alternate over several rounds (each round in a different order); the
//! medians and their spread go to stdout, `bench/broker-results.json` and
//! `bench/broker-results.md` (4.4: `bench/broker-results-4.4.*`). See BENCHMARKS.md.
//!
//! Settings (environment): `BENCH_EMQX` (`4.2` or `4.4`; the broker as
//! `tests/broker/emqx-home.sh` finds it), `BENCH_ROUNDS` (3), `BENCH_SECS` per workload (4),
//! `BENCH_WARMUP` s (1), `BENCH_PUBLISHERS` (8), `BENCH_CYCLERS` (16), `BENCH_PERCALL_N`
//! calls per hook (20000), `BENCH_CONFIGS` (comma-separated names; default all),
//! `BENCH_PYTHON310` (a python3.10), `BENCH_PYTHON3` (the python3 of the exhook
//! virtualenv), `BENCH_ASYNC_LIB` (the async library's .so), `BENCH_ALT_LIB` (another
//! build of the 19-hook library: adds `rust_inline_alt` and `rust_default_alt`).

mod configs;
mod exhook;
mod load;
mod python;
mod report;

use broker_tests::broker::{repo_root, Broker, Setup, Version};
use configs::Config;
use report::{Sample, Samples};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `rust_hook_bench_erl:decisions()` with the bench's hooks (native/bench_all_hooks):
/// the bench's client is authenticated and allowed, its messages go on unchanged.
const DECISIONS: &str = "{success,allow,true}";
/// The same without hooks that decide.
const NO_DECISIONS: &str = "{not_authorized,deny,true}";

/// Settings of one run.
pub struct Settings {
    pub rounds: u64,
    pub secs: u64,
    pub warmup: u64,
    pub publishers: usize,
    pub cyclers: usize,
    pub percall_n: u64,
}

/// `tests/broker/emqx-home.sh VERSION`: `$EMQX_HOME` (4.2) or `$EMQX44_HOME` (4.4), or
/// the EMQX kit of that version beside the repository built once into the cache.
fn emqx_home(version: &str) -> Result<String, String> {
    let script = repo_root().join("tests/broker/emqx-home.sh");
    let out = std::process::Command::new(&script)
        .arg(version)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "no EMQX {version} broker (see above); set {} to an EMQX {version} release",
            if version == "4.4" {
                "EMQX44_HOME"
            } else {
                "EMQX_HOME"
            }
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let version = std::env::var("BENCH_EMQX").unwrap_or_else(|_| "4.2".into());
    if version != "4.2" && version != "4.4" {
        eprintln!("bench-broker: BENCH_EMQX={version}: 4.2 or 4.4");
        std::process::exit(2);
    }
    let home = match emqx_home(&version) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("bench-broker: {e}");
            std::process::exit(2);
        }
    };
    std::env::set_var("EMQX_HOME", &home);
    let s = Settings {
        rounds: env_num("BENCH_ROUNDS", 3).max(1),
        secs: env_num("BENCH_SECS", 4).max(1),
        warmup: env_num("BENCH_WARMUP", 1),
        publishers: env_num("BENCH_PUBLISHERS", 8).max(1) as usize,
        cyclers: env_num("BENCH_CYCLERS", 16).max(1) as usize,
        percall_n: env_num("BENCH_PERCALL_N", 20000).max(100),
    };
    let v = Version::of_home(std::path::Path::new(&home));
    let python = match v {
        Version::V4_2 => python::setup(),
        Version::V4_4 => Err("emqx_extension_hook is an EMQX 4.2 plugin".into()),
    };
    let wanted: Option<Vec<String>> = std::env::var("BENCH_CONFIGS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let is_wanted = |name: &str| wanted.as_ref().is_none_or(|w| w.iter().any(|n| n == name));
    // The HookProviders of the exhook configurations, up for the whole run (4.4).
    let servers: Vec<(exhook::Provider, Result<exhook::Server, String>)> = match v {
        Version::V4_2 => Vec::new(),
        Version::V4_4 => {
            let proto = exhook::proto(std::path::Path::new(&home));
            [
                (exhook::Provider::Python, "exhook_python"),
                (exhook::Provider::Rust, "exhook_rust"),
            ]
            .into_iter()
            .filter(|(_, name)| is_wanted(name))
            .map(|(p, _)| {
                let server = match &proto {
                    Some(proto) => exhook::start(p, proto),
                    None => Err(format!("{home} has no emqx_exhook proto")),
                };
                (p, server)
            })
            .collect()
        }
    };
    let python_dir = repo_root().join("bench/broker/python");
    if let Ok(py) = &python {
        // `bin/emqx start` puts it first on the node's PATH for the python3 driver.
        std::env::set_var("EMQX_PYTHON3", py);
    }
    let mut cfgs: Vec<Config> = configs::all(v, &python, &servers)
        .into_iter()
        .filter(|c| is_wanted(c.name))
        .collect();
    assert!(
        cfgs.iter().any(|c| c.name == "none"),
        "BENCH_CONFIGS must include none (the ratios are to it)"
    );

    let t0 = Instant::now();
    let mut broker = Broker::start(&Setup {
        load: false,
        // EMQX's release default (the kit logs at info: a line per PUBLISH), and no
        // limit on new connections (the release's 1000/s capped the cycles workload of
        // every configuration at ~1000/s, hooks or not).
        emqx_conf: vec![
            "log.level = warning".into(),
            "listener.tcp.external.max_conn_rate = 1000000".into(),
        ],
        ..Setup::default()
    });
    let src = repo_root().join("bench/broker/rust_hook_bench_erl.erl");
    assert_eq!(
        broker.eval(&format!(
            "{{ok, M, B}} = compile:file(\"{}\", [binary, report]), \
             {{module, M}} = code:load_binary(M, \"rust_hook_bench_erl.erl\", B), ok.",
            src.display()
        )),
        "ok"
    );
    let machine = report::machine();
    let otp = broker
        .eval("erlang:system_info(otp_release).")
        .trim_matches('"')
        .to_string();
    let emqx = broker
        .eval("emqx_sys:version().")
        .trim_matches('"')
        .to_string();
    let schedulers = broker.eval("erlang:system_info(schedulers_online).");
    let beam_pid: u32 = broker
        .eval("os:getpid().")
        .trim_matches('"')
        .parse()
        .expect("broker OS pid");
    println!(
        "bench-broker: EMQX {emqx} (OTP {otp}, {schedulers} schedulers) on {machine}; \
         {} rounds, {} s per workload after {} s warm-up, {} publishers, {} cycling clients",
        s.rounds, s.secs, s.warmup, s.publishers, s.cyclers
    );
    // A configuration that cannot be put on the broker, or that does not make the
    // bench's decisions (`rust_hook_bench_erl:decisions/0`), is listed with the reason.
    for c in cfgs.iter_mut().filter(|c| c.unavailable.is_none()) {
        if let Err(why) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            configs::apply(&broker, c, &python_dir);
            let made = broker.eval("rust_hook_bench_erl:decisions().");
            configs::remove(&broker, c);
            let want = if c.decides { DECISIONS } else { NO_DECISIONS };
            assert!(
                made == want,
                "does not make the bench's decisions: {made} (expected {want})"
            );
        })) {
            let why = why
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "could not be loaded".into());
            c.unavailable = Some(why);
        }
    }
    for c in &cfgs {
        if let Some(why) = &c.unavailable {
            println!("  {:<18} NOT AVAILABLE: {why}", c.name);
        }
    }
    let runnable: Vec<&Config> = cfgs.iter().filter(|c| c.unavailable.is_none()).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut samples: Samples = BTreeMap::new();
    let (warm, secs) = (Duration::from_secs(s.warmup), Duration::from_secs(s.secs));
    for round in 0..s.rounds as usize {
        for c in round_order(&runnable, round) {
            configs::apply(&broker, c, &python_dir);
            let cpu = load::CpuClock::new(beam_pid);
            let provider = match c.kind {
                configs::Kind::Exhook { pid, .. } => Some(load::CpuClock::new(pid)),
                _ => None,
            };
            let p = rt.block_on(load::publish(
                broker.mqtt_port,
                s.publishers,
                warm,
                secs,
                &cpu,
                provider.as_ref(),
            ));
            let y = rt.block_on(load::cycles(
                broker.mqtt_port,
                s.cyclers,
                warm,
                secs,
                &cpu,
                provider.as_ref(),
            ));
            let file = broker.root.join("percall.txt");
            broker.eval(&format!(
                "rust_hook_bench_erl:percall({}, \"{}\").",
                s.percall_n,
                file.display()
            ));
            let percall = std::fs::read_to_string(&file).expect("percall output");
            let demoted: Vec<String> = match c.kind {
                configs::Kind::Rust { .. } => broker
                    .ctl(&["rust_hook", "stats"])
                    .text
                    .lines()
                    .filter(|l| l.contains("demoted=true"))
                    .filter_map(|l| l.split_whitespace().next().map(String::from))
                    .collect(),
                _ => Vec::new(),
            };
            configs::remove(&broker, c);
            println!(
                "round {}/{} {:<18} publish {:>6.0} msg/s (CPU broker {:>3.0}%, load {:>3.0}%)  \
                 cycles {:>5.0} /s (CPU broker {:>3.0}%, load {:>3.0}%){}",
                round + 1,
                s.rounds,
                c.name,
                p.rate,
                p.broker_cpu * 100.0,
                p.load_cpu * 100.0,
                y.rate,
                y.broker_cpu * 100.0,
                y.load_cpu * 100.0,
                if p.errors + y.errors > 0 {
                    format!(
                        "  ({} publisher errors, {} failed cycles)",
                        p.errors, y.errors
                    )
                } else {
                    String::new()
                }
            );
            let push = |samples: &mut Samples, w: String, v: Sample| {
                samples
                    .entry((c.name, w))
                    .or_default()
                    .push(Sample { round, ..v })
            };
            push(&mut samples, "publish".into(), Sample::one(p.rate));
            push(&mut samples, "cycles".into(), Sample::one(y.rate));
            // The broker's CPU time per message / cycle: the cost of the hooks as the
            // broker pays it, less sensitive than throughput to other jobs on the machine.
            let groups: Vec<String> = p
                .threads
                .iter()
                .map(|(g, c)| format!("{g} {:.0}%", c * 100.0))
                .collect();
            println!(
                "    broker CPU while publishing, by thread: {}",
                groups.join(", ")
            );
            if !demoted.is_empty() {
                println!(
                    "    demoted (auto hooks moved off the schedulers): {}",
                    demoted.join(" ")
                );
            }
            let per = |m: &load::Measured| m.broker_cpu * 1e6 / m.rate.max(1.0);
            push(&mut samples, "publish cpu".into(), Sample::one(per(&p)));
            push(&mut samples, "cycles cpu".into(), Sample::one(per(&y)));
            // An exhook configuration's HookProvider: the CPU it adds beside the broker.
            if let (Some(pc), Some(yc)) = (p.provider_cpu, y.provider_cpu) {
                let per = |cpu: f64, m: &load::Measured| cpu * 1e6 / m.rate.max(1.0);
                println!(
                    "    HookProvider CPU: publishing {:.0}%, cycling {:.0}%",
                    pc * 100.0,
                    yc * 100.0
                );
                push(
                    &mut samples,
                    "publish provider cpu".into(),
                    Sample::one(per(pc, &p)),
                );
                push(
                    &mut samples,
                    "cycles provider cpu".into(),
                    Sample::one(per(yc, &y)),
                );
            }
            for line in percall.lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if let [hook, mean, p50, p99] = f[..] {
                    let v = |x: &str| x.parse::<f64>().unwrap_or(f64::NAN);
                    push(
                        &mut samples,
                        format!("percall {hook}"),
                        Sample {
                            round,
                            value: v(mean),
                            p50: Some(v(p50)),
                            p99: Some(v(p99)),
                        },
                    );
                }
            }
        }
    }
    broker.stop();
    drop(servers);
    let out = report::Report {
        machine,
        otp,
        emqx,
        schedulers,
        settings: &s,
        configs: &cfgs,
        samples: &samples,
    };
    let stem = match v {
        Version::V4_2 => "broker-results",
        Version::V4_4 => "broker-results-4.4",
    };
    out.write(&repo_root().join("bench"), stem);
    println!("bench-broker: done in {:.0} s", t0.elapsed().as_secs_f64());
}

/// The order of the configurations in round `round` (from 0): every other round runs
/// backwards, and each round starts `round` configurations later, so no configuration
/// always runs first, and each one runs after one or the other of its two neighbours in
/// the list (a rotation alone puts it after the same one every round, so anything one
/// configuration leaves behind would always be charged to the same other).
fn round_order<'a, T>(configs: &[&'a T], round: usize) -> Vec<&'a T> {
    let mut list = configs.to_vec();
    if round % 2 == 1 {
        list.reverse();
    }
    let n = list.len();
    (0..n).map(|k| list[(k + round) % n]).collect()
}

#[cfg(test)]
mod tests {
    use super::round_order;

    #[test]
    fn rounds_vary_the_first_configuration_and_each_ones_predecessor() {
        let names = ["a", "b", "c", "d", "e"];
        let configs: Vec<&&str> = names.iter().collect();
        let rounds: Vec<Vec<&str>> = (0..4)
            .map(|r| round_order(&configs, r).into_iter().copied().collect())
            .collect();
        assert_eq!(rounds[0], ["a", "b", "c", "d", "e"]);
        assert_eq!(rounds[1], ["d", "c", "b", "a", "e"]);
        for r in &rounds {
            let mut sorted = r.clone();
            sorted.sort();
            assert_eq!(sorted, names, "every configuration runs once per round");
        }
        let firsts: std::collections::BTreeSet<&str> = rounds.iter().map(|r| r[0]).collect();
        assert_eq!(firsts.len(), 4, "{firsts:?}");
        for name in names {
            let before: std::collections::BTreeSet<&str> = rounds
                .iter()
                .filter_map(|r| {
                    let i = r.iter().position(|n| *n == name)?;
                    i.checked_sub(1).map(|p| r[p])
                })
                .collect();
            assert!(before.len() >= 2, "{name} always follows {before:?}");
        }
    }
}

//! MQTT load from rumqttc's async client: QoS 1 publishers and
//! connect+publish+disconnect cycles, counted over a fixed time after a warm-up.

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a step of a cycle may take before the cycle counts as failed.
const STEP: Duration = Duration::from_secs(10);

fn options(id: &str, port: u16) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(60))
        .set_clean_session(true)
        .set_credentials("bench", "bench")
        .set_inflight(64);
    o
}

/// The broker's CPU time (user + system, all threads) from `/proc/<pid>/stat`.
pub struct CpuClock {
    pid: u32,
    tick: f64,
}

impl CpuClock {
    /// For the OS process `pid`.
    pub fn new(pid: u32) -> CpuClock {
        CpuClock {
            pid,
            tick: 1.0 / USER_HZ,
        }
    }

    /// CPU seconds so far.
    fn now(&self) -> f64 {
        cpu_of(&format!("/proc/{}/stat", self.pid)) * self.tick
    }

    /// CPU seconds so far per group of threads (named by their `comm`): the BEAM's
    /// schedulers, its dirty schedulers, the SDK's workers (`rh_...`), the SDK's watchdog,
    /// the rest.
    fn threads(&self) -> BTreeMap<&'static str, f64> {
        let mut groups = BTreeMap::new();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid)) else {
            return groups;
        };
        for t in tasks.flatten() {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            let comm = comm.trim();
            let group = if comm.starts_with("rh_watchdog") {
                "watchdog"
            } else if comm.starts_with("rh_") {
                "sdk workers"
            } else if comm.contains("dirty") {
                "dirty schedulers"
            } else if comm.ends_with("scheduler") {
                "schedulers"
            } else {
                "other"
            };
            *groups.entry(group).or_insert(0.0) +=
                cpu_of(&t.path().join("stat").display().to_string()) * self.tick;
        }
        groups
    }
}

/// utime + stime of a `/proc/.../stat` file, in ticks.
fn cpu_of(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the ')'.
    t(11) + t(12)
}

/// The unit of `/proc/<pid>/stat` times: 100 per second on Linux (every architecture).
const USER_HZ: f64 = 100.0;

/// What the window measured: events per second, errors, and the CPU use (1.0 = one
/// core) of the broker and of this load generator.
pub struct Measured {
    pub rate: f64,
    pub errors: u64,
    pub broker_cpu: f64,
    pub load_cpu: f64,
    /// The broker's CPU use per group of threads (see `CpuClock::threads`).
    pub threads: Vec<(&'static str, f64)>,
    /// The CPU use of the HookProvider server (exhook configurations).
    pub provider_cpu: Option<f64>,
}

/// Counts measured during the timed window.
struct Window {
    measuring: AtomicBool,
    stop: AtomicBool,
    count: AtomicU64,
    errors: AtomicU64,
}

impl Window {
    fn new() -> Arc<Window> {
        Arc::new(Window {
            measuring: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            count: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        })
    }

    fn done(&self) {
        if self.measuring.load(Ordering::Relaxed) {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Warm-up, then the timed window; returns events per second, the errors seen and
    /// the CPU use in the window (1.0 = one core) of the broker and of the `provider`.
    async fn run(
        &self,
        warmup: Duration,
        secs: Duration,
        cpu: &CpuClock,
        provider: Option<&CpuClock>,
    ) -> Measured {
        tokio::time::sleep(warmup).await;
        let me = CpuClock::new(std::process::id());
        self.measuring.store(true, Ordering::Relaxed);
        let (t0, c0, m0, g0) = (Instant::now(), cpu.now(), me.now(), cpu.threads());
        let p0 = provider.map(CpuClock::now);
        tokio::time::sleep(secs).await;
        self.measuring.store(false, Ordering::Relaxed);
        let n = self.count.load(Ordering::Relaxed);
        let (wall, used, mine) = (t0.elapsed().as_secs_f64(), cpu.now() - c0, me.now() - m0);
        let provider_cpu = provider.zip(p0).map(|(p, p0)| (p.now() - p0) / wall);
        let threads = cpu
            .threads()
            .into_iter()
            .map(|(g, c)| (g, (c - g0.get(g).copied().unwrap_or(0.0)) / wall))
            .filter(|(_, c)| *c > 0.0)
            .collect();
        self.stop.store(true, Ordering::Relaxed);
        Measured {
            rate: n as f64 / wall,
            errors: self.errors.load(Ordering::Relaxed),
            broker_cpu: used / wall,
            load_cpu: mine / wall,
            threads,
            provider_cpu,
        }
    }
}

/// Polls `el` until `want` matches an incoming packet; false on error or after `STEP`.
async fn until(el: &mut EventLoop, want: impl Fn(&Packet) -> bool) -> bool {
    let wait = async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(p)) if want(&p) => return true,
                Ok(Event::Incoming(Packet::ConnAck(c)))
                    if c.code != rumqttc::ConnectReturnCode::Success =>
                {
                    return false
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    };
    tokio::time::timeout(STEP, wait).await.unwrap_or(false)
}

/// `publishers` clients publish QoS 1 messages (64-byte payload, topic `bench/<i>`) as
/// fast as the broker acknowledges them, keeping up to 64 in flight each; returns the
/// PUBACKs per second in the window, the errors and the broker's CPU use.
pub async fn publish(
    port: u16,
    publishers: usize,
    warmup: Duration,
    secs: Duration,
    cpu: &CpuClock,
    provider: Option<&CpuClock>,
) -> Measured {
    let w = Window::new();
    let mut tasks = Vec::new();
    for i in 0..publishers {
        let (client, mut el) = AsyncClient::new(options(&format!("benchpub{i}"), port), 128);
        if !until(&mut el, |p| matches!(p, Packet::ConnAck(_))).await {
            w.errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let w2 = w.clone();
        tasks.push(tokio::spawn(async move {
            let topic = format!("bench/{i}");
            let sender = {
                let (client, w3) = (client.clone(), w2.clone());
                tokio::spawn(async move {
                    while !w3.stop.load(Ordering::Relaxed) {
                        if client
                            .publish(&topic, QoS::AtLeastOnce, false, vec![b'x'; 64])
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                })
            };
            while !w2.stop.load(Ordering::Relaxed) {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => w2.done(),
                    Ok(_) => {}
                    Err(_) => {
                        w2.errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            sender.abort();
            // The request channel may be full of publishes: queue the DISCONNECT while
            // the event loop keeps running, until the broker closes the connection.
            let bye = tokio::spawn(async move { client.disconnect().await });
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while el.poll().await.is_ok() {}
            })
            .await;
            bye.abort();
        }));
    }
    let r = w.run(warmup, secs, cpu, provider).await;
    for t in tasks {
        let _ = t.await;
    }
    r
}

/// `workers` loops, each: connect (a new client id), publish one QoS 1 message, wait for
/// its PUBACK, disconnect, wait for the connection to close. Returns the cycles per
/// second in the window, the failed cycles and the broker's CPU use.
pub async fn cycles(
    port: u16,
    workers: usize,
    warmup: Duration,
    secs: Duration,
    cpu: &CpuClock,
    provider: Option<&CpuClock>,
) -> Measured {
    let w = Window::new();
    let seq = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..workers {
        let (w2, seq) = (w.clone(), seq.clone());
        tasks.push(tokio::spawn(async move {
            while !w2.stop.load(Ordering::Relaxed) {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let (client, mut el) =
                    AsyncClient::new(options(&format!("benchcyc{i}_{n}"), port), 8);
                let ok = until(&mut el, |p| matches!(p, Packet::ConnAck(_))).await
                    && client
                        .publish("bench/cycle", QoS::AtLeastOnce, false, vec![b'x'; 64])
                        .await
                        .is_ok()
                    && until(&mut el, |p| matches!(p, Packet::PubAck(_))).await
                    && client.disconnect().await.is_ok();
                if ok {
                    // The event loop sends DISCONNECT, then the broker closes the socket.
                    let _ = tokio::time::timeout(STEP, async { while el.poll().await.is_ok() {} })
                        .await;
                    w2.done();
                } else {
                    w2.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let r = w.run(warmup, secs, cpu, provider).await;
    for t in tasks {
        let _ = t.await;
    }
    r
}

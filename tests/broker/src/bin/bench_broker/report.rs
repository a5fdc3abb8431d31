//! Medians and spreads of the rounds, written as a table (stdout and
//! `bench/broker-results.md`) and as `bench/broker-results.json`.

use crate::configs::Config;
use crate::Settings;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One round's figure: a throughput, or a per-call mean with its p50 and p99 (ns).
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub value: f64,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

impl Sample {
    /// A plain value.
    pub fn one(value: f64) -> Sample {
        Sample {
            value,
            p50: None,
            p99: None,
        }
    }
}

/// Per (configuration, workload): one sample per round.
pub type Samples = BTreeMap<(&'static str, String), Vec<Sample>>;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `model name` of the CPU and the number of CPUs.
pub fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("unknown CPU")
        .to_string();
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{model}, {n} CPUs")
}

/// Everything the report needs.
pub struct Report<'a> {
    pub machine: String,
    pub otp: String,
    pub emqx: String,
    pub schedulers: String,
    pub settings: &'a Settings,
    pub configs: &'a [Config],
    pub samples: &'a Samples,
}

struct Row {
    config: &'static str,
    workload: String,
    value: f64,
    unit: &'static str,
    ratio: f64,
    min: f64,
    max: f64,
    p50: Option<f64>,
    p99: Option<f64>,
    n: usize,
}

impl Report<'_> {
    fn rows(&self) -> Vec<Row> {
        let mut workloads: Vec<String> = Vec::new();
        for (_, w) in self.samples.keys() {
            if !workloads.contains(w) {
                workloads.push(w.clone());
            }
        }
        let order = |w: &String| match w.as_str() {
            "publish" => 0,
            "cycles" => 1,
            "publish cpu" => 2,
            "cycles cpu" => 3,
            _ => 4,
        };
        workloads.sort_by_key(|w| (order(w), w.clone()));
        let mut rows = Vec::new();
        for w in &workloads {
            let none = self
                .samples
                .get(&("none", w.clone()))
                .map(|v| median(v.iter().map(|s| s.value).collect()));
            for c in self.configs.iter().filter(|c| c.unavailable.is_none()) {
                let Some(v) = self.samples.get(&(c.name, w.clone())) else {
                    continue;
                };
                let values: Vec<f64> = v.iter().map(|s| s.value).collect();
                let value = median(values.clone());
                let opt = |f: fn(&Sample) -> Option<f64>| {
                    let xs: Vec<f64> = v.iter().filter_map(f).collect();
                    (!xs.is_empty()).then(|| median(xs))
                };
                rows.push(Row {
                    config: c.name,
                    workload: w.clone(),
                    value,
                    unit: match w.as_str() {
                        "publish" => "msg/s",
                        "cycles" => "cycles/s",
                        "publish cpu" => "broker CPU us/msg",
                        "cycles cpu" => "broker CPU us/cycle",
                        _ => "ns/call (mean)",
                    },
                    ratio: none.map(|n| value / n).unwrap_or(f64::NAN),
                    min: values.iter().copied().fold(f64::INFINITY, f64::min),
                    max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    p50: opt(|s| s.p50),
                    p99: opt(|s| s.p99),
                    n: v.len(),
                });
            }
        }
        rows
    }

    /// Prints the table and writes `broker-results.json` and `broker-results.md` in `dir`.
    pub fn write(&self, dir: &Path) {
        let rows = self.rows();
        let mut md = String::new();
        let s = self.settings;
        let _ = writeln!(
            md,
            "EMQX {} on OTP {} ({} schedulers), {}. {} rounds alternating the configurations; \
             {} s per workload after {} s warm-up; {} QoS 1 publishers; {} clients cycling \
             connect+publish+disconnect; {} calls per hook for the per-call cost. Median of the \
             rounds, [min-max] over the rounds; ratio to `none` from the same run (throughput: \
             higher is better; per call: lower is better).\n",
            self.emqx,
            self.otp,
            self.schedulers,
            self.machine,
            s.rounds,
            s.secs,
            s.warmup,
            s.publishers,
            s.cyclers,
            s.percall_n
        );
        // The summary: one row per configuration, `median (ratio to none)` (per call:
        // the median p50).
        let cols = [
            ("publish", "publish msg/s"),
            ("publish cpu", "broker CPU µs/msg"),
            ("cycles", "cycles/s"),
            ("cycles cpu", "broker CPU µs/cycle"),
            ("percall client.authenticate", "authenticate ns p50"),
            ("percall client.check_acl", "check_acl ns p50"),
            ("percall message.publish", "publish ns p50"),
            ("percall client.connected", "connected ns p50"),
        ];
        let _ = writeln!(
            md,
            "| config | {} |",
            cols.iter().map(|c| c.1).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(md, "|---|{}", "---:|".repeat(cols.len()));
        for c in self.configs.iter().filter(|c| c.unavailable.is_none()) {
            let cells: Vec<String> = cols
                .iter()
                .map(|(w, _)| {
                    let find =
                        |name: &str| rows.iter().find(|r| r.config == name && r.workload == *w);
                    match (find(c.name), find("none")) {
                        (Some(r), Some(n)) => match (r.p50, n.p50) {
                            (Some(a), Some(b)) => format!("{a:.0} ({:.2})", a / b),
                            _ => format!("{:.0} ({:.2})", r.value, r.ratio),
                        },
                        _ => String::new(),
                    }
                })
                .collect();
            let _ = writeln!(md, "| `{}` | {} |", c.name, cells.join(" | "));
        }
        let _ = writeln!(md, "\nAll figures, with the spread over the rounds:\n");
        let _ = writeln!(
            md,
            "| config | workload | median | [min-max] | ratio to none | p50 / p99 ns |"
        );
        let _ = writeln!(md, "|---|---|---:|---|---:|---|");
        for r in &rows {
            let pct = match (r.p50, r.p99) {
                (Some(a), Some(b)) => format!("{a:.0} / {b:.0}"),
                _ => String::new(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} {} | [{:.0}-{:.0}] | {:.2} | {} |",
                r.config, r.workload, r.value, r.unit, r.min, r.max, r.ratio, pct
            );
        }
        let mut unavailable = Vec::new();
        for c in self.configs {
            if let Some(why) = &c.unavailable {
                let _ = writeln!(md, "\n`{}` ({}) did not run: {}", c.name, c.what, why);
                unavailable.push(json!({"config": c.name, "reason": why}));
            }
        }
        println!("\n{md}");
        let cases: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut v = json!({
                    "config": r.config,
                    "workload": r.workload,
                    "value": (r.value * 10.0).round() / 10.0,
                    "unit": r.unit,
                    "ratio_to_none": (r.ratio * 1000.0).round() / 1000.0,
                    "min": (r.min * 10.0).round() / 10.0,
                    "max": (r.max * 10.0).round() / 10.0,
                    "rounds": r.n,
                });
                if let (Some(a), Some(b)) = (r.p50, r.p99) {
                    v["p50_ns"] = json!(a.round());
                    v["p99_ns"] = json!(b.round());
                }
                v
            })
            .collect();
        let configs: Vec<Value> = self
            .configs
            .iter()
            .map(|c| json!({"config": c.name, "what": c.what}))
            .collect();
        let doc = json!({
            "machine": self.machine,
            "otp": self.otp,
            "emqx": self.emqx,
            "schedulers": self.schedulers,
            "rounds": s.rounds,
            "secs_per_workload": s.secs,
            "publishers": s.publishers,
            "cycling_clients": s.cyclers,
            "percall_calls": s.percall_n,
            "configs": configs,
            "unavailable": unavailable,
            "cases": cases,
        });
        let json_path = dir.join("broker-results.json");
        std::fs::write(
            &json_path,
            serde_json::to_string_pretty(&doc).unwrap() + "\n",
        )
        .expect("write broker-results.json");
        std::fs::write(dir.join("broker-results.md"), md).expect("write broker-results.md");
        println!("written: {} and broker-results.md", json_path.display());
    }
}

//! Medians and spreads of the rounds, written as a table (stdout and
//! `bench/<stem>.md`) and as `bench/<stem>.json`; on EMQX 4.4 also the ratios to
//! `exhook_rust` (gRPC exhook with the Rust server) and the targets.

use crate::configs::Config;
use crate::Settings;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One round's figure: a throughput, or a per-call mean with its p50 and p99 (ns).
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// The round it was measured in (0-based).
    pub round: usize,
    pub value: f64,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

impl Sample {
    /// A plain value.
    pub fn one(value: f64) -> Sample {
        Sample {
            round: 0,
            value,
            p50: None,
            p99: None,
        }
    }
}

/// The summary table's columns: (workload, heading).
const COLS: [(&str, &str); 8] = [
    ("publish", "publish msg/s"),
    ("publish cpu", "broker CPU µs/msg"),
    ("cycles", "cycles/s"),
    ("cycles cpu", "broker CPU µs/cycle"),
    ("percall client.authenticate", "authenticate ns p50"),
    ("percall client.check_acl", "check_acl ns p50"),
    ("percall message.publish", "publish ns p50"),
    ("percall client.connected", "connected ns p50"),
];

/// The targets against `exhook_rust`, for the library in default modes: per
/// call this many times cheaper, and this many times the throughput.
const TARGET_PERCALL: f64 = 10.0;
const TARGET_THROUGHPUT: f64 = 2.0;

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

/// Median, min and max over the rounds of `config / none` from the same round (`None`
/// when no round has both).
fn paired(config: &[Sample], none: &[Sample]) -> Option<(f64, f64, f64)> {
    let ratios: Vec<f64> = config
        .iter()
        .filter_map(|c| {
            let n = none.iter().find(|n| n.round == c.round)?;
            (n.value > 0.0).then(|| c.value / n.value)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((median(ratios), min, max))
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
    /// Per round, this configuration's value over `none`'s in the same round: median,
    /// min, max. Less sensitive than `ratio` to the machine drifting between rounds.
    paired: Option<(f64, f64, f64)>,
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
            "publish provider cpu" => 4,
            "cycles provider cpu" => 5,
            _ => 6,
        };
        workloads.sort_by_key(|w| (order(w), w.clone()));
        let mut rows = Vec::new();
        for w in &workloads {
            let none_samples = self.samples.get(&("none", w.clone()));
            let none = none_samples.map(|v| median(v.iter().map(|s| s.value).collect()));
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
                        "publish provider cpu" => "HookProvider CPU us/msg",
                        "cycles provider cpu" => "HookProvider CPU us/cycle",
                        _ => "ns/call (mean)",
                    },
                    ratio: none.map(|n| value / n).unwrap_or(f64::NAN),
                    min: values.iter().copied().fold(f64::INFINITY, f64::min),
                    max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    p50: opt(|s| s.p50),
                    p99: opt(|s| s.p99),
                    n: v.len(),
                    paired: none_samples.and_then(|ns| paired(v, ns)),
                });
            }
        }
        rows
    }

    /// The ratios of every configuration to `exhook_rust` (when it ran), as a table
    /// appended to `md`, and the targets checked for `rust_default`; the same as
    /// JSON. Throughput: config / exhook_rust (higher is better); CPU per msg/cycle and
    /// per call (p50): exhook_rust / config, "times cheaper" (an exhook configuration's
    /// CPU is the broker's plus its HookProvider's).
    fn versus_exhook_rust(&self, rows: &[Row], md: &mut String) -> Option<Value> {
        let find = |c: &str, w: &str| rows.iter().find(|r| r.config == c && r.workload == w);
        find("exhook_rust", "publish")?;
        let per_call = |r: &Row| r.p50.unwrap_or(r.value);
        // CPU per message or cycle: the broker's plus, for an exhook configuration, its
        // HookProvider's.
        let cpu = |c: &str, w: &str| {
            let provider = w.replace(" cpu", " provider cpu");
            find(c, w).map(|r| r.value + find(c, &provider).map_or(0.0, |p| p.value))
        };
        let ratio = |c: &str, w: &str| -> Option<f64> {
            let x = find(c, w)?;
            match w {
                "publish" | "cycles" => Some(x.value / find("exhook_rust", w)?.value),
                "publish cpu" | "cycles cpu" => Some(cpu("exhook_rust", w)? / cpu(c, w)?),
                _ => Some(per_call(find("exhook_rust", w)?) / per_call(x)),
            }
        };
        let _ = writeln!(
            md,
            "\nAgainst `exhook_rust` (EMQX 4.4's gRPC exhook with the Rust tonic server, same \
             hooks and decisions, same run): throughput as config / exhook_rust (higher is \
             better); CPU per message or cycle and per call (p50) as exhook_rust / config, \
             i.e. times cheaper (for the exhook configurations the CPU is the broker's \
             plus the HookProvider's).\n"
        );
        let _ = writeln!(
            md,
            "| config | {} |",
            COLS.iter().map(|c| c.1).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(md, "|---|{}", "---:|".repeat(COLS.len()));
        let mut json_rows = Vec::new();
        for c in self.configs.iter().filter(|c| c.unavailable.is_none()) {
            let rs: Vec<Option<f64>> = COLS.iter().map(|(w, _)| ratio(c.name, w)).collect();
            let cells: Vec<String> = rs
                .iter()
                .map(|r| r.map_or(String::new(), |r| format!("{r:.2}x")))
                .collect();
            let _ = writeln!(md, "| `{}` | {} |", c.name, cells.join(" | "));
            let mut o = serde_json::Map::new();
            o.insert("config".into(), json!(c.name));
            for ((w, _), r) in COLS.iter().zip(&rs) {
                if let Some(r) = r {
                    o.insert((*w).into(), json!((r * 100.0).round() / 100.0));
                }
            }
            json_rows.push(Value::Object(o));
        }
        // The targets, for the library in default modes.
        let checks: Vec<(&str, f64, Option<f64>)> = COLS
            .iter()
            .filter(|(w, _)| *w == "publish" || *w == "cycles" || w.starts_with("percall"))
            .map(|(w, _)| {
                let target = if w.starts_with("percall") {
                    TARGET_PERCALL
                } else {
                    TARGET_THROUGHPUT
                };
                (*w, target, ratio("rust_default", w))
            })
            .collect();
        let _ = writeln!(
            md,
            "\nTargets (issue 13), `rust_default` against `exhook_rust`: {}",
            checks
                .iter()
                .map(|(w, t, r)| match r {
                    Some(r) => format!(
                        "{w} {r:.2}x (>= {t}x: {})",
                        if *r >= *t { "met" } else { "NOT met" }
                    ),
                    None => format!("{w}: no figure"),
                })
                .collect::<Vec<_>>()
                .join("; ")
        );
        let targets: Vec<Value> = checks
            .iter()
            .map(|(w, t, r)| {
                json!({"workload": w, "target": t,
                       "ratio": r.map(|r| (r * 100.0).round() / 100.0),
                       "met": r.is_some_and(|r| r >= *t)})
            })
            .collect();
        Some(json!({"ratios": json_rows, "targets_rust_default": targets}))
    }

    /// Prints the table and writes `<stem>.json` and `<stem>.md` in `dir`.
    pub fn write(&self, dir: &Path, stem: &str) {
        let rows = self.rows();
        let mut md = String::new();
        let s = self.settings;
        let _ = writeln!(
            md,
            "EMQX {} on OTP {} ({} schedulers), {}. {} rounds alternating the configurations; \
             {} s per workload after {} s warm-up; {} QoS 1 publishers; {} clients cycling \
             connect+publish+disconnect; {} calls per hook for the per-call cost. Median of the \
             rounds, [min-max] over the rounds; ratio to `none` from the same run (throughput: \
             higher is better; per call: lower is better); paired ratio: the median, min and \
             max over the rounds of the ratio to `none` in the same round.\n",
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
        let cols = COLS;
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
        let versus = self.versus_exhook_rust(&rows, &mut md);
        let _ = writeln!(md, "\nAll figures, with the spread over the rounds:\n");
        let _ = writeln!(
            md,
            "| config | workload | median | [min-max] | ratio to none | paired ratio [min-max] | p50 / p99 ns |"
        );
        let _ = writeln!(md, "|---|---|---:|---|---:|---|---|");
        for r in &rows {
            let pct = match (r.p50, r.p99) {
                (Some(a), Some(b)) => format!("{a:.0} / {b:.0}"),
                _ => String::new(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.0} {} | [{:.0}-{:.0}] | {} | {} | {} |",
                r.config,
                r.workload,
                r.value,
                r.unit,
                r.min,
                r.max,
                // `none` has no HookProvider figures.
                if r.ratio.is_nan() {
                    "-".to_string()
                } else {
                    format!("{:.2}", r.ratio)
                },
                match r.paired {
                    Some((m, lo, hi)) if r.config != "none" => {
                        format!("{m:.2} [{lo:.2}-{hi:.2}]")
                    }
                    _ => "-".to_string(),
                },
                pct
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
                if let Some((m, lo, hi)) = r.paired {
                    v["paired_ratio"] = json!({
                        "median": (m * 1000.0).round() / 1000.0,
                        "min": (lo * 1000.0).round() / 1000.0,
                        "max": (hi * 1000.0).round() / 1000.0,
                    });
                }
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
        let mut doc = json!({
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
        if let Some(v) = versus {
            doc["versus_exhook_rust"] = v;
        }
        let json_path = dir.join(format!("{stem}.json"));
        std::fs::write(
            &json_path,
            serde_json::to_string_pretty(&doc).unwrap() + "\n",
        )
        .expect("write the results' json");
        std::fs::write(dir.join(format!("{stem}.md")), md).expect("write the results' md");
        println!("written: {} and {stem}.md", json_path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(round: usize, value: f64) -> Sample {
        Sample {
            round,
            ..Sample::one(value)
        }
    }

    #[test]
    fn paired_ratio_divides_by_none_of_the_same_round() {
        // `none` drifts between rounds; the configuration is always 90% of its round's
        // `none` (its samples listed in another order).
        let none = [s(0, 100.0), s(1, 50.0), s(2, 80.0)];
        let config = [s(2, 72.0), s(0, 90.0), s(1, 45.0)];
        let (m, lo, hi) = paired(&config, &none).expect("rounds in common");
        assert!((m - 0.9).abs() < 1e-9 && (lo - 0.9).abs() < 1e-9 && (hi - 0.9).abs() < 1e-9);
        // Only rounds measured for both count.
        let (m, lo, hi) = paired(&[s(1, 45.0)], &none).unwrap();
        assert_eq!((m, lo, hi), (0.9, 0.9, 0.9));
        assert!(paired(&[s(7, 1.0)], &none).is_none());
        assert!(paired(&[s(0, 1.0)], &[s(0, 0.0)]).is_none());
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }
}

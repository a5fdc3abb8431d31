//! A minimal test runner: groups of cases, each group on its own broker. Every case runs
//! (a failure does not stop the group), the broker is stopped after the group whatever
//! happened, and the run ends with the plain `N passed, N failed` line.

use crate::broker::{Broker, Setup};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// One case: a name and a function that panics on failure.
pub type Case = (&'static str, fn(&mut Broker));

/// Cases sharing one broker started with `setup`.
pub struct Group {
    /// Name, printed before each case name.
    pub name: &'static str,
    /// How the broker is set up.
    pub setup: fn() -> Setup,
    /// The cases, run in order.
    pub cases: Vec<Case>,
}

/// Runs the groups (filtered by the command line's first free argument, a substring of
/// `group::case`), prints a line per case and the totals; exits 1 when any case failed.
pub fn run(groups: Vec<Group>) {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let t0 = Instant::now();
    let (mut passed, mut failed) = (0, Vec::new());
    for g in groups {
        let cases: Vec<&Case> = g
            .cases
            .iter()
            .filter(|(n, _)| format!("{}::{}", g.name, n).contains(&filter))
            .collect();
        if cases.is_empty() {
            continue;
        }
        let tg = Instant::now();
        let broker = catch_unwind(|| Broker::start(&(g.setup)()));
        let mut broker = match broker {
            Ok(b) => b,
            Err(_) => {
                for (n, _) in cases {
                    println!("test {}::{} ... FAILED (broker did not start)", g.name, n);
                    failed.push(format!("{}::{}", g.name, n));
                }
                continue;
            }
        };
        println!(
            "group {}: EMQX {} broker {} on port {} ({:.1} s to start)",
            g.name,
            broker.version.name(),
            broker.node,
            broker.mqtt_port,
            tg.elapsed().as_secs_f64()
        );
        for (n, f) in cases {
            let tc = Instant::now();
            let r = catch_unwind(AssertUnwindSafe(|| f(&mut broker)));
            let secs = tc.elapsed().as_secs_f64();
            match r {
                Ok(()) => {
                    passed += 1;
                    println!("test {}::{} ... ok ({secs:.1} s)", g.name, n);
                }
                Err(_) => {
                    failed.push(format!("{}::{}", g.name, n));
                    println!("test {}::{} ... FAILED ({secs:.1} s)", g.name, n);
                    println!(
                        "---- last lines of the broker log:\n{}\n----",
                        broker.log_tail(20)
                    );
                }
            }
        }
        drop(broker);
        println!(
            "group {} done in {:.1} s",
            g.name,
            tg.elapsed().as_secs_f64()
        );
    }
    println!(
        "\nbroker suite finished in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    for f in &failed {
        println!("    failed: {f}");
    }
    println!("{passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        std::process::exit(1);
    }
}

//! The groups of the broker suite, one broker each.

mod asyncfn;
mod auto;
mod cluster;
mod decisions;
mod example;
mod failures;
mod hooks;
mod jobs;
mod ops;
mod reload;

use broker_tests::broker::Broker;
use broker_tests::runner::Group;

/// The broker's OS threads now.
fn os_threads(b: &Broker) -> usize {
    let pid = b.eval("list_to_integer(os:getpid()).");
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count()
}

/// The broker VM's memory now (`erlang:memory(total)`), in bytes.
fn vm_memory(b: &Broker) -> u64 {
    b.eval("erlang:memory(total).").parse().unwrap()
}

/// Every group, in the order they run.
pub fn groups() -> Vec<Group> {
    let mut groups = vec![
        example::group(),
        hooks::group(),
        failures::group(),
        asyncfn::group(),
        ops::group(),
        reload::group(),
        auto::group(),
        cluster::group(),
        jobs::sqlite_group(),
    ];
    // The jobs on PostgreSQL need its server binaries (Debian's postgresql; .ci/run
    // installs them). Without them the group does not run, and says so; CI requires it.
    if broker_tests::pg::available() {
        groups.push(jobs::postgres_group());
    } else if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI: PostgreSQL is not installed (tests/pg/pg.sh available), the jobs_postgres group cannot run");
    } else {
        println!("==================================================================");
        println!("JOBS ON POSTGRESQL DID NOT RUN: PostgreSQL is not installed");
        println!("(apt-get install postgresql; .ci/run does it). The jobs_sqlite group runs.");
        println!("==================================================================");
    }
    groups
}

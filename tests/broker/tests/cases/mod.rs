//! The groups of the broker suite, one broker each.

mod asyncfn;
mod auto;
mod cluster;
mod decisions;
mod example;
mod failures;
mod hooks;
mod ops;

use broker_tests::runner::Group;

/// Every group, in the order they run.
pub fn groups() -> Vec<Group> {
    vec![
        example::group(),
        hooks::group(),
        failures::group(),
        asyncfn::group(),
        ops::group(),
        auto::group(),
        cluster::group(),
    ]
}

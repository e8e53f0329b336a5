//! Scenario tests of transactions, by seed at small sizes: `transfers` and
//! `transfers-revert` pass every check, and their wallets really transact (spawns, spends,
//! multisig operations reach blocks and are executed).

use spacemesh_scenarios::{RunParams, RunReport, find};

fn run(name: &str, nodes: u32, seed: u64) -> RunReport {
    let params =
        RunParams { nodes: Some(nodes), seed, check_invariants: true, ..RunParams::default() };
    let mut run = find(name).expect("registered").build(&params).unwrap();
    run.run_to_end();
    run.finish()
}

/// Every accepted transaction runs exactly once, state roots agree, coins add up.
#[test]
fn transfers_passes() {
    let report = run("transfers", 24, 1);
    assert!(report.passed(), "{:#?}\n{:#?}", report.checks, report.violations);
    // 8 wallets: 8 spawns, 8 × 8 spends (one of them the multisig's funding), and the
    // multisig's spawn and 2 spends; all accepted and all executed, none by a twin.
    assert_eq!(report.stats["tx_submitted"], 75.0, "{:?}", report.stats);
    assert_eq!(report.stats["tx_accepted"], 75.0, "{:?}", report.stats);
    assert_eq!(report.stats["tx_executed_at_first_node"], 75.0, "{:?}", report.stats);
    assert_eq!(report.stats["tx_twin_views"], 0.0, "{:?}", report.stats);
}

/// Across a split and its heal, reverted transactions run again, exactly once. Seed 12 reverts
/// applied layers, and once stalled every node at verified layer 19 to the end: the smaller
/// side refused the other side's ballots whose smesher's ref ballot of the epoch it had missed
/// during the split, and everything based on them waited forever (now the ref ballot is
/// fetched).
#[test]
fn transfers_revert_passes() {
    let report = run("transfers-revert", 24, 12);
    assert!(report.passed(), "{:#?}\n{:#?}", report.checks, report.violations);
    assert!(report.stats["dropped_partition"] > 0.0);
    assert!(report.stats["mesh_reverts"] > 0.0, "applied layers were reverted: {:?}", report.stats);
    // Most of the 75 run by the end (68 to 73 of them at seeds 1 to 12): what is still
    // pending was submitted after the checks' cutoff.
    assert!(report.stats["tx_executed_at_first_node"] >= 65.0, "{:?}", report.stats);
}

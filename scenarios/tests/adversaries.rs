//! The byzantine agent catalogue, cast on `mainnet-like`: every adversary at once, honest
//! nodes judged alone, each adversary's identity by its role.

use spacemesh_scenarios::{Adversary, RunParams, find};

/// All six adversaries in one 24-node run (7 adversarial slots: twins take two, the eclipser's
/// victim stays honest): every check passes, the equivocator is proven everywhere in time and
/// nobody else honest is accused.
#[test]
fn every_adversary_at_once_on_mainnet_like() {
    let adversaries: Vec<(Adversary, u32)> = Adversary::ALL.iter().map(|a| (*a, 1)).collect();
    let params = RunParams { nodes: Some(24), seed: 1, adversaries, ..RunParams::default() };
    let mut run = find("mainnet-like").expect("registered").build(&params).expect("builds");
    run.run_to_end();
    let report = run.finish();
    assert_eq!(report.plan.cast.members.len(), 6);
    assert_eq!(report.plan.cast.byzantine_slots().len(), 7);
    for (check, outcome) in &report.checks {
        assert!(outcome.passed, "{check}: {}\n{:#?}", outcome.detail, report.violations);
    }
    // 24 slots less 7 adversarial: the honest nodes are judged alone.
    let accepted = &report.checks["atx-accepted"].detail;
    assert!(accepted.contains("all 17 honest nodes"), "{accepted}");
    // Five smeshing identities (twins share one); the equivocator at least was accused (and
    // proven in time, or the check would have failed).
    let malfeasance = &report.checks["malfeasance"].detail;
    assert!(malfeasance.contains("5 adversarial identities"), "{malfeasance}");
    assert!(!malfeasance.contains(", 0 of them accused"), "{malfeasance}");
}

/// Late ATX publishers over a tenth of the identities (5 of 30) leave the chain live: every
/// honest node, up since genesis, heard their ATXs arrive after the cutoff and keeps its graded
/// active set without them. Before, each honest node counted its grades unusable (more than 10%
/// of the epoch's ATXs late), waited for a set to be declared, and nobody proposed again.
#[test]
fn late_atx_publishers_over_a_tenth_do_not_stall_the_chain() {
    let params = RunParams {
        nodes: Some(30),
        seed: 1,
        adversaries: vec![(Adversary::LateAtxPublisher, 5)],
        ..RunParams::default()
    };
    let mut run = find("mainnet-like").expect("registered").build(&params).expect("builds");
    run.run_to_end();
    let report = run.finish();
    for (check, outcome) in &report.checks {
        assert!(outcome.passed, "{check}: {}\n{:#?}", outcome.detail, report.violations);
    }
    assert!(report.stats["eligibilities_per_layer"] > 5.0, "{:?}", report.stats);
}

/// A scenario without smeshers refuses a cast, naming those that take one.
#[test]
fn gossip_refuses_adversaries() {
    let params = RunParams {
        nodes: Some(20),
        adversaries: vec![(Adversary::Withholder, 1)],
        ..RunParams::default()
    };
    let err = find("gossip").expect("registered").build(&params).unwrap_err().to_string();
    assert!(err.contains("takes no adversaries") && err.contains("mainnet-like"), "{err}");
}

/// The same seed casts the same adversaries on the same slots and gives the same digest.
#[test]
fn a_cast_run_is_deterministic() {
    let params = RunParams {
        nodes: Some(12),
        layers: Some(40),
        seed: 3,
        adversaries: vec![(Adversary::Twins, 1), (Adversary::Withholder, 1)],
        check_invariants: false,
        ..RunParams::default()
    };
    let digest = || {
        let mut run = find("epochs").expect("registered").build(&params).expect("builds");
        run.run_to_end();
        let r = run.finish();
        (r.digest.clone(), r.plan.cast.clone())
    };
    assert_eq!(digest(), digest());
}

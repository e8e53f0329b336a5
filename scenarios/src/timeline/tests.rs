use spacemesh_core::node::ConsensusEvent;
use spacemesh_core::types::{BlockId, ProposalId};
use spacemesh_core::{Hash32, LayerId, NodeEvent, NodeId};
use spacemesh_sim::engine::Fault;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use super::*;

fn secs(s: u64) -> SimTime {
    SimTime::from_secs(s)
}

fn ev(e: ConsensusEvent) -> NodeEvent {
    NodeEvent::Consensus(Box::new(e))
}

fn output(layer: u32, proposals: usize, iteration: u8) -> NodeEvent {
    ev(ConsensusEvent::HareOutput {
        layer: LayerId(layer),
        proposals: vec![ProposalId([1; 20]); proposals],
        iteration,
        preround_seats: 50,
        threshold: 30,
    })
}

fn applied(layer: u32, block: u8) -> NodeEvent {
    ev(ConsensusEvent::LayerApplied {
        layer: LayerId(layer),
        block: Some(BlockId([block; 20])),
        state: Hash32([7; 32]),
        opinion: Hash32([0; 32]),
        issued: 0,
        fees: 0,
        root: Hash32::default(),
    })
}

fn verified(layer: u32) -> NodeEvent {
    ev(ConsensusEvent::Verified { layer: LayerId(layer), opinion: Hash32([0; 32]), settled: None })
}

fn timeline() -> Timeline {
    Timeline::new(3, 10, SimDuration::from_secs(10))
}

// Hare outputs land in the layer they name, empty ones are told apart, and the iteration is kept.
#[test]
fn hare_outputs() {
    let mut t = timeline();
    t.on_event(secs(32), NodeIdx(0), &output(3, 2, 0));
    t.on_event(secs(45), NodeIdx(1), &output(3, 0, 1));
    assert_eq!(t.cell(0, 3).unwrap().hare, Some(HareCell { proposals: 2, iteration: 0 }));
    assert_eq!(t.cell(1, 3).unwrap().hare, Some(HareCell { proposals: 0, iteration: 1 }));
    assert_eq!(t.cell(2, 3).unwrap().hare, None);
    assert_eq!(t.cell(0, 4).unwrap().hare, None);
}

// A verified layer is every layer up to it, each stamped with the layer it was first verified
// in; moving back and forward again keeps the first stamp. The first time, layers the node did
// nothing in (before the first ballots) are left alone.
#[test]
fn verified_layers() {
    let mut t = timeline();
    t.on_event(secs(5), NodeIdx(0), &applied(0, 1));
    t.on_event(secs(25), NodeIdx(0), &verified(1));
    t.on_event(secs(41), NodeIdx(0), &verified(3));
    t.on_event(secs(55), NodeIdx(0), &verified(2));
    t.on_event(secs(61), NodeIdx(0), &verified(4));
    let stamps: Vec<Option<u16>> = (0..6).map(|l| t.cell(0, l).unwrap().verified_in).collect();
    assert_eq!(stamps, [Some(2), Some(2), Some(4), Some(4), Some(6), None]);
    assert_eq!(t.cell(1, 1).unwrap().verified_in, None);
    t.on_event(secs(35), NodeIdx(1), &verified(3));
    let stamps: Vec<Option<u16>> = (0..5).map(|l| t.cell(1, l).unwrap().verified_in).collect();
    assert_eq!(stamps, [None, None, None, Some(3), None]);
}

// Reverts count per layer; malfeasance and restarts go to the layer their time falls in.
#[test]
fn reverts_malfeasance_restarts() {
    let mut t = timeline();
    let revert = ev(ConsensusEvent::Reverted { from: LayerId(2), to: LayerId(4) });
    t.on_event(secs(50), NodeIdx(2), &revert);
    t.on_event(secs(60), NodeIdx(2), &revert);
    let proof =
        ev(ConsensusEvent::Malfeasance { smesher: NodeId([3; 32]), kind: "hare", detected: false });
    t.on_event(secs(71), NodeIdx(1), &proof);
    t.on_event(secs(89), NodeIdx(1), &NodeEvent::Started { next_heartbeat_seq: 4 });
    assert_eq!(t.cell(2, 1).unwrap().reverts, 0);
    assert_eq!(t.cell(2, 2).unwrap().reverts, 2);
    assert_eq!(t.cell(2, 4).unwrap().reverts, 2);
    assert_eq!(t.cell(2, 5).unwrap().reverts, 0);
    assert_eq!(t.cell(1, 7).unwrap().malfeasance, 1);
    assert_eq!(t.cell(1, 8).unwrap().flags, STARTED);
}

// Events outside the recorded nodes and layers are counted, not stored.
#[test]
fn out_of_range_is_counted() {
    let mut t = timeline();
    t.on_event(secs(1), NodeIdx(3), &output(0, 1, 0));
    t.on_event(secs(1), NodeIdx(0), &output(10, 1, 0));
    assert_eq!(t.ignored(), 2);
    assert!(t.cell(0, 10).is_none());
}

// The report trims to the run's length, turns crash/restart and partition/heal into windows,
// marks down cells, and sums each layer: outputs, verification lag, agreement on what was applied.
#[test]
fn report_windows_and_layers() {
    let mut t = timeline();
    t.note_fault(
        secs(20),
        &Fault::Partition(vec![vec![NodeIdx(0)], vec![NodeIdx(1), NodeIdx(2), NodeIdx(3)]]),
    );
    t.note_fault(secs(40), &Fault::Heal);
    t.note_fault(secs(30), &Fault::Restart(NodeIdx(2)));
    t.note_fault(secs(12), &Fault::Crash(NodeIdx(2)));
    for n in 0..3 {
        t.on_event(secs(11), NodeIdx(n), &output(1, usize::from(n != 2), 0));
        t.on_event(secs(12), NodeIdx(n), &applied(1, if n == 1 { 9 } else { 8 }));
        t.on_event(secs(20 + 10 * u64::from(n)), NodeIdx(n), &verified(1));
    }
    let r = t.finish(secs(55));
    assert_eq!((r.nodes, r.layers), (3, 6));
    assert_eq!(r.cells.len(), 18);
    assert_eq!(r.net_windows.len(), 1);
    assert_eq!((r.net_windows[0].from_s, r.net_windows[0].to_s), (20.0, 40.0));
    assert_eq!(r.net_windows[0].detail, "1 | 2 nodes");
    assert_eq!(r.node_windows.len(), 1);
    assert_eq!((r.node_windows[0].kind, r.node_windows[0].from_s), ("down", 12.0));
    let down: Vec<bool> = (0..6).map(|l| r.cell(2, l).flags & DOWN != 0).collect();
    assert_eq!(down, [false, true, true, false, false, false]);
    let l1 = &r.per_layer[1];
    assert_eq!((l1.outputs, l1.empty, l1.verified, l1.down), (2, 1, 3, 1));
    assert_eq!((l1.lag_median, l1.lag_max), (Some(2), Some(3)));
    assert_eq!((l1.applied, l1.distinct, l1.agreeing), (3, 2, 2));
    assert_eq!(r.per_layer[2], LayerSummary { layer: 2, down: 1, ..LayerSummary::default() });
}

// A crash that is never followed by a restart lasts to the run's end; a link change is a marker.
#[test]
fn open_windows_close_at_end() {
    let mut t = timeline();
    t.note_fault(secs(31), &Fault::Crash(NodeIdx(0)));
    t.note_fault(
        secs(5),
        &Fault::SetLink { link: spacemesh_sim::net::LinkConfig::default(), between: None },
    );
    let r = t.finish(secs(50));
    assert_eq!(r.node_windows[0].to_s, 50.0);
    assert_eq!(r.markers.len(), 1);
    assert_eq!((r.markers[0].kind, r.markers[0].at_s, r.markers[0].node), ("set-link", 5.0, None));
}

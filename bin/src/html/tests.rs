use serde_json::json;
use spacemesh_core::node::ConsensusEvent;
use spacemesh_core::{Hash32, LayerId, NodeEvent};
use spacemesh_scenarios::timeline::{Timeline, TimelineReport};
use spacemesh_sim::engine::Fault;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use super::*;

fn verified(layer: u32) -> NodeEvent {
    NodeEvent::Consensus(Box::new(ConsensusEvent::Verified {
        layer: LayerId(layer),
        opinion: Hash32([0; 32]),
        settled: None,
    }))
}

fn output(layer: u32) -> NodeEvent {
    NodeEvent::Consensus(Box::new(ConsensusEvent::HareOutput {
        layer: LayerId(layer),
        proposals: Vec::new(),
        iteration: 0,
        preround_seats: 40,
        threshold: 30,
    }))
}

/// Three nodes, six layers: all verify layers 0-2 (with no hare output of their own) by layer 3, node 1 has an empty hare output in
/// layer 3, node 2 is down in layers 4-5, and the network is split in layers 2-4.
fn small() -> TimelineReport {
    let mut t = Timeline::new(3, 8, SimDuration::from_secs(10));
    for n in 0..3 {
        t.on_event(SimTime::from_secs(5), NodeIdx(n), &verified(0));
        t.on_event(SimTime::from_secs(31), NodeIdx(n), &verified(2));
    }
    t.on_event(SimTime::from_secs(35), NodeIdx(1), &output(3));
    t.note_fault(SimTime::from_secs(20), &Fault::Partition(vec![vec![NodeIdx(0)]]));
    t.note_fault(SimTime::from_secs(45), &Fault::Heal);
    t.note_fault(SimTime::from_secs(40), &Fault::Crash(NodeIdx(2)));
    t.finish(SimTime::from_secs(60))
}

fn summary() -> serde_json::Value {
    json!({ "scenario": "partition-heal", "seed": 1, "passed": true, "checks": {}, "violations": [] })
}

// Rows are drawn as runs of equal cells, with the state's class; idle runs are left out.
#[test]
fn rows_are_runs_of_states() {
    let page = report(&summary(), Some(&small()));
    assert_eq!(page.matches("<g class=\"row\"").count(), 3);
    assert!(page.contains(
        "<g class=\"row\" data-row=\"1\"><rect class=\"s9\" x=\"84\" y=\"58\" width=\"72\" height=\"14\"/>\
         <rect class=\"s2\" x=\"156\" y=\"58\" width=\"24\" height=\"14\"/></g>"
    ), "{page}");
    assert!(page.contains(
        "<g class=\"row\" data-row=\"2\"><rect class=\"s9\" x=\"84\" y=\"72\" width=\"72\" height=\"14\"/>\
         <rect class=\"s8\" x=\"180\" y=\"72\" width=\"48\" height=\"14\"/></g>"
    ));
    assert!(page.contains("data-rows=\"3\" data-cols=\"6\""));
}

// The partition is a shaded band from its start to its heal, labelled with the split.
#[test]
fn partition_is_shaded() {
    let page = report(&summary(), Some(&small()));
    assert!(
        page.contains("<rect class=\"net partition\" data-from-layer=\"2\" data-to-layer=\"4.5\"")
    );
    assert!(page.contains("partition 1 nodes, 20-45 s"));
}

// The page is self-contained, has a legend and the per-layer table, and tooltips as JSON.
#[test]
fn self_contained_with_legend_and_layers() {
    let page = report(&summary(), Some(&small()));
    assert!(!page.contains("http"), "no external resources");
    assert!(!page.contains("src="));
    for label in ["verified", "empty hare output", "node down (crashed or paused)", "reverted"] {
        assert!(page.contains(&format!("</i>{label}</span>")), "legend lacks {label}");
    }
    assert!(page.contains("<table class=\"layers\">"));
    assert!(page.contains("<tr><td>3</td><td></td><td>1</td><td>0</td><td></td>"));
    let start = page.find("type=\"application/json\">").unwrap() + 24;
    let end = start + page[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
    assert_eq!(data[1]["l"], "node 1");
    assert_eq!(data[1]["c"][3], "empty hare output (iteration 0)");
    assert_eq!(data[0]["c"][1], "verified in layer 3 (+2)");
}

// Past 200 nodes rows become buckets of consecutive nodes, and a page without a timeline still
// renders the checks.
#[test]
fn buckets_and_no_timeline() {
    let t = Timeline::new(450, 4, SimDuration::from_secs(10)).finish(SimTime::from_secs(40));
    let page = report(&summary(), Some(&t));
    assert_eq!(page.matches("<g class=\"row\"").count(), 150);
    assert!(page.contains("450 nodes in 150 rows of 3"));
    let bare = report(&summary(), None);
    assert!(!bare.contains("<svg"));
    assert!(bare.contains("<h2>Checks</h2>"));
}

// A 1000-node, 50-layer run with cells that change every layer (the worst case for drawing runs
// of equal cells) stays under 5 MB.
#[test]
fn thousand_nodes_stay_small() {
    let mut t = Timeline::new(1000, 50, SimDuration::from_secs(10));
    for n in 0..1000u32 {
        for layer in 0..50u32 {
            let at = SimTime::from_secs(u64::from(layer) * 10 + 5);
            if (n + layer) % 3 == 0 {
                t.on_event(at, NodeIdx(n), &output(layer));
            }
            if (n + layer) % 2 == 0 {
                t.on_event(at, NodeIdx(n), &verified(layer));
            }
        }
    }
    let page = report(&summary(), Some(&t.finish(SimTime::from_secs(500))));
    assert_eq!(page.matches("<g class=\"row\"").count(), 200);
    assert!(page.len() < 5_000_000, "{} bytes", page.len());
}

//! FoundationDB's swizzle-clogging.
//!
//! FDB found that clogging one node at a time finds few bugs, and clogging many at once mostly
//! finds liveness stalls; "swizzling" clogs a random subset one by one and then unclogs them one
//! by one in a *different* random order, so the network passes through many distinct
//! half-connected states on the way down and on the way back up.

use rand::RngCore;

use crate::fault::Fault;
use crate::idx::NodeIdx;
use crate::rng::{below, shuffle};
use crate::time::{SimDuration, SimTime};

/// A swizzle over `nodes`: a random non-empty subset is clogged (both directions) one node per
/// `step` from `start`; a step after the last clog they are unclogged one per `step` in a
/// different random order. Returns the faults sorted by time.
///
/// Clogs in this engine end when they expire, so each node's clog is emitted with the duration
/// that makes it end at its unclog time.
pub fn swizzle_schedule<R: RngCore + ?Sized>(
    nodes: &[NodeIdx],
    start: SimTime,
    step: SimDuration,
    rng: &mut R,
) -> Vec<(SimTime, Fault)> {
    if nodes.is_empty() {
        return Vec::new();
    }
    let mut chosen = nodes.to_vec();
    shuffle(rng, &mut chosen);
    chosen.truncate(1 + below(rng, nodes.len() as u64) as usize);
    let mut unclog_order = chosen.clone();
    shuffle(rng, &mut unclog_order);
    if unclog_order.len() > 1 && unclog_order == chosen {
        unclog_order.rotate_left(1);
    }
    let k = chosen.len() as u64;
    let mut faults = Vec::with_capacity(chosen.len() * 2);
    for (i, node) in chosen.iter().enumerate() {
        let at = start + step * i as u64;
        let j = unclog_order.iter().position(|n| n == node).expect("same nodes") as u64;
        let until = start + step * (k + j);
        let duration = until - at;
        faults.push((at, Fault::ClogOut { node: *node, duration }));
        faults.push((at, Fault::ClogIn { node: *node, duration }));
    }
    faults
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngTree;
    use std::collections::BTreeMap;

    // Every chosen node is clogged both ways, stays clogged until all are clogged, and is
    // unclogged in an order different from the clog order.
    #[test]
    fn clogs_and_unclogs_every_chosen_node() {
        let nodes: Vec<NodeIdx> = (0..8).map(NodeIdx).collect();
        for seed in 0..20 {
            let s = swizzle_schedule(
                &nodes,
                SimTime(100),
                SimDuration(10),
                &mut RngTree::new(seed).faults(),
            );
            let mut clogs: BTreeMap<NodeIdx, (SimTime, SimTime, u32)> = BTreeMap::new();
            for (at, f) in &s {
                let (Fault::ClogOut { node, duration } | Fault::ClogIn { node, duration }) = f
                else {
                    panic!("{f:?}")
                };
                let e = clogs.entry(*node).or_insert((*at, *at + *duration, 0));
                assert_eq!((e.0, e.1), (*at, *at + *duration), "out and in clogs match");
                e.2 += 1;
            }
            let k = clogs.len() as u64;
            assert!(k >= 1 && s.len() as u64 == 2 * k && clogs.values().all(|c| c.2 == 2));
            let last_clog = SimTime(100 + 10 * (k - 1));
            assert!(clogs.values().all(|c| c.1 > last_clog), "unclogged before all were clogged");
            let mut by_clog: Vec<_> = clogs.iter().map(|(n, c)| (c.0, *n)).collect();
            let mut by_unclog: Vec<_> = clogs.iter().map(|(n, c)| (c.1, *n)).collect();
            by_clog.sort();
            by_unclog.sort();
            let unclog_times: Vec<SimTime> = by_unclog.iter().map(|x| x.0).collect();
            assert_eq!(
                unclog_times,
                (0..k).map(|j| SimTime(100 + 10 * (k + j))).collect::<Vec<_>>()
            );
            if k > 1 {
                let a: Vec<NodeIdx> = by_clog.iter().map(|x| x.1).collect();
                let b: Vec<NodeIdx> = by_unclog.iter().map(|x| x.1).collect();
                assert_ne!(a, b, "unclog order equals clog order");
            }
        }
        assert!(
            swizzle_schedule(&[], SimTime(0), SimDuration(1), &mut RngTree::new(0).faults())
                .is_empty()
        );
    }
}

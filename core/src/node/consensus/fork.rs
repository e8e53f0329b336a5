//! Finding the ballots a healed split hid (go-spacemesh's fork finder, in a cheaper form).
//!
//! While a network is split, each side gossips only its own ballots. After the heal a synced
//! node still counts itself synced (it holds every layer's ballots *it heard of*), so nothing
//! asks for the other side's ballots of the split layers except the base-ballot chains of later
//! ballots, and its tortoise tallies those layers with half of their weight missing. Its votes
//! then follow a different opinion than the other side's, and the full tortoise's margin on
//! the split layers stays short of the threshold for many layers (a 50/50 split of 8 layers
//! healed about 20 layers later instead of 6).
//!
//! A ballot of an earlier layer that a synced node had to fetch (a base or ref ballot it lacked)
//! is the sign: the peer that served it holds ballots of that layer this node never heard of,
//! and likely of the layers after it. So the node asks that peer for the ballot ids of every
//! layer from that one to the previous one ([`Hint::LayerBallots`], at most [`RELIST_LAYERS`]
//! layers back), and fetches the ballots it lacks; those are validated like gossiped ones, and
//! may in turn be signs for earlier layers. Each (layer, peer) pair is asked once. The peer is
//! also asked for the ids of the ATXs published in the current epoch, once per epoch: the
//! other side's ATXs of the split must arrive before the next active set is frozen, or the
//! sides freeze different sets and draw their hare committees apart. go-spacemesh
//! compares aggregated mesh hashes with its peers and re-syncs from the first layer where they
//! differ; a missing base ballot gives the same layer without another exchange.

use std::collections::BTreeSet;

use super::Consensus;
use super::sync::{LAG_MAX, number_key};
use crate::fetch::Hint;
use crate::types::{EpochId, LayerId, PeerId, Time};

/// How many layers back a relist reaches: further back, the node falls behind by `LAG_MAX`
/// and syncs again (`sync.rs`).
pub(super) const RELIST_LAYERS: u32 = LAG_MAX;

/// Layers asked of peers that showed this node had missed ballots.
#[derive(Debug, Default)]
pub(super) struct Relist {
    /// Each layer asked of each peer once; pairs older than [`RELIST_LAYERS`] are forgotten.
    asked: BTreeSet<(LayerId, PeerId)>,
    /// Peers asked for the ATX ids of the current epoch (of `atxs_epoch`).
    atxs_asked: BTreeSet<PeerId>,
    atxs_epoch: EpochId,
    /// Layers whose list is awaited.
    pending: BTreeSet<LayerId>,
}

impl Relist {
    /// Whether a list of `layer` was asked for here (and forgets that it was).
    pub(super) fn answered(&mut self, layer: LayerId) -> bool {
        self.pending.remove(&layer)
    }

    /// How many layers were asked of `peer`.
    #[cfg(test)]
    pub(super) fn asked_of(&self, peer: PeerId) -> usize {
        self.asked.iter().filter(|(_, p)| *p == peer).count()
    }

    /// Panics if the state outgrew its bound.
    pub(super) fn check_invariants(&self) {
        assert!(self.pending.len() <= RELIST_LAYERS as usize, "pending relists are bounded");
        let span = |s: &BTreeSet<LayerId>| match (s.first(), s.last()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0,
        };
        assert!(span(&self.pending) < RELIST_LAYERS, "pending relists span the relist window");
    }
}

impl Consensus {
    /// A ballot of `layer` fetched from `peer` was accepted. If the node is synced and the
    /// layer is over, it had missed that ballot: ask `peer` for the ballots of that layer and
    /// every later one up to the previous layer.
    pub(super) fn on_missed_ballot(&mut self, now: Time, layer: LayerId, peer: PeerId) {
        let current = self.cfg.clock.layer_at(now);
        if !self.sync.synced || layer >= current {
            return;
        }
        let epoch = self.cfg.clock.epoch_of(current);
        let oldest = LayerId(current.0.saturating_sub(RELIST_LAYERS));
        let relist = &mut self.sync.relist;
        relist.asked.retain(|(l, _)| *l >= oldest);
        relist.pending.retain(|l| *l >= oldest);
        // The ATXs published while split: the peer holds those of its side, which this node
        // must have before the next epoch's active set is frozen.
        if relist.atxs_epoch != epoch {
            relist.atxs_epoch = epoch;
            relist.atxs_asked.clear();
        }
        if relist.atxs_asked.insert(peer) {
            self.fetcher.want(Hint::EpochAtxs, number_key(epoch.0), Some(peer));
        }
        for l in layer.max(oldest).0..current.0 {
            let l = LayerId(l);
            if !relist.pending.contains(&l) && relist.asked.insert((l, peer)) {
                relist.pending.insert(l);
                crate::coverage::mark(crate::coverage::FORK_RELIST);
                self.fetcher.want(Hint::LayerBallots, number_key(l.0), Some(peer));
            }
        }
    }
}

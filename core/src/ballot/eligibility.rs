//! Ballot eligibility: how many slots an identity has in an epoch, and which layers they map to.
//!
//! `slots = max(1, ⌊w · L · E / max(W_min, W)⌋)`; slot `j` is proven by the VRF of
//! `(beacon, epoch, vrf nonce, j)` and falls in layer `first + (LE64(π[0..8]) mod E)`.

use std::collections::BTreeMap;

use crate::activation::store::HashedActiveSet;
use crate::ballot::BallotConfig;
use crate::ballot::wire::VotingEligibility;
use crate::codec::Encode;
use crate::eligibility::ballot::{slot_layer, slots};
use crate::types::{Beacon, EpochId, LayerId};
use crate::vrf::{self, message::BallotVrfMessage};

/// What every node agrees on for an epoch before it votes: the beacon and the active set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochInfo {
    /// The epoch.
    pub epoch: EpochId,
    /// Its beacon.
    pub beacon: Beacon,
    /// Its active set, with the hash ref ballots declare.
    pub active_set: HashedActiveSet,
}

/// The VRF message of ballot slot `j`.
pub fn slot_message(beacon: Beacon, epoch: EpochId, vrf_nonce: u64, j: u32) -> Vec<u8> {
    BallotVrfMessage { beacon, epoch, nonce: vrf_nonce, counter: j }.encode()
}

/// Slots of an identity of `weight` in an epoch of `total_weight` (0 when the total is 0).
pub fn slot_count(
    cfg: &BallotConfig,
    layers_per_epoch: u32,
    weight: u64,
    total_weight: u64,
) -> u32 {
    slots(weight, cfg.layer_avg_size, layers_per_epoch, cfg.min_active_set_weight, total_weight)
        .unwrap_or(0)
}

/// This node's eligibilities in one epoch, by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnEligibility {
    /// The epoch.
    pub epoch: EpochId,
    /// Slot count declared in the ref ballot.
    pub count: u32,
    /// Proofs per layer, `j` ascending.
    pub layers: BTreeMap<LayerId, Vec<VotingEligibility>>,
}

impl OwnEligibility {
    /// Computes the slots of an identity with VRF secret `seed`.
    pub fn compute(
        cfg: &BallotConfig,
        layers_per_epoch: u32,
        info: &EpochInfo,
        seed: &[u8; 32],
        weight: u64,
        vrf_nonce: u64,
    ) -> Self {
        let count = slot_count(cfg, layers_per_epoch, weight, info.active_set.set().weight);
        let first = info.epoch.first_layer(layers_per_epoch);
        let mut layers: BTreeMap<LayerId, Vec<VotingEligibility>> = BTreeMap::new();
        #[cfg(feature = "canary")]
        let count_proven =
            count + u32::from(crate::canary::active(crate::canary::Canary::EligibilityOverclaim));
        #[cfg(not(feature = "canary"))]
        let count_proven = count;
        for j in 0..count_proven {
            let sig = vrf::prove(seed, &slot_message(info.beacon, info.epoch, vrf_nonce, j));
            if let Some(layer) = slot_layer(&sig, first, layers_per_epoch) {
                layers.entry(layer).or_default().push(VotingEligibility { j, sig });
            }
        }
        OwnEligibility { epoch: info.epoch, count, layers }
    }
}

//! The tortoise: final, self-healing agreement on which block of each layer is valid, by
//! counting the weighted votes that later ballots carry (protocol.md section 8; go-spacemesh
//! `tortoise/`).
//!
//! [`Tortoise`] is a pure state machine: it is fed ATXs, beacons, malfeasance, ballots, blocks,
//! hare outputs and weak coins, processes layers on [`Tortoise::tally_votes`], and answers with
//! the node's own votes ([`Tortoise::encode_votes`]), per-layer opinion hashes and the
//! [`LayerUpdate`]s a mesh applies or reverts. It never reads a clock: "the last layer" is the
//! highest layer given to `tally_votes`.
//!
//! Two verifiers run over the same state. The *verifying* tortoise (fast path) counts the
//! weight of good ballots (those agreeing with the local opinion) after a hare-terminated
//! layer. The *full* tortoise counts every ballot's explicit votes per block and takes over
//! when the next unverified layer leaves `hdist`; it switches back once both agree. Where the
//! full tally is undecided, the node's own votes follow the weak coin. Votes are weighed by
//! ballot eligibility (`atx weight · eligibilities / slots`), in fixed-point integers; the
//! thresholds are exact fractions (`threshold.rs`).
//!
//! Invariants (checked by [`Tortoise::check_invariants`]):
//! 1. Layers are processed in order; a layer is verified only if every earlier layer in the
//!    window is, and `latest_verified < processed ≤ last` (the genesis layer, where the
//!    tortoise starts, counts as verified and processed).
//! 2. State is bounded: layers before `verified − window` are evicted once they have been
//!    reported by [`Tortoise::updates`], and no input is taken for a layer more than `window`
//!    layers after the last one; each layer holds at most `ballots_per_layer_max` ballots and
//!    ballots name at most `blocks_per_layer_max` blocks per layer; epochs hold at most
//!    `atxs_per_epoch_max` ATXs.
//! 3. Deterministic and order-independent: only ordered maps and sorted vectors; the same
//!    ballots, blocks and hare outputs fed in another order between the same tallies give the
//!    same opinions and validity (the tests check it). Encoded votes are canonical (exceptions
//!    sorted; base candidates tried in id order).
//! 4. Ballots of smeshers known malicious carry no weight in either verifier, including ballots
//!    stored before the malfeasance became known; their ATXs leave the epoch weight.
//! 5. Every change of a layer's opinion or validity, including a verified layer becoming
//!    unverified or changing validity (a revert), is reported by the next `updates()`, from the
//!    lowest changed layer up to the processed one.
//!
//! Deviations from the reference (go-spacemesh `cc65f27`):
//! - The ballot input carries the eligibility count of the epoch (`slots`) and the beacon of
//!   the ref ballot directly instead of resolving ref ballots; the opinion hash a ballot claims
//!   is not checked here (this project's ballots bind their votes with a hash of the votes,
//!   [`crate::ballot::wire::opinion_hash`]); [`Opinion::hash`] is the chained opinion.
//! - Ballots whose ATX belongs to another smesher, or with zero or too many eligibilities, are
//!   refused; exceptions for layers at or after the ballot's layer are refused (the reference
//!   ignores them).
//! - A hare output that arrives before its block still makes that block the hare's (the
//!   reference marks such a block against), and the local opinion is recomputed when it
//!   arrives.
//! - Malfeasance applies retroactively (counted votes are taken out, ATX weight leaves the
//!   epoch), and bad-beacon/late-block bookkeeping never counts a ballot twice.
//! - Explicit block votes on a layer the base ballot abstained on make the layer's vote
//!   explicit (the reference keeps the abstain flag while hashing the supports).
//! - `updates()` reports from the lowest changed layer (also for a newly processed layer, a
//!   new block or hare output in a processed layer, and a previously last verified layer that
//!   loses verification), then forgets them; the reference keeps reporting until the mesh calls
//!   `OnApplied`, and evicts only after that.
//! - The weak coin, the bad-beacon delay and thresholds are as in the reference, but weights
//!   are fixed-point integers (2^16 units per ATX weight unit) and thresholds exact fractions
//!   instead of `fixed.Fixed`; `on_atx` and `validate` return typed errors.
//! - No historical window sizes, no recovery from disk (`RecoverFrom`, recovered ballots and
//!   blocks), no minimal active-set weight; the ATX heights' median is taken when the epoch's
//!   first layer is processed, as in the reference.
//!
//! Files: `config.rs` (parameters), `state.rs` (layers, blocks, ballots, epochs), `votes.rs`
//! (decoding and opinion hashes), `threshold.rs`, `verifying.rs`, `full.rs`, `tally.rs`
//! (processing, mode switching, eviction), `encode.rs` (own votes), `tests.rs`.

#![deny(missing_docs)]

mod config;
mod encode;
mod full;
mod state;
mod tally;
mod threshold;
mod verifying;
mod votes;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use config::{TortoiseConfig, TortoiseConfigError};

use crate::activation::store::AtxHeader;
use crate::activation::wire::AtxId;
use crate::ballot::wire::Votes;
use crate::crypto::Verifier;
use crate::lookup::Positions;
use crate::types::{BallotId, Beacon, BlockId, EpochId, Hash32, LayerId, NodeId};

pub use state::BallotHeader;
use state::{
    BallotInfo, BallotRef, BlockKey, EpochInfo, LayerInfo, Sign, ballot_in, within_distance,
};
use threshold::{WEIGHT_ONE, Weight, ballot_weight};
use votes::build_diff;

/// What the tortoise needs of a ballot (validated elsewhere: signature, eligibility proofs).
#[derive(Debug, Clone, Copy)]
pub struct BallotInput<'a> {
    /// The ballot id.
    pub id: BallotId,
    /// Its layer.
    pub layer: LayerId,
    /// The smesher's ATX for the layer's epoch.
    pub atx: AtxId,
    /// The smesher.
    pub smesher: NodeId,
    /// Eligibility proofs in this ballot.
    pub eligibilities: u32,
    /// The smesher's eligibility count for the epoch (from its ref ballot).
    pub slots: u32,
    /// The beacon of its ref ballot.
    pub beacon: Beacon,
    /// Base ballot and exceptions.
    pub votes: &'a Votes,
    /// Hands out the allocation of the ballot's [`BallotHeader`].
    pub verifier: &'a dyn Verifier,
}

/// The node's own votes for a ballot, with the opinion hash they decode to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opinion {
    /// The chained opinion hash of the layer below the ballot's (equal to
    /// [`Tortoise::opinion`] of that layer when the node's view is settled).
    pub hash: Hash32,
    /// Base ballot and exceptions.
    pub votes: Votes,
}

/// Which verifier decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Good-ballot weight (the fast path).
    Verifying,
    /// Every ballot's explicit votes (self-healing).
    Full,
}

/// The tortoise's view of one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockStatus {
    /// Block id.
    pub id: BlockId,
    /// Tick height.
    pub height: u64,
    /// Decided valid.
    pub valid: bool,
    /// Decided invalid (neither: undecided).
    pub invalid: bool,
    /// The hare's output.
    pub hare: bool,
    /// The block itself is known (`on_block`), not only named by votes.
    pub data: bool,
}

/// One layer's opinion and validity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerUpdate {
    /// The layer.
    pub layer: LayerId,
    /// Its chained opinion hash (the aggregated mesh hash).
    pub opinion: Hash32,
    /// Whether the layer is verified.
    pub verified: bool,
    /// Its blocks, by height then id.
    pub blocks: Vec<BlockStatus>,
}

/// Why a ballot or an ATX was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TortoiseReject {
    /// Ballots exist only after the effective genesis layer.
    #[error("{layer} is not after the effective genesis")]
    NotAfterGenesis {
        /// The ballot's layer.
        layer: LayerId,
    },
    /// More than `window` layers after the last tallied one.
    #[error("{layer} is too far ahead of the last {last}")]
    TooFarAhead {
        /// The input's layer.
        layer: LayerId,
        /// The last layer.
        last: LayerId,
    },
    /// The ballot's ATX is not known for the ballot's epoch (feed it first).
    #[error("unknown ATX {atx}")]
    UnknownAtx {
        /// The ATX.
        atx: AtxId,
    },
    /// The ballot's ATX belongs to another smesher.
    #[error("ATX {atx} is not the smesher's")]
    AtxNotOwned {
        /// The ATX.
        atx: AtxId,
    },
    /// Zero eligibilities, zero slots, or more eligibilities than slots.
    #[error("{eligibilities} eligibilities of {slots} slots")]
    BadEligibilities {
        /// In this ballot.
        eligibilities: u32,
        /// In the epoch.
        slots: u32,
    },
    /// The base ballot is not known (feed it first) or is evicted.
    #[error("unknown base ballot {base}")]
    UnknownBase {
        /// The base.
        base: BallotId,
    },
    /// The base ballot is not from an earlier layer.
    #[error("base ballot in {base_layer} is not before {layer}")]
    BaseNotBefore {
        /// The base's layer.
        base_layer: LayerId,
        /// The ballot's layer.
        layer: LayerId,
    },
    /// The layer holds `ballots_per_layer_max` ballots already.
    #[error("ballots of {layer} are full")]
    LayerFull {
        /// The layer.
        layer: LayerId,
    },
    /// The supports would name more than `blocks_per_layer_max` blocks in a layer.
    #[error("too many blocks in {layer}")]
    TooManyBlocks {
        /// The layer.
        layer: LayerId,
    },
    /// An exception for a layer outside the window.
    #[error("vote on evicted {layer}")]
    VoteOutsideWindow {
        /// The voted layer.
        layer: LayerId,
    },
    /// An exception for a layer at or after the ballot's.
    #[error("vote on {layer} from a ballot in {ballot_layer}")]
    VoteNotBefore {
        /// The voted layer.
        layer: LayerId,
        /// The ballot's layer.
        ballot_layer: LayerId,
    },
    /// Two exceptions for one block.
    #[error("conflicting votes on block {block} in {layer}")]
    ConflictingVotes {
        /// The layer.
        layer: LayerId,
        /// The block.
        block: BlockId,
    },
    /// An abstain on a layer that has other exceptions (or a second abstain).
    #[error("abstain on {layer} conflicts with other votes")]
    AbstainConflict {
        /// The layer.
        layer: LayerId,
    },
    /// An against exception for a block the base supports at another height.
    #[error("against block {block} at another height than the base supports")]
    AgainstWrongHeight {
        /// The block.
        block: BlockId,
    },
    /// The epoch holds `atxs_per_epoch_max` ATXs already.
    #[error("ATXs of {epoch} are full")]
    EpochFull {
        /// The epoch.
        epoch: EpochId,
    },
}

/// Why the node's votes cannot be encoded now.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// Ballots of processed layers wait for their epoch's beacon.
    #[error("{count} ballots wait for a beacon")]
    BallotsPending {
        /// How many.
        count: usize,
    },
    /// Ballots exist only after the effective genesis layer.
    #[error("{layer} is not after the effective genesis")]
    NotAfterGenesis {
        /// The requested layer.
        layer: LayerId,
    },
    /// The full tally is undecided and the weak coin of this layer is not known.
    #[error("no weak coin for {layer}")]
    MissingCoin {
        /// The coin's layer.
        layer: LayerId,
    },
    /// The base abstains on a layer the hare has terminated since (exceptions cannot undo an
    /// abstain with "against all").
    #[error("base {base} abstains on terminated {layer}")]
    BaseAbstains {
        /// The base.
        base: BallotId,
        /// The layer.
        layer: LayerId,
    },
    /// The base needs more than `max_exceptions` exceptions.
    #[error("base {base} needs {count} exceptions")]
    TooManyExceptions {
        /// The base.
        base: BallotId,
        /// Exceptions needed.
        count: usize,
    },
    /// The votes would not decode (blocks sharing an id at different heights).
    #[error("inconsistent votes: {0}")]
    Inconsistent(TortoiseReject),
    /// No ballot in the window can be a base.
    #[error("no base ballot in the window")]
    NoBaseBallot,
}

/// The tortoise of one node. See the module documentation.
#[derive(Debug, Clone)]
pub struct Tortoise {
    cfg: TortoiseConfig,
    genesis: LayerId,
    /// The highest layer given to `tally_votes`.
    last: LayerId,
    /// The highest processed layer (`≤ last`).
    processed: LayerId,
    /// The last verified layer.
    verified: LayerId,
    /// Layers up to this one are dropped; `layers[0]` is the layer after it.
    evicted: LayerId,
    /// The lowest layer changed since the last `updates()`.
    pending: Option<LayerId>,
    layers: VecDeque<LayerInfo>,
    epochs: BTreeMap<EpochId, EpochInfo>,
    /// Where each stored ballot is, by its id (read from the ballot's header), looked up for
    /// every ballot's base and votes. A table of refs (8 bytes a slot): every node keeps one per
    /// ballot of the window, and a copy of each id beside its ref took four times that. Unseeded:
    /// only ballots that passed validation get here, at most `ballots_per_layer_max` a layer.
    ballot_index: Positions<BallotRef>,
    malicious: BTreeSet<NodeId>,
    /// Processed ballots waiting for their epoch's beacon, in arrival order.
    retriable: Vec<BallotRef>,
    /// Verifying mode: good weight counted since the last reset.
    total_good: Weight,
    mode: Mode,
    /// Full mode: ballots of layers up to this one are counted.
    full_counted: LayerId,
    /// Full mode: bad-beacon ballots by the layer they become countable in.
    delayed: BTreeMap<LayerId, Vec<BallotRef>>,
    /// Coverage mark: how often the full tortoise took over.
    full_mode_entries: u64,
}

impl Tortoise {
    /// A tortoise whose first layer is the effective genesis layer (terminated empty and
    /// verified). Panics on an invalid config or a genesis layer of 0.
    pub fn new(cfg: TortoiseConfig, effective_genesis: LayerId) -> Self {
        cfg.validate().expect("valid tortoise config");
        assert!(effective_genesis.0 > 0, "the effective genesis layer is after layer 0");
        let mut t = Tortoise {
            cfg,
            genesis: effective_genesis,
            last: effective_genesis,
            processed: effective_genesis,
            verified: effective_genesis,
            evicted: LayerId(effective_genesis.0 - 1),
            pending: Some(effective_genesis),
            layers: VecDeque::new(),
            epochs: BTreeMap::new(),
            ballot_index: Positions::new(0),
            malicious: BTreeSet::new(),
            retriable: Vec::new(),
            total_good: 0,
            mode: Mode::Verifying,
            full_counted: effective_genesis,
            delayed: BTreeMap::new(),
            full_mode_entries: 0,
        };
        t.ensure_layer(effective_genesis).hare = Some(None);
        t.compute_opinion(effective_genesis);
        t
    }

    /// A valid ATX: its identity's weight and height in the epoch it targets. ATXs of an
    /// epoch must come before the epoch's first layer is tallied (its median height is taken
    /// then) and before ballots that use them.
    pub fn on_atx(&mut self, atx: Arc<AtxHeader>) -> Result<(), TortoiseReject> {
        let target = atx.target_epoch();
        let lpe = self.cfg.layers_per_epoch;
        let first = u64::from(target.0) * u64::from(lpe);
        if first + u64::from(lpe) - 1 <= u64::from(self.evicted.0) {
            return Ok(());
        }
        if first > u64::from(self.last.0) + u64::from(self.cfg.window) {
            return Err(TortoiseReject::TooFarAhead {
                layer: LayerId(first as u32),
                last: self.last,
            });
        }
        let malicious = self.malicious.contains(&atx.smesher);
        let epoch = self.epochs.entry(target).or_default();
        if epoch.atxs.contains_key(&atx.id) {
            return Ok(());
        }
        if epoch.atxs.len() >= self.cfg.atxs_per_epoch_max {
            return Err(TortoiseReject::EpochFull { epoch: target });
        }
        let weight = atx.weight;
        epoch.atxs.insert(atx);
        if !malicious {
            epoch.weight += i128::from(weight) * WEIGHT_ONE;
        }
        Ok(())
    }

    /// The beacon of `epoch`. Ballots of the epoch are counted only once it is known. A later
    /// one replaces it (the node adopted its ballots' majority beacon): ballots judged from
    /// then on are judged against it, those judged before keep their verdict (as
    /// go-spacemesh's tortoise, which overwrites the epoch's beacon).
    pub fn on_beacon(&mut self, epoch: EpochId, beacon: Beacon) {
        let first = epoch.0 as u64 * u64::from(self.cfg.layers_per_epoch);
        let end = first + u64::from(self.cfg.layers_per_epoch) - 1;
        if end <= u64::from(self.evicted.0)
            || first > u64::from(self.last.0) + u64::from(self.cfg.window)
        {
            return;
        }
        self.epochs.entry(epoch).or_default().beacon = Some(beacon);
    }

    /// `node` is malicious: its ballots (stored or future) carry no weight and its ATXs leave
    /// the epoch weights.
    pub fn on_malfeasance(&mut self, node: NodeId) {
        if !self.malicious.insert(node) {
            return;
        }
        for epoch in self.epochs.values_mut() {
            let w: Weight = epoch
                .atxs
                .values()
                .filter(|a| a.smesher == node)
                .map(|a| i128::from(a.weight))
                .sum();
            epoch.weight -= w * WEIGHT_ONE;
        }
        let mut changed = false;
        for l in self.evicted.0 + 1..=self.evicted.0 + self.layers.len() as u32 {
            for r in self.ballot_refs(LayerId(l)) {
                let b = self.ballot(r);
                if b.header.atx.smesher == node && !b.malicious {
                    self.full_uncount(r);
                    self.ballot_mut(r).malicious = true;
                    changed = true;
                }
            }
        }
        if changed {
            self.verifying_recount_all();
        }
    }

    /// A ballot. Its ATX and base ballot must be known; a ballot in an evicted layer or one
    /// already stored is ignored (`Ok`).
    pub fn on_ballot(&mut self, ballot: BallotInput<'_>) -> Result<(), TortoiseReject> {
        let layer = ballot.layer;
        if layer <= self.genesis {
            return Err(TortoiseReject::NotAfterGenesis { layer });
        }
        if layer <= self.evicted || self.find_ballot(&ballot.id).is_some() {
            return Ok(());
        }
        #[cfg(feature = "canary")]
        if crate::canary::active(crate::canary::Canary::TortoiseIgnoresLateBallots)
            && layer.0.saturating_add(1) < self.last.0
        {
            return Ok(());
        }
        if !self.accepts_layer(layer) {
            return Err(TortoiseReject::TooFarAhead { layer, last: self.last });
        }
        let epoch = layer.epoch(self.cfg.layers_per_epoch);
        let atx = self.epochs.get(&epoch).and_then(|e| e.atxs.get(&ballot.atx)).cloned();
        let atx = atx.ok_or(TortoiseReject::UnknownAtx { atx: ballot.atx })?;
        if atx.smesher != ballot.smesher {
            return Err(TortoiseReject::AtxNotOwned { atx: ballot.atx });
        }
        let (eligibilities, slots) = (ballot.eligibilities, ballot.slots);
        if eligibilities == 0 || eligibilities > slots {
            return Err(TortoiseReject::BadEligibilities { eligibilities, slots });
        }
        let base = self.resolve_base(ballot.votes.base, layer)?;
        if self.layer(layer).is_some_and(|l| l.ballots.len() >= self.cfg.ballots_per_layer_max) {
            return Err(TortoiseReject::LayerFull { layer });
        }
        let diff = build_diff(ballot.votes, self.evicted, layer)?;
        let new_blocks = self.new_blocks(&diff)?;
        let plan = self.plan_votes(&base, layer, &diff)?;
        // Everything is checked: store.
        let opinion = plan.opinion();
        let votes = self.commit_votes(plan);
        for (lid, key) in new_blocks {
            let beyond = !within_distance(self.cfg.hdist, lid, self.last);
            self.add_block(lid, key, false, beyond);
        }
        let header = BallotHeader {
            id: ballot.id,
            layer,
            weight: ballot_weight(atx.weight, eligibilities, slots),
            beacon: ballot.beacon,
            atx,
            opinion,
        };
        let info = BallotInfo {
            header: ballot.verifier.share_tortoise_ballot(header),
            malicious: self.malicious.contains(&ballot.smesher),
            bad_beacon: None,
            votes,
            full_counted: false,
        };
        let ballots = &mut self.ensure_layer(layer).ballots;
        let r = BallotRef { layer, index: ballots.len() as u32 };
        ballots.push(info);
        let (layers, evicted) = (&self.layers, self.evicted);
        self.ballot_index.insert(r, |r| ballot_in(layers, evicted, r).header.id);
        if layer <= self.processed {
            self.count_ballot(r);
        }
        Ok(())
    }

    /// A block is available locally (the node built it from a hare output, or fetched it).
    /// Ignored outside the window.
    pub fn on_block(&mut self, id: BlockId, layer: LayerId, height: u64) {
        if layer > self.genesis && self.accepts_layer(layer) {
            self.add_block(layer, BlockKey { height, id }, true, false);
        }
    }

    /// The hare's output for `layer`: a block, or `None` when it ended empty (also for a
    /// certificate synced from peers). May come any number of times, in any layer order; the
    /// latest one counts. Ignored outside the window.
    pub fn on_hare_output(&mut self, layer: LayerId, block: Option<BlockId>) {
        if layer > self.genesis && self.accepts_layer(layer) {
            self.apply_hare_output(layer, block);
        }
    }

    /// The weak coin of `layer`'s hare, used by ballots of the next layer where the full
    /// tally is undecided. Ignored outside the window.
    pub fn on_weak_coin(&mut self, layer: LayerId, coin: bool) {
        if self.accepts_layer(layer) {
            self.ensure_layer(layer).coin = Some(coin);
        }
    }

    /// Processes every layer up to `last` (the layer that just ended; a lower one than before
    /// only re-runs verification): counts its ballots, terminates the layer `zdist` before it
    /// if the hare did not, moves the layer `hdist` before it from hare to validity, verifies
    /// and evicts. Call [`Tortoise::updates`] afterwards.
    pub fn tally_votes(&mut self, last: LayerId) {
        self.tally(last);
    }

    /// The node's votes for a ballot in `current` (normally the last tallied layer + 1).
    pub fn encode_votes(&self, current: LayerId) -> Result<Opinion, EncodeError> {
        self.encode(current)
    }

    /// The chained opinion hash up to and including `layer`, once the layer is processed and
    /// while it is in the window.
    pub fn opinion(&self, layer: LayerId) -> Option<Hash32> {
        if layer > self.processed {
            return None;
        }
        self.layer(layer).map(|l| l.opinion)
    }

    /// The layers whose opinion or validity changed since the last call (or that were
    /// processed since), from the lowest changed one up to the processed layer. The first
    /// entry is where a mesh must revert to if its applied state differs.
    pub fn updates(&mut self) -> Vec<LayerUpdate> {
        let Some(from) = self.pending.take() else { return Vec::new() };
        let from = from.max(LayerId(self.evicted.0 + 1));
        let out = (from.0..=self.processed.0).filter_map(|l| self.result(LayerId(l))).collect();
        self.evict();
        out
    }

    /// The settled layer and its opinion hash: the last verified layer at least `hdist` behind
    /// the last tallied one. Beyond `hdist` a layer's opinion names its valid blocks, so every
    /// honest node that verified the layer holds the same hash for it; nearer layers name the
    /// node's own hare outputs, and a node that missed one abstains and then votes against
    /// (go-spacemesh's local vote), whatever the verified validity. `None` before `hdist`
    /// layers were tallied or when that layer has left the window.
    pub fn settled_opinion(&self) -> Option<(LayerId, Hash32)> {
        let beyond = self.last.0.checked_sub(self.cfg.hdist)?;
        let layer = LayerId(beyond.min(self.verified.0));
        self.opinion(layer).map(|o| (layer, o))
    }

    /// The current opinion and validity of one processed layer in the window.
    pub fn result(&self, layer: LayerId) -> Option<LayerUpdate> {
        if layer > self.processed {
            return None;
        }
        let info = self.layer(layer)?;
        let blocks = info
            .blocks
            .iter()
            .map(|b| BlockStatus {
                id: b.key.id,
                height: b.key.height,
                valid: b.validity == Sign::Support,
                invalid: b.validity == Sign::Against,
                hare: info.hare_sign(&b.key) == Sign::Support,
                data: b.data,
            })
            .collect();
        Some(LayerUpdate { layer, opinion: info.opinion, verified: layer <= self.verified, blocks })
    }

    /// The last verified layer (every layer up to it is verified).
    pub fn latest_verified(&self) -> LayerId {
        self.verified
    }

    /// The highest layer whose votes were tallied (the newest layer the node has seen).
    pub fn last_tallied(&self) -> LayerId {
        self.last
    }

    /// The highest processed layer.
    pub fn processed(&self) -> LayerId {
        self.processed
    }

    /// Which verifier decides now.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Panics if an invariant of the module documentation is broken. Constant time, so that
    /// a simulator may call it after every step; the tests also walk the whole state.
    pub fn check_invariants(&self) {
        assert!(self.evicted.0 + 1 >= self.genesis.0, "the genesis layer is the first one");
        assert!(
            self.genesis <= self.verified && self.evicted <= self.verified,
            "verified in the window"
        );
        assert!(
            self.verified <= self.processed && self.processed <= self.last,
            "verified ≤ processed ≤ last"
        );
        assert!(
            self.verified < self.processed || self.processed == self.genesis,
            "the processed layer itself is never verified"
        );
        assert!(self.full_counted <= self.processed, "full mode counts processed layers only");
        if self.mode == Mode::Full {
            assert_eq!(self.full_counted, self.processed, "full mode counts every processed layer");
        }
        let span = self.layers.len() as u64;
        assert!(span >= u64::from(self.processed.0 - self.evicted.0), "processed layers exist");
        assert!(
            span <= u64::from(self.last.0 - self.evicted.0) + u64::from(self.cfg.window),
            "no layer beyond the input bound"
        );
        if let (Some(first), Some(last)) = (self.layers.front(), self.layers.back()) {
            assert_eq!(first.lid.0, self.evicted.0 + 1, "the window starts after the evicted");
            assert_eq!(u64::from(last.lid.0 - first.lid.0) + 1, span, "layers are contiguous");
        }
        if self.pending.is_none() && self.verified.0 > self.genesis.0 + self.cfg.hdist {
            assert!(
                self.verified.0 - self.evicted.0 <= self.cfg.window + 1,
                "reported layers are evicted"
            );
        }
        assert!(
            self.ballot_index.len() as u64 <= span * self.cfg.ballots_per_layer_max as u64,
            "ballots are bounded"
        );
        assert!(self.retriable.len() <= self.ballot_index.len(), "retries are stored ballots");
        assert!(self.total_good >= 0, "good weight is never negative");
    }

    /// Walks the whole state: every layer, vote and ballot (tests only; linear in the state).
    #[cfg(test)]
    fn check_state(&self) {
        self.check_invariants();
        let mut ballots = 0;
        let mut prev_good: Weight = 0;
        for (i, layer) in self.layers.iter().enumerate() {
            assert_eq!(layer.lid.0, self.evicted.0 + 1 + i as u32, "layers are contiguous");
            self.check_layer(layer);
            ballots += layer.ballots.len();
            if layer.lid <= self.processed {
                assert!(layer.good_uncounted >= prev_good, "good weight accumulates");
                assert!(layer.good_uncounted <= self.total_good, "good weight is in the total");
                prev_good = layer.good_uncounted;
            }
        }
        assert_eq!(ballots, self.ballot_index.len(), "every stored ballot is indexed");
        for l in self.evicted.0 + 1..=self.evicted.0 + self.layers.len() as u32 {
            for r in self.ballot_refs(LayerId(l)) {
                let id = self.ballot(r).header.id;
                assert_eq!(self.find_ballot(&id), Some(r), "the index points at the ballot");
            }
        }
        for r in &self.retriable {
            assert!(self.ballot(*r).bad_beacon.is_none(), "retried ballots wait for a beacon");
        }
    }

    #[cfg(test)]
    fn check_layer(&self, layer: &LayerInfo) {
        assert!(layer.blocks.windows(2).all(|w| w[0].key < w[1].key), "blocks sorted and unique");
        let named = layer.blocks.iter().filter(|b| !b.data).count();
        assert!(named <= self.cfg.blocks_per_layer_max, "blocks named by votes are bounded");
        assert!(layer.ballots.len() <= self.cfg.ballots_per_layer_max, "ballots are bounded");
        assert_eq!(layer.votes.len(), layer.vote_index.len(), "votes are deduplicated");
        for (opinion, &i) in &layer.vote_index {
            let vote = &layer.votes[i as usize];
            assert_eq!(vote.opinion, *opinion);
            assert!(!vote.abstain || vote.supported.is_empty(), "an abstain supports nothing");
            assert!(vote.supported.windows(2).all(|w| w[0] < w[1]), "supports sorted");
            if let Some(prev) = vote.prev {
                assert_eq!(prev.layer.0 + 1, layer.lid.0, "votes chain layer by layer");
            }
        }
        for b in &layer.ballots {
            assert_eq!(b.header.layer, layer.lid);
            assert_eq!(b.votes.layer.0 + 1, b.header.layer.0, "a ballot's votes start below it");
            assert!(!(b.full_counted && b.malicious), "malicious ballots are not counted");
            assert!(!b.full_counted || b.header.layer <= self.full_counted, "counted layers only");
        }
    }
}

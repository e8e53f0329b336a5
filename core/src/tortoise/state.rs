//! The tortoise's in-memory state: layers, blocks, ballots and epochs inside the window.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::activation::store::AtxHeader;
use crate::activation::wire::AtxId;
use crate::lookup::Positions;
use crate::types::{BallotId, Beacon, BlockId, Hash32, LayerId};

use super::Tortoise;
use super::threshold::Weight;
use super::votes::{LayerVote, VoteRef};

/// A vote or a decision on one block: for, against, or neither (abstain / undecided).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Sign {
    /// For the block (valid).
    Support,
    /// Against the block (invalid).
    Against,
    /// Neither: abstain as a vote, undecided as a decision.
    #[default]
    Neutral,
}

impl Sign {
    /// `Support` when `support`, else `Against`.
    pub(super) fn from_support(support: bool) -> Sign {
        if support { Sign::Support } else { Sign::Against }
    }
}

/// A block as votes name it: its id and its tick height. Two blocks with the same id and
/// different heights are different vote targets (as in go-spacemesh `types.Vote`). The field
/// order makes the derived order the reference's block order: by height, then by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct BlockKey {
    /// Tick height.
    pub(super) height: u64,
    /// Block id.
    pub(super) id: BlockId,
}

/// What the tortoise knows about one block.
#[derive(Debug, Clone)]
pub(super) struct BlockInfo {
    pub(super) key: BlockKey,
    /// The decision of the last verification (neutral until the layer is verified).
    pub(super) validity: Sign,
    /// Full-mode tally: weight for minus weight against.
    pub(super) margin: Weight,
    /// Whether the block itself is known locally (`on_block`), not only named by votes.
    pub(super) data: bool,
}

/// Where a ballot is stored: its layer and its index in that layer's ballots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BallotRef {
    pub(super) layer: LayerId,
    pub(super) index: u32,
}

/// What every node derives alike from one valid ballot: a function of the ballot (its id
/// commits to its content), its ATX and its base ballot's opinion. It is kept as an allocation
/// that a runtime hosting many nodes may share between them (see
/// [`crate::crypto::Verifier::share_tortoise_ballot`]): every node keeps every ballot of the
/// window, and these 96 bytes at each of them were the largest part of a 1,000-node run's
/// memory.
#[derive(Debug, PartialEq, Eq)]
pub struct BallotHeader {
    pub(super) id: BallotId,
    pub(super) layer: LayerId,
    /// The ballot's ATX (the shared header: its smesher's, and its tick height, the height of
    /// the highest blocks the ballot votes on).
    pub(super) atx: Arc<AtxHeader>,
    /// `atx weight · eligibilities / slots`, in fixed-point weight units.
    pub(super) weight: Weight,
    pub(super) beacon: Beacon,
    /// The opinion of the decoded votes (the opinion hash of `layer - 1`).
    pub(super) opinion: Hash32,
}

impl BallotHeader {
    /// The ballot's id.
    pub fn id(&self) -> BallotId {
        self.id
    }
}

/// A stored ballot: its shared header and what is this node's own.
#[derive(Debug, Clone)]
pub(super) struct BallotInfo {
    pub(super) header: Arc<BallotHeader>,
    /// The decoded votes: the vote on `layer - 1`, chained to earlier layers (in this node's
    /// vote store).
    pub(super) votes: VoteRef,
    pub(super) malicious: bool,
    /// Whether the beacon differs from the epoch's; `None` until the epoch beacon is known.
    pub(super) bad_beacon: Option<bool>,
    /// Whether the votes are in the full-mode margins now (so that malfeasance can take them
    /// out again).
    pub(super) full_counted: bool,
}

/// The ATXs of one epoch: looked up by id for every ballot, walked (in arrival order) only for
/// sums and medians, which do not depend on the order. The headers are the ATX store's (shared
/// between the nodes of a simulation): a copy of identity, weight and height per ATX here, and
/// a table of ids, took 120 B per ATX and epoch at every node.
#[derive(Debug, Clone)]
pub(super) struct EpochAtxs {
    /// Positions in `atxs` by id. Unseeded: only valid ATXs get here.
    index: Positions,
    atxs: Vec<Arc<AtxHeader>>,
}

impl Default for EpochAtxs {
    fn default() -> Self {
        EpochAtxs { index: Positions::new(0), atxs: Vec::new() }
    }
}

impl EpochAtxs {
    pub(super) fn get(&self, id: &AtxId) -> Option<&Arc<AtxHeader>> {
        let at = self.index.find(id, |p| self.atxs[p as usize].id == *id)?;
        Some(&self.atxs[at as usize])
    }

    pub(super) fn contains_key(&self, id: &AtxId) -> bool {
        self.get(id).is_some()
    }

    pub(super) fn len(&self) -> usize {
        self.atxs.len()
    }

    /// Adds an ATX not held yet.
    pub(super) fn insert(&mut self, atx: Arc<AtxHeader>) {
        debug_assert!(!self.contains_key(&atx.id), "an ATX inserted twice");
        let at = u32::try_from(self.atxs.len()).expect("fewer than 2^32 ATXs an epoch");
        self.atxs.push(atx);
        let atxs = &self.atxs;
        self.index.insert(at, |p| atxs[p as usize].id);
    }

    /// Every ATX, in the order added.
    pub(super) fn values(&self) -> impl Iterator<Item = &AtxHeader> {
        self.atxs.iter().map(Arc::as_ref)
    }
}

/// What the tortoise knows about one epoch.
#[derive(Debug, Clone, Default)]
pub(super) struct EpochInfo {
    pub(super) atxs: EpochAtxs,
    /// Fixed-point sum of the weights of ATXs of smeshers not known malicious.
    pub(super) weight: Weight,
    /// Median height of those ATXs, computed when the epoch's first layer is processed.
    pub(super) height: u64,
    pub(super) beacon: Option<Beacon>,
}

/// One layer inside the window.
#[derive(Debug, Clone)]
pub(super) struct LayerInfo {
    pub(super) lid: LayerId,
    /// Sorted by [`BlockKey`] (height, then id), unique.
    pub(super) blocks: Vec<BlockInfo>,
    /// `None` while the hare has not terminated; then its output (`Some(None)`: empty).
    pub(super) hare: Option<Option<BlockId>>,
    pub(super) coin: Option<bool>,
    /// Full-mode tally of votes for "no valid block in this layer".
    pub(super) empty: Weight,
    /// Verifying mode: weight of good ballots in this layer and earlier ones (since the last
    /// reset), so that `total_good - good_uncounted` is the good weight voting on the layer.
    pub(super) good_uncounted: Weight,
    /// Verifying mode: the highest block height not above the epoch's median ATX height; a
    /// ballot of a lower ATX height is not good for the next layer.
    pub(super) reference_height: u64,
    /// Local opinion hash, chained (section 8).
    pub(super) opinion: Hash32,
    /// The previous layer's opinion when `opinion` was computed: kept so that the opinion can
    /// be recomputed after the previous layer is evicted.
    pub(super) prev_opinion: Option<Hash32>,
    /// Ballots of this layer, in arrival order.
    pub(super) ballots: Vec<BallotInfo>,
    /// Decoded votes *on* this layer (of ballots in later layers), deduplicated by opinion.
    pub(super) votes: Vec<LayerVote>,
    pub(super) vote_index: BTreeMap<Hash32, u32>,
}

impl LayerInfo {
    pub(super) fn new(lid: LayerId) -> LayerInfo {
        LayerInfo {
            lid,
            blocks: Vec::new(),
            hare: None,
            coin: None,
            empty: 0,
            good_uncounted: 0,
            reference_height: 0,
            opinion: Hash32::default(),
            prev_opinion: None,
            ballots: Vec::new(),
            votes: Vec::new(),
            vote_index: BTreeMap::new(),
        }
    }

    pub(super) fn hare_terminated(&self) -> bool {
        self.hare.is_some()
    }

    /// The hare's vote on `block`: neutral before termination, then for the hare's block only.
    pub(super) fn hare_sign(&self, block: &BlockKey) -> Sign {
        match self.hare {
            None => Sign::Neutral,
            Some(out) => Sign::from_support(out == Some(block.id)),
        }
    }

    pub(super) fn block_index(&self, key: &BlockKey) -> Result<usize, usize> {
        self.blocks.binary_search_by(|b| b.key.cmp(key))
    }
}

/// `layer + dist > last`: the layer is still close enough to the last layer that the hare's
/// output, not the tortoise's validity, decides the local vote (go-spacemesh `withinDistance`).
pub(super) fn within_distance(dist: u32, layer: LayerId, last: LayerId) -> bool {
    u64::from(layer.0) + u64::from(dist) > u64::from(last.0)
}

/// The median of `heights` (mean of the two middle ones for an even count; 0 when empty).
pub(super) fn median(mut heights: Vec<u64>) -> u64 {
    if heights.is_empty() {
        return 0;
    }
    heights.sort_unstable();
    let mid = heights.len() / 2;
    if heights.len().is_multiple_of(2) {
        // Average without overflow.
        let (a, b) = (heights[mid - 1], heights[mid]);
        a / 2 + b / 2 + (a % 2 + b % 2) / 2
    } else {
        heights[mid]
    }
}

/// The ballot at `r` in the window `layers` (which starts after `evicted`); panics outside it.
pub(super) fn ballot_in(
    layers: &VecDeque<LayerInfo>,
    evicted: LayerId,
    r: BallotRef,
) -> &BallotInfo {
    let i = r.layer.0.checked_sub(evicted.0 + 1).expect("a ballot inside the window");
    &layers[i as usize].ballots[r.index as usize]
}

impl Tortoise {
    /// The layer, if it is inside the window and created.
    pub(super) fn layer(&self, lid: LayerId) -> Option<&LayerInfo> {
        let i = lid.0.checked_sub(self.evicted.0.checked_add(1)?)?;
        self.layers.get(i as usize)
    }

    pub(super) fn layer_mut(&mut self, lid: LayerId) -> Option<&mut LayerInfo> {
        let i = lid.0.checked_sub(self.evicted.0.checked_add(1)?)?;
        self.layers.get_mut(i as usize)
    }

    /// The layer, created (with every layer below it) when missing. Panics for an evicted
    /// layer: callers check the window first.
    pub(super) fn ensure_layer(&mut self, lid: LayerId) -> &mut LayerInfo {
        assert!(lid > self.evicted, "{lid} is evicted (evicted up to {})", self.evicted);
        let i = (lid.0 - self.evicted.0 - 1) as usize;
        while self.layers.len() <= i {
            let next = LayerId(self.evicted.0 + 1 + self.layers.len() as u32);
            self.layers.push_back(LayerInfo::new(next));
        }
        &mut self.layers[i]
    }

    /// A layer that must exist (a bug otherwise).
    pub(super) fn layer_at(&self, lid: LayerId) -> &LayerInfo {
        self.layer(lid).unwrap_or_else(|| panic!("{lid} is not in the window"))
    }

    pub(super) fn layer_at_mut(&mut self, lid: LayerId) -> &mut LayerInfo {
        self.layer_mut(lid).unwrap_or_else(|| panic!("{lid} is not in the window"))
    }

    pub(super) fn ballot(&self, r: BallotRef) -> &BallotInfo {
        ballot_in(&self.layers, self.evicted, r)
    }

    /// Where the ballot `id` is stored, if it is.
    pub(super) fn find_ballot(&self, id: &BallotId) -> Option<BallotRef> {
        self.ballot_index.find(id, |r| self.ballot(r).header.id == *id)
    }

    pub(super) fn ballot_mut(&mut self, r: BallotRef) -> &mut BallotInfo {
        &mut self.layer_at_mut(r.layer).ballots[r.index as usize]
    }

    /// The refs of every ballot of `lid` (empty outside the window).
    pub(super) fn ballot_refs(&self, lid: LayerId) -> Vec<BallotRef> {
        let n = self.layer(lid).map_or(0, |l| l.ballots.len());
        (0..n as u32).map(|index| BallotRef { layer: lid, index }).collect()
    }

    /// Whether `lid` may take inputs: inside the window and not too far ahead of the last
    /// layer (the bound that keeps the layer deque finite).
    pub(super) fn accepts_layer(&self, lid: LayerId) -> bool {
        lid > self.evicted && lid.0 <= self.last.0.saturating_add(self.cfg.window)
    }

    /// Adds a block named by `key` (or marks it available when `data`), keeping the layer's
    /// reference height, the full-mode margins and (for the hare's block within hdist) the
    /// local opinion up to date. `against` sets its validity for blocks first seen in votes
    /// beyond hdist (go-spacemesh `storeBallot`).
    pub(super) fn add_block(&mut self, lid: LayerId, key: BlockKey, data: bool, against: bool) {
        if lid <= self.processed {
            // A new block (or its data) in a processed layer changes what `updates` reports.
            self.mark_pending(lid);
        }
        let layer = self.ensure_layer(lid);
        let at = match layer.block_index(&key) {
            Ok(i) => {
                layer.blocks[i].data |= data;
                return;
            }
            Err(at) => at,
        };
        let validity = if against { Sign::Against } else { Sign::Neutral };
        layer.blocks.insert(at, BlockInfo { key, validity, margin: 0, data });
        let hare_block = layer.hare_sign(&key) == Sign::Support;
        self.update_reference_height(lid, key.height);
        self.count_for_late_block(lid, key);
        if hare_block && lid <= self.processed && within_distance(self.cfg.hdist, lid, self.last) {
            // The hare's block arrived after the hare output: the local opinion now names it.
            self.on_opinion_change(lid, true);
        }
    }

    /// The first reference height below `lid` among layers with blocks (0 when none).
    fn reference_height_below(&self, lid: LayerId) -> u64 {
        let mut l = lid.0;
        while l > self.evicted.0 + 1 {
            l -= 1;
            if let Some(layer) = self.layer(LayerId(l))
                && !layer.blocks.is_empty()
            {
                return layer.reference_height;
            }
        }
        0
    }

    /// Raises the layer's reference height to `height` when it is not above the epoch's
    /// median ATX height (go-spacemesh `updateRefHeight`).
    pub(super) fn update_reference_height(&mut self, lid: LayerId, height: u64) {
        let Some(epoch_height) =
            self.epochs.get(&lid.epoch(self.cfg.layers_per_epoch)).map(|e| e.height)
        else {
            return;
        };
        let below = self.reference_height_below(lid);
        let layer = self.layer_at_mut(lid);
        if layer.reference_height == 0 {
            layer.reference_height = below;
        }
        if height <= epoch_height && height > layer.reference_height {
            layer.reference_height = height;
        }
    }
}

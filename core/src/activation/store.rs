//! What a node knows about ATXs: one header per valid ATX, indexed by id and by
//! (publish epoch, identity), plus the derived values consensus uses (weight, height).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;

use crate::activation::wire::{Address, AtxId};
use crate::codec::Encode;
use crate::crypto::{Signature, Verifier, hash};
use crate::impl_codec_struct;
use crate::lookup::Positions;
use crate::types::{EpochId, Hash32, NodeId, Time};

/// The derived facts of one valid ATX: a function of the ATX and the ATXs it references, the
/// same at every node (when this node received it is kept beside it, in [`AtxStore`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtxHeader {
    /// Its id.
    pub id: AtxId,
    /// The identity.
    pub smesher: NodeId,
    /// Publish epoch (the ATX counts in the next one).
    pub publish_epoch: EpochId,
    /// Sequence in the identity's chain.
    pub sequence: u64,
    /// Where rewards go.
    pub coinbase: Address,
    /// Effective units: `min(previous, this)` for non-initial ATXs.
    pub num_units: u32,
    /// Height of the positioning ATX.
    pub base_height: u64,
    /// PoET ticks: leaves / tick size.
    pub ticks: u64,
    /// `num_units × ticks`.
    pub weight: u64,
    /// The identity's VRF nonce.
    pub vrf_nonce: u64,
    /// The ATX the identity's PoST data commits to.
    pub commitment_atx: AtxId,
    /// The ATX's signature (for double-publish proofs).
    pub signature: Signature,
}
impl_codec_struct!(AtxHeader {
    id,
    smesher,
    publish_epoch,
    sequence,
    coinbase,
    num_units,
    base_height,
    ticks,
    weight,
    vrf_nonce,
    commitment_atx,
    signature
});

impl AtxHeader {
    /// Tick height: `base_height + ticks`.
    pub fn height(&self) -> u64 {
        self.base_height.saturating_add(self.ticks)
    }

    /// The epoch the ATX makes its identity active in.
    pub fn target_epoch(&self) -> EpochId {
        EpochId(self.publish_epoch.0 + 1)
    }
}

#[cfg(test)]
impl AtxHeader {
    /// A header for tests of the parts that use ATXs: ATX `id` of `smesher` published in
    /// `publish_epoch`, weight 10 (one unit, 10 ticks), VRF nonce 5, unsigned.
    pub(crate) fn sample(id: AtxId, smesher: NodeId, publish_epoch: EpochId) -> AtxHeader {
        AtxHeader {
            id,
            smesher,
            publish_epoch,
            sequence: 0,
            coinbase: Address::default(),
            num_units: 1,
            base_height: 0,
            ticks: 10,
            weight: 10,
            vrf_nonce: 5,
            commitment_atx: Hash32::default(),
            signature: Signature([0; 64]),
        }
    }
}

/// The active set of an epoch: ids of the ATXs that count, sorted, with their total weight.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActiveSet {
    /// ATX ids in ascending order.
    pub atxs: Vec<AtxId>,
    /// Sum of their weights.
    pub weight: u64,
}

impl ActiveSet {
    /// `blake3` over the concatenated sorted ids: what a ref ballot declares.
    pub fn hash(&self) -> Hash32 {
        let mut bytes = Vec::with_capacity(self.atxs.len() * 32);
        for id in &self.atxs {
            id.encode_to(&mut bytes);
        }
        hash(&bytes)
    }
}

/// An active set and its hash, computed once: a node compares the hash with every ballot's
/// declared set, and hashing a thousand ids again for each ballot at each node was a
/// thousand-node run's largest use of BLAKE3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedActiveSet {
    set: Arc<ActiveSet>,
    hash: Hash32,
}

impl HashedActiveSet {
    /// `set` with its [`ActiveSet::hash`].
    pub fn new(set: ActiveSet) -> Self {
        let hash = set.hash();
        HashedActiveSet { set: Arc::new(set), hash }
    }

    /// `set` with its hash, in the allocation `verifier` shares for it
    /// ([`Verifier::share_active_set`]).
    pub fn shared(set: ActiveSet, verifier: &dyn Verifier) -> Self {
        let hash = set.hash();
        HashedActiveSet { set: verifier.share_active_set(hash, set), hash }
    }

    /// The set.
    pub fn set(&self) -> &ActiveSet {
        &self.set
    }

    /// Its hash.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }
}

/// Valid ATX headers, and the raw bytes of the recent ones.
#[derive(Debug)]
pub struct AtxStore {
    /// Every stored ATX, in arrival order. Headers are shared: every node keeps every ATX, and
    /// a header is the same everywhere, so a runtime that hosts many nodes may hand them one
    /// allocation (see [`crate::crypto::Verifier::share_atx_header`]).
    cells: Vec<Stored>,
    /// Positions in `cells` by id: looked up for every ballot, proposal, hare and beacon
    /// message, so a hash table, of positions rather than ids (every node keeps a slot per
    /// ATX of the network; a table of ids and cells took 160 B an ATX, this one 10).
    by_id: Positions,
    /// Positions of the first ATX seen of each identity in each publish epoch, by
    /// (publish epoch, identity).
    by_epoch: Positions,
    /// The same positions per publish epoch, in arrival order, for the walks over an epoch.
    epochs: BTreeMap<EpochId, Vec<u32>>,
}

/// A stored header, when this node received the ATX (local clock), and its raw bytes until
/// they are pruned. The bytes, like the header, are an allocation a runtime hosting many nodes
/// may share between them ([`crate::crypto::Verifier::share_atx_raw`]): a handle per node took
/// 32 of this cell's 48 bytes.
#[derive(Debug)]
struct Stored {
    header: Arc<AtxHeader>,
    received: Time,
    raw: Option<Arc<Bytes>>,
}

impl AtxStore {
    /// An empty store whose tables are mixed with `seed` (a per-node secret).
    pub fn new(seed: u64) -> Self {
        AtxStore {
            cells: Vec::new(),
            by_id: Positions::new(seed),
            by_epoch: Positions::new(seed.rotate_left(32)),
            epochs: BTreeMap::new(),
        }
    }

    /// Adds a header. Returns the id already stored for this identity and epoch, if different
    /// (the caller turns that into a malfeasance proof; the first one stays indexed). The raw
    /// bytes come after ([`AtxStore::keep_raw`]); adding a stored id again replaces its cell,
    /// raw bytes included.
    pub fn insert(&mut self, header: Arc<AtxHeader>, received: Time) -> Option<AtxId> {
        let (epoch, smesher, id) = (header.publish_epoch, header.smesher, header.id);
        let first = self.first_of(epoch, &smesher).map(|p| self.cells[p as usize].header.id);
        let cell = Stored { header, received, raw: None };
        match self.position(&id) {
            Some(p) => self.cells[p as usize] = cell,
            None => {
                let p = u32::try_from(self.cells.len()).expect("fewer than 2^32 ATXs");
                self.cells.push(cell);
                let cells = &self.cells;
                self.by_id.insert(p, |q| cells[q as usize].header.id);
                if first.is_none() {
                    self.by_epoch.insert(p, |q| {
                        let h = &cells[q as usize].header;
                        (h.publish_epoch, h.smesher)
                    });
                    self.epochs.entry(epoch).or_default().push(p);
                }
            }
        }
        first.filter(|first| *first != id)
    }

    /// The position of the ATX `id` in `cells`.
    fn position(&self, id: &AtxId) -> Option<u32> {
        self.by_id.find(id, |p| self.cells[p as usize].header.id == *id)
    }

    /// The position of the first ATX seen of `smesher` in publish epoch `epoch`.
    fn first_of(&self, epoch: EpochId, smesher: &NodeId) -> Option<u32> {
        self.by_epoch.find(&(epoch, *smesher), |p| {
            let h = &self.cells[p as usize].header;
            h.publish_epoch == epoch && h.smesher == *smesher
        })
    }

    fn stored(&self, id: &AtxId) -> Option<&Stored> {
        self.position(id).map(|p| &self.cells[p as usize])
    }

    /// A header by id.
    pub fn get(&self, id: &AtxId) -> Option<&AtxHeader> {
        self.stored(id).map(|s| s.header.as_ref())
    }

    /// Keeps the raw bytes of the stored ATX `id` (zero-copy slices of a frame), to serve
    /// fetches and build proofs. Nothing if `id` is not stored.
    pub fn keep_raw(&mut self, id: &AtxId, raw: Arc<Bytes>) {
        if let Some(p) = self.position(id) {
            self.cells[p as usize].raw = Some(raw);
        }
    }

    /// The raw bytes of the ATX `id`, unless not stored or pruned.
    pub fn raw(&self, id: &AtxId) -> Option<&Bytes> {
        self.stored(id).and_then(|s| s.raw.as_deref())
    }

    /// Drops the raw bytes of ATXs published before `oldest` (the headers stay).
    pub fn prune_raw_before(&mut self, oldest: EpochId) {
        for cell in &mut self.cells {
            if cell.header.publish_epoch < oldest {
                cell.raw = None;
            }
        }
    }

    /// When this node received the ATX `id`.
    pub fn received(&self, id: &AtxId) -> Option<Time> {
        self.stored(id).map(|s| s.received)
    }

    /// Whether the id is known.
    pub fn contains(&self, id: &AtxId) -> bool {
        self.position(id).is_some()
    }

    /// The ATX `smesher` published in `epoch` (the first one seen).
    pub fn by_smesher(&self, epoch: EpochId, smesher: &NodeId) -> Option<&AtxHeader> {
        self.first_of(epoch, smesher).map(|p| self.cells[p as usize].header.as_ref())
    }

    /// ATXs published in `epoch` (each identity's first), in the order this node received them.
    pub fn published_in(&self, epoch: EpochId) -> impl Iterator<Item = &AtxHeader> {
        self.epochs
            .get(&epoch)
            .into_iter()
            .flatten()
            .map(|p| self.cells[*p as usize].header.as_ref())
    }

    /// The highest ATX (by tick height, ties by id) published before `epoch`: the positioning
    /// ATX a builder chooses.
    pub fn highest_before(&self, epoch: EpochId) -> Option<&AtxHeader> {
        self.cells
            .iter()
            .map(|c| c.header.as_ref())
            .filter(|h| h.publish_epoch < epoch)
            .max_by(|a, b| a.height().cmp(&b.height()).then(b.id.cmp(&a.id)))
    }

    /// The active set of `target`: ATXs published in `target − 1`, received by `cutoff`, of
    /// identities not in `malicious`.
    pub fn active_set(
        &self,
        target: EpochId,
        cutoff: Time,
        malicious: &BTreeSet<NodeId>,
    ) -> ActiveSet {
        let Some(publish) = target.0.checked_sub(1) else { return ActiveSet::default() };
        let mut set = ActiveSet::default();
        for h in self.published_in(EpochId(publish)) {
            let received = self.received(&h.id).expect("a published ATX is stored");
            if received <= cutoff && !malicious.contains(&h.smesher) {
                set.atxs.push(h.id);
                set.weight = set.weight.saturating_add(h.weight);
            }
        }
        set.atxs.sort();
        // Kept for the epoch (and compared by hash): no growth slack.
        set.atxs.shrink_to_fit();
        set
    }

    /// Whether the receipt times this node graded `target`'s ATXs by can be trusted, given the
    /// active set `on_time` that [`AtxStore::active_set`] made with `malicious`: not when more
    /// than `100 − good_percent` percent of the epoch's honest ATXs (by count) missed the
    /// cutoff. A node that was not listening while they were published (down, restarted,
    /// joining) holds them with the time it fetched them, not the time the network saw them,
    /// and would freeze an active set (nearly) nobody else declares, refuse every peer's ref
    /// ballot and so every ballot built on them. go-spacemesh's proposal builder
    /// (`generateActiveSet`, `MinerGoodAtxsPercent`, 90 by default) drops such a set the
    /// same way and takes the set its peers declared.
    pub fn grades_usable(
        &self,
        target: EpochId,
        on_time: &ActiveSet,
        malicious: &BTreeSet<NodeId>,
        good_percent: u32,
    ) -> bool {
        let Some(publish) = target.0.checked_sub(1) else { return true };
        let total =
            self.published_in(EpochId(publish)).filter(|h| !malicious.contains(&h.smesher)).count();
        let omitted = total.saturating_sub(on_time.atxs.len()) as u64;
        let allowed = u64::from(100u32.saturating_sub(good_percent.min(100)));
        total == 0 || omitted * 100 <= allowed * total as u64
    }

    /// Number of stored ATXs.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Every header, in id order (for listings and checks; it sorts them first).
    pub fn iter(&self) -> impl Iterator<Item = &AtxHeader> {
        let mut headers: Vec<&AtxHeader> = self.cells.iter().map(|c| c.header.as_ref()).collect();
        headers.sort_unstable_by_key(|h| h.id);
        headers.into_iter()
    }

    /// Panics if the indexes disagree.
    pub fn check_invariants(&self) {
        assert_eq!(self.by_id.len(), self.cells.len(), "id table and cells disagree");
        let firsts: usize = self.epochs.values().map(Vec::len).sum();
        assert_eq!(self.by_epoch.len(), firsts, "epoch table and lists disagree");
        for (i, cell) in self.cells.iter().enumerate() {
            let h = &cell.header;
            assert_eq!(self.position(&h.id), Some(i as u32), "id table points elsewhere");
            let first = self.first_of(h.publish_epoch, &h.smesher).expect("identity indexed");
            assert!(first as usize <= i, "a later ATX indexed as the first");
        }
        for (epoch, list) in &self.epochs {
            for p in list {
                let h = &self.cells[*p as usize].header;
                assert_eq!(h.publish_epoch, *epoch, "epoch list mismatch");
                assert_eq!(self.first_of(*epoch, &h.smesher), Some(*p), "epoch table mismatch");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores a header received at `received` (the store's answer to the insert).
    fn put(s: &mut AtxStore, (header, received): (AtxHeader, u64)) -> Option<AtxId> {
        s.insert(Arc::new(header), Time(received))
    }

    fn header(id: u8, smesher: u8, epoch: u32, weight: u64, received: u64) -> (AtxHeader, u64) {
        let h = AtxHeader {
            id: Hash32([id; 32]),
            smesher: NodeId([smesher; 32]),
            publish_epoch: EpochId(epoch),
            sequence: 0,
            coinbase: Address::default(),
            num_units: 1,
            base_height: u64::from(id),
            ticks: weight,
            weight,
            vrf_nonce: 0,
            commitment_atx: Hash32::default(),
            signature: Signature([0; 64]),
        };
        (h, received)
    }

    /// Raw bytes are kept for stored ATXs only, and pruning by epoch drops them (an identity's
    /// second ATX too) while the headers stay.
    #[test]
    fn raw_bytes_kept_then_pruned_by_epoch() {
        let mut s = AtxStore::new(0);
        let raw = |n: u8| Bytes::from(vec![n; 3]);
        s.keep_raw(&Hash32([9; 32]), Arc::new(raw(9)));
        assert_eq!(s.raw(&Hash32([9; 32])), None, "not stored, not kept");
        for (id, smesher, epoch) in [(1, 1, 1), (2, 1, 1), (3, 2, 2), (4, 3, 3)] {
            put(&mut s, header(id, smesher, epoch, 1, 0));
            s.keep_raw(&Hash32([id; 32]), Arc::new(raw(id)));
        }
        s.prune_raw_before(EpochId(2));
        assert_eq!(s.raw(&Hash32([1; 32])), None);
        assert_eq!(s.raw(&Hash32([2; 32])), None, "the second ATX of an epoch is pruned too");
        assert_eq!(s.raw(&Hash32([3; 32])), Some(&raw(3)));
        assert_eq!(s.raw(&Hash32([4; 32])), Some(&raw(4)));
        assert!(s.get(&Hash32([1; 32])).is_some() && s.get(&Hash32([2; 32])).is_some());
        s.prune_raw_before(EpochId(4));
        assert_eq!(s.raw(&Hash32([4; 32])), None);
        s.check_invariants();
    }

    /// A second ATX of one identity in one epoch is reported; the active set counts the
    /// on-time, honest ATXs of the epoch before the target.
    #[test]
    fn double_publish_and_active_set() {
        let mut s = AtxStore::new(0);
        assert_eq!(put(&mut s, header(1, 1, 1, 10, 5)), None);
        assert_eq!(put(&mut s, header(2, 2, 1, 20, 50)), None);
        assert_eq!(put(&mut s, header(3, 1, 1, 30, 6)), Some(Hash32([1; 32])));
        assert_eq!(put(&mut s, header(4, 3, 2, 5, 5)), None);
        s.check_invariants();
        let none = BTreeSet::new();
        let set = s.active_set(EpochId(2), Time(10), &none);
        assert_eq!(set.atxs, vec![Hash32([1; 32])]);
        assert_eq!(set.weight, 10);
        let all = s.active_set(EpochId(2), Time(100), &none);
        assert_eq!(all.weight, 30);
        let bad: BTreeSet<NodeId> = [NodeId([1; 32])].into();
        assert_eq!(s.active_set(EpochId(2), Time(100), &bad).weight, 20);
        assert_eq!(s.highest_before(EpochId(2)).map(|h| h.id), Some(Hash32([3; 32])));
        assert_ne!(set.hash(), all.hash());
    }

    /// Grades are trusted while at most `100 − good_percent` percent of the epoch's honest
    /// ATXs missed the cutoff. A node restarted just before the cutoff re-fetches every ATX
    /// after it: its graded set holds only the ATXs it received in time (here one of four),
    /// which its peers do not declare, so it must not use it (crash-restart seed 3: node 24
    /// froze a one-ATX set for epoch 2, refused every peer's ballot and never verified again).
    #[test]
    fn grades_unusable_when_most_atxs_missed_the_cutoff() {
        let mut s = AtxStore::new(0);
        for (i, received) in [(1u8, 5u64), (2, 6), (3, 7), (4, 8)] {
            assert_eq!(put(&mut s, header(i, i, 1, 10, received)), None);
        }
        let none = BTreeSet::new();
        let all = s.active_set(EpochId(2), Time(10), &none);
        assert!(s.grades_usable(EpochId(2), &all, &none, 90));
        // One of four late (25%): too many for 90% good, fine for 70%.
        let three = s.active_set(EpochId(2), Time(7), &none);
        assert_eq!(three.atxs.len(), 3);
        assert!(!s.grades_usable(EpochId(2), &three, &none, 90));
        assert!(s.grades_usable(EpochId(2), &three, &none, 70));
        // Restarted just before the cutoff: only its own ATX (re-published) is on time.
        let own = s.active_set(EpochId(2), Time(5), &none);
        assert_eq!(own.atxs.len(), 1);
        assert!(!s.grades_usable(EpochId(2), &own, &none, 90));
        // Malicious identities count neither way; an epoch without ATXs has nothing to judge.
        let bad: BTreeSet<NodeId> = [2u8, 3, 4].into_iter().map(|i| NodeId([i; 32])).collect();
        let honest = s.active_set(EpochId(2), Time(5), &bad);
        assert!(s.grades_usable(EpochId(2), &honest, &bad, 90));
        assert!(s.grades_usable(EpochId(3), &ActiveSet::default(), &none, 90));
    }
}

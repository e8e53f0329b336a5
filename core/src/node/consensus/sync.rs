//! Sync: how a node that was down, crashed or joins late catches up with its peers.
//!
//! A node is *synced* when it holds the ATXs it was told about and the ballots of every layer
//! up to the previous one. A node that starts after the first layer
//! with ballots (or restarts) is not synced; until it is, it neither votes, nor joins hare
//! sessions, nor certifies. Every [`SYNC_INTERVAL`] it:
//! 1. asks peers for the ATX ids of every epoch (`Hint::EpochAtxs`) and fetches the ATXs
//!    it lacks by id; they are validated exactly as from gossip (dependencies and PoET proofs
//!    are fetched by the ATX handler);
//! 2. asks for the ballot ids of each layer in order, at most [`LAYERS_IN_FLIGHT`] layers at a
//!    time (`Hint::LayerBallots`), and fetches the ballots it lacks (`Hint::Ballot`); a layer is
//!    done when it holds them all or after [`LAYER_ATTEMPTS`] rounds (ballots that cannot be
//!    validated, for example of identities proven malicious);
//! 3. tallies the layers done and applies the updates;
//! 4. once the layers are done, asks for the certificates of the last `hdist` layers
//!    (`Hint::Certificate`; validated against the epoch's committee, a certificate counts as
//!    the hare's output, which the node missed) and for the identities with malfeasance proofs
//!    (`Hint::MaliciousIds`), whose proofs it fetches and verifies like gossiped ones.
//!
//! Each list of ids (an epoch's ATXs, a layer's ballots) is asked of [`LIST_PEERS`] different
//! peers in turn and their answers are merged (a [`Listing`]); fewer if no other peer is
//! connected. One peer's list can be short without any fault of its own: another node that
//! is still syncing serves only what it holds so far, and a node counting itself synced on
//! such a list tallies layers without the ballots of the ATXs it never heard of.
//! go-spacemesh's ATX sync likewise asks two peers per epoch (`EpochInfoPeers`).
//!
//! Each ref ballot is judged by the active set it declares (as in go-spacemesh): this node's
//! own, or another set fetched by hash (`Hint::ActiveSet`, content-addressed, so a peer can
//! only answer with the set that was declared) once every ATX in it is known and targets the
//! epoch, while the ballot waits. So nodes that froze different sets (the halves of a network
//! split while the epoch's ATXs were published) still count each other's ballots; a declared
//! set that weighs less than half of the node's own is refused (it would give its declarers
//! more slots than their weight), and at most [`DECLARED_SETS_MAX`] other sets are kept.
//!
//! The node's own set is what its own ballots declare and what its hare and certify
//! committees are drawn from. An epoch whose active set was frozen while the node was not
//! synced, or with more than `100 − good_atx_percent` percent of its ATXs received after the
//! cutoff by a node that was not up for the whole epoch they were published in (a node
//! restarted shortly before the epoch re-fetches them all then), is *ungraded*: the node did
//! not see when its ATXs arrived. (A node up all along saw them arrive: ATXs it received late
//! were late for everyone, published late on purpose, say, and its graded set stands.) An
//! ungraded epoch's own set becomes the first set a peer's ref ballot declares, or stays its
//! own if a peer's ref ballot declares that one. Until then the node publishes no ballot of
//! the epoch; go-spacemesh's proposal builder likewise takes the set its peers declared in the
//! epoch's first block. Grades can also be usable and still differ from every peer's (its own
//! ATX, published while no peer heard it, is on time only here): a graded epoch's own set is
//! replaced by a set that ref ballots of more than half of the epoch's ATX weight declare.
//!
//! A synced node also lists the ATXs of the current epoch from [`LIST_PEERS`] peers once, at
//! [`EPOCH_END_PERCENT`] of the epoch (go-spacemesh's background ATX sync past its
//! `EpochEndFraction`): ATXs that gossip never brought it (published behind a split, a lost
//! copy) still arrive before the next active set is frozen. An ATX counts as received when it
//! arrived, not when its proofs were checked. And a synced node that had to fetch a ballot of a
//! past layer relists the layers from there with the peer that served it (`fork.rs`).
//!
//! Being synced is about data, not agreement: a node that holds every layer's ballots keeps
//! voting even while its tortoise cannot verify (behind a partition its votes are what heals
//! the split). A synced node whose last verified layer falls more than [`LAG_MAX`] layers
//! behind syncs again (it may have missed ballots that gossip no longer carries), at most once
//! per `LAG_MAX` layers. Each change of status is reported as [`ConsensusEvent::Sync`].
//!
//! Fetch requests go through the node's [`crate::fetch::Fetcher`] (batching, timeouts, retries
//! on other peers).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;

use super::fork::Relist;
use super::{Consensus, ConsensusEvent, ConsensusOutput};
use crate::activation::store::{ActiveSet, HashedActiveSet};
use crate::activation::wire::AtxId;
use crate::ballot::handler::BallotReject;
use crate::ballot::wire::Proposal;
use crate::certifier::{CERTIFY_ROUND, Certificate, validate};
use crate::codec::{BoundedVec, Decode, DecodeError, Encode, Reader, decode_shared};
use crate::fetch::Hint;
use crate::types::{BallotId, EpochId, Hash32, LayerId, NodeId, PeerId, Time};

/// How often an unsynced node asks for more.
pub(super) const SYNC_INTERVAL: Duration = Duration::from_secs(2);
/// Layers asked for at once.
pub(super) const LAYERS_IN_FLIGHT: u32 = 8;
/// Rounds a layer is asked for before the ballots still missing are given up.
pub(super) const LAYER_ATTEMPTS: u32 = 4;
/// Layers a synced node's verified layer may fall behind the current layer before it syncs
/// again (two epochs at sim scale).
pub(super) const LAG_MAX: u32 = 16;
/// Peers whose lists of ids are merged (see [`Listing`]).
pub(super) const LIST_PEERS: usize = 2;
/// How far into an epoch a synced node lists the epoch's ATXs, in percent.
pub(super) const EPOCH_END_PERCENT: u32 = 80;
/// Most active sets other than its own a node fetches and keeps (see
/// [`SyncState::set_weight`]): one per distinct declaration, which takes an identity with an
/// ATX of the epoch to make.
pub(super) const DECLARED_SETS_MAX: usize = 16;
/// Most ids in one served list (ATXs of an epoch, ballots of a layer, an active set).
pub const IDS_MAX: usize = 16 * 1024;

/// A list of ids as served to syncing peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdList<T>(pub BoundedVec<T, IDS_MAX>);

impl<T: Encode> Encode for IdList<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl<T: Decode> Decode for IdList<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(IdList(Decode::decode(r)?))
    }
}

/// The sync state of a node.
#[derive(Debug, Default)]
pub(super) struct SyncState {
    /// Whether the node is synced.
    pub(super) synced: bool,
    /// The status last reported (`None`: never).
    pub(super) reported: Option<bool>,
    /// When to ask for more next.
    next: Time,
    /// Epochs whose ATX ids were asked for, and who answered.
    epochs: BTreeMap<EpochId, Listing>,
    /// Layers being synced: ballot ids once known, and rounds asked.
    layers: BTreeMap<LayerId, LayerSync>,
    /// Every layer up to this one is done.
    pub(super) done: LayerId,
    /// Epochs whose active set was frozen while not synced.
    pub(super) ungraded: BTreeSet<EpochId>,
    /// When this process started. A node up since before an epoch's ATXs were published heard
    /// each of them when the network did, so its grades stand however many missed the cutoff.
    pub(super) started: Time,
    /// Active sets asked for by hash, by the epoch of the ref ballot that declared them: their
    /// ids once fetched, while their ATXs are not all known. Pruned with the epoch, so that a
    /// set that never resolves (ATXs that never arrive) does not hold a place for good.
    pending_sets: BTreeMap<Hash32, (EpochId, Option<Vec<AtxId>>)>,
    /// Active sets peers' ref ballots declared in place of this node's, fetched and with every
    /// ATX known: what those ballots are validated against. At most [`DECLARED_SETS_MAX`],
    /// for the epochs whose own sets are kept.
    declared_sets: BTreeMap<Hash32, (EpochId, HashedActiveSet)>,
    /// Layers whose certificate was asked for (within `hdist` of the current layer), and
    /// whether the node was synced then (it missed the layer's hare output).
    certificates_asked: BTreeMap<LayerId, bool>,
    /// The last layer at whose start a synced node looked for missed hare outputs.
    certificates_checked: LayerId,
    /// Whether the malicious identities were asked for.
    malicious_asked: bool,
    /// When the node last fell behind and synced again.
    resynced: Option<LayerId>,
    /// Layers up to this one must be synced before the node is (set when an active set is
    /// adopted: ballots of its epoch refused before were lost to gossip).
    until: LayerId,
    /// Ref ballots of graded epochs that declared another active set than this node's: per
    /// (epoch, smesher), the first set hash the smesher declared and its ATX weight. At most
    /// one entry per ATX of the epoch, for the current and previous epochs.
    declared: BTreeMap<(EpochId, NodeId), (Hash32, u64)>,
    /// The last epoch whose ATXs a synced node listed (see `sync_epoch_atxs`).
    atxs_listed: Option<EpochId>,
    /// Past layers asked of peers that showed this node missed ballots (`fork.rs`).
    pub(super) relist: Relist,
}

impl SyncState {
    /// The weight of the active set with `hash` that a ref ballot of `epoch` declares: this
    /// node's own set (`own`), or a set declared in its place and fetched. A declared set that
    /// weighs less than half of `own` is refused: its declarers would draw more slots than the
    /// network's weight gives them (go-spacemesh bounds the same with a configured minimum).
    pub(super) fn set_weight(
        &self,
        own: Option<&HashedActiveSet>,
        epoch: EpochId,
        hash: &Hash32,
    ) -> Result<u64, BallotReject> {
        if let Some(own) = own
            && own.hash() == *hash
        {
            return Ok(own.set().weight);
        }
        let Some((_, set)) = self.declared_sets.get(hash).filter(|(e, _)| *e == epoch) else {
            return Err(BallotReject::UnknownActiveSet);
        };
        let weight = set.set().weight;
        if own.is_some_and(|own| u128::from(weight) * 2 < u128::from(own.set().weight)) {
            return Err(BallotReject::LightActiveSet);
        }
        Ok(weight)
    }

    /// The layers whose certificate was asked for, within `hdist` of the current layer.
    #[cfg(test)]
    pub(super) fn certificates_asked(&self) -> Vec<u32> {
        self.certificates_asked.keys().map(|l| l.0).collect()
    }

    /// Forgets the declared sets of epochs before `oldest`, fetched or still pending.
    pub(super) fn prune_declared_sets(&mut self, oldest: EpochId) {
        self.declared_sets.retain(|_, (e, _)| *e >= oldest);
        self.pending_sets.retain(|_, (e, _)| *e >= oldest);
    }

    /// Checks the bounds of what sync keeps.
    pub(super) fn check_invariants(&self) {
        assert!(self.declared_sets.len() <= DECLARED_SETS_MAX, "declared sets are bounded");
        assert!(self.pending_sets.len() <= DECLARED_SETS_MAX, "pending sets are bounded");
        self.relist.check_invariants();
    }
}

#[derive(Debug, Default)]
struct LayerSync {
    /// The ballot ids peers listed (merged).
    ids: BTreeSet<BallotId>,
    /// Who listed them.
    listing: Listing,
    rounds: u32,
}

/// One list of ids asked of several peers in turn, one at a time: complete once
/// [`LIST_PEERS`] peers answered, or once at least one did and no other peer could be asked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Listing {
    /// The peers that answered.
    from: Vec<PeerId>,
    /// A request is out.
    asked: bool,
    /// A request for another peer failed after an answer: no other peer to ask.
    exhausted: bool,
}

impl Listing {
    /// Whether the merged answers are the list.
    fn complete(&self) -> bool {
        self.from.len() >= LIST_PEERS || (self.exhausted && !self.from.is_empty())
    }

    /// The peers to skip when asking again, if the list should be asked for now.
    fn ask(&mut self) -> Option<Vec<PeerId>> {
        if self.complete() || self.asked {
            return None;
        }
        self.asked = true;
        Some(self.from.clone())
    }

    /// `peer` answered.
    fn answered(&mut self, peer: PeerId) {
        self.asked = false;
        if !self.from.contains(&peer) {
            self.from.push(peer);
        }
    }

    /// The request failed on every peer tried.
    fn failed(&mut self) {
        self.asked = false;
        self.exhausted = !self.from.is_empty();
    }
}

/// A layer or epoch number as a fetch hash.
pub(super) fn number_key(n: u32) -> Hash32 {
    let mut h = [0u8; 32];
    h[..4].copy_from_slice(&n.to_be_bytes());
    Hash32(h)
}

fn key_number(hash: &Hash32) -> u32 {
    u32::from_be_bytes(hash.0[..4].try_into().expect("4 bytes"))
}

impl Consensus {
    /// Decides at start (or restart) whether this node must sync: a node that starts after
    /// the first layer has missed gossip (ATXs at least) and must.
    pub(super) fn start_sync(&mut self, now: Time) {
        let clock = self.cfg.clock;
        self.sync.started = now;
        self.sync.synced = now < clock.layer_start(LayerId(1));
        self.sync.done = clock.effective_genesis();
        self.sync.next = now;
        self.report_sync(now);
    }

    fn report_sync(&mut self, now: Time) {
        if self.sync.reported == Some(self.sync.synced) {
            return;
        }
        self.sync.reported = Some(self.sync.synced);
        self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Sync {
            synced: self.sync.synced,
            layer: self.cfg.clock.layer_at(now),
            applied: self.mesh.applied(),
        }));
    }

    /// When sync wants a tick.
    pub(super) fn sync_timeout(&self) -> Option<Time> {
        (!self.sync.synced).then_some(self.sync.next)
    }

    /// Asks for what is missing, tallies what arrived and updates the status.
    pub(super) fn tick_sync(&mut self, now: Time) {
        let clock = self.cfg.clock;
        let current = clock.layer_at(now);
        if self.sync.synced {
            self.sync_epoch_atxs(now);
            self.sync_certificates(current);
            let behind = current.0.saturating_sub(self.tortoise.latest_verified().0);
            let quiet = self.sync.resynced.is_none_or(|l| current.0 >= l.0 + LAG_MAX);
            if current.0 > clock.effective_genesis().0 + LAG_MAX && behind > LAG_MAX && quiet {
                self.sync.resynced = Some(current);
                self.sync.synced = false;
                self.sync.done = self.mesh.applied().min(self.tortoise.latest_verified());
                self.sync.layers.clear();
                self.sync.next = now;
                self.report_sync(now);
            }
            return;
        }
        if now < self.sync.next {
            return;
        }
        self.sync.next = now + SYNC_INTERVAL;
        for e in 0..=clock.epoch_of(current).0 {
            if let Some(skip) = self.sync.epochs.entry(EpochId(e)).or_default().ask() {
                self.fetcher.want_besides(Hint::EpochAtxs, number_key(e), skip);
            }
        }
        self.retry_active_sets(now);
        // Layers once the ATXs are in: the tortoise takes an epoch's ATX heights when it
        // processes the epoch's first layer.
        if self.sync.epochs.values().any(|l| !l.complete()) || self.atxs.pending() > 0 {
            return;
        }
        // Layers: mark the done ones, ask for the rest.
        let last = LayerId(current.0.saturating_sub(1));
        let mut l = LayerId(self.sync.done.0 + 1);
        let end = LayerId((self.sync.done.0 + LAYERS_IN_FLIGHT).min(last.0));
        while l <= end {
            let held = |id: &BallotId| self.ballots.raw(id).is_some();
            let state = self.sync.layers.entry(l).or_default();
            let listed = state.listing.complete();
            if listed && (state.ids.iter().all(held) || state.rounds >= LAYER_ATTEMPTS) {
                if l.0 == self.sync.done.0 + 1 {
                    self.sync.done = l;
                    self.sync.layers.remove(&l);
                }
            } else {
                state.rounds += 1;
                let missing: Vec<BallotId> =
                    state.ids.iter().filter(|id| !held(id)).copied().collect();
                if let Some(skip) = state.listing.ask() {
                    self.fetcher.want_besides(Hint::LayerBallots, number_key(l.0), skip);
                }
                for id in missing {
                    self.fetcher.want(Hint::Ballot, super::mesh::ballot_key(&id), None);
                }
            }
            l = LayerId(l.0 + 1);
        }
        if self.sync.done > clock.effective_genesis() {
            self.tally_layers(self.sync.done);
        }
        if self.sync.done >= last.max(self.sync.until) {
            let hdist = self.cfg.tortoise.hdist;
            let from = LayerId(last.0.saturating_sub(hdist).max(clock.effective_genesis().0 + 1));
            for l in from.0..=last.0 {
                let layer = LayerId(l);
                if !self.hare_blocks.contains_key(&layer)
                    && !self.sync.certificates_asked.contains_key(&layer)
                {
                    self.sync.certificates_asked.insert(layer, false);
                    self.fetcher.want(Hint::Certificate, number_key(l), None);
                }
            }
            if !self.sync.malicious_asked {
                self.sync.malicious_asked = true;
                self.fetcher.want(Hint::MaliciousIds, Hash32::default(), None);
            }
        }
        if self.sync.done >= last.max(self.sync.until) {
            self.sync.synced = true;
            crate::coverage::mark(crate::coverage::SYNC_CATCH_UP);
            self.sync.layers.clear();
            self.report_sync(now);
        }
    }

    /// A synced node lists the ATXs of the current epoch from [`LIST_PEERS`] peers once, at
    /// [`EPOCH_END_PERCENT`] of the epoch: ATXs gossip never brought (a split, a lost copy)
    /// still arrive before the next active set is frozen. go-spacemesh's syncer does the same
    /// past its `EpochEndFraction`.
    fn sync_epoch_atxs(&mut self, now: Time) {
        let clock = self.cfg.clock;
        let epoch = clock.epoch_at(now);
        let at = clock.epoch_start(epoch) + clock.epoch_duration() * EPOCH_END_PERCENT / 100;
        if now < at || self.sync.atxs_listed.is_some_and(|e| e >= epoch) {
            return;
        }
        self.sync.atxs_listed = Some(epoch);
        let listing = self.sync.epochs.entry(epoch).or_default();
        *listing = Listing::default();
        if let Some(skip) = listing.ask() {
            self.fetcher.want_besides(Hint::EpochAtxs, number_key(epoch.0), skip);
        }
    }

    /// A synced node asks peers for the certificate of each layer within `hdist` whose hare
    /// output it does not hold although the certificate is due (the layer ended a layer ago):
    /// its session could not run (the epoch's beacon or active set came late) or it lost the
    /// certify messages. Without it, its ballots vote against the layer's block until the layer
    /// leaves `hdist`. go-spacemesh's state syncer likewise fetches the certificate of a layer
    /// it has none for. Once per layer, and once per layer asked; a layer of an epoch whose
    /// committee is not known yet is asked once it is (a certificate cannot be checked before).
    fn sync_certificates(&mut self, current: LayerId) {
        if current <= self.sync.certificates_checked {
            return;
        }
        self.sync.certificates_checked = current;
        let genesis = self.cfg.clock.effective_genesis();
        let from = LayerId(current.0.saturating_sub(self.cfg.tortoise.hdist).max(genesis.0 + 1));
        self.sync.certificates_asked = self.sync.certificates_asked.split_off(&from);
        for l in from.0..current.0.saturating_sub(1) {
            let layer = LayerId(l);
            if self.hare_blocks.contains_key(&layer)
                || self.sync.certificates_asked.contains_key(&layer)
            {
                continue;
            }
            if self.committee(self.cfg.clock.epoch_of(layer)).is_none() {
                continue;
            }
            self.sync.certificates_asked.insert(layer, true);
            self.fetcher.want(Hint::Certificate, number_key(l), None);
        }
    }

    /// The ATX ids of an epoch from a peer: fetch the unknown ones, and ask another peer until
    /// the list is complete.
    pub(super) fn on_epoch_atxs(&mut self, hash: &Hash32, data: &Bytes, peer: PeerId) -> bool {
        let Ok(IdList(ids)) = decode_shared::<IdList<AtxId>>(data) else { return false };
        let listing = self.sync.epochs.entry(EpochId(key_number(hash))).or_default();
        listing.answered(peer);
        if let Some(skip) = listing.ask() {
            self.fetcher.want_besides(Hint::EpochAtxs, *hash, skip);
        }
        for id in ids.iter() {
            if self.atxs.store().get(id).is_none() && self.atxs.raw(id).is_none() {
                self.fetcher.want(Hint::Atx, *id, Some(peer));
            }
        }
        true
    }

    /// A certificate from a peer: valid for its epoch's committee, it stands for the hare
    /// output this node missed. `false`: the peer served something invalid.
    pub(super) fn on_certificate(&mut self, data: &Bytes, peer: crate::types::PeerId) -> bool {
        let Ok(cert) = decode_shared::<Certificate>(data) else { return false };
        let epoch = self.cfg.clock.epoch_of(cert.layer);
        let Some(committee) = self.committee(epoch) else { return true };
        let sortition =
            committee.sortition(cert.layer, CERTIFY_ROUND, self.cfg.certifier.committee_size);
        let valid = validate(
            &cert,
            &self.cfg.certifier,
            &self.genesis,
            &sortition,
            |n| committee.weights.get(n).copied(),
            self.verifier.as_ref(),
        );
        if valid.is_err() {
            return false;
        }
        if self.sync.certificates_asked.get(&cert.layer) == Some(&true) {
            crate::coverage::mark(crate::coverage::MISSED_HARE_CERTIFIED);
        }
        self.hare_block(cert.layer, Some(cert.block));
        if !self.block_data.contains_key(&(cert.layer, cert.block)) {
            self.fetcher.want(Hint::Block, super::mesh::block_key(&cert.block), Some(peer));
        }
        true
    }

    /// The identities a peer holds malfeasance proofs for: fetch the unknown ones' proofs.
    pub(super) fn on_malicious_ids(&mut self, data: &Bytes, peer: crate::types::PeerId) -> bool {
        let Ok(IdList(ids)) = decode_shared::<IdList<NodeId>>(data) else { return false };
        for id in ids.iter() {
            if !self.malicious.contains(id) {
                self.fetcher.want(Hint::Malfeasance, Hash32(id.0), Some(peer));
            }
        }
        true
    }

    /// No peer answered a sync request: ask again on a later round.
    pub(super) fn on_sync_fetch_failed(&mut self, hint: Hint, hash: &Hash32) {
        match hint {
            Hint::EpochAtxs => {
                if let Some(listing) = self.sync.epochs.get_mut(&EpochId(key_number(hash))) {
                    listing.failed();
                }
            }
            Hint::LayerBallots => {
                let layer = LayerId(key_number(hash));
                self.sync.relist.answered(layer);
                if let Some(state) = self.sync.layers.get_mut(&layer) {
                    state.listing.failed();
                }
            }
            Hint::MaliciousIds => self.sync.malicious_asked = false,
            // The ballots that waited for the set are dropped (wanted again if they come again).
            Hint::ActiveSet => {
                self.sync.pending_sets.remove(hash);
                self.waiting.take(&(Hint::ActiveSet, *hash));
            }
            _ => {}
        }
    }

    /// The ballot ids of a layer from a peer: merged with other peers' lists, the missing
    /// ballots fetched, and another peer asked until the list is complete.
    pub(super) fn on_layer_ballots(&mut self, hash: &Hash32, data: &Bytes, peer: PeerId) -> bool {
        let Ok(IdList(ids)) = decode_shared::<IdList<BallotId>>(data) else { return false };
        let layer = LayerId(key_number(hash));
        let relisted = self.sync.relist.answered(layer);
        if let Some(state) = self.sync.layers.get_mut(&layer) {
            state.listing.answered(peer);
            if let Some(skip) = state.listing.ask() {
                self.fetcher.want_besides(Hint::LayerBallots, *hash, skip);
            }
            for id in ids.iter() {
                if state.ids.insert(*id) && self.ballots.raw(id).is_none() {
                    self.fetcher.want(Hint::Ballot, super::mesh::ballot_key(id), None);
                }
            }
        } else if relisted {
            for id in ids.iter().filter(|id| self.ballots.raw(id).is_none()) {
                self.fetcher.want(Hint::Ballot, super::mesh::ballot_key(id), Some(peer));
            }
        }
        true
    }

    /// A ref ballot from `from` declared an active set this node does not hold: fetch it by
    /// hash (the ballot waits for it, see `wait_for_reference`). An epoch with no set of its
    /// own here is ungraded: the first declared set that resolves becomes its own.
    pub(super) fn want_declared_set(&mut self, data: &Bytes, from: PeerId) {
        let Ok(p) = decode_shared::<Proposal>(data) else { return };
        let Some(d) = &p.ballot.inner.epoch_data else { return };
        let epoch = self.cfg.clock.epoch_of(p.ballot.inner.layer);
        if !self.active_sets.contains_key(&epoch) {
            self.sync.ungraded.insert(epoch);
        }
        let hash = d.active_set_hash;
        let held = self.sync.pending_sets.len() + self.sync.declared_sets.len();
        if !self.sync.pending_sets.contains_key(&hash)
            && !self.sync.declared_sets.contains_key(&hash)
            && held < DECLARED_SETS_MAX
        {
            self.sync.pending_sets.insert(hash, (epoch, None));
            self.fetcher.want(Hint::ActiveSet, hash, Some(from));
        }
    }

    /// An accepted ref ballot of `epoch` by `smesher` (ATX weight `weight`) declared the active
    /// set `hash`. Declaring this node's own set settles an ungraded epoch. Declaring another
    /// set of a graded epoch counts towards replacing this node's set with it, which happens
    /// once ref ballots of more than half of the epoch's ATX weight declare it.
    ///
    /// Grades are this node's own receipt times, and they can differ from every peer's. A node
    /// restarted while its ATX for the epoch was due (crashed just before its PoET round
    /// ended) publishes that ATX on restart, before any peer is connected: it holds its own
    /// ATX on time, its peers receive it only after the cutoff, and its graded set has one ATX
    /// more than the set every peer declares. Its ballots are valid everywhere (each is judged
    /// by the set it declares), but its hare and certify committees are drawn from its own
    /// set, so it takes the set a majority declares, which a minority of identities cannot
    /// forge (one declaration per identity counts).
    pub(super) fn on_declared_set(
        &mut self,
        now: Time,
        epoch: EpochId,
        smesher: NodeId,
        weight: u64,
        hash: Hash32,
    ) {
        let Some(own) = self.active_sets.get(&epoch) else { return };
        if own.hash() == hash {
            self.sync.ungraded.remove(&epoch);
            return;
        }
        crate::coverage::mark(crate::coverage::DECLARED_SET);
        if self.sync.ungraded.contains(&epoch) {
            return;
        }
        let oldest = EpochId(self.current_epoch.0.saturating_sub(1));
        self.sync.declared.retain(|(e, _), _| *e >= oldest);
        self.sync.declared.entry((epoch, smesher)).or_insert((hash, weight));
        if self.declared_by_majority(epoch, &hash)
            && let Some((_, set)) = self.sync.declared_sets.get(&hash).cloned()
        {
            self.adopt_active_set(now, epoch, set);
        }
    }

    /// Whether ref ballots carrying more than half of the weight of `epoch`'s ATXs (of
    /// identities not known malicious) declared the active set `hash`.
    fn declared_by_majority(&self, epoch: EpochId, hash: &Hash32) -> bool {
        let Some(publish) = epoch.0.checked_sub(1) else { return false };
        let total: u128 = self
            .atxs
            .store()
            .published_in(EpochId(publish))
            .filter(|h| !self.malicious.contains(&h.smesher))
            .map(|h| u128::from(h.weight))
            .sum();
        let declared: u128 = self
            .sync
            .declared
            .range((epoch, NodeId([0; 32]))..=(epoch, NodeId([0xff; 32])))
            .filter(|((_, smesher), (h, _))| h == hash && !self.malicious.contains(smesher))
            .map(|(_, (_, w))| u128::from(*w))
            .sum();
        declared * 2 > total
    }

    /// An active set fetched by hash (`false`: the answer is not the set asked for).
    pub(super) fn on_active_set(&mut self, now: Time, hash: &Hash32, data: &Bytes) -> bool {
        let Ok(IdList(ids)) = decode_shared::<IdList<AtxId>>(data) else { return false };
        // Asked for, but pruned with its epoch since.
        let Some((_, slot @ None)) = self.sync.pending_sets.get_mut(hash) else { return true };
        let mut atxs = ids.into_inner();
        atxs.sort();
        atxs.dedup();
        let set = ActiveSet { atxs, weight: 0 };
        if set.hash() != *hash {
            return false;
        }
        for id in &set.atxs {
            if self.atxs.store().get(id).is_none() {
                self.fetcher.want(Hint::Atx, *id, None);
            }
        }
        *slot = Some(set.atxs);
        self.retry_active_sets(now);
        true
    }

    /// Resolves every fetched active set whose ATXs are all known: one whose ATXs target one
    /// epoch is kept to judge the ballots that declare it (which are judged again now), and
    /// becomes this node's set if the epoch is ungraded or ref ballots of a majority of its
    /// weight declared it. Tried on every sync round, when a set arrives, and when ATXs are
    /// accepted while a set waits for them (a synced node has no sync rounds: a set that still
    /// lacked ATXs when it arrived would otherwise wait until the node fell [`LAG_MAX`] layers
    /// behind).
    pub(super) fn retry_active_sets(&mut self, now: Time) {
        let hashes: Vec<Hash32> = self.sync.pending_sets.keys().copied().collect();
        for hash in hashes {
            let Some(&(epoch, Some(ref ids))) = self.sync.pending_sets.get(&hash) else { continue };
            let store = self.atxs.store();
            let headers: Option<Vec<_>> = ids.iter().map(|id| store.get(id)).collect();
            let Some(headers) = headers else { continue };
            let weight = headers.iter().map(|h| h.weight).sum();
            let targeted = !ids.is_empty() && headers.iter().all(|h| h.target_epoch() == epoch);
            let atxs = ids.clone();
            self.sync.pending_sets.remove(&hash);
            if !targeted {
                // No ballot can be valid with it.
                self.waiting.take(&(Hint::ActiveSet, hash));
                continue;
            }
            let set = HashedActiveSet::shared(ActiveSet { atxs, weight }, self.verifier.as_ref());
            let own = self.active_sets.get(&epoch).map(HashedActiveSet::hash);
            if own != Some(hash) {
                if self.sync.ungraded.remove(&epoch) || self.declared_by_majority(epoch, &hash) {
                    self.adopt_active_set(now, epoch, set);
                } else if self.sync.declared_sets.len() < DECLARED_SETS_MAX {
                    self.sync.declared_sets.insert(hash, (epoch, set));
                }
            }
            self.judge_waiting(now, (Hint::ActiveSet, hash));
        }
    }

    /// Replaces this node's active set of `epoch` with `set`, which its peers declared.
    fn adopt_active_set(&mut self, now: Time, epoch: EpochId, set: HashedActiveSet) {
        self.sync.declared_sets.remove(&set.hash());
        self.active_sets.insert(epoch, set);
        self.committees.remove(&epoch);
        // Ballots of the epoch refused until now are fetched again.
        let first = LayerId(epoch.0 * self.cfg.clock.layers_per_epoch);
        self.sync.done = self.sync.done.min(LayerId(first.0.saturating_sub(1)));
        self.sync.done = self.sync.done.max(self.cfg.clock.effective_genesis());
        self.sync.layers.retain(|l, _| *l > self.sync.done);
        self.sync.until = self.sync.until.max(self.cfg.clock.layer_at(now));
        if self.sync.synced {
            self.sync.synced = false;
            self.sync.next = now;
            self.report_sync(now);
        }
        // Eligibilities are drawn again from the adopted set, unless this node's ref ballot of
        // the epoch is out: its ballots are judged by the set and count that one declared.
        let declared = self.ballots.ref_ballot(epoch, &self.signer.node_id()).is_some();
        if !declared && self.own.as_ref().is_some_and(|o| o.epoch == epoch) {
            self.own = None;
        }
        self.compute_own(epoch);
    }

    /// Served to syncing peers: the ids of one kind of list.
    pub(super) fn served_list(&self, hint: Hint, hash: &Hash32) -> Option<Bytes> {
        let bytes = match hint {
            Hint::EpochAtxs => {
                let epoch = EpochId(key_number(hash));
                let ids: Vec<AtxId> = self
                    .atxs
                    .store()
                    .iter()
                    .filter(|h| h.publish_epoch == epoch)
                    .map(|h| h.id)
                    .collect();
                IdList(BoundedVec::truncating(ids)).encode()
            }
            Hint::LayerBallots => {
                let layer = LayerId(key_number(hash));
                if !self.ballots.holds_layer(layer) {
                    return None;
                }
                let mut ids: Vec<BallotId> = self
                    .ballots
                    .layer(layer)
                    .map(|l| l.records().map(|r| r.id).collect())
                    .unwrap_or_default();
                ids.sort_unstable();
                IdList(BoundedVec::truncating(ids)).encode()
            }
            Hint::ActiveSet => {
                let set = match self.sync.declared_sets.get(hash) {
                    Some((_, set)) => set,
                    None => self.active_sets.values().find(|s| s.hash() == *hash)?,
                };
                IdList(BoundedVec::truncating(set.set().atxs.clone())).encode()
            }
            Hint::Certificate => self.certifier.certificate(LayerId(key_number(hash)))?.encode(),
            Hint::MaliciousIds => {
                let ids: Vec<NodeId> = self.malicious.identities().copied().collect();
                IdList(BoundedVec::truncating(ids)).encode()
            }
            _ => return None,
        };
        Some(bytes.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;

    #[test]
    fn number_keys_round_trip() {
        for n in [0, 1, 255, 1 << 20, u32::MAX] {
            assert_eq!(key_number(&number_key(n)), n);
        }
    }

    /// A list is asked of one peer at a time, skipping those that answered, until
    /// [`LIST_PEERS`] answered; a failure before any answer asks again, a failure after one
    /// settles for what arrived.
    #[test]
    fn listings_merge_several_peers() {
        let peer = |i: u8| PeerId([i; 32]);
        let mut l = Listing::default();
        assert_eq!(l.ask(), Some(vec![]));
        assert_eq!(l.ask(), None, "one request at a time");
        l.failed();
        assert!(!l.complete(), "nobody answered yet");
        assert_eq!(l.ask(), Some(vec![]));
        l.answered(peer(1));
        assert!(!l.complete(), "one short list is not the list");
        assert_eq!(l.ask(), Some(vec![peer(1)]));
        l.answered(peer(1));
        assert!(!l.complete(), "the same peer twice counts once");
        assert_eq!(l.ask(), Some(vec![peer(1)]));
        l.answered(peer(2));
        assert!(l.complete());
        assert_eq!(l.ask(), None);

        let mut alone = Listing::default();
        alone.ask();
        alone.answered(peer(1));
        assert_eq!(alone.ask(), Some(vec![peer(1)]));
        alone.failed();
        assert!(alone.complete(), "no other peer to ask: one answer is all there is");
        assert_eq!(alone.ask(), None);
    }

    #[test]
    fn id_lists_decode_what_they_encode() {
        let ids = IdList(BoundedVec::truncating(vec![BallotId([1; 20]), BallotId([2; 20])]));
        let bytes = ids.encode();
        assert_eq!(decode_exact::<IdList<BallotId>>(&bytes).unwrap(), ids);
        assert!(decode_exact::<IdList<BallotId>>(&bytes[..bytes.len() - 1]).is_err());
    }

    /// A ref ballot is judged by the set it declares: this node's own, or a fetched one of the
    /// same epoch that weighs at least half of its own; anything else is unknown (and waits)
    /// or too light (refused). Sets, fetched or pending, are forgotten with their epoch.
    #[test]
    fn declared_sets_give_the_weight_a_ref_ballot_is_judged_by() {
        let set = |ids: &[u8], weight| {
            HashedActiveSet::new(ActiveSet {
                atxs: ids.iter().map(|i| AtxId::from([*i; 32])).collect(),
                weight,
            })
        };
        let (own, half, light) = (set(&[1, 2, 3, 4], 40), set(&[1, 2], 20), set(&[3], 19));
        let mut sync = SyncState::default();
        let e = EpochId(2);
        assert_eq!(sync.set_weight(Some(&own), e, &own.hash()), Ok(40));
        assert_eq!(
            sync.set_weight(Some(&own), e, &half.hash()),
            Err(BallotReject::UnknownActiveSet)
        );
        for s in [&half, &light] {
            sync.declared_sets.insert(s.hash(), (e, s.clone()));
        }
        assert_eq!(sync.set_weight(Some(&own), e, &half.hash()), Ok(20));
        assert_eq!(
            sync.set_weight(Some(&own), e, &light.hash()),
            Err(BallotReject::LightActiveSet)
        );
        assert_eq!(sync.set_weight(None, e, &light.hash()), Ok(19), "no own set to compare with");
        assert_eq!(
            sync.set_weight(Some(&own), EpochId(3), &half.hash()),
            Err(BallotReject::UnknownActiveSet),
            "a set is declared for its own epoch only"
        );
        // A set asked for but never resolved (its ATXs never arrive) goes with its epoch.
        sync.pending_sets.insert(Hash32([9; 32]), (e, Some(vec![AtxId::from([9; 32])])));
        sync.pending_sets.insert(Hash32([8; 32]), (EpochId(3), None));
        sync.prune_declared_sets(EpochId(3));
        assert_eq!(
            sync.set_weight(Some(&own), e, &half.hash()),
            Err(BallotReject::UnknownActiveSet)
        );
        assert_eq!(sync.pending_sets.keys().collect::<Vec<_>>(), [&Hash32([8; 32])]);
        sync.check_invariants();
    }
}

//! Tortoise tests: unit tests of decoding, encoding and thresholds through the public API, and a
//! deterministic multi-voter harness where K identities, each with its own tortoise, cast one
//! ballot per layer with `encode_votes` and the hare outputs a block per layer.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::ballot::wire::BlockVote;
use crate::codec::BoundedVec;
use crate::crypto::{Ed25519Verifier, hash_parts};

const LPE: u32 = 4;
const GENESIS: LayerId = LayerId(2 * LPE - 1);
/// Epochs with ATXs and beacons (layers up to 4 · 40).
const EPOCHS: u32 = 40;
const BEACON: Beacon = Beacon([1, 2, 3, 4]);

fn cfg() -> TortoiseConfig {
    TortoiseConfig::sim(LPE, 10)
}

fn node_id(i: usize) -> NodeId {
    let mut id = [0; 32];
    id[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    NodeId(id)
}

fn atx_id(i: usize, epoch: u32) -> AtxId {
    hash_parts(&[b"atx", &(i as u64).to_le_bytes(), &epoch.to_le_bytes()])
}

fn atx_height(epoch: u32) -> u64 {
    100 * u64::from(epoch)
}

/// The header of ATX `id` of `node`, targeting `target`, with `weight` and tick `height`.
fn atx(target: EpochId, id: AtxId, node: NodeId, weight: u64, height: u64) -> Arc<AtxHeader> {
    Arc::new(AtxHeader {
        id,
        smesher: node,
        publish_epoch: EpochId(target.0 - 1),
        sequence: 0,
        coinbase: Default::default(),
        num_units: 1,
        base_height: height,
        ticks: 0,
        weight,
        vrf_nonce: 0,
        commitment_atx: Hash32::default(),
        signature: crate::crypto::Signature([0; 64]),
    })
}

fn block_id(layer: LayerId, variant: u8) -> BlockId {
    let h = hash_parts(&[b"block", &layer.0.to_le_bytes(), &[variant]]);
    BlockId(h.0[..20].try_into().unwrap())
}

/// Blocks are a little lower than the epoch's ATXs, so ballots may vote on them.
fn block_height(layer: LayerId) -> u64 {
    atx_height(layer.epoch(LPE).0) - 1
}

fn coin(layer: LayerId) -> bool {
    hash_parts(&[b"coin", &layer.0.to_le_bytes()]).0[0] & 1 == 1
}

/// A ballot as it travels: everything [`BallotInput`] borrows.
#[derive(Debug, Clone)]
struct BallotData {
    id: BallotId,
    layer: LayerId,
    smesher: usize,
    beacon: Beacon,
    votes: Votes,
}

impl BallotData {
    fn new(smesher: usize, layer: LayerId, votes: Votes) -> BallotData {
        let h =
            hash_parts(&[&(smesher as u64).to_le_bytes(), &layer.0.to_le_bytes(), &votes.base.0]);
        let h = hash_parts(&[&h.0, &crate::ballot::wire::opinion_hash(&votes).0]);
        BallotData {
            id: BallotId(h.0[..20].try_into().unwrap()),
            layer,
            smesher,
            beacon: BEACON,
            votes,
        }
    }

    fn input(&self) -> BallotInput<'_> {
        BallotInput {
            id: self.id,
            layer: self.layer,
            atx: atx_id(self.smesher, self.layer.epoch(LPE).0),
            smesher: node_id(self.smesher),
            eligibilities: 1,
            slots: LPE,
            beacon: self.beacon,
            votes: &self.votes,
            verifier: &Ed25519Verifier,
        }
    }
}

/// One input to a tortoise.
#[derive(Debug, Clone)]
enum Event {
    Ballot(BallotData),
    Block(LayerId, BlockId, u64),
    Hare(LayerId, Option<BlockId>),
    Coin(LayerId, bool),
}

fn apply(t: &mut Tortoise, e: &Event) -> Result<(), TortoiseReject> {
    match e {
        Event::Ballot(b) => t.on_ballot(b.input())?,
        Event::Block(l, id, h) => t.on_block(*id, *l, *h),
        Event::Hare(l, b) => t.on_hare_output(*l, *b),
        Event::Coin(l, c) => t.on_weak_coin(*l, *c),
    }
    Ok(())
}

/// A tortoise fed ATXs and beacons of every epoch for identities with `weights`.
fn tortoise(weights: &[u64]) -> Tortoise {
    tortoise_with(cfg(), weights)
}

fn tortoise_with(cfg: TortoiseConfig, weights: &[u64]) -> Tortoise {
    let mut t = Tortoise::new(cfg, GENESIS);
    feed_epochs(&mut t, weights);
    t
}

/// ATXs and beacons of the epochs up to two after the last layer's (a small window refuses
/// epochs further ahead; the rest are duplicates).
fn feed_epochs(t: &mut Tortoise, weights: &[u64]) {
    let now = t.last.epoch(LPE).0;
    for epoch in 2.max(now)..EPOCHS.min(now + 3) {
        for (i, &w) in weights.iter().enumerate() {
            match t.on_atx(atx(EpochId(epoch), atx_id(i, epoch), node_id(i), w, atx_height(epoch)))
            {
                Ok(()) | Err(TortoiseReject::TooFarAhead { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        }
        t.on_beacon(EpochId(epoch), BEACON);
    }
}

/// What `updates()` has told one node so far, and the reverts it reported.
#[derive(Debug, Default)]
struct Shadow {
    layers: BTreeMap<LayerId, LayerUpdate>,
    /// (layer, processed when reported): a verified layer changed validity or lost
    /// verification.
    reverts: Vec<(LayerId, LayerId)>,
}

/// Block validity: (id, valid, invalid).
type Validity = Vec<(BlockId, bool, bool)>;

/// A layer's opinion, verification and block validity: what honest nodes must agree on.
fn decided(t: &Tortoise, layer: LayerId) -> Option<(Hash32, bool, Validity)> {
    let r = t.result(layer)?;
    Some((r.opinion, r.verified, r.blocks.iter().map(|b| (b.id, b.valid, b.invalid)).collect()))
}

/// A verified layer's opinion and block validity.
fn settled(t: &Tortoise, layer: LayerId) -> Option<(Hash32, Validity)> {
    decided(t, layer).map(|(opinion, _, blocks)| (opinion, blocks))
}

fn valid_set(u: &LayerUpdate) -> Vec<BlockId> {
    u.blocks.iter().filter(|b| b.valid).map(|b| b.id).collect()
}

impl Shadow {
    /// Takes the tortoise's updates and checks that they explain its whole current state.
    fn sync(&mut self, t: &mut Tortoise) {
        let updates = t.updates();
        for w in updates.windows(2) {
            assert_eq!(w[0].layer.0 + 1, w[1].layer.0, "updates are contiguous");
        }
        for u in updates {
            if let Some(old) = self.layers.get(&u.layer)
                && old.verified
                && (!u.verified || valid_set(old) != valid_set(&u))
            {
                self.reverts.push((u.layer, t.processed()));
            }
            self.layers.insert(u.layer, u);
        }
        t.check_state();
        self.layers.retain(|l, _| t.result(*l).is_some());
        let mut l = t.processed();
        while let Some(now) = t.result(l) {
            assert_eq!(self.layers.get(&l), Some(&now), "{l}: a change was not reported");
            l = LayerId(l.0 - 1);
        }
    }
}

/// K voters, each with its own tortoise and a group (for partitions).
struct Net {
    weights: Vec<u64>,
    tortoises: Vec<Tortoise>,
    shadows: Vec<Shadow>,
    groups: Vec<usize>,
    /// Whether ballots cross groups.
    connected: bool,
    /// Ballots that did not cross groups, for the heal.
    held: Vec<BallotData>,
    /// Identities whose ballots are cast but whose tortoise is not followed (see `step`).
    silent: Vec<bool>,
    /// Every event delivered to the last voter, by layer (the proptest replays them).
    history: Vec<(LayerId, Vec<Event>)>,
    /// The last layer stepped.
    last: LayerId,
    /// The next step has no hare output (nor block, nor coin) at all.
    hare_silent: bool,
}

impl Net {
    fn new(weights: &[u64]) -> Net {
        Net::with_cfg(cfg(), weights)
    }

    fn with_cfg(cfg: TortoiseConfig, weights: &[u64]) -> Net {
        let k = weights.len();
        Net {
            weights: weights.to_vec(),
            tortoises: (0..k).map(|_| tortoise_with(cfg, weights)).collect(),
            shadows: (0..k).map(|_| Shadow::default()).collect(),
            groups: vec![0; k],
            connected: true,
            held: Vec::new(),
            silent: vec![false; k],
            history: Vec::new(),
            last: GENESIS,
            hare_silent: false,
        }
    }

    /// One layer: every identity votes with its own tortoise, ballots go to every tortoise
    /// that can hear them, the hare gives each group `hare(group)` (a block variant, or an
    /// empty output) unless `hare_silent`, the weak coin is shared, then everyone tallies.
    fn step(&mut self, hare: impl Fn(usize) -> Option<u8>) -> Vec<BallotData> {
        let layer = LayerId(self.last.0 + 1);
        let k = self.tortoises.len();
        let mut ballots = Vec::with_capacity(k);
        for i in 0..k {
            let opinion =
                self.tortoises[i].encode_votes(layer).unwrap_or_else(|e| panic!("{layer}: {e}"));
            ballots.push(BallotData::new(i, layer, opinion.votes));
        }
        let mut events: Vec<Vec<Event>> = vec![Vec::new(); k];
        for b in &ballots {
            for (j, ev) in events.iter_mut().enumerate() {
                if self.connected || self.groups[b.smesher] == self.groups[j] {
                    ev.push(Event::Ballot(b.clone()));
                }
            }
            if !self.connected {
                self.held.push(b.clone());
            }
        }
        for (j, ev) in events.iter_mut().enumerate() {
            // Blocks are synced like ballots: every block some hare produced reaches everyone
            // who hears that group; only the hare output differs between groups.
            if !self.hare_silent {
                let mut variants: Vec<u8> = (0..k)
                    .filter(|&i| self.connected || self.groups[i] == self.groups[j])
                    .filter_map(|i| hare(self.groups[i]))
                    .collect();
                variants.sort_unstable();
                variants.dedup();
                for v in variants {
                    ev.push(Event::Block(layer, block_id(layer, v), block_height(layer)));
                }
                ev.push(Event::Hare(layer, hare(self.groups[j]).map(|v| block_id(layer, v))));
            }
            ev.push(Event::Coin(layer, coin(layer)));
        }
        self.history.push((layer, events[k - 1].clone()));
        for (j, ev) in events.iter().enumerate() {
            for e in ev {
                apply(&mut self.tortoises[j], e).unwrap_or_else(|e| panic!("{layer}: {e}"));
            }
        }
        self.hare_silent = false;
        self.tally(layer);
        ballots
    }

    fn tally(&mut self, layer: LayerId) {
        self.last = self.last.max(layer);
        for (t, s) in self.tortoises.iter_mut().zip(&mut self.shadows) {
            t.tally_votes(layer);
            s.sync(t);
            feed_epochs(t, &self.weights);
        }
    }

    /// Ends a partition: blocks of both sides and every held ballot reach everyone.
    fn heal(&mut self, blocks: &[(LayerId, u8)]) {
        self.connected = true;
        for t in &mut self.tortoises {
            for &(l, v) in blocks {
                t.on_block(block_id(l, v), l, block_height(l));
            }
            for b in &self.held {
                t.on_ballot(b.input()).unwrap();
            }
        }
        self.held.clear();
        let last = self.last;
        self.tally(last);
    }

    /// Whether every followed tortoise has the same opinion, verification and validity for
    /// every layer up to `upto` (hare outputs may differ).
    fn agree(&self, upto: LayerId) -> bool {
        let followed: Vec<&Tortoise> =
            self.tortoises.iter().zip(&self.silent).filter(|(_, s)| !**s).map(|(t, _)| t).collect();
        (GENESIS.0..=upto.0).all(|l| {
            let r = decided(followed[0], LayerId(l));
            followed.iter().all(|t| decided(t, LayerId(l)) == r)
        })
    }
}

/// (1) All honest and synchronous: every layer is verified as soon as the next one is
/// tallied, in verifying mode, every ballot encodes the local opinion, and nothing reverts.
#[test]
fn honest_layers_verify_next_layer() {
    let mut net = Net::new(&[10, 20, 30, 40, 50, 60]);
    for _ in 0..24 {
        let ballots = net.step(|_| Some(0));
        let layer = net.last;
        for (i, t) in net.tortoises.iter().enumerate() {
            assert_eq!(t.latest_verified(), LayerId(layer.0 - 1), "voter {i} at {layer}");
            assert_eq!(t.mode(), Mode::Verifying);
            let r = t.result(LayerId(layer.0 - 1)).unwrap();
            if layer.0 - 1 > GENESIS.0 {
                assert_eq!(
                    valid_set(&r),
                    vec![block_id(LayerId(layer.0 - 1), 0)],
                    "{r:?} at {layer}"
                );
            }
        }
        // Every ballot's opinion is the one its voter held for the layer below, and all agree.
        let below = net.tortoises[0].opinion(LayerId(layer.0 - 1)).unwrap();
        for b in &ballots {
            let t = &net.tortoises[0];
            assert_eq!(t.ballot(t.find_ballot(&b.id).unwrap()).header.opinion, below);
            assert!(
                b.votes.against.is_empty() && b.votes.abstain.is_empty(),
                "no exceptions needed"
            );
        }
    }
    assert!(net.agree(net.last));
    for s in &net.shadows {
        assert!(s.reverts.is_empty(), "reverts: {:?}", s.reverts);
    }
    // The window keeps the state bounded once the run is longer than it.
    assert!(net.tortoises[0].layers.len() <= 26);
}

/// (2) The hare ends without agreement in one layer (empty output, no block): the layer is
/// terminated empty at once, ballots vote against all on it (nothing to support), and it is
/// verified empty when the next layer is tallied; no reverts.
#[test]
fn hare_empty_output_verifies_empty() {
    let mut net = Net::new(&[10, 10, 10, 10, 10]);
    for _ in 0..6 {
        net.step(|_| Some(0));
    }
    let failed = LayerId(net.last.0 + 1);
    net.step(|_| None);
    for _ in 0..10 {
        let ballots = net.step(|_| Some(0));
        assert!(ballots.iter().all(|b| !b.votes.abstain.contains(&failed)));
        let t = &net.tortoises[0];
        assert_eq!(t.latest_verified(), LayerId(net.last.0 - 1));
        assert!(t.result(failed).unwrap().blocks.is_empty());
    }
    assert!(net.agree(net.last));
    assert!(net.shadows.iter().all(|s| s.reverts.is_empty()));
}

/// (2') The hare gives no output at all for a layer (the session never ends): the layer is
/// abstained on, terminated empty by the tortoise at zdist, and verified later; the layers
/// after it wait for it, and nothing reverts.
#[test]
fn hare_silence_terminates_at_zdist_and_verifies_later() {
    let mut net = Net::new(&[10, 10, 10, 10, 10]);
    for _ in 0..6 {
        net.step(|_| Some(0));
    }
    let failed = LayerId(net.last.0 + 1);
    // The step without any hare event for the layer.
    net.hare_silent = true;
    net.step(|_| None);
    let zdist = cfg().zdist;
    let mut verified_at = None;
    for _ in 0..20 {
        let ballots = net.step(|_| Some(0));
        let layer = net.last;
        let t = &net.tortoises[0];
        let abstains = ballots.iter().all(|b| {
            let ballot = t.ballot(t.find_ballot(&b.id).unwrap());
            t.vote(t.vote_on(ballot.votes, failed).unwrap()).abstain
        });
        // Ballots of layer l are encoded before tallying l, when the failed layer is
        // terminated iff l - 1 >= failed + zdist.
        assert_eq!(abstains, layer.0 <= failed.0 + zdist, "{layer}");
        assert!(net.tortoises[0].result(failed).unwrap().blocks.is_empty());
        if verified_at.is_none() && net.tortoises[0].latest_verified() >= failed {
            verified_at = Some(layer);
        }
        if layer.0 < failed.0 + zdist {
            assert!(net.tortoises[0].latest_verified() < failed, "not terminated, not verified");
        }
    }
    let verified_at = verified_at.expect("the silent layer verifies");
    assert!(verified_at.0 > failed.0 + zdist, "{verified_at:?}");
    assert!(verified_at.0 <= failed.0 + 3 * cfg().hdist, "{verified_at:?}");
    assert_eq!(net.tortoises[0].latest_verified(), LayerId(net.last.0 - 1));
    assert!(net.agree(net.last));
    assert!(net.shadows.iter().all(|s| s.reverts.is_empty()), "{:?}", net.shadows[0].reverts);
}

/// A voter whose hare gave no block for a layer that the others' hare output holds has
/// another local opinion of that layer (and of every later one, the hash is chained) while it
/// is within hdist, then the same: the settled opinion, which names the valid blocks, agrees
/// at every step.
#[test]
fn a_missed_hare_output_differs_only_within_hdist() {
    let mut net = Net::new(&[10, 10, 10, 10, 10]);
    for _ in 0..6 {
        net.step(|_| Some(0));
    }
    let missed = LayerId(net.last.0 + 1);
    net.groups[4] = 1;
    net.step(|group| (group == 0).then_some(0));
    net.groups[4] = 0;
    let hdist = cfg().hdist;
    for _ in 0..2 * hdist {
        net.step(|_| Some(0));
        let (a, b) = (&net.tortoises[0], &net.tortoises[4]);
        let within = missed.0 + hdist > net.last.0;
        assert_eq!(a.opinion(missed) != b.opinion(missed), within, "{}", net.last);
        let settled = a.settled_opinion().expect("past hdist");
        assert_eq!(Some(settled), b.settled_opinion(), "{}", net.last);
        assert!(settled.0.0 + hdist <= net.last.0 && settled.0 <= a.latest_verified());
    }
    assert_eq!(
        valid_set(&net.tortoises[4].result(missed).unwrap()),
        vec![block_id(missed, 0)],
        "the block the voter's hare missed is valid there too"
    );
    // (The voter's verified layer may step back while its opinion differs: the others'
    // ballots are not good for it until then.)
    assert!(net.agree(net.last));
}

/// Runs a partition of `groups` for `layers` layers (each side's hare outputs its own block),
/// heals, and returns the net plus the number of layers until every tortoise agrees on every
/// layer and has verified up to the layer before the last.
fn partition_heals(weights: &[u64], groups: &[usize], layers: u32) -> (Net, u32) {
    let mut net = Net::new(weights);
    for _ in 0..8 {
        net.step(|_| Some(0));
    }
    net.groups = groups.to_vec();
    net.connected = false;
    let start = net.last.0 + 1;
    let mut blocks = Vec::new();
    for _ in 0..layers {
        net.step(|g| Some(g as u8 + 1));
        blocks.push((net.last, 1));
        blocks.push((net.last, 2));
    }
    net.heal(&blocks);
    for l in start..=net.last.0 {
        for t in &net.tortoises {
            assert!(t.result(LayerId(l)).unwrap().blocks.len() == 2, "both sides' blocks known");
        }
    }
    let healed = net.last;
    for n in 1..=60 {
        net.step(|_| Some(0));
        let last = net.last;
        if net.agree(LayerId(last.0 - 1))
            && net.tortoises.iter().all(|t| t.latest_verified() == LayerId(last.0 - 1))
        {
            // Stable from here on: a few more layers change nothing.
            let snapshot: Vec<_> =
                (start..=last.0 - 1).map(|l| net.tortoises[0].result(LayerId(l))).collect();
            for _ in 0..2 * cfg().hdist {
                net.step(|_| Some(0));
            }
            let after: Vec<_> =
                (start..=last.0 - 1).map(|l| net.tortoises[0].result(LayerId(l))).collect();
            assert_eq!(snapshot, after, "converged validity is final");
            assert!(net.agree(LayerId(net.last.0 - 1)));
            return (net, n);
        }
        assert!(last.0 < healed.0 + 60);
    }
    panic!("no convergence within 60 layers after the heal");
}

/// (3) A partition where each side's hare outputs its own block, then the ballots of both
/// sides are exchanged: the full tortoise takes over and converges every tortoise to the same
/// validity and opinions, with the weak coin breaking the tie of an even split; every change
/// of a verified layer is reported by an update.
#[test]
fn partition_converges_in_full_mode() {
    for (weights, groups) in [
        (vec![10; 8], vec![0, 0, 0, 0, 1, 1, 1, 1]),
        (vec![10; 8], vec![0, 0, 0, 0, 0, 1, 1, 1]),
        (vec![30, 10, 10, 10, 10, 10, 10, 10], vec![0, 1, 1, 1, 1, 1, 1, 1]),
    ] {
        let (net, layers) = partition_heals(&weights, &groups, 3);
        assert!(layers <= 3 * cfg().hdist, "{groups:?}: converged after {layers} layers");
        for t in &net.tortoises {
            assert!(t.full_mode_entries > 0, "{groups:?}: the full tortoise took over");
        }
        // Reverts happen (a verified layer loses verification or changes validity on the side
        // that loses), and each was reported by an update no later than it happened.
        assert!(net.shadows.iter().any(|s| !s.reverts.is_empty()), "{groups:?}");
        for s in &net.shadows {
            for (layer, at) in &s.reverts {
                assert!(layer < at);
            }
        }
    }
}

/// (4) Ballots of malicious identities do not count: with 30% of the weight voting for
/// blocks nobody else has, honest tortoises that know the malfeasance (before the ballots or
/// only after some of them) verify every layer at once; one that does not know cannot.
#[test]
fn malicious_ballots_do_not_count() {
    let weights = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10];
    let malicious = [7usize, 8, 9];
    for report_after in [0u32, 6, u32::MAX] {
        let mut net = Net::new(&weights);
        for &m in &malicious {
            net.groups[m] = 1;
            net.silent[m] = true;
        }
        // Ballots cross groups, but the malicious side's hare outputs its own block.
        let mut lagged = false;
        for n in 0..20u32 {
            if n == report_after {
                for t in &mut net.tortoises {
                    for &m in &malicious {
                        t.on_malfeasance(node_id(m));
                    }
                }
            }
            net.step(|g| Some(g as u8));
            let layer = net.last;
            let t = &net.tortoises[0];
            if n > report_after {
                assert_eq!(
                    t.latest_verified(),
                    LayerId(layer.0 - 1),
                    "after the report, at {layer}"
                );
            }
            lagged |= t.latest_verified() < LayerId(layer.0 - 1);
            for l in GENESIS.0 + 1..layer.0 {
                let r = t.result(LayerId(l)).unwrap();
                assert!(!r.blocks.iter().any(|b| b.valid && b.id == block_id(LayerId(l), 1)));
            }
        }
        assert_eq!(lagged, report_after > 0, "report after {report_after}");
        assert!(net.agree(LayerId(net.last.0 - 1)));
    }
}

/// Shares equal ballot headers by id, as a simulator's verifier does.
#[derive(Debug, Default)]
struct HeaderMemo(std::sync::Mutex<Vec<Arc<BallotHeader>>>);

impl Verifier for HeaderMemo {
    fn verify(&self, key: &[u8; 32], message: &[u8], sig: &crate::crypto::Signature) -> bool {
        Ed25519Verifier.verify(key, message, sig)
    }

    fn share_tortoise_ballot(&self, header: BallotHeader) -> Arc<BallotHeader> {
        let mut kept = self.0.lock().unwrap();
        match kept.iter().find(|k| k.id == header.id) {
            Some(k) if **k == header => Arc::clone(k),
            Some(_) => Arc::new(header),
            None => {
                kept.push(Arc::new(header));
                Arc::clone(kept.last().unwrap())
            }
        }
    }
}

/// Tortoises that accept the same ballots through a sharing runtime hold one header per
/// ballot and keep their own votes and flags; one that weighs the ballots differently (other
/// ATX weights) keeps its own headers, and all decode the same opinions.
#[test]
fn equal_ballots_share_one_header() {
    let memo = HeaderMemo::default();
    let (l1, l2) = (LayerId(GENESIS.0 + 1), LayerId(GENESIS.0 + 2));
    let b1 = BallotData::new(0, l1, Votes::default());
    let b2 = BallotData::new(1, l2, Votes { base: b1.id, ..Votes::default() });
    let mut ts = [tortoise(&[10, 10]), tortoise(&[10, 10]), tortoise(&[20, 10])];
    for t in &mut ts {
        for b in [&b1, &b2] {
            t.on_ballot(BallotInput { verifier: &memo, ..b.input() }).unwrap();
        }
    }
    let header =
        |t: &Tortoise, b: &BallotData| Arc::clone(&t.ballot(t.find_ballot(&b.id).unwrap()).header);
    // Smesher 0's ATX weighs 20 at the third tortoise: b1's header differs there.
    let [h0, h1, h2] = [&ts[0], &ts[1], &ts[2]].map(|t| header(t, &b1));
    assert!(Arc::ptr_eq(&h0, &h1), "equal headers share one allocation");
    assert!(!Arc::ptr_eq(&h0, &h2) && h0.weight != h2.weight, "unequal headers do not");
    assert_eq!(h0.opinion, h2.opinion, "the opinion does not depend on weights");
    // Smesher 1's weighs 10 everywhere: b2's header is one allocation at all three.
    let [h0, h1, h2] = [&ts[0], &ts[1], &ts[2]].map(|t| header(t, &b2));
    assert!(Arc::ptr_eq(&h0, &h1) && Arc::ptr_eq(&h0, &h2));
    assert_eq!(memo.0.lock().unwrap().len(), 2, "the first tortoise's headers are kept");
    // Flags stay per node: marking the smesher malicious at one leaves the others alone.
    ts[1].on_malfeasance(node_id(1));
    let malicious = |t: &Tortoise| t.ballot(t.find_ballot(&b2.id).unwrap()).malicious;
    assert!(malicious(&ts[1]) && !malicious(&ts[0]) && !malicious(&ts[2]));
    for t in &ts {
        t.check_invariants();
    }
}

/// Decoding: a ballot's votes are its base's plus exceptions, and every block of the layers
/// after the base's that it does not support is voted against (or abstained).
#[test]
fn decode_base_plus_exceptions() {
    let mut t = tortoise(&[10, 10]);
    let (l1, l2, l3) = (LayerId(GENESIS.0 + 1), LayerId(GENESIS.0 + 2), LayerId(GENESIS.0 + 3));
    let (a, b) = (block_id(l1, 0), block_id(l1, 1));
    let h = block_height(l1);
    t.on_block(a, l1, h);
    t.on_block(b, l1, h);
    let vote = |id, layer| BlockVote { id, layer, height: h };
    let empty = Votes::default();
    let b1 = BallotData::new(0, l1, empty.clone());
    t.on_ballot(b1.input()).unwrap();
    // In l2, support a on l1.
    let mut v2 = Votes { base: b1.id, ..Votes::default() };
    v2.support = BoundedVec::new(vec![vote(a, l1)]).unwrap();
    let b2 = BallotData::new(0, l2, v2);
    t.on_ballot(b2.input()).unwrap();
    // In l3, based on b2: against a, support b on l1; abstain on l2.
    let mut v3 = Votes { base: b2.id, ..Votes::default() };
    v3.against = BoundedVec::new(vec![vote(a, l1)]).unwrap();
    v3.support = BoundedVec::new(vec![vote(b, l1)]).unwrap();
    v3.abstain = BoundedVec::new(vec![l2]).unwrap();
    let b3 = BallotData::new(1, l3, v3);
    t.on_ballot(b3.input()).unwrap();
    let chain = |id: BallotId| {
        let ballot = t.ballot(t.find_ballot(&id).unwrap());
        t.chain(Some(ballot.votes)).into_iter().map(|r| t.vote(r).clone()).collect::<Vec<_>>()
    };
    let key = |id| BlockKey { height: h, id };
    // b2: l1 supports a (not b), genesis against-all.
    let c2 = chain(b2.id);
    assert_eq!(c2.len(), 2);
    assert_eq!(c2[0].supported, vec![key(a)]);
    assert!(c2[1].supported.is_empty() && !c2[1].abstain);
    // b3: l2 abstain, l1 supports b only, genesis shared with b2's chain.
    let c3 = chain(b3.id);
    assert_eq!(c3.len(), 3);
    assert!(c3[0].abstain && c3[0].supported.is_empty());
    assert_eq!(c3[1].supported, vec![key(b)]);
    assert_eq!(c3[2], c2[1]);
    // The opinions chain: the decoded head hashes the whole chain.
    let genesis_opinion = votes::opinion_hash(None, &[], false);
    let l1_opinion = votes::opinion_hash(Some(&genesis_opinion), &[key(b)], false);
    assert_eq!(c3[0].opinion, votes::opinion_hash(Some(&l1_opinion), &[], true));
    // The genesis vote node is stored once for all ballots.
    assert_eq!(t.layer(GENESIS).unwrap().votes.len(), 1);
    t.check_state();

    // Rejections: unknown base, exceptions out of bounds, a base not before, unknown ATX.
    let mut bad = Votes { base: BallotId([9; 20]), ..Votes::default() };
    let r = t.on_ballot(BallotData::new(1, l3, bad.clone()).input());
    assert_eq!(r, Err(TortoiseReject::UnknownBase { base: BallotId([9; 20]) }));
    bad.base = b2.id;
    bad.abstain = BoundedVec::new(vec![l3]).unwrap();
    let r = t.on_ballot(BallotData::new(1, l3, bad.clone()).input());
    assert_eq!(r, Err(TortoiseReject::VoteNotBefore { layer: l3, ballot_layer: l3 }));
    bad.abstain = BoundedVec::default();
    bad.base = b3.id;
    let r = t.on_ballot(BallotData::new(1, l3, bad.clone()).input());
    assert_eq!(r, Err(TortoiseReject::BaseNotBefore { base_layer: l3, layer: l3 }));
    let mut stranger = BallotData::new(1, l3, Votes::default());
    stranger.smesher = 5;
    let r = t.on_ballot(stranger.input());
    assert!(matches!(r, Err(TortoiseReject::UnknownAtx { .. })));
    let r = t.on_ballot(BallotData::new(1, GENESIS, Votes::default()).input());
    assert_eq!(r, Err(TortoiseReject::NotAfterGenesis { layer: GENESIS }));
    t.check_state();
}

/// Encoding round-trips: the votes encoded against any base decode to the local opinion, and
/// the encoder picks a base that needs few exceptions.
#[test]
fn encode_round_trips_to_local_opinion() {
    let mut net = Net::new(&[10, 10, 10, 10]);
    for _ in 0..6 {
        net.step(|_| Some(0));
    }
    // A layer without hare output, then more layers: exceptions and abstains are needed.
    net.hare_silent = true;
    net.step(|_| None);
    for _ in 0..3 {
        net.step(|_| Some(0));
    }
    let t = &net.tortoises[0];
    let current = LayerId(net.last.0 + 1);
    let local = t.opinion(net.last).unwrap();
    let opinion = t.encode_votes(current).unwrap();
    assert_eq!(opinion.hash, local);
    // Against every base candidate in the window, the encoding decodes to the same opinion.
    let (mut tried, mut abstaining) = (0, 0);
    for l in GENESIS.0..current.0 {
        for (id, base) in t.base_candidates(LayerId(l)) {
            match t.encode_with(id, &base, current) {
                // Bases that abstained on the silent layer cannot say "against all" there.
                Err(EncodeError::BaseAbstains { .. }) => abstaining += 1,
                Ok(o) => {
                    tried += 1;
                    assert_eq!(o.hash, local, "base in {l}");
                    let mut copy = t.clone();
                    copy.on_ballot(BallotData::new(0, current, o.votes.clone()).input()).unwrap();
                    let b = BallotData::new(0, current, o.votes);
                    assert_eq!(copy.ballot(copy.find_ballot(&b.id).unwrap()).header.opinion, local);
                }
                Err(e) => panic!("base in {l}: {e}"),
            }
        }
    }
    assert!(tried > 20, "{tried}");
    assert_eq!(abstaining, 8, "the ballots of the two layers before the zdist termination");
    // The chosen base is from the newest layer and needs one exception: the block of its
    // own layer, which it could not vote on.
    let last_block =
        BlockVote { id: block_id(net.last, 0), layer: net.last, height: block_height(net.last) };
    assert_eq!(opinion.votes.support.to_vec(), vec![last_block]);
    assert!(opinion.votes.against.is_empty() && opinion.votes.abstain.is_empty());
    // With a tiny exception budget, only recent bases fit.
    let mut small = t.clone();
    small.cfg.max_exceptions = 1;
    let (id, base) = small.base_candidates(GENESIS).remove(0);
    assert!(matches!(
        small.encode_with(id, &base, current),
        Err(EncodeError::TooManyExceptions { .. })
    ));
    assert!(small.encode_votes(current).is_ok());
}

/// Thresholds: the local threshold is a third of an average layer of the last layer's epoch;
/// the expected weight prorates epochs by their layers in the range; the global threshold is a
/// third of it plus the local one; verification needs strictly more.
#[test]
fn thresholds_follow_epoch_weights() {
    let mut t = Tortoise::new(cfg(), GENESIS);
    // Epoch 2 (layers 8..=11) weighs 120, epoch 3 (12..=15) weighs 240.
    t.on_atx(atx(EpochId(2), atx_id(0, 2), node_id(0), 120, 0)).unwrap();
    t.on_atx(atx(EpochId(3), atx_id(0, 3), node_id(0), 240, 0)).unwrap();
    t.last = LayerId(13);
    let one = WEIGHT_ONE;
    // Local: 240 / 3 / 4 = 20.
    assert_eq!(t.local_threshold(), threshold::Fraction { num: 240 * one, den: 12 });
    // Expected for target 9: layers 10, 11 of epoch 2 (2 · 30) and 12, 13 of epoch 3 (2 · 60).
    assert_eq!(t.expected_weight(LayerId(9)), (2 * 120 + 2 * 240) * one);
    // Global: 180 / 3 + 20 = 80.
    let g = t.global_threshold(LayerId(9));
    assert_eq!(threshold::crosses(80 * one, 1, g), Sign::Neutral);
    assert_eq!(threshold::crosses(80 * one + 1, 1, g), Sign::Support);
    assert_eq!(threshold::crosses(-80 * one - 1, 1, g), Sign::Against);
    // A malicious identity's ATXs leave the weights.
    t.on_atx(atx(EpochId(3), atx_id(1, 3), node_id(1), 60, 0)).unwrap();
    assert_eq!(t.local_threshold().num, 300 * one);
    t.on_malfeasance(node_id(1));
    assert_eq!(t.local_threshold().num, 240 * one);
    // The window caps the expected range.
    t.cfg.window = 5;
    t.last = LayerId(30);
    assert_eq!(t.expected_weight(LayerId(9)), (2 * 120 + 3 * 240) * one);
}

/// Bad-beacon ballots are not good for the verifying tortoise and count in the full tally
/// only after the delay; ballots wait for an unknown beacon and block encoding meanwhile.
#[test]
fn bad_beacons_and_missing_beacons() {
    let mut t = Tortoise::new(cfg(), GENESIS);
    for i in 0..2 {
        t.on_atx(atx(EpochId(2), atx_id(i, 2), node_id(i), 10, atx_height(2))).unwrap();
    }
    let l1 = LayerId(GENESIS.0 + 1);
    let good = BallotData::new(0, l1, Votes::default());
    let mut bad = BallotData::new(1, l1, Votes::default());
    bad.beacon = Beacon([9; 4]);
    t.on_ballot(good.input()).unwrap();
    t.on_ballot(bad.input()).unwrap();
    t.tally_votes(l1);
    assert_eq!(t.retriable.len(), 2, "no beacon yet");
    assert!(matches!(
        t.encode_votes(LayerId(l1.0 + 1)),
        Err(EncodeError::BallotsPending { count: 2 })
    ));
    t.on_beacon(EpochId(2), BEACON);
    t.tally_votes(l1);
    assert!(t.retriable.is_empty());
    assert_eq!(t.total_good, ballot_weight(10, 1, LPE), "only the good-beacon ballot is good");
    // In full mode the bad one waits for the delay.
    let r = t.find_ballot(&bad.id).unwrap();
    t.mode = Mode::Full;
    t.full_count(r);
    assert!(!t.ballot(r).full_counted);
    assert_eq!(t.delayed.keys().copied().collect::<Vec<_>>(), vec![LayerId(l1.0 + LPE)]);
    t.last = LayerId(l1.0 + LPE);
    t.full_count_delayed(LayerId(l1.0 + LPE));
    assert!(t.ballot(r).full_counted);
}

/// A replaced beacon judges the ballots that come after it; earlier verdicts stay.
#[test]
fn a_replaced_beacon_judges_later_ballots() {
    let mut t = Tortoise::new(cfg(), GENESIS);
    for i in 0..2 {
        t.on_atx(atx(EpochId(2), atx_id(i, 2), node_id(i), 10, atx_height(2))).unwrap();
    }
    let l1 = LayerId(GENESIS.0 + 1);
    let other = Beacon([9; 4]);
    t.on_beacon(EpochId(2), other);
    let early = BallotData::new(0, l1, Votes::default());
    t.on_ballot(early.input()).unwrap();
    t.tally_votes(l1);
    assert_eq!(t.ballot(t.find_ballot(&early.id).unwrap()).bad_beacon, Some(true));
    t.on_beacon(EpochId(2), BEACON);
    let late = BallotData::new(1, l1, Votes::default());
    t.on_ballot(late.input()).unwrap();
    t.tally_votes(l1);
    assert_eq!(t.ballot(t.find_ballot(&late.id).unwrap()).bad_beacon, Some(false));
    assert_eq!(t.ballot(t.find_ballot(&early.id).unwrap()).bad_beacon, Some(true));
}

/// The weak coin decides the node's vote on a layer beyond hdist that the full tally leaves
/// undecided, and a missing coin is an encode error.
#[test]
fn weak_coin_breaks_undecided_votes() {
    let (net, _) = partition_heals(&[10; 4], &[0, 0, 1, 1], 2);
    let t = &net.tortoises[0];
    // Pretend one partition layer is undecided again and check the vote follows the coin.
    let mut copy = t.clone();
    let target = LayerId(GENESIS.0 + 9);
    copy.verified = LayerId(target.0 - 1);
    let current = LayerId(copy.last.0 + 1);
    for block in copy.layer_mut(target).unwrap().blocks.iter_mut() {
        block.margin = 0;
    }
    let coin_layer = copy.last;
    for c in [true, false] {
        copy.layer_mut(coin_layer).unwrap().coin = Some(c);
        let block = copy.layer(target).unwrap().blocks[0].clone();
        assert_eq!(copy.full_vote(target, &block, current), Ok(c));
    }
    copy.layer_mut(coin_layer).unwrap().coin = None;
    let block = copy.layer(target).unwrap().blocks[0].clone();
    assert_eq!(
        copy.full_vote(target, &block, current),
        Err(EncodeError::MissingCoin { layer: coin_layer })
    );
}

/// Config validation names what is wrong.
#[test]
fn config_validation() {
    assert_eq!(cfg().validate(), Ok(()));
    let mut c = cfg();
    c.zdist = 5;
    assert!(c.validate().is_err(), "zdist above hdist");
    let mut c = cfg();
    c.window = c.hdist;
    assert!(c.validate().is_err());
    let mut c = cfg();
    c.layers_per_epoch = 0;
    assert!(c.validate().is_err());
}

/// A shuffle of `items` driven by `seed` (splitmix64 Fisher–Yates).
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        items.swap(i, (z % (i as u64 + 1)) as usize);
    }
}

/// Feeds `history` to a fresh tortoise: each layer's events shuffled by `seed`; with a
/// `delay_seed`, about a quarter of the ballots are held back to the next layer's batch (after
/// the tally of their own layer). Events whose base is not known yet are retried after the
/// rest of the batch, as a node fetches dependencies.
fn replay(
    weights: &[u64],
    history: &[(LayerId, Vec<Event>)],
    seed: u64,
    delay_seed: Option<u64>,
) -> Tortoise {
    let mut t = tortoise(weights);
    let mut carried: Vec<Event> = Vec::new();
    for (i, (layer, events)) in history.iter().enumerate() {
        let mut batch = std::mem::take(&mut carried);
        for (j, e) in events.iter().enumerate() {
            let late = delay_seed.is_some_and(|d| {
                let h = hash_parts(&[
                    &d.to_le_bytes(),
                    &(i as u64).to_le_bytes(),
                    &(j as u64).to_le_bytes(),
                ]);
                h.0[0].is_multiple_of(4)
            });
            // Only ballots are delayed: a late hare output is a different run, not a reorder.
            if matches!(e, Event::Ballot(_)) && late && i + 1 < history.len() {
                carried.push(e.clone());
            } else {
                batch.push(e.clone());
            }
        }
        shuffle(&mut batch, seed ^ u64::from(layer.0));
        deliver(&mut t, batch);
        t.tally_votes(*layer);
        t.updates();
        t.check_state();
        feed_epochs(&mut t, weights);
    }
    let last = history.last().unwrap().0;
    deliver(&mut t, carried);
    t.tally_votes(last);
    t
}

fn deliver(t: &mut Tortoise, mut batch: Vec<Event>) {
    while !batch.is_empty() {
        let before = batch.len();
        let mut rest = Vec::new();
        for e in batch {
            match apply(t, &e) {
                Ok(()) => {}
                Err(TortoiseReject::UnknownBase { .. }) => rest.push(e),
                Err(err) => panic!("{err}"),
            }
        }
        assert!(rest.len() < before, "dependencies resolve");
        batch = rest;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// (5) Order independence: the same ballots, blocks, hare outputs and coins delivered to
    /// two tortoises in two random orders between the same tallies end in exactly the opinions,
    /// validity, verified layer and mode of the voter that saw them in order. With some ballots
    /// a layer late the verifiers may take another path (full mode earlier, so another verified
    /// layer at the end), but every layer verified by both has the same opinion and validity.
    #[test]
    fn delivery_order_does_not_matter(
        weights in proptest::collection::vec(1u64..60, 4..8),
        failed in proptest::option::of(3u32..12),
        silent in any::<bool>(),
        split in 0usize..3,
        seeds in any::<[u64; 6]>(),
    ) {
        let mut net = Net::new(&weights);
        // `split` voters see another hare output in one layer (a minority view).
        for i in 0..split {
            net.groups[i] = 1;
        }
        for n in 0..16u32 {
            // A failed layer: an empty hare output, or no hare output at all.
            net.hare_silent = silent && Some(n) == failed;
            net.step(|g| {
                if Some(n) == failed {
                    None
                } else if n == 5 && g == 1 {
                    Some(1)
                } else {
                    Some(0)
                }
            });
        }
        let reference = &net.tortoises[weights.len() - 1];
        let a = replay(&weights, &net.history, seeds[0], None);
        let b = replay(&weights, &net.history, seeds[1], None);
        for t in [&a, &b] {
            prop_assert_eq!(t.latest_verified(), reference.latest_verified());
            prop_assert_eq!(t.mode(), reference.mode());
            for l in GENESIS.0..=net.last.0 {
                prop_assert_eq!(t.result(LayerId(l)), reference.result(LayerId(l)), "{:?}", l);
            }
        }
        let c = replay(&weights, &net.history, seeds[2], Some(seeds[3]));
        let d = replay(&weights, &net.history, seeds[4], Some(seeds[5]));
        for (x, y) in [(&c, &d), (&c, reference), (&d, reference)] {
            let both = x.latest_verified().min(y.latest_verified());
            prop_assert!(both.0 + 2 * cfg().hdist >= net.last.0, "{:?}", both);
            for l in GENESIS.0..=both.0 {
                prop_assert_eq!(settled(x, LayerId(l)), settled(y, LayerId(l)), "{:?}", l);
            }
        }
    }
}

/// The window bounds the state: layers more than `window` behind the verified one are
/// evicted (with their ballots and votes) while verification and encoding go on, and inputs
/// too far ahead are refused.
#[test]
fn eviction_keeps_state_bounded() {
    let mut c = cfg();
    c.window = 6;
    let mut net = Net::with_cfg(c, &[10, 20, 30]);
    for _ in 0..40 {
        net.step(|_| Some(0));
        let t = &net.tortoises[0];
        assert_eq!(t.latest_verified(), LayerId(net.last.0 - 1));
        assert!(t.layers.len() <= c.window as usize + 2, "{} layers", t.layers.len());
        assert!(t.ballot_index.len() <= 3 * (c.window as usize + 2));
        // The window spans at most three epochs; two more are fed ahead.
        assert!(t.epochs.len() <= 5, "{} epochs", t.epochs.len());
    }
    let t = &mut net.tortoises[0];
    assert!(t.evicted.0 > GENESIS.0 + 20);
    assert_eq!(t.opinion(GENESIS), None, "evicted");
    let far = LayerId(net.last.0 + c.window + 1);
    let r = t.on_ballot(BallotData::new(0, far, Votes::default()).input());
    assert_eq!(r, Err(TortoiseReject::TooFarAhead { layer: far, last: net.last }));
    // A ballot naming the evicted genesis pseudo-ballot has no base any more.
    let r = t.on_ballot(BallotData::new(0, LayerId(net.last.0 + 1), Votes::default()).input());
    assert_eq!(r, Err(TortoiseReject::UnknownBase { base: BallotId::default() }));
}

/// A block that appears after ballots were counted in full mode gets their weight against it
/// (they did not support it), exactly as if it had been known before the ballots.
#[test]
fn late_block_counts_as_against() {
    let (l1, l2) = (LayerId(GENESIS.0 + 1), LayerId(GENESIS.0 + 2));
    let (x, y) = (block_id(l1, 0), block_id(l1, 1));
    let h = block_height(l1);
    let b1 = BallotData::new(0, l1, Votes::default());
    let mut v2 = Votes { base: b1.id, ..Votes::default() };
    v2.support = BoundedVec::new(vec![BlockVote { id: x, layer: l1, height: h }]).unwrap();
    let later: Vec<BallotData> = (0..3).map(|i| BallotData::new(i, l2, v2.clone())).collect();
    let run = |y_first: bool| {
        let mut t = tortoise(&[10, 20, 30]);
        t.on_block(x, l1, h);
        if y_first {
            t.on_block(y, l1, h);
        }
        t.on_ballot(b1.input()).unwrap();
        for b in &later {
            t.on_ballot(b.input()).unwrap();
        }
        t.tally_votes(l2);
        t.run_full();
        if !y_first {
            t.on_block(y, l1, h);
        }
        t.check_state();
        let layer = t.layer(l1).unwrap();
        layer.blocks.iter().map(|b| (b.key.id, b.margin)).collect::<Vec<_>>()
    };
    let late = run(false);
    assert_eq!(late, run(true));
    let w = ballot_weight(10, 1, LPE) + ballot_weight(20, 1, LPE) + ballot_weight(30, 1, LPE);
    let margin = |id| late.iter().find(|(b, _)| *b == id).unwrap().1;
    assert_eq!(margin(x), w);
    assert_eq!(margin(y), -w);
}

/// Malfeasance takes a smesher's ballots out of both tallies, also retroactively: the
/// verifying good weight and the full-mode margins end exactly as if the smesher had been known
/// malicious before its ballots, i.e. they hold the honest weight only.
#[test]
fn malfeasance_leaves_both_tallies() {
    let (l1, l2, l3) = (LayerId(GENESIS.0 + 1), LayerId(GENESIS.0 + 2), LayerId(GENESIS.0 + 3));
    let x = block_id(l1, 0);
    let h = block_height(l1);
    let weights = [10, 20, 30];
    let b1: Vec<BallotData> = (0..3).map(|i| BallotData::new(i, l1, Votes::default())).collect();
    let mut v2 = Votes { base: b1[0].id, ..Votes::default() };
    v2.support = BoundedVec::new(vec![BlockVote { id: x, layer: l1, height: h }]).unwrap();
    let b2: Vec<BallotData> = (0..3).map(|i| BallotData::new(i, l2, v2.clone())).collect();
    let run = |report_first: bool| {
        let mut t = tortoise(&weights);
        if report_first {
            t.on_malfeasance(node_id(2));
        }
        t.on_block(x, l1, h);
        t.on_hare_output(l1, Some(x));
        for b in b1.iter().chain(&b2) {
            t.on_ballot(b.input()).unwrap();
        }
        t.tally_votes(l2);
        t.run_full();
        t.tally_votes(l3);
        if !report_first {
            t.on_malfeasance(node_id(2));
        }
        t.check_state();
        let layer = t.layer(l1).unwrap();
        (t.total_good, layer.blocks[0].margin, layer.empty, t.local_threshold())
    };
    let (good, margin, empty, local) = run(false);
    assert_eq!((good, margin, empty, local), run(true));
    let honest = ballot_weight(10, 1, LPE) + ballot_weight(20, 1, LPE);
    assert_eq!(margin, honest, "only honest support for x");
    assert_eq!(good, 2 * honest, "honest ballots of l1 and l2 are good");
    assert_eq!(local.num, 30 * WEIGHT_ONE, "the malicious ATX left the epoch weight");
}

//! A ballot that arrives before its smesher's ref ballot of the epoch, or before its ATX: the
//! node keeps it aside, asks the peer that sent it for what it lacks, and judges it again once
//! that is accepted; when nobody delivers it, the waiting ballot is dropped. A forged ballot
//! makes the node fetch nothing.
//!
//! The ballots are real signed proposals with real VRF eligibilities; the smesher's ATX header,
//! the active set and the beacon of the epoch are put into the consensus part directly.

use std::sync::Arc;

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::activation::store::AtxHeader;
use crate::codec::BoundedBytes;
use crate::crypto::Ed25519Verifier;

const GENESIS: GenesisId = GenesisId([3; 20]);
/// The epoch of the ballots: the first one with ballots.
const EPOCH: EpochId = EpochId(2);
/// The peer that gossips the later ballot (and is asked for the ref ballot).
const SENDER: PeerId = PeerId([0xa; 32]);
/// Another connected peer.
const OTHER: PeerId = PeerId([0xb; 32]);

/// A consensus part that knows smesher S's ATX for [`EPOCH`], the epoch's active set (S's ATX
/// alone) and its beacon, and S's signed proposals in two layers of the epoch: its ref ballot
/// (first eligible layer) and a later ballot pointing at it.
struct Fixture {
    c: Consensus,
    /// Smesher S.
    smesher: NodeId,
    /// S's ref ballot of the epoch.
    first: Signed,
    /// S's next ballot, which names `first` as its ref ballot.
    later: Signed,
    /// `first` with its smesher's signature broken.
    forged: Signed,
    /// S's ATX header.
    header: Arc<AtxHeader>,
}

/// An encoded proposal and what the test looks it up by.
struct Signed {
    layer: LayerId,
    id: BallotId,
    bytes: Bytes,
}

fn fixture() -> Fixture {
    fixture_with(true)
}

/// The fixture; without `atx_known`, S's ATX is not stored (it is in the active set).
fn fixture_with(atx_known: bool) -> Fixture {
    let cfg = ConsensusConfig::sim(Time(0), 1, Vec::new());
    let clock = cfg.clock;
    let ballot_cfg = cfg.ballot;
    let rng = ChaCha8Rng::from_seed([0; 32]);
    let mut c = Consensus::new(cfg, GENESIS, [1; 32], [2; 32], Arc::new(Ed25519Verifier), rng);

    // Smesher S (not this node), with an ATX published in the epoch before.
    let seed = [9; 32];
    let signer = Signer::from_seed(seed, GENESIS);
    let header =
        Arc::new(AtxHeader::sample(Hash32([7; 32]), signer.node_id(), EpochId(EPOCH.0 - 1)));
    if atx_known {
        accept_atx(&mut c, &header);
    }
    let set = HashedActiveSet::new(ActiveSet { atxs: vec![header.id], weight: header.weight });
    c.active_sets.insert(EPOCH, set.clone());
    c.decide_beacon(EPOCH, genesis_beacon(&GENESIS), BeaconSource::Genesis);

    // S's eligibilities, as S itself computes them.
    let info = EpochInfo { epoch: EPOCH, beacon: c.beacons[&EPOCH], active_set: set };
    let lpe = clock.layers_per_epoch;
    let own = OwnEligibility::compute(&ballot_cfg, lpe, &info, &seed, 10, header.vrf_nonce);
    let mut layers = own.layers.keys().copied();
    let (l1, l2) = (layers.next().expect("a slot"), layers.next().expect("a second layer"));
    let sign = |layer: LayerId, ref_ballot: BallotId, epoch_data: Option<EpochData>| {
        let votes = Votes::default();
        let inner = InnerBallot {
            layer,
            atx: header.id,
            opinion_hash: opinion_hash(&votes),
            ref_ballot,
            epoch_data,
        };
        let eligibilities = BoundedVec::new(own.layers[&layer].clone()).expect("few proofs");
        let ballot = Ballot::sign(&signer, inner, votes, eligibilities);
        let id = ballot.id();
        let p = Proposal::sign(&signer, ballot, BoundedVec::default(), Hash32::default());
        Signed { layer, id, bytes: p.encode().into() }
    };
    let epoch_data = EpochData {
        active_set_hash: info.active_set.hash(),
        beacon: info.beacon,
        eligibility_count: own.count,
    };
    let first = sign(l1, BallotId::default(), Some(epoch_data));
    let later = sign(l2, first.id, None);
    let mut p = decode_shared::<Proposal>(&first.bytes).expect("a proposal");
    p.ballot.signature.0[0] ^= 1;
    let forged = Signed { layer: l1, id: p.ballot.id(), bytes: p.encode().into() };
    // Drop the outputs of the setup (the beacon's persist and event).
    while c.poll_output().is_some() {}
    Fixture { c, smesher: signer.node_id(), first, later, forged, header }
}

/// As the ATX handler's acceptance would: stored, and given to the tortoise.
fn accept_atx(c: &mut Consensus, header: &Arc<AtxHeader>) {
    c.atxs.store_mut().insert(header.clone(), Time(0));
    let _ = c.tortoise.on_atx(header.clone());
}

/// Every output pending.
fn outputs(c: &mut Consensus) -> Vec<ConsensusOutput> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

/// The fetch requests for `ballot` among `outs`: (peer, request id).
fn ref_requests(outs: &[ConsensusOutput], ballot: BallotId) -> Vec<(PeerId, u64)> {
    requests(outs, Hint::Ballot, mesh::ballot_key(&ballot))
}

/// The fetch requests for `hash` of kind `hint` among `outs`: (peer, request id).
fn requests(outs: &[ConsensusOutput], hint: Hint, hash: Hash32) -> Vec<(PeerId, u64)> {
    outs.iter()
        .filter_map(|o| match o {
            ConsensusOutput::Fetch(peer, FetchMessage::Request { id, hint: h, hashes })
                if *h == hint && hashes.contains(&hash) =>
            {
                Some((*peer, *id))
            }
            _ => None,
        })
        .collect()
}

/// The verdict on gossip message `id` among `outs`.
fn verdict(outs: &[ConsensusOutput], id: MsgId) -> Option<Verdict> {
    outs.iter().find_map(|o| match o {
        ConsensusOutput::Verdict(m, v) if *m == id => Some(*v),
        _ => None,
    })
}

/// S's later ballot, gossiped by [`SENDER`] before S's ref ballot, is not accepted; the node
/// asks that peer (not the other connected one) for the ref ballot, and answering the request
/// with the ref ballot gets both ballots accepted, without penalty for anyone.
#[test]
fn missing_ref_ballot_is_fetched_from_the_sender_then_both_are_accepted() {
    let Fixture { mut c, smesher, first, later, .. } = fixture();
    let now = c.cfg.clock.layer_start(later.layer);
    let msg = Hash32([1; 32]);
    c.on_gossip(now, msg, Topic::Proposal, later.bytes.clone(), SENDER);
    let outs = outputs(&mut c);
    assert_eq!(verdict(&outs, msg), Some(Verdict::Ignore), "refused, not penalized");
    assert!(c.ballots().raw(&later.id).is_none(), "not accepted without its ref ballot");
    assert_eq!(c.waiting.len(), 1, "it waits for the ref");

    c.on_tick(now, &[OTHER, SENDER]);
    let outs = outputs(&mut c);
    let requests = ref_requests(&outs, first.id);
    let [(peer, request)] = requests[..] else {
        panic!("one request for the ref ballot, got {requests:?}");
    };
    assert_eq!(peer, SENDER, "asked of the peer the waiting ballot came from");

    let data = BoundedBytes::new(first.bytes.clone()).expect("small");
    let item = FetchItem { hash: mesh::ballot_key(&first.id), data: Some(data) };
    let items = BoundedVec::new(vec![item]).expect("one item");
    c.on_fetch(now, SENDER, FetchMessage::Response { id: request, items });
    let outs = outputs(&mut c);
    assert!(
        !outs.iter().any(|o| matches!(o, ConsensusOutput::Penalize(..))),
        "a correct answer is not penalized: {outs:?}"
    );
    assert!(c.ballots().raw(&first.id).is_some(), "the fetched ref ballot is accepted");
    assert!(c.ballots().raw(&later.id).is_some(), "the waiting ballot is accepted with it");
    assert_eq!(c.ballots().ref_ballot(EPOCH, &smesher), Some(first.id), "S's ref ballot");
    assert!(c.waiting.is_empty(), "nothing waits any more");
    c.check_invariants();
}

/// When no peer delivers the ref ballot (each connected peer is asked once and lets the
/// request time out), the fetch fails and the waiting ballot is dropped: the ref ballot
/// arriving by gossip afterwards is accepted alone.
#[test]
fn waiting_ballot_is_dropped_when_its_ref_ballot_cannot_be_fetched() {
    let Fixture { mut c, first, later, .. } = fixture();
    let mut now = c.cfg.clock.layer_start(later.layer);
    c.on_gossip(now, Hash32([1; 32]), Topic::Proposal, later.bytes.clone(), SENDER);
    let connected = [OTHER, SENDER];
    let mut asked = Vec::new();
    for _ in 0..connected.len() + 2 {
        c.on_tick(now, &connected);
        asked.extend(ref_requests(&outputs(&mut c), first.id).into_iter().map(|(p, _)| p));
        c.check_invariants();
        if c.waiting.is_empty() {
            break;
        }
        now = now + c.cfg.fetch.timeout;
    }
    assert_eq!(asked, [SENDER, OTHER], "the sender first, then the other peer, once each");
    assert!(c.waiting.is_empty(), "the waiting ballot is dropped once the fetch fails");
    assert_eq!(c.cfg.clock.layer_at(now), later.layer, "still within the ballots' window");

    let msg = Hash32([2; 32]);
    c.on_gossip(now, msg, Topic::Proposal, first.bytes.clone(), SENDER);
    assert_eq!(verdict(&outputs(&mut c), msg), Some(Verdict::Accept));
    assert!(c.ballots().raw(&first.id).is_some(), "the ref ballot is accepted");
    assert!(c.ballots().raw(&later.id).is_none(), "the dropped ballot is not judged again");
    c.check_invariants();
}

/// S's ref ballot, gossiped by [`SENDER`] while this node lacks S's ATX, waits for the ATX,
/// which is asked of that peer; once the ATX is accepted here the ballot is judged again and
/// accepted. A copy with a broken signature makes the node ask for nothing.
#[test]
fn ballot_with_an_unknown_atx_waits_for_it() {
    let Fixture { mut c, first, forged, header, .. } = fixture_with(false);
    let now = c.cfg.clock.layer_start(first.layer);
    let connected = [OTHER, SENDER];
    c.on_gossip(now, Hash32([1; 32]), Topic::Proposal, forged.bytes.clone(), SENDER);
    c.on_tick(now, &connected);
    assert!(requests(&outputs(&mut c), Hint::Atx, header.id).is_empty(), "forged: no fetch");
    assert!(c.waiting.is_empty());

    let msg = Hash32([2; 32]);
    c.on_gossip(now, msg, Topic::Proposal, first.bytes.clone(), SENDER);
    let outs = outputs(&mut c);
    assert_eq!(verdict(&outs, msg), Some(Verdict::Ignore), "refused, not penalized");
    assert_eq!(c.waiting.len(), 1, "it waits for the ATX");
    c.on_tick(now, &connected);
    let asked = requests(&outputs(&mut c), Hint::Atx, header.id);
    assert_eq!(asked.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [SENDER], "asked of the sender");

    accept_atx(&mut c, &header);
    c.judge_waiting(now, (Hint::Atx, header.id));
    assert!(c.ballots().raw(&first.id).is_some(), "accepted once its ATX is");
    assert!(c.waiting.is_empty());
    c.check_invariants();
}

/// Waiting proposals leave with their layer's ballot window, and the bound holds.
#[test]
fn waiting_proposals_leave_with_the_window() {
    let Fixture { mut c, first, header, .. } = fixture_with(false);
    let now = c.cfg.clock.layer_start(first.layer);
    c.on_gossip(now, Hash32([1; 32]), Topic::Proposal, first.bytes.clone(), SENDER);
    assert_eq!(c.waiting.len(), 1);
    c.waiting.prune(first.layer);
    assert_eq!(c.waiting.len(), 1, "its layer is still in the window");
    c.waiting.prune(LayerId(first.layer.0 + 1));
    assert!(c.waiting.is_empty(), "its layer left the window");
    assert!(c.waiting.take(&(Hint::Atx, header.id)).is_empty());
    c.check_invariants();
}

/// A synced node that had to fetch a ballot of a past layer missed it: it asks the peer that
/// served it for the ballot ids of that layer and every later one up to the previous layer,
/// and for the ATX ids of the current epoch; ballots listed that it lacks are fetched from that
/// peer. Each layer is asked of a peer once, and a node that is not synced asks nothing.
#[test]
fn a_missed_ballot_makes_a_synced_node_relist_its_layers_from_the_peer() {
    let Fixture { mut c, first, later, .. } = fixture();
    c.start_sync(Time(0)); // up since genesis: synced
    let now = c.cfg.clock.layer_start(LayerId(later.layer.0 + 2));
    let current = c.cfg.clock.layer_at(now);
    c.on_gossip(now, Hash32([1; 32]), Topic::Proposal, later.bytes.clone(), SENDER);
    let connected = [OTHER, SENDER];
    c.on_tick(now, &connected);
    let [(_, request)] = ref_requests(&outputs(&mut c), first.id)[..] else {
        panic!("one request for the ref ballot");
    };
    let data = BoundedBytes::new(first.bytes.clone()).expect("small");
    let item = FetchItem { hash: mesh::ballot_key(&first.id), data: Some(data) };
    let items = BoundedVec::new(vec![item]).expect("one item");
    c.on_fetch(now, SENDER, FetchMessage::Response { id: request, items });
    assert!(c.ballots().raw(&first.id).is_some(), "the fetched ref ballot is accepted");

    c.on_tick(now, &connected);
    let outs = outputs(&mut c);
    let epoch = c.cfg.clock.epoch_of(current);
    let atx_lists = requests(&outs, Hint::EpochAtxs, sync::number_key(epoch.0));
    assert_eq!(atx_lists.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [SENDER]);
    let mut listed = Vec::new();
    for l in first.layer.0..current.0 + 1 {
        for (peer, id) in requests(&outs, Hint::LayerBallots, sync::number_key(l)) {
            assert_eq!(peer, SENDER, "layer {l} is asked of the peer that served the ballot");
            listed.push((l, id));
        }
    }
    let layers: Vec<u32> = listed.iter().map(|(l, _)| *l).collect();
    assert_eq!(layers, (first.layer.0..current.0).collect::<Vec<_>>(), "up to the previous");
    c.check_invariants();

    // The peer lists a ballot of the first layer this node never heard of: it is fetched
    // from that peer.
    let unknown = BallotId([0x5a; 20]);
    let (layer, id) = listed[0];
    let list = sync::IdList(BoundedVec::new(vec![first.id, unknown]).expect("two ids"));
    let data = BoundedBytes::new(list.encode().into()).expect("small");
    let item = FetchItem { hash: sync::number_key(layer), data: Some(data) };
    let items = BoundedVec::new(vec![item]).expect("one item");
    c.on_fetch(now, SENDER, FetchMessage::Response { id, items });
    c.on_tick(now, &connected);
    let outs = outputs(&mut c);
    let asked = ref_requests(&outs, unknown);
    assert_eq!(asked.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [SENDER], "fetched from it");
    assert!(ref_requests(&outs, first.id).is_empty(), "a held ballot is not fetched again");

    // The same sign from the same peer asks for nothing again.
    c.on_missed_ballot(now, first.layer, SENDER);
    c.on_tick(now, &connected);
    let outs = outputs(&mut c);
    let relisted = |l: u32| !requests(&outs, Hint::LayerBallots, sync::number_key(l)).is_empty();
    assert!(!(first.layer.0..current.0).any(relisted), "no layer asked again");
    assert!(requests(&outs, Hint::EpochAtxs, sync::number_key(epoch.0)).is_empty());

    // Not synced: a fetched ballot of a past layer is sync's business, not a sign.
    c.sync.synced = false;
    c.on_missed_ballot(now, first.layer, OTHER);
    assert_eq!(c.sync.relist.asked_of(OTHER), 0, "nothing asked");
    c.check_invariants();
}

/// A synced node without the hare output of a layer whose certificate is due (the layer ended
/// a layer ago, within hdist) asks a peer for the certificate, once per layer; layers with an
/// output (empty or not) are not asked for, and neither is a layer whose epoch has no known
/// committee yet.
#[test]
fn a_synced_node_asks_for_the_certificates_of_hare_outputs_it_missed() {
    let Fixture { mut c, .. } = fixture();
    c.start_sync(Time(0)); // up since genesis: synced
    let lpe = c.cfg.clock.layers_per_epoch;
    let hdist = c.cfg.tortoise.hdist;
    let current = LayerId(EPOCH.0 * lpe + hdist);
    let held = LayerId(current.0 - 3);
    c.hare_block(held, None);
    let connected = [OTHER, SENDER];
    let asked = |c: &mut Consensus, at: LayerId| {
        c.on_tick(c.cfg.clock.layer_start(at), &connected);
        let outs = outputs(c);
        (0..=at.0 + 1)
            .filter(|&l| !requests(&outs, Hint::Certificate, sync::number_key(l)).is_empty())
            .collect::<Vec<u32>>()
    };
    assert_eq!(
        asked(&mut c, current),
        [current.0 - 4, current.0 - 2],
        "the due layers within hdist without an output"
    );
    assert_eq!(c.sync.certificates_asked(), [current.0 - 4, current.0 - 2]);
    assert!(asked(&mut c, current).is_empty(), "once per layer");
    // A layer later: the newly due layer is asked for (the fetcher may retry the others with
    // another peer), the one that left hdist is forgotten.
    assert!(asked(&mut c, LayerId(current.0 + 1)).contains(&(current.0 - 1)), "newly due");
    assert_eq!(c.sync.certificates_asked(), [current.0 - 2, current.0 - 1]);
    c.check_invariants();

    // The next epoch has no committee here (no beacon, no active set): nothing is asked until
    // it has one.
    let next = LayerId((EPOCH.0 + 1) * lpe + 3);
    asked(&mut c, next);
    assert_eq!(c.sync.certificates_asked(), [next.0 - 4], "{next}: only its epoch's last layer");
}

/// The proposal id of an encoded proposal.
fn proposal_id(bytes: &Bytes) -> ProposalId {
    decode_shared::<Proposal>(bytes).expect("a proposal").id()
}

/// A hare output naming a proposal this node never received: the block fails, the proposal is
/// asked of a peer by its own id and layer, and once the answer is accepted the block is built.
/// An answer that is another proposal is penalized, builds nothing, and the proposal is asked
/// of another peer; a node holding the
/// proposal serves it under that key, and nothing under a key with another layer or padding.
#[test]
fn a_proposal_named_by_the_hare_output_is_fetched_by_its_id() {
    let Fixture { mut c, first, later, .. } = fixture();
    let now = c.cfg.clock.layer_start(first.layer);
    let id = proposal_id(&first.bytes);
    let key = mesh::proposal_key(first.layer, &id);
    c.build_block(now, first.layer, &[id]);
    let outs = outputs(&mut c);
    assert!(
        outs.iter().any(|o| matches!(
            o,
            ConsensusOutput::Event(ConsensusEvent::BlockFailed { layer, .. }) if *layer == first.layer
        )),
        "no block without the proposal: {outs:?}"
    );
    let connected = [OTHER, SENDER];
    c.on_tick(now, &connected);
    let asked = requests(&outputs(&mut c), Hint::Proposal, key);
    let [(peer, request)] = asked[..] else { panic!("one request, got {asked:?}") };

    // Another proposal under the key: penalized, and nothing is built.
    let wrong = BoundedBytes::new(later.bytes.clone()).expect("small");
    let items = BoundedVec::new(vec![FetchItem { hash: key, data: Some(wrong) }]).expect("one");
    c.on_fetch(now, peer, FetchMessage::Response { id: request, items });
    let outs = outputs(&mut c);
    assert!(outs.contains(&ConsensusOutput::Penalize(peer, Penalty::Protocol)), "{outs:?}");
    assert!(c.ballots().raw(&later.id).is_none(), "a wrong answer is not taken");

    // Asked again of the other peer (the layer is still unbuilt), answered right: accepted
    // and built.
    let bad = peer;
    c.on_tick(now, &connected);
    let asked = requests(&outputs(&mut c), Hint::Proposal, key);
    let [(peer, request)] = asked[..] else { panic!("asked again, got {asked:?}") };
    assert_ne!(peer, bad, "not of the peer that answered wrong");
    let data = BoundedBytes::new(first.bytes.clone()).expect("small");
    let items = BoundedVec::new(vec![FetchItem { hash: key, data: Some(data) }]).expect("one");
    c.on_fetch(now, peer, FetchMessage::Response { id: request, items });
    let outs = outputs(&mut c);
    assert!(!outs.iter().any(|o| matches!(o, ConsensusOutput::Penalize(..))), "{outs:?}");
    assert!(c.ballots().raw(&first.id).is_some(), "the fetched proposal is accepted");
    assert!(
        outs.iter().any(|o| matches!(
            o,
            ConsensusOutput::Event(ConsensusEvent::Block { layer, proposals: 1, .. })
                if *layer == first.layer
        )),
        "the block is built once the proposal is here: {outs:?}"
    );
    c.check_invariants();

    // Served by id and layer only.
    let served = c.serve(Hint::Proposal, &key).expect("served");
    assert_eq!(served.as_ref(), first.bytes.as_ref());
    let other_layer = mesh::proposal_key(later.layer, &id);
    assert!(c.serve(Hint::Proposal, &other_layer).is_none(), "looked up in its layer only");
    let mut padded = key;
    padded.0[31] = 1;
    assert!(c.serve(Hint::Proposal, &padded).is_none(), "padding must be zero");
    assert_eq!(mesh::proposal_of_key(&key), Some((first.layer, id)));
}

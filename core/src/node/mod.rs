//! The node: composes every protocol and is the only thing a runtime talks to.
//!
//! See the crate documentation for the I/O contract. Routing between protocols happens inside
//! [`Node::handle`]: gossip hands messages to their topic's owner for a verdict, owners request
//! signature checks (batched into [`Job::VerifySignatures`]), penalties flow to peer upkeep, and
//! everything observable becomes a [`NodeEvent`].
//!
//! Invariants:
//! 1. `now` never decreases between calls; `Restore` is the first input and comes once.
//! 2. At most `verify_jobs_max` signature jobs are in flight, each with at most `verify_batch_max` checks.
//! 3. Every module's own invariants hold after every `handle` (see `check_invariants`).

mod config;
pub mod consensus;
mod event;

pub use config::{NodeConfig, NodeKeys};
pub use consensus::{
    AccountView, Consensus, ConsensusConfig, ConsensusEvent, Misbehavior, TxStatus, Voting,
};
pub use event::NodeEvent;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::codec::Encode;
use crate::crypto::{Signer, Verifier};
use crate::frame::Frame;
use crate::gossip::Verdict;
use crate::gossip::{
    Gossip, GossipInput, GossipOutput, HeldFrame, MsgId, PublishPrint, SeenMark, Topic,
};
use crate::heartbeat::{Heartbeat, HeartbeatInput, HeartbeatOutput};
use crate::job::{Job, JobId, JobResult, SignatureCheck};
use crate::node::consensus::{ConsensusOutput, JobOwner};
use crate::p2p::{DisconnectReason, PeerAddr, Peers, PeersInput, PeersOutput, Penalty};
use crate::poet::api::{PoetRequest, PoetResponse};
use crate::store::{Batch, Snapshot};
use crate::types::{NodeId, PeerId, Time};

/// Everything a runtime feeds a node.
#[derive(Debug, Clone)]
pub enum Input {
    /// The node's durable state (empty on first start). Must be the first input.
    Restore(Snapshot),
    /// A frame from a connected peer.
    Message {
        /// Sender.
        peer: PeerId,
        /// The raw frame.
        bytes: Bytes,
    },
    /// Time passed (deliver at or after [`Node::poll_timeout`]; spurious ticks are harmless).
    Tick,
    /// A job from [`Output::StartJob`] finished.
    JobDone {
        /// The job.
        id: JobId,
        /// Its result.
        result: JobResult,
    },
    /// A connection is established.
    PeerUp {
        /// The peer.
        peer: PeerId,
        /// Whether this node dialed.
        outbound: bool,
    },
    /// A connection closed or a dial failed.
    PeerDown {
        /// The peer.
        peer: PeerId,
    },
    /// A request from the API or CLI.
    Command(Command),
    /// A PoET answered request `id` of an [`Output::Poet`] (no answer: the node times out).
    PoetResponse {
        /// The request.
        id: u64,
        /// The answer.
        response: PoetResponse,
    },
}

/// Requests from the API or CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Add dial candidates (bootstrap list, discovery).
    AddPeers(Vec<PeerId>),
    /// Where the runtime reaches a peer (a bootstrap entry, a dialed address, a listen port a
    /// peer announced): opaque to the node, shared in peer exchange and named in
    /// [`Output::Connect`].
    PeerAddress {
        /// The peer.
        peer: PeerId,
        /// Its address.
        addr: PeerAddr,
    },
    /// A signed transaction from a wallet: checked, added to the mempool and published; the
    /// node answers with [`ConsensusEvent::TxSubmitted`] (a node without a consensus part
    /// ignores it).
    SubmitTx(Bytes),
    /// Start (`true`) or stop (`false`) smeshing: see [`Consensus::set_smeshing`]. Not
    /// persisted: a restarted node smeshes as its configuration says.
    SetSmeshing(bool),
    /// Send the rewards of the ATXs published from now on to this address: see
    /// [`Consensus::set_coinbase`]. Not persisted.
    SetCoinbase(crate::account::Address),
}

/// Everything a node asks its runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send a frame to a connected peer.
    Send {
        /// Recipient.
        peer: PeerId,
        /// The frame.
        bytes: Bytes,
    },
    /// Dial a peer; answer with `PeerUp` or `PeerDown`.
    Connect {
        /// The peer.
        peer: PeerId,
        /// Where to reach it, if the node learned that ([`Command::PeerAddress`] or peer
        /// exchange); else the runtime's own book decides.
        addr: Option<PeerAddr>,
    },
    /// Close a connection (no `PeerDown` needed: the node already forgot it).
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DisconnectReason,
    },
    /// Make this batch durable, atomically, before acting on any later output.
    Persist(Batch),
    /// Run heavy work; answer with `JobDone`.
    StartJob {
        /// Job id, unique within this node's life.
        id: JobId,
        /// What to do (boxed: jobs are rare, and every output is as large as its largest
        /// kind while sends are most of them).
        job: Box<Job>,
    },
    /// An observable fact, for checkers, the API and the trace.
    Event(NodeEvent),
    /// Send a request to a PoET service (answer with [`Input::PoetResponse`]).
    Poet {
        /// The PoET's public key.
        poet: NodeId,
        /// Request id.
        id: u64,
        /// The request (boxed, as jobs).
        request: Box<PoetRequest>,
    },
}

/// A frame [`Node::seen_publish`] found to be a copy of a message the node has already seen,
/// from a connected peer at a time: consumed by [`Node::absorb`], before any other input.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "absorb it, or hand the frame to Node::handle"]
pub struct SeenCopy {
    now: Time,
    peer: PeerId,
}

/// Who is waiting for a job.
#[derive(Debug)]
enum JobWaiter {
    /// Heartbeat signature checks, one gossip id per check.
    Signatures(Vec<MsgId>),
    /// The consensus part.
    Consensus(JobOwner),
}

/// Counters of the node itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Frames that failed to decode.
    pub malformed_frames: u64,
    /// Frames from peers that are not connected (raced a disconnect).
    pub frames_from_strangers: u64,
    /// Jobs started.
    pub jobs_started: u64,
}

/// A Spacemesh node as a Sans-IO state machine.
#[derive(Debug)]
pub struct Node {
    cfg: NodeConfig,
    node_id: NodeId,
    peer_id: PeerId,
    peers: Peers,
    gossip: Gossip,
    heartbeat: Heartbeat,
    consensus: Option<Consensus>,
    /// Signature checks waiting for a job slot, with the gossip id each one decides.
    checks_waiting: VecDeque<(MsgId, SignatureCheck)>,
    jobs: BTreeMap<JobId, JobWaiter>,
    /// Signature-check jobs in flight (bounded by `verify_jobs_max`).
    signature_jobs: usize,
    next_job: u64,
    restored: bool,
    last_now: Time,
    outputs: VecDeque<Output>,
    stats: NodeStats,
}

impl Node {
    /// A node with the given keys; `seed` seeds every random choice it makes. `verifier` checks
    /// signatures and VRF proofs of consensus messages inline (the simulator shares a memoizing
    /// one between nodes).
    pub fn new(
        cfg: NodeConfig,
        keys: &NodeKeys,
        seed: [u8; 32],
        verifier: Arc<dyn Verifier>,
    ) -> Self {
        let identity = Signer::from_seed(keys.identity_seed, cfg.genesis);
        let peer_id = PeerId(Signer::from_seed(keys.p2p_seed, cfg.genesis).node_id().0);
        let stream = |tag: u64| {
            let mut rng = ChaCha8Rng::from_seed(seed);
            rng.set_stream(tag);
            rng
        };
        let consensus = cfg.consensus.clone().map(|c| {
            Consensus::new(c, cfg.genesis, keys.identity_seed, peer_id.0, verifier, stream(3))
        });
        Node {
            consensus,
            signature_jobs: 0,
            node_id: identity.node_id(),
            peer_id,
            peers: Peers::new(cfg.peers.clone(), peer_id, stream(1)),
            gossip: Gossip::new(cfg.gossip.clone(), stream(2)),
            heartbeat: Heartbeat::new(cfg.heartbeat.clone(), identity),
            cfg,
            checks_waiting: VecDeque::new(),
            jobs: BTreeMap::new(),
            next_job: 0,
            restored: false,
            last_now: Time::ZERO,
            outputs: VecDeque::new(),
            stats: NodeStats::default(),
        }
    }

    /// Feeds one input. Drain [`Node::poll_output`] until `None` afterwards.
    pub fn handle(&mut self, now: Time, input: Input) {
        self.handle_known(now, input, None)
    }

    /// [`Node::handle`] of the frame `bytes` from `peer` (an `Input::Message`), whose print the
    /// runtime already took: `print` must be [`PublishPrint::of`] these bytes. The message id
    /// comes from the print instead of being hashed again at every node, and the node keeps
    /// the message in the print's allocation ([`crate::gossip::HeldFrame`]).
    pub fn handle_printed(&mut self, now: Time, peer: PeerId, bytes: Bytes, print: &PublishPrint) {
        debug_assert_eq!(PublishPrint::of(&bytes).as_ref(), Some(print), "a print of other bytes");
        self.handle_known(now, Input::Message { peer, bytes }, Some(Arc::clone(print.held())))
    }

    fn handle_known(&mut self, now: Time, input: Input, known: Option<Arc<HeldFrame>>) {
        assert!(now >= self.last_now, "time went backwards: {now} < {}", self.last_now);
        self.last_now = now;
        match input {
            Input::Restore(snapshot) => self.on_restore(now, &snapshot),
            Input::Message { peer, bytes } => {
                assert!(self.restored, "Restore must be the first input");
                self.on_frame(now, peer, bytes, known);
            }
            other => {
                assert!(self.restored, "Restore must be the first input");
                self.on_input(now, other);
            }
        }
        self.route(now);
        self.start_jobs();
    }

    /// When all [`Node::handle`] would do at `now` with a frame from `peer` that `print`
    /// describes is note the peer's activity and count a duplicate (a gossip `Publish` of a
    /// message already in the seen cache, from a connected peer, within every size bound), the
    /// copy to [`absorb`](Node::absorb) instead of handling the frame.
    ///
    /// A runtime that computes the print once per frame allocation (a forwarded frame is shared
    /// by every copy) spares each repeated copy the decode, the message-id hash and the dispatch.
    /// With a `mark` this node gave for the print ([`Node::seen_mark`]) it also spares the
    /// seen-cache lookup while the id stays seen (the answer is the same either way).
    pub fn seen_publish(
        &self,
        now: Time,
        peer: &PeerId,
        print: &PublishPrint,
        mark: Option<SeenMark>,
    ) -> Option<SeenCopy> {
        let seen = self.restored
            && now >= self.last_now
            && !self.cfg.black_hole
            && print.frame_len() <= self.cfg.frame_max
            && self.peers.is_connected(peer)
            && self.gossip.is_seen_publish(peer, print, mark);
        seen.then_some(SeenCopy { now, peer: *peer })
    }

    /// Where the id of the publish `print` describes stands in this node's seen cache, taken
    /// right after handling that frame; `None` when it is not among the latest ids seen (see
    /// [`Gossip::seen_mark`]). The mark belongs to this node instance, not to its restarts.
    pub fn seen_mark(&self, print: &PublishPrint) -> Option<SeenMark> {
        self.gossip.seen_mark(print)
    }

    /// Takes a copy [`Node::seen_publish`] found: the state afterwards is the state after
    /// handling the frame (a duplicate counted, the peer's activity stamped), and there is no
    /// output.
    ///
    /// Both effects commute with every other input (a count, and the latest of the peer's
    /// stamps), and the node's clock stays where it is, so a runtime may hand the copy over
    /// ahead of inputs of earlier times (a windowed simulation does, for a node whose events of
    /// the window are still to run). [`Node::poll_timeout`] is unchanged: a runtime keeps the
    /// timer it armed before the copy.
    pub fn absorb(&mut self, copy: SeenCopy) {
        let SeenCopy { now, peer } = copy;
        debug_assert!(self.peers.is_connected(&peer), "a copy from a peer not connected");
        self.gossip.count_seen_publish();
        // Activity only stamps the peer: no output to route, no job to start.
        self.peers.handle(now, PeersInput::Activity(peer));
    }

    /// [`Node::seen_publish`] then [`Node::absorb`]: whether the frame was taken.
    pub fn absorb_seen_publish(&mut self, now: Time, peer: PeerId, print: &PublishPrint) -> bool {
        let copy = self.seen_publish(now, &peer, print, None);
        copy.map(|c| self.absorb(c)).is_some()
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest time the node wants a `Tick`.
    pub fn poll_timeout(&self) -> Option<Time> {
        [
            self.peers.poll_timeout(),
            self.gossip.poll_timeout(),
            self.heartbeat.poll_timeout(),
            self.consensus.as_ref().and_then(|c| c.poll_timeout(self.last_now)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The time of the last input (what the node's state is as of).
    pub fn now(&self) -> Time {
        self.last_now
    }

    /// The smeshing identity.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The p2p identity.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Peer upkeep state.
    pub fn peers(&self) -> &Peers {
        &self.peers
    }

    /// Gossip state.
    pub fn gossip(&self) -> &Gossip {
        &self.gossip
    }

    /// Heartbeat state.
    pub fn heartbeat(&self) -> &Heartbeat {
        &self.heartbeat
    }

    /// The epoch machinery, when configured.
    pub fn consensus(&self) -> Option<&Consensus> {
        self.consensus.as_ref()
    }

    /// What a wallet sees of an account (`None`: the node has no consensus part).
    pub fn account(&self, address: &crate::account::Address) -> Option<AccountView> {
        self.consensus.as_ref().map(|c| c.account_view(address))
    }

    /// Where a transaction stands (`None`: unknown here).
    pub fn tx_status(&self, id: &crate::types::Hash32) -> Option<TxStatus> {
        self.consensus.as_ref()?.tx_status(id)
    }

    /// Whether this node's identity smeshes (a consensus part with a builder, not stopped by
    /// [`Command::SetSmeshing`]).
    pub fn smeshing(&self) -> bool {
        self.consensus.as_ref().is_some_and(Consensus::smeshing)
    }

    /// Where this node's next ATXs send their rewards (`None`: it does not smesh).
    pub fn coinbase(&self) -> Option<crate::account::Address> {
        self.consensus.as_ref().and_then(Consensus::coinbase)
    }

    /// Node counters.
    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }

    fn on_restore(&mut self, now: Time, snapshot: &Snapshot) {
        assert!(!self.restored, "Restore comes once");
        self.restored = true;
        if !snapshot.is_empty() {
            crate::coverage::mark(crate::coverage::RESTART_RECOVERY);
        }
        // A corrupt sequence number must stop the node, not restart its sequence at zero (which
        // would make it equivocate): the runtime checks the store before handing it over, so
        // reaching this is a broken runtime.
        let next_seq =
            Heartbeat::restored_seq(snapshot).expect("corrupt heartbeat/next_seq in store");
        self.heartbeat.handle(now, HeartbeatInput::Restore(next_seq));
        if let Some(c) = &mut self.consensus {
            // Same rule: the runtime verified the store; a value that does not decode is a bug.
            c.restore(now, snapshot).expect("corrupt consensus state in store");
        }
        if let Some(offset) = self.cfg.heartbeat_offset {
            self.heartbeat.delay_first(offset);
        }
        self.peers.handle(now, PeersInput::AddCandidates(self.cfg.bootstrap.clone()));
        self.gossip.handle(now, GossipInput::Tick);
        self.outputs.push_back(Output::Event(NodeEvent::Started { next_heartbeat_seq: next_seq }));
    }

    fn on_input(&mut self, now: Time, input: Input) {
        match input {
            Input::Restore(_) => unreachable!("handled by handle"),
            Input::Message { .. } => unreachable!("handled by handle_known"),
            Input::Tick => {
                self.peers.handle(now, PeersInput::Tick);
                self.gossip.handle(now, GossipInput::Tick);
                self.heartbeat.handle(now, HeartbeatInput::Tick);
                if let Some(c) = &mut self.consensus {
                    let connected: Vec<PeerId> = self.peers.connected().copied().collect();
                    c.on_tick(now, &connected);
                }
            }
            Input::PoetResponse { id, response } => {
                if let Some(c) = &mut self.consensus {
                    c.on_poet_response(now, id, response);
                }
            }
            Input::JobDone { id, result } => self.on_job_done(now, id, result),
            Input::PeerUp { peer, outbound } => {
                self.peers.handle(now, PeersInput::Up { peer, outbound })
            }
            Input::PeerDown { peer } => {
                if let Some(c) = &mut self.consensus {
                    c.on_peer_down(&peer);
                }
                self.peers.handle(now, PeersInput::Down(peer))
            }
            Input::Command(Command::AddPeers(list)) => {
                self.peers.handle(now, PeersInput::AddCandidates(list))
            }
            Input::Command(Command::PeerAddress { peer, addr }) => {
                self.peers.handle(now, PeersInput::Address { peer, addr })
            }
            Input::Command(Command::SubmitTx(raw)) => {
                if let Some(c) = &mut self.consensus {
                    c.submit_tx(raw);
                }
            }
            Input::Command(Command::SetSmeshing(on)) => {
                if let Some(c) = &mut self.consensus {
                    c.set_smeshing(on);
                }
            }
            Input::Command(Command::SetCoinbase(coinbase)) => {
                if let Some(c) = &mut self.consensus {
                    c.set_coinbase(coinbase);
                }
            }
        }
    }

    fn on_frame(&mut self, now: Time, peer: PeerId, bytes: Bytes, known: Option<Arc<HeldFrame>>) {
        if !self.peers.is_connected(&peer) {
            self.stats.frames_from_strangers += 1;
            return;
        }
        self.peers.handle(now, PeersInput::Activity(peer));
        match Frame::decode_bounded(&bytes, self.cfg.frame_max) {
            Ok(Frame::Gossip(msg)) if self.cfg.black_hole && !msg.is_mesh_upkeep() => {}
            Ok(Frame::Fetch(_)) if self.cfg.black_hole => {}
            Ok(Frame::Gossip(msg)) => {
                let input = GossipInput::Message { peer, msg, frame: bytes };
                self.gossip.handle_known(now, input, known)
            }
            Ok(Frame::Peers(msg)) => self.peers.handle(now, PeersInput::Message { peer, msg }),
            Ok(Frame::Fetch(msg)) => match &mut self.consensus {
                Some(c) => c.on_fetch(now, peer, msg),
                None => self.penalize(now, peer, Penalty::Protocol),
            },
            Err(_) => {
                self.stats.malformed_frames += 1;
                #[cfg(feature = "canary")]
                if crate::canary::active(crate::canary::Canary::GarbageUnpenalized) {
                    return;
                }
                self.penalize(now, peer, Penalty::Malformed);
            }
        }
    }

    fn penalize(&mut self, now: Time, peer: PeerId, penalty: Penalty) {
        self.outputs.push_back(Output::Event(NodeEvent::PeerPenalized { peer, penalty }));
        self.peers.handle(now, PeersInput::Penalize { peer, penalty });
    }

    fn on_job_done(&mut self, now: Time, id: JobId, result: JobResult) {
        match self.jobs.remove(&id).expect("JobDone for a job this node did not start") {
            JobWaiter::Signatures(ids) => {
                self.signature_jobs -= 1;
                let JobResult::SignaturesVerified(valid) = result else {
                    panic!("signature job answered with {result:?}");
                };
                assert_eq!(valid.len(), ids.len(), "one verdict per signature check");
                for (id, valid) in ids.into_iter().zip(valid) {
                    self.heartbeat.handle(now, HeartbeatInput::SignatureChecked { id, valid });
                }
            }
            JobWaiter::Consensus(owner) => {
                if let Some(c) = &mut self.consensus {
                    c.on_job_done(now, owner, result);
                }
            }
        }
    }

    /// Moves outputs between modules until all of them are quiet.
    fn route(&mut self, now: Time) {
        loop {
            let mut moved = false;
            while let Some(out) = self.peers.poll_output() {
                moved = true;
                self.route_peers(now, out);
            }
            while let Some(out) = self.gossip.poll_output() {
                moved = true;
                self.route_gossip(now, out);
            }
            while let Some(out) = self.heartbeat.poll_output() {
                moved = true;
                self.route_heartbeat(now, out);
            }
            while let Some(out) = self.consensus.as_mut().and_then(|c| c.poll_output()) {
                moved = true;
                self.route_consensus(now, out);
            }
            if !moved {
                return;
            }
        }
    }

    fn route_peers(&mut self, now: Time, out: PeersOutput) {
        match out {
            PeersOutput::Connect { peer, addr } => {
                self.outputs.push_back(Output::Connect { peer, addr })
            }
            PeersOutput::Disconnect { peer, reason } => {
                self.outputs.push_back(Output::Disconnect { peer, reason })
            }
            PeersOutput::Send { peer, frame } => {
                self.outputs.push_back(Output::Send { peer, bytes: frame })
            }
            PeersOutput::Ready { peer, outbound } => {
                self.gossip.handle(now, GossipInput::PeerUp(peer));
                self.outputs.push_back(Output::Event(NodeEvent::PeerConnected { peer, outbound }));
            }
            PeersOutput::Gone { peer, reason } => {
                self.gossip.handle(now, GossipInput::PeerDown(peer));
                self.outputs.push_back(Output::Event(NodeEvent::PeerDisconnected { peer, reason }));
            }
        }
    }

    fn route_gossip(&mut self, now: Time, out: GossipOutput) {
        match out {
            GossipOutput::Send { peer, frame } => {
                self.outputs.push_back(Output::Send { peer, bytes: frame })
            }
            GossipOutput::Validate { id, topic, data, from } => match topic {
                Topic::Heartbeat => self.heartbeat.handle(now, HeartbeatInput::Gossip { id, data }),
                _ => match &mut self.consensus {
                    Some(c) => c.on_gossip(now, id, topic, data, from),
                    // A node without consensus neither judges nor relays consensus topics.
                    None => self
                        .gossip
                        .handle(now, GossipInput::Verdict { id, verdict: Verdict::Ignore }),
                },
            },
            GossipOutput::Penalize { peer, penalty } => self.penalize(now, peer, penalty),
            GossipOutput::Accepted { id, topic, own } => {
                self.outputs.push_back(Output::Event(NodeEvent::MessageAccepted {
                    topic,
                    id,
                    own,
                }));
            }
        }
    }

    fn route_heartbeat(&mut self, now: Time, out: HeartbeatOutput) {
        match out {
            HeartbeatOutput::Verdict { id, verdict } => {
                self.gossip.handle(now, GossipInput::Verdict { id, verdict })
            }
            HeartbeatOutput::CheckSignature { id, check } => {
                self.checks_waiting.push_back((id, check))
            }
            HeartbeatOutput::Persist(batch) => self.outputs.push_back(Output::Persist(batch)),
            HeartbeatOutput::Publish(data) => {
                self.gossip.handle(now, GossipInput::Publish { topic: Topic::Heartbeat, data });
            }
            HeartbeatOutput::Event(e) => {
                self.outputs.push_back(Output::Event(NodeEvent::Heartbeat(e)))
            }
        }
    }

    fn route_consensus(&mut self, now: Time, out: ConsensusOutput) {
        match out {
            ConsensusOutput::Publish(topic, data) => {
                self.gossip.handle(now, GossipInput::Publish { topic, data })
            }
            ConsensusOutput::Verdict(id, verdict) => {
                self.gossip.handle(now, GossipInput::Verdict { id, verdict })
            }
            ConsensusOutput::Fetch(peer, msg) => {
                let bytes = Frame::Fetch(msg).encode().into();
                self.outputs.push_back(Output::Send { peer, bytes });
            }
            ConsensusOutput::Penalize(peer, penalty) => self.penalize(now, peer, penalty),
            ConsensusOutput::Poet { poet, id, request } => {
                self.outputs.push_back(Output::Poet { poet, id, request: Box::new(request) })
            }
            ConsensusOutput::Job(owner, job) => {
                let id = JobId(self.next_job);
                self.next_job += 1;
                self.jobs.insert(id, JobWaiter::Consensus(owner));
                self.stats.jobs_started += 1;
                self.outputs.push_back(Output::StartJob { id, job: Box::new(job) });
            }
            ConsensusOutput::Persist(batch) => self.outputs.push_back(Output::Persist(batch)),
            ConsensusOutput::CutOff => self.peers.handle(now, PeersInput::CutOff),
            ConsensusOutput::Event(e) => {
                self.outputs.push_back(Output::Event(NodeEvent::Consensus(Box::new(e))))
            }
        }
    }

    /// Batches waiting signature checks into jobs while job slots are free.
    fn start_jobs(&mut self) {
        while !self.checks_waiting.is_empty() && self.signature_jobs < self.cfg.verify_jobs_max {
            let n = self.checks_waiting.len().min(self.cfg.verify_batch_max);
            let (ids, checks): (Vec<MsgId>, Vec<SignatureCheck>) =
                self.checks_waiting.drain(..n).unzip();
            let id = JobId(self.next_job);
            self.next_job += 1;
            self.jobs.insert(id, JobWaiter::Signatures(ids));
            self.signature_jobs += 1;
            self.stats.jobs_started += 1;
            let job = Box::new(Job::VerifySignatures(checks));
            self.outputs.push_back(Output::StartJob { id, job });
        }
    }

    /// Panics if a bound of any module is broken. Cheap: the simulator calls it after every step.
    pub fn check_invariants(&self) {
        assert!(self.signature_jobs <= self.cfg.verify_jobs_max, "too many jobs in flight");
        self.peers.check_invariants();
        self.gossip.check_invariants();
        self.heartbeat.check_invariants();
        if let Some(c) = &self.consensus {
            c.check_invariants();
        }
    }

    /// Every invariant, including the linear-time ones (recounts, per-peer checks). For tests and
    /// periodic deep checks.
    pub fn check_invariants_deep(&self) {
        self.check_invariants();
        assert!(
            self.jobs.values().all(|w| match w {
                JobWaiter::Signatures(ids) => ids.len() <= self.cfg.verify_batch_max,
                JobWaiter::Consensus(_) => true,
            }),
            "oversized job"
        );
        self.peers.check_invariants_deep(self.last_now);
        self.gossip.check_invariants_deep();
        if let Some(c) = &self.consensus {
            c.check_invariants_deep();
        }
    }
}

#[cfg(test)]
mod smeshing_tests;
#[cfg(test)]
mod tests;

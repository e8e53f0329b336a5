//! The epoch machinery of a node: ATXs (validation and this node's NIPoST builder), active
//! sets, the beacon, ballots and proposals, malfeasance, and fetching what messages refer to.
//!
//! [`Consensus`] is a part of [`crate::Node`]; the node routes gossip of the consensus topics,
//! fetch frames, PoET answers and job results here, and turns [`ConsensusOutput`]s into its own
//! outputs. Timing comes from [`LayerClock`]:
//! - at each epoch start (plus a grade delay) the active set of the epoch is frozen: ATXs
//!   targeting it, received before the epoch start, of identities with no malfeasance proof
//!   (unless the node cannot grade them: then it takes the set its peers declare; or ref
//!   ballots of a majority of the weight declare another set: then it takes that, `sync.rs`);
//! - the beacon protocol runs during epoch E among E's active identities and decides E+1's
//!   beacon; if it fails, the beacons declared in E+1's ref ballots decide (fallback); the
//!   first epoch with ballots uses the genesis beacon;
//! - at each layer start this node publishes a proposal if its VRF slots fall in that layer.
//!
//! Persisted (under the keys of each part): the builder's progress, decided beacons, the last
//! layer this node voted in (so a restart never signs a second ballot for a layer), and
//! malfeasance proofs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand_chacha::ChaCha8Rng;

use crate::activation::builder::{
    Builder, BuilderConfig, BuilderEvent, BuilderOutput, PostInitResult,
};
use crate::activation::handler::{AtxHandler, HandlerConfig, HandlerOutput, PoetParams};
use crate::activation::store::{ActiveSet, HashedActiveSet};
use crate::activation::wire::AtxId;
use crate::ballot::BallotConfig;
use crate::ballot::eligibility::{EpochInfo, OwnEligibility};
use crate::ballot::handler::{AcceptedBallot, BallotHandler, BallotOutput, BallotReject};
use crate::ballot::wire::{Ballot, EpochData, InnerBallot, Proposal, Votes, opinion_hash};
use crate::beacon::{
    BeaconConfig, BeaconMessage, BeaconOutput, BeaconTally, EpochBeacon, LocalIdentity,
    Participant, ballot_weight, genesis_beacon,
};
use crate::block::BlockConfig;
use crate::certifier::{Certifier, CertifierConfig};
use crate::codec::{BoundedVec, Encode, decode_exact, decode_shared};
use crate::crypto::{Signer, Verifier};
use crate::eligibility::hare::OwnSeats;
use crate::fetch::{FetchConfig, FetchItem, FetchMessage, FetchOutput, Fetcher, Hint};
use crate::gossip::{MsgId, Topic, Verdict};
use crate::hare::{Committee, Hare, HareConfig, SessionEnd};
use crate::job::{Job, JobResult, PostData};
use crate::layers::LayerClock;
use crate::malfeasance::{MalfeasanceProof, MaliciousSet};
use crate::mempool::{Mempool, MempoolConfig};
use crate::mesh::{Mesh, MeshConfig};
use crate::p2p::Penalty;
use crate::poet::api::{PoetRequest, PoetResponse};
use crate::post::PostConfig;
use crate::store::{Batch, Snapshot};
use crate::tortoise::{Tortoise, TortoiseConfig};
use crate::types::{
    BallotId, Beacon, BlockId, EpochId, GenesisId, Hash32, LayerId, NodeId, PeerId, ProposalId,
    Time,
};

mod fork;
mod layer;
mod layer_txs;
mod mesh;
mod misbehavior;
mod query;
mod references;
#[cfg(test)]
mod references_tests;
mod sync;
mod tx_query;
mod txs;

pub use layer_txs::LayerTx;
pub use misbehavior::Misbehavior;
pub use query::LayerReward;
pub use sync::{IDS_MAX, IdList};
pub use tx_query::{ListedState, ListedTx, TxQuery, tx_addresses};
pub use txs::{AccountView, TxReject, TxStatus};

/// Early proposals held, at most.
const EARLY_MAX: usize = 1024;
/// Early beacon messages held, at most.
const EARLY_BEACON_MAX: usize = 8192;
/// How long before an epoch starts here its beacon messages are held rather than ignored: the
/// clock skew between nodes that the beacon protocol tolerates.
const EARLY_BEACON_WINDOW: std::time::Duration = std::time::Duration::from_secs(2);

/// Beacons kept, in epochs, at least (more when ATXs are kept longer: a peer catching up on
/// those epochs needs their beacons to judge their ballots).
const BEACONS_KEPT_MIN: u32 = 8;

/// Store key prefix of decided beacons.
const BEACON_KEY: &[u8] = b"beacon/";
/// Store key of the last layer this node signed a ballot for.
const LAST_BALLOT_KEY: &[u8] = b"ballot/last_layer";

/// Everything configurable about the epoch machinery.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsensusConfig {
    /// Layer and PoET round timing.
    pub clock: LayerClock,
    /// PoST parameters.
    pub post: PostConfig,
    /// PoET parameters.
    pub poet: PoetParams,
    /// This node's smeshing (`None`: the node only validates).
    pub builder: Option<BuilderConfig>,
    /// Ballot parameters.
    pub ballot: BallotConfig,
    /// Beacon protocol.
    pub beacon: BeaconConfig,
    /// Fetch.
    pub fetch: FetchConfig,
    /// Hare.
    pub hare: HareConfig,
    /// Certifier.
    pub certifier: CertifierConfig,
    /// Block building.
    pub block: BlockConfig,
    /// The tortoise.
    pub tortoise: TortoiseConfig,
    /// The mesh.
    pub mesh: MeshConfig,
    /// Check every PoST index of every ATX (instead of a K3 subset).
    pub verify_all_indices: bool,
    /// ATXs count in an epoch's active set only if received this long before it starts.
    pub grade_delay: Duration,
    /// The least share (percent, by count) of an epoch's ATXs that must have arrived in time
    /// for this node's grading to be trusted; below it the epoch is ungraded (see `sync.rs`).
    pub good_atx_percent: u32,
    /// How this node's ballots vote (adversaries: see [`Voting`]).
    pub voting: Voting,
    /// How this node bends the publishing of its own messages (adversaries only).
    pub misbehavior: Misbehavior,
    /// Publish epochs of ATX bytes kept to serve syncing peers (older ones are pruned; a peer
    /// away for longer cannot catch up from this node).
    pub atx_epochs_kept: u32,
    /// Epochs of active sets kept, to judge ballots and to serve peers that adopt a declared
    /// set (a peer away for longer cannot fetch the sets of the epochs it missed from this node).
    pub active_sets_kept: u32,
    /// Layers of blocks and hare outputs kept behind the applied layer, to serve syncing peers
    /// (a peer away for longer cannot fetch the blocks of the layers it missed from this node).
    pub layers_kept: u32,
    /// Mempool bounds.
    pub mempool: MempoolConfig,
    /// Most transactions one proposal carries (go-spacemesh `TxsPerProposal`).
    pub txs_per_proposal: usize,
    /// Accounts with coins from genesis (go-spacemesh `genesis.accounts`), in smidge.
    pub genesis_accounts: Vec<(crate::account::Address, u64)>,
}

/// How a node fills the votes of its ballots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Voting {
    /// The tortoise's opinion.
    #[default]
    Honest,
    /// A balancing attacker: until `until` (exclusive), its ballots vote for and against the
    /// latest layers' blocks so as to keep the honest nodes' tallies near the thresholds;
    /// honest from `until` on.
    Balancing {
        /// First layer it votes honestly in again.
        until: LayerId,
    },
}

impl ConsensusConfig {
    /// Simulation parameters (protocol.md section 16) for a network of `nodes` identities
    /// smeshing with the PoETs `poets`: 10 s layers, 8 per epoch, lite PoST, tiny PoET
    /// constants, the sim beacon, about one ballot slot per identity and epoch.
    pub fn sim(genesis: Time, nodes: u32, poets: Vec<NodeId>) -> Self {
        let clock = LayerClock::sim(genesis);
        ConsensusConfig {
            clock,
            post: PostConfig::sim(),
            poet: PoetParams::sim(),
            // PoET round trips take well under a second here: a lost request is retried after
            // 1 s, so that a registration lost shortly before a round starts is still retried
            // in time (with 5 s, 1% loss cost about one identity in 1,500 its ATX per epoch).
            builder: Some(BuilderConfig {
                poets,
                poet_request_timeout: Duration::from_secs(1),
                poet_retry_interval: Duration::from_secs(1),
                ..BuilderConfig::default()
            }),
            ballot: BallotConfig::sim(nodes, clock.layers_per_epoch),
            beacon: BeaconConfig::sim(),
            fetch: FetchConfig::default(),
            hare: HareConfig::sim(),
            certifier: CertifierConfig::sim(),
            block: BlockConfig::sim(),
            tortoise: TortoiseConfig::sim(
                clock.layers_per_epoch,
                nodes.div_ceil(clock.layers_per_epoch).max(1),
            ),
            mesh: MeshConfig::default(),
            // All K2 indices: the check is then the same at every node, and a simulator can
            // verify each ATX once for everyone.
            verify_all_indices: true,
            grade_delay: Duration::from_secs(1),
            // go-spacemesh's default `MinerGoodAtxsPercent`.
            good_atx_percent: 90,
            voting: Voting::Honest,
            misbehavior: Misbehavior::default(),
            atx_epochs_kept: 4,
            active_sets_kept: 3,
            layers_kept: 64,
            mempool: MempoolConfig::default(),
            txs_per_proposal: 100,
            genesis_accounts: Vec::new(),
        }
    }
}

/// Where a consensus job's result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOwner {
    /// Heavy checks of an ATX.
    Atx(AtxId),
    /// A PoET proof fetched from a peer, by reference.
    PoetProof(Hash32),
    /// A PoET proof the builder got from its PoET (request id).
    BuilderProof(u64),
    /// A malfeasance proof from gossip.
    Malfeasance(Option<MsgId>, NodeId),
    /// PoST initialization.
    PostInit,
    /// PoST proving.
    PostProve,
}

/// Observable facts of the epoch machinery.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConsensusEvent {
    /// This node published its ATX.
    AtxPublished {
        /// Publish epoch.
        epoch: EpochId,
        /// ATX id.
        id: AtxId,
    },
    /// A valid ATX was stored.
    AtxAccepted {
        /// ATX id.
        id: AtxId,
        /// Identity.
        smesher: NodeId,
        /// Publish epoch.
        epoch: EpochId,
        /// Weight.
        weight: u64,
    },
    /// An ATX was rejected.
    AtxRejected {
        /// ATX id.
        id: AtxId,
        /// Why.
        reason: String,
    },
    /// The active set of an epoch was frozen.
    ActiveSet {
        /// Epoch.
        epoch: EpochId,
        /// Hash of the sorted ids.
        hash: Hash32,
        /// ATXs in it.
        size: u32,
        /// Total weight.
        weight: u64,
    },
    /// The beacon of an epoch is known.
    Beacon {
        /// Epoch.
        epoch: EpochId,
        /// Value.
        beacon: Beacon,
        /// How it was decided.
        source: BeaconSource,
    },
    /// The beacon protocol of an epoch could not run or decide (the node falls back on ballots).
    BeaconFailed {
        /// The epoch the beacon was for.
        epoch: EpochId,
        /// Why.
        reason: String,
    },
    /// This node published a proposal.
    ProposalPublished {
        /// Layer.
        layer: LayerId,
        /// Proposal id.
        id: ProposalId,
        /// Eligibilities in it.
        eligibilities: u32,
        /// This node's slots in the whole epoch.
        slots: u32,
    },
    /// Ballots accepted in a finished layer.
    LayerBallots {
        /// Layer.
        layer: LayerId,
        /// Ballots.
        ballots: u32,
        /// Eligibilities.
        eligibilities: u32,
    },
    /// A malfeasance proof was accepted (`detected`: this node found the evidence itself).
    Malfeasance {
        /// The accused.
        smesher: NodeId,
        /// Evidence kind.
        kind: &'static str,
        /// Whether this node found it.
        detected: bool,
    },
    /// This node (an adversary) equivocated in a layer's hare session.
    Equivocated {
        /// Layer.
        layer: LayerId,
    },
    /// The hare agreed on a layer's proposal set.
    HareOutput {
        /// Layer.
        layer: LayerId,
        /// The proposals, sorted.
        proposals: Vec<ProposalId>,
        /// The iteration whose hardlock output it.
        iteration: u8,
        /// Seats of the preround messages this node received: below `threshold` no proposal
        /// could pass the preround, so the output may miss honest proposals under synchrony.
        preround_seats: u32,
        /// The hare threshold, in seats.
        threshold: u16,
    },
    /// A hare session ended.
    HareEnded {
        /// Layer.
        layer: LayerId,
        /// How.
        end: SessionEnd,
        /// The iteration it ended in.
        iteration: u8,
    },
    /// The weak coin of a layer (the tortoise's tie-breaker).
    WeakCoin {
        /// Layer.
        layer: LayerId,
        /// Coin.
        coin: bool,
    },
    /// The block of a layer was built from its hare output (`block: None`: empty output).
    Block {
        /// Layer.
        layer: LayerId,
        /// Block id.
        block: Option<BlockId>,
        /// Proposals in the output.
        proposals: u32,
        /// Rewarded ATXs.
        rewards: u32,
    },
    /// The block could not be built.
    BlockFailed {
        /// Layer.
        layer: LayerId,
        /// Why.
        reason: String,
    },
    /// A certificate for a layer's block was assembled.
    Certified {
        /// Layer.
        layer: LayerId,
        /// Block.
        block: BlockId,
        /// Certify messages in it.
        signatures: u32,
    },
    /// The mesh applied a layer: its valid block (`None`: the layer is empty), the state hash
    /// after it and the tortoise's opinion hash of the layer at the time (which may still
    /// change while the layer is not verified; compare [`ConsensusEvent::Verified`]'s).
    LayerApplied {
        /// Layer.
        layer: LayerId,
        /// The block applied.
        block: Option<BlockId>,
        /// State hash after applying (see [`crate::mesh`]).
        state: Hash32,
        /// The state root of the accounts after applying.
        root: Hash32,
        /// The tortoise's aggregated opinion hash of the layer.
        opinion: Hash32,
        /// Coins credited to coinbases in this layer (subsidy and fees).
        issued: u64,
        /// Fees the layer's transactions paid.
        fees: u64,
    },
    /// The transactions of an applied layer's block (only for blocks with transactions).
    LayerTxs {
        /// Layer.
        layer: LayerId,
        /// Executed ones (their nonces are used), in block order.
        executed: Vec<Hash32>,
        /// Skipped ones, in block order.
        ineffective: Vec<Hash32>,
    },
    /// A transaction this node's API submitted: taken into the mempool and published, or why
    /// not.
    TxSubmitted {
        /// The transaction's id.
        id: Hash32,
        /// What became of it.
        result: Result<(), String>,
    },
    /// The tortoise's last verified layer changed (it may move back while new votes arrive,
    /// for example during sync).
    Verified {
        /// The new last verified layer.
        layer: LayerId,
        /// The tortoise's chained opinion hash up to it. Within `hdist` of the node's last
        /// layer it names the node's own hare outputs: an honest node that missed one holds
        /// another hash until the layer leaves `hdist` (compare `settled`).
        opinion: Hash32,
        /// The last verified layer at least `hdist` behind the node's last layer, with its
        /// opinion hash: every honest node that verified it holds the same (see
        /// [`crate::tortoise::Tortoise::settled_opinion`]).
        settled: Option<(LayerId, Hash32)>,
    },
    /// Applied layers from `from` on were undone because the tortoise changed its opinion.
    Reverted {
        /// The lowest layer undone.
        from: LayerId,
        /// The highest layer that was applied before.
        to: LayerId,
    },
    /// The node's sync status changed.
    Sync {
        /// Whether the node considers itself synced.
        synced: bool,
        /// The current layer.
        layer: LayerId,
        /// The last applied layer.
        applied: LayerId,
    },
    /// NIPoST builder facts.
    Builder(BuilderEvent),
}

impl ConsensusEvent {
    /// A short name for traces and summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            ConsensusEvent::AtxPublished { .. } => "atx-published",
            ConsensusEvent::AtxAccepted { .. } => "atx-accepted",
            ConsensusEvent::AtxRejected { .. } => "atx-rejected",
            ConsensusEvent::ActiveSet { .. } => "active-set",
            ConsensusEvent::Beacon { .. } => "beacon",
            ConsensusEvent::BeaconFailed { .. } => "beacon-failed",
            ConsensusEvent::ProposalPublished { .. } => "proposal-published",
            ConsensusEvent::LayerBallots { .. } => "layer-ballots",
            ConsensusEvent::Malfeasance { .. } => "malfeasance",
            ConsensusEvent::Equivocated { .. } => "equivocated",
            ConsensusEvent::HareOutput { .. } => "hare-output",
            ConsensusEvent::HareEnded { .. } => "hare-ended",
            ConsensusEvent::WeakCoin { .. } => "weak-coin",
            ConsensusEvent::Block { .. } => "block",
            ConsensusEvent::BlockFailed { .. } => "block-failed",
            ConsensusEvent::Certified { .. } => "certified",
            ConsensusEvent::LayerApplied { .. } => "layer-applied",
            ConsensusEvent::LayerTxs { .. } => "layer-txs",
            ConsensusEvent::TxSubmitted { .. } => "tx-submitted",
            ConsensusEvent::Verified { .. } => "verified",
            ConsensusEvent::Reverted { .. } => "reverted",
            ConsensusEvent::Sync { .. } => "sync",
            ConsensusEvent::Builder(BuilderEvent::Registered { .. }) => "poet-registered",
            ConsensusEvent::Builder(BuilderEvent::MissedRound { .. }) => "poet-missed-round",
            ConsensusEvent::Builder(BuilderEvent::NoProof { .. }) => "poet-no-proof",
            ConsensusEvent::Builder(BuilderEvent::PoetFailed { .. }) => "poet-failed",
            ConsensusEvent::Builder(BuilderEvent::InitFailed { .. }) => "post-init-failed",
        }
    }
}

/// How a beacon was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BeaconSource {
    /// The genesis rule (first epoch with ballots).
    Genesis,
    /// The beacon protocol.
    Protocol,
    /// The ballots of the epoch.
    Fallback,
}

/// What the consensus part asks the node to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsensusOutput {
    /// Publish on a gossip topic.
    Publish(Topic, Bytes),
    /// Verdict on a gossip message.
    Verdict(MsgId, Verdict),
    /// Send a fetch message to a peer.
    Fetch(PeerId, FetchMessage),
    /// Penalize a peer.
    Penalize(PeerId, Penalty),
    /// Ask a PoET.
    Poet {
        /// The PoET.
        poet: NodeId,
        /// Request id.
        id: u64,
        /// Request.
        request: PoetRequest,
    },
    /// Run a job.
    Job(JobOwner, Job),
    /// Persist before later outputs.
    Persist(Batch),
    /// No connected peer could serve a ballot that another peer's ballot refers to: the
    /// connected peers may all be on one side of a healed split.
    CutOff,
    /// An observable fact.
    Event(ConsensusEvent),
}

/// The epoch machinery of one node.
#[derive(Debug)]
pub struct Consensus {
    cfg: ConsensusConfig,
    genesis: GenesisId,
    seed: [u8; 32],
    /// The seat tables of this identity's certify draws.
    own_seats: OwnSeats,
    signer: Signer,
    verifier: Arc<dyn Verifier>,
    atxs: AtxHandler,
    builder: Option<Builder>,
    ballots: BallotHandler,
    malicious: MaliciousSet,
    fetcher: Fetcher,
    beacons: BTreeMap<EpochId, Beacon>,
    beacon_run: Option<EpochBeacon>,
    tallies: BTreeMap<EpochId, BeaconTally>,
    active_sets: BTreeMap<EpochId, HashedActiveSet>,
    own: Option<OwnEligibility>,
    /// The epoch started last (its active set frozen): the only one `own` is computed for.
    current_epoch: EpochId,
    last_ballot: Option<LayerId>,
    /// Next layer whose start this node acts on.
    next_layer: LayerId,
    /// Malfeasance proofs being verified, by accused identity.
    pending_proofs: BTreeMap<NodeId, (Option<MsgId>, MalfeasanceProof)>,
    own_atxs: Vec<Bytes>,
    /// Hare sessions.
    hare: Hare,
    /// Certificates of hare blocks.
    certifier: Certifier,
    /// Committees (beacon and active set weights) per epoch.
    committees: BTreeMap<EpochId, Arc<Committee>>,
    /// The hare's block per layer (`None`: empty output), from this node's session or a
    /// certificate.
    hare_blocks: BTreeMap<LayerId, Option<BlockId>>,
    /// Blocks this node holds.
    block_data: mesh::BlockData,
    /// The tortoise.
    tortoise: Tortoise,
    /// The mesh (applied layers and balances).
    mesh: Mesh,
    /// What the mesh applies per layer, from the tortoise's updates.
    decisions: BTreeMap<LayerId, Option<Option<BlockId>>>,
    /// Ballots waiting for their base ballot, by base.
    waiting_ballots:
        BTreeMap<BallotId, Vec<(LayerId, crate::ballot::handler::BallotRecord, Votes)>>,
    /// Proposals waiting for the ref ballot or ATX they refer to (fetched meanwhile).
    waiting: references::Waiting,
    /// The tortoise's last verified layer, as last reported.
    verified: LayerId,
    /// Sync status and progress.
    sync: sync::SyncState,
    /// Gossiped proposals of an epoch that has not started here yet, judged when it does.
    early: Vec<(MsgId, Bytes, PeerId)>,
    /// Beacon messages of the epoch about to start here (a sender whose clock runs ahead), fed
    /// to its protocol when it starts.
    early_beacon: Vec<(MsgId, Bytes)>,
    /// Hare outputs whose block could not be built yet (proposals missing), by layer.
    unbuilt: BTreeMap<LayerId, Vec<ProposalId>>,
    /// Own messages an adversary holds back (see [`Misbehavior`]).
    held: misbehavior::Held,
    /// Transactions waiting for a proposal.
    mempool: Mempool,
    /// Transaction bytes kept for proposals and blocks.
    tx_bytes: txs::TxBytes,
    /// Results of the transactions of kept applied layers.
    tx_results: BTreeMap<Hash32, (LayerId, crate::mesh::TxResult)>,
    /// Whether this node's identity smeshes (see [`Consensus::set_smeshing`]).
    smeshing: bool,
    outputs: VecDeque<ConsensusOutput>,
}

impl Consensus {
    /// The epoch machinery of the identity with secret `seed`.
    pub fn new(
        cfg: ConsensusConfig,
        genesis: GenesisId,
        seed: [u8; 32],
        subset_seed: [u8; 32],
        verifier: Arc<dyn Verifier>,
        rng: ChaCha8Rng,
    ) -> Self {
        let signer = Signer::from_seed(seed, genesis);
        let mut hcfg = HandlerConfig::new(cfg.post, cfg.poet);
        hcfg.verify_all_indices = cfg.verify_all_indices;
        hcfg.epochs_kept = cfg.atx_epochs_kept;
        let atxs = AtxHandler::new(hcfg, cfg.clock, &genesis, subset_seed, verifier.clone());
        let builder = cfg.builder.clone().map(|b| {
            Builder::new(b, cfg.post, cfg.clock, Signer::from_seed(seed, genesis), atxs.golden())
        });
        let hare = Hare::new(cfg.hare.clone(), cfg.clock, genesis, seed);
        let certifier = Certifier::new(cfg.certifier, genesis);
        let (cfg_tortoise, cfg_mesh, cfg_mempool) = (cfg.tortoise, cfg.mesh, cfg.mempool);
        let genesis_layer = cfg.clock.effective_genesis();
        let mesh = Mesh::with_genesis(cfg_mesh, genesis_layer, &cfg.genesis_accounts);
        Consensus {
            ballots: BallotHandler::new(
                cfg.ballot,
                cfg.clock,
                genesis,
                u64::from_le_bytes(subset_seed[8..16].try_into().expect("8 bytes")),
            ),
            fetcher: Fetcher::new(cfg.fetch.clone(), rng),
            cfg,
            genesis,
            seed,
            own_seats: OwnSeats::default(),
            signer,
            verifier,
            atxs,
            builder,
            malicious: MaliciousSet::default(),
            beacons: BTreeMap::new(),
            beacon_run: None,
            tallies: BTreeMap::new(),
            active_sets: BTreeMap::new(),
            own: None,
            current_epoch: EpochId(0),
            last_ballot: None,
            next_layer: LayerId(0),
            pending_proofs: BTreeMap::new(),
            own_atxs: Vec::new(),
            hare,
            certifier,
            committees: BTreeMap::new(),
            hare_blocks: BTreeMap::new(),
            block_data: BTreeMap::new(),
            tortoise: Tortoise::new(cfg_tortoise, genesis_layer),
            mesh,
            decisions: BTreeMap::new(),
            waiting_ballots: BTreeMap::new(),
            waiting: references::Waiting::default(),
            verified: genesis_layer,
            sync: sync::SyncState::default(),
            early: Vec::new(),
            early_beacon: Vec::new(),
            unbuilt: BTreeMap::new(),
            held: misbehavior::Held::default(),
            mempool: Mempool::new(cfg_mempool),
            tx_bytes: BTreeMap::new(),
            tx_results: BTreeMap::new(),
            smeshing: true,
            outputs: VecDeque::new(),
        }
    }

    /// Restores persisted state. A corrupt value is an error: the runtime must not start the
    /// node on it.
    pub fn restore(&mut self, now: Time, snapshot: &Snapshot) -> Result<(), String> {
        self.malicious =
            MaliciousSet::restore(snapshot).map_err(|e| format!("malfeasance: {e}"))?;
        if let Some(b) = &mut self.builder {
            b.restore(snapshot).map_err(|e| format!("nipost: {e}"))?;
        }
        for (k, v) in snapshot.range(BEACON_KEY.to_vec()..) {
            if !k.starts_with(BEACON_KEY) {
                break;
            }
            let epoch: EpochId =
                decode_exact(&k[BEACON_KEY.len()..]).map_err(|e| format!("beacon key: {e}"))?;
            let beacon: Beacon = decode_exact(v).map_err(|e| format!("beacon: {e}"))?;
            self.beacons.insert(epoch, beacon);
            self.tortoise.on_beacon(epoch, beacon);
        }
        if let Some(v) = snapshot.get(LAST_BALLOT_KEY) {
            self.last_ballot = Some(decode_exact(v).map_err(|e| format!("last ballot: {e}"))?);
        }
        let genesis_layer = self.cfg.clock.effective_genesis();
        self.mesh = Mesh::with_genesis(self.cfg.mesh, genesis_layer, &self.cfg.genesis_accounts)
            .restore_from(snapshot)
            .map_err(|e| format!("mesh: {e}"))?;
        self.next_layer = self.cfg.clock.layer_at(now);
        self.drain_builder(now);
        Ok(())
    }

    /// The ATX handler (store and validation state).
    pub fn atxs(&self) -> &AtxHandler {
        &self.atxs
    }

    /// The mesh (applied layers and accounts).
    pub fn mesh(&self) -> &Mesh {
        &self.mesh
    }

    /// The tortoise (its last verified layer, votes, mode).
    pub fn tortoise(&self) -> &Tortoise {
        &self.tortoise
    }

    /// The settings this part runs with (clock, PoST, protocol parameters).
    pub fn config(&self) -> &ConsensusConfig {
        &self.cfg
    }

    /// The network's genesis id.
    pub fn genesis(&self) -> GenesisId {
        self.genesis
    }

    /// The ballot handler.
    pub fn ballots(&self) -> &BallotHandler {
        &self.ballots
    }

    /// Identities known malicious.
    pub fn malicious(&self) -> &MaliciousSet {
        &self.malicious
    }

    /// Decided beacons.
    pub fn beacons(&self) -> &BTreeMap<EpochId, Beacon> {
        &self.beacons
    }

    /// The frozen active set of an epoch.
    pub fn active_set(&self, epoch: EpochId) -> Option<&ActiveSet> {
        self.active_sets.get(&epoch).map(HashedActiveSet::set)
    }

    /// Starts or stops this node's smeshing. Stopped, its identity publishes nothing: the
    /// NIPoST builder is frozen (not ticked; what it already produced, an ATX among it, waits
    /// until smeshing starts again), no ballot, proposal, hare, certify or beacon message is
    /// signed (a beacon protocol already running with it finishes: leaving it midway would set
    /// this node's view of the beacon apart from the network's), and the node goes on following
    /// the network as a validator. Smeshing restarts
    /// where the builder stood; a PoET round missed meanwhile is skipped as after any outage.
    /// A node without a builder never smeshes, whatever this says.
    pub fn set_smeshing(&mut self, on: bool) {
        self.smeshing = on;
        self.hare.set_sending(on);
    }

    /// Where this node's next ATXs send their rewards (`None`: it does not smesh).
    pub fn coinbase(&self) -> Option<crate::account::Address> {
        self.builder.as_ref().map(Builder::coinbase)
    }

    /// Sends the rewards of this node's next ATXs to `coinbase` (see
    /// [`Builder::set_coinbase`]); `false` when the node does not smesh.
    pub fn set_coinbase(&mut self, coinbase: crate::account::Address) -> bool {
        self.builder.as_mut().map(|b| b.set_coinbase(coinbase)).is_some()
    }

    /// Whether this node's identity smeshes: it has a builder and smeshing is not stopped.
    pub fn smeshing(&self) -> bool {
        self.smeshing && self.builder.is_some()
    }

    /// The NIPoST builder, if this node smeshes.
    pub fn builder(&self) -> Option<&Builder> {
        self.builder.as_ref()
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<ConsensusOutput> {
        self.outputs.pop_front()
    }

    /// When the consensus part wants a tick.
    pub fn poll_timeout(&self, now: Time) -> Option<Time> {
        let clock = &self.cfg.clock;
        let next_layer = clock.layer_start(self.next_layer);
        let epoch_freeze = clock.epoch_start(EpochId(clock.epoch_at(now).0 + 1));
        [
            Some(next_layer),
            Some(epoch_freeze),
            self.builder.as_ref().filter(|_| self.smeshing).and_then(|b| b.poll_timeout(now)),
            self.beacon_run.as_ref().and_then(|b| b.next_timeout()),
            self.atxs.poll_timeout(),
            self.fetcher.poll_timeout(),
            self.hare.poll_timeout(),
            self.sync_timeout(),
            self.held.next_due(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Time passed.
    pub fn on_tick(&mut self, now: Time, connected: &[PeerId]) {
        let clock = self.cfg.clock;
        if self.sync.reported.is_none() {
            self.start_sync(now);
        }
        self.atxs.on_tick(now);
        self.fetcher.on_tick(now);
        // Freeze the active set of the current epoch once its grade delay passed.
        let epoch = clock.epoch_at(now);
        if !self.active_sets.contains_key(&epoch) {
            self.start_epoch(now, epoch);
        }
        while clock.layer_start(self.next_layer) <= now {
            let layer = self.next_layer;
            self.next_layer = LayerId(layer.0 + 1);
            self.on_layer(now, layer);
        }
        self.tick_hare(now);
        if let Some(run) = &mut self.beacon_run {
            run.on_tick(now);
        }
        self.drain_beacon();
        if let Some(b) = self.builder.as_mut().filter(|_| self.smeshing) {
            let atxs = &self.atxs;
            b.on_tick(now, |e| atxs.store().highest_before(e).map(|h| (h.id, h.height())));
        }
        self.drain_builder(now);
        self.release_held(now);
        self.drain_atxs(now);
        self.tick_sync(now);
        self.fetcher.dispatch(now, connected);
        self.drain_fetcher(now);
    }

    fn start_epoch(&mut self, now: Time, epoch: EpochId) {
        let clock = self.cfg.clock;
        let start = clock.epoch_start(epoch);
        let malicious: BTreeSet<NodeId> = self
            .malicious
            .identities()
            .filter(|n| self.malicious.known_by(n, start))
            .copied()
            .collect();
        #[cfg(feature = "canary")]
        let malicious = if crate::canary::active(crate::canary::Canary::ActiveSetKeepsMalicious) {
            BTreeSet::new()
        } else {
            malicious
        };
        // Graded: ATXs received a grade delay before the epoch starts, of identities with no
        // malfeasance proof known by then.
        let set = self.atxs.store().active_set(epoch, start - self.cfg.grade_delay, &malicious);
        self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::ActiveSet {
            epoch,
            hash: set.hash(),
            size: set.atxs.len() as u32,
            weight: set.weight,
        }));
        // Grades need receipt times this node saw while listening: not when it was not synced,
        // nor when too many ATXs arrived only after the cutoff at a node that was down for
        // part of the epoch they were published in (fetched after a restart). A node up for
        // all of it saw them arrive: late ATXs were late for everyone. Without this, identities
        // over 10% of an epoch that publish after the cutoff left every honest node ungraded,
        // waiting for a set to be declared, and nobody proposed again.
        let listened = self.sync.started <= clock.epoch_start(EpochId(epoch.0.saturating_sub(1)));
        let graded = self.sync.synced
            && (listened
                || self.atxs.store().grades_usable(
                    epoch,
                    &set,
                    &malicious,
                    self.cfg.good_atx_percent,
                ));
        let first_ballot_epoch = clock.effective_genesis().epoch(clock.layers_per_epoch).0 + 1;
        if epoch.0 == first_ballot_epoch && !self.beacons.contains_key(&epoch) {
            self.decide_beacon(epoch, genesis_beacon(&self.genesis), BeaconSource::Genesis);
        }
        // The beacon protocol of this epoch decides the next epoch's beacon, among the active
        // set's identities. When only the grades are unusable, every ATX of the epoch this node
        // holds is its best view of them (its graded set may hold little more than its own
        // ATX, and the beacon it decided with that would be its own).
        let next = EpochId(epoch.0 + 1);
        let held = (self.sync.synced && !graded)
            .then(|| self.atxs.store().active_set(epoch, now, &malicious));
        let participants = held.as_ref().unwrap_or(&set);
        if !participants.atxs.is_empty() && !self.beacons.contains_key(&next) {
            self.start_beacon(now, epoch, start, participants);
        }
        if !graded {
            self.sync.ungraded.insert(epoch);
        }
        self.active_sets.insert(epoch, HashedActiveSet::shared(set, self.verifier.as_ref()));
        while self.active_sets.len() > self.cfg.active_sets_kept.max(1) as usize {
            self.active_sets.pop_first();
        }
        if let Some(&oldest) = self.active_sets.keys().next() {
            self.sync.prune_declared_sets(oldest);
        }
        self.own = None;
        self.current_epoch = epoch;
        self.compute_own(epoch);
        for (id, data, from) in std::mem::take(&mut self.early) {
            self.on_proposal(now, id, &data, from);
        }
        for (id, data) in std::mem::take(&mut self.early_beacon) {
            self.on_beacon(now, id, &data);
        }
    }

    fn start_beacon(&mut self, now: Time, epoch: EpochId, start: Time, set: &ActiveSet) {
        let participants: Vec<Participant> = set
            .atxs
            .iter()
            .filter_map(|id| self.atxs.store().get(id).zip(self.atxs.store().received(id)))
            .map(|(h, received)| participant(h, received, &self.malicious))
            .collect();
        let local = self
            .builder
            .as_ref()
            .filter(|_| self.smeshing)
            .map(|_| LocalIdentity::new(self.seed, self.genesis));
        match EpochBeacon::new(
            self.cfg.beacon.clone(),
            self.genesis,
            epoch,
            start,
            participants,
            local,
            now,
        ) {
            Ok(run) => self.beacon_run = Some(run),
            Err(e) => {
                self.beacon_run = None;
                self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::BeaconFailed {
                    epoch: EpochId(epoch.0 + 1),
                    reason: e.to_string(),
                }));
            }
        }
    }

    fn decide_beacon(&mut self, epoch: EpochId, beacon: Beacon, source: BeaconSource) {
        if self.beacons.contains_key(&epoch) {
            return;
        }
        if source == BeaconSource::Fallback {
            crate::coverage::mark(crate::coverage::BEACON_FALLBACK);
        }
        self.beacons.insert(epoch, beacon);
        self.tortoise.on_beacon(epoch, beacon);
        while self.beacons.len() > self.beacons_kept() {
            self.beacons.pop_first();
        }
        let mut key = BEACON_KEY.to_vec();
        epoch.encode_to(&mut key);
        let mut batch = Batch::default();
        batch.put(&key, &beacon.encode());
        self.outputs.push_back(ConsensusOutput::Persist(batch));
        self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Beacon {
            epoch,
            beacon,
            source,
        }));
        self.compute_own(epoch);
    }

    /// Computes this node's ballot slots of `epoch` once the active set and beacon are known,
    /// for the current epoch only (an active set adopted for a past epoch must not take the
    /// place of the current one's). Not while the epoch is ungraded: a ref ballot declaring a
    /// set its peers do not hold would be refused everywhere, and with it every later ballot
    /// of the epoch.
    fn compute_own(&mut self, epoch: EpochId) {
        if self.own.is_some()
            || self.builder.is_none()
            || epoch != self.current_epoch
            || self.sync.ungraded.contains(&epoch)
        {
            return;
        }
        let (Some(set), Some(beacon)) = (self.active_sets.get(&epoch), self.beacons.get(&epoch))
        else {
            return;
        };
        let me = self.signer.node_id();
        let Some(prev) = epoch.0.checked_sub(1) else { return };
        let Some(atx) = self.atxs.store().by_smesher(EpochId(prev), &me) else { return };
        if !set.set().atxs.contains(&atx.id) || self.malicious.contains(&me) {
            return;
        }
        let info = EpochInfo { epoch, beacon: *beacon, active_set: set.clone() };
        self.own = Some(OwnEligibility::compute(
            &self.cfg.ballot,
            self.cfg.clock.layers_per_epoch,
            &info,
            &self.seed,
            atx.weight,
            atx.vrf_nonce,
        ));
    }

    fn on_layer(&mut self, now: Time, layer: LayerId) {
        let clock = self.cfg.clock;
        self.prune_txs();
        self.waiting.prune(LayerId(layer.0.saturating_sub(self.cfg.ballot.window_layers)));
        // Report the finished layer's ballots.
        if let Some(prev) = layer.0.checked_sub(1).map(LayerId)
            && prev > clock.effective_genesis()
        {
            let (ballots, eligibilities) = self
                .ballots
                .layer(prev)
                .map_or((0, 0), |l| (l.len() as u32, l.records().map(|r| r.eligibilities).sum()));
            self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::LayerBallots {
                layer: prev,
                ballots,
                eligibilities,
            }));
        }
        if let Some(prev) = layer.0.checked_sub(1).map(LayerId) {
            // An unsynced node tallies only the layers sync has completed.
            if prev > clock.effective_genesis() && self.sync.synced {
                self.tally_layers(prev);
            }
        }
        if layer <= clock.effective_genesis() || now >= clock.layer_start(LayerId(layer.0 + 1)) {
            return; // genesis, or a layer that already ended (the node was down)
        }
        if !self.sync.synced {
            return; // an unsynced node neither votes nor joins the hare
        }
        let epoch = clock.epoch_of(layer);
        self.start_hare(now, layer);
        if !self.smeshing {
            return; // stopped: the node follows the layer but casts no ballot
        }
        self.compute_own(epoch);
        let Some(own) = &self.own else { return };
        if own.epoch != epoch || self.last_ballot.is_some_and(|l| l >= layer) {
            return;
        }
        let Some(eligibilities) = own.layers.get(&layer).cloned() else { return };
        let count = own.count;
        let me = self.signer.node_id();
        let Some(prev) = epoch.0.checked_sub(1) else { return };
        let Some(atx) = self.atxs.store().by_smesher(EpochId(prev), &me) else { return };
        let atx_id = atx.id;
        let ref_ballot = self.ballots.ref_ballot(epoch, &me);
        let epoch_data = match ref_ballot {
            Some(_) => None,
            None => Some(EpochData {
                active_set_hash: self.active_sets[&epoch].hash(),
                beacon: self.beacons[&epoch],
                eligibility_count: count,
            }),
        };
        // No opinion (for example ballots waiting for a beacon): no ballot this layer.
        let Some(votes) = self.own_votes(layer) else { return };
        let inner = InnerBallot {
            layer,
            atx: atx_id,
            opinion_hash: opinion_hash(&votes),
            ref_ballot: ref_ballot.unwrap_or_default(),
            epoch_data,
        };
        let n = eligibilities.len() as u32;
        let ballot =
            Ballot::sign(&self.signer, inner, votes, BoundedVec::truncating(eligibilities));
        let tx_ids = self.mempool.select(self.cfg.txs_per_proposal.min(crate::block::TXS_MAX));
        self.want_txs(&tx_ids, None);
        let proposal =
            Proposal::sign(&self.signer, ballot, BoundedVec::truncating(tx_ids), Hash32::default());
        // Persist the layer before signing anything else for it: a restart must not vote twice.
        self.last_ballot = Some(layer);
        let mut batch = Batch::default();
        batch.put(LAST_BALLOT_KEY, &layer.encode());
        self.outputs.push_back(ConsensusOutput::Persist(batch));
        self.ballots.insert_own(&proposal);
        let own = self.ballots.layer(layer).and_then(|l| l.get(&proposal.ballot.id())).cloned();
        if let Some(record) = own {
            self.feed_ballot(layer, &record, proposal.ballot.votes.clone(), None);
        }
        let twin =
            self.cfg.misbehavior.doubles_ballot(layer).then(|| self.twin_proposal(&proposal));
        self.publish_proposal(now, proposal.encode().into());
        if let Some(twin) = twin {
            self.publish_proposal(now, twin.encode().into());
            self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Equivocated { layer }));
        }
        self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::ProposalPublished {
            layer,
            id: proposal.id(),
            eligibilities: n,
            slots: count,
        }));
    }

    /// Publishes an own proposal, or holds it back when this node withholds.
    fn publish_proposal(&mut self, now: Time, bytes: Bytes) {
        match self.cfg.misbehavior.withhold_proposals {
            Some(hold) => self.held.hold(now + hold, Topic::Proposal, bytes),
            None => self.outputs.push_back(ConsensusOutput::Publish(Topic::Proposal, bytes)),
        }
    }

    /// A second proposal for the layer of `proposal` with a ballot that abstains on the layer
    /// before instead of voting on it: same eligibilities, another opinion (an equivocation).
    fn twin_proposal(&self, proposal: &Proposal) -> Proposal {
        let ballot = &proposal.ballot;
        let last = LayerId(ballot.inner.layer.0.saturating_sub(1));
        let mut votes = ballot.votes.clone();
        votes.support = BoundedVec::truncating(
            votes.support.iter().filter(|v| v.layer != last).cloned().collect(),
        );
        votes.against = BoundedVec::truncating(
            votes.against.iter().filter(|v| v.layer != last).cloned().collect(),
        );
        if !votes.abstain.contains(&last) {
            let mut abstain = votes.abstain.to_vec();
            abstain.push(last);
            votes.abstain = BoundedVec::truncating(abstain);
        }
        let inner = InnerBallot { opinion_hash: opinion_hash(&votes), ..ballot.inner.clone() };
        let twin = Ballot::sign(&self.signer, inner, votes, ballot.eligibilities.clone());
        Proposal::sign(&self.signer, twin, BoundedVec::default(), Hash32::default())
    }

    /// Publishes the held-back own messages that are due (an ATX enters this node's own view
    /// only when it goes out, as it would for anyone else).
    fn release_held(&mut self, now: Time) {
        for (topic, bytes) in self.held.take_due(now) {
            if topic == Topic::Atx {
                self.publish_atx(bytes);
                continue;
            }
            self.outputs.push_back(ConsensusOutput::Publish(topic, bytes));
        }
        if !self.own_atxs.is_empty() {
            for bytes in std::mem::take(&mut self.own_atxs) {
                self.atxs.on_atx(now, bytes, None, None);
            }
            self.drain_atxs(now);
        }
    }

    /// Announces and publishes an own ATX, and queues it for this node's own view.
    fn publish_atx(&mut self, bytes: Bytes) {
        if let Ok(atx) = decode_shared::<crate::activation::wire::Atx>(&bytes) {
            self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::AtxPublished {
                epoch: atx.publish_epoch(),
                id: atx.id(),
            }));
        }
        self.outputs.push_back(ConsensusOutput::Publish(Topic::Atx, bytes.clone()));
        self.own_atxs.push(bytes);
    }

    /// A gossip message on one of the consensus topics.
    pub fn on_gossip(&mut self, now: Time, id: MsgId, topic: Topic, data: Bytes, from: PeerId) {
        match topic {
            Topic::Atx => {
                self.atxs.on_atx(now, data, Some(id), Some(from));
                self.drain_atxs(now);
            }
            Topic::Proposal => self.on_proposal(now, id, &data, from),
            Topic::Beacon => self.on_beacon(now, id, &data),
            Topic::Malfeasance => self.on_malfeasance_gossip(id, &data),
            Topic::Hare => self.on_hare_gossip(now, id, &data),
            Topic::Certify => self.on_certify_gossip(now, id, &data),
            Topic::Tx => self.on_tx_gossip(id, &data),
            Topic::Heartbeat => unreachable!("heartbeats are not consensus messages"),
        }
    }

    fn on_proposal(&mut self, now: Time, id: MsgId, data: &Bytes, from: PeerId) {
        let verdict = match self.take_proposal(now, data, from) {
            Ok(()) => Verdict::Accept,
            Err(BallotReject::UnknownActiveSet)
                if self.early_epoch(now, data) && self.early.len() < EARLY_MAX =>
            {
                // A ballot of an epoch whose active set this node freezes soon (the sender's
                // clock runs a little ahead): judged when the epoch starts here.
                self.early.push((id, data.clone(), from));
                return;
            }
            Err(e) if e.penalize() => Verdict::Reject,
            Err(_) => Verdict::Ignore,
        };
        self.outputs.push_back(ConsensusOutput::Verdict(id, verdict));
    }

    /// Validates a proposal (from gossip or fetched from `from`) and feeds its ballot on.
    fn take_proposal(&mut self, now: Time, data: &Bytes, from: PeerId) -> Result<(), BallotReject> {
        let (active_sets, sync) = (&self.active_sets, &self.sync);
        let result = self.ballots.on_proposal(
            now,
            data,
            self.atxs.store(),
            &self.malicious,
            |e, hash| sync.set_weight(active_sets.get(&e), e, hash),
            self.verifier.as_ref(),
        );
        while let Some(BallotOutput::Malfeasance(proof)) = self.ballots.poll_output() {
            self.on_detected(now, proof);
        }
        if matches!(result, Err(BallotReject::UnknownActiveSet)) && !self.early_epoch(now, data) {
            self.want_declared_set(data, from);
        }
        if let Err(reject) = &result {
            self.wait_for_reference(data, from, reject);
        }
        let AcceptedBallot { layer, record, votes, declared } = result?;
        self.want_txs(&record.tx_ids, Some(from));
        let epoch = self.cfg.clock.epoch_of(layer);
        if let Some(hash) = declared {
            let weight = self.atxs.store().get(&record.atx).map_or(0, |h| h.weight);
            self.on_declared_set(now, epoch, record.smesher, weight, hash);
        }
        self.tally(epoch, &record);
        self.feed_ballot(layer, &record, votes, Some(from));
        let output = self.unbuilt.get(&layer).filter(|p| p.contains(&record.proposal)).cloned();
        if let Some(proposals) = output {
            self.build_block(now, layer, &proposals);
        }
        // The ballots that waited for this one as their ref ballot are judged again.
        self.judge_waiting(now, (Hint::Ballot, mesh::ballot_key(&record.id)));
        Ok(())
    }

    /// Whether a proposal is of an epoch whose active set this node has not frozen yet because
    /// the epoch has not started here (or its grade delay has not passed).
    fn early_epoch(&self, now: Time, data: &Bytes) -> bool {
        let Ok(p) = decode_shared::<Proposal>(data) else { return false };
        let epoch = self.cfg.clock.epoch_of(p.ballot.inner.layer);
        let current = self.cfg.clock.epoch_at(now);
        self.sync.synced
            && (epoch.0 == current.0 + 1
                || (epoch == current && !self.active_sets.contains_key(&epoch)))
    }

    /// Records a ballot's declared beacon for the fallback. A node without a beacon for the
    /// epoch adopts the tally's once enough eligibilities are seen; a node whose beacon differs
    /// from a strict majority of the weight adopts the majority's (it missed part of the protocol,
    /// for example behind a partition).
    fn tally(&mut self, epoch: EpochId, record: &crate::ballot::handler::BallotRecord) {
        let prev = EpochId(epoch.0.saturating_sub(1));
        let Some(weight) = self.atxs.store().by_smesher(prev, &record.smesher).map(|h| h.weight)
        else {
            return;
        };
        let units = self.cfg.beacon.beacon_sync_weight_units;
        let max = self.cfg.beacon.tally_ballots_max;
        let tally =
            self.tallies.entry(epoch).or_insert_with(|| BeaconTally::new(epoch, units, max));
        let w = ballot_weight(weight, record.slots.max(1), record.eligibilities);
        let _ = tally.record(epoch, record.id, record.beacon, w, record.eligibilities);
        let (plurality, majority) = (tally.beacon(), tally.majority());
        while self.tallies.len() > 3 {
            self.tallies.pop_first();
        }
        match self.beacons.get(&epoch) {
            None => {
                if let Some(b) = plurality {
                    self.decide_beacon(epoch, b, BeaconSource::Fallback);
                }
            }
            Some(own) => {
                if let Some(b) = majority.filter(|b| b != own) {
                    // The hare and certify committees judge others' messages by the beacon, so
                    // they follow it. This node's ballot eligibilities stay once its ref ballot
                    // declared them (proving new ones would use more slots than declared);
                    // before that they are proven again with the beacon the ref ballot will
                    // declare, or peers would refuse it.
                    self.beacons.remove(&epoch);
                    self.committees.remove(&epoch);
                    let me = self.signer.node_id();
                    if self.ballots.ref_ballot(epoch, &me).is_none() {
                        self.own = None;
                    }
                    self.decide_beacon(epoch, b, BeaconSource::Fallback);
                }
            }
        }
    }

    fn on_beacon(&mut self, now: Time, id: MsgId, data: &Bytes) {
        let msg: BeaconMessage = match decode_shared(data) {
            Ok(m) => m,
            Err(_) => {
                return self.outputs.push_back(ConsensusOutput::Verdict(id, Verdict::Reject));
            }
        };
        let early =
            self.early_beacon_epoch(now, msg.epoch()) && self.early_beacon.len() < EARLY_BEACON_MAX;
        let verdict = match &mut self.beacon_run {
            Some(run) if run.epoch() == msg.epoch() => {
                match run.on_message(now, &msg, self.verifier.as_ref()) {
                    Ok(v) => v,
                    Err(e) => e.verdict(),
                }
            }
            _ if early => {
                // The sender's epoch started a little earlier than ours: judged when ours does
                // (ignoring it would leave this node with another set of proposals, so another
                // beacon, whenever clocks differ by more than the network's latency).
                self.early_beacon.push((id, data.clone()));
                return;
            }
            _ => Verdict::Ignore,
        };
        self.outputs.push_back(ConsensusOutput::Verdict(id, verdict));
        self.drain_beacon();
    }

    /// Whether `epoch` is the next one and starts here within [`EARLY_BEACON_WINDOW`].
    fn early_beacon_epoch(&self, now: Time, epoch: EpochId) -> bool {
        let clock = self.cfg.clock;
        epoch.0 == clock.epoch_at(now).0 + 1
            && clock.epoch_start(epoch) <= now + EARLY_BEACON_WINDOW
    }

    fn on_malfeasance_gossip(&mut self, id: MsgId, data: &Bytes) {
        let proof: MalfeasanceProof = match decode_shared(data) {
            Ok(p) => p,
            Err(_) => return self.outputs.push_back(ConsensusOutput::Verdict(id, Verdict::Reject)),
        };
        if self.malicious.contains(&proof.smesher) {
            return self.outputs.push_back(ConsensusOutput::Verdict(id, Verdict::Ignore));
        }
        self.verify_malfeasance(Some(id), proof);
    }

    fn verify_malfeasance(&mut self, gossip: Option<MsgId>, proof: MalfeasanceProof) {
        let commitment_atx =
            self.atxs.store().iter().find(|h| h.smesher == proof.smesher).map(|h| h.commitment_atx);
        let smesher = proof.smesher;
        if self.pending_proofs.contains_key(&smesher) {
            if let Some(id) = gossip {
                self.outputs.push_back(ConsensusOutput::Verdict(id, Verdict::Ignore));
            }
            return;
        }
        self.outputs.push_back(ConsensusOutput::Job(
            JobOwner::Malfeasance(gossip, smesher),
            Job::VerifyMalfeasance {
                genesis: self.genesis,
                config: Box::new(self.cfg.post),
                commitment_atx,
                proof: Box::new(proof.clone()),
            },
        ));
        self.pending_proofs.insert(smesher, (gossip, proof));
    }

    /// Evidence this node found itself: record, persist and gossip the proof.
    fn on_detected(&mut self, now: Time, proof: MalfeasanceProof) {
        if self.malicious.contains(&proof.smesher) {
            return;
        }
        let bytes: Bytes = proof.encode().into();
        let (smesher, kind) = (proof.smesher, proof.kind());
        if let Some(batch) = self.malicious.insert(now, proof) {
            self.outputs.push_back(ConsensusOutput::Persist(batch));
            self.outputs.push_back(ConsensusOutput::Publish(Topic::Malfeasance, bytes));
            self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Malfeasance {
                smesher,
                kind,
                detected: true,
            }));
            self.mark_malicious(&smesher);
        }
    }

    fn mark_malicious(&mut self, smesher: &NodeId) {
        self.tortoise.on_malfeasance(*smesher);
        if let Some(run) = &mut self.beacon_run {
            run.mark_malicious(smesher);
        }
        if *smesher == self.signer.node_id() {
            self.own = None;
        }
    }

    /// A fetch frame from a peer.
    pub fn on_fetch(&mut self, now: Time, peer: PeerId, msg: FetchMessage) {
        match msg {
            FetchMessage::Request { id, hint, hashes } => {
                let items: Vec<FetchItem> = hashes
                    .iter()
                    .map(|h| FetchItem { hash: *h, data: self.serve(hint, h) })
                    .collect();
                let items = BoundedVec::new(items).expect("as many items as hashes");
                self.outputs
                    .push_back(ConsensusOutput::Fetch(peer, FetchMessage::Response { id, items }));
            }
            FetchMessage::Response { id, items } => {
                self.fetcher.on_response(peer, id, items.into_inner());
                self.drain_fetcher(now);
            }
        }
    }

    fn serve(
        &self,
        hint: Hint,
        hash: &Hash32,
    ) -> Option<crate::codec::BoundedBytes<{ crate::fetch::ITEM_MAX }>> {
        let bytes = match hint {
            Hint::Atx => self.atxs.raw(hash).cloned(),
            Hint::PoetProof => self.atxs.poet_proof_bytes(hash).map(|(statement, proof)| {
                let mut b = statement.0.to_vec();
                b.extend_from_slice(proof);
                Bytes::from(b)
            }),
            Hint::Malfeasance => self.malicious.proof(&NodeId(hash.0)).map(|p| p.encode().into()),
            Hint::Block => self.served_block(hash).map(Bytes::from),
            Hint::Ballot => self.ballots.raw(&mesh::ballot_id(hash)).cloned(),
            Hint::Proposal => {
                let (layer, id) = mesh::proposal_of_key(hash)?;
                let mut records = self.ballots.layer(layer)?.records();
                records.find(|r| r.proposal == id).map(|r| r.raw.clone())
            }
            Hint::Tx => self.tx_raw(hash),
            Hint::EpochAtxs
            | Hint::LayerBallots
            | Hint::ActiveSet
            | Hint::Certificate
            | Hint::MaliciousIds => self.served_list(hint, hash),
        }?;
        crate::codec::BoundedBytes::new(bytes).ok()
    }

    /// A peer disconnected.
    pub fn on_peer_down(&mut self, peer: &PeerId) {
        self.fetcher.on_peer_down(peer);
    }

    /// A PoET answered.
    pub fn on_poet_response(&mut self, now: Time, id: u64, response: PoetResponse) {
        if let Some(b) = &mut self.builder {
            b.on_poet_response(now, id, response, self.verifier.as_ref());
        }
        self.drain_builder(now);
    }

    /// A consensus job finished.
    pub fn on_job_done(&mut self, now: Time, owner: JobOwner, result: JobResult) {
        match (owner, result) {
            (JobOwner::Atx(id), JobResult::AtxChecked(outcome)) => {
                self.atxs.on_checked(now, id, outcome);
                self.drain_atxs(now);
            }
            (JobOwner::PoetProof(reference), JobResult::PoetProofVerified(valid)) => {
                self.atxs.on_poet_verified(now, reference, valid);
                self.drain_atxs(now);
            }
            (JobOwner::BuilderProof(id), JobResult::PoetProofVerified(valid)) => {
                if let Some(b) = &mut self.builder {
                    b.on_proof_verified(now, id, valid, self.verifier.as_ref());
                }
                self.drain_builder(now);
            }
            (JobOwner::Malfeasance(_, smesher), JobResult::MalfeasanceVerified(valid)) => {
                if let Some((gossip, proof)) = self.pending_proofs.remove(&smesher) {
                    self.on_malfeasance_checked(now, gossip, proof, valid);
                }
            }
            (JobOwner::PostInit, JobResult::PostInitialized(result)) => {
                match (&mut self.builder, result) {
                    (Some(b), Ok((vrf_nonce, initial_post))) => b.on_init_done(PostInitResult {
                        commitment_atx: self.atxs.golden(),
                        vrf_nonce,
                        initial_post,
                    }),
                    (Some(_), Err(reason)) => self.outputs.push_back(ConsensusOutput::Event(
                        ConsensusEvent::Builder(BuilderEvent::InitFailed { reason }),
                    )),
                    (None, _) => {}
                }
                self.drain_builder(now);
            }
            (JobOwner::PostProve, JobResult::PostProved(result)) => {
                if let Some(b) = &mut self.builder {
                    b.on_post_proved(result);
                }
                self.drain_builder(now);
            }
            (owner, result) => panic!("job result {result:?} does not fit its owner {owner:?}"),
        }
    }

    fn on_malfeasance_checked(
        &mut self,
        now: Time,
        gossip: Option<MsgId>,
        proof: MalfeasanceProof,
        valid: bool,
    ) {
        let verdict =
            if !valid {
                Verdict::Reject
            } else {
                let (smesher, kind) = (proof.smesher, proof.kind());
                match self.malicious.insert(now, proof) {
                    Some(batch) => {
                        crate::coverage::mark(crate::coverage::MALFEASANCE_PROOF);
                        self.outputs.push_back(ConsensusOutput::Persist(batch));
                        self.outputs.push_back(ConsensusOutput::Event(
                            ConsensusEvent::Malfeasance { smesher, kind, detected: false },
                        ));
                        self.mark_malicious(&smesher);
                        Verdict::Accept
                    }
                    None => Verdict::Ignore,
                }
            };
        if let Some(id) = gossip {
            self.outputs.push_back(ConsensusOutput::Verdict(id, verdict));
        }
    }

    fn drain_atxs(&mut self, now: Time) {
        // ATXs accepted, whose waiting proposals are judged once the handler is drained.
        let mut accepted = Vec::new();
        while let Some(out) = self.atxs.poll_output() {
            match out {
                HandlerOutput::Verdict(id, v) => {
                    self.outputs.push_back(ConsensusOutput::Verdict(id, v))
                }
                HandlerOutput::Fetch { hint, hash, peer } => self.fetcher.want(hint, hash, peer),
                HandlerOutput::Check(check) => {
                    let id = check.id;
                    self.outputs.push_back(ConsensusOutput::Job(
                        JobOwner::Atx(id),
                        Job::VerifyAtx {
                            genesis: self.genesis,
                            config: Box::new(self.cfg.post),
                            check,
                        },
                    ));
                }
                HandlerOutput::VerifyPoet { reference, proof, statement } => {
                    self.outputs.push_back(ConsensusOutput::Job(
                        JobOwner::PoetProof(reference),
                        Job::VerifyPoetProof {
                            proof,
                            statement,
                            t: self.cfg.poet.t,
                            nesting_depth: self.cfg.poet.nesting_depth,
                        },
                    ));
                }
                HandlerOutput::Accepted(h) => {
                    accepted.push(h.id);
                    let _ = self.tortoise.on_atx(Arc::clone(&h));
                    if let Some(run) = &mut self.beacon_run
                        && h.target_epoch() == run.epoch()
                    {
                        let received = self.atxs.store().received(&h.id).unwrap_or(now);
                        let _ = run.add_participant(participant(&h, received, &self.malicious));
                    }
                    self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::AtxAccepted {
                        id: h.id,
                        smesher: h.smesher,
                        epoch: h.publish_epoch,
                        weight: h.weight,
                    }));
                }
                HandlerOutput::Rejected { id, reason } => {
                    self.waiting.take(&(Hint::Atx, id));
                    self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::AtxRejected {
                        id,
                        reason: reason.to_string(),
                    }));
                }
                HandlerOutput::Malfeasance(proof) => self.on_detected(now, proof),
            }
        }
        if !accepted.is_empty() {
            self.retry_active_sets(now);
        }
        for id in accepted {
            self.judge_waiting(now, (Hint::Atx, id));
        }
    }

    fn drain_builder(&mut self, now: Time) {
        // Stopped: what the builder produces (an ATX among it) waits in its queue until the
        // node smeshes again.
        let Some(b) = self.builder.as_mut().filter(|_| self.smeshing) else { return };
        let mut outs = Vec::new();
        while let Some(out) = b.poll_output() {
            outs.push(out);
        }
        let mut published = Vec::new();
        for out in outs {
            match out {
                BuilderOutput::Initialize { commitment_atx } => {
                    let data = self.post_data(commitment_atx);
                    self.outputs.push_back(ConsensusOutput::Job(
                        JobOwner::PostInit,
                        Job::PostInit(Box::new(data)),
                    ));
                }
                BuilderOutput::Poet { poet, id, request } => {
                    self.outputs.push_back(ConsensusOutput::Poet { poet, id, request })
                }
                BuilderOutput::VerifyPoetProof { id, proof, statement } => {
                    self.outputs.push_back(ConsensusOutput::Job(
                        JobOwner::BuilderProof(id),
                        Job::VerifyPoetProof {
                            proof,
                            statement,
                            t: self.cfg.poet.t,
                            nesting_depth: self.cfg.poet.nesting_depth,
                        },
                    ));
                }
                BuilderOutput::Prove { challenge, commitment_atx, proof, statement } => {
                    published.push((proof, statement));
                    let data = self.post_data(commitment_atx);
                    self.outputs.push_back(ConsensusOutput::Job(
                        JobOwner::PostProve,
                        Job::PostProve { data: Box::new(data), challenge },
                    ));
                }
                BuilderOutput::Persist(batch) => {
                    self.outputs.push_back(ConsensusOutput::Persist(batch))
                }
                BuilderOutput::Publish(atx) => {
                    let bytes: Bytes = atx.encode().into();
                    match self.cfg.misbehavior.late_atx {
                        Some(before) => {
                            let target = EpochId(atx.publish_epoch().0 + 1);
                            let at = self.cfg.clock.epoch_start(target) - before;
                            self.held.hold(at.max(now), Topic::Atx, bytes);
                        }
                        None => self.publish_atx(bytes),
                    }
                }
                BuilderOutput::Event(e) => {
                    self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Builder(e)))
                }
            }
        }
        for (proof, statement) in published {
            self.atxs.on_poet_proof(now, proof.encode().into(), statement, true);
        }
        for bytes in std::mem::take(&mut self.own_atxs) {
            self.atxs.on_atx(now, bytes, None, None);
        }
        self.drain_atxs(now);
    }

    fn post_data(&self, commitment_atx: AtxId) -> PostData {
        PostData {
            node_id: self.signer.node_id(),
            commitment_atx,
            num_units: self.builder_cfg().map_or(1, |b| b.num_units),
            config: self.cfg.post,
        }
    }

    fn builder_cfg(&self) -> Option<&BuilderConfig> {
        self.cfg.builder.as_ref()
    }

    fn drain_beacon(&mut self) {
        let Some(run) = &mut self.beacon_run else { return };
        let mut decided = Vec::new();
        while let Some(out) = run.poll_output() {
            match out {
                BeaconOutput::Publish(msg) => self
                    .outputs
                    .push_back(ConsensusOutput::Publish(Topic::Beacon, msg.encode().into())),
                BeaconOutput::Decided { epoch, beacon } => decided.push((epoch, beacon)),
                BeaconOutput::Failed { epoch, reason } => {
                    self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::BeaconFailed {
                        epoch,
                        reason: reason.to_string(),
                    }))
                }
            }
        }
        for (epoch, beacon) in decided {
            self.decide_beacon(epoch, beacon, BeaconSource::Protocol);
        }
    }

    fn drain_fetcher(&mut self, now: Time) {
        while let Some(out) = self.fetcher.poll_output() {
            match out {
                FetchOutput::Send { peer, msg } => {
                    self.outputs.push_back(ConsensusOutput::Fetch(peer, msg))
                }
                FetchOutput::Delivered { hint, hash, data, peer } => match hint {
                    Hint::Atx => self.atxs.on_atx(now, data, None, Some(peer)),
                    Hint::PoetProof => self.on_fetched_poet_proof(now, hash, data, peer),
                    Hint::Malfeasance => {
                        if let Ok(proof) = decode_shared::<MalfeasanceProof>(&data) {
                            self.verify_malfeasance(None, proof);
                        }
                    }
                    Hint::Tx => {
                        if !self.on_fetched_tx(now, hash, data) {
                            self.outputs
                                .push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol));
                        }
                    }
                    Hint::Block => {
                        if !self.on_fetched_block(hash, &data) {
                            self.outputs
                                .push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol));
                        }
                    }
                    Hint::Ballot => {
                        let layer = decode_shared::<Proposal>(&data)
                            .ok()
                            .filter(|p| mesh::ballot_key(&p.ballot.id()) == hash)
                            .map(|p| p.ballot.inner.layer);
                        let Some(layer) = layer else {
                            self.outputs
                                .push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol));
                            continue;
                        };
                        match self.take_proposal(now, &data, peer) {
                            Ok(()) => self.on_missed_ballot(now, layer, peer),
                            Err(e) if e.penalize() => self
                                .outputs
                                .push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol)),
                            Err(_) => {}
                        }
                    }
                    Hint::Proposal => {
                        let asked = mesh::proposal_of_key(&hash);
                        let answered = decode_shared::<Proposal>(&data)
                            .ok()
                            .map(|p| (p.ballot.inner.layer, p.id()));
                        if asked.is_none() || answered != asked {
                            self.outputs
                                .push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol));
                            // Still wanted while its layer waits for it: from another peer.
                            let wanted = asked.is_some_and(|(layer, id)| {
                                self.unbuilt.get(&layer).is_some_and(|p| p.contains(&id))
                            });
                            if wanted {
                                self.fetcher.want_besides(Hint::Proposal, hash, vec![peer]);
                            }
                            continue;
                        }
                        if let Err(e) = self.take_proposal(now, &data, peer)
                            && e.penalize()
                        {
                            self.outputs
                                .push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol));
                        }
                    }
                    Hint::EpochAtxs
                    | Hint::LayerBallots
                    | Hint::ActiveSet
                    | Hint::Certificate
                    | Hint::MaliciousIds => {
                        let ok = match hint {
                            Hint::EpochAtxs => self.on_epoch_atxs(&hash, &data, peer),
                            Hint::LayerBallots => self.on_layer_ballots(&hash, &data, peer),
                            Hint::Certificate => self.on_certificate(&data, peer),
                            Hint::MaliciousIds => self.on_malicious_ids(&data, peer),
                            _ => self.on_active_set(now, &hash, &data),
                        };
                        if !ok {
                            self.outputs
                                .push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol));
                        }
                    }
                },
                FetchOutput::Failed { hint: Hint::Ballot, hash } => {
                    // Proposals waiting for it as their ref ballot are dropped (wanted again
                    // if they come again); ballots waiting for it as their base stay (their
                    // next reference asks again).
                    let referred = !self.waiting.take(&(Hint::Ballot, hash)).is_empty()
                        || self.waiting_ballots.contains_key(&mesh::ballot_id(&hash));
                    if referred {
                        self.outputs.push_back(ConsensusOutput::CutOff);
                    }
                }
                // A proposal nobody served leaves its layer to the block its ballots vote for.
                FetchOutput::Failed { hint: Hint::Block | Hint::Tx | Hint::Proposal, .. } => {}
                FetchOutput::Failed {
                    hint:
                        hint @ (Hint::EpochAtxs
                        | Hint::LayerBallots
                        | Hint::ActiveSet
                        | Hint::Certificate
                        | Hint::MaliciousIds),
                    hash,
                } => self.on_sync_fetch_failed(hint, &hash),
                FetchOutput::Failed { hint, hash } => {
                    self.waiting.take(&(hint, hash));
                    self.atxs.on_fetch_failed(now, hint, hash);
                }
                FetchOutput::Unsolicited { peer } => {
                    self.outputs.push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol))
                }
            }
        }
        self.drain_atxs(now);
    }

    /// A fetched PoET proof: `{statement, proof}`; the reference must match what was asked.
    fn on_fetched_poet_proof(&mut self, now: Time, hash: Hash32, data: Bytes, peer: PeerId) {
        let Ok(served) = decode_shared::<ServedPoetProof>(&data) else {
            return self.outputs.push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol));
        };
        if served.proof.reference() != hash {
            return self.outputs.push_back(ConsensusOutput::Penalize(peer, Penalty::Protocol));
        }
        self.atxs.on_poet_proof(now, served.proof.encode().into(), served.statement, false);
    }

    /// Layers of blocks and hare outputs kept (see [`ConsensusConfig::layers_kept`]).
    fn layers_kept(&self) -> usize {
        usize::try_from(self.cfg.layers_kept).unwrap_or(usize::MAX).max(1)
    }

    /// Epochs of beacons kept: at least [`BEACONS_KEPT_MIN`], and as many as ATX epochs.
    fn beacons_kept(&self) -> usize {
        let epochs = self.cfg.atx_epochs_kept.max(BEACONS_KEPT_MIN);
        usize::try_from(epochs).unwrap_or(usize::MAX)
    }

    /// Panics if a bound of any part is broken. Cheap: constant time.
    pub fn check_invariants(&self) {
        self.atxs.check_bounds();
        self.fetcher.check_bounds();
        if let Some(b) = &self.builder {
            b.check_invariants();
        }
        let sets_kept = self.cfg.active_sets_kept.max(1) as usize;
        assert!(self.active_sets.len() <= sets_kept, "active sets are pruned");
        assert!(self.beacons.len() <= self.beacons_kept(), "beacons are pruned");
        assert!(self.committees.len() <= 3, "committees are pruned to three epochs");
        assert!(self.hare_blocks.len() <= self.layers_kept(), "hare blocks are pruned");
        assert!(self.early.len() <= EARLY_MAX, "early proposals are bounded");
        assert!(self.early_beacon.len() <= EARLY_BEACON_MAX, "early beacon messages are bounded");
        assert!(self.unbuilt.len() <= self.layers_kept(), "unbuilt outputs are bounded");
        assert!(
            self.waiting_ballots.values().map(Vec::len).sum::<usize>() <= mesh::WAITING_MAX,
            "waiting ballots are bounded"
        );
        self.waiting.check_invariants();
        self.sync.check_invariants();
        self.hare.check_invariants();
        self.tortoise.check_invariants();
    }

    /// Every invariant, including the linear-time index checks of each part.
    pub fn check_invariants_deep(&self) {
        self.check_invariants();
        self.hare.check_invariants_deep();
        self.atxs.check_invariants();
        self.ballots.check_invariants();
        self.fetcher.check_invariants();
        if let Some(run) = &self.beacon_run {
            run.check_invariants();
        }
        self.certifier.check_invariants();
        self.mesh.check_invariants();
        self.mempool.check_invariants();
    }
}

/// An ATX's identity as a beacon participant.
fn participant(
    h: &crate::activation::store::AtxHeader,
    received: Time,
    malicious: &MaliciousSet,
) -> Participant {
    Participant {
        node_id: h.smesher,
        atx_id: h.id,
        weight: h.weight,
        vrf_nonce: h.vrf_nonce,
        num_units: h.num_units,
        atx_received: received,
        malicious: malicious.contains(&h.smesher),
    }
}

/// A PoET proof as served by fetch: the proof and the statement it proves work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedPoetProof {
    /// The statement (membership root).
    pub statement: Hash32,
    /// The proof.
    pub proof: crate::poet::PoetProof,
}
crate::impl_codec_struct!(ServedPoetProof { statement, proof });

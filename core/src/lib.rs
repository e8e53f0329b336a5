//! Sans-IO Spacemesh protocol state machines, domain types, SCALE codec and crypto.
//!
//! # The I/O contract
//!
//! [`Node`] is the only thing a runtime talks to. It performs no I/O, reads no clock, spawns no
//! thread and draws no OS randomness: time is an argument, randomness comes from the seed given
//! to [`Node::new`], and every map that is iterated is ordered (the one hash table,
//! [`lookup::Lookup`], cannot be iterated). A runtime drives it like this:
//!
//! 1. Create the node, then feed [`Input::Restore`] with what its storage holds (an empty
//!    snapshot on first start). Restore comes first and once.
//! 2. Feed inputs with [`Node::handle`]`(now, input)`: [`Input::Message`] for frames from peers,
//!    [`Input::Tick`] when [`Node::poll_timeout`] is due, [`Input::JobDone`] when a job finishes,
//!    [`Input::PeerUp`]/[`Input::PeerDown`] for connections and [`Input::Command`] for API and
//!    CLI requests. `now` must never decrease between calls.
//! 3. After **every** `handle`, drain [`Node::poll_output`] until it returns `None`, and act on
//!    the outputs in order: [`Output::Send`] a frame to a peer, [`Output::Connect`] or
//!    [`Output::Disconnect`] a peer, [`Output::Persist`] a batch (atomically, and durable
//!    *before any later output is acted on*), [`Output::StartJob`] for heavy work, and
//!    [`Output::Event`] for observable facts (checkers, API, trace).
//! 4. Then ask [`Node::poll_timeout`] and arrange a `Tick` for then. Ticks that come early or
//!    twice are harmless.
//!
//! Bad input never panics: a frame that does not decode, a message that breaks a rule or an
//! oversized length yields a typed reject and a penalty for the peer that sent it. A broken
//! invariant panics; the simulator calls [`Node::check_invariants`] after every step.
//!
//! # Map of the crate
//!
//! - [`types`]: `LayerId`, `EpochId`, `NodeId`, `PeerId`, `Hash32`, `GenesisId`, `Time`,
//!   `Beacon`, `BallotId`, `ProposalId`. [`layers`]: the layer clock and PoET round schedule.
//! - [`codec`]: SCALE encoding with a bound on every decode path.
//! - [`crypto`]: BLAKE3, ed25519 with domain separation, the [`crypto::Verifier`] interface.
//! - [`frame`]: the top-level wire frame.
//! - [`p2p`]: peer upkeep (targets, scores, bans, pings, peer exchange).
//! - [`gossip`]: topic gossip with verdicts, mesh, lazy announcements and anti-entropy.
//! - [`heartbeat`]: signed heartbeats, the first gossip topic owner.
//! - [`beacon`]: the per-epoch beacon protocol, the ballot beacon tally and the genesis rule.
//! - [`post`]: Proof of Space-Time (labels, initialization, proving, verification, k2pow).
//! - [`poet`]: Proof of Elapsed Time (membership tree, sequential work, proofs, the service).
//! - [`vrf`], [`eligibility`]: ECVRF, its message encodings, ballot slots and hare committees.
//! - [`activation`]: ATXs, their validation and store, the NIPoST builder.
//! - [`ballot`]: ballots and proposals. [`malfeasance`]: proofs against identities.
//! - [`hare`]: per-layer agreement on proposals (hare3 state machine, sessions, messages).
//! - [`block`]: blocks built from hare outputs. [`certifier`]: certificates of those blocks.
//! - [`rewards`]: the issuance curve and the split of a layer's reward among ATXs.
//! - [`tortoise`]: final, self-healing block validity from weighted ballot votes.
//! - [`mesh`]: the valid block of each layer applied in order to coinbase balances, with state
//!   and aggregated hashes, reverts and restore.
//! - [`account`], [`tx`], [`state`]: genvm's accounts, transactions, execution and state root.
//!   [`mempool`]: transactions waiting for a proposal, with each principal's projected state.
//! - [`fetch`]: objects by hash from peers.
//! - [`store`]: persisted batches and restore snapshots. [`job`]: heavy work descriptions.
//! - [`lookup`]: the hash table for stores looked up by id, which is never iterated.
//!   [`sorted_map`]: a map as a sorted vector, for a node's few connections.
//! - [`node`]: the composition ([`node::consensus`]: the epoch machinery of one node).

#![forbid(unsafe_code)]

pub mod account;
pub mod activation;
pub mod ballot;
pub mod beacon;
pub mod block;
pub mod canary;
pub mod certifier;
pub mod codec;
pub mod coverage;
pub mod crypto;
pub mod eligibility;
pub mod fetch;
pub mod frame;
pub mod gossip;
pub mod hare;
pub mod heartbeat;
pub mod job;
pub mod layers;
pub mod lookup;
pub mod malfeasance;
pub mod mempool;
pub mod mesh;
pub mod node;
pub mod p2p;
pub mod poet;
pub mod post;
pub mod rewards;
pub mod sorted_map;
pub mod state;
pub mod store;
pub mod tortoise;
pub mod tx;
pub mod types;
pub mod vrf;

pub use node::{Command, Input, Node, NodeConfig, NodeEvent, NodeKeys, NodeStats, Output};
pub use types::{EpochId, GenesisId, Hash32, LayerId, NodeId, PeerId, Time};

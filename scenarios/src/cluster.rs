//! Building a simulated cluster: keys, identities, bootstrap lists, honest nodes and agents.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::seq::IndexedRandom;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use spacemesh_core::crypto::Signer;
use spacemesh_core::{GenesisId, NodeConfig, NodeId, NodeKeys, PeerId};
use spacemesh_runtime_sim::{Agent, NodeSpec, PoetSpec, RuntimeConfig, SimNet, SlotSpec};
use spacemesh_sim::NodeIdx;
use spacemesh_sim::engine::{Sim, SimConfig};
use spacemesh_sim::rng::RngTree;

use crate::adversary::{Adversary, Cast};
use crate::checks::Checks;

/// RNG stream tags of the cluster builder (components of `RngTree::node`).
const KEYS_STREAM: u64 = 1;
const AGENT_STREAM: u64 = 2;
const LAYOUT_STREAM: u64 = 3;
const CUSTOMIZE_STREAM: u64 = 4;

type AgentFactory = Box<dyn Fn(ChaCha8Rng) -> Box<dyn Agent>>;
type NodeCustomizer = Box<dyn Fn(u32, &mut NodeConfig, &mut ChaCha8Rng)>;

/// Describes a cluster before it is built.
pub struct ClusterBuilder {
    nodes: u32,
    seed: u64,
    node_cfg: NodeConfig,
    bootstrap: usize,
    heartbeat_spread: Option<Duration>,
    agents: BTreeMap<u32, AgentFactory>,
    customize: Option<NodeCustomizer>,
    poets: Vec<PoetSpec>,
    cast: Cast,
}

impl std::fmt::Debug for ClusterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterBuilder")
            .field("nodes", &self.nodes)
            .field("agents", &self.agents.len())
            .field("poets", &self.poets.len())
            .finish()
    }
}

/// A built cluster: who is who.
#[derive(Debug)]
pub struct Cluster {
    /// p2p identity of each slot.
    pub peer_ids: Vec<PeerId>,
    /// Smeshing identity of each honest slot.
    pub node_ids: Vec<Option<NodeId>>,
    /// Whether each node slot is honest (PoET slots come after the nodes and are not listed).
    pub honest: Vec<bool>,
    /// The adversaries cast on node slots (their slots are not honest).
    pub cast: Cast,
    slots: Vec<SlotSpec>,
}

impl ClusterBuilder {
    /// `nodes` slots from master seed `seed`, all honest with the default node configuration.
    pub fn new(nodes: u32, seed: u64) -> Self {
        let node_cfg =
            NodeConfig { genesis: GenesisId(*b"smesh-simulation-net"), ..NodeConfig::default() };
        ClusterBuilder {
            nodes,
            seed,
            node_cfg,
            bootstrap: 8,
            heartbeat_spread: None,
            agents: BTreeMap::new(),
            customize: None,
            poets: Vec::new(),
            cast: Cast::default(),
        }
    }

    /// Casts adversaries from the catalogue on node slots: their configuration is bent after
    /// [`ClusterBuilder::customize`], twins get their target's identity key, and eclipsers are
    /// nobody's bootstrap peer.
    pub fn cast(mut self, cast: Cast) -> Self {
        self.cast = cast;
        self
    }

    /// Adjusts each honest node's configuration (slot, config, the slot's own RNG stream).
    pub fn customize(
        mut self,
        f: impl Fn(u32, &mut NodeConfig, &mut ChaCha8Rng) + 'static,
    ) -> Self {
        self.customize = Some(Box::new(f));
        self
    }

    /// Adds PoET servers; they take the slots after the nodes.
    pub fn poets(mut self, poets: Vec<PoetSpec>) -> Self {
        self.poets = poets;
        self
    }

    /// The configuration of every honest node (bootstrap lists are filled in per node).
    pub fn node_config(mut self, cfg: NodeConfig) -> Self {
        self.node_cfg = cfg;
        self
    }

    /// How many random honest peers each node bootstraps from.
    pub fn bootstrap(mut self, n: usize) -> Self {
        self.bootstrap = n;
        self
    }

    /// Spread first heartbeats uniformly over `interval` so that the network does not publish
    /// in lockstep.
    pub fn spread_heartbeats(mut self, interval: Duration) -> Self {
        self.heartbeat_spread = Some(interval);
        self
    }

    /// Slot `idx` runs an agent built from its own RNG stream.
    pub fn agent(
        mut self,
        idx: u32,
        make: impl Fn(ChaCha8Rng) -> Box<dyn Agent> + 'static,
    ) -> Self {
        assert!(idx < self.nodes, "agent slot out of range");
        self.agents.insert(idx, Box::new(make));
        self
    }

    /// Derives keys, identities and bootstrap lists.
    pub fn build(self) -> Cluster {
        let tree = RngTree::new(self.seed);
        let n = self.nodes as usize;
        let mut keys = Vec::with_capacity(n);
        let mut peer_ids = Vec::with_capacity(n);
        for i in 0..self.nodes {
            let mut rng = tree.stream(&[0, u64::from(i), KEYS_STREAM]);
            let mut k = NodeKeys { identity_seed: [0; 32], p2p_seed: [0; 32] };
            rng.fill_bytes(&mut k.identity_seed);
            rng.fill_bytes(&mut k.p2p_seed);
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            peer_ids.push(PeerId(Signer::from_seed(k.p2p_seed, self.node_cfg.genesis).node_id().0));
            keys.push((k, seed));
        }
        let byzantine: BTreeMap<u32, Adversary> = self.cast.byzantine_slots();
        let honest: Vec<bool> = (0..self.nodes)
            .map(|i| !self.agents.contains_key(&i) && !byzantine.contains_key(&i))
            .collect();
        let eclipsers = self.cast.eclipsers();
        let honest_peers: Vec<PeerId> = (0..n)
            .filter(|i| {
                !self.agents.contains_key(&(*i as u32)) && !eclipsers.contains(&(*i as u32))
            })
            .map(|i| peer_ids[i])
            .collect();
        // Twins run their target's identity key (with their own p2p key).
        for slot in byzantine.keys() {
            if let Some(target) = self.cast.twin_of(*slot) {
                keys[*slot as usize].0.identity_seed = keys[target as usize].0.identity_seed;
            }
        }
        let mut layout = tree.stream(&[LAYOUT_STREAM]);
        let mut slots = Vec::with_capacity(n);
        let mut node_ids = Vec::with_capacity(n);
        for (i, (k, seed)) in keys.into_iter().enumerate() {
            if let Some(make) = self.agents.get(&(i as u32)) {
                slots.push(SlotSpec::Agent(make(tree.stream(&[0, i as u64, AGENT_STREAM]))));
                node_ids.push(None);
                continue;
            }
            let mut cfg = self.node_cfg.clone();
            cfg.bootstrap = honest_peers
                .choose_multiple(&mut layout, self.bootstrap + 1)
                .filter(|p| **p != peer_ids[i])
                .take(self.bootstrap)
                .copied()
                .collect();
            if let Some(spread) = self.heartbeat_spread {
                cfg.heartbeat_offset =
                    Some(Duration::from_micros(layout.random_range(0..spread.as_micros() as u64)));
            }
            if let Some(f) = &self.customize {
                let mut rng = tree.stream(&[0, i as u64, CUSTOMIZE_STREAM]);
                f(i as u32, &mut cfg, &mut rng);
            }
            self.cast.configure(i as u32, &mut cfg, &peer_ids);
            node_ids.push(Some(Signer::from_seed(k.identity_seed, cfg.genesis).node_id()));
            slots.push(SlotSpec::Honest(NodeSpec { cfg, keys: k, seed }));
        }
        for p in self.poets {
            peer_ids.push(PeerId(p.id.0));
            slots.push(SlotSpec::Poet(p));
        }
        Cluster { peer_ids, node_ids, honest, cast: self.cast, slots }
    }
}

impl Cluster {
    /// Slot of every p2p identity.
    pub fn index(&self) -> BTreeMap<PeerId, NodeIdx> {
        self.peer_ids.iter().enumerate().map(|(i, p)| (*p, NodeIdx(i as u32))).collect()
    }

    /// Slot of every honest smeshing identity (adversaries cast on the cluster excluded).
    pub fn honest_ids(&self) -> BTreeMap<NodeId, NodeIdx> {
        self.node_ids
            .iter()
            .enumerate()
            .filter(|(i, _)| self.honest.get(*i).copied().unwrap_or(false))
            .filter_map(|(i, id)| id.map(|id| (id, NodeIdx(i as u32))))
            .collect()
    }

    /// The simulation, with every node scheduled to start at time zero.
    pub fn into_sim(
        self,
        checks: Checks,
        seed: u64,
        sim_cfg: SimConfig,
        rt: RuntimeConfig,
    ) -> Sim<SimNet<Checks>> {
        let n = self.slots.len() as u32;
        let world = SimNet::new(rt, self.slots, self.peer_ids, checks);
        let mut sim: Sim<SimNet<Checks>> = Sim::new(world, n, seed, sim_cfg);
        sim.with_ctx(|world, ctx| world.start_all(ctx));
        sim
    }
}

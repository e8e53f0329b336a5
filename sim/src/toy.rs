//! A trivial world for benchmarks and engine tests.
//!
//! Every node, every `interval` of its *local* time, sends a 64-byte message (a counter and its
//! own index) to `fanout` peers drawn from its own RNG stream; receivers count. Nodes do almost
//! nothing, so a run measures the engine: queue, network model, RNG and trace.

use rand_chacha::ChaCha8Rng;

use crate::engine::{Ctx, Sim, SimConfig, World};
use crate::idx::NodeIdx;
use crate::rng::{RngTree, below};
use crate::time::SimDuration;
use crate::trace::{Traced, combine};

/// Component of the toy world's node streams (`RngTree::node(idx, TOY_STREAM)`).
pub const TOY_STREAM: u64 = 0x0074_6f79;

/// Size the toy world declares for every message.
pub const TOY_MSG_BYTES: u32 = 64;

/// A toy message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToyMsg {
    /// How many messages the sender had sent before this one (since its last restart).
    pub counter: u64,
    /// The sender.
    pub sender: NodeIdx,
}

impl Traced for ToyMsg {
    fn fingerprint(&self) -> u64 {
        combine(self.counter, u64::from(self.sender.0))
    }
}

/// A toy node's timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToyTick;

impl Traced for ToyTick {
    fn fingerprint(&self) -> u64 {
        1
    }
}

/// One toy node.
#[derive(Debug)]
struct ToyNode {
    rng: ChaCha8Rng,
    /// Local time of the next tick.
    next_local: u64,
    /// Volatile: reset by a crash.
    counter: u64,
    sent: u64,
}

/// The toy world.
#[derive(Debug)]
pub struct ToyWorld {
    nodes: Vec<ToyNode>,
    /// Apart from the nodes: receivers are random, and a dense counter array stays in cache.
    received: Vec<u64>,
    fanout: u32,
    interval: SimDuration,
}

impl ToyWorld {
    /// A world of `nodes` nodes with streams from `tree`.
    pub fn new(nodes: u32, fanout: u32, interval: SimDuration, tree: &RngTree) -> Self {
        let toy_nodes = (0..nodes)
            .map(|i| ToyNode { rng: tree.node(i, TOY_STREAM), next_local: 0, counter: 0, sent: 0 })
            .collect();
        ToyWorld { nodes: toy_nodes, received: vec![0; nodes as usize], fanout, interval }
    }

    /// Arms every node's first tick at a random point of its first interval.
    pub fn start(&mut self, ctx: &mut Ctx<'_, ToyMsg, ToyTick>) {
        for i in 0..self.nodes.len() {
            self.arm_first(ctx, NodeIdx(i as u32));
        }
    }

    fn arm_first(&mut self, ctx: &mut Ctx<'_, ToyMsg, ToyTick>, node: NodeIdx) {
        let n = &mut self.nodes[node.index()];
        n.next_local = ctx.local_now(node) + below(&mut n.rng, self.interval.0.max(1));
        ctx.schedule_at_local(node, n.next_local, ToyTick);
    }

    /// Messages received by all nodes.
    pub fn received(&self) -> u64 {
        self.received.iter().sum()
    }

    /// Messages sent by all nodes.
    pub fn sent(&self) -> u64 {
        self.nodes.iter().map(|n| n.sent).sum()
    }

    /// Messages received by one node.
    pub fn received_by(&self, node: NodeIdx) -> u64 {
        self.received[node.index()]
    }

    /// Messages sent by one node.
    pub fn sent_by(&self, node: NodeIdx) -> u64 {
        self.nodes[node.index()].sent
    }
}

impl World for ToyWorld {
    type Msg = ToyMsg;
    type Local = ToyTick;

    fn on_message(
        &mut self,
        _ctx: &mut Ctx<'_, ToyMsg, ToyTick>,
        to: NodeIdx,
        _from: NodeIdx,
        _msg: ToyMsg,
    ) {
        self.received[to.index()] += 1;
    }

    fn on_local(&mut self, ctx: &mut Ctx<'_, ToyMsg, ToyTick>, node: NodeIdx, _ev: ToyTick) {
        let peers = u64::from(ctx.nodes()).saturating_sub(1);
        let n = &mut self.nodes[node.index()];
        if peers > 0 {
            for _ in 0..self.fanout {
                // A uniform peer other than the node itself.
                let mut to = below(&mut n.rng, peers) as u32;
                if to >= node.0 {
                    to += 1;
                }
                ctx.send(
                    node,
                    NodeIdx(to),
                    ToyMsg { counter: n.counter, sender: node },
                    TOY_MSG_BYTES,
                );
                n.counter += 1;
                n.sent += 1;
            }
        }
        // Ticks follow local time without accumulating scheduling error.
        n.next_local += self.interval.0.max(1);
        ctx.schedule_at_local(node, n.next_local, ToyTick);
    }

    fn on_crash(&mut self, _ctx: &mut Ctx<'_, ToyMsg, ToyTick>, node: NodeIdx) {
        self.nodes[node.index()].counter = 0;
    }

    fn on_restart(&mut self, ctx: &mut Ctx<'_, ToyMsg, ToyTick>, node: NodeIdx) {
        self.arm_first(ctx, node);
    }

    fn kind_of_msg(_msg: &ToyMsg) -> &'static str {
        "toy-msg"
    }

    fn kind_of_local(_ev: &ToyTick) -> &'static str {
        "toy-tick"
    }
}

/// A started toy simulation: `nodes` nodes each sending to `fanout` random peers every
/// `interval`, default links (1-10 ms uniform latency).
pub fn toy_sim(nodes: u32, fanout: u32, interval: SimDuration, seed: u64) -> Sim<ToyWorld> {
    toy_sim_with(nodes, fanout, interval, seed, SimConfig::default())
}

/// Like [`toy_sim`] with an engine configuration.
pub fn toy_sim_with(
    nodes: u32,
    fanout: u32,
    interval: SimDuration,
    seed: u64,
    cfg: SimConfig,
) -> Sim<ToyWorld> {
    let world = ToyWorld::new(nodes, fanout, interval, &RngTree::new(seed));
    let mut sim = Sim::new(world, nodes, seed, cfg);
    sim.with_ctx(|world, ctx| world.start(ctx));
    sim
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimTime;

    // Every node ticks once per interval and sends `fanout` messages per tick, never to itself;
    // on clean links every message is delivered.
    #[test]
    fn sends_and_receives() {
        let mut sim = toy_sim(10, 3, SimDuration::from_millis(100), 1);
        sim.run_until(SimTime::from_secs(10));
        let w = sim.world();
        for i in 0..10 {
            let sent = w.sent_by(NodeIdx(i));
            assert!((300..=303).contains(&sent), "node {i} sent {sent}");
        }
        assert_eq!(sim.stats().sent, w.sent());
        assert!(w.received() >= w.sent() - 30, "in flight at the end is at most one tick's worth");
        assert_eq!(sim.stats().delivered, w.received());
    }

    // A single node has no peers and sends nothing, but keeps ticking.
    #[test]
    fn lone_node() {
        let mut sim = toy_sim(1, 8, SimDuration::from_millis(10), 1);
        let events = sim.run_until(SimTime::from_secs(1));
        assert!((100..=101).contains(&events), "{events} ticks");
        assert_eq!(sim.world().sent(), 0);
    }
}

//! A trivial world for benchmarks and engine tests: every node sends a 64-byte message to a few
//! random peers at a fixed interval; receivers count.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::engine::{Ctx, Sim, SimConfig, World};
use crate::rng::RngTree;
use crate::time::{NodeIdx, SimDuration};
use crate::trace::Traced;

/// A toy message: a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToyMsg(pub u64);

impl Traced for ToyMsg {
    fn fingerprint(&self) -> u64 {
        self.0
    }
}

/// A toy node's timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToyTick;

impl Traced for ToyTick {
    fn fingerprint(&self) -> u64 {
        0
    }
}

#[derive(Debug)]
struct ToyNode {
    rng: ChaCha8Rng,
    sent: u64,
    received: u64,
}

/// The toy world.
#[derive(Debug)]
pub struct ToyWorld {
    nodes: Vec<ToyNode>,
    fanout: u32,
    interval: SimDuration,
}

impl ToyWorld {
    /// Messages received by every node.
    pub fn received(&self) -> u64 {
        self.nodes.iter().map(|n| n.received).sum()
    }

    /// Messages sent by every node.
    pub fn sent(&self) -> u64 {
        self.nodes.iter().map(|n| n.sent).sum()
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
        self.nodes[to.0 as usize].received += 1;
    }

    fn on_local(&mut self, ctx: &mut Ctx<'_, ToyMsg, ToyTick>, node: NodeIdx, _ev: ToyTick) {
        let n = ctx.nodes();
        let me = &mut self.nodes[node.0 as usize];
        for _ in 0..self.fanout {
            let to = NodeIdx(me.rng.random_range(0..n));
            me.sent += 1;
            ctx.send(node, to, ToyMsg(me.sent), 64);
        }
        ctx.schedule_after(node, self.interval, ToyTick);
    }

    fn on_crash(&mut self, _ctx: &mut Ctx<'_, ToyMsg, ToyTick>, _node: NodeIdx) {}

    fn on_restart(&mut self, ctx: &mut Ctx<'_, ToyMsg, ToyTick>, node: NodeIdx) {
        ctx.schedule_after(node, self.interval, ToyTick);
    }
}

/// A toy simulation: `nodes` nodes each sending to `fanout` random peers every `interval`
/// (first sends spread over the first interval), default links (1-10 ms).
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
    let tree = RngTree::new(seed);
    let world = ToyWorld {
        nodes: (0..nodes).map(|i| ToyNode { rng: tree.node(i, 0), sent: 0, received: 0 }).collect(),
        fanout,
        interval,
    };
    let mut sim = Sim::new(world, nodes, seed, cfg);
    let mut start = tree.workload();
    for i in 0..nodes {
        let offset = SimDuration(start.random_range(0..interval.0.max(1)));
        sim.schedule_local(NodeIdx(i), crate::time::SimTime::ZERO + offset, ToyTick);
    }
    sim
}

//! Adversaries: simulated nodes whose behaviour replaces the honest node's. They speak the wire
//! (connections and frames) their own way; the network treats them like everyone else.

use bytes::Bytes;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use spacemesh_core::PeerId;
use spacemesh_core::lookup::Lookup;
use spacemesh_sim::engine::Ctx;
use spacemesh_sim::{NodeIdx, SimDuration};

use crate::driver::{Local, SimFrame, Wire};
use crate::links::Links;

/// The effects an agent may have.
pub struct AgentIo<'a, 'c> {
    ctx: &'a mut Ctx<'c, Wire, Local>,
    me: NodeIdx,
    links: &'a mut Links,
    index: &'a Lookup<PeerId, NodeIdx>,
    incarnation: u32,
}

impl std::fmt::Debug for AgentIo<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentIo").field("me", &self.me).finish()
    }
}

impl<'a, 'c> AgentIo<'a, 'c> {
    pub(crate) fn new(
        ctx: &'a mut Ctx<'c, Wire, Local>,
        me: NodeIdx,
        links: &'a mut Links,
        index: &'a Lookup<PeerId, NodeIdx>,
        incarnation: u32,
    ) -> Self {
        AgentIo { ctx, me, links, index, incarnation }
    }

    /// This agent's slot.
    pub fn me(&self) -> NodeIdx {
        self.me
    }

    /// How many slots the world has.
    pub fn nodes(&self) -> u32 {
        self.ctx.nodes()
    }

    /// How many times this agent's slot crashed.
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// Open a connection (completes when the other side answers).
    pub fn dial(&mut self, to: NodeIdx) {
        if to != self.me && !self.links.contains(&to) {
            self.ctx.send(self.me, to, Wire::Dial, 64);
        }
    }

    /// Send raw bytes as a frame on a connection.
    pub fn send_frame(&mut self, to: NodeIdx, bytes: Bytes) {
        if self.links.contains(&to) {
            let size = bytes.len() as u32 + 4;
            self.ctx.send(self.me, to, Wire::Frame(SimFrame::new(bytes)), size);
        }
    }

    /// Current connections.
    pub fn links(&self) -> Vec<NodeIdx> {
        self.links.iter().copied().collect()
    }

    /// Wake up after `after` with tag `n`.
    pub fn schedule(&mut self, after: SimDuration, n: u64) {
        self.ctx.schedule_after(self.me, after, Local::AgentTick(n));
    }

    /// The slot of a p2p identity.
    pub fn index_of(&self, peer: &PeerId) -> Option<NodeIdx> {
        self.index.get(peer).copied()
    }

    /// Connection bookkeeping every agent needs: accept dials, record acks and closes. Returns
    /// the frame bytes when `msg` is a frame on a live connection.
    pub fn handle_wire(&mut self, from: NodeIdx, msg: Wire) -> Option<Bytes> {
        match msg {
            Wire::Dial => {
                if self.links.insert(from) {
                    self.ctx.send(self.me, from, Wire::DialAck, 64);
                }
                None
            }
            Wire::DialAck => {
                self.links.insert(from);
                None
            }
            Wire::Close => {
                self.links.remove(&from);
                None
            }
            Wire::Frame(frame) => self.links.contains(&from).then_some(frame.into_bytes()),
            // Agents are not PoET clients or servers.
            Wire::PoetRequest(..) | Wire::PoetResponse(..) => None,
        }
    }
}

/// A simulated adversary.
pub trait Agent: std::fmt::Debug {
    /// The agent's slot starts (and restarts).
    fn on_start(&mut self, io: &mut AgentIo<'_, '_>);
    /// Something arrived on the wire.
    fn on_wire(&mut self, io: &mut AgentIo<'_, '_>, from: NodeIdx, msg: Wire);
    /// A timer from [`AgentIo::schedule`] fired.
    fn on_tick(&mut self, io: &mut AgentIo<'_, '_>, n: u64);
}

/// Connects to random nodes and sends them random bytes as frames. Honest nodes must penalize,
/// disconnect and ban it.
#[derive(Debug)]
pub struct GarbageSender {
    rng: ChaCha8Rng,
    interval: SimDuration,
    dials_per_tick: u32,
    frames_sent: u64,
}

impl GarbageSender {
    /// An agent that every `interval` dials `dials_per_tick` random nodes and sends one garbage
    /// frame on each of its connections.
    pub fn new(rng: ChaCha8Rng, interval: SimDuration, dials_per_tick: u32) -> Self {
        GarbageSender { rng, interval, dials_per_tick, frames_sent: 0 }
    }

    /// Garbage frames sent so far.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }
}

impl Agent for GarbageSender {
    fn on_start(&mut self, io: &mut AgentIo<'_, '_>) {
        io.schedule(SimDuration(0), 0);
    }

    fn on_wire(&mut self, io: &mut AgentIo<'_, '_>, from: NodeIdx, msg: Wire) {
        io.handle_wire(from, msg);
    }

    fn on_tick(&mut self, io: &mut AgentIo<'_, '_>, n: u64) {
        for _ in 0..self.dials_per_tick {
            let to = NodeIdx(self.rng.random_range(0..io.nodes()));
            io.dial(to);
        }
        for to in io.links() {
            let len = self.rng.random_range(1..=64usize);
            let bytes: Vec<u8> = (0..len).map(|_| self.rng.random()).collect();
            io.send_frame(to, Bytes::from(bytes));
            self.frames_sent += 1;
        }
        io.schedule(self.interval, n + 1);
    }
}

//! The network state and the routing of one message.

use std::collections::BTreeMap;

use rand::RngCore;

use crate::idx::NodeIdx;
use crate::net::Normals;
use crate::net::link::LinkConfig;
use crate::net::partition::Partitions;
use crate::rng::{below, chance};
use crate::time::{SimDuration, SimTime};

/// Why a message was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Sender and receiver are separated by a partition or a one-way block.
    Partitioned,
    /// Random loss on the link.
    Lost,
}

impl DropReason {
    /// The trace kind of a message dropped for this reason.
    pub fn kind(self) -> &'static str {
        match self {
            DropReason::Partitioned => "drop-partition",
            DropReason::Lost => "drop-loss",
        }
    }
}

/// What the network does with one message: zero deliveries (dropped), one, or two (duplicated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    times: [SimTime; 2],
    count: u8,
    /// Why nothing is delivered (`Some` exactly when there are no deliveries).
    pub dropped: Option<DropReason>,
    /// Whether a clog held the message back.
    pub clog_delayed: bool,
}

impl Route {
    fn dropped(reason: DropReason) -> Route {
        Route { times: [SimTime::ZERO; 2], count: 0, dropped: Some(reason), clog_delayed: false }
    }

    /// The delivery times: empty when dropped, two entries when duplicated.
    pub fn deliveries(&self) -> &[SimTime] {
        &self.times[..usize::from(self.count)]
    }

    /// The first delivery time, if any.
    pub fn first(&self) -> Option<SimTime> {
        self.deliveries().first().copied()
    }

    /// Whether the message is delivered twice.
    pub fn is_duplicated(&self) -> bool {
        self.count == 2
    }
}

/// The simulated network: link behaviour, reachability, clogs and uplink queues.
///
/// Clogging follows FoundationDB: a clogged message is not dropped, it waits until the clog ends
/// and then travels normally. A clog's end is fixed when it starts (messages sent during it are
/// scheduled for that instant), so clogs end by expiring; overlapping clogs keep the later end.
#[derive(Debug, Clone)]
pub struct Network {
    default: LinkConfig,
    links: BTreeMap<(NodeIdx, NodeIdx), LinkConfig>,
    partitions: Partitions,
    clog_out: Vec<SimTime>,
    clog_in: Vec<SimTime>,
    clog_links: BTreeMap<(NodeIdx, NodeIdx), SimTime>,
    /// The latest end of any clog: past it, routing reads no clog state at all.
    clog_horizon: SimTime,
    busy_until: Vec<SimTime>,
    /// The standard normals of log-normal latencies (the second of each pair kept).
    normals: Normals,
}

impl Network {
    /// Bytes of per-node state: two reachability labels, two clog ends and the uplink queue end.
    pub const BYTES_PER_NODE: usize = 2 * size_of::<u32>() + 3 * size_of::<SimTime>();

    /// A fully connected network of `nodes` whose links all behave like `default`.
    pub fn new(nodes: u32, default: LinkConfig) -> Self {
        let n = nodes as usize;
        Network {
            default,
            links: BTreeMap::new(),
            partitions: Partitions::new(n),
            clog_out: vec![SimTime::ZERO; n],
            clog_in: vec![SimTime::ZERO; n],
            clog_links: BTreeMap::new(),
            clog_horizon: SimTime::ZERO,
            busy_until: vec![SimTime::ZERO; n],
            normals: Normals::default(),
        }
    }

    /// The configuration of links without an override.
    pub fn default_link(&self) -> &LinkConfig {
        &self.default
    }

    /// The shortest hop of any link now: of the default and of every link set apart.
    pub fn shortest_hop(&self) -> SimDuration {
        self.links
            .values()
            .map(LinkConfig::shortest_hop)
            .fold(self.default.shortest_hop(), Ord::min)
    }

    /// Sets the configuration of every link without an override.
    pub fn set_default(&mut self, link: LinkConfig) {
        self.default = link;
    }

    /// Overrides the directed link `from -> to`.
    pub fn set_link(&mut self, from: NodeIdx, to: NodeIdx, link: LinkConfig) {
        self.links.insert((from, to), link);
    }

    /// Removes the override of `from -> to` (it follows the default again).
    pub fn clear_link(&mut self, from: NodeIdx, to: NodeIdx) {
        self.links.remove(&(from, to));
    }

    /// The configuration in force on `from -> to`.
    pub fn link(&self, from: NodeIdx, to: NodeIdx) -> &LinkConfig {
        if self.links.is_empty() {
            return &self.default;
        }
        self.links.get(&(from, to)).unwrap_or(&self.default)
    }

    /// Symmetric partition: the listed groups cannot reach each other, and nodes not listed form
    /// one more group. Replaces any earlier partition; one-way blocks stay until [`heal`].
    ///
    /// [`heal`]: Network::heal
    pub fn partition(&mut self, groups: &[Vec<NodeIdx>]) {
        self.partitions.partition(groups);
    }

    /// Asymmetric partition: messages from `from_group` to `to_group` are dropped, the other
    /// direction flows. Adds to the current partition and blocks.
    pub fn block(&mut self, from_group: &[NodeIdx], to_group: &[NodeIdx]) {
        self.partitions.block(from_group, to_group);
    }

    /// Removes every partition and block (clogs expire on their own).
    pub fn heal(&mut self) {
        self.partitions.heal();
    }

    /// Whether a message from `from` can currently reach `to`.
    pub fn reachable(&self, from: NodeIdx, to: NodeIdx) -> bool {
        self.partitions.allows(from, to)
    }

    /// Whether any partition or block is active.
    pub fn is_partitioned(&self) -> bool {
        self.partitions.is_split()
    }

    /// Holds everything `node` sends until `until`.
    pub fn clog_node_out(&mut self, node: NodeIdx, until: SimTime) {
        let c = &mut self.clog_out[node.index()];
        *c = (*c).max(until);
        self.clog_horizon = self.clog_horizon.max(until);
    }

    /// Holds everything sent to `node` until `until`.
    pub fn clog_node_in(&mut self, node: NodeIdx, until: SimTime) {
        let c = &mut self.clog_in[node.index()];
        *c = (*c).max(until);
        self.clog_horizon = self.clog_horizon.max(until);
    }

    /// Holds everything on the directed link `from -> to` until `until`.
    pub fn clog_link(&mut self, from: NodeIdx, to: NodeIdx, until: SimTime) {
        let c = self.clog_links.entry((from, to)).or_insert(SimTime::ZERO);
        *c = (*c).max(until);
        self.clog_horizon = self.clog_horizon.max(until);
    }

    /// The instant until which a message sent now from `from` to `to` is held (`now` if none).
    pub fn clogged_until(&self, now: SimTime, from: NodeIdx, to: NodeIdx) -> SimTime {
        if now >= self.clog_horizon {
            return now;
        }
        let mut t = now.max(self.clog_out[from.index()]).max(self.clog_in[to.index()]);
        if !self.clog_links.is_empty()
            && let Some(&until) = self.clog_links.get(&(from, to))
        {
            t = t.max(until);
        }
        t
    }

    /// Routes one message of `size_bytes` sent at `now`: reachability, loss, clogs, the sender's
    /// uplink queue, latency, reordering and duplication, in that order. Draws from `rng` only
    /// for the features the link has switched on.
    pub fn route<R: RngCore + ?Sized>(
        &mut self,
        now: SimTime,
        from: NodeIdx,
        to: NodeIdx,
        size_bytes: u32,
        rng: &mut R,
    ) -> Route {
        if !self.reachable(from, to) {
            return Route::dropped(DropReason::Partitioned);
        }
        let link = *self.link(from, to);
        if chance(rng, link.loss) {
            return Route::dropped(DropReason::Lost);
        }
        let held = self.clogged_until(now, from, to);
        if now >= self.clog_horizon && !self.clog_links.is_empty() {
            self.clog_links.clear();
        }
        let departs = self.transmit(held, from, size_bytes, link.bandwidth_bytes_per_sec);
        let mut route =
            Route { times: [SimTime::ZERO; 2], count: 1, dropped: None, clog_delayed: held > now };
        route.times[0] = arrival(departs, &link, rng, &mut self.normals);
        if chance(rng, link.duplicate) {
            route.times[1] = arrival(departs, &link, rng, &mut self.normals);
            route.count = 2;
        }
        route
    }

    /// Queues `size` bytes on the sender's uplink from `ready` on; returns when the last byte
    /// has left.
    fn transmit(
        &mut self,
        ready: SimTime,
        from: NodeIdx,
        size: u32,
        bandwidth: Option<u64>,
    ) -> SimTime {
        let Some(bw) = bandwidth.filter(|b| *b > 0) else {
            return ready;
        };
        let busy = &mut self.busy_until[from.index()];
        let tx = (u128::from(size) * 1_000_000).div_ceil(u128::from(bw));
        *busy = (*busy).max(ready) + SimDuration(u64::try_from(tx).unwrap_or(u64::MAX));
        *busy
    }
}

/// When a copy that left at `departs` arrives: latency plus, with probability `reorder`, an
/// extra uniform delay that lets later messages overtake it.
fn arrival<R: RngCore + ?Sized>(
    departs: SimTime,
    link: &LinkConfig,
    rng: &mut R,
    normals: &mut Normals,
) -> SimTime {
    let mut t = departs + link.latency.sample_with(rng, normals);
    if chance(rng, link.reorder) {
        t += SimDuration(below(rng, link.reorder_delay_max.0.saturating_add(1)));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Latency;
    use crate::rng::RngTree;
    use rand_chacha::ChaCha8Rng;

    fn rng() -> ChaCha8Rng {
        RngTree::new(1).network()
    }

    fn fixed(us: u64) -> LinkConfig {
        LinkConfig { latency: Latency::Fixed(SimDuration(us)), ..LinkConfig::default() }
    }

    const A: NodeIdx = NodeIdx(0);
    const B: NodeIdx = NodeIdx(1);

    // Loss 1.0 loses everything, loss 0.1 about a tenth, loss 0 nothing.
    #[test]
    fn loss_rates() {
        let mut r = rng();
        let mut lost = |loss: f64| {
            let mut net = Network::new(2, LinkConfig { loss, ..LinkConfig::default() });
            (0..10_000)
                .filter(|_| {
                    net.route(SimTime(0), A, B, 1, &mut r).dropped == Some(DropReason::Lost)
                })
                .count()
        };
        assert_eq!(lost(1.0), 10_000);
        assert_eq!(lost(0.0), 0);
        let tenth = lost(0.1);
        assert!((850..1150).contains(&tenth), "lost {tenth} of 10000 at 10%");
    }

    // Duplicate 1.0 delivers every message twice, each copy with its own latency draw.
    #[test]
    fn duplication() {
        let mut net = Network::new(2, LinkConfig { duplicate: 1.0, ..LinkConfig::default() });
        let mut r = rng();
        let routes: Vec<Route> = (0..200).map(|_| net.route(SimTime(0), A, B, 1, &mut r)).collect();
        assert!(routes.iter().all(|x| x.deliveries().len() == 2 && x.is_duplicated()));
        assert!(routes.iter().any(|x| x.deliveries()[0] != x.deliveries()[1]));
    }

    // Reordering lets a later-sent message arrive before an earlier one; without it, never.
    #[test]
    fn reordering_overtakes() {
        let overtaken = |reorder: f64| {
            let link =
                LinkConfig { reorder, reorder_delay_max: SimDuration(10_000), ..fixed(1000) };
            let mut net = Network::new(2, link);
            let mut r = rng();
            let t: Vec<SimTime> = (0..100)
                .map(|i| net.route(SimTime(i * 10), A, B, 1, &mut r).first().unwrap())
                .collect();
            t.windows(2).filter(|w| w[1] < w[0]).count()
        };
        assert!(overtaken(0.5) > 0, "no message was overtaken");
        assert_eq!(overtaken(0.0), 0);
    }

    // Back-to-back large messages queue on the sender's uplink: each takes size / bandwidth.
    #[test]
    fn bandwidth_queues_messages() {
        let link = LinkConfig { bandwidth_bytes_per_sec: Some(1_000_000), ..fixed(500) };
        let mut net = Network::new(3, link);
        let mut r = rng();
        let a = net.route(SimTime(0), A, B, 10_000, &mut r).first().unwrap();
        let b = net.route(SimTime(0), A, NodeIdx(2), 10_000, &mut r).first().unwrap();
        assert_eq!((a, b), (SimTime(10_500), SimTime(20_500)), "10 KB at 1 MB/s is 10 ms each");
        let later = net.route(SimTime(100_000), A, B, 1, &mut r).first().unwrap();
        assert_eq!(
            later,
            SimTime(100_501),
            "an idle uplink does not queue (1 byte rounds up to 1 us)"
        );
        let other = net.route(SimTime(0), B, A, 10_000, &mut r).first().unwrap();
        assert_eq!(other, SimTime(10_500), "uplinks are per sender");
    }

    // Clogs hold messages until they end instead of dropping them, per direction and per link.
    #[test]
    fn clogs_delay_not_drop() {
        let mut net = Network::new(3, fixed(100));
        let mut r = rng();
        net.clog_node_in(B, SimTime(5_000));
        let held = net.route(SimTime(0), A, B, 1, &mut r);
        assert_eq!(
            (held.first(), held.dropped, held.clog_delayed),
            (Some(SimTime(5_100)), None, true)
        );
        let back = net.route(SimTime(0), B, A, 1, &mut r);
        assert_eq!((back.first(), back.clog_delayed), (Some(SimTime(100)), false));
        net.clog_node_out(NodeIdx(2), SimTime(7_000));
        assert_eq!(net.route(SimTime(0), NodeIdx(2), A, 1, &mut r).first(), Some(SimTime(7_100)));
        net.clog_link(A, NodeIdx(2), SimTime(9_000));
        assert_eq!(net.route(SimTime(0), A, NodeIdx(2), 1, &mut r).first(), Some(SimTime(9_100)));
        assert_eq!(
            net.route(SimTime(10_000), A, NodeIdx(2), 1, &mut r).first(),
            Some(SimTime(10_100))
        );
        assert!(net.clog_links.is_empty(), "expired link clogs were dropped");
    }

    // Partitions drop with their own reason, before any random draw; per-link overrides apply.
    #[test]
    fn partition_and_overrides() {
        let mut net = Network::new(3, fixed(100));
        let mut r = rng();
        net.partition(&[vec![A]]);
        assert_eq!(net.route(SimTime(0), A, B, 1, &mut r).dropped, Some(DropReason::Partitioned));
        assert_eq!(net.route(SimTime(0), B, NodeIdx(2), 1, &mut r).first(), Some(SimTime(100)));
        net.heal();
        net.set_link(A, B, fixed(7));
        assert_eq!(net.route(SimTime(0), A, B, 1, &mut r).first(), Some(SimTime(7)));
        assert_eq!(net.route(SimTime(0), B, A, 1, &mut r).first(), Some(SimTime(100)));
        net.clear_link(A, B);
        assert_eq!(net.route(SimTime(0), A, B, 1, &mut r).first(), Some(SimTime(100)));
    }
}

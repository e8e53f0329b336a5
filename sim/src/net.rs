//! The network model: per-link latency, loss, duplication, reordering and bandwidth; symmetric
//! and asymmetric partitions; FoundationDB-style clogging.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::engine::Fault;
use crate::time::{NodeIdx, SimDuration, SimTime};

/// A latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Latency {
    /// Always the same.
    Fixed(SimDuration),
    /// Uniform in `[min, max]`.
    Uniform {
        /// Lower bound.
        min: SimDuration,
        /// Upper bound.
        max: SimDuration,
    },
    /// `min` plus an exponential tail with the given mean (TigerBeetle's network model).
    Exponential {
        /// Floor.
        min: SimDuration,
        /// Mean of the whole distribution.
        mean: SimDuration,
    },
    /// Log-normal around `median` with shape `sigma_milli / 1000` (heavy right tail).
    LogNormal {
        /// Median.
        median: SimDuration,
        /// Shape parameter in thousandths.
        sigma_milli: u32,
    },
}

/// Longest latency any distribution returns (keeps heavy tails finite).
const LATENCY_MAX: u64 = 600_000_000;

impl Latency {
    /// Draws one latency.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> SimDuration {
        let us = match *self {
            Latency::Fixed(d) => d.0,
            Latency::Uniform { min, max } => {
                if max.0 <= min.0 {
                    min.0
                } else {
                    rng.random_range(min.0..=max.0)
                }
            }
            Latency::Exponential { min, mean } => {
                let u: f64 = rng.random();
                let tail = mean.0.saturating_sub(min.0) as f64;
                min.0 + (-(1.0 - u).ln() * tail) as u64
            }
            Latency::LogNormal { median, sigma_milli } => {
                // Box-Muller for a standard normal draw.
                let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                let u2: f64 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (median.0 as f64 * (f64::from(sigma_milli) / 1000.0 * z).exp()) as u64
            }
        };
        SimDuration(us.min(LATENCY_MAX))
    }
}

/// The behaviour of a directed link.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinkConfig {
    /// One-way latency.
    pub latency: Latency,
    /// Probability a message is lost.
    pub loss: f64,
    /// Probability a message is delivered twice.
    pub duplicate: f64,
    /// Probability a message gets an extra delay (so later ones overtake it).
    pub reorder: f64,
    /// Largest extra delay of a reordered message.
    pub reorder_delay_max: SimDuration,
    /// Sender uplink bandwidth; `None` is unlimited.
    pub bandwidth_bytes_per_sec: Option<u64>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Latency::Uniform {
                min: SimDuration::from_millis(1),
                max: SimDuration::from_millis(10),
            },
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay_max: SimDuration::ZERO,
            bandwidth_bytes_per_sec: None,
        }
    }
}

/// Why a message was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The two nodes are on different sides of a partition.
    Partitioned,
    /// Random loss.
    Lost,
}

/// What the network does with one message: up to two delivery times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Route {
    /// First delivery.
    pub first: Option<SimTime>,
    /// Duplicate delivery.
    pub second: Option<SimTime>,
    /// Why nothing is delivered.
    pub dropped: Option<DropReason>,
    /// Whether a clog delayed it.
    pub clogged: bool,
}

/// The network state.
#[derive(Debug, Clone)]
pub struct Network {
    default: LinkConfig,
    links: BTreeMap<(NodeIdx, NodeIdx), LinkConfig>,
    groups: Vec<u16>,
    blocked: BTreeSet<(u16, u16)>,
    busy_until: Vec<SimTime>,
    clog_out: Vec<SimTime>,
    clog_in: Vec<SimTime>,
    clog_links: BTreeMap<(NodeIdx, NodeIdx), SimTime>,
}

impl Network {
    /// A fully connected network of `nodes` with one link configuration.
    pub fn new(nodes: u32, default: LinkConfig) -> Self {
        let n = nodes as usize;
        Network {
            default,
            links: BTreeMap::new(),
            groups: vec![0; n],
            blocked: BTreeSet::new(),
            busy_until: vec![SimTime::ZERO; n],
            clog_out: vec![SimTime::ZERO; n],
            clog_in: vec![SimTime::ZERO; n],
            clog_links: BTreeMap::new(),
        }
    }

    /// Sets the configuration of every link without an override.
    pub fn set_default(&mut self, link: LinkConfig) {
        self.default = link;
    }

    /// Overrides one directed link.
    pub fn set_link(&mut self, from: NodeIdx, to: NodeIdx, link: LinkConfig) {
        self.links.insert((from, to), link);
    }

    /// Splits the nodes: listed groups cannot reach each other; unlisted nodes form one more group.
    pub fn partition(&mut self, groups: &[Vec<NodeIdx>]) {
        self.heal();
        for (g, members) in groups.iter().enumerate() {
            for n in members {
                self.groups[n.0 as usize] = g as u16 + 1;
            }
        }
        for a in 0..=groups.len() as u16 {
            for b in 0..=groups.len() as u16 {
                if a != b {
                    self.blocked.insert((a, b));
                }
            }
        }
    }

    /// One-way block: messages from `from` to `to` are dropped, the other direction flows.
    pub fn block(&mut self, from: &[NodeIdx], to: &[NodeIdx]) {
        self.heal();
        for n in from {
            self.groups[n.0 as usize] = 1;
        }
        for n in to {
            self.groups[n.0 as usize] = 2;
        }
        self.blocked.insert((1, 2));
    }

    /// Removes every partition and block.
    pub fn heal(&mut self) {
        self.groups.iter_mut().for_each(|g| *g = 0);
        self.blocked.clear();
    }

    /// Whether `from` can currently reach `to`.
    pub fn reachable(&self, from: NodeIdx, to: NodeIdx) -> bool {
        self.blocked.is_empty()
            || !self.blocked.contains(&(self.groups[from.0 as usize], self.groups[to.0 as usize]))
    }

    /// Delays everything `node` sends until `until`.
    pub fn clog_out(&mut self, node: NodeIdx, until: SimTime) {
        self.clog_out[node.0 as usize] = until;
    }

    /// Delays everything `node` receives until `until`.
    pub fn clog_in(&mut self, node: NodeIdx, until: SimTime) {
        self.clog_in[node.0 as usize] = until;
    }

    /// Delays everything on one directed link until `until`.
    pub fn clog_link(&mut self, from: NodeIdx, to: NodeIdx, until: SimTime) {
        self.clog_links.insert((from, to), until);
    }

    /// Routes one message of `size` bytes sent at `now`.
    pub fn route(
        &mut self,
        now: SimTime,
        from: NodeIdx,
        to: NodeIdx,
        size: u32,
        rng: &mut ChaCha8Rng,
    ) -> Route {
        if !self.reachable(from, to) {
            return Route { dropped: Some(DropReason::Partitioned), ..Route::default() };
        }
        let link = *self.links.get(&(from, to)).unwrap_or(&self.default);
        if link.loss > 0.0 && rng.random::<f64>() < link.loss {
            return Route { dropped: Some(DropReason::Lost), ..Route::default() };
        }
        let mut sent = now;
        if let Some(bw) = link.bandwidth_bytes_per_sec.filter(|b| *b > 0) {
            let busy = &mut self.busy_until[from.0 as usize];
            let start = (*busy).max(now);
            let tx = SimDuration(u64::from(size) * 1_000_000 / bw);
            *busy = start + tx;
            sent = *busy;
        }
        let mut route = Route::default();
        let first = self.arrival(sent, from, to, &link, rng, &mut route.clogged);
        route.first = Some(first);
        if link.duplicate > 0.0 && rng.random::<f64>() < link.duplicate {
            route.second = Some(self.arrival(sent, from, to, &link, rng, &mut route.clogged));
        }
        route
    }

    fn arrival(
        &self,
        sent: SimTime,
        from: NodeIdx,
        to: NodeIdx,
        link: &LinkConfig,
        rng: &mut ChaCha8Rng,
        clogged: &mut bool,
    ) -> SimTime {
        let mut t = sent + link.latency.sample(rng);
        if link.reorder > 0.0 && rng.random::<f64>() < link.reorder {
            t = t + SimDuration(rng.random_range(0..=link.reorder_delay_max.0));
        }
        let clog = self.clog_out[from.0 as usize]
            .max(self.clog_in[to.0 as usize])
            .max(self.clog_links.get(&(from, to)).copied().unwrap_or(SimTime::ZERO));
        if clog > t {
            *clogged = true;
            t = clog;
        }
        t
    }
}

/// FoundationDB's swizzle-clogging: clog a random subset of `nodes` one by one, `step` apart,
/// starting at `start`, then unclog them one by one in a different random order. Returns the
/// fault schedule (each clog is a `ClogOut` + `ClogIn` lasting until that node's unclog time).
pub fn swizzle_schedule(
    nodes: &[NodeIdx],
    start: SimTime,
    step: SimDuration,
    rng: &mut ChaCha8Rng,
) -> Vec<(SimTime, Fault)> {
    if nodes.is_empty() {
        return Vec::new();
    }
    let mut chosen: Vec<NodeIdx> = nodes.to_vec();
    chosen.shuffle(rng);
    chosen.truncate(rng.random_range(1..=nodes.len()));
    let mut unclog_order = chosen.clone();
    unclog_order.shuffle(rng);
    let clogged_all = start + SimDuration(step.0 * chosen.len() as u64);
    let unclog_at: BTreeMap<NodeIdx, SimTime> = unclog_order
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, clogged_all + SimDuration(step.0 * (i as u64 + 1))))
        .collect();
    let mut schedule = Vec::new();
    for (i, n) in chosen.iter().enumerate() {
        let at = start + SimDuration(step.0 * i as u64);
        let duration = unclog_at[n] - at;
        schedule.push((at, Fault::ClogOut { node: *n, duration }));
        schedule.push((at, Fault::ClogIn { node: *n, duration }));
    }
    schedule
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngTree;

    fn rng() -> ChaCha8Rng {
        RngTree::new(1).network()
    }

    /// Every latency distribution stays within its bounds.
    #[test]
    fn latency_bounds() {
        let mut r = rng();
        for _ in 0..1000 {
            let u = Latency::Uniform { min: SimDuration(10), max: SimDuration(20) }.sample(&mut r);
            assert!((10..=20).contains(&u.0));
            let e = Latency::Exponential { min: SimDuration(100), mean: SimDuration(200) }
                .sample(&mut r);
            assert!(e.0 >= 100 && e.0 <= LATENCY_MAX);
            let l =
                Latency::LogNormal { median: SimDuration(1000), sigma_milli: 500 }.sample(&mut r);
            assert!(l.0 <= LATENCY_MAX);
        }
    }

    /// A symmetric partition separates groups both ways and heal restores them.
    #[test]
    fn partition_and_heal() {
        let mut net = Network::new(4, LinkConfig::default());
        net.partition(&[vec![NodeIdx(0), NodeIdx(1)]]);
        assert!(net.reachable(NodeIdx(0), NodeIdx(1)));
        assert!(net.reachable(NodeIdx(2), NodeIdx(3)), "unlisted nodes form their own group");
        assert!(!net.reachable(NodeIdx(0), NodeIdx(2)));
        assert!(!net.reachable(NodeIdx(3), NodeIdx(1)));
        let r = net.route(SimTime(0), NodeIdx(0), NodeIdx(3), 10, &mut rng());
        assert_eq!(r.dropped, Some(DropReason::Partitioned));
        net.heal();
        assert!(net.reachable(NodeIdx(0), NodeIdx(3)));
    }

    /// An asymmetric block drops one direction only.
    #[test]
    fn asymmetric_block() {
        let mut net = Network::new(3, LinkConfig::default());
        net.block(&[NodeIdx(0)], &[NodeIdx(1)]);
        assert!(!net.reachable(NodeIdx(0), NodeIdx(1)));
        assert!(net.reachable(NodeIdx(1), NodeIdx(0)));
        assert!(net.reachable(NodeIdx(0), NodeIdx(2)));
    }

    /// Loss drops about its share of messages; duplication delivers twice.
    #[test]
    fn loss_and_duplication_rates() {
        let mut r = rng();
        let mut net = Network::new(2, LinkConfig { loss: 0.1, ..LinkConfig::default() });
        let lost = (0..10_000)
            .filter(|_| net.route(SimTime(0), NodeIdx(0), NodeIdx(1), 1, &mut r).dropped.is_some())
            .count();
        assert!((800..1200).contains(&lost), "lost {lost} of 10000 at 10%");
        let mut net = Network::new(2, LinkConfig { loss: 1.0, ..LinkConfig::default() });
        assert!((0..100).all(|_| net.route(SimTime(0), NodeIdx(0), NodeIdx(1), 1, &mut r).dropped
            == Some(DropReason::Lost)));
        let mut net = Network::new(2, LinkConfig { duplicate: 1.0, ..LinkConfig::default() });
        assert!(
            (0..100)
                .all(|_| net.route(SimTime(0), NodeIdx(0), NodeIdx(1), 1, &mut r).second.is_some())
        );
    }

    /// Bandwidth queues back-to-back messages behind each other on the sender's uplink.
    #[test]
    fn bandwidth_queues_messages() {
        let link = LinkConfig {
            latency: Latency::Fixed(SimDuration(0)),
            bandwidth_bytes_per_sec: Some(1_000_000),
            ..LinkConfig::default()
        };
        let mut net = Network::new(2, link);
        let mut r = rng();
        let a = net.route(SimTime(0), NodeIdx(0), NodeIdx(1), 1000, &mut r).first.unwrap();
        let b = net.route(SimTime(0), NodeIdx(0), NodeIdx(1), 1000, &mut r).first.unwrap();
        assert_eq!((a, b), (SimTime(1000), SimTime(2000)));
    }

    /// Clogs delay messages to the end of the clog instead of dropping them.
    #[test]
    fn clog_delays() {
        let mut net = Network::new(2, LinkConfig::default());
        net.clog_in(NodeIdx(1), SimTime::from_secs(5));
        let r = net.route(SimTime(0), NodeIdx(0), NodeIdx(1), 1, &mut rng());
        assert_eq!((r.first, r.dropped, r.clogged), (Some(SimTime::from_secs(5)), None, true));
        let back = net.route(SimTime(0), NodeIdx(1), NodeIdx(0), 1, &mut rng());
        assert!(!back.clogged);
    }

    /// Reordering lets a later message arrive before an earlier one.
    #[test]
    fn reordering_overtakes() {
        let link = LinkConfig {
            latency: Latency::Fixed(SimDuration(1000)),
            reorder: 0.5,
            reorder_delay_max: SimDuration(10_000),
            ..LinkConfig::default()
        };
        let mut net = Network::new(2, link);
        let mut r = rng();
        let times: Vec<SimTime> = (0..100)
            .map(|i| net.route(SimTime(i * 10), NodeIdx(0), NodeIdx(1), 1, &mut r).first.unwrap())
            .collect();
        assert!(times.windows(2).any(|w| w[1] < w[0]), "no message was overtaken");
    }

    /// Swizzle clogs every chosen node and unclogs each after all are clogged.
    #[test]
    fn swizzle_clogs_and_unclogs() {
        let nodes: Vec<NodeIdx> = (0..8).map(NodeIdx).collect();
        let s = swizzle_schedule(&nodes, SimTime(100), SimDuration(10), &mut rng());
        assert!(!s.is_empty() && s.len() % 2 == 0);
        let k = s.len() as u64 / 2;
        for (at, f) in &s {
            let (Fault::ClogOut { duration, .. } | Fault::ClogIn { duration, .. }) = f else {
                panic!("{f:?}")
            };
            assert!(
                *at + *duration > SimTime(100 + 10 * (k - 1)),
                "unclogged before all were clogged"
            );
        }
    }
}

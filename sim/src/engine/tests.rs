//! Engine tests with a scripted probe world and the toy world.

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;

use super::*;
use crate::clock::NodeClock;
use crate::determinism::check_lockstep;
use crate::disk::DiskFaults;
use crate::net::{Latency, LinkConfig, swizzle_schedule};
use crate::time::{SimDuration, SimTime};
use crate::toy::{ToyWorld, toy_sim, toy_sim_with};
use crate::trace::{Traced, combine};

/// What the probe world is told to do, as a local event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    /// Just record that it ran.
    Mark(u64),
    /// Send `payload` to `to` with the given size.
    Send { to: u32, payload: u64, size: u32 },
    /// Append to file "f"; with `sync`, sync it and then receive `Synced(tag)`.
    Write { bytes: &'static [u8], sync: bool, tag: u64 },
    /// A sync completed.
    Synced(u64),
}

impl Traced for Cmd {
    fn fingerprint(&self) -> u64 {
        match *self {
            Cmd::Mark(n) => combine(1, n),
            Cmd::Send { to, payload, size } => {
                combine(combine(2, u64::from(to)), combine(payload, u64::from(size)))
            }
            Cmd::Write { bytes, sync, tag } => {
                combine(combine(3, bytes.len() as u64), combine(u64::from(sync), tag))
            }
            Cmd::Synced(n) => combine(4, n),
        }
    }
}

/// What the probe saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Msg { from: u32, payload: u64 },
    Local(Cmd),
}

/// A world that does what its local events say and records everything it sees.
#[derive(Debug, Default)]
struct Probe {
    seen: Vec<(SimTime, u32, Seen)>,
    crashed: Vec<(SimTime, u32)>,
    restarted: Vec<(SimTime, u32, Option<Vec<u8>>)>,
}

impl Probe {
    fn msgs_to(&self, node: u32) -> Vec<(SimTime, u32, u64)> {
        self.seen
            .iter()
            .filter_map(|(t, n, s)| match s {
                Seen::Msg { from, payload } if *n == node => Some((*t, *from, *payload)),
                _ => None,
            })
            .collect()
    }

    fn locals(&self) -> Vec<(SimTime, u32, Cmd)> {
        self.seen
            .iter()
            .filter_map(|(t, n, s)| if let Seen::Local(c) = s { Some((*t, *n, *c)) } else { None })
            .collect()
    }
}

impl World for Probe {
    type Msg = u64;
    type Local = Cmd;

    fn on_message(&mut self, ctx: &mut Ctx<'_, u64, Cmd>, to: NodeIdx, from: NodeIdx, msg: u64) {
        self.seen.push((ctx.now(), to.0, Seen::Msg { from: from.0, payload: msg }));
    }

    fn on_local(&mut self, ctx: &mut Ctx<'_, u64, Cmd>, node: NodeIdx, ev: Cmd) {
        self.seen.push((ctx.now(), node.0, Seen::Local(ev)));
        match ev {
            Cmd::Send { to, payload, size } => ctx.send(node, NodeIdx(to), payload, size),
            Cmd::Write { bytes, sync, tag } => {
                ctx.disk(node).append("f", bytes);
                if sync {
                    ctx.sync(node, "f", Cmd::Synced(tag));
                }
            }
            Cmd::Mark(_) | Cmd::Synced(_) => {}
        }
    }

    fn on_crash(&mut self, ctx: &mut Ctx<'_, u64, Cmd>, node: NodeIdx) {
        self.crashed.push((ctx.now(), node.0));
    }

    fn on_restart(&mut self, ctx: &mut Ctx<'_, u64, Cmd>, node: NodeIdx) {
        let disk = ctx.disk(node).read("f");
        self.restarted.push((ctx.now(), node.0, disk));
    }

    fn kind_of_msg(_msg: &u64) -> &'static str {
        "probe-msg"
    }
}

const MS: SimDuration = SimDuration::from_millis(1);

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

fn n(i: u32) -> NodeIdx {
    NodeIdx(i)
}

/// A probe simulation with fixed 1 ms links, 1 ms syncs and no disk faults.
fn probe(nodes: u32, link: LinkConfig) -> Sim<Probe> {
    let cfg = SimConfig {
        link,
        disk: DiskFaults { torn: 0.0, corrupt: 0.0, sync_latency: Latency::Fixed(MS) },
        ..SimConfig::default()
    };
    Sim::new(Probe::default(), nodes, 1, cfg)
}

fn fixed_link() -> LinkConfig {
    LinkConfig { latency: Latency::Fixed(MS), ..LinkConfig::default() }
}

fn send(sim: &mut Sim<Probe>, at: SimTime, from: u32, to: u32, payload: u64) {
    sim.schedule_local(n(from), at, Cmd::Send { to, payload, size: 100 });
}

// ---- scheduler ----

// Events at equal times pop in insertion order, whatever their node.
#[test]
fn equal_times_pop_in_insertion_order() {
    let mut sim = probe(3, fixed_link());
    for (i, node) in [2, 0, 1, 0, 2].into_iter().enumerate() {
        sim.schedule_local(n(node), ms(5), Cmd::Mark(i as u64));
    }
    sim.run_until(ms(5));
    let order: Vec<(u32, Cmd)> =
        sim.world().locals().into_iter().map(|(_, node, c)| (node, c)).collect();
    let expected: Vec<(u32, Cmd)> = [2, 0, 1, 0, 2]
        .into_iter()
        .enumerate()
        .map(|(i, node)| (node, Cmd::Mark(i as u64)))
        .collect();
    assert_eq!(order, expected);
}

// Idle time is skipped: the next event is dispatched at its own time in one step.
#[test]
fn idle_time_is_skipped() {
    let mut sim = probe(1, fixed_link());
    sim.schedule_local(n(0), SimTime::from_secs(1_000_000), Cmd::Mark(1));
    let r = sim.step().expect("one event");
    assert_eq!(
        (r.time, r.kind, sim.now()),
        (SimTime::from_secs(1_000_000), "local", SimTime::from_secs(1_000_000))
    );
    assert!(sim.step().is_none());
}

// run_until dispatches exactly the events at or before its bound and leaves the clock there.
#[test]
fn run_until_stops_at_the_bound() {
    let mut sim = probe(1, fixed_link());
    for t in [10, 20, 30] {
        sim.schedule_local(n(0), ms(t), Cmd::Mark(t));
    }
    assert_eq!(sim.run_until(ms(19)), 1);
    assert_eq!(sim.now(), ms(19));
    assert_eq!(sim.run_until(ms(20)), 1, "an event exactly at the bound runs");
    assert_eq!(sim.pending_events(), 1);
    assert_eq!(sim.next_time(), Some(ms(30)));
    assert_eq!(sim.run_until(ms(100)), 1);
    assert_eq!(sim.stats().events, 3);
}

// ---- windowed order ----

/// A probe simulation like [`probe`], in windowed order with `window`.
fn windowed_probe(nodes: u32, link: LinkConfig, window: SimDuration) -> Sim<Probe> {
    let cfg = SimConfig {
        link,
        disk: DiskFaults { torn: 0.0, corrupt: 0.0, sync_latency: Latency::Fixed(MS) },
        window,
        ..SimConfig::default()
    };
    Sim::new(Probe::default(), nodes, 1, cfg)
}

// Windows of 10 ms hold the times (0, 10 ms], (10 ms, 20 ms], ...: each window's events run node
// by node, ascending, and each node's in time order.
#[test]
fn windowed_order_runs_a_window_node_by_node() {
    let mut sim = windowed_probe(3, fixed_link(), SimDuration::from_millis(10));
    for (node, t) in [(2, 1), (0, 5), (2, 3), (1, 12), (0, 10), (1, 9), (0, 11)] {
        sim.schedule_local(n(node), ms(t), Cmd::Mark(t));
    }
    sim.run_until(ms(100));
    let order: Vec<(u32, u64)> = sim
        .world()
        .locals()
        .into_iter()
        .map(|(_, n, c)| match c {
            Cmd::Mark(t) => (n, t),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(order, [(0, 5), (0, 10), (1, 9), (2, 1), (2, 3), (0, 11), (1, 12)]);
    // Every event ran at its own time.
    assert!(sim.world().locals().iter().all(|(t, _, c)| *c == Cmd::Mark(t.as_millis())));
}

// What a step causes for another node is due in the next window at the earliest: a 1 ms hop
// sent at 3 ms arrives when the window after (0, 10 ms] opens; a hop that already ends beyond
// its window (sent at 19.5 ms), and a node's own sync, keep their times.
#[test]
fn windowed_order_moves_short_hops_to_the_next_window() {
    let mut sim = windowed_probe(3, fixed_link(), SimDuration::from_millis(10));
    send(&mut sim, ms(3), 0, 1, 7);
    send(&mut sim, SimTime(19_500), 0, 2, 8);
    sim.schedule_local(n(0), ms(3), Cmd::Write { bytes: b"x", sync: true, tag: 1 });
    sim.run_until(ms(100));
    assert_eq!(sim.world().msgs_to(1), [(SimTime(10_001), 0, 7)]);
    assert_eq!(sim.world().msgs_to(2), [(SimTime(20_500), 0, 8)]);
    let synced: Vec<SimTime> = sim
        .world()
        .locals()
        .into_iter()
        .filter_map(|(t, _, c)| matches!(c, Cmd::Synced(1)).then_some(t))
        .collect();
    assert_eq!(synced, [ms(4)]);
}

// A crash is its node's event, in its node's time order; a partition (a fault on the whole
// network) takes effect at the end of its window, after every node's events of the window.
#[test]
fn windowed_order_places_faults() {
    let mut sim = windowed_probe(
        3,
        LinkConfig {
            latency: Latency::Fixed(SimDuration::from_millis(20)),
            ..LinkConfig::default()
        },
        SimDuration::from_millis(10),
    );
    sim.schedule_local(n(1), ms(3), Cmd::Mark(3));
    sim.schedule_local(n(1), ms(7), Cmd::Mark(7));
    sim.schedule_fault(ms(5), Fault::Crash(n(1)));
    sim.schedule_fault(ms(5), Fault::Partition(vec![vec![n(0)], vec![n(2)]]));
    send(&mut sim, ms(8), 0, 2, 9);
    send(&mut sim, ms(12), 0, 2, 10);
    sim.run_until(ms(100));
    let marks: Vec<u32> = sim
        .world()
        .locals()
        .into_iter()
        .filter_map(|(_, node, c)| matches!(c, Cmd::Mark(_)).then_some(node))
        .collect();
    assert_eq!(marks, [1], "node 1 ran its 3 ms event, then crashed at 5 ms");
    assert_eq!(sim.world().crashed, [(ms(5), 1)]);
    // The send at 8 ms ran before the partition of 5 ms took effect; the one at 12 ms after.
    assert_eq!(sim.world().msgs_to(2), [(ms(28), 0, 9)]);
}

/// The toy world's settings for the windowed tests: uniform 5-40 ms links, in the order
/// `window` asks for.
fn toy_cfg(window: SimDuration) -> SimConfig {
    SimConfig {
        link: LinkConfig {
            latency: Latency::Uniform {
                min: SimDuration::from_millis(5),
                max: SimDuration::from_millis(40),
            },
            ..LinkConfig::default()
        },
        window,
        ..SimConfig::default()
    }
}

/// A 20-node toy run of [`toy_cfg`] in which node 3 crashes at 500 ms and restarts at 900 ms.
fn toy_crash_restart(window: SimDuration) -> Sim<ToyWorld> {
    let mut sim = toy_sim_with(20, 3, SimDuration::from_millis(50), 7, toy_cfg(window));
    sim.schedule_fault(ms(500), Fault::Crash(n(3)));
    sim.schedule_fault(ms(900), Fault::Restart(n(3)));
    sim
}

// Windowed runs are a function of the seed, pass lockstep, and deliver what time order
// delivers on links no shorter than the window.
#[test]
fn windowed_runs_are_deterministic() {
    let (cfg, build) = (toy_cfg, toy_crash_restart);
    let window = SimDuration::from_millis(5);
    let mut a = build(window);
    a.run_until(SimTime::from_secs(3));
    assert_eq!(
        check_lockstep(&mut build(window), &mut build(window), SimTime::from_secs(3)),
        Ok(a.digest())
    );
    assert!(a.stats().events > 1000);
    // Without faults (whose effect depends on which messages are in flight), the same traffic.
    let run = |window| {
        let mut sim = toy_sim_with(20, 3, SimDuration::from_millis(50), 7, cfg(window));
        sim.run_until(SimTime::from_secs(3));
        (sim.digest(), sim.stats().sent, sim.stats().delivered)
    };
    let (windowed, timed) = (run(window), run(SimDuration::ZERO));
    assert_ne!(windowed.0, timed.0, "another order, another trace");
    // The network's draws come in another order, so a few messages in flight at the end differ.
    assert_eq!(windowed.1, timed.1);
    assert!(windowed.2.abs_diff(timed.2) * 100 <= timed.2, "{windowed:?} {timed:?}");
}

// A window set before the first event gives the run a sim built with that window gives: the
// events queued so far (every toy node's first timer, a crash and a restart) keep their times
// and, at equal times, their order, whichever order the queue had.
#[test]
fn a_window_set_before_the_run_is_as_if_built_with_it() {
    let build = toy_crash_restart;
    let digest = |mut sim: Sim<_>| {
        sim.run_until(SimTime::from_secs(3));
        (sim.digest(), sim.stats().events)
    };
    let (zero, five, ten) =
        (SimDuration::ZERO, SimDuration::from_millis(5), SimDuration::from_millis(10));
    for (built, set) in [(zero, five), (five, ten), (ten, zero), (five, five)] {
        let mut sim = build(built);
        assert!(sim.pending_events() > 20);
        sim.set_window(set);
        assert_eq!(sim.window(), set);
        assert_eq!(digest(sim), digest(build(set)), "built with {built:?}, set to {set:?}");
    }
    let mut started = build(five);
    started.step();
    let late = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| started.set_window(ten)));
    assert!(late.is_err(), "a window set after the first event");
}

// ---- network faults through the engine ----

/// Every node sends one message to every other node at `at`.
fn all_to_all(sim: &mut Sim<Probe>, at: SimTime, tag: u64) {
    let nodes = sim.nodes();
    for from in 0..nodes {
        for to in (0..nodes).filter(|t| *t != from) {
            send(sim, at, from, to, tag);
        }
    }
}

/// Which (from, to) pairs received a message with `tag`.
fn delivered_pairs(sim: &Sim<Probe>, tag: u64) -> Vec<(u32, u32)> {
    let mut pairs: Vec<(u32, u32)> = sim
        .world()
        .seen
        .iter()
        .filter_map(|(_, to, s)| match s {
            Seen::Msg { from, payload } if *payload == tag => Some((*from, *to)),
            _ => None,
        })
        .collect();
    pairs.sort_unstable();
    pairs
}

// A symmetric partition stops all traffic across it and none within; heal restores it.
#[test]
fn partition_separates_and_heal_restores() {
    let mut sim = probe(4, fixed_link());
    sim.schedule_fault(ms(1), Fault::Partition(vec![vec![n(0), n(1)], vec![n(2), n(3)]]));
    all_to_all(&mut sim, ms(2), 1);
    sim.schedule_fault(ms(10), Fault::Heal);
    all_to_all(&mut sim, ms(11), 2);
    sim.run_until(ms(20));
    assert_eq!(delivered_pairs(&sim, 1), vec![(0, 1), (1, 0), (2, 3), (3, 2)]);
    assert_eq!(delivered_pairs(&sim, 2).len(), 12, "after heal everyone reaches everyone");
    assert_eq!(sim.stats().dropped_partition, 8);
}

// An asymmetric block drops one direction only.
#[test]
fn block_is_one_way() {
    let mut sim = probe(3, fixed_link());
    sim.schedule_fault(ms(1), Fault::Block { from_group: vec![n(0)], to_group: vec![n(1), n(2)] });
    all_to_all(&mut sim, ms(2), 1);
    sim.run_until(ms(10));
    assert_eq!(delivered_pairs(&sim, 1), vec![(1, 0), (1, 2), (2, 0), (2, 1)]);
    assert_eq!(sim.stats().dropped_partition, 2);
}

// With duplicate = 1.0 every message arrives exactly twice.
#[test]
fn duplication_duplicates() {
    let mut sim = probe(2, LinkConfig { duplicate: 1.0, ..LinkConfig::default() });
    for i in 0..50 {
        send(&mut sim, ms(i), 0, 1, i);
    }
    sim.run_until(ms(100));
    let got = sim.world().msgs_to(1);
    assert_eq!(got.len(), 100);
    for i in 0..50 {
        assert_eq!(got.iter().filter(|m| m.2 == i).count(), 2, "message {i}");
    }
    assert_eq!(sim.stats().duplicated, 50);
}

// Loss 1.0 loses everything; loss 0.1 loses about a tenth (seeded, loose bounds).
#[test]
fn loss_rates_in_the_toy_world() {
    let lossy = |loss: f64| {
        let cfg = SimConfig {
            link: LinkConfig { loss, ..LinkConfig::default() },
            ..SimConfig::default()
        };
        let mut sim = toy_sim_with(20, 4, SimDuration::from_millis(10), 3, cfg);
        sim.run_until(SimTime::from_secs(5));
        let s = *sim.stats();
        (s.dropped_loss, s.sent, s.delivered)
    };
    let (lost, sent, delivered) = lossy(1.0);
    assert!(sent > 0 && lost == sent && delivered == 0);
    let (lost, sent, _) = lossy(0.1);
    let rate = lost as f64 / sent as f64;
    assert!((0.08..0.12).contains(&rate), "lost {lost} of {sent}");
}

// Reordering makes some later-sent messages arrive before earlier ones.
#[test]
fn reordering_reorders() {
    let link =
        LinkConfig { reorder: 0.3, reorder_delay_max: SimDuration::from_millis(5), ..fixed_link() };
    let mut sim = probe(2, link);
    for i in 0..100 {
        send(&mut sim, SimTime(i * 100), 0, 1, i);
    }
    sim.run_until(SimTime::from_secs(1));
    let order: Vec<u64> = sim.world().msgs_to(1).into_iter().map(|m| m.2).collect();
    assert_eq!(order.len(), 100);
    assert!(order.windows(2).any(|w| w[1] < w[0]), "nothing was overtaken");
}

// Back-to-back large messages are spaced by size / bandwidth on the sender's uplink.
#[test]
fn bandwidth_spaces_large_messages() {
    let mut sim = probe(2, LinkConfig { bandwidth_bytes_per_sec: Some(1_000_000), ..fixed_link() });
    for i in 0..3 {
        sim.schedule_local(n(0), ms(0), Cmd::Send { to: 1, payload: i, size: 100_000 });
    }
    sim.run_until(SimTime::from_secs(1));
    let times: Vec<SimTime> = sim.world().msgs_to(1).into_iter().map(|m| m.0).collect();
    assert_eq!(
        times,
        vec![ms(101), ms(201), ms(301)],
        "100 KB at 1 MB/s is 100 ms each, plus 1 ms latency"
    );
}

// A clog delays messages until it ends but drops none.
#[test]
fn clog_delays_but_does_not_drop() {
    let mut sim = probe(3, fixed_link());
    sim.schedule_fault(
        ms(0),
        Fault::ClogOut { node: n(0), duration: SimDuration::from_millis(500) },
    );
    sim.schedule_fault(
        ms(0),
        Fault::ClogLink { from: n(2), to: n(1), duration: SimDuration::from_millis(300) },
    );
    for i in 0..10 {
        send(&mut sim, ms(10 * i), 0, 1, i);
    }
    send(&mut sim, ms(5), 2, 1, 100);
    send(&mut sim, ms(5), 1, 2, 200);
    sim.run_until(SimTime::from_secs(1));
    let from0: Vec<SimTime> =
        sim.world().msgs_to(1).into_iter().filter(|m| m.1 == 0).map(|m| m.0).collect();
    assert_eq!(from0, vec![ms(501); 10]);
    let from2: Vec<SimTime> =
        sim.world().msgs_to(1).into_iter().filter(|m| m.1 == 2).map(|m| m.0).collect();
    assert_eq!(from2, vec![ms(301)]);
    assert_eq!(sim.world().msgs_to(2), vec![(ms(6), 1, 200)], "the reverse link is not clogged");
    assert_eq!(sim.stats().clog_delayed, 11);
    assert_eq!(sim.stats().delivered, 12);
}

// A swizzle schedule clogs every chosen node for a while and then lets everything through.
#[test]
fn swizzle_delays_then_releases() {
    let nodes: Vec<NodeIdx> = (0..8).map(NodeIdx).collect();
    let mut sim = toy_sim(8, 3, SimDuration::from_millis(20), 5);
    let faults = swizzle_schedule(
        &nodes,
        ms(100),
        SimDuration::from_millis(50),
        &mut sim.rng_tree().faults(),
    );
    let last_unclog = faults.iter().map(|(at, f)| match f {
        Fault::ClogOut { duration, .. } => *at + *duration,
        _ => *at,
    });
    let end = last_unclog.max().expect("a non-empty swizzle");
    for (at, f) in faults {
        sim.schedule_fault(at, f);
    }
    sim.run_until(end + SimDuration::from_millis(100));
    let s = *sim.stats();
    assert!(s.clog_delayed > 0, "nothing was held");
    assert_eq!(s.dropped_loss + s.dropped_partition, 0);
    assert!(
        s.sent - s.delivered < 30,
        "held messages were released: sent {} delivered {}",
        s.sent,
        s.delivered
    );
}

// ---- clocks ----

// Timers set in local time fire when the skewed, drifting clock reaches them.
#[test]
fn skewed_and_drifting_timers() {
    let mut sim = probe(3, fixed_link());
    sim.set_node_clock(n(1), NodeClock::new(1_000_000, 1_000)); // 1 s ahead, 0.1% fast
    sim.set_node_clock(n(2), NodeClock::new(-500_000, -500_000)); // 0.5 s behind, half speed
    sim.with_ctx(|_, ctx| {
        for node in 0..3 {
            ctx.schedule_at_local(n(node), 3_002_000, Cmd::Mark(u64::from(node)));
        }
        ctx.schedule_at_local(n(1), 10, Cmd::Mark(99)); // already past: fires now
    });
    sim.run_until(SimTime::from_secs(100));
    let fired: Vec<(SimTime, u32)> =
        sim.world().locals().into_iter().map(|(t, node, _)| (t, node)).collect();
    // node 1: floor(t * 1.001) + 1e6 >= 3_002_000 at t = 2 s; node 2: t / 2 - 0.5 s >= 3.002 s at t = 7.004 s.
    assert_eq!(
        fired,
        vec![
            (SimTime::ZERO, 1),
            (SimTime(2_000_000), 1),
            (SimTime(3_002_000), 0),
            (SimTime(7_004_000), 2)
        ]
    );
}

// A clock fault jumps the node's reading at its scheduled time.
#[test]
fn clock_jump() {
    let mut sim = probe(1, fixed_link());
    sim.schedule_fault(
        ms(10),
        Fault::SetClock { node: n(0), clock: NodeClock::new(60_000_000, 0) },
    );
    sim.run_until(ms(5));
    assert_eq!(sim.with_ctx(|_, ctx| ctx.local_now(n(0))), 5_000);
    sim.run_until(ms(10));
    assert_eq!(sim.with_ctx(|_, ctx| ctx.local_now(n(0))), 60_010_000);
    assert_eq!(sim.node_clock(n(0)).offset_us, 60_000_000);
}

// ---- disks, crashes, pauses ----

// A crash loses unsynced writes and keeps synced ones; a sync pending at the crash never
// completes and its continuation is never delivered; the restarted node sees the durable data.
#[test]
fn crash_loses_unsynced_and_cancels_pending_syncs() {
    let mut sim = probe(1, fixed_link());
    sim.schedule_local(n(0), ms(0), Cmd::Write { bytes: b"durable.", sync: true, tag: 1 });
    sim.schedule_local(n(0), ms(5), Cmd::Write { bytes: b"pending.", sync: true, tag: 2 });
    sim.schedule_local(n(0), ms(5), Cmd::Write { bytes: b"cached.", sync: false, tag: 3 });
    sim.schedule_fault(SimTime(5_500), Fault::Crash(n(0)));
    sim.schedule_fault(ms(10), Fault::Restart(n(0)));
    sim.run_until(ms(20));
    let synced: Vec<Cmd> = sim
        .world()
        .locals()
        .into_iter()
        .map(|l| l.2)
        .filter(|c| matches!(c, Cmd::Synced(_)))
        .collect();
    assert_eq!(synced, vec![Cmd::Synced(1)], "the sync pending at the crash completed");
    assert_eq!(sim.disk(n(0)).read("f").unwrap(), b"durable.");
    assert_eq!(sim.world().crashed, vec![(SimTime(5_500), 0)]);
    assert_eq!(sim.world().restarted, vec![(ms(10), 0, Some(b"durable.".to_vec()))]);
    assert_eq!((sim.stats().crashes, sim.stats().restarts, sim.stats().stale), (1, 1, 1));
}

// With torn writes always on, a crash keeps a strict prefix of the unsynced tail.
#[test]
fn torn_write_through_the_engine() {
    for seed in 0..10 {
        let cfg = SimConfig {
            disk: DiskFaults { torn: 1.0, corrupt: 0.0, sync_latency: Latency::Fixed(MS) },
            ..SimConfig::default()
        };
        let mut sim = Sim::new(Probe::default(), 1, seed, cfg);
        sim.schedule_local(n(0), ms(0), Cmd::Write { bytes: b"base", sync: true, tag: 0 });
        sim.schedule_local(n(0), ms(5), Cmd::Write { bytes: b"0123456789", sync: false, tag: 0 });
        sim.schedule_fault(ms(6), Fault::Crash(n(0)));
        sim.run_until(ms(10));
        let data = sim.disk(n(0)).read("f").unwrap();
        assert!(
            data.len() < 14 && b"base0123456789".starts_with(&data) && data.starts_with(b"base"),
            "{data:?}"
        );
    }
}

// Local events of the old incarnation are discarded silently, after restart too.
#[test]
fn stale_local_events_are_discarded() {
    let mut sim = probe(1, fixed_link());
    sim.schedule_local(n(0), ms(20), Cmd::Mark(1)); // scheduled before the crash
    sim.schedule_fault(ms(5), Fault::Crash(n(0)));
    sim.schedule_fault(ms(10), Fault::Restart(n(0)));
    sim.with_ctx(|_, ctx| assert_eq!(ctx.incarnation(n(0)), 0));
    sim.run_until(ms(30));
    assert!(sim.world().locals().is_empty());
    assert_eq!(sim.incarnation(n(0)), 2);
    assert_eq!(sim.stats().stale, 1);
    assert_eq!((sim.stats().events, sim.trace_events()), (2, 2), "the stale event left no record");
}

// Messages to a crashed node are dropped as drop-down; messages sent before the receiver
// restarted (before its crash or while it was down) are dropped as drop-reset; later ones get
// through.
#[test]
fn messages_across_a_crash() {
    let link = LinkConfig {
        latency: Latency::Fixed(SimDuration::from_millis(10)),
        ..LinkConfig::default()
    };
    let cfg = SimConfig { link, record_trace: true, ..SimConfig::default() };
    let mut sim = Sim::new(Probe::default(), 2, 1, cfg);
    send(&mut sim, ms(0), 0, 1, 1); // arrives at 10, node 1 down
    send(&mut sim, ms(3), 0, 1, 2); // arrives at 13, node 1 restarted: connection reset
    send(&mut sim, ms(8), 0, 1, 4); // sent while node 1 is down, arrives at 18 after its restart
    send(&mut sim, ms(20), 0, 1, 3); // fine
    sim.schedule_fault(ms(5), Fault::Crash(n(1)));
    sim.schedule_fault(ms(12), Fault::Restart(n(1)));
    sim.run_until(ms(50));
    assert_eq!(sim.world().msgs_to(1), vec![(ms(30), 0, 3)]);
    let kinds: Vec<(SimTime, &str)> =
        sim.trace_records().iter().filter(|r| r.node == n(1)).map(|r| (r.time, r.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (ms(5), "crash"),
            (ms(10), "drop-down"),
            (ms(12), "restart"),
            (ms(13), "drop-reset"),
            (ms(18), "drop-reset"),
            (ms(30), "probe-msg")
        ]
    );
    assert_eq!((sim.stats().dropped_down, sim.stats().dropped_reset), (1, 2));
}

// A paused node's messages and local events wait, and arrive in order on resume.
#[test]
fn pause_buffers_and_resume_delivers_in_order() {
    let mut sim = probe(2, fixed_link());
    sim.schedule_fault(ms(1), Fault::Pause(n(1)));
    for i in 0..5 {
        send(&mut sim, ms(2 + i), 0, 1, i);
    }
    sim.schedule_local(n(1), ms(4), Cmd::Mark(7));
    sim.schedule_fault(ms(50), Fault::Resume(n(1)));
    sim.run_until(ms(40));
    assert!(sim.world().msgs_to(1).is_empty() && sim.world().locals().iter().all(|l| l.1 == 0));
    assert!(!sim.is_up(n(1)) && sim.node_state(n(1)) == NodeState::Paused);
    sim.run_until(ms(60));
    let got: Vec<(SimTime, u64)> = sim.world().msgs_to(1).into_iter().map(|m| (m.0, m.2)).collect();
    assert_eq!(got, vec![(ms(50), 0), (ms(50), 1), (ms(50), 2), (ms(50), 3), (ms(50), 4)]);
    let mark = sim.world().seen.iter().position(|s| s.2 == Seen::Local(Cmd::Mark(7))).unwrap();
    let third =
        sim.world().seen.iter().position(|s| s.2 == Seen::Msg { from: 0, payload: 2 }).unwrap();
    assert!(mark < third, "the local event due at 4 ms waited in line with the messages");
    assert_eq!(sim.stats().deferred, 6);
}

// A node crashing while paused loses what waited for it.
#[test]
fn crash_while_paused_drops_what_waited() {
    let mut sim = probe(2, fixed_link());
    sim.schedule_fault(ms(1), Fault::Pause(n(1)));
    send(&mut sim, ms(2), 0, 1, 1);
    sim.schedule_fault(ms(10), Fault::Crash(n(1)));
    sim.schedule_fault(ms(11), Fault::Resume(n(1))); // no-op: crashed
    sim.schedule_fault(ms(12), Fault::Restart(n(1)));
    sim.run_until(ms(50));
    assert!(sim.world().msgs_to(1).is_empty());
    assert_eq!(sim.stats().dropped_down, 1);
    assert!(sim.is_up(n(1)));
}

// ---- trace and determinism ----

// The same seed gives the same digest; another seed gives another.
#[test]
fn digest_is_a_function_of_the_seed() {
    let digest = |seed| {
        let mut sim = toy_sim(20, 3, SimDuration::from_millis(50), seed);
        sim.run_until(SimTime::from_secs(3));
        (sim.digest(), sim.stats().events)
    };
    let (a, events) = digest(7);
    assert!(events > 1000);
    assert_eq!(a, digest(7).0);
    assert_ne!(a, digest(8).0);
}

// Lockstep passes for a deterministic world and returns its digest.
#[test]
fn lockstep_passes_for_a_deterministic_world() {
    let build = || {
        let mut sim = toy_sim(10, 3, SimDuration::from_millis(50), 4);
        sim.schedule_fault(ms(500), Fault::Crash(n(3)));
        sim.schedule_fault(ms(900), Fault::Restart(n(3)));
        sim
    };
    let mut reference = build();
    reference.run_until(SimTime::from_secs(2));
    assert_eq!(
        check_lockstep(&mut build(), &mut build(), SimTime::from_secs(2)),
        Ok(reference.digest())
    );
}

static GLOBAL_PICKS: AtomicU64 = AtomicU64::new(0);

/// A world that picks its peer from process-global state: two runs in one process differ.
#[derive(Debug)]
struct Nondeterministic;

impl World for Nondeterministic {
    type Msg = u64;
    type Local = u64;

    fn on_message(&mut self, _: &mut Ctx<'_, u64, u64>, _: NodeIdx, _: NodeIdx, _: u64) {}

    fn on_local(&mut self, ctx: &mut Ctx<'_, u64, u64>, node: NodeIdx, ev: u64) {
        let pick = GLOBAL_PICKS.fetch_add(1, Ordering::Relaxed);
        let to = NodeIdx((pick % u64::from(ctx.nodes())) as u32);
        ctx.send(node, to, ev, 8);
        ctx.schedule_after(node, SimDuration::from_millis(100), ev + 1);
    }

    fn on_crash(&mut self, _: &mut Ctx<'_, u64, u64>, _: NodeIdx) {}

    fn on_restart(&mut self, _: &mut Ctx<'_, u64, u64>, _: NodeIdx) {}
}

// Lockstep names the first differing event of a nondeterministic world: the first delivery.
#[test]
fn lockstep_finds_the_first_divergence() {
    let build = || {
        let mut sim = Sim::new(
            Nondeterministic,
            4,
            1,
            SimConfig { link: fixed_link(), ..SimConfig::default() },
        );
        sim.schedule_local(n(0), ms(100), 0);
        sim
    };
    let d = check_lockstep(&mut build(), &mut build(), SimTime::from_secs(1)).unwrap_err();
    // Record 0 is the first timer (identical in both runs); what it sent differs, so record 1,
    // the first delivery 1 ms later, is the first difference: same time and kind, other node.
    let (a, b) = (d.a.expect("a has the event"), d.b.expect("b has the event"));
    assert_eq!((d.index, a.time, a.kind), (1, ms(101), "deliver"));
    assert_eq!((b.time, b.kind), (ms(101), "deliver"));
    assert_ne!(a.node, b.node);
    let text = d.to_string();
    assert!(
        text.contains("record 1") && text.contains("deliver") && text.contains("0.101000s"),
        "{text}"
    );
}

fn fault_strategy(nodes: u32) -> impl Strategy<Value = (u64, Fault)> {
    let node = (0..nodes).prop_map(NodeIdx);
    let group = proptest::collection::vec((0..nodes).prop_map(NodeIdx), 0..4);
    let dur = (1u64..2_000).prop_map(SimDuration::from_millis);
    let fault = prop_oneof![
        node.clone().prop_map(Fault::Crash),
        node.clone().prop_map(Fault::Restart),
        node.clone().prop_map(Fault::Pause),
        node.clone().prop_map(Fault::Resume),
        proptest::collection::vec(group.clone(), 0..3).prop_map(Fault::Partition),
        (group.clone(), group)
            .prop_map(|(from_group, to_group)| Fault::Block { from_group, to_group }),
        Just(Fault::Heal),
        (node.clone(), dur.clone()).prop_map(|(node, duration)| Fault::ClogOut { node, duration }),
        (node.clone(), dur.clone()).prop_map(|(node, duration)| Fault::ClogIn { node, duration }),
        (node.clone(), node.clone(), dur).prop_map(|(from, to, duration)| Fault::ClogLink {
            from,
            to,
            duration
        }),
        (node.clone(), -5_000_000i64..5_000_000, -50_000i32..50_000)
            .prop_map(|(node, o, d)| Fault::SetClock { node, clock: NodeClock::new(o, d) }),
        (0.0..0.5f64, 0.0..0.5f64, 0.0..0.5f64).prop_map(|(loss, duplicate, reorder)| {
            Fault::SetLink {
                link: LinkConfig {
                    loss,
                    duplicate,
                    reorder,
                    reorder_delay_max: SimDuration::from_millis(20),
                    ..LinkConfig::default()
                },
                between: None,
            }
        }),
        (node.clone(), node).prop_map(|(a, b)| Fault::SetLink {
            link: LinkConfig { bandwidth_bytes_per_sec: Some(10_000), ..LinkConfig::default() },
            between: Some((a, b)),
        }),
    ];
    (0u64..3_000, fault)
}

fn run_with_faults(faults: &[(u64, Fault)]) -> ([u8; 32], Stats) {
    let mut sim: Sim<ToyWorld> = toy_sim(8, 3, SimDuration::from_millis(50), 11);
    for (at, f) in faults {
        sim.schedule_fault(ms(*at), f.clone());
    }
    sim.run_until(SimTime::from_secs(4));
    (sim.digest(), *sim.stats())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    // Any fault schedule runs without panics and gives the same digest twice.
    #[test]
    fn random_fault_schedules_stay_deterministic(faults in proptest::collection::vec(fault_strategy(8), 0..25)) {
        let (a, stats) = run_with_faults(&faults);
        prop_assert_eq!(stats.faults, faults.len() as u64);
        prop_assert_eq!(a, run_with_faults(&faults).0);
    }
}

// The digest of a fixed run is pinned: it must not change between processes, machines or
// builds. Changing it is a change of the replay format and must be deliberate.
#[test]
fn golden_digest() {
    let mut sim = toy_sim(16, 3, SimDuration::from_millis(50), 42);
    sim.schedule_fault(ms(300), Fault::Crash(n(5)));
    sim.schedule_fault(ms(700), Fault::Restart(n(5)));
    sim.schedule_fault(ms(400), Fault::Partition(vec![(0..8).map(NodeIdx).collect()]));
    sim.schedule_fault(ms(900), Fault::Heal);
    sim.schedule_fault(
        ms(0),
        Fault::SetLink {
            link: LinkConfig {
                latency: Latency::LogNormal {
                    min: SimDuration::ZERO,
                    median: SimDuration::from_millis(5),
                    sigma_milli: 600,
                },
                loss: 0.05,
                duplicate: 0.05,
                reorder: 0.1,
                reorder_delay_max: SimDuration::from_millis(3),
                bandwidth_bytes_per_sec: Some(1_000_000),
            },
            between: None,
        },
    );
    sim.run_until(SimTime::from_secs(2));
    assert_eq!(
        crate::trace::hex(&sim.digest()),
        "379c3c8213d66b85919d7d5cab9ab5c72b04d56f9da6dee4a49e53f127384213",
        "events {}",
        sim.stats().events
    );
}

/// A redundant send is routed exactly like a plain one (the same drops from the same draws), but
/// what gets through to a running node is absorbed at once: no delivery, a count, a trace record.
/// A paused receiver gets it queued as a plain send would.
#[test]
fn redundant_sends_are_routed_like_plain_ones_then_absorbed() {
    let lossy = SimConfig {
        link: LinkConfig { loss: 0.3, duplicate: 0.1, ..LinkConfig::default() },
        ..SimConfig::default()
    };
    let run = |redundant: bool| {
        let mut sim = Sim::new(Probe::default(), 3, 7, lossy.clone());
        let taken: u64 = (0..500)
            .map(|i| {
                sim.with_ctx(|_, ctx| {
                    if redundant {
                        u64::from(ctx.send_redundant(n(0), n(1), i, 10))
                    } else {
                        ctx.send(n(0), n(1), i, 10);
                        0
                    }
                })
            })
            .sum();
        sim.run_until(ms(10_000));
        (taken, sim)
    };
    let (_, plain) = run(false);
    let (taken, redundant) = run(true);
    let (p, r) = (plain.stats(), redundant.stats());
    assert_eq!(p.dropped_loss, r.dropped_loss, "the same copies are lost");
    assert!(p.dropped_loss > 100 && p.duplicated > 10, "{p:?}");
    assert_eq!(p.delivered, (500 - p.dropped_loss) + p.duplicated);
    assert_eq!((r.absorbed, taken, r.delivered), (500 - r.dropped_loss, 500 - r.dropped_loss, 0));
    assert!(redundant.world().msgs_to(1).is_empty(), "nothing was delivered");
    assert_ne!(plain.digest(), redundant.digest());

    let mut sim = Sim::new(Probe::default(), 3, 7, SimConfig::default());
    sim.schedule_fault(SimTime::ZERO, Fault::Pause(n(1)));
    sim.run_until(ms(1));
    assert!(!sim.with_ctx(|_, ctx| ctx.send_redundant(n(0), n(1), 9, 10)), "paused: queued");
    sim.schedule_fault(ms(50), Fault::Resume(n(1)));
    sim.run_until(ms(10_000));
    assert_eq!(sim.world().msgs_to(1).iter().map(|m| m.2).collect::<Vec<_>>(), vec![9]);
    assert_eq!(sim.stats().absorbed, 0);
}

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;

use super::*;
use crate::determinism::check_lockstep;
use crate::net::Latency;
use crate::toy::toy_sim;

/// A world that records what it sees; local event `n` with n >= 1000 writes and syncs a file.
#[derive(Debug, Default)]
struct Rec {
    seen: Vec<(SimTime, u32, String)>,
    crashes: u32,
    restarts: u32,
}

impl Traced for u64 {
    fn fingerprint(&self) -> u64 {
        *self
    }
}

impl World for Rec {
    type Msg = u64;
    type Local = u64;
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64, u64>, to: NodeIdx, from: NodeIdx, msg: u64) {
        self.seen.push((ctx.now(), to.0, format!("msg {msg} from {}", from.0)));
    }
    fn on_local(&mut self, ctx: &mut Ctx<'_, u64, u64>, node: NodeIdx, ev: u64) {
        self.seen.push((ctx.now(), node.0, format!("local {ev}")));
        if ev == 1000 {
            ctx.disk(node).append("f", b"data");
            ctx.sync(node, "f", 1001);
        }
    }
    fn on_crash(&mut self, _ctx: &mut Ctx<'_, u64, u64>, _node: NodeIdx) {
        self.crashes += 1;
    }
    fn on_restart(&mut self, _ctx: &mut Ctx<'_, u64, u64>, _node: NodeIdx) {
        self.restarts += 1;
    }
}

fn fixed(ms: u64) -> SimConfig {
    SimConfig {
        link: LinkConfig {
            latency: Latency::Fixed(SimDuration::from_millis(ms)),
            ..LinkConfig::default()
        },
        disk: DiskFaults {
            sync_latency: Latency::Fixed(SimDuration::from_millis(1)),
            torn: 0.0,
            ..DiskFaults::default()
        },
        ..SimConfig::default()
    }
}

/// Events at the same time run in the order they were scheduled; idle time is skipped.
#[test]
fn ties_pop_in_insertion_order() {
    let mut sim = Sim::new(Rec::default(), 2, 1, fixed(1));
    for n in 0..5 {
        sim.schedule_local(NodeIdx(n % 2), SimTime::from_secs(1000), u64::from(n));
    }
    assert_eq!(sim.run_until(SimTime::from_secs(999)), 0);
    assert_eq!(sim.run_until(SimTime::from_secs(1000)), 5);
    let order: Vec<String> = sim.world().seen.iter().map(|s| s.2.clone()).collect();
    assert_eq!(order, ["local 0", "local 1", "local 2", "local 3", "local 4"]);
    assert_eq!(sim.now(), SimTime::from_secs(1000));
}

/// A partition drops messages across it, not within a side.
#[test]
fn partition_separates_in_the_engine() {
    let mut sim = Sim::new(Rec::default(), 4, 1, fixed(1));
    sim.schedule_fault(SimTime::ZERO, Fault::Partition(vec![vec![NodeIdx(0), NodeIdx(1)]]));
    sim.run_until(SimTime::ZERO);
    sim.with_ctx(|_, ctx| {
        ctx.send(NodeIdx(0), NodeIdx(1), 1, 8);
        ctx.send(NodeIdx(0), NodeIdx(2), 2, 8);
        ctx.send(NodeIdx(3), NodeIdx(2), 3, 8);
    });
    sim.run_until(SimTime::from_secs(1));
    assert_eq!(sim.stats().delivered, 2);
    assert_eq!(sim.stats().dropped_partition, 1);
    assert!(sim.world().seen.iter().all(|s| s.2 != "msg 2 from 0"));
}

/// With duplicate = 1 every message arrives twice.
#[test]
fn duplication_duplicates_in_the_engine() {
    let mut cfg = fixed(1);
    cfg.link.duplicate = 1.0;
    let mut sim = Sim::new(Rec::default(), 2, 1, cfg);
    sim.with_ctx(|_, ctx| ctx.send(NodeIdx(0), NodeIdx(1), 7, 8));
    sim.run_until(SimTime::from_secs(1));
    assert_eq!(sim.world().seen.iter().filter(|s| s.2 == "msg 7 from 0").count(), 2);
    assert_eq!(sim.stats().duplicated, 1);
}

/// A crash before a sync completes loses the write and cancels the completion; a synced write
/// survives a later crash; the node restarts and old timers are discarded.
#[test]
fn crash_loses_unsynced_writes() {
    let mut sim = Sim::new(Rec::default(), 1, 1, fixed(1));
    sim.schedule_local(NodeIdx(0), SimTime::from_millis(10), 1000);
    sim.schedule_fault(SimTime::from_micros(10_500), Fault::Crash(NodeIdx(0)));
    sim.schedule_local(NodeIdx(0), SimTime::from_millis(20), 5); // old incarnation: discarded
    sim.run_until(SimTime::from_millis(30));
    assert_eq!(sim.disk(NodeIdx(0)).read("f"), Some(&b""[..]), "unsynced write survived a crash");
    assert!(sim.world().seen.iter().all(|s| s.2 != "local 1001" && s.2 != "local 5"));
    assert_eq!(sim.world().crashes, 1);
    sim.schedule_fault(SimTime::from_millis(40), Fault::Restart(NodeIdx(0)));
    sim.schedule_local(NodeIdx(0), SimTime::from_millis(50), 1000);
    sim.schedule_fault(SimTime::from_millis(60), Fault::Crash(NodeIdx(0)));
    sim.run_until(SimTime::from_millis(70));
    assert_eq!(sim.world().restarts, 1);
    assert_eq!(sim.disk(NodeIdx(0)).read("f"), Some(&b"data"[..]), "synced write lost");
    assert!(sim.world().seen.iter().any(|s| s.2 == "local 1001"));
}

/// Messages to a crashed node are dropped, and so are messages sent to it before a restart.
#[test]
fn messages_to_crashed_nodes_are_dropped() {
    let mut sim = Sim::new(Rec::default(), 2, 1, fixed(10));
    sim.with_ctx(|_, ctx| ctx.send(NodeIdx(0), NodeIdx(1), 1, 8));
    sim.schedule_fault(SimTime::from_millis(2), Fault::Crash(NodeIdx(1)));
    sim.schedule_fault(SimTime::from_millis(5), Fault::Restart(NodeIdx(1)));
    sim.run_until(SimTime::from_secs(1));
    assert_eq!(sim.stats().dropped_down, 1);
    assert_eq!(sim.stats().delivered, 0);
}

/// A paused node receives nothing until it resumes, then everything in order.
#[test]
fn pause_defers_and_resume_delivers_in_order() {
    let mut sim = Sim::new(Rec::default(), 2, 1, fixed(1));
    sim.schedule_fault(SimTime::ZERO, Fault::Pause(NodeIdx(1)));
    sim.run_until(SimTime::ZERO);
    sim.with_ctx(|_, ctx| {
        for m in 0..3 {
            ctx.send(NodeIdx(0), NodeIdx(1), m, 8);
        }
    });
    sim.schedule_local(NodeIdx(1), SimTime::from_millis(2), 99);
    sim.schedule_fault(SimTime::from_secs(5), Fault::Resume(NodeIdx(1)));
    sim.run_until(SimTime::from_secs(4));
    assert!(sim.world().seen.is_empty());
    sim.run_until(SimTime::from_secs(6));
    let seen: Vec<(SimTime, String)> =
        sim.world().seen.iter().map(|s| (s.0, s.2.clone())).collect();
    let at = SimTime::from_secs(5);
    assert_eq!(
        seen,
        vec![
            (at, "msg 0 from 0".into()),
            (at, "msg 1 from 0".into()),
            (at, "msg 2 from 0".into()),
            (at, "local 99".into())
        ]
    );
}

/// A skewed, drifting clock fires local timers when its own reading reaches the deadline.
#[test]
fn skewed_clock_timers() {
    let mut sim = Sim::new(Rec::default(), 1, 1, fixed(1));
    let clock = NodeClock::new(2_000_000, 100_000); // 2 s ahead, 10% fast
    sim.schedule_fault(SimTime::ZERO, Fault::SetClock { node: NodeIdx(0), clock });
    sim.run_until(SimTime::ZERO);
    sim.with_ctx(|_, ctx| ctx.schedule_at_local(NodeIdx(0), 13_000_000, 1));
    sim.run_until(SimTime::from_secs(100));
    let fired = sim.world().seen[0].0;
    assert_eq!(fired, SimTime::from_secs(10), "local 13 s = 2 s + 1.1 x 10 s");
    assert_eq!(clock.local(fired), 13_000_000);
}

/// Same seed, same digest; another seed, another digest.
#[test]
fn digest_is_a_function_of_the_seed() {
    let digest = |seed| {
        let mut s = toy_sim(50, 4, SimDuration::from_millis(100), seed);
        s.run_until(SimTime::from_secs(2));
        s.digest()
    };
    assert_eq!(digest(1), digest(1));
    assert_ne!(digest(1), digest(2));
}

static GLOBAL: AtomicU64 = AtomicU64::new(0);

/// A world that picks peers from process-global state: nondeterministic across runs.
#[derive(Debug)]
struct Leaky;

impl World for Leaky {
    type Msg = u64;
    type Local = u64;
    fn on_message(&mut self, _: &mut Ctx<'_, u64, u64>, _: NodeIdx, _: NodeIdx, _: u64) {}
    fn on_local(&mut self, ctx: &mut Ctx<'_, u64, u64>, node: NodeIdx, ev: u64) {
        let k = GLOBAL.fetch_add(1, Ordering::Relaxed);
        ctx.send(node, NodeIdx((k % 4) as u32), k, 8);
        if ev < 20 {
            ctx.schedule_after(node, SimDuration::from_millis(100), ev + 1);
        }
    }
    fn on_crash(&mut self, _: &mut Ctx<'_, u64, u64>, _: NodeIdx) {}
    fn on_restart(&mut self, _: &mut Ctx<'_, u64, u64>, _: NodeIdx) {}
}

/// Lockstep passes for a deterministic world and names the first differing event otherwise.
#[test]
fn lockstep_catches_nondeterminism() {
    let make = || toy_sim(20, 3, SimDuration::from_millis(50), 4);
    let digest = check_lockstep(make(), make(), SimTime::from_secs(3)).unwrap();
    let mut single = make();
    single.run_until(SimTime::from_secs(3));
    assert_eq!(digest, single.digest());

    let leaky = || {
        let mut s = Sim::new(Leaky, 4, 1, fixed(5));
        s.schedule_local(NodeIdx(0), SimTime::ZERO, 0);
        s
    };
    let d = check_lockstep(leaky(), leaky(), SimTime::from_secs(10)).unwrap_err();
    let (a, b) = (d.a.unwrap(), d.b.unwrap());
    // Event 0 (the first timer) is the same in both runs; what it sent differs, so the first
    // delivery (event 1) is the first differing event.
    assert_eq!(d.index, 1, "{d}");
    assert_eq!((a.kind, b.kind), ("deliver", "deliver"));
    assert!(a.fingerprint != b.fingerprint || a.node != b.node);
    assert!(d.to_string().contains("event 1"), "{d}");
}

fn fault_strategy() -> impl Strategy<Value = (u64, Fault)> {
    let node = (0u32..6).prop_map(NodeIdx);
    let fault = prop_oneof![
        node.clone().prop_map(Fault::Crash),
        node.clone().prop_map(Fault::Restart),
        node.clone().prop_map(Fault::Pause),
        node.clone().prop_map(Fault::Resume),
        Just(Fault::Heal),
        Just(Fault::Partition(vec![vec![NodeIdx(0), NodeIdx(1), NodeIdx(2)]])),
        (node.clone(), 0u64..2_000_000)
            .prop_map(|(node, d)| Fault::ClogIn { node, duration: SimDuration(d) }),
        (node, -1_000_000i64..1_000_000, -1000i32..1000)
            .prop_map(|(node, o, d)| Fault::SetClock { node, clock: NodeClock::new(o, d) }),
    ];
    (0u64..5_000_000, fault)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Any fault schedule runs without panics and gives the same digest twice.
    #[test]
    fn random_fault_schedules_stay_deterministic(faults in proptest::collection::vec(fault_strategy(), 0..20)) {
        let run = || {
            let mut s = toy_sim(6, 2, SimDuration::from_millis(50), 9);
            for (at, f) in &faults {
                s.schedule_fault(SimTime(*at), f.clone());
            }
            s.run_until(SimTime::from_secs(6));
            s.digest()
        };
        prop_assert_eq!(run(), run());
    }
}

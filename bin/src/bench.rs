//! `smesh bench ...`: benchmarks that print ratios measured in one run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use spacemesh_sim::toy::toy_sim;
use spacemesh_sim::{SimDuration, SimTime};

use crate::rss_bytes;

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Scheduler throughput and per-node overhead with trivial nodes.
    SimEngine(SimEngineArgs),
    /// PoET sequential work against raw chained SHA-256, and proof verification time.
    Poet(crate::bench_poet::PoetArgs),
    /// ed25519 single vs batch verification, ECVRF prove/verify, BinCDF evaluation.
    Verify(crate::bench_verify::VerifyArgs),
    /// PoST label rate on one core against scrypt-jane's and the ChaCha20/8 floor.
    PostInit(crate::bench_post::PostInitArgs),
    /// PoST initialization onto disk (`smesh post init`'s path) against the same labels in memory.
    PostInitDisk(crate::bench_post::PostInitDiskArgs),
    /// PoST scan rate on one core against raw AES-128 per nonce group.
    PostProve(crate::bench_post::PostProveArgs),
    /// Wallet spends executed per second on one core against bare signature verification.
    TxExec(crate::bench_tx::TxExecArgs),
    /// Requests per second and p99 latency of a running node's API (JSON gateway and gRPC).
    Api(crate::bench_api::ApiArgs),
    /// PoST proving from the data files on disk (the node's path) against the same labels in
    /// memory.
    PostProveDisk(crate::bench_post_disk::PostProveDiskArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SimEngineArgs {
    /// Node counts to measure.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1000u32, 10000])]
    nodes: Vec<u32>,
    /// Simulated seconds per run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Target from the issue: events per second on one core with trivial nodes.
const TARGET_EVENTS_PER_SECOND: f64 = 5e6;
/// Target from the issue: engine bytes per node.
const TARGET_BYTES_PER_NODE: f64 = 4096.0;

pub(crate) fn run(cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::SimEngine(args) => sim_engine(&args),
        BenchCommand::Poet(args) => crate::bench_poet::run(&args),
        BenchCommand::Verify(args) => crate::bench_verify::run(&args),
        BenchCommand::PostInit(args) => crate::bench_post::post_init(&args),
        BenchCommand::PostInitDisk(args) => crate::bench_post::post_init_disk(&args),
        BenchCommand::PostProve(args) => crate::bench_post::post_prove(&args),
        BenchCommand::TxExec(args) => crate::bench_tx::run(&args),
        BenchCommand::Api(args) => crate::bench_api::run(&args),
        BenchCommand::PostProveDisk(args) => crate::bench_post_disk::post_prove_disk(&args),
    }
}

fn sim_engine(args: &SimEngineArgs) -> Result<ExitCode> {
    out!(
        "sim-engine: toy world, each node sends 64 B to 8 random peers every 100 ms; latency 1-10 ms"
    );
    out!(
        "{:>7} {:>12} {:>10} {:>12} {:>14} {:>10} {:>10} {:>13} {:>12}",
        "nodes",
        "events",
        "wall s",
        "events/s",
        "vs 5M target",
        "vs heap",
        "speed",
        "engine B/node",
        "RSS B/node"
    );
    for &n in &args.nodes {
        let before = rss_bytes();
        let mut sim = toy_sim(n, 8, SimDuration::from_millis(100), args.seed);
        let built = rss_bytes();
        let started = Instant::now();
        sim.run_until(SimTime::from_secs(args.seconds));
        let wall = started.elapsed().as_secs_f64();
        let events = sim.stats().events;
        let eps = events as f64 / wall;
        let bytes_per_node = built.saturating_sub(before) as f64 / f64::from(n);
        let engine_per_node = sim.engine_bytes() as f64 / f64::from(n);
        let heap_eps = bare_heap_events_per_second(events.min(20_000_000), n);
        out!(
            "{:>7} {:>12} {:>10.2} {:>12.0} {:>13.2}x {:>9.2}x {:>9.0}x {:>13.0} {:>12.0}",
            n,
            events,
            wall,
            eps,
            eps / TARGET_EVENTS_PER_SECOND,
            eps / heap_eps,
            args.seconds as f64 / wall,
            engine_per_node,
            bytes_per_node
        );
        if engine_per_node > TARGET_BYTES_PER_NODE {
            out!(
                "  note: {engine_per_node:.0} engine bytes per node is above the {TARGET_BYTES_PER_NODE} byte target"
            );
        }
        drop(sim);
    }
    out!(
        "'engine B/node' is the engine's own state (Sim::engine_bytes; target at most 4096); 'RSS B/node' is the resident memory the whole toy simulation added per node."
    );
    out!(
        "'vs heap' is the engine against a bare BinaryHeap push+pop of (time, seq) pairs with the same queue depth: the physical floor of any heap-based scheduler."
    );
    Ok(ExitCode::SUCCESS)
}

/// Events per second of a bare binary heap holding `depth` pending (time, seq) entries, each pop
/// followed by one push: the cost floor of a heap scheduler.
fn bare_heap_events_per_second(events: u64, depth: u32) -> f64 {
    let mut heap: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::with_capacity(depth as usize * 10);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for seq in 0..u64::from(depth) * 8 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        heap.push(Reverse((x % 10_000, seq)));
    }
    let started = Instant::now();
    let mut seq = u64::from(depth) * 8;
    for _ in 0..events {
        let Reverse((t, _)) = heap.pop().expect("never empty");
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        seq += 1;
        heap.push(Reverse((t + 1 + x % 10_000, seq)));
    }
    std::hint::black_box(&heap);
    events as f64 / started.elapsed().as_secs_f64()
}

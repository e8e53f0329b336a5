//! `smesh bench poet`: the PoET sequential work against the physical floor of its own cost, a
//! chain of dependent SHA-256 hashes, measured in the same run; and the time to verify a proof.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, ensure};
use clap::Args;
use serde_json::json;
use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};
use spacemesh_core::poet::{PoetProof, SequentialWork, verify};

#[derive(Debug, Args)]
pub(crate) struct PoetArgs {
    /// Leaves per measurement.
    #[arg(long, default_value_t = 20_000)]
    leaves: u64,
    /// Hashes per leaf (mainnet: 400).
    #[arg(long, default_value_t = 400)]
    depth: u32,
    /// Leaves a proof opens (mainnet: 150).
    #[arg(long, default_value_t = 150)]
    t: usize,
    /// Leaves per timed chunk: the three kinds of work alternate chunk by chunk and the fastest
    /// chunk of each counts, which keeps a shared machine's noise out of the ratio.
    #[arg(long, default_value_t = 500)]
    chunk: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// The goal: sequential work at 90% of the raw chained-hash rate or better.
const TARGET_RATIO: f64 = 0.9;

/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// `n` dependent SHA-256 of 32-byte values through the hashing API.
fn digest_chain(mut x: [u8; 32], n: u64) -> [u8; 32] {
    for _ in 0..n {
        x = Sha256::digest(x).into();
    }
    x
}

/// `n` dependent SHA-256 of 32-byte values as bare compressions of one padded block: the
/// latency floor.
fn compress_chain(x: [u8; 32], n: u64) -> [u8; 32] {
    let mut block = GenericArray::default();
    block[..32].copy_from_slice(&x);
    block[32] = 0x80;
    block[62] = 0x01;
    for _ in 0..n {
        let mut state = IV;
        sha2::compress256(&mut state, std::slice::from_ref(&block));
        for (k, w) in state.iter().enumerate() {
            block[4 * k..4 * k + 4].copy_from_slice(&w.to_be_bytes());
        }
    }
    block[..32].try_into().expect("32 bytes")
}

fn seconds(f: impl FnOnce()) -> f64 {
    let started = Instant::now();
    f();
    started.elapsed().as_secs_f64()
}

pub(crate) fn run(args: &PoetArgs) -> Result<ExitCode> {
    ensure!(args.depth >= 1 && args.chunk >= 1, "depth and chunk must be positive");
    ensure!(args.leaves >= args.t as u64, "need at least t leaves to prove");
    ensure!(
        digest_chain([1; 32], 3) == compress_chain([1; 32], 3),
        "the two chains must compute the same hashes"
    );
    let chunk = args.chunk.min(args.leaves);
    let hashes = chunk * u64::from(args.depth);
    let statement = [0x42; 32];
    let (mut work_s, mut digest_s, mut compress_s) = (f64::MAX, f64::MAX, f64::MAX);
    let mut work = SequentialWork::new(statement, args.depth);
    let mut seed = [7; 32];
    while work.leaves() < args.leaves {
        let n = chunk.min(args.leaves - work.leaves());
        if n == chunk {
            digest_s = digest_s.min(seconds(|| seed = digest_chain(black_box(seed), hashes)));
            compress_s = compress_s.min(seconds(|| seed = compress_chain(black_box(seed), hashes)));
        }
        let s = seconds(|| {
            work.step(n);
        });
        if n == chunk {
            work_s = work_s.min(s);
        }
    }
    black_box(seed);
    let finish_started = Instant::now();
    let merkle = work.finish(args.t)?;
    let finish_s = finish_started.elapsed().as_secs_f64();
    let proof = PoetProof { merkle, leaves: args.leaves };
    let mut verify_s = f64::MAX;
    for _ in 0..5 {
        let s = seconds(|| verify(&proof, &statement, args.t, args.depth).expect("honest proof"));
        verify_s = verify_s.min(s);
    }
    let rate = |s: f64| chunk as f64 / s;
    let (work_rate, digest_rate, compress_rate) = (rate(work_s), rate(digest_s), rate(compress_s));
    let vs_digest = work_rate / digest_rate;
    let vs_floor = work_rate / compress_rate;
    if args.json {
        let value = json!({
            "leaves": args.leaves,
            "chunk": chunk,
            "depth": args.depth,
            "t": args.t,
            "work_leaves_per_s": work_rate,
            "digest_chain_leaves_per_s": digest_rate,
            "compress_chain_leaves_per_s": compress_rate,
            "ns_per_hash_floor": compress_s * 1e9 / hashes as f64,
            "ratio_vs_digest_chain": vs_digest,
            "ratio_vs_compress_chain": vs_floor,
            "target_ratio": TARGET_RATIO,
            "finish_ms": finish_s * 1e3,
            "verify_ms": verify_s * 1e3,
            "proof_nodes": proof.merkle.proof_nodes.len(),
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        out!(
            "poet: {} leaves at nesting depth {}, fastest {}-leaf chunk of each kind",
            args.leaves,
            args.depth,
            chunk
        );
        out!("{:<34} {:>12} {:>10}", "", "leaves/s", "ratio");
        out!("{:<34} {:>12.0} {:>10}", "SequentialWork::step", work_rate, "");
        out!("{:<34} {:>12.0} {:>9.3}x", "raw chain, Sha256::digest", digest_rate, vs_digest);
        out!("{:<34} {:>12.0} {:>9.3}x", "raw chain, bare compression", compress_rate, vs_floor);
        out!(
            "floor: {:.1} ns per dependent hash; target ratio {TARGET_RATIO} against the floor",
            compress_s * 1e9 / hashes as f64
        );
        out!(
            "proof of t={}: finish {:.2} ms, {} proof nodes, verify {:.2} ms",
            args.t,
            finish_s * 1e3,
            proof.merkle.proof_nodes.len(),
            verify_s * 1e3
        );
        if vs_floor < TARGET_RATIO {
            out!("  note: {vs_floor:.3} is below the {TARGET_RATIO} target");
        }
    }
    Ok(ExitCode::SUCCESS)
}

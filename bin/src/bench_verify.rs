//! `smesh bench verify`: signature and VRF throughput, and the eligibility math's cost.
//!
//! Everything is measured in the same run, so the ratios (batch against single ed25519
//! verification, VRF against ed25519) hold on whatever machine runs it.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use clap::Args;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use spacemesh_core::eligibility::hare::committee_count;
use spacemesh_core::eligibility::{Fixed, bin_cdf};
use spacemesh_core::vrf::{self, VrfSignature};

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Batch sizes for ed25519 batch verification.
    #[arg(long, value_delimiter = ',', default_values_t = vec![64usize, 256, 1024])]
    batches: Vec<usize>,
    /// Wall-clock budget per measurement, in milliseconds.
    #[arg(long, default_value_t = 500)]
    budget_ms: u64,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// Runs `op` (which does `per_call` operations) until `budget` has passed; operations per second.
fn rate(budget: Duration, per_call: usize, mut op: impl FnMut()) -> f64 {
    op(); // warm caches and lazy tables
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < budget || calls < 3 {
        op();
        calls += 1;
    }
    (calls * per_call as u64) as f64 / started.elapsed().as_secs_f64()
}

/// A deterministic signing key per index.
fn key(i: usize) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed[8] = 0x5e;
    SigningKey::from_bytes(&seed)
}

struct Signed {
    messages: Vec<Vec<u8>>,
    signatures: Vec<Signature>,
    keys: Vec<VerifyingKey>,
}

fn signed(count: usize) -> Signed {
    let mut s = Signed { messages: Vec::new(), signatures: Vec::new(), keys: Vec::new() };
    for i in 0..count {
        let k = key(i);
        // A typical gossip payload size (a hare message is ~200 bytes).
        let msg: Vec<u8> =
            (0..200u32).map(|j| (i as u32).wrapping_mul(31).wrapping_add(j) as u8).collect();
        s.signatures.push(k.sign(&msg));
        s.keys.push(k.verifying_key());
        s.messages.push(msg);
    }
    s
}

pub(crate) fn run(args: &VerifyArgs) -> Result<ExitCode> {
    ensure!(!args.batches.is_empty() && args.batches.iter().all(|&b| b > 0), "empty batch size");
    let budget = Duration::from_millis(args.budget_ms);
    let largest = *args.batches.iter().max().expect("non-empty");
    let set = signed(largest.max(64));

    // ed25519, one at a time (strict, as the node's verifier does).
    let mut i = 0;
    let single = rate(budget, 1, || {
        let n = i % set.keys.len();
        let ok = set.keys[n].verify_strict(&set.messages[n], &set.signatures[n]).is_ok();
        assert!(black_box(ok));
        i += 1;
    });

    let mut batches = Vec::new();
    for &size in &args.batches {
        let msgs: Vec<&[u8]> = set.messages[..size].iter().map(Vec::as_slice).collect();
        let per_sig = rate(budget, size, || {
            let ok = ed25519_dalek::verify_batch(&msgs, &set.signatures[..size], &set.keys[..size]);
            assert!(black_box(ok).is_ok());
        });
        batches.push((size, per_sig));
    }

    // ECVRF prove and verify on the hare message size.
    let seed = [7u8; 32];
    let node_id = key_bytes(&seed);
    let alpha = *b"\x08\xde\xad\xbe\xef\x0c\x82\x38\x01\x00";
    let mut n = 0u8;
    let prove = rate(budget, 1, || {
        let mut m = alpha;
        m[9] = n;
        black_box(vrf::prove(&seed, &m));
        n = n.wrapping_add(1);
    });
    let proofs: Vec<([u8; 10], VrfSignature)> = (0..=255u8)
        .map(|k| {
            let mut m = alpha;
            m[9] = k;
            (m, vrf::prove(&seed, &m))
        })
        .collect();
    let mut k = 0;
    let verify = rate(budget, 1, || {
        let (m, p) = &proofs[k % proofs.len()];
        assert!(black_box(vrf::verify(&node_id, m, p)));
        k += 1;
    });

    // BinCDF on a hare-like draw (n = 1000 weight units, p = 50 / 10^6) and on a large weight
    // near its mean (n = 2^30, mean 409,600), where the continued fraction does real work.
    let p_hare = Fixed::div_u64(50, 1_000_000)?;
    let mut x = 0;
    let cdf_hare = rate(budget, 1, || {
        black_box(bin_cdf(1000, p_hare, x % 3).expect("in range"));
        x += 1;
    });
    let p_heavy = Fixed::div_u64(400, 1 << 20)?;
    let cdf_heavy = rate(budget, 1, || {
        black_box(bin_cdf(1 << 30, p_heavy, 409_600 + x % 7).expect("in range"));
        x += 1;
    });
    let mut j = 0;
    let counts = rate(budget, 1, || {
        let (_, p) = &proofs[j % proofs.len()];
        black_box(committee_count(20_000, 50, 1_000_000, p).expect("in range"));
        j += 1;
    });

    let report = json!({
        "ed25519_single_verify_per_s": single,
        "ed25519_batch": batches.iter().map(|&(size, r)| json!({
            "size": size, "verify_per_s": r, "speedup_vs_single": r / single,
        })).collect::<Vec<Value>>(),
        "vrf_prove_per_s": prove,
        "vrf_verify_per_s": verify,
        "vrf_verify_cost_in_ed25519_verifies": single / verify,
        "bincdf_hare_per_s": cdf_hare,
        "bincdf_heavy_per_s": cdf_heavy,
        "hare_committee_count_per_s": counts,
    });
    if args.json {
        out!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    out!("verify: one core, {} ms per measurement", args.budget_ms);
    out!("{:<44} {:>12} {:>10}", "operation", "per second", "µs each");
    let row = |name: &str, r: f64| out!("{name:<44} {r:>12.0} {:>10.2}", 1e6 / r);
    row("ed25519 verify_strict, single", single);
    for &(size, r) in &batches {
        row(&format!("ed25519 verify_batch of {size} (per signature)"), r);
    }
    row("ECVRF prove", prove);
    row("ECVRF verify", verify);
    row("BinCDF(n=1000, p=5e-5, x<3)", cdf_hare);
    row("BinCDF(n=2^30, p=400/2^20, x=mean)", cdf_heavy);
    row("hare committee_count (w=2e4 of 1e6, C=50)", counts);
    for &(size, r) in &batches {
        out!("batch of {size}: {:.2}x the single-verify rate", r / single);
    }
    out!("one ECVRF verify costs {:.1} ed25519 verifies", single / verify);
    Ok(ExitCode::SUCCESS)
}

/// The ed25519 public key (node id) of a seed.
fn key_bytes(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

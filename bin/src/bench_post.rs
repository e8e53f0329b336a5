//! `smesh bench post-init` and `smesh bench post-prove`: PoST label and scan throughput on one
//! core, each against a floor measured in the same run.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use spacemesh_core::post::scrypt::chacha20_8;
use spacemesh_core::post::{Blake3Pow, Labeler, PostConfig, PostMetadata, Prover, ScryptParams};
use spacemesh_core::{Hash32, NodeId};

/// Reference CPU rate of scrypt-jane C at N = 8192 on this machine type (proofs.md section 5).
const REFERENCE_LABELS_PER_SECOND: f64 = 400.0;

#[derive(Debug, Args)]
pub(crate) struct PostInitArgs {
    /// Labels to compute.
    #[arg(long, default_value_t = 400)]
    labels: u64,
    /// scrypt N.
    #[arg(long, default_value_t = 8192)]
    scrypt_n: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PostInitDiskArgs {
    /// Labels to compute, in memory and then on disk.
    #[arg(long, default_value_t = 1 << 20)]
    labels: u64,
    /// scrypt N (the fastnet and local presets use 2; mainnet 8192).
    #[arg(long, default_value_t = 2)]
    scrypt_n: u32,
    /// Directory for the data (default: a new temporary directory, removed afterwards).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PostProveArgs {
    /// MiB of labels to scan per nonce count.
    #[arg(long, default_value_t = 256)]
    mib: usize,
    /// Nonce counts per pass (multiples of 16).
    #[arg(long, value_delimiter = ',', default_values_t = vec![16u32, 64, 288])]
    nonces: Vec<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// CPU seconds this thread has used (user + system), from /proc; 0 where unavailable. On a shared
/// machine, rates over CPU time are steadier than over wall time.
fn thread_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else { return 0.0 };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Wall and CPU seconds of `f`.
fn timed(f: impl FnOnce()) -> (f64, f64) {
    let (wall, cpu) = (Instant::now(), thread_cpu_seconds());
    f();
    (wall.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu)
}

/// The time a rate is computed over: CPU time when /proc gives a usable figure, else wall time.
fn basis((wall, cpu): (f64, f64)) -> f64 {
    if cpu >= 0.1 { cpu } else { wall }
}

pub(crate) fn post_init(args: &PostInitArgs) -> Result<ExitCode> {
    let params = ScryptParams::new(args.scrypt_n, 1, 1).context("--scrypt-n")?;
    if args.labels == 0 {
        bail!("--labels must be positive");
    }
    let mut labeler = Labeler::new([7; 32], params);
    black_box(labeler.label(0)); // touch the scratch memory once
    black_box(labeler.label4(0));
    // The initializer's path: four labels at a time.
    let label_time = timed(|| {
        for i in (0..args.labels).step_by(4) {
            black_box(labeler.label4(i));
        }
    });
    let labels = args.labels.next_multiple_of(4);
    let labels_per_second = labels as f64 / basis(label_time);
    let wall_labels_per_second = labels as f64 / label_time.0;
    // One label at a time (the verifier's path).
    let single = args.labels.div_ceil(4);
    let single_time = timed(|| {
        for i in 0..single {
            black_box(labeler.label(i));
        }
    });
    let single_labels_per_second = single as f64 / basis(single_time);

    // The compute floor: 2·N·r BlockMix calls of 2r ChaCha20/8 cores each, in one dependent chain.
    let blocks_per_label = 4 * u64::from(params.n());
    let blocks = blocks_per_label * args.labels;
    let mut state = [0x9e37_79b9u32; 16];
    let chacha_time = timed(|| {
        for _ in 0..blocks {
            chacha20_8(&mut state);
        }
        black_box(state);
    });
    let block_seconds = basis(chacha_time) / blocks as f64;
    let floor_labels_per_second = 1.0 / (block_seconds * blocks_per_label as f64);

    if args.json {
        out!(
            "{}",
            json!({
                "bench": "post-init",
                "scrypt_n": params.n(),
                "labels": args.labels,
                "labels_per_second": labels_per_second,
                "wall_labels_per_second": wall_labels_per_second,
                "single_labels_per_second": single_labels_per_second,
                "vs_reference_400": labels_per_second / REFERENCE_LABELS_PER_SECOND,
                "chacha_ns_per_block": block_seconds * 1e9,
                "chacha_floor_labels_per_second": floor_labels_per_second,
                "vs_chacha_floor": labels_per_second / floor_labels_per_second,
            })
        );
    } else {
        out!(
            "post-init: one thread, scrypt-jane N={} r=1 p=1, {labels} labels four at a time (the initializer's path)",
            params.n()
        );
        out!(
            "  {labels_per_second:.0} labels/s per CPU second ({wall_labels_per_second:.0} per wall second) = {:.2}x the 400 labels/s reference (scrypt-jane C)",
            labels_per_second / REFERENCE_LABELS_PER_SECOND
        );
        out!(
            "  one label at a time (verifier path): {single_labels_per_second:.0} labels/s = {:.2}x the reference",
            single_labels_per_second / REFERENCE_LABELS_PER_SECOND
        );
        out!(
            "  ChaCha20/8 core {:.1} ns/block -> floor {floor_labels_per_second:.0} labels/s ({blocks_per_label} blocks/label); labels reach {:.2}x of it",
            block_seconds * 1e9,
            labels_per_second / floor_labels_per_second
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `smesh bench post-init-disk`: the initializer into memory, then the same labels written to
/// PoST data files with checkpoints (`smesh post init`'s path), one thread, wall time.
pub(crate) fn post_init_disk(args: &PostInitDiskArgs) -> Result<ExitCode> {
    use spacemesh_core::post::Initializer;
    use spacemesh_runtime_real::post_data::PostDataInit;
    let params = ScryptParams::new(args.scrypt_n, 1, 1).context("--scrypt-n")?;
    if args.labels == 0 {
        bail!("--labels must be positive");
    }
    let metadata = PostMetadata {
        node_id: NodeId([7; 32]),
        commitment_atx_id: Hash32([9; 32]),
        num_units: 1,
        labels_per_unit: args.labels,
    };
    let mut memory = Vec::with_capacity(args.labels as usize * 16);
    let mut init = Initializer::new(metadata.commitment(), args.labels, params);
    let start = Instant::now();
    while !init.step(1024, &mut |_, label| memory.extend_from_slice(label)).is_complete() {}
    let memory_secs = start.elapsed().as_secs_f64();
    black_box(&memory);
    let temp = tempfile::tempdir().context("a temporary directory")?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().join("post"));
    if dir.exists() {
        bail!("{} exists: the bench writes fresh data", dir.display());
    }
    let start = Instant::now();
    let mut data = PostDataInit::open(&dir, metadata, params, 1 << 26)?;
    let mut checkpointed = Instant::now();
    while !data.step(1024)?.is_complete() {
        if checkpointed.elapsed().as_secs() >= 2 {
            data.checkpoint()?;
            checkpointed = Instant::now();
        }
    }
    data.checkpoint()?;
    let disk_secs = start.elapsed().as_secs_f64();
    let written = std::fs::read(dir.join(spacemesh_runtime_real::post_data::data_file(0)))?;
    if written != memory {
        bail!("the labels on disk differ from the labels in memory");
    }
    let (mem_rate, disk_rate) = (args.labels as f64 / memory_secs, args.labels as f64 / disk_secs);
    if args.json {
        out!(
            "{}",
            json!({
                "bench": "post-init-disk", "scrypt_n": params.n(), "labels": args.labels,
                "memory_labels_per_second": mem_rate, "disk_labels_per_second": disk_rate,
                "disk_vs_memory": disk_rate / mem_rate,
            })
        );
    } else {
        out!(
            "post-init-disk: one thread, scrypt N={}, {} labels ({} MiB)",
            params.n(),
            args.labels,
            (args.labels * 16) >> 20
        );
        out!("  into memory:            {mem_rate:.0} labels/s");
        out!(
            "  onto disk, checkpointed: {disk_rate:.0} labels/s = {:.2}x the in-memory rate",
            disk_rate / mem_rate
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Raw AES-128 GiB/s over `data` (per CPU second), 64 blocks per call.
fn aes_gib_per_second(data: &[u8]) -> f64 {
    let aes = Aes128::new(&[3u8; 16].into());
    let mut blocks = vec![aes::Block::default(); 64];
    let (reps, time) = repeated(|| {
        for chunk in data.chunks(64 * 16) {
            for (b, l) in blocks.iter_mut().zip(chunk.chunks_exact(16)) {
                b.copy_from_slice(l);
            }
            aes.encrypt_blocks(&mut blocks);
            black_box(&blocks);
        }
    });
    reps as f64 * data.len() as f64 / f64::from(1u32 << 30) / basis(time)
}

/// Runs `f` until it has taken at least half a second (CPU time has 10 ms ticks); returns the
/// repetitions and the summed wall and CPU seconds.
fn repeated(mut f: impl FnMut()) -> (u32, (f64, f64)) {
    let (mut reps, mut wall, mut cpu) = (0, 0.0, 0.0);
    while basis((wall, cpu)) < 0.5 && reps < 1000 {
        let (w, c) = timed(&mut f);
        reps += 1;
        wall += w;
        cpu += c;
    }
    (reps, (wall, cpu))
}

pub(crate) fn post_prove(args: &PostProveArgs) -> Result<ExitCode> {
    let bytes = args.mib.max(1) << 20;
    let mut data = vec![0u8; bytes];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for chunk in data.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    let gib = bytes as f64 / f64::from(1u32 << 30);

    // Mainnet parameters with 4 units: at K1 = 26 over 2^34 labels, the scanned part holds far
    // fewer than K2 good labels per nonce, so every pass scans everything.
    let pow = Blake3Pow::default();
    let meta = PostMetadata {
        node_id: NodeId([1; 32]),
        commitment_atx_id: Hash32([2; 32]),
        num_units: 4,
        labels_per_unit: 1 << 32,
    };
    let mut rows = Vec::new();
    for &nonces in &args.nonces {
        let cfg = PostConfig {
            nonces_per_pass: nonces,
            pow_difficulty: [0xff; 32],
            ..PostConfig::mainnet()
        };
        let mut provers = Vec::new();
        for _ in 0..1000 {
            provers.push(Prover::new(&[5; 32], &cfg, &meta, 0, &pow).context("prover")?);
            if provers.len() * bytes >= 1 << 30 {
                break;
            }
        }
        // Measured right before each scan, so that both see the same machine load.
        let aes_gib_s = aes_gib_per_second(&data);
        let mut results = Vec::new();
        let (_, scan_time) = repeated(|| {
            if let Some(mut prover) = provers.pop() {
                results.push(prover.feed(0, &data));
            }
        });
        let scans = results.len();
        let found = results.into_iter().collect::<Result<Vec<_>, _>>().context("scan")?;
        let found = found.iter().any(Option::is_some);
        let gib_s = scans as f64 * gib / basis(scan_time);
        let bound = aes_gib_s / f64::from(nonces / 16);
        rows.push(json!({
            "nonces": nonces,
            "gib_per_second": gib_s,
            "wall_gib_per_second": scans as f64 * gib / scan_time.0,
            "aes_gib_per_second": aes_gib_s,
            "aes_bound_gib_per_second": bound,
            "vs_aes_bound": gib_s / bound,
            "found": found,
        }));
    }
    if args.json {
        out!("{}", json!({"bench": "post-prove", "gib": gib, "rows": rows}));
    } else {
        out!("post-prove: one thread, {gib:.2} GiB of labels (rates per CPU second)");
        out!(
            "{:>7} {:>10} {:>10} {:>14} {:>10}",
            "nonces",
            "GiB/s",
            "AES GiB/s",
            "AES/groups",
            "ratio"
        );
        let num = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
        for r in &rows {
            out!(
                "{:>7} {:>10.3} {:>10.2} {:>14.3} {:>9.2}x",
                r["nonces"].to_string(),
                num(&r["gib_per_second"]),
                num(&r["aes_gib_per_second"]),
                num(&r["aes_bound_gib_per_second"]),
                num(&r["vs_aes_bound"])
            );
        }
        out!(
            "'AES/groups' is raw AES-128 throughput divided by the 16-nonce groups: the scan's compute bound."
        );
    }
    Ok(ExitCode::SUCCESS)
}

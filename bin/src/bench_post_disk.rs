//! `smesh bench post-prove-disk`: PoST proving from the data files on disk (the node's path)
//! against proving over the same labels held in memory, one thread, wall time.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use spacemesh_core::crypto::Ed25519Verifier;
use spacemesh_core::job::{Job, JobEnv, JobResult, PostData};
use spacemesh_core::post::{self, Blake3Pow, PostConfig, Proof, ScryptParams};
use spacemesh_core::{Hash32, NodeId};
use spacemesh_runtime_real::post_data::{DEFAULT_LABELS_PER_FILE, PostDataInit, data_file};
use spacemesh_runtime_real::post_labels::DiskLabels;

#[derive(Debug, Args)]
pub(crate) struct PostProveDiskArgs {
    /// Labels of the identity (16 bytes each).
    #[arg(long, default_value_t = 1 << 24)]
    labels: u64,
    /// scrypt N used to write them (proving does not depend on it).
    #[arg(long, default_value_t = 2)]
    scrypt_n: u32,
    /// Nonces per pass (multiples of 16): 16 scans fastest, so it shows the disk most; mainnet
    /// uses 288.
    #[arg(long, default_value_t = 16)]
    nonces: u32,
    /// Labels per data file.
    #[arg(long, default_value_t = DEFAULT_LABELS_PER_FILE)]
    labels_per_file: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Seconds `f` takes, and what it returns.
fn timed<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed().as_secs_f64(), out)
}

/// Asks the kernel to drop the cached pages of the data files, so that the next proof reads
/// them from the device (the files are synced by the last checkpoint, so their pages are clean).
fn drop_cached(dir: &Path, files: u64) -> Result<()> {
    use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
    for n in 0..files {
        let path = dir.join(data_file(n));
        let file = std::fs::File::open(&path).with_context(|| path.display().to_string())?;
        posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED)
            .with_context(|| format!("dropping the cached pages of {}", path.display()))?;
    }
    Ok(())
}

pub(crate) fn post_prove_disk(args: &PostProveDiskArgs) -> Result<ExitCode> {
    let scrypt = ScryptParams::new(args.scrypt_n, 1, 1).context("--scrypt-n")?;
    if args.labels == 0 || args.labels_per_file == 0 {
        bail!("--labels and --labels-per-file must be positive");
    }
    let config = PostConfig {
        labels_per_unit: args.labels,
        min_units: 1,
        max_units: 1,
        pow_difficulty: [0xff; 32],
        scrypt,
        nonces_per_pass: args.nonces,
        ..PostConfig::mainnet()
    };
    config.validate().context("--labels and --nonces give no valid PoST config")?;
    let data = PostData {
        node_id: NodeId([7; 32]),
        commitment_atx: Hash32([9; 32]),
        num_units: 1,
        config,
    };
    let temp = tempfile::tempdir().context("a temporary directory")?;
    let dir = temp.path().join("post");
    progress!("writing {} labels to {}", args.labels, dir.display());
    let (init_secs, init) = timed(|| -> Result<()> {
        let mut init = PostDataInit::open(&dir, data.metadata(), scrypt, args.labels_per_file)?;
        while !init.step(1 << 16)?.is_complete() {}
        init.checkpoint()?;
        Ok(())
    });
    init?;
    let files = args.labels.div_ceil(args.labels_per_file);
    let memory: Vec<u8> = (0..files)
        .map(|n| std::fs::read(dir.join(data_file(n))))
        .collect::<std::io::Result<Vec<_>>>()?
        .concat();

    let challenge = Hash32([5; 32]);
    let pow = Blake3Pow::default();
    let (memory_secs, in_memory) =
        timed(|| post::prove(&challenge.0, &config, &data.metadata(), &memory, &pow));
    let in_memory = in_memory.context("proving in memory")?;
    drop(memory);
    let labels = DiskLabels::new(dir.clone());
    let env = JobEnv { verifier: &Ed25519Verifier, labels: &labels };
    let job = Job::PostProve { data: Box::new(data), challenge };
    let from_disk = |what: &str| -> Result<(f64, Proof)> {
        let (secs, result) = timed(|| job.run(&env));
        match result {
            JobResult::PostProved(Ok(proof)) => Ok((secs, proof)),
            other => bail!("proving from disk ({what}): {other:?}"),
        }
    };
    let (warm_secs, warm) = from_disk("page cache warm")?;
    drop_cached(&dir, files)?;
    let (cold_secs, cold) = from_disk("page cache dropped")?;
    if warm != in_memory || cold != in_memory {
        bail!("the proof from disk differs from the proof in memory");
    }
    // Every pass but the last scans all labels; the last stops at the label that completed
    // the proof (its largest index).
    let passes = u64::from(in_memory.nonce / args.nonces) + 1;
    let bits = post::proof::required_bits(args.labels);
    let indices = post::proof::unpack_indices(&in_memory.indices, bits, config.k2 as usize)
        .context("unpacking the proof's indices")?;
    let last = indices.iter().max().copied().unwrap_or(0);
    let scanned = (passes - 1) * args.labels + last + 1;
    let gib = (scanned * 16) as f64 / f64::from(1u32 << 30);
    let mib = (args.labels * 16) as f64 / f64::from(1u32 << 20);
    if args.json {
        out!(
            "{}",
            json!({
                "bench": "post-prove-disk", "labels": args.labels, "mib": mib,
                "nonces_per_pass": args.nonces, "passes": passes, "gib_scanned": gib,
                "init_seconds": init_secs, "memory_seconds": memory_secs,
                "disk_warm_seconds": warm_secs, "disk_cold_seconds": cold_secs,
                "memory_gib_per_second": gib / memory_secs,
                "disk_warm_gib_per_second": gib / warm_secs,
                "disk_cold_gib_per_second": gib / cold_secs,
                "warm_vs_memory": warm_secs / memory_secs, "cold_vs_memory": cold_secs / memory_secs,
            })
        );
    } else {
        out!(
            "post-prove-disk: one thread, {} labels ({mib:.0} MiB in {files} file(s)), {} nonces per pass; the proof took {passes} pass(es) and {:.0} MiB of labels scanned",
            args.labels,
            args.nonces,
            gib * 1024.0
        );
        out!(
            "  in memory:                     {memory_secs:.3} s ({:.2} GiB/s)",
            gib / memory_secs
        );
        out!(
            "  from disk, page cache warm:    {warm_secs:.3} s ({:.2} GiB/s) = {:.2}x the in-memory time",
            gib / warm_secs,
            warm_secs / memory_secs
        );
        out!(
            "  from disk, page cache dropped: {cold_secs:.3} s ({:.2} GiB/s) = {:.2}x the in-memory time",
            gib / cold_secs,
            cold_secs / memory_secs
        );
        out!("  (same proof all three ways; writing the data took {init_secs:.1} s)");
    }
    Ok(ExitCode::SUCCESS)
}

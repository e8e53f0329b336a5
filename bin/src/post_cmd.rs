//! `smesh post ...`: PoST tools.

use std::process::ExitCode;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use spacemesh_core::activation::golden_atx;
use spacemesh_core::crypto::Signer;
use spacemesh_core::post::{PostMetadata, ScryptParams, label};
use spacemesh_core::{Hash32, NodeId};
use spacemesh_runtime_real::config::{ConfigFile, Preset};
use spacemesh_runtime_real::keyfile;
use spacemesh_runtime_real::post_data::{DEFAULT_LABELS_PER_FILE, PostDataInit};

#[derive(Debug, Subcommand)]
pub(crate) enum PostCommand {
    /// Print the full 32-byte label of one index as hex (the stored label is its first half).
    Label(LabelArgs),
    /// Initialize PoST data in a directory: resumable after a crash or Ctrl-C, with a progress
    /// bar (rate and ETA); run the same command again to resume.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Directory of the PoST data (default: post in the node data directory --data-dir, where
    /// a node with that data directory looks for it).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Space units to initialize.
    #[arg(long)]
    units: u32,
    /// PoST parameters of this preset (labels per unit, scrypt N): mainnet, testnet, fastnet
    /// or local.
    #[arg(long, default_value = "local")]
    preset: Preset,
    /// The smeshing identity, 64 hex digits (default: the identity key of the node data
    /// directory --data-dir, created there if it has none).
    #[arg(long)]
    node_id: Option<String>,
    /// Node data directory whose identity is used (default: ~/.smesh/<preset>).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The commitment ATX, 64 hex digits (default: the golden ATX of --genesis-time).
    #[arg(long)]
    commitment_atx: Option<String>,
    /// The network's genesis time, Unix seconds (gives the golden ATX).
    #[arg(long)]
    genesis_time: Option<u64>,
    /// Labels per data file.
    #[arg(long, default_value_t = DEFAULT_LABELS_PER_FILE)]
    labels_per_file: u64,
}

#[derive(Debug, Args)]
pub(crate) struct LabelArgs {
    /// The 32-byte commitment, blake3(node_id ‖ commitment_atx_id), as 64 hex digits.
    #[arg(long)]
    commitment: String,
    /// The label index.
    #[arg(long)]
    index: u64,
    /// scrypt N (a power of two, at least 2); r = p = 1.
    #[arg(long, default_value_t = 8192)]
    scrypt_n: u32,
}

pub(crate) fn run(cmd: PostCommand) -> Result<ExitCode> {
    match cmd {
        PostCommand::Label(args) => print_label(&args),
        PostCommand::Init(args) => init(&args),
    }
}

fn print_label(args: &LabelArgs) -> Result<ExitCode> {
    let text = args.commitment.strip_prefix("0x").unwrap_or(&args.commitment);
    let bytes = hex::decode(text).context("--commitment is not valid hex")?;
    let Ok(commitment) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!("--commitment must be 32 bytes (64 hex digits), got {} bytes", bytes.len());
    };
    let params = ScryptParams::new(args.scrypt_n, 1, 1).context("--scrypt-n")?;
    out!("{}", hex::encode(label(&commitment, args.index, &params)));
    Ok(ExitCode::SUCCESS)
}

/// Most labels computed between checks of the clock and the stop flag.
const STEP_LABELS_MAX: u64 = 1 << 16;
/// Longest time between checkpoints.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

fn init(args: &InitArgs) -> Result<ExitCode> {
    let settings = {
        let mut file = ConfigFile { preset: Some(args.preset), ..ConfigFile::default() };
        file.smeshing.enabled = Some(false);
        file.resolve(None, Some(args.genesis_time.unwrap_or(0)))?
    };
    let post = settings.post;
    if args.units < post.min_units || args.units > post.max_units {
        bail!(
            "--units {}: the {} preset allows {}..={} units",
            args.units,
            args.preset.name(),
            post.min_units,
            post.max_units
        );
    }
    if args.labels_per_file == 0 {
        bail!("--labels-per-file must be positive");
    }
    let data_dir = args.data_dir.clone().unwrap_or_else(|| args.preset.default_data_dir());
    let dir = args.dir.clone().unwrap_or_else(|| data_dir.join("post"));
    let node_id = match &args.node_id {
        Some(hex) => NodeId::from_hex(hex).context("--node-id must be 64 hex digits")?,
        None => {
            let (seed, _) = keyfile::load_or_create(&data_dir.join("keys/identity.key"))?;
            // The identity key does not depend on the network: any genesis gives the same key.
            Signer::from_seed(seed, settings.genesis).node_id()
        }
    };
    let commitment_atx = match (&args.commitment_atx, args.genesis_time) {
        (Some(hex), _) => {
            Hash32::from_hex(hex).context("--commitment-atx must be 64 hex digits")?
        }
        (None, Some(_)) => golden_atx(&settings.genesis),
        (None, None) => bail!(
            "say which ATX the data commits to: --commitment-atx HEX, or --genesis-time T for the network's golden ATX"
        ),
    };
    let metadata = PostMetadata {
        node_id,
        commitment_atx_id: commitment_atx,
        num_units: args.units,
        labels_per_unit: post.labels_per_unit,
    };
    let mut data = PostDataInit::open(&dir, metadata, post.scrypt, args.labels_per_file)?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_for_stop(Arc::clone(&stop));
    let start = data.progress();
    let bar = indicatif::ProgressBar::new(start.total).with_position(start.done);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} labels ({percent}%), {per_sec}, ETA {eta}",
        )
        .expect("a valid template"),
    );
    // Complete data says so at the end; a resumed search past the labels, in the loop.
    if start.done > 0 && start.done < start.total {
        bar.println(format!("resuming at label {} of {}", start.done, start.total));
    }
    let began = Instant::now();
    let mut checkpointed = Instant::now();
    let mut progress = start;
    // Steps of about a tenth of a second, so that Ctrl-C and the bar answer promptly at any
    // label cost (N = 2 labels take microseconds, N = 8192 milliseconds).
    let mut step = 16u64;
    let mut searching = false;
    while !progress.is_complete() && !stop.load(Ordering::Relaxed) {
        if let Some(searched) = progress.searched {
            if !searching {
                searching = true;
                show_search(&bar, progress.total, searched);
            }
            bar.set_position(searched);
        } else {
            bar.set_position(progress.done);
        }
        let t = Instant::now();
        progress = data.step(step)?;
        let secs = t.elapsed().as_secs_f64().max(1e-6);
        step = ((step as f64 * 0.1 / secs) as u64).clamp(4, STEP_LABELS_MAX);
        if checkpointed.elapsed() >= CHECKPOINT_EVERY {
            data.checkpoint()?;
            checkpointed = Instant::now();
        }
    }
    // Also where a search past the labels for the VRF nonce stands, or the nonce it found.
    data.checkpoint()?;
    bar.finish_and_clear();
    let labels = progress.done - start.done;
    let secs = began.elapsed().as_secs_f64();
    let rate = labels as f64 / secs.max(1e-9);
    if !progress.is_complete() {
        progress!("stopped after {progress} ({rate:.0} labels/s); run the same command to resume");
        return Ok(ExitCode::from(130));
    }
    out!(
        "PoST data complete in {}: {} labels for identity {node_id} ({} units), VRF nonce {}; {labels} labels this run at {rate:.0} labels/s",
        dir.display(),
        progress.total,
        args.units,
        data.vrf_nonce().map_or("none".into(), |n| n.to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// Turns `bar` into a count of labels searched past the `total` labels for a VRF nonce (none
/// of them qualified), `searched` so far.
fn show_search(bar: &indicatif::ProgressBar, total: u64, searched: u64) {
    // Said off a terminal too, where the bar is hidden.
    bar.suspend(|| {
        progress!(
            "none of the {total} labels is below the VRF difficulty (about one identity in \
             3,000): computing labels past them, storing none, until one is ({} on average)",
            total / 8
        )
    });
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {pos} labels searched past the data, {per_sec}",
        )
        .expect("a valid template"),
    );
    bar.reset();
    bar.set_position(searched);
}

/// Sets `stop` on SIGINT or SIGTERM (a thread with its own small runtime).
fn watch_for_stop(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        rt.block_on(crate::node_cmd::stop_signal());
        stop.store(true, Ordering::Relaxed);
    });
}

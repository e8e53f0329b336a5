//! `smesh sim ...`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use spacemesh_scenarios::{Adversary, DEFAULT_SCENARIO, RunParams, RunReport, repro_line};
use spacemesh_sim::determinism::check_lockstep;

use crate::peak_rss_bytes;

#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// List the scenarios.
    List,
    /// List the byzantine agent catalogue (`--adversary NAME[:N]` on run, explore, shrink).
    Adversaries,
    /// Run one scenario with one seed.
    Run(RunArgs),
    /// Run a scenario twice in lockstep (and once more in a fresh process) and compare traces.
    CheckDeterminism(DeterminismArgs),
    /// Run many seeds of a scenario (in parallel processes with --jobs): a table, the failing
    /// seeds with their first violation and a repro line, and a JSON summary.
    Explore(crate::explore::ExploreArgs),
    /// Combine the JSON summaries of `explore` shards.
    Merge(crate::explore::MergeArgs),
    /// Minimize a failing run (its length and fault plan) and write a replay file.
    Shrink(crate::shrink::ShrinkArgs),
    /// Run a replay file written by `shrink`: exit 0 when it gives the recorded violation and
    /// trace digest.
    Replay(crate::shrink::ReplayArgs),
    /// Hunt every planted bug with the scenario that should catch it (needs a build with
    /// `--features canary`); fails if one goes uncaught.
    Canary(crate::canary_cmd::CanaryArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Scenario name (see `smesh sim list`).
    #[arg(long, default_value = DEFAULT_SCENARIO)]
    scenario: String,
    /// Number of nodes (scenario default when omitted).
    #[arg(long)]
    nodes: Option<u32>,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Length in layers (scenario default when omitted).
    #[arg(long)]
    layers: Option<u32>,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
    /// Write the event trace to this file: one JSON object per line (see the README).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Write a self-contained HTML report to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Skip the per-step invariant checks of every node (faster; checkers still run).
    #[arg(long)]
    no_invariants: bool,
    /// After the run, serve one honest node's final state through the node's API: public gRPC
    /// on this address, the JSON gateway with the network dashboard on the next port (Ctrl-C
    /// stops).
    #[arg(long, value_name = "HOST:PORT")]
    serve: Option<std::net::SocketAddr>,
    /// The node `--serve` serves (default: the first honest one).
    #[arg(long, value_name = "N", requires = "serve")]
    serve_node: Option<u32>,
    /// Switch on a planted bug (see `smesh sim canary --list`; needs a build with
    /// `--features canary`).
    #[arg(long)]
    canary: Option<String>,
    /// Also draw a fault mix (network, clock skews, clogs, crashes, disk faults) from the seed
    /// within the scenario's bounds; the run then ends with its liveness phase.
    #[arg(long)]
    swarm: bool,
    /// Cast adversaries from the byzantine catalogue: `NAME` or `NAME:N` (N slots; repeat the
    /// flag for several; see `smesh sim adversaries`).
    #[arg(long = "adversary", value_name = "NAME[:N]", value_parser = Adversary::parse_request)]
    adversary: Vec<(Adversary, u32)>,
}

#[derive(Debug, Args)]
pub(crate) struct DeterminismArgs {
    /// Scenario name.
    #[arg(long, default_value = DEFAULT_SCENARIO)]
    scenario: String,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of nodes (scenario default when omitted).
    #[arg(long)]
    nodes: Option<u32>,
    /// Length in layers (scenario default when omitted).
    #[arg(long)]
    layers: Option<u32>,
    /// Skip the comparison with a run in a fresh process.
    #[arg(long)]
    in_process_only: bool,
    /// Also draw a fault mix from the seed (see `sim run --swarm`).
    #[arg(long)]
    swarm: bool,
    /// Cast adversaries from the byzantine catalogue: `NAME` or `NAME:N` (N slots; repeat the
    /// flag for several; see `smesh sim adversaries`).
    #[arg(long = "adversary", value_name = "NAME[:N]", value_parser = Adversary::parse_request)]
    adversary: Vec<(Adversary, u32)>,
}

pub(crate) fn run(cmd: SimCommand) -> Result<ExitCode> {
    match cmd {
        SimCommand::List => list(),
        SimCommand::Adversaries => adversaries(),
        SimCommand::Run(args) => run_one(args),
        SimCommand::CheckDeterminism(args) => check_determinism(args),
        SimCommand::Explore(args) => crate::explore::explore(args),
        SimCommand::Merge(args) => crate::explore::merge(args),
        SimCommand::Canary(args) => crate::canary_cmd::run(args),
        SimCommand::Shrink(args) => crate::shrink::shrink(args),
        SimCommand::Replay(args) => crate::shrink::replay(args),
    }
}

fn list() -> Result<ExitCode> {
    for s in spacemesh_scenarios::all() {
        out!(
            "{:<20} {:>6} nodes {:>4} layers  {}",
            s.name(),
            s.default_nodes(),
            s.default_layers(),
            s.description()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_one(args: RunArgs) -> Result<ExitCode> {
    let scenario = spacemesh_scenarios::find(&args.scenario)?;
    if let Some(name) = &args.canary {
        crate::canary_cmd::activate(name)?;
    }
    let params = RunParams {
        nodes: args.nodes,
        seed: args.seed,
        layers: args.layers,
        record_trace: args.trace.is_some(),
        record_timeline: args.report.is_some(),
        check_invariants: !args.no_invariants,
        swarm: args.swarm,
        adversaries: args.adversary.clone(),
        ..RunParams::default()
    };
    let started = Instant::now();
    let mut run = scenario.build(&params)?;
    run_with_progress(&mut run, started);
    if let Some(path) = &args.trace {
        crate::trace_file::write(path, run.sim.trace_records())?;
    }
    let report = run.judge();
    let wall = started.elapsed().as_secs_f64();
    let mut json = report_json(&report, wall);
    let mut repro = json["repro"].as_str().unwrap_or("").to_string();
    if args.swarm {
        repro += " --swarm";
    }
    repro += &adversary_flags(&args.adversary);
    if let Some(name) = &args.canary {
        json["canary"] = Value::from(name.as_str());
        repro += &format!(" --canary {name}");
    }
    json["repro"] = Value::from(repro);
    json["swarm"] = Value::from(args.swarm);
    json["fault_episodes"] = Value::from(report.plan.episodes.len());
    json["cast"] = serde_json::to_value(&report.plan.cast)?;
    if let Some(path) = &args.report {
        std::fs::write(path, crate::html::report(&json, report.timeline.as_ref()))
            .with_context(|| format!("writing report {}", path.display()))?;
    }
    if args.json {
        out!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_summary(&report, &json);
    }
    if let Some(at) = args.serve {
        crate::sim_serve::serve(&run, at, args.serve_node)?;
    }
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The `--adversary` flags that ask for `requests` again (for repro lines).
pub(crate) fn adversary_flags(requests: &[(Adversary, u32)]) -> String {
    requests.iter().map(|(a, n)| format!(" --adversary {}:{n}", a.name())).collect()
}

/// The byzantine agent catalogue, as `smesh sim adversaries` prints it.
fn adversaries() -> Result<ExitCode> {
    for a in Adversary::ALL {
        out!("{:<20} {}", a.name(), a.description());
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs to the end, showing progress on stderr: simulated time, speed, events and resident
/// memory. On a terminal one line is rewritten at every percent; elsewhere (a CI log, a file)
/// a line is written at every tenth, so that a long run shows how far it got and how its
/// memory grows.
fn run_with_progress(run: &mut spacemesh_scenarios::Run, started: Instant) {
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let end = run.end.as_micros();
    for pct in 1..=100u64 {
        run.sim.run_until(spacemesh_sim::SimTime(end * pct / 100));
        if !terminal && pct % 10 != 0 {
            continue;
        }
        let wall = started.elapsed().as_secs_f64().max(1e-9);
        let sim = run.sim.now().as_secs_f64();
        let line = format!(
            "{pct:>3}%  {sim:.0}/{:.0} simulated s  {:.1}x real time  {} events  {} MiB",
            end as f64 / 1e6,
            sim / wall,
            run.sim.stats().events,
            crate::rss_bytes() >> 20
        );
        let _ = if terminal {
            write!(std::io::stderr(), "\r{line} ")
        } else {
            writeln!(std::io::stderr(), "{line}")
        };
    }
    let scheduled = run.end;
    run.settle();
    if run.end > scheduled {
        let _ = write!(
            std::io::stderr(),
            "{}      liveness phase: {:.0} more simulated s until the stack converged",
            if terminal { "\r" } else { "" },
            (run.end.as_micros() - scheduled.as_micros()) as f64 / 1e6
        );
        if !terminal {
            let _ = writeln!(std::io::stderr());
        }
    }
    if terminal {
        let _ = writeln!(std::io::stderr());
    }
}

/// The JSON object of DESIGN.md's `sim run --json`.
pub(crate) fn report_json(r: &RunReport, wall_seconds: f64) -> Value {
    let checks: serde_json::Map<String, Value> = r
        .checks
        .iter()
        .map(|(name, c)| {
            let status = if c.passed { "passed" } else { "failed" };
            (name.clone(), json!({ "status": status, "passed": c.passed, "detail": c.detail }))
        })
        .collect();
    let wall = wall_seconds.max(1e-9);
    json!({
        "scenario": r.scenario,
        "seed": r.seed,
        "nodes": r.nodes,
        "layers": r.layers,
        "sim_seconds": r.sim_seconds,
        "wall_seconds": wall_seconds,
        "speed": r.sim_seconds / wall,
        "events": r.events,
        "events_per_second": r.events as f64 / wall,
        "peak_rss_bytes": peak_rss_bytes(),
        "digest": r.digest,
        "checks": checks,
        "violations": r.violations,
        "passed": r.passed(),
        "vacuous": r.vacuous(),
        "repro": repro_line(&r.scenario, r.nodes, r.seed, r.layers),
        "stats": r.stats,
        "coverage": r.coverage,
    })
}

fn print_summary(r: &RunReport, j: &Value) {
    // A closed stdout (`| head`) ends the summary quietly instead of panicking.
    let _ = write_summary(&mut std::io::stdout().lock(), r, j);
}

fn write_summary(out: &mut impl Write, r: &RunReport, j: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "{} seed {}: {} nodes, {} layers, {:.0}s simulated in {:.2}s ({:.0}x real time), {} events ({:.2} M/s), peak RSS {} MiB",
        r.scenario,
        r.seed,
        r.nodes,
        r.layers,
        r.sim_seconds,
        j["wall_seconds"].as_f64().unwrap_or(0.0),
        j["speed"].as_f64().unwrap_or(0.0),
        r.events,
        j["events_per_second"].as_f64().unwrap_or(0.0) / 1e6,
        peak_rss_bytes() / (1 << 20)
    )?;
    writeln!(out, "digest {}", r.digest)?;
    for (name, c) in &r.checks {
        writeln!(out, "  {} {:<24} {}", if c.passed { "ok  " } else { "FAIL" }, name, c.detail)?;
    }
    for v in r.violations.iter().take(10) {
        writeln!(
            out,
            "  violation [{}] t={:.1}s node={:?}: {}",
            v.check, v.time_s, v.node, v.message
        )?;
    }
    if r.vacuous() {
        writeln!(
            out,
            "vacuous: every other check passed, but this seed's draws never took the run through \
             the path the scenario is for (see `coverage`); try other seeds"
        )?;
    }
    if !r.passed() {
        writeln!(out, "repro: {}", j["repro"].as_str().unwrap_or(""))?;
    }
    Ok(())
}

fn check_determinism(args: DeterminismArgs) -> Result<ExitCode> {
    let scenario = spacemesh_scenarios::find(&args.scenario)?;
    let params = RunParams {
        nodes: args.nodes,
        seed: args.seed,
        layers: args.layers,
        record_trace: false,
        record_timeline: false,
        check_invariants: false,
        swarm: args.swarm,
        adversaries: args.adversary.clone(),
        ..RunParams::default()
    };
    let mut a = scenario.build(&params)?;
    let mut b = scenario.build(&params)?;
    let (nodes, layers) = (a.nodes, a.layers);
    // The fresh process runs on the other core while this one runs the lockstep pair.
    let fresh = if args.in_process_only {
        None
    } else {
        let exe = std::env::current_exe().context("locating the smesh binary")?;
        let child = std::process::Command::new(exe)
            .args(["sim", "run", "--json", "--no-invariants", "--scenario", &args.scenario])
            .args([
                "--seed",
                &args.seed.to_string(),
                "--nodes",
                &nodes.to_string(),
                "--layers",
                &layers.to_string(),
            ])
            .args(args.swarm.then_some("--swarm"))
            .args(adversary_flags(&args.adversary).split_whitespace())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .context("running the scenario in a fresh process")?;
        Some(child)
    };
    let started = Instant::now();
    // To the scheduled end, then through the liveness phase a step at a time: both runs must
    // decide alike whether to go on.
    let mut checked = check_lockstep(&mut a.sim, &mut b.sim, a.end);
    while checked.is_ok() && a.extend() {
        if !b.extend() || a.end != b.end {
            bail!("the two runs' liveness phases differ at {:?}", a.end);
        }
        checked = check_lockstep(&mut a.sim, &mut b.sim, a.end);
    }
    let digest = match checked {
        Ok(d) => hex(&d),
        Err(divergence) => {
            if let Some(mut child) = fresh {
                let _ = child.kill();
                let _ = child.wait();
            }
            out!("NOT deterministic: {divergence}");
            out!(
                "repro: smesh sim check-determinism --scenario {} --seed {}",
                args.scenario,
                args.seed
            );
            return Ok(ExitCode::from(1));
        }
    };
    out!(
        "in-process: two lockstep runs agree on every event; digest {digest} ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
    let Some(child) = fresh else {
        return Ok(ExitCode::SUCCESS);
    };
    let output = child.wait_with_output().context("waiting for the fresh process")?;
    let other: Value =
        serde_json::from_slice(&output.stdout).context("reading the fresh process's JSON")?;
    let Some(other_digest) = other["digest"].as_str() else {
        bail!("the fresh process printed no digest")
    };
    if other_digest != digest {
        out!(
            "NOT deterministic across processes: in-process {digest}, fresh process {other_digest}"
        );
        return Ok(ExitCode::from(1));
    }
    out!("fresh process: same digest {digest}");
    Ok(ExitCode::SUCCESS)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

//! `smesh sim canary`: proves that the checks catch bugs. Each planted bug (core's
//! `canary` module, compiled in with `--features canary`) is hunted with the scenario whose
//! checks should catch it: seeds 1, 2, ... each in its own process, until a run fails. The same
//! seed then runs once more without the bug (the control): the canary is caught only when the
//! control passes, so that the failure is the canary's and not the scenario's (a seed whose
//! control fails too is counted and the hunt goes on). A canary not caught within
//! `--seeds-max` seeds fails the command.

use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use spacemesh_core::canary::{self, Canary};

use crate::explore::{SeedResult, SeedRun};

#[derive(Debug, Args)]
pub(crate) struct CanaryArgs {
    /// Most seeds tried per canary.
    #[arg(long, default_value_t = 500)]
    seeds_max: u64,
    /// Canaries hunted at once, each run in its own process.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Hunt only these canaries (repeatable).
    #[arg(long = "only")]
    only: Vec<String>,
    /// List the canaries and the scenario each is hunted with, then exit.
    #[arg(long)]
    list: bool,
    /// Print a JSON summary instead of the table.
    #[arg(long)]
    json: bool,
}

/// Where a canary is hunted: a scenario whose checks judge the property the bug breaks, at a
/// size small enough to run many seeds.
#[derive(Debug, Clone, Copy)]
struct Hunt {
    scenario: &'static str,
    nodes: u32,
    layers: u32,
}

/// The hunting ground of each canary.
fn hunt(c: Canary) -> Hunt {
    let h = |scenario, nodes, layers| Hunt { scenario, nodes, layers };
    match c {
        Canary::HareDropsLastProposal => h("hare", 40, 32),
        Canary::HareEquivocationUnproven => h("hare-equivocation", 40, 32),
        Canary::DoubleAtxUnproven => h("double-atx", 40, 40),
        Canary::BeaconArrivalOrder => h("epochs", 40, 32),
        Canary::GarbageUnpenalized => h("gossip", 40, 30),
        // After the heal each side's ballots of the split reach the other side late; a late
        // joiner no longer shows it (sync feeds it old layers before it tallies newer ones),
        // and `late-joiner` passed 80 seeds with the canary on.
        Canary::TortoiseIgnoresLateBallots => h("partition-heal", 40, 40),
        Canary::EligibilityOverclaim => h("hare", 40, 32),
        Canary::CertifierThresholdStrict => h("hare", 40, 32),
        Canary::ActiveSetKeepsMalicious => h("double-atx", 40, 40),
        Canary::HareSeatOverclaim => h("hare", 40, 32),
    }
}

/// The canary called `name`, or an error that lists the names.
fn parse(name: &str) -> Result<Canary> {
    Canary::from_name(name).with_context(|| {
        let names: Vec<&str> = Canary::ALL.iter().map(|c| c.name()).collect();
        format!("no canary is called {name:?}; canaries: {}", names.join(", "))
    })
}

/// Checks that `name` is a canary this build can switch on.
pub(crate) fn check_available(name: &str) -> Result<()> {
    parse(name)?;
    if !canary::built() {
        bail!(canary::CanaryError::NotBuilt);
    }
    Ok(())
}

/// Switches the canary `name` on for this process.
pub(crate) fn activate(name: &str) -> Result<()> {
    Ok(canary::activate(parse(name)?)?)
}

/// How the hunt for one canary ended.
#[derive(Debug, Clone, Serialize)]
struct Outcome {
    canary: &'static str,
    scenario: &'static str,
    nodes: u32,
    layers: u32,
    /// Seeds run with the canary on.
    seeds_run: u64,
    /// The first seed whose run failed.
    caught_at: Option<u64>,
    /// The failing run's first violation and repro line.
    violation: Option<String>,
    repro: Option<String>,
    /// Seeds that failed with the canary and without it (not counted as caught).
    controls_failed: u64,
    wall_seconds: f64,
}

impl Outcome {
    fn caught(&self) -> bool {
        self.caught_at.is_some()
    }
}

fn chase(exe: &Path, c: Canary, seeds_max: u64) -> Outcome {
    let started = Instant::now();
    let Hunt { scenario, nodes, layers } = hunt(c);
    let planted =
        SeedRun { scenario, nodes, layers, canary: Some(c.name()), swarm: false, adversaries: &[] };
    let mut out = Outcome {
        canary: c.name(),
        scenario,
        nodes,
        layers,
        seeds_run: 0,
        caught_at: None,
        violation: None,
        repro: None,
        controls_failed: 0,
        wall_seconds: 0.0,
    };
    for seed in 1..=seeds_max {
        out.seeds_run = seed;
        let r: SeedResult = planted.run(exe, seed);
        if r.passed {
            continue;
        }
        let control = SeedRun { canary: None, ..planted };
        if !control.run(exe, seed).passed {
            out.controls_failed += 1;
            continue;
        }
        out.caught_at = Some(seed);
        out.violation = r.first_violation;
        out.repro = Some(r.repro);
        break;
    }
    out.wall_seconds = started.elapsed().as_secs_f64();
    out
}

pub(crate) fn run(args: CanaryArgs) -> Result<ExitCode> {
    if args.list {
        for c in Canary::ALL {
            let h = hunt(c);
            out!("{:<32} {} --nodes {} --layers {}", c.name(), h.scenario, h.nodes, h.layers);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !canary::built() {
        bail!(canary::CanaryError::NotBuilt);
    }
    if args.jobs == 0 || args.seeds_max == 0 {
        bail!("--jobs and --seeds-max must be at least 1");
    }
    let chosen: Vec<Canary> = if args.only.is_empty() {
        Canary::ALL.to_vec()
    } else {
        args.only.iter().map(|n| parse(n)).collect::<Result<_>>()?
    };
    let exe = std::env::current_exe().context("locating the smesh binary")?;
    let started = Instant::now();
    let queue = Arc::new(Mutex::new(chosen.iter().rev().copied().collect::<Vec<Canary>>()));
    let (tx, rx) = mpsc::channel();
    let mut workers = Vec::new();
    for _ in 0..args.jobs.min(chosen.len()) {
        let (queue, tx, exe) = (queue.clone(), tx.clone(), exe.clone());
        let seeds_max = args.seeds_max;
        workers.push(std::thread::spawn(move || {
            while let Some(c) = queue.lock().expect("queue").pop() {
                if tx.send(chase(&exe, c, seeds_max)).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    if !args.json {
        out!(
            "{:<30}  {:<18}  {:>6}  {:>8}  {:>7}  first violation",
            "canary",
            "scenario",
            "seeds",
            "controls",
            "wall s"
        );
    }
    let mut outcomes = Vec::new();
    for o in rx {
        if !args.json {
            out!(
                "{:<30}  {:<18}  {:>6}  {:>8}  {:>7.1}  {}",
                o.canary,
                o.scenario,
                o.caught_at.map_or(format!(">{}", o.seeds_run), |s| s.to_string()),
                o.controls_failed,
                o.wall_seconds,
                o.violation.as_deref().map_or("NOT CAUGHT".into(), |v| clip(v, 160))
            );
        }
        outcomes.push(o);
    }
    for w in workers {
        let _ = w.join();
    }
    outcomes.sort_by_key(|o| Canary::from_name(o.canary));
    let caught = outcomes.iter().filter(|o| o.caught()).count();
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "canaries": outcomes.len(),
                "caught": caught,
                "wall_seconds": started.elapsed().as_secs_f64(),
                "outcomes": outcomes,
            }))?
        );
    } else {
        out!(
            "{caught} of {} canaries caught ({:.0} s)",
            outcomes.len(),
            started.elapsed().as_secs_f64()
        );
        for o in &outcomes {
            match &o.repro {
                Some(repro) => out!("  {}: {repro}", o.canary),
                None => out!(
                    "  {}: NOT CAUGHT in {} seeds of {} ({} failed without the canary too)",
                    o.canary,
                    o.seeds_run,
                    o.scenario,
                    o.controls_failed
                ),
            }
        }
    }
    Ok(if caught == outcomes.len() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_canary_has_a_hunting_ground_that_exists() {
        for c in Canary::ALL {
            let h = hunt(c);
            let scenario = spacemesh_scenarios::find(h.scenario).expect("a scenario");
            assert!(h.nodes >= 10 && h.layers >= 8, "{c}: a real run");
            assert_eq!(scenario.name(), h.scenario);
        }
    }

    #[test]
    fn unknown_names_list_the_canaries() {
        let e = parse("no-such").unwrap_err().to_string();
        assert!(e.contains("hare-drops-last-proposal"), "{e}");
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("abcdef", 3), "abc...");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("ééé", 2), "éé...");
    }
}

//! `smesh sim shrink` and `smesh sim replay`: a failing run made small, and run again.
//!
//! A run's random decisions are its seed (everything inside the nodes and the network draws
//! from the seed's tree) and its fault plan (the scenario's own episodes and the swarm's, plain
//! data). The shrinker keeps the seed, which pins the rest, and minimizes what a person has to
//! read: the run length, the fault plan and the cast of adversaries. A candidate counts as the
//! same failure when the target check (the one the original run failed first) fails again with
//! exactly the same first violation; without an adversary, of the same shape: the same words,
//! numbers aside (a run without one adversary judges one node more, so "104 eligibilities used,
//! 67 slots declared" and "99 ..., 64 ..." are the same failure; a cut run may fail a check
//! that judges the end in the same words for another reason, so cuts need the exact words). It
//! 1. cuts the run short (`stop_at_layer`, a prefix of the full run: same events up to the cut)
//!    at the earliest layer that still shows the violation (binary search), then
//! 2. removes fault episodes by delta debugging (ddmin: halves, then quarters, ... of the
//!    episodes; an episode, such as a crash and its restart, is removed whole), then
//! 3. removes the adversaries the failure does not need, one cast member at a time,
//! 4. cuts the length again, since fewer faults may fail sooner,
//!
//! and writes a replay file (JSON) with the scenario, size, seed, canary, plan, cut, and the
//! violation and trace digest expected. `replay` runs the file and exits 0 only when it gives the
//! same violation and the same digest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use spacemesh_scenarios::{FaultPlan, RunParams, RunReport, Scenario};

/// The format tag of replay files.
const FORMAT: &str = "smesh-replay/1";
/// Most candidate runs of one shrink.
const TRIALS_MAX: u32 = 200;

#[derive(Debug, Args)]
pub(crate) struct ShrinkArgs {
    /// Scenario name.
    #[arg(long)]
    scenario: String,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// Number of nodes (scenario default when omitted).
    #[arg(long)]
    nodes: Option<u32>,
    /// Length in layers (scenario default when omitted).
    #[arg(long)]
    layers: Option<u32>,
    /// The run drew a swarm fault mix.
    #[arg(long)]
    swarm: bool,
    /// The run had this planted bug switched on.
    #[arg(long)]
    canary: Option<String>,
    /// The run cast these adversaries (`sim run --adversary`); the cast is kept whole.
    #[arg(long = "adversary", value_name = "NAME[:N]", value_parser = spacemesh_scenarios::Adversary::parse_request)]
    adversary: Vec<(spacemesh_scenarios::Adversary, u32)>,
    /// Where to write the replay file.
    #[arg(long, default_value = "shrunk.replay.json")]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// A file written by `smesh sim shrink`.
    file: PathBuf,
    /// Print the run's JSON report instead of a summary.
    #[arg(long)]
    json: bool,
    /// Also write the event trace as JSON lines (see `sim run --trace`).
    #[arg(long)]
    trace: Option<PathBuf>,
}

/// What a replay must show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Expect {
    check: String,
    violation: String,
    digest: String,
    events: u64,
}

/// A replay file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Replay {
    format: String,
    scenario: String,
    nodes: u32,
    layers: u32,
    seed: u64,
    canary: Option<String>,
    stop_at_layer: Option<u32>,
    plan: FaultPlan,
    expect: Expect,
    /// The run it was shrunk from: simulated seconds and fault episodes.
    original_sim_seconds: f64,
    original_episodes: usize,
}

/// The check name under which a run that panicked (a broken node invariant) fails.
const PANIC: &str = "panic";

/// How one run ended: its report, or the message of the panic that stopped it.
type Outcome = std::result::Result<RunReport, String>;

/// One run, in this process (an error only when the run cannot be built), writing its trace to
/// `trace` when given.
fn trial(scenario: &dyn Scenario, params: &RunParams, trace: Option<&Path>) -> Result<Outcome> {
    let params = RunParams { record_trace: trace.is_some(), ..params.clone() };
    let mut run = scenario.build(&params)?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        run.run_to_end();
        if let Some(path) = trace {
            crate::trace_file::write(path, run.sim.trace_records())?;
        }
        Ok::<_, anyhow::Error>(run.finish())
    }));
    let outcome = match outcome {
        Ok(written) => Ok(written?),
        Err(panic) => Err(panic),
    };
    Ok(outcome.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    }))
}

/// A violation's words with every number masked: what two runs' violations must share to
/// count as the same failure.
fn shape(violation: &str) -> String {
    let mut out = String::with_capacity(violation.len());
    let mut in_number = false;
    for c in violation.chars() {
        if c.is_ascii_digit() || (in_number && c == '.') {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// The first violation of `check` in an outcome.
fn first_of(o: &Outcome, check: &str) -> Option<String> {
    match o {
        Ok(r) => first_in(r, check),
        Err(panic) => (check == PANIC).then(|| panic.clone()),
    }
}

/// The first violation of `check` in a report.
fn first_in(r: &RunReport, check: &str) -> Option<String> {
    r.violations.iter().find(|v| v.check == check).map(|v| v.message.clone())
}

struct Shrinker<'a> {
    scenario: &'a dyn Scenario,
    base: RunParams,
    check: String,
    violation: String,
    /// The target check's first violation in the last trial that matched.
    found: Option<String>,
    trials: u32,
}

impl Shrinker<'_> {
    /// Whether the run with `plan` cut at `stop` shows the same violation.
    fn same(&mut self, plan: &FaultPlan, stop: Option<u32>) -> bool {
        self.same_as(plan, stop, |found, wanted| found == wanted)
    }

    /// Whether the run with `plan` cut at `stop` shows a violation `matches` accepts.
    fn same_as(
        &mut self,
        plan: &FaultPlan,
        stop: Option<u32>,
        matches: impl Fn(&str, &str) -> bool,
    ) -> bool {
        if self.trials >= TRIALS_MAX {
            return false;
        }
        self.trials += 1;
        let params =
            RunParams { plan: Some(plan.clone()), stop_at_layer: stop, ..self.base.clone() };
        let found = trial(self.scenario, &params, None)
            .ok()
            .and_then(|o| first_of(&o, &self.check))
            .filter(|v| matches(v, &self.violation));
        let same = found.is_some();
        self.found = found;
        progress!(
            "  trial {:>3}: {} episodes, {} adversaries, {} -> {}",
            self.trials,
            plan.episodes.len(),
            plan.cast.members.len(),
            stop.map_or("full length".into(), |s| format!("cut at layer {s}")),
            if same { "same failure" } else { "different" }
        );
        same
    }

    /// The earliest cut in `lo..=hi` that still fails the same way (`hi` is known to).
    fn shortest(&mut self, plan: &FaultPlan, mut lo: u32, mut hi: u32) -> u32 {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.same(plan, Some(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        hi
    }

    /// Drops the adversaries the failure does not need, one member at a time (casts are small).
    fn fewest_adversaries(&mut self, mut plan: FaultPlan, stop: Option<u32>) -> FaultPlan {
        for i in (0..plan.cast.members.len()).rev() {
            let mut candidate = plan.clone();
            candidate.cast.members.remove(i);
            if self.same_as(&candidate, stop, |found, wanted| shape(found) == shape(wanted)) {
                plan = candidate;
                // Later steps look for this run's own words.
                self.violation = self.found.take().expect("a match has a violation");
            }
        }
        plan
    }

    /// ddmin over episodes: the smallest plan found that still fails the same way.
    fn fewest(&mut self, mut plan: FaultPlan, stop: Option<u32>) -> FaultPlan {
        if plan.episodes.is_empty() {
            return plan;
        }
        let none = plan.only(|_| false);
        if self.same(&none, stop) {
            return none;
        }
        let mut n = 2usize;
        while plan.episodes.len() > 1 {
            let len = plan.episodes.len();
            let chunk = len.div_ceil(n);
            let mut reduced = false;
            for start in (0..len).step_by(chunk.max(1)) {
                let candidate = plan.only(|i| i < start || i >= start + chunk);
                if candidate.episodes.len() < len && self.same(&candidate, stop) {
                    plan = candidate;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if chunk <= 1 {
                    break;
                }
                n = (2 * n).min(len);
            }
        }
        plan
    }
}

fn base_params(
    scenario: &dyn Scenario,
    nodes: Option<u32>,
    seed: u64,
    layers: Option<u32>,
) -> (RunParams, u32, u32) {
    let nodes = nodes.unwrap_or(scenario.default_nodes());
    let layers = layers.unwrap_or(scenario.default_layers());
    let params = RunParams {
        nodes: Some(nodes),
        seed,
        layers: Some(layers),
        check_invariants: true,
        ..RunParams::default()
    };
    (params, nodes, layers)
}

pub(crate) fn shrink(args: ShrinkArgs) -> Result<ExitCode> {
    let scenario = spacemesh_scenarios::find(&args.scenario)?;
    if let Some(name) = &args.canary {
        crate::canary_cmd::activate(name)?;
    }
    let started = Instant::now();
    let (base, nodes, layers) = base_params(scenario, args.nodes, args.seed, args.layers);
    let asked =
        RunParams { swarm: args.swarm, adversaries: args.adversary.clone(), ..base.clone() };
    let original = trial(scenario, &asked, None)?;
    let (check, violation, original) = match original {
        Err(panic) => bail!(
            "the original run panicked ({panic}): shrink needs its fault plan from a report; \
             run it with `smesh sim run` and a debugger instead"
        ),
        Ok(r) if r.vacuous() => bail!(
            "{} seed {} is vacuous: its checks of what the nodes did pass, and it only missed \
             the path the scenario is for; a shorter run with fewer faults misses it all the \
             more, so there is nothing to shrink (try another seed)",
            args.scenario,
            args.seed
        ),
        Ok(r) => match r.violations.first() {
            Some(v) => (v.check.clone(), v.message.clone(), r),
            None => {
                bail!("{} seed {} passes every check: nothing to shrink", args.scenario, args.seed)
            }
        },
    };
    progress!(
        "original: {:.0} s simulated, {} fault episodes, first violation [{check}] {violation}",
        original.sim_seconds,
        original.plan.episodes.len()
    );
    let mut s = Shrinker { scenario, base: base.clone(), check, violation, found: None, trials: 0 };
    let full = original.plan.clone();
    let mut stop = Some(s.shortest(&full, 1, layers));
    if stop == Some(layers) && !s.same(&full, stop) {
        // The failure needs the liveness phase after the scheduled end: keep the full length.
        stop = None;
    }
    let plan = s.fewest(full, stop);
    let plan = s.fewest_adversaries(plan, stop);
    if let Some(cut) = stop {
        stop = Some(s.shortest(&plan, 1, cut));
    }
    let params = RunParams { plan: Some(plan.clone()), stop_at_layer: stop, ..base };
    let shrunk = match trial(scenario, &params, None)? {
        Ok(r) => r,
        Err(panic) => bail!("the shrunk run panicked: {panic}"),
    };
    let Some(found) = first_in(&shrunk, &s.check) else {
        bail!("the shrunk run no longer fails [{}]: the failure is not reproducible", s.check);
    };
    let replay = Replay {
        format: FORMAT.into(),
        scenario: args.scenario.clone(),
        nodes,
        layers,
        seed: args.seed,
        canary: args.canary.clone(),
        stop_at_layer: stop,
        plan,
        expect: Expect {
            check: s.check.clone(),
            violation: found,
            digest: shrunk.digest.clone(),
            events: shrunk.events,
        },
        original_sim_seconds: original.sim_seconds,
        original_episodes: original.plan.episodes.len(),
    };
    std::fs::write(&args.out, serde_json::to_string_pretty(&replay)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    out!(
        "shrunk {} seed {} in {} runs ({:.0} s): {:.0} s simulated -> {:.0} s ({:.0}%), {} fault episodes -> {}",
        args.scenario,
        args.seed,
        s.trials + 2,
        started.elapsed().as_secs_f64(),
        original.sim_seconds,
        shrunk.sim_seconds,
        100.0 * shrunk.sim_seconds / original.sim_seconds.max(1e-9),
        replay.original_episodes,
        replay.plan.episodes.len()
    );
    if !original.plan.cast.is_empty() {
        out!(
            "adversaries: {} -> {} ({})",
            original.plan.cast.members.len(),
            replay.plan.cast.members.len(),
            replay
                .plan
                .cast
                .members
                .iter()
                .map(|m| format!("{} x{}", m.adversary.name(), m.slots.len()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out!("[{}] {}", replay.expect.check, replay.expect.violation);
    out!("replay: smesh sim replay {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn read_replay(path: &Path) -> Result<Replay> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let replay: Replay = serde_json::from_str(&text).with_context(|| {
        format!("{} is not a replay file written by `smesh sim shrink`", path.display())
    })?;
    if replay.format != FORMAT {
        bail!("{}: format {:?}, this smesh reads {FORMAT:?}", path.display(), replay.format);
    }
    Ok(replay)
}

pub(crate) fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let r = read_replay(&args.file)?;
    let scenario = spacemesh_scenarios::find(&r.scenario)?;
    if let Some(name) = &r.canary {
        crate::canary_cmd::activate(name)?;
    }
    let (base, _, _) = base_params(scenario, Some(r.nodes), r.seed, Some(r.layers));
    let params = RunParams { plan: Some(r.plan.clone()), stop_at_layer: r.stop_at_layer, ..base };
    let started = Instant::now();
    let report = match trial(scenario, &params, args.trace.as_deref())? {
        Ok(report) => report,
        Err(panic) => bail!("the replayed run panicked: {panic}"),
    };
    let found = first_in(&report, &r.expect.check);
    let same_violation = found.as_deref() == Some(r.expect.violation.as_str());
    let same_digest = report.digest == r.expect.digest;
    if args.json {
        let mut json = crate::sim_cmd::report_json(&report, started.elapsed().as_secs_f64());
        json["replayed"] = serde_json::json!({
            "same_violation": same_violation,
            "same_digest": same_digest,
        });
        out!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        out!(
            "{} seed {} ({} nodes, {:.0} s simulated, {} fault episodes{}): digest {}",
            r.scenario,
            r.seed,
            r.nodes,
            report.sim_seconds,
            r.plan.episodes.len(),
            r.canary.as_deref().map_or(String::new(), |c| format!(", canary {c}")),
            report.digest
        );
        out!(
            "violation [{}]: {}  ({})",
            r.expect.check,
            found.as_deref().unwrap_or("none"),
            if same_violation { "as recorded" } else { "DIFFERS from the recorded one" }
        );
        out!(
            "digest {}",
            if same_digest { "as recorded" } else { "DIFFERS from the recorded one" }
        );
    }
    Ok(if same_violation && same_digest { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn shapes_mask_numbers_only() {
        assert_eq!(
            shape("epoch 2: 104 eligibilities used, 67 slots declared"),
            shape("epoch 2: 99 eligibilities used, 64 slots declared")
        );
        assert_eq!(shape("node 3 verified 4.5 layers"), "node # verified # layers");
        assert_ne!(shape("3 ATXs rejected"), shape("3 ATXs accepted"));
    }
}

//! `smesh sim explore` and `smesh sim merge`: many seeds of one scenario, each in its own
//! process (so a crash or an abort in one run is that seed's failure, not the explorer's), a
//! table as runs finish, and a JSON summary of the failing seeds with their first violation and
//! repro line. `--shard K/N` keeps every N-th seed from the K-th, so that a CI matrix or a batch
//! scheduler spreads one range over machines; `merge` combines their summaries. `--for 8h`
//! stops starting seeds once that long has passed, and with `--seeds A..` (no end) seeds are
//! explored from A on until then, as a fuzzer runs overnight.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spacemesh_scenarios::{DEFAULT_SCENARIO, repro_line};

#[derive(Debug, Args)]
pub(crate) struct ExploreArgs {
    /// Scenario name (see `smesh sim list`).
    #[arg(long, default_value = DEFAULT_SCENARIO)]
    scenario: String,
    /// Seeds: `A..B` (B excluded), `A..=B`, or `A..` (no end: needs `--for`).
    #[arg(long)]
    seeds: String,
    /// Start no seed once this long has passed (`30m`, `8h`, `90s`); runs under way finish.
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::duration_arg::parse_duration)]
    for_secs: Option<u64>,
    /// Runs at once, each in its own process.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Only every N-th seed of the range, from the K-th (`K/N`, K from 0).
    #[arg(long)]
    shard: Option<String>,
    /// Number of nodes (scenario default when omitted).
    #[arg(long)]
    nodes: Option<u32>,
    /// Length in layers (scenario default when omitted).
    #[arg(long)]
    layers: Option<u32>,
    /// Write the JSON summary to this file (for `smesh sim merge`).
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Print the JSON summary instead of the table.
    #[arg(long)]
    json: bool,
    /// Switch on a planted bug in every run (see `smesh sim canary --list`).
    #[arg(long)]
    canary: Option<String>,
    /// Each seed also draws its fault mix within the scenario's bounds (`sim run --swarm`).
    #[arg(long)]
    swarm: bool,
    /// Cast adversaries from the byzantine catalogue in every run (`sim run --adversary`).
    #[arg(long = "adversary", value_name = "NAME[:N]", value_parser = spacemesh_scenarios::Adversary::parse_request)]
    adversary: Vec<(spacemesh_scenarios::Adversary, u32)>,
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// JSON summaries written by `smesh sim explore --summary`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// One seed's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SeedResult {
    pub seed: u64,
    pub passed: bool,
    /// Whether the run failed its `coverage` check alone (`RunReport::vacuous`): every check of
    /// what the nodes did passed, but the seed never took the run through the scenario's path.
    #[serde(default)]
    pub vacuous: bool,
    /// The trace digest (empty when the run produced no report).
    pub digest: String,
    pub events: u64,
    pub wall_seconds: f64,
    /// The first violation, or what went wrong with the process.
    pub first_violation: Option<String>,
    pub repro: String,
    /// Coverage marks of the run (`spacemesh_core::coverage`).
    #[serde(default)]
    pub coverage: BTreeMap<String, u64>,
    /// The run refused its arguments (exit status 2, no report): a usage error that every seed
    /// would repeat, so the exploration stops.
    #[serde(skip)]
    pub refused: bool,
}

/// A coverage mark summed over runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MarkSum {
    /// Runs that went through the path.
    pub runs: usize,
    /// Passes in all.
    pub total: u64,
}

/// What `explore` writes and `merge` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub scenario: String,
    pub nodes: Option<u32>,
    pub layers: Option<u32>,
    pub runs: usize,
    pub passed: usize,
    /// The seeds whose runs were vacuous, in seed order: they count neither as passed nor as
    /// failed.
    #[serde(default)]
    pub vacuous: Vec<u64>,
    /// The failing seeds (vacuous ones aside), in seed order.
    pub failed: Vec<SeedResult>,
    /// Every seed, in seed order.
    pub results: Vec<SeedResult>,
    /// Coverage marks summed over the runs.
    #[serde(default)]
    pub coverage: BTreeMap<String, MarkSum>,
}

impl Summary {
    fn new(
        scenario: &str,
        nodes: Option<u32>,
        layers: Option<u32>,
        mut results: Vec<SeedResult>,
    ) -> Self {
        results.sort_by_key(|r| r.seed);
        let failed: Vec<SeedResult> =
            results.iter().filter(|r| !r.passed && !r.vacuous).cloned().collect();
        let vacuous: Vec<u64> = results.iter().filter(|r| r.vacuous).map(|r| r.seed).collect();
        let mut coverage: BTreeMap<String, MarkSum> = BTreeMap::new();
        for (mark, n) in results.iter().flat_map(|r| r.coverage.iter()) {
            let sum = coverage.entry(mark.clone()).or_default();
            sum.runs += 1;
            sum.total += n;
        }
        debug_assert!(results.iter().all(|r| !(r.passed && r.vacuous)), "a pass is not vacuous");
        Summary {
            scenario: scenario.to_string(),
            nodes,
            layers,
            runs: results.len(),
            passed: results.len() - failed.len() - vacuous.len(),
            vacuous,
            failed,
            results,
            coverage,
        }
    }
}

/// The seeds `--seeds` names, before sharding.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SeedRange {
    /// A range with an end.
    Listed(Vec<u64>),
    /// `A..`: from A on, as long as `--for` allows.
    From(u64),
}

/// Parses `A..B`, `A..=B` or `A..`.
fn parse_range(s: &str) -> Result<SeedRange> {
    if let Some(a) = s.strip_suffix("..")
        && !a.contains("..")
    {
        let a = a.trim().parse().with_context(|| format!("--seeds {s:?}: {a:?} is not a seed"))?;
        return Ok(SeedRange::From(a));
    }
    parse_seeds(s).map(SeedRange::Listed)
}

/// Where the workers take their next seed from: the (sharded) list in order, or every N-th
/// seed on from a start; none once the time allowed has passed.
#[derive(Debug)]
struct SeedSource {
    next: Mutex<Option<SeedCursor>>,
    deadline: Option<Instant>,
}

#[derive(Debug)]
enum SeedCursor {
    /// Seeds left, last first.
    Listed(Vec<u64>),
    /// The next seed and the step to the one after it.
    Open { next: u64, step: u64 },
}

impl SeedSource {
    fn new(range: SeedRange, shard_spec: Option<&str>, deadline: Option<Instant>) -> Result<Self> {
        let cursor = match range {
            SeedRange::Listed(seeds) => {
                let seeds = match shard_spec {
                    Some(spec) => shard(seeds, spec)?,
                    None => seeds,
                };
                SeedCursor::Listed(seeds.into_iter().rev().collect())
            }
            SeedRange::From(start) => {
                if deadline.is_none() {
                    bail!("--seeds {start}.. has no end: give --for (for example --for 8h)");
                }
                let (k, n) = match shard_spec {
                    Some(spec) => parse_shard(spec)?,
                    None => (0, 1),
                };
                let next = start.checked_add(k as u64).context("--seeds: the start overflows")?;
                SeedCursor::Open { next, step: n as u64 }
            }
        };
        Ok(SeedSource { next: Mutex::new(Some(cursor)), deadline })
    }

    /// How many seeds are left, if the range has an end.
    fn len(&self) -> Option<usize> {
        match self.next.lock().expect("seeds").as_ref() {
            Some(SeedCursor::Listed(left)) => Some(left.len()),
            Some(SeedCursor::Open { .. }) => None,
            None => Some(0),
        }
    }

    /// The next seed to run, if any is left and the time allowed has not passed.
    fn take(&self, now: Instant) -> Option<u64> {
        let mut cursor = self.next.lock().expect("seeds");
        if self.deadline.is_some_and(|d| now >= d) {
            *cursor = None;
        }
        let seed = match cursor.as_mut()? {
            SeedCursor::Listed(left) => left.pop(),
            SeedCursor::Open { next, step } => {
                let seed = *next;
                match next.checked_add(*step) {
                    Some(after) => *next = after,
                    None => {
                        *cursor = None;
                        return Some(seed);
                    }
                }
                Some(seed)
            }
        };
        if seed.is_none() {
            *cursor = None;
        }
        seed
    }

    /// Starts no more seeds.
    fn stop(&self) {
        *self.next.lock().expect("seeds") = None;
    }

    /// Whether seeds were left when the time allowed ran out.
    fn timed_out(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| now >= d)
    }
}

/// Parses `A..B` (B excluded) or `A..=B` into the seeds it names.
pub(crate) fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (a, b, false)
    } else {
        bail!("--seeds {s:?}: expected A..B (B excluded) or A..=B, for example 1..201");
    };
    let parse = |x: &str| {
        x.trim().parse::<u64>().with_context(|| format!("--seeds {s:?}: {x:?} is not a seed"))
    };
    let (a, b) = (parse(a)?, parse(b)?);
    let end =
        if inclusive { b.checked_add(1).context("--seeds: range end overflows")? } else { b };
    if end <= a {
        bail!("--seeds {s:?} names no seed");
    }
    Ok((a..end).collect())
}

/// Parses `K/N` and keeps the seeds at positions K, K+N, K+2N, ... of the range.
pub(crate) fn shard(seeds: Vec<u64>, spec: &str) -> Result<Vec<u64>> {
    let (k, n) = parse_shard(spec)?;
    Ok(seeds.into_iter().skip(k).step_by(n).collect())
}

/// `K/N` with `0 <= K < N`.
fn parse_shard(spec: &str) -> Result<(usize, usize)> {
    let Some((k, n)) = spec.split_once('/') else {
        bail!("--shard {spec:?}: expected K/N, for example 0/4");
    };
    let k: usize = k.trim().parse().with_context(|| format!("--shard {spec:?}: bad K"))?;
    let n: usize = n.trim().parse().with_context(|| format!("--shard {spec:?}: bad N"))?;
    if n == 0 || k >= n {
        bail!("--shard {spec:?}: needs 0 <= K < N");
    }
    Ok((k, n))
}

/// One seed of a scenario, run as a child `smesh sim run --json` process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedRun<'a> {
    pub scenario: &'a str,
    pub nodes: u32,
    pub layers: u32,
    /// A planted bug to switch on.
    pub canary: Option<&'a str>,
    /// Draw a fault mix per seed.
    pub swarm: bool,
    /// Adversaries to cast.
    pub adversaries: &'a [(spacemesh_scenarios::Adversary, u32)],
}

impl SeedRun<'_> {
    /// Runs `seed` with the binary `exe` and reads its report.
    pub(crate) fn run(&self, exe: &std::path::Path, seed: u64) -> SeedResult {
        let started = Instant::now();
        let mut cmd = Command::new(exe);
        cmd.args(["sim", "run", "--json", "--scenario", self.scenario])
            .args(["--seed", &seed.to_string(), "--nodes", &self.nodes.to_string()])
            .args(["--layers", &self.layers.to_string()]);
        let mut repro = repro_line(self.scenario, self.nodes, seed, self.layers);
        if self.swarm {
            cmd.arg("--swarm");
            repro += " --swarm";
        }
        let cast = crate::sim_cmd::adversary_flags(self.adversaries);
        cmd.args(cast.split_whitespace());
        repro += &cast;
        if let Some(c) = self.canary {
            cmd.args(["--canary", c]);
            repro += &format!(" --canary {c}");
        }
        result_of(seed, repro, cmd.output(), started.elapsed().as_secs_f64())
    }
}

/// Reads one child's `sim run --json` output into a result.
fn result_of(
    seed: u64,
    repro: String,
    output: std::io::Result<std::process::Output>,
    wall: f64,
) -> SeedResult {
    let failed = |why: String| SeedResult {
        seed,
        passed: false,
        vacuous: false,
        refused: false,
        digest: String::new(),
        events: 0,
        wall_seconds: wall,
        first_violation: Some(why),
        repro: repro.clone(),
        coverage: BTreeMap::new(),
    };
    let output = match output {
        Ok(o) => o,
        Err(e) => return failed(format!("could not start the run: {e}")),
    };
    let Ok(json) = serde_json::from_slice::<Value>(&output.stdout) else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
        let why = format!("run ended without a report ({}): {last}", output.status);
        return SeedResult { refused: output.status.code() == Some(2), ..failed(why) };
    };
    let passed = json["passed"].as_bool().unwrap_or(false) && output.status.success();
    // A vacuous run exits 1 like any failed check; any other status (a panic after the report,
    // a kill) is a failure.
    let vacuous =
        !passed && json["vacuous"].as_bool().unwrap_or(false) && output.status.code() == Some(1);
    let first_violation = json["violations"].as_array().and_then(|v| v.first()).map(|v| {
        format!(
            "[{}] t={:.1}s node={}: {}",
            v["check"].as_str().unwrap_or("?"),
            v["time_s"].as_f64().unwrap_or(0.0),
            v["node"].as_u64().map_or("-".to_string(), |n| n.to_string()),
            v["message"].as_str().unwrap_or("")
        )
    });
    SeedResult {
        seed,
        passed,
        vacuous,
        digest: json["digest"].as_str().unwrap_or("").to_string(),
        events: json["events"].as_u64().unwrap_or(0),
        wall_seconds: wall,
        first_violation: if passed {
            None
        } else {
            first_violation.or(Some("a check failed".into()))
        },
        repro,
        coverage: serde_json::from_value(json["coverage"].clone()).unwrap_or_default(),
        refused: false,
    }
}

pub(crate) fn explore(args: ExploreArgs) -> Result<ExitCode> {
    let scenario = spacemesh_scenarios::find(&args.scenario)?;
    let started = Instant::now();
    let deadline = args.for_secs.map(|s| started + Duration::from_secs(s));
    let seeds =
        Arc::new(SeedSource::new(parse_range(&args.seeds)?, args.shard.as_deref(), deadline)?);
    if seeds.len() == Some(0) {
        bail!("--seeds {} --shard {}: no seed left", args.seeds, args.shard.unwrap_or_default());
    }
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    if let Some(name) = &args.canary {
        crate::canary_cmd::check_available(name)?;
    }
    let nodes = args.nodes.unwrap_or(scenario.default_nodes());
    let swarm = args.swarm;
    if swarm && scenario.swarm_bounds(scenario.default_layers()).is_none() {
        bail!("{} takes no swarm: its checks assume exactly its own faults", args.scenario);
    }
    let layers = args.layers.unwrap_or(scenario.default_layers());
    let exe = std::env::current_exe().context("locating the smesh binary")?;
    let (tx, rx) = mpsc::channel();
    let mut workers = Vec::new();
    for _ in 0..seeds.len().map_or(args.jobs, |n| args.jobs.min(n)) {
        let (seeds, tx, exe, name, canary, cast) = (
            seeds.clone(),
            tx.clone(),
            exe.clone(),
            args.scenario.clone(),
            args.canary.clone(),
            args.adversary.clone(),
        );
        workers.push(std::thread::spawn(move || {
            loop {
                let Some(seed) = seeds.take(Instant::now()) else { return };
                let run = SeedRun {
                    scenario: &name,
                    nodes,
                    layers,
                    canary: canary.as_deref(),
                    swarm,
                    adversaries: &cast,
                };
                if tx.send(run.run(&exe, seed)).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    if !args.json {
        out!(
            "{:>8}  {:<7}  {:>10}  {:>8}  {:<16}  first violation",
            "seed",
            "result",
            "events",
            "wall s",
            "digest"
        );
    }
    let mut results = Vec::new();
    let mut refused = None;
    for r in rx {
        if r.refused {
            seeds.stop();
            refused.get_or_insert_with(|| r.first_violation.clone().unwrap_or_default());
            continue;
        }
        if !args.json {
            out!(
                "{:>8}  {:<7}  {:>10}  {:>8.1}  {:<16}  {}",
                r.seed,
                match (r.passed, r.vacuous) {
                    (true, _) => "ok",
                    (false, true) => "vacuous",
                    (false, false) => "FAIL",
                },
                r.events,
                r.wall_seconds,
                r.digest.get(..16).unwrap_or(""),
                r.first_violation.as_deref().unwrap_or("")
            );
            let _ = std::io::stdout().flush();
        }
        results.push(r);
    }
    for w in workers {
        let _ = w.join();
    }
    if let Some(why) = refused {
        bail!("the runs refuse these arguments, so no seed was explored further: {why}");
    }
    if !args.json
        && let Some(secs) = args.for_secs
        && seeds.timed_out(Instant::now())
    {
        out!("stopped starting seeds after {secs} s (--for); the runs under way finished");
    }
    let summary = Summary::new(&args.scenario, Some(nodes), Some(layers), results);
    finish(&summary, args.summary.as_ref(), args.json, started.elapsed().as_secs_f64())
}

/// Whether an exploration passed: no seed failed, and unless every seed passed, some seed
/// went through the paths the scenario is for (vacuous seeds alone could mean that a change
/// stopped the scenario from reaching them, which is what its `coverage` check is for).
fn explored(summary: &Summary) -> bool {
    summary.failed.is_empty() && (summary.vacuous.is_empty() || summary.passed > 0)
}

/// How many failed seeds each check failed first, most first (then by name): where to start
/// when many seeds fail. A failure that names no check (a run that ended without a report)
/// counts as `(no check named)`.
fn failed_checks(summary: &Summary) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for f in &summary.failed {
        let first = f.first_violation.as_deref().unwrap_or("");
        let check = first
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .map_or("(no check named)", |(check, _)| check);
        *counts.entry(check.to_string()).or_default() += 1;
    }
    let mut tally: Vec<(String, usize)> = counts.into_iter().collect();
    tally.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    tally
}

/// Writes or prints the summary; exit 0 only when [`explored`].
fn finish(summary: &Summary, file: Option<&PathBuf>, json: bool, wall: f64) -> Result<ExitCode> {
    let text = serde_json::to_string_pretty(summary)?;
    if let Some(path) = file {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        out!("{text}");
    } else {
        let vacuous = match summary.vacuous.len() {
            0 => String::new(),
            n => format!(", {n} vacuous"),
        };
        out!(
            "{}: {} of {} seeds passed{vacuous} ({:.0} s)",
            summary.scenario,
            summary.passed,
            summary.runs,
            wall
        );
        for (mark, sum) in &summary.coverage {
            out!("  coverage {mark}: {} of {} runs, {} passes", sum.runs, summary.runs, sum.total);
        }
        if !summary.vacuous.is_empty() {
            let seeds: Vec<String> = summary.vacuous.iter().map(u64::to_string).collect();
            out!(
                "  vacuous (every other check passed, the path this scenario is for never \
                 taken): seeds {}",
                seeds.join(", ")
            );
            if summary.passed == 0 {
                out!(
                    "  no seed took the runs through the path this scenario is for: if it \
                     used to, a change stopped it"
                );
            }
        }
        if summary.failed.len() > 1 {
            let tally: Vec<String> =
                failed_checks(summary).iter().map(|(check, n)| format!("{check} {n}")).collect();
            out!("  failed first: {}", tally.join(", "));
        }
        for f in &summary.failed {
            out!("  seed {}: {}", f.seed, f.first_violation.as_deref().unwrap_or(""));
            out!("    repro: {}", f.repro);
        }
    }
    Ok(if explored(summary) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

pub(crate) fn merge(args: MergeArgs) -> Result<ExitCode> {
    let mut parts = Vec::new();
    for path in &args.files {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let s: Summary = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an explore summary", path.display()))?;
        parts.push(s);
    }
    let merged = merge_summaries(parts)?;
    finish(&merged, None, true, 0.0)
}

/// Combines shard summaries of one scenario and size; a seed run twice must agree.
pub(crate) fn merge_summaries(parts: Vec<Summary>) -> Result<Summary> {
    let Some(first) = parts.first() else { bail!("nothing to merge") };
    let (scenario, nodes, layers) = (first.scenario.clone(), first.nodes, first.layers);
    let mut by_seed: BTreeMap<u64, SeedResult> = BTreeMap::new();
    for p in parts {
        if (p.scenario.as_str(), p.nodes, p.layers) != (scenario.as_str(), nodes, layers) {
            bail!(
                "cannot merge {} ({:?} nodes, {:?} layers) with {scenario} ({nodes:?} nodes, {layers:?} layers)",
                p.scenario,
                p.nodes,
                p.layers
            );
        }
        for r in p.results {
            if let Some(old) = by_seed.get(&r.seed)
                && (old.digest != r.digest || (old.passed, old.vacuous) != (r.passed, r.vacuous))
            {
                bail!(
                    "seed {} differs between summaries (digest {} vs {})",
                    r.seed,
                    old.digest,
                    r.digest
                );
            }
            by_seed.insert(r.seed, r);
        }
    }
    Ok(Summary::new(&scenario, nodes, layers, by_seed.into_values().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges() {
        assert_eq!(parse_seeds("1..4").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_seeds("1..=4").unwrap(), vec![1, 2, 3, 4]);
        assert!(parse_seeds("4..4").is_err());
        assert!(parse_seeds("a..4").unwrap_err().to_string().contains("not a seed"));
        assert!(parse_seeds("7").unwrap_err().to_string().contains("A..B"));
    }

    /// `A..` explores from A on, sharded like a closed range; it needs a time allowed, and
    /// nothing is started once that has passed.
    #[test]
    fn open_ranges_need_a_time_and_stop_at_it() {
        assert_eq!(parse_range("5..").unwrap(), SeedRange::From(5));
        assert_eq!(parse_range("5..8").unwrap(), SeedRange::Listed(vec![5, 6, 7]));
        assert!(parse_range("x..").is_err());
        assert!(parse_range("..").is_err());
        let err = SeedSource::new(SeedRange::From(5), None, None).unwrap_err();
        assert!(err.to_string().contains("--for"), "{err}");

        let now = Instant::now();
        let later = now + Duration::from_secs(3600);
        let open = SeedSource::new(SeedRange::From(5), Some("1/3"), Some(later)).unwrap();
        assert_eq!(open.len(), None);
        let taken: Vec<u64> = (0..4).filter_map(|_| open.take(now)).collect();
        assert_eq!(taken, [6, 9, 12, 15], "every third seed from the second");
        assert!(!open.timed_out(now));
        assert_eq!(open.take(later), None, "none once the time is up");
        assert!(open.timed_out(later));
        assert_eq!(open.take(now), None, "and none after that");

        let listed = SeedSource::new(SeedRange::Listed(vec![1, 2, 3]), None, Some(later)).unwrap();
        assert_eq!(listed.len(), Some(3));
        let taken: Vec<u64> = std::iter::from_fn(|| listed.take(now)).collect();
        assert_eq!(taken, [1, 2, 3], "a closed range ends at its end, in order");
        let end = SeedSource::new(SeedRange::From(u64::MAX), None, Some(later)).unwrap();
        assert_eq!(end.take(now), Some(u64::MAX));
        assert_eq!(end.take(now), None, "the last seed there is");
    }

    #[test]
    fn shards_partition_the_range() {
        let seeds = parse_seeds("10..20").unwrap();
        let mut all: Vec<u64> =
            (0..3).flat_map(|k| shard(seeds.clone(), &format!("{k}/3")).unwrap()).collect();
        assert_eq!(shard(seeds.clone(), "1/3").unwrap(), vec![11, 14, 17]);
        all.sort();
        assert_eq!(all, seeds);
        assert!(shard(seeds.clone(), "3/3").is_err());
        assert!(shard(seeds, "1").is_err());
    }

    fn result(seed: u64, passed: bool, digest: &str) -> SeedResult {
        SeedResult {
            seed,
            passed,
            vacuous: false,
            digest: digest.into(),
            events: 10,
            wall_seconds: 1.0,
            first_violation: (!passed).then(|| "[x] t=1.0s node=-: broken".to_string()),
            repro: repro_line("gossip", 7, seed, 3),
            coverage: BTreeMap::from([("fetch-retry".to_string(), seed)]),
            refused: false,
        }
    }

    #[test]
    fn coverage_is_summed_over_runs() {
        let s = Summary::new(
            "gossip",
            Some(7),
            Some(3),
            vec![result(2, true, "a"), result(3, true, "b")],
        );
        assert_eq!(s.coverage["fetch-retry"], MarkSum { runs: 2, total: 5 });
    }

    #[test]
    fn merge_combines_shards_and_refuses_conflicts() {
        let a = Summary::new(
            "gossip",
            Some(7),
            Some(3),
            vec![result(2, true, "aa"), result(0, false, "bb")],
        );
        let b = Summary::new("gossip", Some(7), Some(3), vec![result(1, true, "cc")]);
        let m = merge_summaries(vec![a.clone(), b]).unwrap();
        assert_eq!(m.results.iter().map(|r| r.seed).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!((m.runs, m.passed, m.failed.len()), (3, 2, 1));
        assert_eq!(m.failed[0].seed, 0);
        let other = Summary::new("epochs", Some(7), Some(3), vec![]);
        assert!(merge_summaries(vec![a.clone(), other]).is_err());
        let conflicting = Summary::new("gossip", Some(7), Some(3), vec![result(2, true, "zz")]);
        assert!(merge_summaries(vec![a, conflicting]).unwrap_err().to_string().contains("seed 2"));
    }

    /// A vacuous seed counts neither as passed nor as failed; the exploration passes as long as
    /// no seed failed and some seed went through the scenario's path.
    #[test]
    fn vacuous_seeds_are_counted_apart() {
        let vacuous = |seed| SeedResult { vacuous: true, ..result(seed, false, "vv") };
        let s = Summary::new(
            "balancing-attack",
            Some(30),
            Some(40),
            vec![result(1, true, "a"), vacuous(2), vacuous(3)],
        );
        assert_eq!((s.runs, s.passed, s.vacuous.clone(), s.failed.len()), (3, 1, vec![2, 3], 0));
        assert!(explored(&s));
        let only_vacuous = Summary::new("balancing-attack", Some(30), Some(40), vec![vacuous(2)]);
        assert!(!explored(&only_vacuous), "no seed reached the path");
        let with_failure = Summary::new(
            "balancing-attack",
            Some(30),
            Some(40),
            vec![result(1, true, "a"), vacuous(2), result(4, false, "f")],
        );
        assert!(!explored(&with_failure));
        assert_eq!(with_failure.failed.iter().map(|r| r.seed).collect::<Vec<_>>(), vec![4]);
        // Summaries written before vacuous runs were counted apart still read.
        let mut old = serde_json::to_value(&s).unwrap();
        old.as_object_mut().unwrap().remove("vacuous");
        for r in old["results"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("vacuous");
        }
        let read: Summary = serde_json::from_value(old).unwrap();
        assert!(read.vacuous.is_empty() && read.results.iter().all(|r| !r.vacuous));
    }

    /// Failed seeds are tallied by the check they failed first, most first (then by name); a
    /// seed without a report counts apart, and vacuous seeds not at all.
    #[test]
    fn failures_are_tallied_by_their_first_check() {
        let failing = |seed, first: Option<&str>| SeedResult {
            first_violation: first.map(str::to_string),
            ..result(seed, false, "f")
        };
        let vacuous = SeedResult { vacuous: true, ..failing(9, Some("[coverage] t=1.0s")) };
        let s = Summary::new(
            "mainnet-like",
            Some(30),
            Some(40),
            vec![
                failing(1, Some("[mesh-agreement] t=1.0s node=3: differs")),
                failing(2, Some("[hare-validity] t=2.0s node=-: missing")),
                failing(3, Some("[mesh-agreement] t=3.0s node=4: differs")),
                failing(4, Some("run ended without a report (exit status: 101): boom")),
                vacuous,
                result(5, true, "p"),
            ],
        );
        let tally = failed_checks(&s);
        let expected = [("mesh-agreement", 2), ("(no check named)", 1), ("hare-validity", 1)];
        assert_eq!(tally, expected.map(|(c, n)| (c.to_string(), n)));
    }

    /// A report that says vacuous is taken as such only with the exit status of a failed check.
    #[test]
    fn a_vacuous_report_needs_the_exit_status_of_a_failed_check() {
        let report = r#"{"passed": false, "vacuous": true, "digest": "d", "events": 3,
            "violations": [{"check": "coverage", "time_s": 400.0, "node": null,
            "message": "the run never went through tortoise-full-mode"}]}"#;
        let run = |code: i32| {
            let script = format!("cat <<'EOF'\n{report}\nEOF\nexit {code}");
            let output = std::process::Command::new("sh").args(["-c", &script]).output();
            result_of(7, "repro".into(), output, 0.1)
        };
        let r = run(1);
        assert!(!r.passed && r.vacuous);
        assert!(r.first_violation.unwrap().contains("[coverage]"));
        let crashed = run(101);
        assert!(!crashed.passed && !crashed.vacuous);
    }

    #[test]
    fn a_run_without_a_report_is_a_failure_with_its_last_words() {
        let output = std::process::Command::new("sh")
            .args(["-c", "echo 'thread main panicked: boom' >&2; exit 101"])
            .output();
        let r = result_of(5, "repro".into(), output, 0.5);
        assert!(!r.passed && !r.refused);
        assert!(r.first_violation.unwrap().contains("panicked: boom"));
    }

    /// A run that exits 2 without a report refused its arguments: every seed would.
    #[test]
    fn a_usage_error_is_a_refusal() {
        let output = std::process::Command::new("sh")
            .args(["-c", "echo 'error: gossip needs at least 30 layers' >&2; exit 2"])
            .output();
        let r = result_of(5, "repro".into(), output, 0.5);
        assert!(!r.passed && r.refused);
        assert!(r.first_violation.unwrap().contains("needs at least 30 layers"));
    }
}

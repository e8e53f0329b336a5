//! The determinism check: two copies of a run stepped side by side.
//!
//! Lockstep finds the exact first differing event without storing either trace: both
//! simulations are advanced one event at a time and their records (time, node, kind, content
//! fingerprint, and the chain of every extra record folded while handling it) are compared at
//! once. Memory is two simulations, not two traces.

use std::fmt;

use crate::engine::{Sim, World};
use crate::time::SimTime;
use crate::trace::TraceRecord;

/// Where two runs of the same seed first differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the first differing event.
    pub index: u64,
    /// The event in the first run (`None`: that run had ended).
    pub a: Option<TraceRecord>,
    /// The event in the second run.
    pub b: Option<TraceRecord>,
}

fn describe(r: &Option<TraceRecord>) -> String {
    match r {
        Some(r) => format!(
            "{} at {} on node {} (fingerprint {:016x}, chain {:016x})",
            r.kind, r.time, r.node.0, r.fingerprint, r.chain
        ),
        None => "end of run".to_string(),
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "runs diverge at event {}: first run {}; second run {}",
            self.index,
            describe(&self.a),
            describe(&self.b)
        )
    }
}

impl std::error::Error for Divergence {}

fn step_before<W: World>(sim: &mut Sim<W>, until: SimTime) -> Option<TraceRecord> {
    if sim.next_time().is_some_and(|t| t <= until) { sim.step() } else { None }
}

/// Runs `a` and `b` to `until` in lockstep; returns the common digest or the first divergence.
pub fn check_lockstep<W: World>(
    mut a: Sim<W>,
    mut b: Sim<W>,
    until: SimTime,
) -> Result<[u8; 32], Divergence> {
    let mut index = 0;
    loop {
        let ra = step_before(&mut a, until);
        let rb = step_before(&mut b, until);
        if ra != rb {
            return Err(Divergence { index, a: ra, b: rb });
        }
        if ra.is_none() {
            break;
        }
        index += 1;
    }
    let (da, db) = (a.digest(), b.digest());
    if da != db {
        // Every record matched but the digests differ: an extra record at the very end.
        return Err(Divergence { index, a: None, b: None });
    }
    Ok(da)
}

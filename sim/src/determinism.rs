//! The lockstep determinism check.
//!
//! Two simulations built the same way from the same seed must produce the same trace. Comparing
//! final digests says *whether* they diverged; stepping both in lockstep and comparing each
//! record as it is produced says *where*: the first differing event (index, time, node, kind),
//! which is where to start debugging. It needs no stored traces, so it works on runs of any
//! length, and it stops at the first difference instead of running both to the end.

use std::collections::VecDeque;
use std::fmt;

use crate::engine::{Sim, World};
use crate::time::SimTime;
use crate::trace::TraceRecord;

/// The first point at which two runs differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// Trace index of the first differing record.
    pub index: u64,
    /// The first run's record there (`None`: that run had nothing more before the bound).
    pub a: Option<TraceRecord>,
    /// The second run's record there.
    pub b: Option<TraceRecord>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.a.is_none() && self.b.is_none() {
            return write!(
                f,
                "traces differ before record {} (in records folded before stepping began)",
                self.index
            );
        }
        let side = |r: &Option<TraceRecord>| match r {
            Some(r) => format!(
                "t={} {} kind={} fingerprint={:016x}",
                r.time, r.node, r.kind, r.fingerprint
            ),
            None => "no further event".to_owned(),
        };
        write!(
            f,
            "first divergence at trace record {}: a: {}; b: {}",
            self.index,
            side(&self.a),
            side(&self.b)
        )
    }
}

/// Runs `a` and `b` up to `until` in lockstep, comparing every trace record (time, node, kind,
/// fingerprint) as it is produced. Returns the common digest, or the first difference.
///
/// Both runs may be continued afterwards and checked again up to a later bound (a run whose end
/// is decided as it goes, such as a scenario's liveness phase, is checked in segments).
pub fn check_lockstep<W: World>(
    a: &mut Sim<W>,
    b: &mut Sim<W>,
    until: SimTime,
) -> Result<[u8; 32], Divergence> {
    if a.trace_events() != b.trace_events() || a.digest() != b.digest() {
        let index = a.trace_events().min(b.trace_events());
        return Err(Divergence { index, a: None, b: None });
    }
    let mut side_a = Side::default();
    let mut side_b = Side::default();
    loop {
        side_a.refill(a, until);
        side_b.refill(b, until);
        match (side_a.pending.front(), side_b.pending.front()) {
            (None, None) => break,
            (Some(x), Some(y)) if x == y => {
                side_a.pending.pop_front();
                side_b.pending.pop_front();
            }
            (x, y) => {
                let index = x.or(y).map_or(0, |r| r.index);
                return Err(Divergence { index, a: x.copied(), b: y.copied() });
            }
        }
    }
    debug_assert_eq!(a.digest(), b.digest(), "equal records give equal digests");
    Ok(a.digest())
}

/// One run's records not yet compared.
#[derive(Debug, Default)]
struct Side {
    pending: VecDeque<TraceRecord>,
    done: bool,
}

impl Side {
    /// Steps the run until it has a record to compare or has nothing left before `until`.
    fn refill<W: World>(&mut self, sim: &mut Sim<W>, until: SimTime) {
        while self.pending.is_empty() && !self.done {
            match sim.step_until(until) {
                Some(_) => self.pending.extend(sim.step_records()),
                None => self.done = true,
            }
        }
    }
}

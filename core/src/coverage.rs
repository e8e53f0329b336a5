//! Coverage marks: counters on rare protocol paths, so that a simulation can tell which of them
//! a run went through (the full tortoise taking over, a hare session needing a second
//! iteration, a fetch retried on another peer, a node restored from its disk...).
//!
//! [`mark`] counts one pass on the current thread; [`take`] returns the counts and resets
//! them. A simulated run is single-threaded, so the counts are the run's own; runtimes that
//! drive nodes on several threads read each thread's counts (or ignore them). Marks change no
//! behaviour and read no clock: a run with them is the same run.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// The full (self-healing) tortoise took over a layer the verifying tortoise could not decide.
pub const TORTOISE_FULL_MODE: &str = "tortoise-full-mode";
/// A hare session output after iteration 1 (the first that can output: its hardlock round
/// outputs what notify passed in iteration 0).
pub const HARE_LATER_ITERATION: &str = "hare-later-iteration";
/// A hare session ended at the iteration limit without an output.
pub const HARE_ITERATION_LIMIT: &str = "hare-iteration-limit";
/// A fetch request was sent again, to another peer, after one failed or timed out.
pub const FETCH_RETRY: &str = "fetch-retry";
/// A fetch gave up after every attempt.
pub const FETCH_FAILED: &str = "fetch-failed";
/// A node started from a store that already held its state (a restart).
pub const RESTART_RECOVERY: &str = "restart-recovery";
/// Applied layers were reverted because the tortoise changed its opinion.
pub const MESH_REVERT: &str = "mesh-revert";
/// A node caught up through sync.
pub const SYNC_CATCH_UP: &str = "sync-catch-up";
/// A malfeasance proof was accepted.
pub const MALFEASANCE_PROOF: &str = "malfeasance-proof";
/// The beacon protocol failed and ref ballots decided the beacon.
pub const BEACON_FALLBACK: &str = "beacon-fallback";
/// A proposal refused for a ref ballot or ATX this node lacked was accepted once that was
/// fetched.
pub const REFERENCE_FETCHED: &str = "reference-fetched";
/// A ref ballot declaring another active set than this node's was accepted, judged by the set
/// it declares.
pub const DECLARED_SET: &str = "declared-set";
/// A synced node asked a peer to list a past layer again, after it had to fetch a ballot of
/// that layer from the peer (the ballots a healed split hid).
pub const FORK_RELIST: &str = "fork-relist";
/// A synced node took a peer's certificate for a layer whose hare output it had missed.
pub const MISSED_HARE_CERTIFIED: &str = "missed-hare-certified";

/// Every mark, in listing order.
pub const ALL: [&str; 14] = [
    TORTOISE_FULL_MODE,
    HARE_LATER_ITERATION,
    HARE_ITERATION_LIMIT,
    FETCH_RETRY,
    FETCH_FAILED,
    RESTART_RECOVERY,
    MESH_REVERT,
    SYNC_CATCH_UP,
    MALFEASANCE_PROOF,
    BEACON_FALLBACK,
    REFERENCE_FETCHED,
    DECLARED_SET,
    FORK_RELIST,
    MISSED_HARE_CERTIFIED,
];

thread_local! {
    static COUNTS: RefCell<BTreeMap<&'static str, u64>> = const { RefCell::new(BTreeMap::new()) };
}

/// Counts one pass through the path `name` (one of the constants of this module).
pub fn mark(name: &'static str) {
    COUNTS.with(|c| *c.borrow_mut().entry(name).or_insert(0) += 1);
}

/// The counts so far on this thread.
pub fn counts() -> BTreeMap<&'static str, u64> {
    COUNTS.with(|c| c.borrow().clone())
}

/// The counts so far on this thread, which start again from zero.
pub fn take() -> BTreeMap<&'static str, u64> {
    COUNTS.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_count_and_take_resets() {
        take();
        mark(FETCH_RETRY);
        mark(FETCH_RETRY);
        mark(MESH_REVERT);
        assert_eq!(counts().get(FETCH_RETRY), Some(&2));
        let taken = take();
        assert_eq!(taken.get(MESH_REVERT), Some(&1));
        assert!(counts().is_empty());
    }

    #[test]
    fn names_are_distinct() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}

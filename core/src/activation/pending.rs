//! ATXs between arrival and verdict: waiting for dependencies (PoET proof, positioning or
//! previous ATX) or being checked by a job.
//!
//! The handler asks after every step when the oldest waiting ATX times out, and every tick which
//! ones did; during an epoch's ATX wave thousands wait at once, so both are answered from an
//! index by arrival time instead of a scan. Invariant: `deadlines` holds `(since, id)` exactly
//! for the entries that are not being checked.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::activation::wire::{Atx, AtxId};
use crate::gossip::MsgId;
use crate::types::{PeerId, Time};

/// One ATX that has no verdict yet.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) id: AtxId,
    pub(super) atx: Atx,
    pub(super) bytes: Bytes,
    pub(super) gossip: Option<MsgId>,
    pub(super) peer: Option<PeerId>,
    pub(super) since: Time,
    pub(super) checking: bool,
}

/// The pending ATXs by id, with the waiting ones indexed by arrival.
#[derive(Debug, Default)]
pub(super) struct PendingAtxs {
    by_id: BTreeMap<AtxId, Pending>,
    deadlines: BTreeSet<(Time, AtxId)>,
}

impl PendingAtxs {
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(super) fn contains(&self, id: &AtxId) -> bool {
        self.by_id.contains_key(id)
    }

    pub(super) fn get(&self, id: &AtxId) -> Option<&Pending> {
        self.by_id.get(id)
    }

    /// Adds a waiting ATX (`checking` false).
    pub(super) fn insert(&mut self, p: Pending) {
        debug_assert!(!p.checking, "a new ATX waits first");
        self.deadlines.insert((p.since, p.id));
        if let Some(old) = self.by_id.insert(p.id, p) {
            self.deadlines.remove(&(old.since, old.id));
        }
    }

    pub(super) fn remove(&mut self, id: &AtxId) -> Option<Pending> {
        let p = self.by_id.remove(id)?;
        if !p.checking {
            self.deadlines.remove(&(p.since, p.id));
        }
        Some(p)
    }

    /// Marks `id` as handed to a check job: it no longer times out.
    pub(super) fn start_checking(&mut self, id: &AtxId) {
        let p = self.by_id.get_mut(id).expect("checking a pending ATX");
        if !p.checking {
            p.checking = true;
            self.deadlines.remove(&(p.since, p.id));
        }
    }

    /// The earliest arrival among the waiting ATXs.
    pub(super) fn oldest_waiting(&self) -> Option<Time> {
        self.deadlines.first().map(|(since, _)| *since)
    }

    /// Waiting ATXs that have waited `timeout` or longer at `now`, in id order.
    pub(super) fn expired(&self, now: Time, timeout: std::time::Duration) -> Vec<AtxId> {
        let mut ids: Vec<AtxId> = self
            .deadlines
            .iter()
            .take_while(|(since, _)| now >= *since + timeout)
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Every waiting ATX, in id order.
    pub(super) fn waiting(&self) -> impl Iterator<Item = &Pending> {
        self.by_id.values().filter(|p| !p.checking)
    }

    /// Panics if the arrival index does not match the entries (linear time).
    pub(super) fn check_invariants(&self) {
        let waiting: BTreeSet<(Time, AtxId)> = self.waiting().map(|p| (p.since, p.id)).collect();
        assert_eq!(waiting, self.deadlines, "pending-ATX deadline index out of step");
        assert!(self.by_id.iter().all(|(id, p)| *id == p.id), "pending ATX under another id");
    }
}

//! [`Margins`]: the cumulative vote margin of every classified proposal, each in a slot of a
//! vector; and [`RefList`], an interned first-round reference list that keeps the slots of its
//! proposals.
//!
//! Every node applies every vote of the epoch, and a vote moves the margin of each proposal its
//! list names: with 1,000 nodes, a B-tree search of the margins per list entry, per vote, per
//! node was a visible share of a simulation. A vote over an interned list is now one pass over
//! that list's slots; the B-tree, kept as the proposal-ordered view, is searched only when a list
//! is resolved.
//!
//! Margins are only ever added within an epoch's protocol (a classified proposal keeps its margin
//! to the end), so a slot never moves and is never reused. A list can name proposals that had no
//! margin yet when it was resolved (proposals still arrive while first votes do): the list
//! remembers how many margins existed then and resolves its unresolved entries again once there
//! are more.

use std::collections::{BTreeMap, BTreeSet};

use crate::beacon::message::Proposal;

/// A list entry whose proposal had no margin when the list was last resolved.
const NO_SLOT: u32 = u32::MAX;

/// The margins, by slot, with the slot of each proposal in proposal order.
#[derive(Debug, Default)]
pub(super) struct Margins {
    /// The slot of each proposal with a margin: the lookup when a list is resolved, and the
    /// proposal-ordered view own votes are computed from.
    slots: BTreeMap<Proposal, u32>,
    /// `values[slot]`: the cumulative margin.
    values: Vec<i128>,
    /// `proposals[slot]`: whose margin it is (checks a list's slots without a search).
    proposals: Vec<Proposal>,
}

impl Margins {
    /// Proposals with a margin; it only grows.
    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// Gives `proposal` a zero margin unless it has one.
    pub(super) fn add(&mut self, proposal: Proposal) {
        if self.slots.contains_key(&proposal) {
            return;
        }
        let slot = u32::try_from(self.values.len()).expect("margins are bounded by proposals_max");
        self.slots.insert(proposal, slot);
        self.values.push(0);
        self.proposals.push(proposal);
    }

    /// The margin of `proposal`, if it has one.
    pub(super) fn get(&self, proposal: &Proposal) -> Option<i128> {
        self.slots.get(proposal).map(|s| self.values[*s as usize])
    }

    /// Whether `proposal` has a margin.
    pub(super) fn contains(&self, proposal: &Proposal) -> bool {
        self.slots.contains_key(proposal)
    }

    /// Adds `delta` to the margin of `proposal`, if it has one (a search: for the rare entries
    /// outside any list).
    pub(super) fn add_to(&mut self, proposal: &Proposal, delta: i128) {
        if let Some(slot) = self.slots.get(proposal) {
            self.values[*slot as usize] += delta;
        }
    }

    /// Applies a vote over a resolved list: `+weight` to the margin of entry `i` if
    /// `support(i)`, `−weight` otherwise; unresolved entries have no margin to move.
    pub(super) fn apply(&mut self, slots: &[u32], weight: i128, support: impl Fn(usize) -> bool) {
        for (i, slot) in slots.iter().enumerate() {
            if *slot != NO_SLOT {
                self.values[*slot as usize] += if support(i) { weight } else { -weight };
            }
        }
    }

    /// As [`Margins::apply`], but each proposal moves at most once per sign, however often the
    /// list names it: go-spacemesh's `decodeVotes` turns the list into a support set and an
    /// against set. (Distinct proposals with margins have distinct slots.)
    pub(super) fn apply_as_sets(
        &mut self,
        slots: &[u32],
        weight: i128,
        support: impl Fn(usize) -> bool,
    ) {
        let mut votes: Vec<(u32, bool)> = slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| **slot != NO_SLOT)
            .map(|(i, slot)| (*slot, support(i)))
            .collect();
        votes.sort_unstable();
        votes.dedup();
        for (slot, supports) in votes {
            self.values[slot as usize] += if supports { weight } else { -weight };
        }
    }

    /// The margins in proposal order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Proposal, i128)> {
        self.slots.iter().map(|(p, s)| (p, self.values[*s as usize]))
    }

    /// Panics unless every proposal's slot is its own (so slots are `0..len`, one each).
    pub(super) fn check_invariants(&self) {
        assert_eq!(self.values.len(), self.slots.len(), "a margin without a proposal");
        assert_eq!(self.proposals.len(), self.slots.len(), "a slot without a proposal");
        assert!(
            self.slots.iter().all(|(p, s)| self.proposals.get(*s as usize) == Some(p)),
            "a proposal in another's slot"
        );
    }
}

/// An interned first-round reference list.
#[derive(Debug)]
pub(super) struct RefList {
    pub(super) proposals: Vec<Proposal>,
    /// Whether a proposal appears twice (valid and potentially valid): votes are then applied
    /// as sets, as go-spacemesh's `decodeVotes` does.
    pub(super) has_duplicates: bool,
    /// `slots[i]`: the margin slot of `proposals[i]`, or [`NO_SLOT`] if it had no margin when
    /// the list was last resolved.
    slots: Vec<u32>,
    /// How many margins existed when the list was last resolved.
    resolved: usize,
}

impl RefList {
    /// The list of `proposals`, resolved against `margins`.
    pub(super) fn new(proposals: Vec<Proposal>, margins: &Margins) -> RefList {
        let has_duplicates = proposals.iter().collect::<BTreeSet<_>>().len() != proposals.len();
        let slots = vec![NO_SLOT; proposals.len()];
        let mut list = RefList { proposals, has_duplicates, slots, resolved: 0 };
        list.resolve(margins);
        list
    }

    /// The margin slots of the entries, resolving the unresolved ones again if proposals gained
    /// a margin since the last time.
    pub(super) fn slots(&mut self, margins: &Margins) -> &[u32] {
        if self.resolved != margins.len() {
            self.resolve(margins);
        }
        &self.slots
    }

    fn resolve(&mut self, margins: &Margins) {
        for (slot, p) in self.slots.iter_mut().zip(&self.proposals) {
            if *slot == NO_SLOT {
                *slot = margins.slots.get(p).copied().unwrap_or(NO_SLOT);
            }
        }
        self.resolved = margins.len();
    }

    /// Panics unless every resolved entry has its proposal's slot and every unresolved one names
    /// a proposal that had no margin at the last resolution (slots are handed out in order, so
    /// one gained since has a slot at or past `resolved`). Searches only for unresolved entries.
    pub(super) fn check_invariants(&self, margins: &Margins) {
        assert_eq!(self.slots.len(), self.proposals.len(), "a list entry without a slot");
        assert!(self.resolved <= margins.len(), "resolved against margins that were removed");
        assert!(
            self.slots.iter().zip(&self.proposals).all(|(slot, p)| {
                if *slot == NO_SLOT {
                    margins.slots.get(p).is_none_or(|s| *s as usize >= self.resolved)
                } else {
                    margins.proposals.get(*slot as usize) == Some(p)
                }
            }),
            "a list entry resolved to another proposal's margin"
        );
    }
}

//! Adversary knobs for a node's own messages, and the queue that holds back what it withholds.
//!
//! Simulations build byzantine agents from these (see the scenarios' catalogue); a real node
//! leaves [`Misbehavior`] at its default, under which nothing here changes what it does.
//! Knobs that live with the component they bend: [`super::Voting`] (ballot votes),
//! `HareBehavior` (hare messages), `BuilderConfig::double_publish` (a second ATX).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use crate::gossip::Topic;
use crate::types::{LayerId, Time};

/// How a node bends the publishing of its own ballots and ATXs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Misbehavior {
    /// In layers `first..=last` (inclusive pair), sign and publish a second ballot with other
    /// votes next to the real one: a ballot equivocation honest nodes must prove.
    pub double_ballots: Option<(LayerId, LayerId)>,
    /// Publish each own proposal (and its ballot) only this long after it was made: a
    /// withholder whose ballots arrive late and whose proposals miss the hare.
    pub withhold_proposals: Option<Duration>,
    /// Publish each own ATX only this long before its target epoch starts (and take it into
    /// this node's own view only then): with less than the grade delay it arrives after every
    /// honest node froze the active set.
    pub late_atx: Option<Duration>,
}

impl Misbehavior {
    /// Whether this node signs a second ballot in `layer`.
    pub fn doubles_ballot(&self, layer: LayerId) -> bool {
        self.double_ballots.is_some_and(|(first, last)| (first..=last).contains(&layer))
    }
}

/// Own messages held back until their time, in the order they are due.
#[derive(Debug, Default)]
pub(super) struct Held {
    queue: BTreeMap<(Time, u64), (Topic, Bytes)>,
    seq: u64,
}

impl Held {
    /// Holds `data` for `topic` until `at`.
    pub(super) fn hold(&mut self, at: Time, topic: Topic, data: Bytes) {
        self.queue.insert((at, self.seq), (topic, data));
        self.seq += 1;
    }

    /// When the next held message is due.
    pub(super) fn next_due(&self) -> Option<Time> {
        self.queue.keys().next().map(|(t, _)| *t)
    }

    /// Takes every message due at `now`, oldest first.
    pub(super) fn take_due(&mut self, now: Time) -> Vec<(Topic, Bytes)> {
        let later = self.queue.split_off(&(Time(now.0 + 1), 0));
        std::mem::replace(&mut self.queue, later).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_in_due_order_and_only_when_due() {
        let mut h = Held::default();
        h.hold(Time(30), Topic::Atx, Bytes::from_static(b"c"));
        h.hold(Time(10), Topic::Proposal, Bytes::from_static(b"a"));
        h.hold(Time(10), Topic::Proposal, Bytes::from_static(b"b"));
        assert_eq!(h.next_due(), Some(Time(10)));
        assert!(h.take_due(Time(9)).is_empty());
        let due: Vec<Bytes> = h.take_due(Time(10)).into_iter().map(|(_, b)| b).collect();
        assert_eq!(due, vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")]);
        assert_eq!(h.next_due(), Some(Time(30)));
        assert_eq!(h.take_due(Time(100)).len(), 1);
        assert_eq!(h.next_due(), None);
    }

    #[test]
    fn double_ballot_range_is_inclusive() {
        let m =
            Misbehavior { double_ballots: Some((LayerId(3), LayerId(5))), ..Default::default() };
        let on: Vec<u32> = (0..8).filter(|l| m.doubles_ballot(LayerId(*l))).collect();
        assert_eq!(on, vec![3, 4, 5]);
        assert!(!Misbehavior::default().doubles_ballot(LayerId(3)));
    }
}

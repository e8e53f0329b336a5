//! [`Members`]: the epoch's participants with what each has sent so far, found by identity.
//!
//! Every node keeps an entry per identity and looks one up for every beacon message (three per
//! identity and epoch reach every node). A list of entries with a positions table by identity,
//! and per round a list of accepted-vote fingerprints by entry, take one table probe per
//! message where B-trees keyed by identity (and by identity and round) took a chain of 32-byte
//! key comparisons each.

use crate::lookup::Positions;
use crate::types::{NodeId, Time};

use super::Participant;

/// A participant as the protocol tracks it.
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub(super) node_id: NodeId,
    pub(super) weight: u64,
    pub(super) vrf_nonce: u64,
    pub(super) num_units: u32,
    pub(super) atx_received: Time,
    pub(super) malicious: bool,
    /// Whether its proposal was taken (the VRF is unique per identity and epoch).
    pub(super) proposed: bool,
    /// The interned reference list of its first-round vote.
    pub(super) first_list: Option<u32>,
}

impl From<&Participant> for Member {
    fn from(p: &Participant) -> Member {
        Member {
            node_id: p.node_id,
            weight: p.weight,
            vrf_nonce: p.vrf_nonce,
            num_units: p.num_units,
            atx_received: p.atx_received,
            malicious: p.malicious,
            proposed: false,
            first_list: None,
        }
    }
}

impl Member {
    pub(super) fn vote_weight(&self) -> i128 {
        if self.malicious { 0 } else { i128::from(self.weight) }
    }
}

/// The participants in arrival order (the first entry per identity), by identity, with the
/// fingerprint of each one's accepted vote per round (round 0 is the first voting round).
#[derive(Debug)]
pub(super) struct Members {
    list: Vec<Member>,
    by_node: Positions,
    /// `votes[round][i]`: the fingerprint of member `i`'s accepted vote in `round`.
    votes: Vec<Vec<Option<u64>>>,
}

impl Members {
    /// No members, votes for `rounds` rounds.
    ///
    /// The table's seed is fixed: members are identities with a valid ATX (a PoST each), so no
    /// peer can grind keys into one probe chain, and lookups of unknown identities only probe.
    pub(super) fn new(rounds: u32) -> Members {
        Members {
            list: Vec::new(),
            by_node: Positions::new(0),
            votes: vec![Vec::new(); rounds as usize],
        }
    }

    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    /// The position of `node_id`'s entry.
    pub(super) fn find(&self, node_id: &NodeId) -> Option<u32> {
        self.by_node.find(node_id, |p| self.list[p as usize].node_id == *node_id)
    }

    pub(super) fn get(&self, node_id: &NodeId) -> Option<&Member> {
        self.find(node_id).map(|p| &self.list[p as usize])
    }

    pub(super) fn get_mut(&mut self, node_id: &NodeId) -> Option<&mut Member> {
        self.find(node_id).map(|p| &mut self.list[p as usize])
    }

    pub(super) fn contains(&self, node_id: &NodeId) -> bool {
        self.find(node_id).is_some()
    }

    pub(super) fn at(&self, position: u32) -> &Member {
        &self.list[position as usize]
    }

    pub(super) fn at_mut(&mut self, position: u32) -> &mut Member {
        &mut self.list[position as usize]
    }

    /// Adds `member` unless its identity is in already (the first entry counts).
    pub(super) fn add(&mut self, member: Member) {
        if self.contains(&member.node_id) {
            return;
        }
        let position = self.list.len() as u32;
        self.list.push(member);
        let list = &self.list;
        self.by_node.insert(position, |p| list[p as usize].node_id);
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Member> {
        self.list.iter()
    }

    /// The fingerprint of the vote of the member at `position` accepted in `round`.
    pub(super) fn vote(&self, position: u32, round: u32) -> Option<u64> {
        self.votes.get(round as usize)?.get(position as usize).copied().flatten()
    }

    /// Records the vote of the member at `position` in `round` (a round below the configured
    /// number).
    pub(super) fn set_vote(&mut self, position: u32, round: u32, fingerprint: u64) {
        let round = &mut self.votes[round as usize];
        if round.len() <= position as usize {
            round.resize(self.list.len(), None);
        }
        round[position as usize] = Some(fingerprint);
    }

    /// Rounds with vote lists.
    pub(super) fn rounds(&self) -> usize {
        self.votes.len()
    }

    /// Whether every filed position is its entry's and every vote belongs to an entry.
    pub(super) fn check_invariants(&self) {
        assert_eq!(self.by_node.len(), self.list.len(), "a member not filed by identity");
        assert!(
            self.list.iter().enumerate().all(|(i, m)| self.find(&m.node_id) == Some(i as u32)),
            "a member filed at another position"
        );
        assert!(self.votes.iter().all(|r| r.len() <= self.list.len()), "a vote of no member");
    }
}

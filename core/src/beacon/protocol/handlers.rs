//! Received beacon messages (go-spacemesh `beacon/handlers.go`, `weakcoin/handler.go`): each
//! handler checks timing, membership and content, verifies the signature or VRF, detects
//! repeats and equivocation, and applies the message to the tallies.

use super::{Class, EpochBeacon, Member, RefList};
use crate::beacon::message::{
    FirstVotingMessage, FollowingVotingMessage, PROPOSALS_MAX, Proposal, ProposalMessage,
    WeakCoinMessage, fingerprint, proposal_vrf_message, vote_bit, weak_coin_vrf_message,
};
use crate::beacon::protocol::BeaconReject;
use crate::crypto::Verifier;
use crate::gossip::Verdict;
use crate::types::Time;
use crate::vrf::VrfSignature;

impl EpochBeacon {
    pub(super) fn on_proposal(
        &mut self,
        now: Time,
        m: &ProposalMessage,
        verifier: &dyn Verifier,
    ) -> Result<Verdict, BeaconReject> {
        let at =
            self.participants.find(&m.node_id).ok_or(BeaconReject::UnknownSmesher(m.node_id))?;
        let member = self.participants.at(at);
        if member.proposed {
            // The VRF is unique per identity and epoch: a second proposal is a repeat.
            return Ok(Verdict::Ignore);
        }
        let input = proposal_vrf_message(member.vrf_nonce, self.epoch);
        if !verifier.verify_vrf(&m.node_id.0, &input, &m.vrf_signature) {
            return Err(BeaconReject::InvalidVrf);
        }
        let class = self.classify(member, &m.vrf_signature, now);
        if class == Class::Invalid {
            return Err(BeaconReject::ProposalIneligible);
        }
        self.add_proposal(Proposal::from_vrf(&m.vrf_signature), class)?;
        self.participants.at_mut(at).proposed = true;
        Ok(Verdict::Accept)
    }

    /// go-spacemesh's `classifyProposal` (handlers.go).
    pub(super) fn classify(&self, member: &Member, vrf: &VrfSignature, now: Time) -> Class {
        let grace = self.cfg.grace_period;
        let phase_end = self.start + self.cfg.proposal_duration;
        if member.atx_received <= self.start && now <= phase_end && vrf.0 < self.threshold_strict {
            if member.malicious { Class::PotentiallyValid } else { Class::Valid }
        } else if member.atx_received <= self.start + grace
            && now <= phase_end + grace
            && vrf.0 < self.threshold_loose
        {
            Class::PotentiallyValid
        } else {
            Class::Invalid
        }
    }

    pub(super) fn add_proposal(&mut self, p: Proposal, class: Class) -> Result<(), BeaconReject> {
        let set = match class {
            Class::Valid => &mut self.valid,
            Class::PotentiallyValid => &mut self.potentially_valid,
            Class::Invalid => return Err(BeaconReject::ProposalIneligible),
        };
        if set.len() >= self.cfg.proposals_max.min(PROPOSALS_MAX) && !set.contains(&p) {
            return Err(BeaconReject::ProposalsFull);
        }
        #[cfg(feature = "canary")]
        if !set.contains(&p) {
            self.arrival.push(p);
        }
        set.insert(p);
        // Two proposers can share a 4-byte value; the margin is kept (go-spacemesh resets it).
        self.margins.add(p);
        Ok(())
    }

    pub(super) fn on_first_vote(
        &mut self,
        now: Time,
        m: &FirstVotingMessage,
        verifier: &dyn Verifier,
    ) -> Result<Verdict, BeaconReject> {
        if now >= self.round_start(1) {
            return Err(BeaconReject::TooLate);
        }
        let at =
            self.participants.find(&m.smesher).ok_or(BeaconReject::UnknownSmesher(m.smesher))?;
        let weight = self.participants.at(at).vote_weight();
        if !strictly_increasing(&m.valid) || !strictly_increasing(&m.potentially_valid) {
            return Err(BeaconReject::UnsortedProposals);
        }
        let body = m.body();
        let fp = fingerprint(&body);
        // An exact repeat of the accepted vote is ignored. A different vote for the same round
        // is only reported as equivocation after its signature has been checked, so a forged
        // message cannot frame an identity.
        let seen = self.participants.vote(at, 0);
        if seen == Some(fp) {
            return Ok(Verdict::Ignore);
        }
        if !verifier.verify(&m.smesher.0, &m.signed_bytes(&self.genesis), &m.signature) {
            return Err(BeaconReject::InvalidSignature);
        }
        if seen.is_some() {
            return Err(BeaconReject::Equivocation { smesher: m.smesher, round: 0 });
        }
        self.apply_first_vote(at, weight, m, fp);
        Ok(Verdict::Accept)
    }

    /// Applies the first-round vote of the member at `voter`: `+weight` to each valid proposal,
    /// `−weight` to each potentially valid one. The valid entries lead the reference list, so
    /// the tally runs over the list's slots by position (the split is the message's: lists with
    /// different splits intern alike); entries cut by `votes_limit` are searched.
    pub(super) fn apply_first_vote(
        &mut self,
        voter: u32,
        weight: i128,
        m: &FirstVotingMessage,
        fp: u64,
    ) {
        self.participants.set_vote(voter, 0, fp);
        let valid = m.valid.len();
        let mut list: Vec<Proposal> =
            m.valid.iter().chain(m.potentially_valid.iter()).copied().collect();
        let limit = self.cfg.votes_limit as usize;
        for (i, p) in list.iter().enumerate().skip(limit) {
            self.margins.add_to(p, if i < valid { weight } else { -weight });
        }
        list.truncate(limit);
        let id = self.intern(list);
        let slots = self.lists[id as usize].slots(&self.margins);
        self.margins.apply(slots, weight, |i| i < valid);
        self.participants.at_mut(voter).first_list = Some(id);
    }

    pub(super) fn intern(&mut self, list: Vec<Proposal>) -> u32 {
        if let Some(id) = self.list_ids.get(&list) {
            return *id;
        }
        let id = self.lists.len() as u32;
        self.list_ids.insert(list.clone(), id);
        self.lists.push(RefList::new(list, &self.margins));
        id
    }

    pub(super) fn on_following_vote(
        &mut self,
        now: Time,
        m: &FollowingVotingMessage,
        verifier: &dyn Verifier,
    ) -> Result<Verdict, BeaconReject> {
        let round = m.round;
        if round == 0 || round >= self.cfg.rounds_number {
            return Err(BeaconReject::RoundOutOfRange { round });
        }
        self.check_round_timing(now, round)?;
        let at =
            self.participants.find(&m.smesher).ok_or(BeaconReject::UnknownSmesher(m.smesher))?;
        let member = self.participants.at(at);
        let weight = member.vote_weight();
        let fp = fingerprint(&m.body());
        // Repeats and equivocation as for the first vote.
        let seen = self.participants.vote(at, round);
        if seen == Some(fp) {
            return Ok(Verdict::Ignore);
        }
        let list = member.first_list.ok_or(BeaconReject::NoFirstVote(m.smesher))?;
        if !verifier.verify(&m.smesher.0, &m.signed_bytes(&self.genesis), &m.signature) {
            return Err(BeaconReject::InvalidSignature);
        }
        if seen.is_some() {
            return Err(BeaconReject::Equivocation { smesher: m.smesher, round });
        }
        self.participants.set_vote(at, round, fp);
        self.apply_following_vote(list, weight, &m.votes_bit_vector);
        Ok(Verdict::Accept)
    }

    /// go-spacemesh's `isVoteTimely`: votes of the round in progress, or of the next round
    /// within δ of its start.
    pub(super) fn check_round_timing(&self, now: Time, round: u32) -> Result<(), BeaconReject> {
        let current = self.round_in_progress(now);
        if round < current {
            Err(BeaconReject::TooLate)
        } else if round == current
            || (round == current + 1 && now > self.round_start(round) - self.cfg.grace_period)
        {
            Ok(())
        } else {
            Err(BeaconReject::TooEarly)
        }
    }

    /// Applies a following-round vote over the interned list `list`: `±weight` per entry by
    /// its bit, each proposal once per sign if the list names one twice.
    pub(super) fn apply_following_vote(&mut self, list: u32, weight: i128, bits: &[u8]) {
        let list = &mut self.lists[list as usize];
        let as_sets = list.has_duplicates;
        let slots = list.slots(&self.margins);
        if as_sets {
            self.margins.apply_as_sets(slots, weight, |i| vote_bit(bits, i));
        } else {
            self.margins.apply(slots, weight, |i| vote_bit(bits, i));
        }
    }

    pub(super) fn on_weak_coin(
        &mut self,
        now: Time,
        m: &WeakCoinMessage,
        verifier: &dyn Verifier,
    ) -> Result<Verdict, BeaconReject> {
        let round = m.round;
        if round == 0 || round >= self.cfg.rounds_number {
            return Err(BeaconReject::RoundOutOfRange { round });
        }
        if now >= self.round_start(round + 1) {
            return Err(BeaconReject::TooLate);
        }
        if round > self.round_in_progress(now) + 1 {
            return Err(BeaconReject::TooEarly);
        }
        let member =
            self.participants.get(&m.node_id).ok_or(BeaconReject::UnknownSmesher(m.node_id))?;
        if member.malicious {
            return Err(BeaconReject::MaliciousSmesher(m.node_id));
        }
        if m.unit >= member.num_units {
            return Err(BeaconReject::UnitOutOfRange { unit: m.unit, num_units: member.num_units });
        }
        let slot = self.coin_smallest[round as usize];
        if slot.is_some_and(|s| !le_less(&m.vrf_signature, &s)) {
            return Ok(Verdict::Ignore);
        }
        let input = weak_coin_vrf_message(member.vrf_nonce, self.epoch, round, m.unit);
        if !verifier.verify_vrf(&m.node_id.0, &input, &m.vrf_signature) {
            return Err(BeaconReject::InvalidVrf);
        }
        self.coin_smallest[round as usize] = Some(m.vrf_signature);
        Ok(Verdict::Accept)
    }
}

/// VRF proofs compared as little-endian integers (go-spacemesh `VrfSignature.Cmp`).
pub(super) fn le_less(a: &VrfSignature, b: &VrfSignature) -> bool {
    a.0.iter().rev().lt(b.0.iter().rev())
}

fn strictly_increasing(list: &[Proposal]) -> bool {
    list.windows(2).all(|w| w[0] < w[1])
}

//! Proposals that refer to something this node lacks: a smesher's ref ballot of the epoch, the
//! ballot's ATX, or the active set a ref ballot declares.
//!
//! Such a proposal is refused (`UnknownRefBallot`, `UnknownAtx`, `UnknownActiveSet`), but it
//! need not be lost: it came from a peer that holds what it refers to. A ballot of a smesher
//! whose ref ballot this node missed (a base ballot fetched from the other side of a healed
//! partition), whose ATX it missed (a late joiner whose peers listed the epoch's ATXs short),
//! or that declares another active set (a side of a partition that spanned the epoch's ATX
//! cutoff graded other ATXs on time) would otherwise never count here, and a node that misses
//! the ballots of a layer tallies it wrongly. So the missing object is fetched from the peer
//! that sent the proposal, and the proposal waits for it: judged again once the ballot or ATX
//! is accepted or the set resolved, dropped when the fetch fails, the ATX is rejected, or the
//! proposal's layer leaves the ballot window. go-spacemesh likewise fetches a proposal's ATX,
//! ref ballot, base ballot and declared active set before validating it.
//!
//! Only a proposal whose ballot signature verifies makes the node fetch anything, and the
//! waiting proposals are bounded ([`WAITING_MAX`]).

use std::collections::BTreeMap;

use bytes::Bytes;

use super::Consensus;
use super::mesh::{WAITING_MAX, ballot_key};
use crate::ballot::handler::BallotReject;
use crate::ballot::wire::Proposal;
use crate::codec::decode_shared;
use crate::fetch::Hint;
use crate::types::{BallotId, Hash32, LayerId, PeerId, Time};

/// Proposals waiting for a fetch, by what is fetched.
#[derive(Debug, Default)]
pub(super) struct Waiting {
    by_fetch: BTreeMap<(Hint, Hash32), Vec<WaitingProposal>>,
    len: usize,
}

#[derive(Debug)]
struct WaitingProposal {
    layer: LayerId,
    data: Bytes,
    from: PeerId,
}

impl Waiting {
    /// Files a proposal of `layer` under the fetch `key`; `false` if it is already there or
    /// the bound is reached.
    fn add(&mut self, key: (Hint, Hash32), layer: LayerId, data: &Bytes, from: PeerId) -> bool {
        if self.len >= WAITING_MAX {
            return false;
        }
        let waiting = self.by_fetch.entry(key).or_default();
        if waiting.iter().any(|w| w.data == *data) {
            return false;
        }
        waiting.push(WaitingProposal { layer, data: data.clone(), from });
        self.len += 1;
        true
    }

    /// Takes the proposals waiting for `key`, each with the peer it came from.
    pub(super) fn take(&mut self, key: &(Hint, Hash32)) -> Vec<(Bytes, PeerId)> {
        let taken = self.by_fetch.remove(key).unwrap_or_default();
        self.len -= taken.len();
        taken.into_iter().map(|w| (w.data, w.from)).collect()
    }

    /// Drops the proposals of layers before `oldest`.
    pub(super) fn prune(&mut self, oldest: LayerId) {
        self.by_fetch.retain(|_, waiting| {
            waiting.retain(|w| w.layer >= oldest);
            !waiting.is_empty()
        });
        self.len = self.by_fetch.values().map(Vec::len).sum();
    }

    /// Proposals waiting.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether none waits.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Panics if the count or the bound is broken.
    pub(super) fn check_invariants(&self) {
        assert_eq!(self.len, self.by_fetch.values().map(Vec::len).sum::<usize>(), "count");
        assert!(self.len <= WAITING_MAX, "proposals waiting for a reference are bounded");
        assert!(self.by_fetch.values().all(|w| !w.is_empty()), "no empty entry");
    }
}

impl Consensus {
    /// A proposal from `from` was refused with `reject`: if that is for a ref ballot or an
    /// ATX this node lacks, the proposal's ballot signature verifies and there is room, it
    /// waits for the missing object, which is asked of `from` first.
    pub(super) fn wait_for_reference(&mut self, data: &Bytes, from: PeerId, reject: &BallotReject) {
        let Ok(p) = decode_shared::<Proposal>(data) else { return };
        let inner = &p.ballot.inner;
        let key = match (reject, &inner.epoch_data) {
            (BallotReject::UnknownRefBallot, _) if inner.ref_ballot != BallotId::default() => {
                (Hint::Ballot, ballot_key(&inner.ref_ballot))
            }
            (BallotReject::UnknownAtx, _) => (Hint::Atx, inner.atx),
            (BallotReject::UnknownActiveSet, Some(d)) => (Hint::ActiveSet, d.active_set_hash),
            _ => return,
        };
        let c = p.ballot.signature_check(&self.genesis);
        if !self.verifier.verify(&c.public_key, &c.signed_message, &c.signature) {
            return;
        }
        // A declared set is asked for by `want_declared_set`, within its bound.
        if self.waiting.add(key, inner.layer, data, from) && key.0 != Hint::ActiveSet {
            self.fetcher.want(key.0, key.1, Some(from));
        }
    }

    /// The object fetched under `key` was accepted: the proposals that waited for it are
    /// judged again.
    pub(super) fn judge_waiting(&mut self, now: Time, key: (Hint, Hash32)) {
        for (data, peer) in self.waiting.take(&key) {
            if self.take_proposal(now, &data, peer).is_ok() {
                crate::coverage::mark(crate::coverage::REFERENCE_FETCHED);
            }
        }
    }
}

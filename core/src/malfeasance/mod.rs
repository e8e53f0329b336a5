//! Malfeasance: self-contained proofs that an identity broke a rule, and the set of identities a
//! node holds proofs against (protocol.md section 2).
//!
//! A proof convinces anyone who checks it, with no other context than the network's genesis id
//! (and, for an invalid PoST index, the PoST parameters and the identity's commitment ATX). An
//! identity with a valid proof is malicious forever: its ATX weight leaves active sets, its
//! ballots and eligibilities stop counting. Proofs are gossiped, checked, persisted and served.

use std::collections::BTreeMap;

use crate::activation::wire::{Atx, AtxMetadata};
use crate::ballot::wire::BallotMetadata;
use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::{Domain, Signature, Verifier, signed_message};
use crate::hare::wire::HareMetadata;
use crate::impl_codec_struct;
use crate::store::{Batch, Snapshot};
use crate::types::{GenesisId, NodeId, Time};

/// One signed ATX metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedAtxMetadata {
    /// What was signed.
    pub metadata: AtxMetadata,
    /// The signature.
    pub signature: Signature,
}
impl_codec_struct!(SignedAtxMetadata { metadata, signature });

/// One signed ballot metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedBallotMetadata {
    /// What was signed.
    pub metadata: BallotMetadata,
    /// The signature.
    pub signature: Signature,
}
impl_codec_struct!(SignedBallotMetadata { metadata, signature });

/// One signed hare message metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedHareMetadata {
    /// What was signed.
    pub metadata: HareMetadata,
    /// The signature.
    pub signature: Signature,
}
impl_codec_struct!(SignedHareMetadata { metadata, signature });

/// Evidence against one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Two different ATXs in one publish epoch (go-spacemesh type 1).
    MultipleAtxs(SignedAtxMetadata, SignedAtxMetadata),
    /// Two different ballots in one layer (type 2).
    MultipleBallots(SignedBallotMetadata, SignedBallotMetadata),
    /// Two different hare messages for one layer and round (type 3).
    HareEquivocation(SignedHareMetadata, SignedHareMetadata),
    /// An ATX whose PoST proof lists a label that is not good (type 4): the ATX and the
    /// position of the failing index in its proof.
    InvalidPostIndex {
        /// The full ATX.
        atx: Box<Atx>,
        /// Position in the proof's index list.
        position: u32,
    },
}

/// A malfeasance proof: the accused identity and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalfeasanceProof {
    /// The accused identity.
    pub smesher: NodeId,
    /// The evidence.
    pub evidence: Evidence,
}

impl Encode for MalfeasanceProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.smesher.encode_to(out);
        match &self.evidence {
            Evidence::MultipleAtxs(a, b) => {
                out.push(1);
                a.encode_to(out);
                b.encode_to(out);
            }
            Evidence::MultipleBallots(a, b) => {
                out.push(2);
                a.encode_to(out);
                b.encode_to(out);
            }
            Evidence::HareEquivocation(a, b) => {
                out.push(3);
                a.encode_to(out);
                b.encode_to(out);
            }
            Evidence::InvalidPostIndex { atx, position } => {
                out.push(4);
                atx.encode_to(out);
                position.encode_to(out);
            }
        }
    }
}

impl Decode for MalfeasanceProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let smesher = NodeId::decode(r)?;
        let evidence = match r.byte()? {
            1 => Evidence::MultipleAtxs(Decode::decode(r)?, Decode::decode(r)?),
            2 => Evidence::MultipleBallots(Decode::decode(r)?, Decode::decode(r)?),
            3 => Evidence::HareEquivocation(Decode::decode(r)?, Decode::decode(r)?),
            4 => Evidence::InvalidPostIndex {
                atx: Box::new(Atx::decode(r)?),
                position: u32::decode(r)?,
            },
            tag => return Err(DecodeError::InvalidTag { what: "malfeasance evidence", tag }),
        };
        Ok(MalfeasanceProof { smesher, evidence })
    }
}

/// Why a proof is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The two signed messages are the same message.
    #[error("the two messages are identical")]
    SameMessage,
    /// The two messages are not in the same epoch or layer.
    #[error("the two messages are for different epochs or layers")]
    DifferentSlot,
    /// A signature does not verify for the accused identity.
    #[error("a signature is not the accused identity's")]
    BadSignature,
    /// The ATX of an invalid-index proof is not the accused identity's.
    #[error("the ATX is not the accused identity's")]
    WrongSmesher,
    /// The claimed index is in fact good (or out of range).
    #[error("the PoST index at position {0} is valid or does not exist")]
    IndexValid(u32),
}

impl MalfeasanceProof {
    /// A double-publish proof with the two ATXs in canonical (encoding) order, so every node that
    /// detects the same double publish builds byte-identical proofs and gossip deduplicates them.
    pub fn multiple_atxs(smesher: NodeId, a: SignedAtxMetadata, b: SignedAtxMetadata) -> Self {
        let (a, b) = if a.encode() <= b.encode() { (a, b) } else { (b, a) };
        MalfeasanceProof { smesher, evidence: Evidence::MultipleAtxs(a, b) }
    }

    /// A double-ballot proof, canonical as [`MalfeasanceProof::multiple_atxs`].
    pub fn multiple_ballots(
        smesher: NodeId,
        a: SignedBallotMetadata,
        b: SignedBallotMetadata,
    ) -> Self {
        let (a, b) = if a.encode() <= b.encode() { (a, b) } else { (b, a) };
        MalfeasanceProof { smesher, evidence: Evidence::MultipleBallots(a, b) }
    }

    /// A hare equivocation proof, canonical as [`MalfeasanceProof::multiple_atxs`].
    pub fn hare_equivocation(
        smesher: NodeId,
        a: SignedHareMetadata,
        b: SignedHareMetadata,
    ) -> Self {
        let (a, b) = if a.encode() <= b.encode() { (a, b) } else { (b, a) };
        MalfeasanceProof { smesher, evidence: Evidence::HareEquivocation(a, b) }
    }

    /// A short name of the evidence kind.
    pub fn kind(&self) -> &'static str {
        match self.evidence {
            Evidence::MultipleAtxs(..) => "multiple-atxs",
            Evidence::MultipleBallots(..) => "multiple-ballots",
            Evidence::HareEquivocation(..) => "hare-equivocation",
            Evidence::InvalidPostIndex { .. } => "invalid-post-index",
        }
    }

    /// Checks the signature-based evidence. An invalid-PoST-index proof additionally needs the
    /// label check ([`crate::job::Job::VerifyMalfeasance`] does both).
    pub fn verify_signatures(
        &self,
        genesis: &GenesisId,
        verifier: &dyn Verifier,
    ) -> Result<(), ProofError> {
        let check = |domain: Domain, msg: Vec<u8>, sig: &Signature| {
            if verifier.verify(&self.smesher.0, &signed_message(genesis, domain, &msg), sig) {
                Ok(())
            } else {
                Err(ProofError::BadSignature)
            }
        };
        match &self.evidence {
            Evidence::MultipleAtxs(a, b) => {
                if a.metadata == b.metadata {
                    return Err(ProofError::SameMessage);
                }
                if a.metadata.publish_epoch != b.metadata.publish_epoch {
                    return Err(ProofError::DifferentSlot);
                }
                check(Domain::Atx, a.metadata.encode(), &a.signature)?;
                check(Domain::Atx, b.metadata.encode(), &b.signature)
            }
            Evidence::MultipleBallots(a, b) => {
                if a.metadata == b.metadata {
                    return Err(ProofError::SameMessage);
                }
                if a.metadata.layer != b.metadata.layer {
                    return Err(ProofError::DifferentSlot);
                }
                check(Domain::Ballot, a.metadata.encode(), &a.signature)?;
                check(Domain::Ballot, b.metadata.encode(), &b.signature)
            }
            Evidence::HareEquivocation(a, b) => {
                if a.metadata == b.metadata {
                    return Err(ProofError::SameMessage);
                }
                if (a.metadata.layer, a.metadata.round) != (b.metadata.layer, b.metadata.round) {
                    return Err(ProofError::DifferentSlot);
                }
                check(Domain::Hare, a.metadata.encode(), &a.signature)?;
                check(Domain::Hare, b.metadata.encode(), &b.signature)
            }
            Evidence::InvalidPostIndex { atx, .. } => {
                if atx.smesher != self.smesher {
                    return Err(ProofError::WrongSmesher);
                }
                check(Domain::Atx, atx.metadata().encode(), &atx.signature)
            }
        }
    }
}

/// Store key prefix of proofs.
const KEY_PREFIX: &[u8] = b"malfeasance/";

/// Identities this node holds valid proofs against.
#[derive(Debug, Default)]
pub struct MaliciousSet {
    proofs: BTreeMap<NodeId, (MalfeasanceProof, Time)>,
}

impl MaliciousSet {
    /// Restores the set from the store (proofs were checked before they were persisted).
    pub fn restore(snapshot: &Snapshot) -> Result<Self, DecodeError> {
        let mut set = MaliciousSet::default();
        let start = KEY_PREFIX.to_vec();
        for (k, v) in snapshot.range(start..) {
            if !k.starts_with(KEY_PREFIX) {
                break;
            }
            let mut r = Reader::new(v);
            let received = Time::decode(&mut r)?;
            let proof = MalfeasanceProof::decode(&mut r)?;
            set.proofs.insert(proof.smesher, (proof, received));
        }
        Ok(set)
    }

    /// Records a checked proof; returns the batch to persist, or `None` if the identity was
    /// already known to be malicious.
    pub fn insert(&mut self, now: Time, proof: MalfeasanceProof) -> Option<Batch> {
        if self.proofs.contains_key(&proof.smesher) {
            return None;
        }
        let mut key = KEY_PREFIX.to_vec();
        key.extend_from_slice(&proof.smesher.0);
        let mut value = now.encode();
        proof.encode_to(&mut value);
        let mut batch = Batch::default();
        batch.put(&key, &value);
        self.proofs.insert(proof.smesher, (proof, now));
        Some(batch)
    }

    /// Whether `smesher` is known malicious.
    pub fn contains(&self, smesher: &NodeId) -> bool {
        self.proofs.contains_key(smesher)
    }

    /// Whether `smesher` was known malicious at or before `time`.
    pub fn known_by(&self, smesher: &NodeId, time: Time) -> bool {
        self.proofs.get(smesher).is_some_and(|(_, t)| *t <= time)
    }

    /// When this node learned that `smesher` is malicious (its local clock).
    pub fn learned(&self, smesher: &NodeId) -> Option<Time> {
        self.proofs.get(smesher).map(|(_, t)| *t)
    }

    /// The proof against `smesher`.
    pub fn proof(&self, smesher: &NodeId) -> Option<&MalfeasanceProof> {
        self.proofs.get(smesher).map(|(p, _)| p)
    }

    /// Identities known malicious, in order.
    pub fn identities(&self) -> impl Iterator<Item = &NodeId> {
        self.proofs.keys()
    }

    /// Number of malicious identities.
    pub fn len(&self) -> usize {
        self.proofs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.proofs.is_empty()
    }
}

#[cfg(test)]
mod tests;

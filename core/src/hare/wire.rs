//! The hare message on the wire (go-spacemesh `hare3.Message`) and what its signature covers.

use crate::codec::Encode;
use crate::crypto::{Domain, Signature, Signer, Verifier, hash, signed_message};
use crate::impl_codec_struct;
use crate::job::SignatureCheck;
use crate::types::{GenesisId, Hash32, LayerId, NodeId};
use crate::vrf::VrfSignature;

use super::round::{IterRound, Value};

/// The largest encoded hare message accepted from the network: a full preround set plus the
/// fixed fields, with room to spare.
pub const HARE_MESSAGE_MAX: usize = 64 * 1024;

/// A committee seat claim: the VRF proof of the round's sortition and the seat count it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HareEligibility {
    /// ECVRF proof over the hare VRF message of (beacon, absolute round, layer).
    pub proof: VrfSignature,
    /// Seats (≥ 1 for a valid message).
    pub count: u16,
}
impl_codec_struct!(HareEligibility { proof, count });

/// The signed part of a hare message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HareBody {
    /// The layer the session decides.
    pub layer: LayerId,
    /// Iteration and round.
    pub iter_round: IterRound,
    /// Proposal set or reference.
    pub value: Value,
    /// The sender's seats.
    pub eligibility: HareEligibility,
}
impl_codec_struct!(HareBody { layer, iter_round, value, eligibility });

/// What a hare signature covers (and what an equivocation proof carries): the layer, the
/// absolute round and the body hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HareMetadata {
    /// The layer.
    pub layer: LayerId,
    /// The absolute round.
    pub round: u32,
    /// `blake3(SCALE(body))`.
    pub msg_hash: Hash32,
}
impl_codec_struct!(HareMetadata { layer, round, msg_hash });

/// A hare message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HareMessage {
    /// Signed content.
    pub body: HareBody,
    /// The sender.
    pub sender: NodeId,
    /// Signature (domain HARE) over [`HareMetadata`].
    pub signature: Signature,
}
impl_codec_struct!(HareMessage { body, sender, signature });

impl HareMessage {
    /// Builds and signs a message.
    pub fn sign(signer: &Signer, body: HareBody) -> HareMessage {
        let meta = metadata_of(&body);
        let signature = signer.sign(Domain::Hare, &meta.encode());
        HareMessage { body, sender: signer.node_id(), signature }
    }

    /// The signed metadata.
    pub fn metadata(&self) -> HareMetadata {
        metadata_of(&self.body)
    }

    /// The signed metadata, with the body hashed by `verifier` ([`Verifier::hare_body_hash`]:
    /// a runtime hosting many nodes hashes each message once for all of them).
    pub fn metadata_via(&self, verifier: &dyn Verifier) -> HareMetadata {
        metadata_with(&self.body, verifier.hare_body_hash(&self.body))
    }

    /// The signature check.
    pub fn signature_check(&self, genesis: &GenesisId) -> SignatureCheck {
        self.signature_check_of(genesis, &self.metadata())
    }

    /// The signature check, given this message's [`HareMessage::metadata`] (which hashes the
    /// body: a receiver that needs both computes it once).
    pub fn signature_check_of(&self, genesis: &GenesisId, meta: &HareMetadata) -> SignatureCheck {
        debug_assert_eq!(*meta, self.metadata(), "the metadata of another message");
        SignatureCheck {
            public_key: self.sender.0,
            signed_message: signed_message(genesis, Domain::Hare, &meta.encode()),
            signature: self.signature,
        }
    }
}

fn metadata_of(body: &HareBody) -> HareMetadata {
    metadata_with(body, body.hash())
}

fn metadata_with(body: &HareBody, msg_hash: Hash32) -> HareMetadata {
    HareMetadata { layer: body.layer, round: body.iter_round.absolute(), msg_hash }
}

impl HareBody {
    /// `blake3(SCALE(body))`: the [`HareMetadata::msg_hash`] a signature covers.
    pub fn hash(&self) -> Hash32 {
        hash(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;
    use crate::crypto::{Ed25519Verifier, Verifier};
    use crate::hare::Round;
    use crate::types::ProposalId;

    #[test]
    fn signed_messages_verify_and_round_trip() {
        let genesis = GenesisId([3; 20]);
        let signer = Signer::from_seed([9; 32], genesis);
        let body = HareBody {
            layer: LayerId(20),
            iter_round: IterRound::new(1, Round::Propose),
            value: Value::proposals(vec![ProposalId([1; 20])]),
            eligibility: HareEligibility { proof: VrfSignature([5; 80]), count: 2 },
        };
        let msg = HareMessage::sign(&signer, body);
        let back: HareMessage = decode_exact(&msg.encode()).unwrap();
        assert_eq!(back, msg);
        let c = msg.signature_check(&genesis);
        assert!(Ed25519Verifier.verify(&c.public_key, &c.signed_message, &c.signature));
        assert_eq!(msg.metadata().round, 10);
        let mut forged = msg.clone();
        forged.body.eligibility.count = 3;
        let c = forged.signature_check(&genesis);
        assert!(!Ed25519Verifier.verify(&c.public_key, &c.signed_message, &c.signature));
    }
}

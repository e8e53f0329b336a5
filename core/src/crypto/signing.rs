//! ed25519 signatures with domain separation.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::types::{GenesisId, NodeId};

/// What kind of message a signature is for. Values below 128 are go-spacemesh's
/// `signing.Domain` numbers; 128 and above are this project's own message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Domain {
    /// Activation transactions.
    Atx = 0,
    /// Proposals.
    Proposal = 1,
    /// Ballots.
    Ballot = 2,
    /// Hare messages.
    Hare = 3,
    /// PoET registrations.
    Poet = 4,
    /// First-round beacon votes.
    BeaconFirstMsg = 10,
    /// Following-round beacon votes.
    BeaconFollowupMsg = 11,
    /// Signed node heartbeats gossiped on the heartbeat topic.
    Heartbeat = 128,
    /// The transport handshake: a node's p2p key vouching for its encrypted session.
    P2pHandshake = 129,
}

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

impl Encode for Signature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Signature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(Signature)
    }
}

/// The bytes a signature covers: `genesis_id || domain || message`.
pub fn signed_message(genesis: &GenesisId, domain: Domain, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(GenesisId::LEN + 1 + message.len());
    out.extend_from_slice(&genesis.0);
    out.push(domain as u8);
    out.extend_from_slice(message);
    out
}

/// Signs messages for one identity on one network.
pub struct Signer {
    key: SigningKey,
    genesis: GenesisId,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        write!(f, "Signer({:?})", self.node_id())
    }
}

impl Signer {
    /// A signer from a 32-byte ed25519 secret seed.
    pub fn from_seed(seed: [u8; 32], genesis: GenesisId) -> Self {
        Signer { key: SigningKey::from_bytes(&seed), genesis }
    }

    /// The public key as a smeshing identity.
    pub fn node_id(&self) -> NodeId {
        NodeId(self.key.verifying_key().to_bytes())
    }

    /// The network this signer signs for.
    pub fn genesis(&self) -> GenesisId {
        self.genesis
    }

    /// Signs `message` under `domain`.
    pub fn sign(&self, domain: Domain, message: &[u8]) -> Signature {
        let full = signed_message(&self.genesis, domain, message);
        Signature(self.key.sign(&full).to_bytes())
    }
}

/// Checks signatures over full signed messages (see [`signed_message`]).
///
/// Implementations must be pure functions of their arguments: the simulator shares one memoizing
/// verifier between all nodes, which is only deterministic because the answer never depends on
/// who asks or when.
pub trait Verifier: Send + Sync + fmt::Debug {
    /// Whether `signature` is `public_key`'s signature of `signed_message`.
    fn verify(&self, public_key: &[u8; 32], signed_message: &[u8], signature: &Signature) -> bool;

    /// Whether `proof` is `public_key`'s ECVRF proof for `message` (see [`crate::vrf`]).
    fn verify_vrf(
        &self,
        public_key: &[u8; 32],
        message: &[u8],
        proof: &crate::vrf::VrfSignature,
    ) -> bool {
        crate::vrf::verify(public_key, message, proof)
    }

    /// The header every node derives from one valid ATX, as an allocation to keep: a runtime
    /// that hosts many nodes in one process may return the same allocation to all of them for
    /// equal headers (the header is a function of the ATX, so each node holds what it would
    /// have built). A real node keeps its own.
    fn share_atx_header(
        &self,
        header: crate::activation::AtxHeader,
    ) -> std::sync::Arc<crate::activation::AtxHeader> {
        std::sync::Arc::new(header)
    }

    /// The raw bytes of a valid ATX, as an allocation to keep (shared like
    /// [`Verifier::share_atx_header`]: every node keeps every ATX's bytes for a few epochs, to
    /// serve peers and build proofs).
    fn share_atx_raw(
        &self,
        id: crate::activation::wire::AtxId,
        raw: bytes::Bytes,
    ) -> std::sync::Arc<bytes::Bytes> {
        let _ = id;
        std::sync::Arc::new(raw)
    }

    /// The record every node derives from one valid ballot, as an allocation to keep (shared
    /// like [`Verifier::share_atx_header`]: the record is a function of the proposal and its
    /// ref ballot's epoch data).
    fn share_ballot_record(
        &self,
        record: crate::ballot::BallotRecord,
    ) -> std::sync::Arc<crate::ballot::BallotRecord> {
        std::sync::Arc::new(record)
    }

    /// What the tortoise keeps of one valid ballot, as an allocation to keep (shared like
    /// [`Verifier::share_atx_header`]: the header is a function of the ballot, its ATX and its
    /// base ballot's opinion, and every node keeps every ballot of the window).
    fn share_tortoise_ballot(
        &self,
        header: crate::tortoise::BallotHeader,
    ) -> std::sync::Arc<crate::tortoise::BallotHeader> {
        std::sync::Arc::new(header)
    }

    /// [`crate::activation::Atx::id`] (a hash of the encoded inner ATX). Pure like the
    /// signature checks, so a runtime that hosts many nodes in one process may compute it once
    /// per ATX for all of them.
    fn atx_id(&self, atx: &crate::activation::Atx) -> crate::activation::AtxId {
        atx.id()
    }

    /// Whether `proof` puts `leaf` in the PoET membership tree of `root`
    /// ([`crate::poet::MembershipProof::verify`]). Pure like the signature checks, so a
    /// runtime that hosts many nodes in one process may check each ATX's proof once for all.
    fn verify_membership(
        &self,
        proof: &crate::poet::MembershipProof,
        leaf: &crate::types::Hash32,
        root: &crate::types::Hash32,
    ) -> bool {
        proof.verify(leaf, root)
    }

    /// The PoET membership tree over `members` (a round's member list, from a PoET's proof
    /// answer): its root is the statement the proof commits to, and a node takes its own
    /// membership proof from it. A function of the list, so a runtime that hosts many nodes in
    /// one process may build each round's tree once for all of them (every node would
    /// otherwise hash every member, twice).
    fn membership_tree(
        &self,
        members: &[crate::types::Hash32],
    ) -> std::sync::Arc<crate::poet::MembershipTree> {
        std::sync::Arc::new(crate::poet::MembershipTree::new(members))
    }

    /// [`crate::hare::wire::HareBody::hash`]: what a hare message's signature covers. Pure
    /// like the signature checks, so a runtime that hosts many nodes in one process may hash
    /// each message once for all of them.
    fn hare_body_hash(&self, body: &crate::hare::wire::HareBody) -> crate::types::Hash32 {
        body.hash()
    }

    /// The proof, hash and signature of a received hare message, as an allocation to keep
    /// (shared like [`Verifier::share_atx_header`]: every receiver keeps the same parts).
    fn share_hare_signed(
        &self,
        signed: crate::hare::Signed,
    ) -> std::sync::Arc<crate::hare::Signed> {
        std::sync::Arc::new(signed)
    }

    /// A verified certify message, as an allocation to keep (shared like
    /// [`Verifier::share_atx_header`]: every node keeps every committee message of a window
    /// of layers).
    fn share_certify_message(
        &self,
        msg: crate::certifier::CertifyMessage,
    ) -> std::sync::Arc<crate::certifier::CertifyMessage> {
        std::sync::Arc::new(msg)
    }

    /// An epoch's active set with its hash, as an allocation to keep (shared like
    /// [`Verifier::share_atx_header`]: honest nodes agree on the set, a thousand ids that every
    /// node keeps for several epochs).
    fn share_active_set(
        &self,
        hash: crate::types::Hash32,
        set: crate::activation::ActiveSet,
    ) -> std::sync::Arc<crate::activation::ActiveSet> {
        let _ = hash;
        std::sync::Arc::new(set)
    }

    /// A block this node built or received, under its id, as an allocation to keep (shared
    /// like [`Verifier::share_atx_header`]: every node builds the same block from the same hare
    /// output and keeps a window of them).
    fn share_block(
        &self,
        id: crate::types::BlockId,
        block: crate::block::Block,
    ) -> std::sync::Arc<crate::block::Block> {
        let _ = id;
        std::sync::Arc::new(block)
    }

    /// The result of applying a block to a ledger state that this runtime computed before
    /// under an equal key (see [`crate::mesh::StepKey`]: the state root, the block and the
    /// rules), for a node to adopt instead of executing the block again. A runtime that hosts
    /// many nodes in one process may remember what [`Verifier::keep_layer_step`] gave it; a
    /// real node remembers nothing.
    fn recall_layer_step(
        &self,
        key: &crate::mesh::StepKey,
    ) -> Option<std::sync::Arc<crate::mesh::LayerStep>> {
        let _ = key;
        None
    }

    /// A layer application a node just computed, for [`Verifier::recall_layer_step`].
    fn keep_layer_step(
        &self,
        key: crate::mesh::StepKey,
        step: std::sync::Arc<crate::mesh::LayerStep>,
    ) {
        let _ = (key, step);
    }

    /// An epoch's hare committee (beacon and weight per identity), as an allocation to keep
    /// (shared like [`Verifier::share_atx_header`]: a function of the active set and the
    /// beacon, looked up for every hare and certify message).
    fn share_committee(
        &self,
        committee: crate::hare::Committee,
    ) -> std::sync::Arc<crate::hare::Committee> {
        std::sync::Arc::new(committee)
    }

    /// Whether `count` is the committee seat count that the (already verified) VRF `proof`
    /// gives an identity of `weight` out of `total_weight` for a committee of
    /// `committee_size` (see [`crate::eligibility::hare::validate_count`]). Pure like the
    /// signature checks, so a simulator may share the answer between nodes.
    fn valid_committee_count(
        &self,
        weight: u64,
        committee_size: u32,
        total_weight: u64,
        proof: &crate::vrf::VrfSignature,
        count: u16,
    ) -> bool {
        count > 0
            && crate::eligibility::hare::validate_count(
                weight,
                committee_size,
                total_weight,
                proof,
                count,
            )
            .unwrap_or(false)
    }
}

/// Plain ed25519 verification (strict: rejects small-order keys and malleable signatures).
#[derive(Debug, Default, Clone, Copy)]
pub struct Ed25519Verifier;

impl Verifier for Ed25519Verifier {
    fn verify(&self, public_key: &[u8; 32], signed_message: &[u8], signature: &Signature) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(public_key) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(signed_message, &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::from_seed([7; 32], GenesisId([1; 20]))
    }

    /// A signature verifies for its own domain and network only.
    #[test]
    fn domain_and_genesis_separate_signatures() {
        let s = signer();
        let sig = s.sign(Domain::Heartbeat, b"msg");
        let v = Ed25519Verifier;
        let pk = s.node_id().0;
        assert!(v.verify(&pk, &signed_message(&s.genesis(), Domain::Heartbeat, b"msg"), &sig));
        assert!(!v.verify(&pk, &signed_message(&s.genesis(), Domain::Hare, b"msg"), &sig));
        assert!(!v.verify(
            &pk,
            &signed_message(&GenesisId([2; 20]), Domain::Heartbeat, b"msg"),
            &sig
        ));
        assert!(!v.verify(&pk, &signed_message(&s.genesis(), Domain::Heartbeat, b"msh"), &sig));
    }

    /// Garbage keys and signatures are rejected without panicking.
    #[test]
    fn garbage_is_rejected() {
        let v = Ed25519Verifier;
        assert!(!v.verify(&[0xff; 32], b"m", &Signature([0; 64])));
        assert!(!v.verify(&signer().node_id().0, b"m", &Signature([0xff; 64])));
    }

    /// The debug form of a signer shows the identity, never the secret.
    #[test]
    fn debug_hides_secret() {
        let dbg = format!("{:?}", signer());
        assert!(dbg.starts_with("Signer(NodeId("), "{dbg}");
    }
}

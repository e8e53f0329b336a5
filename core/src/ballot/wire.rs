//! Ballot and proposal wire format (go-spacemesh `types.Ballot`, `types.Proposal`).
//!
//! A ballot is an identity's vote in one layer, backed by VRF eligibility proofs; the first
//! ballot of an identity in an epoch (the *ref ballot*) carries the epoch data (declared active
//! set, beacon, eligibility count) that later ballots refer to. A proposal wraps a ballot with
//! the transactions its smesher proposes for the layer; proposals are what is gossiped.

use crate::activation::wire::AtxId;
use crate::codec::{BoundedVec, Encode};
use crate::crypto::{Domain, Signature, Signer, hash, signed_message};
use crate::impl_codec_struct;
use crate::job::SignatureCheck;
use crate::types::{BallotId, Beacon, BlockId, GenesisId, Hash32, LayerId, NodeId, ProposalId};
use crate::vrf::VrfSignature;

/// Most eligibility proofs in one ballot.
pub const ELIGIBILITIES_MAX: usize = 256;
/// Most block votes of each kind.
pub const VOTES_MAX: usize = 1000;
/// Most transactions in one proposal.
pub const TXS_MAX: usize = 1000;

/// Epoch data of a ref ballot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochData {
    /// Hash of the active set the eligibility count was computed over.
    pub active_set_hash: Hash32,
    /// The beacon the smesher uses for the epoch.
    pub beacon: Beacon,
    /// Slots of the identity in the epoch.
    pub eligibility_count: u32,
}
impl_codec_struct!(EpochData { active_set_hash, beacon, eligibility_count });

/// A vote on one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockVote {
    /// Block id.
    pub id: BlockId,
    /// Its layer.
    pub layer: LayerId,
    /// Its tick height.
    pub height: u64,
}
impl_codec_struct!(BlockVote { id, layer, height });

/// The opinion a ballot carries: a base ballot plus exceptions (filled by the tortoise).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Votes {
    /// The ballot whose opinion this one starts from.
    pub base: BallotId,
    /// Blocks voted for beyond the base.
    pub support: BoundedVec<BlockVote, VOTES_MAX>,
    /// Blocks voted against beyond the base.
    pub against: BoundedVec<BlockVote, VOTES_MAX>,
    /// Layers abstained on.
    pub abstain: BoundedVec<LayerId, VOTES_MAX>,
}
impl_codec_struct!(Votes { base, support, against, abstain });

/// The signed part of a ballot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerBallot {
    /// The layer voted in.
    pub layer: LayerId,
    /// The smesher's ATX for this epoch.
    pub atx: AtxId,
    /// Hash of the opinion (binds the votes).
    pub opinion_hash: Hash32,
    /// The ref ballot of the epoch (zero in a ref ballot).
    pub ref_ballot: BallotId,
    /// Present in the ref ballot only.
    pub epoch_data: Option<EpochData>,
}
impl_codec_struct!(InnerBallot { layer, atx, opinion_hash, ref_ballot, epoch_data });

/// One eligibility: slot `j` of the epoch and its VRF proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VotingEligibility {
    /// Slot index, below the eligibility count.
    pub j: u32,
    /// VRF proof over the ballot eligibility message.
    pub sig: VrfSignature,
}
impl_codec_struct!(VotingEligibility { j, sig });

/// What a ballot signature covers: the layer and the hash of the inner ballot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BallotMetadata {
    /// The layer.
    pub layer: LayerId,
    /// `blake3(SCALE(inner))`.
    pub msg_hash: Hash32,
}
impl_codec_struct!(BallotMetadata { layer, msg_hash });

/// A ballot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ballot {
    /// Signed content.
    pub inner: InnerBallot,
    /// Votes (bound by `inner.opinion_hash`).
    pub votes: Votes,
    /// Eligibility proofs for this layer, `j` strictly increasing.
    pub eligibilities: BoundedVec<VotingEligibility, ELIGIBILITIES_MAX>,
    /// The identity.
    pub smesher: NodeId,
    /// Signature over [`BallotMetadata`] (domain BALLOT).
    pub signature: Signature,
}
impl_codec_struct!(Ballot { inner, votes, eligibilities, smesher, signature });

impl Ballot {
    /// Builds and signs a ballot.
    pub fn sign(
        signer: &Signer,
        inner: InnerBallot,
        votes: Votes,
        eligibilities: BoundedVec<VotingEligibility, ELIGIBILITIES_MAX>,
    ) -> Ballot {
        let meta = BallotMetadata { layer: inner.layer, msg_hash: hash(&inner.encode()) };
        let signature = signer.sign(Domain::Ballot, &meta.encode());
        Ballot { inner, votes, eligibilities, smesher: signer.node_id(), signature }
    }

    /// The signed metadata.
    pub fn metadata(&self) -> BallotMetadata {
        BallotMetadata { layer: self.inner.layer, msg_hash: hash(&self.inner.encode()) }
    }

    /// The ballot id.
    pub fn id(&self) -> BallotId {
        let h = self.metadata().msg_hash;
        let mut id = [0u8; 20];
        id.copy_from_slice(&h.0[..20]);
        BallotId(id)
    }

    /// The signature check.
    pub fn signature_check(&self, genesis: &GenesisId) -> SignatureCheck {
        SignatureCheck {
            public_key: self.smesher.0,
            signed_message: signed_message(genesis, Domain::Ballot, &self.metadata().encode()),
            signature: self.signature,
        }
    }

    /// Whether the votes match the opinion hash the signature covers.
    pub fn votes_match(&self) -> bool {
        opinion_hash(&self.votes) == self.inner.opinion_hash
    }
}

/// The opinion hash of a set of votes.
pub fn opinion_hash(votes: &Votes) -> Hash32 {
    hash(&votes.encode())
}

/// A proposal: a ballot plus the transactions proposed for its layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The ballot.
    pub ballot: Ballot,
    /// Proposed transaction ids.
    pub tx_ids: BoundedVec<Hash32, TXS_MAX>,
    /// Aggregated hash of the previous layer in the builder's view (zero when unsettled).
    pub mesh_hash: Hash32,
    /// Signature (domain PROPOSAL) over the layer and the hash of ballot id, txs and mesh hash.
    pub signature: Signature,
}
impl_codec_struct!(Proposal { ballot, tx_ids, mesh_hash, signature });

impl Proposal {
    /// Builds and signs a proposal.
    pub fn sign(
        signer: &Signer,
        ballot: Ballot,
        tx_ids: BoundedVec<Hash32, TXS_MAX>,
        mesh_hash: Hash32,
    ) -> Proposal {
        let mut p = Proposal { ballot, tx_ids, mesh_hash, signature: Signature([0; 64]) };
        p.signature = signer.sign(Domain::Proposal, &p.signed_bytes());
        p
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut body = self.ballot.id().0.to_vec();
        self.tx_ids.encode_to(&mut body);
        self.mesh_hash.encode_to(&mut body);
        BallotMetadata { layer: self.ballot.inner.layer, msg_hash: hash(&body) }.encode()
    }

    /// The proposal id.
    pub fn id(&self) -> ProposalId {
        let h = hash(&self.signed_bytes());
        let mut id = [0u8; 20];
        id.copy_from_slice(&h.0[..20]);
        ProposalId(id)
    }

    /// The proposal's own signature check (the ballot has its own).
    pub fn signature_check(&self, genesis: &GenesisId) -> SignatureCheck {
        SignatureCheck {
            public_key: self.ballot.smesher.0,
            signed_message: signed_message(genesis, Domain::Proposal, &self.signed_bytes()),
            signature: self.signature,
        }
    }
}

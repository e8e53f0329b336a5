//! ATX wire format (go-spacemesh `wire.ActivationTxV1`), its id and its signature.
//!
//! `id = blake3(SCALE(inner))`; the smesher signs (domain ATX) the metadata
//! `{publish_epoch, id}`, so two ATXs of one identity in one epoch can be proven with their
//! metadata and signatures alone (the `MultipleAtxs` malfeasance proof).

use crate::codec::Encode;
use crate::crypto::{Domain, Signature, Signer, hash, signed_message};
use crate::impl_codec_struct;
use crate::job::SignatureCheck;
use crate::poet::MembershipProof;
use crate::post::Proof;
use crate::types::{EpochId, GenesisId, Hash32, NodeId};

/// An ATX id.
pub type AtxId = Hash32;

/// A coinbase address: an account address (see [`crate::account`]).
pub use crate::account::Address;

/// What the smesher commits to before the PoET round: it is hashed into the PoET membership leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NipostChallenge {
    /// The epoch the ATX is published in; it counts in the next one.
    pub publish_epoch: EpochId,
    /// 0 for the first ATX of an identity, then previous + 1.
    pub sequence: u64,
    /// The identity's previous ATX (zero for the first).
    pub prev_atx: AtxId,
    /// The ATX this one is positioned after (highest known tick height, or golden).
    pub positioning_atx: AtxId,
    /// Initial ATX only: the ATX the PoST data was initialized against.
    pub commitment_atx: Option<AtxId>,
    /// Initial ATX only: a PoST proof against the all-zero challenge.
    pub initial_post: Option<Proof>,
}
impl_codec_struct!(NipostChallenge {
    publish_epoch,
    sequence,
    prev_atx,
    positioning_atx,
    commitment_atx,
    initial_post
});

impl NipostChallenge {
    /// The PoET membership leaf for this challenge: `blake3(0x00 ‖ SCALE(challenge))`.
    pub fn poet_leaf(&self) -> Hash32 {
        let mut bytes = vec![0u8];
        self.encode_to(&mut bytes);
        hash(&bytes)
    }
}

/// The PoST part of a NIPoST: what the proof was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostMetadataWire {
    /// The PoET proof reference the PoST proves against.
    pub challenge: Hash32,
    /// Labels per unit of the data.
    pub labels_per_unit: u64,
}
impl_codec_struct!(PostMetadataWire { challenge, labels_per_unit });

/// Proof of space and elapsed time: PoET membership of the challenge, and PoST on the PoET proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nipost {
    /// The challenge's leaf in the PoET round's membership tree.
    pub membership: MembershipProof,
    /// The PoST proof.
    pub post: Proof,
    /// What the PoST proves against.
    pub post_metadata: PostMetadataWire,
}
impl_codec_struct!(Nipost { membership, post, post_metadata });

/// The signed part of an ATX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerAtx {
    /// The NIPoST challenge.
    pub challenge: NipostChallenge,
    /// Where rewards go.
    pub coinbase: Address,
    /// Space units committed.
    pub num_units: u32,
    /// The NIPoST.
    pub nipost: Nipost,
    /// Initial ATX only: the identity (makes the first ATX's hash unique).
    pub node_id: Option<NodeId>,
    /// Initial ATX (or when it changes): the VRF nonce found during initialization.
    pub vrf_nonce: Option<u64>,
}
impl_codec_struct!(InnerAtx { challenge, coinbase, num_units, nipost, node_id, vrf_nonce });

/// An activation transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atx {
    /// The signed content.
    pub inner: InnerAtx,
    /// The identity.
    pub smesher: NodeId,
    /// Signature over [`AtxMetadata`].
    pub signature: Signature,
}
impl_codec_struct!(Atx { inner, smesher, signature });

/// What an ATX signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtxMetadata {
    /// The publish epoch.
    pub publish_epoch: EpochId,
    /// The ATX id.
    pub id: AtxId,
}
impl_codec_struct!(AtxMetadata { publish_epoch, id });

/// Upper bound of an encoded ATX (membership proof, PoST proof and fixed fields).
pub const ATX_MAX: usize = 4096;

impl Atx {
    /// Builds and signs an ATX.
    pub fn sign(signer: &Signer, inner: InnerAtx) -> Atx {
        let meta =
            AtxMetadata { publish_epoch: inner.challenge.publish_epoch, id: inner_id(&inner) };
        let signature = signer.sign(Domain::Atx, &meta.encode());
        Atx { inner, smesher: signer.node_id(), signature }
    }

    /// The ATX id.
    pub fn id(&self) -> AtxId {
        inner_id(&self.inner)
    }

    /// The signed metadata.
    pub fn metadata(&self) -> AtxMetadata {
        AtxMetadata { publish_epoch: self.inner.challenge.publish_epoch, id: self.id() }
    }

    /// The publish epoch.
    pub fn publish_epoch(&self) -> EpochId {
        self.inner.challenge.publish_epoch
    }

    /// The signature check of this ATX.
    pub fn signature_check(&self, genesis: &GenesisId) -> SignatureCheck {
        SignatureCheck {
            public_key: self.smesher.0,
            signed_message: signed_message(genesis, Domain::Atx, &self.metadata().encode()),
            signature: self.signature,
        }
    }

    /// Whether this is an identity's first ATX.
    pub fn is_initial(&self) -> bool {
        self.inner.challenge.sequence == 0 && self.inner.challenge.initial_post.is_some()
    }
}

fn inner_id(inner: &InnerAtx) -> AtxId {
    hash(&inner.encode())
}

/// The golden ATX id of a network: the commitment and positioning ATX of the first ATXs.
pub fn golden_atx(genesis: &GenesisId) -> AtxId {
    crate::crypto::hash_parts(&[b"golden-atx", &genesis.0])
}

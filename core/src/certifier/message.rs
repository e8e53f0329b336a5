//! Certify messages and certificates (go-spacemesh `types.CertifyMessage`,
//! `types.Certificate`).

use crate::codec::{BoundedVec, Encode};
use crate::crypto::{Domain, Signature, Signer, Verifier, signed_message};
use crate::impl_codec_struct;
use crate::job::SignatureCheck;
use crate::types::{BlockId, GenesisId, LayerId, NodeId};
use crate::vrf::VrfSignature;

/// The certifier's sortition round: not a hare round, but drawn with the same committee oracle
/// (go-spacemesh `eligibility.CertifyRound = math.MaxUint32 >> 1`).
pub const CERTIFY_ROUND: u32 = (1 << 31) - 1;

/// Most certify messages in one certificate (go-spacemesh `Certificate.Signatures`,
/// `max=1000`).
pub const SIGNATURES_MAX: usize = 1000;

/// One committee member's vote that `block` is the hare output of `layer`.
///
/// Field order is the go-spacemesh encoding: the signed content `{layer, block, count,
/// proof}`, then the signature, then the smesher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertifyMessage {
    /// The layer.
    pub layer: LayerId,
    /// The block the hare decided for the layer.
    pub block: BlockId,
    /// The smesher's seats in the certify committee of the layer.
    pub count: u16,
    /// The VRF proof of those seats (over the hare VRF message of round [`CERTIFY_ROUND`]).
    pub proof: VrfSignature,
    /// Signature (domain HARE) over the encoding of `{layer, block, count, proof}`.
    pub signature: Signature,
    /// The signing identity.
    pub smesher: NodeId,
}
impl_codec_struct!(CertifyMessage { layer, block, count, proof, signature, smesher });

/// The bytes a certify message's signature covers (before the genesis and domain prefix).
fn content_bytes(layer: LayerId, block: BlockId, count: u16, proof: &VrfSignature) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + BlockId::LEN + 2 + proof.0.len());
    layer.encode_to(&mut out);
    block.encode_to(&mut out);
    count.encode_to(&mut out);
    proof.encode_to(&mut out);
    out
}

impl CertifyMessage {
    /// Builds and signs a certify message.
    pub fn sign(
        signer: &Signer,
        layer: LayerId,
        block: BlockId,
        count: u16,
        proof: VrfSignature,
    ) -> CertifyMessage {
        let signature = signer.sign(Domain::Hare, &content_bytes(layer, block, count, &proof));
        CertifyMessage { layer, block, count, proof, signature, smesher: signer.node_id() }
    }

    /// The signature check.
    pub fn signature_check(&self, genesis: &GenesisId) -> SignatureCheck {
        let content = content_bytes(self.layer, self.block, self.count, &self.proof);
        SignatureCheck {
            public_key: self.smesher.0,
            signed_message: signed_message(genesis, Domain::Hare, &content),
            signature: self.signature,
        }
    }

    /// Whether the signature is the smesher's.
    pub fn signature_valid(&self, genesis: &GenesisId, verifier: &dyn Verifier) -> bool {
        let check = self.signature_check(genesis);
        verifier.verify(&check.public_key, &check.signed_message, &check.signature)
    }
}

/// Proof that a committee majority certified `block` as the hare output of `layer`: what a
/// node that missed the hare adopts as the layer's output.
///
/// Unlike go-spacemesh's `Certificate{BlockID, Signatures}` it names its layer, so it can be
/// checked without the context it was fetched in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The layer.
    pub layer: LayerId,
    /// The certified block.
    pub block: BlockId,
    /// Certify messages for this layer and block from distinct smeshers, whose counts sum to
    /// at least the threshold.
    pub signatures: BoundedVec<CertifyMessage, SIGNATURES_MAX>,
}
impl_codec_struct!(Certificate { layer, block, signatures });

impl Certificate {
    /// The summed committee seats of the messages.
    pub fn count(&self) -> u64 {
        self.signatures.iter().map(|m| u64::from(m.count)).sum()
    }
}

//! Beacon wire messages, their signed bodies and VRF inputs, in go-spacemesh's SCALE layouts
//! (`beacon/message.go`, `beacon/weakcoin/weak_coin.go`).

use std::fmt;

use crate::codec::{
    BoundedBytes, BoundedVec, Decode, DecodeError, Encode, Reader, decode_compact, encode_compact,
};
use crate::crypto::{Domain, Signature, Signer, hash, signed_message};
use crate::impl_codec_struct;
use crate::types::{EpochId, GenesisId, NodeId};
use crate::vrf::VrfSignature;

/// Most proposals in each list of a first voting message (go-spacemesh's `max=1000`).
pub const PROPOSALS_MAX: usize = 1000;
/// Longest following-round bit vector in bytes (1024 bits, go-spacemesh's `max=128`).
pub const VOTES_BIT_VECTOR_MAX: usize = 128;

/// go-spacemesh's `EligibilityType` of beacon proposals.
const ELIGIBILITY_BEACON: u64 = 1;
/// go-spacemesh's `EligibilityType` of weak coin proposals.
const ELIGIBILITY_BEACON_WC: u64 = 4;

macro_rules! four_bytes {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 4]);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let [a, b, c, d] = self.0;
                write!(f, "{a:02x}{b:02x}{c:02x}{d:02x}")
            }
        }

        impl Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }

        impl Decode for $name {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.array().map($name)
            }
        }
    };
}

pub use crate::types::Beacon;
four_bytes!(
    /// A beacon proposal as voted on: the first 4 bytes of the proposer's VRF proof.
    Proposal
);

impl Proposal {
    /// The proposal value of a proposal VRF proof.
    pub fn from_vrf(vrf: &VrfSignature) -> Proposal {
        Proposal([vrf.0[0], vrf.0[1], vrf.0[2], vrf.0[3]])
    }
}

/// A beacon proposal: the proposer's VRF over `(Beacon, vrf_nonce, epoch)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalMessage {
    /// The epoch the protocol runs in.
    pub epoch: EpochId,
    /// The proposer.
    pub node_id: NodeId,
    /// Its VRF proof.
    pub vrf_signature: VrfSignature,
}
impl_codec_struct!(ProposalMessage { epoch, node_id, vrf_signature });

/// A first-round vote: the voter's sorted valid and potentially valid proposals, signed under
/// [`Domain::BeaconFirstMsg`] over the SCALE encoding of `(epoch, valid, potentially_valid)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstVotingMessage {
    /// The epoch the protocol runs in.
    pub epoch: EpochId,
    /// Proposals the voter classified valid, strictly increasing.
    pub valid: BoundedVec<Proposal, PROPOSALS_MAX>,
    /// Proposals the voter classified potentially valid, strictly increasing.
    pub potentially_valid: BoundedVec<Proposal, PROPOSALS_MAX>,
    /// The voter.
    pub smesher: NodeId,
    /// Signature over the body.
    pub signature: Signature,
}
impl_codec_struct!(FirstVotingMessage { epoch, valid, potentially_valid, smesher, signature });

impl FirstVotingMessage {
    /// Builds and signs a first-round vote.
    pub fn sign(
        signer: &Signer,
        epoch: EpochId,
        valid: BoundedVec<Proposal, PROPOSALS_MAX>,
        potentially_valid: BoundedVec<Proposal, PROPOSALS_MAX>,
    ) -> FirstVotingMessage {
        let mut msg = FirstVotingMessage {
            epoch,
            valid,
            potentially_valid,
            smesher: signer.node_id(),
            signature: Signature([0; 64]),
        };
        msg.signature = signer.sign(Domain::BeaconFirstMsg, &msg.body());
        msg
    }

    /// The signed body: go-spacemesh's `FirstVotingMessageBody`.
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 * (self.valid.len() + self.potentially_valid.len()));
        self.epoch.encode_to(&mut out);
        self.valid.encode_to(&mut out);
        self.potentially_valid.encode_to(&mut out);
        out
    }

    /// The bytes the signature covers on network `genesis`.
    pub fn signed_bytes(&self, genesis: &GenesisId) -> Vec<u8> {
        signed_message(genesis, Domain::BeaconFirstMsg, &self.body())
    }
}

/// A following-round vote: one bit per entry of the voter's first-round reference list (set =
/// support), signed under [`Domain::BeaconFollowupMsg`] over `(epoch, round, votes_bit_vector)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowingVotingMessage {
    /// The epoch the protocol runs in.
    pub epoch: EpochId,
    /// The round, in `1..rounds_number`.
    pub round: u32,
    /// The votes as a big-endian integer whose bit `i` is the vote on reference entry `i`.
    pub votes_bit_vector: BoundedBytes<VOTES_BIT_VECTOR_MAX>,
    /// The voter.
    pub smesher: NodeId,
    /// Signature over the body.
    pub signature: Signature,
}

impl FollowingVotingMessage {
    /// Builds and signs a following-round vote.
    pub fn sign(
        signer: &Signer,
        epoch: EpochId,
        round: u32,
        votes_bit_vector: BoundedBytes<VOTES_BIT_VECTOR_MAX>,
    ) -> FollowingVotingMessage {
        let mut msg = FollowingVotingMessage {
            epoch,
            round,
            votes_bit_vector,
            smesher: signer.node_id(),
            signature: Signature([0; 64]),
        };
        msg.signature = signer.sign(Domain::BeaconFollowupMsg, &msg.body());
        msg
    }

    /// The signed body: go-spacemesh's `FollowingVotingMessageBody`.
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.votes_bit_vector.len());
        self.epoch.encode_to(&mut out);
        encode_compact(u64::from(self.round), &mut out);
        self.votes_bit_vector.encode_to(&mut out);
        out
    }

    /// The bytes the signature covers on network `genesis`.
    pub fn signed_bytes(&self, genesis: &GenesisId) -> Vec<u8> {
        signed_message(genesis, Domain::BeaconFollowupMsg, &self.body())
    }
}

impl Encode for FollowingVotingMessage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.body());
        self.smesher.encode_to(out);
        self.signature.encode_to(out);
    }
}

impl Decode for FollowingVotingMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FollowingVotingMessage {
            epoch: Decode::decode(r)?,
            round: decode_compact_u32(r)?,
            votes_bit_vector: Decode::decode(r)?,
            smesher: Decode::decode(r)?,
            signature: Decode::decode(r)?,
        })
    }
}

/// A weak coin proposal: the participant's smallest VRF over its units for one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeakCoinMessage {
    /// The epoch the protocol runs in.
    pub epoch: EpochId,
    /// The round, in `1..rounds_number`.
    pub round: u32,
    /// The PoST unit the VRF was computed for, below the participant's `num_units`.
    pub unit: u32,
    /// The participant.
    pub node_id: NodeId,
    /// Its VRF proof over `(BeaconWC, vrf_nonce, epoch, round, unit)`.
    pub vrf_signature: VrfSignature,
}

impl Encode for WeakCoinMessage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.epoch.encode_to(out);
        encode_compact(u64::from(self.round), out);
        encode_compact(u64::from(self.unit), out);
        self.node_id.encode_to(out);
        self.vrf_signature.encode_to(out);
    }
}

impl Decode for WeakCoinMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(WeakCoinMessage {
            epoch: Decode::decode(r)?,
            round: decode_compact_u32(r)?,
            unit: decode_compact_u32(r)?,
            node_id: Decode::decode(r)?,
            vrf_signature: Decode::decode(r)?,
        })
    }
}

/// Any beacon message, as carried on the beacon gossip topic: a one-byte kind tag (this
/// project's; go-spacemesh uses one topic per kind) followed by the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeaconMessage {
    /// Tag 0: a proposal.
    Proposal(ProposalMessage),
    /// Tag 1: a first-round vote.
    FirstVoting(FirstVotingMessage),
    /// Tag 2: a following-round vote.
    FollowingVoting(FollowingVotingMessage),
    /// Tag 3: a weak coin proposal.
    WeakCoin(WeakCoinMessage),
}

impl BeaconMessage {
    /// The epoch the message belongs to (for routing to the right [`super::EpochBeacon`]).
    pub fn epoch(&self) -> EpochId {
        match self {
            BeaconMessage::Proposal(m) => m.epoch,
            BeaconMessage::FirstVoting(m) => m.epoch,
            BeaconMessage::FollowingVoting(m) => m.epoch,
            BeaconMessage::WeakCoin(m) => m.epoch,
        }
    }

    /// The identity that made the message.
    pub fn origin(&self) -> NodeId {
        match self {
            BeaconMessage::Proposal(m) => m.node_id,
            BeaconMessage::FirstVoting(m) => m.smesher,
            BeaconMessage::FollowingVoting(m) => m.smesher,
            BeaconMessage::WeakCoin(m) => m.node_id,
        }
    }
}

impl Encode for BeaconMessage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            BeaconMessage::Proposal(m) => {
                out.push(0);
                m.encode_to(out);
            }
            BeaconMessage::FirstVoting(m) => {
                out.push(1);
                m.encode_to(out);
            }
            BeaconMessage::FollowingVoting(m) => {
                out.push(2);
                m.encode_to(out);
            }
            BeaconMessage::WeakCoin(m) => {
                out.push(3);
                m.encode_to(out);
            }
        }
    }
}

impl Decode for BeaconMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.byte()? {
            0 => BeaconMessage::Proposal(Decode::decode(r)?),
            1 => BeaconMessage::FirstVoting(Decode::decode(r)?),
            2 => BeaconMessage::FollowingVoting(Decode::decode(r)?),
            3 => BeaconMessage::WeakCoin(Decode::decode(r)?),
            tag => return Err(DecodeError::InvalidTag { what: "BeaconMessage", tag }),
        })
    }
}

/// go-scale's compact32: a compact integer that must fit a `u32`.
fn decode_compact_u32(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    u32::try_from(decode_compact(r)?).map_err(|_| DecodeError::InvalidCompact)
}

/// The VRF input of a beacon proposal: SCALE of go-spacemesh's `ProposalVrfMessage`
/// `{type: compact16 = 1, nonce: compact64, epoch: compact32}`.
pub(crate) fn proposal_vrf_message(vrf_nonce: u64, epoch: EpochId) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    encode_compact(ELIGIBILITY_BEACON, &mut out);
    encode_compact(vrf_nonce, &mut out);
    epoch.encode_to(&mut out);
    out
}

/// The VRF input of a weak coin proposal: SCALE of go-spacemesh's weak coin `VrfMessage`
/// `{type: compact16 = 4, nonce: compact64, epoch, round, unit: compact32}`.
pub(crate) fn weak_coin_vrf_message(
    vrf_nonce: u64,
    epoch: EpochId,
    round: u32,
    unit: u32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    encode_compact(ELIGIBILITY_BEACON_WC, &mut out);
    encode_compact(vrf_nonce, &mut out);
    epoch.encode_to(&mut out);
    encode_compact(u64::from(round), &mut out);
    encode_compact(u64::from(unit), &mut out);
    out
}

/// Encodes votes over a reference list as go-spacemesh does (`big.Int.Bytes()`): bit `i` of a
/// big-endian integer is set when `support(list[i])`, with no leading zero bytes.
pub(crate) fn encode_votes(list: &[Proposal], support: impl Fn(&Proposal) -> bool) -> Vec<u8> {
    let Some(highest) = list.iter().rposition(&support) else {
        return Vec::new();
    };
    let len = highest / 8 + 1;
    let mut out = vec![0u8; len];
    for (i, p) in list.iter().enumerate().take(highest + 1) {
        if support(p) {
            out[len - 1 - i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// Whether bit `i` of a big-endian bit vector is set (bits beyond the vector are clear).
pub(crate) fn vote_bit(bits: &[u8], i: usize) -> bool {
    let byte = i / 8;
    byte < bits.len() && (bits[bits.len() - 1 - byte] >> (i % 8)) & 1 == 1
}

/// A short fingerprint of a message body, to tell a repeat from an equivocation.
pub(crate) fn fingerprint(body: &[u8]) -> u64 {
    let h = hash(body);
    u64::from_le_bytes([h.0[0], h.0[1], h.0[2], h.0[3], h.0[4], h.0[5], h.0[6], h.0[7]])
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::*;
    use crate::codec::decode_exact;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn signer() -> Signer {
        Signer::from_seed([3; 32], GenesisId([9; 20]))
    }

    fn samples() -> Vec<BeaconMessage> {
        let s = signer();
        let mut vrf = [0u8; 80];
        vrf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        let props = |v: &[u8]| {
            BoundedVec::new(v.iter().map(|b| Proposal([*b, 0, 0, 1])).collect()).unwrap()
        };
        vec![
            BeaconMessage::Proposal(ProposalMessage {
                epoch: EpochId(2),
                node_id: s.node_id(),
                vrf_signature: VrfSignature(vrf),
            }),
            BeaconMessage::FirstVoting(FirstVotingMessage::sign(
                &s,
                EpochId(2),
                props(&[1, 2]),
                props(&[7]),
            )),
            BeaconMessage::FollowingVoting(FollowingVotingMessage::sign(
                &s,
                EpochId(2),
                3,
                BoundedBytes::new(Bytes::from_static(&[0x01, 0x05])).unwrap(),
            )),
            BeaconMessage::WeakCoin(WeakCoinMessage {
                epoch: EpochId(300),
                round: 70,
                unit: 1,
                node_id: s.node_id(),
                vrf_signature: VrfSignature(vrf),
            }),
        ]
    }

    /// Every beacon message has a stable golden encoding that decodes back to itself.
    #[test]
    fn golden_encodings() {
        let lines: Vec<String> = samples()
            .iter()
            .map(|m| {
                let enc = m.encode();
                assert_eq!(decode_exact::<BeaconMessage>(&enc).as_ref(), Ok(m));
                hex(&enc)
            })
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
    }

    /// The VRF inputs are go-spacemesh's SCALE layouts: compact type, compact nonce, compact
    /// epoch (then compact round and unit for the weak coin).
    #[test]
    fn vrf_message_layouts() {
        assert_eq!(proposal_vrf_message(5, EpochId(2)), vec![0x04, 0x14, 0x08]);
        assert_eq!(
            proposal_vrf_message(1 << 20, EpochId(100)),
            vec![0x04, 0x02, 0x00, 0x40, 0x00, 0x91, 0x01]
        );
        assert_eq!(weak_coin_vrf_message(0, EpochId(3), 1, 2), vec![0x10, 0x00, 0x0c, 0x04, 0x08]);
    }

    /// The vote bit vector matches `big.Int.Bytes()`: big-endian, no leading zero byte, bit i
    /// for reference entry i; an all-against vote is empty.
    #[test]
    fn vote_bit_vector_layout() {
        let list: Vec<Proposal> = (0..10u8).map(|i| Proposal([i, 0, 0, 0])).collect();
        let bits = encode_votes(&list, |p| p.0[0] == 0 || p.0[0] == 9);
        assert_eq!(bits, vec![0x02, 0x01]);
        assert!(encode_votes(&list, |_| false).is_empty());
        let got: Vec<bool> = (0..12).map(|i| vote_bit(&bits, i)).collect();
        let want: Vec<bool> = (0..12).map(|i| i == 0 || i == 9).collect();
        assert_eq!(got, want);
        // Leading zero bytes from another implementation change nothing.
        assert!(vote_bit(&[0, 0, 0x01], 0) && !vote_bit(&[0, 0, 0x01], 8));
    }

    /// A signed vote's body is exactly the prefix of its encoding before the smesher id.
    #[test]
    fn bodies_are_encoding_prefixes() {
        for m in samples() {
            let (body, enc) = match &m {
                BeaconMessage::FirstVoting(v) => (v.body(), v.encode()),
                BeaconMessage::FollowingVoting(v) => (v.body(), v.encode()),
                _ => continue,
            };
            assert_eq!(&enc[..body.len()], &body[..]);
            assert_eq!(enc.len(), body.len() + 32 + 64);
        }
    }

    /// Oversized lists, rounds beyond u32 and unknown tags are typed errors.
    #[test]
    fn bounds_are_enforced() {
        let mut enc = vec![1u8];
        EpochId(1).encode_to(&mut enc);
        encode_compact(1001, &mut enc);
        assert!(matches!(
            decode_exact::<BeaconMessage>(&enc),
            Err(DecodeError::LengthOverLimit { len: 1001, max: 1000, .. })
        ));
        let mut enc = vec![3u8];
        EpochId(1).encode_to(&mut enc);
        encode_compact(u64::from(u32::MAX) + 1, &mut enc);
        assert_eq!(decode_exact::<BeaconMessage>(&enc), Err(DecodeError::InvalidCompact));
        assert_eq!(
            decode_exact::<BeaconMessage>(&[9]),
            Err(DecodeError::InvalidTag { what: "BeaconMessage", tag: 9 })
        );
    }

    fn arb_message() -> impl Strategy<Value = BeaconMessage> {
        let vrf = proptest::collection::vec(any::<u8>(), 80)
            .prop_map(|v| VrfSignature(v.try_into().expect("80 bytes")));
        let props = proptest::collection::vec(any::<[u8; 4]>(), 0..20)
            .prop_map(|v| BoundedVec::new(v.into_iter().map(Proposal).collect()).unwrap());
        let bits = proptest::collection::vec(any::<u8>(), 0..=VOTES_BIT_VECTOR_MAX)
            .prop_map(|v| BoundedBytes::new(Bytes::from(v)).unwrap());
        let sig = proptest::collection::vec(any::<u8>(), 64)
            .prop_map(|v| Signature(v.try_into().expect("64 bytes")));
        prop_oneof![
            (any::<u32>(), any::<[u8; 32]>(), vrf.clone()).prop_map(|(e, n, v)| {
                BeaconMessage::Proposal(ProposalMessage {
                    epoch: EpochId(e),
                    node_id: NodeId(n),
                    vrf_signature: v,
                })
            }),
            (any::<u32>(), props.clone(), props, any::<[u8; 32]>(), sig.clone()).prop_map(
                |(e, valid, potentially_valid, n, signature)| {
                    BeaconMessage::FirstVoting(FirstVotingMessage {
                        epoch: EpochId(e),
                        valid,
                        potentially_valid,
                        smesher: NodeId(n),
                        signature,
                    })
                }
            ),
            (any::<u32>(), any::<u32>(), bits, any::<[u8; 32]>(), sig).prop_map(
                |(e, round, votes_bit_vector, n, signature)| {
                    BeaconMessage::FollowingVoting(FollowingVotingMessage {
                        epoch: EpochId(e),
                        round,
                        votes_bit_vector,
                        smesher: NodeId(n),
                        signature,
                    })
                }
            ),
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<[u8; 32]>(), vrf).prop_map(
                |(e, round, unit, n, vrf_signature)| {
                    BeaconMessage::WeakCoin(WeakCoinMessage {
                        epoch: EpochId(e),
                        round,
                        unit,
                        node_id: NodeId(n),
                        vrf_signature,
                    })
                }
            ),
        ]
    }

    proptest! {
        /// Every message round-trips through its encoding.
        #[test]
        fn messages_round_trip(m in arb_message()) {
            let enc = m.encode();
            prop_assert_eq!(decode_exact::<BeaconMessage>(&enc), Ok(m));
        }

        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_exact::<BeaconMessage>(&bytes);
        }

        /// Bit vectors read back exactly the votes they were built from.
        #[test]
        fn votes_round_trip(votes in proptest::collection::vec(any::<bool>(), 0..1024)) {
            let list: Vec<Proposal> =
                (0..votes.len() as u32).map(|i| Proposal(i.to_be_bytes())).collect();
            let bits = encode_votes(&list, |p| votes[u32::from_be_bytes(p.0) as usize]);
            prop_assert!(bits.len() <= VOTES_BIT_VECTOR_MAX);
            prop_assert!(bits.first() != Some(&0));
            for (i, v) in votes.iter().enumerate() {
                prop_assert_eq!(vote_bit(&bits, i), *v);
            }
        }
    }
}

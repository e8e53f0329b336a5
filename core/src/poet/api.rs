//! The messages a node and a PoET service exchange over any transport (the shape of poet's
//! `/v1/info`, `/v1/submit` and `/v1/proofs/{round}`, proofs.md 2.8), in this project's codec
//! with a bound on every length, and the service's side of the exchange.

use bytes::Bytes;

use crate::codec::{BoundedBytes, BoundedVec, Decode, DecodeError, Encode, Reader};
use crate::crypto::Verifier;
use crate::impl_codec_struct;
use crate::types::{Hash32, NodeId, Time};

use super::proof::PoetProof;
use super::round::RoundSchedule;
use super::service::{PoetService, ROUND_MEMBERS_MAX, Submit, SubmitError};

/// Longest error message in a response.
pub const ERROR_MESSAGE_MAX: usize = 256;

/// A request to a PoET service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoetRequest {
    /// The service's identity and schedule.
    Info,
    /// Register a challenge.
    Submit(Submit),
    /// The proof of a round.
    Proof {
        /// The round.
        round: u64,
    },
}

impl Encode for PoetRequest {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            PoetRequest::Info => out.push(0),
            PoetRequest::Submit(s) => {
                out.push(1);
                s.encode_to(out);
            }
            PoetRequest::Proof { round } => {
                out.push(2);
                round.encode_to(out);
            }
        }
    }
}

impl Decode for PoetRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0 => Ok(PoetRequest::Info),
            1 => Ok(PoetRequest::Submit(Submit::decode(r)?)),
            2 => Ok(PoetRequest::Proof { round: u64::decode(r)? }),
            tag => Err(DecodeError::InvalidTag { what: "PoetRequest", tag }),
        }
    }
}

/// What a service says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoetInfo {
    /// The service's identity (its ed25519 public key).
    pub service_id: NodeId,
    /// Its round schedule.
    pub schedule: RoundSchedule,
    /// The round open for registration now.
    pub open_round: u64,
}
impl_codec_struct!(PoetInfo { service_id, schedule, open_round });

/// Machine-readable reason of an error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PoetErrorCode {
    /// The request could not be decoded.
    BadRequest = 0,
    /// The submission's signature does not verify.
    InvalidSignature = 1,
    /// The open round ends after the submission's deadline.
    TooLate = 2,
    /// The round is closed.
    RoundClosed = 3,
    /// The node registered another challenge in the round.
    Conflicting = 4,
    /// The round is full.
    RoundFull = 5,
    /// No proof for that round (not ready, never existed, or forgotten).
    NoProof = 6,
}

impl PoetErrorCode {
    const ALL: [PoetErrorCode; 7] = [
        PoetErrorCode::BadRequest,
        PoetErrorCode::InvalidSignature,
        PoetErrorCode::TooLate,
        PoetErrorCode::RoundClosed,
        PoetErrorCode::Conflicting,
        PoetErrorCode::RoundFull,
        PoetErrorCode::NoProof,
    ];
}

impl From<&SubmitError> for PoetErrorCode {
    fn from(e: &SubmitError) -> Self {
        match e {
            SubmitError::InvalidSignature => PoetErrorCode::InvalidSignature,
            SubmitError::TooLate { .. } => PoetErrorCode::TooLate,
            SubmitError::RoundClosed(_) => PoetErrorCode::RoundClosed,
            SubmitError::Conflicting(_) => PoetErrorCode::Conflicting,
            SubmitError::RoundFull { .. } => PoetErrorCode::RoundFull,
        }
    }
}

impl Encode for PoetErrorCode {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

impl Decode for PoetErrorCode {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.byte()?;
        PoetErrorCode::ALL
            .get(usize::from(tag))
            .copied()
            .ok_or(DecodeError::InvalidTag { what: "PoetErrorCode", tag })
    }
}

/// A PoET service's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoetResponse {
    /// Answer to [`PoetRequest::Info`].
    Info(PoetInfo),
    /// The challenge is registered.
    Submitted {
        /// The round it is a member of.
        round: u64,
        /// When that round ends.
        round_end: Time,
    },
    /// A round's proof and its members' challenges in membership-tree order.
    Proof {
        /// The round.
        round: u64,
        /// The proof.
        proof: PoetProof,
        /// The leaves of the membership tree (the statement is their root).
        members: BoundedVec<Hash32, ROUND_MEMBERS_MAX>,
    },
    /// The request failed.
    Error {
        /// Why.
        code: PoetErrorCode,
        /// Human-readable detail.
        message: BoundedBytes<ERROR_MESSAGE_MAX>,
    },
}

impl PoetResponse {
    /// An error response; the message is cut to [`ERROR_MESSAGE_MAX`] bytes.
    pub fn error(code: PoetErrorCode, message: &str) -> PoetResponse {
        let bytes = &message.as_bytes()[..message.len().min(ERROR_MESSAGE_MAX)];
        let message = BoundedBytes::new(Bytes::copy_from_slice(bytes)).expect("cut to the limit");
        PoetResponse::Error { code, message }
    }
}

impl Encode for PoetResponse {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            PoetResponse::Info(info) => {
                out.push(0);
                info.encode_to(out);
            }
            PoetResponse::Submitted { round, round_end } => {
                out.push(1);
                round.encode_to(out);
                round_end.encode_to(out);
            }
            PoetResponse::Proof { round, proof, members } => {
                out.push(2);
                round.encode_to(out);
                proof.encode_to(out);
                members.encode_to(out);
            }
            PoetResponse::Error { code, message } => {
                out.push(3);
                code.encode_to(out);
                message.encode_to(out);
            }
        }
    }
}

impl Decode for PoetResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0 => Ok(PoetResponse::Info(PoetInfo::decode(r)?)),
            1 => {
                Ok(PoetResponse::Submitted { round: u64::decode(r)?, round_end: Time::decode(r)? })
            }
            2 => Ok(PoetResponse::Proof {
                round: u64::decode(r)?,
                proof: PoetProof::decode(r)?,
                members: BoundedVec::decode(r)?,
            }),
            3 => Ok(PoetResponse::Error {
                code: PoetErrorCode::decode(r)?,
                message: BoundedBytes::decode(r)?,
            }),
            tag => Err(DecodeError::InvalidTag { what: "PoetResponse", tag }),
        }
    }
}

impl PoetService {
    /// Answers one request at `now`; `service_id` is this service's identity.
    pub fn handle_request(
        &mut self,
        now: Time,
        request: &PoetRequest,
        service_id: NodeId,
        verifier: &dyn Verifier,
    ) -> PoetResponse {
        match request {
            PoetRequest::Info => PoetResponse::Info(PoetInfo {
                service_id,
                schedule: self.config().schedule,
                open_round: self.open_round(now),
            }),
            PoetRequest::Submit(submit) => match self.submit(now, submit, verifier) {
                Ok(r) => PoetResponse::Submitted { round: r.round, round_end: r.round_end },
                Err(e) => PoetResponse::error(PoetErrorCode::from(&e), &e.to_string()),
            },
            PoetRequest::Proof { round } => match self.proof(*round) {
                Some((proof, members)) => PoetResponse::Proof {
                    round: *round,
                    proof: proof.clone(),
                    members: BoundedVec::new(members).expect("members_max is within the bound"),
                },
                None => PoetResponse::error(
                    PoetErrorCode::NoProof,
                    &format!("no proof for round {round}"),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::codec::decode_exact;
    use crate::crypto::Signature;
    use crate::poet::MerkleProof;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn submit() -> Submit {
        Submit {
            challenge: Hash32([0x11; 32]),
            node_id: NodeId([0x22; 32]),
            signature: Signature([0x33; 64]),
            deadline: Some(Time(0x0102_0304)),
        }
    }

    /// A submission's encoding is pinned: challenge, node id, signature, optional deadline.
    #[test]
    fn submit_golden() {
        let enc = PoetRequest::Submit(submit()).encode();
        assert_eq!(enc.len(), 1 + 32 + 32 + 64 + 1 + 8);
        insta::assert_snapshot!(hex(&enc));
        assert_eq!(decode_exact::<PoetRequest>(&enc), Ok(PoetRequest::Submit(submit())));
    }

    /// Unknown tags and error codes are typed errors; messages are cut to the limit.
    #[test]
    fn tags_and_limits() {
        assert!(matches!(
            decode_exact::<PoetRequest>(&[3]),
            Err(DecodeError::InvalidTag { what: "PoetRequest", tag: 3 })
        ));
        assert!(matches!(
            decode_exact::<PoetResponse>(&[3, 7, 0]),
            Err(DecodeError::InvalidTag { what: "PoetErrorCode", tag: 7 })
        ));
        let PoetResponse::Error { message, .. } =
            PoetResponse::error(PoetErrorCode::NoProof, &"x".repeat(1000))
        else {
            unreachable!()
        };
        assert_eq!(message.len(), ERROR_MESSAGE_MAX);
    }

    fn arb_hash() -> impl Strategy<Value = Hash32> {
        any::<[u8; 32]>().prop_map(Hash32)
    }

    fn arb_submit() -> impl Strategy<Value = Submit> {
        (arb_hash(), arb_hash(), any::<[u8; 32]>(), any::<Option<u64>>()).prop_map(
            |(c, n, s, d)| {
                let mut sig = [0u8; 64];
                sig[..32].copy_from_slice(&s);
                Submit {
                    challenge: c,
                    node_id: NodeId(n.0),
                    signature: Signature(sig),
                    deadline: d.map(Time),
                }
            },
        )
    }

    fn arb_response() -> impl Strategy<Value = PoetResponse> {
        prop_oneof![
            (arb_hash(), any::<u64>(), any::<u64>(), any::<[u32; 3]>()).prop_map(
                |(id, t, open, d)| {
                    PoetResponse::Info(PoetInfo {
                        service_id: NodeId(id.0),
                        schedule: RoundSchedule {
                            genesis: Time(t),
                            epoch_duration: std::time::Duration::from_micros(d[0].into()),
                            phase_shift: std::time::Duration::from_micros(d[1].into()),
                            cycle_gap: std::time::Duration::from_micros(d[2].into()),
                        },
                        open_round: open,
                    })
                }
            ),
            (any::<u64>(), any::<u64>())
                .prop_map(|(round, end)| PoetResponse::Submitted { round, round_end: Time(end) }),
            (
                any::<u64>(),
                arb_hash(),
                prop::collection::vec(arb_hash(), 0..10),
                prop::collection::vec(arb_hash(), 0..10),
                prop::collection::vec(arb_hash(), 0..10),
                any::<u64>()
            )
                .prop_map(|(round, root, l, n, m, leaves)| PoetResponse::Proof {
                    round,
                    proof: PoetProof {
                        merkle: MerkleProof {
                            root,
                            proven_leaves: BoundedVec::new(l).unwrap(),
                            proof_nodes: BoundedVec::new(n).unwrap(),
                        },
                        leaves,
                    },
                    members: BoundedVec::new(m).unwrap(),
                }),
            (0usize..7, ".{0,40}")
                .prop_map(|(c, msg)| PoetResponse::error(PoetErrorCode::ALL[c], &msg)),
        ]
    }

    proptest! {
        /// Every request and response round-trips through the codec.
        #[test]
        fn codec_round_trip(s in arb_submit(), round in any::<u64>(), resp in arb_response()) {
            for req in [PoetRequest::Info, PoetRequest::Submit(s), PoetRequest::Proof { round }] {
                prop_assert_eq!(decode_exact::<PoetRequest>(&req.encode()), Ok(req.clone()));
            }
            prop_assert_eq!(decode_exact::<PoetResponse>(&resp.encode()), Ok(resp.clone()));
        }

        /// Garbage never panics either decoder.
        #[test]
        fn garbage(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_exact::<PoetRequest>(&bytes);
            let _ = decode_exact::<PoetResponse>(&bytes);
        }
    }
}

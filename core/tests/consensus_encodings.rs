//! Golden encodings of the epoch machinery's wire messages (ATX, proposal, malfeasance proof,
//! fetch messages, block, certify message, certificate, hare message, hare equivocation proof):
//! a change to any of these bytes is a wire-format change and must be deliberate. Every value also round-trips, and codecs reject trailing bytes.

use bytes::Bytes;
use proptest::prelude::*;
use spacemesh_core::activation::wire::{InnerAtx, Nipost, NipostChallenge, PostMetadataWire};
use spacemesh_core::activation::{Address, Atx, AtxId};
use spacemesh_core::ballot::wire::{
    Ballot, EpochData, InnerBallot, Proposal, Votes, VotingEligibility, opinion_hash,
};
use spacemesh_core::block::{Block, BlockConfig, ProposalInfo};
use spacemesh_core::certifier::{Certificate, CertifyMessage};
use spacemesh_core::codec::{BoundedBytes, BoundedVec, Decode, Encode, decode_exact};
use spacemesh_core::crypto::Signer;
use spacemesh_core::fetch::{FetchItem, FetchMessage, Hint};
use spacemesh_core::hare::wire::{HareBody, HareEligibility, HareMessage};
use spacemesh_core::hare::{IterRound, Round, Value};
use spacemesh_core::malfeasance::{Evidence, MalfeasanceProof, SignedBallotMetadata};
use spacemesh_core::node::consensus::IdList;
use spacemesh_core::poet::MembershipProof;
use spacemesh_core::post::Proof;
use spacemesh_core::types::{BallotId, Beacon, BlockId, NodeId, ProposalId};
use spacemesh_core::vrf::VrfSignature;
use spacemesh_core::{EpochId, GenesisId, Hash32, LayerId};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signer() -> Signer {
    Signer::from_seed([9; 32], GenesisId([1; 20]))
}

fn atx(sequence: u64) -> Atx {
    let initial = sequence == 0;
    let s = signer();
    let proof = Proof {
        nonce: 3,
        indices: BoundedBytes::new(Bytes::from_static(&[1, 2, 3])).unwrap(),
        pow: 77,
    };
    Atx::sign(
        &s,
        InnerAtx {
            challenge: NipostChallenge {
                publish_epoch: EpochId(2),
                sequence,
                prev_atx: Hash32([if initial { 0 } else { 0x11 }; 32]),
                positioning_atx: Hash32([0x22; 32]),
                commitment_atx: initial.then_some(Hash32([0x33; 32])),
                initial_post: initial.then(|| proof.clone()),
            },
            coinbase: Address([0x44; 24]),
            num_units: 4,
            nipost: Nipost {
                membership: MembershipProof {
                    leaf_index: 5,
                    nodes: BoundedVec::new(vec![Hash32([0x55; 32])]).unwrap(),
                },
                post: proof,
                post_metadata: PostMetadataWire {
                    challenge: Hash32([0x66; 32]),
                    labels_per_unit: 64,
                },
            },
            node_id: initial.then(|| s.node_id()),
            vrf_nonce: initial.then_some(12),
        },
    )
}

fn proposal() -> Proposal {
    let s = signer();
    let votes = Votes::default();
    let inner = InnerBallot {
        layer: LayerId(17),
        atx: Hash32([0x77; 32]),
        opinion_hash: opinion_hash(&votes),
        ref_ballot: Default::default(),
        epoch_data: Some(EpochData {
            active_set_hash: Hash32([0x88; 32]),
            beacon: Beacon([1, 2, 3, 4]),
            eligibility_count: 2,
        }),
    };
    let eligibilities =
        BoundedVec::new(vec![VotingEligibility { j: 1, sig: VrfSignature([0x99; 80]) }]).unwrap();
    let ballot = Ballot::sign(&s, inner, votes, eligibilities);
    Proposal::sign(
        &s,
        ballot,
        BoundedVec::new(vec![Hash32([0xaa; 32])]).unwrap(),
        Hash32::default(),
    )
}

fn round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(v: &T) -> String {
    let bytes = v.encode();
    assert_eq!(decode_exact::<T>(&bytes).as_ref(), Ok(v));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_exact::<T>(&longer).is_err(), "trailing bytes accepted");
    hex(&bytes)
}

/// ATXs (initial and not), their ids and signatures are fixed.
#[test]
fn atx_encodings() {
    let (a, b) = (atx(0), atx(1));
    insta::assert_snapshot!(format!(
        "initial: {}\nid: {}\nnext: {}\nid: {}",
        round_trip(&a),
        a.id(),
        round_trip(&b),
        b.id()
    ));
}

/// A proposal with its ballot, ids and both signatures is fixed.
#[test]
fn proposal_encoding() {
    let p = proposal();
    insta::assert_snapshot!(format!(
        "{}\nballot id: {}\nproposal id: {}",
        round_trip(&p),
        p.ballot.id(),
        p.id()
    ));
}

/// Malfeasance proofs and fetch messages are fixed.
#[test]
fn malfeasance_and_fetch_encodings() {
    let s = signer();
    let meta = proposal().ballot.metadata();
    let signed = SignedBallotMetadata { metadata: meta, signature: proposal().ballot.signature };
    let mut other = signed;
    other.metadata.msg_hash = Hash32([0xbb; 32]);
    let proof = MalfeasanceProof {
        smesher: s.node_id(),
        evidence: Evidence::MultipleBallots(signed, other),
    };
    let request = FetchMessage::Request {
        id: 1,
        hint: Hint::Atx,
        hashes: BoundedVec::new(vec![Hash32([0xcc; 32])]).unwrap(),
    };
    let response = FetchMessage::Response {
        id: 1,
        items: BoundedVec::new(vec![
            FetchItem {
                hash: Hash32([0xcc; 32]),
                data: Some(BoundedBytes::new(Bytes::from_static(b"atx")).unwrap()),
            },
            FetchItem { hash: Hash32([0xdd; 32]), data: None },
        ])
        .unwrap(),
    };
    insta::assert_snapshot!(format!(
        "malfeasance: {}\nrequest: {}\nresponse: {}",
        round_trip(&proof),
        round_trip(&request),
        round_trip(&response)
    ));
}

/// What syncing peers exchange is fixed: a request for each hint and the id lists served.
#[test]
fn sync_encodings() {
    let mut out = String::new();
    for hint in Hint::ALL {
        let request = FetchMessage::Request {
            id: 7,
            hint,
            hashes: BoundedVec::new(vec![Hash32([0x11; 32])]).unwrap(),
        };
        out += &format!("{hint:?}: {}\n", round_trip(&request));
    }
    let ballots = IdList(BoundedVec::new(vec![BallotId([1; 20]), BallotId([2; 20])]).unwrap());
    let atxs = IdList(BoundedVec::new(vec![Hash32([3; 32]) as AtxId]).unwrap());
    out += &format!("ballots: {}\natxs: {}", round_trip(&ballots), round_trip(&atxs));
    insta::assert_snapshot!(out);
}

/// A block built from a fixed hare output (rewards, tick height, shuffled transactions), its
/// id, and a certify message and certificate for it are fixed.
#[test]
fn block_and_certificate_encodings() {
    let proposal = |i: u8, weight: u64, eligibilities: u32, slots: u32, txs: &[u8]| ProposalInfo {
        id: ProposalId([i; 20]),
        atx: Hash32([0x10 + i; 32]),
        atx_weight: weight,
        atx_base_height: 1000 + u64::from(i),
        slots,
        eligibilities,
        tx_ids: txs.iter().map(|&t| Hash32([t; 32])).collect(),
    };
    let hare_output =
        [proposal(2, 300, 1, 4, &[0xa1, 0xa2, 0xa3]), proposal(1, 77, 2, 3, &[0xa3, 0xa4])];
    // Transactions whose bytes are not known order by the shuffle alone.
    let block =
        spacemesh_core::block::build(&BlockConfig::sim(), LayerId(17), &hare_output, |_| None)
            .unwrap()
            .unwrap();
    let msg = CertifyMessage::sign(&signer(), LayerId(17), block.id(), 3, VrfSignature([0x99; 80]));
    let cert = Certificate {
        layer: LayerId(17),
        block: block.id(),
        signatures: BoundedVec::new(vec![msg]).unwrap(),
    };
    insta::assert_snapshot!(format!(
        "block: {}\nid: {}\ncertify: {}\ncertificate: {}",
        round_trip(&block),
        block.id(),
        round_trip(&msg),
        round_trip(&cert)
    ));
}

#[test]
fn hare_message_and_equivocation_encodings() {
    let s = signer();
    let body = |value: Value| HareBody {
        layer: LayerId(21),
        iter_round: IterRound::new(1, Round::Commit),
        value,
        eligibility: HareEligibility { proof: VrfSignature([0x42; 80]), count: 2 },
    };
    let propose = HareMessage::sign(
        &s,
        HareBody {
            iter_round: IterRound::new(0, Round::Propose),
            ..body(Value::proposals(vec![ProposalId([1; 20]), ProposalId([2; 20])]))
        },
    );
    let a = HareMessage::sign(&s, body(Value::Reference(Hash32([0xaa; 32]))));
    let b = HareMessage::sign(&s, body(Value::Reference(Hash32([0xbb; 32]))));
    let signed = |m: &HareMessage| spacemesh_core::malfeasance::SignedHareMetadata {
        metadata: m.metadata(),
        signature: m.signature,
    };
    let proof = MalfeasanceProof::hare_equivocation(s.node_id(), signed(&a), signed(&b));
    insta::assert_snapshot!(format!(
        "propose: {}\ncommit: {}\nequivocation: {}",
        round_trip(&propose),
        round_trip(&a),
        round_trip(&proof)
    ));
}

fn certify_message(
    (layer, block, count, proof, sig, smesher): (u32, [u8; 20], u16, Vec<u8>, Vec<u8>, [u8; 32]),
) -> CertifyMessage {
    CertifyMessage {
        layer: LayerId(layer),
        block: BlockId(block),
        count,
        proof: VrfSignature(proof.try_into().unwrap()),
        signature: spacemesh_core::crypto::Signature(sig.try_into().unwrap()),
        smesher: NodeId(smesher),
    }
}

fn certify_fields() -> impl Strategy<Value = (u32, [u8; 20], u16, Vec<u8>, Vec<u8>, [u8; 32])> {
    (
        any::<u32>(),
        any::<[u8; 20]>(),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 80),
        proptest::collection::vec(any::<u8>(), 64),
        any::<[u8; 32]>(),
    )
}

proptest! {
    /// Any certify message round-trips.
    #[test]
    fn certify_messages_round_trip(fields in certify_fields()) {
        let m = certify_message(fields);
        prop_assert_eq!(decode_exact::<CertifyMessage>(&m.encode()), Ok(m));
    }

    /// Certificates of any size within the bound round-trip.
    #[test]
    fn certificates_round_trip(
        layer in any::<u32>(),
        block in any::<[u8; 20]>(),
        fields in proptest::collection::vec(certify_fields(), 0..20),
    ) {
        let c = Certificate {
            layer: LayerId(layer),
            block: BlockId(block),
            signatures: BoundedVec::new(fields.into_iter().map(certify_message).collect()).unwrap(),
        };
        prop_assert_eq!(decode_exact::<Certificate>(&c.encode()), Ok(c));
    }

    /// Arbitrary bytes never panic any consensus decoder.
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_exact::<Atx>(&bytes);
        let _ = decode_exact::<Proposal>(&bytes);
        let _ = decode_exact::<MalfeasanceProof>(&bytes);
        let _ = decode_exact::<FetchMessage>(&bytes);
        let _ = decode_exact::<Block>(&bytes);
        let _ = decode_exact::<CertifyMessage>(&bytes);
        let _ = decode_exact::<Certificate>(&bytes);
        let _ = decode_exact::<HareMessage>(&bytes);
        let _ = decode_exact::<IdList<BallotId>>(&bytes);
        let _ = decode_exact::<IdList<AtxId>>(&bytes);
    }

    /// Hare messages of any value round-trip.
    #[test]
    fn hare_messages_round_trip(
        layer in any::<u32>(),
        iter in any::<u8>(),
        round in 0u8..8,
        ids in proptest::collection::btree_set(any::<[u8; 20]>(), 0..30),
        reference in proptest::option::of(any::<[u8; 32]>()),
        count in any::<u16>(),
    ) {
        let value = match reference {
            Some(h) => Value::Reference(Hash32(h)),
            None => Value::proposals(ids.into_iter().map(ProposalId).collect()),
        };
        let body = HareBody {
            layer: LayerId(layer),
            iter_round: IterRound::new(iter, Round::from_u8(round).unwrap()),
            value,
            eligibility: HareEligibility { proof: VrfSignature([7; 80]), count },
        };
        let m = HareMessage::sign(&signer(), body);
        prop_assert_eq!(decode_exact::<HareMessage>(&m.encode()), Ok(m));
    }

    /// Fetch requests of any size within the bound round-trip.
    #[test]
    fn fetch_requests_round_trip(
        id in any::<u64>(),
        n in 0usize..64,
        b in any::<u8>(),
        tag in 1u8..=10,
    ) {
        let hint = decode_exact::<Hint>(&[tag]).unwrap();
        prop_assert_eq!(hint.encode(), vec![tag]);
        let m = FetchMessage::Request {
            id,
            hint,
            hashes: BoundedVec::new(vec![Hash32([b; 32]); n]).unwrap(),
        };
        prop_assert_eq!(decode_exact::<FetchMessage>(&m.encode()), Ok(m));
    }
}

use super::*;
use crate::activation::wire::AtxMetadata;
use crate::codec::decode_exact;
use crate::crypto::{Ed25519Verifier, Signer};
use crate::types::{EpochId, Hash32, LayerId};

fn signer() -> Signer {
    Signer::from_seed([3; 32], GenesisId([7; 20]))
}

fn atx_meta(s: &Signer, epoch: u32, id: u8) -> SignedAtxMetadata {
    let metadata = AtxMetadata { publish_epoch: EpochId(epoch), id: Hash32([id; 32]) };
    SignedAtxMetadata { metadata, signature: s.sign(Domain::Atx, &metadata.encode()) }
}

fn ballot_meta(s: &Signer, layer: u32, h: u8) -> SignedBallotMetadata {
    let metadata = BallotMetadata { layer: LayerId(layer), msg_hash: Hash32([h; 32]) };
    SignedBallotMetadata { metadata, signature: s.sign(Domain::Ballot, &metadata.encode()) }
}

/// Two different signed ATXs of one epoch prove malfeasance; the same one twice, two epochs, or
/// someone else's signature do not.
#[test]
fn multiple_atxs() {
    let s = signer();
    let g = s.genesis();
    let v = Ed25519Verifier;
    let proof =
        |a, b| MalfeasanceProof { smesher: s.node_id(), evidence: Evidence::MultipleAtxs(a, b) };
    assert_eq!(proof(atx_meta(&s, 2, 1), atx_meta(&s, 2, 2)).verify_signatures(&g, &v), Ok(()));
    assert_eq!(
        proof(atx_meta(&s, 2, 1), atx_meta(&s, 2, 1)).verify_signatures(&g, &v),
        Err(ProofError::SameMessage)
    );
    assert_eq!(
        proof(atx_meta(&s, 2, 1), atx_meta(&s, 3, 2)).verify_signatures(&g, &v),
        Err(ProofError::DifferentSlot)
    );
    let other = Signer::from_seed([4; 32], g);
    assert_eq!(
        proof(atx_meta(&s, 2, 1), atx_meta(&other, 2, 2)).verify_signatures(&g, &v),
        Err(ProofError::BadSignature)
    );
    // Signatures of another network do not count.
    let elsewhere = GenesisId([8; 20]);
    assert_eq!(
        proof(atx_meta(&s, 2, 1), atx_meta(&s, 2, 2)).verify_signatures(&elsewhere, &v),
        Err(ProofError::BadSignature)
    );
}

/// Two different signed ballots of one layer prove malfeasance; ballots of two layers do not.
#[test]
fn multiple_ballots() {
    let s = signer();
    let g = s.genesis();
    let v = Ed25519Verifier;
    let proof =
        |a, b| MalfeasanceProof { smesher: s.node_id(), evidence: Evidence::MultipleBallots(a, b) };
    assert_eq!(
        proof(ballot_meta(&s, 9, 1), ballot_meta(&s, 9, 2)).verify_signatures(&g, &v),
        Ok(())
    );
    assert_eq!(
        proof(ballot_meta(&s, 9, 1), ballot_meta(&s, 10, 2)).verify_signatures(&g, &v),
        Err(ProofError::DifferentSlot)
    );
    // A domain mix-up (an ATX signature presented as a ballot's) fails.
    let mut forged = ballot_meta(&s, 9, 2);
    forged.signature = atx_meta(&s, 9, 2).signature;
    assert_eq!(
        proof(ballot_meta(&s, 9, 1), forged).verify_signatures(&g, &v),
        Err(ProofError::BadSignature)
    );
}

fn hare_meta(s: &Signer, layer: u32, round: u32, h: u8) -> SignedHareMetadata {
    let metadata = HareMetadata { layer: LayerId(layer), round, msg_hash: Hash32([h; 32]) };
    SignedHareMetadata { metadata, signature: s.sign(Domain::Hare, &metadata.encode()) }
}

/// Two different signed hare messages of one layer and round prove malfeasance; two rounds, or
/// a ballot signature in disguise, do not. The constructor is canonical (order-independent).
#[test]
fn hare_equivocation() {
    let s = signer();
    let g = s.genesis();
    let v = Ed25519Verifier;
    let proof = |a, b| MalfeasanceProof::hare_equivocation(s.node_id(), a, b);
    let ok = proof(hare_meta(&s, 9, 3, 1), hare_meta(&s, 9, 3, 2));
    assert_eq!(ok.verify_signatures(&g, &v), Ok(()));
    assert_eq!(ok, proof(hare_meta(&s, 9, 3, 2), hare_meta(&s, 9, 3, 1)));
    assert_eq!(ok.kind(), "hare-equivocation");
    assert_eq!(decode_exact::<MalfeasanceProof>(&ok.encode()), Ok(ok.clone()));
    assert_eq!(
        proof(hare_meta(&s, 9, 3, 1), hare_meta(&s, 9, 6, 2)).verify_signatures(&g, &v),
        Err(ProofError::DifferentSlot)
    );
    assert_eq!(
        proof(hare_meta(&s, 9, 3, 1), hare_meta(&s, 9, 3, 1)).verify_signatures(&g, &v),
        Err(ProofError::SameMessage)
    );
    let mut forged = hare_meta(&s, 9, 3, 2);
    forged.signature = s.sign(Domain::Ballot, &forged.metadata.encode());
    assert_eq!(
        proof(hare_meta(&s, 9, 3, 1), forged).verify_signatures(&g, &v),
        Err(ProofError::BadSignature)
    );
}

/// Proofs round-trip through the codec; unknown evidence tags are typed errors.
#[test]
fn codec_round_trip_and_tags() {
    let s = signer();
    let p = MalfeasanceProof {
        smesher: s.node_id(),
        evidence: Evidence::MultipleBallots(ballot_meta(&s, 9, 1), ballot_meta(&s, 9, 2)),
    };
    assert_eq!(decode_exact::<MalfeasanceProof>(&p.encode()), Ok(p.clone()));
    let mut bytes = p.encode();
    bytes[32] = 9;
    assert!(matches!(
        decode_exact::<MalfeasanceProof>(&bytes),
        Err(DecodeError::InvalidTag { tag: 9, .. })
    ));
}

/// The set persists each proof once, restores it, and answers "known by" in time order.
#[test]
fn set_persists_and_restores() {
    let s = signer();
    let p = MalfeasanceProof {
        smesher: s.node_id(),
        evidence: Evidence::MultipleAtxs(atx_meta(&s, 2, 1), atx_meta(&s, 2, 2)),
    };
    let mut set = MaliciousSet::default();
    let batch = set.insert(Time(50), p.clone()).expect("new identity");
    assert!(set.insert(Time(60), p.clone()).is_none(), "a second proof changes nothing");
    assert!(set.known_by(&s.node_id(), Time(50)));
    assert!(!set.known_by(&s.node_id(), Time(49)));
    let mut snapshot = Snapshot::new();
    batch.apply_to(&mut snapshot);
    let restored = MaliciousSet::restore(&snapshot).unwrap();
    assert_eq!(restored.proof(&s.node_id()), Some(&p));
    assert_eq!(restored.len(), 1);
    // A corrupt value is an error, not an empty set.
    let key = snapshot.keys().next().unwrap().clone();
    snapshot.insert(key, vec![1, 2, 3]);
    assert!(MaliciousSet::restore(&snapshot).is_err());
}

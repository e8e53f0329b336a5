use bytes::Bytes;

use super::*;
use crate::codec::BoundedBytes;
use crate::post::init::Initializer;
use crate::post::pow::Blake3Pow;
use crate::post::proof::pack_indices;
use crate::post::prove::{ProveError, Prover, prove};
use crate::types::Hash32;

const CHALLENGE: [u8; 32] = [0x42; 32];

/// A pow verifier that rejects everything.
struct RejectPow;

impl PowVerifier for RejectPow {
    fn verify(&self, _: u64, _: u8, _: &[u8; 8], _: &[u8; 32], _: &NodeId) -> bool {
        false
    }
}

fn meta(cfg: &PostConfig, num_units: u32) -> PostMetadata {
    PostMetadata {
        node_id: NodeId([0xa1; 32]),
        commitment_atx_id: Hash32([0xb2; 32]),
        num_units,
        labels_per_unit: cfg.labels_per_unit,
    }
}

fn labels_of(cfg: &PostConfig, meta: &PostMetadata) -> Vec<u8> {
    let num_labels = meta.num_labels().expect("small");
    let mut init = Initializer::new(meta.commitment(), num_labels, cfg.scrypt);
    let mut out = Vec::new();
    init.step(num_labels, &mut |_, l| out.extend_from_slice(l));
    out
}

fn indices_of(proof: &Proof, cfg: &PostConfig, meta: &PostMetadata) -> Vec<u64> {
    let bits = required_bits(meta.num_labels().expect("small"));
    unpack_indices(&proof.indices, bits, cfg.k2 as usize).expect("well-formed")
}

fn with_indices(proof: &Proof, indices: &[u64], meta: &PostMetadata) -> Proof {
    let bits = required_bits(meta.num_labels().expect("small"));
    let packed = BoundedBytes::new(Bytes::from(pack_indices(indices, bits))).expect("short");
    Proof { indices: packed, ..proof.clone() }
}

fn all(
    proof: &Proof,
    challenge: &[u8; 32],
    meta: &PostMetadata,
    cfg: &PostConfig,
) -> Result<(), VerifyError> {
    verify(proof, challenge, meta, cfg, VerifyMode::All, &Blake3Pow::default())
}

/// A proof found over real labels verifies in full and in subset mode, for the sim config and a
/// fastnet-like config (N = 2) with several unit counts.
#[test]
fn prove_then_verify_round_trip() {
    for (cfg, units) in [
        (PostConfig::sim(), 1),
        (PostConfig::sim(), 3),
        (PostConfig::fastnet(), 2),
        (PostConfig::fastnet(), 4),
    ] {
        let m = meta(&cfg, units);
        let labels = labels_of(&cfg, &m);
        let proof = prove(&CHALLENGE, &cfg, &m, &labels, &Blake3Pow::default()).expect("proof");
        assert_eq!(all(&proof, &CHALLENGE, &m, &cfg), Ok(()));
        let subset = VerifyMode::Subset { k3: 1, seed: [9; 32] };
        assert_eq!(verify(&proof, &CHALLENGE, &m, &cfg, subset, &Blake3Pow::default()), Ok(()));
        let indices = indices_of(&proof, &cfg, &m);
        assert!(indices.windows(2).all(|w| w[0] < w[1]), "found in index order: {indices:?}");
        for position in 0..cfg.k2 as usize {
            assert!(verify_index(&proof, position, &CHALLENGE, &m, &cfg));
        }
        assert!(!verify_index(&proof, cfg.k2 as usize, &CHALLENGE, &m, &cfg));
    }
}

/// Changing the nonce, the pow, the challenge or the identity breaks the proof.
#[test]
fn tampered_proofs_are_rejected() {
    let cfg = PostConfig::fastnet();
    let m = meta(&cfg, 2);
    let labels = labels_of(&cfg, &m);
    let proof = prove(&CHALLENGE, &cfg, &m, &labels, &Blake3Pow::default()).expect("proof");
    let other_nonce = Proof { nonce: proof.nonce ^ 1, ..proof.clone() };
    assert!(all(&other_nonce, &CHALLENGE, &m, &cfg).is_err());
    let other_pow = Proof { pow: proof.pow + 1, ..proof.clone() };
    assert!(all(&other_pow, &CHALLENGE, &m, &cfg).is_err());
    let mut challenge = CHALLENGE;
    challenge[31] ^= 1;
    assert!(all(&proof, &challenge, &m, &cfg).is_err());
    let other_atx = PostMetadata { commitment_atx_id: Hash32([0; 32]), ..m };
    assert!(all(&proof, &CHALLENGE, &other_atx, &cfg).is_err());
    assert_eq!(
        verify(&proof, &CHALLENGE, &m, &cfg, VerifyMode::All, &RejectPow),
        Err(VerifyError::InvalidPow { pow: proof.pow, group: proof.nonce / 16 })
    );
}

/// Replacing one index by a bad label's index is reported with its position, and
/// `verify_index` confirms the claim for that position only.
#[test]
fn bad_index_is_located() {
    let cfg = PostConfig::fastnet();
    let m = meta(&cfg, 2);
    let labels = labels_of(&cfg, &m);
    let proof = prove(&CHALLENGE, &cfg, &m, &labels, &Blake3Pow::default()).expect("proof");
    let mut indices = indices_of(&proof, &cfg, &m);
    let mut check = LabelCheck::new(&proof, &CHALLENGE, &m, &cfg, 256);
    let bad = (0..256).find(|&i| !indices.contains(&i) && !check.is_good(i)).expect("bad label");
    indices[2] = bad;
    let forged = with_indices(&proof, &indices, &m);
    assert_eq!(
        all(&forged, &CHALLENGE, &m, &cfg),
        Err(VerifyError::InvalidIndex { position: 2, index: bad })
    );
    assert!(!verify_index(&forged, 2, &CHALLENGE, &m, &cfg));
    assert!(verify_index(&forged, 1, &CHALLENGE, &m, &cfg));
}

/// A good index repeated K2 times passes every label check but is rejected as a duplicate;
/// indices past the label count and wrong lengths are structural errors.
#[test]
fn structural_rejects() {
    let cfg = PostConfig::fastnet();
    let m = meta(&cfg, 2);
    let labels = labels_of(&cfg, &m);
    let proof = prove(&CHALLENGE, &cfg, &m, &labels, &Blake3Pow::default()).expect("proof");
    let first = indices_of(&proof, &cfg, &m)[0];
    let dup = with_indices(&proof, &[first; 4], &m);
    assert_eq!(all(&dup, &CHALLENGE, &m, &cfg), Err(VerifyError::DuplicateIndex { index: first }));
    let mut indices = indices_of(&proof, &cfg, &m);
    indices[3] = 300; // 9 bits per index for 256 labels: 300 fits but is past the end
    assert_eq!(
        all(&with_indices(&proof, &indices, &m), &CHALLENGE, &m, &cfg),
        Err(VerifyError::IndexOutOfRange { position: 3, index: 300, num_labels: 256 })
    );
    let short = with_indices(&proof, &indices[..3], &m);
    assert!(matches!(all(&short, &CHALLENGE, &m, &cfg), Err(VerifyError::IndicesLength { .. })));
    let far = Proof { nonce: 4096, ..proof.clone() };
    assert_eq!(all(&far, &CHALLENGE, &m, &cfg), Err(VerifyError::NonceGroupOutOfRange(4096)));
    let too_many_units = PostMetadata { num_units: 5, ..m };
    assert!(matches!(
        all(&proof, &CHALLENGE, &too_many_units, &cfg),
        Err(VerifyError::Metadata(MetadataError::UnitsOutOfRange { .. }))
    ));
    let other_lpu = PostMetadata { labels_per_unit: 64, ..m };
    assert!(matches!(
        all(&proof, &CHALLENGE, &other_lpu, &cfg),
        Err(VerifyError::Metadata(MetadataError::LabelsPerUnitMismatch { .. }))
    ));
}

/// post-rs's shuffle test vector: with an empty seed, the full shuffle of 0..100.
#[test]
fn shuffle_matches_post_rs_vector() {
    let expected = [
        39, 13, 95, 77, 36, 41, 74, 17, 59, 87, 91, 63, 40, 20, 94, 78, 48, 60, 18, 32, 67, 43, 23,
        69, 71, 1, 51, 79, 19, 53, 86, 80, 14, 84, 97, 92, 83, 26, 2, 81, 42, 55, 50, 88, 75, 82,
        44, 34, 58, 72, 35, 25, 10, 68, 12, 11, 70, 27, 98, 57, 96, 16, 45, 73, 0, 15, 62, 46, 30,
        89, 33, 54, 9, 29, 7, 90, 38, 5, 49, 61, 93, 99, 22, 6, 64, 24, 76, 85, 37, 65, 31, 4, 52,
        3, 56, 21, 8, 28, 66, 47,
    ];
    assert_eq!(shuffled_prefix(100, 100, &[]), expected);
    assert_eq!(shuffled_prefix(100, 7, &[]), expected[..7]);
}

/// Subset positions are deterministic, distinct, in range, and depend on the seed.
#[test]
fn subset_is_deterministic_and_in_range() {
    let node = NodeId([1; 32]);
    let a = subset_positions(37, 5, &[7; 32], &node, &CHALLENGE);
    assert_eq!(a, subset_positions(37, 5, &[7; 32], &node, &CHALLENGE));
    assert_eq!(a.len(), 5);
    assert!(a.iter().all(|&p| p < 37));
    assert_eq!(a.iter().collect::<BTreeSet<_>>().len(), 5);
    let seeds_differ = (0..8u8).any(|s| subset_positions(37, 5, &[s; 32], &node, &CHALLENGE) != a);
    assert!(seeds_differ);
    assert_eq!(subset_positions(4, 4, &[7; 32], &node, &CHALLENGE), vec![0, 1, 2, 3]);
    assert_eq!(subset_positions(4, 9, &[7; 32], &node, &CHALLENGE), vec![0, 1, 2, 3]);
}

/// Feeding labels in uneven chunks finds the same proof as feeding them at once, and the
/// prover rejects gaps, overruns and partial labels.
#[test]
fn streaming_prover_is_chunking_independent() {
    let cfg = PostConfig::fastnet();
    let m = meta(&cfg, 4);
    let labels = labels_of(&cfg, &m);
    let pow = Blake3Pow::default();
    let mut start = 0;
    let (whole, pieces) = loop {
        let mut a = Prover::new(&CHALLENGE, &cfg, &m, start, &pow).expect("prover");
        let whole = a.feed(0, &labels).expect("feeds");
        let mut b = Prover::new(&CHALLENGE, &cfg, &m, start, &pow).expect("prover");
        let mut pieces = None;
        let mut index = 0u64;
        for chunk in labels.chunks(16 * 37) {
            if let Some(p) = b.feed(index, chunk).expect("feeds") {
                pieces = Some(p);
                break;
            }
            index += (chunk.len() / 16) as u64;
        }
        if whole.is_some() || start >= 4096 - 16 {
            break (whole, pieces);
        }
        start += cfg.nonces_per_pass;
    };
    assert!(whole.is_some());
    assert_eq!(whole, pieces);

    let mut p = Prover::new(&CHALLENGE, &cfg, &m, 4096 - 16, &pow).expect("prover");
    assert_eq!(p.feed(1, &labels[..16]), Err(ProveError::OutOfOrder { expected: 0, got: 1 }));
    assert_eq!(p.feed(0, &labels[..15]), Err(ProveError::NotWholeLabels(15)));
    assert!(matches!(p.feed(0, &[0u8; 16 * 513]), Err(ProveError::PastEnd { .. })));
    assert_eq!(
        Prover::new(&CHALLENGE, &cfg, &m, 8, &pow).map(|_| ()),
        Err(ProveError::BadNonceStart(8))
    );
    assert_eq!(
        Prover::new(&CHALLENGE, &cfg, &m, 4096, &pow).map(|_| ()),
        Err(ProveError::BadNonceStart(4096))
    );
}

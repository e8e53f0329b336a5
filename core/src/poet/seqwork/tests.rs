use proptest::prelude::*;

use super::*;
use crate::codec::{Encode, decode_exact};
use crate::poet::verify::verify;

const STATEMENT: [u8; 32] = [0x5a; 32];

fn work(leaves: u64, depth: u32, keep: u32) -> SequentialWork {
    let mut w = SequentialWork::with_keep_height(STATEMENT, depth, keep);
    assert_eq!(w.step(leaves), leaves);
    w
}

/// The block-level chain equals hashing the 32-byte value again and again.
#[test]
fn chain_is_iterated_sha256() {
    let mut x = [3u8; 32];
    let mut expected = x;
    for _ in 0..5 {
        expected = Sha256::digest(expected).into();
    }
    chain(&mut x, 5);
    assert_eq!(x, expected);
    let mut same = [9u8; 32];
    chain(&mut same, 0);
    assert_eq!(same, [9u8; 32]);
}

/// A label is SHA-256 of statement, big-endian index and siblings, nested to the depth.
#[test]
fn label_layout() {
    let sib = [1u8; 32];
    let mut msg = STATEMENT.to_vec();
    msg.extend_from_slice(&5u64.to_be_bytes());
    msg.extend_from_slice(&sib);
    let once: Node = Sha256::digest(&msg).into();
    assert_eq!(label(&STATEMENT, 5, [&sib], 1), once);
    let twice: Node = Sha256::digest(once).into();
    assert_eq!(label(&STATEMENT, 5, [&sib], 2), twice);
}

/// Leaves depend on their parked left siblings, and the incremental root equals the root of the
/// level-wise padded tree over the same leaves, for every size up to 70.
#[test]
fn incremental_matches_levelwise() {
    let depth = 2;
    let w = work(70, depth, 0);
    let hash = WorkHash(STATEMENT);
    let all: Vec<Node> = w.kept_nodes().iter().map(|h| h.0).collect();
    let full = tree::build_layers(all.clone(), &hash);
    for (i, leaf) in all.iter().enumerate() {
        let i = i as u64;
        let siblings: Vec<Node> = (0..7)
            .filter(|h| (i >> h) & 1 == 1)
            .map(|h| full[h as usize][((i >> h) - 1) as usize])
            .collect();
        assert_eq!(label(&STATEMENT, i, &siblings, depth), *leaf, "leaf {i}");
    }
    for n in 1..=70u64 {
        let layers = tree::build_layers(all[..n as usize].to_vec(), &hash);
        assert_eq!(work(n, depth, 0).root().0, layers.last().unwrap()[0], "n {n}");
    }
}

/// Keeping a higher layer and recomputing subtrees gives the very same proof, including trees
/// lower than the kept height.
#[test]
fn keep_height_gives_same_proof() {
    for n in [5u64, 8, 13, 16, 17, 64, 100, 129] {
        let t = 5;
        let reference = work(n, 1, 0).finish(t).unwrap();
        for keep in 1..=5 {
            let w = work(n, 1, keep);
            assert_eq!(w.kept_nodes().len() as u64, n >> keep);
            assert_eq!(w.finish(t).unwrap(), reference, "n {n} keep {keep}");
        }
    }
}

/// A snapshot survives encoding; restoring it with the kept layer and continuing gives the same
/// proof as never stopping.
#[test]
fn snapshot_restore_continue() {
    for keep in [0, 2] {
        let straight = work(300, 2, keep).finish(12).unwrap();
        let first = work(137, 2, keep);
        let snap: SeqWorkSnapshot = decode_exact(&first.snapshot().encode()).unwrap();
        assert_eq!(snap, first.snapshot());
        let mut resumed = SequentialWork::restore(&snap, first.kept_nodes().to_vec()).unwrap();
        resumed.step(163);
        assert_eq!(resumed.finish(12).unwrap(), straight, "keep {keep}");
    }
}

/// Restore refuses snapshots that do not fit their kept layer.
#[test]
fn restore_rejects_inconsistent() {
    let w = work(100, 1, 2);
    let snap = w.snapshot();
    let kept = w.kept_nodes().to_vec();
    assert!(SequentialWork::restore(&snap, kept[1..].to_vec()).is_err());
    let mut bad_kept = kept.clone();
    bad_kept[0].0[0] ^= 1;
    assert!(SequentialWork::restore(&snap, bad_kept).is_err());
    let mut fewer = snap.clone();
    fewer.leaves += 1;
    assert!(SequentialWork::restore(&fewer, kept.clone()).is_err());
    let mut zero = snap.clone();
    zero.nesting_depth = 0;
    assert!(SequentialWork::restore(&zero, kept).is_err());
}

/// Too few leaves and a t outside 1..=150 are errors.
#[test]
fn finish_errors() {
    let w = work(10, 1, 0);
    assert_eq!(w.finish(11), Err(SeqWorkError::TooFewLeaves { leaves: 10, t: 11 }));
    assert_eq!(w.finish(0), Err(SeqWorkError::BadT(0)));
    assert_eq!(w.finish(151), Err(SeqWorkError::BadT(151)));
    assert!(w.finish(10).is_ok());
}

/// Fiat-Shamir indices: sorted, distinct, below the leaf count, the first one from j = 0.
#[test]
fn fiat_shamir_shape() {
    let root = Hash32([4; 32]);
    let ids = fiat_shamir(&root, 1000, 150).unwrap();
    assert_eq!(ids.len(), 150);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(ids.iter().all(|&i| i < 1000));
    let first = Sha256::new().chain_update(root.0).chain_update(0u32.to_be_bytes()).finalize();
    let first = u64::from_be_bytes(first[..8].try_into().unwrap()) % 1000;
    assert!(ids.contains(&first));
    assert_eq!(fiat_shamir(&root, 1000, 150), Some(ids));
    assert_eq!(fiat_shamir(&root, 5, 6), None);
    assert_eq!(fiat_shamir(&root, 5, 5), Some(vec![0, 1, 2, 3, 4]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any size, t and kept height: the proof verifies and does not depend on the kept height.
    #[test]
    fn proofs_verify(n in 1u64..600, t in 1usize..20, keep in 0u32..6, depth in 1u32..4) {
        let t = t.min(n as usize);
        let proof = work(n, depth, keep).finish(t).unwrap();
        let poet = crate::poet::PoetProof { merkle: proof.clone(), leaves: n };
        prop_assert_eq!(verify(&poet, &STATEMENT, t, depth), Ok(()));
        if keep > 0 {
            prop_assert_eq!(work(n, depth, 0).finish(t).unwrap(), proof);
        }
    }
}

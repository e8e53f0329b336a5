use proptest::prelude::*;

use super::*;

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    assert_eq!(s.len(), 2 * N, "hex length");
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex digit");
    }
    out
}

fn unhex_vec(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// RFC 9381 appendix B.3 (ECVRF-EDWARDS25519-SHA512-ELL2), which are also curve25519-voi's
/// post-draft-v11 vectors in `primitives/ed25519/extra/ecvrf/ecvrf_test.go`:
/// (sk, pk, alpha, pi, beta).
const KAT: [(&str, &str, &str, &str, &str); 3] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "7d9c633ffeee27349264cf5c667579fc583b4bda63ab71d001f89c10003ab46f14adf9a3cd8b8412d9038531e865c341cafa73589b023d14311c331a9ad15ff2fb37831e00f0acaa6d73bc9997b06501",
        "9d574bf9b8302ec0fc1e21c3ec5368269527b87b462ce36dab2d14ccf80c53cccf6758f058c5b1c856b116388152bbe509ee3b9ecfe63d93c3b4346c1fbc6c54",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "47b327393ff2dd81336f8a2ef10339112401253b3c714eeda879f12c509072ef055b48372bb82efbdce8e10c8cb9a2f9d60e93908f93df1623ad78a86a028d6bc064dbfc75a6a57379ef855dc6733801",
        "38561d6b77b71d30eb97a062168ae12b667ce5c28caccdf76bc88e093e4635987cd96814ce55b4689b3dd2947f80e59aac7b7675f8083865b46c89b2ce9cc735",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "926e895d308f5e328e7aa159c06eddbe56d06846abf5d98c2512235eaa57fdce35b46edfc655bc828d44ad09d1150f31374e7ef73027e14760d42e77341fe05467bb286cc2c9d7fde29120a0b2320d04",
        "121b7f9b9aaaa29099fc04a94ba52784d44eac976dd1a3cca458733be5cd090a7b5fbd148444f17f8daf1fb55cb04b1ae85a626e30a54b4b0f8abf4a43314a58",
    ),
];

/// Proving reproduces the RFC 9381 / curve25519-voi vectors byte for byte, and they verify.
#[test]
fn known_answers() {
    for (sk, pk, alpha, pi, beta) in KAT {
        let seed = unhex::<32>(sk);
        let pk = unhex::<32>(pk);
        let alpha = unhex_vec(alpha);
        assert_eq!(public_key(&seed), pk, "node id is the ed25519 public key of the seed");
        let proof = prove(&seed, &alpha);
        assert_eq!(proof, VrfSignature(unhex::<80>(pi)), "pi for alpha {alpha:02x?}");
        assert!(verify(&pk, &alpha, &proof));
        assert_eq!(verified_output(&pk, &alpha, &proof), Some(unhex::<64>(beta)));
        assert_eq!(proof_to_hash(&proof), Some(unhex::<64>(beta)));
    }
}

/// A proof does not verify for another message or another key.
#[test]
fn wrong_message_or_key_rejected() {
    let seed = unhex::<32>(KAT[0].0);
    let proof = prove(&seed, b"layer 7");
    let pk = public_key(&seed);
    assert!(verify(&pk, b"layer 7", &proof));
    assert!(!verify(&pk, b"layer 8", &proof));
    assert!(!verify(&public_key(&[7u8; 32]), b"layer 7", &proof));
}

/// Small-order keys (identity, the all-zero encoding of an order-4 point) are rejected even with
/// a proof that is otherwise well formed.
#[test]
fn small_order_keys_rejected() {
    let proof = prove(&[1u8; 32], b"m");
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(!verify(&identity, b"m", &proof));
    assert!(!verify(&[0u8; 32], b"m", &proof));
}

/// Non-canonical encodings: y >= p and the two "negative zero" aliases of x = 0.
#[test]
fn canonical_point_rule() {
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f; // y = p
    assert!(!is_canonical_point(&p));
    p[0] = 0xec; // y = p - 1, positive sign: canonical
    assert!(is_canonical_point(&p));
    p[31] = 0xff; // y = p - 1 with the sign bit: x = 0 has no negative
    assert!(!is_canonical_point(&p));
    let mut one = [0u8; 32];
    one[0] = 1;
    assert!(is_canonical_point(&one));
    one[31] = 0x80;
    assert!(!is_canonical_point(&one));
    // Real keys pass.
    let pk = unhex::<32>(KAT[0].1);
    assert!(is_canonical_point(&pk));
}

/// s + ℓ is the same scalar mod ℓ, but a second encoding of the proof: curve25519-voi rejects
/// it and so must we (the crate alone would reduce it and accept).
#[test]
fn non_canonical_s_rejected() {
    let seed = unhex::<32>(KAT[1].0);
    let pk = public_key(&seed);
    let proof = prove(&seed, b"alpha");
    assert!(verify(&pk, b"alpha", &proof));
    // s < 2^253 always, so s + ℓ < 2^254 fits the 32 bytes.
    let mut malleated = proof;
    let mut carry = 0u16;
    for (byte, l) in malleated.0[48..].iter_mut().zip(GROUP_ORDER) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    assert!(!is_canonical_scalar(malleated.0[48..].try_into().unwrap()));
    let raw = EdVrfEdwards25519Ell2PublicKey::from_slice(&pk).unwrap();
    let decoded = EdVrfProof::decode_pi(&malleated.0).unwrap();
    assert!(raw.verify(b"alpha", decoded).is_ok(), "the crate alone accepts s + l");
    assert!(!verify(&pk, b"alpha", &malleated));
    assert!(is_canonical_scalar(&[0u8; 32]));
    let mut l_minus_one = GROUP_ORDER;
    l_minus_one[0] -= 1;
    assert!(is_canonical_scalar(&l_minus_one));
    assert!(!is_canonical_scalar(&GROUP_ORDER));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every proof verifies under its own key and message, and flipping any bit of it breaks it.
    #[test]
    fn prove_verify_and_tamper(
        seed in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..64),
        bit in 0usize..640,
    ) {
        let pk = public_key(&seed);
        let proof = prove(&seed, &msg);
        prop_assert!(verify(&pk, &msg, &proof));
        prop_assert_eq!(proof, prove(&seed, &msg));
        let mut bad = proof;
        bad.0[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(!verify(&pk, &msg, &bad));
    }

    /// Γ alone is the first 32 bytes of the full proof, for any key and message.
    #[test]
    fn gamma_is_the_proofs_first_half(
        seed in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let proof = prove(&seed, &msg);
        prop_assert_eq!(&gamma(&seed, &public_key(&seed), &msg)[..], &proof.0[..32]);
    }

    /// Arbitrary bytes never panic and (with overwhelming probability) never verify.
    #[test]
    fn garbage_rejected(pk in any::<[u8; 32]>(), msg in any::<[u8; 8]>(), pi in any::<[[u8; 40]; 2]>()) {
        let mut proof = [0u8; 80];
        proof[..40].copy_from_slice(&pi[0]);
        proof[40..].copy_from_slice(&pi[1]);
        prop_assert!(!verify(&pk, &msg, &VrfSignature(proof)));
        let _ = proof_to_hash(&VrfSignature(proof));
    }
}

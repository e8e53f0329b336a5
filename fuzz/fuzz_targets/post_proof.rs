//! PoST proofs: any bytes decode to a proof or a typed error; decoded proofs re-encode to the same
//! bytes and verify (or fail to) against a fixed small identity without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::post::{
    Blake3Pow, PostConfig, PostMetadata, Proof, VerifyMode, verify, verify_index,
};
use spacemesh_core::{Hash32, NodeId};

fuzz_target!(|data: &[u8]| {
    let Ok(proof) = decode_exact::<Proof>(data) else { return };
    assert_eq!(proof.encode(), data, "decoding must be canonical");
    let cfg = PostConfig::sim();
    let meta = PostMetadata {
        node_id: NodeId([1; 32]),
        commitment_atx_id: Hash32([2; 32]),
        num_units: 2,
        labels_per_unit: cfg.labels_per_unit,
    };
    let challenge = [3; 32];
    let pow = Blake3Pow::default();
    let _ = verify(&proof, &challenge, &meta, &cfg, VerifyMode::All, &pow);
    let _ =
        verify(&proof, &challenge, &meta, &cfg, VerifyMode::Subset { k3: 1, seed: [4; 32] }, &pow);
    for position in 0..=cfg.k2 as usize {
        let _ = verify_index(&proof, position, &challenge, &meta, &cfg);
    }
});

//! PoET proofs and PoET API messages: decoding is canonical, and verifying any decoded proof
//! against a fixed statement returns a verdict without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::poet::{PoetProof, PoetRequest, PoetResponse, verify};

/// Small parameters keep each run cheap; the code paths are the mainnet ones.
const STATEMENT: [u8; 32] = [0x5a; 32];

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = decode_exact::<PoetProof>(data) {
        assert_eq!(proof.encode(), data, "decoding must be canonical");
        let t = proof.merkle.proven_leaves.len().clamp(1, 150);
        let _ = verify(&proof, &STATEMENT, t, 2);
        let _ = proof.reference();
    }
    if let Ok(req) = decode_exact::<PoetRequest>(data) {
        assert_eq!(req.encode(), data, "decoding must be canonical");
    }
    if let Ok(resp) = decode_exact::<PoetResponse>(data) {
        assert_eq!(resp.encode(), data, "decoding must be canonical");
        if let PoetResponse::Proof { proof, .. } = resp {
            let t = proof.merkle.proven_leaves.len().clamp(1, 150);
            let _ = verify(&proof, &STATEMENT, t, 1);
        }
    }
});

//! ECVRF verification of arbitrary (public key, message, proof) bytes: must never panic, and
//! anything it accepts must also have an output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::vrf::{VrfSignature, proof_to_hash, verified_output, verify};

fuzz_target!(|data: &[u8]| {
    if data.len() < 32 + 80 {
        return;
    }
    let public_key: [u8; 32] = data[..32].try_into().expect("32 bytes");
    let proof = VrfSignature(data[32..112].try_into().expect("80 bytes"));
    let message = &data[112..];
    let ok = verify(&public_key, message, &proof);
    assert_eq!(ok, verified_output(&public_key, message, &proof).is_some());
    let beta = proof_to_hash(&proof);
    if ok {
        assert_eq!(beta, verified_output(&public_key, message, &proof));
    }
});

//! PoET API bodies: a request as the PoET service's HTTP listener receives it, and an answer as
//! a node's PoET client receives it. Decoding never panics; what decodes re-encodes to the same
//! bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::poet::{PoetRequest, PoetResponse};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_exact::<PoetRequest>(data) {
        assert_eq!(request.encode(), data);
    }
    if let Ok(response) = decode_exact::<PoetResponse>(data) {
        assert_eq!(response.encode(), data);
    }
});

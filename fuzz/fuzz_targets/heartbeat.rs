//! Gossiped heartbeat payloads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::heartbeat::HeartbeatMsg;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode_exact::<HeartbeatMsg>(data) {
        assert_eq!(msg.encode(), data, "decoding must be canonical");
    }
});

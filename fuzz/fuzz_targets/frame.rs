//! Peer frames: any bytes decode to a frame or a typed error, and decoded frames re-encode to the
//! same bytes (canonical encoding).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use spacemesh_core::codec::Encode;
use spacemesh_core::frame::{FRAME_MAX, Frame};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(frame) = Frame::decode_bounded(&bytes, FRAME_MAX) {
        assert_eq!(frame.encode(), data, "decoding must be canonical");
    }
});

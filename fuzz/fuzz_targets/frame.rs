//! Peer frames: any bytes decode to a frame or a typed error, and decoded frames re-encode to the
//! same bytes (canonical encoding). The publish print a simulator takes of a frame agrees with
//! the decode: it exists exactly for gossip publishes and names their id and lengths.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use spacemesh_core::codec::Encode;
use spacemesh_core::frame::{FRAME_MAX, Frame};
use spacemesh_core::gossip::{GossipMessage, PublishPrint, message_id};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let decoded = Frame::decode_bounded(&bytes, usize::MAX);
    if let Ok(frame) = &decoded {
        assert_eq!(frame.encode(), data, "decoding must be canonical");
    }
    if bytes.len() <= FRAME_MAX {
        assert_eq!(decoded.is_ok(), Frame::decode_bounded(&bytes, FRAME_MAX).is_ok());
    }
    let print = PublishPrint::of(&bytes);
    match decoded {
        Ok(Frame::Gossip(GossipMessage::Publish { topic, data })) => {
            let print = print.expect("a publish has a print");
            assert_eq!(print.id(), &message_id(topic, &data));
            assert_eq!((print.data_len(), print.frame_len()), (data.len(), bytes.len()));
        }
        _ => assert!(print.is_none(), "a print of a frame that is not a publish"),
    }
});

//! A node fed arbitrary frames from a connected peer never panics and keeps its invariants. The
//! node runs the epoch machinery, so consensus topics and fetch frames are reachable.
#![no_main]

use std::sync::Arc;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use spacemesh_core::crypto::Ed25519Verifier;
use spacemesh_core::node::ConsensusConfig;
use spacemesh_core::{Input, Node, NodeConfig, NodeKeys, PeerId, Time};

fuzz_target!(|data: &[u8]| {
    let keys = NodeKeys { identity_seed: [1; 32], p2p_seed: [2; 32] };
    let cfg = NodeConfig {
        consensus: Some(ConsensusConfig::sim(Time(0), 10, Vec::new())),
        ..NodeConfig::default()
    };
    let mut node = Node::new(cfg, &keys, [0; 32], Arc::new(Ed25519Verifier));
    node.handle(Time(1), Input::Restore(Default::default()));
    let peer = PeerId([9; 32]);
    node.handle(Time(1), Input::PeerUp { peer, outbound: false });
    // Frames are separated by 0xfe bytes so one input can carry several.
    for (i, frame) in data.split(|b| *b == 0xfe).enumerate() {
        node.handle(Time(2 + i as u64), Input::Message { peer, bytes: Bytes::copy_from_slice(frame) });
        while node.poll_output().is_some() {}
        node.check_invariants_deep();
    }
});

//! Every consensus decoder of untrusted bytes (ATXs, proposals, beacon messages, malfeasance
//! proofs, fetch messages, served PoET proofs, blocks, certify messages, certificates, hare
//! messages, the id lists served to syncing peers) returns
//! a value or a typed error, never panics, and what decodes re-encodes to the same bytes
//! (canonical encodings only).
#![no_main]

use libfuzzer_sys::fuzz_target;
use spacemesh_core::activation::Atx;
use spacemesh_core::ballot::Proposal;
use spacemesh_core::beacon::BeaconMessage;
use spacemesh_core::block::Block;
use spacemesh_core::certifier::{Certificate, CertifyMessage};
use spacemesh_core::codec::{Decode, Encode, decode_exact};
use spacemesh_core::fetch::FetchMessage;
use spacemesh_core::hare::wire::HareMessage;
use spacemesh_core::malfeasance::MalfeasanceProof;
use spacemesh_core::node::consensus::{IdList, ServedPoetProof};
use spacemesh_core::types::BallotId;
use spacemesh_core::activation::AtxId;

fn round_trip<T: Decode + Encode>(data: &[u8]) {
    if let Ok(v) = decode_exact::<T>(data) {
        assert_eq!(v.encode(), data, "non-canonical encoding accepted");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((kind, rest)) = data.split_first() else { return };
    // A block encodes exactly as its inner block, so one case covers both.
    match kind % 12 {
        0 => round_trip::<Atx>(rest),
        1 => round_trip::<Proposal>(rest),
        2 => round_trip::<BeaconMessage>(rest),
        3 => round_trip::<MalfeasanceProof>(rest),
        4 => round_trip::<FetchMessage>(rest),
        5 => round_trip::<ServedPoetProof>(rest),
        6 => round_trip::<Block>(rest),
        7 => round_trip::<CertifyMessage>(rest),
        8 => round_trip::<HareMessage>(rest),
        9 => round_trip::<IdList<AtxId>>(rest),
        10 => round_trip::<IdList<BallotId>>(rest),
        _ => round_trip::<Certificate>(rest),
    }
});

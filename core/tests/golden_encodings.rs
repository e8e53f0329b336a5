//! Golden encodings of every wire message: a change to any of these bytes is a wire-format
//! change and must be deliberate.

use bytes::Bytes;
use spacemesh_core::codec::{BoundedBytes, BoundedVec, Encode, decode_exact};
use spacemesh_core::crypto::Signer;
use spacemesh_core::frame::Frame;
use spacemesh_core::gossip::{BucketIds, BucketSummary, GossipMessage, Topic};
use spacemesh_core::heartbeat::HeartbeatMsg;
use spacemesh_core::p2p::{PeerAddr, PeerMessage, PeerRecord};
use spacemesh_core::store::Batch;
use spacemesh_core::{GenesisId, Hash32, PeerId, Time};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn frames() -> Vec<(&'static str, Frame)> {
    let ids = || BoundedVec::new(vec![Hash32([0x11; 32]), Hash32([0x22; 32])]).unwrap();
    vec![
        (
            "publish",
            Frame::Gossip(GossipMessage::Publish {
                topic: Topic::Heartbeat,
                data: BoundedBytes::new(Bytes::from_static(b"payload")).unwrap(),
            }),
        ),
        ("ihave", Frame::Gossip(GossipMessage::IHave(ids()))),
        ("iwant", Frame::Gossip(GossipMessage::IWant(ids()))),
        ("graft", Frame::Gossip(GossipMessage::Graft)),
        ("prune", Frame::Gossip(GossipMessage::Prune)),
        (
            "reconcile-request",
            Frame::Gossip(GossipMessage::ReconcileRequest(
                BoundedVec::new(vec![BucketSummary { count: 3, xor: Hash32([0x33; 32]) }]).unwrap(),
            )),
        ),
        (
            "reconcile-ids",
            Frame::Gossip(GossipMessage::ReconcileIds(
                BoundedVec::new(vec![BucketIds {
                    index: 5,
                    ids: BoundedVec::new(vec![Hash32([0x55; 32])]).unwrap(),
                }])
                .unwrap(),
            )),
        ),
        ("ping", Frame::Peers(PeerMessage::Ping(0x0102_0304_0506_0708))),
        ("pong", Frame::Peers(PeerMessage::Pong(9))),
        ("get-peers", Frame::Peers(PeerMessage::GetPeers)),
        (
            "peers",
            Frame::Peers(PeerMessage::Peers(BoundedVec::new(vec![PeerId([0x44; 32])]).unwrap())),
        ),
        (
            "addressed-peers",
            Frame::Peers(PeerMessage::Addressed(
                BoundedVec::new(vec![
                    PeerRecord {
                        peer: PeerId([0x66; 32]),
                        addr: PeerAddr::new(Bytes::from_static(b"127.0.0.1:7000")).unwrap(),
                    },
                    PeerRecord { peer: PeerId([0x77; 32]), addr: PeerAddr::default() },
                ])
                .unwrap(),
            )),
        ),
    ]
}

/// Every frame kind has a fixed encoding that decodes back to itself.
#[test]
fn frame_encodings() {
    let mut lines = Vec::new();
    for (name, frame) in frames() {
        let enc = frame.encode();
        assert_eq!(decode_exact::<Frame>(&enc), Ok(frame), "{name} round trip");
        lines.push(format!("{name}: {}", hex(&enc)));
    }
    insta::assert_snapshot!(lines.join("\n"));
}

/// A heartbeat signed with a fixed key has a fixed encoding (ed25519 signatures are
/// deterministic).
#[test]
fn heartbeat_encoding() {
    let signer = Signer::from_seed([9; 32], GenesisId([1; 20]));
    let msg = HeartbeatMsg::sign(&signer, 42, Time::from_secs(1_700_000_000), b"smesh/0.1.0");
    let enc = msg.encode();
    assert_eq!(decode_exact::<HeartbeatMsg>(&enc), Ok(msg));
    insta::assert_snapshot!(hex(&enc));
}

/// A persisted batch has a fixed encoding (it is what the write-ahead log holds).
#[test]
fn batch_encoding() {
    let mut batch = Batch::default();
    batch.put(b"heartbeat/next_seq", &7u64.encode()).delete(b"old");
    let enc = batch.encode();
    assert_eq!(decode_exact::<Batch>(&enc), Ok(batch));
    insta::assert_snapshot!(hex(&enc));
}

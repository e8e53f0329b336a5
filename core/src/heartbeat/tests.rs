use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::codec::Encode;
use crate::crypto::{Ed25519Verifier, Verifier};
use crate::gossip::{Topic, message_id};

const GENESIS: GenesisId = GenesisId([3; 20]);

fn signer(n: u8) -> Signer {
    Signer::from_seed([n; 32], GENESIS)
}

fn drain(h: &mut Heartbeat) -> Vec<HeartbeatOutput> {
    std::iter::from_fn(|| h.poll_output()).collect()
}

fn receiver() -> Heartbeat {
    let mut h =
        Heartbeat::new(HeartbeatConfig { interval: None, ..HeartbeatConfig::default() }, signer(1));
    h.handle(Time::from_secs(1000), HeartbeatInput::Restore(0));
    h
}

/// Feeds a heartbeat through gossip validation and the real signature check; returns outputs.
fn deliver(h: &mut Heartbeat, now: Time, data: Bytes) -> Vec<HeartbeatOutput> {
    let id = message_id(Topic::Heartbeat, &data);
    h.handle(now, HeartbeatInput::Gossip { id, data });
    let mut out = Vec::new();
    for o in drain(h) {
        match o {
            HeartbeatOutput::CheckSignature { id, check } => {
                let valid = Ed25519Verifier.verify(
                    &check.public_key,
                    &check.signed_message,
                    &check.signature,
                );
                h.handle(now, HeartbeatInput::SignatureChecked { id, valid });
                out.extend(drain(h));
            }
            other => out.push(other),
        }
    }
    out
}

fn verdicts(out: &[HeartbeatOutput]) -> Vec<Verdict> {
    out.iter()
        .filter_map(|o| {
            if let HeartbeatOutput::Verdict { verdict, .. } = o { Some(*verdict) } else { None }
        })
        .collect()
}

/// A well-signed, timely heartbeat is accepted and reported.
#[test]
fn valid_heartbeat_accepted() {
    let mut h = receiver();
    let now = Time::from_secs(1000);
    let msg = HeartbeatMsg::sign(&signer(2), 5, now, b"v1");
    let out = deliver(&mut h, now, msg.encode_bytes());
    assert_eq!(verdicts(&out), vec![Verdict::Accept]);
    assert!(
        out.iter()
            .any(|o| matches!(o, HeartbeatOutput::Event(HeartbeatEvent::Received { seq: 5, .. })))
    );
    assert_eq!(h.origins(), 1);
    h.check_invariants();
}

/// Garbage and forged signatures are rejected; stale and future heartbeats are ignored.
#[test]
fn invalid_heartbeats() {
    let mut h = receiver();
    let now = Time::from_secs(100_000);
    assert_eq!(
        verdicts(&deliver(&mut h, now, Bytes::from_static(b"garbage"))),
        vec![Verdict::Reject]
    );
    let mut forged = HeartbeatMsg::sign(&signer(2), 1, now, b"");
    forged.seq = 2; // signature no longer matches
    assert_eq!(verdicts(&deliver(&mut h, now, forged.encode_bytes())), vec![Verdict::Reject]);
    let old = HeartbeatMsg::sign(&signer(2), 3, now - Duration::from_secs(7200), b"");
    assert_eq!(verdicts(&deliver(&mut h, now, old.encode_bytes())), vec![Verdict::Ignore]);
    let future = HeartbeatMsg::sign(&signer(2), 4, now + Duration::from_secs(600), b"");
    assert_eq!(verdicts(&deliver(&mut h, now, future.encode_bytes())), vec![Verdict::Ignore]);
    // Signed for another network.
    let other = HeartbeatMsg::sign(&Signer::from_seed([2; 32], GenesisId([4; 20])), 5, now, b"");
    assert_eq!(verdicts(&deliver(&mut h, now, other.encode_bytes())), vec![Verdict::Reject]);
}

/// Two different heartbeats with one sequence number are an equivocation.
#[test]
fn equivocation_detected() {
    let mut h = receiver();
    let now = Time::from_secs(1000);
    let a = HeartbeatMsg::sign(&signer(2), 7, now, b"a");
    let b = HeartbeatMsg::sign(&signer(2), 7, now, b"b");
    assert_eq!(verdicts(&deliver(&mut h, now, a.encode_bytes())), vec![Verdict::Accept]);
    let out = deliver(&mut h, now, b.encode_bytes());
    assert_eq!(verdicts(&out), vec![Verdict::Ignore]);
    let origin = signer(2).node_id();
    assert!(
        out.contains(&HeartbeatOutput::Event(HeartbeatEvent::Equivocation { origin, seq: 7 }))
            || out.iter().any(|o| matches!(
                o,
                HeartbeatOutput::Event(HeartbeatEvent::Equivocation { seq: 7, .. })
            ))
    );
}

impl PartialEq for HeartbeatOutput {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// Publishing persists the next sequence number before the publish output, and a restored node
/// continues the sequence.
#[test]
fn persist_precedes_publish_and_restore_continues() {
    let cfg =
        HeartbeatConfig { interval: Some(Duration::from_secs(10)), ..HeartbeatConfig::default() };
    let mut h = Heartbeat::new(cfg.clone(), signer(1));
    h.handle(Time::from_secs(0), HeartbeatInput::Restore(41));
    h.handle(Time::from_secs(0), HeartbeatInput::Tick);
    let out = drain(&mut h);
    let HeartbeatOutput::Persist(batch) = &out[0] else { panic!("persist first: {out:?}") };
    assert!(matches!(out[1], HeartbeatOutput::Publish(_)));
    let mut snapshot = Snapshot::new();
    batch.apply_to(&mut snapshot);
    assert_eq!(Heartbeat::restored_seq(&snapshot), Ok(42));
    assert_eq!(h.poll_timeout(), Some(Time::from_secs(10)));
    let mut restarted = Heartbeat::new(cfg, signer(1));
    restarted.handle(
        Time::from_secs(5),
        HeartbeatInput::Restore(Heartbeat::restored_seq(&snapshot).unwrap()),
    );
    restarted.handle(Time::from_secs(5), HeartbeatInput::Tick);
    let out = drain(&mut restarted);
    assert!(
        out.iter()
            .any(|o| matches!(o, HeartbeatOutput::Event(HeartbeatEvent::Published { seq: 42 })))
    );
}

/// A corrupt persisted sequence number is an error, not a silent restart at zero.
#[test]
fn corrupt_seq_is_an_error() {
    let mut snapshot = Snapshot::new();
    snapshot.insert(NEXT_SEQ_KEY.to_vec(), vec![1, 2, 3]);
    assert!(Heartbeat::restored_seq(&snapshot).is_err());
}

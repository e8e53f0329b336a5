use std::time::Duration;

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::codec::{BoundedBytes, BoundedVec, Encode, decode_exact};
use crate::frame::Frame;
use crate::p2p::Penalty;
use crate::types::{PeerId, Time};

fn peer(n: u8) -> PeerId {
    PeerId([n; 32])
}

fn gossip_with_peers(n: u8) -> Gossip {
    let mut g = Gossip::new(GossipConfig::default(), ChaCha8Rng::seed_from_u64(1));
    for i in 1..=n {
        g.handle(Time(0), GossipInput::PeerUp(peer(i)));
    }
    g
}

fn drain(g: &mut Gossip) -> Vec<GossipOutput> {
    std::iter::from_fn(|| g.poll_output()).collect()
}

fn publish_frame(data: &'static [u8]) -> (GossipMessage, Bytes) {
    let msg = GossipMessage::Publish {
        topic: Topic::Heartbeat,
        data: BoundedBytes::new(Bytes::from_static(data)).unwrap(),
    };
    let frame = Frame::Gossip(msg.clone()).encode_bytes();
    (msg, frame)
}

fn sends(out: &[GossipOutput]) -> Vec<(PeerId, Frame)> {
    out.iter()
        .filter_map(|o| match o {
            GossipOutput::Send { peer, frame } => Some((*peer, decode_exact(frame).unwrap())),
            _ => None,
        })
        .collect()
}

/// An own message goes to every connected peer (flood publish) and is reported accepted.
#[test]
fn publish_floods_all_peers() {
    let mut g = gossip_with_peers(5);
    g.handle(
        Time(1),
        GossipInput::Publish { topic: Topic::Heartbeat, data: Bytes::from_static(b"x") },
    );
    let out = drain(&mut g);
    assert_eq!(sends(&out).len(), 5);
    assert!(out.iter().any(|o| matches!(o, GossipOutput::Accepted { own: true, .. })));
}

/// A received message is validated once; on accept it goes to the mesh except its source.
#[test]
fn received_message_validated_once_and_forwarded_to_mesh() {
    let mut g = gossip_with_peers(10);
    g.handle(Time(1_000_000), GossipInput::Tick); // heartbeat builds the mesh
    drain(&mut g);
    let mesh: Vec<PeerId> = g.mesh().iter().copied().collect();
    assert_eq!(mesh.len(), GossipConfig::default().mesh_d);
    let source = mesh[0];
    let (msg, frame) = publish_frame(b"hello");
    g.handle(
        Time(2),
        GossipInput::Message { peer: source, msg: msg.clone(), frame: frame.clone() },
    );
    let out = drain(&mut g);
    let GossipOutput::Validate { id, from, .. } = out[0].clone() else { panic!("{out:?}") };
    assert_eq!(from, source);
    g.handle(Time(3), GossipInput::Message { peer: peer(9), msg, frame: frame.clone() });
    assert!(drain(&mut g).is_empty(), "a duplicate is not validated again");
    g.handle(Time(4), GossipInput::Verdict { id, verdict: Verdict::Accept });
    let out = drain(&mut g);
    let targets: Vec<PeerId> = sends(&out).into_iter().map(|(p, _)| p).collect();
    assert_eq!(targets.len(), mesh.len() - 1);
    assert!(!targets.contains(&source));
    assert_eq!(g.stats().duplicates, 1);
    g.check_invariants_deep();
}

/// A rejected message penalizes the peer it came from and is not forwarded.
#[test]
fn reject_penalizes_source() {
    let mut g = gossip_with_peers(3);
    let (msg, frame) = publish_frame(b"bad");
    g.handle(Time(1), GossipInput::Message { peer: peer(2), msg, frame });
    let GossipOutput::Validate { id, .. } = drain(&mut g)[0].clone() else { panic!() };
    g.handle(Time(2), GossipInput::Verdict { id, verdict: Verdict::Reject });
    let out = drain(&mut g);
    assert_eq!(
        out,
        vec![GossipOutput::Penalize { peer: peer(2), penalty: Penalty::InvalidMessage }]
    );
}

/// A message over the configured size is penalized without validation.
#[test]
fn oversized_message_is_penalized() {
    let cfg = GossipConfig { message_max: 3, ..GossipConfig::default() };
    let mut g = Gossip::new(cfg, ChaCha8Rng::seed_from_u64(1));
    g.handle(Time(0), GossipInput::PeerUp(peer(1)));
    let (msg, frame) = publish_frame(b"toolong");
    g.handle(Time(1), GossipInput::Message { peer: peer(1), msg, frame });
    assert_eq!(
        drain(&mut g),
        vec![GossipOutput::Penalize { peer: peer(1), penalty: Penalty::Oversized }]
    );
}

/// When too many messages wait for a verdict, new ones are dropped but not marked seen.
#[test]
fn validation_backlog_is_bounded() {
    let cfg = GossipConfig { validating_max: 1, ..GossipConfig::default() };
    let mut g = Gossip::new(cfg, ChaCha8Rng::seed_from_u64(1));
    g.handle(Time(0), GossipInput::PeerUp(peer(1)));
    for data in [&b"a"[..], b"b"] {
        let msg = GossipMessage::Publish {
            topic: Topic::Heartbeat,
            data: BoundedBytes::new(Bytes::copy_from_slice(data)).unwrap(),
        };
        let frame = Frame::Gossip(msg.clone()).encode_bytes();
        g.handle(Time(1), GossipInput::Message { peer: peer(1), msg, frame });
    }
    assert_eq!(drain(&mut g).len(), 1);
    assert_eq!(g.stats().overloaded, 1);
    assert!(!g.has_seen(&message_id(Topic::Heartbeat, b"b")));
}

/// The IWANT ids in `out`, by peer.
fn iwants(out: &[GossipOutput]) -> Vec<(PeerId, Vec<MsgId>)> {
    sends(out)
        .into_iter()
        .filter_map(|(p, f)| match f {
            Frame::Gossip(GossipMessage::IWant(ids)) => Some((p, ids.into_inner())),
            _ => None,
        })
        .collect()
}

/// A message dropped for a full backlog is asked for once there is room, from the peer that
/// offered it, then (unanswered after `ask_timeout`, or that peer gone) from another connected
/// peer; no more once it came or once peers no longer retain it; at most `deferred_max` kept.
#[test]
fn overloaded_messages_are_asked_for_when_the_backlog_drains() {
    let cfg = GossipConfig {
        validating_max: 2,
        deferred_max: 2,
        retain_duration: Duration::from_secs(10),
        ..GossipConfig::default()
    };
    let mut g = Gossip::new(cfg, ChaCha8Rng::seed_from_u64(1));
    for p in 1..=4 {
        g.handle(Time(0), GossipInput::PeerUp(peer(p)));
    }
    let secs = |s: u64| Time(s * 1_000_000);
    for (p, data) in [(1, &b"a"[..]), (1, b"e"), (2, b"b"), (3, b"c"), (4, b"d")] {
        let (msg, frame) = publish_frame(data);
        g.handle(Time(1), GossipInput::Message { peer: peer(p), msg, frame });
    }
    assert_eq!(g.stats().overloaded, 3);
    let [a, e, b, c] = [&b"a"[..], b"e", b"b", b"c"].map(|d| message_id(Topic::Heartbeat, d));
    // Every IWANT of a heartbeat, as (peer, id), in id order.
    let asked = |g: &mut Gossip| {
        let mut all: Vec<(PeerId, MsgId)> = iwants(&drain(g))
            .into_iter()
            .flat_map(|(p, ids)| ids.into_iter().map(move |id| (p, id)))
            .collect();
        all.sort_by_key(|(_, id)| *id);
        all
    };
    drain(&mut g);
    g.handle(secs(1), GossipInput::Tick);
    assert!(asked(&mut g).is_empty(), "no room while `a` and `e` validate");
    g.handle(secs(1), GossipInput::Verdict { id: a, verdict: Verdict::Ignore });
    g.handle(secs(1), GossipInput::Verdict { id: e, verdict: Verdict::Ignore });
    g.handle(secs(1), GossipInput::PeerDown(peer(3)));
    drain(&mut g);
    g.handle(secs(2), GossipInput::Tick);
    let first = asked(&mut g);
    assert_eq!(first.len(), 2, "`b` and `c`; `d` was not kept: {first:?}");
    assert!(first.contains(&(peer(2), b)), "`b` from the peer that offered it");
    assert!(first.iter().any(|&(p, id)| id == c && p != peer(3)), "`c` from another peer");
    g.handle(secs(3), GossipInput::Tick);
    assert!(asked(&mut g).is_empty(), "asked within ask_timeout");
    g.handle(secs(5), GossipInput::Tick);
    let again = asked(&mut g);
    assert_eq!(again.iter().map(|(_, id)| *id).collect::<Vec<_>>().len(), 2, "{again:?}");
    assert!(again.iter().all(|(p, _)| *p != peer(3)), "never the peer that left");
    let (msg, frame) = publish_frame(b"b");
    g.handle(secs(5), GossipInput::Message { peer: peer(1), msg, frame });
    assert!(g.has_seen(&b) && !g.has_seen(&c));
    assert_eq!(g.stats().recovered, 1);
    g.handle(secs(5), GossipInput::Verdict { id: b, verdict: Verdict::Accept });
    drain(&mut g);
    g.handle(secs(8), GossipInput::Tick);
    assert_eq!(asked(&mut g).iter().map(|(_, id)| *id).collect::<Vec<_>>(), vec![c]);
    g.handle(secs(11), GossipInput::Tick);
    assert!(asked(&mut g).is_empty(), "`c` is no longer retained anywhere");
    g.check_invariants();
}

/// IHAVE of unknown ids is answered with IWANT, and IWANT is served from retained messages.
#[test]
fn ihave_iwant_exchange() {
    let mut a = gossip_with_peers(1);
    a.handle(
        Time(1),
        GossipInput::Publish { topic: Topic::Heartbeat, data: Bytes::from_static(b"m") },
    );
    drain(&mut a);
    let id = message_id(Topic::Heartbeat, b"m");
    let mut b = gossip_with_peers(1);
    let ihave = GossipMessage::IHave(BoundedVec::new(vec![id]).unwrap());
    b.handle(
        Time(1),
        GossipInput::Message { peer: peer(1), msg: ihave.clone(), frame: Bytes::new() },
    );
    let out = sends(&drain(&mut b));
    assert_eq!(
        out,
        vec![(peer(1), Frame::Gossip(GossipMessage::IWant(BoundedVec::new(vec![id]).unwrap())))]
    );
    // Asked ids are not asked again right away.
    b.handle(Time(2), GossipInput::Message { peer: peer(1), msg: ihave, frame: Bytes::new() });
    assert!(drain(&mut b).is_empty());
    let iwant = GossipMessage::IWant(BoundedVec::new(vec![id, Hash32([9; 32])]).unwrap());
    a.handle(Time(2), GossipInput::Message { peer: peer(1), msg: iwant, frame: Bytes::new() });
    let served = sends(&drain(&mut a));
    assert_eq!(served.len(), 1, "only the retained message is served");
}

use crate::types::Hash32;

/// Two nodes with different retained messages converge through one reconciliation round.
#[test]
fn reconciliation_exchanges_missing_messages() {
    let cfg =
        GossipConfig { reconcile_interval: Duration::from_secs(1), ..GossipConfig::default() };
    let mut a = Gossip::new(cfg.clone(), ChaCha8Rng::seed_from_u64(1));
    let mut b = Gossip::new(cfg, ChaCha8Rng::seed_from_u64(2));
    let (pa, pb) = (peer(0xa), peer(0xb));
    a.handle(
        Time(0),
        GossipInput::Publish { topic: Topic::Heartbeat, data: Bytes::from_static(b"only-a") },
    );
    b.handle(
        Time(0),
        GossipInput::Publish { topic: Topic::Heartbeat, data: Bytes::from_static(b"only-b") },
    );
    a.handle(Time(0), GossipInput::PeerUp(pb));
    b.handle(Time(0), GossipInput::PeerUp(pa));
    drain(&mut a);
    drain(&mut b);
    // Shuttle frames between the two until quiet, accepting everything that needs a verdict.
    a.handle(Time(1_000_000), GossipInput::Tick);
    let mut queue: Vec<(bool, Bytes)> = Vec::new(); // (to_b, frame)
    let pump = |g: &mut Gossip, to_b: bool, queue: &mut Vec<(bool, Bytes)>| {
        while let Some(o) = g.poll_output() {
            match o {
                GossipOutput::Send { frame, .. } => queue.push((to_b, frame)),
                GossipOutput::Validate { id, .. } => {
                    g.handle(Time(2), GossipInput::Verdict { id, verdict: Verdict::Accept })
                }
                _ => {}
            }
        }
    };
    pump(&mut a, true, &mut queue);
    let mut rounds = 0;
    while let Some((to_b, frame)) = queue.pop() {
        rounds += 1;
        assert!(rounds < 100, "reconciliation does not terminate");
        let Frame::Gossip(msg) = decode_exact(&frame).unwrap() else { panic!() };
        let (g, from) = if to_b { (&mut b, pa) } else { (&mut a, pb) };
        g.handle(Time(2), GossipInput::Message { peer: from, msg, frame });
        if to_b { pump(&mut b, false, &mut queue) } else { pump(&mut a, true, &mut queue) }
    }
    for g in [&a, &b] {
        assert!(g.has_seen(&message_id(Topic::Heartbeat, b"only-a")));
        assert!(g.has_seen(&message_id(Topic::Heartbeat, b"only-b")));
        assert_eq!(g.retained(), 2);
        g.check_invariants_deep();
    }
}

/// A graft beyond D_hi is answered with a prune, and the mesh stays bounded.
#[test]
fn graft_beyond_d_hi_is_pruned() {
    let mut g = gossip_with_peers(12);
    for i in 1..=12 {
        g.handle(
            Time(1),
            GossipInput::Message { peer: peer(i), msg: GossipMessage::Graft, frame: Bytes::new() },
        );
    }
    let prunes = sends(&drain(&mut g))
        .into_iter()
        .filter(|(_, f)| *f == Frame::Gossip(GossipMessage::Prune))
        .count();
    assert_eq!(g.mesh().len(), GossipConfig::default().mesh_d_hi);
    assert_eq!(prunes, 12 - GossipConfig::default().mesh_d_hi);
    g.check_invariants_deep();
}

/// A reconciliation answer with an out-of-range bucket is a protocol violation.
#[test]
fn bad_bucket_index_is_penalized() {
    let cfg =
        GossipConfig { reconcile_interval: Duration::from_secs(1), ..GossipConfig::default() };
    let mut g = Gossip::new(cfg, ChaCha8Rng::seed_from_u64(1));
    g.handle(Time(0), GossipInput::PeerUp(peer(1)));
    g.handle(Time(1_000_000), GossipInput::Tick); // sends a reconcile request to peer 1
    drain(&mut g);
    let lists = vec![BucketIds { index: 200, ids: BoundedVec::new(vec![]).unwrap() }];
    let msg = GossipMessage::ReconcileIds(BoundedVec::new(lists).unwrap());
    g.handle(Time(1_000_001), GossipInput::Message { peer: peer(1), msg, frame: Bytes::new() });
    assert_eq!(
        drain(&mut g),
        vec![GossipOutput::Penalize { peer: peer(1), penalty: Penalty::Protocol }]
    );
}

mod state_machine {
    //! Property test: arbitrary interleavings of peer churn, messages (valid and not), verdicts
    //! and time keep gossip's invariants.

    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Up(u8),
        Down(u8),
        Publish(u8),
        Receive { from: u8, data: u8 },
        IHave { from: u8, data: Vec<u8> },
        IWant { from: u8, data: Vec<u8> },
        Graft(u8),
        Prune(u8),
        Reconcile { from: u8, counts: Vec<u32> },
        Verdict { pick: u8, verdict: u8 },
        Tick(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        let p = 1u8..8;
        prop_oneof![
            p.clone().prop_map(Op::Up),
            p.clone().prop_map(Op::Down),
            any::<u8>().prop_map(Op::Publish),
            (p.clone(), 0u8..16).prop_map(|(from, data)| Op::Receive { from, data }),
            (p.clone(), proptest::collection::vec(0u8..16, 0..5))
                .prop_map(|(from, data)| Op::IHave { from, data }),
            (p.clone(), proptest::collection::vec(0u8..16, 0..5))
                .prop_map(|(from, data)| Op::IWant { from, data }),
            p.clone().prop_map(Op::Graft),
            p.clone().prop_map(Op::Prune),
            (p, proptest::collection::vec(0u32..3, BUCKETS))
                .prop_map(|(from, counts)| Op::Reconcile { from, counts }),
            (any::<u8>(), 0u8..3).prop_map(|(pick, verdict)| Op::Verdict { pick, verdict }),
            (1u16..3000).prop_map(Op::Tick),
        ]
    }

    fn data(n: u8) -> Bytes {
        Bytes::from(vec![n; 3])
    }

    proptest! {
        /// Invariants hold after every step; an id is validated at most once; frames only go
        /// to connected peers; an accepted message is never forwarded back to its source.
        #[test]
        fn arbitrary_interleavings(ops in proptest::collection::vec(op(), 1..120)) {
            let mut g = Gossip::new(GossipConfig::default(), ChaCha8Rng::seed_from_u64(3));
            let mut now = Time::from_secs(1);
            let mut connected = BTreeSet::new();
            let mut pending: Vec<(MsgId, PeerId)> = Vec::new();
            let mut validated = BTreeSet::new();
            for op in ops {
                let mut accepted_now: Option<(MsgId, PeerId)> = None;
                match op {
                    Op::Up(k) => { connected.insert(peer(k)); g.handle(now, GossipInput::PeerUp(peer(k))) }
                    Op::Down(k) => { connected.remove(&peer(k)); g.handle(now, GossipInput::PeerDown(peer(k))) }
                    Op::Publish(n) => g.handle(now, GossipInput::Publish { topic: Topic::Heartbeat, data: data(n.wrapping_add(100)) }),
                    Op::Receive { from, data: d } => {
                        let msg = GossipMessage::Publish { topic: Topic::Heartbeat, data: BoundedBytes::new(data(d)).unwrap() };
                        let frame = Frame::Gossip(msg.clone()).encode_bytes();
                        g.handle(now, GossipInput::Message { peer: peer(from), msg, frame });
                    }
                    Op::IHave { from, data: ds } | Op::IWant { from, data: ds } if ds.is_empty() => {
                        let _ = from;
                    }
                    Op::IHave { from, data: ds } => {
                        let ids = ds.iter().map(|d| message_id(Topic::Heartbeat, &data(*d))).collect();
                        g.handle(now, GossipInput::Message { peer: peer(from), msg: GossipMessage::IHave(BoundedVec::new(ids).unwrap()), frame: Bytes::new() });
                    }
                    Op::IWant { from, data: ds } => {
                        let ids = ds.iter().map(|d| message_id(Topic::Heartbeat, &data(*d))).collect();
                        g.handle(now, GossipInput::Message { peer: peer(from), msg: GossipMessage::IWant(BoundedVec::new(ids).unwrap()), frame: Bytes::new() });
                    }
                    Op::Graft(k) => g.handle(now, GossipInput::Message { peer: peer(k), msg: GossipMessage::Graft, frame: Bytes::new() }),
                    Op::Prune(k) => g.handle(now, GossipInput::Message { peer: peer(k), msg: GossipMessage::Prune, frame: Bytes::new() }),
                    Op::Reconcile { from, counts } => {
                        let b = counts.into_iter().map(|count| BucketSummary { count, xor: Hash32::default() }).collect();
                        g.handle(now, GossipInput::Message { peer: peer(from), msg: GossipMessage::ReconcileRequest(BoundedVec::new(b).unwrap()), frame: Bytes::new() });
                    }
                    Op::Verdict { pick, verdict } => {
                        if !pending.is_empty() {
                            let (id, from) = pending.remove(usize::from(pick) % pending.len());
                            let verdict = [Verdict::Accept, Verdict::Ignore, Verdict::Reject][usize::from(verdict)];
                            if verdict == Verdict::Accept {
                                accepted_now = Some((id, from));
                            }
                            g.handle(now, GossipInput::Verdict { id, verdict });
                        }
                    }
                    Op::Tick(ms) => {
                        now = now + Duration::from_millis(u64::from(ms));
                        g.handle(now, GossipInput::Tick);
                    }
                }
                for out in drain(&mut g) {
                    match out {
                        GossipOutput::Send { peer: to, frame } => {
                            prop_assert!(connected.contains(&to), "frame to a peer that is not connected");
                            if let Ok(Frame::Gossip(GossipMessage::Publish { topic, data })) = decode_exact::<Frame>(&frame) {
                                let id = message_id(topic, &data);
                                if accepted_now.map(|(a, _)| a) == Some(id) {
                                    prop_assert_ne!(Some(to), accepted_now.map(|(_, f)| f), "forwarded back to its source");
                                }
                            }
                        }
                        GossipOutput::Validate { id, from, .. } => {
                            prop_assert!(validated.insert(id), "id validated twice");
                            pending.push((id, from));
                        }
                        _ => {}
                    }
                }
                g.check_invariants_deep();
            }
        }
    }
}

/// Two instances handed a message with its runtime print keep the print's allocation (id and
/// frame) while they validate and retain it, forward and serve that very frame, and let go of
/// it when it expires; without a print an instance keeps its own.
#[test]
fn printed_messages_are_kept_in_the_print_allocation() {
    let (msg, frame) = publish_frame(b"shared");
    let print = PublishPrint::of(&frame).expect("a publish");
    let held = std::sync::Arc::clone(print.held());
    let mut gs = [gossip_with_peers(3), gossip_with_peers(3), gossip_with_peers(3)];
    for (i, g) in gs.iter_mut().enumerate() {
        let input = GossipInput::Message { peer: peer(1), msg: msg.clone(), frame: frame.clone() };
        let known = (i < 2).then(|| std::sync::Arc::clone(&held));
        g.handle_known(Time(1), input, known);
        drain(g);
    }
    // The print, `held` here and the two instances that were given it.
    assert_eq!(std::sync::Arc::strong_count(&held), 4);
    for g in &mut gs {
        g.handle(Time(2), GossipInput::Verdict { id: *held.id(), verdict: Verdict::Accept });
        drain(g);
        g.handle(
            Time(3),
            GossipInput::Message {
                peer: peer(2),
                msg: GossipMessage::IWant(BoundedVec::new(vec![*held.id()]).unwrap()),
                frame: Bytes::new(),
            },
        );
        let served: Vec<Bytes> = drain(g)
            .into_iter()
            .filter_map(|o| match o {
                GossipOutput::Send { frame, .. } => Some(frame),
                _ => None,
            })
            .collect();
        assert_eq!(served.len(), 1, "the retained message is served");
        assert_eq!(served[0].as_ptr(), frame.as_ptr(), "the frame itself, not a copy");
        g.check_invariants_deep();
    }
    assert_eq!(std::sync::Arc::strong_count(&held), 4, "retained in the same allocation");
    let later = Time(GossipConfig::default().seen_ttl.as_micros() as u64 + 10);
    for g in &mut gs {
        g.handle(later, GossipInput::Tick);
        drain(g);
        assert!(!g.has_seen(held.id()), "expired");
    }
    assert_eq!(std::sync::Arc::strong_count(&held), 2, "expired messages are let go");
}

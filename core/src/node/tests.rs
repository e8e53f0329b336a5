use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::crypto::Ed25519Verifier;
use crate::gossip::GossipMessage;
use crate::heartbeat::HeartbeatEvent;
use crate::types::GenesisId;

fn keys(n: u8) -> NodeKeys {
    NodeKeys { identity_seed: [n; 32], p2p_seed: [n.wrapping_add(100); 32] }
}

fn config(bootstrap: Vec<PeerId>) -> NodeConfig {
    let mut cfg = NodeConfig { genesis: GenesisId([5; 20]), bootstrap, ..NodeConfig::default() };
    cfg.heartbeat.interval = Some(Duration::from_secs(30));
    cfg
}

/// A minimal synchronous driver: instant delivery, jobs run inline, persists applied at once.
struct Net {
    nodes: Vec<Node>,
    stores: Vec<Snapshot>,
    events: Vec<(usize, NodeEvent)>,
    /// Every frame sent: (sender index, recipient, bytes).
    sent: Vec<(usize, PeerId, Bytes)>,
    now: Time,
}

impl Net {
    fn new(n: u8) -> Net {
        Net::bent(n, |_, _| {})
    }

    /// `n` nodes whose configurations `bend` adjusts (node index, config).
    fn bent(n: u8, bend: impl Fn(u8, &mut NodeConfig)) -> Net {
        let ids: Vec<PeerId> = (0..n)
            .map(|i| {
                Node::new(config(vec![]), &keys(i), [0; 32], Arc::new(Ed25519Verifier)).peer_id()
            })
            .collect();
        let nodes = (0..n)
            .map(|i| {
                let mut cfg = config(ids.clone());
                bend(i, &mut cfg);
                Node::new(cfg, &keys(i), [i; 32], Arc::new(Ed25519Verifier))
            })
            .collect();
        let mut net = Net {
            nodes,
            stores: vec![Snapshot::new(); n as usize],
            events: Vec::new(),
            sent: Vec::new(),
            now: Time::from_secs(1_000),
        };
        for i in 0..n as usize {
            net.feed(i, Input::Restore(Snapshot::new()));
        }
        net
    }

    fn index(&self, peer: PeerId) -> usize {
        self.nodes.iter().position(|n| n.peer_id() == peer).expect("known peer")
    }

    fn feed(&mut self, i: usize, input: Input) {
        let mut queue = vec![(i, input)];
        while let Some((i, input)) = queue.pop() {
            self.nodes[i].handle(self.now, input);
            self.nodes[i].check_invariants_deep();
            let me = self.nodes[i].peer_id();
            while let Some(out) = self.nodes[i].poll_output() {
                match out {
                    Output::Send { peer, bytes } => {
                        self.sent.push((i, peer, bytes.clone()));
                        queue.insert(0, (self.index(peer), Input::Message { peer: me, bytes }))
                    }
                    Output::Connect { peer, .. } => {
                        let j = self.index(peer);
                        queue.insert(0, (j, Input::PeerUp { peer: me, outbound: false }));
                        queue.insert(0, (i, Input::PeerUp { peer, outbound: true }));
                    }
                    Output::Disconnect { peer, .. } => {
                        queue.insert(0, (self.index(peer), Input::PeerDown { peer: me }))
                    }
                    Output::Persist(batch) => batch.apply_to(&mut self.stores[i]),
                    Output::StartJob { id, job } => queue.insert(
                        0,
                        (
                            i,
                            Input::JobDone {
                                id,
                                result: job.run(&crate::job::JobEnv::computing(&Ed25519Verifier)),
                            },
                        ),
                    ),
                    Output::Event(e) => self.events.push((i, e)),
                    Output::Poet { .. } => panic!("these nodes run no consensus"),
                }
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now = self.now + Duration::from_secs(1);
            for i in 0..self.nodes.len() {
                self.feed(i, Input::Tick);
            }
        }
    }
}

/// Nodes connect through their bootstrap lists and every heartbeat reaches every other node,
/// signature-checked through jobs.
#[test]
fn heartbeats_reach_every_node() {
    let mut net = Net::new(4);
    net.run_for(Duration::from_secs(65));
    for i in 0..4 {
        let received: Vec<_> = net
            .events
            .iter()
            .filter(|(n, e)| {
                *n == i && matches!(e, NodeEvent::Heartbeat(HeartbeatEvent::Received { .. }))
            })
            .collect();
        // Three publishes (t = 0, 30, 60 s) by each of three other nodes.
        assert_eq!(received.len(), 9, "node {i}: {received:?}");
        assert!(net.nodes[i].peers().connected_count() >= 3);
        assert_eq!(Heartbeat::restored_seq(&net.stores[i]), Ok(3), "next seq persisted");
    }
    assert!(net.nodes[0].stats().jobs_started > 0);
}

/// A black hole (an eclipser) stays connected and its own heartbeats go out, but it takes in
/// and passes on nothing: nobody's heartbeat reaches it, and the others hear each other only
/// directly.
#[test]
fn a_black_hole_stays_connected_and_passes_nothing_on() {
    let mut net = Net::bent(3, |i, cfg| cfg.black_hole = i == 1);
    net.run_for(Duration::from_secs(65));
    let received = |net: &Net, i: usize| {
        net.events
            .iter()
            .filter(|(n, e)| {
                *n == i && matches!(e, NodeEvent::Heartbeat(HeartbeatEvent::Received { .. }))
            })
            .count()
    };
    assert_eq!(received(&net, 1), 0, "the black hole took in a heartbeat");
    // Three publishes (t = 0, 30, 60 s) by each of the two others, the black hole's included.
    assert_eq!((received(&net, 0), received(&net, 2)), (6, 6));
    let hole = net.nodes[1].peer_id();
    assert!(net.nodes[0].peers().is_connected(&hole), "its connections outlive the peer timeout");
    assert_eq!(net.nodes[1].stats().malformed_frames, 0);
}

/// Garbage frames are penalized and, repeated, get the sender disconnected and banned.
#[test]
fn garbage_frames_disconnect_the_sender() {
    let mut net = Net::new(2);
    net.run_for(Duration::from_secs(2));
    let sender = net.nodes[1].peer_id();
    assert!(net.nodes[0].peers().is_connected(&sender));
    net.feed(0, Input::Message { peer: sender, bytes: Bytes::from_static(&[0xff, 1, 2]) });
    net.feed(0, Input::Message { peer: sender, bytes: Bytes::from_static(&[0x00, 0x09]) });
    assert!(!net.nodes[0].peers().is_connected(&sender));
    assert!(net.nodes[0].peers().is_banned(net.now, &sender));
    assert_eq!(net.nodes[0].stats().malformed_frames, 2);
    assert!(net.events.iter().any(|(n, e)| *n == 0
        && *e
            == NodeEvent::PeerDisconnected {
                peer: sender,
                reason: DisconnectReason::Misbehaving
            }));
}

/// A copy of a gossip message the node has already seen is absorbed from its print with exactly
/// the effect of the full path; anything else (an unseen message, a stranger, a black hole, a
/// frame over a size bound, a frame that is not a publish) is left to `handle`.
#[test]
fn absorbing_a_seen_publish_equals_handling_it() {
    let run = |black_hole: bool| {
        let mut net = Net::bent(3, |i, cfg| cfg.black_hole = black_hole && i == 0);
        net.run_for(Duration::from_secs(35));
        net
    };
    let (mut full, mut fast) = (run(false), run(false));
    assert_eq!(format!("{:?}", full.nodes), format!("{:?}", fast.nodes), "runs are identical");
    // A heartbeat node 1 sent to node 0: node 0 has seen it.
    let (_, _, frame) = full
        .sent
        .iter()
        .find(|(from, to, b)| {
            *from == 1 && *to == full.nodes[0].peer_id() && PublishPrint::of(b).is_some()
        })
        .cloned()
        .expect("a publish from node 1 to node 0");
    let print = PublishPrint::of(&frame).expect("a publish");
    assert!(full.nodes[0].gossip().has_seen(print.id()));
    let peer = full.nodes[1].peer_id();
    full.now = full.now + Duration::from_millis(300);
    fast.now = full.now;
    full.feed(0, Input::Message { peer, bytes: frame.clone() });
    let (deadline, clock) = (fast.nodes[0].poll_timeout(), fast.nodes[0].now());
    assert!(fast.nodes[0].absorb_seen_publish(fast.now, peer, &print));
    assert_eq!(fast.nodes[0].poll_output(), None, "absorbing produces no output");
    assert_eq!(fast.nodes[0].poll_timeout(), deadline, "absorbing leaves the deadline");
    assert_eq!(fast.nodes[0].now(), clock, "absorbing leaves the clock");
    fast.nodes[0].check_invariants_deep();
    // The same state as the full path's but for the clock, which the full path moves to the
    // copy's time.
    let without_clock = |node: &Node| {
        let text = format!("{node:?}");
        let at = text.find("last_now: Time(").expect("the clock in the Debug output");
        let end = at + text[at..].find(')').expect("its closing parenthesis");
        format!("{}{}", &text[..at], &text[end..])
    };
    assert_eq!(without_clock(&full.nodes[0]), without_clock(&fast.nodes[0]));
    assert_eq!(full.nodes[0].now(), full.now);
    // The effects commute with earlier inputs: a tick at the node's own earlier time after the
    // copy leaves the same state as the tick before it.
    let (mut tick_first, mut copy_first) = (run(false), run(false));
    let at = tick_first.now;
    tick_first.feed(0, Input::Tick);
    assert!(tick_first.nodes[0].absorb_seen_publish(Time(at.0 + 300_000), peer, &print));
    assert!(copy_first.nodes[0].absorb_seen_publish(Time(at.0 + 300_000), peer, &print));
    copy_first.feed(0, Input::Tick);
    assert_eq!(format!("{:?}", tick_first.nodes[0]), format!("{:?}", copy_first.nodes[0]));
    assert_eq!(
        fast.nodes[0].gossip().stats().duplicates,
        full.nodes[0].gossip().stats().duplicates
    );

    // What it must leave to `handle`, changing nothing.
    let before = format!("{:?}", fast.nodes[0]);
    let stranger = PeerId([0xee; 32]);
    assert!(!fast.nodes[0].absorb_seen_publish(fast.now, stranger, &print), "a stranger");
    let earlier = Time(fast.nodes[0].now().0 - 1);
    assert!(!fast.nodes[0].absorb_seen_publish(earlier, peer, &print), "before the clock");
    let fresh = Frame::Gossip(GossipMessage::Publish {
        topic: Topic::Heartbeat,
        data: crate::codec::BoundedBytes::new(Bytes::from_static(b"never seen")).unwrap(),
    })
    .encode_bytes();
    let fresh = PublishPrint::of(&fresh).expect("a publish");
    assert!(!fast.nodes[0].absorb_seen_publish(fast.now, peer, &fresh), "an unseen message");
    assert_eq!(before, format!("{:?}", fast.nodes[0]), "a refusal changed the node");
    let mut small = run(false);
    small.nodes[0].cfg.frame_max = frame.len() - 1;
    assert!(!small.nodes[0].absorb_seen_publish(small.now, peer, &print), "over frame_max");
    let mut hole = run(true);
    assert!(!hole.nodes[0].absorb_seen_publish(hole.now, peer, &print), "a black hole");
    for (_, _, b) in &full.sent {
        let publish = matches!(
            Frame::decode_bounded(b, usize::MAX),
            Ok(Frame::Gossip(GossipMessage::Publish { .. }))
        );
        assert_eq!(PublishPrint::of(b).is_some(), publish, "print of {b:?}");
    }
}

/// A restarted node continues its heartbeat sequence from its store and never reuses a number.
#[test]
fn restart_continues_sequence() {
    let mut net = Net::new(2);
    net.run_for(Duration::from_secs(35));
    let store = net.stores[0].clone();
    let mut restarted = Node::new(config(vec![]), &keys(0), [9; 32], Arc::new(Ed25519Verifier));
    restarted.handle(net.now, Input::Restore(store));
    let started = std::iter::from_fn(|| restarted.poll_output()).find_map(|o| match o {
        Output::Event(NodeEvent::Started { next_heartbeat_seq }) => Some(next_heartbeat_seq),
        _ => None,
    });
    assert_eq!(started, Some(2));
}

/// Inputs before Restore are a runtime bug and panic.
#[test]
#[should_panic(expected = "Restore must be the first input")]
fn restore_comes_first() {
    let mut node = Node::new(config(vec![]), &keys(0), [0; 32], Arc::new(Ed25519Verifier));
    node.handle(Time(0), Input::Tick);
}

proptest! {
    /// Arbitrary bytes from a connected peer never panic a node; the node stays consistent.
    #[test]
    fn arbitrary_frames_never_panic(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..20)) {
        let mut node = Node::new(config(vec![]), &keys(0), [0; 32], Arc::new(Ed25519Verifier));
        node.handle(Time(1), Input::Restore(BTreeMap::new()));
        let peer = PeerId([42; 32]);
        node.handle(Time(1), Input::PeerUp { peer, outbound: false });
        for f in frames {
            node.handle(Time(2), Input::Message { peer, bytes: Bytes::from(f) });
            while node.poll_output().is_some() {}
            node.check_invariants_deep();
        }
    }
}

/// A frame handed over with its print is handled exactly as the bare frame; the mark the node
/// gives afterwards answers whether a copy is a duplicate as its cache does, until the id expires.
#[test]
fn a_printed_frame_is_handled_as_the_frame() {
    let run = || {
        let mut net = Net::bent(3, |_, cfg| cfg.gossip.seen_ttl = Duration::from_secs(30));
        net.run_for(Duration::from_secs(35));
        net
    };
    let (mut bare, mut printed) = (run(), run());
    let peer = bare.nodes[1].peer_id();
    let frame = Frame::Gossip(GossipMessage::Publish {
        topic: Topic::Heartbeat,
        data: crate::codec::BoundedBytes::new(Bytes::from_static(b"never seen")).unwrap(),
    })
    .encode_bytes();
    let print = PublishPrint::of(&frame).expect("a publish");
    assert_eq!(printed.nodes[0].seen_mark(&print), None, "not seen yet");
    bare.nodes[0].handle(bare.now, Input::Message { peer, bytes: frame.clone() });
    printed.nodes[0].handle_printed(printed.now, peer, frame.clone(), &print);
    let drain =
        |n: &mut Node| format!("{:?}", std::iter::from_fn(|| n.poll_output()).collect::<Vec<_>>());
    assert_eq!(drain(&mut bare.nodes[0]), drain(&mut printed.nodes[0]));
    assert_eq!(format!("{:?}", bare.nodes[0]), format!("{:?}", printed.nodes[0]));

    let mark = printed.nodes[0].seen_mark(&print).expect("a mark right after handling it");
    let now = printed.now;
    let copy = printed.nodes[0].seen_publish(now, &peer, &print, Some(mark));
    assert!(copy.is_some(), "a duplicate by the mark");
    assert_eq!(copy, printed.nodes[0].seen_publish(now, &peer, &print, None));
    printed.run_for(Duration::from_secs(40));
    let now = printed.now;
    assert!(!printed.nodes[0].gossip().has_seen(print.id()), "expired");
    assert_eq!(
        printed.nodes[0].seen_publish(now, &peer, &print, Some(mark)),
        None,
        "a lapsed mark"
    );
}

use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::codec::{BoundedVec, decode_exact};
use crate::frame::Frame;
use crate::types::{PeerId, Time};

const SEC: u64 = 1_000_000;

fn peer(n: u8) -> PeerId {
    PeerId([n; 32])
}

fn peers(cfg: PeersConfig) -> Peers {
    Peers::new(cfg, peer(0), ChaCha8Rng::seed_from_u64(7))
}

fn drain(p: &mut Peers) -> Vec<PeersOutput> {
    std::iter::from_fn(|| p.poll_output()).collect()
}

fn connects(out: &[PeersOutput]) -> Vec<PeerId> {
    out.iter()
        .filter_map(|o| if let PeersOutput::Connect { peer: p, .. } = o { Some(*p) } else { None })
        .collect()
}

/// Upkeep dials candidates until the target is reached, never itself.
#[test]
fn dials_up_to_target() {
    let mut p = peers(PeersConfig { peers_target: 3, ..PeersConfig::default() });
    p.handle(Time(0), PeersInput::AddCandidates((0..10).map(peer).collect()));
    p.handle(Time(0), PeersInput::Tick);
    let dialed = connects(&drain(&mut p));
    assert_eq!(dialed.len(), 3);
    assert!(!dialed.contains(&peer(0)));
    for d in &dialed {
        p.handle(Time(1), PeersInput::Up { peer: *d, outbound: true });
    }
    p.handle(Time(SEC), PeersInput::Tick);
    assert!(connects(&drain(&mut p)).is_empty(), "no dials once at target");
    assert_eq!(p.connected_count(), 3);
    p.check_invariants_deep(Time(SEC));
}

/// Inbound connections beyond peers_max are refused.
#[test]
fn inbound_beyond_max_refused() {
    let mut p = peers(PeersConfig { peers_target: 1, peers_max: 2, ..PeersConfig::default() });
    for i in 1..=3 {
        p.handle(Time(0), PeersInput::Up { peer: peer(i), outbound: false });
    }
    let out = drain(&mut p);
    assert!(out.contains(&PeersOutput::Disconnect {
        peer: peer(3),
        reason: DisconnectReason::TooManyPeers
    }));
    assert_eq!(p.connected_count(), 2);
}

/// Penalties add up to a disconnect and a ban; a banned peer's new connection is refused.
#[test]
fn penalties_disconnect_and_ban() {
    let mut p = peers(PeersConfig::default());
    p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: false });
    drain(&mut p);
    p.handle(Time(1), PeersInput::Penalize { peer: peer(1), penalty: Penalty::Malformed });
    assert!(drain(&mut p).is_empty(), "one penalty is not enough");
    p.handle(Time(2), PeersInput::Penalize { peer: peer(1), penalty: Penalty::Malformed });
    let out = drain(&mut p);
    assert!(out.contains(&PeersOutput::Disconnect {
        peer: peer(1),
        reason: DisconnectReason::Misbehaving
    }));
    assert!(p.is_banned(Time(3), &peer(1)));
    p.handle(Time(3), PeersInput::Up { peer: peer(1), outbound: false });
    assert_eq!(
        drain(&mut p),
        vec![PeersOutput::Disconnect { peer: peer(1), reason: DisconnectReason::Banned }]
    );
    let ban = PeersConfig::default().ban_duration;
    assert!(!p.is_banned(Time(3) + ban, &peer(1)), "bans expire");
}

/// Scores recover over ticks, so rare penalties never add up to a ban.
#[test]
fn scores_recover() {
    let mut p = peers(PeersConfig::default());
    p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: false });
    for t in 0..100u64 {
        p.handle(Time(t * SEC), PeersInput::Activity(peer(1)));
        if t % 25 == 0 {
            p.handle(
                Time(t * SEC),
                PeersInput::Penalize { peer: peer(1), penalty: Penalty::Malformed },
            );
        }
        p.handle(Time(t * SEC), PeersInput::Tick);
    }
    assert!(p.is_connected(&peer(1)));
    assert_eq!(p.score(&peer(1)), Some(0));
}

/// A silent peer is disconnected after peer_timeout; an active one stays.
#[test]
fn silent_peer_times_out() {
    let cfg = PeersConfig { peer_timeout: Duration::from_secs(10), ..PeersConfig::default() };
    let mut p = peers(cfg);
    p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: false });
    p.handle(Time(0), PeersInput::Up { peer: peer(2), outbound: false });
    for t in 1..=11u64 {
        p.handle(Time(t * SEC), PeersInput::Activity(peer(2)));
        p.handle(Time(t * SEC), PeersInput::Tick);
    }
    let out = drain(&mut p);
    assert!(
        out.contains(&PeersOutput::Disconnect { peer: peer(1), reason: DisconnectReason::Timeout })
    );
    assert!(p.is_connected(&peer(2)));
}

/// An unanswered dial fails after dial_timeout and the candidate is not redialed during backoff.
#[test]
fn dial_timeout_backs_off() {
    let cfg = PeersConfig { peers_target: 1, ..PeersConfig::default() };
    let mut p = peers(cfg.clone());
    p.handle(Time(0), PeersInput::AddCandidates(vec![peer(1)]));
    p.handle(Time(0), PeersInput::Tick);
    assert_eq!(connects(&drain(&mut p)), vec![peer(1)]);
    let after_timeout = Time(0) + cfg.dial_timeout + Duration::from_secs(1);
    p.handle(after_timeout, PeersInput::Tick);
    assert!(connects(&drain(&mut p)).is_empty(), "in backoff");
    let later = after_timeout + cfg.dial_backoff_min * 2;
    p.handle(later, PeersInput::Tick);
    assert_eq!(connects(&drain(&mut p)), vec![peer(1)], "redialed after backoff");
}

/// Peer exchange: an outbound connection asks for peers; unsolicited lists are ignored; a peer
/// gets one answer per tick.
#[test]
fn peer_exchange() {
    let mut p = peers(PeersConfig::default());
    p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: true });
    let out = drain(&mut p);
    let asked = out.iter().any(|o| {
        matches!(o, PeersOutput::Send { frame, .. }
        if decode_exact::<Frame>(frame) == Ok(Frame::Peers(PeerMessage::GetPeers)))
    });
    assert!(asked);
    let list = PeerMessage::Peers(BoundedVec::new(vec![peer(7), peer(8), peer(0)]).unwrap());
    p.handle(Time(1), PeersInput::Message { peer: peer(1), msg: list.clone() });
    assert_eq!(p.candidates(), 3, "peer 1 plus two new, never self");
    p.handle(Time(1), PeersInput::Up { peer: peer(2), outbound: false });
    let list2 = PeerMessage::Peers(BoundedVec::new(vec![peer(9)]).unwrap());
    p.handle(Time(1), PeersInput::Message { peer: peer(2), msg: list2 });
    assert_eq!(p.candidates(), 4, "unsolicited list ignored (peer 2 itself was added)");
    drain(&mut p);
    p.handle(Time(2), PeersInput::Message { peer: peer(2), msg: PeerMessage::GetPeers });
    p.handle(Time(2), PeersInput::Message { peer: peer(2), msg: PeerMessage::GetPeers });
    assert_eq!(drain(&mut p).len(), 1, "one answer per tick");
}

fn addr(text: &str) -> PeerAddr {
    PeerAddr::new(bytes::Bytes::copy_from_slice(text.as_bytes())).unwrap()
}

fn sent_to(out: &[PeersOutput], to: PeerId) -> Vec<PeerMessage> {
    out.iter()
        .filter_map(|o| match o {
            PeersOutput::Send { peer, frame } if *peer == to => {
                match decode_exact::<Frame>(frame) {
                    Ok(Frame::Peers(m)) => Some(m),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect()
}

/// Addresses travel with peer exchange: known ones are answered, learned ones are dialed, and
/// an address the runtime gave is never replaced by one a peer sends.
#[test]
fn peer_exchange_carries_addresses() {
    let mut p = peers(PeersConfig { peers_target: 8, ..PeersConfig::default() });
    p.handle(Time(0), PeersInput::Address { peer: peer(1), addr: addr("10.0.0.1:7000") });
    p.handle(Time(0), PeersInput::Address { peer: peer(2), addr: addr("10.0.0.2:7000") });
    p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: true });
    p.handle(Time(0), PeersInput::Up { peer: peer(2), outbound: false });
    p.handle(Time(0), PeersInput::Up { peer: peer(3), outbound: false });
    drain(&mut p);

    // Peer 3 asks: the answer names peers 1 and 2 with their addresses (3 has none: empty).
    p.handle(Time(1), PeersInput::Message { peer: peer(3), msg: PeerMessage::GetPeers });
    let answers = sent_to(&drain(&mut p), peer(3));
    let [PeerMessage::Addressed(list)] = answers.as_slice() else { panic!("{answers:?}") };
    let mut got: Vec<(PeerId, Vec<u8>)> = list.iter().map(|r| (r.peer, r.addr.to_vec())).collect();
    got.sort();
    assert_eq!(
        got,
        vec![(peer(1), b"10.0.0.1:7000".to_vec()), (peer(2), b"10.0.0.2:7000".to_vec())]
    );

    // Peer 1 (asked on connect) answers with a new peer 9 and a lie about peer 2.
    let lie = PeerMessage::Addressed(
        BoundedVec::new(vec![
            PeerRecord { peer: peer(9), addr: addr("10.0.0.9:7000") },
            PeerRecord { peer: peer(2), addr: addr("6.6.6.6:1") },
            PeerRecord { peer: peer(5), addr: PeerAddr::default() },
        ])
        .unwrap(),
    );
    p.handle(Time(2), PeersInput::Message { peer: peer(1), msg: lie });
    p.handle(Time(3), PeersInput::Down(peer(2)));
    for t in 3..40u64 {
        p.handle(Time(t * SEC), PeersInput::Tick);
    }
    let dials: Vec<(PeerId, Option<Vec<u8>>)> = drain(&mut p)
        .into_iter()
        .filter_map(|o| match o {
            PeersOutput::Connect { peer, addr } => Some((peer, addr.map(|a| a.to_vec()))),
            _ => None,
        })
        .collect();
    assert!(dials.contains(&(peer(9), Some(b"10.0.0.9:7000".to_vec()))), "{dials:?}");
    assert!(dials.contains(&(peer(5), None)), "no address known: {dials:?}");
    for (peer_id, a) in &dials {
        if *peer_id == peer(2) {
            assert_eq!(a.as_deref(), Some(&b"10.0.0.2:7000"[..]), "own address kept");
        }
    }
}

/// Without any address known, the answer is the bare list (what the simulator exchanges).
#[test]
fn peer_exchange_without_addresses_is_bare() {
    let mut p = peers(PeersConfig::default());
    p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: false });
    p.handle(Time(0), PeersInput::Up { peer: peer(2), outbound: false });
    drain(&mut p);
    p.handle(Time(1), PeersInput::Message { peer: peer(2), msg: PeerMessage::GetPeers });
    let answers = sent_to(&drain(&mut p), peer(2));
    assert_eq!(answers, vec![PeerMessage::Peers(BoundedVec::new(vec![peer(1)]).unwrap())]);
}

/// Rotation dials a new peer while at target, and drops the oldest outbound one near the max.
#[test]
fn rotation_replaces_a_connection() {
    let cfg = PeersConfig {
        peers_target: 2,
        peers_max: 3,
        rotate_interval: Duration::from_secs(5),
        ..PeersConfig::default()
    };
    let mut p = peers(cfg);
    p.handle(Time(0), PeersInput::AddCandidates((1..=5).map(peer).collect()));
    p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: true });
    p.handle(Time(1), PeersInput::Up { peer: peer(2), outbound: true });
    drain(&mut p);
    for t in 1..=5u64 {
        p.handle(Time(t * SEC), PeersInput::Activity(peer(1)));
        p.handle(Time(t * SEC), PeersInput::Activity(peer(2)));
        p.handle(Time(t * SEC), PeersInput::Tick);
    }
    let out = drain(&mut p);
    assert!(
        out.contains(&PeersOutput::Disconnect {
            peer: peer(1),
            reason: DisconnectReason::Rotation
        })
    );
    assert_eq!(connects(&out).len(), 1);
}

/// A node cut off from data its peers refer to rotates a connection at its next tick instead
/// of waiting for `rotate_interval`, and reports more than once per `early_rotate_interval`
/// bring it forward only once.
#[test]
fn cut_off_brings_the_rotation_forward() {
    let cfg = PeersConfig {
        peers_target: 2,
        peers_max: 8,
        rotate_interval: Duration::from_secs(1200),
        early_rotate_interval: Duration::from_secs(10),
        ..PeersConfig::default()
    };
    let mut p = peers(cfg);
    p.handle(Time(0), PeersInput::AddCandidates((1..=9).map(peer).collect()));
    p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: true });
    p.handle(Time(0), PeersInput::Up { peer: peer(2), outbound: true });
    drain(&mut p);
    // The first regular rotation falls at a random point of the interval: far enough here.
    let first = p.next_rotation().expect("started");
    assert!(first > Time(40 * SEC), "{first:?}");
    let mut dials = Vec::new();
    for t in 1..=40u64 {
        let now = Time(t * SEC);
        if t == 20 || t == 25 || t == 26 {
            p.handle(now, PeersInput::CutOff);
        }
        p.handle(now, PeersInput::Tick);
        for d in connects(&drain(&mut p)) {
            dials.push((t, d));
            // The dial succeeds at once.
            p.handle(now, PeersInput::Up { peer: d, outbound: true });
        }
        for c in [peer(1), peer(2)] {
            p.handle(now, PeersInput::Activity(c));
        }
    }
    let times: Vec<u64> = dials.iter().map(|(t, _)| *t).collect();
    // At 20 the first report rotates at once; the reports at 25 and 26 wait until 10 s after
    // it (30); nothing else dials before the regular rotation.
    assert_eq!(times, [20, 30], "{dials:?}");
    p.check_invariants();
}

/// Nodes started at the same moment first rotate at different points of the interval, and
/// every interval after that: groups separated by a partition find each other within a fraction
/// of the interval of the heal, not at a rotation all nodes make together.
#[test]
fn nodes_started_together_rotate_out_of_step() {
    let interval = Duration::from_secs(120);
    let cfg = PeersConfig {
        peers_target: 1,
        peers_max: 4,
        rotate_interval: interval,
        ..PeersConfig::default()
    };
    let mut firsts = Vec::new();
    for seed in 0..16u64 {
        let mut p = Peers::new(cfg.clone(), peer(0), ChaCha8Rng::seed_from_u64(seed));
        p.handle(Time(0), PeersInput::AddCandidates((1..=9).map(peer).collect()));
        p.handle(Time(0), PeersInput::Up { peer: peer(1), outbound: true });
        let first = p.next_rotation().expect("started");
        assert!(first < Time(0) + interval, "{first:?}");
        firsts.push(first);
        // The rotation comes at the first tick at or after it, and the next one an interval on.
        let tick = Time(first.0.div_ceil(SEC) * SEC);
        p.handle(tick, PeersInput::Activity(peer(1)));
        drain(&mut p);
        p.handle(tick, PeersInput::Tick);
        assert_eq!(connects(&drain(&mut p)).len(), 1, "seed {seed}: rotation at {tick:?}");
        assert_eq!(p.next_rotation(), Some(tick + interval));
    }
    firsts.sort();
    firsts.dedup();
    assert!(firsts.len() >= 12, "{firsts:?}");
    let spread = firsts.last().expect("some").0 - firsts[0].0;
    assert!(spread > interval.as_micros() as u64 / 2, "{firsts:?}");
}

/// The address book is bounded.
#[test]
fn address_book_bounded() {
    let mut p = peers(PeersConfig { address_book_max: 4, ..PeersConfig::default() });
    p.handle(Time(0), PeersInput::AddCandidates((1..=20).map(peer).collect()));
    assert_eq!(p.candidates(), 4);
    p.check_invariants_deep(Time(0));
}

/// A connected peer's connection reports its direction, start and known address; a peer not
/// connected has none.
#[test]
fn connection_reports_direction_start_and_address() {
    let mut p = peers(PeersConfig::default());
    p.handle(Time(0), PeersInput::Address { peer: peer(1), addr: addr("10.0.0.1:7000") });
    p.handle(Time(5), PeersInput::Up { peer: peer(1), outbound: true });
    p.handle(Time(6), PeersInput::Up { peer: peer(2), outbound: false });
    assert_eq!(p.connection(&peer(1)), Some((true, Time(5), Some(addr("10.0.0.1:7000")))));
    let (outbound, since, _) = p.connection(&peer(2)).unwrap();
    assert_eq!((outbound, since), (false, Time(6)));
    assert_eq!(p.connection(&peer(3)), None);
}

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
        .filter_map(|o| if let PeersOutput::Connect(p) = o { Some(*p) } else { None })
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

/// The address book is bounded.
#[test]
fn address_book_bounded() {
    let mut p = peers(PeersConfig { address_book_max: 4, ..PeersConfig::default() });
    p.handle(Time(0), PeersInput::AddCandidates((1..=20).map(peer).collect()));
    assert_eq!(p.candidates(), 4);
    p.check_invariants_deep(Time(0));
}

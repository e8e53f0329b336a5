//! Transports on 127.0.0.1: honest exchanges, misbehaving peers and connection races.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use spacemesh_core::crypto::Signer;
use spacemesh_core::types::{GenesisId, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::Receiver;

use super::handshake::{self, Identity, Session};
use super::{DownReason, Transport, TransportConfig, TransportEvent};

/// Long enough for a loaded 2-core machine; only reached when a test is about to fail.
const WAIT: Duration = Duration::from_secs(20);

fn genesis() -> GenesisId {
    GenesisId([7; 20])
}

fn config(seed: u8) -> TransportConfig {
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("address");
    TransportConfig::new(genesis(), [seed; 32], listen)
}

fn peer_id(seed: u8, genesis: GenesisId) -> PeerId {
    PeerId(Signer::from_seed([seed; 32], genesis).node_id().0)
}

async fn start(cfg: TransportConfig) -> (Transport, Receiver<TransportEvent>) {
    Transport::start(cfg).await.expect("transport starts")
}

async fn next(rx: &mut Receiver<TransportEvent>) -> TransportEvent {
    tokio::time::timeout(WAIT, rx.recv()).await.expect("an event in time").expect("channel open")
}

fn up_peer(event: &TransportEvent) -> PeerId {
    match event {
        TransportEvent::Up { peer, .. } => *peer,
        other => panic!("expected Up, got {other:?}"),
    }
}

async fn expect_frame(rx: &mut Receiver<TransportEvent>, from: PeerId, body: &[u8]) {
    match next(rx).await {
        TransportEvent::Frame { peer, bytes } => {
            assert_eq!(peer, from);
            assert!(bytes[..] == *body, "frame of {} bytes, wanted {}", bytes.len(), body.len());
        }
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// Dials `b` from `a` and consumes both `Up` events.
async fn connect(
    a: &Transport,
    ra: &mut Receiver<TransportEvent>,
    b: &Transport,
    rb: &mut Receiver<TransportEvent>,
) {
    a.dial(b.peer_id(), b.local_addr());
    assert_eq!(up_peer(&next(ra).await), b.peer_id());
    assert_eq!(up_peer(&next(rb).await), a.peer_id());
}

/// Sends one frame each way and checks both arrive.
async fn exchange(
    a: &Transport,
    ra: &mut Receiver<TransportEvent>,
    b: &Transport,
    rb: &mut Receiver<TransportEvent>,
    body: &[u8],
) {
    a.send(b.peer_id(), Bytes::copy_from_slice(body));
    b.send(a.peer_id(), Bytes::copy_from_slice(body));
    expect_frame(rb, a.peer_id(), body).await;
    expect_frame(ra, b.peer_id(), body).await;
}

/// A hand-driven peer: a real handshake, then whatever bytes a test wants to send.
struct RawPeer {
    id: PeerId,
    stream: TcpStream,
    session: Session,
}

impl RawPeer {
    async fn connect(seed: u8, target: &Transport) -> RawPeer {
        let me = Identity::new([seed; 32], genesis()).expect("identity");
        let mut stream = TcpStream::connect(target.local_addr()).await.expect("connect");
        let session =
            handshake::within(WAIT, handshake::initiate(&mut stream, &me, target.peer_id(), 0))
                .await
                .expect("handshake");
        RawPeer { id: me.peer_id(), stream, session }
    }

    async fn send_frames(&mut self, bodies: &[&[u8]]) {
        let mut wire = Vec::new();
        for body in bodies {
            self.session.sealer.seal_frame(body, &mut wire).expect("seal");
        }
        self.stream.write_all(&wire).await.expect("write");
    }

    /// Sends a first message that announces a frame of `len` bytes and carries none of it.
    async fn announce(&mut self, len: u32) {
        let mut wire = Vec::new();
        self.session.sealer.seal_chunk(&len.to_be_bytes(), &mut wire).expect("seal");
        self.stream.write_all(&wire).await.expect("write");
    }
}

/// Reads until the other side closes; fails if it stays open.
async fn expect_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the transport closes the socket");
}

/// Two transports connect, learn each other's p2p keys and listen addresses, and exchange
/// frames both ways, up to 1 MiB (many Noise messages).
#[tokio::test]
async fn two_transports_exchange_frames() {
    let (a, mut ra) = start(config(1)).await;
    let (b, mut rb) = start(config(2)).await;
    assert_eq!((a.peer_id(), b.peer_id()), (peer_id(1, genesis()), peer_id(2, genesis())));
    a.dial(b.peer_id(), b.local_addr());
    assert_eq!(
        next(&mut ra).await,
        TransportEvent::Up { peer: b.peer_id(), outbound: true, addr: b.local_addr() }
    );
    assert_eq!(
        next(&mut rb).await,
        TransportEvent::Up { peer: a.peer_id(), outbound: false, addr: a.local_addr() }
    );
    assert_eq!((a.connected(), b.connected()), (1, 1));
    exchange(&a, &mut ra, &b, &mut rb, b"hello").await;
    exchange(&a, &mut ra, &b, &mut rb, b"").await;
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 253) as u8).collect();
    exchange(&a, &mut ra, &b, &mut rb, &big).await;
    for i in 0..100u8 {
        a.send(b.peer_id(), Bytes::from(vec![i; usize::from(i)]));
    }
    for i in 0..100u8 {
        expect_frame(&mut rb, a.peer_id(), &vec![i; usize::from(i)]).await;
    }
    a.shutdown();
    b.shutdown();
}

/// A dial that reaches another identity than expected fails, and the listener never reports
/// the dialer as connected: the next peer it hears about is an honest third node.
#[tokio::test]
async fn dialing_the_wrong_peer_fails() {
    let (a, mut ra) = start(config(1)).await;
    let (b, mut rb) = start(config(2)).await;
    let (c, mut rc) = start(config(3)).await;
    let wrong = peer_id(9, genesis());
    a.dial(wrong, b.local_addr());
    match next(&mut ra).await {
        TransportEvent::Down { peer, reason: DownReason::DialFailed(why) } => {
            assert_eq!(peer, wrong);
            assert!(why.contains("expected peer"), "{why}");
        }
        other => panic!("expected a failed dial, got {other:?}"),
    }
    connect(&c, &mut rc, &b, &mut rb).await;
    assert_eq!((a.connected(), b.connected()), (0, 1));
}

/// Nodes of different networks cannot connect: the handshake signature covers the genesis.
#[tokio::test]
async fn different_genesis_fails() {
    let (a, mut ra) = start(config(1)).await;
    let mut other = config(2);
    other.genesis = GenesisId([8; 20]);
    let (b, mut rb) = start(other.clone()).await;
    a.dial(b.peer_id(), b.local_addr());
    match next(&mut ra).await {
        TransportEvent::Down { peer, reason: DownReason::DialFailed(why) } => {
            assert_eq!(peer, b.peer_id());
            assert!(why.contains("signature"), "{why}");
        }
        other => panic!("expected a failed dial, got {other:?}"),
    }
    other.p2p_seed = [3; 32];
    let (c, mut rc) = start(other).await;
    connect(&c, &mut rc, &b, &mut rb).await;
    assert_eq!(b.connected(), 1);
}

/// A client sending garbage is dropped before any event, and an honest peer of the same
/// transport keeps exchanging frames.
#[tokio::test]
async fn garbage_is_dropped_and_others_carry_on() {
    let (a, mut ra) = start(config(1)).await;
    let (b, mut rb) = start(config(2)).await;
    connect(&b, &mut rb, &a, &mut ra).await;
    let mut junk = TcpStream::connect(a.local_addr()).await.expect("connect");
    junk.write_all(&[0xff; 300]).await.expect("write garbage");
    expect_closed(&mut junk).await;
    exchange(&a, &mut ra, &b, &mut rb, b"still here").await;
    assert_eq!(a.connected(), 1);
}

/// A peer announcing a frame over the limit is disconnected with `Oversize` before it sends
/// the body; another peer carries on.
#[tokio::test]
async fn oversize_frame_disconnects() {
    let mut cfg = config(1);
    cfg.frame_max = 1024;
    let (a, mut ra) = start(cfg).await;
    let (b, mut rb) = start(config(2)).await;
    connect(&b, &mut rb, &a, &mut ra).await;
    let mut raw = RawPeer::connect(3, &a).await;
    assert_eq!(up_peer(&next(&mut ra).await), raw.id);
    raw.send_frames(&[&[5; 1024]]).await;
    expect_frame(&mut ra, raw.id, &[5; 1024]).await;
    raw.announce(1025).await;
    assert_eq!(
        next(&mut ra).await,
        TransportEvent::Down {
            peer: raw.id,
            reason: DownReason::Oversize { len: 1025, max: 1024 }
        }
    );
    expect_closed(&mut raw.stream).await;
    exchange(&a, &mut ra, &b, &mut rb, b"unaffected").await;
    assert_eq!(a.connected(), 1);
}

/// A peer sending frames faster than the inbound limit is disconnected with `Flood` after
/// about one burst of frames.
#[tokio::test]
async fn flood_disconnects() {
    let mut cfg = config(1);
    cfg.inbound_frames_per_sec = 10;
    cfg.inbound_burst = 20;
    let (a, mut ra) = start(cfg).await;
    let mut raw = RawPeer::connect(3, &a).await;
    assert_eq!(up_peer(&next(&mut ra).await), raw.id);
    let frames: Vec<&[u8]> = vec![&b"flood"[..]; 200];
    raw.send_frames(&frames).await;
    let mut delivered = 0;
    loop {
        match next(&mut ra).await {
            TransportEvent::Frame { peer, .. } if peer == raw.id => delivered += 1,
            TransportEvent::Down { peer, reason } => {
                assert_eq!((peer, reason), (raw.id, DownReason::Flood));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The burst, plus whatever trickled in while the frames were read (well under 180).
    assert!((20..200).contains(&delivered), "{delivered} frames before the flood cut");
    expect_closed(&mut raw.stream).await;
}

/// `disconnect` closes without a local `Down`; the remote hears `Down{Closed}`. The next
/// local event is the peer reconnecting, not a `Down`.
#[tokio::test]
async fn disconnect_is_silent_locally() {
    let (a, mut ra) = start(config(1)).await;
    let (b, mut rb) = start(config(2)).await;
    connect(&a, &mut ra, &b, &mut rb).await;
    a.disconnect(b.peer_id());
    assert_eq!(a.connected(), 0);
    assert_eq!(
        next(&mut rb).await,
        TransportEvent::Down { peer: a.peer_id(), reason: DownReason::Closed }
    );
    assert_eq!(b.connected(), 0);
    connect(&b, &mut rb, &a, &mut ra).await;
    exchange(&a, &mut ra, &b, &mut rb, b"again").await;
}

/// Two transports dialing each other at once end with one connection and one `Up` each; the
/// connection set aside closes quietly and frames keep flowing.
#[tokio::test]
async fn simultaneous_dials_leave_one_connection() {
    let mut cfg_a = config(1);
    let mut cfg_b = config(2);
    // The set-aside connection lingers this long; keep the test short.
    cfg_a.handshake_timeout = Duration::from_secs(2);
    cfg_b.handshake_timeout = Duration::from_secs(2);
    let (a, mut ra) = start(cfg_a).await;
    let (b, mut rb) = start(cfg_b).await;
    for _ in 0..3 {
        a.dial(b.peer_id(), b.local_addr());
        b.dial(a.peer_id(), a.local_addr());
        assert_eq!(up_peer(&next(&mut ra).await), b.peer_id());
        assert_eq!(up_peer(&next(&mut rb).await), a.peer_id());
        exchange(&a, &mut ra, &b, &mut rb, b"one").await;
        // Wait (bounded) until any set-aside socket has closed on both sides.
        tokio::time::timeout(WAIT, async {
            while a.shared.sockets.load(Ordering::Acquire) != 1
                || b.shared.sockets.load(Ordering::Acquire) != 1
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("one socket left on each side");
        assert_eq!((a.connected(), b.connected()), (1, 1));
        // Had anything else happened (a second Up, a Down), it would come before these frames.
        exchange(&a, &mut ra, &b, &mut rb, b"two").await;
        a.disconnect(b.peer_id());
        assert_eq!(
            next(&mut rb).await,
            TransportEvent::Down { peer: a.peer_id(), reason: DownReason::Closed }
        );
    }
}

/// Inbound connections beyond `connections_max` are closed after accept: the dial fails.
#[tokio::test]
async fn connections_over_the_limit_are_refused() {
    let mut cfg = config(1);
    cfg.connections_max = 1;
    let (a, mut ra) = start(cfg).await;
    let (b, mut rb) = start(config(2)).await;
    let (c, mut rc) = start(config(3)).await;
    connect(&b, &mut rb, &a, &mut ra).await;
    c.dial(a.peer_id(), a.local_addr());
    assert!(matches!(
        next(&mut rc).await,
        TransportEvent::Down { reason: DownReason::DialFailed(_), .. }
    ));
    exchange(&a, &mut ra, &b, &mut rb, b"fine").await;
}

/// A peer that stops reading fills its send queue and is disconnected as too slow.
#[tokio::test]
async fn a_peer_that_does_not_read_is_too_slow() {
    let mut cfg = config(1);
    cfg.send_queue_max = 2;
    let (a, mut ra) = start(cfg).await;
    let raw = RawPeer::connect(3, &a).await;
    assert_eq!(up_peer(&next(&mut ra).await), raw.id);
    let big = Bytes::from(vec![0u8; 1 << 20]);
    let down = tokio::time::timeout(WAIT, async {
        loop {
            a.send(raw.id, big.clone());
            tokio::time::sleep(Duration::from_millis(5)).await;
            if let Ok(event) = ra.try_recv() {
                return event;
            }
        }
    })
    .await
    .expect("the slow peer is cut in time");
    assert_eq!(down, TransportEvent::Down { peer: raw.id, reason: DownReason::TooSlow });
    drop(raw);
}

/// After shutdown the listener is gone and connected peers hear `Down`.
#[tokio::test]
async fn shutdown_closes_everything() {
    let (a, mut ra) = start(config(1)).await;
    let (b, mut rb) = start(config(2)).await;
    connect(&a, &mut ra, &b, &mut rb).await;
    a.shutdown();
    assert_eq!(a.connected(), 0);
    assert_eq!(
        next(&mut rb).await,
        TransportEvent::Down { peer: a.peer_id(), reason: DownReason::Closed }
    );
    b.dial(a.peer_id(), a.local_addr());
    assert!(matches!(
        next(&mut rb).await,
        TransportEvent::Down { reason: DownReason::DialFailed(_), .. }
    ));
    a.dial(b.peer_id(), b.local_addr());
    assert!(
        tokio::time::timeout(Duration::from_millis(200), ra.recv()).await.is_err(),
        "no event after shutdown"
    );
}

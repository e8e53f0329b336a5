//! The authenticated, encrypted TCP transport between nodes.
//!
//! [`Transport`] turns [`spacemesh_core::node::Output::Connect`], `Send` and `Disconnect` into
//! sockets, and sockets into [`TransportEvent`]s that the runtime feeds to the node as
//! `PeerUp`, `Message` and `PeerDown`. Each connection is a Noise XX session whose two ends
//! prove their p2p keys over the session hash (see `handshake`), carrying length-prefixed
//! frames with a hard size limit (see `frames`).
//!
//! # Rules
//!
//! 1. Events for a peer are well paired: `Up`, then its frames, then at most one `Down`. A dial
//!    that fails before any `Up` for that peer gives one `Down` with [`DownReason::DialFailed`].
//! 2. At most one connection speaks for a peer. When a second authenticated connection to a
//!    connected peer appears (simultaneous dials, a peer that redials), both ends keep the one
//!    dialed by the smaller PeerId, and of two dialed by the same side the newer one. The switch
//!    is invisible to the node: no second `Up`, no `Down`. The connection set aside stops taking
//!    new frames, writes out what it had queued, and still delivers what the peer had sent on
//!    it, until the peer closes it or `handshake_timeout` passes.
//! 3. Every dial is answered once, by the first `Up` for that peer after the dial started
//!    (inbound or outbound), or by `Down{DialFailed}` if there was none. A dial that completes
//!    or fails while the peer is connected answers nothing more: the node already holds the
//!    peer as connected (core's peer upkeep ends a pending dial on any `PeerUp`). Dialing a
//!    connected peer, or one already being dialed, starts nothing.
//! 4. [`Transport::disconnect`] and [`Transport::shutdown`] close without a `Down`; after
//!    `shutdown` no event follows at all.
//! 5. A misbehaving peer (failed handshake, garbage, oversize frame, decryption failure, flood,
//!    a send queue that stays full) loses only its own connection: with a `Down` carrying the
//!    reason once it is up, or dropped with a debug log before that.
//! 6. Every socket counts against `connections_max`, whatever its stage; inbound sockets beyond
//!    it are closed right after accept. Outbound dials are the node's own choice and are not
//!    refused.
//!
//! Each connection has one reader task (which also emits the connection's events) and one
//! writer task fed by a bounded queue. Events go through one bounded channel; a node that falls
//! behind slows its peers down through TCP instead of growing memory.

mod conn;
mod frames;
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod rate;
mod registry;
mod setup;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use spacemesh_core::frame::FRAME_MAX;
use spacemesh_core::types::{GenesisId, PeerId};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use frames::FrameError;
pub use handshake::HandshakeError;

use handshake::Identity;
use registry::{Ctl, Registry};

/// Everything the transport needs; every queue and rate has its bound here.
#[derive(Clone)]
pub struct TransportConfig {
    /// The network: bound into every handshake signature.
    pub genesis: GenesisId,
    /// Secret seed of the node's p2p ed25519 key (its PeerId is the public key).
    pub p2p_seed: [u8; 32],
    /// Where to listen (port 0: any free port, see [`Transport::local_addr`]).
    pub listen: SocketAddr,
    /// Largest frame accepted or sent, in bytes (at most `u32::MAX`).
    pub frame_max: usize,
    /// Time allowed for connecting plus the whole handshake.
    pub handshake_timeout: Duration,
    /// Open sockets at most, counting handshakes in progress; more inbound ones are refused.
    pub connections_max: usize,
    /// Frames queued per peer; a peer whose queue is full is disconnected as too slow.
    pub send_queue_max: usize,
    /// Average inbound frames per second allowed per connection.
    pub inbound_frames_per_sec: u32,
    /// Inbound frames allowed at once per connection; exceeding the bucket disconnects.
    pub inbound_burst: u32,
    /// Events queued for the node before connections stop reading.
    pub events_max: usize,
}

impl fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key seed.
        f.debug_struct("TransportConfig")
            .field("genesis", &self.genesis)
            .field("listen", &self.listen)
            .field("frame_max", &self.frame_max)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("connections_max", &self.connections_max)
            .field("send_queue_max", &self.send_queue_max)
            .field("inbound_frames_per_sec", &self.inbound_frames_per_sec)
            .field("inbound_burst", &self.inbound_burst)
            .field("events_max", &self.events_max)
            .finish_non_exhaustive()
    }
}

impl TransportConfig {
    /// Defaults: core's [`FRAME_MAX`], a 10 s handshake, 64 connections, 1024 queued frames per
    /// peer, 2000 inbound frames per second with bursts of 4000, 4096 queued events.
    pub fn new(genesis: GenesisId, p2p_seed: [u8; 32], listen: SocketAddr) -> Self {
        TransportConfig {
            genesis,
            p2p_seed,
            listen,
            frame_max: FRAME_MAX,
            handshake_timeout: Duration::from_secs(10),
            connections_max: 64,
            send_queue_max: 1024,
            inbound_frames_per_sec: 2000,
            inbound_burst: 4000,
            events_max: 4096,
        }
    }

    fn validate(&self) -> std::io::Result<()> {
        let invalid = |what: &str| {
            Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("transport: {what}")))
        };
        if self.frame_max == 0 || u32::try_from(self.frame_max).is_err() {
            return invalid("frame_max must be in 1..=u32::MAX");
        }
        if self.send_queue_max == 0 || self.events_max == 0 || self.connections_max == 0 {
            return invalid("queue and connection bounds must be positive");
        }
        if self.inbound_frames_per_sec == 0 || self.inbound_burst == 0 {
            return invalid("the inbound rate and burst must be positive");
        }
        Ok(())
    }
}

/// What the transport tells its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// A peer is connected (feed `PeerUp`).
    Up {
        /// The peer's verified p2p identity.
        peer: PeerId,
        /// Whether this node dialed the connection the node hears about.
        outbound: bool,
        /// Where the peer listens: its IP and the port it announced (0 if it does not listen).
        addr: SocketAddr,
    },
    /// A frame from a connected peer (feed `Message`).
    Frame {
        /// The sender.
        peer: PeerId,
        /// The frame.
        bytes: Bytes,
    },
    /// A connection ended or a dial failed (feed `PeerDown`).
    Down {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DownReason,
    },
}

/// Why a peer went down.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DownReason {
    /// The dial did not produce an authenticated connection.
    #[error("dial failed: {0}")]
    DialFailed(String),
    /// The peer closed the connection.
    #[error("closed by the peer")]
    Closed,
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(String),
    /// The peer announced a frame above the limit.
    #[error("frame of {len} bytes over the limit of {max}")]
    Oversize {
        /// The announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The peer sent bytes that do not decrypt or break the framing.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The peer sent frames faster than the inbound limit.
    #[error("flooding")]
    Flood,
    /// The peer did not read fast enough: its send queue was full.
    #[error("too slow")]
    TooSlow,
}

impl From<FrameError> for DownReason {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Io(e) if is_hangup(&e) => DownReason::Closed,
            FrameError::Io(e) => DownReason::Io(e.to_string()),
            FrameError::Oversize { len, max } => DownReason::Oversize { len, max },
            FrameError::Decrypt => DownReason::Malformed("a message failed to decrypt".into()),
            FrameError::Malformed(what) => DownReason::Malformed(what.into()),
        }
    }
}

/// Whether an I/O error is the peer going away rather than a fault.
fn is_hangup(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe)
}

/// A handle on a running transport; clones share it.
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("peer_id", &self.peer_id())
            .field("local_addr", &self.local_addr())
            .field("connected", &self.connected())
            .finish()
    }
}

/// State shared by the handle and every task.
#[derive(Debug)]
struct Shared {
    cfg: TransportConfig,
    identity: Identity,
    local_addr: SocketAddr,
    registry: Mutex<Registry>,
    events: mpsc::Sender<TransportEvent>,
    /// Becomes true once, on shutdown; every task watches it.
    shutdown: watch::Sender<bool>,
    /// Open sockets, whatever their stage (see [`SocketSlot`]).
    sockets: AtomicUsize,
    next_conn: AtomicU64,
    runtime: tokio::runtime::Handle,
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic under the lock is a bug elsewhere; the bookkeeping itself stays consistent.
        self.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves once the transport shuts down.
    async fn shut_down(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|shut| *shut).await.is_ok();
    }
}

/// One open socket counted against `connections_max`, released on drop.
#[derive(Debug)]
struct SocketSlot(Arc<Shared>);

impl SocketSlot {
    /// Takes a slot; `None` when `limit` sockets are open already.
    fn try_take(shared: &Arc<Shared>, limit: Option<usize>) -> Option<Self> {
        let taken = shared.sockets.fetch_add(1, Ordering::AcqRel);
        if limit.is_some_and(|max| taken >= max) {
            shared.sockets.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(SocketSlot(Arc::clone(shared)))
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.0.sockets.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Transport {
    /// Binds `cfg.listen` and starts accepting. Must be called inside a tokio runtime; the
    /// handle may then be used from any thread.
    pub async fn start(
        cfg: TransportConfig,
    ) -> std::io::Result<(Transport, mpsc::Receiver<TransportEvent>)> {
        cfg.validate()?;
        let identity = Identity::new(cfg.p2p_seed, cfg.genesis)
            .map_err(|e| std::io::Error::other(format!("noise keys: {e}")))?;
        let listener = TcpListener::bind(cfg.listen).await?;
        let local_addr = listener.local_addr()?;
        let (events, rx) = mpsc::channel(cfg.events_max);
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry::new(identity.peer_id())),
            identity,
            local_addr,
            events,
            shutdown: watch::channel(false).0,
            sockets: AtomicUsize::new(0),
            next_conn: AtomicU64::new(0),
            runtime: tokio::runtime::Handle::current(),
            cfg,
        });
        tracing::debug!(peer = %shared.identity.peer_id(), %local_addr, "transport listening");
        shared.runtime.spawn(setup::accept_loop(Arc::clone(&shared), listener));
        Ok((Transport { shared }, rx))
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// This node's p2p identity.
    pub fn peer_id(&self) -> PeerId {
        self.shared.identity.peer_id()
    }

    /// Dials `peer` at `addr`; answered by `Up{outbound: true}` or `Down{DialFailed}` (see the
    /// module rules for a peer that is connected meanwhile).
    pub fn dial(&self, peer: PeerId, addr: SocketAddr) {
        if !self.shared.registry().start_dial(peer) {
            tracing::debug!(%peer, "not dialing: connected, dialing or shut down");
            return;
        }
        self.shared.runtime.spawn(setup::dial(Arc::clone(&self.shared), peer, addr));
    }

    /// Queues a frame for `peer` without waiting. Frames to peers that are not connected, and
    /// frames above `frame_max`, are dropped; a peer whose queue is full is disconnected with
    /// `Down{TooSlow}`.
    pub fn send(&self, peer: PeerId, bytes: Bytes) {
        if bytes.len() > self.shared.cfg.frame_max {
            tracing::warn!(%peer, len = bytes.len(), "dropping a frame over the limit");
            return;
        }
        let registry = self.shared.registry();
        let Some(link) = registry.get(&peer) else { return };
        if let Err(mpsc::error::TrySendError::Full(_)) = link.queue.try_send(bytes) {
            tracing::debug!(%peer, "send queue full: disconnecting a slow peer");
            Ctl::close(&link.ctl, Some(DownReason::TooSlow));
        }
    }

    /// Closes the connection to `peer`; no `Down` follows for it.
    pub fn disconnect(&self, peer: PeerId) {
        if let Some(link) = self.shared.registry().disconnect(&peer) {
            Ctl::close(&link.ctl, None);
        }
    }

    /// Connected peers.
    pub fn connected(&self) -> usize {
        self.shared.registry().len()
    }

    /// Stops listening and closes every connection and handshake; no event follows.
    pub fn shutdown(&self) {
        let links = self.shared.registry().shut();
        for link in links {
            Ctl::close(&link.ctl, None);
        }
        self.shared.shutdown.send_replace(true);
    }
}

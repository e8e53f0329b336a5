//! One authenticated connection: admission, its reader and writer tasks, and its end.
//!
//! The reader task emits all of the connection's events, each under the registry lock with a
//! channel slot reserved beforehand, so the order in the event channel is the order of the
//! registry's decisions: `Up` before frames, frames before `Down`, nothing after `Down`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use spacemesh_core::types::PeerId;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
#[cfg(not(madsim))]
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};

use super::frames::{Opener, Sealer};
use super::handshake::Session;
use super::rate::TokenBucket;
use super::registry::{Admit, Ctl, Link};
use super::{DownReason, Shared, SocketSlot, TransportEvent, is_hangup};

/// The writer seals queued frames into one buffer up to about this size per socket write.
const WRITE_BATCH: usize = 256 * 1024;
/// Read buffer size: many small frames per system call.
const READ_BUFFER: usize = 64 * 1024;

// madsim's simulated stream has no owned halves: it is split through a lock instead.
#[cfg(madsim)]
type OwnedReadHalf = tokio::io::ReadHalf<TcpStream>;
#[cfg(madsim)]
type OwnedWriteHalf = tokio::io::WriteHalf<TcpStream>;

/// The stream's two halves, for the reader and the writer task.
fn split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    #[cfg(not(madsim))]
    return stream.into_split();
    #[cfg(madsim)]
    return tokio::io::split(stream);
}

/// Waits for a reason to stop: the connection's own close or the transport's shutdown.
#[derive(Debug)]
struct Stop {
    ctl: watch::Receiver<Ctl>,
    shutdown: watch::Receiver<bool>,
}

impl Stop {
    fn new(shared: &Shared, ctl: &watch::Sender<Ctl>) -> Self {
        Stop { ctl: ctl.subscribe(), shutdown: shared.shutdown.subscribe() }
    }

    /// Resolves when the connection must stop, with the reason the node should hear (if any).
    async fn wait(&mut self) -> Option<DownReason> {
        tokio::select! {
            c = self.ctl.wait_for(|c| *c != Ctl::Open) => match c.map(|c| c.clone()) {
                Ok(Ctl::Close(reason)) => reason,
                Ok(Ctl::Open) | Err(_) => None,
            },
            _ = self.shutdown.wait_for(|shut| *shut) => None,
        }
    }

    fn is_open(&self) -> bool {
        *self.ctl.borrow() == Ctl::Open
    }
}

/// Admits an authenticated session and runs it until it ends; the calling task becomes the
/// connection's reader.
pub(super) async fn run(
    shared: Arc<Shared>,
    stream: TcpStream,
    session: Session,
    addr: SocketAddr,
    outbound: bool,
    slot: SocketSlot,
) {
    let Session { peer, sealer, opener, .. } = session;
    let Some(permit) = reserve(&shared).await else { return };
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let (queue, queue_rx) = mpsc::channel(shared.cfg.send_queue_max);
    let (ctl, _) = watch::channel(Ctl::Open);
    let dialer = if outbound { shared.identity.peer_id() } else { peer };
    let link = Link { conn, dialer, queue, ctl: ctl.clone() };
    {
        let mut registry = shared.registry();
        let admitted = registry.admit(peer, link);
        if outbound {
            registry.end_dial(peer);
        }
        match admitted {
            Admit::Up => {
                tracing::debug!(%peer, %addr, outbound, conn, "peer up");
                permit.send(TransportEvent::Up { peer, outbound, addr });
            }
            Admit::Replaced(old) => {
                tracing::debug!(%peer, conn, old = old.conn, "connection replaces another");
                set_aside(&shared, old.ctl);
            }
            Admit::Refused(_) if registry.is_shut() => return,
            Admit::Refused(new) => {
                tracing::debug!(%peer, conn, "connection set aside: the peer has a preferred one");
                set_aside(&shared, new.ctl);
            }
        }
    }
    let (rd, wr) = split(stream);
    let writer = write_loop(wr, sealer, queue_rx, ctl.clone(), Stop::new(&shared, &ctl));
    shared.runtime.spawn(writer);
    let reason =
        read_loop(&shared, peer, BufReader::with_capacity(READ_BUFFER, rd), opener, &ctl).await;
    Ctl::close(&ctl, None);
    finish(&shared, peer, conn, reason).await;
    drop(slot);
}

/// A slot in the event channel, or `None` once the transport or the node is gone.
async fn reserve(shared: &Shared) -> Option<mpsc::Permit<'_, TransportEvent>> {
    tokio::select! {
        p = shared.events.reserve() => p.ok(),
        () = shared.shut_down() => None,
    }
}

/// A connection no longer speaks for its peer: it takes no new frames, but still writes what
/// it had queued and delivers what the peer sent, until the peer closes it or the handshake
/// timeout passes (by then the peer has switched too, see the module rules).
fn set_aside(shared: &Shared, ctl: watch::Sender<Ctl>) {
    let linger = shared.cfg.handshake_timeout;
    shared.runtime.spawn(async move {
        tokio::time::sleep(linger).await;
        Ctl::close(&ctl, None);
    });
}

/// Reads frames until the connection fails or is told to stop; returns the reason for `Down`.
async fn read_loop(
    shared: &Shared,
    peer: PeerId,
    mut rd: BufReader<OwnedReadHalf>,
    mut opener: Opener,
    ctl: &watch::Sender<Ctl>,
) -> Option<DownReason> {
    let cfg = &shared.cfg;
    let mut stop = Stop::new(shared, ctl);
    let mut bucket =
        TokenBucket::new(cfg.inbound_frames_per_sec, cfg.inbound_burst, Instant::now());
    loop {
        let frame = tokio::select! {
            r = opener.read_frame(&mut rd, cfg.frame_max) => r,
            reason = stop.wait() => return reason,
        };
        let bytes = match frame {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "read failed");
                return Some(e.into());
            }
        };
        if !bucket.try_take(Instant::now()) {
            tracing::debug!(%peer, "inbound frame rate exceeded");
            return Some(DownReason::Flood);
        }
        if let Err(reason) = deliver(shared, peer, bytes, &mut stop).await {
            return reason;
        }
    }
}

/// Hands a frame to the node if the peer is still connected and this connection still open;
/// an error when the connection must stop instead, with the reason for `Down`.
async fn deliver(
    shared: &Shared,
    peer: PeerId,
    bytes: Bytes,
    stop: &mut Stop,
) -> Result<(), Option<DownReason>> {
    let permit = tokio::select! {
        p = shared.events.reserve() => p.map_err(|_| None)?,
        reason = stop.wait() => return Err(reason),
    };
    let registry = shared.registry();
    if registry.get(&peer).is_some() && stop.is_open() {
        permit.send(TransportEvent::Frame { peer, bytes });
    }
    Ok(())
}

/// Ends a connection: if it still spoke for its peer, the node hears `Down`.
async fn finish(shared: &Shared, peer: PeerId, conn: u64, reason: Option<DownReason>) {
    let reason = reason.unwrap_or(DownReason::Closed);
    let speaks = |shared: &Shared| shared.registry().get(&peer).is_some_and(|l| l.conn == conn);
    if !speaks(shared) {
        tracing::debug!(%peer, conn, "connection closed silently");
        return;
    }
    let permit = reserve(shared).await;
    let mut registry = shared.registry();
    if registry.remove(peer, conn) {
        tracing::debug!(%peer, conn, %reason, "peer down");
        if let Some(permit) = permit {
            permit.send(TransportEvent::Down { peer, reason });
        }
    }
}

/// Seals and writes queued frames until the connection stops.
async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut sealer: Sealer,
    mut queue: mpsc::Receiver<Bytes>,
    ctl: watch::Sender<Ctl>,
    mut stop: Stop,
) {
    let mut wire = Vec::new();
    loop {
        let next = tokio::select! {
            m = queue.recv() => m,
            _ = stop.wait() => return,
        };
        let Some(mut bytes) = next else {
            // Set aside and drained: stay open for the peer's last frames until told to stop.
            stop.wait().await;
            return;
        };
        wire.clear();
        loop {
            if let Err(e) = sealer.seal_frame(&bytes, &mut wire) {
                Ctl::close(&ctl, Some(DownReason::Io(e.to_string())));
                return;
            }
            match queue.try_recv() {
                Ok(more) if wire.len() < WRITE_BATCH => bytes = more,
                Ok(more) => {
                    // Too much for one write: keep it for the next round.
                    if write(&mut wr, &wire, &ctl, &mut stop).await.is_none() {
                        return;
                    }
                    wire.clear();
                    bytes = more;
                }
                Err(_) => break,
            }
        }
        if write(&mut wr, &wire, &ctl, &mut stop).await.is_none() {
            return;
        }
    }
}

/// Writes `wire` unless the connection stops first; a failure closes the connection.
async fn write(
    wr: &mut OwnedWriteHalf,
    wire: &[u8],
    ctl: &watch::Sender<Ctl>,
    stop: &mut Stop,
) -> Option<()> {
    // The flush is what sends a buffering stream's bytes (madsim's); a socket half's is a no-op.
    let written = tokio::select! {
        r = async { wr.write_all(wire).await?; wr.flush().await } => r,
        _ = stop.wait() => return None,
    };
    if let Err(e) = written {
        let reason = if is_hangup(&e) { DownReason::Closed } else { DownReason::Io(e.to_string()) };
        Ctl::close(ctl, Some(reason));
        return None;
    }
    Some(())
}

//! From sockets to authenticated sessions: the accept loop and dials.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use spacemesh_core::types::PeerId;
use tokio::net::{TcpListener, TcpStream};

use super::handshake::{self, HandshakeError};
use super::{DownReason, Shared, SocketSlot, TransportEvent, conn};

/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts until shutdown, handing each socket within the limit to its own handshake task.
pub(super) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = shared.shut_down() => return,
        };
        match accepted {
            Ok((stream, remote)) => {
                let Some(slot) = SocketSlot::try_take(&shared, Some(shared.cfg.connections_max))
                else {
                    tracing::debug!(%remote, "refusing a connection: at connections_max");
                    continue;
                };
                shared.runtime.spawn(inbound(Arc::clone(&shared), stream, remote, slot));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Authenticates an accepted socket and runs it as a connection.
async fn inbound(shared: Arc<Shared>, mut stream: TcpStream, remote: SocketAddr, slot: SocketSlot) {
    let _ = stream.set_nodelay(true);
    let port = shared.local_addr.port();
    let handshake = handshake::within(
        shared.cfg.handshake_timeout,
        handshake::respond(&mut stream, &shared.identity, port),
    );
    let session = tokio::select! {
        r = handshake => r,
        () = shared.shut_down() => return,
    };
    match session {
        Ok(session) => {
            let addr = SocketAddr::new(remote.ip(), session.listen_port);
            conn::run(shared, stream, session, addr, false, slot).await;
        }
        Err(e) => tracing::debug!(%remote, error = %e, "inbound handshake failed"),
    }
}

/// Connects to `addr`, authenticates `peer` there and runs the connection; a failure answers
/// the dial with `Down` unless an `Up` for the peer already did (see the module rules).
pub(super) async fn dial(shared: Arc<Shared>, peer: PeerId, addr: SocketAddr) {
    let slot = SocketSlot::try_take(&shared, None).expect("dials are not limited");
    let attempt = handshake::within(shared.cfg.handshake_timeout, async {
        let mut stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        let port = shared.local_addr.port();
        let session = handshake::initiate(&mut stream, &shared.identity, peer, port).await?;
        Ok::<_, HandshakeError>((stream, session))
    });
    let attempt = tokio::select! {
        r = attempt => r,
        () = shared.shut_down() => return,
    };
    match attempt {
        Ok((stream, session)) => {
            let addr = SocketAddr::new(addr.ip(), session.listen_port);
            conn::run(shared, stream, session, addr, true, slot).await;
        }
        Err(e) => {
            tracing::debug!(%peer, %addr, error = %e, "dial failed");
            dial_failed(&shared, peer, e.to_string()).await;
        }
    }
}

async fn dial_failed(shared: &Shared, peer: PeerId, why: String) {
    let permit = tokio::select! {
        p = shared.events.reserve() => p.ok(),
        () = shared.shut_down() => None,
    };
    let mut registry = shared.registry();
    let owed = registry.end_dial(peer);
    if let (true, Some(permit)) = (owed, permit) {
        permit.send(TransportEvent::Down { peer, reason: DownReason::DialFailed(why) });
    }
}

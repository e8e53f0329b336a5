//! The handshake: a Noise XX session, then each side's p2p key vouching for that session.
//!
//! 1. `Noise_XX_25519_ChaChaPoly_BLAKE2s` with empty payloads, each side using an x25519
//!    static key drawn fresh for the process. Each handshake message travels as a `u16`
//!    big-endian length followed by its bytes.
//! 2. Inside the encrypted session, first the responder and then the initiator send an auth
//!    message: `p2p public key (32) || signature (64) || listen port (u16 big-endian, 0 if
//!    none)`. The signature is by that ed25519 key under [`Domain::P2pHandshake`] over the Noise
//!    handshake hash, so the identity is bound to this session only, and through
//!    [`signed_message`] to this network: a node of another genesis fails here.
//!
//! The responder speaks first so that a dialer that finds the wrong peer leaves before it ever
//! proves its own identity: the listener then sees a failed handshake and never a connection.
//! Both sides refuse a connection to themselves. The auth messages use nonce 0 of each
//! direction; frames follow on the same [`Sealer`] and [`Opener`].

use std::future::Future;
use std::time::Duration;

use snow::HandshakeState;
use snow::params::NoiseParams;
use spacemesh_core::crypto::{
    Domain, Ed25519Verifier, Signature, Signer, Verifier, signed_message,
};
use spacemesh_core::types::{GenesisId, PeerId};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::frames::{self, FrameError, Opener, Sealer};

/// The Noise protocol name.
const NOISE_PROTOCOL: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// Mixed into the handshake hash so that sessions of other protocols never match ours.
const PROLOGUE: &[u8] = b"smesh-p2p/1";
/// Bound on one handshake message (XX with empty payloads needs at most 96 bytes).
const HANDSHAKE_MSG_MAX: usize = 256;
/// `public key || signature || listen port`.
const AUTH_LEN: usize = 32 + 64 + 2;

/// Why a handshake failed.
#[derive(Debug, Error)]
pub enum HandshakeError {
    /// The socket failed or closed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The Noise handshake failed (bad message, failed decryption).
    #[error("noise: {0}")]
    Noise(#[from] snow::Error),
    /// The handshake took longer than allowed.
    #[error("handshake timed out")]
    Timeout,
    /// The peer's signature over the session does not verify (or is for another network).
    #[error("the peer's signature over the session does not verify")]
    BadSignature,
    /// The dialed address answered with another identity.
    #[error("expected peer {expected}, got {got}")]
    WrongPeer {
        /// The identity the dialer asked for.
        expected: PeerId,
        /// The identity that answered.
        got: PeerId,
    },
    /// The connection leads back to this node.
    #[error("connected to ourselves")]
    SelfConnection,
    /// A message does not have the expected form.
    #[error("malformed handshake: {0}")]
    Malformed(&'static str),
}

impl From<FrameError> for HandshakeError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Io(e) => HandshakeError::Io(e),
            FrameError::Decrypt => HandshakeError::Noise(snow::Error::Decrypt),
            FrameError::Oversize { .. } => HandshakeError::Malformed("oversized auth message"),
            FrameError::Malformed(what) => HandshakeError::Malformed(what),
        }
    }
}

/// This node's handshake keys: the p2p signer and the process's Noise static key.
pub(crate) struct Identity {
    signer: Signer,
    peer_id: PeerId,
    noise_private: Vec<u8>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Identity").field("peer_id", &self.peer_id).finish_non_exhaustive()
    }
}

/// An authenticated session, ready for frames.
#[derive(Debug)]
pub(crate) struct Session {
    /// The peer's verified p2p identity.
    pub(crate) peer: PeerId,
    /// The port the peer says it listens on (0: none).
    pub(crate) listen_port: u16,
    /// Our direction.
    pub(crate) sealer: Sealer,
    /// The peer's direction.
    pub(crate) opener: Opener,
}

fn noise_params() -> NoiseParams {
    NOISE_PROTOCOL.parse().expect("the Noise protocol name is valid")
}

impl Identity {
    /// The identity of `p2p_seed` on `genesis`, with a fresh Noise static key from OS randomness.
    pub(crate) fn new(p2p_seed: [u8; 32], genesis: GenesisId) -> Result<Self, HandshakeError> {
        let signer = Signer::from_seed(p2p_seed, genesis);
        let peer_id = PeerId(signer.node_id().0);
        let keypair = snow::Builder::new(noise_params()).generate_keypair()?;
        Ok(Identity { signer, peer_id, noise_private: keypair.private })
    }

    /// This node's p2p identity.
    pub(crate) fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    fn builder(&self) -> Result<snow::Builder<'_>, HandshakeError> {
        Ok(snow::Builder::new(noise_params())
            .local_private_key(&self.noise_private)?
            .prologue(PROLOGUE)?)
    }
}

/// Runs `handshake` within `limit`.
pub(crate) async fn within<T>(
    limit: Duration,
    handshake: impl Future<Output = Result<T, HandshakeError>>,
) -> Result<T, HandshakeError> {
    tokio::time::timeout(limit, handshake).await.unwrap_or(Err(HandshakeError::Timeout))
}

/// Dials side: runs the handshake and accepts only `expected`.
pub(crate) async fn initiate<S>(
    io: &mut S,
    me: &Identity,
    expected: PeerId,
    listen_port: u16,
) -> Result<Session, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut noise = me.builder()?.build_initiator()?;
    send_noise(io, &mut noise).await?;
    recv_noise(io, &mut noise).await?;
    send_noise(io, &mut noise).await?;
    let (hash, mut sealer, mut opener) = finish(noise)?;
    let (peer, peer_port) = recv_auth(io, &mut opener, me, &hash).await?;
    if peer != expected {
        return Err(HandshakeError::WrongPeer { expected, got: peer });
    }
    send_auth(io, &mut sealer, me, &hash, listen_port).await?;
    Ok(Session { peer, listen_port: peer_port, sealer, opener })
}

/// Listening side: runs the handshake with whoever dialed.
pub(crate) async fn respond<S>(
    io: &mut S,
    me: &Identity,
    listen_port: u16,
) -> Result<Session, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut noise = me.builder()?.build_responder()?;
    recv_noise(io, &mut noise).await?;
    send_noise(io, &mut noise).await?;
    recv_noise(io, &mut noise).await?;
    let (hash, mut sealer, mut opener) = finish(noise)?;
    send_auth(io, &mut sealer, me, &hash, listen_port).await?;
    let (peer, peer_port) = recv_auth(io, &mut opener, me, &hash).await?;
    Ok(Session { peer, listen_port: peer_port, sealer, opener })
}

/// The handshake hash and the two directions of the finished session.
fn finish(noise: HandshakeState) -> Result<(Vec<u8>, Sealer, Opener), HandshakeError> {
    assert!(noise.is_handshake_finished(), "XX is three messages");
    let hash = noise.get_handshake_hash().to_vec();
    let (sealer, opener) = frames::split(noise.into_stateless_transport_mode()?);
    Ok((hash, sealer, opener))
}

async fn send_noise<S>(io: &mut S, noise: &mut HandshakeState) -> Result<(), HandshakeError>
where
    S: AsyncWrite + Unpin,
{
    let mut msg = [0u8; 2 + HANDSHAKE_MSG_MAX];
    let n = noise.write_message(&[], &mut msg[2..])?;
    msg[..2].copy_from_slice(&(n as u16).to_be_bytes());
    io.write_all(&msg[..2 + n]).await?;
    io.flush().await?;
    Ok(())
}

async fn recv_noise<S>(io: &mut S, noise: &mut HandshakeState) -> Result<(), HandshakeError>
where
    S: AsyncRead + Unpin,
{
    let len = usize::from(io.read_u16().await?);
    if len > HANDSHAKE_MSG_MAX {
        return Err(HandshakeError::Malformed("handshake message too long"));
    }
    let mut msg = [0u8; HANDSHAKE_MSG_MAX];
    io.read_exact(&mut msg[..len]).await?;
    let mut payload = [0u8; HANDSHAKE_MSG_MAX];
    let n = noise.read_message(&msg[..len], &mut payload)?;
    if n != 0 {
        return Err(HandshakeError::Malformed("handshake payload must be empty"));
    }
    Ok(())
}

async fn send_auth<S>(
    io: &mut S,
    sealer: &mut Sealer,
    me: &Identity,
    hash: &[u8],
    listen_port: u16,
) -> Result<(), HandshakeError>
where
    S: AsyncWrite + Unpin,
{
    let signature = me.signer.sign(Domain::P2pHandshake, hash);
    let mut auth = Vec::with_capacity(AUTH_LEN);
    auth.extend_from_slice(&me.peer_id.0);
    auth.extend_from_slice(&signature.0);
    auth.extend_from_slice(&listen_port.to_be_bytes());
    let mut wire = Vec::new();
    sealer.seal_chunk(&auth, &mut wire)?;
    io.write_all(&wire).await?;
    io.flush().await?;
    Ok(())
}

/// Reads and checks the peer's auth message: its identity and listen port.
pub(crate) async fn recv_auth<S>(
    io: &mut S,
    opener: &mut Opener,
    me: &Identity,
    hash: &[u8],
) -> Result<(PeerId, u16), HandshakeError>
where
    S: AsyncRead + Unpin,
{
    let auth = opener.read_chunk(io).await?;
    let Ok(auth) = <&[u8; AUTH_LEN]>::try_from(auth) else {
        return Err(HandshakeError::Malformed("auth message length"));
    };
    let (key, rest) = auth.split_at(32);
    let (signature, port) = rest.split_at(64);
    let peer = PeerId(key.try_into().expect("32 bytes"));
    let signature = Signature(signature.try_into().expect("64 bytes"));
    let port = u16::from_be_bytes(port.try_into().expect("2 bytes"));
    if peer == me.peer_id {
        return Err(HandshakeError::SelfConnection);
    }
    let signed = signed_message(&me.signer.genesis(), Domain::P2pHandshake, hash);
    if !Ed25519Verifier.verify(&peer.0, &signed, &signature) {
        return Err(HandshakeError::BadSignature);
    }
    Ok((peer, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(seed: u8, genesis: u8) -> Identity {
        Identity::new([seed; 32], GenesisId([genesis; 20])).expect("identity")
    }

    /// Runs both sides over an in-memory pipe.
    async fn run(
        dialer: &Identity,
        listener: &Identity,
        expected: PeerId,
    ) -> (Result<Session, HandshakeError>, Result<Session, HandshakeError>) {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let limit = Duration::from_secs(10);
        let dial = async {
            let r = within(limit, initiate(&mut a, dialer, expected, 7000)).await;
            drop(a); // a failed dialer hangs up, as the transport does
            r
        };
        tokio::join!(dial, within(limit, respond(&mut b, listener, 8000)))
    }

    /// Both sides learn each other's p2p key and listen port, and frames flow both ways.
    #[tokio::test]
    async fn both_sides_learn_the_verified_identity() {
        let (a, b) = (identity(1, 9), identity(2, 9));
        let (sa, sb) = run(&a, &b, b.peer_id()).await;
        let (mut sa, mut sb) = (sa.expect("dialer"), sb.expect("listener"));
        assert_eq!((sa.peer, sa.listen_port), (b.peer_id(), 8000));
        assert_eq!((sb.peer, sb.listen_port), (a.peer_id(), 7000));
        let mut wire = Vec::new();
        sa.sealer.seal_frame(b"ping", &mut wire).expect("seal");
        let got = sb.opener.read_frame(&mut &wire[..], 64).await.expect("frame");
        assert_eq!(&got[..], b"ping");
        let mut wire = Vec::new();
        sb.sealer.seal_frame(b"pong", &mut wire).expect("seal");
        let got = sa.opener.read_frame(&mut &wire[..], 64).await.expect("frame");
        assert_eq!(&got[..], b"pong");
    }

    /// A dialer that finds another identity fails with WrongPeer and never authenticates
    /// itself, so the listener's handshake fails too.
    #[tokio::test]
    async fn wrong_peer_fails_both_sides() {
        let (a, b) = (identity(1, 9), identity(2, 9));
        let other = identity(3, 9).peer_id();
        let (sa, sb) = run(&a, &b, other).await;
        match sa {
            Err(HandshakeError::WrongPeer { expected, got }) => {
                assert_eq!((expected, got), (other, b.peer_id()));
            }
            other => panic!("expected WrongPeer, got {other:?}"),
        }
        assert!(matches!(sb, Err(HandshakeError::Io(_))), "{sb:?}");
    }

    /// Nodes of different networks fail on the signature: the genesis is part of what is signed.
    #[tokio::test]
    async fn different_genesis_fails() {
        let (a, b) = (identity(1, 9), identity(2, 8));
        let (sa, sb) = run(&a, &b, b.peer_id()).await;
        assert!(matches!(sa, Err(HandshakeError::BadSignature)), "{sa:?}");
        assert!(sb.is_err());
    }

    /// A node that reaches itself refuses the connection on both ends.
    #[tokio::test]
    async fn self_connection_is_refused() {
        let a = identity(1, 9);
        let (sa, sb) = run(&a, &a, a.peer_id()).await;
        assert!(matches!(sa, Err(HandshakeError::SelfConnection)), "{sa:?}");
        assert!(sb.is_err());
    }

    /// A silent peer runs into the timeout; garbage fails without panicking.
    #[tokio::test]
    async fn silence_times_out_and_garbage_fails() {
        let a = identity(1, 9);
        let (mut io, _keep_open) = tokio::io::duplex(4096);
        let r = within(Duration::from_millis(50), respond(&mut io, &a, 0)).await;
        assert!(matches!(r, Err(HandshakeError::Timeout)), "{r:?}");

        let (mut io, mut peer) = tokio::io::duplex(4096);
        peer.write_all(&[0, 32]).await.expect("write");
        peer.write_all(&[0xAB; 32]).await.expect("write");
        peer.write_all(&[0xff; 64]).await.expect("write");
        let r = within(Duration::from_secs(10), respond(&mut io, &a, 0)).await;
        assert!(r.is_err(), "garbage must not complete a handshake");
    }
}

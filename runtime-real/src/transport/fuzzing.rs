//! Entry points for the `transport_stream` fuzz target: what a connected peer's bytes go
//! through after the Noise handshake (the frame reader and the auth message check). Not an API
//! for anything else.
//!
//! Reading from a byte slice never waits, so each entry polls its future once with a no-op
//! waker instead of starting a runtime per input.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use spacemesh_core::types::GenesisId;

use super::frames::{CHUNK_PLAIN_MAX, FrameError, Opener, Sealer, split};
use super::handshake::{HandshakeError, Identity, recv_auth};

/// A finished Noise NN session between two ends: `(ours, theirs)`, each `(sealer, opener)`.
/// The framing and the auth check do not depend on which pattern made the keys.
pub(crate) fn session_pair() -> ((Sealer, Opener), (Sealer, Opener)) {
    let params: snow::params::NoiseParams =
        "Noise_NN_25519_ChaChaPoly_BLAKE2s".parse().expect("noise params");
    let mut a = snow::Builder::new(params.clone()).build_initiator().expect("initiator");
    let mut b = snow::Builder::new(params).build_responder().expect("responder");
    let (mut m, mut p) = ([0u8; 1024], [0u8; 1024]);
    let n = a.write_message(&[], &mut m).expect("msg1");
    b.read_message(&m[..n], &mut p).expect("read msg1");
    let n = b.write_message(&[], &mut m).expect("msg2");
    a.read_message(&m[..n], &mut p).expect("read msg2");
    let a = split(a.into_stateless_transport_mode().expect("a transport"));
    let b = split(b.into_stateless_transport_mode().expect("b transport"));
    (a, b)
}

/// Polls a future that cannot wait (it reads from a slice) to its end.
fn finish<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("reading from a byte slice never waits"),
    }
}

/// Reads frames of at most `frame_max` bytes from `wire` as a peer would have sent them,
/// until the first error (the end of the bytes is an `Io` error). Panics only if a frame
/// breaks the reader's own rules (longer than `frame_max`).
pub fn read_raw(wire: &[u8], frame_max: usize) -> (Vec<bytes::Bytes>, FrameError) {
    let (_, (_, mut opener)) = session_pair();
    read_all(&mut opener, wire, frame_max)
}

/// Seals each of `chunks` (cut to one Noise message) as the peer's own messages, so that they
/// pass decryption, and reads frames from the result: this reaches the framing rules (header,
/// chunk boundaries, limits) that random ciphertext never gets past.
pub fn read_sealed(chunks: &[&[u8]], frame_max: usize) -> (Vec<bytes::Bytes>, FrameError) {
    let ((mut sealer, _), (_, mut opener)) = session_pair();
    let mut wire = Vec::new();
    for chunk in chunks {
        let chunk = &chunk[..chunk.len().min(CHUNK_PLAIN_MAX)];
        sealer.seal_chunk(chunk, &mut wire).expect("a chunk within the Noise limit seals");
    }
    read_all(&mut opener, &wire, frame_max)
}

fn read_all(
    opener: &mut Opener,
    mut wire: &[u8],
    frame_max: usize,
) -> (Vec<bytes::Bytes>, FrameError) {
    let mut frames = Vec::new();
    loop {
        match finish(opener.read_frame(&mut wire, frame_max)) {
            Ok(frame) => {
                assert!(frame.len() <= frame_max, "a frame over the limit was accepted");
                frames.push(frame);
            }
            Err(e) => return (frames, e),
        }
    }
}

/// Checks `auth` (sealed as the peer's first message) as a node checks a peer's auth message
/// over handshake hash `hash`: the peer and its listen port, or why it is refused.
pub fn check_auth(auth: &[u8], hash: &[u8]) -> Result<(spacemesh_core::PeerId, u16), String> {
    let ((mut sealer, _), (_, mut opener)) = session_pair();
    let me = Identity::new([7; 32], GenesisId([1; 20])).map_err(|e| e.to_string())?;
    let mut wire = Vec::new();
    sealer.seal_chunk(&auth[..auth.len().min(CHUNK_PLAIN_MAX)], &mut wire).expect("seals");
    finish(recv_auth(&mut wire.as_slice(), &mut opener, &me, hash))
        .map_err(|e: HandshakeError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sealed chunks that follow the framing rules give their frames; the end of the bytes
    /// ends the reading with an i/o error.
    #[test]
    fn sealed_frames_are_read() {
        let first = [&5u32.to_be_bytes()[..], b"hel"].concat();
        let (frames, end) = read_sealed(&[&first, b"lo", &[0, 0, 0, 0]], 16);
        assert_eq!(frames, vec![bytes::Bytes::from_static(b"hello"), bytes::Bytes::new()]);
        assert!(matches!(end, FrameError::Io(_)), "{end}");
    }

    /// Broken framing is a typed error: an oversize header, a chunk past the frame end, an
    /// empty chunk inside a frame, a first chunk without a header, and raw (unsealed) bytes.
    #[test]
    fn broken_framing_is_refused() {
        let big = 17u32.to_be_bytes();
        assert!(matches!(read_sealed(&[&big], 16).1, FrameError::Oversize { len: 17, max: 16 }));
        let two = [&2u32.to_be_bytes()[..], b"abc"].concat();
        assert!(matches!(read_sealed(&[&two], 16).1, FrameError::Malformed(_)));
        let five = [&5u32.to_be_bytes()[..], b"ab"].concat();
        assert!(matches!(read_sealed(&[&five, b""], 16).1, FrameError::Malformed(_)));
        assert!(matches!(read_sealed(&[b"ab"], 16).1, FrameError::Malformed(_)));
        assert!(matches!(read_raw(&[0, 20, 1, 2, 3], 16).1, FrameError::Io(_)));
        let garbage = [[0u8, 20].as_slice(), &[9; 20]].concat();
        assert!(matches!(read_raw(&garbage, 16).1, FrameError::Decrypt));
    }

    /// An auth message of the wrong length or with a bad signature is refused with a reason.
    #[test]
    fn bad_auth_is_refused() {
        assert!(check_auth(b"short", &[0; 32]).unwrap_err().contains("length"));
        let err = check_auth(&[3; 98], &[0; 32]).unwrap_err();
        assert!(err.contains("signature"), "{err}");
    }
}

//! Application frames inside an established Noise session.
//!
//! On the wire everything after the handshake is a sequence of Noise transport messages, each
//! a `u16` big-endian length followed by that many bytes of ciphertext (at most 65535, the Noise
//! maximum, so at most [`CHUNK_PLAIN_MAX`] bytes of plaintext each). A frame is the plaintext
//! `u32 big-endian length || body`, split over as many messages as it needs.
//!
//! The length travels inside the first encrypted message rather than in the clear so that frame
//! boundaries are authenticated: a man in the middle cannot rewrite a length to split one frame
//! into two. The receiver checks the declared length against `frame_max` as soon as it has
//! decrypted that first message (at most 64 KiB), before it allocates or reads the rest of the
//! body, and the body must then fill exactly the declared length.
//!
//! Each direction has its own nonce counter. [`Sealer`] and [`Opener`] share one immutable
//! [`StatelessTransportState`] so that a connection's writer and reader run on separate tasks.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use snow::StatelessTransportState;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The Noise authentication tag added to every message.
const TAG_LEN: usize = 16;
/// The largest Noise message on the wire.
const NOISE_MSG_MAX: usize = 65535;
/// The most plaintext one Noise transport message carries.
pub(crate) const CHUNK_PLAIN_MAX: usize = NOISE_MSG_MAX - TAG_LEN;
/// The frame header: the body length as a big-endian `u32`.
const HEADER_LEN: usize = 4;

/// Why a frame could not be read or written.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The socket failed or closed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The declared frame length is above the limit.
    #[error("frame of {len} bytes is over the limit of {max}")]
    Oversize {
        /// The declared length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A Noise message did not decrypt (tampered, reordered or not from the peer).
    #[error("a message failed to decrypt")]
    Decrypt,
    /// The bytes do not follow the framing rules.
    #[error("malformed: {0}")]
    Malformed(&'static str),
}

/// The sending half of a session: encrypts with its own nonce counter.
pub(crate) struct Sealer {
    noise: Arc<StatelessTransportState>,
    nonce: u64,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("nonce", &self.nonce).finish_non_exhaustive()
    }
}

/// The receiving half of a session: decrypts with its own nonce counter.
pub(crate) struct Opener {
    noise: Arc<StatelessTransportState>,
    nonce: u64,
    /// Reused ciphertext buffer (at most one Noise message).
    cipher: Vec<u8>,
    /// Reused plaintext buffer (at most one Noise message).
    plain: Vec<u8>,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener").field("nonce", &self.nonce).finish_non_exhaustive()
    }
}

/// Splits a finished session into its two directions, both starting at nonce 0.
pub(crate) fn split(noise: StatelessTransportState) -> (Sealer, Opener) {
    let noise = Arc::new(noise);
    let sealer = Sealer { noise: Arc::clone(&noise), nonce: 0 };
    let opener = Opener { noise, nonce: 0, cipher: Vec::new(), plain: Vec::new() };
    (sealer, opener)
}

/// Takes the next nonce of a direction. Running out needs 2^64 messages; refuse rather than
/// ever reuse one.
fn next_nonce(nonce: &mut u64) -> Result<u64, FrameError> {
    let n = *nonce;
    *nonce = n.checked_add(1).ok_or(FrameError::Malformed("nonces exhausted"))?;
    Ok(n)
}

impl Sealer {
    /// Appends one Noise message carrying `plain` (at most [`CHUNK_PLAIN_MAX`] bytes) to `out`.
    pub(crate) fn seal_chunk(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        assert!(plain.len() <= CHUNK_PLAIN_MAX, "chunk of {} bytes", plain.len());
        let nonce = next_nonce(&mut self.nonce)?;
        let wire_len = plain.len() + TAG_LEN;
        out.extend_from_slice(&(wire_len as u16).to_be_bytes());
        let start = out.len();
        out.resize(start + wire_len, 0);
        let written = self
            .noise
            .write_message(nonce, plain, &mut out[start..])
            .map_err(|_| FrameError::Malformed("encryption failed"))?;
        assert_eq!(written, wire_len, "ciphertext is plaintext plus one tag");
        Ok(())
    }

    /// Appends the wire form of frame `body` to `out`.
    pub(crate) fn seal_frame(&mut self, body: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        let len = u32::try_from(body.len())
            .map_err(|_| FrameError::Oversize { len: body.len(), max: u32::MAX as usize })?;
        let first_len = body.len().min(CHUNK_PLAIN_MAX - HEADER_LEN);
        let mut first = Vec::with_capacity(HEADER_LEN + first_len);
        first.extend_from_slice(&len.to_be_bytes());
        first.extend_from_slice(&body[..first_len]);
        self.seal_chunk(&first, out)?;
        for chunk in body[first_len..].chunks(CHUNK_PLAIN_MAX) {
            self.seal_chunk(chunk, out)?;
        }
        Ok(())
    }
}

impl Opener {
    /// Reads and decrypts one Noise message; the plaintext is valid until the next call.
    pub(crate) async fn read_chunk<R>(&mut self, io: &mut R) -> Result<&[u8], FrameError>
    where
        R: AsyncRead + Unpin,
    {
        let wire_len = usize::from(io.read_u16().await?);
        if wire_len < TAG_LEN {
            return Err(FrameError::Malformed("message shorter than its tag"));
        }
        self.cipher.resize(wire_len, 0);
        io.read_exact(&mut self.cipher).await?;
        let nonce = next_nonce(&mut self.nonce)?;
        self.plain.resize(wire_len - TAG_LEN, 0);
        let n = self
            .noise
            .read_message(nonce, &self.cipher, &mut self.plain)
            .map_err(|_| FrameError::Decrypt)?;
        Ok(&self.plain[..n])
    }

    /// Reads one frame of at most `frame_max` bytes.
    pub(crate) async fn read_frame<R>(
        &mut self,
        io: &mut R,
        frame_max: usize,
    ) -> Result<Bytes, FrameError>
    where
        R: AsyncRead + Unpin,
    {
        let first = self.read_chunk(io).await?;
        let Some((header, rest)) = first.split_first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::Malformed("first message shorter than the frame header"));
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > frame_max {
            return Err(FrameError::Oversize { len, max: frame_max });
        }
        if rest.len() > len {
            return Err(FrameError::Malformed("message runs past the frame end"));
        }
        let mut body = BytesMut::with_capacity(len);
        body.extend_from_slice(rest);
        while body.len() < len {
            let chunk = self.read_chunk(io).await?;
            if chunk.is_empty() {
                return Err(FrameError::Malformed("empty message inside a frame"));
            }
            if chunk.len() > len - body.len() {
                return Err(FrameError::Malformed("message runs past the frame end"));
            }
            body.extend_from_slice(chunk);
        }
        assert_eq!(body.len(), len, "a frame body fills exactly its declared length");
        Ok(body.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::fuzzing::session_pair;
    use tokio::io::AsyncWriteExt;

    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Frames of many sizes, including several Noise messages long and exactly at the limit,
    /// arrive intact and in order over a byte stream.
    #[tokio::test]
    async fn frames_round_trip_over_a_stream() {
        let ((mut sealer, _), (_, mut opener)) = session_pair();
        let sizes = [0, 1, CHUNK_PLAIN_MAX - HEADER_LEN, CHUNK_PLAIN_MAX, 3 * CHUNK_PLAIN_MAX + 7];
        let max = *sizes.iter().max().expect("sizes");
        let (mut tx, mut rx) = tokio::io::duplex(4096);
        let writer = tokio::spawn(async move {
            for len in sizes {
                let mut wire = Vec::new();
                sealer.seal_frame(&body(len), &mut wire).expect("seal");
                tx.write_all(&wire).await.expect("write");
            }
        });
        for len in sizes {
            let got = opener.read_frame(&mut rx, max).await.expect("read frame");
            assert_eq!(got.len(), len);
            assert_eq!(&got[..], &body(len)[..], "frame of {len} bytes");
        }
        writer.await.expect("writer");
    }

    /// A frame of one byte over the limit is refused after its first message, without reading
    /// the rest of the body; a frame exactly at the limit is accepted.
    #[tokio::test]
    async fn oversize_is_refused_before_the_body() {
        let ((mut sealer, _), (_, mut opener)) = session_pair();
        let max = 2 * CHUNK_PLAIN_MAX;
        let mut wire = Vec::new();
        sealer.seal_frame(&body(max), &mut wire).expect("seal at limit");
        let mut at_limit = &wire[..];
        assert_eq!(opener.read_frame(&mut at_limit, max).await.expect("at limit").len(), max);

        let mut wire = Vec::new();
        sealer.seal_frame(&body(max + 1), &mut wire).expect("seal over limit");
        let first_msg = 2 + NOISE_MSG_MAX;
        // Only the first message is available: reading any further would fail with EOF.
        let mut truncated = &wire[..first_msg];
        match opener.read_frame(&mut truncated, max).await {
            Err(FrameError::Oversize { len, max: m }) => assert_eq!((len, m), (max + 1, max)),
            other => panic!("expected oversize, got {other:?}"),
        }
    }

    /// A flipped ciphertext bit fails to decrypt; a message shorter than its tag and a first
    /// message without a full header are malformed.
    #[tokio::test]
    async fn tampering_and_garbage_are_rejected() {
        let ((mut sealer, _), (_, mut opener)) = session_pair();
        let mut wire = Vec::new();
        sealer.seal_frame(b"hello", &mut wire).expect("seal");
        wire[5] ^= 1;
        let mut io = &wire[..];
        assert!(matches!(opener.read_frame(&mut io, 1024).await, Err(FrameError::Decrypt)));

        let mut short: &[u8] = &[0, 3, 1, 2, 3];
        assert!(matches!(opener.read_frame(&mut short, 1024).await, Err(FrameError::Malformed(_))));

        let ((mut sealer, _), (_, mut opener)) = session_pair();
        let mut wire = Vec::new();
        sealer.seal_chunk(&[0, 0], &mut wire).expect("seal a 2-byte message");
        let mut io = &wire[..];
        assert!(matches!(opener.read_frame(&mut io, 1024).await, Err(FrameError::Malformed(_))));
    }

    /// A body message that overruns the declared length, or an empty one, is malformed; a
    /// stream that ends mid-frame is an I/O error.
    #[tokio::test]
    async fn body_must_fill_the_declared_length_exactly() {
        let ((mut sealer, _), (_, mut opener)) = session_pair();
        let mut wire = Vec::new();
        sealer.seal_chunk(&[0, 0, 0, 3, 1], &mut wire).expect("header and one byte");
        sealer.seal_chunk(&[2, 3, 4], &mut wire).expect("three more: one too many");
        let mut io = &wire[..];
        assert!(matches!(opener.read_frame(&mut io, 1024).await, Err(FrameError::Malformed(_))));

        let ((mut sealer, _), (_, mut opener)) = session_pair();
        let mut wire = Vec::new();
        sealer.seal_chunk(&[0, 0, 0, 3], &mut wire).expect("header");
        sealer.seal_chunk(&[], &mut wire).expect("empty");
        let mut io = &wire[..];
        assert!(matches!(opener.read_frame(&mut io, 1024).await, Err(FrameError::Malformed(_))));

        let ((mut sealer, _), (_, mut opener)) = session_pair();
        let mut wire = Vec::new();
        sealer.seal_frame(&body(100), &mut wire).expect("seal");
        let mut io = &wire[..wire.len() - 1];
        assert!(matches!(opener.read_frame(&mut io, 1024).await, Err(FrameError::Io(_))));
    }
}

//! SCALE encoding (as go-spacemesh's go-scale) with a limit on every decode path.
//!
//! Wire format: little-endian fixed-width integers; compact integers for lengths (and for
//! `LayerId`/`EpochId`, as go-spacemesh does); `Option` as a one-byte tag; `bool` as 0/1; enums
//! as a one-byte tag followed by the variant's fields; structs as their fields in order.
//!
//! Invariants:
//! 1. Decoding never panics and never allocates more than the input could justify: every
//!    variable-length field has a maximum in its type ([`BoundedVec`], [`BoundedBytes`]) that is
//!    checked against the declared length *before* anything is allocated.
//! 2. Encodings are canonical: a compact integer in a longer mode than needed, a bool other than
//!    0/1 or an unknown tag is a typed error. So a value has exactly one encoding, and a received
//!    frame can be forwarded byte for byte.
//! 3. [`decode_exact`] rejects trailing bytes.

mod bounded;
mod compact;
mod impls;

pub use bounded::{BoundedBytes, BoundedVec};
pub use compact::{Compact, compact_len, decode_compact, encode_compact};

use bytes::Bytes;
use thiserror::Error;

/// Why a byte string is not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("input ended: needed {needed} more bytes, {remaining} remain")]
    UnexpectedEnd {
        /// Bytes the decoder asked for.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A declared length is above the field's limit.
    #[error("{what}: length {len} is over the limit {max}")]
    LengthOverLimit {
        /// The field or type whose limit was hit.
        what: &'static str,
        /// The declared length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// An enum or option tag that names no variant.
    #[error("{what}: invalid tag {tag}")]
    InvalidTag {
        /// The type being decoded.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// A compact integer that is not in its shortest form, or does not fit its type.
    #[error("non-canonical or oversized compact integer")]
    InvalidCompact,
    /// A value that is well-formed but not allowed (for example a bool byte of 2).
    #[error("{0}: invalid value")]
    InvalidValue(&'static str),
    /// Bytes left over after the value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
}

/// The first buffer of [`Encode::encode`]: room for a ballot, a hare message or an ATX
/// header without growing.
const ENCODE_CAPACITY: usize = 512;
/// Unused bytes [`Encode::encode`] leaves in its buffer before trimming it.
const ENCODE_SLACK: usize = 32;

/// A type with a SCALE encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding of `self` in a new vector.
    fn encode(&self) -> Vec<u8> {
        // One allocation for most messages instead of a doubling series; encodings are often
        // kept (as frames, in stores), so a much larger buffer is trimmed (in place).
        let mut out = Vec::with_capacity(ENCODE_CAPACITY);
        self.encode_to(&mut out);
        if out.capacity() - out.len() > ENCODE_SLACK {
            out.shrink_to_fit();
        }
        out
    }

    /// The encoding of `self` as shared bytes.
    fn encode_bytes(&self) -> Bytes {
        Bytes::from(self.encode())
    }
}

/// A type that can be decoded from untrusted bytes within its limits.
pub trait Decode: Sized {
    /// Reads one value from `r`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// A cursor over input bytes.
///
/// When built from [`Bytes`] with [`Reader::from_bytes`], byte-string fields are returned as
/// zero-copy slices of the input, so a message's payload shares the buffer of the frame it came in.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    source: Option<&'a Bytes>,
}

impl<'a> Reader<'a> {
    /// A reader over a plain slice (byte fields are copied).
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, source: None }
    }

    /// A reader over shared bytes (byte fields are zero-copy slices).
    pub fn from_bytes(source: &'a Bytes) -> Self {
        Reader { buf: source.as_ref(), pos: 0, source: Some(source) }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd { needed: n, remaining: self.remaining() });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads exactly `n` bytes as shared bytes (zero-copy when the reader has a source).
    pub fn take_bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        let slice = self.take(n)?;
        Ok(match self.source {
            Some(src) => src.slice(start..start + n),
            None => Bytes::copy_from_slice(slice),
        })
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a compact length and checks it against `max` before anything is allocated.
    pub fn length(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let len = decode_compact(self)?;
        if len > max as u64 {
            return Err(DecodeError::LengthOverLimit { what, len, max: max as u64 });
        }
        Ok(len as usize)
    }
}

/// Decodes one value from `bytes` and rejects trailing bytes.
pub fn decode_exact<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    finish(Reader::new(bytes))
}

/// Like [`decode_exact`], with byte fields as zero-copy slices of `bytes`.
pub fn decode_shared<T: Decode>(bytes: &Bytes) -> Result<T, DecodeError> {
    finish(Reader::from_bytes(bytes))
}

fn finish<T: Decode>(mut r: Reader<'_>) -> Result<T, DecodeError> {
    let value = T::decode(&mut r)?;
    match r.remaining() {
        0 => Ok(value),
        n => Err(DecodeError::TrailingBytes(n)),
    }
}

/// Implements [`Encode`] and [`Decode`] for a struct as its fields in declaration order.
#[macro_export]
macro_rules! impl_codec_struct {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::codec::Encode for $ty {
            fn encode_to(&self, out: &mut Vec<u8>) {
                $( $crate::codec::Encode::encode_to(&self.$field, out); )*
            }
        }
        impl $crate::codec::Decode for $ty {
            fn decode(r: &mut $crate::codec::Reader<'_>) -> Result<Self, $crate::codec::DecodeError> {
                Ok($ty { $( $field: $crate::codec::Decode::decode(r)?, )* })
            }
        }
    };
}

#[cfg(test)]
mod tests;

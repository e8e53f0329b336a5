//! Length-limited collections: the limit is part of the type, like go-scale's `max=` tags, so
//! every decode path of every wire message has an explicit bound.

use std::ops::Deref;

use bytes::Bytes;

use super::{Decode, DecodeError, Encode, Reader, encode_compact};

/// A vector of at most `MAX` elements.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BoundedVec<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> BoundedVec<T, MAX> {
    /// Wraps `items`, or gives them back when there are more than `MAX`.
    pub fn new(items: Vec<T>) -> Result<Self, Vec<T>> {
        if items.len() > MAX { Err(items) } else { Ok(Self(items)) }
    }

    /// Wraps the first `MAX` items and drops the rest.
    pub fn truncating(mut items: Vec<T>) -> Self {
        items.truncate(MAX);
        Self(items)
    }

    /// The wrapped vector.
    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: usize> Deref for BoundedVec<T, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: std::fmt::Debug, const MAX: usize> std::fmt::Debug for BoundedVec<T, MAX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Encode, const MAX: usize> Encode for BoundedVec<T, MAX> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_compact(self.0.len() as u64, out);
        for item in &self.0 {
            item.encode_to(out);
        }
    }
}

impl<T: Decode, const MAX: usize> Decode for BoundedVec<T, MAX> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.length(std::any::type_name::<T>(), MAX)?;
        // Every element takes at least one byte, so the remaining input bounds the allocation
        // even when MAX is large.
        let mut items = Vec::with_capacity(len.min(r.remaining()));
        for _ in 0..len {
            items.push(T::decode(r)?);
        }
        Ok(Self(items))
    }
}

/// A byte string of at most `MAX` bytes, zero-copy when decoded from shared bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BoundedBytes<const MAX: usize>(Bytes);

impl<const MAX: usize> BoundedBytes<MAX> {
    /// Wraps `bytes`, or gives them back when longer than `MAX`.
    pub fn new(bytes: Bytes) -> Result<Self, Bytes> {
        if bytes.len() > MAX { Err(bytes) } else { Ok(Self(bytes)) }
    }

    /// The wrapped bytes.
    pub fn into_inner(self) -> Bytes {
        self.0
    }

    /// The wrapped bytes, shared.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl<const MAX: usize> Deref for BoundedBytes<MAX> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: usize> std::fmt::Debug for BoundedBytes<MAX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BoundedBytes(len {})", self.0.len())
    }
}

impl<const MAX: usize> Encode for BoundedBytes<MAX> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_compact(self.0.len() as u64, out);
        out.extend_from_slice(&self.0);
    }
}

impl<const MAX: usize> Decode for BoundedBytes<MAX> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.length("bytes", MAX)?;
        r.take_bytes(len).map(Self)
    }
}

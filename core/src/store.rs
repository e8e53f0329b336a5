//! What a node makes durable: write batches (the `Persist` output) and the snapshot a runtime
//! restores a node from (the `Restore` input).
//!
//! A runtime must make a batch durable, atomically, before it acts on any later output of the
//! node. Keys are namespaced by the owning protocol (`"heartbeat/next_seq"`).

use std::collections::BTreeMap;

use crate::codec::{BoundedBytes, BoundedVec, Decode, DecodeError, Encode, Reader};
use crate::impl_codec_struct;

/// Longest key.
pub const KEY_MAX: usize = 256;
/// Longest value.
pub const VALUE_MAX: usize = 4 * 1024 * 1024;
/// Most operations in one batch.
pub const BATCH_OPS_MAX: usize = 65_536;

/// One write: `value: None` deletes the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// Key.
    pub key: BoundedBytes<KEY_MAX>,
    /// New value, or `None` to delete.
    pub value: Option<BoundedBytes<VALUE_MAX>>,
}
impl_codec_struct!(Op { key, value });

/// An atomic group of writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    /// The writes, applied in order.
    pub ops: Vec<Op>,
}

impl Batch {
    /// Adds a put. Panics on keys or values over the bounds (a bug in the caller).
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.ops.push(Op {
            key: BoundedBytes::new(key.to_vec().into()).expect("key over KEY_MAX"),
            value: Some(BoundedBytes::new(value.to_vec().into()).expect("value over VALUE_MAX")),
        });
        self
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.ops.push(Op {
            key: BoundedBytes::new(key.to_vec().into()).expect("key over KEY_MAX"),
            value: None,
        });
        self
    }

    /// Applies the batch to a snapshot.
    pub fn apply_to(&self, snapshot: &mut Snapshot) {
        for op in &self.ops {
            match &op.value {
                Some(v) => snapshot.insert(op.key.to_vec(), v.to_vec()),
                None => snapshot.remove(&op.key[..]),
            };
        }
    }
}

impl Encode for Batch {
    fn encode_to(&self, out: &mut Vec<u8>) {
        crate::codec::encode_compact(self.ops.len() as u64, out);
        for op in &self.ops {
            op.encode_to(out);
        }
    }
}

impl Decode for Batch {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ops: BoundedVec<Op, BATCH_OPS_MAX> = Decode::decode(r)?;
        Ok(Batch { ops: ops.into_inner() })
    }
}

/// Everything a node made durable, as key-value pairs.
pub type Snapshot = BTreeMap<Vec<u8>, Vec<u8>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;

    /// Batches apply puts and deletes in order and round-trip through the codec.
    #[test]
    fn batch_applies_in_order() {
        let mut b = Batch::default();
        b.put(b"a", b"1").put(b"b", b"2").delete(b"a").put(b"b", b"3");
        let mut s = Snapshot::new();
        b.apply_to(&mut s);
        assert_eq!(s.len(), 1);
        assert_eq!(s.get(&b"b"[..]), Some(&b"3".to_vec()));
        assert_eq!(decode_exact::<Batch>(&b.encode()), Ok(b));
    }
}

//! The trace: every dispatched event is folded into a BLAKE3 digest; records can be kept for a
//! trace file.

use serde::Serialize;

use crate::time::{NodeIdx, SimTime};

/// One traced event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TraceRecord {
    /// Position in the trace.
    pub index: u64,
    /// Simulated time.
    pub time: SimTime,
    /// The node it concerns.
    pub node: NodeIdx,
    /// What kind of event.
    pub kind: &'static str,
    /// Fingerprint of its content.
    pub fingerprint: u64,
    /// Running 64-bit fold of every record so far (including extra records the world added
    /// while handling this event), so two runs compared event by event also compare those.
    pub chain: u64,
}

/// Types whose content can be fingerprinted for the trace.
pub trait Traced {
    /// A stable 64-bit fingerprint of the content.
    fn fingerprint(&self) -> u64;
}

/// A fast, platform-stable 64-bit hash for trace fingerprints (not cryptographic: the digest
/// over the records is BLAKE3).
pub fn fingerprint(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(K) ^ 0x243f_6a88_85a3_08d3;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf)).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(K);
    h ^ (h >> 29)
}

/// Bytes of records batched before they are hashed.
const PENDING_MAX: usize = 8192;

/// The running trace of a simulation.
#[derive(Debug, Clone)]
pub struct Trace {
    hasher: blake3::Hasher,
    /// Records not yet hashed: BLAKE3 is fastest fed in large blocks, so records are batched.
    pending: Vec<u8>,
    count: u64,
    chain: u64,
    records: Option<Vec<TraceRecord>>,
    records_max: usize,
}

impl Trace {
    /// A trace; with `keep_records`, up to `records_max` records are kept for a trace file.
    pub fn new(keep_records: bool, records_max: usize) -> Self {
        Trace {
            hasher: blake3::Hasher::new(),
            pending: Vec::with_capacity(PENDING_MAX + 64),
            count: 0,
            chain: 0,
            records: keep_records.then(Vec::new),
            records_max,
        }
    }

    /// Folds one record into the digest.
    pub fn record(
        &mut self,
        time: SimTime,
        node: NodeIdx,
        kind: &'static str,
        fingerprint: u64,
    ) -> TraceRecord {
        let mut buf = [0u8; 8 + 8 + 4 + 8 + 1];
        buf[..8].copy_from_slice(&self.count.to_le_bytes());
        buf[8..16].copy_from_slice(&time.0.to_le_bytes());
        buf[16..20].copy_from_slice(&node.0.to_le_bytes());
        buf[20..28].copy_from_slice(&fingerprint.to_le_bytes());
        buf[28] = kind.len() as u8;
        self.pending.extend_from_slice(&buf);
        self.pending.extend_from_slice(kind.as_bytes());
        if self.pending.len() >= PENDING_MAX {
            self.hasher.update(&self.pending);
            self.pending.clear();
        }
        self.chain =
            (self.chain ^ fingerprint ^ time.0.rotate_left(17) ^ u64::from(node.0).rotate_left(41))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(23)
                ^ kind.len() as u64;
        let r = TraceRecord { index: self.count, time, node, kind, fingerprint, chain: self.chain };
        self.count += 1;
        if let Some(records) = &mut self.records {
            if records.len() < self.records_max {
                records.push(r);
            }
        }
        r
    }

    /// The running chain value (changes with every record).
    pub fn chain(&self) -> u64 {
        self.chain
    }

    /// The BLAKE3 digest of every record so far.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = self.hasher.clone();
        h.update(&self.pending);
        *h.finalize().as_bytes()
    }

    /// Records folded so far.
    pub fn events(&self) -> u64 {
        self.count
    }

    /// Kept records (empty unless recording).
    pub fn records(&self) -> &[TraceRecord] {
        self.records.as_deref().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprint is stable, length-sensitive and content-sensitive.
    #[test]
    fn fingerprint_properties() {
        assert_eq!(fingerprint(b"hello"), fingerprint(b"hello"));
        assert_ne!(fingerprint(b"hello"), fingerprint(b"hellp"));
        assert_ne!(fingerprint(b""), fingerprint(&[0]));
        assert_ne!(fingerprint(&[0; 8]), fingerprint(&[0; 16]));
    }

    /// The digest depends on every field and on order.
    #[test]
    fn digest_depends_on_records() {
        let run = |recs: &[(u64, u32, &'static str, u64)]| {
            let mut t = Trace::new(false, 0);
            for (time, node, kind, fp) in recs {
                t.record(SimTime(*time), NodeIdx(*node), kind, *fp);
            }
            t.digest()
        };
        let base = run(&[(1, 0, "a", 5), (2, 1, "b", 6)]);
        assert_eq!(base, run(&[(1, 0, "a", 5), (2, 1, "b", 6)]));
        assert_ne!(base, run(&[(2, 1, "b", 6), (1, 0, "a", 5)]));
        assert_ne!(base, run(&[(1, 0, "a", 5), (2, 1, "c", 6)]));
        assert_ne!(base, run(&[(1, 0, "a", 5), (2, 1, "b", 7)]));
    }
}

//! The trace: every dispatched event is folded into a BLAKE3 digest; records can be kept for a
//! trace file.
//!
//! A record is `(time, node, kind, fingerprint)`; the fingerprint is a 64-bit hash of the event's
//! content supplied by the world ([`Traced`]). Records are encoded with fixed-width little-endian
//! fields (the kind with a length prefix) and fed to BLAKE3 in 16 KiB batches: BLAKE3 hashes a
//! byte stream, so batching gives the same digest as feeding record by record, while letting
//! BLAKE3 use its wide SIMD paths and keeping per-event cost at a `memcpy`.

use serde::Serialize;

use crate::idx::NodeIdx;
use crate::time::SimTime;

/// Bytes buffered before they are hashed.
const BATCH_BYTES: usize = 16 * 1024;

/// One traced event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TraceRecord {
    /// Position in the trace (0-based, counting every record).
    pub index: u64,
    /// Simulated time.
    pub time: SimTime,
    /// The node it concerns ([`NodeIdx::NONE`] for engine-wide events).
    pub node: NodeIdx,
    /// What kind of event.
    pub kind: &'static str,
    /// Fingerprint of its content.
    pub fingerprint: u64,
    /// What the world says the event is about, for trace files. Not folded into the digest:
    /// it is derived from the event the fingerprint covers.
    pub detail: Option<TraceDetail>,
}

/// What a traced event is about (kept small: records are compared in lockstep checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TraceDetail {
    /// A layer.
    Layer(u32),
    /// An epoch.
    Epoch(u32),
}

/// Content that can be fingerprinted for the trace. Two runs that should be identical must give
/// identical fingerprints, so implementations hash content only: never addresses, never
/// iteration order of hash maps.
pub trait Traced {
    /// A stable 64-bit fingerprint of the content.
    fn fingerprint(&self) -> u64;
}

impl Traced for u64 {
    fn fingerprint(&self) -> u64 {
        avalanche(*self)
    }
}

impl Traced for u32 {
    fn fingerprint(&self) -> u64 {
        avalanche(u64::from(*self))
    }
}

impl Traced for () {
    fn fingerprint(&self) -> u64 {
        0
    }
}

impl Traced for Vec<u8> {
    fn fingerprint(&self) -> u64 {
        fingerprint(self)
    }
}

impl Traced for String {
    fn fingerprint(&self) -> u64 {
        fingerprint(self.as_bytes())
    }
}

const P1: u64 = 0x9e37_79b1_85eb_ca87;
const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;
const P3: u64 = 0x1656_67b1_9e37_79f9;

fn round(acc: u64, lane: u64) -> u64 {
    (acc ^ lane.wrapping_mul(P2)).rotate_left(31).wrapping_mul(P1)
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A fast, platform-stable 64-bit hash for trace fingerprints. Not cryptographic: collisions
/// only weaken divergence detection, and the digest over the records is BLAKE3. Eight bytes at
/// a time (read little-endian, so every platform agrees), with the length mixed in first.
pub fn fingerprint(bytes: &[u8]) -> u64 {
    let mut h = P3 ^ (bytes.len() as u64).wrapping_mul(P1);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = round(h, u64::from_le_bytes(c.try_into().expect("chunks of 8")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = round(h, u64::from_le_bytes(last));
    }
    avalanche(h)
}

/// [`fingerprint`] of a value through its [`Hash`](std::hash::Hash) implementation: the
/// bytes its `hash` writes, with every integer little-endian and `usize`/`isize` (lengths and
/// enum discriminants) widened to eight bytes, so every platform agrees. For event types with
/// many variants, where a hand-written encoding would repeat their fields and their Debug
/// string costs a formatting pass per event.
pub fn fingerprint_of<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    let mut bytes = HashBytes(Vec::with_capacity(64));
    value.hash(&mut bytes);
    fingerprint(&bytes.0)
}

/// Collects what a `Hash` implementation writes, in a platform-independent form.
struct HashBytes(Vec<u8>);

impl std::hash::Hasher for HashBytes {
    fn finish(&self) -> u64 {
        fingerprint(&self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn write_u8(&mut self, i: u8) {
        self.0.push(i);
    }

    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }

    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }

    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }

    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_i8(&mut self, i: i8) {
        self.write_u8(i as u8);
    }

    fn write_i16(&mut self, i: i16) {
        self.write_u16(i as u16);
    }

    fn write_i32(&mut self, i: i32) {
        self.write_u32(i as u32);
    }

    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }

    fn write_i128(&mut self, i: i128) {
        self.write_u128(i as u128);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as i64 as u64);
    }
}

/// Combines two fingerprints (order matters), for composite events.
pub fn combine(a: u64, b: u64) -> u64 {
    avalanche(round(a ^ P3, b))
}

/// The running trace of a simulation.
#[derive(Debug, Clone)]
pub struct Trace {
    hasher: blake3::Hasher,
    pending: Vec<u8>,
    count: u64,
    records: Vec<TraceRecord>,
    records_max: usize,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new(0)
    }
}

impl Trace {
    /// A trace that keeps the first `records_max` records (0: keep none, digest only).
    pub fn new(records_max: usize) -> Self {
        Trace {
            hasher: blake3::Hasher::new(),
            pending: Vec::with_capacity(BATCH_BYTES + 256),
            count: 0,
            records: Vec::new(),
            records_max,
        }
    }

    /// Folds one record into the digest and returns it. Kinds longer than 255 bytes are a bug.
    pub fn record(
        &mut self,
        time: SimTime,
        node: NodeIdx,
        kind: &'static str,
        fingerprint: u64,
    ) -> TraceRecord {
        self.record_detailed(time, node, kind, fingerprint, None)
    }

    /// Like [`Trace::record`], with a detail kept in the record but not folded into the digest.
    pub fn record_detailed(
        &mut self,
        time: SimTime,
        node: NodeIdx,
        kind: &'static str,
        fingerprint: u64,
        detail: Option<TraceDetail>,
    ) -> TraceRecord {
        assert!(kind.len() <= usize::from(u8::MAX), "trace kind longer than 255 bytes: {kind}");
        self.pending.extend_from_slice(&time.0.to_le_bytes());
        self.pending.extend_from_slice(&node.0.to_le_bytes());
        self.pending.extend_from_slice(&fingerprint.to_le_bytes());
        self.pending.push(kind.len() as u8);
        self.pending.extend_from_slice(kind.as_bytes());
        if self.pending.len() >= BATCH_BYTES {
            self.hasher.update(&self.pending);
            self.pending.clear();
        }
        let r = TraceRecord { index: self.count, time, node, kind, fingerprint, detail };
        self.count += 1;
        if self.records.len() < self.records_max {
            self.records.push(r);
        }
        r
    }

    /// The BLAKE3 digest of every record so far (the trace continues afterwards).
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
        &self.records
    }
}

/// Lower-case hex of a digest, for reports.
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The fingerprint is stable, length-sensitive and content-sensitive.
    #[test]
    fn fingerprint_properties() {
        assert_eq!(fingerprint(b"hello"), fingerprint(b"hello"));
        assert_ne!(fingerprint(b"hello"), fingerprint(b"hellp"));
        assert_ne!(fingerprint(b""), fingerprint(&[0]));
        assert_ne!(fingerprint(&[0; 8]), fingerprint(&[0; 16]));
        assert_ne!(fingerprint(b"ab"), fingerprint(b"ab\0"));
        assert_ne!(combine(1, 2), combine(2, 1));
        // Pinned value: a change of the function changes every digest, so it must be deliberate.
        assert_eq!(format!("{:016x}", fingerprint(b"spacemesh")), "2d6e7d537a2c8f15");
    }

    /// A value's fingerprint follows its fields and variant, and is pinned: integers are
    /// written little-endian and discriminants and lengths as eight bytes on every platform.
    #[test]
    fn fingerprint_of_follows_hash() {
        #[derive(Hash)]
        enum Event {
            A { x: u32, name: String },
            B(u64),
        }
        let a = Event::A { x: 1, name: "n".into() };
        assert_eq!(fingerprint_of(&a), fingerprint_of(&Event::A { x: 1, name: "n".into() }));
        assert_ne!(fingerprint_of(&a), fingerprint_of(&Event::A { x: 2, name: "n".into() }));
        assert_ne!(fingerprint_of(&a), fingerprint_of(&Event::A { x: 1, name: "m".into() }));
        assert_ne!(fingerprint_of(&Event::B(1)), fingerprint_of(&1u64));
        // The bytes: discriminant 0 as i64, then 1u32, then the str's bytes and its 0xff end.
        let mut want = vec![0u8; 8];
        want.extend_from_slice(&1u32.to_le_bytes());
        want.extend_from_slice(b"n\xff");
        assert_eq!(fingerprint_of(&a), fingerprint(&want));
        assert_eq!(format!("{:016x}", fingerprint_of(&(7u16, -1i32))), {
            let mut b = 7u16.to_le_bytes().to_vec();
            b.extend_from_slice(&(-1i32).to_le_bytes());
            format!("{:016x}", fingerprint(&b))
        });
    }

    fn run(recs: &[(u64, u32, &'static str, u64)]) -> [u8; 32] {
        let mut t = Trace::new(0);
        for (time, node, kind, fp) in recs {
            t.record(SimTime(*time), NodeIdx(*node), kind, *fp);
        }
        t.digest()
    }

    // The digest depends on every field and on order.
    #[test]
    fn digest_depends_on_records() {
        let base = run(&[(1, 0, "a", 5), (2, 1, "b", 6)]);
        assert_eq!(base, run(&[(1, 0, "a", 5), (2, 1, "b", 6)]));
        assert_ne!(base, run(&[(2, 1, "b", 6), (1, 0, "a", 5)]));
        assert_ne!(base, run(&[(1, 0, "a", 5), (2, 1, "c", 6)]));
        assert_ne!(base, run(&[(1, 0, "a", 5), (2, 1, "b", 7)]));
        assert_ne!(base, run(&[(1, 0, "a", 5), (3, 1, "b", 6)]));
        assert_ne!(base, run(&[(1, 0, "a", 5), (2, 2, "b", 6)]));
        assert_ne!(run(&[(1, 0, "ab", 5)]), run(&[(1, 0, "a", 5), (1, 0, "b", 5)]));
    }

    // Batching is invisible: the digest equals BLAKE3 of the concatenated record encodings.
    #[test]
    fn batched_digest_equals_direct_hash() {
        let mut t = Trace::new(3);
        let mut direct = blake3::Hasher::new();
        for i in 0..5_000u64 {
            t.record(SimTime(i), NodeIdx(i as u32 % 7), "deliver", i * 3);
            direct.update(&i.to_le_bytes());
            direct.update(&(i as u32 % 7).to_le_bytes());
            direct.update(&(i * 3).to_le_bytes());
            direct.update(&[7]);
            direct.update(b"deliver");
        }
        assert_eq!(t.digest(), *direct.finalize().as_bytes());
        assert_eq!(t.events(), 5_000);
        assert_eq!(t.records().len(), 3, "recording is bounded");
        assert_eq!(t.records()[2].index, 2);
        assert_eq!(hex(&[0xab; 32]).len(), 64);
    }

    // A detail is kept in the record and leaves the digest alone.
    #[test]
    fn detail_is_not_digested() {
        let mut plain = Trace::new(1);
        let mut detailed = Trace::new(1);
        plain.record(SimTime(1), NodeIdx(0), "hare-output", 9);
        let detail = Some(TraceDetail::Layer(23));
        detailed.record_detailed(SimTime(1), NodeIdx(0), "hare-output", 9, detail);
        assert_eq!(plain.digest(), detailed.digest());
        assert_eq!(plain.records()[0].detail, None);
        assert_eq!(detailed.records()[0].detail, detail);
    }
}

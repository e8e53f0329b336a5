//! The write-ahead log a simulated node persists into: one record per `Persist` batch, in
//! segments (one per incarnation, so a torn tail is never followed by new records).
//!
//! Record: `len: u32 LE | checksum: first 8 bytes of BLAKE3(payload) | payload (SCALE Batch)`.
//! On recovery a record that is cut short or fails its checksum is accepted only as the last
//! record of a segment (a torn write of the sync that was in flight at the crash); anywhere
//! else it is corruption, and the node must not start.

use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::store::{Batch, Snapshot};
use thiserror::Error;

/// Bytes before a record's payload: its length and checksum.
pub(crate) const HEADER: usize = 12;

/// Why a log cannot be recovered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WalError {
    /// A damaged record with intact data after it.
    #[error("segment {segment}: corrupt record at offset {offset} followed by more data")]
    Corrupt {
        /// Segment name.
        segment: String,
        /// Byte offset of the damaged record.
        offset: usize,
    },
    /// A record whose checksum holds but whose payload does not decode (a writer bug).
    #[error("segment {segment}: record at offset {offset} does not decode: {reason}")]
    Undecodable {
        /// Segment name.
        segment: String,
        /// Byte offset.
        offset: usize,
        /// Decoder error.
        reason: String,
    },
}

/// Encodes one batch as a log record.
pub fn record(batch: &Batch) -> Vec<u8> {
    let payload = batch.encode();
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&blake3::hash(&payload).as_bytes()[..8]);
    out.extend_from_slice(&payload);
    out
}

/// Replays segments (in order) into a snapshot. Returns the snapshot and how many torn tails
/// were dropped.
pub fn read_log<'a>(
    segments: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> Result<(Snapshot, u32), WalError> {
    let mut snapshot = Snapshot::new();
    let mut torn = 0;
    for (name, bytes) in segments {
        let mut pos = 0;
        while pos < bytes.len() {
            match parse_at(bytes, pos) {
                Some((payload, next)) => {
                    let batch: Batch =
                        decode_exact(payload).map_err(|e| WalError::Undecodable {
                            segment: name.to_string(),
                            offset: pos,
                            reason: e.to_string(),
                        })?;
                    batch.apply_to(&mut snapshot);
                    pos = next;
                }
                None if is_tail(bytes, pos) => {
                    torn += 1;
                    break;
                }
                None => return Err(WalError::Corrupt { segment: name.to_string(), offset: pos }),
            }
        }
    }
    Ok((snapshot, torn))
}

/// The payload and end offset of an intact record at `pos`.
fn parse_at(bytes: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let header = bytes.get(pos..pos + HEADER)?;
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let payload = bytes.get(pos + HEADER..(pos + HEADER).checked_add(len)?)?;
    (blake3::hash(payload).as_bytes()[..8] == header[4..12])
        .then_some((payload, pos + HEADER + len))
}

/// Whether a damaged record at `pos` can be a torn tail: its declared length reaches the end of
/// the segment (or is unreadable), so no intact record follows it.
fn is_tail(bytes: &[u8], pos: usize) -> bool {
    match bytes.get(pos..pos + 4) {
        None => true,
        Some(len) => {
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            pos.saturating_add(HEADER).saturating_add(len) >= bytes.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(k: &[u8], v: &[u8]) -> Batch {
        let mut b = Batch::default();
        b.put(k, v);
        b
    }

    /// Records replay in order across segments.
    #[test]
    fn replays_in_order() {
        let mut s1 = record(&batch(b"a", b"1"));
        s1.extend(record(&batch(b"a", b"2")));
        let s2 = record(&batch(b"b", b"3"));
        let (snap, torn) = read_log([("0", &s1[..]), ("1", &s2[..])].into_iter()).unwrap();
        assert_eq!(torn, 0);
        assert_eq!(snap.get(&b"a"[..]), Some(&b"2".to_vec()));
        assert_eq!(snap.get(&b"b"[..]), Some(&b"3".to_vec()));
    }

    /// Every strict prefix of a final record is a torn tail: dropped, earlier records kept.
    #[test]
    fn torn_tail_dropped() {
        let first = record(&batch(b"a", b"1"));
        let second = record(&batch(b"a", b"2"));
        for cut in 0..second.len() {
            let mut seg = first.clone();
            seg.extend_from_slice(&second[..cut]);
            let (snap, torn) = read_log([("0", &seg[..])].into_iter()).unwrap();
            assert_eq!(snap.get(&b"a"[..]), Some(&b"1".to_vec()), "cut {cut}");
            assert_eq!(torn, u32::from(cut > 0));
        }
    }

    /// A flipped byte in a record followed by intact records is corruption, not a torn tail.
    #[test]
    fn corruption_in_the_middle_is_an_error() {
        let mut seg = record(&batch(b"a", b"1"));
        let len = seg.len();
        seg.extend(record(&batch(b"b", b"2")));
        seg[len - 1] ^= 0xff;
        let err = read_log([("0", &seg[..])].into_iter()).unwrap_err();
        assert_eq!(err, WalError::Corrupt { segment: "0".into(), offset: 0 });
    }
}

//! The simulated disk: named files with a durable prefix.
//!
//! Writes land in a volatile page cache. A sync (modelled by the engine with a latency, see
//! [`Ctx::sync`](crate::engine::Ctx::sync)) makes a file's current content durable. A crash
//! throws the cache away:
//!
//! - appended but unsynced bytes are lost, or with probability `torn` a random strict prefix of
//!   them survives (a torn write), and with probability `corrupt` one byte of that surviving
//!   prefix is flipped (a partially written sector);
//! - a file rewritten in place with [`Disk::replace`] and not yet synced comes back with its old
//!   durable content, or (torn) with a strict prefix of the new content, possibly empty;
//! - synced bytes always survive untouched.
//!
//! Creating and removing files are treated as durable at once (as on a journaling file system
//! whose directory is synced), so only file contents are at risk.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::net::Latency;
use crate::rng::{below, chance};
use crate::time::SimDuration;

/// How disks behave on a crash, and how long a sync takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiskFaults {
    /// Probability that a crash keeps a random strict prefix of a file's unsynced bytes instead
    /// of none of them.
    pub torn: f64,
    /// Probability that a torn write also has one flipped byte in its surviving part.
    pub corrupt: f64,
    /// How long a sync takes.
    pub sync_latency: Latency,
}

impl Default for DiskFaults {
    /// Torn writes are common on power loss and the code above the disk must cope with them, so
    /// the default tears half the time and corrupts a tenth of torn tails.
    fn default() -> Self {
        DiskFaults {
            torn: 0.5,
            corrupt: 0.1,
            sync_latency: Latency::Uniform {
                min: SimDuration::from_micros(200),
                max: SimDuration::from_millis(5),
            },
        }
    }
}

/// One file: its content as the running process sees it, and what a crash would leave.
///
/// The content is kept in the pieces it was appended in. A piece is never written in place, so
/// disks may hold the same allocation: [`Disk::append_shared`] lets every simulated node that
/// logs equal bytes (the same layer's record) keep one copy, and a file grows without copying
/// what it already holds.
#[derive(Debug, Clone, Default)]
pub struct SimFile {
    pieces: Vec<Arc<[u8]>>,
    len: usize,
    /// Bytes of the content that are durable (0 while a replace is pending).
    synced_len: usize,
    /// The durable content from before an unsynced [`Disk::replace`].
    before_replace: Option<Arc<[u8]>>,
}

impl SimFile {
    /// The current content.
    pub fn data(&self) -> Vec<u8> {
        self.pieces.concat()
    }

    /// The current length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many bytes of the current content are durable.
    pub fn synced_len(&self) -> usize {
        self.synced_len
    }

    /// Whether a crash now would leave the file exactly as it is.
    pub fn is_synced(&self) -> bool {
        self.before_replace.is_none() && self.synced_len == self.len
    }

    fn push(&mut self, piece: Arc<[u8]>) {
        if !piece.is_empty() {
            self.len += piece.len();
            self.pieces.push(piece);
        }
    }

    fn sync(&mut self) {
        self.before_replace = None;
        self.synced_len = self.len;
    }

    /// Keeps the first `len` bytes; a piece cut in two is copied (it may be shared).
    fn truncate(&mut self, len: usize) {
        let mut at = 0;
        let mut keep = 0;
        while keep < self.pieces.len() && at + self.pieces[keep].len() <= len {
            at += self.pieces[keep].len();
            keep += 1;
        }
        if at < len {
            let cut: Arc<[u8]> = Arc::from(&self.pieces[keep][..len - at]);
            self.pieces[keep] = cut;
            keep += 1;
        }
        self.pieces.truncate(keep);
        self.len = len;
    }

    /// Flips the bits `mask` sets in the byte at `at`, in a copy of its piece.
    fn flip(&mut self, mut at: usize, mask: u8) {
        for piece in &mut self.pieces {
            if at < piece.len() {
                let mut copy = piece.to_vec();
                copy[at] ^= mask;
                *piece = copy.into();
                return;
            }
            at -= piece.len();
        }
        unreachable!("flip inside the file");
    }

    /// Applies a crash to this file.
    fn crash<R: RngCore + ?Sized>(&mut self, rng: &mut R, faults: &DiskFaults) {
        let durable = match self.before_replace.take() {
            Some(old) if !chance(rng, faults.torn) => {
                self.pieces.clear();
                self.len = 0;
                self.push(old);
                self.synced_len = self.len;
                return;
            }
            // Torn replace: the new content was partly written over a truncated file.
            Some(_) => 0,
            None if self.synced_len == self.len => return,
            None if !chance(rng, faults.torn) => {
                self.truncate(self.synced_len);
                return;
            }
            None => self.synced_len,
        };
        let unsynced = self.len - durable;
        let keep = below(rng, unsynced as u64) as usize;
        self.truncate(durable + keep);
        if keep > 0 && chance(rng, faults.corrupt) {
            let at = durable + below(rng, keep as u64) as usize;
            self.flip(at, 1 + below(rng, 255) as u8);
        }
        self.synced_len = self.len;
    }
}

/// A node's disk: files by name, iterated in name order.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    files: BTreeMap<String, SimFile>,
}

impl Disk {
    /// An empty disk.
    pub fn new() -> Self {
        Disk::default()
    }

    /// Appends to a file (created empty if missing). Not durable until synced.
    pub fn append(&mut self, file: &str, bytes: &[u8]) {
        self.append_shared(file, Arc::from(bytes));
    }

    /// Appends `bytes` without copying them: the file keeps the allocation, which other disks
    /// may hold too (it is never written in place).
    pub fn append_shared(&mut self, file: &str, bytes: Arc<[u8]>) {
        self.entry(file).push(bytes);
    }

    /// Rewrites a file in place (created if missing). Until the next sync a crash leaves the old
    /// durable content, or a torn (possibly empty) prefix of the new one.
    pub fn replace(&mut self, file: &str, bytes: &[u8]) {
        let f = self.entry(file);
        if f.before_replace.is_none() {
            f.before_replace = Some(Arc::from(&f.data()[..f.synced_len]));
        }
        f.pieces.clear();
        f.len = 0;
        f.push(Arc::from(bytes));
        f.synced_len = 0;
    }

    fn entry(&mut self, file: &str) -> &mut SimFile {
        if !self.files.contains_key(file) {
            self.files.insert(file.to_owned(), SimFile::default());
        }
        self.files.get_mut(file).expect("just inserted")
    }

    /// A file's current bytes (including unsynced ones, as the running process sees them).
    pub fn read(&self, file: &str) -> Option<Vec<u8>> {
        self.files.get(file).map(SimFile::data)
    }

    /// A file's current length.
    pub fn len(&self, file: &str) -> Option<usize> {
        self.files.get(file).map(SimFile::len)
    }

    /// A file with its durability state.
    pub fn file(&self, file: &str) -> Option<&SimFile> {
        self.files.get(file)
    }

    /// Whether the file exists.
    pub fn contains(&self, file: &str) -> bool {
        self.files.contains_key(file)
    }

    /// Makes a file's current content durable. The engine calls this when a modelled sync
    /// completes; calling it directly models an instantaneous sync. Returns whether it exists.
    pub fn sync_now(&mut self, file: &str) -> bool {
        self.files.get_mut(file).map(SimFile::sync).is_some()
    }

    /// Makes every file durable.
    pub fn sync_all(&mut self) {
        self.files.values_mut().for_each(SimFile::sync);
    }

    /// Deletes a file; returns whether it existed.
    pub fn remove(&mut self, file: &str) -> bool {
        self.files.remove(file).is_some()
    }

    /// File names in order.
    pub fn list(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    /// File names in order, without allocating.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Whether the disk holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Total bytes stored (current content).
    pub fn bytes(&self) -> usize {
        self.files.values().map(SimFile::len).sum()
    }

    /// What a power loss leaves (see the module docs). Files are visited in name order, so the
    /// draws from `rng` are deterministic.
    pub fn crash<R: RngCore + ?Sized>(&mut self, rng: &mut R, faults: &DiskFaults) {
        for f in self.files.values_mut() {
            f.crash(rng, faults);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngTree;

    fn faults(torn: f64, corrupt: f64) -> DiskFaults {
        DiskFaults { torn, corrupt, ..DiskFaults::default() }
    }

    // Without tearing a crash loses exactly the unsynced writes and keeps the synced ones.
    #[test]
    fn crash_loses_unsynced_keeps_synced() {
        let mut d = Disk::new();
        d.append("log", b"durable");
        d.sync_now("log");
        d.append("log", b"-volatile");
        d.append("new", b"never synced");
        assert_eq!(d.read("log").unwrap(), b"durable-volatile", "the process sees its writes");
        d.crash(&mut RngTree::new(3).faults(), &faults(0.0, 0.0));
        assert_eq!(d.read("log").unwrap(), b"durable");
        assert_eq!(d.read("new").unwrap(), b"", "creation is durable, content is not");
        assert!(d.file("log").unwrap().is_synced());
    }

    // Synced bytes survive any crash, even with tearing and corruption always on.
    #[test]
    fn synced_data_always_survives() {
        for seed in 0..100 {
            let mut d = Disk::new();
            d.append("f", b"0123456789");
            d.sync_now("f");
            d.append("f", &[7u8; 64]);
            d.crash(&mut RngTree::new(seed).faults(), &faults(1.0, 1.0));
            assert!(d.read("f").unwrap().starts_with(b"0123456789"), "seed {seed}");
        }
    }

    // A torn write keeps a strict prefix of the unsynced bytes; over many seeds some survive.
    #[test]
    fn torn_write_keeps_a_strict_prefix() {
        let mut kept_some = false;
        for seed in 0..100 {
            let mut d = Disk::new();
            d.append("f", b"abc");
            d.sync_now("f");
            d.append("f", b"0123456789");
            d.crash(&mut RngTree::new(seed).faults(), &faults(1.0, 0.0));
            let data = d.read("f").unwrap();
            assert!(data.len() < 13, "the whole unsynced write survived");
            assert!(b"abc0123456789".starts_with(&data), "not a prefix: {data:?}");
            kept_some |= data.len() > 3;
        }
        assert!(kept_some, "no torn write kept anything in 100 seeds");
    }

    // Corruption flips exactly one byte, and only inside the surviving unsynced part.
    #[test]
    fn corruption_stays_in_the_torn_part() {
        let mut corrupted = 0;
        for seed in 0..100 {
            let mut d = Disk::new();
            d.append("f", &[0u8; 8]);
            d.sync_now("f");
            d.append("f", &[0u8; 32]);
            d.crash(&mut RngTree::new(seed).faults(), &faults(1.0, 1.0));
            let data = d.read("f").unwrap();
            assert!(data[..8].iter().all(|b| *b == 0), "synced bytes changed");
            let flipped = data.iter().filter(|b| **b != 0).count();
            assert!(flipped <= 1);
            corrupted += flipped;
        }
        assert!(corrupted > 50, "corruption at probability 1 hit only {corrupted} of 100");
    }

    // An unsynced replace comes back as the old content, or torn as a strict prefix of the new.
    #[test]
    fn replace_is_not_durable_until_synced() {
        let mut d = Disk::new();
        d.append("f", b"old");
        d.sync_now("f");
        d.replace("f", b"newer");
        d.replace("f", b"newest");
        d.crash(&mut RngTree::new(1).faults(), &faults(0.0, 0.0));
        assert_eq!(d.read("f").unwrap(), b"old");
        for seed in 0..20 {
            let mut d = Disk::new();
            d.append("f", b"old");
            d.sync_now("f");
            d.replace("f", b"brand new");
            d.crash(&mut RngTree::new(seed).faults(), &faults(1.0, 0.0));
            let data = d.read("f").unwrap();
            assert!(data.len() < 9 && b"brand new".starts_with(&data), "{data:?}");
        }
        d.replace("f", b"synced");
        d.sync_now("f");
        d.crash(&mut RngTree::new(1).faults(), &faults(1.0, 1.0));
        assert_eq!(d.read("f").unwrap(), b"synced");
    }

    // Disks that append one allocation share it; a crash that tears or corrupts it copies
    // the piece first, so the other disk's content never changes.
    #[test]
    fn shared_pieces_are_never_written_in_place() {
        let piece: Arc<[u8]> = Arc::from(&[5u8; 64][..]);
        let mut corrupted = 0;
        for seed in 0..50 {
            let (mut a, mut b) = (Disk::new(), Disk::new());
            for d in [&mut a, &mut b] {
                d.append("log", b"head");
                d.sync_now("log");
                d.append_shared("log", Arc::clone(&piece));
                d.append("log", b"tail");
            }
            a.crash(&mut RngTree::new(seed).faults(), &faults(1.0, 1.0));
            let torn = a.read("log").unwrap();
            assert!(torn.len() < 72 && torn.starts_with(b"head"), "seed {seed}");
            corrupted += usize::from(torn[4..].iter().any(|x| *x != 5));
            assert_eq!(b.read("log").unwrap(), [&b"head"[..], &[5; 64], b"tail"].concat());
            assert!(piece.iter().all(|x| *x == 5), "seed {seed}: the shared piece changed");
        }
        assert!(corrupted > 0, "no crash corrupted the shared piece's copy in 50 seeds");
    }

    // Appends keep their order across pieces; truncation at any point keeps the prefix.
    #[test]
    fn pieces_read_back_in_order() {
        let mut d = Disk::new();
        for i in 0..100u8 {
            d.append("log", &[i; 10]);
        }
        assert_eq!(d.len("log"), Some(1000));
        let data = d.read("log").unwrap();
        assert!(data.chunks(10).enumerate().all(|(i, c)| c.iter().all(|x| *x as usize == i)));
        let f = d.files.get_mut("log").unwrap();
        f.truncate(555);
        assert_eq!((f.len(), f.data()), (555, data[..555].to_vec()));
        f.truncate(0);
        assert!(f.is_empty() && f.pieces.is_empty());
    }

    // Listing, removal and lengths behave like a directory.
    #[test]
    fn directory_operations() {
        let mut d = Disk::new();
        assert!(d.is_empty() && d.read("a").is_none() && d.len("a").is_none());
        d.append("b", b"12");
        d.append("a", b"1");
        assert_eq!(d.list(), vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(d.names().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!((d.len("b"), d.bytes()), (Some(2), 3));
        assert!(d.remove("a") && !d.remove("a") && !d.contains("a"));
        assert!(!d.sync_now("missing"));
        d.sync_all();
        assert!(d.file("b").unwrap().is_synced());
    }
}

//! The simulated disk: named files with a durable prefix. Writes land in a volatile cache until
//! a sync makes them durable; a crash loses the unsynced part, or tears it.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::net::Latency;
use crate::time::SimDuration;

/// Crash and latency behaviour of disks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiskFaults {
    /// Probability that a crash keeps a random prefix of a file's unsynced bytes (a torn write)
    /// instead of none of them.
    pub torn: f64,
    /// Probability that a torn write also has one flipped byte in its surviving part.
    pub corrupt: f64,
    /// How long a sync takes.
    pub sync_latency: Latency,
}

impl Default for DiskFaults {
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

/// One file: its bytes and how many of them are durable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimFile {
    data: Vec<u8>,
    synced_len: usize,
}

/// A node's disk.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    files: BTreeMap<String, SimFile>,
}

impl Disk {
    /// An empty disk.
    pub fn new() -> Self {
        Disk::default()
    }

    /// Appends to a file (created if missing); not durable until synced.
    pub fn append(&mut self, file: &str, bytes: &[u8]) {
        self.files.entry(file.to_string()).or_default().data.extend_from_slice(bytes);
    }

    /// Replaces a file's content in place. Nothing of it is durable until synced: a crash before
    /// the sync may leave the file empty or torn, and the old content is gone either way (which
    /// is why real storage writes a new file and renames it).
    pub fn replace(&mut self, file: &str, bytes: &[u8]) {
        let f = self.files.entry(file.to_string()).or_default();
        f.data = bytes.to_vec();
        f.synced_len = 0;
    }

    /// A file's bytes (including unsynced ones, as a running process sees them).
    pub fn read(&self, file: &str) -> Option<&[u8]> {
        self.files.get(file).map(|f| f.data.as_slice())
    }

    /// A file's length.
    pub fn len(&self, file: &str) -> usize {
        self.files.get(file).map_or(0, |f| f.data.len())
    }

    /// Bytes of a file that would survive a crash now.
    pub fn synced_len(&self, file: &str) -> usize {
        self.files.get(file).map_or(0, |f| f.synced_len)
    }

    /// Whether the disk holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Makes a file durable (the engine calls this when a modelled sync completes).
    pub fn sync_now(&mut self, file: &str) {
        if let Some(f) = self.files.get_mut(file) {
            f.synced_len = f.data.len();
        }
    }

    /// Deletes a file.
    pub fn remove(&mut self, file: &str) {
        self.files.remove(file);
    }

    /// File names in order.
    pub fn list(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    /// Total bytes stored.
    pub fn bytes(&self) -> usize {
        self.files.values().map(|f| f.data.len()).sum()
    }

    /// What a power loss leaves: unsynced bytes are lost, or with probability `torn` a random
    /// strict prefix of them survives, with probability `corrupt` with one byte flipped.
    pub fn crash(&mut self, rng: &mut ChaCha8Rng, faults: &DiskFaults) {
        for f in self.files.values_mut() {
            let unsynced = f.data.len() - f.synced_len;
            if unsynced == 0 {
                continue;
            }
            let keep =
                if rng.random::<f64>() < faults.torn { rng.random_range(0..unsynced) } else { 0 };
            f.data.truncate(f.synced_len + keep);
            if keep > 0 && rng.random::<f64>() < faults.corrupt {
                let at = f.synced_len + rng.random_range(0..keep);
                f.data[at] ^= 1 << rng.random_range(0..8);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::RngTree;

    /// A crash loses unsynced writes and keeps synced ones, whatever the fault draws.
    #[test]
    fn crash_loses_unsynced_keeps_synced() {
        let mut rng = RngTree::new(3).faults();
        let faults = DiskFaults { torn: 0.0, ..DiskFaults::default() };
        let mut d = Disk::new();
        d.append("log", b"durable");
        d.sync_now("log");
        d.append("log", b"-volatile");
        d.append("new", b"never synced");
        d.crash(&mut rng, &faults);
        assert_eq!(d.read("log"), Some(&b"durable"[..]));
        assert_eq!(d.read("new"), Some(&b""[..]));
    }

    /// A torn write keeps a strict prefix of the unsynced bytes, never more, and synced bytes
    /// are never touched.
    #[test]
    fn torn_write_is_a_strict_prefix() {
        let faults = DiskFaults { torn: 1.0, corrupt: 0.0, ..DiskFaults::default() };
        let mut seen_partial = false;
        for seed in 0..50 {
            let mut rng = RngTree::new(seed).faults();
            let mut d = Disk::new();
            d.append("f", b"abc");
            d.sync_now("f");
            d.append("f", b"0123456789");
            d.crash(&mut rng, &faults);
            let data = d.read("f").unwrap();
            assert!(data.starts_with(b"abc"));
            assert!(data.len() < 13, "the whole unsynced write survived");
            assert!(b"abc0123456789".starts_with(data));
            seen_partial |= data.len() > 3;
        }
        assert!(seen_partial, "no torn write kept anything in 50 seeds");
    }

    /// Corruption flips a byte only inside the surviving unsynced part.
    #[test]
    fn corruption_stays_in_the_torn_part() {
        let faults = DiskFaults { torn: 1.0, corrupt: 1.0, ..DiskFaults::default() };
        for seed in 0..50 {
            let mut rng = RngTree::new(seed).faults();
            let mut d = Disk::new();
            d.append("f", &[0u8; 8]);
            d.sync_now("f");
            d.append("f", &[0u8; 32]);
            d.crash(&mut rng, &faults);
            let data = d.read("f").unwrap();
            assert!(data[..8].iter().all(|b| *b == 0), "synced bytes changed");
        }
    }

    /// Replacing a file in place puts its old content at risk until the next sync.
    #[test]
    fn replace_is_not_durable() {
        let mut rng = RngTree::new(1).faults();
        let mut d = Disk::new();
        d.append("f", b"old");
        d.sync_now("f");
        d.replace("f", b"new");
        d.crash(&mut rng, &DiskFaults { torn: 0.0, ..DiskFaults::default() });
        assert_eq!(d.read("f"), Some(&b""[..]));
    }
}

//! The RNG tree: every random stream of a run derives from one master seed and a path.
//!
//! Each consumer (a node's component, the network, the fault injector, the disk model, the
//! workload) draws from its own ChaCha8 stream, seeded by BLAKE3 of a domain tag, the master seed
//! and the path. Streams are therefore independent of each other: adding a stream, or drawing more
//! from one, never shifts another stream's draws. Turning on packet loss does not change which
//! peers a node picks, and adding a new component to a node does not change the network's
//! latencies. The path roots below are part of the replay format and never change.
//!
//! The helpers [`below`], [`chance`] and [`unit_f64`] turn raw `u64` draws into values with
//! arithmetic written here, so a draw's meaning cannot change with a `rand` upgrade.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Domain tag of the seed derivation; bumping it changes every stream of every seed.
const DOMAIN: &[u8] = b"spacemesh-sim rng tree v1";

/// Path root of per-node streams: `[NODE, node index, component]`.
pub const NODE: u64 = 0;
/// Path root of the network model's stream.
pub const NETWORK: u64 = 1;
/// Path root of the fault injector's stream (crash outcomes of disks, swizzle choices).
pub const FAULTS: u64 = 2;
/// Path root of the disk model's stream (sync latencies).
pub const DISK: u64 = 3;
/// Path root of the workload generator's stream.
pub const WORKLOAD: u64 = 4;

/// Derives independent ChaCha8 streams from one master seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngTree {
    master: u64,
}

impl RngTree {
    /// The tree of `master_seed`.
    pub fn new(master_seed: u64) -> Self {
        RngTree { master: master_seed }
    }

    /// The master seed.
    pub fn master(&self) -> u64 {
        self.master
    }

    /// The 32-byte seed of the stream at `path`. The path is length-prefixed, so `[1]` and
    /// `[1, 0]` are different streams.
    pub fn seed(&self, path: &[u64]) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&(DOMAIN.len() as u64).to_le_bytes());
        h.update(DOMAIN);
        h.update(&self.master.to_le_bytes());
        h.update(&(path.len() as u64).to_le_bytes());
        for p in path {
            h.update(&p.to_le_bytes());
        }
        *h.finalize().as_bytes()
    }

    /// The stream at `path`.
    pub fn stream(&self, path: &[u64]) -> ChaCha8Rng {
        ChaCha8Rng::from_seed(self.seed(path))
    }

    /// The stream of one component of one node (`[NODE, idx, component]`).
    pub fn node(&self, idx: u32, component: u64) -> ChaCha8Rng {
        self.stream(&[NODE, u64::from(idx), component])
    }

    /// The network model's stream (loss, latency, duplication, reordering draws).
    pub fn network(&self) -> ChaCha8Rng {
        self.stream(&[NETWORK])
    }

    /// The fault injector's stream.
    pub fn faults(&self) -> ChaCha8Rng {
        self.stream(&[FAULTS])
    }

    /// The disk model's stream.
    pub fn disk(&self) -> ChaCha8Rng {
        self.stream(&[DISK])
    }

    /// The workload generator's stream.
    pub fn workload(&self) -> ChaCha8Rng {
        self.stream(&[WORKLOAD])
    }
}

/// A uniform draw in `0..n` (0 when `n` is 0), by the high half of a 128-bit product (Lemire's
/// multiply without the rejection step: the bias is below `n / 2^64`, irrelevant here, and one
/// draw per value keeps streams aligned).
pub fn below<R: RngCore + ?Sized>(rng: &mut R, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// A uniform `f64` in `[0, 1)` with 53 random bits.
pub fn unit_f64<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// True with probability `p`. Draws nothing when `p <= 0` (so a disabled fault costs nothing)
/// and is always true when `p >= 1`.
pub fn chance<R: RngCore + ?Sized>(rng: &mut R, p: f64) -> bool {
    p > 0.0 && unit_f64(rng) < p
}

/// Fisher-Yates shuffle with [`below`], independent of `rand`'s shuffle algorithm.
pub fn shuffle<T, R: RngCore + ?Sized>(rng: &mut R, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(mut rng: ChaCha8Rng, n: usize) -> Vec<u64> {
        (0..n).map(|_| rng.next_u64()).collect()
    }

    // One path always gives one stream.
    #[test]
    fn same_path_same_stream() {
        let t = RngTree::new(7);
        assert_eq!(draws(t.node(1, 2), 8), draws(t.node(1, 2), 8));
        assert_eq!(draws(t.network(), 8), draws(RngTree::new(7).stream(&[NETWORK]), 8));
    }

    // Different paths, path lengths and master seeds give different streams.
    #[test]
    fn different_paths_differ() {
        let t = RngTree::new(7);
        let a = draws(t.node(1, 2), 4);
        assert_ne!(a, draws(t.node(1, 3), 4));
        assert_ne!(a, draws(t.node(2, 2), 4));
        assert_ne!(a, draws(RngTree::new(8).node(1, 2), 4));
        assert_ne!(draws(t.stream(&[1]), 4), draws(t.stream(&[1, 0]), 4));
        assert_ne!(draws(t.network(), 4), draws(t.faults(), 4));
        assert_ne!(draws(t.disk(), 4), draws(t.workload(), 4));
    }

    // Drawing from one stream, or creating new ones, does not change another stream's draws.
    #[test]
    fn streams_are_independent() {
        let t = RngTree::new(1);
        let mut faults = t.faults();
        let before: Vec<u64> = (0..4).map(|_| faults.next_u64()).collect();
        let mut net = t.network();
        for _ in 0..1000 {
            net.next_u64();
        }
        let _extra = t.stream(&[99, 1]);
        let mut again = t.faults();
        let after: Vec<u64> = (0..4).map(|_| again.next_u64()).collect();
        assert_eq!(before, after);
    }

    // The helpers stay in range and `chance` honours its extremes.
    #[test]
    fn helpers_stay_in_range() {
        let mut r = RngTree::new(3).workload();
        for _ in 0..10_000 {
            assert!(below(&mut r, 7) < 7);
            let u = unit_f64(&mut r);
            assert!((0.0..1.0).contains(&u));
            assert!(chance(&mut r, 1.0));
            assert!(!chance(&mut r, 0.0));
        }
        assert_eq!(below(&mut r, 0), 0);
        let mut v: Vec<u32> = (0..50).collect();
        shuffle(&mut r, &mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, sorted, "a 50-element shuffle left everything in place");
    }
}

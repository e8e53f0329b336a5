//! k2pow: the proof of work each nonce group needs before its cipher exists (proofs.md section
//! 1.7). It stops a prover from cheaply trying many nonces with part of the data.
//!
//! Input (48 bytes): `pow_nonce` as 7 bytes LE ‖ nonce group (1 byte) ‖ `challenge[0..8]` ‖
//! node id (32). A pow is valid when `H(input) < target` as 256-bit big-endian integers, where
//! the target is the configured difficulty divided by the unit count
//! ([`super::difficulty::scale_pow_difficulty`]).
//!
//! Spacemesh's `H` is RandomX keyed with [`RANDOMX_KEY`] ([`RandomXPow`], cargo feature
//! `randomx`). [`Blake3Pow`] keeps the layout and the scaling with BLAKE3 as `H`, for tests and
//! simulation.

use thiserror::Error;

use crate::types::NodeId;

/// The RandomX cache key of Spacemesh's k2pow.
pub const RANDOMX_KEY: &[u8] = b"spacemesh-randomx-cache-key";
/// Bytes of a k2pow input.
pub const POW_INPUT_BYTES: usize = 48;
/// Exclusive bound of a pow nonce: it is written with 7 bytes.
pub const POW_NONCE_END: u64 = 1 << 56;

/// Why no pow was produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PowError {
    /// The search gave up.
    #[error("no proof of work found in {attempts} attempts")]
    NotFound {
        /// Hashes tried.
        attempts: u64,
    },
    /// The hash backend failed.
    #[error("proof of work backend failed: {0}")]
    Backend(&'static str),
}

/// Finds a k2pow for a nonce group.
pub trait PowSolver {
    /// A pow nonce whose hash is below `target` (already scaled by the unit count).
    fn solve(
        &self,
        nonce_group: u8,
        challenge: &[u8; 8],
        target: &[u8; 32],
        node_id: &NodeId,
    ) -> Result<u64, PowError>;
}

/// Checks a k2pow.
pub trait PowVerifier {
    /// Whether `pow`'s hash is below `target` (already scaled by the unit count).
    fn verify(
        &self,
        pow: u64,
        nonce_group: u8,
        challenge: &[u8; 8],
        target: &[u8; 32],
        node_id: &NodeId,
    ) -> bool;
}

/// The 48-byte k2pow input.
pub fn pow_input(pow: u64, nonce_group: u8, challenge: &[u8; 8], node_id: &NodeId) -> [u8; 48] {
    let mut input = [0u8; POW_INPUT_BYTES];
    input[..7].copy_from_slice(&pow.to_le_bytes()[..7]);
    input[7] = nonce_group;
    input[8..16].copy_from_slice(challenge);
    input[16..].copy_from_slice(&node_id.0);
    input
}

/// k2pow with BLAKE3 in place of RandomX: same input, same target; for tests and simulation.
#[derive(Debug, Clone, Copy)]
pub struct Blake3Pow {
    /// Most hashes `solve` tries before giving up.
    pub attempts_max: u64,
}

impl Default for Blake3Pow {
    fn default() -> Self {
        Blake3Pow { attempts_max: 1 << 32 }
    }
}

impl Blake3Pow {
    fn hash(pow: u64, nonce_group: u8, challenge: &[u8; 8], node_id: &NodeId) -> [u8; 32] {
        *blake3::hash(&pow_input(pow, nonce_group, challenge, node_id)).as_bytes()
    }
}

impl PowSolver for Blake3Pow {
    fn solve(
        &self,
        nonce_group: u8,
        challenge: &[u8; 8],
        target: &[u8; 32],
        node_id: &NodeId,
    ) -> Result<u64, PowError> {
        let end = self.attempts_max.min(POW_NONCE_END);
        (0..end)
            .find(|&pow| Self::hash(pow, nonce_group, challenge, node_id) < *target)
            .ok_or(PowError::NotFound { attempts: end })
    }
}

impl PowVerifier for Blake3Pow {
    fn verify(
        &self,
        pow: u64,
        nonce_group: u8,
        challenge: &[u8; 8],
        target: &[u8; 32],
        node_id: &NodeId,
    ) -> bool {
        pow < POW_NONCE_END && Self::hash(pow, nonce_group, challenge, node_id) < *target
    }
}

#[cfg(feature = "randomx")]
pub use randomx::RandomXPow;

#[cfg(feature = "randomx")]
mod randomx {
    use randomx_rs::{RandomXCache, RandomXDataset, RandomXFlag, RandomXVM};

    use super::{POW_NONCE_END, PowError, PowSolver, PowVerifier, RANDOMX_KEY, pow_input};
    use crate::types::NodeId;

    /// Spacemesh's k2pow: RandomX (Monero rx/0 parameters) keyed with [`RANDOMX_KEY`].
    ///
    /// Light mode (256 MiB cache) suits verification; fast mode (2 GiB dataset, about a minute
    /// to build) suits proving. The search is single-threaded: a driver that wants threads runs
    /// one solver per nonce group.
    pub struct RandomXPow {
        vm: RandomXVM,
        /// Most hashes `solve` tries before giving up.
        pub attempts_max: u64,
    }

    impl std::fmt::Debug for RandomXPow {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RandomXPow").field("attempts_max", &self.attempts_max).finish()
        }
    }

    impl RandomXPow {
        /// A RandomX VM in light mode (`fast = false`) or fast mode, with the recommended flags
        /// of this CPU.
        pub fn new(fast: bool) -> Result<Self, PowError> {
            let mut flags = RandomXFlag::get_recommended_flags();
            let cache = RandomXCache::new(flags, RANDOMX_KEY)
                .map_err(|_| PowError::Backend("RandomX cache"))?;
            let vm = if fast {
                flags |= RandomXFlag::FLAG_FULL_MEM;
                let dataset = RandomXDataset::new(flags, cache, 0)
                    .map_err(|_| PowError::Backend("RandomX dataset"))?;
                RandomXVM::new(flags, None, Some(dataset))
            } else {
                RandomXVM::new(flags, Some(cache), None)
            }
            .map_err(|_| PowError::Backend("RandomX VM"))?;
            Ok(RandomXPow { vm, attempts_max: POW_NONCE_END })
        }

        fn hash(
            &self,
            pow: u64,
            nonce_group: u8,
            challenge: &[u8; 8],
            node_id: &NodeId,
        ) -> Result<Vec<u8>, PowError> {
            self.vm
                .calculate_hash(&pow_input(pow, nonce_group, challenge, node_id))
                .map_err(|_| PowError::Backend("RandomX hash"))
        }
    }

    impl PowSolver for RandomXPow {
        fn solve(
            &self,
            nonce_group: u8,
            challenge: &[u8; 8],
            target: &[u8; 32],
            node_id: &NodeId,
        ) -> Result<u64, PowError> {
            let end = self.attempts_max.min(POW_NONCE_END);
            for pow in 0..end {
                if self.hash(pow, nonce_group, challenge, node_id)?.as_slice() < target.as_slice() {
                    return Ok(pow);
                }
            }
            Err(PowError::NotFound { attempts: end })
        }
    }

    impl PowVerifier for RandomXPow {
        fn verify(
            &self,
            pow: u64,
            nonce_group: u8,
            challenge: &[u8; 8],
            target: &[u8; 32],
            node_id: &NodeId,
        ) -> bool {
            pow < POW_NONCE_END
                && self
                    .hash(pow, nonce_group, challenge, node_id)
                    .is_ok_and(|h| h.as_slice() < target.as_slice())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A RandomX pow found for one identity verifies for it and not for another.
        #[test]
        fn randomx_solve_verify() {
            let pow = RandomXPow::new(false).expect("RandomX light mode");
            let mut target = [0xff; 32];
            target[0] = 0x0f;
            let found = pow.solve(7, b"hello!!!", &target, &NodeId([6; 32])).expect("found");
            assert!(pow.verify(found, 7, b"hello!!!", &target, &NodeId([6; 32])));
            assert!(!pow.verify(found, 7, b"hello!!!", &[0; 32], &NodeId([6; 32])));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The input layout is 7 LE bytes of the pow, the group, the challenge prefix, the node id.
    #[test]
    fn input_layout() {
        let input =
            pow_input(0x00aa_bbcc_ddee_ff11_u64 | (0x99 << 56), 5, b"abcdefgh", &NodeId([3; 32]));
        assert_eq!(input[..7], [0x11, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa]);
        assert_eq!(input[7], 5);
        assert_eq!(&input[8..16], b"abcdefgh");
        assert_eq!(input[16..], [3; 32]);
    }

    /// A found pow verifies under the same inputs and fails when any of them changes.
    #[test]
    fn blake3_solve_verify() {
        let pow = Blake3Pow::default();
        let mut target = [0xff; 32];
        target[0] = 0x01; // about 1 in 128 hashes pass
        let node = NodeId([9; 32]);
        let found = pow.solve(3, b"challeng", &target, &node).expect("found");
        assert!(pow.verify(found, 3, b"challeng", &target, &node));
        // The search returns the first valid nonce.
        assert!((0..found).all(|p| !pow.verify(p, 3, b"challeng", &target, &node)));
        assert!(!pow.verify(found, 3, b"challeng", &[0; 32], &node));
        assert!(!pow.verify(found | POW_NONCE_END, 3, b"challeng", &target, &node));
        let capped = Blake3Pow { attempts_max: 3 };
        assert_eq!(
            capped.solve(3, b"challeng", &[0; 32], &node),
            Err(PowError::NotFound { attempts: 3 })
        );
    }
}

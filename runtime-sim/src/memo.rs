//! A signature verifier shared by every simulated node that remembers its answers.
//!
//! Verification is a pure function of (key, message, signature), so answering from a cache gives
//! the same result as verifying again, whichever node asks first: sharing it keeps the run
//! deterministic while a gossiped message's signature is checked once instead of once per node.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use spacemesh_core::crypto::{Ed25519Verifier, Signature, Verifier};

/// A memoizing ed25519 verifier with a bounded cache.
#[derive(Debug)]
pub struct MemoVerifier {
    cache: Mutex<BTreeMap<[u8; 32], bool>>,
    cache_max: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl MemoVerifier {
    /// A verifier remembering at most `cache_max` answers (the cache is emptied when full, which
    /// keeps memory bounded and the behaviour deterministic).
    pub fn new(cache_max: usize) -> Self {
        MemoVerifier {
            cache: Mutex::new(BTreeMap::new()),
            cache_max,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Answers served from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Answers computed.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

impl Verifier for MemoVerifier {
    fn verify(&self, public_key: &[u8; 32], signed_message: &[u8], signature: &Signature) -> bool {
        let mut h = blake3::Hasher::new();
        h.update(public_key);
        h.update(&signature.0);
        h.update(signed_message);
        let key = *h.finalize().as_bytes();
        let mut cache = self.cache.lock().expect("single-threaded");
        if let Some(v) = cache.get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return *v;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let v = Ed25519Verifier.verify(public_key, signed_message, signature);
        if cache.len() >= self.cache_max {
            cache.clear();
        }
        cache.insert(key, v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacemesh_core::GenesisId;
    use spacemesh_core::crypto::{Domain, Signer, signed_message};

    /// Cached answers equal fresh ones, for valid and invalid signatures alike.
    #[test]
    fn memo_agrees_with_plain_verification() {
        let s = Signer::from_seed([1; 32], GenesisId([0; 20]));
        let msg = signed_message(&s.genesis(), Domain::Heartbeat, b"m");
        let sig = s.sign(Domain::Heartbeat, b"m");
        let bad = Signature([0; 64]);
        let v = MemoVerifier::new(1);
        for _ in 0..3 {
            assert!(v.verify(&s.node_id().0, &msg, &sig));
            assert!(!v.verify(&s.node_id().0, &msg, &bad));
        }
        assert_eq!(v.misses(), 6, "a cache of one entry is cleared on every new key");
        let v = MemoVerifier::new(16);
        for _ in 0..3 {
            assert!(v.verify(&s.node_id().0, &msg, &sig));
        }
        assert_eq!((v.hits(), v.misses()), (2, 1));
    }
}

//! BLAKE3-256, the hash of every id in the protocol.

use crate::types::Hash32;

/// BLAKE3-256 of `bytes`.
pub fn hash(bytes: &[u8]) -> Hash32 {
    Hash32(*blake3::hash(bytes).as_bytes())
}

/// BLAKE3-256 of the concatenation of `parts`, without building the concatenation.
pub fn hash_parts(parts: &[&[u8]]) -> Hash32 {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    Hash32(*h.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashing parts equals hashing their concatenation, and matches the BLAKE3 test vector.
    #[test]
    fn parts_equal_concatenation() {
        assert_eq!(hash_parts(&[b"ab", b"c"]), hash(b"abc"));
        assert_eq!(
            hash(b"").to_string(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }
}

//! PoST network parameters and the metadata a proof is checked against (proofs.md section 1.8,
//! protocol.md sections 15 and 16).

use thiserror::Error;

use super::label::ScryptParams;
use super::proof::{INDICES_MAX, required_bits};
use crate::codec::Encode;
use crate::types::{Hash32, NodeId};

/// Nonces tested by one AES block: one output byte per nonce.
pub const NONCES_PER_AES: u32 = 16;
/// Most nonces a proof can use: the nonce group must fit in a byte.
pub const NONCES_MAX: u32 = 256 * NONCES_PER_AES;

/// Why a [`PostConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// `labels_per_unit` is zero.
    #[error("labels_per_unit must be positive")]
    NoLabels,
    /// The unit range is empty or starts at zero.
    #[error("units range {min}..={max} is empty or starts at 0")]
    BadUnits {
        /// `min_units`.
        min: u32,
        /// `max_units`.
        max: u32,
    },
    /// `max_units · labels_per_unit` does not fit a u64.
    #[error("max_units {max_units} times labels_per_unit {labels_per_unit} overflows u64")]
    TooManyLabels {
        /// `max_units`.
        max_units: u32,
        /// `labels_per_unit`.
        labels_per_unit: u64,
    },
    /// The smallest allowed identity has no more labels than K1.
    #[error("K1 = {k1} must be below the smallest label count {min_labels}")]
    K1TooLarge {
        /// K1.
        k1: u32,
        /// `min_units · labels_per_unit`.
        min_labels: u64,
    },
    /// K1, K2 or K3 is zero, or K3 is above K2.
    #[error("need 0 < K1, 0 < K3 <= K2; got K1 = {k1}, K2 = {k2}, K3 = {k3}")]
    BadK {
        /// K1.
        k1: u32,
        /// K2.
        k2: u32,
        /// K3.
        k3: u32,
    },
    /// K2 packed indices of the largest identity do not fit the proof's byte limit.
    #[error("K2 = {k2} indices of {bits} bits need more than {max} bytes")]
    IndicesTooLong {
        /// K2.
        k2: u32,
        /// Bits per index for the largest identity.
        bits: u32,
        /// The byte limit.
        max: usize,
    },
    /// Nonces per pass is zero, not a multiple of 16, or above 4096.
    #[error("nonces_per_pass = {0} must be a positive multiple of 16 and at most 4096")]
    BadNonces(u32),
    /// A zero pow difficulty can never be met.
    #[error("pow_difficulty is zero")]
    ZeroPowDifficulty,
}

/// PoST parameters of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostConfig {
    /// Labels in one space unit.
    pub labels_per_unit: u64,
    /// Fewest units an identity may commit.
    pub min_units: u32,
    /// Most units an identity may commit.
    pub max_units: u32,
    /// Expected good labels per nonce over the whole data set.
    pub k1: u32,
    /// Good labels a proof lists.
    pub k2: u32,
    /// Labels a verifier checks in subset mode.
    pub k3: u32,
    /// k2pow target for one unit (big-endian); divided by the unit count.
    pub pow_difficulty: [u8; 32],
    /// Label function cost.
    pub scrypt: ScryptParams,
    /// Nonces tried per pass over the data (a multiple of 16).
    pub nonces_per_pass: u32,
}

/// Every field in declaration order (SCALE): what a result computed under this configuration
/// depends on, so a key of results shared between nodes commits to it (see `Job::memo_key`).
impl Encode for PostConfig {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.labels_per_unit.encode_to(out);
        self.min_units.encode_to(out);
        self.max_units.encode_to(out);
        self.k1.encode_to(out);
        self.k2.encode_to(out);
        self.k3.encode_to(out);
        self.pow_difficulty.encode_to(out);
        self.scrypt.encode_to(out);
        self.nonces_per_pass.encode_to(out);
    }
}

impl PostConfig {
    /// Mainnet: 2^32 labels (64 GiB) per unit, at least 4 units, K1 26, K2 37, K3 1, N 8192.
    pub fn mainnet() -> Self {
        let mut pow_difficulty = [0u8; 32];
        pow_difficulty[..8].copy_from_slice(&[0x00, 0x0d, 0xfb, 0x23, 0xb0, 0x97, 0x9b, 0x4b]);
        PostConfig {
            labels_per_unit: 1 << 32,
            min_units: 4,
            max_units: u32::MAX,
            k1: 26,
            k2: 37,
            k3: 1,
            pow_difficulty,
            scrypt: ScryptParams::MAINNET,
            nonces_per_pass: 288,
        }
    }

    /// The testnet preset: 1024 labels per unit, at least 2 units, mainnet's K values and N.
    pub fn testnet() -> Self {
        PostConfig {
            labels_per_unit: 1024,
            min_units: 2,
            max_units: u32::MAX,
            pow_difficulty: [0xff; 32],
            ..Self::mainnet()
        }
    }

    /// The fastnet (systest) preset: 128 labels per unit, 2 to 4 units, K1 12, K2 4, K3 1,
    /// N = 2, 16 nonces.
    pub fn fastnet() -> Self {
        PostConfig {
            labels_per_unit: 128,
            min_units: 2,
            max_units: 4,
            k1: 12,
            k2: 4,
            k3: 1,
            pow_difficulty: [0xff; 32],
            scrypt: ScryptParams::new(2, 1, 1).expect("N = 2 is valid"),
            nonces_per_pass: 16,
        }
    }

    /// Simulation ("lite" PoST of protocol.md section 16): 64 labels per unit, 1 to 4 units,
    /// K1 12, K2 4, K3 1, N = 2, all-ones pow difficulty, 16 nonces.
    pub fn sim() -> Self {
        PostConfig { labels_per_unit: 64, min_units: 1, max_units: 4, ..Self::fastnet() }
    }

    /// Checks every bound the prover and verifier rely on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.labels_per_unit == 0 {
            return Err(ConfigError::NoLabels);
        }
        if self.min_units == 0 || self.min_units > self.max_units {
            return Err(ConfigError::BadUnits { min: self.min_units, max: self.max_units });
        }
        let max_labels = u64::from(self.max_units).checked_mul(self.labels_per_unit).ok_or(
            ConfigError::TooManyLabels {
                max_units: self.max_units,
                labels_per_unit: self.labels_per_unit,
            },
        )?;
        if self.k1 == 0 || self.k3 == 0 || self.k3 > self.k2 {
            return Err(ConfigError::BadK { k1: self.k1, k2: self.k2, k3: self.k3 });
        }
        let min_labels = u64::from(self.min_units) * self.labels_per_unit;
        if min_labels <= u64::from(self.k1) {
            return Err(ConfigError::K1TooLarge { k1: self.k1, min_labels });
        }
        let bits = required_bits(max_labels);
        if (u64::from(bits) * u64::from(self.k2)).div_ceil(8) > INDICES_MAX as u64 {
            return Err(ConfigError::IndicesTooLong { k2: self.k2, bits, max: INDICES_MAX });
        }
        if self.nonces_per_pass == 0
            || !self.nonces_per_pass.is_multiple_of(NONCES_PER_AES)
            || self.nonces_per_pass > NONCES_MAX
        {
            return Err(ConfigError::BadNonces(self.nonces_per_pass));
        }
        if self.pow_difficulty == [0; 32] {
            return Err(ConfigError::ZeroPowDifficulty);
        }
        Ok(())
    }
}

/// What a verifier knows about the identity behind a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostMetadata {
    /// The smeshing identity.
    pub node_id: NodeId,
    /// The ATX chosen when initialization started (the golden ATX at genesis).
    pub commitment_atx_id: Hash32,
    /// Units committed.
    pub num_units: u32,
    /// Labels per unit the identity claims (must equal the network's).
    pub labels_per_unit: u64,
}

impl PostMetadata {
    /// `num_units · labels_per_unit`, or `None` on overflow.
    pub fn num_labels(&self) -> Option<u64> {
        u64::from(self.num_units).checked_mul(self.labels_per_unit)
    }

    /// The identity's PoST commitment.
    pub fn commitment(&self) -> [u8; 32] {
        super::label::commitment(&self.node_id, &self.commitment_atx_id)
    }
}

/// Why an identity's metadata does not fit the network's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    /// The unit count is outside `[min_units, max_units]`.
    #[error("{num_units} units outside the allowed {min}..={max}")]
    UnitsOutOfRange {
        /// The claimed units.
        num_units: u32,
        /// `min_units`.
        min: u32,
        /// `max_units`.
        max: u32,
    },
    /// The identity's labels per unit differ from the network's.
    #[error("labels_per_unit {got} differs from the network's {want}")]
    LabelsPerUnitMismatch {
        /// The claimed value.
        got: u64,
        /// The network's value.
        want: u64,
    },
    /// `num_units · labels_per_unit` overflows or is not above K1.
    #[error("label count of {num_units} units is not above K1 = {k1} or overflows")]
    TooFewLabels {
        /// The claimed units.
        num_units: u32,
        /// K1.
        k1: u32,
    },
}

impl PostMetadata {
    /// Checks the metadata against `cfg` and returns the identity's label count.
    pub fn check(&self, cfg: &PostConfig) -> Result<u64, MetadataError> {
        if self.num_units < cfg.min_units || self.num_units > cfg.max_units {
            return Err(MetadataError::UnitsOutOfRange {
                num_units: self.num_units,
                min: cfg.min_units,
                max: cfg.max_units,
            });
        }
        if self.labels_per_unit != cfg.labels_per_unit {
            return Err(MetadataError::LabelsPerUnitMismatch {
                got: self.labels_per_unit,
                want: cfg.labels_per_unit,
            });
        }
        self.num_labels()
            .filter(|&n| n > u64::from(cfg.k1))
            .ok_or(MetadataError::TooFewLabels { num_units: self.num_units, k1: cfg.k1 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encoding has a fixed length and tells apart configurations that differ in any one
    /// field: shared verification results are keyed by it.
    #[test]
    fn the_encoding_commits_to_every_field() {
        let base = PostConfig::sim();
        let mut pow = base.pow_difficulty;
        pow[31] ^= 1;
        let variants = [
            PostConfig { labels_per_unit: base.labels_per_unit + 1, ..base },
            PostConfig { min_units: base.min_units + 1, ..base },
            PostConfig { max_units: base.max_units + 1, ..base },
            PostConfig { k1: base.k1 + 1, ..base },
            PostConfig { k2: base.k2 + 1, ..base },
            PostConfig { k3: base.k3 + 1, ..base },
            PostConfig { pow_difficulty: pow, ..base },
            PostConfig { scrypt: ScryptParams::new(16, 1, 1).unwrap(), ..base },
            PostConfig { nonces_per_pass: base.nonces_per_pass + 16, ..base },
        ];
        let encoded = base.encode();
        assert_eq!(encoded.len(), 8 + 4 * 5 + 32 + 12 + 4);
        let mut all = std::collections::BTreeSet::from([encoded]);
        for v in variants {
            assert!(all.insert(v.encode()), "{v:?} encodes like another configuration");
        }
    }

    /// Every preset passes validation and carries the values of the spec tables.
    #[test]
    fn presets_are_valid() {
        for cfg in
            [PostConfig::mainnet(), PostConfig::testnet(), PostConfig::fastnet(), PostConfig::sim()]
        {
            assert_eq!(cfg.validate(), Ok(()), "{cfg:?}");
        }
        let m = PostConfig::mainnet();
        assert_eq!((m.k1, m.k2, m.k3, m.scrypt.n(), m.nonces_per_pass), (26, 37, 1, 8192, 288));
        assert_eq!(m.pow_difficulty[..8], [0x00, 0x0d, 0xfb, 0x23, 0xb0, 0x97, 0x9b, 0x4b]);
        let s = PostConfig::sim();
        assert_eq!((s.labels_per_unit, s.k1, s.k2, s.k3, s.scrypt.n()), (64, 12, 4, 1, 2));
    }

    /// Each broken bound gives its own error.
    #[test]
    fn validate_rejects() {
        let ok = PostConfig::sim();
        let cases = [
            (PostConfig { labels_per_unit: 0, ..ok }, ConfigError::NoLabels),
            (PostConfig { min_units: 0, ..ok }, ConfigError::BadUnits { min: 0, max: 4 }),
            (PostConfig { min_units: 5, ..ok }, ConfigError::BadUnits { min: 5, max: 4 }),
            (PostConfig { k3: 5, ..ok }, ConfigError::BadK { k1: 12, k2: 4, k3: 5 }),
            (PostConfig { k1: 64, ..ok }, ConfigError::K1TooLarge { k1: 64, min_labels: 64 }),
            (PostConfig { nonces_per_pass: 24, ..ok }, ConfigError::BadNonces(24)),
            (PostConfig { nonces_per_pass: 4112, ..ok }, ConfigError::BadNonces(4112)),
            (PostConfig { pow_difficulty: [0; 32], ..ok }, ConfigError::ZeroPowDifficulty),
            (
                PostConfig { max_units: u32::MAX, labels_per_unit: 1 << 33, ..ok },
                ConfigError::TooManyLabels { max_units: u32::MAX, labels_per_unit: 1 << 33 },
            ),
            (
                PostConfig { k2: 1000, k3: 1, ..ok },
                ConfigError::IndicesTooLong { k2: 1000, bits: 9, max: INDICES_MAX },
            ),
        ];
        for (cfg, want) in cases {
            assert_eq!(cfg.validate(), Err(want));
        }
    }
}

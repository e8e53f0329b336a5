//! Domain types shared by every protocol: identities, hashes, layers, epochs and time.
//!
//! Names follow the Spacemesh glossary. All of them are plain values (`Copy` where small) with a
//! SCALE encoding in [`crate::codec`] that matches go-spacemesh where a reference encoding exists.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Writes `bytes` as lower-case hex.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// Declares a fixed-size byte-array identifier with hex `Display` and a short hex `Debug`.
macro_rules! byte_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
        pub struct $name(pub [u8; $len]);

        impl Ord for $name {
            /// Lexicographic byte order, compared eight bytes at a time: ids are map keys on
            /// every hot path, and this is several times faster than a `memcmp` call.
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                let (a, b) = (&self.0, &other.0);
                let mut i = 0;
                while i + 8 <= $len {
                    let x = u64::from_be_bytes(a[i..i + 8].try_into().expect("8 bytes"));
                    let y = u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
                    if x != y {
                        return x.cmp(&y);
                    }
                    i += 8;
                }
                a[i..].cmp(&b[i..])
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl $name {
            /// The size of the encoding in bytes.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Parses a full-length hex string.
            pub fn from_hex(s: &str) -> Option<Self> {
                let s = s.strip_prefix("0x").unwrap_or(s);
                if s.len() != 2 * $len {
                    return None;
                }
                let mut out = [0u8; $len];
                for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
                    let hi = (chunk[0] as char).to_digit(16)?;
                    let lo = (chunk[1] as char).to_digit(16)?;
                    out[i] = (hi * 16 + lo) as u8;
                }
                Some(Self(out))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                write_hex(f, &self.0[..4])?;
                write!(f, "..)")
            }
        }

        impl From<[u8; $len]> for $name {
            fn from(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }
        }
    };
}

byte_id!(
    /// A 32-byte BLAKE3 digest.
    Hash32,
    32
);
byte_id!(
    /// A smeshing identity: the ed25519 public key that signs ATXs, ballots and hare messages.
    NodeId,
    32
);
byte_id!(
    /// A p2p identity: the ed25519 public key a node's transport handshake is bound to. Kept apart
    /// from [`NodeId`] because one operator may run many smeshing identities behind one peer.
    PeerId,
    32
);
byte_id!(
    /// The genesis id: the first 20 bytes of the golden hash (protocol.md section 1). It prefixes
    /// every signed message so that signatures cannot be replayed across networks.
    GenesisId,
    20
);

byte_id!(
    /// A ballot id: the first 20 bytes of the BLAKE3 hash of the inner ballot (go-spacemesh
    /// `types.BallotID`).
    BallotId,
    20
);
byte_id!(
    /// A proposal id: the first 20 bytes of the BLAKE3 hash of the signed proposal bytes.
    ProposalId,
    20
);
byte_id!(
    /// A block id: the first 20 bytes of the BLAKE3 hash of the inner block (go-spacemesh
    /// `types.BlockID`). Blocks are never gossiped; nodes derive them from the hare output.
    BlockId,
    20
);
/// An epoch's beacon: 4 random bytes agreed on during the previous epoch (protocol.md section 4)
/// that every eligibility VRF message of the epoch includes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Beacon(pub [u8; 4]);

impl fmt::Debug for Beacon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Beacon(")?;
        write_hex(f, &self.0)?;
        write!(f, ")")
    }
}

impl fmt::Display for Beacon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// A layer: the unit of consensus time (protocol.md section 1).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
pub struct LayerId(pub u32);

/// An epoch: `layers_per_epoch` consecutive layers.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
pub struct EpochId(pub u32);

impl LayerId {
    /// The epoch this layer belongs to.
    pub fn epoch(self, layers_per_epoch: u32) -> EpochId {
        assert!(layers_per_epoch > 0, "layers_per_epoch must be positive");
        EpochId(self.0 / layers_per_epoch)
    }
}

impl EpochId {
    /// The first layer of this epoch.
    pub fn first_layer(self, layers_per_epoch: u32) -> LayerId {
        LayerId(self.0.checked_mul(layers_per_epoch).expect("epoch layer overflows u32"))
    }
}

impl fmt::Display for LayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer {}", self.0)
    }
}

impl fmt::Display for EpochId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "epoch {}", self.0)
    }
}

/// A point in time as this node sees it: microseconds since the Unix epoch.
///
/// Core never reads a clock: the runtime passes `Time` into every `handle` call. In simulation it
/// is the node's (possibly skewed and drifting) local clock; in production the system clock.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
pub struct Time(pub u64);

impl Time {
    /// The Unix epoch.
    pub const ZERO: Time = Time(0);

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> u64 {
        self.0
    }

    /// Builds a time from whole seconds since the Unix epoch.
    pub fn from_secs(secs: u64) -> Time {
        Time(secs.saturating_mul(1_000_000))
    }

    /// The span from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Time(self.0.saturating_add(micros))
    }
}

impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Time(self.0.saturating_sub(micros))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layers map to epochs by integer division and back to the epoch's first layer.
    #[test]
    fn layer_epoch_arithmetic() {
        assert_eq!(LayerId(0).epoch(4), EpochId(0));
        assert_eq!(LayerId(7).epoch(4), EpochId(1));
        assert_eq!(LayerId(8).epoch(4), EpochId(2));
        assert_eq!(EpochId(2).first_layer(4), LayerId(8));
    }

    /// Hex round-trips and rejects wrong lengths and non-hex characters.
    #[test]
    fn hex_round_trip() {
        let h = Hash32([0xab; 32]);
        assert_eq!(Hash32::from_hex(&h.to_string()), Some(h));
        assert_eq!(Hash32::from_hex("abcd"), None);
        assert_eq!(GenesisId::from_hex(&"zz".repeat(20)), None);
        assert_eq!(format!("{h:?}"), "Hash32(abababab..)");
    }

    /// Ids order exactly as their bytes do (the fast comparison changes no order).
    #[test]
    fn id_order_is_byte_order() {
        let mut ids: Vec<Hash32> = (0u64..200)
            .map(|i| {
                let mut b = [0u8; 32];
                let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                b[(i % 32) as usize] = x as u8;
                b[31 - (i % 13) as usize] ^= (x >> 8) as u8;
                Hash32(b)
            })
            .collect();
        let mut by_bytes = ids.clone();
        by_bytes.sort_by_key(|h| h.0);
        ids.sort();
        assert_eq!(ids, by_bytes);
        let g = |b: u8| GenesisId([b; 20]);
        assert!(g(1) < g(2));
        let mut x = [0u8; 20];
        x[19] = 1;
        assert!(GenesisId([0; 20]) < GenesisId(x), "the 4-byte tail is compared too");
    }

    /// Time arithmetic saturates instead of wrapping.
    #[test]
    fn time_saturates() {
        assert_eq!(Time(5) - Duration::from_micros(10), Time(0));
        assert_eq!(Time(u64::MAX) + Duration::from_secs(1), Time(u64::MAX));
        assert_eq!(Time(10).saturating_since(Time(20)), Duration::ZERO);
        assert_eq!(Time::from_secs(2).to_string(), "2.000000s");
    }
}

//! Ballot (proposal and voting) eligibility: slots per epoch and the layer of each slot
//! (proofs.md section 3.2, protocol.md section 5; go-spacemesh `proposals/util/util.go`).

use super::EligibilityError;
use crate::types::LayerId;
use crate::vrf::VrfSignature;

/// The number of ballot slots an identity of ATX weight `weight` has in an epoch:
/// `max(1, weight · layer_avg_size · layers_per_epoch / max(min_active_weight, total_weight))`.
///
/// `total_weight` is the weight of the active set the identity's reference ballot declares and
/// `min_active_weight` the network's floor against under-declared active sets. The arithmetic is
/// go-spacemesh's, bit for bit: u64 products that wrap on overflow (only for weights around
/// 10^13 and more) and a truncating cast to u32. A ballot's declared eligibility count must
/// equal this value.
pub fn slots(
    weight: u64,
    layer_avg_size: u32,
    layers_per_epoch: u32,
    min_active_weight: u64,
    total_weight: u64,
) -> Result<u32, EligibilityError> {
    if total_weight == 0 {
        return Err(EligibilityError::ZeroTotalWeight);
    }
    let product =
        weight.wrapping_mul(u64::from(layer_avg_size)).wrapping_mul(u64::from(layers_per_epoch));
    let slots = product / min_active_weight.max(total_weight);
    Ok(slots.max(1) as u32)
}

/// The layer a slot's proof selects: `epoch_first_layer + (LE-u64(π[0..8]) mod layers_per_epoch)`.
///
/// `None` when that layer would not fit a u32 (only possible in the last, partial epoch of the
/// u32 range; go-spacemesh panics there).
///
/// # Panics
/// If `layers_per_epoch` is zero (a configuration error).
pub fn slot_layer(
    proof: &VrfSignature,
    epoch_first_layer: LayerId,
    layers_per_epoch: u32,
) -> Option<LayerId> {
    assert!(layers_per_epoch > 0, "layers_per_epoch must be positive");
    let offset = proof.le_u64_prefix() % u64::from(layers_per_epoch);
    let offset = u32::try_from(offset).expect("below layers_per_epoch");
    epoch_first_layer.0.checked_add(offset).map(LayerId)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Mainnet-like numbers: 50 ballots per layer, 4032 layers, 10^6 minimum active weight.
    #[test]
    fn slots_formula() {
        // A 1% identity gets 1% of 50 · 4032 slots.
        assert_eq!(slots(10_000, 50, 4032, 1_000_000, 1_000_000), Ok(2016));
        // The minimum active weight caps the denominator from below.
        assert_eq!(slots(10_000, 50, 4032, 1_000_000, 10), Ok(2016));
        assert_eq!(slots(10_000, 50, 4032, 0, 2_000_000), Ok(1008));
        // Tiny identities still get one slot.
        assert_eq!(slots(1, 50, 4032, 1_000_000, 1_000_000_000), Ok(1));
        assert_eq!(slots(0, 50, 4032, 0, 7), Ok(1));
        assert_eq!(slots(5, 50, 4032, 1_000_000, 0), Err(EligibilityError::ZeroTotalWeight));
    }

    /// Overflow behaves as in go-spacemesh: the u64 product wraps, the result is truncated.
    #[test]
    fn slots_wrap_like_go() {
        let weight = u64::MAX / 50 + 1;
        let wrapped = weight.wrapping_mul(50).wrapping_mul(4032);
        assert_eq!(slots(weight, 50, 4032, 0, 1), Ok(wrapped as u32));
        assert_eq!(slots(u64::MAX / 4, 1, 1, 0, 1), Ok((u64::MAX / 4) as u32));
    }

    /// The layer is the first 8 proof bytes, little-endian, modulo the epoch length.
    #[test]
    fn slot_layer_from_prefix() {
        let mut pi = [0u8; 80];
        pi[..8].copy_from_slice(&1_000_003u64.to_le_bytes());
        pi[8] = 0xff; // bytes after the prefix do not matter
        let proof = VrfSignature(pi);
        assert_eq!(slot_layer(&proof, LayerId(8064), 4032), Some(LayerId(8064 + 1_000_003 % 4032)));
        assert_eq!(slot_layer(&proof, LayerId(0), 1), Some(LayerId(0)));
        assert_eq!(slot_layer(&proof, LayerId(u32::MAX), 4032), None);
    }

    proptest! {
        /// Slots never exceed the whole epoch's expected ballots for a full-weight identity, and
        /// are monotone in weight while the quotient fits a u32 (past it go-spacemesh's cast
        /// truncates, which the exact quotient computed here in u128 tells apart).
        #[test]
        fn slots_monotone(w in 0u64..1 << 40, extra in 0u64..1 << 40, total in 1u64..1 << 40) {
            let a = slots(w, 50, 4032, 1_000_000, total).unwrap();
            let b = slots(w + extra, 50, 4032, 1_000_000, total).unwrap();
            let exact = u128::from(w + extra) * 50 * 4032 / u128::from(total.max(1_000_000));
            if exact <= u128::from(u32::MAX) {
                prop_assert!(a <= b);
            } else {
                prop_assert_eq!(u128::from(b), exact % (1u128 << 32));
            }
            if w <= total {
                prop_assert!(a <= 50 * 4032);
            }
        }

        /// Every proof maps into its epoch.
        #[test]
        fn slot_layer_in_epoch(pi in any::<[u8; 8]>(), epoch in 0u32..1000, lpe in 1u32..5000) {
            let mut full = [0u8; 80];
            full[..8].copy_from_slice(&pi);
            let first = LayerId(epoch * lpe);
            let layer = slot_layer(&VrfSignature(full), first, lpe).unwrap();
            prop_assert!(layer >= first && layer.0 < first.0 + lpe);
            prop_assert_eq!(layer.epoch(lpe).0, epoch);
        }
    }
}

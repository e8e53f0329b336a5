//! Hare (and certifier) committee eligibility by cryptographic sortition (proofs.md section 3.3,
//! protocol.md section 5; go-spacemesh `hare3/eligibility/oracle.go`).
//!
//! An identity of weight n out of `total_weight` holds `count` seats of a committee of expected
//! size C, where count is drawn from Binomial(n, C / total_weight) by inverse-CDF sampling with
//! the VRF proof as the uniform variate: the smallest x with `frac < BinCDF(n, p, x)`, frac being
//! the low 56 bits of LE-u64(π[0..8]). Validation checks `BinCDF(x - 1) ≤ frac < BinCDF(x)`.
//!
//! These functions take the proof as given: callers verify it (over the hare VRF message, see
//! [`crate::vrf::message::HareVrfMessage`]) first.

use super::EligibilityError;
use super::fixed::{Fixed, bin_cdf};
use crate::vrf::VrfSignature;

/// The largest (scaled) weight the fixed-point CDF supports: go-spacemesh's `maxSupportedN`,
/// `MaxInt32 / 2 + 1` = 2^30.
pub const MAX_SUPPORTED_WEIGHT: u64 = 1 << 30;

/// The sortition odds of one identity in one committee: the binomial's n and p.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Odds {
    n: i64,
    p: Fixed,
}

impl Odds {
    fn new(weight: u64, committee_size: u32, total_weight: u64) -> Result<Odds, EligibilityError> {
        if committee_size == 0 {
            return Err(EligibilityError::ZeroCommitteeSize);
        }
        if total_weight == 0 {
            return Err(EligibilityError::ZeroTotalWeight);
        }
        let committee = u64::from(committee_size);
        let (mut n, mut total) = (weight, total_weight);
        // With fewer weight units than seats, p would exceed 1: scale both sides by C instead.
        // total < C ≤ 2^32 here, so total · C cannot overflow; n · C overflowing (go-spacemesh
        // would wrap) is reported as too large.
        if committee > total {
            total *= committee;
            n = n.checked_mul(committee).ok_or(EligibilityError::WeightTooLarge {
                weight: u64::MAX,
                max: MAX_SUPPORTED_WEIGHT,
            })?;
        }
        if n > MAX_SUPPORTED_WEIGHT {
            return Err(EligibilityError::WeightTooLarge { weight: n, max: MAX_SUPPORTED_WEIGHT });
        }
        Ok(Odds { n: n as i64, p: Fixed::div_u64(committee, total)? })
    }
}

/// The uniform variate a proof stands for: the low 56 bits of LE-u64(π[0..8]).
fn fraction(proof: &VrfSignature) -> Fixed {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&proof.0[..8]);
    Fixed::frac_from_le_bytes(prefix)
}

/// The inverse-CDF search: the smallest x with `frac < cdf(x)`, where `cdf(x)` is
/// `BinCDF(n, p, x)` (computed or kept). The search is linear in the count, which is small.
fn seat_count(
    odds: Odds,
    frac: Fixed,
    mut cdf: impl FnMut(i64) -> Result<Fixed, EligibilityError>,
) -> Result<u16, EligibilityError> {
    for x in 0..odds.n.min(i64::from(u16::MAX) + 1) {
        if cdf(x)?.greater_than(frac) {
            return Ok(x as u16);
        }
    }
    // BinCDF(n, p, n) = 1 > frac, so the count is n, if it fits.
    u16::try_from(odds.n).map_err(|_| EligibilityError::CountTooLarge)
}

/// The number of committee seats `proof` gives an identity of weight `weight` (0: not in the
/// committee). Same result as go-spacemesh's `Oracle.CalcEligibility` for a valid proof.
///
/// The search is linear in the count, which is small (its mean is C · weight / total); a count
/// over `u16::MAX`, which a hare message could not carry, is [`EligibilityError::CountTooLarge`].
pub fn committee_count(
    weight: u64,
    committee_size: u32,
    total_weight: u64,
    proof: &VrfSignature,
) -> Result<u16, EligibilityError> {
    let odds = Odds::new(weight, committee_size, total_weight)?;
    seat_count(odds, fraction(proof), |x| Ok(bin_cdf(odds.n, odds.p, x)?))
}

/// Whether `count` is the number of seats `proof` gives (go-spacemesh's `Oracle.Validate`
/// after its VRF check): `BinCDF(count - 1) ≤ frac < BinCDF(count)`.
///
/// Like go-spacemesh this accepts `count = 0` for a proof that gives no seat; a hare message
/// claiming zero seats is for the caller to refuse.
pub fn validate_count(
    weight: u64,
    committee_size: u32,
    total_weight: u64,
    proof: &VrfSignature,
    count: u16,
) -> Result<bool, EligibilityError> {
    let odds = Odds::new(weight, committee_size, total_weight)?;
    let frac = fraction(proof);
    let x = i64::from(count);
    if bin_cdf(odds.n, odds.p, x - 1)?.greater_than(frac) {
        return Ok(false);
    }
    Ok(frac.less_than(bin_cdf(odds.n, odds.p, x)?))
}

/// The binomial CDF values of one identity's own draws, kept between draws: an identity draws
/// for every hare round and certify round of every layer with the same weight, committee size
/// and total weight all epoch, and [`committee_count`] computes `BinCDF(n, p, 0)` (tens of
/// microseconds) again for each draw, mostly to learn that the draw gives no seat. A table per
/// committee size and epoch answers from the values already computed: the same counts and
/// the same errors as [`committee_count`].
///
/// Holds the tables of the last [`OwnSeats::TABLES`] parameter sets (the committee sizes of
/// one or two epochs); a new set replaces the oldest.
#[derive(Debug, Clone, Default)]
pub struct OwnSeats {
    tables: std::collections::VecDeque<SeatTable>,
}

/// `BinCDF(n, p, x)` for x = 0, 1, ... as far as a draw needed them.
#[derive(Debug, Clone)]
struct SeatTable {
    params: (u64, u32, u64),
    odds: Odds,
    cdf: Vec<Fixed>,
}

impl OwnSeats {
    /// Parameter sets kept.
    pub const TABLES: usize = 4;

    /// [`committee_count`], from the kept values where it can.
    pub fn committee_count(
        &mut self,
        weight: u64,
        committee_size: u32,
        total_weight: u64,
        proof: &VrfSignature,
    ) -> Result<u16, EligibilityError> {
        let params = (weight, committee_size, total_weight);
        let at = match self.tables.iter().position(|t| t.params == params) {
            Some(at) => at,
            None => {
                // Parameter errors are not kept: they are cheap to find again.
                let odds = Odds::new(weight, committee_size, total_weight)?;
                if self.tables.len() == Self::TABLES {
                    self.tables.pop_front();
                }
                self.tables.push_back(SeatTable { params, odds, cdf: Vec::new() });
                self.tables.len() - 1
            }
        };
        let SeatTable { odds, cdf, .. } = &mut self.tables[at];
        let odds = *odds;
        seat_count(odds, fraction(proof), |x| {
            // The search asks for x = 0, 1, ... in order: past the kept values, one more.
            if x as usize == cdf.len() {
                cdf.push(bin_cdf(odds.n, odds.p, x)?);
            }
            Ok(cdf[x as usize])
        })
    }
}

/// One committee draw: who draws, for which committee and round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sortition {
    /// The epoch beacon.
    pub beacon: crate::types::Beacon,
    /// The layer.
    pub layer: crate::types::LayerId,
    /// The absolute hare round (or the certifier's round).
    pub round: u32,
    /// Expected committee size C.
    pub committee_size: u32,
    /// Total weight of the committee's active set.
    pub total_weight: u64,
}

impl Sortition {
    /// The VRF message of this draw.
    pub fn vrf_message(&self) -> Vec<u8> {
        use crate::codec::Encode;
        crate::vrf::message::HareVrfMessage {
            beacon: self.beacon,
            round: self.round,
            layer: self.layer,
        }
        .encode()
    }

    /// This node's draw: its VRF proof and seat count (0: not in the committee). `seed` is the
    /// identity's secret seed, `weight` its ATX weight.
    pub fn draw(
        &self,
        seed: &[u8; 32],
        weight: u64,
    ) -> Result<(VrfSignature, u16), EligibilityError> {
        let proof = crate::vrf::prove(seed, &self.vrf_message());
        let count = committee_count(weight, self.committee_size, self.total_weight, &proof)?;
        Ok((proof, count))
    }

    /// Like [`Sortition::draw`], for an identity that only needs its proof when it holds seats
    /// (`public_key`: its node id): the seat count is read from Γ alone, a quarter of the work
    /// of a proof, and the proof is built only for a count above zero (`None`: no seat).
    pub fn draw_if_seated(
        &self,
        seats: &mut OwnSeats,
        seed: &[u8; 32],
        public_key: &[u8; 32],
        weight: u64,
    ) -> Result<Option<(VrfSignature, u16)>, EligibilityError> {
        let mut prefix = [0u8; 80];
        prefix[..32].copy_from_slice(&crate::vrf::gamma(seed, public_key, &self.vrf_message()));
        let count = seats.committee_count(
            weight,
            self.committee_size,
            self.total_weight,
            &VrfSignature(prefix),
        )?;
        #[cfg(feature = "canary")]
        let count = if count > 0 && crate::canary::active(crate::canary::Canary::HareSeatOverclaim)
        {
            count + 1
        } else {
            count
        };
        if count == 0 {
            return Ok(None);
        }
        let proof = crate::vrf::prove(seed, &self.vrf_message());
        debug_assert_eq!(proof.0[..32], prefix[..32], "Γ is the proof's first half");
        Ok(Some((proof, count)))
    }

    /// Whether `smesher` of `weight` holds `count > 0` seats with `proof`: the VRF proof checks
    /// and the count is the one it gives.
    pub fn check(
        &self,
        verifier: &dyn crate::crypto::Verifier,
        smesher: &crate::types::NodeId,
        weight: u64,
        proof: &VrfSignature,
        count: u16,
    ) -> bool {
        count > 0
            && verifier.verify_vrf(&smesher.0, &self.vrf_message(), proof)
            && verifier.valid_committee_count(
                weight,
                self.committee_size,
                self.total_weight,
                proof,
                count,
            )
    }
}

#[cfg(test)]
mod tests;

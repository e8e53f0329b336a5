//! The block generator: the deterministic function from a hare output to the layer's block
//! (protocol.md section 6; go-spacemesh `blocks/generator.go`, `blocks/utils.go`).

use std::collections::{BTreeMap, BTreeSet};

use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::wire::{Block, InnerBlock, REWARDS_MAX, Ratio, Reward, TXS_MAX};
use crate::account::Address;
use crate::activation::wire::AtxId;
use crate::codec::BoundedVec;
use crate::hare::proposals_hash;
use crate::types::{Hash32, LayerId, ProposalId};

/// Block generator parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockConfig {
    /// Most transactions kept in a block after the shuffle, at most [`TXS_MAX`]. Stands in for
    /// go-spacemesh's `BlockGasLimit` until transactions (and their gas) exist here.
    pub txs_max: usize,
}

impl BlockConfig {
    /// Simulation scale (protocol.md section 16: no gas limit): everything the wire allows.
    pub fn sim() -> BlockConfig {
        BlockConfig { txs_max: TXS_MAX }
    }
}

/// What the generator needs of one proposal of the hare output. The caller looks these up in
/// its proposal and ATX stores; the proposal was fully validated when it was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalInfo {
    /// The proposal.
    pub id: ProposalId,
    /// The ATX its ballot was made with.
    pub atx: AtxId,
    /// The ATX's weight.
    pub atx_weight: u64,
    /// The ATX's *base* tick height: the height of its positioning ATX, before the ticks of
    /// its own PoET proof (go-spacemesh `atxsdata.ATX.BaseHeight`, not `Height`).
    pub atx_base_height: u64,
    /// The identity's eligibility count (slots) in the epoch, from its ref ballot.
    pub slots: u32,
    /// Eligibility proofs in this proposal's ballot.
    pub eligibilities: u32,
    /// The transactions the proposal carries.
    pub tx_ids: Vec<Hash32>,
}

/// Why a hare output gives no block.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// Two proposals of the output were made with the same ATX (go-spacemesh
    /// `errDuplicateATX`): the identity equivocated, and the layer gets no block from us.
    #[error("two proposals with ATX {0}")]
    DuplicateAtx(AtxId),
    /// The same proposal was listed twice.
    #[error("proposal {0} listed twice")]
    DuplicateProposal(ProposalId),
    /// More proposals than a block can hold rewards for.
    #[error("{count} proposals, more than the {max} rewards a block holds")]
    TooManyProposals {
        /// Proposals given.
        count: usize,
        /// [`REWARDS_MAX`].
        max: usize,
    },
    /// A proposal whose identity has no slots, or whose ballot has no eligibility or more
    /// eligibilities than slots: it could not have passed validation.
    #[error("proposal {id}: {eligibilities} eligibilities of {slots} slots")]
    BadEligibilities {
        /// The proposal.
        id: ProposalId,
        /// Its eligibilities.
        eligibilities: u32,
        /// The identity's slots.
        slots: u32,
    },
    /// A reward weight whose reduced numerator does not fit in a u64 (go-spacemesh would
    /// truncate it silently).
    #[error("reward weight of ATX {0} overflows u64")]
    RewardOverflow(AtxId),
}

/// Builds the block of `layer` from the hare output `proposals` (in any order; empty: no
/// block).
///
/// Deterministic: every honest node with the same hare output builds a byte-identical block.
/// The proposals are sorted by id first, then:
///
/// - **rewards**: one per ATX, weight `atx_weight × eligibilities / slots` as a reduced
///   rational, sorted by ATX id; two proposals with one ATX are [`BlockError::DuplicateAtx`];
/// - **tick height**: the highest base tick height of the proposals' ATXs (go-spacemesh
///   `rewardInfoAndHeight` takes the maximum of `atx.BaseHeight`, not a median);
/// - **transactions**: see [`order_transactions`].
pub fn build(
    cfg: &BlockConfig,
    layer: LayerId,
    proposals: &[ProposalInfo],
    header: impl Fn(&Hash32) -> Option<(Address, u64)>,
) -> Result<Option<Block>, BlockError> {
    if proposals.is_empty() {
        return Ok(None);
    }
    if proposals.len() > REWARDS_MAX {
        return Err(BlockError::TooManyProposals { count: proposals.len(), max: REWARDS_MAX });
    }
    let mut sorted: Vec<&ProposalInfo> = proposals.iter().collect();
    sorted.sort_by_key(|p| p.id);
    if let Some(w) = sorted.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(BlockError::DuplicateProposal(w[0].id));
    }

    let mut weights = BTreeMap::new();
    for p in &sorted {
        let weight = reward_weight(p)?;
        if weights.insert(p.atx, weight).is_some() {
            return Err(BlockError::DuplicateAtx(p.atx));
        }
    }
    let rewards: Vec<Reward> =
        weights.into_iter().map(|(atx, weight)| Reward { atx, weight }).collect();
    let tick_height = sorted.iter().map(|p| p.atx_base_height).max().unwrap_or(0);
    let ids: Vec<ProposalId> = sorted.iter().map(|p| p.id).collect();
    let all = sorted.iter().flat_map(|p| p.tx_ids.iter().copied());
    let mut tx_ids = order_transactions(&ids, all, header);
    tx_ids.truncate(cfg.txs_max.min(TXS_MAX));
    let block = Block {
        inner: InnerBlock {
            layer,
            tick_height,
            rewards: BoundedVec::new(rewards).expect("one reward per proposal, checked above"),
            tx_ids: BoundedVec::new(tx_ids).expect("truncated to TXS_MAX"),
        },
    };
    Ok(Some(block))
}

/// The reward weight of one proposal's ATX: `atx_weight × eligibilities / slots`, reduced.
fn reward_weight(p: &ProposalInfo) -> Result<Ratio, BlockError> {
    if p.slots == 0 || p.eligibilities == 0 || p.eligibilities > p.slots {
        return Err(BlockError::BadEligibilities {
            id: p.id,
            eligibilities: p.eligibilities,
            slots: p.slots,
        });
    }
    // u64 × u32 always fits in u128; only the reduced numerator can fail to fit a u64.
    let num = u128::from(p.atx_weight) * u128::from(p.eligibilities);
    let den = u128::from(p.slots);
    let g = gcd(num, den);
    let num = u64::try_from(num / g).map_err(|_| BlockError::RewardOverflow(p.atx))?;
    let den = u64::try_from(den / g).expect("den ≤ slots, a u32");
    Ok(Ratio { num, den })
}

/// Greatest common divisor; `gcd(0, d) = d`, so a zero weight reduces to `0 / 1`.
fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The transactions of a block: the union of `tx_ids`, deduplicated and sorted by id, then
/// shuffled (Fisher–Yates) with a ChaCha8 stream seeded by the hash of the concatenated
/// sorted proposal ids ([`proposals_hash`], go-spacemesh `CalcProposalsHash32`); then each
/// account's transactions are put back in nonce order (ties by id) into the places the shuffle
/// gave them (go-spacemesh `ShuffleWithNonceOrder`), so that a block never runs an account's
/// later nonce before an earlier one. `header` gives a transaction's principal and nonce
/// ([`crate::tx::nonce_of`]); one without (bytes that do not decode) keeps its place.
///
/// Differences from go-spacemesh (`getBlockTXs`), which is why blocks built here have other
/// ids than the reference's for the same output:
///
/// - the reference draws from MT19937 (seeded with the hash read as LE u64 words) through Go's
///   `math/rand`; here the stream is ChaCha8 and the index draw is an explicit rejection
///   sampler, so the order cannot change with a `rand` release;
/// - the reference also drops transactions its conservative state finds infeasible, and
///   prunes to the block gas limit; here execution skips infeasible ones as ineffective and
///   the caller truncates to a count ([`BlockConfig::txs_max`]).
pub fn order_transactions(
    sorted_proposals: &[ProposalId],
    tx_ids: impl IntoIterator<Item = Hash32>,
    header: impl Fn(&Hash32) -> Option<(Address, u64)>,
) -> Vec<Hash32> {
    debug_assert!(sorted_proposals.windows(2).all(|w| w[0] < w[1]), "proposals sorted");
    let mut txs: Vec<Hash32> = tx_ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    let mut rng = ChaCha8Rng::from_seed(proposals_hash(sorted_proposals).0);
    for i in (1..txs.len()).rev() {
        let j = uniform_below(&mut rng, i as u64 + 1);
        txs.swap(i, j as usize);
    }
    // Each account's places in the shuffle, and its transactions by nonce.
    let mut accounts: BTreeMap<Address, AccountPlaces> = BTreeMap::new();
    for (place, id) in txs.iter().enumerate() {
        if let Some((principal, nonce)) = header(id) {
            let (places, by_nonce) = accounts.entry(principal).or_default();
            places.push(place);
            by_nonce.push((nonce, *id));
        }
    }
    for (places, mut by_nonce) in accounts.into_values() {
        by_nonce.sort_unstable();
        for (place, (_, id)) in places.into_iter().zip(by_nonce) {
            txs[place] = id;
        }
    }
    txs
}

/// An account's places in a shuffled block and its transactions as `(nonce, id)`.
type AccountPlaces = (Vec<usize>, Vec<(u64, Hash32)>);

/// A uniform draw from `0..n` (`n > 0`): rejection of the top `2^64 mod n` values of a u64, so
/// that the rest split evenly into `n` classes.
fn uniform_below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    assert!(n > 0, "empty range");
    let rejected = (u64::MAX % n + 1) % n; // 2^64 mod n
    loop {
        let x = rng.next_u64();
        if x <= u64::MAX - rejected {
            return x % n;
        }
    }
}

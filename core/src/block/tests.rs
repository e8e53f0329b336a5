use proptest::prelude::*;

use super::*;
use crate::codec::{DecodeError, Encode, decode_exact};
use crate::types::{Hash32, LayerId, ProposalId};

fn pid(i: u8) -> ProposalId {
    ProposalId([i; 20])
}

fn tx(i: u16) -> Hash32 {
    let mut b = [0u8; 32];
    b[..2].copy_from_slice(&i.to_be_bytes());
    Hash32(b)
}

fn info(i: u8, weight: u64, eligibilities: u32, slots: u32, txs: &[u16]) -> ProposalInfo {
    ProposalInfo {
        id: pid(i),
        atx: Hash32([i.wrapping_add(100); 32]),
        atx_weight: weight,
        atx_base_height: 10 * u64::from(i),
        slots,
        eligibilities,
        tx_ids: txs.iter().map(|&t| tx(t)).collect(),
    }
}

fn build_sim(proposals: &[ProposalInfo]) -> Result<Option<Block>, BlockError> {
    build(&BlockConfig::sim(), LayerId(9), proposals, no_header)
}

/// Transactions whose bytes are not at hand (order by the shuffle alone).
fn no_header(_: &Hash32) -> Option<(crate::account::Address, u64)> {
    None
}

/// An empty hare output gives no block.
#[test]
fn empty_output_gives_no_block() {
    assert_eq!(build_sim(&[]), Ok(None));
}

/// The block does not depend on the order of the hare output: all six orders of three
/// proposals give one id and one encoding.
#[test]
fn order_of_proposals_does_not_matter() {
    let ps = [info(3, 90, 2, 6, &[1, 2, 3]), info(1, 40, 1, 4, &[3, 4]), info(2, 7, 1, 3, &[9])];
    let reference = build_sim(&ps).unwrap().unwrap();
    for order in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
        let permuted: Vec<ProposalInfo> = order.iter().map(|&i| ps[i].clone()).collect();
        let block = build_sim(&permuted).unwrap().unwrap();
        assert_eq!(block.id(), reference.id());
        assert_eq!(block.encode(), reference.encode());
    }
}

/// Rewards are one per ATX, sorted by ATX id, with weights reduced to lowest terms.
#[test]
fn reward_ratios_are_reduced_and_sorted() {
    let ps = [
        info(1, 100, 2, 8, &[]), // 200/8 = 25/1
        info(2, 7, 1, 3, &[]),   // 7/3
        info(3, 6, 2, 4, &[]),   // 12/4 = 3/1
        info(4, 0, 1, 5, &[]),   // 0/5 = 0/1
        info(5, 9, 4, 6, &[]),   // 36/6 = 6/1
        info(6, 10, 3, 4, &[]),  // 30/4 = 15/2
    ];
    let block = build_sim(&ps).unwrap().unwrap();
    let got: Vec<(u64, u64)> =
        block.inner.rewards.iter().map(|r| (r.weight.num, r.weight.den)).collect();
    assert_eq!(got, [(25, 1), (7, 3), (3, 1), (0, 1), (6, 1), (15, 2)]);
    let atxs: Vec<_> = block.inner.rewards.iter().map(|r| r.atx).collect();
    assert!(atxs.windows(2).all(|w| w[0] < w[1]), "sorted by ATX id");
    assert_eq!(atxs[0], ps[0].atx);
}

/// The largest weights still reduce exactly; a numerator over u64 is an error, not a
/// truncation.
#[test]
fn reward_overflow_is_an_error() {
    let ok = build_sim(&[info(1, u64::MAX, 3, 3, &[])]).unwrap().unwrap();
    assert_eq!(ok.inner.rewards[0].weight, Ratio { num: u64::MAX, den: 1 });
    let p = info(1, u64::MAX - 1, 2, 3, &[]); // 2^64 - 2 is not a multiple of 3
    assert_eq!(build_sim(std::slice::from_ref(&p)), Err(BlockError::RewardOverflow(p.atx)));
}

/// Two proposals with the same ATX abort the block; so do a proposal listed twice and
/// eligibility counts no valid proposal has.
#[test]
fn malformed_outputs_are_errors() {
    let mut twin = info(2, 10, 1, 2, &[]);
    twin.atx = info(1, 10, 1, 2, &[]).atx;
    assert_eq!(
        build_sim(&[info(1, 10, 1, 2, &[]), twin.clone()]),
        Err(BlockError::DuplicateAtx(twin.atx))
    );
    assert_eq!(
        build_sim(&[info(1, 10, 1, 2, &[]), info(1, 10, 1, 2, &[])]),
        Err(BlockError::DuplicateProposal(pid(1)))
    );
    for (e, s) in [(0, 2), (1, 0), (3, 2)] {
        assert_eq!(
            build_sim(&[info(1, 10, e, s, &[])]),
            Err(BlockError::BadEligibilities { id: pid(1), eligibilities: e, slots: s })
        );
    }
    let many: Vec<ProposalInfo> = (0..=REWARDS_MAX)
        .map(|i| {
            let mut p = info(0, 1, 1, 1, &[]);
            p.id.0[..8].copy_from_slice(&(i as u64).to_be_bytes());
            p.atx.0[..8].copy_from_slice(&(i as u64).to_be_bytes());
            p
        })
        .collect();
    assert_eq!(
        build_sim(&many),
        Err(BlockError::TooManyProposals { count: REWARDS_MAX + 1, max: REWARDS_MAX })
    );
    assert!(build_sim(&many[..REWARDS_MAX]).unwrap().is_some(), "the bound itself is fine");
}

/// The tick height is the highest base height of the proposals' ATXs.
#[test]
fn tick_height_is_max_base_height() {
    let block = build_sim(&[info(4, 1, 1, 1, &[]), info(7, 1, 1, 1, &[]), info(2, 1, 1, 1, &[])])
        .unwrap()
        .unwrap();
    assert_eq!(block.inner.tick_height, 70);
    assert_eq!(block.layer(), LayerId(9));
}

/// Transactions are the deduplicated union, shuffled away from sorted order by a seed that
/// depends on the proposal set, and truncated to `txs_max` after the shuffle.
#[test]
fn transactions_are_a_seeded_shuffle_of_the_union() {
    let a: Vec<u16> = (0..60).collect();
    let b: Vec<u16> = (40..100).collect();
    let ps = [info(1, 1, 1, 1, &a), info(2, 1, 1, 1, &b)];
    let block = build_sim(&ps).unwrap().unwrap();
    let txs = block.inner.tx_ids.to_vec();
    let mut sorted = txs.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).map(tx).collect::<Vec<_>>(), "the union, each once");
    assert_ne!(txs, sorted, "shuffled");

    let other = [info(1, 1, 1, 1, &a), info(3, 1, 1, 1, &b)];
    let other_txs = build_sim(&other).unwrap().unwrap().inner.tx_ids.to_vec();
    assert_ne!(other_txs, txs, "another proposal set seeds another order");

    let short = build(&BlockConfig { txs_max: 10 }, LayerId(9), &ps, no_header).unwrap().unwrap();
    assert_eq!(short.inner.tx_ids[..], txs[..10]);
}

/// The shuffle is pinned: a change to the order (rand, rand_chacha or the sampler) changes
/// block ids and must be deliberate.
#[test]
fn transaction_order_is_pinned() {
    let ids = [pid(1), pid(2)];
    let order: Vec<u16> = order_transactions(&ids, (0..8).map(tx), no_header)
        .iter()
        .map(|h| u16::from_be_bytes([h.0[0], h.0[1]]))
        .collect();
    insta::assert_snapshot!(format!("{order:?}"), @"[2, 5, 1, 7, 6, 4, 0, 3]");
}

/// Each account's transactions keep nonce order in the places the shuffle gave them; other
/// accounts' places and transactions without a header do not move.
#[test]
fn accounts_keep_nonce_order() {
    use crate::account::Address;
    let ids = [pid(1), pid(2)];
    // Transactions 0..8: even ones of account A with nonce 10 − i, odd ones of account B with
    // nonce i, and 7 without a header.
    let header = |h: &Hash32| {
        let i = u16::from_be_bytes([h.0[0], h.0[1]]);
        match i {
            7 => None,
            i if i % 2 == 0 => Some((Address([1; 24]), 10 - u64::from(i))),
            i => Some((Address([2; 24]), u64::from(i))),
        }
    };
    let num = |v: Vec<Hash32>| -> Vec<u16> {
        v.iter().map(|h| u16::from_be_bytes([h.0[0], h.0[1]])).collect()
    };
    let plain = num(order_transactions(&ids, (0..8).map(tx), no_header));
    let ordered = num(order_transactions(&ids, (0..8).map(tx), header));
    // The plain shuffle is [2, 5, 1, 7, 6, 4, 0, 3]: A holds places 0, 4, 5, 6; B 1, 2, 7.
    assert_eq!(plain, [2, 5, 1, 7, 6, 4, 0, 3]);
    assert_eq!(ordered, [6, 1, 3, 7, 4, 2, 0, 5]);
}

/// A ratio with a zero denominator does not decode; the block round-trips.
#[test]
fn codec_round_trip_and_zero_denominator() {
    let block = build_sim(&[info(1, 10, 1, 3, &[1, 2])]).unwrap().unwrap();
    assert_eq!(decode_exact::<Block>(&block.encode()), Ok(block.clone()));
    assert_eq!(block.encode(), block.inner.encode(), "a block encodes as its inner block");
    let bad = Ratio { num: 1, den: 0 }.encode();
    assert_eq!(
        decode_exact::<Ratio>(&bad),
        Err(DecodeError::InvalidValue("ratio with a zero denominator"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any permutation of any valid hare output builds the same block, which decodes back.
    #[test]
    fn any_order_same_block(
        specs in proptest::collection::btree_map(
            any::<u8>(),
            (0u64..1 << 40, 1u32..50, proptest::collection::vec(0u16..300, 0..20)),
            1..12,
        ),
        swaps in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..20),
    ) {
        let ps: Vec<ProposalInfo> = specs
            .iter()
            .map(|(&i, (w, slots, txs))| info(i, *w, 1 + slots / 2, *slots, txs))
            .collect();
        let mut permuted = ps.clone();
        for (a, b) in swaps {
            let (a, b) = (a.index(permuted.len()), b.index(permuted.len()));
            permuted.swap(a, b);
        }
        let x = build_sim(&ps).unwrap().unwrap();
        let y = build_sim(&permuted).unwrap().unwrap();
        prop_assert_eq!(x.id(), y.id());
        prop_assert_eq!(decode_exact::<Block>(&x.encode()), Ok(x));
    }
}

use proptest::prelude::*;

use super::*;
use crate::block::{InnerBlock, Ratio, Reward};
use crate::codec::{BoundedVec, Encode};
use crate::crypto::Ed25519Verifier;
use crate::rewards::{ONE_SMESH, layer_subsidy};
use crate::state::{Account, EMPTY_ROOT};

/// A reward of a test block: ATX, weight numerator and denominator.
type Spec = (u8, u64, u64);
/// A layer of a test history: `None` is empty.
type Layer = Option<Vec<Spec>>;

/// The effective genesis of every test.
const G: LayerId = LayerId(10);

fn cfg(revert_max: u32) -> MeshConfig {
    MeshConfig { revert_max, block_gas_limit: 100_000_000 }
}

fn no_tx(_: &Hash32) -> Option<Bytes> {
    None
}

/// What blocks without transactions need.
fn env() -> ApplyEnv<'static> {
    ApplyEnv {
        coinbase: &coinbase,
        tx: &no_tx,
        genesis: crate::types::GenesisId([0; 20]),
        verifier: &Ed25519Verifier,
    }
}

fn at(offset: u32) -> LayerId {
    LayerId(G.0 + offset)
}

fn atx(i: u8) -> AtxId {
    Hash32([i; 32])
}

fn address(i: u8) -> Address {
    Address([i; 24])
}

/// ATXs 1..=8 are known; 1, 4 and 7 share coinbase 1, 2, 5 and 8 coinbase 2, 3 and 6 coinbase 3.
fn coinbase(id: &AtxId) -> Option<Address> {
    let i = id.0[0];
    (1..=8).contains(&i).then(|| address((i - 1) % 3 + 1))
}

/// A block for `layer` with rewards `(atx, num, den)`.
fn block(layer: LayerId, rewards: &[Spec]) -> Block {
    let rewards = rewards
        .iter()
        .map(|&(i, num, den)| Reward { atx: atx(i), weight: Ratio { num, den } })
        .collect();
    Block {
        inner: InnerBlock {
            layer,
            tick_height: 0,
            rewards: BoundedVec::new(rewards).unwrap(),
            tx_ids: BoundedVec::default(),
        },
    }
}

/// Applies the next layer with rewards (`None`: empty), folding the batch into `snapshot`.
fn step(mesh: &mut Mesh, snapshot: &mut Snapshot, rewards: Option<&[Spec]>) -> AppliedLayer {
    let layer = LayerId(mesh.applied().0 + 1);
    let b = rewards.map(|r| block(layer, r));
    let applied = mesh.apply(layer, b.as_ref(), &env()).unwrap();
    applied.batch.apply_to(snapshot);
    mesh.check_invariants();
    applied.layer
}

/// What two meshes must agree on: applied layer, balances, issuance, and every layer both keep.
fn assert_same(a: &Mesh, b: &Mesh) {
    assert_eq!(a.applied(), b.applied());
    assert_eq!(a.ledger().accounts(), b.ledger().accounts());
    assert_eq!(a.ledger().root(), b.ledger().root());
    assert_eq!((a.total_issued(), a.total_fees()), (b.total_issued(), b.total_fees()));
    let lowest = a.revertible_to().max(b.revertible_to());
    for l in lowest.0..=a.applied().0 {
        assert_eq!(a.layer(LayerId(l)), b.layer(LayerId(l)), "layer {l}");
    }
}

/// A new mesh has applied nothing: the genesis pseudo-layer carries the genesis hashes.
#[test]
fn new_mesh_starts_at_the_genesis() {
    let mesh = Mesh::new(cfg(5), G);
    mesh.check_invariants();
    assert_eq!(mesh.applied(), G);
    assert_eq!(mesh.revertible_to(), G);
    let genesis = mesh.layer(G).unwrap();
    assert_eq!(
        (genesis.state, genesis.aggregated),
        (genesis_state(&EMPTY_ROOT), genesis_aggregated())
    );
    assert_eq!((genesis.block, genesis.issued), (None, 0));
    assert_eq!((accounts(&mesh), mesh.total_issued()), (0, 0));
    assert_eq!(genesis.root, EMPTY_ROOT);
    assert!(mesh.layer(at(1)).is_none());
}

/// The first layer mints subsidy 0, split by exact weight; ATXs with one coinbase credit their
/// sum, and the dust of the floors is burnt.
#[test]
fn apply_credits_coinbases_by_weight() {
    let mut mesh = Mesh::new(cfg(5), G);
    let b = block(at(1), &[(1, 1, 3), (2, 1, 3), (4, 1, 3)]);
    let Applied { layer: applied, batch, changes, txs } =
        mesh.apply(at(1), Some(&b), &env()).unwrap();
    mesh.check_invariants();
    assert!(txs.is_empty());
    let subsidy = layer_subsidy(0);
    assert!(subsidy > 400 * ONE_SMESH, "a sensible subsidy: {subsidy}");
    let third = subsidy / 3;
    assert_eq!(mesh.balance(&address(1)), 2 * third, "ATXs 1 and 4 share coinbase 1");
    assert_eq!(mesh.balance(&address(2)), third);
    assert_eq!(mesh.balance(&address(3)), 0);
    assert_eq!(applied.issued, 3 * third);
    assert!(subsidy - applied.issued < 3, "less than a smidge per ATX is burnt");
    assert_eq!((accounts(&mesh), mesh.total_issued()), (2, applied.issued));
    assert_eq!(applied.block, Some(b.id()));
    assert_eq!(mesh.layer(at(1)), Some(&applied));
    let credited = |n: u64| Account { balance: n, next_nonce: 0, spawned: None };
    assert_eq!(
        changes[..],
        [
            Change { address: address(1), before: Account::default(), after: credited(2 * third) },
            Change { address: address(2), before: Account::default(), after: credited(third) },
        ]
    );
    // The record, two balances and the applied layer.
    assert_eq!(batch.ops.len(), 4);
}

/// The second layer after the genesis mints subsidy 1, which is smaller than subsidy 0.
#[test]
fn subsidy_follows_the_layer_index() {
    let mut mesh = Mesh::new(cfg(5), G);
    let mut snapshot = Snapshot::new();
    let first = step(&mut mesh, &mut snapshot, Some(&[(1, 1, 1)]));
    let second = step(&mut mesh, &mut snapshot, Some(&[(1, 1, 1)]));
    assert_eq!((first.issued, second.issued), (layer_subsidy(0), layer_subsidy(1)));
    assert!(second.issued < first.issued);
    assert_eq!(mesh.balance(&address(1)), first.issued + second.issued);
}

/// An empty layer issues nothing and credits no one, but still advances both hash chains.
#[test]
fn empty_layer_chains_hashes() {
    let mut mesh = Mesh::new(cfg(5), G);
    let Applied { layer: applied, batch, .. } = mesh.apply(at(1), None, &env()).unwrap();
    mesh.check_invariants();
    assert_eq!((applied.block, applied.issued, accounts(&mesh)), (None, 0, 0));
    assert_eq!(
        applied.state,
        state_hash(&genesis_state(&EMPTY_ROOT), at(1), None, &EMPTY_ROOT, 0, 0)
    );
    assert_eq!(applied.aggregated, aggregated_hash(&genesis_aggregated(), None));
    assert_ne!(applied.state, genesis_state(&EMPTY_ROOT));
    assert_eq!(batch.ops.len(), 2, "the record and the applied layer");
}

/// Every refused apply leaves the mesh exactly as it was.
#[test]
fn refused_applies_change_nothing() {
    let mut mesh = Mesh::new(cfg(5), G);
    let mut snapshot = Snapshot::new();
    step(&mut mesh, &mut snapshot, Some(&[(1, 1, 1)]));
    let before = mesh.clone();
    let next = at(2);
    let cases: Vec<(LayerId, Block, MeshError)> = vec![
        (at(1), block(at(1), &[(1, 1, 1)]), MeshError::NotNext { layer: at(1), applied: at(1) }),
        (at(3), block(at(3), &[(1, 1, 1)]), MeshError::NotNext { layer: at(3), applied: at(1) }),
        (
            next,
            block(at(3), &[(1, 1, 1)]),
            MeshError::WrongBlockLayer {
                block: block(at(3), &[(1, 1, 1)]).id(),
                block_layer: at(3),
                layer: next,
            },
        ),
        (
            next,
            block(next, &[(1, 1, 1), (200, 1, 1)]),
            MeshError::UnknownAtx { layer: next, atx: atx(200) },
        ),
        (
            next,
            block(next, &[(1, 0, 1), (2, 0, 3)]),
            MeshError::Split { layer: next, error: SplitError::ZeroWeight },
        ),
        (next, block(next, &[]), MeshError::Split { layer: next, error: SplitError::ZeroWeight }),
    ];
    for (layer, b, expected) in cases {
        assert_eq!(mesh.apply(layer, Some(&b), &env()).unwrap_err(), expected);
        assert_eq!(mesh, before);
    }
    assert_eq!(
        mesh.apply(LayerId(0), None, &env()).unwrap_err(),
        MeshError::NotNext { layer: LayerId(0), applied: at(1) }
    );
    assert_eq!(mesh, before);
}

/// A share of zero (a zero weight beside positive ones) resolves its coinbase but credits
/// nothing, so no empty account appears.
#[test]
fn zero_shares_create_no_account() {
    let mut mesh = Mesh::new(cfg(5), G);
    let mut snapshot = Snapshot::new();
    let applied = step(&mut mesh, &mut snapshot, Some(&[(1, 1, 1), (2, 0, 1)]));
    assert_eq!(applied.issued, layer_subsidy(0));
    assert_eq!(accounts(&mesh), 1);
}

/// Reverting to any earlier layer gives back exactly the mesh and the store of that time.
#[test]
fn revert_restores_exactly() {
    let history: [Option<&[Spec]>; 5] = [
        Some(&[(1, 1, 2), (2, 1, 2)]),
        None,
        Some(&[(3, 7, 3), (4, 1, 9), (5, 2, 1)]),
        Some(&[(2, 1, 1)]),
        None,
    ];
    let mut mesh = Mesh::new(cfg(10), G);
    let mut snapshot = Snapshot::new();
    let mut meshes = vec![mesh.clone()];
    let mut snapshots = vec![snapshot.clone()];
    for rewards in history {
        step(&mut mesh, &mut snapshot, rewards);
        meshes.push(mesh.clone());
        snapshots.push(snapshot.clone());
    }
    for k in (0..=5u32).rev() {
        let mut m = mesh.clone();
        let mut s = snapshot.clone();
        m.revert(at(k)).unwrap().0.apply_to(&mut s);
        m.check_invariants();
        assert_eq!(m, meshes[k as usize], "revert to {k}");
        assert_eq!(s, snapshots[k as usize], "store after revert to {k}");
    }
    assert!(
        mesh.revert(mesh.applied()).unwrap().0.ops.is_empty(),
        "reverting to the top is a no-op"
    );
}

/// Reverts above the applied layer, below the genesis or below the kept undo information are
/// refused and change nothing.
#[test]
fn refused_reverts_change_nothing() {
    let mut mesh = Mesh::new(cfg(2), G);
    let mut snapshot = Snapshot::new();
    step(&mut mesh, &mut snapshot, Some(&[(1, 1, 1)]));
    assert_eq!(
        mesh.revert(LayerId(G.0 - 1)).unwrap_err(),
        MeshError::RevertTooDeep { to: LayerId(G.0 - 1), lowest: G }
    );
    for _ in 0..4 {
        step(&mut mesh, &mut snapshot, Some(&[(2, 1, 1)]));
    }
    let before = mesh.clone();
    assert_eq!(mesh.revertible_to(), at(3));
    assert_eq!(
        mesh.revert(at(6)).unwrap_err(),
        MeshError::RevertAhead { to: at(6), applied: at(5) }
    );
    assert_eq!(
        mesh.revert(at(2)).unwrap_err(),
        MeshError::RevertTooDeep { to: at(2), lowest: at(3) }
    );
    assert_eq!(mesh, before);
    mesh.revert(at(3)).unwrap();
    mesh.check_invariants();
    assert_eq!(mesh.applied(), at(3));
}

/// Memory keeps revert_max + 1 layers; older ones are forgotten, and with revert_max 0 no
/// revert is possible.
#[test]
fn kept_layers_are_bounded() {
    let mut mesh = Mesh::new(cfg(3), G);
    let mut snapshot = Snapshot::new();
    for _ in 0..10 {
        step(&mut mesh, &mut snapshot, Some(&[(1, 1, 1)]));
    }
    assert!(mesh.layer(at(6)).is_none());
    assert!(mesh.layer(at(7)).is_some());
    assert_eq!(mesh.revertible_to(), at(7));
    let mut none = Mesh::new(cfg(0), G);
    let mut s = Snapshot::new();
    step(&mut none, &mut s, None);
    assert_eq!(none.revertible_to(), at(1));
    assert!(none.layer(G).is_none());
    assert_eq!(none.revert(G).unwrap_err(), MeshError::RevertTooDeep { to: G, lowest: at(1) });
}

/// Restore gives the same mesh as the one whose batches were persisted, also with a smaller
/// revert_max; an empty snapshot (or one of other modules only) gives a new mesh.
#[test]
fn restore_round_trips() {
    let mut other = Snapshot::new();
    other.insert(b"malfeasance/x".to_vec(), vec![1]);
    other.insert(b"tortoise".to_vec(), vec![2]);
    assert_eq!(Mesh::restore(cfg(5), G, &Snapshot::new()).unwrap(), Mesh::new(cfg(5), G));
    assert_eq!(Mesh::restore(cfg(5), G, &other).unwrap(), Mesh::new(cfg(5), G));
    let (mesh, snapshot) = sample();
    assert_eq!(Mesh::restore(cfg(5), G, &snapshot).unwrap(), mesh);
    let small = Mesh::restore(cfg(1), G, &snapshot).unwrap();
    small.check_invariants();
    assert_same(&small, &mesh);
    assert_eq!(small.revertible_to(), at(3));
}

/// A mesh of four layers with three accounts, and its store.
fn sample() -> (Mesh, Snapshot) {
    let mut mesh = Mesh::new(cfg(5), G);
    let mut snapshot = Snapshot::new();
    step(&mut mesh, &mut snapshot, Some(&[(1, 1, 2), (2, 1, 2)]));
    step(&mut mesh, &mut snapshot, None);
    step(&mut mesh, &mut snapshot, Some(&[(3, 7, 3), (4, 1, 9)]));
    step(&mut mesh, &mut snapshot, Some(&[(2, 1, 1)]));
    (mesh, snapshot)
}

/// Flipping any bit of any stored mesh value, or dropping any mesh key, makes restore fail.
#[test]
fn restore_refuses_any_corrupted_byte() {
    let (_, snapshot) = sample();
    let keys: Vec<Vec<u8>> = snapshot.keys().cloned().collect();
    assert_eq!(keys.len(), 4 + 3 + 1);
    for key in &keys {
        let value = &snapshot[key];
        for i in 0..value.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = snapshot.clone();
                bad.get_mut(key).unwrap()[i] ^= bit;
                assert!(
                    Mesh::restore(cfg(5), G, &bad).is_err(),
                    "flipped {bit:#x} at byte {i} of {key:02x?}"
                );
            }
        }
        let mut bad = snapshot.clone();
        bad.remove(key);
        assert!(Mesh::restore(cfg(5), G, &bad).is_err(), "dropped {key:02x?}");
    }
}

/// Each kind of inconsistency is reported with its own error.
#[test]
fn restore_names_the_inconsistency() {
    let (mesh, snapshot) = sample();
    let restore = |edit: &dyn Fn(&mut Snapshot)| {
        let mut s = snapshot.clone();
        edit(&mut s);
        Mesh::restore(cfg(5), G, &s).unwrap_err()
    };
    let layer_key = |l: LayerId| [LAYER_PREFIX, &l.0.to_be_bytes()].concat();
    let account_key = |a: Address| [ACCOUNT_PREFIX, &a.0].concat();

    assert_eq!(
        restore(&|s| {
            s.remove(&layer_key(at(2)));
        }),
        MeshError::LayerGap { expected: at(2), found: at(3) }
    );
    assert_eq!(
        restore(&|s| {
            let v = s[&layer_key(at(1))].clone();
            s.insert(layer_key(G), v);
        }),
        MeshError::LayerGap { expected: at(1), found: G }
    );
    assert!(matches!(
        restore(&|s| {
            s.get_mut(&layer_key(at(3))).unwrap().pop();
        }),
        MeshError::BadRecord { layer, .. } if layer == at(3)
    ));
    assert_eq!(
        restore(&|s| {
            s.get_mut(&layer_key(at(3))).unwrap()[5] ^= 1;
        }),
        MeshError::HashMismatch(at(3))
    );
    let five = Account { balance: 5, next_nonce: 0, spawned: None };
    assert_eq!(
        restore(&|s| {
            s.insert(account_key(address(2)), five.encode());
        }),
        MeshError::AccountMismatch {
            address: address(2),
            stored: Box::new(Some(five.clone())),
            replayed: Box::new(Some(mesh.account(&address(2)))),
        }
    );
    assert_eq!(
        restore(&|s| {
            s.insert(account_key(address(9)), five.encode());
        }),
        MeshError::AccountMismatch {
            address: address(9),
            stored: Box::new(Some(five.clone())),
            replayed: Box::new(None)
        }
    );
    assert!(matches!(
        restore(&|s| {
            s.insert(account_key(address(9)), vec![5]);
        }),
        MeshError::BadAccount { .. }
    ));
    assert_eq!(
        restore(&|s| {
            s.insert(b"mesh/zzz".to_vec(), vec![]);
        }),
        MeshError::BadKey(b"mesh/zzz".to_vec())
    );
    assert_eq!(
        restore(&|s| {
            s.insert([LAYER_PREFIX, &[0, 0, 1]].concat(), vec![]);
        }),
        MeshError::BadKey([LAYER_PREFIX, &[0, 0, 1]].concat())
    );
    assert_eq!(
        restore(&|s| {
            s.remove(&layer_key(at(4)));
        }),
        MeshError::AppliedMismatch { stored: Some(at(4)), replayed: at(3) }
    );
    assert!(matches!(
        restore(&|s| {
            s.insert(APPLIED_KEY.to_vec(), vec![1]);
        }),
        MeshError::BadApplied(_)
    ));
}

/// Accounts of another history are refused although every record chains; a self-consistent
/// record that issues more than its layer's subsidy is refused, and so is one whose changes do
/// not add up to what it issued.
#[test]
fn restore_checks_forged_records() {
    let mut forged = Mesh::new(cfg(5), G);
    let mut snapshot = Snapshot::new();
    step(&mut forged, &mut snapshot, Some(&[(1, 1, 1)]));
    let mut honest = Snapshot::new();
    step(&mut Mesh::new(cfg(5), G), &mut honest, Some(&[(2, 1, 1)]));
    // The honest record with the forged layer's accounts.
    let mut s = honest.clone();
    for (k, v) in &snapshot {
        if k.starts_with(ACCOUNT_PREFIX) {
            s.insert(k.clone(), v.clone());
        }
    }
    s.remove(&[ACCOUNT_PREFIX, &address(2).0].concat());
    assert!(matches!(
        Mesh::restore(cfg(5), G, &s).unwrap_err(),
        MeshError::AccountMismatch { address: a, .. } if a == address(1)
    ));

    let forge = |issued: u64, balance: u64| {
        let after = Account { balance, next_nonce: 0, spawned: None };
        let mut ledger = crate::state::Ledger::new(1);
        let (_, changes) = ledger.apply(at(1), |a| a.credit(address(1), balance));
        let b = block(at(1), &[(1, 1, 1)]);
        let record = LayerRecord {
            block: Some(b.id()),
            state: state_hash(
                &genesis_state(&EMPTY_ROOT),
                at(1),
                Some(b.id()),
                &ledger.root(),
                issued,
                0,
            ),
            aggregated: aggregated_hash(&genesis_aggregated(), Some(b.id())),
            root: ledger.root(),
            issued,
            fees: 0,
            txs: BoundedVec::new(Vec::new()).unwrap(),
            changes: BoundedVec::new(changes.to_vec()).unwrap(),
        };
        let mut s = Snapshot::new();
        s.insert([LAYER_PREFIX, &at(1).0.to_be_bytes()].concat(), record.encode());
        s.insert([ACCOUNT_PREFIX, &address(1).0].concat(), after.encode());
        s.insert(APPLIED_KEY.to_vec(), at(1).0.to_le_bytes().to_vec());
        Mesh::restore(cfg(5), G, &s)
    };
    let amount = layer_subsidy(0) + 1;
    assert_eq!(forge(amount, amount).unwrap_err(), MeshError::BadSupply(at(1)));
    assert_eq!(forge(5, 6).unwrap_err(), MeshError::BadSupply(at(1)));
    forge(5, 5).unwrap().check_invariants();
}

/// Golden hashes of a fixed three-layer history: a change to the formulas, the subsidy or the
/// split shows up here.
#[test]
fn golden_hashes() {
    let mut mesh = Mesh::new(cfg(5), G);
    let mut snapshot = Snapshot::new();
    step(&mut mesh, &mut snapshot, Some(&[(1, 1, 3), (2, 2, 3)]));
    step(&mut mesh, &mut snapshot, None);
    step(&mut mesh, &mut snapshot, Some(&[(1, 1, 1), (3, 1, 1), (4, 5, 2)]));
    let lines: Vec<String> = (0..=3)
        .map(|k| {
            let l = mesh.layer(at(k)).unwrap();
            let block = l.block.map_or("none".to_string(), |b| b.to_string());
            format!(
                "{}: block {block}\n  state {}\n  aggregated {}\n  root {}\n  issued {}",
                l.layer, l.state, l.aggregated, l.root, l.issued
            )
        })
        .collect();
    let balances: Vec<String> =
        mesh.ledger().accounts().iter().map(|(a, acc)| format!("{a:?}: {}", acc.balance)).collect();
    insta::assert_snapshot!(format!("{}\nbalances: {}", lines.join("\n"), balances.join(", ")));
}

/// A layer of a random history: `None` is empty, otherwise rewards by ATX with positive weights.
fn arb_layer() -> impl Strategy<Value = Layer> {
    prop::option::weighted(
        0.8,
        prop::collection::btree_map(1u8..=8, (1u64..1000, 1u64..20), 1..6)
            .prop_map(|m| m.into_iter().map(|(i, (num, den))| (i, num, den)).collect()),
    )
}

fn apply_all(mesh: &mut Mesh, snapshot: &mut Snapshot, history: &[Layer]) {
    for rewards in history {
        step(mesh, snapshot, rewards.as_deref());
    }
}

/// One step of a random run.
#[derive(Debug, Clone)]
enum Op {
    Apply(Layer),
    Revert(u32),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![3 => arb_layer().prop_map(Op::Apply), 1 => (0u32..8).prop_map(Op::Revert)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Reverting to any layer gives the mesh of that time, and re-applying the same layers gives
    /// the same hashes and balances as before.
    #[test]
    fn revert_and_reapply_is_identity(
        history in prop::collection::vec(arb_layer(), 1..24),
        k in any::<prop::sample::Index>(),
    ) {
        let k = k.index(history.len() + 1);
        let mut mesh = Mesh::new(cfg(32), G);
        let mut snapshot = Snapshot::new();
        let mut meshes = vec![mesh.clone()];
        for rewards in &history {
            step(&mut mesh, &mut snapshot, rewards.as_deref());
            meshes.push(mesh.clone());
        }
        let full = (mesh.clone(), snapshot.clone());
        mesh.revert(at(k as u32)).unwrap().0.apply_to(&mut snapshot);
        mesh.check_invariants();
        prop_assert_eq!(&mesh, &meshes[k]);
        apply_all(&mut mesh, &mut snapshot, &history[k..]);
        prop_assert_eq!(&mesh, &full.0);
        prop_assert_eq!(&snapshot, &full.1);
    }

    /// Reverting and applying another history gives what a fresh mesh gets from the final
    /// history, in memory and in the store.
    #[test]
    fn revert_then_other_history_equals_fresh(
        first in prop::collection::vec(arb_layer(), 1..16),
        second in prop::collection::vec(arb_layer(), 0..16),
        revert_max in 1u32..8,
        k in any::<prop::sample::Index>(),
    ) {
        let mut mesh = Mesh::new(cfg(revert_max), G);
        let mut snapshot = Snapshot::new();
        apply_all(&mut mesh, &mut snapshot, &first);
        let k = (mesh.revertible_to().0 - G.0) as usize
            + k.index((mesh.applied().0 - mesh.revertible_to().0) as usize + 1);
        mesh.revert(at(k as u32)).unwrap().0.apply_to(&mut snapshot);
        mesh.check_invariants();
        apply_all(&mut mesh, &mut snapshot, &second);

        let mut fresh = Mesh::new(cfg(revert_max), G);
        let mut fresh_snapshot = Snapshot::new();
        apply_all(&mut fresh, &mut fresh_snapshot, &first[..k]);
        apply_all(&mut fresh, &mut fresh_snapshot, &second);
        assert_same(&mesh, &fresh);
        prop_assert_eq!(snapshot, fresh_snapshot);
    }

    /// After every apply or revert, restoring from the batches persisted so far gives the mesh
    /// in memory; refused reverts change nothing.
    #[test]
    fn restore_matches_memory(
        ops in prop::collection::vec(arb_op(), 1..40),
        revert_max in 0u32..6,
    ) {
        let mut mesh = Mesh::new(cfg(revert_max), G);
        let mut snapshot = Snapshot::new();
        for op in ops {
            match op {
                Op::Apply(rewards) => {
                    step(&mut mesh, &mut snapshot, rewards.as_deref());
                }
                Op::Revert(depth) => {
                    let to = LayerId(mesh.applied().0.saturating_sub(depth));
                    let before = mesh.clone();
                    match mesh.revert(to) {
                        Ok((batch, _)) => batch.apply_to(&mut snapshot),
                        Err(e) => {
                            prop_assert!(matches!(e, MeshError::RevertTooDeep { .. }), "{e}");
                            prop_assert_eq!(&mesh, &before);
                        }
                    }
                    mesh.check_invariants();
                }
            }
            let restored = Mesh::restore(cfg(revert_max), G, &snapshot).unwrap();
            restored.check_invariants();
            assert_same(&restored, &mesh);
            prop_assert!(restored.revertible_to() <= mesh.revertible_to());
        }
    }
}

fn accounts(mesh: &Mesh) -> usize {
    mesh.ledger().accounts().iter().count()
}

/// A block's transactions run before its rewards: a wallet funded by a reward spawns and
/// spends, its fees go to the layer's rewards, a missing transaction refuses the whole block,
/// and reverts and restore give back exactly what was there.
#[test]
fn blocks_execute_their_transactions() {
    use crate::tx::{Call, Spend, TxKey};
    let genesis = crate::types::GenesisId([0; 20]);
    let key = TxKey::from_seed([9; 32]);
    let wallet = key.wallet_address();
    let coinbase_9 = move |id: &AtxId| if id.0[0] == 9 { Some(wallet) } else { coinbase(id) };
    let spawn = Bytes::from(key.wallet_spawn(&genesis, 0, 1));
    let pay = Bytes::from(key.wallet_tx(
        &genesis,
        1,
        2,
        Call::Spend(Spend { destination: address(3), amount: 1_000 }),
    ));
    let (spawn_id, pay_id) = (crate::tx::tx_id(&spawn), crate::tx::tx_id(&pay));
    let known = [(spawn_id, spawn.clone()), (pay_id, pay.clone())];
    let lookup = |id: &Hash32| known.iter().find(|(k, _)| k == id).map(|(_, b)| b.clone());
    let env = ApplyEnv { coinbase: &coinbase_9, tx: &lookup, genesis, verifier: &Ed25519Verifier };

    let mut mesh = Mesh::new(cfg(5), G);
    let mut snapshot = Snapshot::new();
    let first = mesh.apply(at(1), Some(&block(at(1), &[(9, 1, 1)])), &env).unwrap();
    first.batch.apply_to(&mut snapshot);
    let (after_first, snapshot_first) = (mesh.clone(), snapshot.clone());

    let mut b = block(at(2), &[(1, 1, 1)]);
    b.inner.tx_ids = BoundedVec::new(vec![spawn_id, pay_id, Hash32([0xaa; 32])]).unwrap();
    assert_eq!(
        mesh.apply(at(2), Some(&b), &env).unwrap_err(),
        MeshError::MissingTx { layer: at(2), tx: Hash32([0xaa; 32]) }
    );
    assert_eq!(mesh, after_first, "a refused block changes nothing");

    b.inner.tx_ids = BoundedVec::new(vec![spawn_id, pay_id, spawn_id]).unwrap();
    let second = mesh.apply(at(2), Some(&b), &env).unwrap();
    second.batch.apply_to(&mut snapshot);
    mesh.check_invariants();
    let statuses: Vec<u8> = second.txs.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [TxResult::SUCCEEDED, TxResult::SUCCEEDED, TxResult::INEFFECTIVE]);
    assert!(second.txs[2].reason().contains("nonce"), "{}", second.txs[2].reason());
    let fees = second.txs[0].fee + second.txs[1].fee;
    assert!(fees > 0);
    assert_eq!(second.layer.fees, fees);
    let w = mesh.account(&wallet);
    assert_eq!((w.next_nonce, w.spawned.is_some()), (2, true));
    assert_eq!(w.balance, first.layer.issued - fees - 1_000);
    assert_eq!(mesh.balance(&address(3)), 1_000);
    assert!(layer_subsidy(1) + fees - second.layer.issued < 2, "fees join the subsidy");
    assert_eq!(mesh.total_issued() - mesh.total_fees(), mesh.ledger().accounts().total() as u64);

    let restored = Mesh::restore(cfg(5), G, &snapshot).unwrap();
    assert_eq!(restored, mesh);
    let (batch, accounts) = mesh.revert(at(1)).unwrap();
    batch.apply_to(&mut snapshot);
    assert_eq!(accounts.iter().map(|(a, _)| *a).collect::<Vec<_>>(), {
        let mut v = vec![wallet, address(1), address(3)];
        v.sort();
        v
    });
    assert_eq!((mesh, snapshot), (after_first, snapshot_first));
}

/// Genesis accounts start with coins; while one holds its genesis value the store has no key
/// for it, and emptying it writes it; restore and reverts agree throughout.
#[test]
fn genesis_accounts_start_funded() {
    use crate::tx::{Call, Spend, TxKey};
    let genesis = crate::types::GenesisId([0; 20]);
    let key = TxKey::from_seed([7; 32]);
    let wallet = key.wallet_address();
    let fund = [(wallet, 10_000_000), (address(5), 3)];
    let new = || Mesh::with_genesis(cfg(5), G, &fund);
    let mesh0 = new();
    mesh0.check_invariants();
    assert_eq!((mesh0.balance(&wallet), mesh0.genesis_total()), (10_000_000, 10_000_003));
    assert_ne!(mesh0.layer(G).unwrap().root, EMPTY_ROOT);
    assert_eq!(mesh0.layer(G).unwrap().state, genesis_state(&mesh0.ledger().root()));
    assert_eq!(new().restore_from(&Snapshot::new()).unwrap(), mesh0);

    // The wallet spawns and sends everything it can beyond the fees away.
    let spawn = Bytes::from(key.wallet_spawn(&genesis, 0, 1));
    let drain = Bytes::from(key.wallet_tx(
        &genesis,
        1,
        1,
        Call::Spend(Spend { destination: address(3), amount: 9_000_000 }),
    ));
    let known = [(crate::tx::tx_id(&spawn), spawn), (crate::tx::tx_id(&drain), drain)];
    let lookup = |id: &Hash32| known.iter().find(|(k, _)| k == id).map(|(_, b)| b.clone());
    let env = ApplyEnv { coinbase: &coinbase, tx: &lookup, genesis, verifier: &Ed25519Verifier };
    let mut mesh = new();
    let mut snapshot = Snapshot::new();
    let mut b = block(at(1), &[(1, 1, 1)]);
    b.inner.tx_ids = BoundedVec::new(known.iter().map(|(k, _)| *k).collect()).unwrap();
    let applied = mesh.apply(at(1), Some(&b), &env).unwrap();
    assert!(applied.txs.iter().all(|r| r.status == TxResult::SUCCEEDED), "{:?}", applied.txs);
    applied.batch.apply_to(&mut snapshot);
    mesh.check_invariants();
    assert!(!snapshot.contains_key(&[ACCOUNT_PREFIX, &address(5).0].concat()));
    assert_eq!(new().restore_from(&snapshot).unwrap(), mesh);
    let (batch, _) = mesh.revert(G).unwrap();
    batch.apply_to(&mut snapshot);
    assert_eq!(mesh, mesh0);
    assert!(snapshot.is_empty(), "a full revert leaves no mesh key: {snapshot:?}");
    // A store of the accounts without the genesis ones misses the wallet's change.
    assert!(
        Mesh::restore(cfg(5), G, &{
            let mut s = Snapshot::new();
            applied_again(&mut s, &env, &b);
            s
        })
        .is_err()
    );
}

/// Applies `b` on a fresh funded mesh into `s` (for the mismatch above).
fn applied_again(s: &mut Snapshot, env: &ApplyEnv<'_>, b: &Block) {
    let key = crate::tx::TxKey::from_seed([7; 32]);
    let fund = [(key.wallet_address(), 10_000_000), (address(5), 3)];
    let mut mesh = Mesh::with_genesis(cfg(5), G, &fund);
    mesh.apply(at(1), Some(b), env).unwrap().batch.apply_to(s);
}

/// Remembers every layer step, as a simulator's shared verifier does.
#[derive(Debug, Default)]
struct StepMemo(std::sync::Mutex<Vec<(StepKey, Arc<LayerStep>)>>);

impl Verifier for StepMemo {
    fn verify(&self, key: &[u8; 32], message: &[u8], sig: &crate::crypto::Signature) -> bool {
        Ed25519Verifier.verify(key, message, sig)
    }

    fn recall_layer_step(&self, key: &StepKey) -> Option<Arc<LayerStep>> {
        let kept = self.0.lock().unwrap();
        kept.iter().find(|(k, _)| k == key).map(|(_, step)| Arc::clone(step))
    }

    fn keep_layer_step(&self, key: StepKey, step: Arc<LayerStep>) {
        self.0.lock().unwrap().push((key, step));
    }
}

/// Meshes that apply the same blocks to the same state through a remembering runtime share one
/// ledger state and agree on every layer and batch with a mesh that computed alone; a mesh
/// whose state differs (other genesis accounts) computes its own.
#[test]
fn equal_layers_share_one_ledger_state() {
    let memo = StepMemo::default();
    let shared = ApplyEnv { verifier: &memo, ..env() };
    let (mut a, mut b, mut alone) =
        (Mesh::new(cfg(5), G), Mesh::new(cfg(5), G), Mesh::new(cfg(5), G));
    let mut other = Mesh::with_genesis(cfg(5), G, &[(address(9), 7)]);
    for (offset, rewards) in [(1, &[(1, 1, 2), (2, 1, 2)][..]), (2, &[(3, 1, 1)][..])] {
        let b_ = block(at(offset), rewards);
        let first = a.apply(at(offset), Some(&b_), &shared).unwrap();
        let second = b.apply(at(offset), Some(&b_), &shared).unwrap();
        let computed = alone.apply(at(offset), Some(&b_), &env()).unwrap();
        other.apply(at(offset), Some(&b_), &shared).unwrap();
        assert!(Arc::ptr_eq(a.ledger().state(), b.ledger().state()));
        assert!(Arc::ptr_eq(&first.changes, &second.changes));
        assert!(!Arc::ptr_eq(a.ledger().state(), other.ledger().state()));
        for applied in [&first, &second] {
            assert_eq!(
                (&applied.layer, &applied.txs, &applied.changes[..], &applied.batch.ops),
                (&computed.layer, &computed.txs, &computed.changes[..], &computed.batch.ops)
            );
        }
        b.check_invariants();
        other.check_invariants();
    }
    assert_eq!(memo.0.lock().unwrap().len(), 4, "two layers, each for two distinct states");
    assert_eq!(b.ledger(), alone.ledger());
    b.revert(at(1)).unwrap();
    alone.revert(at(1)).unwrap();
    assert_eq!(b.ledger(), alone.ledger());
    assert_ne!(a.ledger(), b.ledger(), "b's revert left a's shared state alone");
}

//! The transaction scenarios: wallet users send spends, spawns and multisig operations
//! through random nodes while the full stack runs (setup as the mesh scenarios: smeshing nodes
//! with 1-4 units, two PoETs, 20-150 ms hops; 5 epochs by default, blocks from layer 16).
//!
//! - `transfers`: `wallets = nodes / 8` (8 to 200) wallets hold 100 SMH each at genesis. Each
//!   spawns itself in layers 4-11 (the transactions wait in the mempools until the first
//!   proposals), then sends 8 spends of up to 0.1 SMH, one in the first layer of every two
//!   from layer 18, to other wallets or to fresh stub accounts. One wallet in eight funds a
//!   2-of-3 multisig account instead of its first spend, which spawns itself (layer 26) and
//!   sends two spends (layers 30 and 32). Every action is signed when it happens with the nonce the chosen node projects
//!   for the account, as a wallet asks its node.
//! - `transfers-revert`: the same with the 60/40 split of `partition-heal` in layers 20-23:
//!   each side executes what it hears, the tortoise reverts one side's blocks after the heal,
//!   and their transactions go back to the mempools. The multisig steps come 4 layers later.
//!
//! Checks: the mesh checks (every layer two honest nodes verified holds the same block and
//! state hash, which chains the state root, at both; no verified layer reverted outside the
//! split's window; liveness), and the transaction checks of [`TransfersChecker`]: every
//! transaction a node accepted by layer 35 is executed exactly once at every honest node (or
//! its nonce was used by another accepted transaction of the account, when two nodes projected
//! the same nonce), and at every honest node the coins in all accounts are the genesis coins
//! plus what the applied layers issued less the fees they charged. Balances are unsigned and
//! every debit in execution is checked, so a balance that would go negative fails the run.

use std::collections::BTreeSet;

use rand::Rng;
use spacemesh_core::account::Address;
use spacemesh_core::crypto::hash;
use spacemesh_core::rewards::ONE_SMESH;
use spacemesh_core::tx::{Call, Spend};
use spacemesh_runtime_sim::{Local, WalletAction, WalletSigner};
use spacemesh_sim::rng::RngTree;
use spacemesh_sim::{NodeIdx, SimTime};

use crate::checks::{Checks, EpochsChecker, MeshChecker, RevertWindow, TransfersChecker};
use crate::mesh::{
    HEALING_LAYERS, LIVENESS_LAYERS, MAJORITY_PERCENT, PARTITION, at, mesh_expect, split,
};
use crate::smeshing::{
    LPE, expectations, fault_plan, into_run_checked, judge_cast, random_units, runtime, sizes,
    smeshers,
};
use crate::swarm::FaultPlan;
use crate::{LAYER_DURATION_SECS, Run, RunParams, Scenario, ScenarioError};

/// Each wallet's coins at genesis.
const GENESIS_FUND: u64 = 100 * ONE_SMESH;
/// Spends per wallet.
const SPENDS: u32 = 8;
/// The largest spend.
const SPEND_MAX: u64 = ONE_SMESH / 10;
/// What a wallet moves to its multisig account.
const MULTISIG_FUND: u64 = 20 * ONE_SMESH;
/// The last layer whose accepted transactions must be executed by the end.
const CUTOFF_LAYER: u32 = 35;

/// `transfers` or `transfers-revert`.
#[derive(Debug, Clone, Copy)]
pub struct TransfersScenario {
    revert: bool,
}

impl TransfersScenario {
    /// `transfers`.
    pub const PLAIN: TransfersScenario = TransfersScenario { revert: false };
    /// `transfers-revert`.
    pub const REVERT: TransfersScenario = TransfersScenario { revert: true };
}

impl Scenario for TransfersScenario {
    fn name(&self) -> &'static str {
        if self.revert { "transfers-revert" } else { "transfers" }
    }

    fn description(&self) -> &'static str {
        if self.revert {
            "wallet spends, spawns and multisig operations across a 60/40 split and its heal: reverted transactions run again, exactly once, coins add up"
        } else {
            "wallet spends, spawns and multisig operations for 3 epochs: every accepted transaction runs exactly once, state roots agree, coins add up"
        }
    }

    fn default_layers(&self) -> u32 {
        5 * LPE
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        let (nodes, layers) = sizes(self, p, 10, 5)?;
        let rt = runtime(p);
        let mut own = FaultPlan::default();
        if self.revert {
            own.push("60/40 split", split(nodes, PARTITION, MAJORITY_PERCENT));
        }
        let plan = fault_plan(self, p, nodes, layers, own)?;
        let signers = wallets(nodes);
        let fund: Vec<(Address, u64)> =
            signers.iter().map(|s| (s.address(), GENESIS_FUND)).collect();
        let cluster = smeshers(nodes, p.seed, &rt)
            .customize(move |_, cfg, rng| {
                random_units(cfg, rng);
                if let Some(c) = cfg.consensus.as_mut() {
                    c.genesis_accounts = fund.clone();
                }
            })
            .cast(plan.cast.clone())
            .build();
        let honest: BTreeSet<NodeIdx> = cluster.honest_ids().values().copied().collect();
        let mut mesh = mesh_expect(LIVENESS_LAYERS);
        if self.revert {
            mesh.reverts_allowed = Some(RevertWindow {
                from: at(PARTITION.start),
                until: at(PARTITION.end + HEALING_LAYERS),
            });
        }
        let mut epochs = expectations(nodes, layers, &rt);
        judge_cast(&mut epochs, &cluster);
        let cutoff = at(CUTOFF_LAYER.min(layers.saturating_sub(LIVENESS_LAYERS + 2)));
        let checks = Checks::new()
            .with(EpochsChecker::new(cluster.honest_ids(), epochs))
            .with(MeshChecker::new(honest.clone(), mesh))
            .with(TransfersChecker::new(honest.clone(), cutoff, self.revert));
        let mut run = into_run_checked(self.name(), p, nodes, layers, cluster, checks, rt);
        let targets: Vec<NodeIdx> = honest.into_iter().collect();
        let delay = if self.revert { 4 } else { 0 };
        for (at, node, action) in script(p.seed, &signers, &targets, delay) {
            run.sim.with_ctx(|_, ctx| ctx.schedule_at(node, at, Local::Wallet(Box::new(action))));
        }
        Ok(run.with_plan(plan, p))
    }

    fn takes_adversaries(&self) -> bool {
        true
    }
}

/// A wallet seed, the same in every run.
fn seed_of(kind: &[u8], i: u32) -> [u8; 32] {
    hash(&[b"spacemesh/sim/transfers/".as_slice(), kind, &i.to_le_bytes()].concat()).0
}

/// The wallets of a cluster of `nodes`, then their multisig accounts (one per eight wallets,
/// 2 of 3 keys).
fn wallets(nodes: u32) -> Vec<WalletSigner> {
    let n = (nodes / 8).clamp(8, 200);
    let mut out: Vec<WalletSigner> =
        (0..n).map(|i| WalletSigner::Single(seed_of(b"wallet", i))).collect();
    out.extend((0..n / 8).map(|i| WalletSigner::Multisig {
        seeds: (0..3).map(|k| seed_of(b"multisig", i * 3 + k)).collect(),
        required: 2,
    }));
    out
}

/// Every wallet action: when, through which node, and what; multisig steps `delay` layers
/// later than in `transfers`.
fn script(
    seed: u64,
    signers: &[WalletSigner],
    targets: &[NodeIdx],
    delay: u32,
) -> Vec<(SimTime, NodeIdx, WalletAction)> {
    let mut rng = RngTree::new(seed).workload();
    let singles: Vec<&WalletSigner> =
        signers.iter().filter(|s| matches!(s, WalletSigner::Single(_))).collect();
    let multis: Vec<&WalletSigner> =
        signers.iter().filter(|s| matches!(s, WalletSigner::Multisig { .. })).collect();
    let layer_us = LAYER_DURATION_SECS * 1_000_000;
    let mut out = Vec::new();
    let mut push = |rng: &mut rand_chacha::ChaCha8Rng,
                    from: u32,
                    span: u32,
                    signer: &WalletSigner,
                    call: Call| {
        let t = u64::from(from) * layer_us + rng.random_range(0..u64::from(span) * layer_us);
        let node = targets[rng.random_range(0..targets.len())];
        let gas_price = rng.random_range(1..=3);
        out.push((SimTime(t), node, WalletAction { signer: signer.clone(), call, gas_price }));
    };
    for w in &singles {
        push(&mut rng, 4, 8, w, w.self_spawn());
    }
    for (i, m) in multis.iter().enumerate() {
        let to = Spend { destination: m.address(), amount: MULTISIG_FUND };
        push(&mut rng, 18, 1, singles[i], Call::Spend(to));
        push(&mut rng, 26 + delay, 1, m, m.self_spawn());
        for k in 0..2 {
            let to = singles[rng.random_range(0..singles.len())].address();
            let spend = Spend { destination: to, amount: rng.random_range(1..=SPEND_MAX) };
            push(&mut rng, 30 + delay + 2 * k, 1, m, Call::Spend(spend));
        }
    }
    for (i, w) in singles.iter().enumerate() {
        // Wallets that fund a multisig start one step later, after the funding.
        let first = if i < multis.len() { 1 } else { 0 };
        for j in first..SPENDS {
            let destination = if rng.random_bool(0.7) {
                singles[rng.random_range(0..singles.len())].address()
            } else {
                let mut a = [0u8; 24];
                rng.fill(&mut a[4..]);
                Address(a)
            };
            let spend = Spend { destination, amount: rng.random_range(1..=SPEND_MAX) };
            push(&mut rng, 18 + 2 * j, 1, w, Call::Spend(spend));
        }
    }
    out.sort_by_key(|(t, n, _)| (*t, *n));
    out
}

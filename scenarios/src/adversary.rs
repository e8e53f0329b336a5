//! The byzantine agent catalogue: named adversaries any smeshing scenario can cast
//! (`--adversary NAME[:N]`, or drawn by `--swarm` where a scenario allows it).
//!
//! Each adversary is a node slot (or several) whose node runs the honest code bent by the
//! knobs of `spacemesh-core` (`Misbehavior`, `Voting`, `HareBehavior`, the builder's double
//! publish, the node's black hole), so that it speaks the wire exactly as a real attacker
//! running modified node software would. The catalogue, at sim scale (8 layers per epoch,
//! ballots from layer 16):
//!
//! | name | what it does | what honest nodes must show |
//! |---|---|---|
//! | `equivocator` | in epoch 2: a second ATX, a second ballot in every layer it is eligible in, two messages in every hare round | every honest node proves it by the end of epoch 2 and drops it from later active sets |
//! | `withholder` | publishes each ballot and proposal two layers late | its ballots count late; it is never accused |
//! | `late-atx-publisher` | publishes each ATX half a grade delay before its target epoch (after the active set froze) | no active set holds its ATX; it is never accused |
//! | `balancing-voter` | votes for and against the latest blocks until layer 28 to keep tallies near the thresholds | never accused; its ATXs count |
//! | `eclipser` | fills the connection slots of victims, keeps them alive, relays and answers nothing | the victims stay in consensus |
//! | `twins` | a second node with another slot's identity key (both run honestly, unaware) | safety and liveness hold; the shared identity may be proven malicious |
//!
//! Every slot an adversary controls (twins: both) leaves the honest set, so every checker
//! judges the honest nodes only; the epoch checks judge each adversary's identity by its
//! [`Role`]. Liveness and safety are required as usual: the adversaries stay well below a third
//! of the weight.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde::{Deserialize, Serialize};
use spacemesh_core::hare::HareBehavior;
use spacemesh_core::node::Voting;
use spacemesh_core::{EpochId, LayerId, NodeConfig, NodeId, PeerId};
use spacemesh_sim::rng::RngTree;
use spacemesh_sim::{NodeIdx, SimTime};

use crate::LAYER_DURATION_SECS;
use crate::checks::{Accused, HareExpect, Role};
use crate::smeshing::LPE;

/// The path of the adversary draw's stream in a seed's RNG tree ("ADVERS" in ASCII).
const ADVERSARY_STREAM: u64 = 0x4144_5645_5253;
/// The epoch an equivocator equivocates in (ATX, ballots, hare).
const EQUIVOCATION_EPOCH: u32 = 2;
/// The last layer whose hare session an equivocator equivocates in: sessions of epoch 2 that
/// end before epoch 3's active set is frozen.
const EQUIVOCATION_LAST: u32 = 3 * LPE - 2;
/// The first layer a balancing voter votes honestly in.
const BALANCING_UNTIL: u32 = 3 * LPE + LPE / 2;
/// How late a withholder publishes its proposals: two layers.
const WITHHOLD: Duration = Duration::from_secs(2 * LAYER_DURATION_SECS);
/// Victims per eclipser: one victim for every four eclipsers (at least one).
const ECLIPSERS_PER_VICTIM: u32 = 4;

/// A named adversary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Adversary {
    /// Equivocates in epoch 2: ATX, ballots and hare.
    Equivocator,
    /// Publishes its proposals two layers late.
    Withholder,
    /// Publishes its ATXs after the active set froze.
    LateAtxPublisher,
    /// Votes to keep honest tallies near the thresholds.
    BalancingVoter,
    /// Fills victims' connection slots and relays nothing.
    Eclipser,
    /// A second node with the identity of another slot.
    Twins,
}

impl Adversary {
    /// Every adversary, in catalogue order.
    pub const ALL: [Adversary; 6] = [
        Adversary::Equivocator,
        Adversary::Withholder,
        Adversary::LateAtxPublisher,
        Adversary::BalancingVoter,
        Adversary::Eclipser,
        Adversary::Twins,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Adversary::Equivocator => "equivocator",
            Adversary::Withholder => "withholder",
            Adversary::LateAtxPublisher => "late-atx-publisher",
            Adversary::BalancingVoter => "balancing-voter",
            Adversary::Eclipser => "eclipser",
            Adversary::Twins => "twins",
        }
    }

    /// One line on what it does and what honest nodes must show.
    pub fn description(self) -> &'static str {
        match self {
            Adversary::Equivocator => {
                "in epoch 2 a second ATX, a second ballot per eligible layer and two hare messages per round: proven by every honest node by the end of epoch 2"
            }
            Adversary::Withholder => {
                "publishes each proposal two layers late: counted late, never accused"
            }
            Adversary::LateAtxPublisher => {
                "publishes each ATX after the next active set froze: in no active set, never accused"
            }
            Adversary::BalancingVoter => {
                "votes for and against the latest blocks until layer 28: never accused, honest nodes stay safe and live"
            }
            Adversary::Eclipser => {
                "dials victims to fill their connection slots, keeps them alive, relays and answers nothing: victims stay in consensus"
            }
            Adversary::Twins => {
                "a second node runs another slot's identity key: safety and liveness hold, the identity may be proven malicious"
            }
        }
    }

    /// The adversary named `name`.
    pub fn parse(name: &str) -> Result<Adversary, String> {
        Adversary::ALL.into_iter().find(|a| a.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Adversary::ALL.iter().map(|a| a.name()).collect();
            format!("unknown adversary {name:?} (known: {})", names.join(", "))
        })
    }

    /// Parses `NAME` or `NAME:N` (N slots, at least 1; for `twins`, N pairs).
    pub fn parse_request(s: &str) -> Result<(Adversary, u32), String> {
        let (name, count) = match s.split_once(':') {
            Some((name, n)) => {
                let n: u32 = n.parse().map_err(|_| {
                    format!("bad adversary count in {s:?}: expected NAME:N with N a whole number")
                })?;
                (name, n)
            }
            None => (s, 1),
        };
        if count == 0 {
            return Err(format!("adversary count in {s:?} must be at least 1"));
        }
        Ok((Adversary::parse(name)?, count))
    }

    /// How the epoch checks judge this adversary's identity.
    fn role(self) -> Role {
        let end_of_equivocation_epoch =
            SimTime::from_secs(u64::from((EQUIVOCATION_EPOCH + 1) * LPE) * LAYER_DURATION_SECS);
        let role = |counted_before, uncertain, accused| Role {
            what: self.name(),
            counted_before,
            uncertain,
            accused,
        };
        match self {
            // Its epoch-2 ATX is a double publish: out of epoch 3's active set and later.
            Adversary::Equivocator => {
                role(EQUIVOCATION_EPOCH + 1, false, Accused::By(end_of_equivocation_epoch))
            }
            Adversary::Withholder | Adversary::BalancingVoter => {
                role(u32::MAX, false, Accused::Never)
            }
            Adversary::LateAtxPublisher => role(0, false, Accused::Never),
            // Both twins build the same ATX or two different ones (then a double publish):
            // in or out of an active set, accused or not.
            Adversary::Twins | Adversary::Eclipser => role(u32::MAX, true, Accused::Maybe),
        }
    }

    /// Bends the node configuration of one of its slots (`targets`: the peer ids of the
    /// slots it acts on).
    fn configure(self, cfg: &mut NodeConfig, targets: &[PeerId]) {
        if self == Adversary::Eclipser {
            // Not a smesher: a network-level attacker that dials its victims first, as many
            // connections as a node may hold, and drops everything.
            cfg.consensus = None;
            cfg.black_hole = true;
            cfg.bootstrap = targets.to_vec();
            cfg.peers.peers_target = cfg.peers.peers_max;
            return;
        }
        let Some(c) = cfg.consensus.as_mut() else { return };
        match self {
            Adversary::Equivocator => {
                let (first, last) = (LayerId(EQUIVOCATION_EPOCH * LPE), LayerId(EQUIVOCATION_LAST));
                c.hare.behavior = HareBehavior::Equivocate { first, last };
                c.misbehavior.double_ballots = Some((first, last));
                if let Some(b) = c.builder.as_mut() {
                    b.double_publish = Some(EpochId(EQUIVOCATION_EPOCH));
                }
            }
            Adversary::Withholder => c.misbehavior.withhold_proposals = Some(WITHHOLD),
            Adversary::LateAtxPublisher => c.misbehavior.late_atx = Some(c.grade_delay / 2),
            Adversary::BalancingVoter => {
                c.voting = Voting::Balancing { until: LayerId(BALANCING_UNTIL) }
            }
            // Twins run the honest code; the cluster gives them the other slot's key.
            Adversary::Twins | Adversary::Eclipser => {}
        }
    }
}

/// One adversary acting from some slots on some targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Which adversary.
    pub adversary: Adversary,
    /// The slots it runs on.
    pub slots: Vec<u32>,
    /// The slots it acts on: an eclipser's victims; for twins, the slot whose identity the
    /// twin in the same position of `slots` runs (that slot is under adversarial control too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<u32>,
}

/// The adversaries of a run (plain data: it goes into fault plans, reports and replay files).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cast {
    /// The members, in the order they were requested or drawn.
    pub members: Vec<Member>,
}

impl Cast {
    /// Whether the run has no adversary.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Casts `requests` (adversary, count) on slots of a network of `nodes`, drawn from the
    /// seed's own stream; slots never overlap.
    pub fn assign(requests: &[(Adversary, u32)], nodes: u32, seed: u64) -> Result<Cast, String> {
        let mut rng = RngTree::new(seed).stream(&[ADVERSARY_STREAM]);
        let mut free: Vec<u32> = (0..nodes).collect();
        free.shuffle(&mut rng);
        let needed: u32 = requests.iter().map(|(a, n)| n + a.extra_slots(*n)).sum();
        let adversarial: u32 =
            requests.iter().map(|(a, n)| if *a == Adversary::Twins { 2 * n } else { *n }).sum();
        // Keep a two-thirds honest majority of the slots.
        if adversarial * 3 > nodes {
            return Err(format!(
                "the adversaries take {adversarial} of {nodes} slots; at most a third may be adversarial"
            ));
        }
        if needed > nodes {
            return Err(format!(
                "the adversaries and their victims need {needed} slots, the network has {nodes}"
            ));
        }
        let mut take = |n: u32| -> Vec<u32> {
            let mut s: Vec<u32> = free.split_off(free.len() - n as usize);
            s.sort_unstable();
            s
        };
        let mut members = Vec::new();
        for &(adversary, n) in requests {
            let slots = take(n);
            let targets = take(adversary.extra_slots(n));
            members.push(Member { adversary, slots, targets });
        }
        Ok(Cast { members })
    }

    /// A swarm's adversary mix: nothing half the time, else one or two of `allowed`, on at
    /// most `percent_max` percent of the slots (at least one).
    pub fn draw(allowed: &[Adversary], percent_max: u32, nodes: u32, seed: u64) -> Cast {
        let mut rng = RngTree::new(seed).stream(&[ADVERSARY_STREAM, 1]);
        if allowed.is_empty() || percent_max == 0 || rng.random_bool(0.5) {
            return Cast::default();
        }
        let kinds = rng.random_range(1..=allowed.len().min(2));
        let mut chosen: Vec<Adversary> =
            allowed.choose_multiple(&mut rng, kinds).copied().collect();
        chosen.sort_unstable();
        let budget = (nodes * percent_max / 100).max(1);
        let requests: Vec<(Adversary, u32)> = chosen
            .into_iter()
            .map(|a| {
                let share = (budget / kinds as u32).max(1);
                let n = rng.random_range(1..=share);
                // Twins and eclipsers take extra slots: keep inside the budget.
                (a, if a.extra_slots(n) > 0 { n.div_ceil(2) } else { n })
            })
            .collect();
        Cast::assign(&requests, nodes, seed).unwrap_or_default()
    }

    /// Checks a cast read from a file against a network of `nodes` node slots.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for m in &self.members {
            for s in m.slots.iter().chain(&m.targets) {
                if *s >= nodes {
                    return Err(format!(
                        "{} slot {s} is not a node slot (0..{nodes})",
                        m.adversary.name()
                    ));
                }
                let victim = m.adversary == Adversary::Eclipser && m.targets.contains(s);
                if !victim && !seen.insert(*s) {
                    return Err(format!("slot {s} is cast twice"));
                }
            }
            if m.adversary == Adversary::Twins && m.targets.len() != m.slots.len() {
                return Err("twins need one target slot per twin slot".into());
            }
        }
        Ok(())
    }

    /// Every slot under adversarial control, and by whom (twins: both slots).
    pub fn byzantine_slots(&self) -> BTreeMap<u32, Adversary> {
        let mut out = BTreeMap::new();
        for m in &self.members {
            for s in &m.slots {
                out.insert(*s, m.adversary);
            }
            if m.adversary == Adversary::Twins {
                for s in &m.targets {
                    out.insert(*s, m.adversary);
                }
            }
        }
        out
    }

    /// The slot whose identity key `slot` runs, when it is a twin.
    pub(crate) fn twin_of(&self, slot: u32) -> Option<u32> {
        self.members
            .iter()
            .filter(|m| m.adversary == Adversary::Twins)
            .find_map(|m| m.slots.iter().position(|s| *s == slot).map(|i| m.targets[i]))
    }

    /// Bends the configuration of `slot` if an adversary runs on it (`peer_ids`: of every slot).
    pub(crate) fn configure(&self, slot: u32, cfg: &mut NodeConfig, peer_ids: &[PeerId]) {
        for m in self.members.iter().filter(|m| m.slots.contains(&slot)) {
            let targets: Vec<PeerId> = m.targets.iter().map(|t| peer_ids[*t as usize]).collect();
            m.adversary.configure(cfg, &targets);
        }
    }

    /// The eclipsers' slots: they are nobody's bootstrap peer.
    pub(crate) fn eclipsers(&self) -> BTreeSet<u32> {
        self.members
            .iter()
            .filter(|m| m.adversary == Adversary::Eclipser)
            .flat_map(|m| m.slots.iter().copied())
            .collect()
    }

    /// How the epoch checks judge each adversarial smeshing slot (`node_ids`: each slot's
    /// identity); eclipsers do not smesh.
    pub fn roles(&self, node_ids: &[Option<NodeId>]) -> BTreeMap<NodeIdx, (NodeId, Role)> {
        self.byzantine_slots()
            .into_iter()
            .filter(|(_, a)| *a != Adversary::Eclipser)
            .filter_map(|(slot, a)| {
                let id = node_ids.get(slot as usize).copied().flatten()?;
                Some((NodeIdx(slot), (id, a.role())))
            })
            .collect()
    }

    /// Relaxes the hare checks for this cast: equivocators' weight counts until they are
    /// proven (outputs of epoch 2 may lack honest proposals, certificates may miss the
    /// threshold once that weight is gone); eclipsed victims' proposals may reach the
    /// committee late.
    pub fn relax_hare(&self, hare: &mut HareExpect, layers: u32) {
        let has = |a| self.members.iter().any(|m| m.adversary == a);
        if has(Adversary::Equivocator) {
            let from = (EQUIVOCATION_EPOCH + 1) * LPE;
            hare.validity = hare
                .validity
                .take()
                .map(|v| (*v.start()).max(from)..=*v.end())
                .filter(|v| !v.is_empty() && *v.end() < layers);
            hare.certificates = false;
        }
        if has(Adversary::Eclipser) {
            hare.validity = None;
        }
    }
}

impl Adversary {
    /// Slots beyond its own that `n` of this adversary take: twins' originals, eclipsers'
    /// victims (victims stay honest but no two members pick the same slot).
    fn extra_slots(self, n: u32) -> u32 {
        match self {
            Adversary::Twins => n,
            Adversary::Eclipser => n.div_ceil(ECLIPSERS_PER_VICTIM),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_requests_parse() {
        for a in Adversary::ALL {
            assert_eq!(Adversary::parse(a.name()), Ok(a));
            let json = serde_json::to_string(&a).expect("serializes");
            assert_eq!(json, format!("\"{}\"", a.name()));
        }
        assert_eq!(Adversary::parse_request("twins:3"), Ok((Adversary::Twins, 3)));
        assert_eq!(Adversary::parse_request("withholder"), Ok((Adversary::Withholder, 1)));
        assert!(Adversary::parse_request("withholder:0").unwrap_err().contains("at least 1"));
        assert!(Adversary::parse_request("withholder:x").unwrap_err().contains("NAME:N"));
        assert!(Adversary::parse_request("sybil").unwrap_err().contains("known: equivocator"));
    }

    #[test]
    fn assignment_is_seeded_disjoint_and_bounded() {
        let req = [(Adversary::Twins, 2), (Adversary::Eclipser, 5), (Adversary::Withholder, 1)];
        let a = Cast::assign(&req, 40, 7).expect("fits");
        assert_eq!(a, Cast::assign(&req, 40, 7).expect("fits"));
        assert_ne!(a, Cast::assign(&req, 40, 8).expect("fits"));
        a.validate(40).expect("valid");
        let slots = a.byzantine_slots();
        // 2 twins + their 2 originals, 5 eclipsers, 1 withholder; victims stay honest.
        assert_eq!(slots.len(), 10);
        let victims = &a.members[1].targets;
        assert_eq!(victims.len(), 2);
        assert!(victims.iter().all(|v| !slots.contains_key(v)));
        let twin = a.members[0].slots[0];
        assert_eq!(a.twin_of(twin), Some(a.members[0].targets[0]));
        let err = Cast::assign(&[(Adversary::Equivocator, 14)], 40, 1).unwrap_err();
        assert!(err.contains("at most a third"), "{err}");
    }

    #[test]
    fn validation_names_the_bad_slot() {
        let bad = Cast {
            members: vec![Member {
                adversary: Adversary::Withholder,
                slots: vec![3, 40],
                targets: vec![],
            }],
        };
        assert!(bad.validate(40).unwrap_err().contains("slot 40"));
        let twice = Cast {
            members: vec![
                Member { adversary: Adversary::Withholder, slots: vec![3], targets: vec![] },
                Member { adversary: Adversary::Equivocator, slots: vec![3], targets: vec![] },
            ],
        };
        assert!(twice.validate(40).unwrap_err().contains("cast twice"));
    }

    #[test]
    fn swarm_draws_are_seeded_and_within_the_budget() {
        let mut some = 0;
        for seed in 0..40 {
            let c = Cast::draw(&Adversary::ALL, 10, 100, seed);
            assert_eq!(c, Cast::draw(&Adversary::ALL, 10, 100, seed));
            c.validate(100).expect("valid");
            assert!(c.byzantine_slots().len() <= 12, "{c:?}");
            some += usize::from(!c.is_empty());
        }
        assert!((10..=30).contains(&some), "{some} of 40 draws cast someone");
        assert!(Cast::draw(&[], 10, 100, 1).is_empty());
    }
}

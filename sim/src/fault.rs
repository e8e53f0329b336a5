//! Faults: scheduled changes to the simulated environment.
//!
//! A fault is plain data (serde), so a fault schedule can be generated, written to a file,
//! shrunk and replayed. The engine applies it when its time comes and folds it into the trace.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::NodeClock;
use crate::disk::DiskFaults;
use crate::idx::NodeIdx;
use crate::net::{Latency, LinkConfig, LinkError};
use crate::time::SimDuration;
use crate::trace::{Traced, combine};

/// A scheduled change to the simulated environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// Kill a node: its disk loses (or tears) unsynced writes, its pending timers and syncs are
    /// discarded, messages in flight to it are dropped. No-op if already crashed.
    Crash(NodeIdx),
    /// Restart a crashed node from its disk. No-op unless crashed.
    Restart(NodeIdx),
    /// Freeze a running node: its messages and timers wait until it resumes.
    Pause(NodeIdx),
    /// Unfreeze a paused node: what waited is delivered now, in order.
    Resume(NodeIdx),
    /// Symmetric partition: groups cannot reach each other; unlisted nodes form one more group.
    /// Replaces an earlier partition.
    Partition(Vec<Vec<NodeIdx>>),
    /// Asymmetric partition: messages from `from_group` to `to_group` are dropped.
    Block {
        /// Senders.
        from_group: Vec<NodeIdx>,
        /// Receivers.
        to_group: Vec<NodeIdx>,
    },
    /// Remove every partition and block.
    Heal,
    /// Hold everything a node sends for `duration`.
    ClogOut {
        /// The node.
        node: NodeIdx,
        /// How long.
        duration: SimDuration,
    },
    /// Hold everything sent to a node for `duration`.
    ClogIn {
        /// The node.
        node: NodeIdx,
        /// How long.
        duration: SimDuration,
    },
    /// Hold everything on one directed link for `duration`.
    ClogLink {
        /// Sender.
        from: NodeIdx,
        /// Receiver.
        to: NodeIdx,
        /// How long.
        duration: SimDuration,
    },
    /// Replace a node's clock (a jump, a new drift). Timers already armed keep their simulated
    /// time; the node sees the jump on its next reading.
    SetClock {
        /// The node.
        node: NodeIdx,
        /// The new clock.
        clock: NodeClock,
    },
    /// Change link behaviour: the default of every link (`between: None`) or one directed link.
    SetLink {
        /// The new behaviour.
        link: LinkConfig,
        /// The directed link, or `None` for the default.
        between: Option<(NodeIdx, NodeIdx)>,
    },
    /// Remove the override of one directed link (it follows the default again).
    ResetLink {
        /// Sender.
        from: NodeIdx,
        /// Receiver.
        to: NodeIdx,
    },
    /// Change how disks behave on later crashes and syncs.
    SetDiskFaults(DiskFaults),
}

/// Why a fault cannot be applied to a simulation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FaultError {
    /// It names a node the simulation does not have.
    #[error("{node} does not exist (the simulation has {nodes} nodes)")]
    NoSuchNode {
        /// The node.
        node: NodeIdx,
        /// How many nodes there are.
        nodes: u32,
    },
    /// Its link configuration is invalid.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// A disk fault probability outside `0..=1`.
    #[error("disk {field} = {value} is not a probability in 0..=1")]
    DiskProbability {
        /// The field.
        field: &'static str,
        /// Its value.
        value: f64,
    },
}

impl Fault {
    /// The trace kind of the fault.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::Pause(_) => "pause",
            Fault::Resume(_) => "resume",
            Fault::Partition(_) => "partition",
            Fault::Block { .. } => "block",
            Fault::Heal => "heal",
            Fault::ClogOut { .. } => "clog-out",
            Fault::ClogIn { .. } => "clog-in",
            Fault::ClogLink { .. } => "clog-link",
            Fault::SetClock { .. } => "set-clock",
            Fault::SetLink { .. } => "set-link",
            Fault::ResetLink { .. } => "reset-link",
            Fault::SetDiskFaults(_) => "set-disk-faults",
        }
    }

    /// The node the fault concerns, for its trace record ([`NodeIdx::NONE`] if engine-wide).
    pub fn node(&self) -> NodeIdx {
        match self {
            Fault::Crash(n) | Fault::Restart(n) | Fault::Pause(n) | Fault::Resume(n) => *n,
            Fault::ClogOut { node, .. }
            | Fault::ClogIn { node, .. }
            | Fault::SetClock { node, .. } => *node,
            Fault::ClogLink { from, .. } | Fault::ResetLink { from, .. } => *from,
            Fault::SetLink { between: Some((from, _)), .. } => *from,
            Fault::Partition(_)
            | Fault::Block { .. }
            | Fault::Heal
            | Fault::SetLink { between: None, .. } => NodeIdx::NONE,
            Fault::SetDiskFaults(_) => NodeIdx::NONE,
        }
    }

    /// The one node whose events the fault changes, if it is one node's: a crash, restart,
    /// pause or resume, its clock, what it sends (clogs and settings of its outgoing links).
    /// `None` for faults on what many nodes send (partitions, blocks, heals, a node's incoming
    /// clog, the default link, disk faults).
    pub fn target(&self) -> Option<NodeIdx> {
        match self {
            Fault::Crash(n) | Fault::Restart(n) | Fault::Pause(n) | Fault::Resume(n) => Some(*n),
            Fault::ClogOut { node, .. } | Fault::SetClock { node, .. } => Some(*node),
            Fault::ClogLink { from, .. } | Fault::ResetLink { from, .. } => Some(*from),
            Fault::SetLink { between: Some((from, _)), .. } => Some(*from),
            Fault::ClogIn { .. }
            | Fault::Partition(_)
            | Fault::Block { .. }
            | Fault::Heal
            | Fault::SetLink { between: None, .. }
            | Fault::SetDiskFaults(_) => None,
        }
    }

    /// Every node index the fault mentions.
    fn nodes(&self) -> Vec<NodeIdx> {
        match self {
            Fault::Partition(groups) => groups.iter().flatten().copied().collect(),
            Fault::Block { from_group, to_group } => {
                from_group.iter().chain(to_group).copied().collect()
            }
            Fault::ClogLink { from, to, .. } | Fault::ResetLink { from, to } => vec![*from, *to],
            Fault::SetLink { between: Some((from, to)), .. } => vec![*from, *to],
            other => Some(other.node()).filter(|n| *n != NodeIdx::NONE).into_iter().collect(),
        }
    }

    /// Checks the fault against a simulation of `nodes` nodes.
    pub fn validate(&self, nodes: u32) -> Result<(), FaultError> {
        if let Some(&node) = self.nodes().iter().find(|n| n.0 >= nodes) {
            return Err(FaultError::NoSuchNode { node, nodes });
        }
        match self {
            Fault::SetLink { link, .. } => link.validate()?,
            Fault::SetDiskFaults(d) => {
                for (field, value) in [("torn", d.torn), ("corrupt", d.corrupt)] {
                    if !(0.0..=1.0).contains(&value) {
                        return Err(FaultError::DiskProbability { field, value });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Folds words into a fingerprint.
#[derive(Debug, Clone, Copy)]
struct Fold(u64);

impl Fold {
    fn word(self, w: u64) -> Fold {
        Fold(combine(self.0, w))
    }

    fn node(self, n: NodeIdx) -> Fold {
        self.word(u64::from(n.0))
    }

    fn nodes(self, ns: &[NodeIdx]) -> Fold {
        ns.iter().fold(self.word(ns.len() as u64), |f, n| f.node(*n))
    }

    fn latency(self, l: &Latency) -> Fold {
        match *l {
            Latency::Fixed(d) => self.word(1).word(d.0),
            Latency::Uniform { min, max } => self.word(2).word(min.0).word(max.0),
            Latency::Exponential { min, mean } => self.word(3).word(min.0).word(mean.0),
            // A floor is folded only when set, so a plain log-normal prints as it always did.
            Latency::LogNormal { min, median, sigma_milli } if min == SimDuration::ZERO => {
                self.word(4).word(median.0).word(u64::from(sigma_milli))
            }
            Latency::LogNormal { min, median, sigma_milli } => {
                self.word(5).word(min.0).word(median.0).word(u64::from(sigma_milli))
            }
        }
    }

    fn link(self, l: &LinkConfig) -> Fold {
        self.latency(&l.latency)
            .word(l.loss.to_bits())
            .word(l.duplicate.to_bits())
            .word(l.reorder.to_bits())
            .word(l.reorder_delay_max.0)
            .word(l.bandwidth_bytes_per_sec.map_or(u64::MAX, |b| b))
    }
}

impl Traced for Fault {
    fn fingerprint(&self) -> u64 {
        let f = Fold(crate::trace::fingerprint(self.kind().as_bytes()));
        let f = match self {
            Fault::Crash(n) | Fault::Restart(n) | Fault::Pause(n) | Fault::Resume(n) => f.node(*n),
            Fault::Partition(groups) => {
                groups.iter().fold(f.word(groups.len() as u64), |f, g| f.nodes(g))
            }
            Fault::Block { from_group, to_group } => f.nodes(from_group).nodes(to_group),
            Fault::Heal => f,
            Fault::ClogOut { node, duration } | Fault::ClogIn { node, duration } => {
                f.node(*node).word(duration.0)
            }
            Fault::ClogLink { from, to, duration } => f.node(*from).node(*to).word(duration.0),
            Fault::SetClock { node, clock } => {
                f.node(*node).word(clock.offset_us as u64).word(clock.drift_ppm as u64)
            }
            Fault::SetLink { link, between } => {
                let f = between.map_or(f.word(0), |(a, b)| f.word(1).node(a).node(b));
                f.link(link)
            }
            Fault::ResetLink { from, to } => f.node(*from).node(*to),
            Fault::SetDiskFaults(d) => {
                f.word(d.torn.to_bits()).word(d.corrupt.to_bits()).latency(&d.sync_latency)
            }
        };
        f.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Validation names the missing node and rejects bad probabilities.
    #[test]
    fn validation() {
        assert_eq!(Fault::Crash(NodeIdx(2)).validate(3), Ok(()));
        assert_eq!(
            Fault::Crash(NodeIdx(3)).validate(3),
            Err(FaultError::NoSuchNode { node: NodeIdx(3), nodes: 3 })
        );
        let block = Fault::Block { from_group: vec![NodeIdx(0)], to_group: vec![NodeIdx(9)] };
        assert!(block.validate(3).unwrap_err().to_string().contains("node 9"));
        let link = Fault::SetLink {
            link: LinkConfig { duplicate: 2.0, ..LinkConfig::default() },
            between: None,
        };
        assert!(matches!(link.validate(3), Err(FaultError::Link(_))));
        let disk = Fault::SetDiskFaults(DiskFaults { torn: -0.1, ..DiskFaults::default() });
        assert!(matches!(disk.validate(3), Err(FaultError::DiskProbability { field: "torn", .. })));
        assert_eq!(Fault::Heal.validate(0), Ok(()));
    }

    // Fingerprints distinguish faults that differ in any field.
    #[test]
    fn fingerprints_differ() {
        let faults = [
            Fault::Crash(NodeIdx(1)),
            Fault::Restart(NodeIdx(1)),
            Fault::Crash(NodeIdx(2)),
            Fault::Partition(vec![vec![NodeIdx(1)], vec![NodeIdx(2)]]),
            Fault::Partition(vec![vec![NodeIdx(1), NodeIdx(2)]]),
            Fault::ClogOut { node: NodeIdx(1), duration: SimDuration(5) },
            Fault::ClogIn { node: NodeIdx(1), duration: SimDuration(5) },
            Fault::ClogOut { node: NodeIdx(1), duration: SimDuration(6) },
            Fault::SetLink { link: LinkConfig::default(), between: None },
            Fault::SetLink {
                link: LinkConfig { loss: 0.5, ..LinkConfig::default() },
                between: None,
            },
            Fault::SetClock { node: NodeIdx(0), clock: NodeClock::new(-5, 3) },
            Fault::Heal,
        ];
        let fps: std::collections::BTreeSet<u64> = faults.iter().map(Traced::fingerprint).collect();
        assert_eq!(fps.len(), faults.len());
        assert_eq!(faults[0].fingerprint(), Fault::Crash(NodeIdx(1)).fingerprint());
    }
}

//! The trace detail of a node event: the layer or epoch it is about, for trace files.
//!
//! Details are kept in recorded trace records only; the digest covers the event's fingerprint,
//! which already includes the layer or epoch, so details never change a digest.

use spacemesh_core::NodeEvent;
use spacemesh_core::activation::BuilderEvent;
use spacemesh_core::node::ConsensusEvent;
use spacemesh_sim::trace::TraceDetail;

fn layer(value: u32) -> Option<TraceDetail> {
    Some(TraceDetail::Layer(value))
}

fn epoch(value: u32) -> Option<TraceDetail> {
    Some(TraceDetail::Epoch(value))
}

/// The layer or epoch `event` is about, if it names one.
pub(crate) fn event_detail(event: &NodeEvent) -> Option<TraceDetail> {
    let NodeEvent::Consensus(e) = event else { return None };
    match &**e {
        ConsensusEvent::ProposalPublished { layer: l, .. }
        | ConsensusEvent::LayerBallots { layer: l, .. }
        | ConsensusEvent::Equivocated { layer: l }
        | ConsensusEvent::HareOutput { layer: l, .. }
        | ConsensusEvent::HareEnded { layer: l, .. }
        | ConsensusEvent::WeakCoin { layer: l, .. }
        | ConsensusEvent::Block { layer: l, .. }
        | ConsensusEvent::BlockFailed { layer: l, .. }
        | ConsensusEvent::Certified { layer: l, .. }
        | ConsensusEvent::LayerApplied { layer: l, .. }
        | ConsensusEvent::LayerTxs { layer: l, .. }
        | ConsensusEvent::Verified { layer: l, .. }
        | ConsensusEvent::Sync { layer: l, .. } => layer(l.0),
        ConsensusEvent::Reverted { from, .. } => layer(from.0),
        ConsensusEvent::AtxPublished { epoch: ep, .. }
        | ConsensusEvent::AtxAccepted { epoch: ep, .. }
        | ConsensusEvent::ActiveSet { epoch: ep, .. }
        | ConsensusEvent::Beacon { epoch: ep, .. }
        | ConsensusEvent::BeaconFailed { epoch: ep, .. }
        | ConsensusEvent::Builder(
            BuilderEvent::Registered { epoch: ep, .. }
            | BuilderEvent::MissedRound { epoch: ep }
            | BuilderEvent::NoProof { epoch: ep },
        ) => epoch(ep.0),
        ConsensusEvent::AtxRejected { .. }
        | ConsensusEvent::TxSubmitted { .. }
        | ConsensusEvent::Malfeasance { .. }
        | ConsensusEvent::Builder(
            BuilderEvent::PoetFailed { .. } | BuilderEvent::InitFailed { .. },
        ) => None,
    }
}

#[cfg(test)]
mod tests {
    use spacemesh_core::{EpochId, LayerId};

    use super::*;

    // Layer events name their layer, epoch events their epoch, others nothing.
    #[test]
    fn details() {
        let v = NodeEvent::Consensus(Box::new(ConsensusEvent::Equivocated { layer: LayerId(7) }));
        assert_eq!(event_detail(&v), layer(7));
        let b = NodeEvent::Consensus(Box::new(ConsensusEvent::BeaconFailed {
            epoch: EpochId(3),
            reason: String::new(),
        }));
        assert_eq!(event_detail(&b), epoch(3));
        assert_eq!(event_detail(&NodeEvent::Started { next_heartbeat_seq: 0 }), None);
    }
}

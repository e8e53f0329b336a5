//! A simulated PoET server: the core [`PoetService`] state machine, reachable over the simulated
//! network, doing the sequential work of each round at the round's end with a leaf count that
//! follows simulated time (`leaves_per_sec × round duration`). The proof is the real
//! construction, only with small constants.

use spacemesh_core::crypto::Verifier;
use spacemesh_core::poet::{
    PoetProof, PoetRequest, PoetResponse, PoetService, PoetServiceConfig, SequentialWork,
    ServiceEvent,
};
use spacemesh_core::{NodeId, Time};

/// How to build a simulated PoET.
#[derive(Debug, Clone)]
pub struct PoetSpec {
    /// The service's public key (what nodes address it by).
    pub id: NodeId,
    /// Service configuration (schedule, bounds).
    pub config: PoetServiceConfig,
    /// Sequential-work speed.
    pub leaves_per_sec: u64,
    /// Leaves a proof opens (T).
    pub t: u32,
    /// Hashes per leaf.
    pub nesting_depth: u32,
}

/// A running simulated PoET.
#[derive(Debug)]
pub(crate) struct PoetHost {
    spec: PoetSpec,
    service: PoetService,
    /// Rounds proven.
    pub(crate) proofs: u64,
}

impl PoetHost {
    pub(crate) fn new(spec: PoetSpec) -> Self {
        let service = PoetService::new(spec.config.clone()).expect("valid PoET configuration");
        PoetHost { spec, service, proofs: 0 }
    }

    pub(crate) fn id(&self) -> NodeId {
        self.spec.id
    }

    /// Answers a request.
    pub(crate) fn handle(
        &mut self,
        now: Time,
        request: &PoetRequest,
        verifier: &dyn Verifier,
    ) -> PoetResponse {
        self.service.handle_request(now, request, self.spec.id, verifier)
    }

    /// Advances rounds; runs the work of rounds that ended.
    pub(crate) fn on_tick(&mut self, now: Time) {
        for event in self.service.on_tick(now) {
            if let ServiceEvent::RoundEnded { round, statement } = event {
                let duration = self.service.config().schedule.round_duration();
                let leaves = (self.spec.leaves_per_sec as u128 * duration.as_micros() / 1_000_000)
                    .max(u128::from(self.spec.t)) as u64;
                let mut work = SequentialWork::new(statement.0, self.spec.nesting_depth);
                work.step(leaves);
                let merkle = work.finish(self.spec.t as usize).expect("t ≤ leaves");
                let proof = PoetProof { merkle, leaves: work.leaves() };
                self.service.proof_ready(round, proof).expect("the round just ended");
                self.proofs += 1;
            }
        }
    }

    pub(crate) fn next_timeout(&self) -> Option<Time> {
        self.service.next_timeout()
    }
}

//! The per-layer certify message collector and certificate validation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::message::{CERTIFY_ROUND, Certificate, CertifyMessage};
use super::{CertifierConfig, CertifyReject};
use crate::codec::BoundedVec;
use crate::crypto::Verifier;
use crate::eligibility::hare::Sortition;
use crate::types::{BlockId, GenesisId, LayerId, NodeId};

/// What one layer has collected. Messages are kept in allocations a runtime hosting many
/// nodes may share between them ([`Verifier::share_certify_message`]): every node keeps every
/// committee message of a window of layers, about 200 bytes each.
#[derive(Debug, Default)]
struct LayerState {
    /// The accepted message of each smesher (one per smesher, whatever the block).
    messages: BTreeMap<NodeId, Arc<CertifyMessage>>,
    /// Summed seats per block over `messages`.
    tallies: BTreeMap<BlockId, u64>,
    /// The layer's certificate, once a block reached the threshold: its block and messages
    /// (by smesher; [`Certifier::certificate`] builds the wire form).
    certified: Option<(BlockId, Vec<Arc<CertifyMessage>>)>,
}

/// Collects certify messages per layer and builds each layer's certificate once.
#[derive(Debug)]
pub struct Certifier {
    cfg: CertifierConfig,
    genesis: GenesisId,
    /// The highest current layer seen (the window moves forward only).
    current: LayerId,
    /// Layers below this were pruned by the caller and are never accepted again, so a layer
    /// cannot yield a second certificate after its state is gone.
    floor: LayerId,
    layers: BTreeMap<LayerId, LayerState>,
}

impl Certifier {
    /// A collector for the network `genesis`. Panics on an invalid config (see
    /// [`CertifierConfig::validate`]).
    pub fn new(cfg: CertifierConfig, genesis: GenesisId) -> Certifier {
        if let Err(e) = cfg.validate() {
            panic!("{e}");
        }
        Certifier { cfg, genesis, current: LayerId(0), floor: LayerId(0), layers: BTreeMap::new() }
    }

    /// Handles a certify message from gossip (or one of our own).
    ///
    /// `current` is the node's current layer; `weight` is the smesher's ATX weight in the
    /// active set of the layer's epoch (`None`: not in it); `malicious` whether a malfeasance
    /// proof against it is known; `sortition` is the draw context of the message's layer (the
    /// caller builds it from the epoch beacon and the active set's total weight, with round
    /// [`CERTIFY_ROUND`] and this config's committee size; a different one is a bug and
    /// panics).
    ///
    /// Returns the layer's certificate exactly once: with the message that makes the summed
    /// seats of one block first reach the threshold. Cheap checks (window, duplicates, active
    /// set) come before the signature and the VRF.
    pub fn on_message(
        &mut self,
        current: LayerId,
        msg: CertifyMessage,
        sortition: &Sortition,
        weight: Option<u64>,
        malicious: bool,
        verifier: &dyn Verifier,
    ) -> Result<Option<Certificate>, CertifyReject> {
        self.advance(current);
        let layer = msg.layer;
        if !self.in_window(layer) {
            return Err(CertifyReject::OutsideBuffer { layer, current: self.current });
        }
        check_sortition(sortition, &self.cfg, layer);
        let previous = self.layers.get(&layer).and_then(|s| s.messages.get(&msg.smesher));
        if previous.is_some_and(|p| **p == msg) {
            return Err(CertifyReject::Duplicate);
        }
        let Some(weight) = weight else {
            return Err(CertifyReject::UnknownIdentity(msg.smesher));
        };
        if malicious {
            return Err(CertifyReject::Malicious(msg.smesher));
        }
        check_message(&msg, &self.genesis, sortition, weight, verifier)?;
        // Only a verified second message is the smesher's equivocation; a forged one was
        // refused above with a penalty.
        if previous.is_some() {
            return Err(CertifyReject::Conflicting(msg.smesher));
        }
        let held = self.layers.get(&layer).map_or(0, |s| s.messages.len());
        if held >= self.cfg.messages_max as usize {
            return Err(CertifyReject::LayerFull(layer));
        }
        Ok(self.on_valid(verifier.share_certify_message(msg)))
    }

    /// The certificate of `layer`, if one was built and the layer is not pruned yet.
    pub fn certificate(&self, layer: LayerId) -> Option<Certificate> {
        let (block, messages) = self.layers.get(&layer)?.certified.as_ref()?;
        Some(certificate(layer, *block, messages))
    }

    /// Forgets every layer below `below` and refuses their messages from now on.
    pub fn prune(&mut self, below: LayerId) {
        self.floor = self.floor.max(below);
        self.layers = self.layers.split_off(&self.floor);
    }

    /// Panics if an invariant is broken.
    pub fn check_invariants(&self) {
        let window = 2 * u64::from(self.cfg.layer_buffer) + 1;
        assert!(self.layers.len() as u64 <= window, "more layers than the window");
        for (&layer, state) in &self.layers {
            assert!(self.in_window(layer), "{layer} kept outside the window");
            assert!(state.messages.len() <= self.cfg.messages_max as usize, "layer over bound");
            let mut tallies = BTreeMap::new();
            for (smesher, m) in &state.messages {
                assert_eq!(*smesher, m.smesher, "message filed under another smesher");
                assert_eq!(m.layer, layer, "message filed under another layer");
                assert!(m.count > 0, "a zero-seat message was counted");
                *tallies.entry(m.block).or_insert(0u64) += u64::from(m.count);
            }
            assert_eq!(tallies, state.tallies, "tallies differ from the messages");
            if let Some((block, messages)) = &state.certified {
                let cert = certificate(layer, *block, messages);
                assert!(
                    cert.count() >= u64::from(self.cfg.threshold),
                    "certificate below threshold"
                );
                assert!(
                    cert.signatures.windows(2).all(|w| w[0].smesher < w[1].smesher),
                    "certificate smeshers not distinct and sorted"
                );
                for m in messages {
                    assert_eq!((m.layer, m.block), (layer, *block), "foreign message");
                    let collected = state.messages.get(&m.smesher);
                    assert!(collected.is_some_and(|c| Arc::ptr_eq(c, m)), "message not collected");
                }
            }
        }
    }

    /// Moves the window forward to `current` and drops the layers that fell out of it.
    fn advance(&mut self, current: LayerId) {
        self.current = self.current.max(current);
        let lo = self.window_start();
        if self.layers.first_key_value().is_some_and(|(&first, _)| first < lo) {
            self.layers = self.layers.split_off(&lo);
        }
    }

    fn window_start(&self) -> LayerId {
        LayerId(self.current.0.saturating_sub(self.cfg.layer_buffer)).max(self.floor)
    }

    fn in_window(&self, layer: LayerId) -> bool {
        let hi = self.current.0.saturating_add(self.cfg.layer_buffer);
        self.window_start() <= layer && layer.0 <= hi
    }

    /// Records a verified message and builds the certificate if its block just reached the
    /// threshold.
    fn on_valid(&mut self, msg: Arc<CertifyMessage>) -> Option<Certificate> {
        let threshold = u64::from(self.cfg.threshold);
        let state = self.layers.entry(msg.layer).or_default();
        let tally = state.tallies.entry(msg.block).or_insert(0);
        *tally += u64::from(msg.count);
        let reached = *tally >= threshold;
        #[cfg(feature = "canary")]
        let reached = if crate::canary::active(crate::canary::Canary::CertifierThresholdStrict) {
            *tally > threshold
        } else {
            reached
        };
        let (layer, block) = (msg.layer, msg.block);
        state.messages.insert(msg.smesher, msg);
        if !reached || state.certified.is_some() {
            return None;
        }
        let messages: Vec<_> =
            state.messages.values().filter(|m| m.block == block).map(Arc::clone).collect();
        let cert = certificate(layer, block, &messages);
        state.certified = Some((block, messages));
        Some(cert)
    }
}

/// The certificate of `block` in `layer` made of `messages` (sorted by smesher).
fn certificate(layer: LayerId, block: BlockId, messages: &[Arc<CertifyMessage>]) -> Certificate {
    let signatures = messages.iter().map(|m| **m).collect();
    Certificate {
        layer,
        block,
        // Before the last message the block's seats were below the threshold, so at most
        // `threshold - 1` messages plus that one, and the config caps the threshold.
        signatures: BoundedVec::new(signatures).expect("at most threshold messages"),
    }
}

/// Panics unless `sortition` is the certify committee draw of `layer` under `cfg`: the caller
/// builds it, so a mismatch is a bug, not bad input.
fn check_sortition(sortition: &Sortition, cfg: &CertifierConfig, layer: LayerId) {
    assert_eq!(sortition.round, CERTIFY_ROUND, "certify sortition must use CERTIFY_ROUND");
    assert_eq!(sortition.committee_size, cfg.committee_size, "certify committee size");
    assert_eq!(sortition.layer, layer, "sortition is for another layer");
}

/// The signature and eligibility checks of one message.
fn check_message(
    msg: &CertifyMessage,
    genesis: &GenesisId,
    sortition: &Sortition,
    weight: u64,
    verifier: &dyn Verifier,
) -> Result<(), CertifyReject> {
    if !msg.signature_valid(genesis, verifier) {
        return Err(CertifyReject::BadSignature);
    }
    if !sortition.check(verifier, &msg.smesher, weight, &msg.proof, msg.count) {
        return Err(CertifyReject::NotEligible(msg.smesher));
    }
    Ok(())
}

/// Validates a certificate received from a peer (what a syncing node trusts): every message is
/// for the certificate's layer and block, smeshers are distinct and in the active set
/// (`weight`), every signature and committee eligibility is valid, and the summed seats reach
/// the threshold.
///
/// Stricter than go-spacemesh's `validateCert`, which skips invalid messages and counts the
/// rest: an honest certifier only ever puts verified messages in a certificate, so one with an
/// invalid message was made by a faulty node and is refused whole. Messages need not be sorted
/// (go-spacemesh certificates keep arrival order).
pub fn validate(
    cert: &Certificate,
    cfg: &CertifierConfig,
    genesis: &GenesisId,
    sortition: &Sortition,
    weight: impl Fn(&NodeId) -> Option<u64>,
    verifier: &dyn Verifier,
) -> Result<(), CertifyReject> {
    check_sortition(sortition, cfg, cert.layer);
    let mut smeshers = BTreeSet::new();
    for m in cert.signatures.iter() {
        if m.layer != cert.layer || m.block != cert.block {
            return Err(CertifyReject::MismatchedMessage);
        }
        if !smeshers.insert(m.smesher) {
            return Err(CertifyReject::DuplicateSmesher(m.smesher));
        }
    }
    let count = cert.count();
    if count < u64::from(cfg.threshold) {
        return Err(CertifyReject::BelowThreshold { count, threshold: cfg.threshold });
    }
    for m in cert.signatures.iter() {
        let w = weight(&m.smesher).ok_or(CertifyReject::UnknownIdentity(m.smesher))?;
        check_message(m, genesis, sortition, w, verifier)?;
    }
    Ok(())
}

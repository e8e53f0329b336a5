use super::*;
use crate::codec::{BoundedVec, Encode, decode_exact};
use crate::crypto::{Ed25519Verifier, Signer};
use crate::eligibility::hare::Sortition;
use crate::types::{Beacon, BlockId, GenesisId, LayerId, NodeId};

const GENESIS: GenesisId = GenesisId([7; 20]);
const WEIGHT: u64 = 100;
const LAYER: LayerId = LayerId(20);

fn block(b: u8) -> BlockId {
    BlockId([b; 20])
}

/// Identities of equal weight and their certify draws.
struct Committee {
    members: Vec<(Signer, [u8; 32])>,
    cfg: CertifierConfig,
}

impl Committee {
    fn new(size: u8) -> Committee {
        let members = (0..size)
            .map(|i| {
                let mut seed = [0x5a; 32];
                seed[0] = i;
                (Signer::from_seed(seed, GENESIS), seed)
            })
            .collect();
        Committee { members, cfg: CertifierConfig::sim() }
    }

    fn sortition(&self, layer: LayerId) -> Sortition {
        Sortition {
            beacon: Beacon([1, 2, 3, 4]),
            layer,
            round: CERTIFY_ROUND,
            committee_size: self.cfg.committee_size,
            total_weight: WEIGHT * self.members.len() as u64,
        }
    }

    fn weight(&self, id: &NodeId) -> Option<u64> {
        self.members.iter().any(|(s, _)| s.node_id() == *id).then_some(WEIGHT)
    }

    /// Every member's draw for `layer`: (signer index, proof, seats).
    fn draws(&self, layer: LayerId) -> Vec<(usize, crate::vrf::VrfSignature, u16)> {
        let s = self.sortition(layer);
        self.members
            .iter()
            .enumerate()
            .map(|(i, (_, seed))| {
                let (proof, count) = s.draw(seed, WEIGHT).unwrap();
                (i, proof, count)
            })
            .collect()
    }

    /// The signed messages of the eligible members for `block` in `layer`.
    fn messages(&self, layer: LayerId, b: BlockId) -> Vec<CertifyMessage> {
        self.draws(layer)
            .into_iter()
            .filter(|d| d.2 > 0)
            .map(|(i, proof, count)| {
                CertifyMessage::sign(&self.members[i].0, layer, b, count, proof)
            })
            .collect()
    }

    fn feed(
        &self,
        c: &mut Certifier,
        current: LayerId,
        msg: CertifyMessage,
    ) -> Result<Option<Certificate>, CertifyReject> {
        let w = self.weight(&msg.smesher);
        let out =
            c.on_message(current, msg, &self.sortition(msg.layer), w, false, &Ed25519Verifier);
        c.check_invariants();
        out
    }

    fn validate(&self, cert: &Certificate) -> Result<(), CertifyReject> {
        validate(
            cert,
            &self.cfg,
            &GENESIS,
            &self.sortition(cert.layer),
            |id| self.weight(id),
            &Ed25519Verifier,
        )
    }

    /// Feeds every eligible message for `b` and returns the one certificate produced.
    fn certify(&self, c: &mut Certifier, b: BlockId) -> Certificate {
        let mut certs = vec![];
        for m in self.messages(LAYER, b) {
            certs.extend(self.feed(c, LAYER, m).unwrap());
        }
        assert_eq!(certs.len(), 1, "exactly one certificate");
        certs.pop().unwrap()
    }
}

/// A committee of 30 equal identities certifies a block exactly once, when the message that
/// brings its seats to the threshold arrives; the certificate validates and round-trips.
#[test]
fn committee_certifies_exactly_once() {
    let com = Committee::new(30);
    let msgs = com.messages(LAYER, block(1));
    let seats: u64 = msgs.iter().map(|m| u64::from(m.count)).sum();
    assert!(seats >= 11 && msgs.len() < 30, "fixture: {seats} seats in {} messages", msgs.len());
    let mut c = Certifier::new(com.cfg, GENESIS);
    let mut certs = vec![];
    for m in &msgs {
        if let Some(cert) = com.feed(&mut c, LAYER, *m).unwrap() {
            certs.push((cert, *m));
        }
    }
    assert_eq!(certs.len(), 1, "exactly one certificate");
    let (cert, crossing) = certs.pop().unwrap();
    assert_eq!((cert.layer, cert.block), (LAYER, block(1)));
    assert!(cert.count() >= 11, "reaches the threshold");
    assert!(cert.count() - u64::from(crossing.count) < 11, "built when first reached");
    assert!(cert.signatures.contains(&crossing));
    assert!(cert.signatures.len() < msgs.len(), "later messages are not in the certificate");
    assert_eq!(c.certificate(LAYER).as_ref(), Some(&cert));
    assert_eq!(com.validate(&cert), Ok(()));
    assert_eq!(decode_exact::<Certificate>(&cert.encode()), Ok(cert));
}

/// Hands out one allocation per certify message and keeps it, so that a test can count who
/// else holds it.
#[derive(Debug, Default)]
struct KeepingVerifier(std::sync::Mutex<Vec<std::sync::Arc<CertifyMessage>>>);

impl crate::crypto::Verifier for KeepingVerifier {
    fn verify(&self, key: &[u8; 32], message: &[u8], sig: &crate::crypto::Signature) -> bool {
        Ed25519Verifier.verify(key, message, sig)
    }

    fn share_certify_message(&self, msg: CertifyMessage) -> std::sync::Arc<CertifyMessage> {
        let mut kept = self.0.lock().unwrap();
        if let Some(k) = kept.iter().find(|k| ***k == msg) {
            return std::sync::Arc::clone(k);
        }
        kept.push(std::sync::Arc::new(msg));
        std::sync::Arc::clone(kept.last().unwrap())
    }
}

/// Two certifiers fed the same messages through a sharing runtime keep its allocations (one
/// per message, held by both: the collected message and, for the certified block, the
/// certificate's), build equal certificates, and drop their hold when the layer is pruned.
#[test]
fn collected_messages_are_the_runtime_allocations() {
    let com = Committee::new(30);
    let v = KeepingVerifier::default();
    let mut cs = [Certifier::new(com.cfg, GENESIS), Certifier::new(com.cfg, GENESIS)];
    for c in &mut cs {
        for m in com.messages(LAYER, block(1)) {
            let w = com.weight(&m.smesher);
            c.on_message(LAYER, m, &com.sortition(LAYER), w, false, &v).unwrap();
            c.check_invariants();
        }
    }
    let cert = cs[0].certificate(LAYER).expect("certified");
    assert_eq!(cs[1].certificate(LAYER).as_ref(), Some(&cert));
    let kept = v.0.lock().unwrap().clone();
    assert_eq!(kept.len(), com.messages(LAYER, block(1)).len(), "one allocation a message");
    for k in &kept {
        // The verifier, `kept` here, and each certifier's collected message and certificate.
        let in_cert = usize::from(cert.signatures.contains(k));
        assert_eq!(std::sync::Arc::strong_count(k), 2 + 2 * (1 + in_cert));
    }
    for c in &mut cs {
        c.prune(LayerId(LAYER.0 + 1));
    }
    assert!(kept.iter().all(|k| std::sync::Arc::strong_count(k) == 2), "pruned layers let go");
}

/// A forged signature is rejected with a penalty and leaves no trace: the genuine message is
/// accepted afterwards.
#[test]
fn forged_signature_is_penalized() {
    let com = Committee::new(30);
    let mut c = Certifier::new(com.cfg, GENESIS);
    let msg = com.messages(LAYER, block(1))[0];
    let mut forged = msg;
    forged.signature.0[5] ^= 1;
    let err = com.feed(&mut c, LAYER, forged).unwrap_err();
    assert_eq!(err, CertifyReject::BadSignature);
    assert!(err.penalize());
    // Someone else's proof and signature under this smesher's name.
    let mut stolen = com.messages(LAYER, block(1))[1];
    stolen.smesher = msg.smesher;
    assert_eq!(com.feed(&mut c, LAYER, stolen), Err(CertifyReject::BadSignature));
    assert_eq!(com.feed(&mut c, LAYER, msg), Ok(None));
}

/// Claiming more seats than the proof gives, seats without a winning proof, or zero seats is
/// refused even when the signature is good, without a penalty: eligibility is judged against
/// this node's beacon and active set, which the relaying peer may not share.
#[test]
fn ineligible_counts_are_refused_without_penalty() {
    let com = Committee::new(30);
    let mut c = Certifier::new(com.cfg, GENESIS);
    let draws = com.draws(LAYER);
    let (i, proof, count) = draws.iter().copied().find(|d| d.2 > 0).unwrap();
    let signer = &com.members[i].0;
    for bad in [count + 1, 0] {
        let m = CertifyMessage::sign(signer, LAYER, block(1), bad, proof);
        let err = com.feed(&mut c, LAYER, m).unwrap_err();
        assert_eq!(err, CertifyReject::NotEligible(signer.node_id()));
        assert!(!err.penalize());
    }
    let (j, loser_proof, _) = draws.iter().copied().find(|d| d.2 == 0).unwrap();
    let m = CertifyMessage::sign(&com.members[j].0, LAYER, block(1), 1, loser_proof);
    assert!(matches!(com.feed(&mut c, LAYER, m), Err(CertifyReject::NotEligible(_))));
    // A proof made for another layer does not carry over.
    let other = com.draws(LayerId(21)).into_iter().find(|d| d.2 > 0).unwrap();
    let m = CertifyMessage::sign(&com.members[other.0].0, LAYER, block(1), other.2, other.1);
    assert!(matches!(com.feed(&mut c, LAYER, m), Err(CertifyReject::NotEligible(_))));
}

/// Messages outside `layer_buffer` of the current layer (either side) are ignored without
/// penalty; the edges of the window are accepted.
#[test]
fn outside_buffer_is_ignored() {
    let com = Committee::new(30);
    let mut c = Certifier::new(com.cfg, GENESIS);
    let current = LayerId(30);
    for (layer, inside) in
        [(LayerId(21), false), (LayerId(22), true), (LayerId(38), true), (LayerId(39), false)]
    {
        let m = com.messages(layer, block(1))[0];
        let out = com.feed(&mut c, current, m);
        if inside {
            assert_eq!(out, Ok(None), "{layer}");
        } else {
            let err = out.unwrap_err();
            assert_eq!(err, CertifyReject::OutsideBuffer { layer, current });
            assert!(!err.penalize());
        }
    }
}

/// The same message twice is a duplicate; a second, different valid message of the smesher
/// for the layer is refused and not counted, so it never enters the certificate.
#[test]
fn one_message_per_smesher_and_layer() {
    let com = Committee::new(30);
    let mut c = Certifier::new(com.cfg, GENESIS);
    let msgs = com.messages(LAYER, block(1));
    assert_eq!(com.feed(&mut c, LAYER, msgs[0]), Ok(None));
    let err = com.feed(&mut c, LAYER, msgs[0]).unwrap_err();
    assert_eq!(err, CertifyReject::Duplicate);
    assert!(!err.penalize());
    let other = com.messages(LAYER, block(2))[1];
    assert_eq!(com.feed(&mut c, LAYER, other), Ok(None), "another smesher may vote block 2");
    let conflicting = com.messages(LAYER, block(2))[0];
    let err = com.feed(&mut c, LAYER, conflicting).unwrap_err();
    assert_eq!(err, CertifyReject::Conflicting(msgs[0].smesher));
    assert!(!err.penalize());
    let mut cert = None;
    for m in &msgs[1..] {
        let out = com.feed(&mut c, LAYER, *m);
        if m.smesher == other.smesher {
            assert_eq!(out, Err(CertifyReject::Conflicting(m.smesher)));
        } else if let Some(x) = out.unwrap() {
            cert = Some(x);
        }
    }
    let cert = cert.expect("certified");
    assert_eq!(cert.block, block(1));
    assert!(cert.signatures.iter().all(|m| m.block == block(1)));
}

/// Identities outside the active set and malicious ones are ignored without penalty.
#[test]
fn unknown_and_malicious_are_ignored() {
    let com = Committee::new(30);
    let mut c = Certifier::new(com.cfg, GENESIS);
    let m = com.messages(LAYER, block(1))[0];
    let s = com.sortition(LAYER);
    let v = Ed25519Verifier;
    let err = c.on_message(LAYER, m, &s, None, false, &v).unwrap_err();
    assert_eq!(err, CertifyReject::UnknownIdentity(m.smesher));
    assert!(!err.penalize());
    let err = c.on_message(LAYER, m, &s, Some(WEIGHT), true, &v).unwrap_err();
    assert_eq!(err, CertifyReject::Malicious(m.smesher));
    assert!(!err.penalize());
    assert_eq!(c.on_message(LAYER, m, &s, Some(WEIGHT), false, &v), Ok(None));
}

/// `validate` accepts the produced certificate and refuses one below the threshold, with a
/// duplicated smesher, with a message for another block or layer, or with a bad message.
#[test]
fn validate_refuses_broken_certificates() {
    let com = Committee::new(30);
    let mut c = Certifier::new(com.cfg, GENESIS);
    let cert = com.certify(&mut c, block(1));
    assert_eq!(com.validate(&cert), Ok(()));
    let with = |f: &dyn Fn(&mut Vec<CertifyMessage>)| {
        let mut sigs = cert.signatures.to_vec();
        f(&mut sigs);
        Certificate { signatures: BoundedVec::new(sigs).unwrap(), ..cert.clone() }
    };

    // Drop messages from the end until the seats fall below the threshold.
    let short = with(&|s| {
        while s.iter().map(|m| u64::from(m.count)).sum::<u64>() >= 11 {
            s.pop();
        }
    });
    assert!(!short.signatures.is_empty(), "fixture: a partial certificate");
    let err = com.validate(&short).unwrap_err();
    assert!(matches!(err, CertifyReject::BelowThreshold { threshold: 11, .. }), "{err:?}");
    assert!(err.penalize());
    let empty = with(&|s| s.clear());
    assert_eq!(
        com.validate(&empty),
        Err(CertifyReject::BelowThreshold { count: 0, threshold: 11 })
    );

    let dup = with(&|s| s.push(s[0]));
    assert_eq!(
        com.validate(&dup),
        Err(CertifyReject::DuplicateSmesher(cert.signatures[0].smesher))
    );

    let spare = com
        .messages(LAYER, block(2))
        .into_iter()
        .find(|m| cert.signatures.iter().all(|x| x.smesher != m.smesher))
        .unwrap();
    let foreign = with(&|s| s.push(spare));
    assert_eq!(com.validate(&foreign), Err(CertifyReject::MismatchedMessage));
    let relabeled = Certificate { block: block(2), ..cert.clone() };
    assert_eq!(com.validate(&relabeled), Err(CertifyReject::MismatchedMessage));

    let forged = with(&|s| s[0].signature.0[0] ^= 1);
    assert_eq!(com.validate(&forged), Err(CertifyReject::BadSignature));
    let inflated = with(&|s| {
        let m = s[0];
        s[0] = CertifyMessage::sign(
            &com.members.iter().find(|x| x.0.node_id() == m.smesher).unwrap().0,
            m.layer,
            m.block,
            m.count + 1,
            m.proof,
        );
    });
    assert!(matches!(com.validate(&inflated), Err(CertifyReject::NotEligible(_))));
    let first = cert.signatures[0].smesher;
    let unknown = validate(
        &cert,
        &com.cfg,
        &GENESIS,
        &com.sortition(LAYER),
        |id| com.weight(id).filter(|_| *id != first),
        &Ed25519Verifier,
    );
    assert_eq!(unknown, Err(CertifyReject::UnknownIdentity(first)));
}

/// Pruning forgets a layer's certificate, and its messages are refused from then on, so a
/// layer never yields a second certificate; the window drops layers as the current layer
/// advances.
#[test]
fn prune_and_window_bound_state() {
    let com = Committee::new(30);
    let mut c = Certifier::new(com.cfg, GENESIS);
    com.certify(&mut c, block(1));
    c.prune(LayerId(LAYER.0 + 1));
    c.check_invariants();
    assert_eq!(c.certificate(LAYER), None);
    let m = com.messages(LAYER, block(1))[0];
    assert!(matches!(com.feed(&mut c, LAYER, m), Err(CertifyReject::OutsideBuffer { .. })));

    let mut c = Certifier::new(com.cfg, GENESIS);
    let cert = com.certify(&mut c, block(1));
    let later = LayerId(LAYER.0 + com.cfg.layer_buffer);
    let m = com.messages(later, block(3))[0];
    assert_eq!(com.feed(&mut c, later, m), Ok(None));
    assert_eq!(c.certificate(LAYER).as_ref(), Some(&cert), "still inside the window");
    let m = com.messages(LayerId(later.0 + 1), block(3))[0];
    assert_eq!(com.feed(&mut c, LayerId(later.0 + 1), m), Ok(None));
    assert_eq!(c.certificate(LAYER), None, "fell out of the window");
}

/// Configs: the constructors are valid, the bounds are checked, and penalties follow the
/// reject kind.
#[test]
fn config_and_penalties() {
    let sim = CertifierConfig::sim();
    assert_eq!((sim.committee_size, sim.threshold, sim.layer_buffer), (20, 11, 8));
    assert_eq!(CertifierConfig::with_committee(200).threshold, 101);
    assert_eq!(sim.validate(), Ok(()));
    assert!(CertifierConfig { committee_size: 0, ..sim }.validate().is_err());
    assert!(CertifierConfig { threshold: 0, ..sim }.validate().is_err());
    assert!(CertifierConfig::with_committee(2000).validate().is_err(), "threshold over 1000");
    assert!(CertifierConfig { messages_max: 10, ..sim }.validate().is_err());
    assert_eq!(CERTIFY_ROUND, u32::MAX >> 1);
}

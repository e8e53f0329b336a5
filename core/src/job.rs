//! Heavy work a node hands to its runtime (`StartJob`), and the results it gets back
//! (`JobDone`). A job is a pure function of its description (and of the PoST data the runtime
//! holds for this node), so the simulator can run it at once and deliver the result after a
//! modelled duration, while the real runtime runs it on a worker thread.

use std::sync::Arc;
use std::time::Duration;

use crate::activation::handler::{AtxCheck, AtxCheckOutcome};
use crate::activation::wire::AtxId;
use crate::crypto::{Signature, Verifier, hash_parts};
use crate::malfeasance::{Evidence, MalfeasanceProof};
use crate::poet::PoetProof;
use crate::post::{self, PostConfig, PostMetadata, Proof, VerifyError, VerifyMode};
use crate::types::{GenesisId, Hash32, NodeId};

/// Identifies a job within one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

/// One signature to check: the full signed message (see [`crate::crypto::signed_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The signer's public key.
    pub public_key: [u8; 32],
    /// The domain-separated signed bytes.
    pub signed_message: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

/// PoST data of one identity, as a job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostData {
    /// The identity.
    pub node_id: NodeId,
    /// The ATX the data commits to.
    pub commitment_atx: AtxId,
    /// Units.
    pub num_units: u32,
    /// PoST parameters.
    pub config: PostConfig,
}

impl PostData {
    /// Metadata for proving and verifying.
    pub fn metadata(&self) -> PostMetadata {
        PostMetadata {
            node_id: self.node_id,
            commitment_atx_id: self.commitment_atx,
            num_units: self.num_units,
            labels_per_unit: self.config.labels_per_unit,
        }
    }

    /// Total labels.
    pub fn num_labels(&self) -> u64 {
        u64::from(self.num_units) * self.config.labels_per_unit
    }

    /// The commitment of the data.
    pub fn commitment(&self) -> [u8; 32] {
        post::commitment(&self.node_id, &self.commitment_atx)
    }
}

/// Where a runtime keeps the labels of its identities: computes them (simulation, tests) or
/// reads them from the files written by initialization (real node).
pub trait LabelSource: Send + Sync + std::fmt::Debug {
    /// All labels of `data`, 16 bytes each, in index order.
    fn labels(&self, data: &PostData) -> Result<Arc<Vec<u8>>, String>;
}

/// Computes labels on demand (fine for simulation-sized data).
#[derive(Debug, Default, Clone, Copy)]
pub struct ComputedLabels;

impl LabelSource for ComputedLabels {
    fn labels(&self, data: &PostData) -> Result<Arc<Vec<u8>>, String> {
        let commitment = data.commitment();
        let n = data.num_labels();
        let mut out = Vec::with_capacity(n as usize * 16);
        for i in 0..n {
            out.extend_from_slice(&post::label(&commitment, i, &data.config.scrypt)[..16]);
        }
        Ok(Arc::new(out))
    }
}

/// What a job may use from its runtime.
#[derive(Debug, Clone, Copy)]
pub struct JobEnv<'a> {
    /// Signature and VRF checks.
    pub verifier: &'a dyn Verifier,
    /// PoST data.
    pub labels: &'a dyn LabelSource,
}

impl<'a> JobEnv<'a> {
    /// An environment that computes labels on demand.
    pub fn computing(verifier: &'a dyn Verifier) -> Self {
        JobEnv { verifier, labels: &ComputedLabels }
    }
}

/// A job description.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Verify a batch of signatures.
    VerifySignatures(Vec<SignatureCheck>),
    /// The heavy checks of one ATX.
    VerifyAtx {
        /// The network.
        genesis: GenesisId,
        /// PoST parameters.
        config: Box<PostConfig>,
        /// The ATX and what to check.
        check: Box<AtxCheck>,
    },
    /// Verify a PoET proof.
    VerifyPoetProof {
        /// The proof.
        proof: Box<PoetProof>,
        /// Its statement.
        statement: Hash32,
        /// Leaves opened (T).
        t: u32,
        /// Hashes per leaf.
        nesting_depth: u32,
    },
    /// Verify a malfeasance proof.
    VerifyMalfeasance {
        /// The network.
        genesis: GenesisId,
        /// PoST parameters (for invalid-index proofs).
        config: Box<PostConfig>,
        /// The accused identity's commitment ATX (for invalid-index proofs).
        commitment_atx: Option<AtxId>,
        /// The proof.
        proof: Box<MalfeasanceProof>,
    },
    /// Initialize PoST data and find the VRF nonce; prove the initial PoST.
    PostInit(Box<PostData>),
    /// Prove PoST on a challenge.
    PostProve {
        /// The data.
        data: Box<PostData>,
        /// The challenge.
        challenge: Hash32,
    },
}

/// A job result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// One verdict per check, in order.
    SignaturesVerified(Vec<bool>),
    /// ATX checks.
    AtxChecked(AtxCheckOutcome),
    /// PoET proof verdict.
    PoetProofVerified(bool),
    /// Malfeasance proof verdict.
    MalfeasanceVerified(bool),
    /// VRF nonce index and initial proof, or why initialization failed.
    PostInitialized(Result<(u64, Proof), String>),
    /// A proof, or why proving failed.
    PostProved(Result<Proof, String>),
}

/// Time one ed25519 verification takes on one core (measured: about 38 µs with
/// ed25519-dalek 2 on the project's 2-core machine; dst.md section 3).
pub const ED25519_VERIFY_COST: Duration = Duration::from_micros(40);

impl Job {
    /// Runs the job.
    pub fn run(&self, env: &JobEnv<'_>) -> JobResult {
        match self {
            Job::VerifySignatures(checks) => JobResult::SignaturesVerified(
                checks
                    .iter()
                    .map(|c| env.verifier.verify(&c.public_key, &c.signed_message, &c.signature))
                    .collect(),
            ),
            Job::VerifyAtx { genesis, config, check } => {
                JobResult::AtxChecked(verify_atx(genesis, config, check, env.verifier))
            }
            Job::VerifyPoetProof { proof, statement, t, nesting_depth } => {
                JobResult::PoetProofVerified(
                    crate::poet::verify(proof, &statement.0, *t as usize, *nesting_depth).is_ok(),
                )
            }
            Job::VerifyMalfeasance { genesis, config, commitment_atx, proof } => {
                JobResult::MalfeasanceVerified(verify_malfeasance(
                    genesis,
                    config,
                    *commitment_atx,
                    proof,
                    env.verifier,
                ))
            }
            Job::PostInit(data) => JobResult::PostInitialized(post_init(data)),
            Job::PostProve { data, challenge } => {
                JobResult::PostProved(post_prove(data, &challenge.0, env.labels))
            }
        }
    }

    /// A key under which the result may be shared between nodes (the job depends only on
    /// public inputs), or `None` when the job is node-specific.
    pub fn memo_key(&self) -> Option<Hash32> {
        match self {
            Job::VerifyAtx { genesis, config, check } if check.subset_seed.is_none() => {
                // The id commits to everything signed; the signature and smesher are the rest.
                Some(hash_parts(&[
                    b"atx",
                    &genesis.0,
                    format!("{config:?}").as_bytes(),
                    &check.id.0,
                    &check.atx.smesher.0,
                    &check.atx.signature.0,
                    &check.commitment_atx.0,
                ]))
            }
            Job::VerifyPoetProof { proof, statement, t, nesting_depth } => Some(hash_parts(&[
                b"poet",
                &proof.reference().0,
                &statement.0,
                &t.to_le_bytes(),
                &nesting_depth.to_le_bytes(),
            ])),
            _ => None,
        }
    }

    /// How long the job takes on one core, for the simulator's duration model.
    pub fn modelled_duration(&self) -> Duration {
        match self {
            Job::VerifySignatures(checks) => ED25519_VERIFY_COST * checks.len() as u32,
            Job::VerifyAtx { .. } => Duration::from_micros(300),
            Job::VerifyPoetProof { .. } => Duration::from_millis(3),
            Job::VerifyMalfeasance { .. } => Duration::from_micros(200),
            Job::PostInit(data) => Duration::from_micros(10 * data.num_labels()),
            Job::PostProve { data, .. } => Duration::from_micros(1000 + data.num_labels() / 8),
        }
    }

    /// A short name for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::VerifySignatures(_) => "verify-signatures",
            Job::VerifyAtx { .. } => "verify-atx",
            Job::VerifyPoetProof { .. } => "verify-poet-proof",
            Job::VerifyMalfeasance { .. } => "verify-malfeasance",
            Job::PostInit(_) => "post-init",
            Job::PostProve { .. } => "post-prove",
        }
    }
}

fn pow_verifier() -> post::Blake3Pow {
    post::Blake3Pow::default()
}

fn verify_atx(
    genesis: &GenesisId,
    config: &PostConfig,
    check: &AtxCheck,
    verifier: &dyn Verifier,
) -> AtxCheckOutcome {
    let atx = &check.atx;
    let sig = atx.signature_check(genesis);
    if !verifier.verify(&sig.public_key, &sig.signed_message, &sig.signature) {
        return AtxCheckOutcome::BadSignature;
    }
    let data = PostData {
        node_id: atx.smesher,
        commitment_atx: check.commitment_atx,
        num_units: atx.inner.num_units,
        config: *config,
    };
    let meta = data.metadata();
    let pow = pow_verifier();
    if let Some(initial) = &atx.inner.challenge.initial_post
        && let Err(e) = post::verify(initial, &[0u8; 32], &meta, config, VerifyMode::All, &pow)
    {
        return AtxCheckOutcome::BadPost(format!("initial PoST: {e}"));
    }
    if let Some(nonce) = atx.inner.vrf_nonce
        && !post::verify_vrf_nonce(&data.commitment(), nonce, data.num_labels(), &config.scrypt)
    {
        return AtxCheckOutcome::BadVrfNonce;
    }
    let mode = match check.subset_seed {
        None => VerifyMode::All,
        Some(seed) => VerifyMode::Subset { k3: config.k3 as usize, seed },
    };
    let challenge = atx.inner.nipost.post_metadata.challenge;
    match post::verify(&atx.inner.nipost.post, &challenge.0, &meta, config, mode, &pow) {
        Ok(()) => AtxCheckOutcome::Valid,
        Err(VerifyError::InvalidIndex { position, .. }) => {
            AtxCheckOutcome::InvalidIndex(position as u32)
        }
        Err(e) => AtxCheckOutcome::BadPost(e.to_string()),
    }
}

fn verify_malfeasance(
    genesis: &GenesisId,
    config: &PostConfig,
    commitment_atx: Option<AtxId>,
    proof: &MalfeasanceProof,
    verifier: &dyn Verifier,
) -> bool {
    if proof.verify_signatures(genesis, verifier).is_err() {
        return false;
    }
    match &proof.evidence {
        Evidence::InvalidPostIndex { atx, position } => {
            let Some(commitment_atx) = commitment_atx.or(atx.inner.challenge.commitment_atx) else {
                return false;
            };
            let data = PostData {
                node_id: atx.smesher,
                commitment_atx,
                num_units: atx.inner.num_units,
                config: *config,
            };
            let challenge = atx.inner.nipost.post_metadata.challenge;
            // The proof holds when the index at `position` exists and is NOT a good label.
            *position < config.k2
                && !post::verify_index(
                    &atx.inner.nipost.post,
                    *position as usize,
                    &challenge.0,
                    &data.metadata(),
                    config,
                )
        }
        _ => true,
    }
}

/// Initializes the data (the initializer's pass finds the VRF nonce) and proves the initial
/// PoST on the labels that pass produced, so no label is computed twice.
fn post_init(data: &PostData) -> Result<(u64, Proof), String> {
    let commitment = data.commitment();
    let mut init = post::Initializer::new(commitment, data.num_labels(), data.config.scrypt);
    let mut labels = Vec::with_capacity(data.num_labels() as usize * post::LABEL_BYTES);
    init.step(data.num_labels(), &mut |_, label| labels.extend_from_slice(label));
    let nonce = init.vrf_nonce().ok_or("no label below the VRF difficulty")?;
    let proof = prove_on(data, &[0u8; 32], &labels)?;
    Ok((nonce, proof))
}

fn post_prove(
    data: &PostData,
    challenge: &[u8; 32],
    labels: &dyn LabelSource,
) -> Result<Proof, String> {
    prove_on(data, challenge, &labels.labels(data)?)
}

fn prove_on(data: &PostData, challenge: &[u8; 32], labels: &[u8]) -> Result<Proof, String> {
    post::prove(challenge, &data.config, &data.metadata(), labels, &pow_verifier())
        .map_err(|e| e.to_string())
}

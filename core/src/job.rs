//! Heavy work a node hands to its runtime (`StartJob`), and the results it gets back
//! (`JobDone`). A job is a pure function of its description (and of the PoST data the runtime
//! holds for this node), so the simulator can run it at once and deliver the result after a
//! modelled duration, while the real runtime runs it on a worker thread.

use std::sync::Arc;
use std::time::Duration;

use crate::activation::handler::{AtxCheck, AtxCheckOutcome};
use crate::activation::wire::AtxId;
use crate::codec::Encode;
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

/// Labels read per chunk when proving (4 MiB): proving never holds more of an identity's
/// labels in memory than this, whatever the size of its PoST data.
pub const PROVE_CHUNK_LABELS: u64 = 1 << 18;

/// Where a runtime keeps the labels of its identities: computes them (simulation, tests) or
/// writes them to files and reads them back (real node).
pub trait LabelSource: Send + Sync + std::fmt::Debug {
    /// Makes the labels of `data` available to [`LabelSource::reader`] (computing whatever is
    /// not there yet) and returns the index of its VRF nonce.
    fn initialize(&self, data: &PostData) -> Result<u64, String>;

    /// A reader over the labels of `data`, which [`LabelSource::initialize`] has made available;
    /// an error (naming what is missing or wrong) when they are not.
    fn reader(&self, data: &PostData) -> Result<Box<dyn LabelReader + '_>, String>;
}

/// Reads the labels of one identity, in chunks.
pub trait LabelReader {
    /// Fills `buf` (whole 16-byte labels) with the labels from `first_index` on.
    fn read(&mut self, first_index: u64, buf: &mut [u8]) -> Result<(), String>;
}

/// The VRF nonce of `data` and all its labels, from one pass of the initializer.
pub fn initialize_in_memory(data: &PostData) -> (Option<u64>, Vec<u8>) {
    let n = data.num_labels();
    let mut init = post::Initializer::new(data.commitment(), n, data.config.scrypt);
    let mut labels = Vec::with_capacity(n as usize * post::LABEL_BYTES);
    init.step(n, &mut |_, label| labels.extend_from_slice(label));
    (init.finish_vrf_nonce(), labels)
}

/// Why initialization gave no VRF nonce: it did not compute every label (once it has, the
/// nonce search goes on past them until it finds one).
pub const NO_VRF_NONCE: &str = "initialization incomplete: no VRF nonce yet";

/// Computes labels on demand (fine for simulation-sized data): initialization only finds the
/// VRF nonce, and every read computes its labels again.
#[derive(Debug, Default, Clone, Copy)]
pub struct ComputedLabels;

impl LabelSource for ComputedLabels {
    fn initialize(&self, data: &PostData) -> Result<u64, String> {
        let n = data.num_labels();
        let mut init = post::Initializer::new(data.commitment(), n, data.config.scrypt);
        init.step(n, &mut |_, _| {});
        init.finish_vrf_nonce().ok_or_else(|| NO_VRF_NONCE.to_string())
    }

    fn reader(&self, data: &PostData) -> Result<Box<dyn LabelReader + '_>, String> {
        Ok(Box::new(ComputingReader {
            labeler: post::Labeler::new(data.commitment(), data.config.scrypt),
            num_labels: data.num_labels(),
        }))
    }
}

/// Computes the labels each read asks for.
struct ComputingReader {
    labeler: post::Labeler,
    num_labels: u64,
}

impl LabelReader for ComputingReader {
    fn read(&mut self, first_index: u64, buf: &mut [u8]) -> Result<(), String> {
        check_range(first_index, buf.len(), self.num_labels)?;
        let mut out = buf.chunks_exact_mut(post::LABEL_BYTES);
        let mut index = first_index;
        // Four at a time where possible: the initializer's rate.
        while out.len() >= 4 {
            for full in self.labeler.label4(index) {
                out.next().expect("four left").copy_from_slice(&full[..post::LABEL_BYTES]);
            }
            index += 4;
        }
        for slot in out {
            slot.copy_from_slice(&self.labeler.label(index)[..post::LABEL_BYTES]);
            index += 1;
        }
        Ok(())
    }
}

/// Reads labels held in memory (all `16 · num_labels` bytes, in index order).
#[derive(Debug, Clone)]
pub struct InMemoryReader(pub Arc<Vec<u8>>);

impl LabelReader for InMemoryReader {
    fn read(&mut self, first_index: u64, buf: &mut [u8]) -> Result<(), String> {
        let num_labels = (self.0.len() / post::LABEL_BYTES) as u64;
        check_range(first_index, buf.len(), num_labels)?;
        let at = first_index as usize * post::LABEL_BYTES;
        buf.copy_from_slice(&self.0[at..at + buf.len()]);
        Ok(())
    }
}

/// Checks that `len` bytes from label `first_index` are whole labels below `num_labels`.
fn check_range(first_index: u64, len: usize, num_labels: u64) -> Result<(), String> {
    if !len.is_multiple_of(post::LABEL_BYTES) {
        return Err(format!("{len} bytes is not a whole number of labels"));
    }
    let end = first_index.saturating_add((len / post::LABEL_BYTES) as u64);
    if end > num_labels {
        return Err(format!("labels up to index {end} asked for, but there are {num_labels}"));
    }
    Ok(())
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
            Job::PostInit(data) => JobResult::PostInitialized(post_init(data, env.labels)),
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
                // Computed at every node for every ATX it receives: the configuration goes in
                // as its encoding (formatting it with Debug was 1.5% of a
                // 1,000-node run's CPU).
                Some(hash_parts(&[
                    b"atx",
                    &genesis.0,
                    &config.encode(),
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

/// Makes the data available through the runtime's label source (which finds the VRF nonce)
/// and proves the initial PoST on it.
fn post_init(data: &PostData, labels: &dyn LabelSource) -> Result<(u64, Proof), String> {
    let nonce = labels.initialize(data)?;
    let proof = post_prove(data, &[0u8; 32], labels)?;
    Ok((nonce, proof))
}

/// Proves on labels read from `labels` in chunks of [`PROVE_CHUNK_LABELS`].
fn post_prove(
    data: &PostData,
    challenge: &[u8; 32],
    labels: &dyn LabelSource,
) -> Result<Proof, String> {
    let mut reader = labels.reader(data)?;
    let (config, meta) = (&data.config, &data.metadata());
    let mut read = |first: u64, buf: &mut [u8]| reader.read(first, buf);
    post::prove_chunked(challenge, config, meta, &pow_verifier(), PROVE_CHUNK_LABELS, &mut read)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Ed25519Verifier;
    use crate::types::Hash32;

    fn data(units: u32) -> PostData {
        PostData {
            node_id: NodeId([3; 32]),
            commitment_atx: Hash32([4; 32]),
            num_units: units,
            config: PostConfig::sim(),
        }
    }

    /// Computed reads give the initializer's labels for any range, and reads past the end fail.
    #[test]
    fn computed_reads_are_the_initializers_labels() {
        let d = data(3);
        let (_, all) = initialize_in_memory(&d);
        let mut reader = ComputedLabels.reader(&d).unwrap();
        for (first, n) in [(0u64, 192usize), (5, 7), (190, 2), (0, 1)] {
            let mut buf = vec![0u8; n * 16];
            reader.read(first, &mut buf).unwrap();
            assert_eq!(buf, all[first as usize * 16..(first as usize + n) * 16]);
        }
        let e = reader.read(190, &mut [0u8; 48]).unwrap_err();
        assert!(e.contains("up to index 193"), "{e}");
        assert!(InMemoryReader(Arc::new(all)).read(0, &mut [0u8; 15]).is_err());
    }

    /// A PostInit job gives the nonce and proof of the in-memory path (initializer, then
    /// `post::prove` over all labels), and a PostProve job the proof of `post::prove`.
    #[test]
    fn post_jobs_prove_what_in_memory_proving_proves() {
        let env = JobEnv::computing(&Ed25519Verifier);
        for units in 1..=4 {
            let d = data(units);
            let (nonce, labels) = initialize_in_memory(&d);
            let pow = pow_verifier();
            let initial = post::prove(&[0; 32], &d.config, &d.metadata(), &labels, &pow);
            let JobResult::PostInitialized(got) = Job::PostInit(Box::new(d.clone())).run(&env)
            else {
                panic!("a PostInit job answers PostInitialized");
            };
            assert_eq!(got, Ok((nonce.unwrap(), initial.unwrap())));
            let challenge = Hash32([units as u8; 32]);
            let want = post::prove(&challenge.0, &d.config, &d.metadata(), &labels, &pow);
            let job = Job::PostProve { data: Box::new(d), challenge };
            assert_eq!(job.run(&env), JobResult::PostProved(Ok(want.unwrap())));
        }
    }
}

//! A signature verifier shared by every simulated node that remembers its answers.
//!
//! Verification is a pure function of (key, message, signature), so answering from a cache gives
//! the same result as verifying again, whichever node asks first: sharing it keeps the run
//! deterministic while a gossiped message's signature is checked once instead of once per node.
//!
//! The cache is keyed by the signature (or VRF proof) itself, which is already as random as a
//! hash, and each entry keeps the whole check to compare against: a lookup costs a comparison of
//! the message, not a hash of it (hashing every checked message once per node was a tenth of a
//! large run's BLAKE3 time).

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use bytes::Bytes;

use spacemesh_core::activation::Atx;
use spacemesh_core::activation::wire::{AtxId, InnerAtx};
use spacemesh_core::activation::{ActiveSet, AtxHeader};
use spacemesh_core::ballot::BallotRecord;
use spacemesh_core::block::Block;
use spacemesh_core::certifier::CertifyMessage;
use spacemesh_core::crypto::{Ed25519Verifier, Signature, Verifier};
use spacemesh_core::hare::wire::HareBody;
use spacemesh_core::hare::{Committee, Signed};
use spacemesh_core::job::{
    InMemoryReader, LabelReader, LabelSource, NO_VRF_NONCE, PostData, initialize_in_memory,
};
use spacemesh_core::lookup::Lookup;
use spacemesh_core::mesh::{LayerStep, StepKey};
use spacemesh_core::poet::{MembershipProof, MembershipTree};
use spacemesh_core::tortoise::BallotHeader;
use spacemesh_core::types::{BallotId, Beacon, BlockId, EpochId, Hash32, LayerId, NodeId};
use spacemesh_core::vrf::{self, VrfSignature};

/// What a remembered answer checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Check {
    Ed25519,
    Vrf,
    CommitteeCount,
}

/// One remembered check, in full: a lookup matches only when all of it is equal.
#[derive(Debug)]
struct Remembered {
    public_key: [u8; 32],
    proof: Box<[u8]>,
    message: Box<[u8]>,
    valid: bool,
}

/// A memoizing ed25519 verifier with a bounded cache, which also hands every node the same
/// allocation of an ATX header.
#[derive(Debug)]
pub struct MemoVerifier {
    /// By check and the first 16 bytes of the signature or proof (every node's every check
    /// looks here: a hash table).
    cache: Mutex<Lookup<(Check, u128), Remembered>>,
    /// One allocation per ATX header, shared by every node that stores it (a 1000-node run
    /// otherwise holds a million copies of a few thousand headers).
    headers: Mutex<Shared<AtxId, AtxHeader>>,
    /// One allocation per ATX's raw bytes, likewise (every node keeps them for a few epochs).
    atx_raws: Mutex<Shared<AtxId, Bytes>>,
    /// One allocation per ballot record, likewise (every node keeps every recent ballot).
    ballots: Mutex<Shared<BallotId, BallotRecord>>,
    /// One allocation per tortoise ballot header, likewise (every node keeps every ballot of
    /// the tortoise's window).
    tortoise_ballots: Mutex<Shared<BallotId, BallotHeader>>,
    /// One allocation per hare message's proof, hash and signature, likewise (every node
    /// keeps every message of its hare sessions).
    hare: Mutex<Shared<Hash32, Signed>>,
    /// Hare message bodies hashed, by the first 16 bytes of the sender's VRF proof (as random
    /// as a hash), each with the body it hashed to compare against: every node hashed every
    /// message's body, 1.4% of a 300-node run's CPU.
    hare_bodies: Mutex<Recent<HareBody, Hash32>>,
    /// PoET membership checks, by the first 16 bytes of the leaf (a hash), each with the whole
    /// check to compare against: every node checked every ATX's proof, 1.2% of a 300-node run.
    memberships: Mutex<Recent<(MembershipProof, Hash32, Hash32), bool>>,
    /// ATX ids, by the first 16 bytes of the ATX's signature, each with the inner ATX it was
    /// computed from to compare against: every node encoded and hashed every ATX it received.
    atx_ids: Mutex<Recent<InnerAtx, AtxId>>,
    /// PoET membership trees, by the member count and the first 16 bytes of the first member,
    /// each with its member list to compare against: every node built the tree of every PoET
    /// round it joined, twice, hashing every member (N² hashes per epoch).
    membership_trees: Mutex<Recent<Vec<Hash32>, Arc<MembershipTree>>>,
    /// One allocation per certify message, by layer and smesher (every node keeps every
    /// committee message of a window of layers; an equivocating second message keeps its own).
    certify: Mutex<Shared<(LayerId, NodeId), CertifyMessage>>,
    /// One allocation per active set, by its hash (every node keeps the sets of a few epochs).
    active_sets: Mutex<Shared<Hash32, ActiveSet>>,
    /// One allocation per block, by id (every node keeps a window of layers' blocks).
    blocks: Mutex<Shared<BlockId, Block>>,
    /// One allocation per hare committee, by epoch, beacon and total weight (an unequal
    /// committee under the same key keeps its own).
    committees: Mutex<Shared<(EpochId, Beacon, u64), Committee>>,
    /// Layer applications by state root and block, kept while a node holds the state they
    /// built (each holds every account, so at most a few dozen are kept at once).
    steps: Mutex<Shared<StepKey, LayerStep>>,
    cache_max: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl MemoVerifier {
    /// A verifier remembering at most `cache_max` answers (the cache is emptied when full, which
    /// keeps memory bounded and the behaviour deterministic).
    pub fn new(cache_max: usize) -> Self {
        MemoVerifier {
            cache: Mutex::new(Lookup::new(0)),
            headers: Mutex::new(Shared::default()),
            atx_raws: Mutex::new(Shared::default()),
            ballots: Mutex::new(Shared::default()),
            tortoise_ballots: Mutex::new(Shared::default()),
            hare: Mutex::new(Shared::default()),
            hare_bodies: Mutex::new(Recent::new(cache_max)),
            memberships: Mutex::new(Recent::new(cache_max)),
            atx_ids: Mutex::new(Recent::new(cache_max)),
            membership_trees: Mutex::new(Recent::new(cache_max.min(MEMBERSHIP_TREES_MAX))),
            certify: Mutex::new(Shared::default()),
            active_sets: Mutex::new(Shared::default()),
            committees: Mutex::new(Shared::default()),
            blocks: Mutex::new(Shared::default()),
            steps: Mutex::new(Shared::with_sweep_min(STEPS_SWEEP_MIN)),
            cache_max,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Answers served from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Answers computed.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

impl MemoVerifier {
    /// The remembered answer of the check of `proof` over `message` by `public_key`, or
    /// `compute`'s. Two checks that share a key but differ (an attacker reusing a signature on
    /// another message) never share an answer: the later one is computed and replaces the entry.
    fn remember(
        &self,
        check: Check,
        public_key: &[u8; 32],
        proof: &[u8],
        message: &[u8],
        compute: impl FnOnce() -> bool,
    ) -> bool {
        let key = (check, head(proof));
        let mut cache = self.cache.lock().expect("single-threaded");
        if let Some(r) = cache.get(&key)
            && r.public_key == *public_key
            && *r.proof == *proof
            && *r.message == *message
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return r.valid;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let valid = compute();
        if cache.len() >= self.cache_max {
            cache.clear();
        }
        let remembered = Remembered {
            public_key: *public_key,
            proof: proof.into(),
            message: message.into(),
            valid,
        };
        cache.insert(key, remembered);
        valid
    }
}

/// One allocation per key, handed to every node that stores an equal value.
#[derive(Debug)]
pub(crate) struct Shared<K, T: ?Sized> {
    kept: Lookup<K, Arc<T>>,
    /// The size at which the map next drops what no node holds any more: twice what the last
    /// sweep kept (at least `sweep_min`), so sweeps cost O(1) per insert however many are freed.
    sweep_at: usize,
    sweep_min: usize,
}

/// Most entries each of the hash and membership memos keeps (fewer when the cache bound is
/// lower): they serve the copies of recent messages, so a few thousand suffice, and a run-long
/// bound would hold a copy of every ATX and hare body of the run.
const RECENT_MAX: usize = 16_384;

/// Most membership trees kept: a PoET round's tree serves its members for the few minutes
/// between its proof and their ATXs, and each holds two hashes per member.
const MEMBERSHIP_TREES_MAX: usize = 16;

/// The answers of a pure per-message computation, by the head of a value in its input that is
/// as random as a hash, each kept with its input: only an equal input shares an answer.
/// Emptied when full (at [`RECENT_MAX`] or the cache bound), which keeps it deterministic.
#[derive(Debug)]
struct Recent<I, A> {
    kept: Lookup<u128, (I, A)>,
    max: usize,
}

impl<I, A: Clone> Recent<I, A> {
    fn new(cache_max: usize) -> Self {
        Recent { kept: Lookup::new(0), max: cache_max.min(RECENT_MAX) }
    }

    /// The answer kept under `key` when `is_input` says its input is this one, else
    /// `compute`'s, kept with `input()`.
    fn answer(
        &mut self,
        key: u128,
        is_input: impl Fn(&I) -> bool,
        input: impl FnOnce() -> I,
        compute: impl FnOnce() -> A,
    ) -> A {
        if let Some((kept, answer)) = self.kept.get(&key)
            && is_input(kept)
        {
            return answer.clone();
        }
        let answer = compute();
        if self.kept.len() >= self.max {
            self.kept.clear();
        }
        self.kept.insert(key, (input(), answer.clone()));
        answer
    }
}

/// The first 16 bytes of a signature, VRF proof or hash, as a key.
fn head(bytes: &[u8]) -> u128 {
    u128::from_le_bytes(bytes[..16].try_into().expect("at least 16 bytes"))
}

/// The smallest map [`Shared`] sweeps, for small values.
const SWEEP_MIN: usize = 1024;

/// The smallest map of layer steps swept: each holds a whole ledger.
const STEPS_SWEEP_MIN: usize = 16;

impl<K, T: ?Sized> Default for Shared<K, T> {
    fn default() -> Self {
        Shared::with_sweep_min(SWEEP_MIN)
    }
}

impl<K, T: ?Sized> Shared<K, T> {
    fn with_sweep_min(sweep_min: usize) -> Self {
        Shared { kept: Lookup::new(0), sweep_at: sweep_min, sweep_min }
    }
}

impl<K: Hash + Eq, T: ?Sized> Shared<K, T> {
    /// Keeps `kept` under `key`, first dropping, when the map is full, every entry `held` says
    /// no node holds any more (pruned ballots, states every node moved past), so the map stays
    /// about the size of what nodes keep.
    fn keep(&mut self, key: K, kept: Arc<T>, held: impl Fn(&T) -> bool) {
        if self.kept.len() >= self.sweep_at {
            self.kept.retain(|_, kept| Arc::strong_count(kept) > 1 || held(kept));
            self.sweep_at = (self.kept.len() * 2).max(self.sweep_min);
        }
        self.kept.insert(key, kept);
    }
}

impl<K: Hash + Eq, T: PartialEq + ?Sized> Shared<K, T> {
    /// The allocation kept under `key` when it equals `value`, else a new one (kept for later
    /// callers when the key was free).
    pub(crate) fn share<V: Borrow<T> + Into<Arc<T>>>(&mut self, key: K, value: V) -> Arc<T> {
        match self.kept.get(&key) {
            Some(kept) if **kept == *value.borrow() => Arc::clone(kept),
            Some(_) => value.into(),
            None => {
                let kept: Arc<T> = value.into();
                self.keep(key, Arc::clone(&kept), |_| false);
                kept
            }
        }
    }
}

impl Verifier for MemoVerifier {
    /// The first node's allocation for an equal header (a header is a function of its ATX, so
    /// any other is a bug that must not be hidden: it then gets its own allocation).
    fn share_atx_header(&self, header: AtxHeader) -> Arc<AtxHeader> {
        self.headers.lock().expect("single-threaded").share(header.id, header)
    }

    /// The first node's allocation for equal raw bytes of an ATX, as for ATX headers.
    fn share_atx_raw(&self, id: AtxId, raw: Bytes) -> Arc<Bytes> {
        self.atx_raws.lock().expect("single-threaded").share(id, raw)
    }

    /// The first node's allocation for an equal record, as for ATX headers.
    fn share_ballot_record(&self, record: BallotRecord) -> Arc<BallotRecord> {
        self.ballots.lock().expect("single-threaded").share(record.id, record)
    }

    /// The first node's allocation for an equal tortoise ballot header, as for ATX headers.
    fn share_tortoise_ballot(&self, header: BallotHeader) -> Arc<BallotHeader> {
        self.tortoise_ballots.lock().expect("single-threaded").share(header.id(), header)
    }

    /// The first node's allocation for equal parts of a hare message, as for ATX headers.
    fn share_hare_signed(&self, signed: Signed) -> Arc<Signed> {
        self.hare.lock().expect("single-threaded").share(signed.msg_hash, signed)
    }

    /// The hash of an equal body that some node had hashed.
    fn hare_body_hash(&self, body: &HareBody) -> Hash32 {
        self.hare_bodies.lock().expect("single-threaded").answer(
            head(&body.eligibility.proof.0),
            |kept| kept == body,
            || body.clone(),
            || body.hash(),
        )
    }

    /// The id some node computed from an equal inner ATX.
    fn atx_id(&self, atx: &Atx) -> AtxId {
        self.atx_ids.lock().expect("single-threaded").answer(
            head(&atx.signature.0),
            |inner| *inner == atx.inner,
            || atx.inner.clone(),
            || atx.id(),
        )
    }

    /// The answer to an equal check that some node made.
    fn verify_membership(&self, proof: &MembershipProof, leaf: &Hash32, root: &Hash32) -> bool {
        self.memberships.lock().expect("single-threaded").answer(
            head(&leaf.0),
            |(p, l, r)| l == leaf && r == root && p == proof,
            || (proof.clone(), *leaf, *root),
            || proof.verify(leaf, root),
        )
    }

    /// The tree some node built from an equal member list.
    fn membership_tree(&self, members: &[Hash32]) -> Arc<MembershipTree> {
        let key = members.first().map_or(0, |m| head(&m.0)) ^ members.len() as u128;
        self.membership_trees.lock().expect("single-threaded").answer(
            key,
            |kept| kept.as_slice() == members,
            || members.to_vec(),
            || Arc::new(MembershipTree::new(members)),
        )
    }

    /// The first node's allocation for an equal certify message.
    fn share_certify_message(&self, msg: CertifyMessage) -> Arc<CertifyMessage> {
        self.certify.lock().expect("single-threaded").share((msg.layer, msg.smesher), msg)
    }

    /// The first node's allocation for an equal active set.
    fn share_active_set(&self, hash: Hash32, set: ActiveSet) -> Arc<ActiveSet> {
        self.active_sets.lock().expect("single-threaded").share(hash, set)
    }

    /// The first node's allocation for an equal block.
    fn share_block(&self, id: BlockId, block: Block) -> Arc<Block> {
        self.blocks.lock().expect("single-threaded").share(id, block)
    }

    /// The first node's allocation for an equal committee.
    fn share_committee(&self, committee: Committee) -> Arc<Committee> {
        let key = (committee.epoch, committee.beacon, committee.total_weight);
        self.committees.lock().expect("single-threaded").share(key, committee)
    }

    /// A step some node computed from the same state root and block.
    fn recall_layer_step(&self, key: &StepKey) -> Option<Arc<LayerStep>> {
        self.steps.lock().expect("single-threaded").kept.get(key).cloned()
    }

    /// Kept while some node's ledger holds the state it built.
    fn keep_layer_step(&self, key: StepKey, step: Arc<LayerStep>) {
        let held = |step: &LayerStep| Arc::strong_count(&step.state) > 1;
        self.steps.lock().expect("single-threaded").keep(key, step, held);
    }

    fn verify(&self, public_key: &[u8; 32], signed_message: &[u8], signature: &Signature) -> bool {
        self.remember(Check::Ed25519, public_key, &signature.0, signed_message, || {
            Ed25519Verifier.verify(public_key, signed_message, signature)
        })
    }

    fn verify_vrf(&self, public_key: &[u8; 32], message: &[u8], proof: &VrfSignature) -> bool {
        self.remember(Check::Vrf, public_key, &proof.0, message, || {
            vrf::verify(public_key, message, proof)
        })
    }

    fn valid_committee_count(
        &self,
        weight: u64,
        committee_size: u32,
        total_weight: u64,
        proof: &VrfSignature,
        count: u16,
    ) -> bool {
        let mut params = [0u8; 22];
        params[..8].copy_from_slice(&weight.to_le_bytes());
        params[8..12].copy_from_slice(&committee_size.to_le_bytes());
        params[12..20].copy_from_slice(&total_weight.to_le_bytes());
        params[20..].copy_from_slice(&count.to_le_bytes());
        self.remember(Check::CommitteeCount, &[0; 32], &proof.0, &params, || {
            Ed25519Verifier.valid_committee_count(
                weight,
                committee_size,
                total_weight,
                proof,
                count,
            )
        })
    }
}

/// PoST labels of simulated identities, computed once per identity (with the VRF nonce) and
/// kept: the simulated counterpart of the files PoST initialization writes.
#[derive(Debug, Default)]
pub struct MemoLabels {
    cache: Mutex<BTreeMap<[u8; 32], MemoEntry>>,
}

/// The VRF nonce (if any label qualifies) and all labels of one identity.
type MemoEntry = (Option<u64>, Arc<Vec<u8>>);

impl MemoLabels {
    /// The VRF nonce and labels of `data`, computed on first use.
    fn entry(&self, data: &PostData) -> MemoEntry {
        let mut h = blake3::Hasher::new();
        h.update(&data.commitment());
        h.update(&data.num_labels().to_le_bytes());
        h.update(format!("{:?}", data.config.scrypt).as_bytes());
        let key = *h.finalize().as_bytes();
        if let Some((nonce, labels)) = self.cache.lock().expect("single-threaded").get(&key) {
            return (*nonce, Arc::clone(labels));
        }
        let (nonce, labels) = initialize_in_memory(data);
        let labels = Arc::new(labels);
        self.cache.lock().expect("single-threaded").insert(key, (nonce, Arc::clone(&labels)));
        (nonce, labels)
    }
}

impl LabelSource for MemoLabels {
    fn initialize(&self, data: &PostData) -> Result<u64, String> {
        self.entry(data).0.ok_or_else(|| NO_VRF_NONCE.to_string())
    }

    fn reader(&self, data: &PostData) -> Result<Box<dyn LabelReader + '_>, String> {
        Ok(Box::new(InMemoryReader(self.entry(data).1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacemesh_core::GenesisId;
    use spacemesh_core::crypto::{Domain, Signer, signed_message};

    /// Cached answers equal fresh ones, for valid and invalid signatures alike.
    #[test]
    fn memo_agrees_with_plain_verification() {
        let s = Signer::from_seed([1; 32], GenesisId([0; 20]));
        let msg = signed_message(&s.genesis(), Domain::Heartbeat, b"m");
        let sig = s.sign(Domain::Heartbeat, b"m");
        let bad = Signature([0; 64]);
        let v = MemoVerifier::new(1);
        for _ in 0..3 {
            assert!(v.verify(&s.node_id().0, &msg, &sig));
            assert!(!v.verify(&s.node_id().0, &msg, &bad));
        }
        assert_eq!(v.misses(), 6, "a cache of one entry is cleared on every new key");
        let v = MemoVerifier::new(16);
        for _ in 0..3 {
            assert!(v.verify(&s.node_id().0, &msg, &sig));
        }
        assert_eq!((v.hits(), v.misses()), (2, 1));
    }

    /// A remembered valid signature never vouches for another message or another key, nor a
    /// remembered committee count for other parameters: the entry is keyed by the signature but
    /// matched on the whole check.
    #[test]
    fn a_remembered_signature_does_not_vouch_for_other_inputs() {
        let s = Signer::from_seed([1; 32], GenesisId([0; 20]));
        let other = Signer::from_seed([2; 32], GenesisId([0; 20]));
        let msg = signed_message(&s.genesis(), Domain::Heartbeat, b"m");
        let forged = signed_message(&s.genesis(), Domain::Heartbeat, b"n");
        let sig = s.sign(Domain::Heartbeat, b"m");
        let v = MemoVerifier::new(16);
        assert!(v.verify(&s.node_id().0, &msg, &sig));
        assert!(!v.verify(&s.node_id().0, &forged, &sig));
        assert!(!v.verify(&other.node_id().0, &msg, &sig));
        assert!(v.verify(&s.node_id().0, &msg, &sig), "the replaced entry is computed again");
        assert_eq!((v.hits(), v.misses()), (0, 4));

        let proof = spacemesh_core::vrf::prove(&[3; 32], b"hare");
        let answers: Vec<bool> =
            (0..=20).map(|count| v.valid_committee_count(10, 50, 100, &proof, count)).collect();
        let plain: Vec<bool> = (0..=20)
            .map(|count| Ed25519Verifier.valid_committee_count(10, 50, 100, &proof, count))
            .collect();
        assert_eq!(answers, plain);
        assert_eq!(plain.iter().filter(|ok| **ok).count(), 1, "one count is the right one");
        let right = plain.iter().position(|ok| *ok).expect("one") as u16;
        assert!(
            v.valid_committee_count(10, 50, 100, &proof, right),
            "a hit answers as the check did"
        );
    }

    /// A full sharing map drops the allocations no caller holds any more and keeps sharing the
    /// held ones.
    #[test]
    fn shared_allocations_no_node_holds_are_dropped() {
        let mut shared: Shared<u32, u32> = Shared::default();
        let held: Vec<Arc<u32>> =
            (0..1024).map(|k| shared.share(k, k)).filter(|a| **a % 2 == 0).collect();
        assert_eq!(shared.kept.len(), 1024, "no sweep below SWEEP_MIN");
        let _new = shared.share(5000, 5000);
        assert_eq!(shared.kept.len(), 513, "the 512 unheld ones are gone");
        assert!(Arc::ptr_eq(&shared.share(2, 2), &held[1]), "a held one is still shared");
        assert!(!Arc::ptr_eq(&shared.share(2, 3), &held[1]), "an unequal value is not");
    }

    /// Equal headers share one allocation; a header that differs keeps its own.
    #[test]
    fn equal_atx_headers_share_one_allocation() {
        let h = AtxHeader {
            id: spacemesh_core::Hash32([7; 32]),
            smesher: spacemesh_core::NodeId([1; 32]),
            publish_epoch: spacemesh_core::EpochId(1),
            sequence: 0,
            coinbase: Default::default(),
            num_units: 2,
            base_height: 0,
            ticks: 10,
            weight: 20,
            vrf_nonce: 5,
            commitment_atx: spacemesh_core::Hash32::default(),
            signature: Signature([0; 64]),
        };
        let v = MemoVerifier::new(16);
        let a = v.share_atx_header(h.clone());
        let b = v.share_atx_header(h.clone());
        assert!(Arc::ptr_eq(&a, &b));
        let c = v.share_atx_header(AtxHeader { weight: 21, ..h });
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.weight, 21);
        // Raw bytes likewise: one allocation for equal bytes (from any frame), their own for
        // other bytes under the same id.
        let frame = Bytes::from_static(b"..atx bytes..");
        let r = v.share_atx_raw(h.id, frame.slice(2..11));
        let s = v.share_atx_raw(h.id, Bytes::copy_from_slice(b"atx bytes"));
        assert!(Arc::ptr_eq(&r, &s));
        let t = v.share_atx_raw(h.id, Bytes::from_static(b"other"));
        assert!(!Arc::ptr_eq(&r, &t) && *t == "other");
    }

    /// Equal hare parts share one allocation, keyed by the message hash; a forged signature
    /// under a known hash keeps its own.
    #[test]
    fn equal_hare_parts_share_one_allocation() {
        let signed = Signed {
            vrf: VrfSignature([3; 80]),
            msg_hash: Hash32([9; 32]),
            signature: Signature([4; 64]),
        };
        let v = MemoVerifier::new(16);
        let a = v.share_hare_signed(signed.clone());
        assert!(Arc::ptr_eq(&a, &v.share_hare_signed(signed.clone())));
        let forged = v.share_hare_signed(Signed { signature: Signature([5; 64]), ..signed });
        assert!(!Arc::ptr_eq(&a, &forged));
        assert_eq!(forged.signature, Signature([5; 64]));
    }

    /// An ATX in its wire form: the second golden ATX of `core/tests/consensus_encodings.rs`.
    const ATX_HEX: &str = "0801000000000000001111111111111111111111111111111111111111111111111111111111111111222222222222222222222222222222222222222222222222222222222222222200004444444444444444444444444444444444444444444444440400000004555555555555555555555555555555555555555555555555555555555555555514030000000c0102034d00000000000000666666666666666666666666666666666666666666666666666666666666666640000000000000000000fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f618db9fb8d8b565e1a222f9fd04b241acbd7040c3509be8a5e0504d125a018bc6c1890736f88fc207d9c1428eb5fd244e307eeb37fbd66b46067474a98adb072e00";

    /// An ATX id is the plain id whether remembered or not; an ATX with the same signature but
    /// another inner ATX gets its own.
    #[test]
    fn atx_ids_are_remembered_only_for_equal_inner_atxs() {
        let bytes: Vec<u8> = (0..ATX_HEX.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&ATX_HEX[i..i + 2], 16).expect("hex"))
            .collect();
        let atx: Atx = spacemesh_core::codec::decode_exact(&bytes).expect("a valid encoding");
        let mut forged = atx.clone();
        forged.inner.num_units += 1;
        let v = MemoVerifier::new(2);
        for _ in 0..2 {
            for a in [&atx, &forged, &atx] {
                assert_eq!(v.atx_id(a), a.id());
            }
        }
        assert_eq!(
            atx.id().to_string(),
            "b8bbe7df3a52cf13bfe9d26cfdb6fdbe17738fc4122ec8a9b1bf958a8242e3e0"
        );
        assert_ne!(atx.id(), forged.id());
    }

    /// Membership answers equal plain checks, asked in any order: a proof remembered valid
    /// for a leaf vouches neither for another root nor for another proof of that leaf.
    #[test]
    fn membership_answers_are_remembered_only_for_equal_checks() {
        let leaves: Vec<Hash32> = (0..5u8).map(|i| Hash32([i + 1; 32])).collect();
        let tree = MembershipTree::new(&leaves);
        let root = tree.root();
        let good = tree.proof(3).expect("leaf 3");
        let moved = MembershipProof { leaf_index: 2, ..good.clone() };
        let checks = [
            (good.clone(), leaves[3], root),
            (good.clone(), leaves[3], Hash32([9; 32])),
            (moved, leaves[3], root),
            (good.clone(), leaves[2], root),
        ];
        let v = MemoVerifier::new(2);
        for _ in 0..2 {
            for (proof, leaf, root) in &checks {
                assert_eq!(v.verify_membership(proof, leaf, root), proof.verify(leaf, root));
            }
        }
        assert!(good.verify(&leaves[3], &root));
        assert!(!checks[1..].iter().any(|(p, l, r)| p.verify(l, r)));
    }

    /// Every node gets one tree for an equal member list, the tree the list builds; a list
    /// with the same length and first member but another member elsewhere gets its own.
    #[test]
    fn membership_trees_are_shared_only_for_equal_member_lists() {
        let members: Vec<Hash32> = (0..7u8).map(|i| Hash32([i + 1; 32])).collect();
        let mut other = members.clone();
        other[5] = Hash32([99; 32]);
        let v = MemoVerifier::new(64);
        let a = v.membership_tree(&members);
        assert!(Arc::ptr_eq(&a, &v.membership_tree(&members)), "an equal list shares");
        let b = v.membership_tree(&other);
        assert!(!Arc::ptr_eq(&a, &b));
        assert_ne!(a.root(), b.root());
        for list in [&members, &other, &members] {
            let plain = MembershipTree::new(list);
            let tree = v.membership_tree(list);
            assert_eq!(tree.root(), plain.root());
            assert_eq!(tree.proof(3), plain.proof(3));
        }
    }

    /// A hare body's hash is the plain hash whether remembered or not; a body that shares the
    /// key (the VRF proof's head) but differs anywhere gets its own, and replaces the entry.
    #[test]
    fn hare_body_hashes_are_remembered_only_for_equal_bodies() {
        use spacemesh_core::hare::wire::{HareBody, HareEligibility};
        use spacemesh_core::hare::{IterRound, Round, Value};
        use spacemesh_core::types::ProposalId;
        let body = HareBody {
            layer: LayerId(17),
            iter_round: IterRound { iter: 0, round: Round::Preround },
            value: Value::proposals(vec![ProposalId([1; 20]), ProposalId([2; 20])]),
            eligibility: HareEligibility { proof: VrfSignature([3; 80]), count: 2 },
        };
        let other_value = HareBody { value: Value::Reference(Hash32([4; 32])), ..body.clone() };
        let other_count = HareBody {
            eligibility: HareEligibility { count: 3, ..body.eligibility },
            ..body.clone()
        };
        let v = MemoVerifier::new(2);
        for _ in 0..2 {
            for b in [&body, &other_value, &other_count, &body] {
                assert_eq!(v.hare_body_hash(b), b.hash());
            }
        }
        assert_ne!(body.hash(), other_value.hash());
        assert_ne!(body.hash(), other_count.hash());
    }

    /// Equal active sets, committees and blocks share one allocation; a committee with other weights
    /// under the same epoch, beacon and total keeps its own.
    #[test]
    fn equal_sets_and_committees_share_one_allocation() {
        let v = MemoVerifier::new(16);
        let set = ActiveSet { atxs: vec![Hash32([1; 32]), Hash32([2; 32])], weight: 30 };
        let a = v.share_active_set(set.hash(), set.clone());
        assert!(Arc::ptr_eq(&a, &v.share_active_set(set.hash(), set.clone())));
        let weights =
            [(spacemesh_core::NodeId([1; 32]), 10), (spacemesh_core::NodeId([2; 32]), 20)];
        let committee = Committee {
            epoch: EpochId(2),
            beacon: Beacon([1, 2, 3, 4]),
            total_weight: 30,
            weights: weights.into_iter().collect(),
        };
        let c = v.share_committee(committee.clone());
        assert!(Arc::ptr_eq(&c, &v.share_committee(committee.clone())));
        let mut other = committee;
        other.weights.insert(spacemesh_core::NodeId([1; 32]), 11);
        let d = v.share_committee(other);
        assert!(!Arc::ptr_eq(&c, &d));
        assert_eq!(d.weights[&spacemesh_core::NodeId([1; 32])], 11);
        let block = Block {
            inner: spacemesh_core::block::InnerBlock {
                layer: spacemesh_core::LayerId(20),
                tick_height: 3,
                rewards: spacemesh_core::codec::BoundedVec::new(Vec::new()).expect("empty"),
                tx_ids: spacemesh_core::codec::BoundedVec::new(Vec::new()).expect("empty"),
            },
        };
        let b = v.share_block(block.id(), block.clone());
        assert!(Arc::ptr_eq(&b, &v.share_block(block.id(), block)));
    }
}

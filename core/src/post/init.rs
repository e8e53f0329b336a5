//! Resumable PoST initialization: labels in index order, and the VRF nonce (proofs.md sections
//! 1.1 and 1.3).
//!
//! The initializer computes no more than it is asked to per [`Initializer::step`], hands each
//! stored label to a sink (the driver writes it to disk) and can be saved as an [`InitState`]
//! and resumed. Invariants:
//! 1. Labels are produced in order, each index exactly once.
//! 2. The VRF nonce, when set, has its full label below the threshold
//!    `floor(2^256 / num_labels) · 8`. Before the last label it is below `next_index` and no
//!    earlier label is smaller (ties keep the first).
//! 3. Once every label is computed and none qualified, further steps search past the end:
//!    they compute labels from `num_labels` on, storing none, until one qualifies, which
//!    becomes the nonce (about one identity in 3,000, see [`Initializer::finish_vrf_nonce`]).
//!    Only while that search runs is `next_index` past `num_labels`, so a saved state resumes
//!    the search where it stopped; once it ends, `next_index` is `num_labels` again.

use super::difficulty::vrf_difficulty;
use super::label::{LABEL_BYTES, Labeler, ScryptParams, label, stored};
use super::scrypt::LANES;
use crate::codec::{Decode, DecodeError, Encode, Reader};

/// The smallest qualifying label seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VrfNonce {
    /// Its index.
    pub index: u64,
    /// Its full 32-byte label.
    pub label: [u8; 32],
}

crate::impl_codec_struct!(VrfNonce { index, label });

/// Everything needed to resume an initialization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitState {
    /// The identity's commitment.
    pub commitment: [u8; 32],
    /// Labels to compute in total.
    pub num_labels: u64,
    /// Label function parameters.
    pub scrypt: ScryptParams,
    /// The next index to compute: past `num_labels` only while searching past the labels for
    /// a VRF nonce (`vrf_nonce` is `None` then).
    pub next_index: u64,
    /// The best VRF nonce so far.
    pub vrf_nonce: Option<VrfNonce>,
}

impl Encode for InitState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.commitment.encode_to(out);
        self.num_labels.encode_to(out);
        self.scrypt.encode_to(out);
        self.next_index.encode_to(out);
        self.vrf_nonce.encode_to(out);
    }
}

impl Decode for InitState {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let state = InitState {
            commitment: Decode::decode(r)?,
            num_labels: Decode::decode(r)?,
            scrypt: Decode::decode(r)?,
            next_index: Decode::decode(r)?,
            vrf_nonce: Decode::decode(r)?,
        };
        if state.next_index > state.num_labels && state.vrf_nonce.is_some() {
            return Err(DecodeError::InvalidValue(
                "init state: next_index past num_labels after the VRF nonce was found",
            ));
        }
        // A nonce past the labels is only found once all of them are.
        let incomplete = state.next_index < state.num_labels;
        if state.vrf_nonce.is_some_and(|n| n.index >= state.next_index && incomplete) {
            return Err(DecodeError::InvalidValue("init state: VRF nonce not yet computed"));
        }
        Ok(state)
    }
}

impl InitState {
    /// How far the initialization is.
    pub fn progress(&self) -> InitProgress {
        let done = self.next_index.min(self.num_labels);
        let searching = done == self.num_labels && self.vrf_nonce.is_none();
        InitProgress {
            done,
            total: self.num_labels,
            searched: searching.then(|| self.next_index - self.num_labels),
        }
    }
}

/// How far an initialization is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitProgress {
    /// Labels computed so far, of `total`.
    pub done: u64,
    /// Labels in total.
    pub total: u64,
    /// `Some` while every label is computed but none qualifies as the VRF nonce: the labels
    /// computed past the end so far, in search of one (`total / 8` on average in all).
    pub searched: Option<u64>,
}

impl InitProgress {
    /// Whether every label is computed and the VRF nonce is known.
    pub fn is_complete(&self) -> bool {
        self.done == self.total && self.searched.is_none()
    }
}

/// "30 of 100 labels", or while searching past them "all 100 labels and 7 past them in search
/// of a VRF nonce".
impl std::fmt::Display for InitProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.searched {
            Some(k) => {
                write!(f, "all {} labels and {k} past them in search of a VRF nonce", self.total)
            }
            None => write!(f, "{} of {} labels", self.done, self.total),
        }
    }
}

/// Computes the labels of one identity in order, in steps.
#[derive(Debug, Clone)]
pub struct Initializer {
    state: InitState,
    labeler: Labeler,
    threshold: Option<[u8; 32]>,
}

impl Initializer {
    /// A fresh initialization of `num_labels` labels.
    pub fn new(commitment: [u8; 32], num_labels: u64, scrypt: ScryptParams) -> Self {
        Self::resume(InitState { commitment, num_labels, scrypt, next_index: 0, vrf_nonce: None })
    }

    /// Continues from a saved state (for example one decoded from disk).
    pub fn resume(state: InitState) -> Self {
        assert!(
            state.next_index <= state.num_labels || state.vrf_nonce.is_none(),
            "init state past its end with a VRF nonce"
        );
        Initializer {
            labeler: Labeler::new(state.commitment, state.scrypt),
            threshold: vrf_difficulty(state.num_labels),
            state,
        }
    }

    /// Computes up to `max_labels` further labels, handing each `(index, stored label)` to
    /// `sink` in index order. Once every label is computed and none qualifies as the VRF
    /// nonce, steps search past the end instead (see [`Initializer::finish_vrf_nonce`]):
    /// those labels go to no sink.
    pub fn step(
        &mut self,
        max_labels: u64,
        sink: &mut dyn FnMut(u64, &[u8; LABEL_BYTES]),
    ) -> InitProgress {
        if self.state.next_index >= self.state.num_labels {
            return self.search(max_labels);
        }
        let end = self.state.num_labels.min(self.state.next_index.saturating_add(max_labels));
        let mut index = self.state.next_index;
        while index + LANES as u64 <= end {
            for (k, full) in self.labeler.label4(index).into_iter().enumerate() {
                self.observe(index + k as u64, full);
                sink(index + k as u64, &stored(&full));
            }
            index += LANES as u64;
        }
        for index in index..end {
            let full = self.labeler.label(index);
            self.observe(index, full);
            sink(index, &stored(&full));
        }
        self.state.next_index = end;
        self.progress()
    }

    fn observe(&mut self, index: u64, full: [u8; 32]) {
        let below_threshold = self.threshold.is_none_or(|t| full < t);
        let better = self.state.vrf_nonce.is_none_or(|best| full < best.label);
        if below_threshold && better {
            self.state.vrf_nonce = Some(VrfNonce { index, label: full });
        }
    }

    /// Computes up to `max_labels` labels past the end while no VRF nonce is known, and takes
    /// the first that qualifies.
    fn search(&mut self, max_labels: u64) -> InitProgress {
        let state = &mut self.state;
        let mut left = max_labels;
        while state.vrf_nonce.is_none() && left > 0 {
            let from = state.next_index;
            let (fulls, lanes) = if left >= LANES as u64 {
                (self.labeler.label4(from), LANES)
            } else {
                let mut one = [[0u8; 32]; LANES];
                one[0] = self.labeler.label(from);
                (one, 1)
            };
            for (k, &full) in fulls[..lanes].iter().enumerate() {
                let index = from + k as u64;
                if self.threshold.is_none_or(|t| full < t) {
                    state.vrf_nonce = Some(VrfNonce { index, label: full });
                    state.next_index = state.num_labels;
                    break;
                }
                state.next_index = index + 1;
                left -= 1;
            }
        }
        self.progress()
    }

    /// How far the initialization is.
    pub fn progress(&self) -> InitProgress {
        self.state.progress()
    }

    /// The index of the best VRF nonce so far (final once the progress is complete and
    /// [`Initializer::finish_vrf_nonce`] has run).
    pub fn vrf_nonce(&self) -> Option<u64> {
        self.state.vrf_nonce.map(|n| n.index)
    }

    /// The VRF nonce once every label is computed (`None` before): the smallest qualifying
    /// label's index or, when none of the labels qualifies, the first qualifying index past the
    /// end, computing (and storing nowhere) labels from `num_labels` on until one does.
    ///
    /// Each label qualifies with chance `8 / num_labels`, so about one identity in 3,000
    /// (`e^-8`) has no qualifying label; Spacemesh's post initializer then goes on past its
    /// labels in the same way, and the verifier takes a nonce at any index. The search runs
    /// `num_labels / 8` labels on average, all at once here; [`Initializer::step`] runs it in
    /// bounded steps that a saved state resumes.
    pub fn finish_vrf_nonce(&mut self) -> Option<u64> {
        if self.state.next_index < self.state.num_labels {
            return None;
        }
        // Unbounded: runs until a label qualifies (at once when the nonce is already known).
        self.search(u64::MAX);
        self.vrf_nonce()
    }

    /// The state to save for resuming.
    pub fn state(&self) -> &InitState {
        &self.state
    }
}

/// Whether `nonce_index` is a valid VRF nonce: an index whose full label is below the threshold
/// of `num_labels` labels. Nobody checks that it is the smallest, nor that it is below
/// `num_labels`: an identity none of whose labels qualifies finds its nonce past them
/// ([`Initializer::finish_vrf_nonce`]).
pub fn verify_vrf_nonce(
    commitment: &[u8; 32],
    nonce_index: u64,
    num_labels: u64,
    scrypt: &ScryptParams,
) -> bool {
    let full = label(commitment, nonce_index, scrypt);
    vrf_difficulty(num_labels).is_none_or(|t| full < t)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::codec::decode_exact;

    fn n2() -> ScryptParams {
        ScryptParams::new(2, 1, 1).expect("valid")
    }

    fn run(init: &mut Initializer, steps: &[u64]) -> Vec<(u64, [u8; 16])> {
        let mut out = Vec::new();
        for &s in steps {
            init.step(s, &mut |i, l| out.push((i, *l)));
        }
        out
    }

    /// Initializing in pieces, with a save and resume through the codec in between, gives the
    /// same labels and VRF nonce as one go; the nonce is the smallest qualifying label.
    #[test]
    fn resume_equals_one_go() {
        let commitment = [7u8; 32];
        let mut whole = Initializer::new(commitment, 300, n2());
        let all = run(&mut whole, &[1000]);
        assert_eq!(all.len(), 300);
        assert!(all.iter().enumerate().all(|(k, (i, _))| *i == k as u64));
        assert!(whole.progress().is_complete());

        let mut first = Initializer::new(commitment, 300, n2());
        let mut pieces = run(&mut first, &[0, 1, 57, 100]);
        let saved = first.state().encode();
        let mut second = Initializer::resume(decode_exact(&saved).expect("decodes"));
        pieces.extend(run(&mut second, &[42, 1000, 5]));
        assert_eq!(pieces, all);
        assert_eq!(second.vrf_nonce(), whole.vrf_nonce());

        let nonce = whole.vrf_nonce().expect("about 8 labels qualify");
        let fulls: Vec<[u8; 32]> = (0..300).map(|i| label(&commitment, i, &n2())).collect();
        let min = fulls.iter().min().expect("labels");
        assert_eq!(&fulls[nonce as usize], min);
        assert!(verify_vrf_nonce(&commitment, nonce, 300, &n2()));
        // The largest label never qualifies with 300 labels (threshold about 8/300 of the range).
        let max_at = fulls.iter().enumerate().max_by_key(|(_, l)| **l).map(|(i, _)| i as u64);
        assert!(!verify_vrf_nonce(&commitment, max_at.expect("labels"), 300, &n2()));
        assert_eq!(whole.finish_vrf_nonce(), Some(nonce), "a nonce among the labels stays");
        assert_eq!(first.finish_vrf_nonce(), None, "not before the last label");
    }

    /// An identity none of whose labels qualifies (about one in 3,000) takes the first
    /// qualifying label past its end, which verifies, and its finished state decodes.
    #[test]
    fn no_qualifying_label_finds_the_nonce_past_the_end() {
        let num_labels = 64;
        let threshold = vrf_difficulty(num_labels).expect("a threshold");
        let unlucky = unlucky_commitment(num_labels);
        let mut init = Initializer::new(unlucky, num_labels, n2());
        run(&mut init, &[num_labels]);
        assert_eq!(init.vrf_nonce(), None);
        let nonce = init.finish_vrf_nonce().expect("found past the end");
        assert!(nonce >= num_labels);
        assert!((num_labels..nonce).all(|i| label(&unlucky, i, &n2()) >= threshold), "the first");
        assert!(verify_vrf_nonce(&unlucky, nonce, num_labels, &n2()));
        assert!(!verify_vrf_nonce(&unlucky, nonce - 1, num_labels, &n2()));
        let saved = init.state().encode();
        let resumed = Initializer::resume(decode_exact(&saved).expect("a finished state decodes"));
        assert_eq!(resumed.vrf_nonce(), Some(nonce));
        assert!(resumed.progress().is_complete());
    }

    /// The first commitment none of whose `num_labels` labels qualifies as the VRF nonce, nor
    /// the two labels past them (about one in 3,000 has none; this needs a few more).
    fn unlucky_commitment(num_labels: u64) -> [u8; 32] {
        let threshold = vrf_difficulty(num_labels).expect("a threshold");
        (0u32..)
            .map(|i| {
                let mut c = [0u8; 32];
                c[..4].copy_from_slice(&i.to_le_bytes());
                c
            })
            .find(|c| (0..num_labels + 2).all(|i| label(c, i, &n2()) >= threshold))
            .expect("about one commitment in 4,000")
    }

    /// The search past the labels runs in bounded steps, reports how far it is, and resumes
    /// from a saved state where it stopped: it finds the nonce of one go, and stores nothing.
    #[test]
    fn the_search_past_the_end_steps_and_resumes() {
        let num_labels = 64;
        let unlucky = unlucky_commitment(num_labels);
        let mut whole = Initializer::new(unlucky, num_labels, n2());
        run(&mut whole, &[num_labels]);
        let nonce = whole.finish_vrf_nonce().expect("found past the end");
        let past = nonce - num_labels;
        assert!(past >= 2, "the nonce is at least two labels past the end: {past}");

        let mut stepped = Initializer::new(unlucky, num_labels, n2());
        assert_eq!(run(&mut stepped, &[num_labels]).len(), num_labels as usize);
        let at_end = stepped.progress();
        assert_eq!(at_end, InitProgress { done: num_labels, total: num_labels, searched: Some(0) });
        assert!(!at_end.is_complete());
        let mut stored = Vec::new();
        let mut progress = stepped.step(1, &mut |i, _| stored.push(i));
        assert_eq!(progress.searched, Some(1));
        let saved = stepped.state().encode();
        let mut resumed = Initializer::resume(decode_exact(&saved).expect("a searching state"));
        assert_eq!(resumed.progress(), progress);
        let mut steps = 0;
        while !progress.is_complete() {
            progress = resumed.step(3, &mut |i, _| stored.push(i));
            steps += 1;
        }
        assert_eq!(steps, past.div_ceil(3), "3 labels a step, the last one up to the nonce");
        assert!(stored.is_empty(), "labels past the end are not stored");
        assert_eq!(resumed.vrf_nonce(), Some(nonce));
        assert_eq!(resumed.state(), whole.state());
        assert_eq!(resumed.finish_vrf_nonce(), Some(nonce));
    }

    /// A saved state that claims impossible progress does not decode; one searching past the
    /// labels for its VRF nonce does.
    #[test]
    fn state_decode_is_checked() {
        let mut state = Initializer::new([1; 32], 10, n2()).state().clone();
        state.next_index = 11;
        assert_eq!(decode_exact::<InitState>(&state.encode()), Ok(state.clone()), "searching");
        assert_eq!(
            state.progress(),
            InitProgress { done: 10, total: 10, searched: Some(1) },
            "one label searched past the end"
        );
        state.vrf_nonce = Some(VrfNonce { index: 10, label: [0; 32] });
        assert!(decode_exact::<InitState>(&state.encode()).is_err(), "past the end, found");
        state.next_index = 3;
        state.vrf_nonce = Some(VrfNonce { index: 3, label: [0; 32] });
        assert!(decode_exact::<InitState>(&state.encode()).is_err());
        state.vrf_nonce = Some(VrfNonce { index: 2, label: [0; 32] });
        assert_eq!(decode_exact::<InitState>(&state.encode()), Ok(state));
    }

    proptest! {
        /// Any split of the work into steps gives the labels of one go.
        #[test]
        fn any_steps_same_result(steps in proptest::collection::vec(0u64..40, 1..12)) {
            let mut whole = Initializer::new([3; 32], 64, n2());
            let all = run(&mut whole, &[64]);
            let mut split = Initializer::new([3; 32], 64, n2());
            let mut got = run(&mut split, &steps);
            got.extend(run(&mut split, &[64]));
            prop_assert_eq!(got, all);
            prop_assert_eq!(split.vrf_nonce(), whole.vrf_nonce());
        }
    }
}

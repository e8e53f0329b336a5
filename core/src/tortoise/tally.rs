//! Processing layers: counting, opinions, mode switching, verification and eviction
//! (go-spacemesh `tortoise/tortoise.go` `tallyVotes`, `verifyLayers`, `onOpinionChange`,
//! `onHareOutput`, `evict`).

use crate::types::{BlockId, LayerId};

use super::state::{BallotRef, Sign, median, within_distance};
use super::votes::opinion_hash;
use super::{Mode, Tortoise};

impl Tortoise {
    /// Records `lid` (and everything after it) as changed for [`Tortoise::updates`].
    pub(super) fn mark_pending(&mut self, lid: LayerId) {
        self.pending = Some(self.pending.map_or(lid, |p| p.min(lid)));
    }

    /// Recomputes the local opinion hash of `lid` from the previous layer's; returns whether
    /// it changed. Within hdist of the last layer the hare output decides which blocks are
    /// supported, beyond it their validity; before hare termination the layer abstains.
    pub(super) fn compute_opinion(&mut self, lid: LayerId) -> bool {
        let prev = match lid.0.checked_sub(1).map(LayerId) {
            Some(p) if p > self.evicted => Some(self.layer_at(p).opinion),
            _ => self.layer_at(lid).prev_opinion,
        };
        let within = within_distance(self.cfg.hdist, lid, self.last);
        let layer = self.layer_at_mut(lid);
        let supported: Vec<_> = if !layer.hare_terminated() {
            Vec::new()
        } else if within {
            layer
                .blocks
                .iter()
                .filter(|b| layer.hare_sign(&b.key) == Sign::Support)
                .map(|b| b.key)
                .collect()
        } else {
            layer.blocks.iter().filter(|b| b.validity == Sign::Support).map(|b| b.key).collect()
        };
        let opinion = opinion_hash(prev.as_ref(), &supported, !layer.hare_terminated());
        layer.prev_opinion = prev;
        let changed = layer.opinion != opinion;
        layer.opinion = opinion;
        changed
    }

    /// Recomputes opinions from `lid` up to the processed layer (stopping at the first
    /// unchanged one when `early`); if any changed, marks it pending and recounts the
    /// verifying weights of the ballots that voted on it.
    pub(super) fn on_opinion_change(&mut self, lid: LayerId, early: bool) {
        let mut changed: Option<LayerId> = None;
        for l in lid.0..=self.processed.0 {
            if self.compute_opinion(LayerId(l)) {
                changed.get_or_insert(LayerId(l));
            } else if early {
                break;
            }
        }
        if let Some(c) = changed {
            self.mark_pending(c);
            self.verifying_recount_after(lid);
        }
    }

    /// The hare's output for `lid` (`None`: empty), or the zdist termination.
    pub(super) fn apply_hare_output(&mut self, lid: LayerId, block: Option<BlockId>) {
        let layer = self.ensure_layer(lid);
        let previous = layer.hare.replace(block);
        if previous == Some(block) {
            return;
        }
        if lid <= self.processed {
            self.mark_pending(lid);
        }
        if lid <= self.processed && within_distance(self.cfg.hdist, lid, self.last) {
            self.on_opinion_change(lid, true);
        }
    }

    /// Counts a stored ballot of a processed layer in verifying mode and, when its layer is
    /// counted in full mode already, in full mode. Ballots waiting for their epoch's beacon go
    /// to the retry list.
    pub(super) fn count_ballot(&mut self, r: BallotRef) {
        let ballot = self.ballot(r);
        if ballot.header.layer.0 - 1 <= self.evicted.0 {
            return;
        }
        let epoch = ballot.header.layer.epoch(self.cfg.layers_per_epoch);
        let Some(beacon) = self.epochs.get(&epoch).and_then(|e| e.beacon) else {
            // Counted once per ballot (when stored into a processed layer, or when its layer is
            // processed, or from here), so the list holds no duplicates.
            self.retriable.push(r);
            return;
        };
        let bad = ballot.header.beacon != beacon;
        let layer = ballot.header.layer;
        self.ballot_mut(r).bad_beacon = Some(bad);
        self.verifying_count(r);
        if layer <= self.full_counted {
            self.full_count(r);
        }
    }

    /// Counts the ballots whose epoch beacon has arrived since.
    fn drain_retriable(&mut self) {
        for r in std::mem::take(&mut self.retriable) {
            self.count_ballot(r);
        }
    }

    /// The median height of the epoch's ATXs of smeshers not known malicious.
    fn compute_epoch_height(&mut self, lid: LayerId) {
        let epoch = lid.epoch(self.cfg.layers_per_epoch);
        let malicious = &self.malicious;
        if let Some(info) = self.epochs.get_mut(&epoch) {
            let heights = info
                .atxs
                .values()
                .filter(|a| !malicious.contains(&a.smesher))
                .map(|a| a.height())
                .collect();
            info.height = median(heights);
        }
    }

    /// Processes every layer up to `last` (see [`Tortoise::tally_votes`]).
    pub(super) fn tally(&mut self, last: LayerId) {
        if last > self.last {
            self.last = last;
        }
        self.drain_retriable();
        while self.processed < self.last {
            self.process_layer(LayerId(self.processed.0 + 1));
        }
        self.verify_layers();
        self.evict();
    }

    fn process_layer(&mut self, process: LayerId) {
        if process.0.is_multiple_of(self.cfg.layers_per_epoch) {
            self.compute_epoch_height(process);
        }
        self.ensure_layer(process);
        let heights: Vec<u64> =
            self.layer_at(process).blocks.iter().map(|b| b.key.height).collect();
        for h in heights {
            self.update_reference_height(process, h);
        }
        let prev = LayerId(process.0 - 1);
        if prev > self.evicted {
            let inherited = self.layer_at(prev).good_uncounted;
            self.layer_at_mut(process).good_uncounted += inherited;
        }
        self.processed = process;
        if self.mode == Mode::Full {
            self.full_count_delayed(process);
            self.full_counted = process;
        }
        for r in self.ballot_refs(process) {
            self.count_ballot(r);
        }
        if self.compute_opinion(process) {
            self.mark_pending(process);
        }
        // A layer the hare has not terminated zdist layers later is terminated empty.
        if let Some(t) = process.0.checked_sub(self.cfg.zdist).map(LayerId)
            && t > self.evicted
            && !self.layer_at(t).hare_terminated()
        {
            self.apply_hare_output(t, None);
        }
        // A layer leaving hdist switches its opinion from the hare output to validity.
        if let Some(h) = process.0.checked_sub(self.cfg.hdist).map(LayerId)
            && h > self.evicted
        {
            self.on_opinion_change(h, true);
        }
    }

    fn run_verifying(&mut self) -> (LayerId, Option<LayerId>) {
        self.run_verifier(Tortoise::verifying_verify)
    }

    pub(super) fn run_full(&mut self) -> (LayerId, Option<LayerId>) {
        if self.mode == Mode::Verifying {
            self.mode = Mode::Full;
            self.full_mode_entries += 1;
            crate::coverage::mark(crate::coverage::TORTOISE_FULL_MODE);
            let start = self.full_counted.0.max(self.evicted.0) + 1;
            for l in start..=self.processed.0 {
                for r in self.ballot_refs(LayerId(l)) {
                    // Ballots still waiting for a beacon are counted when it arrives.
                    if self.ballot(r).bad_beacon.is_some() {
                        self.full_count(r);
                    }
                }
                self.full_count_delayed(LayerId(l));
                self.full_counted = LayerId(l);
            }
        }
        self.run_verifier(Tortoise::full_verify)
    }

    /// Verifies layers in order from the window start up to the layer before the processed
    /// one, stopping at the first failure. Returns the last verified layer and the lowest
    /// layer whose validity changed.
    fn run_verifier(
        &mut self,
        verify: fn(&mut Tortoise, LayerId) -> (bool, bool),
    ) -> (LayerId, Option<LayerId>) {
        let mut verified = self.evicted;
        let mut changed: Option<LayerId> = None;
        for target in self.evicted.0 + 1..self.processed.0 {
            let (ok, c) = verify(self, LayerId(target));
            if !ok {
                break;
            }
            if c {
                changed.get_or_insert(LayerId(target));
            }
            verified = LayerId(target);
        }
        (verified, changed)
    }

    /// Runs the verifier of the current mode, switching modes as the reference does: to full
    /// when the next unverified layer leaves hdist, back to verifying once both agree up to
    /// the layer before the processed one.
    fn verify_layers(&mut self) {
        let min = |a: Option<LayerId>, b: Option<LayerId>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (verified_to, mut changed) = if self.mode == Mode::Full {
            let (f, fc) = self.run_full();
            let (v, vc) = self.run_verifying();
            if f.0 + 1 == self.processed.0 && f == v {
                self.mode = Mode::Verifying;
                (f, min(fc, vc))
            } else {
                (f, fc)
            }
        } else {
            let (v, vc) = self.run_verifying();
            if within_distance(self.cfg.hdist, LayerId(v.0 + 1), self.last) {
                (v, vc)
            } else {
                let (f, fc) = self.run_full();
                (f, min(vc, fc))
            }
        };
        let mut verified = self.evicted.max(self.genesis);
        for target in self.evicted.0 + 1..self.processed.0 {
            let target = LayerId(target);
            if verified_to < target {
                if target <= self.verified {
                    // Verified before, not any more: reported from here (the reference misses
                    // the previously last verified layer itself).
                    changed = min(changed, Some(target));
                }
                break;
            }
            if target > self.verified {
                changed = min(changed, Some(target));
            }
            verified = target;
        }
        self.verified = verified;
        if let Some(c) = changed {
            self.mark_pending(c);
            self.on_opinion_change(c, false);
        }
    }

    /// Drops layers more than a window behind the verified layer, once they are reported.
    pub(super) fn evict(&mut self) {
        if self.verified.0 <= self.genesis.0 + self.cfg.hdist {
            return;
        }
        let Some(window_start) = self.verified.0.checked_sub(self.cfg.window).map(LayerId) else {
            return;
        };
        if window_start.0 <= self.evicted.0 + 1 || self.pending.is_some_and(|p| p < window_start) {
            return;
        }
        let lpe = self.cfg.layers_per_epoch;
        while self.evicted.0 + 1 < window_start.0 {
            let layer = self.layers.pop_front().expect("layers up to the verified one exist");
            for (index, ballot) in layer.ballots.iter().enumerate() {
                let r = BallotRef { layer: layer.lid, index: index as u32 };
                self.ballot_index.remove(&ballot.header.id, |q| q == r);
            }
            if layer.lid.0 % lpe == lpe - 1 {
                self.epochs.remove(&layer.lid.epoch(lpe));
            }
            self.evicted = layer.lid;
        }
        let evicted = self.evicted;
        self.retriable.retain(|r| r.layer > evicted);
        for refs in self.delayed.values_mut() {
            refs.retain(|r| r.layer > evicted);
        }
        self.delayed.retain(|_, refs| !refs.is_empty());
    }
}

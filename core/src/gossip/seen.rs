//! The dedup cache and the retained-message store, with incremental bucket fingerprints.
//!
//! Every message id the node has seen stays in the cache for `seen_ttl` (so duplicates are
//! dropped cheaply); accepted messages also keep their encoded frame for `retain_duration` (so
//! they can be served to IWANT and to anti-entropy). Both are bounded by count; the oldest entry
//! is evicted first. The XOR fingerprint of each bucket is updated on every insert and eviction,
//! so a reconciliation request costs no scan.
//!
//! The cache holds every message of the last `seen_ttl`, the largest per-node state of a
//! simulation, so it is kept in two layers: every seen id prefix (12 bytes a table cell, plus 16
//! in the insertion-order queue), which is all a message needs once it is neither validating nor
//! retained, and live entries for validating and retained messages only, at most
//! `validating_max + retained_max` of them. A live entry is the message's [`HeldFrame`] (full
//! id and frame, one allocation that a simulator shares between nodes) with a tag. Dedup is by
//! prefix (see [`super::id_index`] for why a prefix collision is safe); serving and verdicts
//! match full ids.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use std::collections::BTreeMap;

use super::chunked::Queue;
use super::id_index::{IdIndex, Identified, prefix};
use super::message::{BUCKETS, BucketSummary, HeldFrame, MsgId, Topic, bucket_of};
use crate::types::{PeerId, Time};

/// Where a newly seen message stands (ignored or rejected messages are stored as dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SeenState {
    /// Handed to the topic's owner; the verdict is pending.
    Validating {
        /// The peer it first came from.
        from: PeerId,
        /// The id and encoded frame, kept to forward it on acceptance.
        held: Arc<HeldFrame>,
        /// The topic.
        topic: Topic,
    },
    /// Accepted; `held` (id and frame) is kept while retained. Only `reconciled` messages (see
    /// [`Topic::reconciled`]) count in the anti-entropy buckets.
    Accepted { held: Option<Arc<HeldFrame>>, reconciled: bool },
}

/// What the cache keeps of a validating or retained id: [`SeenState`] without the validating
/// sender, which waits in [`SeenCache::senders`], so that retained entries stay small. Every
/// other seen id (dropped, or accepted and released) is only a prefix in [`SeenCache::entries`].
#[derive(Debug)]
enum Live {
    Validating { held: Arc<HeldFrame>, topic: Topic },
    Retained { held: Arc<HeldFrame>, reconciled: bool },
}

impl Identified for Live {
    fn id(&self) -> &MsgId {
        match self {
            Live::Validating { held, .. } | Live::Retained { held, .. } => &held.id,
        }
    }
}

/// Bounded dedup cache plus retained-message store.
#[derive(Debug)]
pub(crate) struct SeenCache {
    /// Every seen id prefix, with the live entry of validating and retained ids.
    entries: IdIndex<Live>,
    /// The peer each validating message first came from, by id prefix.
    senders: BTreeMap<u64, PeerId>,
    /// Id prefixes in insertion order with their insertion time, for `seen_ttl` expiry and count
    /// eviction. Entries leave only from the front of this queue, so it holds exactly the
    /// seen prefixes, in order, and a prefix names its entry.
    order: Queue<(Time, u64)>,
    /// Accepted id prefixes in acceptance order, for `retain_duration` expiry and count
    /// eviction. An element may outlive its live entry (evicted by count or expired first); if the
    /// same id is seen and accepted again, releasing by prefix releases it, as releasing by id
    /// would (an other id with that prefix could only come from grinding, see
    /// [`super::id_index`], and would lose its frame early).
    retained_order: Queue<(Time, u64)>,
    retained: usize,
    validating: usize,
    /// Ids ever popped from the front of `order`: the id at `order[i]` was the
    /// `popped + i`-th insertion of the cache's life (see [`SeenCache::holds_position`]).
    popped: u64,
    buckets: [BucketSummary; BUCKETS],
    seen_max: usize,
    retained_max: usize,
}

impl SeenCache {
    /// A cache; `key` is a per-node secret that mixes the id index's table positions.
    pub(crate) fn new(seen_max: usize, retained_max: usize, key: u64) -> Self {
        assert!(seen_max >= retained_max, "retained messages must fit the seen cache");
        SeenCache {
            entries: IdIndex::new(key),
            senders: BTreeMap::new(),
            order: Queue::default(),
            retained_order: Queue::default(),
            retained: 0,
            validating: 0,
            popped: 0,
            buckets: [BucketSummary::default(); BUCKETS],
            seen_max,
            retained_max,
        }
    }

    /// Whether the id (or, see [`super::id_index`], an id with its prefix) was seen.
    pub(crate) fn contains(&self, id: &MsgId) -> bool {
        self.entries.contains(prefix(id))
    }

    /// Prepares [`SeenCache::contains`] of many ids at once (an IHAVE's): their table cells are
    /// read together, so their cache misses overlap. Changes nothing.
    pub(crate) fn warm(&self, ids: &[MsgId]) {
        self.entries.warm(ids.iter().map(prefix));
    }

    /// The insertion position (counted over the cache's life) of `id`, if it is among the
    /// `depth` most recent insertions.
    pub(crate) fn recent_position(&self, id: &MsgId, depth: usize) -> Option<u64> {
        let p = prefix(id);
        let back = self.order.iter().rev().take(depth).position(|&(_, q)| q == p)?;
        Some(self.popped + (self.order.len() - 1 - back) as u64)
    }

    /// Whether the id inserted at `position` (see [`SeenCache::recent_position`]) is still
    /// seen. Ids leave only from the front of the insertion order, so this needs no lookup.
    pub(crate) fn holds_position(&self, position: u64) -> bool {
        position >= self.popped && position - self.popped < self.order.len() as u64
    }

    /// The frame of a retained message.
    pub(crate) fn retained_frame(&self, id: &MsgId) -> Option<&Bytes> {
        match self.entries.get(id) {
            Some(Live::Retained { held, .. }) => Some(&held.frame),
            _ => None,
        }
    }

    pub(crate) fn validating(&self) -> usize {
        self.validating
    }

    pub(crate) fn retained(&self) -> usize {
        self.retained
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn buckets(&self) -> &[BucketSummary; BUCKETS] {
        &self.buckets
    }

    /// Retained ids in bucket `index`, in id order.
    pub(crate) fn bucket_ids(&self, index: usize) -> impl Iterator<Item = MsgId> + '_ {
        self.entries.listed_in_bucket(index).copied()
    }

    /// Records a new id (the id of the held frame, if any). The caller has checked
    /// `!contains(id)`.
    pub(crate) fn insert(&mut self, now: Time, id: MsgId, state: SeenState) {
        debug_assert!(!self.contains(&id));
        if self.entries.len() >= self.seen_max {
            self.evict_oldest();
        }
        self.entries.insert(prefix(&id));
        self.order.push_back((now, prefix(&id)));
        match state {
            SeenState::Validating { from, held, topic } => {
                assert_eq!(held.id, id, "a frame held under another id");
                self.validating += 1;
                let old = self.senders.insert(prefix(&id), from);
                debug_assert!(old.is_none(), "a sender for a new id");
                self.entries.insert_live(Live::Validating { held, topic });
            }
            SeenState::Accepted { held: None, .. } => {}
            SeenState::Accepted { held: Some(held), reconciled } => {
                assert_eq!(held.id, id, "a frame held under another id");
                self.accept(now, held, reconciled);
            }
        }
    }

    /// Resolves a validating entry: `Some(frame)` accepts and retains it, `None` drops it.
    /// Returns the validating state it had, or `None` when the id was not validating.
    pub(crate) fn resolve(&mut self, now: Time, id: &MsgId, accept: bool) -> Option<SeenState> {
        if !matches!(self.entries.get(id), Some(Live::Validating { .. })) {
            return None;
        }
        let Some(Live::Validating { held, topic }) = self.entries.remove_live(prefix(id)) else {
            unreachable!("checked above")
        };
        self.validating -= 1;
        let from = self.senders.remove(&prefix(id)).expect("a validating id has a sender");
        if accept {
            self.accept(now, Arc::clone(&held), topic.reconciled());
        }
        Some(SeenState::Validating { from, held, topic })
    }

    /// Retains the frame of a seen id that has no live entry.
    fn accept(&mut self, now: Time, held: Arc<HeldFrame>, reconciled: bool) {
        if self.retained >= self.retained_max {
            self.release_oldest_retained();
        }
        let id = held.id;
        self.entries.insert_live(Live::Retained { held, reconciled });
        self.retained += 1;
        self.retained_order.push_back((now, prefix(&id)));
        if reconciled {
            self.toggle_bucket(&id, true);
        }
    }

    fn toggle_bucket(&mut self, id: &MsgId, insert: bool) {
        let b = &mut self.buckets[bucket_of(id)];
        for (x, y) in b.xor.0.iter_mut().zip(id.0.iter()) {
            *x ^= *y;
        }
        if insert {
            b.count += 1;
        } else {
            b.count -= 1;
        }
        self.entries.set_listed(id, insert);
    }

    /// Drops the frame of the oldest retained message (the id stays seen).
    fn release_oldest_retained(&mut self) {
        while let Some((_, p)) = self.retained_order.pop_front() {
            if self.release(p) {
                return;
            }
        }
    }

    /// Drops the frame of the entry under `prefix` if it is retained; returns whether it was.
    fn release(&mut self, prefix: u64) -> bool {
        let Some(Live::Retained { held, reconciled }) = self.entries.get_by_prefix(prefix) else {
            return false;
        };
        let (id, reconciled) = (held.id, *reconciled);
        self.retained -= 1;
        if reconciled {
            self.toggle_bucket(&id, false);
        }
        self.entries.remove_live(prefix).expect("a retained entry is live");
        true
    }

    fn evict_oldest(&mut self) {
        if let Some((_, p)) = self.order.pop_front() {
            self.popped += 1;
            self.remove(p);
        }
    }

    fn remove(&mut self, prefix: u64) {
        if !self.release(prefix) && self.entries.remove_live(prefix).is_some() {
            // Live but not retained: still validating.
            self.validating -= 1;
            self.senders.remove(&prefix);
        }
        assert!(self.entries.remove(prefix), "an ordered id is present");
    }

    /// Expires entries older than `seen_ttl` and frames older than `retain`. Returns the ids of
    /// validating entries that expired (their verdict will never be used).
    pub(crate) fn expire(&mut self, now: Time, seen_ttl: Duration, retain: Duration) {
        while let Some(&(at, p)) = self.retained_order.front() {
            if at + retain > now {
                break;
            }
            self.retained_order.pop_front();
            self.release(p);
        }
        while let Some(&(at, p)) = self.order.front() {
            if at + seen_ttl > now {
                break;
            }
            self.order.pop_front();
            self.popped += 1;
            self.remove(p);
        }
    }

    /// Checks the bounds in constant time (the simulator calls this after every step).
    pub(crate) fn check_invariants(&self) {
        assert!(self.entries.len() <= self.seen_max, "seen cache over its bound");
        assert!(self.retained <= self.retained_max, "retained store over its bound");
        assert!(self.entries.live() <= self.entries.len(), "more live entries than seen ids");
        assert_eq!(self.entries.live(), self.retained + self.validating, "live miscounted");
        assert_eq!(self.order.len(), self.entries.len(), "every entry has one order slot");
        assert_eq!(self.senders.len(), self.validating, "every validating id has a sender");
    }

    /// Recomputes counts and fingerprints from scratch and compares them with the incremental
    /// ones (linear: for tests and occasional deep checks).
    pub(crate) fn check_invariants_deep(&self) {
        self.check_invariants();
        let mut buckets = [BucketSummary::default(); BUCKETS];
        let (mut retained, mut validating) = (0, 0);
        let mut listed = Vec::new();
        for e in self.entries.entries() {
            let id = e.id();
            match e {
                Live::Retained { reconciled, .. } => {
                    retained += 1;
                    if !reconciled {
                        continue;
                    }
                    listed.push(*id);
                    let b = &mut buckets[bucket_of(id)];
                    b.count += 1;
                    for (x, y) in b.xor.0.iter_mut().zip(id.0.iter()) {
                        *x ^= *y;
                    }
                }
                Live::Validating { .. } => validating += 1,
            }
        }
        assert_eq!(retained, self.retained, "retained count drifted");
        assert_eq!(validating, self.validating, "validating count drifted");
        assert_eq!(buckets, self.buckets, "bucket fingerprints drifted");
        self.entries.check_invariants_deep();
        listed.sort_unstable();
        assert!(self.entries.listed().copied().eq(listed), "listing drifted");
        let mut ordered: Vec<u64> = self.order.iter().map(|(_, p)| *p).collect();
        assert!(self.order.iter().zip(self.order.iter().skip(1)).all(|(a, b)| a.0 <= b.0));
        assert!(ordered.iter().all(|p| self.entries.contains(*p)), "an ordered id is not seen");
        ordered.sort_unstable();
        ordered.dedup();
        assert_eq!(ordered.len(), self.entries.len(), "an id is ordered twice");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gossip::message::message_id;

    fn id(n: u32) -> MsgId {
        message_id(Topic::Heartbeat, &n.to_le_bytes())
    }

    /// `id`'s message held with the frame `frame`.
    fn held(id: MsgId, frame: &'static [u8]) -> Arc<HeldFrame> {
        Arc::new(HeldFrame { id, frame: Bytes::from_static(frame) })
    }

    fn accepted(id: MsgId) -> SeenState {
        SeenState::Accepted { held: Some(held(id, b"frame")), reconciled: true }
    }

    /// The cache never grows past its bound: the oldest entry goes first.
    #[test]
    fn bounded_by_count() {
        let mut c = SeenCache::new(3, 2, 0);
        for n in 0..5 {
            c.insert(Time(u64::from(n)), id(n), accepted(id(n)));
            c.check_invariants_deep();
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.retained(), 2);
        assert!(!c.contains(&id(0)) && !c.contains(&id(1)));
        assert!(c.retained_frame(&id(4)).is_some());
        assert!(c.retained_frame(&id(2)).is_none(), "oldest retained frame released");
    }

    proptest::proptest! {
        /// A position taken right after an insert says whether the id is still seen, exactly as
        /// a lookup does, through evictions by count and expiry by time.
        #[test]
        fn positions_agree_with_lookups(
            ops in proptest::collection::vec((0u32..60, 0u64..4, proptest::bool::ANY), 1..300),
            seen_max in 1usize..12,
        ) {
            let mut c = SeenCache::new(seen_max, 1, 0);
            let mut positions: Vec<(MsgId, u64)> = Vec::new();
            let mut now = 0;
            for (n, step, expire) in ops {
                now += step;
                if expire {
                    c.expire(Time(now), Duration::from_micros(6), Duration::from_micros(3));
                } else if !c.contains(&id(n)) {
                    c.insert(Time(now), id(n), SeenState::Accepted { held: None, reconciled: false });
                    let at = c.recent_position(&id(n), 1);
                    proptest::prop_assert!(at.is_some(), "the latest insert has a position");
                    positions.push((id(n), at.unwrap()));
                }
                for (i, at) in &positions {
                    // A later insert of the same id has its own position; an old one only says
                    // whether its own insertion is still held.
                    if c.holds_position(*at) {
                        proptest::prop_assert!(c.contains(i));
                    }
                }
                if let Some((i, at)) = positions.last() {
                    proptest::prop_assert_eq!(c.holds_position(*at), c.contains(i));
                }
            }
        }
    }

    /// A position is found among the latest inserts only, and lapses when its id leaves.
    #[test]
    fn recent_positions() {
        let mut c = SeenCache::new(3, 3, 0);
        for n in 0..3 {
            c.insert(Time(u64::from(n)), id(n), accepted(id(n)));
        }
        assert_eq!(c.recent_position(&id(2), 1), Some(2));
        assert_eq!(c.recent_position(&id(0), 2), None, "beyond the depth");
        let first = c.recent_position(&id(0), 3).expect("within the depth");
        assert_eq!(first, 0);
        assert!(c.holds_position(first));
        c.insert(Time(3), id(3), accepted(id(3)));
        assert!(!c.holds_position(first) && !c.contains(&id(0)), "evicted by count");
        assert_eq!(c.recent_position(&id(3), 1), Some(3), "positions count the cache's life");
        c.expire(Time(100), Duration::from_micros(10), Duration::from_micros(5));
        assert!(!c.holds_position(3), "expired");
        assert!(!c.holds_position(4), "never inserted");
    }

    /// Frames expire after the retain duration, ids after the seen ttl.
    #[test]
    fn expiry_by_time() {
        let mut c = SeenCache::new(10, 10, 0);
        c.insert(Time(0), id(1), accepted(id(1)));
        c.expire(Time(5), Duration::from_micros(10), Duration::from_micros(5));
        assert!(c.contains(&id(1)) && c.retained_frame(&id(1)).is_none());
        c.expire(Time(10), Duration::from_micros(10), Duration::from_micros(5));
        assert!(!c.contains(&id(1)));
        c.check_invariants_deep();
        assert_eq!(c.buckets(), &[BucketSummary::default(); BUCKETS]);
    }

    /// Resolving a validating entry accepts or drops it once; a second resolve does nothing.
    #[test]
    fn resolve_once() {
        let mut c = SeenCache::new(10, 10, 0);
        let from = PeerId([1; 32]);
        let held = held(id(1), b"f");
        c.insert(Time(0), id(1), SeenState::Validating { from, held, topic: Topic::Heartbeat });
        assert_eq!(c.validating(), 1);
        assert!(c.resolve(Time(1), &id(1), true).is_some());
        assert!(c.resolve(Time(1), &id(1), false).is_none());
        assert_eq!(c.validating(), 0);
        assert!(c.retained_frame(&id(1)).is_some());
        c.check_invariants_deep();
    }

    /// An id sharing another's 8-byte prefix counts as seen, and never shadows or removes the
    /// first one's entry.
    #[test]
    fn prefix_collision_is_treated_as_seen() {
        let mut c = SeenCache::new(10, 10, 0);
        let a = MsgId::from([7u8; 32]);
        let mut b_bytes = [7u8; 32];
        b_bytes[31] = 8;
        let b = MsgId::from(b_bytes);
        c.insert(Time(0), a, accepted(a));
        assert!(c.contains(&b), "a colliding id is dropped as a duplicate");
        assert!(c.retained_frame(&b).is_none(), "but it is not served as the other message");
        assert!(c.resolve(Time(1), &b, true).is_none());
        assert!(c.retained_frame(&a).is_some());
        c.check_invariants_deep();
    }

    /// Messages of unreconciled topics are retained (served to IWANT) but stay out of the
    /// anti-entropy fingerprints and listings, through acceptance and release.
    #[test]
    fn unreconciled_topics_stay_out_of_buckets() {
        let mut c = SeenCache::new(10, 10, 0);
        let from = PeerId([1; 32]);
        let held_1 = held(id(1), b"f");
        c.insert(Time(0), id(1), SeenState::Validating { from, held: held_1, topic: Topic::Hare });
        c.resolve(Time(0), &id(1), true);
        let held_2 = Some(held(id(2), b"g"));
        c.insert(Time(0), id(2), SeenState::Accepted { held: held_2, reconciled: false });
        assert!(c.retained_frame(&id(1)).is_some() && c.retained_frame(&id(2)).is_some());
        assert_eq!(c.buckets(), &[BucketSummary::default(); BUCKETS]);
        assert_eq!((0..BUCKETS).map(|b| c.bucket_ids(b).count()).sum::<usize>(), 0);
        c.check_invariants_deep();
        c.expire(Time(10), Duration::from_micros(100), Duration::from_micros(5));
        assert!(c.retained_frame(&id(1)).is_none());
        c.check_invariants_deep();
    }

    /// Expiry gives memory back: live entries go with their frames, and the table of seen
    /// prefixes shrinks as the ids expire.
    #[test]
    fn expiry_frees_memory() {
        let mut c = SeenCache::new(10_000, 10_000, 5);
        for n in 0..4000 {
            c.insert(Time(u64::from(n)), id(n), accepted(id(n)));
        }
        let full = c.entries.table_capacity();
        c.expire(Time(4009), Duration::from_micros(5000), Duration::from_micros(10));
        assert_eq!((c.retained(), c.entries.live(), c.len()), (0, 0, 4000));
        c.check_invariants_deep();
        c.expire(Time(8990), Duration::from_micros(5000), Duration::from_micros(10));
        assert_eq!(c.len(), 9);
        assert!(c.entries.table_capacity() * 64 <= full, "the seen table shrank");
        assert!(c.order.capacity() <= 2 * 256, "the order queue gave its chunks back");
        assert!((3991..4000).all(|n| c.contains(&id(n))) && !c.contains(&id(3990)));
        c.check_invariants_deep();
    }

    /// An id whose prefix is the table's free marker (zero) is seen, retained and expired like
    /// any other.
    #[test]
    fn zero_prefix_id() {
        let mut c = SeenCache::new(10, 10, 0);
        let mut bytes = [0u8; 32];
        bytes[31] = 1;
        let zero = MsgId::from(bytes);
        c.insert(Time(0), zero, accepted(zero));
        c.insert(Time(1), id(1), accepted(id(1)));
        assert!(c.contains(&zero) && c.retained_frame(&zero).is_some());
        assert_eq!(c.bucket_ids(0).next(), Some(zero));
        c.check_invariants_deep();
        c.expire(Time(10), Duration::from_micros(10), Duration::from_micros(5));
        assert!(!c.contains(&zero) && c.contains(&id(1)));
        c.check_invariants_deep();
    }

    /// Bucket listing returns exactly the retained ids of that bucket.
    #[test]
    fn bucket_listing() {
        let mut c = SeenCache::new(100, 100, 0);
        for n in 0..60 {
            c.insert(Time(0), id(n), accepted(id(n)));
        }
        let total: usize = (0..BUCKETS).map(|b| c.bucket_ids(b).count()).sum();
        assert_eq!(total, 60);
        for b in 0..BUCKETS {
            assert_eq!(c.bucket_ids(b).count() as u32, c.buckets()[b].count);
        }
    }
}

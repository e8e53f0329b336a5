//! The dedup cache and the retained-message store, with incremental bucket fingerprints.
//!
//! Every message id the node has seen stays in the cache for `seen_ttl` (so duplicates are
//! dropped cheaply); accepted messages also keep their encoded frame for `retain_duration` (so
//! they can be served to IWANT and to anti-entropy). Both are bounded by count; the oldest entry
//! is evicted first. The XOR fingerprint of each bucket is updated on every insert and eviction,
//! so a reconciliation request costs no scan.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::id_index::IdIndex;
use super::message::{BUCKETS, BucketSummary, MsgId, Topic, bucket_of};
use crate::types::{PeerId, Time};

/// Where a seen message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SeenState {
    /// Handed to the topic's owner; the verdict is pending.
    Validating {
        /// The peer it first came from.
        from: PeerId,
        /// The encoded frame, kept to forward it on acceptance.
        frame: Bytes,
        /// The topic.
        topic: Topic,
    },
    /// Accepted; `frame` is kept while retained. Only `reconciled` messages (see
    /// [`Topic::reconciled`]) count in the anti-entropy buckets.
    Accepted { frame: Option<Bytes>, reconciled: bool },
    /// Ignored or rejected by its owner.
    Dropped,
}

#[derive(Debug)]
struct Entry {
    state: SeenState,
}

/// Bounded dedup cache plus retained-message store.
#[derive(Debug)]
pub(crate) struct SeenCache {
    entries: IdIndex<Entry>,
    /// Ids in insertion order with their insertion time, for `seen_ttl` expiry and count eviction.
    order: VecDeque<(Time, MsgId)>,
    /// Accepted ids in acceptance order, for `retain_duration` expiry and count eviction.
    retained_order: VecDeque<(Time, MsgId)>,
    retained: usize,
    validating: usize,
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
            order: VecDeque::new(),
            retained_order: VecDeque::new(),
            retained: 0,
            validating: 0,
            buckets: [BucketSummary::default(); BUCKETS],
            seen_max,
            retained_max,
        }
    }

    /// Whether the id (or, see [`super::id_index`], an id with its prefix) was seen.
    pub(crate) fn contains(&self, id: &MsgId) -> bool {
        self.entries.contains_prefix(id)
    }

    /// The frame of a retained message.
    pub(crate) fn retained_frame(&self, id: &MsgId) -> Option<&Bytes> {
        match self.entries.get(id).map(|e| &e.state) {
            Some(SeenState::Accepted { frame: Some(f), .. }) => Some(f),
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

    /// Records a new id. The caller has checked `!contains(id)`.
    pub(crate) fn insert(&mut self, now: Time, id: MsgId, state: SeenState) {
        debug_assert!(!self.contains(&id));
        if self.entries.len() >= self.seen_max {
            self.evict_oldest();
        }
        let accepted_frame = match &state {
            SeenState::Validating { .. } => {
                self.validating += 1;
                None
            }
            SeenState::Accepted { frame, reconciled } => frame.clone().map(|f| (f, *reconciled)),
            SeenState::Dropped => None,
        };
        self.entries.insert(id, Entry { state: SeenState::Dropped });
        self.order.push_back((now, id));
        match accepted_frame {
            Some((frame, reconciled)) => self.accept(now, &id, frame, reconciled),
            None => self.entries.get_mut(&id).expect("just inserted").state = state,
        }
    }

    /// Resolves a validating entry: `Some(frame)` accepts and retains it, `None` drops it.
    /// Returns the validating state it had, or `None` when the id was not validating.
    pub(crate) fn resolve(&mut self, now: Time, id: &MsgId, accept: bool) -> Option<SeenState> {
        let entry = self.entries.get_mut(id)?;
        if !matches!(entry.state, SeenState::Validating { .. }) {
            return None;
        }
        let old = std::mem::replace(&mut entry.state, SeenState::Dropped);
        self.validating -= 1;
        if accept {
            let SeenState::Validating { frame, topic, .. } = &old else { unreachable!() };
            self.accept(now, id, frame.clone(), topic.reconciled());
        }
        Some(old)
    }

    fn accept(&mut self, now: Time, id: &MsgId, frame: Bytes, reconciled: bool) {
        if self.retained >= self.retained_max {
            self.release_oldest_retained();
        }
        let entry = self.entries.get_mut(id).expect("accepting a known id");
        entry.state = SeenState::Accepted { frame: Some(frame), reconciled };
        self.retained += 1;
        self.retained_order.push_back((now, *id));
        if reconciled {
            self.toggle_bucket(id, true);
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
        while let Some((_, id)) = self.retained_order.pop_front() {
            if self.release(&id) {
                return;
            }
        }
    }

    /// Drops the frame of `id` if it is retained; returns whether it was.
    fn release(&mut self, id: &MsgId) -> bool {
        let Some(entry) = self.entries.get_mut(id) else { return false };
        match &mut entry.state {
            SeenState::Accepted { frame, reconciled } if frame.is_some() => {
                *frame = None;
                self.retained -= 1;
                if *reconciled {
                    self.toggle_bucket(id, false);
                }
                true
            }
            _ => false,
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, id)) = self.order.pop_front() {
            self.remove(&id);
        }
    }

    fn remove(&mut self, id: &MsgId) {
        self.release(id);
        if let Some(entry) = self.entries.remove(id) {
            if matches!(entry.state, SeenState::Validating { .. }) {
                self.validating -= 1;
            }
        }
    }

    /// Expires entries older than `seen_ttl` and frames older than `retain`. Returns the ids of
    /// validating entries that expired (their verdict will never be used).
    pub(crate) fn expire(&mut self, now: Time, seen_ttl: Duration, retain: Duration) {
        while let Some(&(at, id)) = self.retained_order.front() {
            if at + retain > now {
                break;
            }
            self.retained_order.pop_front();
            self.release(&id);
        }
        while let Some(&(at, id)) = self.order.front() {
            if at + seen_ttl > now {
                break;
            }
            self.order.pop_front();
            self.remove(&id);
        }
    }

    /// Checks the bounds in constant time (the simulator calls this after every step).
    pub(crate) fn check_invariants(&self) {
        assert!(self.entries.len() <= self.seen_max, "seen cache over its bound");
        assert!(self.retained <= self.retained_max, "retained store over its bound");
        assert!(self.validating <= self.entries.len(), "more validating than seen");
        assert!(self.order.len() >= self.entries.len(), "every entry has an order slot");
    }

    /// Recomputes counts and fingerprints from scratch and compares them with the incremental
    /// ones (linear: for tests and occasional deep checks).
    pub(crate) fn check_invariants_deep(&self) {
        self.check_invariants();
        let mut buckets = [BucketSummary::default(); BUCKETS];
        let (mut retained, mut validating) = (0, 0);
        let mut listed = Vec::new();
        for (id, e) in self.entries.entries() {
            match &e.state {
                SeenState::Accepted { frame: Some(_), reconciled } => {
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
                SeenState::Validating { .. } => validating += 1,
                _ => {}
            }
        }
        assert_eq!(retained, self.retained, "retained count drifted");
        assert_eq!(validating, self.validating, "validating count drifted");
        assert_eq!(buckets, self.buckets, "bucket fingerprints drifted");
        self.entries.check_invariants_deep();
        listed.sort_unstable();
        assert!(self.entries.listed().copied().eq(listed), "listing drifted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gossip::message::message_id;

    fn id(n: u32) -> MsgId {
        message_id(Topic::Heartbeat, &n.to_le_bytes())
    }

    fn accepted() -> SeenState {
        SeenState::Accepted { frame: Some(Bytes::from_static(b"frame")), reconciled: true }
    }

    /// The cache never grows past its bound: the oldest entry goes first.
    #[test]
    fn bounded_by_count() {
        let mut c = SeenCache::new(3, 2, 0);
        for n in 0..5 {
            c.insert(Time(u64::from(n)), id(n), accepted());
            c.check_invariants_deep();
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.retained(), 2);
        assert!(!c.contains(&id(0)) && !c.contains(&id(1)));
        assert!(c.retained_frame(&id(4)).is_some());
        assert!(c.retained_frame(&id(2)).is_none(), "oldest retained frame released");
    }

    /// Frames expire after the retain duration, ids after the seen ttl.
    #[test]
    fn expiry_by_time() {
        let mut c = SeenCache::new(10, 10, 0);
        c.insert(Time(0), id(1), accepted());
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
        let frame = Bytes::from_static(b"f");
        c.insert(Time(0), id(1), SeenState::Validating { from, frame, topic: Topic::Heartbeat });
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
        c.insert(Time(0), a, accepted());
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
        let frame = Bytes::from_static(b"f");
        c.insert(Time(0), id(1), SeenState::Validating { from, frame, topic: Topic::Hare });
        c.resolve(Time(0), &id(1), true);
        c.insert(
            Time(0),
            id(2),
            SeenState::Accepted { frame: Some(Bytes::from_static(b"g")), reconciled: false },
        );
        assert!(c.retained_frame(&id(1)).is_some() && c.retained_frame(&id(2)).is_some());
        assert_eq!(c.buckets(), &[BucketSummary::default(); BUCKETS]);
        assert_eq!((0..BUCKETS).map(|b| c.bucket_ids(b).count()).sum::<usize>(), 0);
        c.check_invariants_deep();
        c.expire(Time(10), Duration::from_micros(100), Duration::from_micros(5));
        assert!(c.retained_frame(&id(1)).is_none());
        c.check_invariants_deep();
    }

    /// Bucket listing returns exactly the retained ids of that bucket.
    #[test]
    fn bucket_listing() {
        let mut c = SeenCache::new(100, 100, 0);
        for n in 0..60 {
            c.insert(Time(0), id(n), accepted());
        }
        let total: usize = (0..BUCKETS).map(|b| c.bucket_ids(b).count()).sum();
        assert_eq!(total, 60);
        for b in 0..BUCKETS {
            assert_eq!(c.bucket_ids(b).count() as u32, c.buckets()[b].count);
        }
    }
}

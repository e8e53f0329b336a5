//! The table of the seen cache: every seen message id, by 8-byte id prefix, with a slab slot
//! for the ids that have a live entry (validating or retained).
//!
//! Every received message and every id of every IHAVE costs one lookup here, in a cache as
//! large as the number of messages seen lately, once per node: that lookup was the largest cost
//! of a large simulation, first with whole ids in a B-tree and then with prefixes in one (a
//! B-tree search is a chain of dependent cache misses). Lookups now go through an
//! open-addressing table (linear probing, backward-shift deletion) of prefixes, with the slab
//! slots in a parallel array: a membership probe reads only prefixes, one cache miss in the
//! common case. Only live ids have a slab entry (full id and state); an id that is merely
//! remembered costs its 12-byte cell. The table halves when expiry empties it, so memory follows
//! the cache's size rather than its peak. The table is never iterated, so its layout cannot leak
//! into behaviour; the only ordered view, the reconciled retained ids that anti-entropy lists by
//! bucket, is kept apart, as a sorted vector per bucket (far fewer ids: retained, reconciled
//! topics only).
//!
//! Two different ids with one prefix can only come from a sender grinding about 2^32 hashes
//! against its own messages (hitting a given id's prefix takes 2^64): the later one is then
//! treated as already seen and dropped, which only hurts that sender. Table positions are mixed
//! with a per-node secret key, so a sender cannot grind ids into one probe chain either.

use bytes::Bytes;

use super::message::{BUCKETS, MsgId, Topic, bucket_of, message_id};

/// The first eight bytes of an id, big-endian, so that key order is id order.
pub(super) fn prefix(id: &MsgId) -> u64 {
    u64::from_be_bytes(id.0[..8].try_into().expect("8 bytes"))
}

/// The prefix that marks a free cell; a real prefix equal to it lives in [`PrefixTable::zero`].
const FREE: u64 = 0;
/// The smallest table (cells); a power of two.
const CELLS_MIN: usize = 16;

/// Prefixes to values `V` in an open-addressing table between one eighth and three quarters
/// full: it doubles when it fills and halves when expiry empties it, so a cache that shrinks
/// gives its memory back. Prefixes and values sit in two arrays, so that a membership probe
/// reads only prefixes (8 bytes a cell) and a value costs 4 more.
#[derive(Debug)]
pub(super) struct PrefixTable<V> {
    prefixes: Vec<u64>,
    values: Vec<V>,
    /// The value of the prefix [`FREE`], which cannot sit in a cell.
    zero: Option<V>,
    /// Occupied cells (not counting `zero`).
    used: usize,
    /// 64 minus log2 of the cell count: a position is the top bits of the mixed prefix.
    shift: u32,
    key: u64,
}

impl<V: Copy + Default> PrefixTable<V> {
    /// An empty table; `key` mixes positions (a per-node secret).
    pub(super) fn new(key: u64) -> Self {
        PrefixTable {
            prefixes: vec![FREE; CELLS_MIN],
            values: vec![V::default(); CELLS_MIN],
            zero: None,
            used: 0,
            shift: 64 - CELLS_MIN.trailing_zeros(),
            key,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.used + usize::from(self.zero.is_some())
    }

    /// Cells allocated.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.prefixes.len()
    }

    fn mask(&self) -> usize {
        self.prefixes.len() - 1
    }

    /// Fibonacci hashing of the keyed prefix.
    fn home(&self, prefix: u64) -> usize {
        ((prefix ^ self.key).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The cell holding `prefix` (not [`FREE`]), if any.
    fn find(&self, prefix: u64) -> Option<usize> {
        debug_assert_ne!(prefix, FREE);
        let mask = self.mask();
        let mut i = self.home(prefix);
        loop {
            let p = self.prefixes[i];
            if p == prefix {
                return Some(i);
            }
            if p == FREE {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    pub(super) fn get(&self, prefix: u64) -> Option<V> {
        if prefix == FREE {
            return self.zero;
        }
        self.find(prefix).map(|i| self.values[i])
    }

    pub(super) fn contains(&self, prefix: u64) -> bool {
        if prefix == FREE { self.zero.is_some() } else { self.find(prefix).is_some() }
    }

    /// Reads the home cell of each prefix, so that lookups of them right after find their
    /// first cell in cache. The reads do not depend on each other, so the processor overlaps
    /// their cache misses, where lookups one by one (each deciding a branch) mostly wait for
    /// one miss at a time. Changes nothing.
    pub(super) fn warm(&self, prefixes: impl Iterator<Item = u64>) {
        let touched = prefixes.fold(0u64, |acc, p| acc ^ self.prefixes[self.home(p)]);
        std::hint::black_box(touched);
    }

    /// Replaces the value of a present prefix; returns whether it was present.
    pub(super) fn set(&mut self, prefix: u64, value: V) -> bool {
        if prefix == FREE {
            return self.zero.as_mut().map(|v| *v = value).is_some();
        }
        self.find(prefix).map(|i| self.values[i] = value).is_some()
    }

    /// Inserts a prefix that is not present.
    pub(super) fn insert(&mut self, prefix: u64, value: V) {
        if prefix == FREE {
            assert!(self.zero.is_none(), "prefix already present");
            self.zero = Some(value);
            return;
        }
        if (self.used + 1) * 4 > self.prefixes.len() * 3 {
            self.resize(self.prefixes.len() * 2);
        }
        self.place(prefix, value);
    }

    /// Puts a prefix that is not present into a table with room for it.
    fn place(&mut self, prefix: u64, value: V) {
        let mask = self.mask();
        let mut i = self.home(prefix);
        while self.prefixes[i] != FREE {
            debug_assert_ne!(self.prefixes[i], prefix, "prefix already present");
            i = (i + 1) & mask;
        }
        self.prefixes[i] = prefix;
        self.values[i] = value;
        self.used += 1;
    }

    /// Removes a prefix; returns its value.
    pub(super) fn remove(&mut self, prefix: u64) -> Option<V> {
        if prefix == FREE {
            return self.zero.take();
        }
        let mut hole = self.find(prefix)?;
        let value = self.values[hole];
        let mask = self.mask();
        // Backward shift: pull later cells of the probe run into the hole when the hole lies
        // between their home and their cell, so that no lookup meets a gap before its cell.
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let p = self.prefixes[j];
            if p == FREE {
                break;
            }
            let home = self.home(p);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.prefixes[hole] = p;
                self.values[hole] = self.values[j];
                hole = j;
            }
        }
        self.prefixes[hole] = FREE;
        self.used -= 1;
        if self.prefixes.len() > CELLS_MIN && self.used * 8 < self.prefixes.len() {
            self.resize(self.prefixes.len() / 2);
        }
        Some(value)
    }

    /// Rehashes into `cells` cells (a power of two with room for every prefix).
    fn resize(&mut self, cells: usize) {
        debug_assert!(cells.is_power_of_two() && cells >= CELLS_MIN && self.used < cells);
        let prefixes = std::mem::replace(&mut self.prefixes, vec![FREE; cells]);
        let values = std::mem::replace(&mut self.values, vec![V::default(); cells]);
        self.shift = 64 - cells.trailing_zeros();
        self.used = 0;
        for (p, v) in prefixes.into_iter().zip(values).filter(|(p, _)| *p != FREE) {
            self.place(p, v);
        }
    }

    /// Every cell count, probe run and the load bounds (linear: for tests and deep checks).
    pub(super) fn check_invariants_deep(&self) {
        let cells = self.prefixes.len();
        assert!(cells.is_power_of_two() && cells >= CELLS_MIN && self.values.len() == cells);
        let used = self.prefixes.iter().filter(|p| **p != FREE).count();
        assert_eq!(used, self.used, "cell count drifted");
        assert!(used * 4 <= cells * 3, "table over three quarters full");
        for (i, p) in self.prefixes.iter().enumerate().filter(|(_, p)| **p != FREE) {
            assert_eq!(self.find(*p), Some(i), "a prefix is not found where it is");
        }
    }
}

/// Pushes onto a vector that grows by a quarter (not by doubling) when full: the seen cache's
/// arrays are the largest per-node state, and a doubled array is on average a third empty.
pub(super) fn push_gently<T>(v: &mut Vec<T>, item: T) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len() / 4 + 16);
    }
    v.push(item);
}

/// A live entry, which knows its full id.
pub(super) trait Identified {
    fn id(&self) -> &MsgId;
}

/// An id with a value (for tests of the index itself).
#[cfg(test)]
impl<T> Identified for (MsgId, T) {
    fn id(&self) -> &MsgId {
        &self.0
    }
}

/// The cell value of a seen id without a live entry.
const NO_SLOT: u32 = u32::MAX;

/// Every seen id prefix, and the live entries of some ids: a prefix table whose value is a slot
/// of the slab of live entries (or [`NO_SLOT`]), plus the ordered listing of live ids.
#[derive(Debug)]
pub(super) struct IdIndex<E> {
    table: PrefixTable<u32>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    /// Prefixes of the listed ids (retained, of reconciled topics), in id order.
    listed: Listing,
}

/// Prefixes and slab slots of the listed ids, per anti-entropy bucket, each bucket sorted by
/// prefix (so the buckets in turn list every id in id order). An id is listed and unlisted once
/// per retained message, and a bucket is read only when a peer's fingerprint of it differs: a
/// sorted vector per bucket (an insert shifts about a kilobyte) costs one or two cache misses
/// where a B-tree over all listed ids cost a chain of them, for every message at every node.
#[derive(Debug, Default)]
struct Listing {
    /// [`BUCKETS`] vectors once anything was listed.
    buckets: Vec<Vec<(u64, u32)>>,
}

impl Listing {
    fn bucket(prefix: u64) -> usize {
        (prefix >> (64 - BUCKETS.trailing_zeros())) as usize
    }

    /// Lists `prefix` at `slot`; returns the slot it was listed at already, if it was.
    fn insert(&mut self, prefix: u64, slot: u32) -> Option<u32> {
        if self.buckets.is_empty() {
            self.buckets = vec![Vec::new(); BUCKETS];
        }
        let b = &mut self.buckets[Self::bucket(prefix)];
        match b.binary_search_by_key(&prefix, |e| e.0) {
            Ok(i) => Some(std::mem::replace(&mut b[i].1, slot)),
            Err(i) => {
                b.insert(i, (prefix, slot));
                None
            }
        }
    }

    /// Unlists `prefix`; returns the slot it was listed at.
    fn remove(&mut self, prefix: u64) -> Option<u32> {
        let b = self.buckets.get_mut(Self::bucket(prefix))?;
        let i = b.binary_search_by_key(&prefix, |e| e.0).ok()?;
        Some(b.remove(i).1)
    }

    fn contains(&self, prefix: u64) -> bool {
        self.buckets
            .get(Self::bucket(prefix))
            .is_some_and(|b| b.binary_search_by_key(&prefix, |e| e.0).is_ok())
    }

    /// The listed `(prefix, slot)`s of bucket `index`, by prefix.
    fn in_bucket(&self, index: usize) -> impl Iterator<Item = &(u64, u32)> + '_ {
        self.buckets.get(index).into_iter().flatten()
    }

    /// Every listed `(prefix, slot)`, by prefix.
    fn iter(&self) -> impl Iterator<Item = &(u64, u32)> + '_ {
        self.buckets.iter().flatten()
    }
}

impl<E: Identified> IdIndex<E> {
    /// An empty index; `key` mixes table positions (a per-node secret).
    pub(super) fn new(key: u64) -> Self {
        IdIndex {
            table: PrefixTable::new(key),
            slab: Vec::new(),
            free: Vec::new(),
            listed: Listing::default(),
        }
    }

    /// Whether an id with this prefix is seen.
    pub(super) fn contains(&self, prefix: u64) -> bool {
        self.table.contains(prefix)
    }

    /// Brings the table cells of these prefixes into cache (see [`PrefixTable::warm`]).
    pub(super) fn warm(&self, prefixes: impl Iterator<Item = u64>) {
        self.table.warm(prefixes);
    }

    /// Seen ids.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// Cells of the prefix table.
    #[cfg(test)]
    pub(super) fn table_capacity(&self) -> usize {
        self.table.capacity()
    }

    /// Seen ids with a live entry.
    pub(super) fn live(&self) -> usize {
        self.slab.len() - self.free.len()
    }

    /// Records a prefix that is not seen, without a live entry.
    pub(super) fn insert(&mut self, prefix: u64) {
        self.table.insert(prefix, NO_SLOT);
    }

    /// Forgets a seen prefix that has no live entry; returns whether it was seen.
    pub(super) fn remove(&mut self, prefix: u64) -> bool {
        let Some(slot) = self.table.remove(prefix) else { return false };
        assert_eq!(slot, NO_SLOT, "forgetting an id with a live entry");
        true
    }

    fn slot_by_prefix(&self, prefix: u64) -> Option<usize> {
        self.table.get(prefix).filter(|s| *s != NO_SLOT).map(|s| s as usize)
    }

    fn slot(&self, id: &MsgId) -> Option<usize> {
        let slot = self.slot_by_prefix(prefix(id))?;
        let full = self.slab[slot].as_ref().expect("indexed slot is live").id();
        (full == id).then_some(slot)
    }

    /// The live entry of exactly this id.
    pub(super) fn get(&self, id: &MsgId) -> Option<&E> {
        self.slot(id).map(|s| self.slab[s].as_ref().expect("live"))
    }

    /// The live entry under `prefix`.
    pub(super) fn get_by_prefix(&self, prefix: u64) -> Option<&E> {
        let slot = self.slot_by_prefix(prefix)?;
        self.slab[slot].as_ref()
    }

    /// Gives a seen id without a live entry its live entry (which knows its id).
    pub(super) fn insert_live(&mut self, entry: E) {
        let id = *entry.id();
        let item = Some(entry);
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = item;
                s
            }
            None => {
                push_gently(&mut self.slab, item);
                u32::try_from(self.slab.len() - 1).expect("slab below u32::MAX")
            }
        };
        debug_assert_eq!(self.table.get(prefix(&id)), Some(NO_SLOT), "live twice or not seen");
        assert_ne!(slot, NO_SLOT, "slab below u32::MAX");
        self.table.set(prefix(&id), slot);
    }

    /// Takes the unlisted live entry under `prefix` (the id stays seen).
    pub(super) fn remove_live(&mut self, prefix: u64) -> Option<E> {
        let slot = self.slot_by_prefix(prefix)?;
        debug_assert!(!self.listed.contains(prefix), "removing a listed id");
        self.table.set(prefix, NO_SLOT);
        self.free.push(slot as u32);
        self.slab[slot].take()
    }

    /// Adds a live id to the ordered listing, or takes it out.
    pub(super) fn set_listed(&mut self, id: &MsgId, listed: bool) {
        let slot = self.slot(id).expect("listing a live id") as u32;
        if listed {
            let old = self.listed.insert(prefix(id), slot);
            debug_assert!(old.is_none(), "listed twice");
        } else {
            let old = self.listed.remove(prefix(id));
            debug_assert_eq!(old, Some(slot), "unlisting an unlisted id");
        }
    }

    /// Listed ids of bucket `index`, in id order.
    pub(super) fn listed_in_bucket(&self, index: usize) -> impl Iterator<Item = &MsgId> + '_ {
        self.listed
            .in_bucket(index)
            .map(|(_, s)| self.slab[*s as usize].as_ref().expect("listed slot is live").id())
    }

    /// Listed ids, in id order.
    pub(super) fn listed(&self) -> impl Iterator<Item = &MsgId> + '_ {
        self.listed.iter().map(|(_, s)| self.slab[*s as usize].as_ref().expect("live").id())
    }

    /// Every live entry, in slab order (for recounts: the order carries no meaning).
    pub(super) fn entries(&self) -> impl Iterator<Item = &E> + '_ {
        self.slab.iter().flatten()
    }

    /// Linear-time consistency of table, slab and listing.
    pub(super) fn check_invariants_deep(&self) {
        self.table.check_invariants_deep();
        let live = self.slab.iter().flatten().count();
        assert!(live <= self.table.len(), "more live entries than seen ids");
        assert_eq!(live + self.free.len(), self.slab.len(), "free list leaks slots");
        for (slot, item) in self.slab.iter().enumerate() {
            if let Some(e) = item {
                assert_eq!(self.table.get(prefix(e.id())), Some(slot as u32), "slot not indexed");
            }
        }
        for s in &self.free {
            assert!(self.slab[*s as usize].is_none(), "a free slot is in use");
        }
        for (p, s) in self.listed.iter() {
            let id = self.slab[*s as usize].as_ref().expect("listed slot is live").id();
            assert_eq!(prefix(id), *p, "listing points at another id");
            assert_eq!(bucket_of(id), Listing::bucket(*p), "listed in another bucket");
        }
        for b in &self.listed.buckets {
            assert!(b.is_sorted_by(|x, y| x.0 < y.0), "a bucket out of order");
        }
    }
}

/// Ids of recently received payloads, direct-mapped by the payload's address.
///
/// A gossiped message reaches a node once per peer that forwards it, and every copy is a slice
/// of one shared allocation (frames are forwarded byte for byte, zero-copy): hashing each copy
/// again to find its id (and that it is a duplicate) was a tenth of a simulation's time. An entry
/// holds a clone of its payload, so the allocation stays alive and immutable while cached: the
/// same address, length and topic therefore mean the same message, and a hit returns exactly
/// the id that hashing would. Addresses differ between processes and runs, which only changes
/// which lookups hit, never an id.
pub(super) struct IdMemo {
    slots: Vec<Option<(Bytes, Topic, MsgId)>>,
}

/// Opaque: which slots are taken (and how many, through collisions) depends on allocation
/// addresses, so printing them would make the `Debug` of equal gossip states differ between runs.
impl std::fmt::Debug for IdMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdMemo").field("slots", &self.slots.len()).finish_non_exhaustive()
    }
}

/// Entries of [`IdMemo`] (a power of two).
const ID_MEMO_SLOTS: usize = 256;

impl IdMemo {
    pub(super) fn new() -> Self {
        IdMemo { slots: vec![None; ID_MEMO_SLOTS] }
    }

    /// `message_id(topic, data)`, from the memo when this allocation was seen lately.
    pub(super) fn id(&mut self, topic: Topic, data: &Bytes) -> MsgId {
        let addr = data.as_ptr() as usize as u64;
        let at = (addr.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % ID_MEMO_SLOTS;
        if let Some((cached, t, id)) = &self.slots[at]
            && cached.as_ptr() == data.as_ptr()
            && cached.len() == data.len()
            && *t == topic
        {
            debug_assert_eq!(*id, message_id(topic, data));
            return *id;
        }
        let id = message_id(topic, data);
        self.slots[at] = Some((data.clone(), topic, id));
        id
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn id_with_prefix(p: u64, tail: u8) -> MsgId {
        let mut b = [tail; 32];
        b[..8].copy_from_slice(&p.to_be_bytes());
        MsgId::from(b)
    }

    /// Inserting and removing many ids and live entries in mixed order keeps every remaining
    /// id findable and its entry exact, with prefixes chosen to share table homes (a zero key
    /// and equal low bits).
    #[test]
    fn insert_remove_keeps_lookups_exact() {
        let mut index: IdIndex<(MsgId, u32)> = IdIndex::new(0);
        let ids: Vec<MsgId> = (0..2000u64).map(|n| id_with_prefix(n << 40 | n, n as u8)).collect();
        for (n, id) in ids.iter().enumerate() {
            index.insert(prefix(id));
            if n % 2 == 0 {
                index.insert_live((*id, n as u32));
            }
        }
        for (n, id) in ids.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
            assert_eq!(index.remove_live(prefix(id)).is_some(), n % 2 == 0);
            assert!(index.remove(prefix(id)));
            assert!(!index.remove(prefix(id)), "removed twice");
        }
        index.check_invariants_deep();
        for (n, id) in ids.iter().enumerate() {
            let seen = n % 3 != 0;
            assert_eq!(index.contains(prefix(id)), seen);
            assert_eq!(index.get(id).map(|e| e.1), (seen && n % 2 == 0).then_some(n as u32));
        }
        assert_eq!(index.len(), ids.len() - ids.len().div_ceil(3));
        assert_eq!(index.live(), (0..2000).filter(|n| n % 3 != 0 && n % 2 == 0).count());
    }

    /// A live entry answers only its exact id: another id with the same prefix is seen but
    /// finds no entry.
    #[test]
    fn live_entries_match_full_ids() {
        let mut index: IdIndex<(MsgId, u8)> = IdIndex::new(3);
        let (a, b) = (id_with_prefix(42, 1), id_with_prefix(42, 2));
        index.insert(prefix(&a));
        index.insert_live((a, 7));
        assert!(index.contains(prefix(&b)));
        assert_eq!((index.get(&a), index.get(&b)), (Some(&(a, 7)), None));
        assert_eq!(index.get_by_prefix(42), Some(&(a, 7)));
        assert_eq!(index.remove_live(42), Some((a, 7)));
        assert!(index.contains(prefix(&a)) && index.get(&a).is_none());
        index.check_invariants_deep();
    }

    /// The prefix table agrees with a B-tree set through inserts and removes, including the
    /// prefix that marks free cells and prefixes that share homes, and halves as it empties.
    #[test]
    fn prefix_table_matches_a_set() {
        let mut table: PrefixTable<()> = PrefixTable::new(0);
        let mut model = BTreeSet::new();
        // n = 0 gives the free marker itself.
        let prefixes: Vec<u64> =
            (0..3000u64).map(|n| (n % 7) << 60 | n).chain([u64::MAX]).collect();
        for &p in &prefixes {
            table.insert(p, ());
            model.insert(p);
        }
        table.check_invariants_deep();
        let full = table.capacity();
        for &p in prefixes.iter().filter(|p| **p % 20 != 1) {
            assert_eq!(table.remove(p), Some(()));
            assert_eq!(table.remove(p), None, "removed twice");
            model.remove(&p);
        }
        table.check_invariants_deep();
        assert!(table.capacity() * 4 <= full, "an emptied table shrinks");
        assert_eq!(table.len(), model.len());
        for &p in &prefixes {
            assert_eq!(table.contains(p), model.contains(&p), "prefix {p:#x}");
        }
    }

    proptest::proptest! {
        /// The listing answers as one ordered map of prefixes would: per bucket (a range of
        /// the map) and as a whole, through inserts and removals spread over a few buckets.
        #[test]
        fn listing_is_an_ordered_map(ops in proptest::collection::vec((0u64..8, 0u64..6, proptest::bool::ANY), 1..300)) {
            let mut listing = Listing::default();
            let mut model = BTreeMap::new();
            for (n, (bucket, low, insert)) in ops.into_iter().enumerate() {
                let p = bucket << 58 | low << 20 | bucket;
                if insert {
                    proptest::prop_assert_eq!(listing.insert(p, n as u32), model.insert(p, n as u32));
                } else {
                    proptest::prop_assert_eq!(listing.remove(p), model.remove(&p));
                }
                proptest::prop_assert_eq!(listing.contains(p), model.contains_key(&p));
            }
            let all: Vec<(u64, u32)> = model.iter().map(|(p, s)| (*p, *s)).collect();
            proptest::prop_assert_eq!(listing.iter().copied().collect::<Vec<_>>(), all);
            for b in 0..BUCKETS {
                let want: Vec<(u64, u32)> =
                    model.iter().filter(|(p, _)| Listing::bucket(**p) == b).map(|(p, s)| (*p, *s)).collect();
                proptest::prop_assert_eq!(listing.in_bucket(b).copied().collect::<Vec<_>>(), want);
            }
        }

        /// Arbitrary inserts and removes of a few prefixes (so that they collide and the free
        /// marker 0 occurs) keep the table equal to a map, with a key that clusters homes.
        #[test]
        fn prefix_table_ops(ops in proptest::collection::vec((0u64..40, proptest::bool::ANY), 1..400)) {
            let mut table: PrefixTable<u32> = PrefixTable::new(0);
            let mut model = BTreeMap::new();
            for (n, (p, insert)) in ops.into_iter().enumerate() {
                let p = p << 58 | (p & 3);
                if insert && !model.contains_key(&p) {
                    table.insert(p, n as u32);
                    model.insert(p, n as u32);
                } else {
                    proptest::prop_assert_eq!(table.remove(p), model.remove(&p));
                }
                table.check_invariants_deep();
                proptest::prop_assert_eq!(table.len(), model.len());
                for q in 0..40u64 {
                    let q = q << 58 | (q & 3);
                    proptest::prop_assert_eq!(table.get(q), model.get(&q).copied());
                }
            }
        }
    }

    /// A memoized id equals the hashed one, for repeated and for different payloads.
    #[test]
    fn id_memo_agrees_with_hashing() {
        let mut memo = IdMemo::new();
        let a = Bytes::from_static(b"payload a");
        let b = Bytes::copy_from_slice(b"payload a");
        for _ in 0..2 {
            assert_eq!(memo.id(Topic::Hare, &a), message_id(Topic::Hare, &a));
            assert_eq!(memo.id(Topic::Atx, &a), message_id(Topic::Atx, &a));
            assert_eq!(memo.id(Topic::Hare, &b.slice(1..)), message_id(Topic::Hare, &b[1..]));
        }
    }

    /// The listing is in id order, per bucket, and forgets unlisted ids.
    #[test]
    fn listing_in_id_order() {
        let mut index: IdIndex<(MsgId, ())> = IdIndex::new(7);
        let ids: Vec<MsgId> = [5u64, 1, 9, 3].iter().map(|p| id_with_prefix(*p, 0)).collect();
        for id in &ids {
            index.insert(prefix(id));
            index.insert_live((*id, ()));
            index.set_listed(id, true);
        }
        index.set_listed(&ids[2], false);
        index.remove_live(prefix(&ids[2]));
        let listed: Vec<MsgId> = index.listed_in_bucket(0).copied().collect();
        assert_eq!(listed, vec![ids[1], ids[3], ids[0]]);
        assert_eq!(index.listed_in_bucket(1).count(), 0);
        index.check_invariants_deep();
    }
}

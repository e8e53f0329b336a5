//! The id index of the seen cache: message ids to their entries, by 8-byte id prefix.
//!
//! Every received message and every id of every IHAVE costs one lookup here, in a cache as
//! large as the number of messages seen lately, once per node: that lookup was the largest cost
//! of a large simulation, first with whole ids in a B-tree and then with prefixes in one (a
//! B-tree search is a chain of dependent cache misses). Lookups now go through an
//! open-addressing table (linear probing, backward-shift deletion) whose cells hold only the
//! prefix and a slab slot: one cache miss in the common case. The table is never iterated, so its
//! layout cannot leak into behaviour; the only ordered view, the reconciled retained ids that
//! anti-entropy lists by bucket, is kept in a B-tree of its own (far fewer ids: retained,
//! reconciled topics only).
//!
//! Two different ids with one prefix can only come from a sender grinding about 2^32 hashes
//! against its own messages (hitting a given id's prefix takes 2^64): the later one is then
//! treated as already seen and dropped, which only hurts that sender. Table positions are mixed
//! with a per-node secret key, so a sender cannot grind ids into one probe chain either.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::message::{MsgId, Topic, bucket_of, message_id};

/// The first eight bytes of an id, big-endian, so that key order is id order.
pub(super) fn prefix(id: &MsgId) -> u64 {
    u64::from_be_bytes(id.0[..8].try_into().expect("8 bytes"))
}

/// A free cell of the table.
const EMPTY: u32 = u32::MAX;
/// The smallest table (cells); a power of two.
const CELLS_MIN: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Cell {
    prefix: u64,
    slot: u32,
}

const FREE_CELL: Cell = Cell { prefix: 0, slot: EMPTY };

/// Prefixes to slab slots, in an open-addressing table at most three quarters full.
#[derive(Debug)]
struct PrefixTable {
    cells: Vec<Cell>,
    len: usize,
    /// 64 minus log2 of the cell count: a position is the top bits of the mixed prefix.
    shift: u32,
    key: u64,
}

impl PrefixTable {
    fn new(key: u64) -> Self {
        PrefixTable {
            cells: vec![FREE_CELL; CELLS_MIN],
            len: 0,
            shift: 64 - CELLS_MIN.trailing_zeros(),
            key,
        }
    }

    fn mask(&self) -> usize {
        self.cells.len() - 1
    }

    /// Fibonacci hashing of the keyed prefix.
    fn home(&self, prefix: u64) -> usize {
        ((prefix ^ self.key).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The cell holding `prefix`, if any.
    fn find(&self, prefix: u64) -> Option<usize> {
        let mask = self.mask();
        let mut i = self.home(prefix);
        loop {
            let cell = self.cells[i];
            if cell.slot == EMPTY {
                return None;
            }
            if cell.prefix == prefix {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    fn get(&self, prefix: u64) -> Option<u32> {
        self.find(prefix).map(|i| self.cells[i].slot)
    }

    /// Inserts a prefix that is not present.
    fn insert(&mut self, prefix: u64, slot: u32) {
        debug_assert_ne!(slot, EMPTY);
        if (self.len + 1) * 4 > self.cells.len() * 3 {
            self.grow();
        }
        let mask = self.mask();
        let mut i = self.home(prefix);
        while self.cells[i].slot != EMPTY {
            debug_assert_ne!(self.cells[i].prefix, prefix, "prefix already indexed");
            i = (i + 1) & mask;
        }
        self.cells[i] = Cell { prefix, slot };
        self.len += 1;
    }

    /// Removes a prefix; returns its slot.
    fn remove(&mut self, prefix: u64) -> Option<u32> {
        let mut hole = self.find(prefix)?;
        let slot = self.cells[hole].slot;
        let mask = self.mask();
        // Backward shift: pull later cells of the probe run into the hole when the hole lies
        // between their home and their cell, so that no lookup meets a gap before its cell.
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let cell = self.cells[j];
            if cell.slot == EMPTY {
                break;
            }
            let home = self.home(cell.prefix);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.cells[hole] = cell;
                hole = j;
            }
        }
        self.cells[hole] = FREE_CELL;
        self.len -= 1;
        Some(slot)
    }

    fn grow(&mut self) {
        let cells = self.cells.len() * 2;
        let old = std::mem::replace(&mut self.cells, vec![FREE_CELL; cells]);
        self.shift -= 1;
        self.len = 0;
        for cell in old.into_iter().filter(|c| c.slot != EMPTY) {
            self.insert(cell.prefix, cell.slot);
        }
    }
}

/// Ids to entries: a prefix table pointing into a slab, plus the ordered listing.
#[derive(Debug)]
pub(super) struct IdIndex<E> {
    table: PrefixTable,
    slab: Vec<Option<(MsgId, E)>>,
    free: Vec<u32>,
    /// Prefixes of the listed ids (retained, of reconciled topics), in id order.
    listed: BTreeMap<u64, u32>,
}

impl<E> IdIndex<E> {
    /// An empty index; `key` mixes table positions (a per-node secret).
    pub(super) fn new(key: u64) -> Self {
        IdIndex {
            table: PrefixTable::new(key),
            slab: Vec::new(),
            free: Vec::new(),
            listed: BTreeMap::new(),
        }
    }

    pub(super) fn contains_prefix(&self, id: &MsgId) -> bool {
        self.table.find(prefix(id)).is_some()
    }

    fn slot(&self, id: &MsgId) -> Option<usize> {
        let slot = self.table.get(prefix(id))? as usize;
        let (full, _) = self.slab[slot].as_ref().expect("indexed slot is live");
        (full == id).then_some(slot)
    }

    pub(super) fn get(&self, id: &MsgId) -> Option<&E> {
        self.slot(id).map(|s| &self.slab[s].as_ref().expect("live").1)
    }

    pub(super) fn get_mut(&mut self, id: &MsgId) -> Option<&mut E> {
        let s = self.slot(id)?;
        Some(&mut self.slab[s].as_mut().expect("live").1)
    }

    /// The id and entry under `prefix`.
    pub(super) fn get_by_prefix_mut(&mut self, prefix: u64) -> Option<(MsgId, &mut E)> {
        let slot = self.table.get(prefix)? as usize;
        let (id, e) = self.slab[slot].as_mut().expect("indexed slot is live");
        Some((*id, e))
    }

    /// Removes the unlisted id under `prefix`; returns it with its entry.
    pub(super) fn remove_by_prefix(&mut self, prefix: u64) -> Option<(MsgId, E)> {
        let slot = self.table.remove(prefix)?;
        debug_assert!(!self.listed.contains_key(&prefix), "removing a listed id");
        self.free.push(slot);
        self.slab[slot as usize].take()
    }

    /// Inserts an id whose prefix is not present.
    pub(super) fn insert(&mut self, id: MsgId, entry: E) {
        let item = Some((id, entry));
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = item;
                s
            }
            None => {
                self.slab.push(item);
                u32::try_from(self.slab.len() - 1).expect("slab below u32::MAX")
            }
        };
        self.table.insert(prefix(&id), slot);
    }

    /// Adds a present id to the ordered listing, or takes it out.
    pub(super) fn set_listed(&mut self, id: &MsgId, listed: bool) {
        let slot = self.slot(id).expect("listing a present id") as u32;
        if listed {
            let old = self.listed.insert(prefix(id), slot);
            debug_assert!(old.is_none(), "listed twice");
        } else {
            let old = self.listed.remove(&prefix(id));
            debug_assert_eq!(old, Some(slot), "unlisting an unlisted id");
        }
    }

    pub(super) fn len(&self) -> usize {
        self.table.len
    }

    /// Listed ids of bucket `index`, in id order.
    pub(super) fn listed_in_bucket(&self, index: usize) -> impl Iterator<Item = &MsgId> + '_ {
        self.listed
            .range(((index as u64) << 2) << 56..)
            .map(|(_, s)| &self.slab[*s as usize].as_ref().expect("listed slot is live").0)
            .take_while(move |id| bucket_of(id) == index)
    }

    /// Listed ids, in id order.
    pub(super) fn listed(&self) -> impl Iterator<Item = &MsgId> + '_ {
        self.listed.values().map(|s| &self.slab[*s as usize].as_ref().expect("live").0)
    }

    /// Every entry, in slab order (for recounts: the order carries no meaning).
    pub(super) fn entries(&self) -> impl Iterator<Item = (&MsgId, &E)> + '_ {
        self.slab.iter().flatten().map(|(id, e)| (id, e))
    }

    /// Linear-time consistency of table, slab and listing.
    pub(super) fn check_invariants_deep(&self) {
        let live = self.slab.iter().flatten().count();
        assert_eq!(live, self.table.len, "slab and table disagree");
        assert_eq!(live + self.free.len(), self.slab.len(), "free list leaks slots");
        for (slot, item) in self.slab.iter().enumerate() {
            if let Some((id, _)) = item {
                assert_eq!(self.table.get(prefix(id)), Some(slot as u32), "slot not indexed");
            }
        }
        for (p, s) in &self.listed {
            let (id, _) = self.slab[*s as usize].as_ref().expect("listed slot is live");
            assert_eq!(prefix(id), *p, "listing points at another id");
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
#[derive(Debug)]
pub(super) struct IdMemo {
    slots: Vec<Option<(Bytes, Topic, MsgId)>>,
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
        if let Some((cached, t, id)) = &self.slots[at] {
            if cached.as_ptr() == data.as_ptr() && cached.len() == data.len() && *t == topic {
                debug_assert_eq!(*id, message_id(topic, data));
                return *id;
            }
        }
        let id = message_id(topic, data);
        self.slots[at] = Some((data.clone(), topic, id));
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_with_prefix(p: u64, tail: u8) -> MsgId {
        let mut b = [tail; 32];
        b[..8].copy_from_slice(&p.to_be_bytes());
        MsgId::from(b)
    }

    /// Inserting and removing many ids in mixed order keeps every remaining id findable, with
    /// prefixes chosen to share table homes (a zero key and equal low bits).
    #[test]
    fn insert_remove_keeps_lookups_exact() {
        let mut index: IdIndex<u32> = IdIndex::new(0);
        let ids: Vec<MsgId> = (0..2000u64).map(|n| id_with_prefix(n << 40 | n, n as u8)).collect();
        for (n, id) in ids.iter().enumerate() {
            index.insert(*id, n as u32);
        }
        for id in ids.iter().step_by(3) {
            assert!(index.remove_by_prefix(prefix(id)).is_some());
        }
        index.check_invariants_deep();
        for (n, id) in ids.iter().enumerate() {
            let present = n % 3 != 0;
            assert_eq!(index.contains_prefix(id), present);
            assert_eq!(index.get(id).copied(), present.then_some(n as u32));
        }
        assert_eq!(index.len(), ids.len() - ids.len().div_ceil(3));
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
        let mut index: IdIndex<()> = IdIndex::new(7);
        let ids: Vec<MsgId> = [5u64, 1, 9, 3].iter().map(|p| id_with_prefix(*p, 0)).collect();
        for id in &ids {
            index.insert(*id, ());
            index.set_listed(id, true);
        }
        index.set_listed(&ids[2], false);
        index.remove_by_prefix(prefix(&ids[2]));
        let listed: Vec<MsgId> = index.listed_in_bucket(0).copied().collect();
        assert_eq!(listed, vec![ids[1], ids[3], ids[0]]);
        assert_eq!(index.listed_in_bucket(1).count(), 0);
        index.check_invariants_deep();
    }
}

//! The event queue: a calendar queue of `(time, seq)`-ordered events.
//!
//! Every event gets a sequence number at insertion, so events at equal times pop in insertion
//! order and the order depends on nothing but the sequence of pushes.
//!
//! A discrete-event simulation inserts most events a little ahead of now (message latencies,
//! short timers) and pops them in time order. A single binary heap over all pending events turns
//! that into random memory accesses across the whole heap, which dominate the cost per event once
//! the heap outgrows the cache (tens of thousands of pending events). A calendar queue splits
//! the near future into fixed-width buckets: pushing appends to a bucket (sequential memory),
//! and only the *current* bucket is a heap, small enough to stay in L1. Events beyond the ring's
//! horizon wait in an overflow heap and move into the ring as it advances. Bucket width only
//! affects speed, never order: every structure orders by `(time, seq)`.
//!
//! A bucket is a list of fixed-size chunks drawn from a pool that the drained buckets refill.
//! Traffic is bursty (a round of a thousand nodes lands in a few buckets), and a bucket that was a
//! growing vector reallocated and copied itself a dozen times per burst, onto fresh pages each
//! time: with chunks, an event is written once into the ring and copied once into the current
//! heap, whose buffer the queue keeps.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// Width of a bucket in microseconds.
const BUCKET_US: u64 = 1_000;
/// Buckets in the ring: the ring covers the next 256 ms; later events wait in the overflow heap.
const BUCKETS: u64 = 256;
/// Events per chunk of a bucket.
const CHUNK: usize = 256;

struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, because `BinaryHeap` is a max-heap and the earliest `(time, seq)` must come
    /// out first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.time.cmp(&self.time).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A priority queue of events ordered by `(time, insertion order)`.
pub(crate) struct EventQueue<E> {
    /// Events of bucket `cur` and any earlier ones (pushed after the ring moved past them).
    current: BinaryHeap<Entry<E>>,
    /// Unordered events of buckets `cur + 1 .. cur + BUCKETS`, at index `bucket % BUCKETS`: each
    /// a list of chunks of at most [`CHUNK`] events (all full but the last).
    ring: Vec<Vec<Vec<Entry<E>>>>,
    /// Empty chunks (capacity [`CHUNK`]) for the ring to fill.
    spare: Vec<Vec<Entry<E>>>,
    /// Events beyond the ring.
    overflow: BinaryHeap<Entry<E>>,
    /// Absolute number of the current bucket.
    cur: u64,
    ring_len: usize,
    len: usize,
    next_seq: u64,
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.len)
            .field("bucket", &self.cur)
            .finish_non_exhaustive()
    }
}

fn bucket_of(time: SimTime) -> u64 {
    time.0 / BUCKET_US
}

impl<E> EventQueue<E> {
    pub(crate) fn new() -> Self {
        EventQueue {
            current: BinaryHeap::new(),
            ring: (0..BUCKETS).map(|_| Vec::new()).collect(),
            spare: Vec::new(),
            overflow: BinaryHeap::new(),
            cur: 0,
            ring_len: 0,
            len: 0,
            next_seq: 0,
        }
    }

    /// Queues `event` at `time`.
    pub(crate) fn push(&mut self, time: SimTime, event: E) {
        let entry = Entry { time, seq: self.next_seq, event };
        self.next_seq += 1;
        self.len += 1;
        self.place(entry);
    }

    /// Files an entry in the current heap, the ring or the overflow by its bucket.
    fn place(&mut self, entry: Entry<E>) {
        let b = bucket_of(entry.time);
        if b <= self.cur {
            self.current.push(entry);
        } else if b < self.cur + BUCKETS {
            let bucket = &mut self.ring[(b % BUCKETS) as usize];
            if bucket.last().is_none_or(|c| c.len() == CHUNK) {
                bucket.push(self.spare.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK)));
            }
            bucket.last_mut().expect("a chunk with room").push(entry);
            self.ring_len += 1;
        } else {
            self.overflow.push(entry);
        }
    }

    /// Removes the earliest event if it is due at or before `bound`.
    pub(crate) fn pop_until(&mut self, bound: SimTime) -> Option<(SimTime, E)> {
        if !self.fill_current() || self.current.peek().is_some_and(|e| e.time > bound) {
            return None;
        }
        let e = self.current.pop().expect("filled");
        self.len -= 1;
        Some((e.time, e.event))
    }

    /// Removes the earliest event.
    #[cfg(test)]
    pub(crate) fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_until(SimTime::MAX)
    }

    /// Advances the ring until the current heap holds the earliest events; false if empty.
    fn fill_current(&mut self) -> bool {
        while self.current.is_empty() {
            if self.len == 0 {
                return false;
            }
            self.cur = if self.ring_len == 0 {
                // Nothing in the ring: jump straight to the overflow's first bucket.
                let first = self.overflow.peek().expect("events are somewhere");
                bucket_of(first.time).max(self.cur + 1)
            } else {
                self.cur + 1
            };
            // The bucket's chunks go into the spent heap's buffer, which then becomes the
            // current heap in place (heapify is linear); the emptied chunks go back to the pool.
            let slot = (self.cur % BUCKETS) as usize;
            let mut due = std::mem::take(&mut self.current).into_vec();
            debug_assert!(due.is_empty());
            for mut chunk in self.ring[slot].drain(..) {
                self.ring_len -= chunk.len();
                due.append(&mut chunk);
                self.spare.push(chunk);
            }
            self.current = BinaryHeap::from(due);
            self.trim_spare();
            self.admit_overflow();
        }
        true
    }

    /// Drops spare chunks beyond what the pending events could fill plus one per bucket, so that
    /// memory kept after a burst stays proportional to the events still queued.
    fn trim_spare(&mut self) {
        let keep = self.ring_len / CHUNK + BUCKETS as usize;
        self.spare.truncate(keep);
    }

    /// Moves overflow events that the advanced ring now covers into it.
    fn admit_overflow(&mut self) {
        while self.overflow.peek().is_some_and(|e| bucket_of(e.time) < self.cur + BUCKETS) {
            let e = self.overflow.pop().expect("peeked");
            self.place(e);
        }
    }

    /// The time of the earliest event.
    pub(crate) fn peek_time(&self) -> Option<SimTime> {
        if let Some(e) = self.current.peek() {
            return Some(e.time);
        }
        if self.ring_len > 0 {
            let next = (1..BUCKETS)
                .map(|i| &self.ring[((self.cur + i) % BUCKETS) as usize])
                .find(|b| !b.is_empty());
            return next.and_then(|b| b.iter().flatten().map(|e| e.time).min());
        }
        self.overflow.peek().map(|e| e.time)
    }

    /// Number of queued events.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the queue's buffers (capacity, not length), for memory reports.
    pub(crate) fn heap_bytes(&self) -> usize {
        let chunks = self.ring.iter().flatten().chain(&self.spare);
        let entries = self.current.capacity()
            + self.overflow.capacity()
            + chunks.map(Vec::capacity).sum::<usize>();
        let lists = self.ring.iter().map(Vec::capacity).sum::<usize>() + self.spare.capacity();
        entries * size_of::<Entry<E>>()
            + lists * size_of::<Vec<Entry<E>>>()
            + self.ring.capacity() * size_of::<Vec<Vec<Entry<E>>>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Events pop by time, and equal times pop in insertion order.
    #[test]
    fn time_then_insertion_order() {
        let mut q = EventQueue::new();
        for (t, e) in [(5, 'a'), (1, 'b'), (5, 'c'), (1, 'd'), (3, 'e'), (5, 'f')] {
            q.push(SimTime(t), e);
        }
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'e', 'a', 'c', 'f']);
        assert!(q.pop().is_none() && q.peek_time().is_none());
    }

    // Events far beyond the ring, and events pushed behind an advanced ring, keep their order.
    #[test]
    fn far_and_late_events() {
        let mut q = EventQueue::new();
        q.push(SimTime::from_secs(3_600), "far");
        q.push(SimTime::MAX, "never");
        q.push(SimTime(10), "soon");
        assert_eq!(q.peek_time(), Some(SimTime(10)));
        assert_eq!(q.pop(), Some((SimTime(10), "soon")));
        assert_eq!(q.peek_time(), Some(SimTime::from_secs(3_600)));
        assert!(q.pop_until(SimTime::from_secs(1)).is_none(), "not due yet");
        // The ring may have moved on; an event earlier than its current bucket still comes first.
        q.push(SimTime::from_secs(2), "late");
        assert_eq!(q.pop(), Some((SimTime::from_secs(2), "late")));
        assert_eq!(q.pop(), Some((SimTime::from_secs(3_600), "far")));
        assert_eq!(q.pop(), Some((SimTime::MAX, "never")));
        assert_eq!((q.pop(), q.len(), q.peek_time()), (None, 0, None));
        assert!(q.heap_bytes() > 0);
    }

    // Bursts larger than a chunk into a few buckets, mixed with sparse far events, come out in
    // order, and the chunks they took are handed back to the pool and reused.
    #[test]
    fn bursts_span_chunks() {
        let mut q = EventQueue::new();
        let mut reference = Vec::new();
        for round in 0..3u64 {
            let base = SimTime::from_secs(round);
            for i in 0..(3 * CHUNK as u64 + 7) {
                // Three buckets of a burst, and every 50th event a sparse one further out.
                let t = if i % 50 == 0 {
                    base + crate::time::SimDuration(200_000 + i * 97)
                } else {
                    base + crate::time::SimDuration(2_000 + (i % 3) * 1_000)
                };
                let e = round * 10_000 + i;
                q.push(t, e);
                reference.push((t, e));
            }
            reference.sort_by_key(|r| r.0);
            let half = reference.len() / 2;
            for _ in 0..half {
                assert_eq!(q.pop(), Some(reference.remove(0)));
            }
            assert!(!q.spare.is_empty(), "drained chunks are kept for reuse");
        }
        while let Some(popped) = q.pop() {
            assert_eq!(popped, reference.remove(0));
        }
        assert!(reference.is_empty() && q.len() == 0);
        assert!(
            q.spare.len() <= BUCKETS as usize,
            "spare chunks are trimmed to the pending events"
        );
    }

    // Random pushes and pops come out exactly in (time, insertion) order, like a sorted list.
    #[test]
    fn matches_a_sorted_reference() {
        let mut rng = crate::rng::RngTree::new(9).workload();
        let mut q = EventQueue::new();
        let mut reference: Vec<(SimTime, u64)> = Vec::new();
        let mut now = SimTime::ZERO;
        for i in 0..20_000u64 {
            if crate::rng::below(&mut rng, 3) > 0 {
                // Mostly near (same bucket, the ring), sometimes far (the overflow).
                let span = if crate::rng::below(&mut rng, 10) == 0 { 1_000_000 } else { 3_000 };
                let t = now + crate::time::SimDuration(crate::rng::below(&mut rng, span));
                q.push(t, i);
                reference.push((t, i));
            } else if let Some((t, e)) = q.pop() {
                // Stable sort keeps insertion order among equal times.
                reference.sort_by_key(|r| r.0);
                assert_eq!((t, e), reference.remove(0));
                assert_eq!(q.len(), reference.len());
                now = t;
            }
        }
        while let Some(popped) = q.pop() {
            reference.sort_by_key(|r| r.0);
            assert_eq!(popped, reference.remove(0));
        }
        assert!(reference.is_empty());
    }
}

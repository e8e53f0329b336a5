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
//! and only the *current* bucket is ordered: sorted once when the ring reaches it (a sort of
//! contiguous entries, cheaper than a heap's scattered sift per pop), with a small heap beside
//! it for events pushed into it afterwards (a node's own follow-ups). Events beyond the ring's
//! horizon wait in an overflow heap and move into the ring as it advances. Bucket width only
//! affects speed, never order: every structure orders by `(time, seq)`.
//!
//! A bucket is a list of fixed-size chunks drawn from a pool that the drained buckets refill.
//! Traffic is bursty (a round of a thousand nodes lands in a few buckets), and a bucket that was a
//! growing vector reallocated and copied itself a dozen times per burst, onto fresh pages each
//! time: with chunks, an event is written once into the ring and copied once into the current
//! bucket, whose buffer the queue keeps.
//!
//! **Windowed order** (optional, [`EventQueue::windowed`]): time is cut into windows of `W`
//! microseconds, window `k` holding the times in `((k - 1) * W, k * W]`, and a window's events pop
//! node by node (ascending node index), each node's in `(time, seq)` order; windows pop in time
//! order. Nodes of a large simulation each keep megabytes of state, and in plain time order
//! every event lands on a different node's cold state; node by node, a node's events of one
//! window run back to back on warm state. It is the same simulation as long as no event of a
//! window is caused by another node's event of that window, which the engine guarantees by
//! moving such events to the next window (see [`crate::engine::SimConfig::window`]). The
//! buckets are then the windows.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// Width of a bucket in microseconds, in time order.
const BUCKET_US: u64 = 1_000;
/// Most buckets in the ring, and the span it covers: in time order 256 buckets of 1 ms; in
/// windowed order as many windows as fit in 256 ms, rounded down to a power of two (32 windows
/// of 5 ms; a ring of 256 of them, 1.28 s, peaked 78 MiB higher in a 1,000-node run). Later
/// events wait in the overflow heap.
const BUCKETS: u64 = 256;
const RING_SPAN_US: u64 = 256_000;
/// Events per chunk of a bucket.
const CHUNK: usize = 256;

struct Entry<E> {
    /// In windowed order, the window above 32 bits and the node below; 0 in time order.
    group: u64,
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn key(&self) -> (u64, SimTime, u64) {
        (self.group, self.time, self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, because `BinaryHeap` is a max-heap and the earliest `(group, time, seq)` must
    /// come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// A priority queue of events ordered by `(time, insertion order)`, or in windowed order.
pub(crate) struct EventQueue<E> {
    /// Events of bucket `cur` when the ring reached it, sorted so that the next to pop is last.
    current: Vec<Entry<E>>,
    /// Events of bucket `cur` or earlier pushed after the ring reached it.
    late: BinaryHeap<Entry<E>>,
    /// Unordered events of buckets `cur + 1 .. cur + buckets`, at index `bucket % buckets`: each
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
    /// Bucket width in microseconds (the window, in windowed order).
    width: u64,
    /// Whether events pop in windowed order.
    windowed: bool,
    /// Buckets in the ring (a power of two, at most [`BUCKETS`]).
    buckets: u64,
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.len)
            .field("bucket", &self.cur)
            .finish_non_exhaustive()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue in `(time, seq)` order.
    pub(crate) fn new() -> Self {
        Self::with_order(BUCKET_US, false)
    }

    /// An empty queue in windowed order with windows of `window_us` microseconds (at least 1).
    pub(crate) fn windowed(window_us: u64) -> Self {
        Self::with_order(window_us.max(1), true)
    }

    fn with_order(width: u64, windowed: bool) -> Self {
        let fit = (RING_SPAN_US / width).clamp(1, BUCKETS);
        // A power of two, so that `bucket % buckets` is a mask.
        let buckets = if fit.is_power_of_two() { fit } else { fit.next_power_of_two() / 2 };
        EventQueue {
            current: Vec::new(),
            late: BinaryHeap::new(),
            ring: (0..buckets).map(|_| Vec::new()).collect(),
            spare: Vec::new(),
            overflow: BinaryHeap::new(),
            cur: 0,
            ring_len: 0,
            len: 0,
            next_seq: 0,
            width,
            windowed,
            buckets,
        }
    }

    /// Whether events pop in windowed order.
    pub(crate) fn is_windowed(&self) -> bool {
        self.windowed
    }

    /// The window in microseconds in windowed order, 0 in time order.
    pub(crate) fn window_us(&self) -> u64 {
        if self.windowed { self.width } else { 0 }
    }

    /// Every queued event in `(time, seq)` order, whatever the queue's order: pushed in this
    /// order into another queue, equal times keep the order they were first pushed in.
    pub(crate) fn into_events(self) -> Vec<(SimTime, E)> {
        let mut all: Vec<Entry<E>> = self.current;
        all.extend(self.late);
        all.extend(self.ring.into_iter().flatten().flatten());
        all.extend(self.overflow);
        all.sort_unstable_by_key(|e| (e.time, e.seq));
        all.into_iter().map(|e| (e.time, e.event)).collect()
    }

    /// The bucket of `time`: in windowed order its window, whose last microsecond is
    /// `window * width`.
    fn bucket_of(&self, time: SimTime) -> u64 {
        if self.windowed { time.0.div_ceil(self.width) } else { time.0 / self.width }
    }

    /// The first time of the window after the one holding `time` (windowed order).
    pub(crate) fn next_window_start(&self, time: SimTime) -> SimTime {
        SimTime(self.bucket_of(time).saturating_mul(self.width).saturating_add(1))
    }

    /// Queues `event` at `time`.
    #[cfg(test)]
    pub(crate) fn push(&mut self, time: SimTime, event: E) {
        self.push_for(time, 0, event);
    }

    /// Queues `event` at `time` for node `node` (`u32::MAX` for none: it then pops after every
    /// node's events of its window).
    pub(crate) fn push_for(&mut self, time: SimTime, node: u32, event: E) {
        let group = if self.windowed {
            // Windows past 2^32 - 1 (beyond any run) share the last group, in time order.
            match u32::try_from(self.bucket_of(time)) {
                Ok(w) if w < u32::MAX => u64::from(w) << 32 | u64::from(node),
                _ => u64::from(u32::MAX) << 32,
            }
        } else {
            0
        };
        let entry = Entry { group, time, seq: self.next_seq, event };
        self.next_seq += 1;
        self.len += 1;
        self.place(entry);
    }

    /// Files an entry in the current bucket, the ring or the overflow by its bucket.
    fn place(&mut self, entry: Entry<E>) {
        let b = self.bucket_of(entry.time);
        if b <= self.cur {
            self.late.push(entry);
        } else if b - self.cur < self.buckets {
            let bucket = &mut self.ring[(b % self.buckets) as usize];
            if bucket.last().is_none_or(|c| c.len() == CHUNK) {
                bucket.push(self.spare.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK)));
            }
            bucket.last_mut().expect("a chunk with room").push(entry);
            self.ring_len += 1;
        } else {
            self.overflow.push(entry);
        }
    }

    /// Removes the first event in the queue's order that is due at or before `bound`.
    pub(crate) fn pop_until(&mut self, bound: SimTime) -> Option<(SimTime, E)> {
        if !self.fill_current() {
            return None;
        }
        let e = if self.head().is_some_and(|e| e.time > bound) {
            // In time order nothing is due. In windowed order, a bound inside the current
            // window may leave events due behind a later one of a lower node.
            if !self.windowed {
                return None;
            }
            self.pop_due_in_window(bound)?
        } else if self.late_first() {
            self.late.pop().expect("a late head")
        } else {
            self.current.pop().expect("filled")
        };
        self.len -= 1;
        Some((e.time, e.event))
    }

    /// Whether the next event to pop is the late heap's (`Ord` is reversed: greater pops first).
    fn late_first(&self) -> bool {
        match (self.late.peek(), self.current.last()) {
            (Some(l), Some(c)) => l > c,
            (late, _) => late.is_some(),
        }
    }

    /// The next event to pop of the current bucket.
    fn head(&self) -> Option<&Entry<E>> {
        if self.late_first() { self.late.peek() } else { self.current.last() }
    }

    /// The first event in windowed order among those of the current bucket due by `bound`,
    /// taken out by a scan (only a bound that cuts a window needs it, once per event before it).
    /// The late heap is merged into the sorted bucket first: the bucket's pop order is then the
    /// reverse of its indices.
    fn pop_due_in_window(&mut self, bound: SimTime) -> Option<Entry<E>> {
        self.current.extend(std::mem::take(&mut self.late).into_vec());
        self.current.sort_unstable();
        let first = (0..self.current.len()).rev().find(|&i| self.current[i].time <= bound)?;
        Some(self.current.remove(first))
    }

    /// Removes the earliest event.
    #[cfg(test)]
    pub(crate) fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_until(SimTime::MAX)
    }

    /// Advances the ring until the current bucket holds the earliest events; false if empty.
    fn fill_current(&mut self) -> bool {
        while self.current.is_empty() && self.late.is_empty() {
            if self.len == 0 {
                return false;
            }
            self.cur = if self.ring_len == 0 {
                // Nothing in the ring: jump straight to the overflow's first bucket.
                let first = self.overflow.peek().expect("events are somewhere");
                self.bucket_of(first.time).max(self.cur.saturating_add(1))
            } else {
                self.cur.saturating_add(1)
            };
            // The bucket's chunks go into the spent bucket's buffer, sorted in place; the
            // emptied chunks go back to the pool. Keys are distinct (every entry has its own
            // sequence number), so the unstable sort gives one order.
            let slot = (self.cur % self.buckets) as usize;
            for mut chunk in self.ring[slot].drain(..) {
                self.ring_len -= chunk.len();
                self.current.append(&mut chunk);
                self.spare.push(chunk);
            }
            self.current.sort_unstable();
            self.trim_spare();
            self.admit_overflow();
        }
        true
    }

    /// Drops spare chunks beyond what the pending events could fill plus one per bucket, so that
    /// memory kept after a burst stays proportional to the events still queued.
    fn trim_spare(&mut self) {
        let keep = self.ring_len / CHUNK + self.buckets as usize;
        self.spare.truncate(keep);
    }

    /// Moves overflow events that the advanced ring now covers into it.
    fn admit_overflow(&mut self) {
        while self
            .overflow
            .peek()
            .is_some_and(|e| self.bucket_of(e.time).saturating_sub(self.cur) < self.buckets)
        {
            let e = self.overflow.pop().expect("peeked");
            self.place(e);
        }
    }

    /// The time of the earliest event.
    pub(crate) fn peek_time(&self) -> Option<SimTime> {
        if self.windowed && !(self.current.is_empty() && self.late.is_empty()) {
            // In windowed order the bucket's first is not always its earliest.
            return self.current.iter().chain(self.late.iter()).map(|e| e.time).min();
        }
        if let Some(e) = self.head() {
            return Some(e.time);
        }
        if self.ring_len > 0 {
            let next = (1..self.buckets)
                .map(|i| &self.ring[(self.cur.wrapping_add(i) % self.buckets) as usize])
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
            + self.late.capacity()
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
            q.spare.len() <= q.buckets as usize,
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

    /// The windowed order's reference: window (`ceil(time / w)`), then node, time, insertion.
    fn windowed_key(w: u64, (t, node, seq): (SimTime, u32, u64)) -> (u64, u32, SimTime, u64) {
        (t.0.div_ceil(w), node, t, seq)
    }

    // In windowed order, random pushes (from the current time on, to random nodes) and pops
    // come out exactly as a list sorted by (window, node, time, insertion) would give them,
    // bounds that cut a window included: a pop up to a bound takes the first event in that
    // order among those due.
    #[test]
    fn windowed_order_matches_a_sorted_reference() {
        for w in [1u64, 700, 5_000] {
            let mut rng = crate::rng::RngTree::new(w).workload();
            let mut q = EventQueue::windowed(w);
            let mut reference: Vec<(SimTime, u32, u64)> = Vec::new();
            let mut now = SimTime::ZERO;
            for i in 0..20_000u64 {
                let r = crate::rng::below(&mut rng, 4);
                if r > 1 {
                    let span =
                        if crate::rng::below(&mut rng, 10) == 0 { 2_000_000 } else { 20_000 };
                    let t = now + crate::time::SimDuration(crate::rng::below(&mut rng, span));
                    let node = crate::rng::below(&mut rng, 8) as u32;
                    q.push_for(t, node, i);
                    reference.push((t, node, i));
                } else {
                    // Half of the pops up to a bound somewhere in the next 10 ms.
                    let bound = if r == 1 {
                        now + crate::time::SimDuration(crate::rng::below(&mut rng, 10_000))
                    } else {
                        SimTime::MAX
                    };
                    reference.sort_by_key(|&e| windowed_key(w, e));
                    let expected = reference.iter().position(|e| e.0 <= bound);
                    let popped = q.pop_until(bound);
                    match expected {
                        Some(p) => {
                            let (t, _, e) = reference.remove(p);
                            assert_eq!(popped, Some((t, e)), "window {w}, bound {bound}");
                            now = now.max(t);
                        }
                        None => assert_eq!(popped, None, "window {w}: nothing is due by {bound}"),
                    }
                    assert_eq!(q.len(), reference.len());
                    assert_eq!(q.peek_time(), reference.iter().map(|e| e.0).min());
                }
            }
            reference.sort_by_key(|&e| windowed_key(w, e));
            for (t, _, e) in reference {
                assert_eq!(q.pop(), Some((t, e)));
            }
            assert_eq!(q.pop(), None);
        }
    }

    // Window `k` ends at `k * w`: the next one starts a microsecond later; an event exactly at
    // a window's end pops with that window's nodes, after a lower node's later events.
    #[test]
    fn windows_end_on_multiples_of_their_width() {
        // The ring spans up to 256 ms in a power of two of buckets.
        let buckets = |q: EventQueue<()>| q.buckets;
        assert_eq!(buckets(EventQueue::new()), 256);
        assert_eq!(buckets(EventQueue::windowed(5_000)), 32);
        assert_eq!(buckets(EventQueue::windowed(700)), 256);
        assert_eq!(buckets(EventQueue::windowed(1_000_000)), 1);
        let mut q = EventQueue::windowed(5_000);
        assert_eq!(q.next_window_start(SimTime(1)), SimTime(5_001));
        assert_eq!(q.next_window_start(SimTime(5_000)), SimTime(5_001));
        assert_eq!(q.next_window_start(SimTime(5_001)), SimTime(10_001));
        q.push_for(SimTime(5_000), 2, "node 2 at the window's end");
        q.push_for(SimTime(4_000), 2, "node 2 earlier");
        q.push_for(SimTime(4_999), 1, "node 1");
        q.push_for(SimTime(5_001), 0, "node 0, next window");
        q.push_for(SimTime(4_500), u32::MAX, "no node: last of its window");
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            [
                "node 1",
                "node 2 earlier",
                "node 2 at the window's end",
                "no node: last of its window",
                "node 0, next window"
            ]
        );
        // Times beyond 2^32 windows share the last group and keep time order.
        let mut q = EventQueue::windowed(1);
        q.push_for(SimTime::MAX, 0, "never");
        q.push_for(SimTime(1 << 40), 5, "far");
        assert_eq!(q.pop(), Some((SimTime(1 << 40), "far")));
        assert_eq!(q.pop(), Some((SimTime::MAX, "never")));
    }
}

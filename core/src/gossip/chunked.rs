//! [`Queue`]: the seen cache's ids in insertion order, in fixed-size chunks.
//!
//! The queue is among the largest per-node state of a large run, and it grows in bursts (an
//! epoch's beacon round brings a message per identity within seconds) and drains as ids expire.
//! As a `VecDeque` that grew by a quarter at a time and shrank when half empty, each growth
//! copied the whole queue to fresh memory, which the kernel first cleared. Chunks never move: an
//! item stays where it was written, only the back chunk is partly empty, and the queue gives
//! back each chunk it has drained.

use std::collections::VecDeque;

/// Items per chunk.
const CHUNK: usize = 256;

/// A first-in first-out queue of `Copy` items in chunks of [`CHUNK`]: pushes at the back,
/// pops at the front, and iteration both ways.
#[derive(Debug)]
pub(super) struct Queue<T> {
    chunks: VecDeque<Vec<T>>,
    /// Items already popped from the front chunk.
    head: usize,
    len: usize,
    /// The last drained chunk, kept for the next push that needs one.
    spare: Option<Vec<T>>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue { chunks: VecDeque::new(), head: 0, len: 0, spare: None }
    }
}

impl<T: Copy> Queue<T> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Items the queue's chunks hold room for.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        (self.chunks.len() + usize::from(self.spare.is_some())) * CHUNK
    }

    pub(super) fn push_back(&mut self, item: T) {
        if self.chunks.back().is_none_or(|c| c.len() == CHUNK) {
            let chunk = self.spare.take().unwrap_or_else(|| Vec::with_capacity(CHUNK));
            self.chunks.push_back(chunk);
        }
        self.chunks.back_mut().expect("a chunk with room").push(item);
        self.len += 1;
    }

    pub(super) fn front(&self) -> Option<&T> {
        (self.len > 0).then(|| &self.chunks[0][self.head])
    }

    pub(super) fn pop_front(&mut self) -> Option<T> {
        let item = *self.front()?;
        self.head += 1;
        self.len -= 1;
        // Only the back chunk can be partly filled, so a drained front chunk is either full or
        // the last one.
        if self.head == self.chunks[0].len() {
            let mut drained = self.chunks.pop_front().expect("a front chunk");
            drained.clear();
            self.spare = Some(drained);
            self.head = 0;
        }
        Some(item)
    }

    /// Every item, front to back (reversible).
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        let head = self.head;
        self.chunks
            .iter()
            .enumerate()
            .flat_map(move |(i, c)| if i == 0 { &c[head..] } else { &c[..] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Pushes and pops in bursts read like a `VecDeque`, both ways, and drained chunks are given
    // back (one spare kept).
    #[test]
    fn queue_matches_a_deque() {
        let mut q = Queue::default();
        let mut model = VecDeque::new();
        let mut n = 0u64;
        for round in 0..6 {
            for _ in 0..(round * 97 + 300) {
                q.push_back(n);
                model.push_back(n);
                n += 1;
            }
            for _ in 0..(round * 89 + 250) {
                assert_eq!(q.pop_front(), model.pop_front());
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.front(), model.front());
            assert!(q.iter().eq(model.iter()));
            assert!(q.iter().rev().take(50).eq(model.iter().rev().take(50)));
            assert!(
                q.capacity() <= (model.len().div_ceil(CHUNK) + 2) * CHUNK,
                "drained chunks are freed"
            );
        }
        while let Some(x) = q.pop_front() {
            assert_eq!(Some(x), model.pop_front());
        }
        assert!(model.is_empty() && q.front().is_none() && q.capacity() <= CHUNK);
    }
}

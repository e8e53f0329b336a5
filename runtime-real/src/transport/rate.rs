//! The per-connection flood limit: a token bucket over inbound frames.

use std::time::Instant;

/// Allows `burst` frames at once and `per_sec` frames per second on average.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub(crate) fn new(per_sec: u32, burst: u32, now: Instant) -> Self {
        assert!(per_sec > 0 && burst > 0, "a bucket that admits nothing");
        let burst = f64::from(burst);
        TokenBucket { per_sec: f64::from(per_sec), burst, tokens: burst, last: now }
    }

    /// Takes a token for one frame arriving at `now`; false when the bucket is empty.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A full bucket admits exactly its burst at one instant, then refills at the rate.
    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10, 5, t0);
        assert_eq!((0..10).filter(|_| bucket.try_take(t0)).count(), 5);
        assert!(!bucket.try_take(t0));
        let t1 = t0 + Duration::from_millis(300);
        assert_eq!((0..10).filter(|_| bucket.try_take(t1)).count(), 3);
        // A long pause refills only up to the burst.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| bucket.try_take(t2)).count(), 5);
    }

    /// Steady traffic at the rate never runs dry.
    #[test]
    fn steady_rate_passes() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(100, 2, t0);
        for i in 1..=1000 {
            assert!(bucket.try_take(t0 + Duration::from_millis(10 * i)), "frame {i}");
        }
    }
}

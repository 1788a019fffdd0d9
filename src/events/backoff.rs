//! The one backoff of every retry loop: waits that double from a first
//! delay up to a cap, optionally with jitter so that many instances do not
//! retry in step, and start over after a success.

use std::time::Duration;

use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    jitter: bool,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            next: first,
            jitter: false,
        }
    }

    /// Adds up to 50% to every delay, at random.
    pub fn with_jitter(mut self) -> Self {
        self.jitter = true;
        self
    }

    /// The next wait, which doubles the one after it (up to the cap).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(self.max);
        if self.jitter {
            let fraction = f64::from(Uuid::new_v4().as_u128() as u16) / f64::from(u16::MAX);
            delay.mul_f64(1.0 + fraction * 0.5)
        } else {
            delay
        }
    }

    /// Starts over from the first delay.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_start_over_after_a_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(300));
        let delays: Vec<_> = (0..4).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 300, 300]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_adds_at_most_half() {
        let cap = Duration::from_secs(10);
        let mut backoff = Backoff::new(Duration::from_millis(100), cap).with_jitter();
        assert!((100..=150).contains(&backoff.next_delay().as_millis()));
        for _ in 0..30 {
            assert!(backoff.next_delay() <= cap.mul_f64(1.5));
        }
    }
}

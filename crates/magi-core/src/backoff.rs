//! How long to wait before trying again: exponential backoff, doubling from a first wait up to a cap, with
//! optional jitter so that clients failing together do not retry together. The alert queue, the health
//! healer and the gateway's upstream retries all wait by this one rule.

use std::time::Duration;

/// Waits of `initial × 2^(attempt−1)`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after `attempt` failures (1-based; 0 counts as 1): `initial`, `2 × initial`, … up to `max`.
    pub fn wait(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        self.initial.saturating_mul(1u32 << exponent).min(self.max)
    }

    /// [`Backoff::wait`] with a random part of up to half taken off, `jitter` in `0..=1` choosing how much
    /// ("equal jitter": never less than half the wait, never more than all of it).
    pub fn jittered(&self, attempt: u32, jitter: f64) -> Duration {
        self.wait(attempt)
            .mul_f64(1.0 - 0.5 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_jitter_takes_up_to_half() {
        let s = Duration::from_secs;
        let b = Backoff {
            initial: s(5),
            max: s(60),
        };
        let waits: Vec<Duration> = (1..=8).map(|a| b.wait(a)).collect();
        assert_eq!(
            waits,
            [s(5), s(10), s(20), s(40), s(60), s(60), s(60), s(60)]
        );
        assert_eq!(b.wait(0), s(5));
        assert_eq!(b.jittered(2, 1.0), s(5));
        assert_eq!(b.jittered(2, 0.5), Duration::from_millis(7500));
        assert_eq!(b.jittered(2, 7.0), s(5), "jitter is clamped");
        assert_eq!(b.wait(u32::MAX), s(60), "no overflow");
        let unbounded = Backoff {
            initial: s(u64::MAX / 2),
            max: Duration::MAX,
        };
        assert_eq!(unbounded.wait(40), Duration::MAX, "saturates");
    }
}

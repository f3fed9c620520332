//! Circuit breakers, one per upstream model: stop sending requests to a model that keeps failing, answer
//! at once instead, and try again carefully.
//!
//! Closed, a breaker counts failures (5xx answers, timeouts, connection errors) within a sliding window;
//! at `failures` it opens. Open, every request is refused at once (503) until `cooldown` has passed; then
//! the next request goes through as the probe (half-open) while the others are still refused. The probe's
//! success closes the breaker; its failure opens it for another cooldown. A probe that never reports (its
//! client went away before an answer) is replaced by another after a cooldown. Pure state: the caller
//! passes the time in, so tests drive it directly.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    pub failures: u32,
    pub window: Duration,
    pub cooldown: Duration,
}

/// The three states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        }
    }

    /// The `/metrics` gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> u8 {
        match self {
            State::Closed => 0,
            State::HalfOpen => 1,
            State::Open => 2,
        }
    }
}

/// One model's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
    failures: VecDeque<Instant>,
    /// When it opened, or when the probe went out.
    since: Instant,
    last_error: Option<String>,
}

/// A request may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Normal,
    /// The half-open probe: its outcome decides.
    Probe,
}

impl Breaker {
    pub fn new(settings: BreakerSettings, now: Instant) -> Breaker {
        Breaker {
            settings,
            state: State::Closed,
            failures: VecDeque::new(),
            since: now,
            last_error: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn failures(&self) -> u32 {
        self.failures.len() as u32
    }

    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Whether a request may go now; when not, how long until a probe may.
    pub fn admit(&mut self, now: Instant) -> Result<Admit, Duration> {
        match self.state {
            State::Closed => Ok(Admit::Normal),
            State::Open | State::HalfOpen => {
                let ready = self.since + self.settings.cooldown;
                if now >= ready {
                    self.state = State::HalfOpen;
                    self.since = now;
                    Ok(Admit::Probe)
                } else {
                    Err(ready - now)
                }
            }
        }
    }

    /// A request got a good answer. Returns the new state if it changed.
    pub fn success(&mut self, now: Instant) -> Option<State> {
        self.failures.clear();
        if self.state == State::Closed {
            return None;
        }
        self.state = State::Closed;
        self.since = now;
        Some(State::Closed)
    }

    /// A request failed with `error`. Returns the new state if it changed.
    pub fn failure(&mut self, now: Instant, error: &str) -> Option<State> {
        self.last_error = Some(error.to_owned());
        match self.state {
            State::Closed => {
                self.failures.push_back(now);
                while self
                    .failures
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(*t) > self.settings.window)
                {
                    self.failures.pop_front();
                }
                if self.failures.len() as u32 >= self.settings.failures {
                    self.state = State::Open;
                    self.since = now;
                    Some(State::Open)
                } else {
                    None
                }
            }
            State::HalfOpen => {
                self.state = State::Open;
                self.since = now;
                Some(State::Open)
            }
            State::Open => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: BreakerSettings = BreakerSettings {
        failures: 3,
        window: Duration::from_secs(10),
        cooldown: Duration::from_secs(5),
    };

    #[test]
    fn opens_at_n_failures_in_the_window_only() {
        let t0 = Instant::now();
        let mut b = Breaker::new(SETTINGS, t0);
        assert_eq!(b.failure(t0, "503"), None);
        assert_eq!(b.failure(t0 + Duration::from_secs(1), "503"), None);
        // The first failure has left the window: still two.
        assert_eq!(b.failure(t0 + Duration::from_secs(11), "503"), None);
        assert_eq!(b.state(), State::Closed);
        assert_eq!(
            b.failure(t0 + Duration::from_secs(11), "timeout"),
            Some(State::Open)
        );
        assert_eq!(
            b.admit(t0 + Duration::from_secs(12)),
            Err(Duration::from_secs(4))
        );
        assert_eq!(b.last_error(), Some("timeout"));
    }

    #[test]
    fn half_open_lets_one_probe_and_its_outcome_decides() {
        let t0 = Instant::now();
        let mut b = Breaker::new(SETTINGS, t0);
        for _ in 0..3 {
            b.failure(t0, "503");
        }
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(b.admit(t1), Ok(Admit::Probe));
        assert_eq!(b.state(), State::HalfOpen);
        assert!(b.admit(t1).is_err(), "one probe at a time");
        assert_eq!(b.failure(t1, "503"), Some(State::Open));
        let t2 = t1 + Duration::from_secs(5);
        assert_eq!(b.admit(t2), Ok(Admit::Probe));
        assert_eq!(b.success(t2), Some(State::Closed));
        assert_eq!(b.admit(t2), Ok(Admit::Normal));
        assert_eq!(b.failures(), 0);
    }
}

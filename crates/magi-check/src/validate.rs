//! Start-up validation: after `docker compose up`, wait until every core service is ready (running, answering
//! its probe, its Docker health check not failing), telling the caller after each round what it still waits
//! for, and give up at the deadline with that list.

use std::time::Duration;

use magi_core::Tier;

use crate::check::{Checker, Report};

/// The pause after the first round; each later pause doubles, up to [`LONGEST_PAUSE`]. A container that
/// has just started answers within a few hundred milliseconds, and a restore's downtime lasts until this
/// notices, so the first rounds come quickly.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// The longest pause between rounds.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// The pause after round `round` (0 for the first).
pub fn pause_after(round: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1 << round.min(16))
        .min(LONGEST_PAUSE)
}

/// A core service that is not ready yet, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub service: String,
    pub reason: String,
}

/// What validation found.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every core service is ready; the report of the last round.
    Ready { report: Report, waited: Duration },
    /// The deadline passed; what was still not ready.
    TimedOut {
        waiting: Vec<Waiting>,
        report: Report,
    },
}

/// The core services of a report that are not ready.
pub fn waiting_for(report: &Report) -> Vec<Waiting> {
    report
        .services
        .iter()
        .filter(|s| s.service.tier == Tier::Core && !s.verdict.is_ready())
        .map(|s| Waiting {
            service: s.service.name.clone(),
            reason: format!("{}: {}", s.verdict.condition, s.verdict.because()),
        })
        .collect()
}

/// Checks the core services, in rounds [`pause_after`] apart, until all are ready or `timeout` has passed;
/// `progress` hears what each round still waits for (only when that changes).
pub async fn validate(
    checker: &Checker,
    timeout: Duration,
    mut progress: impl FnMut(&[Waiting]),
) -> Outcome {
    let started = tokio::time::Instant::now();
    let deadline = started + timeout;
    let core: Vec<String> = checker
        .config()
        .services
        .iter()
        .filter(|s| s.tier == Tier::Core)
        .map(|s| s.name.clone())
        .collect();
    let mut last: Option<Vec<Waiting>> = None;
    let mut round = 0;
    loop {
        let report = checker.check(Some(&core)).await;
        let waiting = waiting_for(&report);
        if waiting.is_empty() {
            return Outcome::Ready {
                report,
                waited: started.elapsed(),
            };
        }
        if last.as_ref() != Some(&waiting) {
            progress(&waiting);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Outcome::TimedOut { waiting, report };
        }
        tokio::time::sleep_until((now + pause_after(round)).min(deadline)).await;
        round = round.saturating_add(1);
        last = Some(waiting);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_start_short_and_double_up_to_a_second() {
        let pauses: Vec<u128> = (0..8).map(|r| pause_after(r).as_millis()).collect();
        assert_eq!(pauses, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(pause_after(u32::MAX), LONGEST_PAUSE);
    }
}

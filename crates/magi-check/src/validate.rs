//! Start-up validation: after `docker compose up`, wait until every core service is ready (running, answering
//! its probe, its Docker health check not failing), telling the caller after each round what it still waits
//! for, and give up at the deadline with that list.

use std::time::Duration;

use magi_core::Tier;

use crate::check::{Checker, Report};

/// How often the stack is checked while waiting.
pub const ROUND: Duration = Duration::from_secs(1);

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

/// Checks the core services every [`ROUND`] until all are ready or `timeout` has passed; `progress` hears what
/// each round still waits for (only when that changes).
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
        tokio::time::sleep_until((now + ROUND).min(deadline)).await;
        last = Some(waiting);
    }
}

//! Error-budget burn rates on the standard multiwindow thresholds (Google's SRE workbook, "Alerting on
//! SLOs"): the budget is burning `factor` times faster than the target allows over both a long window and
//! a short one (the short one makes the alert stop soon after the burning does).
//!
//! | level  | factor | long window | short window | severity |
//! |--------|--------|-------------|--------------|----------|
//! | fast   | 14.4×  | 1 h         | 5 min        | critical (2 % of a 30-day budget in an hour) |
//! | medium | 6×     | 6 h         | 30 min       | critical (5 % in six hours) |
//! | slow   | 1×     | 3 days      | 6 h          | warning (10 % in three days) |
//!
//! The error rate of a window is its down time over its observed (up and down) time: unknown time and
//! maintenance burn nothing. A window with nothing observed is no evidence either way.

use std::time::Duration;

use jiff::Timestamp;
use magi_core::{Event, Severity};

/// One threshold pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub name: &'static str,
    pub factor: f64,
    pub long: Duration,
    pub short: Duration,
    pub severity: Severity,
}

const HOUR: u64 = 3600;

/// The levels, fastest first.
pub const LEVELS: [Level; 3] = [
    Level {
        name: "fast",
        factor: 14.4,
        long: Duration::from_secs(HOUR),
        short: Duration::from_secs(300),
        severity: Severity::Critical,
    },
    Level {
        name: "medium",
        factor: 6.0,
        long: Duration::from_secs(6 * HOUR),
        short: Duration::from_secs(1800),
        severity: Severity::Critical,
    },
    Level {
        name: "slow",
        factor: 1.0,
        long: Duration::from_secs(72 * HOUR),
        short: Duration::from_secs(6 * HOUR),
        severity: Severity::Warning,
    },
];

/// How fast a window burns the budget of `target_percent`: its error rate over the rate the target allows.
pub fn burn_rate(error_rate: Option<f64>, target_percent: f64) -> Option<f64> {
    let allowed = 1.0 - target_percent / 100.0;
    error_rate.map(|e| e / allowed)
}

/// A level's two burn rates, and whether both reach its factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burn {
    pub level: Level,
    pub long: Option<f64>,
    pub short: Option<f64>,
}

impl Burn {
    pub fn firing(&self) -> bool {
        let reaches = |rate: Option<f64>| rate.is_some_and(|r| r >= self.level.factor);
        reaches(self.long) && reaches(self.short)
    }
}

/// Every level's burn for a service whose error rate over the last `window` is `error_rate(window)`.
pub fn evaluate(error_rate: impl Fn(Duration) -> Option<f64>, target_percent: f64) -> Vec<Burn> {
    LEVELS
        .iter()
        .map(|&level| Burn {
            level,
            long: burn_rate(error_rate(level.long), target_percent),
            short: burn_rate(error_rate(level.short), target_percent),
        })
        .collect()
}

/// The `sla.burn` event of a service: at the fastest level firing, or `ok` when none is.
pub fn event(subject: &str, target_percent: f64, burns: &[Burn], at: Timestamp) -> Event {
    let firing = burns.iter().find(|b| b.firing());
    let show = |r: Option<f64>| r.map_or("-".to_owned(), |r| format!("{r:.1}×"));
    let (severity, message) = match firing {
        Some(b) => (
            b.level.severity,
            format!(
                "{subject} is burning its {target_percent} % error budget {} over {} and {} over {} ({} burn, at least {}×)",
                show(b.long),
                crate::report::show_seconds(b.level.long.as_secs_f64()),
                show(b.short),
                crate::report::show_seconds(b.level.short.as_secs_f64()),
                b.level.name,
                b.level.factor
            ),
        ),
        None => (
            Severity::Ok,
            format!("{subject} is within its {target_percent} % error budget's burn rates"),
        ),
    };
    let mut event = Event::new("magi-sla", "sla.burn", subject, severity, message);
    event.ts = at;
    let mut event = event.with("target_percent", target_percent);
    if let Some(b) = firing {
        event = event
            .with("level", b.level.name)
            .with("factor", b.level.factor);
    }
    for b in burns {
        if let Some(r) = b.long {
            event = event.with(
                &format!("burn_{}", b.level.name),
                (r * 100.0).round() / 100.0,
            );
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error rate per window length, from a table of (seconds, rate).
    fn rates(table: &'static [(u64, f64)]) -> impl Fn(Duration) -> Option<f64> {
        move |d| {
            table
                .iter()
                .find(|(s, _)| *s == d.as_secs())
                .map(|(_, r)| *r)
        }
    }

    #[test]
    fn a_fresh_outage_fires_the_fast_level_and_not_the_slow() {
        // Three minutes down just now: 5 % of the last hour, 60 % of the last 5 minutes, 0.07 % of 3 days.
        let burns = evaluate(
            rates(&[
                (3600, 0.05),
                (300, 0.6),
                (21600, 180.0 / 21600.0),
                (1800, 0.1),
                (259_200, 180.0 / 259_200.0),
            ]),
            99.9,
        );
        let firing: Vec<&str> = burns
            .iter()
            .filter(|b| b.firing())
            .map(|b| b.level.name)
            .collect();
        assert_eq!(firing, ["fast", "medium"]);
        let e = event("qdrant", 99.9, &burns, Timestamp::UNIX_EPOCH);
        assert_eq!(
            (e.severity, e.kind.as_str()),
            (Severity::Critical, "sla.burn")
        );
        assert!(e.message.contains("fast burn"), "{}", e.message);
    }

    #[test]
    fn a_steady_trickle_fires_the_slow_level_only() {
        // 0.2 % down all the time: 2× everywhere.
        let burns = evaluate(|_| Some(0.002), 99.9);
        let firing: Vec<&str> = burns
            .iter()
            .filter(|b| b.firing())
            .map(|b| b.level.name)
            .collect();
        assert_eq!(firing, ["slow"]);
        let e = event("qdrant", 99.9, &burns, Timestamp::UNIX_EPOCH);
        assert_eq!(e.severity, Severity::Warning);
    }

    #[test]
    fn an_outage_that_stopped_stops_the_alert_and_nothing_observed_is_no_evidence() {
        // Burning hard over the hour, but the last 5 minutes are clean: the short window holds it back.
        let burns = evaluate(rates(&[(3600, 0.05), (300, 0.0)]), 99.9);
        assert!(!burns[0].firing());
        let burns = evaluate(|_| None, 99.9);
        assert!(burns.iter().all(|b| !b.firing()));
        let e = event("qdrant", 99.9, &burns, Timestamp::UNIX_EPOCH);
        assert_eq!(e.severity, Severity::Ok);
    }
}

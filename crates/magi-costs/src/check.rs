//! Budget thresholds: how far this day's and this month's spend is into each budget, what is news (a
//! threshold crossed for the first time in the period, or a new period back under it), and the
//! `budget.threshold` event that says so. Pure; [`crate::sent`] remembers what was sent.

use jiff::Timestamp;
use jiff::civil::Date;
use magi_core::event::{Event, Severity};
use magi_usage::clock;

/// The kind of the events this module makes (the default `budget` rule of magi-alert matches it).
pub const KIND: &str = "budget.threshold";
/// The share of a budget that gets a warning, in percent.
pub const WARNING_PERCENT: u8 = 80;
/// The share of a budget that gets a critical event, in percent (the gateway refuses requests from here).
pub const REACHED_PERCENT: u8 = 100;

/// The period a budget covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Daily,
    Monthly,
}

impl Window {
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Daily => "daily",
            Window::Monthly => "monthly",
        }
    }

    /// The period holding `now`: its start and the instant it resets.
    pub fn bounds(self, now: Timestamp) -> (Timestamp, Timestamp) {
        match self {
            Window::Daily => (clock::day_start(now), clock::next_day(now)),
            Window::Monthly => (clock::month_start(now), clock::next_month(now)),
        }
    }
}

/// One budget in its current period.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// `None` for the budget of everyone together.
    pub user: Option<String>,
    pub window: Window,
    pub budget_usd: f64,
    pub spent_usd: f64,
    /// The first day of the period.
    pub period: Date,
    pub resets_at: Timestamp,
}

impl Standing {
    /// `daily:ann`, `monthly:everyone`: what the events are about (magi-alert tracks each apart).
    pub fn subject(&self) -> String {
        format!(
            "{}:{}",
            self.window.as_str(),
            self.user.as_deref().unwrap_or("everyone")
        )
    }

    /// The spend as a share of the budget, in percent (a zero budget is fully spent).
    pub fn percent(&self) -> f64 {
        if self.budget_usd > 0.0 {
            self.spent_usd / self.budget_usd * 100.0
        } else {
            f64::from(REACHED_PERCENT)
        }
    }

    /// The highest threshold reached: 0, 80 or 100.
    pub fn threshold(&self) -> u8 {
        let percent = self.percent();
        if percent >= f64::from(REACHED_PERCENT) {
            REACHED_PERCENT
        } else if percent >= f64::from(WARNING_PERCENT) {
            WARNING_PERCENT
        } else {
            0
        }
    }
}

/// What was last sent about a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// The first day of the period it was about.
    pub period: Date,
    /// 80 or 100 for a threshold, 0 for "back under".
    pub threshold: u8,
}

/// What is news about a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The spend crossed this threshold (80 or 100) for the first time in the period.
    Cross(u8),
    /// A threshold was reported, and the spend is now below 80 % (a new period, or a raised budget).
    Clear,
}

/// Whether `standing` is news after `last`: each threshold once per period, the higher one even when the
/// lower was never reported, and one all-clear after a reported threshold.
pub fn decide(standing: &Standing, last: Option<Sent>) -> Option<Step> {
    let threshold = standing.threshold();
    match last {
        _ if threshold == 0 => match last {
            Some(sent) if sent.threshold > 0 => Some(Step::Clear),
            _ => None,
        },
        Some(sent) if sent.period == standing.period && sent.threshold >= threshold => None,
        _ => Some(Step::Cross(threshold)),
    }
}

/// What is remembered once `step` has been sent.
pub fn remembered(standing: &Standing, step: Step) -> Sent {
    Sent {
        period: standing.period,
        threshold: match step {
            Step::Cross(threshold) => threshold,
            Step::Clear => 0,
        },
    }
}

/// The `budget.threshold` event of `step`, stamped `now`.
pub fn event(standing: &Standing, step: Step, now: Timestamp) -> Event {
    let who = standing.user.as_deref().unwrap_or("all users together");
    let window = standing.window.as_str();
    let resets = magi_core::format::minute(standing.resets_at);
    let spent = format!("${:.2} of ${:.2}", standing.spent_usd, standing.budget_usd);
    let (severity, message) = match step {
        Step::Cross(REACHED_PERCENT) => (
            Severity::Critical,
            format!(
                "{who} reached the {window} budget: {spent}; the gateway refuses further requests until {resets}"
            ),
        ),
        Step::Cross(_) => (
            Severity::Warning,
            format!(
                "{who} used {:.0} % of the {window} budget: {spent} (resets {resets})",
                standing.percent().floor()
            ),
        ),
        Step::Clear => (
            Severity::Ok,
            format!("{who} is under the {window} budget again: {spent} (until {resets})"),
        ),
    };
    let mut event = Event::new("magi-costs", KIND, standing.subject(), severity, message)
        .with("user", standing.user.clone())
        .with("window", window)
        .with("period_start", standing.period.to_string())
        .with("resets_at", standing.resets_at.to_string())
        .with("budget_usd", standing.budget_usd)
        .with("spent_usd", standing.spent_usd)
        .with("percent", (standing.percent() * 10.0).round() / 10.0)
        .with("threshold", remembered(standing, step).threshold);
    event.ts = now;
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(spent: f64, period: &str) -> Standing {
        Standing {
            user: Some("ann".into()),
            window: Window::Daily,
            budget_usd: 10.0,
            spent_usd: spent,
            period: period.parse().unwrap(),
            resets_at: "2026-11-25T00:00:00Z".parse().unwrap(),
        }
    }

    fn sent(period: &str, threshold: u8) -> Option<Sent> {
        Some(Sent {
            period: period.parse().unwrap(),
            threshold,
        })
    }

    #[test]
    fn thresholds_are_80_and_100_percent() {
        assert_eq!(standing(7.99, "2026-11-24").threshold(), 0);
        assert_eq!(standing(8.0, "2026-11-24").threshold(), 80);
        assert_eq!(standing(9.99, "2026-11-24").threshold(), 80);
        assert_eq!(standing(10.0, "2026-11-24").threshold(), 100);
        let mut free = standing(0.0, "2026-11-24");
        free.budget_usd = 0.0;
        assert_eq!(free.threshold(), 100);
    }

    #[test]
    fn each_threshold_once_per_period() {
        let day = "2026-11-24";
        assert_eq!(decide(&standing(1.0, day), None), None);
        assert_eq!(decide(&standing(8.5, day), None), Some(Step::Cross(80)));
        assert_eq!(decide(&standing(9.0, day), sent(day, 80)), None);
        assert_eq!(
            decide(&standing(10.5, day), sent(day, 80)),
            Some(Step::Cross(100))
        );
        assert_eq!(decide(&standing(12.0, day), sent(day, 100)), None);
        // Straight past 100 %: only the 100 % event, and no 80 % one after it.
        assert_eq!(decide(&standing(11.0, day), None), Some(Step::Cross(100)));
        // The next day: the thresholds count again.
        assert_eq!(
            decide(&standing(8.0, "2026-11-25"), sent(day, 100)),
            Some(Step::Cross(80))
        );
    }

    #[test]
    fn a_new_period_under_the_threshold_clears_once() {
        let next = "2026-11-25";
        assert_eq!(
            decide(&standing(0.5, next), sent("2026-11-24", 100)),
            Some(Step::Clear)
        );
        assert_eq!(decide(&standing(0.5, next), sent(next, 0)), None);
    }

    #[test]
    fn events_say_who_what_and_until_when() {
        let now = "2026-11-24T12:00:00Z".parse().unwrap();
        let warning = event(&standing(8.5, "2026-11-24"), Step::Cross(80), now);
        assert_eq!(warning.kind, "budget.threshold");
        assert_eq!(warning.subject, "daily:ann");
        assert_eq!(warning.severity, Severity::Warning);
        assert_eq!(
            warning.message,
            "ann used 85 % of the daily budget: $8.50 of $10.00 (resets 2026-11-25 00:00 UTC)"
        );
        assert_eq!(warning.data["threshold"], 80);
        assert_eq!(warning.data["percent"], 85.0);
        assert_eq!(warning.ts, now);
        let mut everyone = standing(10.0, "2026-11-01");
        everyone.user = None;
        everyone.window = Window::Monthly;
        let critical = event(&everyone, Step::Cross(100), now);
        assert_eq!(critical.subject, "monthly:everyone");
        assert_eq!(critical.severity, Severity::Critical);
        assert!(
            critical
                .message
                .starts_with("all users together reached the monthly budget")
        );
        assert_eq!(critical.data["user"], serde_json::Value::Null);
    }
}

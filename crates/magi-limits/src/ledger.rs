//! The ledger: tokens and cost spent today and this month, overall and per user, against the quotas and
//! budgets of the policy.
//!
//! It starts from the usage store (so a restart forgets nothing) and then adds each finished request, so a
//! check costs no query. Days and months are UTC and come from [`magi_usage::clock`]; the counters of a period
//! reset when the clock enters the next one. A request is counted in the period it arrived in, as the usage
//! store counts it. Quotas and budgets are checked before a request goes: one that starts under the limit
//! finishes, and the next is refused with a message a person understands.

use hashbrown::HashMap;
use jiff::Timestamp;

use magi_core::format::thousands;
use magi_usage::clock;
use magi_usage::policy::Snapshot;
use magi_usage::usage::{Spent, UsageError, UsageStore};

#[derive(Debug, Default, Clone)]
struct Period {
    start: Option<Timestamp>,
    total_cost: f64,
    tokens: HashMap<String, u64>,
    cost: HashMap<String, f64>,
}

impl Period {
    fn reset(&mut self, start: Timestamp) {
        *self = Period {
            start: Some(start),
            ..Period::default()
        };
    }

    fn add(&mut self, user: &str, tokens: u64, cost: f64) {
        *self.tokens.entry_ref(user).or_default() += tokens;
        *self.cost.entry_ref(user).or_default() += cost;
        self.total_cost += cost;
    }

    fn load(&mut self, start: Timestamp, rows: Vec<(String, Spent)>) {
        self.reset(start);
        for (user, spent) in rows {
            self.add(&user, spent.tokens, spent.cost_usd);
        }
    }
}

/// Spend of the current day and month.
#[derive(Debug, Default)]
pub struct Ledger {
    day: Period,
    month: Period,
}

impl Ledger {
    /// The spend of the day and month holding `now`, from the store.
    pub fn load(store: &UsageStore, now: Timestamp) -> Result<Ledger, UsageError> {
        let mut ledger = Ledger::default();
        let (day, month) = (clock::day_start(now), clock::month_start(now));
        ledger
            .day
            .load(day, store.spent_by_user(day, clock::next_day(now))?);
        ledger
            .month
            .load(month, store.spent_by_user(month, clock::next_month(now))?);
        Ok(ledger)
    }

    fn roll(&mut self, now: Timestamp) {
        let day = clock::day_start(now);
        if self.day.start.is_none_or(|s| s < day) {
            self.day.reset(day);
        }
        let month = clock::month_start(now);
        if self.month.start.is_none_or(|s| s < month) {
            self.month.reset(month);
        }
    }

    /// Adds a finished request that arrived at `arrived`.
    pub fn add(&mut self, now: Timestamp, arrived: Timestamp, user: &str, tokens: u64, cost: f64) {
        self.roll(now);
        if self.day.start.is_some_and(|s| arrived >= s) {
            self.day.add(user, tokens, cost);
        }
        if self.month.start.is_some_and(|s| arrived >= s) {
            self.month.add(user, tokens, cost);
        }
    }

    /// Tokens `user` used today.
    pub fn tokens_today(&mut self, now: Timestamp, user: &str) -> u64 {
        self.roll(now);
        self.day.tokens.get(user).copied().unwrap_or(0)
    }

    /// Whether `user` may send a request now under `policy`; else the message of the 429.
    pub fn check(&mut self, now: Timestamp, user: &str, policy: &Snapshot) -> Result<(), String> {
        self.roll(now);
        let tomorrow = "resets at 00:00 UTC".to_owned();
        let next_month = format!(
            "resets on {} at 00:00 UTC",
            clock::day_of(clock::next_month(now))
        );
        if let Some(quota) = policy.quotas.iter().find(|q| q.user == user) {
            let used = self.day.tokens.get(user).copied().unwrap_or(0);
            if used >= quota.tokens_per_day {
                return Err(format!(
                    "daily quota of {} tokens reached; resets at 00:00 UTC ({user} used {} today)",
                    thousands(quota.tokens_per_day),
                    thousands(used)
                ));
            }
        }
        for budget in &policy.budgets {
            let (who, day_spent, month_spent) = match &budget.user {
                None => ("", self.day.total_cost, self.month.total_cost),
                Some(u) if u == user => (
                    u.as_str(),
                    self.day.cost.get(user).copied().unwrap_or(0.0),
                    self.month.cost.get(user).copied().unwrap_or(0.0),
                ),
                Some(_) => continue,
            };
            let whose = if who.is_empty() {
                String::new()
            } else {
                format!(" for {who}")
            };
            if let Some(limit) = budget.daily_usd
                && day_spent >= limit
            {
                return Err(format!(
                    "daily budget of {}{whose} reached ({} spent today); {tomorrow}",
                    usd(limit),
                    usd(day_spent)
                ));
            }
            if let Some(limit) = budget.monthly_usd
                && month_spent >= limit
            {
                return Err(format!(
                    "monthly budget of {}{whose} reached ({} spent this month); {next_month}",
                    usd(limit),
                    usd(month_spent)
                ));
            }
        }
        Ok(())
    }
}

/// Dollars with cents, or with the digits that matter below a cent: "$5.00", "$0.000018".
pub fn usd(amount: f64) -> String {
    if amount == 0.0 || amount.abs() >= 0.01 {
        format!("${amount:.2}")
    } else {
        let digits = (-amount.abs().log10()).ceil() as usize + 1;
        format!("${amount:.digits$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use magi_usage::policy::{Budget, Quota};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn policy() -> Snapshot {
        Snapshot {
            quotas: vec![Quota {
                user: "ann".into(),
                tokens_per_day: 100_000,
            }],
            budgets: vec![
                Budget {
                    user: None,
                    daily_usd: None,
                    monthly_usd: Some(10.0),
                },
                Budget {
                    user: Some("bob".into()),
                    daily_usd: Some(1.0),
                    monthly_usd: None,
                },
            ],
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_quota_refuses_once_reached_and_resets_at_midnight_utc() {
        let mut ledger = Ledger::default();
        let now = at("2026-11-24T23:59:00Z");
        ledger.add(now, now, "ann", 99_999, 0.0);
        assert!(ledger.check(now, "ann", &policy()).is_ok());
        ledger.add(now, now, "ann", 1, 0.0);
        assert_eq!(
            ledger.check(now, "ann", &policy()).unwrap_err(),
            "daily quota of 100,000 tokens reached; resets at 00:00 UTC (ann used 100,000 today)"
        );
        assert!(ledger.check(now, "bob", &policy()).is_ok());
        assert!(
            ledger
                .check(at("2026-11-25T00:00:00Z"), "ann", &policy())
                .is_ok()
        );
    }

    #[test]
    fn budgets_per_user_and_overall_per_period() {
        let mut ledger = Ledger::default();
        let now = at("2026-11-24T12:00:00Z");
        ledger.add(now, now, "bob", 10, 1.0);
        assert_eq!(
            ledger.check(now, "bob", &policy()).unwrap_err(),
            "daily budget of $1.00 for bob reached ($1.00 spent today); resets at 00:00 UTC"
        );
        assert!(ledger.check(now, "ann", &policy()).is_ok());
        ledger.add(now, now, "ann", 10, 9.0);
        assert_eq!(
            ledger.check(now, "ann", &policy()).unwrap_err(),
            "monthly budget of $10.00 reached ($10.00 spent this month); resets on 2026-12-01 at 00:00 UTC"
        );
        assert!(
            ledger
                .check(at("2026-12-01T00:00:00Z"), "ann", &policy())
                .is_ok()
        );
    }

    #[test]
    fn a_request_from_yesterday_does_not_count_today() {
        let mut ledger = Ledger::default();
        ledger.add(
            at("2026-11-25T00:00:01Z"),
            at("2026-11-24T23:59:59Z"),
            "ann",
            5,
            0.0,
        );
        assert_eq!(ledger.tokens_today(at("2026-11-25T00:00:02Z"), "ann"), 0);
        assert_eq!(usd(5.0), "$5.00");
        assert_eq!(usd(0.000018), "$0.000018");
    }
}

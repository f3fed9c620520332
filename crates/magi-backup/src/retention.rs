//! Retention, with restic's `forget` semantics, as a pure function of the backups' times.
//!
//! Backups are taken newest first. `keep-last N` keeps the N newest. `keep-daily N` keeps the newest backup of
//! each of the N most recent days that have a backup (days without one do not count), and likewise
//! `keep-weekly` (ISO weeks) and `keep-monthly`. A backup kept by any rule is kept; days, weeks and months
//! are those of the given time zone.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// How many of each to keep; 0 turns a rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    pub last: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

impl Policy {
    /// Whether the policy keeps nothing at all, which `prune` refuses rather than delete every backup.
    pub fn is_empty(&self) -> bool {
        self.last == 0 && self.daily == 0 && self.weekly == 0 && self.monthly == 0
    }
}

/// What the policy decided for one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub keep: bool,
    /// The rules that keep it: `last`, `daily`, `weekly`, `monthly`.
    pub reasons: Vec<&'static str>,
}

/// Decides for each time (in the order given) whether it is kept.
pub fn decide(times: &[Timestamp], policy: Policy, tz: &TimeZone) -> Vec<Decision> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]));
    type Bucket = fn(&jiff::ZonedDateTime, usize) -> (i64, i64);
    let rules: [(&'static str, u32, Bucket); 4] = [
        ("last", policy.last, |_, index| (index as i64, 0)),
        ("daily", policy.daily, |z, _| {
            (i64::from(z.year()), i64::from(z.date().day_of_year()))
        }),
        ("weekly", policy.weekly, |z, _| {
            let week = z.date().iso_week_date();
            (i64::from(week.year()), i64::from(week.week()))
        }),
        ("monthly", policy.monthly, |z, _| {
            (i64::from(z.year()), i64::from(z.month()))
        }),
    ];
    let mut left: Vec<u32> = rules.iter().map(|r| r.1).collect();
    let mut last: Vec<Option<(i64, i64)>> = vec![None; rules.len()];
    let mut decisions = vec![
        Decision {
            keep: false,
            reasons: Vec::new(),
        };
        times.len()
    ];
    for (position, &index) in order.iter().enumerate() {
        let zoned = times[index].to_zoned_datetime(tz.clone());
        for (rule, (name, _, bucket)) in rules.iter().enumerate() {
            if left[rule] == 0 {
                continue;
            }
            let value = bucket(&zoned, position);
            if last[rule] != Some(value) {
                last[rule] = Some(value);
                left[rule] -= 1;
                decisions[index].keep = true;
                decisions[index].reasons.push(name);
            }
        }
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(list: &[&str]) -> Vec<Timestamp> {
        list.iter().map(|t| t.parse().unwrap()).collect()
    }

    fn kept(list: &[&str], policy: Policy) -> Vec<String> {
        let ts = times(list);
        let decisions = decide(&ts, policy, &TimeZone::UTC);
        list.iter()
            .zip(decisions)
            .filter(|(_, d)| d.keep)
            .map(|(t, _)| (*t).to_owned())
            .collect()
    }

    #[test]
    fn keep_last_keeps_the_newest_whatever_the_order() {
        let list = [
            "2026-01-01T10:00:00Z",
            "2026-01-03T10:00:00Z",
            "2026-01-02T10:00:00Z",
        ];
        let policy = Policy {
            last: 2,
            ..Policy::default()
        };
        assert_eq!(
            kept(&list, policy),
            ["2026-01-03T10:00:00Z", "2026-01-02T10:00:00Z"]
        );
    }

    #[test]
    fn daily_keeps_the_newest_of_each_day_and_skips_empty_days() {
        let list = [
            "2026-01-05T08:00:00Z",
            "2026-01-05T20:00:00Z",
            "2026-01-04T09:00:00Z",
            "2026-01-01T09:00:00Z",
            "2025-12-31T09:00:00Z",
        ];
        let policy = Policy {
            daily: 3,
            ..Policy::default()
        };
        assert_eq!(
            kept(&list, policy),
            [
                "2026-01-05T20:00:00Z",
                "2026-01-04T09:00:00Z",
                "2026-01-01T09:00:00Z"
            ],
            "three days that have backups, not three calendar days"
        );
    }

    #[test]
    fn weekly_uses_iso_weeks_and_monthly_calendar_months() {
        let list = [
            "2026-01-04T12:00:00Z", // Sunday, ISO week 2026-W01
            "2026-01-01T12:00:00Z", // Thursday, ISO week 2026-W01
            "2025-12-29T12:00:00Z", // Monday, ISO week 2026-W01
            "2025-12-28T12:00:00Z", // Sunday, ISO week 2025-W52
            "2025-11-15T12:00:00Z",
        ];
        let weekly = Policy {
            weekly: 2,
            ..Policy::default()
        };
        assert_eq!(
            kept(&list, weekly),
            ["2026-01-04T12:00:00Z", "2025-12-28T12:00:00Z"]
        );
        let monthly = Policy {
            monthly: 3,
            ..Policy::default()
        };
        assert_eq!(
            kept(&list, monthly),
            [
                "2026-01-04T12:00:00Z",
                "2025-12-29T12:00:00Z",
                "2025-11-15T12:00:00Z"
            ]
        );
    }

    #[test]
    fn rules_combine_and_say_why() {
        let ts = times(&[
            "2026-03-02T10:00:00Z",
            "2026-03-01T10:00:00Z",
            "2026-02-27T10:00:00Z",
            "2026-02-01T10:00:00Z",
        ]);
        let policy = Policy {
            last: 1,
            daily: 2,
            monthly: 2,
            weekly: 0,
        };
        let decisions = decide(&ts, policy, &TimeZone::UTC);
        assert_eq!(decisions[0].reasons, ["last", "daily", "monthly"]);
        assert_eq!(decisions[1].reasons, ["daily"]);
        assert_eq!(decisions[2].reasons, ["monthly"]);
        assert!(!decisions[3].keep);
        assert!(Policy::default().is_empty());
    }
}

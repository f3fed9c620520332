//! The tiers a series is kept in: raw points for a short while, then ever coarser rollups for ever longer.
//! Every rollup step divides an hour, because the writer rolls up one closed hour of raw points at a time;
//! a tier's blocks span 1,440 of its steps (a day of minutes, five days of 5-minute buckets), short
//! against its retention so that expiry drops whole blocks.

use serde::Serialize;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// How many steps one rollup block spans.
pub const STEPS_PER_BLOCK: i64 = 1440;

/// One tier: its step (for raw points, the interval they are expected at) and how long it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tier {
    pub step_ms: i64,
    pub retention_ms: i64,
}

impl Tier {
    /// The span of one block of this tier: an hour for raw points, 1,440 steps for a rollup.
    pub fn block_ms(&self, raw: bool) -> i64 {
        if raw {
            HOUR_MS
        } else {
            self.step_ms * STEPS_PER_BLOCK
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TierError {
    #[error("a store needs the raw tier and at least one rollup")]
    TooFew,
    #[error("rollup step {0} ms does not divide an hour")]
    Step(i64),
    #[error("rollup steps must grow from tier to tier ({0} ms after {1} ms)")]
    Order(i64, i64),
    #[error("a tier must be kept for at least an hour")]
    Retention,
}

/// The tiers, finest first; the first holds raw points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tiers(Vec<Tier>);

impl Default for Tiers {
    /// Raw 5-second points for 48 h, 1-minute rollups for 14 days, 5-minute for 90 days, hourly for 2 years.
    fn default() -> Tiers {
        Tiers(vec![
            Tier {
                step_ms: 5_000,
                retention_ms: 2 * DAY_MS,
            },
            Tier {
                step_ms: 60_000,
                retention_ms: 14 * DAY_MS,
            },
            Tier {
                step_ms: 300_000,
                retention_ms: 90 * DAY_MS,
            },
            Tier {
                step_ms: HOUR_MS,
                retention_ms: 730 * DAY_MS,
            },
        ])
    }
}

impl Tiers {
    pub fn new(tiers: Vec<Tier>) -> Result<Tiers, TierError> {
        if tiers.len() < 2 {
            return Err(TierError::TooFew);
        }
        for pair in tiers.windows(2) {
            if pair[1].step_ms <= pair[0].step_ms {
                return Err(TierError::Order(pair[1].step_ms, pair[0].step_ms));
            }
        }
        for t in &tiers[1..] {
            if t.step_ms <= 0 || HOUR_MS % t.step_ms != 0 {
                return Err(TierError::Step(t.step_ms));
            }
        }
        if tiers
            .iter()
            .any(|t| t.retention_ms < HOUR_MS || t.step_ms <= 0)
        {
            return Err(TierError::Retention);
        }
        Ok(Tiers(tiers))
    }

    pub fn all(&self) -> &[Tier] {
        &self.0
    }

    pub fn raw(&self) -> Tier {
        self.0[0]
    }

    /// The finest tier still holding `from_ms` at `now_ms` (the coarsest when none does): the most detail
    /// there is about a range, for export.
    pub fn finest_holding(&self, from_ms: i64, now_ms: i64) -> usize {
        (0..self.0.len())
            .find(|&i| now_ms - self.0[i].retention_ms <= from_ms)
            .unwrap_or(self.0.len() - 1)
    }

    /// The tier a chart of `max_points` over `[from, to)` reads, at `now`: of the tiers still holding
    /// `from`, the coarsest that gives at least `max_points` buckets over the range (it fills the chart
    /// with the least reading), else the finest of them; when none holds `from` any more, the coarsest.
    pub fn choose(&self, from_ms: i64, to_ms: i64, max_points: usize, now_ms: i64) -> usize {
        let span = (to_ms - from_ms).max(1);
        let finest = self.finest_holding(from_ms, now_ms);
        let wanted = i64::try_from(max_points).unwrap_or(i64::MAX);
        (finest..self.0.len())
            .rev()
            .find(|&i| span / self.0[i].step_ms >= wanted)
            .unwrap_or(finest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_reads_the_coarsest_tier_that_fills_it() {
        let tiers = Tiers::default();
        let now = 1000 * DAY_MS;
        // 30 days at 1,000 points: hourly gives 720 (too few), 5-minute gives 8,640.
        assert_eq!(tiers.choose(now - 30 * DAY_MS, now, 1000, now), 2);
        // The last hour: only raw points fill 1,000 (720 at 5 s do not: raw is still the finest).
        assert_eq!(tiers.choose(now - HOUR_MS, now, 1000, now), 0);
        // A day: 1-minute gives 1,440.
        assert_eq!(tiers.choose(now - DAY_MS, now, 1000, now), 1);
        // A year: only hourly still holds its start.
        assert_eq!(tiers.choose(now - 365 * DAY_MS, now, 1000, now), 3);
        // Three years: nothing holds it; the coarsest has the most.
        assert_eq!(tiers.choose(now - 1095 * DAY_MS, now, 1000, now), 3);
        // Export wants every point there is: the finest tier holding the start.
        assert_eq!(tiers.choose(now - 7 * DAY_MS, now, usize::MAX, now), 1);
        assert_eq!(tiers.finest_holding(now - 7 * DAY_MS, now), 1);
    }

    #[test]
    fn tiers_that_cannot_roll_up_by_the_hour_are_refused() {
        let t = |step_ms, days| Tier {
            step_ms,
            retention_ms: days * DAY_MS,
        };
        assert_eq!(
            Tiers::new(vec![t(5_000, 2), t(7 * 60_000, 9)]),
            Err(TierError::Step(420_000))
        );
        assert_eq!(
            Tiers::new(vec![t(5_000, 2), t(300_000, 9), t(60_000, 9)]),
            Err(TierError::Order(60_000, 300_000))
        );
        assert_eq!(Tiers::new(vec![t(5_000, 2)]), Err(TierError::TooFew));
        assert!(Tiers::new(vec![t(10_000, 7), t(HOUR_MS, 3650)]).is_ok());
    }
}

//! The wall clock of magi-limits and magi-costs: what "now" is, and where days and months begin (UTC).
//!
//! Quotas and budgets reset at 00:00 UTC each day and on the first of each month. So that a test can cross
//! such a boundary without waiting for midnight, `MAGI_LIMITS_NOW` (an RFC 3339 instant) makes the clock
//! start at that instant when the process starts and run on at real speed from there. It is read here and
//! nowhere else; production never sets it.

use std::sync::OnceLock;
use std::time::Instant;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _};

/// The variable that sets the clock's starting instant, for tests.
pub const NOW_VAR: &str = "MAGI_LIMITS_NOW";

/// Reads the clock once at start-up, so a `MAGI_LIMITS_NOW` in force is warned about before any work.
pub fn start() {
    now();
}

/// The current instant: real time, or `MAGI_LIMITS_NOW` plus the time since the process first asked.
pub fn now() -> Timestamp {
    static START: OnceLock<Option<(Timestamp, Instant)>> = OnceLock::new();
    let start = START.get_or_init(|| {
        let value = std::env::var(NOW_VAR).ok()?;
        match value.parse::<Timestamp>() {
            Ok(at) => {
                log::warn!(
                    "{NOW_VAR}={value}: the clock starts at that instant, not at the real time; this is a \
                     test hook and quotas, budgets and usage records follow it: unset it in production"
                );
                Some((at, Instant::now()))
            }
            Err(e) => {
                log::warn!(
                    "{NOW_VAR}={value}: not an RFC 3339 instant ({e}); using the real clock"
                );
                None
            }
        }
    });
    match start {
        Some((at, since)) => {
            let elapsed = jiff::SignedDuration::try_from(since.elapsed()).unwrap_or_default();
            at.checked_add(elapsed).unwrap_or(*at)
        }
        None => Timestamp::now(),
    }
}

/// The UTC date of an instant.
pub fn day_of(at: Timestamp) -> Date {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// 00:00 UTC of the day holding `at`.
pub fn day_start(at: Timestamp) -> Timestamp {
    midnight(day_of(at))
}

/// 00:00 UTC of the first day of the month holding `at`.
pub fn month_start(at: Timestamp) -> Timestamp {
    midnight(day_of(at).first_of_month())
}

/// 00:00 UTC of the next day after the one holding `at`: when a daily quota resets.
pub fn next_day(at: Timestamp) -> Timestamp {
    midnight(day_of(at).saturating_add(1.day()))
}

/// 00:00 UTC of the first day of the next month: when a monthly budget resets.
pub fn next_month(at: Timestamp) -> Timestamp {
    midnight(day_of(at).first_of_month().saturating_add(1.month()))
}

/// What `so_far` (spent or used since the month began) comes to by the month's end at the pace so far, at
/// `at`: the month-end forecast of the dashboard and of `magi capacity`.
pub fn month_pace(so_far: f64, at: Timestamp) -> f64 {
    let start = month_start(at).as_millisecond();
    let end = next_month(at).as_millisecond();
    let elapsed = (at.as_millisecond() - start).max(1) as f64;
    so_far * (end - start) as f64 / elapsed
}

/// 00:00 UTC of `date`.
pub fn midnight(date: Date) -> Timestamp {
    date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The fixed-width text form stored in the usage table: sorts like the instants it names, and SQLite's date
/// functions read it.
pub fn stored(at: Timestamp) -> String {
    format!("{at:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_pace_scales_what_was_spent_to_the_whole_month() {
        // 10 days into a 30-day month: three times as much.
        let at: Timestamp = "2026-11-11T00:00:00Z".parse().unwrap();
        assert!((month_pace(4.0, at) - 12.0).abs() < 1e-9);
    }

    #[test]
    fn boundaries_are_utc() {
        let at: Timestamp = "2026-02-28T23:59:59.5Z".parse().unwrap();
        assert_eq!(day_start(at).to_string(), "2026-02-28T00:00:00Z");
        assert_eq!(next_day(at).to_string(), "2026-03-01T00:00:00Z");
        assert_eq!(month_start(at).to_string(), "2026-02-01T00:00:00Z");
        assert_eq!(next_month(at).to_string(), "2026-03-01T00:00:00Z");
        assert_eq!(stored(at), "2026-02-28T23:59:59.500Z");
        assert_eq!(stored(day_start(at)), "2026-02-28T00:00:00.000Z");
    }
}

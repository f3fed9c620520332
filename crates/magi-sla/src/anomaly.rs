//! Unusual hours of usage: each hour's requests, tokens and cost through the gateway against the same hour
//! of the same weekday in the four weeks before, by a robust z-score (Iglewicz and Hoaglin's modified
//! z-score), which one wild week cannot drag along:
//!
//! z = 0.6745 × (x − median) / MAD, where the median and the MAD (median of absolute deviations from the
//! median) are of the earlier weeks' values. An hour is unusual when |z| ≥ 3.5 and it differs from the
//! median by at least 10 % of it (and by 10 requests, 1,000 tokens or $0.10 at the least). The MAD is
//! floored at 5 % of the median so that four identical weeks do not make every wobble a surprise. At
//! least three earlier weeks with figures are needed; before that nothing is said.

use jiff::Timestamp;
use magi_core::{Event, Severity};
use magi_tsdb::tier::{DAY_MS, HOUR_MS};
use magi_tsdb::{Reader, Selector, TsdbError};
use serde::Serialize;

const WEEK_MS: i64 = 7 * DAY_MS;
/// Earlier weeks compared against.
pub const WEEKS: i64 = 4;
const Z: f64 = 3.5;
const MIN_WEEKS: usize = 3;

/// The figures watched: name, the series summed, and the least absolute change that counts.
const FIGURES: [(&str, &[&str], f64); 3] = [
    ("requests", &["llm_requests"], 10.0),
    (
        "tokens",
        &["llm_prompt_tokens", "llm_completion_tokens"],
        1000.0,
    ),
    ("cost", &["llm_cost_usd"], 0.10),
];

/// One hour's figure against its earlier weeks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hour {
    /// The hour's start.
    pub hour: Timestamp,
    /// `requests`, `tokens` or `cost` (US dollars).
    pub figure: &'static str,
    pub value: f64,
    /// The median of the same hour in the earlier weeks.
    pub expected: f64,
    pub z: f64,
    pub unusual: bool,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The modified z-score of `x` against `earlier`, and whether it is unusual; `None` with too little history.
pub fn judge(x: f64, earlier: &[f64], least_change: f64) -> Option<(f64, f64, bool)> {
    if earlier.len() < MIN_WEEKS {
        return None;
    }
    let mut values = earlier.to_vec();
    let m = median(&mut values);
    let mut deviations: Vec<f64> = earlier.iter().map(|v| (v - m).abs()).collect();
    let mad = median(&mut deviations)
        .max(0.05 * m.abs())
        .max(f64::EPSILON);
    let z = 0.6745 * (x - m) / mad;
    let change = (x - m).abs();
    let unusual = z.abs() >= Z && change >= 0.10 * m.abs() && change >= least_change;
    Some((m, z, unusual))
}

/// Every hour of the last `hours` completed ones, each figure against its earlier weeks.
pub fn scan(reader: &Reader, now_ms: i64, hours: i64) -> Result<Vec<Hour>, TsdbError> {
    let last_hour = now_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let first = last_hour - hours * HOUR_MS;
    let from = first - WEEKS * WEEK_MS;
    let tier = reader
        .tiers()
        .all()
        .iter()
        .position(|t| t.step_ms == HOUR_MS)
        .unwrap_or(reader.tiers().all().len() - 1);
    let mut out = Vec::new();
    for (figure, series, least) in FIGURES {
        let mut by_hour: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
        for name in series {
            for a in reader.read_tier(&Selector::name(name), tier, from, last_hour)? {
                for b in a.buckets {
                    *by_hour
                        .entry(b.start_ms.div_euclid(HOUR_MS) * HOUR_MS)
                        .or_insert(0.0) += b.sum;
                }
            }
        }
        for h in 0..hours {
            let start = first + h * HOUR_MS;
            let earlier: Vec<f64> = (1..=WEEKS)
                .filter_map(|w| by_hour.get(&(start - w * WEEK_MS)).copied())
                .collect();
            let value = by_hour.get(&start).copied().unwrap_or(0.0);
            if let Some((expected, z, unusual)) = judge(value, &earlier, least) {
                out.push(Hour {
                    hour: Timestamp::from_millisecond(start).unwrap_or(Timestamp::UNIX_EPOCH),
                    figure,
                    value,
                    expected,
                    z,
                    unusual,
                });
            }
        }
    }
    out.sort_by_key(|h| h.hour);
    Ok(out)
}

/// The `usage.anomaly` event of one figure's latest hour: a warning when unusual, else ok.
pub fn event(hour: &Hour, at: Timestamp) -> Event {
    let show = |v: f64| {
        if hour.figure == "cost" {
            format!("${v:.2}")
        } else {
            magi_core::format::thousands(v.max(0.0).round() as u64)
        }
    };
    let (severity, message) = if hour.unusual {
        (
            Severity::Warning,
            format!(
                "{} in the hour from {} were {}, against {} in the same hour of earlier weeks (z {:+.1}): unusually {}",
                hour.figure,
                magi_core::format::minute(hour.hour),
                show(hour.value),
                show(hour.expected),
                hour.z,
                if hour.z > 0.0 { "high" } else { "low" }
            ),
        )
    } else {
        (
            Severity::Ok,
            format!("{} in the last hour are as in earlier weeks", hour.figure),
        )
    };
    let mut event = Event::new("magi-sla", "usage.anomaly", hour.figure, severity, message);
    event.ts = at;
    event
        .with("hour", hour.hour.to_string())
        .with("value", hour.value)
        .with("expected", hour.expected)
        .with("z", (hour.z * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tripled_hour_is_unusual_and_a_wobble_is_not() {
        let weeks = [100.0, 110.0, 95.0, 105.0];
        let (m, z, unusual) = judge(300.0, &weeks, 10.0).unwrap();
        assert_eq!(m, 102.5);
        assert!(z > 3.5 && unusual);
        assert!(!judge(112.0, &weeks, 10.0).unwrap().2);
        let (_, z, unusual) = judge(0.0, &weeks, 10.0).unwrap();
        assert!(z < -3.5 && unusual, "an hour gone quiet is unusual too");
    }

    #[test]
    fn one_wild_week_does_not_move_the_median_and_too_little_history_says_nothing() {
        // A week with a thousand requests in the hour: the median stays near 100, so 100 is normal.
        let weeks = [100.0, 1000.0, 98.0, 103.0];
        assert!(!judge(101.0, &weeks, 10.0).unwrap().2);
        assert!(judge(500.0, &[100.0, 100.0], 10.0).is_none());
        // Identical weeks: the floored MAD keeps a small change ordinary.
        assert!(!judge(104.0, &[100.0, 100.0, 100.0, 100.0], 10.0).unwrap().2);
        // Tiny figures: a change below the least that counts is never unusual.
        assert!(!judge(5.0, &[1.0, 1.0, 1.0], 10.0).unwrap().2);
    }
}

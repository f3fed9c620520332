//! When a growing figure reaches a limit, from its recent history: two fits, shown with how well they fit.
//!
//! - **Linear**: ordinary least squares of value on time. The slope's standard error gives the band: the
//!   limit is reached between the dates the slope ± 2 standard errors give (about 95 %), later without
//!   bound when the slow edge does not grow at all.
//! - **Daily seasonal**: the same trend plus the mean of its residuals by hour of day (24 bins), for a
//!   figure that swells by day and shrinks by night (a cache, a queue). The limit is reached when the trend
//!   plus the day's highest bin reaches it, which is earlier than the trend alone.
//!
//! Each fit's R² is reported, and the seasonal one is used only when it explains clearly more of the
//! variance (R² higher by 0.05 or more): a daily pattern that is not there should not move a date. Both
//! are plain arithmetic, documented here, so an operator can check a date by hand.

use serde::Serialize;

/// How much higher the seasonal fit's R² must be to be used.
const SEASONAL_GAIN: f64 = 0.05;
/// The least points a fit is made from.
pub const MIN_POINTS: usize = 6;
const DAY_S: f64 = 86_400.0;

/// A least-squares line, `value = intercept + slope × t` (t in seconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Line {
    pub intercept: f64,
    /// Per second.
    pub slope: f64,
    pub slope_se: f64,
    pub r2: f64,
}

/// Fits a line through `(t, value)` points; `None` with too few points or no spread in time.
pub fn linear(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len() as f64;
    if points.len() < MIN_POINTS {
        return None;
    }
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_v = points.iter().map(|p| p.1).sum::<f64>() / n;
    let stt: f64 = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    if stt <= 0.0 {
        return None;
    }
    let stv: f64 = points.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_v)).sum();
    let slope = stv / stt;
    let intercept = mean_v - slope * mean_t;
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let svv: f64 = points.iter().map(|p| (p.1 - mean_v).powi(2)).sum();
    let r2 = if svv > 0.0 { 1.0 - sse / svv } else { 1.0 };
    let slope_se = (sse / (n - 2.0) / stt).sqrt();
    Some(Line {
        intercept,
        slope,
        slope_se,
        r2,
    })
}

/// The linear trend plus a mean residual for each hour of the day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Seasonal {
    pub trend: Line,
    /// Mean residual by UTC hour of day.
    pub hours: Vec<f64>,
    pub r2: f64,
}

/// Fits the daily seasonal model; `None` unless the points span at least two days. Trend and hourly means
/// are fitted together (by backfitting: the line through the values less the hourly means, the means of
/// what the line leaves, until they settle), since a daily swell at one end of the day would otherwise
/// tilt the line.
pub fn seasonal(points: &[(f64, f64)]) -> Option<Seasonal> {
    let span = points.last()?.0 - points.first()?.0;
    if points.len() < MIN_POINTS || span < 2.0 * DAY_S {
        return None;
    }
    let hour = |t: f64| ((t.rem_euclid(DAY_S)) / 3600.0) as usize % 24;
    let mut hours = vec![0.0f64; 24];
    let mut trend = linear(points)?;
    for _ in 0..20 {
        let deseasoned: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.0, p.1 - hours[hour(p.0)]))
            .collect();
        trend = linear(&deseasoned)?;
        let mut sums = [0.0f64; 24];
        let mut counts = [0usize; 24];
        for p in points {
            let h = hour(p.0);
            sums[h] += p.1 - trend.intercept - trend.slope * p.0;
            counts[h] += 1;
        }
        hours = sums
            .iter()
            .zip(counts)
            .map(|(s, c)| if c > 0 { s / c as f64 } else { 0.0 })
            .collect();
    }
    let mean_v = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - trend.intercept - trend.slope * p.0 - hours[hour(p.0)]).powi(2))
        .sum();
    let svv: f64 = points.iter().map(|p| (p.1 - mean_v).powi(2)).sum();
    let r2 = if svv > 0.0 { 1.0 - sse / svv } else { 1.0 };
    Some(Seasonal { trend, hours, r2 })
}

/// When a limit is reached, at the fit used, with its band; times in seconds like the points'.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reach {
    /// "linear" or "daily seasonal".
    pub method: &'static str,
    pub r2: f64,
    /// Growth per day at the trend.
    pub per_day: f64,
    /// When the limit is reached at the trend; `None` when the figure is not growing toward it.
    pub at: Option<f64>,
    /// The band: the earliest and the latest (`None`: never, at the slow edge).
    pub earliest: Option<f64>,
    pub latest: Option<f64>,
}

/// When `limit` is reached, from `points`, seen at `now`: the better of the two fits.
pub fn reach(points: &[(f64, f64)], limit: f64, now: f64) -> Option<Reach> {
    let plain = linear(points)?;
    let seasonal = seasonal(points).filter(|s| s.r2 >= plain.r2 + SEASONAL_GAIN);
    let (method, r2, peak, line) = match &seasonal {
        Some(s) => (
            "daily seasonal",
            s.r2,
            s.hours.iter().copied().fold(0.0, f64::max),
            s.trend,
        ),
        None => ("linear", plain.r2, 0.0, plain),
    };
    let when = |slope: f64| -> Option<f64> {
        if slope <= 0.0 {
            return None;
        }
        // The trend through the latest fitted value, so the band fans out from now rather than from the
        // middle of the history.
        let here = line.intercept + line.slope * now;
        Some(now + ((limit - peak - here) / slope).max(0.0))
    };
    let band = 2.0 * line.slope_se;
    Some(Reach {
        method,
        r2,
        per_day: line.slope * DAY_S,
        at: when(line.slope),
        earliest: when(line.slope + band),
        latest: when(line.slope - band),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_line_is_found_and_reaches_its_limit_when_it_should() {
        // 1 GB a day from 10 GB, hourly for a week; the limit of 50 GB is 33 days after the last point.
        let points: Vec<(f64, f64)> = (0..168)
            .map(|h| (h as f64 * 3600.0, 10e9 + 1e9 * h as f64 / 24.0))
            .collect();
        let now = 167.0 * 3600.0;
        let r = reach(&points, 50e9, now).unwrap();
        assert_eq!(r.method, "linear");
        assert!((r.r2 - 1.0).abs() < 1e-9);
        assert!((r.per_day - 1e9).abs() < 1.0);
        let expected = now + (50e9 - (10e9 + 1e9 * 167.0 / 24.0)) / 1e9 * DAY_S;
        assert!((r.at.unwrap() - expected).abs() < 1.0);
        assert!(r.earliest.unwrap() <= r.at.unwrap() && r.at.unwrap() <= r.latest.unwrap());
    }

    #[test]
    fn a_noisy_line_is_within_ten_percent_and_its_band_holds_the_truth() {
        // 2 % a day with noise of ±1.5 % from a fixed sequence; 30 % now, full (100 %) in 35 days.
        let mut x: u64 = 42;
        let mut noise = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 3.0
        };
        let points: Vec<(f64, f64)> = (0..14 * 24)
            .map(|h| {
                let t = h as f64 * 3600.0;
                (t, 30.0 - 2.0 * 14.0 + 2.0 * t / DAY_S + noise())
            })
            .collect();
        let now = points.last().unwrap().0;
        let truth = now + 35.0 * DAY_S;
        let r = reach(&points, 100.0, now).unwrap();
        let error = (r.at.unwrap() - truth).abs() / (truth - now);
        assert!(error < 0.10, "off by {:.1} %", error * 100.0);
        assert!(r.earliest.unwrap() < truth && truth < r.latest.unwrap());
    }

    #[test]
    fn a_daily_swell_is_fitted_seasonally_and_reaches_the_limit_at_its_peak() {
        // Slow growth with a large swell every afternoon.
        let points: Vec<(f64, f64)> = (0..7 * 24)
            .map(|h| {
                let t = h as f64 * 3600.0;
                let swell = if (12..18).contains(&(h % 24)) {
                    20.0
                } else {
                    0.0
                };
                (t, 10.0 + t / DAY_S + swell)
            })
            .collect();
        let now = points.last().unwrap().0;
        let r = reach(&points, 60.0, now).unwrap();
        assert_eq!(r.method, "daily seasonal", "{r:?}");
        assert!(r.r2 > 0.95);
        assert!(linear(&points).unwrap().r2 < r.r2 - SEASONAL_GAIN);
        // The trend alone would reach 60 at 10 + t = 60, day 50; the afternoon swell of 20 gets there
        // by day 30.
        let day = r.at.unwrap() / DAY_S;
        assert!((29.0..32.0).contains(&day), "day {day}");
    }

    #[test]
    fn a_flat_or_shrinking_figure_never_reaches_its_limit() {
        let flat: Vec<(f64, f64)> = (0..48).map(|h| (h as f64 * 3600.0, 5.0)).collect();
        assert_eq!(reach(&flat, 10.0, 47.0 * 3600.0).unwrap().at, None);
        assert!(reach(&flat[..3], 10.0, 0.0).is_none(), "too few points");
    }
}

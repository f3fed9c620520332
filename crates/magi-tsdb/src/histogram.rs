//! Latency histograms, stored the way Prometheus lays them out: one delta series per bucket bound
//! (`NAME_bucket{le="0.5"}`, counting the observations at or below the bound during the interval), plus
//! `NAME_sum` and `NAME_count`. A percentile over any range, or per chart point, comes from the bucket
//! counts summed over that range and across label sets, and never from averaging percentiles, which has
//! no meaning.

use std::collections::BTreeMap;

use crate::key::{Kind, SeriesKey};
use crate::store::{Reader, Sample, Selector, TsdbError};

/// Bucket bounds for request latencies, in seconds: from 10 ms to two minutes.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// Observations of one histogram since the last drain.
#[derive(Debug, Clone)]
pub struct Histogram {
    name: String,
    labels: Vec<(String, String)>,
    bounds: &'static [f64],
    /// Observations in each bound's bucket (not cumulative), and one more for above the last bound.
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    pub fn new(name: &str, labels: &[(&str, &str)], bounds: &'static [f64]) -> Histogram {
        Histogram {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        let i = self.bounds.partition_point(|&b| b < value);
        self.counts[i] += 1;
        self.sum += value;
    }

    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|&c| c == 0)
    }

    /// The interval's samples at `ts_ms` (cumulative bucket counts, sum and count), and a fresh start.
    pub fn drain(&mut self, ts_ms: i64) -> Vec<Sample> {
        let mut out = Vec::with_capacity(self.counts.len() + 2);
        let mut cumulative = 0u64;
        let les = self
            .bounds
            .iter()
            .map(|b| b.to_string())
            .chain(std::iter::once("+Inf".to_owned()));
        for (le, count) in les.zip(&self.counts) {
            cumulative += count;
            out.extend(self.sample("_bucket", Some(le), ts_ms, cumulative as f64));
        }
        out.extend(self.sample("_sum", None, ts_ms, self.sum));
        out.extend(self.sample("_count", None, ts_ms, cumulative as f64));
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.sum = 0.0;
        out
    }

    fn sample(&self, suffix: &str, le: Option<String>, ts_ms: i64, value: f64) -> Option<Sample> {
        let labels = self
            .labels
            .iter()
            .cloned()
            .chain(le.map(|le| ("le".to_owned(), le)));
        let key = SeriesKey::new(format!("{}{suffix}", self.name), labels).ok()?;
        Some(Sample {
            key,
            kind: Kind::Delta,
            ts_ms,
            value,
        })
    }
}

/// The `q` quantile (0..=1) of cumulative bucket counts (upper bound, count at or below it), interpolated
/// linearly within the bucket it falls in, as Prometheus' `histogram_quantile` does. `None` without
/// observations.
pub fn quantile(q: f64, cumulative: &[(f64, f64)]) -> Option<f64> {
    let mut buckets = cumulative.to_vec();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in &buckets {
        if count >= rank {
            if bound.is_infinite() {
                // Above the last finite bound: its bound is the best that can be said.
                return Some(lower.0);
            }
            let within = count - lower.1;
            let fraction = if within > 0.0 {
                (rank - lower.1) / within
            } else {
                1.0
            };
            return Some(lower.0 + (bound - lower.0) * fraction);
        }
        lower = (bound, count);
    }
    Some(lower.0)
}

impl Reader {
    /// The `q` quantile of histogram `selector` (its base name, without `_bucket`), per chart point over
    /// `[from_ms, to_ms)` and over the whole range, summing buckets across every label set it matches.
    pub fn quantile(
        &self,
        selector: &Selector,
        q: f64,
        from_ms: i64,
        to_ms: i64,
        max_points: usize,
        now_ms: i64,
    ) -> Result<Quantiles, TsdbError> {
        let buckets = buckets_of(selector);
        let mut by_time: BTreeMap<i64, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
        let mut whole: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        let mut step_ms = 0;
        for answer in self.query(&buckets, from_ms, to_ms, max_points, now_ms)? {
            let Some(bound) = answer.key.label("le").and_then(parse_le) else {
                continue;
            };
            step_ms = answer.step_ms;
            for b in &answer.buckets {
                let slot = by_time.entry(b.start_ms).or_default();
                slot.entry(bound.to_bits()).or_insert((bound, 0.0)).1 += b.sum;
                whole.entry(bound.to_bits()).or_insert((bound, 0.0)).1 += b.sum;
            }
        }
        let points = by_time
            .into_iter()
            .map(|(t, les)| (t, quantile(q, &les.into_values().collect::<Vec<_>>())))
            .collect();
        Ok(Quantiles {
            step_ms,
            points,
            overall: quantile(q, &whole.into_values().collect::<Vec<_>>()),
        })
    }
}

impl Reader {
    /// The cumulative bucket counts `(upper bound, count at or below it)` of histogram `selector` summed
    /// over `[from_ms, to_ms)` and every label set it matches, smallest bound first: for a question about
    /// the whole range (how many answers were slower than last week's p95).
    pub fn cumulative(
        &self,
        selector: &Selector,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<(f64, f64)>, TsdbError> {
        let buckets = buckets_of(selector);
        let mut whole: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        for answer in self.query(&buckets, from_ms, to_ms, 1, now_ms)? {
            let Some(bound) = answer.key.label("le").and_then(parse_le) else {
                continue;
            };
            let sum: f64 = answer.buckets.iter().map(|b| b.sum).sum();
            whole.entry(bound.to_bits()).or_insert((bound, 0.0)).1 += sum;
        }
        let mut out: Vec<(f64, f64)> = whole.into_values().collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(out)
    }
}

/// A quantile per chart point and over the whole range.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Quantiles {
    pub step_ms: i64,
    pub points: Vec<(i64, Option<f64>)>,
    pub overall: Option<f64>,
}

/// The `_bucket` series of histogram `selector` (its base name).
fn buckets_of(selector: &Selector) -> Selector {
    Selector {
        name: format!("{}_bucket", selector.name),
        labels: selector.labels.clone(),
    }
}

fn parse_le(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_the_bucket() {
        // 100 observations: 50 at or below 0.1, 90 at or below 1, all at or below 10.
        let buckets = [
            (0.1, 50.0),
            (1.0, 90.0),
            (10.0, 100.0),
            (f64::INFINITY, 100.0),
        ];
        assert_eq!(quantile(0.5, &buckets), Some(0.1));
        assert!((quantile(0.7, &buckets).unwrap() - 0.55).abs() < 1e-12);
        assert!((quantile(0.95, &buckets).unwrap() - 5.5).abs() < 1e-12);
        assert_eq!(quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 0.0)]), None);
        // Everything above the last finite bound: the bound.
        assert_eq!(
            quantile(0.99, &[(1.0, 0.0), (f64::INFINITY, 5.0)]),
            Some(1.0)
        );
    }

    #[test]
    fn a_drained_histogram_counts_cumulatively_and_starts_again() {
        let mut h = Histogram::new("latency_seconds", &[("model", "m")], &[0.1, 1.0]);
        for v in [0.05, 0.5, 0.7, 3.0] {
            h.observe(v);
        }
        let samples = h.drain(1000);
        let value = |key: &str| {
            samples
                .iter()
                .find(|s| s.key.to_string() == key)
                .map(|s| s.value)
        };
        assert_eq!(
            value(r#"latency_seconds_bucket{le="0.1",model="m"}"#),
            Some(1.0)
        );
        assert_eq!(
            value(r#"latency_seconds_bucket{le="1",model="m"}"#),
            Some(3.0)
        );
        assert_eq!(
            value(r#"latency_seconds_bucket{le="+Inf",model="m"}"#),
            Some(4.0)
        );
        assert_eq!(value(r#"latency_seconds_count{model="m"}"#), Some(4.0));
        assert_eq!(value(r#"latency_seconds_sum{model="m"}"#), Some(4.25));
        assert!(h.is_empty());
    }
}

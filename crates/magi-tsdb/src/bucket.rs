//! The unit every tier stores and every query returns: a bucket of points with their min, max, sum, count
//! and last value, so a short spike survives any rollup (its max) and a mean, a rate or a total can still be
//! computed from it (sum and count).

use serde::Serialize;

/// The points of one series within `[start_ms, start_ms + step)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bucket {
    pub start_ms: i64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u64,
    /// The value of the latest point.
    pub last: f64,
}

impl Bucket {
    /// A bucket of one point.
    pub fn point(ts_ms: i64, value: f64) -> Bucket {
        Bucket {
            start_ms: ts_ms,
            min: value,
            max: value,
            sum: value,
            count: 1,
            last: value,
        }
    }

    /// The bucket starting at `start_ms` of `points` (time, value), in time order; `None` when empty.
    ///
    /// The sum is exact when every value is a short decimal (added as scaled integers), so a rollup reads
    /// the same whatever order its points were added in; otherwise it is the plain sum in time order.
    pub fn of(start_ms: i64, points: &[(i64, f64)]) -> Option<Bucket> {
        let (&(_, first), rest) = points.split_first()?;
        let mut b = Bucket {
            start_ms,
            min: first,
            max: first,
            sum: 0.0,
            count: 1,
            last: first,
        };
        for &(_, v) in rest {
            b.min = b.min.min(v);
            b.max = b.max.max(v);
            b.count += 1;
            b.last = v;
        }
        b.sum = exact_sum(points.iter().map(|&(_, v)| v))
            .unwrap_or_else(|| points.iter().map(|&(_, v)| v).sum());
        Some(b)
    }

    /// This bucket and a later one as one bucket starting where this one does.
    pub fn merge(self, later: Bucket) -> Bucket {
        Bucket {
            start_ms: self.start_ms,
            min: self.min.min(later.min),
            max: self.max.max(later.max),
            sum: self.sum + later.sum,
            count: self.count + later.count,
            last: later.last,
        }
    }

    pub fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }
}

/// The sum of short decimals (at most 6 places), added as integers; `None` if a value is not one.
fn exact_sum(values: impl Iterator<Item = f64> + Clone) -> Option<f64> {
    (0..=6).find_map(|d| {
        let p = 10f64.powi(d);
        let mut total: i128 = 0;
        for v in values.clone() {
            let scaled = (v * p).round();
            if !(scaled.abs() < 9e15 && scaled / p == v) {
                return None;
            }
            total += scaled as i128;
        }
        Some(total as f64 / p)
    })
}

/// Groups points (time, value) in time order into buckets of `step_ms` aligned to the epoch.
pub fn rollup(points: &[(i64, f64)], step_ms: i64) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut from = 0;
    while from < points.len() {
        let start = points[from].0.div_euclid(step_ms) * step_ms;
        let end = points[from..]
            .iter()
            .position(|&(t, _)| t >= start + step_ms)
            .map_or(points.len(), |i| from + i);
        out.extend(Bucket::of(start, &points[from..end]));
        from = end;
    }
    out
}

/// Merges buckets (in time order) into buckets of `step_ms` aligned to the epoch.
pub fn coarsen(buckets: &[Bucket], step_ms: i64) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    for b in buckets {
        let start = b.start_ms.div_euclid(step_ms) * step_ms;
        match out.last_mut() {
            Some(last) if last.start_ms == start => *last = last.merge(*b),
            _ => out.push(Bucket {
                start_ms: start,
                ..*b
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_sum_of_short_decimals_is_exact_in_any_order() {
        let a = [(0, 0.1), (1, 0.2), (2, 0.3)];
        let b = [(0, 0.3), (1, 0.2), (2, 0.1)];
        assert_eq!(Bucket::of(0, &a).unwrap().sum, 0.6);
        assert_eq!(Bucket::of(0, &b).unwrap().sum, 0.6);
    }

    proptest! {
        /// Rollups against a brute-force computation over the same points.
        #[test]
        fn rollups_match_brute_force(
            raw in proptest::collection::btree_map(0i64..7_200_000, -1_000_000i64..1_000_000, 0..500),
            step in prop_oneof![Just(60_000i64), Just(300_000), Just(3_600_000), 1i64..100_000],
            cents: bool,
        ) {
            let points: Vec<(i64, f64)> = raw
                .into_iter()
                .map(|(t, v)| (t - 1_000_000, if cents { v as f64 / 100.0 } else { v as f64 }))
                .collect();
            let buckets = rollup(&points, step);
            let mut starts: Vec<i64> = points.iter().map(|&(t, _)| t.div_euclid(step) * step).collect();
            starts.dedup();
            prop_assert_eq!(buckets.len(), starts.len());
            for (b, start) in buckets.iter().zip(starts) {
                let inside: Vec<f64> = points
                    .iter()
                    .filter(|&&(t, _)| t >= start && t < start + step)
                    .map(|&(_, v)| v)
                    .collect();
                prop_assert_eq!(b.start_ms, start);
                prop_assert_eq!(b.count, inside.len() as u64);
                prop_assert_eq!(b.min, inside.iter().copied().fold(f64::INFINITY, f64::min));
                prop_assert_eq!(b.max, inside.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                prop_assert_eq!(b.last, *inside.last().unwrap());
                let cents_total: i64 = inside.iter().map(|v| (v * 100.0).round() as i64).sum();
                prop_assert_eq!(b.sum, cents_total as f64 / 100.0);
            }
            // A coarser rollup of the rollup is the rollup of the points.
            let twice = coarsen(&buckets, step * 4);
            let once = rollup(&points, step * 4);
            prop_assert_eq!(twice.len(), once.len());
            for (a, b) in twice.iter().zip(&once) {
                prop_assert_eq!((a.start_ms, a.min, a.max, a.count, a.last), (b.start_ms, b.min, b.max, b.count, b.last));
                prop_assert!((a.sum - b.sum).abs() <= 1e-6 * b.sum.abs().max(1.0));
            }
        }
    }
}

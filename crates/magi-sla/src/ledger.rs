//! Time accounting of one service over a window: how much of it was up, down, unknown (nothing observed
//! it: the monitor was down, the box was off) and planned maintenance, to the millisecond.
//!
//! Observations come as *slices*: a stretch of time and how much of it was seen up and down. Raw points of
//! the metrics store each vouch for the time until the next point, but never past `gap` (an observation
//! says nothing about later than that: past it the time is unknown, not up). A rollup bucket, older than
//! the raw tier keeps, holds `count` samples of which `sum` were up: it covers `count × interval` of its
//! span (at most all of it), split up and down in that proportion. Maintenance windows are taken out of
//! whatever they overlap, in proportion, and counted apart. Nothing here reads a store: pure functions,
//! so the arithmetic is tested against histories whose seconds are known exactly.

use serde::Serialize;

/// A stretch `[start_ms, end_ms)` of which `up_ms` was seen up and `down_ms` down; the rest unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slice {
    pub start_ms: i64,
    pub end_ms: i64,
    pub up_ms: f64,
    pub down_ms: f64,
}

/// The slices of raw points `(ts_ms, value)` in time order, a value of 1 up and 0 down: each point holds
/// until the next, at most `gap_ms`.
pub fn raw_slices(points: &[(i64, f64)], gap_ms: i64) -> Vec<Slice> {
    let mut out = Vec::with_capacity(points.len());
    for (i, &(t, value)) in points.iter().enumerate() {
        let until = points.get(i + 1).map_or(t + gap_ms, |&(next, _)| next);
        let end = until.min(t + gap_ms);
        if end <= t {
            continue;
        }
        let len = (end - t) as f64;
        let up = value >= 0.5;
        out.push(Slice {
            start_ms: t,
            end_ms: end,
            up_ms: if up { len } else { 0.0 },
            down_ms: if up { 0.0 } else { len },
        });
    }
    out
}

/// The slices of rollup buckets of `step_ms`, each `(start_ms, up samples, samples)`, for samples taken
/// every `interval_ms`.
pub fn rollup_slices(buckets: &[(i64, f64, u64)], step_ms: i64, interval_ms: i64) -> Vec<Slice> {
    buckets
        .iter()
        .filter(|(_, _, count)| *count > 0)
        .map(|&(start, up, count)| {
            let covered = (count as f64 * interval_ms as f64).min(step_ms as f64);
            let up_share = (up / count as f64).clamp(0.0, 1.0);
            Slice {
                start_ms: start,
                end_ms: start + step_ms,
                up_ms: covered * up_share,
                down_ms: covered * (1.0 - up_share),
            }
        })
        .collect()
}

/// Where the time of a window went, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Account {
    pub up_ms: f64,
    pub down_ms: f64,
    pub unknown_ms: f64,
    pub maintenance_ms: f64,
}

impl Account {
    /// Up over up and down: the availability of the time that was observed and not maintenance.
    pub fn availability(&self) -> Option<f64> {
        let known = self.up_ms + self.down_ms;
        (known > 0.0).then(|| self.up_ms / known)
    }

    /// Down over up and down: the share of the observed time that failed (what burns an error budget).
    pub fn error_rate(&self) -> Option<f64> {
        self.availability().map(|a| 1.0 - a)
    }

    /// Up over up, down and unknown: the availability if every unobserved moment had been down.
    pub fn worst_case(&self) -> Option<f64> {
        let all = self.up_ms + self.down_ms + self.unknown_ms;
        (all > 0.0).then(|| self.up_ms / all)
    }
}

/// Sorted, disjoint `[start, end)` windows: the union of `windows`.
pub fn union(mut windows: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    windows.retain(|(s, e)| e > s);
    windows.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
    for (s, e) in windows {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// How much of `[start, end)` the disjoint, sorted `windows` cover.
fn overlap(windows: &[(i64, i64)], start: i64, end: i64) -> i64 {
    windows
        .iter()
        .map(|&(s, e)| (e.min(end) - s.max(start)).max(0))
        .sum()
}

/// Accounts `[from_ms, to_ms)` from `slices` (in time order, not overlapping) with `maintenance` (disjoint,
/// sorted windows, see [`union`]) taken out of whatever it overlaps.
pub fn account(slices: &[Slice], maintenance: &[(i64, i64)], from_ms: i64, to_ms: i64) -> Account {
    let total = (to_ms - from_ms).max(0) as f64;
    let maintenance_ms = overlap(maintenance, from_ms, to_ms) as f64;
    let (mut up, mut down) = (0.0, 0.0);
    for s in slices {
        let (start, end) = (s.start_ms.max(from_ms), s.end_ms.min(to_ms));
        if end <= start {
            continue;
        }
        let len = (s.end_ms - s.start_ms) as f64;
        let kept = (end - start) as f64 / len;
        let free = 1.0 - overlap(maintenance, start, end) as f64 / (end - start) as f64;
        up += s.up_ms * kept * free;
        down += s.down_ms * kept * free;
    }
    Account {
        up_ms: up,
        down_ms: down,
        unknown_ms: (total - up - down - maintenance_ms).max(0.0),
        maintenance_ms,
    }
}

/// A stretch of time a service was down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outage {
    pub start_ms: i64,
    /// When it was next seen up; `None` while it still is not.
    pub end_ms: Option<i64>,
}

/// The outages in `slices`: from the first slice with time down to the next with time up. Unknown time in
/// between does not end an outage (nobody saw it come back), and maintenance is no outage.
pub fn outages(slices: &[Slice], maintenance: &[(i64, i64)]) -> Vec<Outage> {
    let mut out: Vec<Outage> = Vec::new();
    let mut open: Option<i64> = None;
    for s in slices {
        let in_maintenance = overlap(maintenance, s.start_ms, s.end_ms) >= s.end_ms - s.start_ms;
        if in_maintenance {
            continue;
        }
        if s.down_ms > 0.0 && open.is_none() {
            open = Some(s.start_ms);
        }
        if s.up_ms > 0.0
            && let Some(start) = open
        {
            // A slice seen partly up ends the outage: at its start for a raw point (all up), or where its
            // down time would end for a mixed rollup bucket.
            let end = if s.down_ms > 0.0 {
                s.start_ms + s.down_ms.round() as i64
            } else {
                s.start_ms
            };
            if end > start {
                out.push(Outage {
                    start_ms: start,
                    end_ms: Some(end),
                });
            }
            open = None;
        }
    }
    if let Some(start) = open {
        out.push(Outage {
            start_ms: start,
            end_ms: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    /// 5-second points from `from` to `to` (exclusive) with `value`.
    fn points(from: i64, to: i64, value: f64) -> Vec<(i64, f64)> {
        (0..)
            .map(|i| from + i * 5 * S)
            .take_while(|t| *t < to)
            .map(|t| (t, value))
            .collect()
    }

    #[test]
    fn a_known_history_accounts_to_the_second() {
        // 0-600 s up, 600-660 s down, 660-960 s monitor off, 960-1200 s up; maintenance 1100-1150 s.
        let mut p = points(0, 600 * S, 1.0);
        p.extend(points(600 * S, 660 * S, 0.0));
        p.extend(points(960 * S, 1200 * S, 1.0));
        let slices = raw_slices(&p, 15 * S);
        let maintenance = union(vec![(1100 * S, 1150 * S)]);
        let a = account(&slices, &maintenance, 0, 1200 * S);
        // The last down point (655 s) vouches until 670 s: the monitor's gap begins 15 s after it.
        assert_eq!(a.up_ms, (600.0 + 240.0 - 50.0) * 1000.0);
        assert_eq!(a.down_ms, 70.0 * 1000.0);
        assert_eq!(a.maintenance_ms, 50.0 * 1000.0);
        assert_eq!(a.unknown_ms, 290.0 * 1000.0);
        assert_eq!(a.availability(), Some(790.0 / 860.0));
        assert_eq!(a.worst_case(), Some(790.0 / 1150.0));
        let o = outages(&slices, &maintenance);
        assert_eq!(
            o,
            vec![Outage {
                start_ms: 600 * S,
                end_ms: Some(960 * S)
            }],
            "the monitor's gap does not end the outage: the next up point does"
        );
    }

    #[test]
    fn a_monitor_gap_is_unknown_never_up() {
        let slices = raw_slices(&[(0, 1.0), (3_600 * S, 1.0)], 15 * S);
        let a = account(&slices, &[], 0, 3_600 * S);
        assert_eq!(a.up_ms, 15_000.0);
        assert_eq!(a.unknown_ms, 3_585_000.0);
        assert_eq!(a.availability(), Some(1.0));
        assert!(a.worst_case().unwrap() < 0.01);
    }

    #[test]
    fn rollups_split_their_covered_time_by_their_share_up() {
        // A minute of 12 samples with 3 down; a minute of 6 samples (half unobserved), all up.
        let slices = rollup_slices(&[(0, 9.0, 12), (60 * S, 6.0, 6)], 60 * S, 5 * S);
        let a = account(&slices, &[], 0, 120 * S);
        assert_eq!(
            (a.up_ms, a.down_ms, a.unknown_ms),
            (75_000.0, 15_000.0, 30_000.0)
        );
        // Maintenance over half of the first minute takes half of each of its parts.
        let a = account(&slices, &[(0, 30 * S)], 0, 120 * S);
        assert_eq!(
            (a.up_ms, a.down_ms, a.maintenance_ms, a.unknown_ms),
            (52_500.0, 7_500.0, 30_000.0, 30_000.0)
        );
    }

    #[test]
    fn a_window_clips_the_slices_at_its_edges() {
        let slices = raw_slices(&points(0, 100 * S, 1.0), 15 * S);
        let a = account(&slices, &[], 50 * S, 80 * S);
        assert_eq!((a.up_ms, a.unknown_ms), (30_000.0, 0.0));
        // The last point (95 s) vouches for 15 s: up to 110 s, unknown after.
        let a = account(&slices, &[], 90 * S, 200 * S);
        assert_eq!((a.up_ms, a.unknown_ms), (20_000.0, 90_000.0));
    }

    #[test]
    fn maintenance_is_no_outage_and_an_open_outage_has_no_end() {
        let mut p = points(0, 60 * S, 0.0);
        p.extend(points(60 * S, 120 * S, 1.0));
        p.extend(points(120 * S, 180 * S, 0.0));
        let slices = raw_slices(&p, 15 * S);
        let o = outages(&slices, &union(vec![(0, 60 * S)]));
        assert_eq!(
            o,
            vec![Outage {
                start_ms: 120 * S,
                end_ms: None
            }]
        );
    }

    #[test]
    fn windows_merge_into_their_union() {
        assert_eq!(
            union(vec![(5, 10), (0, 6), (20, 30), (30, 31), (40, 40)]),
            vec![(0, 10), (20, 31)]
        );
    }
}

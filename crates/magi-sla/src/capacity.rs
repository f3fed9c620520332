//! `magi capacity`: when each disk fills, each data directory runs out of room and each container reaches
//! its memory limit at the recent trend, with the band and the fit ([`crate::forecast`]), and where the
//! month's tokens and cost are heading against the budgets.
//!
//! The history is the metrics store's (magi-health watch writes `disk_used_percent`, `data_bytes` and
//! `container_memory_bytes`), read at up to 1,000 points over the trend's window. A data directory's room
//! is its file system's free space now, measured here: it fills when its growth alone would use that up.

use jiff::Timestamp;
use magi_check::resources::Disk;
use magi_tsdb::{Reader, Selector, TsdbError};
use magi_usage::usage::Spent;
use serde::Serialize;

use crate::forecast::{self, Reach};

/// Points a trend is fitted from, at most.
const POINTS: usize = 1000;

/// One figure heading for a limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headroom {
    /// `disk`, `data` or `memory`.
    pub kind: &'static str,
    /// The disk's role, or the service.
    pub subject: String,
    /// `percent` or `bytes`.
    pub unit: &'static str,
    pub now: f64,
    pub limit: f64,
    /// The fit used (`linear`, `daily seasonal`), its R² and the growth per day; `None` with too little
    /// history to fit.
    pub method: Option<&'static str>,
    pub r2: Option<f64>,
    pub per_day: Option<f64>,
    /// When the limit is reached at the trend, and the band; `None`: not growing toward it (or, for the
    /// band's late edge, possibly never).
    pub reaches_at: Option<Timestamp>,
    pub earliest: Option<Timestamp>,
    pub latest: Option<Timestamp>,
}

/// The month's usage and where it is heading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Month {
    pub tokens: u64,
    pub tokens_by_month_end: f64,
    pub cost_usd: f64,
    pub cost_by_month_end: f64,
    /// Everyone's monthly budget, if one is set.
    pub monthly_budget_usd: Option<f64>,
    /// The month-end cost over the budget, in percent.
    pub budget_percent_at_month_end: Option<f64>,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    pub at: Timestamp,
    /// The window the trends are fitted over, in seconds.
    pub trend_seconds: u64,
    pub headroom: Vec<Headroom>,
    pub month: Option<Month>,
}

fn at(seconds: Option<f64>) -> Option<Timestamp> {
    seconds.and_then(|s| Timestamp::from_millisecond((s * 1000.0) as i64).ok())
}

/// A series' `label` and its `(seconds, mean)` points.
type History = (String, Vec<(f64, f64)>);

/// The `(seconds, mean)` history of every series `selector` matches, each with its labels' `label`.
fn history(
    reader: &Reader,
    selector: &Selector,
    label: &str,
    from_ms: i64,
    now_ms: i64,
) -> Result<Vec<History>, TsdbError> {
    Ok(reader
        .query(selector, from_ms, now_ms, POINTS, now_ms)?
        .into_iter()
        .map(|a| {
            // A rollup bucket's mean stands for its middle; a raw point for its own time.
            let step = if a.tier == 0 {
                0.0
            } else {
                a.step_ms as f64 / 2000.0
            };
            let points = a
                .buckets
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| (b.start_ms as f64 / 1000.0 + step, b.mean()))
                .collect();
            (a.key.label(label).unwrap_or("").to_owned(), points)
        })
        .collect())
}

fn headroom(
    kind: &'static str,
    subject: String,
    unit: &'static str,
    points: &[(f64, f64)],
    limit: f64,
    now_s: f64,
) -> Option<Headroom> {
    let now = points.last()?.1;
    let reach: Option<Reach> = forecast::reach(points, limit, now_s);
    Some(Headroom {
        kind,
        subject,
        unit,
        now,
        limit,
        method: reach.as_ref().map(|r| r.method),
        r2: reach.as_ref().map(|r| r.r2),
        per_day: reach.as_ref().map(|r| r.per_day),
        reaches_at: at(reach.as_ref().and_then(|r| r.at)),
        earliest: at(reach.as_ref().and_then(|r| r.earliest)),
        latest: at(reach.as_ref().and_then(|r| r.latest)),
    })
}

/// Every disk, data directory and container memory with a history over `[now - trend, now)`. `room` gives
/// a service's data directory's free space now, if it can be measured.
pub fn headrooms(
    reader: &Reader,
    trend_ms: i64,
    now_ms: i64,
    room: &dyn Fn(&str) -> Option<u64>,
) -> Result<Vec<Headroom>, TsdbError> {
    let from = now_ms - trend_ms;
    let now_s = now_ms as f64 / 1000.0;
    let mut out = Vec::new();
    for (disk, points) in history(
        reader,
        &Selector::name("disk_used_percent"),
        "disk",
        from,
        now_ms,
    )? {
        out.extend(headroom("disk", disk, "percent", &points, 100.0, now_s));
    }
    for (service, points) in history(
        reader,
        &Selector::name("data_bytes"),
        "service",
        from,
        now_ms,
    )? {
        let Some(free) = room(&service) else {
            continue;
        };
        let Some(&(_, size)) = points.last() else {
            continue;
        };
        out.extend(headroom(
            "data",
            service,
            "bytes",
            &points,
            size + free as f64,
            now_s,
        ));
    }
    let limits: std::collections::BTreeMap<String, f64> = history(
        reader,
        &Selector::name("container_memory_limit_bytes"),
        "service",
        from,
        now_ms,
    )?
    .into_iter()
    .filter_map(|(s, p)| Some((s, p.last()?.1)))
    .collect();
    for (service, points) in history(
        reader,
        &Selector::name("container_memory_bytes"),
        "service",
        from,
        now_ms,
    )? {
        if let Some(&limit) = limits.get(&service) {
            out.extend(headroom("memory", service, "bytes", &points, limit, now_s));
        }
    }
    Ok(out)
}

/// The free space of the file system holding `paths` (the first that can be measured).
pub fn free_space(paths: &[std::path::PathBuf]) -> Option<u64> {
    paths
        .iter()
        .find_map(|p| Disk::measure("data", p))
        .map(|d| d.free)
}

/// The month so far at `now`, from the usage records' totals, against everyone's monthly budget.
pub fn month(spent: &Spent, budget: Option<f64>, now: Timestamp) -> Month {
    let cost_by_month_end = magi_usage::clock::month_pace(spent.cost_usd, now);
    Month {
        tokens: spent.tokens,
        tokens_by_month_end: magi_usage::clock::month_pace(spent.tokens as f64, now),
        cost_usd: spent.cost_usd,
        cost_by_month_end,
        monthly_budget_usd: budget,
        budget_percent_at_month_end: budget
            .filter(|b| *b > 0.0)
            .map(|b| 100.0 * cost_by_month_end / b),
    }
}

fn show(unit: &str, value: f64) -> String {
    match unit {
        "percent" => format!("{value:.1} %"),
        _ => magi_core::format::human_bytes(value.max(0.0) as u64),
    }
}

fn date(t: Option<Timestamp>) -> String {
    t.map_or("never".to_owned(), |t| t.strftime("%Y-%m-%d").to_string())
}

/// The answer as tables for a terminal.
pub fn text(c: &Capacity) -> String {
    let mut out = format!(
        "Capacity at {}, trends over the last {}\n\n",
        magi_core::format::time(c.at),
        crate::report::show_seconds(c.trend_seconds as f64)
    );
    if c.headroom.is_empty() {
        out.push_str(
            "No history of disks, data or memory: is magi-health watch writing the metrics store?\n",
        );
    } else {
        let mut table = magi_core::table::Table::new([
            "WHAT",
            "OF",
            "NOW",
            "LIMIT",
            "PER DAY",
            "REACHES IT",
            "BAND",
            "FIT",
        ])
        .right([2, 3, 4]);
        for h in &c.headroom {
            let (reaches, band, fit) = match h.method {
                Some(method) => (
                    h.reaches_at
                        .map_or("not growing".to_owned(), |t| date(Some(t))),
                    if h.reaches_at.is_some() {
                        format!("{} to {}", date(h.earliest), date(h.latest))
                    } else {
                        "-".to_owned()
                    },
                    format!("{method}, R² {:.2}", h.r2.unwrap_or(0.0)),
                ),
                None => (
                    "-".to_owned(),
                    "-".to_owned(),
                    "too little history".to_owned(),
                ),
            };
            table.row([
                h.kind.to_owned(),
                magi_core::printable::printable(&h.subject).into_owned(),
                show(h.unit, h.now),
                show(h.unit, h.limit),
                h.per_day.map_or("-".to_owned(), |d| {
                    format!(
                        "{}{}",
                        if d < 0.0 { "-" } else { "+" },
                        show(h.unit, d.abs())
                    )
                }),
                reaches,
                band,
                fit,
            ]);
        }
        out.push_str(&table.render());
    }
    if let Some(m) = &c.month {
        out.push_str(&format!(
            "\nThis month: {} tokens and ${:.2} so far; at this pace {} tokens and ${:.2} by its end",
            magi_core::format::thousands(m.tokens),
            m.cost_usd,
            magi_core::format::thousands(m.tokens_by_month_end.round() as u64),
            m.cost_by_month_end
        ));
        match (m.monthly_budget_usd, m.budget_percent_at_month_end) {
            (Some(b), Some(p)) => out.push_str(&format!(
                "; the monthly budget is ${b:.2} ({p:.0} % at this pace).\n"
            )),
            _ => out.push_str(".\n"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_is_weighed_against_the_budget() {
        let spent = Spent {
            requests: 10,
            tokens: 1000,
            cost_usd: 4.0,
        };
        let now: Timestamp = "2026-11-11T00:00:00Z".parse().unwrap();
        let m = month(&spent, Some(24.0), now);
        assert!((m.cost_by_month_end - 12.0).abs() < 1e-9);
        assert!((m.tokens_by_month_end - 3000.0).abs() < 1e-6);
        assert!((m.budget_percent_at_month_end.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(month(&spent, None, now).budget_percent_at_month_end, None);
    }
}

//! The SLA report: read from the metrics store (each service's `service_up`, the stack's `stack_core_up`,
//! the `service_condition` at each outage, restart and maintenance marks) and the gateway's usage records,
//! accounted by [`crate::ledger`], and printed as a table, JSON or a self-contained HTML page.
//!
//! A window older than the raw tier reads the finest rollup tier that holds its start for the older part and
//! raw points for the rest, so the last 48 hours are exact to the second and older time to the watch's
//! interval within each rollup bucket.

use std::fmt::Write as _;

use jiff::Timestamp;
use magi_check::Condition;
use magi_core::format::{self, html_escape};
use magi_core::table::Table;
use magi_tsdb::store::Annotation;
use magi_tsdb::tier::HOUR_MS;
use magi_tsdb::{Reader, Selector, TsdbError};
use magi_usage::usage::Outcome;
use serde::Serialize;

use crate::anomaly::Hour;
use crate::ledger::{self, Account, Outage, Slice};
use crate::trends::Comparison;

pub use magi_tsdb::{MAINTENANCE_END, MAINTENANCE_START};
/// How far before a window its maintenance marks are looked for (a window opened before it and still open),
/// and after it (a window whose end was marked ahead).
const MAINTENANCE_LOOKBACK_MS: i64 = 90 * 24 * HOUR_MS;
/// The series magi-health watch writes: 1 up, 0 down, nothing when unknown.
const SERVICE_UP: &str = "service_up";
const CORE_UP: &str = "stack_core_up";

/// What a report covers.
#[derive(Debug, Clone)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
    /// The reader's clock (the raw tier's reach is counted from it).
    pub now_ms: i64,
    /// The watch's sampling interval.
    pub interval_ms: i64,
}

impl Window {
    /// How long one observation vouches for.
    fn gap_ms(&self) -> i64 {
        3 * self.interval_ms
    }
}

/// A planned maintenance window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maintenance {
    /// `None` for the whole stack.
    pub service: Option<String>,
    pub start: Timestamp,
    /// `None` while it goes on.
    pub end: Option<Timestamp>,
    pub note: String,
}

/// One outage as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub duration_seconds: f64,
    /// What magi-health saw when it began (`down`, `unhealthy`, ...), and any restart recorded during it.
    pub cause: String,
}

/// The error budget of a target over the observed time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Budget {
    /// Down time the target allows over the observed (up and down) time.
    pub allowed_seconds: f64,
    pub spent_seconds: f64,
    /// Spent over allowed, in percent (above 100: the target is missed).
    pub spent_percent: Option<f64>,
    pub remaining_seconds: f64,
}

impl Budget {
    fn of(account: &Account, target_percent: f64) -> Budget {
        let observed = (account.up_ms + account.down_ms) / 1000.0;
        let allowed = observed * (1.0 - target_percent / 100.0);
        let spent = account.down_ms / 1000.0;
        Budget {
            allowed_seconds: allowed,
            spent_seconds: spent,
            spent_percent: (allowed > 0.0).then(|| 100.0 * spent / allowed),
            remaining_seconds: allowed - spent,
        }
    }
}

/// One service's (or the core's) part of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceSla {
    pub name: String,
    pub up_seconds: f64,
    pub down_seconds: f64,
    pub unknown_seconds: f64,
    pub maintenance_seconds: f64,
    /// Up over up and down, in percent; `None` when nothing was observed.
    pub availability_percent: Option<f64>,
    /// Up over up, down and unknown: as if every unobserved moment had been down.
    pub worst_case_percent: Option<f64>,
    pub target_percent: f64,
    pub met: Option<bool>,
    pub budget: Budget,
    pub incidents: Vec<Incident>,
    /// Mean time to repair: the mean length of the incidents that ended.
    pub mttr_seconds: Option<f64>,
    /// Mean time between failures: up time over the number of incidents.
    pub mtbf_seconds: Option<f64>,
}

/// Requests of one model (or all) over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSla {
    pub model: String,
    pub requests: u64,
    pub failed: u64,
    pub availability_percent: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: Timestamp,
    pub to: Timestamp,
    /// The stack's core: up while no core service is down.
    pub core: Option<ServiceSla>,
    pub services: Vec<ServiceSla>,
    /// Per model, busiest first, then `all`; empty when the gateway kept no records.
    pub requests: Vec<RequestSla>,
    pub maintenance: Vec<Maintenance>,
    /// Each model's (and service's) last 7 days against the 7 before.
    pub trends: Vec<Comparison>,
    /// The unusual hours of usage in the last day.
    pub anomalies: Vec<Hour>,
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn percent(fraction: Option<f64>) -> Option<f64> {
    fraction.map(|f| 100.0 * f)
}

/// The maintenance windows over `[from, to)` (and any opened earlier and still open), from the marks.
pub fn maintenance(
    reader: &Reader,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Maintenance>, TsdbError> {
    Ok(maintenance_in(
        &marks_around(reader, from_ms, to_ms)?,
        from_ms,
        to_ms,
    ))
}

/// The marks a window needs: its own, and those as far before and after it as a maintenance window's ends
/// may be (ends are looked for ahead too: a silence marks its end when it is added).
fn marks_around(reader: &Reader, from_ms: i64, to_ms: i64) -> Result<Vec<Annotation>, TsdbError> {
    reader.annotations(
        from_ms - MAINTENANCE_LOOKBACK_MS,
        to_ms + MAINTENANCE_LOOKBACK_MS,
    )
}

/// The maintenance windows among `marks` that overlap `[from, to)`.
fn maintenance_in(marks: &[Annotation], from_ms: i64, to_ms: i64) -> Vec<Maintenance> {
    windows_of(marks)
        .into_iter()
        .filter(|m| {
            m.start.as_millisecond() < to_ms && m.end.is_none_or(|e| e.as_millisecond() > from_ms)
        })
        .collect()
}

/// Pairs each maintenance start with the next end of the same service.
fn windows_of(marks: &[Annotation]) -> Vec<Maintenance> {
    let mut out: Vec<Maintenance> = Vec::new();
    for m in marks {
        if m.kind == MAINTENANCE_START {
            let open = out
                .iter()
                .any(|w| w.service == m.service && w.end.is_none());
            if !open {
                out.push(Maintenance {
                    service: m.service.clone(),
                    start: timestamp(m.ts_ms),
                    end: None,
                    note: m.text.clone(),
                });
            }
        } else if m.kind == MAINTENANCE_END
            && let Some(w) = out
                .iter_mut()
                .find(|w| w.service == m.service && w.end.is_none())
        {
            w.end = Some(timestamp(m.ts_ms));
        }
    }
    out
}

/// The windows that apply to `service` (its own and the whole stack's), as disjoint ms ranges up to `to`.
pub fn windows_for(all: &[Maintenance], service: Option<&str>, to_ms: i64) -> Vec<(i64, i64)> {
    ledger::union(
        all.iter()
            .filter(|m| m.service.is_none() || m.service.as_deref() == service)
            .map(|m| {
                (
                    m.start.as_millisecond(),
                    m.end.map_or(to_ms, |e| e.as_millisecond()),
                )
            })
            .collect(),
    )
}

/// The slices of a 1/0 series over the window: rollups for what is older than the raw tier, raw points for
/// the rest.
fn slices(reader: &Reader, selector: &Selector, w: &Window) -> Result<Vec<Slice>, TsdbError> {
    let tiers = reader.tiers();
    let rollup_step = tiers.all()[1].step_ms;
    let raw_reach = w.now_ms - tiers.raw().retention_ms + HOUR_MS;
    let split = raw_reach
        .div_euclid(rollup_step)
        .saturating_add(1)
        .saturating_mul(rollup_step)
        .clamp(w.from_ms, w.to_ms);
    let mut out = Vec::new();
    if split > w.from_ms {
        let tier = tiers.finest_holding(w.from_ms, w.now_ms).max(1);
        let step = tiers.all()[tier].step_ms;
        let mut buckets: Vec<(i64, f64, u64)> = reader
            .read_tier(selector, tier, w.from_ms, split)?
            .into_iter()
            .flat_map(|a| a.buckets)
            .map(|b| (b.start_ms, b.sum, b.count))
            .collect();
        buckets.sort_by_key(|b| b.0);
        out.extend(ledger::rollup_slices(&buckets, step, w.interval_ms));
    }
    let mut points: Vec<(i64, f64)> = reader
        .read_tier(selector, 0, split - w.gap_ms(), w.to_ms)?
        .into_iter()
        .flat_map(|a| a.buckets)
        .map(|b| (b.start_ms, b.last))
        .collect();
    points.sort_by_key(|p| p.0);
    out.extend(
        ledger::raw_slices(&points, w.gap_ms())
            .into_iter()
            .filter(|s| s.end_ms > split)
            .map(|mut s| {
                // The first point may begin before the split: keep only its part after it.
                if s.start_ms < split {
                    let kept = (s.end_ms - split) as f64 / (s.end_ms - s.start_ms) as f64;
                    s.up_ms *= kept;
                    s.down_ms *= kept;
                    s.start_ms = split;
                }
                s
            }),
    );
    Ok(out)
}

/// The observed slices of `service` (the core when `None`) over the window.
pub fn observed(
    reader: &Reader,
    service: Option<&str>,
    w: &Window,
) -> Result<Vec<Slice>, TsdbError> {
    let selector = match service {
        Some(s) => Selector::name(SERVICE_UP).with("service", s),
        None => Selector::name(CORE_UP),
    };
    slices(reader, &selector, w)
}

/// What magi-health saw as `service` went down at `start_ms`, and the restarts recorded during the outage.
fn cause(
    reader: &Reader,
    service: &str,
    outage: &Outage,
    marks: &[Annotation],
    w: &Window,
) -> Result<String, TsdbError> {
    let selector = Selector::name("service_condition").with("service", service);
    let tier = reader.tiers().finest_holding(outage.start_ms, w.now_ms);
    let seen = reader
        .read_tier(
            &selector,
            tier,
            outage.start_ms,
            outage.start_ms + w.gap_ms(),
        )?
        .into_iter()
        .flat_map(|a| a.buckets)
        .min_by_key(|b| b.start_ms)
        .and_then(|b| Condition::from_code(b.max))
        .map_or("down".to_owned(), |c| c.name().to_owned());
    let end = outage.end_ms.unwrap_or(w.to_ms);
    let restarts: Vec<&str> = marks
        .iter()
        .filter(|m| {
            m.kind == "restart"
                && m.service.as_deref() == Some(service)
                && (outage.start_ms..=end).contains(&m.ts_ms)
        })
        .map(|m| m.text.as_str())
        .collect();
    Ok(if restarts.is_empty() {
        seen
    } else {
        format!("{seen}; {}", restarts.join("; "))
    })
}

/// One service's (or, with `service` `None`, the core's) figures.
fn service_sla(
    reader: &Reader,
    name: &str,
    service: Option<&str>,
    target_percent: f64,
    maintenance: &[Maintenance],
    marks: &[Annotation],
    w: &Window,
) -> Result<Option<ServiceSla>, TsdbError> {
    let slices = observed(reader, service, w)?;
    if slices.is_empty() {
        return Ok(None);
    }
    let windows = windows_for(maintenance, service, w.to_ms);
    let account = ledger::account(&slices, &windows, w.from_ms, w.to_ms);
    let outages: Vec<Outage> = ledger::outages(&slices, &windows)
        .into_iter()
        .filter(|o| o.end_ms.is_none_or(|e| e > w.from_ms) && o.start_ms < w.to_ms)
        .collect();
    let mut incidents = Vec::with_capacity(outages.len());
    for o in &outages {
        let end = o.end_ms.unwrap_or(w.to_ms);
        incidents.push(Incident {
            start: timestamp(o.start_ms),
            end: o.end_ms.map(timestamp),
            duration_seconds: (end - o.start_ms) as f64 / 1000.0,
            cause: match service {
                Some(s) => cause(reader, s, o, marks, w)?,
                None => "a core service down".to_owned(),
            },
        });
    }
    let ended: Vec<f64> = incidents
        .iter()
        .filter(|i| i.end.is_some())
        .map(|i| i.duration_seconds)
        .collect();
    let availability = percent(account.availability());
    Ok(Some(ServiceSla {
        name: name.to_owned(),
        up_seconds: account.up_ms / 1000.0,
        down_seconds: account.down_ms / 1000.0,
        unknown_seconds: account.unknown_ms / 1000.0,
        maintenance_seconds: account.maintenance_ms / 1000.0,
        availability_percent: availability,
        worst_case_percent: percent(account.worst_case()),
        target_percent,
        met: availability.map(|a| a >= target_percent),
        budget: Budget::of(&account, target_percent),
        mttr_seconds: (!ended.is_empty()).then(|| ended.iter().sum::<f64>() / ended.len() as f64),
        mtbf_seconds: (!incidents.is_empty())
            .then(|| account.up_ms / 1000.0 / incidents.len() as f64),
        incidents,
    }))
}

/// The request part: each model, then all together.
pub fn requests(outcomes: &[Outcome]) -> Vec<RequestSla> {
    let row = |model: &str, requests: u64, failed: u64| RequestSla {
        model: model.to_owned(),
        requests,
        failed,
        availability_percent: (requests > 0)
            .then(|| 100.0 * (requests - failed.min(requests)) as f64 / requests as f64),
    };
    let mut out: Vec<RequestSla> = outcomes
        .iter()
        .map(|o| row(&o.model, o.requests, o.failed))
        .collect();
    if !outcomes.is_empty() {
        out.push(row(
            "all",
            outcomes.iter().map(|o| o.requests).sum(),
            outcomes.iter().map(|o| o.failed).sum(),
        ));
    }
    out
}

/// Builds the report of `services` (each with its target) and the core (at `core_target`).
pub fn build(
    reader: &Reader,
    services: &[(String, f64)],
    core_target: f64,
    outcomes: &[Outcome],
    w: &Window,
) -> Result<Report, TsdbError> {
    // One read of the marks: the maintenance windows and the restarts inside outages both come from it.
    let marks = marks_around(reader, w.from_ms, w.to_ms)?;
    let maintenance = maintenance_in(&marks, w.from_ms, w.to_ms);
    let core = service_sla(reader, "core", None, core_target, &maintenance, &marks, w)?;
    let mut rows = Vec::new();
    for (name, target) in services {
        if let Some(row) = service_sla(reader, name, Some(name), *target, &maintenance, &marks, w)?
        {
            rows.push(row);
        }
    }
    Ok(Report {
        from: timestamp(w.from_ms),
        to: timestamp(w.to_ms),
        core,
        services: rows,
        requests: requests(outcomes),
        maintenance,
        trends: {
            let mut trends = crate::trends::compare(reader, w.now_ms)?;
            let names: Vec<String> = services.iter().map(|(name, _)| name.clone()).collect();
            trends.extend(crate::trends::compare_services(reader, &names, w.now_ms)?);
            trends
        },
        anomalies: crate::anomaly::scan(reader, w.now_ms, 24)?
            .into_iter()
            .filter(|h| h.unusual)
            .collect(),
    })
}

/// `12.3456` as "99.988 %"; a dash for nothing.
fn show_percent(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |v| format!("{v:.3} %"))
}

/// Seconds as "3d 4h", "2h 5m", "4m 10s", "12s".
pub fn show_seconds(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn budget_left(b: &Budget) -> String {
    match b.spent_percent {
        Some(p) if p > 100.0 => format!("over by {}", show_seconds(-b.remaining_seconds)),
        Some(p) => format!("{:.0} % ({})", 100.0 - p, show_seconds(b.remaining_seconds)),
        None => "-".to_owned(),
    }
}

fn show_figure(figure: &str, value: f64) -> String {
    if figure == "error rate" {
        format!("{value:.2} %")
    } else {
        format!("{value:.3} s")
    }
}

/// The week-over-week comparisons as a table.
pub fn trends_text(trends: &[Comparison]) -> String {
    if trends.is_empty() {
        return "No model or service has figures in both of the last two weeks.\n".to_owned();
    }
    let mut table = Table::new([
        "MODEL",
        "FIGURE",
        "WEEK BEFORE",
        "LAST 7 DAYS",
        "Z",
        "WORSE",
    ])
    .right([2, 3, 4]);
    for c in trends {
        table.row([
            magi_core::printable::printable(&c.model).into_owned(),
            c.figure.to_owned(),
            show_figure(c.figure, c.last_week),
            show_figure(c.figure, c.this_week),
            c.z.map_or("-".to_owned(), |z| format!("{z:.1}")),
            if c.worse { "significantly" } else { "no" }.to_owned(),
        ]);
    }
    table.render()
}

/// The unusual hours among `checked`, as a table.
pub fn anomalies_text(checked: &[Hour]) -> String {
    let unusual: Vec<&Hour> = checked.iter().filter(|h| h.unusual).collect();
    if unusual.is_empty() {
        return format!(
            "No unusual hour among the {} checked (each against the same hour of up to four earlier weeks).\n",
            checked.len()
        );
    }
    let mut table = Table::new(["HOUR", "FIGURE", "VALUE", "EARLIER WEEKS", "Z"]).right([2, 3, 4]);
    for h in unusual {
        table.row([
            format::minute(h.hour),
            h.figure.to_owned(),
            format!("{:.2}", h.value),
            format!("{:.2}", h.expected),
            format!("{:+.1}", h.z),
        ]);
    }
    table.render()
}

/// The report as tables for a terminal.
pub fn text(report: &Report) -> String {
    let mut out = format!(
        "SLA from {} to {}\n\n",
        format::time(report.from),
        format::time(report.to)
    );
    let mut table = Table::new([
        "SERVICE",
        "AVAILABILITY",
        "TARGET",
        "BUDGET LEFT",
        "DOWN",
        "UNKNOWN",
        "MAINTENANCE",
        "INCIDENTS",
        "MTTR",
        "MTBF",
    ])
    .right([1, 2, 4, 5, 6, 7, 8, 9]);
    for s in report.core.iter().chain(&report.services) {
        table.row([
            s.name.clone(),
            show_percent(s.availability_percent),
            format!("{} %", s.target_percent),
            budget_left(&s.budget),
            show_seconds(s.down_seconds),
            show_seconds(s.unknown_seconds),
            show_seconds(s.maintenance_seconds),
            s.incidents.len().to_string(),
            s.mttr_seconds.map_or("-".to_owned(), show_seconds),
            s.mtbf_seconds.map_or("-".to_owned(), show_seconds),
        ]);
    }
    if report.core.is_none() && report.services.is_empty() {
        out.push_str("No service has figures in this window: is magi-health watch writing the metrics store?\n");
    } else {
        out.push_str(&table.render());
    }
    let incidents: Vec<(&str, &Incident)> = report
        .services
        .iter()
        .flat_map(|s| s.incidents.iter().map(move |i| (s.name.as_str(), i)))
        .collect();
    if !incidents.is_empty() {
        out.push_str("\nIncidents:\n");
        let mut table = Table::new(["SERVICE", "START", "END", "LASTED", "CAUSE"]);
        for (name, i) in incidents {
            table.row([
                name.to_owned(),
                format::time(i.start),
                i.end.map_or("ongoing".to_owned(), format::time),
                show_seconds(i.duration_seconds),
                magi_core::printable::printable(&i.cause).into_owned(),
            ]);
        }
        out.push_str(&table.render());
    }
    if !report.requests.is_empty() {
        out.push_str("\nRequests through the gateway:\n");
        let mut table =
            Table::new(["MODEL", "REQUESTS", "FAILED", "AVAILABILITY"]).right([1, 2, 3]);
        for r in &report.requests {
            table.row([
                magi_core::printable::printable(&r.model).into_owned(),
                format::thousands(r.requests),
                format::thousands(r.failed),
                show_percent(r.availability_percent),
            ]);
        }
        out.push_str(&table.render());
    }
    if !report.anomalies.is_empty() {
        out.push_str("\nUnusual hours of usage in the last day:\n");
        out.push_str(&anomalies_text(&report.anomalies));
    }
    if !report.trends.is_empty() {
        out.push_str("\nThe last 7 days against the 7 before:\n");
        out.push_str(&trends_text(&report.trends));
    }
    if !report.maintenance.is_empty() {
        out.push_str("\nPlanned maintenance (left out):\n");
        for m in &report.maintenance {
            let _ = writeln!(
                out,
                "  {} {} to {}{}",
                m.service.as_deref().unwrap_or("the whole stack"),
                format::time(m.start),
                m.end.map_or("now (still open)".to_owned(), format::time),
                if m.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", magi_core::printable::printable(&m.note))
                }
            );
        }
    }
    out
}

const HTML_STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1a1a1a}\
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}\
th,td{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.met{color:#0a5c2a}.missed{color:#9b1c1c;font-weight:600}p.note{color:#444}\
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}tr{break-inside:avoid}}";

/// The report as one self-contained HTML page: no script, no request elsewhere, printable as it shows.
pub fn html(report: &Report) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>MAGI service levels</h1><p>From {} to {}. Availability is up time over up and down time as magi-health \
         observed it; unknown time (nothing observed) and planned maintenance are shown apart and left out.</p>",
        html_escape(&format::time(report.from)),
        html_escape(&format::time(report.to))
    );
    body.push_str("<h2>Availability</h2><table><thead><tr><th scope=\"col\">Service</th><th scope=\"col\">Availability</th><th scope=\"col\">Target</th><th scope=\"col\">Error budget left</th><th scope=\"col\">Down</th><th scope=\"col\">Unknown</th><th scope=\"col\">Maintenance</th><th scope=\"col\">Incidents</th><th scope=\"col\">MTTR</th><th scope=\"col\">MTBF</th></tr></thead><tbody>");
    for s in report.core.iter().chain(&report.services) {
        let class = match s.met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "",
        };
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td class=\"n {class}\">{}</td><td class=\"n\">{} %</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            html_escape(&s.name),
            show_percent(s.availability_percent),
            s.target_percent,
            html_escape(&budget_left(&s.budget)),
            show_seconds(s.down_seconds),
            show_seconds(s.unknown_seconds),
            show_seconds(s.maintenance_seconds),
            s.incidents.len(),
            s.mttr_seconds.map_or("-".to_owned(), show_seconds),
            s.mtbf_seconds.map_or("-".to_owned(), show_seconds),
        );
    }
    body.push_str("</tbody></table>");
    body.push_str("<h2>Incidents</h2>");
    let incidents: Vec<(&str, &Incident)> = report
        .services
        .iter()
        .flat_map(|s| s.incidents.iter().map(move |i| (s.name.as_str(), i)))
        .collect();
    if incidents.is_empty() {
        body.push_str("<p>None.</p>");
    } else {
        body.push_str("<table><thead><tr><th scope=\"col\">Service</th><th scope=\"col\">Start</th><th scope=\"col\">End</th><th scope=\"col\">Lasted</th><th scope=\"col\">Cause</th></tr></thead><tbody>");
        for (name, i) in incidents {
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                html_escape(name),
                html_escape(&format::time(i.start)),
                html_escape(&i.end.map_or("ongoing".to_owned(), format::time)),
                show_seconds(i.duration_seconds),
                html_escape(&i.cause)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("<h2>Requests through the gateway</h2>");
    if report.requests.is_empty() {
        body.push_str("<p>No usage records in this window.</p>");
    } else {
        body.push_str("<table><thead><tr><th scope=\"col\">Model</th><th scope=\"col\">Requests</th><th scope=\"col\">Failed</th><th scope=\"col\">Availability</th></tr></thead><tbody>");
        for r in &report.requests {
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                html_escape(&r.model),
                format::thousands(r.requests),
                format::thousands(r.failed),
                show_percent(r.availability_percent)
            );
        }
        body.push_str("</tbody></table>");
    }
    if !report.anomalies.is_empty() {
        body.push_str("<h2>Unusual hours of usage in the last day</h2><table><thead><tr><th scope=\"col\">Hour</th><th scope=\"col\">Figure</th><th scope=\"col\">Value</th><th scope=\"col\">Earlier weeks</th><th scope=\"col\">z</th></tr></thead><tbody>");
        for h in &report.anomalies {
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:+.1}</td></tr>",
                html_escape(&format::minute(h.hour)),
                h.figure,
                h.value,
                h.expected,
                h.z
            );
        }
        body.push_str("</tbody></table>");
    }
    if !report.trends.is_empty() {
        body.push_str("<h2>The last 7 days against the 7 before</h2><table><thead><tr><th scope=\"col\">Model</th><th scope=\"col\">Figure</th><th scope=\"col\">Week before</th><th scope=\"col\">Last 7 days</th><th scope=\"col\">Significantly worse</th></tr></thead><tbody>");
        for c in &report.trends {
            let _ = write!(
                body,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td></tr>",
                html_escape(&c.model),
                c.figure,
                show_figure(c.figure, c.last_week),
                show_figure(c.figure, c.this_week),
                if c.worse { "missed" } else { "" },
                if c.worse { "yes" } else { "no" }
            );
        }
        body.push_str("</tbody></table>");
    }
    if !report.maintenance.is_empty() {
        body.push_str("<h2>Planned maintenance</h2><ul>");
        for m in &report.maintenance {
            let _ = write!(
                body,
                "<li>{}: {} to {} {}</li>",
                html_escape(m.service.as_deref().unwrap_or("the whole stack")),
                html_escape(&format::time(m.start)),
                html_escape(&m.end.map_or("now (still open)".to_owned(), format::time)),
                html_escape(&m.note)
            );
        }
        body.push_str("</ul>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>MAGI service levels</title><style>{HTML_STYLE}</style></head><body><main>{body}</main></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(ts_ms: i64, kind: &str, service: Option<&str>) -> Annotation {
        Annotation {
            ts_ms,
            kind: kind.into(),
            service: service.map(str::to_owned),
            text: "disk".into(),
        }
    }

    #[test]
    fn maintenance_marks_pair_up_per_service() {
        let marks = [
            mark(10, MAINTENANCE_START, Some("qdrant")),
            mark(12, MAINTENANCE_START, Some("qdrant")),
            mark(20, MAINTENANCE_START, None),
            mark(30, MAINTENANCE_END, Some("qdrant")),
            mark(40, MAINTENANCE_END, Some("redis")),
        ];
        let w = windows_of(&marks);
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(
            (
                w[0].start.as_millisecond(),
                w[0].end.map(|e| e.as_millisecond())
            ),
            (10, Some(30)),
            "a second start while open is the same window"
        );
        assert_eq!((w[1].service.clone(), w[1].end), (None, None));
        assert_eq!(windows_for(&w, Some("qdrant"), 100), vec![(10, 100)]);
        assert_eq!(windows_for(&w, Some("redis"), 100), vec![(20, 100)]);
    }

    #[test]
    fn request_availability_is_exact() {
        let rows = requests(&[
            Outcome {
                model: "gpt".into(),
                requests: 1000,
                failed: 3,
            },
            Outcome {
                model: "llama".into(),
                requests: 10,
                failed: 0,
            },
        ]);
        assert_eq!(rows[0].availability_percent, Some(99.7));
        assert_eq!(rows[2].model, "all");
        assert_eq!(rows[2].availability_percent, Some(100.0 * 1007.0 / 1010.0));
        assert!(requests(&[]).is_empty());
    }

    #[test]
    fn a_budget_is_the_down_time_the_target_allows() {
        let a = Account {
            up_ms: 999_000.0,
            down_ms: 500.0,
            unknown_ms: 7.0,
            maintenance_ms: 0.0,
        };
        let b = Budget::of(&a, 99.9);
        assert!((b.allowed_seconds - 0.9995).abs() < 1e-9);
        assert_eq!(b.spent_seconds, 0.5);
        assert!((b.spent_percent.unwrap() - 50.025).abs() < 0.01);
        assert_eq!(show_seconds(90_061.0), "1d 1h");
        assert_eq!(show_seconds(3_725.0), "1h 2m");
        assert_eq!(show_seconds(61.0), "1m 1s");
    }
}

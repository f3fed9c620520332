//! The dashboard's pages as whole HTML documents: the overview (a tile per service and the fleet's CPU,
//! memory and disk), one service's charts, the models' usage and cost, and the alerts. Each is complete without
//! JavaScript; `live.js` only swaps in a fresh `<main>` when the store changes. Everything from the store or
//! the URL is escaped on the way in.

use std::fmt::Write as _;

use magi_core::Severity;
use magi_core::format::html_escape;
use magi_tsdb::store::Annotation;

use crate::alerts::Alert;
use crate::chart::{self, Chart, Unit};
use crate::data::{ModelRow, Month, Tile, UserRow};
use crate::tool::ToolError;
use crate::view::{RANGES, View};

/// The page around `main`: title, navigation, the range picker, the stylesheet and the live script.
pub fn layout(title: &str, here: &str, view: &View, main: &str) -> String {
    let mut nav = String::new();
    for (path, name) in [
        ("/", "Services"),
        ("/models", "Models and cost"),
        ("/alerts", "Alerts"),
        ("/sla", "Service levels"),
    ] {
        let current = if path == here {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(
            nav,
            r#"<a href="{path}{}"{current}>{name}</a>"#,
            view.query()
        );
    }
    let mut ranges = String::new();
    for (range, _) in RANGES {
        let current = if range == view.range {
            r#" aria-current="true""#
        } else {
            ""
        };
        let _ = write!(
            ranges,
            r#"<a href="{here}{}"{current}>{range}</a>"#,
            view.with_range(range)
        );
    }
    let ending = if view.pinned {
        format!("ending {}", chart::when(view.to_ms))
    } else {
        "ending now".to_owned()
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title} · MAGI</title><link rel="stylesheet" href="/assets/style.css"><script src="/assets/live.js" defer></script></head><body><header><p class="brand">MAGI</p><nav aria-label="Pages">{nav}</nav><nav aria-label="Range" class="ranges">{ranges}<span>{ending}</span><a href="{here}{pin}">link to this view</a></nav><p id="live" role="status" aria-live="polite"></p></header><main id="main">{main}</main></body></html>"#,
        title = html_escape(title),
        pin = view.pinned_query(),
    )
}

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Ok | Severity::Info => "ok",
        Severity::Warning => "warn",
        Severity::Critical => "crit",
    }
}

/// One tile: colour and word agree (the word is there for those who cannot see the colour).
fn tile(t: &Tile, view: &View) -> String {
    let (class, word) = match t.condition {
        Some(c) => (severity_class(c.severity()), c.to_string()),
        None => ("none", "no recent check".to_owned()),
    };
    let mut figures = String::new();
    for (name, value) in [
        ("CPU", t.cpu.map(|v| Unit::Percent.show(v))),
        ("Memory", t.memory.map(|v| Unit::Bytes.show(v))),
        ("Data", t.data.map(|v| Unit::Bytes.show(v))),
        ("Probe", t.latency.map(|v| Unit::Seconds.show(v))),
    ] {
        if let Some(value) = value {
            let _ = write!(figures, "<dt>{name}</dt><dd>{}</dd>", html_escape(&value));
        }
    }
    let seen = match t.seen_ms {
        Some(ms) => format!("checked {}", chart::when(ms)),
        None => "never checked".to_owned(),
    };
    format!(
        r#"<li class="tile {class}" data-service="{name}" data-condition="{condition}"><a href="/service/{name}{query}"><h2>{name}</h2><p class="state">{word}</p><dl>{figures}</dl><p class="seen">{seen}</p></a></li>"#,
        name = html_escape(&t.service),
        condition = t.condition.map_or("none", |c| c.name()),
        query = view.query(),
        word = html_escape(&word),
        seen = html_escape(&seen),
    )
}

/// A list of the annotations, newest first.
fn marks_list(marks: &[Annotation]) -> String {
    if marks.is_empty() {
        return "<p>Nothing marked in this range.</p>".to_owned();
    }
    let mut out = String::from(r#"<ul class="marks">"#);
    for m in marks.iter().rev().take(50) {
        let _ = write!(
            out,
            "<li><time>{}</time> {} {}: {}</li>",
            html_escape(&chart::when(m.ts_ms)),
            html_escape(&m.kind),
            html_escape(m.service.as_deref().unwrap_or("stack")),
            html_escape(&m.text)
        );
    }
    out.push_str("</ul>");
    out
}

/// The overview's `<main>`.
pub fn overview(tiles: &[Tile], charts: &[Chart<'_>], marks: &[Annotation], view: &View) -> String {
    let mut main = String::from(r#"<h1>Services</h1><ul class="tiles" aria-label="Services">"#);
    for t in tiles {
        main.push_str(&tile(t, view));
    }
    main.push_str("</ul><h2>Over the range</h2>");
    for c in charts {
        main.push_str(&c.render());
    }
    main.push_str("<h2>Restarts, backups and alerts</h2>");
    main.push_str(&marks_list(marks));
    main
}

/// One service's `<main>`.
pub fn service(
    name: &str,
    tile_of: Option<&Tile>,
    charts: &[Chart<'_>],
    marks: &[Annotation],
    view: &View,
) -> String {
    let mut main = format!(r#"<h1>{}</h1>"#, html_escape(name));
    if let Some(t) = tile_of {
        let _ = write!(main, r#"<ul class="tiles single">{}</ul>"#, tile(t, view));
    }
    for c in charts {
        main.push_str(&c.render());
    }
    main.push_str("<h2>Marked on the charts</h2>");
    main.push_str(&marks_list(marks));
    main
}

/// The models page's `<main>`.
pub fn models(
    rows: &[ModelRow],
    users: &[UserRow],
    month: &Month,
    monthly_budget: Option<f64>,
    charts: &[Chart<'_>],
) -> String {
    let mut main = String::from("<h1>Models and cost</h1>");
    let budget = match monthly_budget {
        Some(b) if b > 0.0 => format!(
            "; the monthly budget is <strong>{}</strong> ({:.0} % at this pace)",
            Unit::Dollars.show(b),
            100.0 * month.forecast / b
        ),
        _ => String::new(),
    };
    let _ = write!(
        main,
        r#"<p class="month">This month: <strong>{}</strong> so far; at this pace <strong>{}</strong> by its end{budget}.</p>"#,
        Unit::Dollars.show(month.spent),
        Unit::Dollars.show(month.forecast)
    );
    main.push_str(r#"<h2>Per model</h2><table class="figures"><thead><tr><th scope="col">Model</th><th scope="col">Requests</th><th scope="col">Error rate</th><th scope="col">p50</th><th scope="col">p95</th><th scope="col">p99</th><th scope="col">First byte p95</th><th scope="col">Tokens in</th><th scope="col">Tokens out</th><th scope="col">Cost</th></tr></thead><tbody>"#);
    if rows.is_empty() {
        main.push_str(r#"<tr><td colspan="10">No requests in this range.</td></tr>"#);
    }
    let latency = |v: Option<f64>| {
        v.filter(|v| v.is_finite())
            .map_or("-".to_owned(), |v| Unit::Seconds.show(v))
    };
    for r in rows {
        let error_rate = if r.requests > 0.0 {
            100.0 * r.errors / r.requests
        } else {
            0.0
        };
        let _ = write!(
            main,
            r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            html_escape(&r.model),
            Unit::Count.show(r.requests),
            Unit::Percent.show(error_rate),
            latency(r.p50),
            latency(r.p95),
            latency(r.p99),
            latency(r.first_byte_p95),
            Unit::Count.show(r.prompt_tokens),
            Unit::Count.show(r.completion_tokens),
            Unit::Dollars.show(r.cost),
        );
    }
    main.push_str("</tbody></table>");
    for c in charts {
        main.push_str(&c.render());
    }
    main.push_str(r#"<h2>Per user</h2><table class="figures"><thead><tr><th scope="col">User</th><th scope="col">Requests</th><th scope="col">Tokens</th><th scope="col">Cost</th></tr></thead><tbody>"#);
    if users.is_empty() {
        main.push_str(r#"<tr><td colspan="4">No requests in this range.</td></tr>"#);
    }
    for u in users {
        let _ = write!(
            main,
            r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            html_escape(&u.user),
            Unit::Count.show(u.requests),
            Unit::Count.show(u.tokens),
            Unit::Dollars.show(u.cost),
        );
    }
    main.push_str("</tbody></table>");
    main
}

/// The alerts page's `<main>`: the active alerts, each firing one with a button that acknowledges it
/// (a plain form: it works without JavaScript), then the recently resolved.
pub fn alerts(listed: &Result<Vec<Alert>, ToolError>) -> String {
    let mut main = String::from("<h1>Alerts</h1>");
    let alerts = match listed {
        Ok(alerts) => alerts,
        Err(e) => {
            let _ = write!(
                main,
                r#"<p class="problem">The alerts cannot be shown: {}</p>"#,
                html_escape(&e.to_string())
            );
            return main;
        }
    };
    let (active, resolved): (Vec<&Alert>, Vec<&Alert>) =
        alerts.iter().partition(|a| a.resolved_at.is_none());
    let head = r#"<table class="figures alerts"><thead><tr><th scope="col">#</th><th scope="col">State</th><th scope="col">Subject</th><th scope="col">Severity</th><th scope="col">Since</th><th scope="col">Message</th><th scope="col">Acknowledgement</th></tr></thead><tbody>"#;
    main.push_str("<h2>Active</h2>");
    if active.is_empty() {
        main.push_str("<p>No alert is active.</p>");
    } else {
        main.push_str(head);
        for a in active {
            let ack = match (&a.acked_at, &a.ack_note) {
                (Some(at), note) => format!(
                    "{} {}",
                    html_escape(&magi_core::format::time(*at)),
                    html_escape(note.as_deref().unwrap_or(""))
                ),
                (None, _) => format!(
                    r#"<form method="post" action="/alerts/{id}/ack"><button type="submit" aria-label="Acknowledge alert {id} on {subject}">Acknowledge</button></form>"#,
                    id = a.id,
                    subject = html_escape(&a.subject)
                ),
            };
            main.push_str(&alert_row(a, &ack));
        }
        main.push_str("</tbody></table>");
    }
    main.push_str("<h2>Recently resolved</h2>");
    if resolved.is_empty() {
        main.push_str("<p>None.</p>");
    } else {
        main.push_str(head);
        for a in resolved {
            let ack = a.ack_note.as_deref().map(html_escape).unwrap_or_default();
            main.push_str(&alert_row(a, &ack));
        }
        main.push_str("</tbody></table>");
    }
    main
}

fn alert_row(a: &Alert, ack: &str) -> String {
    format!(
        r#"<tr data-alert="{id}" data-state="{state}"><th scope="row">{id}</th><td>{state}</td><td>{subject}</td><td class="{class}">{severity}</td><td>{since}</td><td>{message}</td><td>{ack}</td></tr>"#,
        id = a.id,
        state = a.state(),
        subject = html_escape(&a.subject),
        class = severity_class(a.severity),
        severity = a.severity.as_str(),
        since = html_escape(&magi_core::format::time(a.started_at)),
        message = html_escape(&a.message),
    )
}

/// A page that says what went wrong, in a sentence.
pub fn problem(title: &str, sentence: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{t} · MAGI</title><link rel="stylesheet" href="/assets/style.css"></head><body><main id="main"><h1>{t}</h1><p>{s}</p><p><a href="/">Back to the services</a></p></main></body></html>"#,
        t = html_escape(title),
        s = html_escape(sentence)
    )
}

//! The `/status` page: one self-contained HTML document (no scripts, no external files) that refreshes itself.
//! A banner in the stack's colour, then one row per service in catalog order, each with a strip at its left
//! edge in the service's colour (green ok, yellow warning, red critical, grey absent), its state, restarts and
//! resources, then the dependency impact and the recent changes.

use std::fmt::Write as _;
use std::time::Duration;

use magi_check::{Condition, ProbeOutcome, StackStatus};
use magi_core::Severity;
use magi_core::format::human_bytes;

use crate::history::Entry;
use crate::render::short_duration;
use crate::server::Snapshot;
use magi_core::format::html_escape;

pub const GREEN: &str = "#2e7d32";
pub const YELLOW: &str = "#f9a825";
pub const RED: &str = "#c62828";
pub const GREY: &str = "#9e9e9e";

fn colour(severity: Severity, condition: Condition) -> &'static str {
    if condition == Condition::Absent {
        return GREY;
    }
    match severity {
        Severity::Ok | Severity::Info => GREEN,
        Severity::Warning => YELLOW,
        Severity::Critical => RED,
    }
}

/// The page for a snapshot, refreshing every `refresh`.
pub fn render(snapshot: &Snapshot, refresh: Duration) -> String {
    let report = &snapshot.report;
    let stack_colour = match report.stack.status {
        StackStatus::Ok => GREEN,
        StackStatus::Degraded => YELLOW,
        StackStatus::Down => RED,
    };
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MAGI stack: {status}</title>
<style>
body {{ margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #212121; background: #fafafa; }}
header {{ background: {stack_colour}; color: #fff; padding: 14px 20px 14px 44px; }}
header h1 {{ margin: 0; font-size: 20px; }}
main {{ padding: 12px 20px 20px 0; }}
table {{ border-collapse: collapse; width: 100%; background: #fff; }}
th, td {{ text-align: left; padding: 8px 10px; border-bottom: 1px solid #e0e0e0; vertical-align: top; }}
th {{ font-weight: 600; color: #616161; background: #fafafa; }}
td.strip {{ width: 24px; padding: 0; }}
th.strip {{ width: 24px; padding: 0; background: #fafafa; }}
.badge {{ display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; }}
.why {{ color: #616161; font-size: 12px; }}
section {{ padding-left: 44px; }}
h2 {{ font-size: 16px; margin: 18px 0 6px; }}
ul {{ margin: 0; padding-left: 18px; }}
</style></head><body>
<header><h1>MAGI stack: {status}</h1><div>{summary}</div><div>checked {at} in {ms} ms</div></header>
<main><table>
<tr><th class="strip"></th><th>Service</th><th>Status</th><th>Container</th><th>Probe</th><th>CPU</th><th>Memory</th><th>Data</th><th>Restarts</th><th>Uptime</th></tr>
"#,
        refresh = refresh.as_secs().max(1),
        status = report.stack.status,
        summary = html_escape(&report.stack.summary()),
        at = magi_core::format::time(report.at),
        ms = report.duration.as_millis(),
    );
    for s in &report.services {
        let o = &s.observation;
        let c = colour(s.verdict.severity, s.verdict.condition);
        let (state, restarts, uptime) = match &o.container {
            Ok(container) => {
                let mut state = container.state.to_string();
                if let Some(h) = &container.health {
                    let _ = write!(
                        state,
                        ", {} ({} failing)",
                        h.status.name(),
                        h.failing_streak
                    );
                }
                (
                    state,
                    container.restart_count,
                    container
                        .uptime(report.at)
                        .map(short_duration)
                        .unwrap_or_else(|| "-".into()),
                )
            }
            Err(e) => (format!("unknown: {e}"), 0, "-".into()),
        };
        let healed = snapshot.healed.get(&s.service.name).copied().unwrap_or(0);
        let restarts = if healed > 0 {
            format!("{restarts} (+{healed} by watch)")
        } else {
            restarts.to_string()
        };
        let probe = match &o.probe {
            Some(ProbeOutcome::Answered { latency, detail }) => {
                format!("{detail}, {} ms", latency.as_millis())
            }
            Some(ProbeOutcome::Failed { reason }) => format!("failed: {reason}"),
            Some(ProbeOutcome::TimedOut { after }) => {
                format!("no answer in {} ms", after.as_millis())
            }
            Some(ProbeOutcome::Skipped { .. }) | None => "-".into(),
        };
        let memory = o
            .memory
            .map(|m| format!("{} / {}", human_bytes(m.used), human_bytes(m.limit)))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            html,
            r#"<tr class="service" data-service="{name}" data-severity="{severity}"><td class="strip" style="background:{c}"></td><td><b>{name}</b><div class="why">{role}</div></td><td><span class="badge" style="background:{c}">{condition}</span><div class="why">{why}</div></td><td>{container}<div class="why">{state}</div></td><td>{probe}</td><td>{cpu}</td><td>{memory}</td><td>{data}</td><td>{restarts}</td><td>{uptime}</td></tr>"#,
            name = html_escape(&s.service.name),
            severity = s.verdict.severity,
            role = html_escape(&s.service.role),
            condition = s.verdict.condition,
            why = html_escape(&s.verdict.because()),
            container = html_escape(&s.service.container),
            state = html_escape(&state),
            probe = html_escape(&probe),
            cpu = o
                .cpu_percent
                .map(|c| format!("{c:.1} %"))
                .unwrap_or_else(|| "-".into()),
            data = o.data_bytes.map(human_bytes).unwrap_or_else(|| "-".into()),
        );
    }
    html.push_str("</table>\n");
    if !report.stack.impacts.is_empty() {
        html.push_str("<section><h2>Impact</h2><ul>");
        for impact in &report.stack.impacts {
            let _ = write!(html, "<li>{}</li>", html_escape(impact));
        }
        html.push_str("</ul></section>\n");
    }
    html.push_str("<section><h2>Disks</h2><ul>");
    for d in &report.disks {
        let _ = write!(
            html,
            "<li>{} ({}): {} free of {}</li>",
            html_escape(&d.role),
            html_escape(&d.path.display().to_string()),
            human_bytes(d.free),
            human_bytes(d.total)
        );
    }
    html.push_str("</ul></section>\n<section><h2>Recent changes</h2>");
    if snapshot.recent.is_empty() {
        html.push_str("<p class=\"why\">none recorded</p>");
    } else {
        html.push_str("<ul>");
        for entry in &snapshot.recent {
            let line = match entry {
                Entry::Change { message, .. } => message.clone(),
                Entry::Restart {
                    container,
                    reason,
                    outcome,
                    ..
                } => format!("restart of {container} ({reason}): {outcome}"),
            };
            let _ = write!(
                html,
                "<li>{} {}</li>",
                magi_core::format::time(entry.ts()),
                html_escape(&line)
            );
        }
        html.push_str("</ul>");
    }
    html.push_str("</section></main></body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn text_from_the_stack_is_escaped() {
        assert_eq!(
            html_escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn the_page_refreshes_itself_and_colours_each_service() {
        let report = crate::render::tests::report(&["searxng"]);
        let snapshot = Snapshot {
            report: Arc::new(report),
            recent: Vec::new(),
            healed: HashMap::from([("qdrant".to_owned(), 2)]),
        };
        let html = render(&snapshot, Duration::from_secs(15));
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"15\">"));
        assert!(
            html.contains(&format!("header {{ background: {YELLOW};")),
            "the banner in the stack's colour"
        );
        assert!(html.contains(&format!(r#"data-service="searxng" data-severity="critical"><td class="strip" style="background:{RED}">"#)));
        assert!(html.contains(&format!(r#"data-service="caddy" data-severity="ok"><td class="strip" style="background:{GREY}">"#)));
        assert!(html.contains("0 (+2 by watch)"));
    }
}

//! Emitting a report: as `service.status` and `stack.status` events, as the table a person reads (coloured only
//! on a terminal), and as the one-line monitoring-plugin output with perfdata.

use std::fmt::Write as _;

use jiff::Timestamp;
use magi_check::{ProbeOutcome, Report, ServiceReport, StackStatus};
use magi_core::exit::PluginStatus;
use magi_core::format::human_bytes;
use magi_core::table::Table;
use magi_core::{Event, Severity};
use serde_json::json;

/// The name events carry as their source.
pub const SOURCE: &str = "magi-health";

/// The monitoring-plugin status of a report: the stack's, or one service's when the check was narrowed.
pub fn plugin_status(report: &Report, narrowed: bool) -> PluginStatus {
    let severity = if narrowed {
        report
            .services
            .iter()
            .map(|s| s.verdict.severity)
            .max()
            .unwrap_or(Severity::Ok)
    } else {
        report.stack.status.severity()
    };
    match severity {
        Severity::Ok | Severity::Info => PluginStatus::Ok,
        Severity::Warning => PluginStatus::Warning,
        Severity::Critical => PluginStatus::Critical,
    }
}

/// One line about a service: "qdrant (magi-memory) is down: exited with code 3".
pub fn service_line(s: &ServiceReport) -> String {
    format!(
        "{} ({}) is {}: {}",
        s.service.name,
        s.service.container,
        s.verdict.condition,
        s.verdict.because()
    )
}

/// The `service.status` event of one service.
pub fn service_event(s: &ServiceReport, at: Timestamp, impacts: &[String]) -> Event {
    let o = &s.observation;
    let mut event = Event::new(
        SOURCE,
        "service.status",
        &s.service.name,
        s.verdict.severity,
        service_line(s),
    );
    event.ts = at;
    let mut data = json!({
        "container": s.service.container,
        "tier": s.service.tier.as_str(),
        "condition": s.verdict.condition.name(),
        "reasons": s.verdict.reasons,
        "check_ms": o.elapsed.as_secs_f64() * 1000.0,
    });
    match &o.container {
        Ok(c) => {
            data["state"] = json!(c.state.name());
            if let magi_docker::State::Exited { code } | magi_docker::State::OomKilled { code } =
                c.state
            {
                data["exit_code"] = json!(code);
            }
            data["restart_count"] = json!(c.restart_count);
            if let Some(h) = &c.health {
                data["health"] = json!(h.status.name());
                data["failing_streak"] = json!(h.failing_streak);
            }
            if let Some(up) = c.uptime(at) {
                data["uptime_s"] = json!(up.as_secs());
            }
            if let Some(ip) = c.ip() {
                data["ip"] = json!(ip);
            }
        }
        Err(e) => data["error"] = json!(e),
    }
    if let Some(p) = &o.probe {
        data["probe"] = serde_json::to_value(p).unwrap_or_default();
        if let Some(probe) = &s.service.probe {
            data["probe"]["url"] = json!(probe.to_string());
        }
    }
    if let Some(cpu) = o.cpu_percent {
        data["cpu_percent"] = json!((cpu * 100.0).round() / 100.0);
    }
    if let Some(m) = o.memory {
        data["memory_used"] = json!(m.used);
        data["memory_limit"] = json!(m.limit);
    }
    if let Some(n) = o.network {
        data["network_receive_bytes_per_second"] = json!(n.inbound.round());
        data["network_transmit_bytes_per_second"] = json!(n.outbound.round());
    }
    if let Some(b) = o.block_io {
        data["block_read_bytes_per_second"] = json!(b.inbound.round());
        data["block_write_bytes_per_second"] = json!(b.outbound.round());
    }
    if let Some(d) = o.data_bytes {
        data["data_bytes"] = json!(d);
    }
    let mine: Vec<&String> = impacts
        .iter()
        .filter(|i| i.starts_with(&format!("{} is down:", s.service.container)))
        .collect();
    if !mine.is_empty() {
        data["impact"] = json!(mine);
    }
    if let serde_json::Value::Object(map) = data {
        event.data = map;
    }
    event
}

/// The `stack.status` event.
pub fn stack_event(report: &Report) -> Event {
    let stack = &report.stack;
    let count =
        |f: &dyn Fn(&ServiceReport) -> bool| report.services.iter().filter(|s| f(s)).count();
    let mut event = Event::new(
        SOURCE,
        "stack.status",
        "stack",
        stack.status.severity(),
        stack.summary(),
    );
    event.ts = report.at;
    event = event
        .with("status", stack.status.name())
        .with("problems", json!(stack.problems))
        .with("impacts", json!(stack.impacts))
        .with(
            "services",
            json!({
                "total": report.services.len(),
                "ok": count(&|s| s.verdict.severity == Severity::Ok),
                "warning": count(&|s| s.verdict.severity == Severity::Warning),
                "critical": count(&|s| s.verdict.severity == Severity::Critical),
            }),
        )
        .with(
            "disks",
            json!(
                report
                    .disks
                    .iter()
                    .map(|d| json!({
                        "role": d.role, "path": d.path, "free": d.free, "total": d.total
                    }))
                    .collect::<Vec<_>>()
            ),
        )
        .with("check_ms", report.duration.as_secs_f64() * 1000.0);
    event
}

/// Every event of a report: one `service.status` per service, then the `stack.status`.
pub fn events(report: &Report) -> Vec<Event> {
    let mut events: Vec<Event> = report
        .services
        .iter()
        .map(|s| service_event(s, report.at, &report.stack.impacts))
        .collect();
    events.push(stack_event(report));
    events
}

/// The plugin output: `MAGI OK - stack is ok: ... | 'qdrant_latency'=0.003s;1;5;0 ...`.
pub fn nagios(report: &Report, status: PluginStatus, narrowed: bool) -> String {
    let text = if narrowed {
        report
            .services
            .iter()
            .map(service_line)
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        let mut text = report.stack.summary();
        if !report.stack.impacts.is_empty() {
            text.push_str(" (");
            text.push_str(&report.stack.impacts.join("; "));
            text.push(')');
        }
        text
    };
    let text = text.replace('|', "/");
    let mut perf = String::new();
    for s in &report.services {
        let name = s.service.name.as_str();
        if let Some(latency) = s.observation.probe.as_ref().and_then(ProbeOutcome::latency) {
            let _ = write!(perf, " '{name}_latency'={:.6}s;;;0", latency.as_secs_f64());
        }
        if let Some(cpu) = s.observation.cpu_percent {
            let _ = write!(perf, " '{name}_cpu'={cpu:.2}%;;;0");
        }
        if let Some(m) = s.observation.memory {
            let _ = write!(perf, " '{name}_memory'={}B;;;0;{}", m.used, m.limit);
        }
    }
    let _ = write!(
        perf,
        " 'check_duration'={:.6}s;;;0",
        report.duration.as_secs_f64()
    );
    format!("MAGI {} - {text} |{perf}", status.label())
}

/// Terminal colours, used only when stdout is a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    on: bool,
}

impl Palette {
    pub fn new(on: bool) -> Palette {
        Palette { on }
    }

    fn paint(&self, severity: Severity, text: &str) -> String {
        if !self.on {
            return text.to_owned();
        }
        let code = match severity {
            Severity::Ok => "32",
            Severity::Info => "36",
            Severity::Warning => "33",
            Severity::Critical => "31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// The table: one row per service, then the stack's line, its impact and the disks.
pub fn table(report: &Report, palette: Palette) -> String {
    let headers = [
        "SERVICE",
        "CONTAINER",
        "STATUS",
        "STATE",
        "PROBE",
        "CPU",
        "MEMORY",
        "DATA",
        "RESTARTS",
        "UPTIME",
    ];
    let rows: Vec<([String; 10], Severity)> = report
        .services
        .iter()
        .map(|s| {
            let o = &s.observation;
            let (state, restarts, uptime) = match &o.container {
                Ok(c) => {
                    let mut state = c.state.to_string();
                    if let Some(h) = &c.health {
                        let _ = write!(state, ", {}", h.status.name());
                    }
                    let restarts = if c.state == magi_docker::State::Missing {
                        "-".to_owned()
                    } else {
                        c.restart_count.to_string()
                    };
                    (
                        state,
                        restarts,
                        c.uptime(report.at)
                            .map(short_duration)
                            .unwrap_or_else(|| "-".into()),
                    )
                }
                Err(_) => ("unknown".into(), "-".into(), "-".into()),
            };
            let probe = match &o.probe {
                Some(ProbeOutcome::Answered { latency, .. }) => {
                    format!("{} ms", latency.as_millis())
                }
                Some(ProbeOutcome::Failed { .. }) => "failed".into(),
                Some(ProbeOutcome::TimedOut { .. }) => "timeout".into(),
                Some(ProbeOutcome::Skipped { .. }) | None => "-".into(),
            };
            let cpu = o
                .cpu_percent
                .map(|c| format!("{c:.1}%"))
                .unwrap_or_else(|| "-".into());
            let memory = o
                .memory
                .map(|m| human_bytes(m.used))
                .unwrap_or_else(|| "-".into());
            let data = o.data_bytes.map(human_bytes).unwrap_or_else(|| "-".into());
            (
                [
                    s.service.name.clone(),
                    s.service.container.clone(),
                    s.verdict.condition.to_string(),
                    state,
                    probe,
                    cpu,
                    memory,
                    data,
                    restarts,
                    uptime,
                ],
                s.verdict.severity,
            )
        })
        .collect();
    let mut table = Table::new(headers);
    for (row, _) in &rows {
        table.row(row.iter().cloned());
    }
    let mut out = table.render_with(|r, c, cell| match r.checked_sub(1) {
        Some(i) if c == 2 => palette.paint(rows[i].1, &cell),
        _ => cell,
    });
    out.push('\n');
    let stack = &report.stack;
    let label = match stack.status {
        StackStatus::Ok => "OK",
        StackStatus::Degraded => "DEGRADED",
        StackStatus::Down => "DOWN",
    };
    let _ = writeln!(
        out,
        "stack: {}",
        palette.paint(stack.status.severity(), label)
    );
    for problem in &stack.problems {
        let _ = writeln!(out, "  - {problem}");
    }
    for impact in &stack.impacts {
        let _ = writeln!(out, "  impact: {impact}");
    }
    for disk in &report.disks {
        let _ = writeln!(
            out,
            "disk: {} ({}) {} free of {}",
            disk.role,
            disk.path.display(),
            human_bytes(disk.free),
            human_bytes(disk.total)
        );
    }
    let _ = writeln!(out, "checked in {} ms", report.duration.as_millis());
    out
}

/// `3d4h`, `5h12m`, `7m3s`, `42s`.
pub fn short_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    if days > 0 {
        format!("{days}d{hours}h")
    } else if hours > 0 {
        format!("{hours}h{minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;
    use std::time::Duration;

    use magi_check::resources::Disk;
    use magi_check::verdict::{Thresholds, judge, judge_stack};
    use magi_check::{Observation, ServiceReport};
    use magi_core::Config;
    use magi_core::paths::Paths;
    use magi_docker::{Container, Memory, State};

    use super::*;

    /// A report of the built-in catalog where `down` names the services whose container exited with 1.
    pub(crate) fn report(down: &[&str]) -> Report {
        let config = Config::defaults(&Paths::for_test(Path::new("/tmp/magi-render")));
        let services: Vec<ServiceReport> = config
            .services
            .iter()
            .map(|s| {
                let state = if s.profile.is_some() {
                    State::Missing
                } else if down.contains(&s.name.as_str()) {
                    State::Exited { code: 1 }
                } else {
                    State::Running
                };
                let running = state == State::Running;
                let observation = Observation {
                    container: Ok(Container {
                        state,
                        ..Container::missing(&s.container)
                    }),
                    probe: running.then(|| ProbeOutcome::Answered {
                        latency: Duration::from_millis(3),
                        detail: "HTTP 200".into(),
                    }),
                    cpu_percent: running.then_some(1.25),
                    memory: running.then_some(Memory {
                        used: 1 << 20,
                        limit: 1 << 30,
                    }),
                    network: None,
                    block_io: None,
                    data_bytes: None,
                    elapsed: Duration::from_millis(4),
                };
                ServiceReport {
                    verdict: judge(s, &observation, &Thresholds::default()),
                    service: s.clone(),
                    observation,
                }
            })
            .collect();
        let disks = vec![Disk {
            role: "MAGI home".into(),
            path: "/opt/magi".into(),
            free: 50,
            total: 100,
        }];
        let stack = judge_stack(
            &config,
            services.iter().map(|s| (&s.service, &s.verdict)),
            &disks,
        );
        Report {
            at: "2026-11-24T12:00:00Z".parse().unwrap(),
            services,
            disks,
            stack,
            duration: Duration::from_millis(120),
        }
    }

    #[test]
    fn the_plugin_status_is_the_stacks_or_the_narrowed_services() {
        assert_eq!(plugin_status(&report(&[]), false), PluginStatus::Ok);
        assert_eq!(
            plugin_status(&report(&["searxng"]), false),
            PluginStatus::Warning
        );
        assert_eq!(
            plugin_status(&report(&["redis"]), false),
            PluginStatus::Critical
        );
        let mut narrowed = report(&["searxng"]);
        narrowed.services.retain(|s| s.service.name == "searxng");
        assert_eq!(
            plugin_status(&narrowed, true),
            PluginStatus::Critical,
            "the one service checked is down"
        );
    }

    #[test]
    fn the_nagios_line_has_text_and_perfdata() {
        let report = report(&["litellm"]);
        let line = nagios(&report, plugin_status(&report, false), false);
        assert!(
            line.starts_with(
                "MAGI CRITICAL - stack is down: litellm (core) is down: exited with code 1 ("
            ),
            "{line}"
        );
        assert!(
            line.contains("(magi-router is down: chat in magi-cortex cannot reach any model) |"),
            "{line}"
        );
        assert!(line.contains(" 'qdrant_latency'=0.003000s;;;0 'qdrant_cpu'=1.25%;;;0 'qdrant_memory'=1048576B;;;0;1073741824"), "{line}");
        assert!(line.ends_with(" 'check_duration'=0.120000s;;;0"), "{line}");
        assert_eq!(
            line.matches('|').count(),
            1,
            "a | in the text would end it early"
        );
    }

    #[test]
    fn events_are_one_per_service_then_the_stack() {
        let report = report(&["litellm"]);
        let events = events(&report);
        assert_eq!(events.len(), report.services.len() + 1);
        let router = events.iter().find(|e| e.subject == "litellm").unwrap();
        assert_eq!(router.kind, "service.status");
        assert_eq!(router.severity, Severity::Critical);
        assert_eq!(router.data["exit_code"], 1);
        assert_eq!(
            router.data["impact"][0],
            "magi-router is down: chat in magi-cortex cannot reach any model"
        );
        let stack = events.last().unwrap();
        assert_eq!(
            (stack.kind.as_str(), stack.subject.as_str()),
            ("stack.status", "stack")
        );
        assert_eq!(stack.data["status"], "down");
        assert_eq!(stack.data["services"]["critical"], 1);
    }

    #[test]
    fn the_table_is_plain_unless_coloured() {
        let report = report(&["searxng"]);
        let plain = table(&report, Palette::new(false));
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("stack: DEGRADED"), "{plain}");
        let coloured = table(&report, Palette::new(true));
        assert!(coloured.contains("\x1b[31mdown"), "{coloured}");
        assert!(coloured.contains("\x1b[33mDEGRADED\x1b[0m"), "{coloured}");
    }
}

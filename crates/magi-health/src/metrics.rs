//! The Prometheus text exposition of a snapshot: the stack's status, and per service whether it is up, its
//! container state, restarts, CPU, memory, probe latency and data size, the free disk space, and how long the
//! check took.

use std::fmt::Write as _;

use magi_docker::State;

use crate::server::Snapshot;
use magi_core::format::label_value;

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", label_value(v)))
            .collect();
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
        }
    }
}

/// The metrics page.
pub fn render(snapshot: &Snapshot) -> String {
    let report = &snapshot.report;
    let mut out = String::with_capacity(8192);
    let mut f = Family { out: &mut out };
    f.header(
        "magi_stack_status",
        "gauge",
        "Status of the stack: 0 ok, 1 degraded, 2 down.",
    );
    f.sample(
        "magi_stack_status",
        &[],
        match report.stack.status {
            magi_check::StackStatus::Ok => 0.0,
            magi_check::StackStatus::Degraded => 1.0,
            magi_check::StackStatus::Down => 2.0,
        },
    );
    let services = &report.services;
    f.header(
        "magi_service_up",
        "gauge",
        "Whether the service runs and answers its probe (1) or not (0).",
    );
    for s in services {
        f.sample(
            "magi_service_up",
            &ids(s),
            f64::from(u8::from(s.verdict.is_ready())),
        );
    }
    f.header(
        "magi_service_severity",
        "gauge",
        "Verdict of the service: 0 ok, 1 warning, 2 critical.",
    );
    for s in services {
        let v = match s.verdict.severity {
            magi_core::Severity::Ok | magi_core::Severity::Info => 0.0,
            magi_core::Severity::Warning => 1.0,
            magi_core::Severity::Critical => 2.0,
        };
        f.sample("magi_service_severity", &ids(s), v);
    }
    f.header(
        "magi_container_state",
        "gauge",
        "The container's state: 1 for the state it is in, 0 for the others.",
    );
    for s in services {
        let current = s
            .observation
            .container
            .as_ref()
            .map(|c| c.state.name())
            .ok();
        for state in State::NAMES {
            let mut l = ids(s);
            l.push(("state", state));
            f.sample(
                "magi_container_state",
                &l,
                f64::from(u8::from(current == Some(state))),
            );
        }
    }
    f.header(
        "magi_container_restarts_total",
        "counter",
        "Restarts of the container by Docker's restart policy.",
    );
    for s in services {
        if let Ok(c) = &s.observation.container
            && c.state != State::Missing
        {
            f.sample(
                "magi_container_restarts_total",
                &ids(s),
                c.restart_count as f64,
            );
        }
    }
    f.header(
        "magi_health_restarts_total",
        "counter",
        "Restarts made by magi-health watch --restart-unhealthy since it started.",
    );
    for s in services {
        let n = snapshot.healed.get(&s.service.name).copied().unwrap_or(0);
        f.sample("magi_health_restarts_total", &ids(s), n as f64);
    }
    f.header(
        "magi_container_cpu_percent",
        "gauge",
        "CPU used by the container, in percent of one CPU.",
    );
    for s in services {
        if let Some(cpu) = s.observation.cpu_percent {
            f.sample("magi_container_cpu_percent", &ids(s), cpu);
        }
    }
    f.header(
        "magi_container_memory_bytes",
        "gauge",
        "Memory used by the container, less inactive file cache.",
    );
    for s in services {
        if let Some(m) = s.observation.memory {
            f.sample("magi_container_memory_bytes", &ids(s), m.used as f64);
        }
    }
    f.header(
        "magi_container_memory_limit_bytes",
        "gauge",
        "Memory limit of the container (the machine's memory when unlimited).",
    );
    for s in services {
        if let Some(m) = s.observation.memory {
            f.sample("magi_container_memory_limit_bytes", &ids(s), m.limit as f64);
        }
    }
    f.header(
        "magi_probe_latency_seconds",
        "gauge",
        "How long the service's endpoint took to answer.",
    );
    for s in services {
        if let Some(l) = s.observation.probe.as_ref().and_then(|p| p.latency()) {
            f.sample("magi_probe_latency_seconds", &ids(s), l.as_secs_f64());
        }
    }
    f.header(
        "magi_data_bytes",
        "gauge",
        "Size of the service's data directories.",
    );
    for s in services {
        if let Some(d) = s.observation.data_bytes {
            f.sample("magi_data_bytes", &ids(s), d as f64);
        }
    }
    f.header(
        "magi_disk_free_bytes",
        "gauge",
        "Free space on the file system of a directory the stack writes to.",
    );
    for d in &report.disks {
        let path = d.path.display().to_string();
        f.sample(
            "magi_disk_free_bytes",
            &[("role", &d.role), ("path", &path)],
            d.free as f64,
        );
    }
    f.header(
        "magi_disk_size_bytes",
        "gauge",
        "Size of the file system of a directory the stack writes to.",
    );
    for d in &report.disks {
        let path = d.path.display().to_string();
        f.sample(
            "magi_disk_size_bytes",
            &[("role", &d.role), ("path", &path)],
            d.total as f64,
        );
    }
    f.header(
        "magi_check_duration_seconds",
        "gauge",
        "How long the last check of the stack took.",
    );
    f.sample(
        "magi_check_duration_seconds",
        &[],
        report.duration.as_secs_f64(),
    );
    f.header(
        "magi_check_timestamp_seconds",
        "gauge",
        "When the last check ran, in seconds since the epoch.",
    );
    f.sample(
        "magi_check_timestamp_seconds",
        &[],
        report.at.as_millisecond() as f64 / 1000.0,
    );
    out
}

fn ids(s: &magi_check::ServiceReport) -> Vec<(&'static str, &str)> {
    vec![
        ("service", s.service.name.as_str()),
        ("container", s.service.container.as_str()),
    ]
}

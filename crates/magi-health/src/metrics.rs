//! The Prometheus text exposition of a snapshot: the stack's status, and per service whether it is up, its
//! container state, restarts, CPU, memory, probe latency and data size, the free disk space, and how long the
//! check took.

use magi_docker::State;

use crate::server::Snapshot;
use magi_core::exposition::{Exposition, Kind};

/// The metrics page.
pub fn render(snapshot: &Snapshot) -> String {
    let report = &snapshot.report;
    let mut page = Exposition::new();
    page.family(
        "magi_stack_status",
        Kind::Gauge,
        "Status of the stack: 0 ok, 1 degraded, 2 down.",
    );
    page.sample(
        &[],
        match report.stack.status {
            magi_check::StackStatus::Ok => 0.0,
            magi_check::StackStatus::Degraded => 1.0,
            magi_check::StackStatus::Down => 2.0,
        },
    );
    let services = &report.services;
    page.family(
        "magi_service_up",
        Kind::Gauge,
        "Whether the service runs and answers its probe (1) or not (0).",
    );
    for s in services {
        page.sample(&ids(s), f64::from(u8::from(s.verdict.is_ready())));
    }
    page.family(
        "magi_service_severity",
        Kind::Gauge,
        "Verdict of the service: 0 ok, 1 warning, 2 critical.",
    );
    for s in services {
        let v = match s.verdict.severity {
            magi_core::Severity::Ok | magi_core::Severity::Info => 0.0,
            magi_core::Severity::Warning => 1.0,
            magi_core::Severity::Critical => 2.0,
        };
        page.sample(&ids(s), v);
    }
    page.family(
        "magi_container_state",
        Kind::Gauge,
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
            page.sample(&l, f64::from(u8::from(current == Some(state))));
        }
    }
    page.family(
        "magi_container_restarts_total",
        Kind::Counter,
        "Restarts of the container by Docker's restart policy.",
    );
    for s in services {
        if let Ok(c) = &s.observation.container
            && c.state != State::Missing
        {
            page.sample(&ids(s), c.restart_count as f64);
        }
    }
    page.family(
        "magi_health_restarts_total",
        Kind::Counter,
        "Restarts made by magi-health watch --restart-unhealthy since it started.",
    );
    for s in services {
        let n = snapshot.healed.get(&s.service.name).copied().unwrap_or(0);
        page.sample(&ids(s), n as f64);
    }
    page.family(
        "magi_container_cpu_percent",
        Kind::Gauge,
        "CPU used by the container, in percent of one CPU.",
    );
    for s in services {
        if let Some(cpu) = s.observation.cpu_percent {
            page.sample(&ids(s), cpu);
        }
    }
    page.family(
        "magi_container_memory_bytes",
        Kind::Gauge,
        "Memory used by the container, less inactive file cache.",
    );
    for s in services {
        if let Some(m) = s.observation.memory {
            page.sample(&ids(s), m.used as f64);
        }
    }
    page.family(
        "magi_container_memory_limit_bytes",
        Kind::Gauge,
        "Memory limit of the container (the machine's memory when unlimited).",
    );
    for s in services {
        if let Some(m) = s.observation.memory {
            page.sample(&ids(s), m.limit as f64);
        }
    }
    page.family(
        "magi_probe_latency_seconds",
        Kind::Gauge,
        "How long the service's endpoint took to answer.",
    );
    for s in services {
        if let Some(l) = s.observation.probe.as_ref().and_then(|p| p.latency()) {
            page.sample(&ids(s), l.as_secs_f64());
        }
    }
    page.family(
        "magi_data_bytes",
        Kind::Gauge,
        "Size of the service's data directories.",
    );
    for s in services {
        if let Some(d) = s.observation.data_bytes {
            page.sample(&ids(s), d as f64);
        }
    }
    page.family(
        "magi_disk_free_bytes",
        Kind::Gauge,
        "Free space on the file system of a directory the stack writes to.",
    );
    for d in &report.disks {
        let path = d.path.display().to_string();
        page.sample(&[("role", &d.role), ("path", &path)], d.free as f64);
    }
    page.family(
        "magi_disk_size_bytes",
        Kind::Gauge,
        "Size of the file system of a directory the stack writes to.",
    );
    for d in &report.disks {
        let path = d.path.display().to_string();
        page.sample(&[("role", &d.role), ("path", &path)], d.total as f64);
    }
    page.family(
        "magi_check_duration_seconds",
        Kind::Gauge,
        "How long the last check of the stack took.",
    );
    page.sample(&[], report.duration.as_secs_f64());
    page.family(
        "magi_check_timestamp_seconds",
        Kind::Gauge,
        "When the last check ran, in seconds since the epoch.",
    );
    page.sample(&[], report.at.as_millisecond() as f64 / 1000.0);
    page.finish()
}

fn ids(s: &magi_check::ServiceReport) -> Vec<(&'static str, &str)> {
    vec![
        ("service", s.service.name.as_str()),
        ("container", s.service.container.as_str()),
    ]
}

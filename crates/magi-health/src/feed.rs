//! What `watch` writes to the metrics store each round (the `health` shard): per service its CPU, memory,
//! network and block I/O in bytes a second (whole bytes: a rate between two rounds), probe latency, data
//! size, restart count, whether it is up and its condition (as a code of [`Condition::code`]), how full each
//! disk of the stack is, and the stack's status (and whether its core is up, 1 or 0). Figures are rounded to
//! what they can mean (CPU to 0.01 %, latency to 0.1 ms), which is also what lets the store write them in a
//! byte or two.
//!
//! A service Docker could not say anything about (unknown) or that is not deployed (absent) gets no
//! `service_up` point at all: time without an observation stays unknown, never counted as up or down.

use magi_check::{Condition, Report, StackStatus};
use magi_tsdb::{Kind, Sample, SeriesKey};

/// The shard `watch` writes.
pub const SHARD: &str = "health";

/// The samples of one round, at `ts_ms`.
pub fn samples(report: &Report, ts_ms: i64) -> Vec<Sample> {
    let mut out = Vec::with_capacity(report.services.len() * 11 + 1);
    let mut push = |name: &str, service: Option<&str>, value: f64| {
        let labels: Vec<(&str, &str)> = service.map(|s| ("service", s)).into_iter().collect();
        if let Ok(key) = SeriesKey::of(name, &labels) {
            out.push(Sample {
                key,
                kind: Kind::Gauge,
                ts_ms,
                value,
            });
        }
    };
    for s in &report.services {
        let service = Some(s.service.name.as_str());
        let o = &s.observation;
        if let Some(cpu) = o.cpu_percent {
            push("container_cpu_percent", service, round(cpu, 100.0));
        }
        if let Some(memory) = o.memory {
            push("container_memory_bytes", service, memory.used as f64);
            push("container_memory_limit_bytes", service, memory.limit as f64);
        }
        if let Some(n) = o.network {
            push(
                "container_network_receive_bytes_per_second",
                service,
                n.inbound.round(),
            );
            push(
                "container_network_transmit_bytes_per_second",
                service,
                n.outbound.round(),
            );
        }
        if let Some(b) = o.block_io {
            push(
                "container_block_read_bytes_per_second",
                service,
                b.inbound.round(),
            );
            push(
                "container_block_write_bytes_per_second",
                service,
                b.outbound.round(),
            );
        }
        if let Some(latency) = o.probe.as_ref().and_then(|p| p.latency()) {
            push(
                "probe_latency_seconds",
                service,
                round(latency.as_secs_f64(), 10_000.0),
            );
        }
        if let Some(bytes) = o.data_bytes {
            push("data_bytes", service, bytes as f64);
        }
        if let Ok(container) = &o.container {
            push(
                "container_restarts",
                service,
                container.restart_count as f64,
            );
        }
        if let Some(up) = up(s.verdict.condition) {
            push("service_up", service, up);
        }
        // What the dashboard's tile says: the same word `magi health` prints, unknown included.
        push(
            "service_condition",
            service,
            f64::from(s.verdict.condition.code()),
        );
    }
    let stack = match report.stack.status {
        StackStatus::Ok => 2.0,
        StackStatus::Degraded => 1.0,
        StackStatus::Down => 0.0,
    };
    push("stack_status", None, stack);
    // The core's own 1/0, for the SLA report's time accounting (a rollup's sum over count is its share up).
    push(
        "stack_core_up",
        None,
        if report.stack.status == StackStatus::Down {
            0.0
        } else {
            1.0
        },
    );
    for disk in &report.disks {
        if let Some(free) = disk.free_fraction()
            && let Ok(key) = SeriesKey::of("disk_used_percent", &[("disk", disk.role.as_str())])
        {
            out.push(Sample {
                key,
                kind: Kind::Gauge,
                ts_ms,
                value: round((1.0 - free) * 100.0, 100.0),
            });
        }
    }
    out
}

/// 1 for a service that answers (if slowly, or close to its memory limit), 0 for one that does not,
/// nothing when nobody knows.
fn up(condition: Condition) -> Option<f64> {
    match condition {
        Condition::Up | Condition::Slow | Condition::Unhealthy | Condition::MemoryPressure => {
            Some(1.0)
        }
        Condition::Starting | Condition::Down => Some(0.0),
        Condition::Absent | Condition::Unknown => None,
    }
}

fn round(value: f64, per_unit: f64) -> f64 {
    (value * per_unit).round() / per_unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_not_down() {
        assert_eq!(up(Condition::Unknown), None);
        assert_eq!(up(Condition::Absent), None);
        assert_eq!(up(Condition::Down), Some(0.0));
        assert_eq!(up(Condition::Slow), Some(1.0));
    }

    #[test]
    fn figures_are_rounded_to_what_they_mean() {
        assert_eq!(round(12.345_678, 100.0), 12.35);
        assert_eq!(round(0.012_345_6, 10_000.0), 0.0123);
    }
}

//! Resource samples of a container, and the figures `docker stats` derives from them.
//!
//! CPU % needs two samples: the container's CPU time used between them over the whole machine's CPU time in
//! the same span, times the number of online CPUs (so one busy core reads 100 %). Memory used is the docker
//! CLI's figure: usage less the inactive file cache, which the kernel reports as `total_inactive_file` on
//! cgroup v1 and `inactive_file` on cgroup v2 (older v1 engines only give `cache`). Network and block I/O are
//! cumulative byte counters too, turned into bytes per second between two samples by [`Transfer::rate`]. All
//! are pure functions.

use std::collections::HashMap;

use bollard::models::ContainerStatsResponse;
use serde::Serialize;

/// Cumulative CPU counters at one instant, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CpuSample {
    /// CPU time the container has used.
    pub container: u64,
    /// CPU time the whole machine has used, all CPUs together.
    pub system: u64,
    pub online_cpus: u32,
}

/// Memory in use and the limit it may grow to, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Memory {
    pub used: u64,
    /// The container's limit, or the machine's memory when it has none.
    pub limit: u64,
}

impl Memory {
    /// Used over limit, 0 to 1.
    pub fn fraction(&self) -> Option<f64> {
        (self.limit > 0).then(|| self.used as f64 / self.limit as f64)
    }
}

/// Bytes moved in two directions since the container started: for a network, received and sent (every
/// interface but loopback); for block devices, read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Transfer {
    pub inbound: u64,
    pub outbound: u64,
}

/// Bytes per second in each direction between two [`Transfer`] samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TransferRate {
    pub inbound: f64,
    pub outbound: f64,
}

impl Transfer {
    /// The rate from `before` to `self` over `seconds`; `None` when no time passed or a counter went
    /// backwards (the container restarted, or an interface went away).
    pub fn rate(&self, before: &Transfer, seconds: f64) -> Option<TransferRate> {
        if seconds <= 0.0 || !seconds.is_finite() {
            return None;
        }
        Some(TransferRate {
            inbound: self.inbound.checked_sub(before.inbound)? as f64 / seconds,
            outbound: self.outbound.checked_sub(before.outbound)? as f64 / seconds,
        })
    }
}

/// One stats sample of a running container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Sample {
    pub cpu: Option<CpuSample>,
    pub memory: Option<Memory>,
    pub network: Option<Transfer>,
    pub block: Option<Transfer>,
}

impl Sample {
    /// Reads the engine's stats answer.
    pub fn from_stats(stats: &ContainerStatsResponse) -> Sample {
        let cpu = stats.cpu_stats.as_ref().and_then(|c| {
            let usage = c.cpu_usage.as_ref()?;
            let online_cpus = c
                .online_cpus
                .filter(|n| *n > 0)
                .or_else(|| usage.percpu_usage.as_ref().map(|p| p.len() as u32))
                .filter(|n| *n > 0)?;
            Some(CpuSample {
                container: usage.total_usage?,
                system: c.system_cpu_usage?,
                online_cpus,
            })
        });
        let memory = stats.memory_stats.as_ref().and_then(|m| {
            let usage = m.usage?;
            Some(Memory {
                used: memory_used(usage, m.stats.as_ref()),
                limit: m.limit.unwrap_or(0),
            })
        });
        let network = stats.networks.as_ref().map(|networks| {
            networks
                .iter()
                .filter(|(name, _)| name.as_str() != "lo")
                .fold(Transfer::default(), |sum, (_, n)| Transfer {
                    inbound: sum.inbound.saturating_add(n.rx_bytes.unwrap_or(0)),
                    outbound: sum.outbound.saturating_add(n.tx_bytes.unwrap_or(0)),
                })
        });
        let block = stats
            .blkio_stats
            .as_ref()
            .and_then(|b| b.io_service_bytes_recursive.as_ref())
            .map(|entries| {
                block_transfer(
                    entries
                        .iter()
                        .filter_map(|e| Some((e.op.as_deref()?, e.value?))),
                )
            });
        Sample {
            cpu,
            memory,
            network,
            block,
        }
    }
}

/// Block bytes read and written from `(operation, bytes)` entries, per device, as cgroup v1's
/// `blkio.throttle.io_service_bytes` and the engine write them (`Read`/`read`, `Write`/`write`; the
/// `Total`, `Sync` and `Async` lines count the same bytes again and are left out).
pub fn block_transfer<'a>(entries: impl Iterator<Item = (&'a str, u64)>) -> Transfer {
    entries.fold(Transfer::default(), |sum, (op, bytes)| {
        if op.eq_ignore_ascii_case("read") {
            Transfer {
                inbound: sum.inbound.saturating_add(bytes),
                ..sum
            }
        } else if op.eq_ignore_ascii_case("write") {
            Transfer {
                outbound: sum.outbound.saturating_add(bytes),
                ..sum
            }
        } else {
            sum
        }
    })
}

/// CPU use between two samples, in percent of one CPU (200 % is two busy CPUs). `None` when the samples do
/// not span any time or the counters went backwards (the container restarted in between).
pub fn cpu_percent(before: &CpuSample, after: &CpuSample) -> Option<f64> {
    let container = after.container.checked_sub(before.container)?;
    let system = after.system.checked_sub(before.system)?;
    if system == 0 {
        return None;
    }
    Some(container as f64 / system as f64 * f64::from(after.online_cpus) * 100.0)
}

/// Memory used the docker CLI's way: usage less inactive file cache, for cgroup v1 and v2.
pub fn memory_used(usage: u64, stats: Option<&HashMap<String, u64>>) -> u64 {
    let Some(stats) = stats else {
        return usage;
    };
    let inactive = stats
        .get("total_inactive_file")
        .or_else(|| stats.get("inactive_file"))
        .or_else(|| stats.get("cache"));
    match inactive {
        Some(&inactive) if inactive < usage => usage - inactive,
        _ => usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, u64)]) -> HashMap<String, u64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn memory_is_usage_less_inactive_file_on_v1_and_v2() {
        let v1 = map(&[
            ("total_inactive_file", 400),
            ("inactive_file", 300),
            ("cache", 900),
        ]);
        assert_eq!(
            memory_used(1000, Some(&v1)),
            600,
            "cgroup v1 uses the hierarchy total"
        );
        let v2 = map(&[("inactive_file", 300), ("anon", 700)]);
        assert_eq!(memory_used(1000, Some(&v2)), 700);
        let old_v1 = map(&[("cache", 250)]);
        assert_eq!(memory_used(1000, Some(&old_v1)), 750);
        let odd = map(&[("inactive_file", 5000)]);
        assert_eq!(memory_used(1000, Some(&odd)), 1000, "never below zero");
        assert_eq!(memory_used(1000, None), 1000);
    }

    #[test]
    fn cpu_is_container_time_over_system_time_times_cpus() {
        let before = CpuSample {
            container: 1_000,
            system: 100_000,
            online_cpus: 2,
        };
        let after = CpuSample {
            container: 11_000,
            system: 200_000,
            online_cpus: 2,
        };
        assert_eq!(cpu_percent(&before, &after), Some(20.0));
        assert_eq!(cpu_percent(&after, &after), None, "no time passed");
        assert_eq!(cpu_percent(&after, &before), None, "counters reset");
    }

    #[test]
    fn a_real_v1_answer_is_read() {
        let stats: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 33134232, "percpu_usage": [15668107, 17466125]},
                          "system_cpu_usage": 1413200000000u64},
            "memory_stats": {"usage": 2134016, "limit": 25276514304u64,
                             "stats": {"total_inactive_file": 1474560, "cache": 1474560}}
        }))
        .unwrap();
        let sample = Sample::from_stats(&stats);
        assert_eq!(
            sample.cpu,
            Some(CpuSample {
                container: 33134232,
                system: 1413200000000,
                online_cpus: 2
            }),
            "online CPUs fall back to the per-CPU list"
        );
        assert_eq!(
            sample.memory,
            Some(Memory {
                used: 659456,
                limit: 25276514304
            })
        );
        assert_eq!((sample.network, sample.block), (None, None));
    }

    #[test]
    fn network_and_block_io_sum_every_interface_and_device() {
        let stats: ContainerStatsResponse = serde_json::from_value(serde_json::json!({
            "networks": {"eth0": {"rx_bytes": 1000, "tx_bytes": 200},
                         "eth1": {"rx_bytes": 24, "tx_bytes": 6},
                         "lo": {"rx_bytes": 99999, "tx_bytes": 99999}},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "Read", "value": 4096},
                {"major": 8, "minor": 0, "op": "Write", "value": 8192},
                {"major": 8, "minor": 0, "op": "Sync", "value": 12288},
                {"major": 8, "minor": 0, "op": "Total", "value": 12288},
                {"major": 8, "minor": 16, "op": "read", "value": 1},
                {"major": 8, "minor": 16, "op": "write", "value": 2}
            ]}
        }))
        .unwrap();
        let sample = Sample::from_stats(&stats);
        assert_eq!(
            sample.network,
            Some(Transfer {
                inbound: 1024,
                outbound: 206
            })
        );
        assert_eq!(
            sample.block,
            Some(Transfer {
                inbound: 4097,
                outbound: 8194
            })
        );
    }

    #[test]
    fn rates_are_bytes_a_second_and_none_across_a_restart() {
        let before = Transfer {
            inbound: 1_000,
            outbound: 50,
        };
        let after = Transfer {
            inbound: 11_000,
            outbound: 50,
        };
        assert_eq!(
            after.rate(&before, 5.0),
            Some(TransferRate {
                inbound: 2_000.0,
                outbound: 0.0
            })
        );
        assert_eq!(after.rate(&before, 0.0), None, "no time passed");
        assert_eq!(before.rate(&after, 5.0), None, "counters reset");
    }
}

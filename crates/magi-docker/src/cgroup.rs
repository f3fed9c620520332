//! Resource samples read straight from the kernel's cgroup files, for an engine on this machine.
//!
//! The engine's stats endpoint is built on a collector that ticks once a second: after the first request,
//! every further one (for any container) waits for the next tick, so sampling ten containers through it costs
//! about a second. The same counters sit in the container's cgroup, found through `/proc/PID/cgroup`, and read
//! in microseconds: CPU time (`cpuacct.usage` on cgroup v1, `usage_usec` in `cpu.stat` on v2), memory usage
//! and the inactive file cache (`memory.usage_in_bytes` and `memory.stat` on v1, `memory.current` and
//! `memory.stat` on v2), the limit (the machine's memory when there is none, as the engine reports it), and
//! the machine's CPU time from `/proc/stat` in nanoseconds, which is the engine's own `system_cpu_usage`.
//! Block I/O is `blkio.throttle.io_service_bytes` on v1 and `io.stat` on v2; network traffic is the
//! container's own network namespace's `/proc/PID/net/dev`, every interface but loopback, as the engine counts.
//! Callers fall back to the engine when these files cannot be read (a remote engine, another PID namespace).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::stats::{CpuSample, Memory, Sample, Transfer, block_transfer, memory_used};

/// Where the cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The cgroup directories of one process: the v1 `cpuacct`, `memory` and (where mounted) `blkio` ones, or
/// the one v2 directory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dirs {
    V1 {
        cpu: PathBuf,
        memory: PathBuf,
        blkio: Option<PathBuf>,
    },
    V2(PathBuf),
}

/// Reads `/proc/PID/cgroup` into the directories holding its counters.
fn dirs(root: &Path, proc_cgroup: &str) -> Option<Dirs> {
    let mut cpu = None;
    let mut memory = None;
    let mut blkio = None;
    let mut unified = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            unified = Some(root.join(path));
            continue;
        }
        let names: Vec<&str> = controllers.split(',').collect();
        if names.contains(&"cpuacct") {
            cpu = Some(root.join(controllers).join(path));
        }
        if names.contains(&"memory") {
            memory = Some(root.join(controllers).join(path));
        }
        if names.contains(&"blkio") {
            blkio = Some(root.join(controllers).join(path));
        }
    }
    match (cpu, memory, unified) {
        (Some(cpu), Some(memory), _) => Some(Dirs::V1 { cpu, memory, blkio }),
        (None, None, Some(dir)) => Some(Dirs::V2(dir)),
        _ => None,
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn number(path: &Path) -> Option<u64> {
    read(path)?.trim().parse().ok()
}

/// `key value` lines (`memory.stat`, `cpu.stat`).
fn table(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// The machine's CPU time in nanoseconds and its online CPUs, from `/proc/stat`, as the engine computes them.
fn system_cpu(proc_stat: &str, ticks_per_second: u64) -> Option<(u64, u32)> {
    let total_line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: u64 = total_line
        .split_whitespace()
        .skip(1)
        .take(7)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    let online = proc_stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count() as u32;
    Some((ticks * (1_000_000_000 / ticks_per_second.max(1)), online))
}

/// Bytes received and sent on every interface but loopback, from a `/proc/net/dev` table.
fn network(net_dev: &str) -> Option<Transfer> {
    let mut total = Transfer::default();
    let mut interfaces = 0;
    for line in net_dev.lines().skip(2) {
        let (name, counters) = line.split_once(':')?;
        if name.trim() == "lo" {
            continue;
        }
        let fields: Vec<u64> = counters
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        total.inbound = total.inbound.saturating_add(*fields.first()?);
        total.outbound = total.outbound.saturating_add(*fields.get(8)?);
        interfaces += 1;
    }
    (interfaces > 0).then_some(total)
}

/// Bytes read and written on every device, from cgroup v2's `io.stat` (`8:0 rbytes=.. wbytes=.. ...`).
fn io_stat(text: &str) -> Transfer {
    block_transfer(text.split_whitespace().filter_map(|field| {
        let (key, value) = field.split_once('=')?;
        let op = match key {
            "rbytes" => "read",
            "wbytes" => "write",
            _ => return None,
        };
        Some((op, value.parse().ok()?))
    }))
}

/// Bytes read and written from cgroup v1's `blkio.throttle.io_service_bytes` (`8:0 Read 4096` lines).
fn blkio_service_bytes(text: &str) -> Transfer {
    block_transfer(text.lines().filter_map(|line| {
        let mut parts = line.split_whitespace();
        let (_device, op, bytes) = (parts.next()?, parts.next()?, parts.next()?);
        Some((op, bytes.parse().ok()?))
    }))
}

fn machine_memory() -> Option<u64> {
    let meminfo = read(Path::new("/proc/meminfo"))?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

fn ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100, |t| t as u64)
}

/// A sample of the process `pid`'s cgroup, or `None` if its files cannot be read here.
pub fn sample(pid: i64) -> Option<Sample> {
    if pid <= 0 {
        return None;
    }
    let dirs = dirs(
        Path::new(CGROUP_ROOT),
        &read(&PathBuf::from(format!("/proc/{pid}/cgroup")))?,
    )?;
    let (system, online_cpus) = system_cpu(&read(Path::new("/proc/stat"))?, ticks_per_second())?;
    let machine = machine_memory().unwrap_or(u64::MAX);
    let (container, usage, stats, limit, block) = match &dirs {
        Dirs::V1 { cpu, memory, blkio } => (
            number(&cpu.join("cpuacct.usage"))?,
            number(&memory.join("memory.usage_in_bytes"))?,
            table(&read(&memory.join("memory.stat"))?),
            number(&memory.join("memory.limit_in_bytes")),
            blkio
                .as_ref()
                .and_then(|dir| read(&dir.join("blkio.throttle.io_service_bytes")))
                .map(|text| blkio_service_bytes(&text)),
        ),
        Dirs::V2(dir) => (
            table(&read(&dir.join("cpu.stat"))?).get("usage_usec")? * 1000,
            number(&dir.join("memory.current"))?,
            table(&read(&dir.join("memory.stat"))?),
            number(&dir.join("memory.max")),
            read(&dir.join("io.stat")).map(|text| io_stat(&text)),
        ),
    };
    Some(Sample {
        cpu: Some(CpuSample {
            container,
            system,
            online_cpus,
        }),
        memory: Some(Memory {
            used: memory_used(usage, Some(&stats)),
            limit: limit.map_or(machine, |l| l.min(machine)),
        }),
        network: read(&PathBuf::from(format!("/proc/{pid}/net/dev"))).and_then(|t| network(&t)),
        block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_controllers_are_found_by_name() {
        let text = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n0::/docker/abc\n";
        assert_eq!(
            dirs(Path::new("/sys/fs/cgroup"), text),
            Some(Dirs::V1 {
                cpu: PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/docker/abc"),
                memory: PathBuf::from("/sys/fs/cgroup/memory/docker/abc"),
                blkio: None,
            })
        );
        let with_blkio = format!("{text}7:blkio:/docker/abc\n");
        assert!(matches!(
            dirs(Path::new("/sys/fs/cgroup"), &with_blkio),
            Some(Dirs::V1 { blkio: Some(b), .. }) if b == Path::new("/sys/fs/cgroup/blkio/docker/abc")
        ));
    }

    #[test]
    fn network_counts_every_interface_but_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n                     face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n                        lo:  500 5 0 0 0 0 0 0  500 5 0 0 0 0 0 0\n                      eth0: 1000 10 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n                      eth1: 24 1 0 0 0 0 0 0 6 1 0 0 0 0 0 0\n";
        assert_eq!(
            network(text),
            Some(Transfer {
                inbound: 1024,
                outbound: 206
            })
        );
        let only_loopback = "h\nh\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n";
        assert_eq!(network(only_loopback), None, "no interface to count");
        assert_eq!(network("h\nh\n  eth0: garbage\n"), None);
    }

    #[test]
    fn block_io_is_read_and_written_bytes_on_v1_and_v2() {
        let v2 = "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2 rios=1 wios=1\n";
        assert_eq!(
            io_stat(v2),
            Transfer {
                inbound: 4097,
                outbound: 8194
            }
        );
        let v1 = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n";
        assert_eq!(
            blkio_service_bytes(v1),
            Transfer {
                inbound: 4096,
                outbound: 8192
            }
        );
    }

    #[test]
    fn v2_is_the_one_unified_line() {
        let text = "0::/system.slice/docker-abc.scope\n";
        assert_eq!(
            dirs(Path::new("/sys/fs/cgroup"), text),
            Some(Dirs::V2(PathBuf::from(
                "/sys/fs/cgroup/system.slice/docker-abc.scope"
            )))
        );
    }

    #[test]
    fn system_cpu_is_the_first_seven_fields_in_nanoseconds() {
        let stat = "cpu  100 2 30 4000 5 6 7 8 0 0\ncpu0 50 1 15 2000 2 3 3 4 0 0\ncpu1 50 1 15 2000 3 3 4 4 0 0\nintr 1\n";
        assert_eq!(system_cpu(stat, 100), Some((4150 * 10_000_000, 2)));
    }

    #[test]
    fn this_process_can_be_sampled_where_cgroups_are_readable() {
        let Some(sample) = sample(std::process::id() as i64) else {
            eprintln!("skipped: this process's cgroup files are not readable here");
            return;
        };
        let cpu = sample.cpu.unwrap();
        assert!(cpu.container > 0 && cpu.system > cpu.container && cpu.online_cpus > 0);
        let memory = sample.memory.unwrap();
        assert!(memory.used > 0 && memory.limit >= memory.used);
    }
}

//! Resource samples read straight from the kernel's cgroup files, for an engine on this machine.
//!
//! The engine's stats endpoint is built on a collector that ticks once a second: after the first request,
//! every further one (for any container) waits for the next tick, so sampling ten containers through it costs
//! about a second. The same counters sit in the container's cgroup, found through `/proc/PID/cgroup`, and read
//! in microseconds: CPU time (`cpuacct.usage` on cgroup v1, `usage_usec` in `cpu.stat` on v2), memory usage
//! and the inactive file cache (`memory.usage_in_bytes` and `memory.stat` on v1, `memory.current` and
//! `memory.stat` on v2), the limit (the machine's memory when there is none, as the engine reports it), and
//! the machine's CPU time from `/proc/stat` in nanoseconds, which is the engine's own `system_cpu_usage`.
//! Callers fall back to the engine when these files cannot be read (a remote engine, another PID namespace).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::stats::{CpuSample, Memory, Sample, memory_used};

/// Where the cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The cgroup directories of one process: the v1 `cpuacct` and `memory` ones, or the one v2 directory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dirs {
    V1 { cpu: PathBuf, memory: PathBuf },
    V2(PathBuf),
}

/// Reads `/proc/PID/cgroup` into the directories holding its counters.
fn dirs(root: &Path, proc_cgroup: &str) -> Option<Dirs> {
    let mut cpu = None;
    let mut memory = None;
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
    }
    match (cpu, memory, unified) {
        (Some(cpu), Some(memory), _) => Some(Dirs::V1 { cpu, memory }),
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
    let (container, usage, stats, limit) = match &dirs {
        Dirs::V1 { cpu, memory } => (
            number(&cpu.join("cpuacct.usage"))?,
            number(&memory.join("memory.usage_in_bytes"))?,
            table(&read(&memory.join("memory.stat"))?),
            number(&memory.join("memory.limit_in_bytes")),
        ),
        Dirs::V2(dir) => (
            table(&read(&dir.join("cpu.stat"))?).get("usage_usec")? * 1000,
            number(&dir.join("memory.current"))?,
            table(&read(&dir.join("memory.stat"))?),
            number(&dir.join("memory.max")),
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
            })
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

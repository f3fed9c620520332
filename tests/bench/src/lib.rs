//! What the benchmark binaries share: measuring one command's wall time, CPU time and peak RSS, and the
//! `main` that dispatches to that measuring mode; and reading a running process's CPU time and memory
//! from /proc ([`cpu_seconds`], [`memory_kib`]).
//!
//! Peak RSS is the kernel's `ru_maxrss` of a process tree, which is only readable for a process's own
//! children; so each binary re-executes itself as `BIN measure -- CMD ARGS`, whose only child is the command,
//! and reads back the one line that mode prints.

use std::ffi::OsString;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use nix::sys::resource::{UsageWho, getrusage};

/// What one measured run of a command took.
#[derive(Debug, Clone, Copy)]
pub struct Measurement {
    pub wall_ms: f64,
    pub max_rss_kib: u64,
    /// User plus system time of the command's tree.
    pub cpu_ms: f64,
    pub exit: i32,
}

impl Measurement {
    pub fn seconds(&self) -> f64 {
        self.wall_ms / 1000.0
    }

    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// The CPU time (user plus system) process `pid` has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // After the command's closing parenthesis the state is field 3; utime and stime are 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("malformed /proc stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |i: usize| -> anyhow::Result<u64> {
        Ok(fields.get(i).context("short /proc stat")?.parse()?)
    };
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    Ok((ticks(11)? + ticks(12)?) as f64 / hz)
}

/// The resident memory of process `pid` now and at its peak (VmRSS, VmHWM), in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

/// The memory of process `pid`, from /proc.
pub fn memory_kib(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        Ok(status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .with_context(|| format!("no {name} in /proc status"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?)
    };
    Ok(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// The `main` of a benchmark binary: `BIN measure -- CMD ARGS` measures one command, anything else runs
/// `bench` with the arguments; errors end as one line and exit 1.
pub fn main(name: &str, bench: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let result = if argv.get(1).map(String::as_str) == Some("measure") {
        measure(&argv[3..])
    } else {
        bench()
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name} bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The measuring mode: runs the command (stdout discarded) and prints `wall_ms max_rss_kib user_ms system_ms
/// exit` of its tree.
fn measure(command: &[String]) -> anyhow::Result<()> {
    let program = command
        .first()
        .context("measure needs a command after --")?;
    let started = Instant::now();
    let status = Command::new(program)
        .args(&command[1..])
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    let wall = started.elapsed();
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let ms = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1000.0 + t.tv_usec() as f64 / 1000.0;
    println!(
        "{:.3} {} {:.1} {:.1} {}",
        wall.as_secs_f64() * 1000.0,
        usage.max_rss(),
        ms(usage.user_time()),
        ms(usage.system_time()),
        status.code().unwrap_or(-1)
    );
    Ok(())
}

/// The one argument of the benchmarks that seed a history, `--days N` (1 to `max`, `default` without it),
/// read from the command line; anything else is an error naming `bench`'s usage.
pub fn days_arg(bench: &str, default: i64, max: i64) -> anyhow::Result<i64> {
    let mut days = default;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--days" => {
                days = args
                    .next()
                    .and_then(|d| d.parse().ok())
                    .filter(|d| (1..=max).contains(d))
                    .with_context(|| format!("--days takes a number of days, 1 to {max}"))?;
            }
            other => bail!("unknown argument '{other}' (usage: {bench} [--days {default}])"),
        }
    }
    Ok(days)
}

/// Measures `command` with `envs` set, whatever its exit code.
pub fn measured(
    envs: &[(&'static str, OsString)],
    command: &[&str],
) -> anyhow::Result<Measurement> {
    let output = Command::new(std::env::current_exe()?)
        .arg("measure")
        .arg("--")
        .args(command)
        .envs(envs.iter().map(|(k, v)| (*k, v)))
        .env_remove("JOURNAL_STREAM")
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        bail!(
            "measuring {command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(Measurement {
        wall_ms: fields[0].parse()?,
        max_rss_kib: fields[1].parse()?,
        cpu_ms: fields[2].parse::<f64>()? + fields[3].parse::<f64>()?,
        exit: fields[4].parse()?,
    })
}

/// Measures `command` and fails unless it exits 0.
pub fn measured_ok(
    envs: &[(&'static str, OsString)],
    command: &[&str],
) -> anyhow::Result<Measurement> {
    let run = measured(envs, command)?;
    if run.exit != 0 {
        bail!("{command:?} failed with exit code {}", run.exit);
    }
    Ok(run)
}

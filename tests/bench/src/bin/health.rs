//! The magi-health benchmark: prints the figures of issue 3, measured side by side in one run against the
//! 10-service mini MAGI stack.
//!
//! 1. A full check (`magi-health --json`): wall time (median and best of `--runs`) and peak RSS, against a shell
//!    loop of `docker inspect` plus `curl` (and `redis-cli` for Redis) over the same services.
//! 2. `magi-health watch --interval 5s` for `--duration` (2 minutes by default): CPU in percent of one core and
//!    RSS, against a shell loop doing the same every 5 s; the Docker daemon's CPU in each window is shown too,
//!    because both make it work.
//!
//! Peak RSS is the kernel's `ru_maxrss` of the measured process tree: each command runs under this binary's
//! own `measure` mode, whose only child is that command.
//!
//! Usage: `cargo run -p magi-bench --bin health -- [--runs N] [--duration 2m]`

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use magi_bench::{Memory, cpu_seconds, measured, memory_kib};
use magi_core::Probe;
use magi_core::config::{Config, parse_duration};
use magi_core::paths::Paths;
use magi_testkit::MiniStack;

const WATCH_INTERVAL: &str = "5s";

struct Args {
    runs: usize,
    duration: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        runs: 10,
        duration: Duration::from_secs(120),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--runs" => args.runs = value()?.parse().context("--runs takes a number")?,
            "--duration" => {
                args.duration = parse_duration(&value()?).map_err(anyhow::Error::msg)?;
            }
            other => bail!("unknown argument '{other}' (use --runs N, --duration 2m)"),
        }
    }
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok(args)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A shell script that asks Docker and each endpoint what `magi-health` asks, the way an operator's script would.
fn shell_check(config: &Config) -> String {
    let mut script = String::from("set -u\n");
    for service in &config.services {
        script.push_str(&format!(
            "docker inspect --format '{{{{.State.Status}}}} {{{{if .State.Health}}}}{{{{.State.Health.Status}}}}{{{{end}}}} {{{{.RestartCount}}}}' {} 2>/dev/null || echo missing\n",
            service.container
        ));
        match &service.probe {
            Some(Probe::Http { url }) => script.push_str(&format!(
                "curl -s -o /dev/null --max-time 5 -w '%{{http_code}} %{{time_total}}\\n' '{url}' || echo down\n"
            )),
            Some(Probe::Redis { host, port }) => script.push_str(&format!(
                "redis-cli -h \"$(docker inspect --format '{{{{range .NetworkSettings.Networks}}}}{{{{.IPAddress}}}}{{{{end}}}}' {host})\" -p {port} ping || echo down\n"
            )),
            Some(Probe::Tcp { .. }) | None => {}
        }
    }
    script
}

fn dockerd_pid() -> Option<u32> {
    let out = Command::new("pidof").arg("dockerd").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn bench(args: &Args) -> anyhow::Result<()> {
    if !MiniStack::available() {
        bail!(
            "the mini stack cannot run here (Docker, busybox and Redis are needed; tests/run installs them)"
        );
    }
    let stack = MiniStack::up();
    let env = stack.env();
    let config = Config::from_file(stack.config_path(), &Paths::for_test(stack.home()))?;
    let health = magi_testkit::bin_path("magi-health");
    let health = health.to_str().context("a UTF-8 path")?;

    println!(
        "magi-health benchmark: mini MAGI stack of {} services, {} runs",
        stack.services().len(),
        args.runs
    );
    println!();
    println!(
        "full check (magi-health --json), against a shell loop of docker inspect + curl over the same services"
    );
    measured(&env, &[health, "--json"])?;
    let script = shell_check(&config);
    measured(&env, &["sh", "-c", &script])?;
    let mut ours = Vec::new();
    let mut shell = Vec::new();
    for _ in 0..args.runs {
        ours.push(measured(&env, &[health, "--json"])?);
        shell.push(measured(&env, &["sh", "-c", &script])?);
    }
    for (name, runs, target) in [
        ("magi-health", &ours, " (target <= 300 ms, <= 20 MB)"),
        ("shell loop ", &shell, ""),
    ] {
        let wall: Vec<f64> = runs.iter().map(|r| r.wall_ms).collect();
        let best = wall.iter().copied().fold(f64::INFINITY, f64::min);
        let peak = runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0);
        let cpu = median(runs.iter().map(|r| r.cpu_ms).collect());
        println!(
            "  {name}  wall median {:7.1} ms  best {:7.1} ms  peak RSS {:6.1} MB  CPU {:6.1} ms{target}",
            median(wall),
            best,
            peak as f64 / 1024.0,
            cpu
        );
    }
    let ratio = median(shell.iter().map(|r| r.wall_ms).collect())
        / median(ours.iter().map(|r| r.wall_ms).collect());
    println!(
        "  magi-health is {ratio:.1}x faster than the shell loop, and also reads CPU, memory and data sizes"
    );
    println!();

    let secs = args.duration.as_secs_f64();
    println!(
        "watch at a {WATCH_INTERVAL} interval for {secs:.0} s (target < 0.5 % of one core, <= 25 MB RSS)"
    );
    let dockerd = dockerd_pid();
    let mut child = Command::new(health)
        .args(["watch", "--interval", WATCH_INTERVAL])
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(2));
    let (start, docker_start) = (cpu_seconds(pid)?, dockerd.map(cpu_seconds).transpose()?);
    let started = Instant::now();
    let mut peak_rss = 0;
    while started.elapsed() < args.duration {
        std::thread::sleep(Duration::from_secs(1));
        peak_rss = peak_rss.max(memory_kib(pid)?.rss_kib);
    }
    let window = started.elapsed().as_secs_f64();
    let used = cpu_seconds(pid)? - start;
    let docker_used = match (dockerd, docker_start) {
        (Some(d), Some(s)) => Some(cpu_seconds(d)? - s),
        _ => None,
    };
    let Memory {
        rss_kib: now_rss,
        peak_kib: hwm,
    } = memory_kib(pid)?;
    child.kill().ok();
    child.wait().ok();
    println!(
        "  magi-health watch  CPU {:.3} % of one core ({used:.2} s in {window:.0} s)  RSS {:.1} MB now, {:.1} MB peak (VmHWM {:.1} MB)",
        used / window * 100.0,
        now_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    if let Some(d) = docker_used {
        println!(
            "                     dockerd CPU in the same window {:.3} % of one core",
            d / window * 100.0
        );
    }

    let loop_script = format!(
        "end=$(( $(date +%s) + {} )); while [ $(date +%s) -lt $end ]; do\n{script}sleep 5; done",
        args.duration.as_secs()
    );
    let docker_start = dockerd.map(cpu_seconds).transpose()?;
    let shell_watch = measured(&env, &["sh", "-c", &loop_script])?;
    let docker_used = match (dockerd, docker_start) {
        (Some(d), Some(s)) => Some(cpu_seconds(d)? - s),
        _ => None,
    };
    let window = shell_watch.wall_ms / 1000.0;
    println!(
        "  shell loop         CPU {:.3} % of one core ({:.2} s in {window:.0} s)  peak RSS {:.1} MB",
        shell_watch.cpu_ms / 1000.0 / window * 100.0,
        shell_watch.cpu_ms / 1000.0,
        shell_watch.max_rss_kib as f64 / 1024.0
    );
    if let Some(d) = docker_used {
        println!(
            "                     dockerd CPU in the same window {:.3} % of one core",
            d / window * 100.0
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    magi_bench::main("health", || parse_args().and_then(|args| bench(&args)))
}

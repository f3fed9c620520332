//! Benchmark of magi-alert: event in → webhook delivered latency (p50, p99) over 10,000 alerting events,
//! events per second read from stdin when nothing fires, and peak RSS.
//!
//! Run it on release builds, next to the binary it measures:
//! `cargo build --release -p magi-alert -p magi-bench && target/release/alert`.
//! The webhook receiver is a minimal HTTP/1.1 endpoint in this process on 127.0.0.1, so the latency measured is
//! magi-alert's own: parse, decide, record in SQLite, claim, POST.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

const ALERTS: usize = 10_000;
const QUIET_EVENTS: usize = 1_000_000;

fn main() -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let binary = exe.with_file_name("magi-alert");
    if !binary.is_file() {
        bail!(
            "{} not found: build it first (cargo build --release -p magi-alert)",
            binary.display()
        );
    }
    let dir = std::env::temp_dir().join(format!("magi-alert-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&binary, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(binary: &Path, dir: &Path) -> anyhow::Result<()> {
    println!("magi-alert benchmark ({})", binary.display());
    let (p50, p99, rss_alerting) = latency(binary, dir)?;
    println!(
        "event in -> webhook delivered, {ALERTS} alerts: p50 {:.2} ms, p99 {:.2} ms (target p99 < 50 ms)",
        ms(p50),
        ms(p99)
    );
    let (rate, rss_quiet) = throughput(binary, dir)?;
    println!(
        "events read from stdin when nothing fires: {rate:.0}/s over {QUIET_EVENTS} events (target >= 100,000/s)"
    );
    println!(
        "peak RSS: {:.1} MB while alerting, {:.1} MB reading quietly (target <= 15 MB)",
        rss_alerting as f64 / 1024.0,
        rss_quiet as f64 / 1024.0
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn event(i: usize, severity: &str, kind: &str) -> String {
    format!(
        "{{\"v\":1,\"ts\":\"2026-05-01T12:00:00.{i:06}Z\",\"host\":\"bench\",\"source\":\"magi-health\",\"kind\":\"{kind}\",\"subject\":\"svc-{i}\",\"severity\":\"{severity}\",\"message\":\"svc-{i} is down\",\"data\":{{\"tier\":\"core\"}}}}\n"
    )
}

fn spawn(binary: &Path, dir: &Path, db: &str, args: &[&str]) -> anyhow::Result<Child> {
    std::fs::write(dir.join("magi.toml"), "")?;
    Command::new(binary)
        .env("MAGI_CONFIG", dir.join("magi.toml"))
        .env("MAGI_ALERT_DB", dir.join(db))
        .env("MAGI_LOG", "error")
        .env_remove("JOURNAL_STREAM")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting magi-alert")
}

/// Peak RSS (VmHWM, KiB) of a running process, sampled until it exits.
fn watch_rss(pid: u32) -> Arc<Mutex<u64>> {
    let peak = Arc::new(Mutex::new(0));
    let shared = Arc::clone(&peak);
    std::thread::spawn(move || {
        let path = PathBuf::from(format!("/proc/{pid}/status"));
        while let Ok(status) = std::fs::read_to_string(&path) {
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                *shared.lock().unwrap() = kb;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    peak
}

fn latency(binary: &Path, dir: &Path) -> anyhow::Result<(Duration, Duration, u64)> {
    let arrived: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr()?.port());
    {
        let arrived = Arc::clone(&arrived);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let arrived = Arc::clone(&arrived);
                std::thread::spawn(move || serve(stream, &arrived));
            }
        });
    }
    let mut child = spawn(binary, dir, "latency.db", &["--to", &url, "--drain", "60s"])?;
    let peak = watch_rss(child.id());
    let mut stdin = child.stdin.take().context("stdin")?;
    let mut sent = Vec::with_capacity(ALERTS);
    for i in 0..ALERTS {
        let line = event(i, "critical", "service.status");
        sent.push(Instant::now());
        stdin.write_all(line.as_bytes())?;
        stdin.flush()?;
        // Paced at 1,000 events a second: a steady stream, not a burst that only measures queueing.
        let next = sent[0] + Duration::from_millis(i as u64 + 1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrived.lock().unwrap().len() < ALERTS {
        if Instant::now() > deadline {
            bail!(
                "only {} of {ALERTS} webhooks arrived",
                arrived.lock().unwrap().len()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait()?;
    let arrived = arrived.lock().unwrap();
    let mut latencies: Vec<Duration> = (0..ALERTS)
        .map(|i| arrived[&i].duration_since(sent[i]))
        .collect();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let peak = *peak.lock().unwrap();
    Ok((pick(0.50), pick(0.99), peak))
}

/// Reads HTTP/1.1 requests off one kept-alive connection, noting when each alert's webhook arrived.
fn serve(stream: TcpStream, arrived: &Mutex<HashMap<usize, Instant>>) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let now = Instant::now();
        let text = String::from_utf8_lossy(&body);
        if let Some(rest) = text.split("\"subject\":\"svc-").nth(1)
            && let Some(n) = rest.split('"').next().and_then(|n| n.parse::<usize>().ok())
        {
            arrived.lock().unwrap().entry(n).or_insert(now);
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

fn throughput(binary: &Path, dir: &Path) -> anyhow::Result<(f64, u64)> {
    let mut input = String::with_capacity(QUIET_EVENTS * 230);
    for i in 0..QUIET_EVENTS {
        // Half healthy core services (judged good, nothing remembered), half kinds no rule watches.
        let kind = if i % 2 == 0 {
            "service.status"
        } else {
            "model.usage"
        };
        input.push_str(&event(i, if i % 2 == 0 { "ok" } else { "critical" }, kind));
    }
    let mut child = spawn(binary, dir, "quiet.db", &["--drain", "0s"])?;
    let peak = watch_rss(child.id());
    let mut stdin = child.stdin.take().context("stdin")?;
    let started = Instant::now();
    stdin.write_all(input.as_bytes())?;
    drop(stdin);
    let status = child.wait()?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("magi-alert failed: {status}");
    }
    let peak = *peak.lock().unwrap();
    Ok((QUIET_EVENTS as f64 / elapsed.as_secs_f64(), peak))
}

//! Benchmark of the dashboard (magi-dashboard): a store holding 15 containers' figures as magi-health
//! watch writes them (5 s for the last 24 h, 1 min before, 30 days in all) is served by the real binary
//! with two tabs' live streams open; then it prints the first-load page weight (target ≤ 60 KB), the
//! p50/p95 of each view's answer (30-day chart of 15 containers: target p95 ≤ 20 ms), sample-to-screen
//! (target ≤ 6 s: a new sample written, the `changed` event heard, the page showing it) and the daemon's
//! RSS (target ≤ 30 MB) beside Netdata's, Debian's package started on the same machine for scale.
//!
//! `cargo build --release -p magi-bench -p magi-dashboard && target/release/dashboard [--days 30]`

use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use magi_testkit::http;
use magi_tsdb::store::Limits;
use magi_tsdb::tier::{DAY_MS, HOUR_MS};
use magi_tsdb::{Kind, Sample, SeriesKey, Tiers, Writer};

const SERVICES: [&str; 15] = [
    "open-webui",
    "litellm",
    "qdrant",
    "redis",
    "searxng",
    "n8n",
    "firecrawl",
    "playwright",
    "mcpo",
    "youtube-mcp",
    "jupyter",
    "caddy",
    "worker-1",
    "worker-2",
    "worker-3",
];

fn gauge(name: &str, service: &str, ts_ms: i64, value: f64) -> Sample {
    Sample {
        key: SeriesKey::of(name, &[("service", service)]).expect("a valid key"),
        kind: Kind::Gauge,
        ts_ms,
        value,
    }
}

fn seed(dir: &Path, days: i64, now: i64) -> anyhow::Result<u64> {
    let mut writer = Writer::open(dir, "health", Tiers::default(), Limits::default())?;
    let mut batch = Vec::with_capacity(10_000);
    let mut points = 0u64;
    let mut t = now - days * DAY_MS;
    while t < now {
        for (i, s) in SERVICES.iter().enumerate() {
            let cpu = (fastrand::f64() * 20.0 * 100.0).round() / 100.0;
            batch.push(gauge("container_cpu_percent", s, t, cpu));
            batch.push(gauge(
                "container_memory_bytes",
                s,
                t,
                ((200 + i * 40) << 20) as f64,
            ));
            batch.push(gauge("data_bytes", s, t, ((i + 1) << 28) as f64));
            batch.push(gauge(
                "probe_latency_seconds",
                s,
                t,
                0.002 + (i as f64) / 10_000.0,
            ));
            batch.push(gauge("service_condition", s, t, 0.0));
        }
        if batch.len() >= 10_000 {
            points += batch.len() as u64;
            writer.append(&batch, now)?;
            batch.clear();
        }
        t += if now - t > DAY_MS { 60_000 } else { 5_000 };
    }
    points += batch.len() as u64;
    writer.append(&batch, now)?;
    writer.compact(now)?;
    Ok(points)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn open_tab(port: u16) -> anyhow::Result<BufReader<TcpStream>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(stream, "GET /live HTTP/1.1\r\nHost: bench\r\n\r\n")?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(BufReader::new(stream))
}

fn wait_for(reader: &mut BufReader<TcpStream>, prefix: &str) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("the live stream ended before '{prefix}'");
        }
        if line.starts_with(prefix) {
            return Ok(());
        }
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Netdata from Debian's package, started for the comparison and stopped after; its RSS after `settle`.
fn netdata_rss(settle: Duration) -> Option<(u64, Child)> {
    let mut child = Command::new("/usr/sbin/netdata")
        .args(["-D", "-p", "19999"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(settle);
    let pids = Command::new("pgrep")
        .args(["-f", "netdata"])
        .output()
        .ok()?;
    let total: u64 = String::from_utf8_lossy(&pids.stdout)
        .lines()
        .filter_map(|p| p.trim().parse::<u32>().ok())
        .filter_map(rss_kib)
        .sum();
    if total == 0 {
        child.kill().ok();
        return None;
    }
    Some((total, child))
}

fn main() -> anyhow::Result<()> {
    let days = magi_bench::days_arg("dashboard", 30, 90)?;
    let dir = tempfile::tempdir()?;
    let now = jiff::Timestamp::now().as_millisecond();
    println!(
        "dashboard benchmark: {} containers × 5 figures, {days} days (5 s for the last 24 h, 1 min before)",
        SERVICES.len()
    );
    let started = Instant::now();
    let points = seed(dir.path(), days, now - HOUR_MS / 60)?;
    println!(
        "  seeded {points} points in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let port = magi_testkit::free_port();
    let mut dashboard = magi_testkit::bin("magi-dashboard")
        .args(["start", "--listen", &format!("127.0.0.1:{port}")])
        .env("MAGI_METRICS_DIR", dir.path())
        .env("MAGI_LOG", "warn")
        .stderr(Stdio::inherit())
        .spawn()
        .context("run target/release/magi-dashboard (cargo build --release -p magi-dashboard)")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("the dashboard did not listen");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut tab_a = open_tab(port)?;
    let mut tab_b = open_tab(port)?;
    wait_for(&mut tab_a, "retry:")?;
    wait_for(&mut tab_b, "retry:")?;

    let first = http::get(port, "/");
    let script = http::get(port, "/assets/live.js");
    let style = http::get(port, "/assets/style.css");
    let weight = first.body.len() + script.body.len() + style.body.len();
    println!(
        "  first-load page weight: {:.1} KB (page {:.1} KB, script {:.1} KB, stylesheet {:.1} KB; target ≤ 60 KB)",
        weight as f64 / 1024.0,
        first.body.len() as f64 / 1024.0,
        script.body.len() as f64 / 1024.0,
        style.body.len() as f64 / 1024.0
    );
    for view in [
        "/",
        "/?range=24h",
        "/?range=30d",
        "/service/qdrant?range=30d",
        "/models?range=30d",
    ] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..40 {
            let t = Instant::now();
            let reply = http::get(port, view);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if reply.status != 200 {
                bail!("{view}: HTTP {}", reply.status);
            }
            bytes = reply.body.len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {view:<28} p50 {:>6.1} ms  p95 {:>6.1} ms  {:>5.1} KB",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            bytes as f64 / 1024.0
        );
    }

    // Sample to screen: a tile's condition changes in the store; the open tab hears of it; the page shows it.
    let mut writer = Writer::open(dir.path(), "health", Tiers::default(), Limits::default())?;
    // Opening the writer touches the store too: let the tab hear of that first, so the figure is the sample's.
    std::thread::sleep(Duration::from_millis(1500));
    tab_a
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut line = String::new();
    while tab_a.read_line(&mut line).is_ok_and(|n| n > 0) {
        line.clear();
    }
    tab_a
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))?;
    let t0 = Instant::now();
    let at = jiff::Timestamp::now().as_millisecond();
    writer.append(&[gauge("service_condition", "qdrant", at, 5.0)], at)?;
    wait_for(&mut tab_a, "event: changed")?;
    let heard = t0.elapsed();
    let page = http::get(port, "/");
    let shown = t0.elapsed();
    if !page
        .body
        .contains(r#"data-service="qdrant" data-condition="down""#)
    {
        bail!("the page does not show the new sample");
    }
    println!(
        "  sample to screen: heard by the tab after {} ms, on the page after {} ms (the store polled each second; add watch's 5 s interval at worst; target ≤ 6 s)",
        heard.as_millis(),
        shown.as_millis()
    );
    let ours = rss_kib(dashboard.id()).unwrap_or(0);
    drop(tab_b);
    match netdata_rss(Duration::from_secs(20)) {
        Some((theirs, mut child)) => {
            println!(
                "  RSS with two tabs open: magi-dashboard {:.1} MB (target ≤ 30 MB), Netdata {:.1} MB (its processes, 20 s after start)",
                ours as f64 / 1024.0,
                theirs as f64 / 1024.0
            );
            child.kill().ok();
            Command::new("pkill")
                .args(["-f", "/usr/sbin/netdata"])
                .status()
                .ok();
            child.wait().ok();
        }
        None => println!(
            "  RSS with two tabs open: magi-dashboard {:.1} MB (target ≤ 30 MB); Netdata not run (apt install netdata to compare)",
            ours as f64 / 1024.0
        ),
    }
    dashboard.kill().ok();
    dashboard.wait().ok();
    Ok(())
}

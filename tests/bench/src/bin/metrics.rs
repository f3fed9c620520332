//! Benchmark of the metrics store (magi-tsdb): 150 series (15 containers × 10 figures) sampled every 5 s
//! for 30 days are written as magi-health's watch writes them, then it prints the disk the store takes
//! (target ≤ 40 MB), the bytes per raw point (target ≤ 2.5), the write rate, and the p50/p95 of a 30-day
//! chart of 15 containers at 1,000 points and at the dashboard's fleet chart's points (target p95 ≤ 20 ms). For scale, the same last 48 h of raw points
//! go into a real Prometheus TSDB through Debian's promtool (`create-blocks-from openmetrics`), whose size
//! is printed beside ours.
//!
//! `cargo build --release -p magi-bench && target/release/metrics [--days 30]`
//!
//! The figures are shaped like a real host's: CPU a noisy walk to 0.01 %, memory a walk in 4 KiB pages with
//! a sawtooth of garbage collection, probe latency log-normal to 0.1 ms, data sizes growing, restart
//! counts and up flags nearly constant, request and token counters as deltas.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use magi_tsdb::store::Limits;
use magi_tsdb::tier::{DAY_MS, HOUR_MS};
use magi_tsdb::{Kind, Reader, Sample, Selector, SeriesKey, Tiers, Writer};

const CONTAINERS: usize = 15;
const STEP_MS: i64 = 5_000;

fn main() -> anyhow::Result<()> {
    let days = magi_bench::days_arg("metrics", 30, 400)?;
    let dir = tempfile::tempdir()?;
    println!(
        "metrics store benchmark: {} series ({CONTAINERS} containers × 10 figures) at 5 s for {days} days",
        CONTAINERS * 10
    );
    let end = jiff::Timestamp::now().as_millisecond() / HOUR_MS * HOUR_MS;
    let start = end - days * DAY_MS;
    let mut writer = Writer::open(dir.path(), "health", Tiers::default(), Limits::default())?;
    let mut host = Host::new();
    let started = Instant::now();
    let mut points = 0u64;
    let mut batch = Vec::with_capacity(12 * CONTAINERS * 10);
    let mut om = OpenMetrics::new(end - 2 * DAY_MS);
    let mut ts = start;
    while ts < end {
        let round = host.round(ts);
        om.add(&round);
        batch.extend(round);
        // A minute of rounds in one transaction (the watch commits each round; the bench would only
        // measure fsync-free commits twelve times over).
        if batch.len() >= 12 * CONTAINERS * 10 {
            points += batch.len() as u64;
            writer.append(&batch, ts)?;
            batch.clear();
        }
        ts += STEP_MS;
    }
    points += batch.len() as u64;
    writer.append(&batch, end)?;
    writer.compact(end + HOUR_MS)?;
    let elapsed = started.elapsed();
    let path = writer.path().to_owned();
    drop(writer);
    // The WAL is folded into the file (as a checkpoint would be) before measuring.
    let conn = magi_core::store::rusqlite::Connection::open(&path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let (raw_bytes, raw_points): (i64, i64) = conn.query_row(
        "SELECT sum(length(data)), sum(points) FROM blocks WHERE tier = 0",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let rollup_bytes: i64 = conn.query_row(
        "SELECT sum(length(data)) FROM blocks WHERE tier > 0",
        [],
        |r| r.get(0),
    )?;
    drop(conn);
    let file = std::fs::metadata(&path)?.len();
    println!(
        "  written: {points} points in {:.1} s ({:.0} points/s, rollups and compaction included)",
        elapsed.as_secs_f64(),
        points as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  disk: {:.1} MB in all (target ≤ 40 MB for 30 days); raw blocks {:.2} bytes a point over {} points \
         kept (target ≤ 2.5); rollup blocks {:.1} MB",
        file as f64 / 1e6,
        raw_bytes as f64 / raw_points as f64,
        raw_points,
        rollup_bytes as f64 / 1e6
    );

    let reader = Reader::new(dir.path(), Tiers::default());
    // The most a query returns (1,000 points: the 5-minute tier, 8,640 buckets a series, read and
    // coarsened), and what the dashboard's 30-day fleet chart asks (fewer: the hourly tier fills it).
    for (points, what) in [
        (1000, "≤ 1,000 points"),
        (
            magi_dashboard::data::POINTS_MANY,
            "the dashboard's fleet chart",
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..40 {
            let t = Instant::now();
            let answers = reader.query(
                &Selector::name("container_cpu_percent"),
                end - 30 * DAY_MS.min(days * DAY_MS),
                end,
                points,
                end,
            )?;
            times.push(t.elapsed());
            assert_eq!(answers.len(), CONTAINERS);
            assert!(answers.iter().all(|a| a.buckets.len() <= points));
        }
        times.sort();
        println!(
            "  30-day chart of {CONTAINERS} containers, {what}: p50 {:.1} ms, p95 {:.1} ms (target p95 ≤ 20 ms)",
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100])
        );
    }

    let om_path = dir.path().join("last48h.om");
    om.finish(&om_path)?;
    let tsdb = dir.path().join("prometheus");
    let t = Instant::now();
    match Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om_path)
        .arg(&tsdb)
        .output()
    {
        Ok(out) if out.status.success() => {
            let size = du(&tsdb)?;
            println!(
                "  the same 48 h of raw points ({} points): Prometheus TSDB {:.2} bytes a point ({:.1} MB, built in {:.0} s) \
                 vs magi-tsdb {:.2}",
                om.points,
                size as f64 / om.points as f64,
                size as f64 / 1e6,
                t.elapsed().as_secs_f64(),
                raw_bytes as f64 / raw_points as f64
            );
        }
        Ok(out) => println!(
            "  Prometheus TSDB: promtool failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => {
            println!("  Prometheus TSDB: skipped, promtool not found ({e}; apt install prometheus)")
        }
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn du(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            du(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// The simulated host: each container's figures as walks.
struct Host {
    rng: fastrand::Rng,
    cpu: Vec<f64>,
    memory: Vec<f64>,
    data: Vec<f64>,
    keys: Vec<[SeriesKey; 10]>,
}

impl Host {
    fn new() -> Host {
        let keys = (0..CONTAINERS)
            .map(|c| {
                let s = format!("service{c}");
                let key = |name: &str| SeriesKey::of(name, &[("service", &s)]).unwrap();
                [
                    key("container_cpu_percent"),
                    key("container_memory_bytes"),
                    key("container_memory_limit_bytes"),
                    key("probe_latency_seconds"),
                    key("data_bytes"),
                    key("container_restarts"),
                    key("service_up"),
                    key("requests"),
                    key("tokens"),
                    key("errors"),
                ]
            })
            .collect();
        Host {
            rng: fastrand::Rng::with_seed(7),
            cpu: vec![5.0; CONTAINERS],
            memory: vec![300e6; CONTAINERS],
            data: vec![1e9; CONTAINERS],
            keys,
        }
    }

    fn round(&mut self, ts: i64) -> Vec<Sample> {
        let mut out = Vec::with_capacity(CONTAINERS * 10);
        for c in 0..CONTAINERS {
            let r = &mut self.rng;
            self.cpu[c] = (self.cpu[c] + (r.f64() - 0.5) * 2.0).clamp(0.0, 200.0);
            let cpu = ((self.cpu[c] + r.f64() * 3.0) * 100.0).round() / 100.0;
            self.memory[c] += (r.f64() - 0.45) * 2e6;
            if r.f64() < 0.002 {
                self.memory[c] *= 0.7;
            }
            let memory = (self.memory[c] / 4096.0).round() * 4096.0;
            self.data[c] += r.f64() * 8192.0;
            let data = (self.data[c] / 4096.0).round() * 4096.0;
            let latency = ((0.004 * (r.f64() * 2.0).exp()) * 10_000.0).round() / 10_000.0;
            let requests = r.u32(0..20) as f64;
            let tokens = requests * r.u32(50..400) as f64;
            let errors = if r.f64() < 0.02 { 1.0 } else { 0.0 };
            let values = [
                (Kind::Gauge, cpu),
                (Kind::Gauge, memory),
                (Kind::Gauge, 2_147_483_648.0),
                (Kind::Gauge, latency),
                (Kind::Gauge, data),
                (Kind::Gauge, 0.0),
                (Kind::Gauge, 1.0),
                (Kind::Delta, requests),
                (Kind::Delta, tokens),
                (Kind::Delta, errors),
            ];
            for (key, (kind, value)) in self.keys[c].iter().zip(values) {
                out.push(Sample {
                    key: key.clone(),
                    kind,
                    ts_ms: ts,
                    value,
                });
            }
        }
        out
    }
}

/// The last 48 h of raw points as OpenMetrics text, per series (the format wants a family's samples
/// together), for promtool.
struct OpenMetrics {
    from: i64,
    series: std::collections::BTreeMap<String, (String, Vec<(i64, f64)>)>,
    points: u64,
}

impl OpenMetrics {
    fn new(from: i64) -> OpenMetrics {
        OpenMetrics {
            from,
            series: Default::default(),
            points: 0,
        }
    }

    fn add(&mut self, round: &[Sample]) {
        for s in round.iter().filter(|s| s.ts_ms >= self.from) {
            self.series
                .entry(s.key.to_string())
                .or_insert_with(|| (s.key.name.clone(), Vec::new()))
                .1
                .push((s.ts_ms, s.value));
            self.points += 1;
        }
    }

    fn finish(&self, path: &Path) -> anyhow::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut family = String::new();
        for (key, (name, points)) in &self.series {
            if *name != family {
                writeln!(out, "# TYPE {name} gauge")?;
                family = name.clone();
            }
            for (ts, v) in points {
                writeln!(out, "{key} {v} {}.{:03}", ts / 1000, ts % 1000)?;
            }
        }
        writeln!(out, "# EOF")?;
        Ok(())
    }
}

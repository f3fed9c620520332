//! Benchmark of magi-sla: 90 days of 5-second history of 15 services (up or down, with outages and gaps
//! of the monitor) written as magi-health watch writes it; then the wall time and peak RSS of `magi-sla
//! report --since 90d --json` (target ≤ 1 s, ≤ 50 MB), side by side with the same availability computed by
//! SQLite (Debian's sqlite3) over one table of the same raw samples, the shape a plain history keeps; and
//! the error of `magi capacity`'s forecast on synthetic series with known fill dates.
//!
//! `cargo build --release --workspace && target/release/sla [--days 90]`

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use magi_bench::measured_ok;
use magi_tsdb::store::Limits;
use magi_tsdb::tier::{DAY_MS, HOUR_MS};
use magi_tsdb::{Kind, Sample, SeriesKey, Tiers, Writer};

const SERVICES: usize = 15;
const STEP_MS: i64 = 5_000;
const RUNS: usize = 5;

fn main() -> ExitCode {
    magi_bench::main("sla", bench)
}

fn bench() -> anyhow::Result<()> {
    let days = magi_bench::days_arg("sla", 90, 400)?;
    println!("magi-sla benchmark: {SERVICES} services at 5 s for {days} days");
    let dir = tempfile::tempdir()?;
    let metrics = dir.path().join("metrics");
    let peer_db = dir.path().join("samples.db");
    let now = jiff::Timestamp::now().as_millisecond() / 1000 * 1000;
    let started = std::time::Instant::now();
    let points = seed(&metrics, &peer_db, days, now)?;
    println!(
        "  seeded {points} points in {:.0} s (the store and the peer's table)",
        started.elapsed().as_secs_f64()
    );
    std::fs::write(dir.path().join("magi.toml"), "")?;

    let names: Vec<String> = (0..SERVICES).map(|i| format!("svc{i:02}")).collect();
    let since = format!("{days}d");
    let mut command = vec![
        magi_testkit::bin_path("magi-sla")
            .to_string_lossy()
            .into_owned(),
        "report".into(),
        "--since".into(),
        since.clone(),
        "--json".into(),
    ];
    for n in &names {
        command.push("--service".into());
        command.push(n.clone());
    }
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    let envs: Vec<(&'static str, OsString)> = vec![
        ("MAGI_METRICS_DIR", metrics.clone().into()),
        ("MAGI_CONFIG", dir.path().join("magi.toml").into()),
        ("MAGI_LIMITS_DB", dir.path().join("usage.db").into()),
    ];
    let mut ours = Vec::new();
    for _ in 0..RUNS {
        ours.push(measured_ok(&envs, &command)?);
    }
    ours.sort_by(|a, b| a.wall_ms.total_cmp(&b.wall_ms));
    let median = ours[RUNS / 2];
    let rss = ours.iter().map(|m| m.max_rss_mib()).fold(0.0, f64::max);
    println!(
        "  magi-sla report over {days} days: median {:.2} s, best {:.2} s, peak RSS {rss:.1} MB (target ≤ 1 s, ≤ 50 MB)",
        median.seconds(),
        ours[0].seconds()
    );

    // The same figures from one table of raw samples: each sample up or down until the next, at most 15 s.
    let from = now - days * DAY_MS;
    let sql = format!(
        "SELECT service, sum(CASE WHEN up = 1 THEN held ELSE 0 END), sum(CASE WHEN up = 0 THEN held ELSE 0 END) \
         FROM (SELECT service, up, min(coalesce(lead(ts_ms) OVER (PARTITION BY service ORDER BY ts_ms), ts_ms + 15000), \
         ts_ms + 15000, {now}) - ts_ms AS held FROM samples WHERE ts_ms >= {from}) GROUP BY service;"
    );
    let peer_path = peer_db.to_string_lossy().into_owned();
    let peer_command = ["sqlite3", peer_path.as_str(), sql.as_str()];
    let mut peer = Vec::new();
    for _ in 0..3 {
        peer.push(measured_ok(&[], &peer_command)?);
    }
    peer.sort_by(|a, b| a.wall_ms.total_cmp(&b.wall_ms));
    println!(
        "  the same from one SQLite table of the raw samples (sqlite3, window functions): median {:.2} s, \
         peak RSS {:.1} MB; the table takes {:.0} MB against the store's {:.0} MB",
        peer[1].seconds(),
        peer.iter().map(|m| m.max_rss_mib()).fold(0.0, f64::max),
        file_size(&peer_db) as f64 / 1e6,
        dir_size(&metrics) as f64 / 1e6
    );
    agreement(&envs, &command, &peer_db, &sql)?;
    forecast_error();
    Ok(())
}

/// Both ways give the same availability, to the watch's step on rollups: prints the largest difference.
fn agreement(
    envs: &[(&'static str, OsString)],
    command: &[&str],
    peer_db: &Path,
    sql: &str,
) -> anyhow::Result<()> {
    let ours = std::process::Command::new(command[0])
        .args(&command[1..])
        .envs(envs.iter().map(|(k, v)| (*k, v)))
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&ours.stdout)?;
    let theirs = std::process::Command::new("sqlite3")
        .arg(peer_db)
        .arg(sql)
        .output()?;
    let mut worst: f64 = 0.0;
    for line in String::from_utf8_lossy(&theirs.stdout).lines() {
        let f: Vec<&str> = line.split('|').collect();
        let (up, down): (f64, f64) = (f[1].parse()?, f[2].parse()?);
        let peer = 100.0 * up / (up + down);
        let mine = report["services"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == f[0]))
            .and_then(|s| s["availability_percent"].as_f64())
            .context("a service missing from the report")?;
        worst = worst.max((peer - mine).abs());
    }
    println!(
        "  availability: the largest difference between the two is {worst:.4} percentage points"
    );
    Ok(())
}

/// The forecast on synthetic disks with known fill dates: a steady one, a noisy one, one with a daily swell.
fn forecast_error() {
    let mut x: u64 = 7;
    let mut noise = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as f64 / (1u64 << 31) as f64 - 0.5
    };
    let day = 86_400.0;
    for (name, amplitude, swell) in [
        ("steady", 0.0, 0.0),
        ("noisy ±2 %", 4.0, 0.0),
        ("daily swell of 5 %", 1.0, 5.0),
    ] {
        // 14 days of hourly points at 1.5 points a day, 40 % now: full in 40 days.
        let points: Vec<(f64, f64)> = (0..14 * 24)
            .map(|h: i64| {
                let t = h as f64 * 3600.0;
                let afternoon = if (13..19).contains(&(h % 24)) {
                    swell
                } else {
                    0.0
                };
                let v = 40.0 - 1.5 * 14.0 + 1.5 * t / day + amplitude * noise() + afternoon;
                (t, v)
            })
            .collect();
        let now = points.last().map_or(0.0, |p| p.0);
        let truth = now + (100.0 - swell - 40.0) / 1.5 * day;
        match magi_sla::forecast::reach(&points, 100.0, now).and_then(|r| Some((r.at?, r))) {
            Some((at, r)) => println!(
                "  forecast, {name}: full in {:.1} days against {:.1} ({:+.1} %, {} fit, R² {:.3})",
                (at - now) / day,
                (truth - now) / day,
                100.0 * (at - truth) / (truth - now),
                r.method,
                r.r2
            ),
            None => println!("  forecast, {name}: no date"),
        }
    }
}

/// 15 services: each down about once in three days for 2 to 20 minutes; the monitor off for an hour every
/// ten days. Written a minute at a time, as the watch's rounds come, into the store and into the peer's
/// table.
fn seed(metrics: &Path, peer_db: &Path, days: i64, now: i64) -> anyhow::Result<u64> {
    let mut writer = Writer::open(metrics, "health", Tiers::default(), Limits::default())?;
    let mut peer = rusqlite::Connection::open(peer_db)?;
    peer.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;
         CREATE TABLE samples (ts_ms INTEGER NOT NULL, service TEXT NOT NULL, up INTEGER NOT NULL);",
    )?;
    let keys: Vec<SeriesKey> = (0..SERVICES)
        .map(|i| SeriesKey::of("service_up", &[("service", &format!("svc{i:02}"))]))
        .collect::<Result<_, _>>()?;
    let names: Vec<String> = (0..SERVICES).map(|i| format!("svc{i:02}")).collect();
    let mut rng: u64 = 99;
    let mut next = move |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    // Each service's outages: (start, end).
    let start = now - days * DAY_MS;
    let mut outages: Vec<Vec<(i64, i64)>> = Vec::new();
    for _ in 0..SERVICES {
        let mut list = Vec::new();
        let mut t = start;
        loop {
            t += (next(6 * 24) as i64 + 1) * HOUR_MS;
            if t >= now {
                break;
            }
            list.push((t, t + (next(19) as i64 + 2) * 60_000));
        }
        outages.push(list);
    }
    let gap = |t: i64| (t - start).rem_euclid(10 * DAY_MS) < HOUR_MS;
    let mut points = 0u64;
    let mut batch = Vec::with_capacity(12 * SERVICES);
    let mut t = start;
    let tx_every = 12 * 60; // an hour of rounds per peer transaction
    let mut tx = peer.transaction()?;
    let mut rounds = 0;
    while t < now {
        if !gap(t) {
            for (i, key) in keys.iter().enumerate() {
                let down = outages[i].iter().any(|&(s, e)| (s..e).contains(&t));
                let value = if down { 0.0 } else { 1.0 };
                batch.push(Sample {
                    key: key.clone(),
                    kind: Kind::Gauge,
                    ts_ms: t,
                    value,
                });
                tx.prepare_cached("INSERT INTO samples VALUES (?1, ?2, ?3)")?
                    .execute(rusqlite::params![t, names[i], value as i64])?;
            }
        }
        if batch.len() >= 12 * SERVICES {
            points += batch.len() as u64;
            writer.append(&batch, t)?;
            batch.clear();
        }
        rounds += 1;
        if rounds % tx_every == 0 {
            tx.commit()?;
            tx = peer.transaction()?;
        }
        t += STEP_MS;
    }
    points += batch.len() as u64;
    writer.append(&batch, now)?;
    writer.compact(now + HOUR_MS)?;
    tx.commit()?;
    peer.execute_batch("CREATE INDEX samples_service_ts ON samples (service, ts_ms); PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(points)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

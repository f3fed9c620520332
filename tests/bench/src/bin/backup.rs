//! The magi-backup benchmark: prints the figures of issue 4, measured side by side in one run on the mini
//! MAGI stack with a generated mixed dataset (2 GiB by default) in its MAGI home.
//!
//! The dataset: a quarter in SQLite (Open WebUI's `webui.db` and n8n's `database.sqlite`, grown with rows of
//! text), a fifth as many small files (2–32 KiB, text), the rest as a few large files, half of them
//! incompressible (like images or models) and half text.
//!
//! 1. Backup: `magi-backup create` of the whole stack, against `tar -c | zstd -3 | sha256sum` of the whole
//!    MAGI home (the practical limit: read, compress, checksum) and `restic backup` of it into a fresh local
//!    repository (Debian's restic). Throughput is the MAGI home's bytes over wall time.
//! 2. Restore: Open WebUI's database is damaged (its uploads stay, so the safety copy holds all of it),
//!    then `magi-restore NAME --service open-webui --yes` runs, against `zstd -d | tar -x` (and the same
//!    followed by `sync`) of a `tar | zstd` of the same directory, in two interleaved rounds, each figure the
//!    faster of its two. magi-restore's total includes staging with verification on the stream, its safety
//!    copy (renames), the fsyncs, stopping and starting the container and the wait for the stack; each
//!    phase is printed from its `restore.completed` event.
//! 3. Peak RSS of each command's process tree (`ru_maxrss` of its children, read by this binary's own
//!    `measure` mode).
//!
//! Usage: `cargo build --release -p magi-backup -p magi-restore -p qdrant-standin &&
//! cargo run --release -p magi-bench --bin backup -- [--size 2GiB]`

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};
use magi_bench::{Measurement, measured_ok as measured};
use magi_testkit::MiniStack;
use serde_json::Value;

const MIB: f64 = 1024.0 * 1024.0;
/// A magi-restore run and the seconds of each of its phases (from its `restore.completed` event).
type Restored = (Measurement, Vec<(String, f64)>);
/// How many interleaved rounds of the restore comparison run; each figure is the fastest of its rounds.
const RESTORE_ROUNDS: u32 = 2;

fn parse_size(text: &str) -> anyhow::Result<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (number, unit) = t.split_at(t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len()));
    let n: f64 = number
        .parse()
        .with_context(|| format!("'{text}' is not a size (2GiB, 300MiB)"))?;
    let factor = match unit {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => MIB,
        "g" | "gib" => 1024.0 * MIB,
        other => bail!("unknown unit '{other}' in '{text}' (KiB, MiB, GiB)"),
    };
    Ok((n * factor) as u64)
}

fn parse_args() -> anyhow::Result<u64> {
    let mut size = 2 * 1024 * 1024 * 1024;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--size" => size = parse_size(&it.next().context("--size needs a value")?)?,
            other => bail!("unknown argument '{other}' (use --size 2GiB)"),
        }
    }
    if size < 16 * 1024 * 1024 {
        bail!("--size must be at least 16MiB");
    }
    Ok(size)
}

/// Bytes: half incompressible, half text-like, from a seed.
fn fill(out: &mut impl Write, mut len: u64, seed: u64, text: bool) -> anyhow::Result<()> {
    let words = [
        "magi ", "backup ", "restore ", "qdrant ", "redis ", "chat ", "model ", "token ", "ok ",
    ];
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut buf = Vec::with_capacity(1 << 16);
    while len > 0 {
        buf.clear();
        while buf.len() < (1 << 16) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if text {
                buf.extend_from_slice(words[(x % words.len() as u64) as usize].as_bytes());
                buf.extend_from_slice(format!("{} ", x % 100_000).as_bytes());
            } else {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        let n = len.min(buf.len() as u64) as usize;
        out.write_all(&buf[..n])?;
        len -= n as u64;
    }
    Ok(())
}

fn grow_sqlite(path: &Path, bytes: u64) -> anyhow::Result<()> {
    let rows = bytes / 700;
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS bench_history (id INTEGER PRIMARY KEY, body TEXT);
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})
         INSERT INTO bench_history (body) SELECT 'message ' || x || ' ' || hex(randomblob(150)) || ' ' || printf('%.*c', 300, 'a') FROM c;"
    );
    let status = Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .status()
        .context("cannot run sqlite3")?;
    if !status.success() {
        bail!("sqlite3 failed on {}", path.display());
    }
    Ok(())
}

fn generate(home: &Path, size: u64) -> anyhow::Result<()> {
    grow_sqlite(&home.join("data/open-webui/webui.db"), size / 5)?;
    grow_sqlite(&home.join("data/n8n/database.sqlite"), size / 20)?;
    let small = home.join("data/open-webui/uploads/small");
    let mut left = size / 5;
    let mut i = 0u64;
    while left > 0 {
        let dir = small.join(format!("{:03}", i / 500));
        fs::create_dir_all(&dir)?;
        let len = (2048 + (i * 7919) % (30 * 1024)).min(left);
        fill(
            &mut fs::File::create(dir.join(format!("note-{i}.md")))?,
            len,
            i,
            true,
        )?;
        left -= len;
        i += 1;
    }
    let large = size - size / 5 - size / 20 - size / 5;
    for n in 0..4u64 {
        let path = home.join(format!("data/open-webui/uploads/large-{n}.bin"));
        fill(
            &mut std::io::BufWriter::new(fs::File::create(path)?),
            large / 4,
            1000 + n,
            n % 2 == 1,
        )?;
    }
    Ok(())
}

fn du(path: &Path) -> anyhow::Result<u64> {
    let out = Command::new("du").args(["-sb"]).arg(path).output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .context("du")?
        .parse()?)
}

fn newest(stack: &MiniStack, kind: &str) -> anyhow::Result<Value> {
    let out = stack
        .command("magi-backup")
        .args(["list", "--json"])
        .output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|v| v["kind"] == kind)
        .context("no backup listed")
}

fn bench(size: u64) -> anyhow::Result<()> {
    for tool in ["restic", "zstd", "tar", "sha256sum", "sqlite3"] {
        if Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .stdout(Stdio::null())
            .status()?
            .code()
            != Some(0)
        {
            bail!("{tool} is not installed (tests/run installs it)");
        }
    }
    let stack = MiniStack::up();
    let mut env = stack.env();
    env.push(("RESTIC_PASSWORD", "magi-bench".into()));
    let home = stack.home().to_owned();
    eprintln!(
        "generating {:.0} MiB in {}",
        size as f64 / MIB,
        home.display()
    );
    generate(&home, size)?;
    let bytes = du(&home)?;
    let work = tempfile::tempdir()?;
    let backup = magi_testkit::bin_path("magi-backup");
    let restore = magi_testkit::bin_path("magi-restore");
    let _ = Command::new("sync").status();

    eprintln!("magi-backup create");
    let ours = measured(&env, &[backup.to_str().unwrap(), "create", "--quiet"])?;
    let archive = newest(&stack, "regular")?;
    let name = archive["name"].as_str().context("name")?.to_owned();
    let archive_size = archive["size"].as_u64().unwrap_or(0);

    eprintln!("tar -c | zstd | sha256sum");
    let pipe = format!(
        "tar -C {} -cf - . | zstd -q -3 -T1 | sha256sum >/dev/null",
        home.display()
    );
    let limit = measured(&env, &["sh", "-c", &pipe])?;

    eprintln!("restic backup");
    let repo = work.path().join("restic");
    measured(
        &env,
        &[
            "restic",
            "init",
            "--quiet",
            "--repo",
            repo.to_str().unwrap(),
        ],
    )?;
    let restic = measured(
        &env,
        &[
            "restic",
            "backup",
            "--quiet",
            "--repo",
            repo.to_str().unwrap(),
            home.to_str().unwrap(),
        ],
    )?;

    eprintln!("magi-backup verify");
    let verify = measured(&env, &[backup.to_str().unwrap(), "verify", &name])?;

    let webui = home.join("data/open-webui");
    let webui_bytes = du(&webui)?;
    let tarball = work.path().join("webui.tar.zst");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -cf - data/open-webui | zstd -q -3 -T1 -o {}",
            home.display(),
            tarball.display()
        ))
        .status()?;
    if !status.success() {
        bail!("tar | zstd of data/open-webui failed");
    }
    let extract_dir = work.path().join("extract");
    let events = work.path().join("restore.ndjson");
    let untar_with = |then: &str| -> anyhow::Result<Measurement> {
        if extract_dir.exists() {
            fs::remove_dir_all(&extract_dir)?;
        }
        fs::create_dir_all(&extract_dir)?;
        let _ = Command::new("sync").status();
        measured(
            &env,
            &[
                "sh",
                "-c",
                &format!(
                    "zstd -dc {} | tar -x -C {}{then}",
                    tarball.display(),
                    extract_dir.display()
                ),
            ],
        )
    };
    let restore_once = || -> anyhow::Result<Restored> {
        fs::write(webui.join("webui.db"), b"damaged")?;
        let script = format!(
            "{} {name} --service open-webui --yes --json --quiet > {}",
            restore.display(),
            events.display()
        );
        let _ = Command::new("sync").status();
        let run = measured(&env, &["sh", "-c", &script])?;
        let mut phases: Vec<(String, f64)> = Vec::new();
        for line in fs::read_to_string(&events)?.lines() {
            let event: Value = serde_json::from_str(line)?;
            if event["kind"] == "restore.completed" {
                if let Some(map) = event["data"]["phases_ms"].as_object() {
                    phases = map
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(0.0) / 1000.0))
                        .collect();
                }
            } else if event["kind"] == "restore.failed" {
                bail!("the restore failed: {}", event["message"]);
            }
        }
        Ok((run, phases))
    };
    // Two interleaved rounds, the faster of each kept: this machine is shared and noisy.
    let faster = |a: Measurement, b: Measurement| if b.seconds() < a.seconds() { b } else { a };
    let mut best: Option<(Measurement, Measurement, Restored)> = None;
    for round in 1..=RESTORE_ROUNDS {
        eprintln!(
            "round {round}: zstd -d | tar -x; zstd -d | tar -x && sync; magi-restore --service open-webui"
        );
        let untar = untar_with("")?;
        let untar_sync = untar_with(" && sync")?;
        let ours = restore_once()?;
        best = Some(match best {
            None => (untar, untar_sync, ours),
            Some((a, b, c)) => (
                faster(a, untar),
                faster(b, untar_sync),
                if ours.0.seconds() < c.0.seconds() {
                    ours
                } else {
                    c
                },
            ),
        });
    }
    let (untar, untar_sync, (ours_restore, phases)) = best.context("no restore round ran")?;
    let phase = |name: &str| {
        phases
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, s)| *s)
    };
    let container_s = phase("start") + phase("wait");
    let data_s = ours_restore.seconds() - container_s;

    let rate = |run: &Measurement| bytes as f64 / MIB / run.seconds();
    println!(
        "magi-backup benchmark: {:.0} MiB in the MAGI home ({:.0} MiB of it Open WebUI's), archive {:.0} MiB",
        bytes as f64 / MIB,
        webui_bytes as f64 / MIB,
        archive_size as f64 / MIB
    );
    println!();
    println!(
        "backup                              wall     MiB/s   peak RSS   vs tar|zstd|sha256sum"
    );
    for (label, run) in [
        ("magi-backup create", &ours),
        ("tar -c | zstd -3 | sha256sum", &limit),
        ("restic backup (fresh repository)", &restic),
    ] {
        println!(
            "{label:<34} {:6.1} s {:8.1} {:7.1} MiB   {:.2}",
            run.seconds(),
            rate(run),
            run.max_rss_mib(),
            limit.seconds() / run.seconds()
        );
    }
    println!();
    println!("restore of data/open-webui          wall   peak RSS   vs tar -x   vs tar -x && sync");
    let row = |label: &str, seconds: f64, rss: Option<f64>, note: &str| {
        let rss = rss.map_or(String::from("           "), |r| format!("{r:7.1} MiB"));
        println!(
            "{label:<34} {seconds:6.1} s {rss}   {:6.2}x   {:6.2}x  {note}",
            seconds / untar.seconds(),
            seconds / untar_sync.seconds()
        );
    };
    row(
        "zstd -d | tar -x",
        untar.seconds(),
        Some(untar.max_rss_mib()),
        "",
    );
    row(
        "zstd -d | tar -x && sync",
        untar_sync.seconds(),
        Some(untar_sync.max_rss_mib()),
        "",
    );
    row(
        "magi-restore --service open-webui",
        ours_restore.seconds(),
        Some(ours_restore.max_rss_mib()),
        "(all of it: verify, stage, safety copy, swap, container start and wait)",
    );
    row(
        "  without starting the container",
        data_s,
        None,
        "(total less starting the container and waiting for it to be healthy)",
    );
    for (name, seconds) in &phases {
        println!("    phase {name:<24} {seconds:6.2} s");
    }
    println!(
        "magi-backup verify (whole archive)  {:6.1} s {:7.1} MiB",
        verify.seconds(),
        verify.max_rss_mib()
    );
    Ok(())
}

fn main() -> ExitCode {
    magi_bench::main("backup", || parse_args().and_then(bench))
}

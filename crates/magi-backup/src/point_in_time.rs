//! `magi-restore --timestamp T`: the SQLite databases as of T, from the point-in-time store magi-pitr
//! keeps, laid over the newest backup taken at or before T. The databases are rebuilt by `magi-pitr
//! restore --json` (a separate tool, run as a program and read as NDJSON, as the family's tools talk)
//! into a directory on the MAGI home's file system; the restore then stages the archive as always and
//! renames each rebuilt database over the archive's copy before the swap, so the safety copy, the health
//! gate and the rollback are the ones every restore has.

use std::fs;
use std::io::BufRead;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use magi_core::exit::UsageError;
use serde::Deserialize;

use crate::engine::{SQLITE_SIDECARS, with_suffix};

/// One database rebuilt to the time asked for.
#[derive(Debug, Clone, Deserialize)]
pub struct Rebuilt {
    pub service: String,
    /// Where the database lives in the stack.
    pub database: PathBuf,
    /// The rebuilt file.
    pub output: PathBuf,
    /// When the capture saw the last transaction replayed (Unix nanoseconds).
    pub seen: i64,
    #[serde(default)]
    pub damage: Option<String>,
    /// The capture's count of rows per table the rebuilt database matched, where it had one.
    #[serde(default)]
    pub rows_checked: Option<RowsChecked>,
}

/// Which of the capture's counts of rows the rebuilt database matched.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RowsChecked {
    /// The point counted (Unix nanoseconds).
    pub seen: i64,
    /// It is the point rebuilt to.
    pub exact: bool,
}

impl Rebuilt {
    /// The time of the point reached.
    pub fn point(&self) -> String {
        show(self.seen)
    }

    /// What its rows were checked against, in a few words.
    pub fn rows_check(&self) -> String {
        match self.rows_checked {
            Some(checked) if checked.exact => "rows as the capture counted them there".into(),
            Some(checked) => format!("rows as the capture counted them at {}", show(checked.seen)),
            None => "rows not counted by the capture by then".into(),
        }
    }
}

fn show(nanos: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(nanos))
        .map(|t| t.round(jiff::Unit::Millisecond).unwrap_or(t).to_string())
        .unwrap_or_default()
}

/// The rebuilt databases of a restore, in a directory of their own under the MAGI home (so they can be
/// renamed into the staging area), removed when dropped.
#[derive(Debug)]
pub struct Rebuilds {
    dir: PathBuf,
    pub databases: Vec<Rebuilt>,
}

impl Drop for Rebuilds {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The magi-pitr executable `--timestamp` runs: beside magi-restore, else on PATH.
pub fn magi_pitr() -> Result<PathBuf, UsageError> {
    magi_core::tools::locate("pitr").ok_or_else(|| {
        UsageError(
            "--timestamp needs magi-pitr, which is not installed next to magi-restore or on PATH"
                .into(),
        )
    })
}

/// Runs `magi-pitr restore --timestamp TIME --json` for `services` into a new directory under `home`.
/// A database magi-pitr cannot rebuild to the time (nothing captured, damage before it) fails the whole
/// restore: it would otherwise come back from the nightly backup, silently older than asked for.
pub fn rebuild(home: &Path, timestamp: &str, services: &[String]) -> anyhow::Result<Rebuilds> {
    let pitr = magi_pitr()?;
    let dir = home.join(format!(".magi-pitr-restore-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let mut rebuilds = Rebuilds {
        dir: dir.clone(),
        databases: Vec::new(),
    };
    let mut command = Command::new(&pitr);
    command
        .args(["restore", "--json", "--timestamp", timestamp, "--to"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    for service in services {
        command.args(["--service", service]);
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {}", pitr.display()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.context("reading magi-pitr's output")?;
        let rebuilt: Rebuilt = serde_json::from_str(&line).with_context(|| {
            format!("magi-pitr printed a line that is not a rebuilt database: {line}")
        })?;
        rebuilds.databases.push(rebuilt);
    }
    let status = child.wait()?;
    if !status.success() {
        anyhow::bail!(
            "magi-pitr could not rebuild every database to {timestamp} (its messages are above); nothing was changed"
        );
    }
    Ok(rebuilds)
}

/// Renames each rebuilt database over the archive's copy staged at `staging` (the same path under it as
/// the database has under `home`), with that copy's owner and mode, and drops any `-wal` or `-shm` staged
/// with that copy (they belong to it, not to the rebuilt file). A database the archive does not hold is
/// staged with the owner and mode of the live one.
pub fn lay_over(rebuilds: &Rebuilds, home: &Path, staging: &Path) -> std::io::Result<()> {
    let context = |what: String| {
        move |e: std::io::Error| std::io::Error::new(e.kind(), format!("{what}: {e}"))
    };
    for rebuilt in &rebuilds.databases {
        let relative = rebuilt.database.strip_prefix(home).map_err(|_| {
            std::io::Error::other(format!(
                "{} is not under the MAGI home {}",
                rebuilt.database.display(),
                home.display()
            ))
        })?;
        let staged = staging.join(relative);
        let like = fs::metadata(&staged)
            .or_else(|_| fs::metadata(&rebuilt.database))
            .map_err(context(format!(
                "neither the backup nor the stack holds {}",
                relative.display()
            )))?;
        let out = fs::File::open(&rebuilt.output)
            .map_err(context(rebuilt.output.display().to_string()))?;
        std::os::unix::fs::fchown(&out, Some(like.uid()), Some(like.gid())).map_err(context(
            format!("giving {} its owner", rebuilt.output.display()),
        ))?;
        out.set_permissions(fs::Permissions::from_mode(like.mode() & 0o777))?;
        let parent = staged.parent().unwrap_or(staging).to_owned();
        fs::create_dir_all(&parent)?;
        for sidecar in SQLITE_SIDECARS {
            match fs::remove_file(with_suffix(&staged, sidecar)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        fs::rename(&rebuilt.output, &staged).map_err(context(format!(
            "moving the rebuilt {} into place",
            relative.display()
        )))?;
        fs::File::open(&parent)?.sync_all()?;
        log::info!(
            "{}: {} as of {} (point-in-time)",
            rebuilt.service,
            relative.display(),
            rebuilt.point()
        );
    }
    Ok(())
}

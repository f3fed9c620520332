//! The store on disk: a directory of shards, one SQLite file per writer (`health.db` for magi-health,
//! `limits.db` for the gateway, `push.db` for `magi metrics push` and the scraper), each written by one
//! process at a time under an exclusive lock and read by any number of readers, which WAL never lets block
//! the writer.
//!
//! New points go to the `head` table as rows. Once an hour has closed, the writer compacts it in one
//! transaction: the hour's points become one compressed raw block per series, each rollup tier's block
//! gains the hour's buckets, and the rows go. A crash in the middle leaves the transaction undone and the
//! rows in place, so no closed block is ever lost or half-written; a full disk fails the transaction the
//! same way and leaves the store readable. Points that arrive late (or a backfill) are merged into the
//! hour's blocks by the next compaction; the raw block decides duplicates, so a point sent twice is stored
//! once.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use magi_core::store::rusqlite::{self, Connection, OpenFlags, OptionalExtension, params};
use magi_core::store::{self as sqlite, StoreError};
use nix::fcntl::{Flock, FlockArg};

use crate::bucket::{self, Bucket};
use crate::codec::{self, CodecError};
use crate::key::{Kind, SeriesKey};
use crate::tier::{HOUR_MS, Tiers};

/// The schema of one shard. Append-only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &["
CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX series_name ON series (name);
CREATE TABLE head (
    series INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series, ts_ms)
) WITHOUT ROWID;
CREATE TABLE blocks (
    series INTEGER NOT NULL,
    tier INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    points INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (series, tier, start_ms)
) WITHOUT ROWID;
CREATE TABLE annotations (
    ts_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    service TEXT,
    text TEXT NOT NULL
);
CREATE INDEX annotations_ts ON annotations (ts_ms);
"];

/// How long after an hour ends its points may still arrive before it is compacted.
const GRACE_MS: i64 = 60_000;
/// How far ahead of the writer's clock a point may be (clock skew), before it is refused.
const FUTURE_MS: i64 = 10 * 60_000;
/// The most annotations one shard keeps.
const MAX_ANNOTATIONS: i64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    #[error(transparent)]
    Open(#[from] StoreError),
    #[error("{}: cannot {action}: {source}", path.display())]
    Query {
        path: PathBuf,
        action: &'static str,
        source: rusqlite::Error,
    },
    #[error("{}: cannot take the writer's lock: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: another process writes this shard{}; a shard has one writer",
        path.display(),
        holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Busy { path: PathBuf, holder: Option<u32> },
    #[error("{}: a block of series {series} is damaged: {source}", path.display())]
    Block {
        path: PathBuf,
        series: String,
        source: CodecError,
    },
}

/// One point to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub key: SeriesKey,
    pub kind: Kind,
    pub ts_ms: i64,
    pub value: f64,
}

/// Why a point was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the value is not a finite number")]
    NotFinite,
    #[error("the time is more than 10 minutes ahead of this host's clock")]
    Future,
    #[error("the shard already holds its limit of {0} series")]
    TooManySeries(usize),
    #[error("the series is a {stored}, not a {given}")]
    KindChanged {
        stored: &'static str,
        given: &'static str,
    },
}

/// What [`Writer::append`] did.
#[derive(Debug, Default)]
pub struct Appended {
    pub stored: usize,
    /// The index of each refused sample and why.
    pub refused: Vec<(usize, Refusal)>,
}

/// The limits a writer keeps to, whatever its input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_series: usize,
    /// The most the shard's file may grow to; a write beyond it fails as on a full disk.
    pub max_bytes: Option<u64>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_series: 10_000,
            max_bytes: None,
        }
    }
}

/// The file of a shard in a store directory.
pub fn shard_path(dir: &Path, shard: &str) -> PathBuf {
    dir.join(format!("{shard}.db"))
}

/// The one writer of a shard.
pub struct Writer {
    path: PathBuf,
    conn: Connection,
    tiers: Tiers,
    limits: Limits,
    series: HashMap<String, (i64, Kind)>,
    /// Hours before this are compacted (as far as the writer knows: late points reopen them).
    compacted_until: i64,
    _lock: Flock<File>,
}

impl Writer {
    /// Opens (creating) `shard` in `dir` for writing; refuses if another process writes it.
    pub fn open(
        dir: &Path,
        shard: &str,
        tiers: Tiers,
        limits: Limits,
    ) -> Result<Writer, TsdbError> {
        let path = shard_path(dir, shard);
        let lock_path = dir.join(format!("{shard}.lock"));
        std::fs::create_dir_all(dir).map_err(|source| TsdbError::Lock {
            path: lock_path.clone(),
            source,
        })?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|source| TsdbError::Lock {
                path: lock_path.clone(),
                source,
            })?;
        let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((file, _)) => {
                let holder = std::fs::read_to_string(&lock_path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                drop(file);
                return Err(TsdbError::Busy { path, holder });
            }
        };
        lock.set_len(0)
            .and_then(|()| writeln!(&*lock, "{}", std::process::id()))
            .map_err(|source| TsdbError::Lock {
                path: lock_path.clone(),
                source,
            })?;
        let conn = sqlite::open(&path, MIGRATIONS)?;
        hand_to_directory_owner(dir, &[&path, &lock_path]);
        let mut writer = Writer {
            path,
            conn,
            tiers,
            limits,
            series: HashMap::new(),
            compacted_until: i64::MIN,
            _lock: lock,
        };
        writer.load_series()?;
        writer.set_max_bytes(limits.max_bytes)?;
        Ok(writer)
    }

    /// Caps the shard's file at `max_bytes` (rounded down to whole pages), or lifts the cap. A write that
    /// needs more fails, and changes nothing, as it would on a full disk.
    pub fn set_max_bytes(&mut self, max_bytes: Option<u64>) -> Result<(), TsdbError> {
        let failed = self.failed("set the size limit");
        let page: i64 = self
            .conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(&failed)?;
        // SQLite's own ceiling (2^32 - 2 pages) stands for "no cap".
        let pages = max_bytes.map_or(4_294_967_294, |b| (b / page.max(1) as u64).max(1));
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .map_err(failed)?;
        self.limits.max_bytes = max_bytes;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> TsdbError + '_ {
        move |source| TsdbError::Query {
            path: self.path.clone(),
            action,
            source,
        }
    }

    fn load_series(&mut self) -> Result<(), TsdbError> {
        let mut series = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT id, key, kind FROM series")
                .map_err(self.failed("read the series"))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(self.failed("read the series"))?;
            for row in rows {
                let (id, key, kind) = row.map_err(self.failed("read the series"))?;
                series.insert(key, (id, Kind::parse(&kind).unwrap_or_default()));
            }
        }
        self.series = series;
        Ok(())
    }

    /// Stores `samples` in one transaction, then compacts every hour that has closed by `now_ms`.
    pub fn append(&mut self, samples: &[Sample], now_ms: i64) -> Result<Appended, TsdbError> {
        let mut appended = Appended::default();
        let mut new_series = Vec::new();
        let tx = self.conn.transaction().map_err(|source| TsdbError::Query {
            path: self.path.clone(),
            action: "store points",
            source,
        })?;
        let failed = |source| TsdbError::Query {
            path: self.path.clone(),
            action: "store points",
            source,
        };
        let mut earliest = i64::MAX;
        {
            let mut insert_series = tx
                .prepare_cached("INSERT INTO series (key, name, kind) VALUES (?1, ?2, ?3)")
                .map_err(failed)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO head (series, ts_ms, value) VALUES (?1, ?2, ?3)",
                )
                .map_err(failed)?;
            for (index, s) in samples.iter().enumerate() {
                if !s.value.is_finite() {
                    appended.refused.push((index, Refusal::NotFinite));
                    continue;
                }
                if s.ts_ms > now_ms + FUTURE_MS {
                    appended.refused.push((index, Refusal::Future));
                    continue;
                }
                let text = s.key.to_string();
                let id = match self.series.get(&text) {
                    Some(&(id, kind)) if kind == s.kind => id,
                    Some(&(_, kind)) => {
                        appended.refused.push((
                            index,
                            Refusal::KindChanged {
                                stored: kind.as_str(),
                                given: s.kind.as_str(),
                            },
                        ));
                        continue;
                    }
                    None if self.series.len() >= self.limits.max_series => {
                        appended
                            .refused
                            .push((index, Refusal::TooManySeries(self.limits.max_series)));
                        continue;
                    }
                    None => {
                        insert_series
                            .execute(params![text, s.key.name, s.kind.as_str()])
                            .map_err(failed)?;
                        let id = tx.last_insert_rowid();
                        self.series.insert(text.clone(), (id, s.kind));
                        new_series.push(text);
                        id
                    }
                };
                insert
                    .execute(params![id, s.ts_ms, s.value])
                    .map_err(failed)?;
                earliest = earliest.min(s.ts_ms);
                appended.stored += 1;
            }
        }
        if let Err(e) = tx.commit() {
            // The series added in this transaction are not in the file.
            for text in new_series {
                self.series.remove(&text);
            }
            return Err(failed(e));
        }
        let closed = (now_ms - GRACE_MS).div_euclid(HOUR_MS) * HOUR_MS;
        if closed > self.compacted_until || earliest < self.compacted_until {
            self.compact(now_ms)?;
        }
        Ok(appended)
    }

    /// Records an annotation (a backup, a restart, an upgrade, an alert) for the charts.
    pub fn annotate(
        &mut self,
        ts_ms: i64,
        kind: &str,
        service: Option<&str>,
        text: &str,
    ) -> Result<(), TsdbError> {
        let failed = self.failed("record an annotation");
        let text: String = text.chars().take(500).collect();
        self.conn
            .execute(
                "INSERT INTO annotations (ts_ms, kind, service, text) VALUES (?1, ?2, ?3, ?4)",
                params![ts_ms, kind, service, text],
            )
            .map_err(&failed)?;
        self.conn
            .execute(
                "DELETE FROM annotations WHERE rowid <= (SELECT max(rowid) FROM annotations) - ?1",
                [MAX_ANNOTATIONS],
            )
            .map_err(failed)
            .map(drop)
    }

    /// Compacts every hour closed by `now_ms` (and every late point), then drops what the tiers no longer
    /// keep. Returns how many (series, hour) groups were compacted.
    pub fn compact(&mut self, now_ms: i64) -> Result<usize, TsdbError> {
        let closed = (now_ms - GRACE_MS).div_euclid(HOUR_MS) * HOUR_MS;
        let path = self.path.clone();
        let failed = |source| TsdbError::Query {
            path: path.clone(),
            action: "compact a closed hour",
            source,
        };
        let tx = self.conn.transaction().map_err(failed)?;
        let groups: Vec<(i64, i64)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT DISTINCT series, (ts_ms - (((ts_ms % ?1) + ?1) % ?1)) AS hour FROM head
                     WHERE ts_ms < ?2 ORDER BY series, hour",
                )
                .map_err(failed)?;
            let rows = stmt
                .query_map(params![HOUR_MS, closed], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(failed)?;
            rows.collect::<Result<_, _>>().map_err(failed)?
        };
        let names: HashMap<i64, String> = self
            .series
            .iter()
            .map(|(key, &(id, _))| (id, key.clone()))
            .collect();
        for &(series, hour) in &groups {
            let name = names.get(&series).cloned().unwrap_or_default();
            compact_hour(&tx, &self.tiers, series, hour, now_ms).map_err(|e| match e {
                CompactError::Sql(source) => failed(source),
                CompactError::Codec(source) => TsdbError::Block {
                    path: path.clone(),
                    series: name,
                    source,
                },
            })?;
        }
        for (index, tier) in self.tiers.all().iter().enumerate() {
            tx.execute(
                "DELETE FROM blocks WHERE tier = ?1 AND end_ms <= ?2",
                params![index as i64, now_ms - tier.retention_ms],
            )
            .map_err(failed)?;
        }
        tx.commit().map_err(failed)?;
        self.compacted_until = closed;
        Ok(groups.len())
    }
}

/// When root writes a shard in a directory another user owns (`magi metrics push` run by root in the
/// daemons' `/var/lib/magi/metrics`), the files go to that user, or the dashboard could not read them.
/// SQLite gives the `-wal` and `-shm` files the owner of the database file itself.
fn hand_to_directory_owner(dir: &Path, files: &[&Path]) {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    if meta.uid() == 0 {
        return;
    }
    for file in files {
        if let Err(e) = std::os::unix::fs::chown(file, Some(meta.uid()), Some(meta.gid())) {
            log::warn!(
                "{}: cannot hand it to the directory's owner: {e}",
                file.display()
            );
        }
    }
}

enum CompactError {
    Sql(rusqlite::Error),
    Codec(CodecError),
}

impl From<rusqlite::Error> for CompactError {
    fn from(e: rusqlite::Error) -> CompactError {
        CompactError::Sql(e)
    }
}

impl From<CodecError> for CompactError {
    fn from(e: CodecError) -> CompactError {
        CompactError::Codec(e)
    }
}

/// Moves one series' points of one closed hour from the head into its blocks.
fn compact_hour(
    tx: &Connection,
    tiers: &Tiers,
    series: i64,
    hour: i64,
    now_ms: i64,
) -> Result<(), CompactError> {
    let end = hour + HOUR_MS;
    let mut points: Vec<(i64, f64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT ts_ms, value FROM head WHERE series = ?1 AND ts_ms >= ?2 AND ts_ms < ?3
             ORDER BY ts_ms",
        )?;
        stmt.query_map(params![series, hour, end], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    // The raw block of the hour, if it is still kept, decides duplicates: a head point replaces the
    // block's point at the same time.
    let raw_before = read_block(tx, series, 0, hour)?;
    let had_raw = raw_before.is_some();
    if let Some(old) = raw_before {
        let mut merged: Vec<(i64, f64)> = old.iter().map(|b| (b.start_ms, b.last)).collect();
        merged.extend(points.iter().copied());
        merged.sort_by_key(|&(t, _)| t);
        // Keep the later of two points at one time: the head's, which sort after the block's.
        merged.reverse();
        merged.dedup_by_key(|&mut (t, _)| t);
        merged.reverse();
        points = merged;
    }
    let raw = tiers.raw();
    if end > now_ms - raw.retention_ms {
        let buckets: Vec<Bucket> = points.iter().map(|&(t, v)| Bucket::point(t, v)).collect();
        write_block(tx, series, 0, hour, end, &buckets, true)?;
    }
    for (index, tier) in tiers.all().iter().enumerate().skip(1) {
        let block_ms = tier.block_ms(false);
        let start = hour.div_euclid(block_ms) * block_ms;
        let fresh = bucket::rollup(&points, tier.step_ms);
        let old = read_block(tx, series, index, start)?.unwrap_or_default();
        let mut buckets: Vec<Bucket> = if had_raw {
            // The hour's buckets were made from the raw block, now merged into `points`: replace them.
            old.into_iter()
                .filter(|b| b.start_ms < hour || b.start_ms >= end)
                .chain(fresh)
                .collect()
        } else {
            // No raw block (a first compaction, or a backfill after the raw tier expired): add to them.
            let mut all: Vec<Bucket> = old.into_iter().chain(fresh).collect();
            all.sort_by_key(|b| b.start_ms);
            bucket::coarsen(&all, tier.step_ms)
        };
        buckets.sort_by_key(|b| b.start_ms);
        if end > now_ms - tier.retention_ms {
            write_block(tx, series, index, start, start + block_ms, &buckets, false)?;
        }
    }
    tx.prepare_cached("DELETE FROM head WHERE series = ?1 AND ts_ms >= ?2 AND ts_ms < ?3")?
        .execute(params![series, hour, end])?;
    Ok(())
}

fn read_block(
    conn: &Connection,
    series: i64,
    tier: usize,
    start: i64,
) -> Result<Option<Vec<Bucket>>, CompactError> {
    let data: Option<Vec<u8>> = conn
        .prepare_cached(
            "SELECT data FROM blocks WHERE series = ?1 AND tier = ?2 AND start_ms = ?3",
        )?
        .query_row(params![series, tier as i64, start], |r| r.get(0))
        .optional()?;
    Ok(match data {
        Some(data) => Some(codec::decode(&data)?),
        None => None,
    })
}

fn write_block(
    conn: &Connection,
    series: i64,
    tier: usize,
    start: i64,
    end: i64,
    buckets: &[Bucket],
    raw: bool,
) -> Result<(), CompactError> {
    let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
        return Ok(());
    };
    let points: u64 = buckets.iter().map(|b| b.count).sum();
    conn.prepare_cached(
        "INSERT OR REPLACE INTO blocks (series, tier, start_ms, end_ms, first_ms, last_ms, points, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        series,
        tier as i64,
        start,
        end,
        first.start_ms,
        last.start_ms,
        points as i64,
        codec::encode(buckets, raw)
    ])?;
    Ok(())
}

/// What a reader sees of one series.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeriesInfo {
    pub key: SeriesKey,
    pub kind: Kind,
    pub shard: String,
}

/// A series' buckets over a range, from one tier.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Answer {
    pub key: SeriesKey,
    pub kind: Kind,
    pub shard: String,
    /// The step of the buckets (the tier's, or wider when the tier had more than the chart can show).
    pub step_ms: i64,
    pub tier: usize,
    pub buckets: Vec<Bucket>,
}

/// An annotation as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Annotation {
    pub ts_ms: i64,
    pub kind: String,
    pub service: Option<String>,
    pub text: String,
}

/// Which series a query reads: a metric name and labels that must match exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub labels: Vec<(String, String)>,
}

impl Selector {
    pub fn name(name: &str) -> Selector {
        Selector {
            name: name.to_owned(),
            labels: Vec::new(),
        }
    }

    pub fn with(mut self, label: &str, value: &str) -> Selector {
        self.labels.push((label.to_owned(), value.to_owned()));
        self
    }

    /// Reads `name{label="value",...}` (the series' own text form, matching any further labels).
    pub fn parse(text: &str) -> Result<Selector, crate::key::KeyError> {
        let key = SeriesKey::parse(text)?;
        Ok(Selector {
            name: key.name,
            labels: key.labels.into_iter().collect(),
        })
    }

    pub fn matches(&self, key: &SeriesKey) -> bool {
        key.name == self.name
            && self
                .labels
                .iter()
                .all(|(k, v)| key.label(k) == Some(v.as_str()))
    }
}

/// Reads every shard of a store directory, never blocking their writers.
pub struct Reader {
    dir: PathBuf,
    tiers: Tiers,
}

impl Reader {
    pub fn new(dir: &Path, tiers: Tiers) -> Reader {
        Reader {
            dir: dir.to_owned(),
            tiers,
        }
    }

    pub fn tiers(&self) -> &Tiers {
        &self.tiers
    }

    /// The shards present, by name, with their open read-only connections.
    fn shards(&self) -> Result<Vec<(String, PathBuf, Connection)>, TsdbError> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => {
                return Err(TsdbError::Lock {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "db"))
            .collect();
        paths.sort();
        for path in paths {
            let shard = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let opened = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .and_then(|c| {
                c.busy_timeout(sqlite::BUSY_TIMEOUT)?;
                // Reading the schema now tells an unreadable or foreign file here, not mid-query.
                c.query_row("SELECT count(*) FROM series", [], |_| Ok(()))?;
                Ok(c)
            });
            match opened {
                Ok(conn) => out.push((shard, path, conn)),
                // One shard that cannot be read (another user's, not ours) must not hide the others.
                Err(e) => log::warn!("{}: skipped, cannot be read: {e}", path.display()),
            }
        }
        Ok(out)
    }

    /// Every series of every shard, in key order.
    pub fn series(&self) -> Result<Vec<SeriesInfo>, TsdbError> {
        let mut out = Vec::new();
        for (shard, path, conn) in self.shards()? {
            for (_, key, kind) in series_of(&conn, &path, None)? {
                out.push(SeriesInfo {
                    key,
                    kind,
                    shard: shard.clone(),
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The buckets of every series `selector` matches over `[from_ms, to_ms)`, at most about `max_points`
    /// per series, from the coarsest tier that fills that many (see [`Tiers::choose`]).
    pub fn query(
        &self,
        selector: &Selector,
        from_ms: i64,
        to_ms: i64,
        max_points: usize,
        now_ms: i64,
    ) -> Result<Vec<Answer>, TsdbError> {
        let max_points = max_points.max(1);
        let tier = self.tiers.choose(from_ms, to_ms, max_points, now_ms);
        let tier_step = self.tiers.all()[tier].step_ms;
        let mut answers = self.read_tier(selector, tier, from_ms, to_ms)?;
        let wanted = ((to_ms - from_ms) / max_points as i64).max(1);
        for answer in &mut answers {
            if answer.buckets.len() > max_points {
                let mut step = (wanted + tier_step - 1) / tier_step * tier_step;
                // Aligned groups may straddle the range's ends: one more step keeps within the bound.
                if (to_ms - from_ms) / step + 1 > max_points as i64 {
                    step += tier_step;
                }
                answer.buckets = bucket::coarsen(&answer.buckets, step);
                answer.step_ms = step;
            }
        }
        Ok(answers)
    }

    /// The sum of every series `selector` matches over `[from_ms, to_ms)` (requests, tokens, cost: delta
    /// series), by each series' value of `label` (empty for a series without it), from the finest tier still
    /// holding `from_ms`: rollups keep sums whole, so every tier gives the same totals.
    pub fn totals(
        &self,
        selector: &Selector,
        label: &str,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<std::collections::BTreeMap<String, f64>, TsdbError> {
        let tier = self.tiers.finest_holding(from_ms, now_ms);
        let mut out = std::collections::BTreeMap::new();
        for a in self.read_tier(selector, tier, from_ms, to_ms)? {
            let key = a.key.label(label).unwrap_or("").to_owned();
            *out.entry(key).or_insert(0.0) += a.buckets.iter().map(|b| b.sum).sum::<f64>();
        }
        Ok(out)
    }

    /// Every sample of the gauges `selector` matches over `[from_ms, to_ms)`, as (value, how many times it
    /// counts), from the finest tier still holding `from_ms`: raw points once each; older, a rollup bucket's
    /// mean as many times as it had samples. For a percentile of samples (a probe's latency).
    pub fn samples(
        &self,
        selector: &Selector,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<(f64, u64)>, TsdbError> {
        let tier = self.tiers.finest_holding(from_ms, now_ms);
        Ok(self
            .read_tier(selector, tier, from_ms, to_ms)?
            .into_iter()
            .flat_map(|a| a.buckets)
            .filter(|b| b.count > 0)
            .map(|b| (b.mean(), b.count))
            .collect())
    }

    /// Every bucket of `tier` (0 for raw points) of every series `selector` matches over
    /// `[from_ms, to_ms)`, at the tier's own step: for export, and for a query once it chose its tier.
    pub fn read_tier(
        &self,
        selector: &Selector,
        tier: usize,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Answer>, TsdbError> {
        let tier = tier.min(self.tiers.all().len() - 1);
        let tier_step = self.tiers.all()[tier].step_ms;
        let mut out = Vec::new();
        for (shard, path, mut conn) in self.shards()? {
            // One read transaction: the head and the blocks seen at one instant, across a compaction.
            let tx = conn.transaction().map_err(|source| TsdbError::Query {
                path: path.clone(),
                action: "read",
                source,
            })?;
            for (id, key, kind) in series_of(&tx, &path, Some(&selector.name))? {
                if !selector.matches(&key) {
                    continue;
                }
                let buckets = read_range(&tx, &path, &key, id, tier, tier_step, from_ms, to_ms)?;
                out.push(Answer {
                    key,
                    kind,
                    shard: shard.clone(),
                    step_ms: tier_step,
                    tier,
                    buckets,
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The annotations of every shard in `[from_ms, to_ms)`, in time order.
    pub fn annotations(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Annotation>, TsdbError> {
        let mut out = Vec::new();
        for (_, path, conn) in self.shards()? {
            let failed = |source| TsdbError::Query {
                path: path.clone(),
                action: "read the annotations",
                source,
            };
            let mut stmt = conn
                .prepare(
                    "SELECT ts_ms, kind, service, text FROM annotations
                     WHERE ts_ms >= ?1 AND ts_ms < ?2 ORDER BY ts_ms LIMIT 10000",
                )
                .map_err(failed)?;
            let rows = stmt
                .query_map(params![from_ms, to_ms], |r| {
                    Ok(Annotation {
                        ts_ms: r.get(0)?,
                        kind: r.get(1)?,
                        service: r.get(2)?,
                        text: r.get(3)?,
                    })
                })
                .map_err(failed)?;
            for row in rows {
                out.push(row.map_err(failed)?);
            }
        }
        out.sort_by_key(|a| a.ts_ms);
        Ok(out)
    }
}

fn series_of(
    conn: &Connection,
    path: &Path,
    name: Option<&str>,
) -> Result<Vec<(i64, SeriesKey, Kind)>, TsdbError> {
    let failed = |source| TsdbError::Query {
        path: path.to_owned(),
        action: "read the series",
        source,
    };
    let mut stmt = conn
        .prepare("SELECT id, key, kind FROM series WHERE ?1 IS NULL OR name = ?1")
        .map_err(failed)?;
    let rows = stmt
        .query_map([name], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(failed)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, key, kind) = row.map_err(failed)?;
        // A key that no longer parses cannot have been written by us; it is skipped, not trusted.
        if let Ok(key) = SeriesKey::parse(&key) {
            out.push((id, key, Kind::parse(&kind).unwrap_or_default()));
        }
    }
    Ok(out)
}

/// One series' buckets of `tier` over `[from, to)`: the tier's blocks, and the head's points rolled up
/// on the fly to the tier's step.
#[allow(clippy::too_many_arguments)]
fn read_range(
    conn: &Connection,
    path: &Path,
    key: &SeriesKey,
    series: i64,
    tier: usize,
    step: i64,
    from: i64,
    to: i64,
) -> Result<Vec<Bucket>, TsdbError> {
    let failed = |source| TsdbError::Query {
        path: path.to_owned(),
        action: "read a series",
        source,
    };
    let mut buckets = Vec::new();
    {
        let mut stmt = conn
            .prepare_cached(
                "SELECT data FROM blocks WHERE series = ?1 AND tier = ?2 AND last_ms >= ?3 AND first_ms < ?4
                 ORDER BY start_ms",
            )
            .map_err(failed)?;
        let rows = stmt
            .query_map(
                params![series, tier as i64, from.div_euclid(step) * step, to],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .map_err(failed)?;
        for data in rows {
            let data = data.map_err(failed)?;
            let block = codec::decode(&data).map_err(|source| TsdbError::Block {
                path: path.to_owned(),
                series: key.to_string(),
                source,
            })?;
            buckets.extend(block.into_iter().filter(|b| {
                let starts_in = if tier == 0 {
                    b.start_ms >= from
                } else {
                    b.start_ms + step > from
                };
                starts_in && b.start_ms < to
            }));
        }
    }
    let head: Vec<(i64, f64)> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT ts_ms, value FROM head WHERE series = ?1 AND ts_ms >= ?2 AND ts_ms < ?3
                 ORDER BY ts_ms",
            )
            .map_err(failed)?;
        let start = if tier == 0 {
            from
        } else {
            from.div_euclid(step) * step
        };
        stmt.query_map(params![series, start, to], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(failed)?
            .collect::<Result<_, _>>()
            .map_err(failed)?
    };
    if tier == 0 {
        buckets.extend(head.into_iter().map(|(t, v)| Bucket::point(t, v)));
        buckets.sort_by_key(|b| b.start_ms);
        // A late point waiting in the head replaces the block's point at the same time.
        buckets.reverse();
        buckets.dedup_by_key(|b| b.start_ms);
        buckets.reverse();
        return Ok(buckets);
    }
    buckets.extend(bucket::rollup(&head, step));
    buckets.sort_by_key(|b| b.start_ms);
    Ok(bucket::coarsen(&buckets, step))
}

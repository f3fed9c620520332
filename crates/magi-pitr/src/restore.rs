//! Rebuilding one database as it was at a chosen time from the point-in-time store: the newest generation
//! begun at or before the time, its copy of the database, and its transactions seen at or before the time
//! replayed over it in order. The segments are read twice: once to check every transaction up to the time
//! (its hash, its chain, its pages inside the database's size) and find where to stop, then to write; so a
//! damaged segment stops the restore at the last good transaction before the damage, and says so, and
//! never leaves half a transaction written. On the way, where the capture last recorded the rows per table
//! at or before the time, the database rebuilt so far is counted and must hold exactly those rows. The
//! result is checked with `PRAGMA integrity_check` and its tables counted before it is moved into place.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use magi_core::store::rusqlite::{self, Connection, OpenFlags};
use serde::Serialize;

use crate::segment::{Record, RowCounts, SegmentError, SegmentReader};
use crate::timeline::{self, Generation, TimelineError};

/// Why a database could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{store}: no point at or before {at}{}", earliest.map(|e| format!("; the earliest is {}", show_time(e))).unwrap_or_else(|| "; nothing was captured".into()))]
    NoPoint {
        store: PathBuf,
        at: String,
        earliest: Option<i64>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path} exists; restore into a new path")]
    Exists { path: PathBuf },
    #[error("{path}: the rebuilt database fails SQLite's integrity check: {report}")]
    Integrity { path: PathBuf, report: String },
    #[error(
        "{database}: rebuilt to {at}, table {table:?} holds {} rows where the capture counted {}: the restore is refused",
        found.map_or_else(|| "no".to_owned(), |n| n.to_string()),
        recorded.map_or_else(|| "none (no such table)".to_owned(), |n| n.to_string())
    )]
    RowsDiffer {
        database: PathBuf,
        at: String,
        table: String,
        recorded: Option<u64>,
        found: Option<u64>,
    },
    #[error(transparent)]
    Timeline(#[from] TimelineError),
    #[error(transparent)]
    Segment(SegmentError),
}

/// A Unix-nanosecond time as RFC 3339 in UTC, to the microsecond.
pub fn show_time(nanos: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(nanos))
        .map(|t| t.round(jiff::Unit::Microsecond).unwrap_or(t).to_string())
        .unwrap_or_else(|_| nanos.to_string())
}

/// The point a restore reached.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub database: PathBuf,
    pub output: PathBuf,
    /// When the generation used began (Unix nanoseconds).
    pub generation: i64,
    /// The last transaction replayed was seen by the capture at `seen` and had not been at `after`: it
    /// committed between the two. With no transaction replayed, both are the generation's start.
    pub seen: i64,
    pub after: i64,
    /// Transactions replayed after the generation's copy.
    pub transactions: u64,
    /// Why the restore stopped short of the time asked for: damage in a segment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
    /// Rows per table of the rebuilt database.
    pub tables: BTreeMap<String, u64>,
    /// The capture's record of the rows that the rebuilt database matched, if it kept one by then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_checked: Option<RowsChecked>,
}

impl Restored {
    /// What the rows were checked against, in a few words.
    pub fn rows_check(&self) -> String {
        match self.rows_checked {
            Some(checked) if checked.exact => "match the capture's count of the point".into(),
            Some(checked) => format!(
                "match the capture's count of {}, {} transaction(s) before",
                show_time(checked.seen),
                self.transactions - checked.transactions
            ),
            None => "not counted by the capture by then".into(),
        }
    }
}

/// Where the rows were checked against the capture's record.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RowsChecked {
    /// The point the record is of: when its last transaction was seen (Unix nanoseconds).
    pub seen: i64,
    /// Transactions replayed up to it.
    pub transactions: u64,
    /// It is the point restored to.
    pub exact: bool,
}

/// What pass one found: where to stop, and where the rows were last recorded before that.
#[derive(Debug, Default)]
struct Plan {
    cut: Option<Cut>,
    /// Transactions up to the cut.
    transactions: u64,
    /// Why the cut is short of the time asked for.
    damage: Option<String>,
    rows: Option<RowsPoint>,
}

/// A rows record the rebuilt database is checked against.
#[derive(Debug, Clone)]
struct RowsPoint {
    segment: usize,
    end: u64,
    transactions: u64,
    /// The database's size after the last transaction before it (none: the generation's copy's).
    database_pages: Option<u32>,
    seen: i64,
    tables: RowCounts,
}

/// Where pass one says to stop: in which segment, after which byte.
#[derive(Debug, Clone, Copy)]
struct Cut {
    segment: usize,
    end: u64,
    database_pages: u32,
    seen: i64,
    after: i64,
}

/// Rebuilds the database whose store is `store` as of `at` (Unix nanoseconds) into `output`, a new file.
pub fn restore(store: &Path, at: i64, output: &Path) -> Result<Restored, RestoreError> {
    if output.exists() {
        return Err(RestoreError::Exists {
            path: output.to_owned(),
        });
    }
    let generations = timeline::generations(store)?;
    // The newest generation begun by then; an older one if damage leaves that one's copy incomplete.
    let mut usable = None;
    let mut first_damage = None;
    for generation in generations.iter().rev().filter(|g| g.info.started <= at) {
        let mut plan = find_cut(generation, at)?;
        if plan.transactions >= generation.info.base_transactions {
            plan.damage = first_damage.take().or(plan.damage);
            usable = Some((generation, plan));
            break;
        }
        let damage = plan
            .damage
            .unwrap_or_else(|| "its first transactions are missing".into());
        log::warn!(
            "the generation begun {} cannot be used ({damage}); trying the one before",
            show_time(generation.info.started)
        );
        first_damage.get_or_insert(damage);
    }
    let Some((generation, plan)) = usable else {
        return Err(RestoreError::NoPoint {
            store: store.to_owned(),
            at: show_time(at),
            earliest: generations.first().map(|g| g.info.started),
        });
    };
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = fs::remove_file(&partial);
    let result = rebuild(generation, &plan, &partial).and_then(|checked| {
        let tables = check(&partial)?;
        // A record of the point restored to is compared with the final count, not counted twice.
        let checked = match plan
            .rows
            .as_ref()
            .filter(|p| p.transactions == plan.transactions)
        {
            Some(point) => Some(compare_rows(generation, point, &tables)?),
            None => checked,
        };
        Ok((checked, tables))
    });
    let (rows_checked, tables) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, output).map_err(|source| RestoreError::Io {
        path: output.to_owned(),
        source,
    })?;
    let started = generation.info.started;
    let Plan {
        cut,
        transactions,
        damage,
        ..
    } = plan;
    Ok(Restored {
        database: generation.info.database.clone(),
        output: output.to_owned(),
        generation: started,
        seen: point_seen(generation, cut, transactions),
        after: cut.map_or(started, |c| c.after),
        transactions,
        damage,
        tables,
        rows_checked: rows_checked.map(|checked| RowsChecked {
            exact: checked.transactions == transactions,
            ..checked
        }),
    })
}

/// When the point after `transactions` (the last of them `cut`) was seen: within the generation's first
/// transactions, the generation's start, which is what it copied.
fn point_seen(generation: &Generation, cut: Option<Cut>, transactions: u64) -> i64 {
    match cut {
        Some(cut) if transactions > generation.info.base_transactions => cut.seen,
        _ => generation.info.started,
    }
}

/// Pass one: checks the generation's transactions in order up to `at`; the last to replay, how many, the
/// damage that stopped it early if any, and the last rows record on the way.
fn find_cut(generation: &Generation, at: i64) -> Result<Plan, RestoreError> {
    let mut plan = Plan::default();
    let mut previous_end = None;
    for (index, (_, path)) in generation.segments.iter().enumerate() {
        let mut reader = match SegmentReader::open(path) {
            Ok(reader) => reader,
            Err(e @ SegmentError::Damaged { .. }) => {
                plan.damage = Some(e.to_string());
                return Ok(plan);
            }
            Err(e) => return Err(RestoreError::Segment(e)),
        };
        let start = reader.start();
        let continues = match previous_end {
            None => true,
            Some(end) => start == end || (start.frame == 0 && start.header.follows(&end.header)),
        };
        if !continues {
            let why = format!(
                "{}: does not continue the segment before it (a segment is missing or was replaced)",
                path.display()
            );
            plan.damage = Some(why);
            return Ok(plan);
        }
        loop {
            let mut last_page = 0;
            let next = reader.next_record(|page, _| {
                last_page = last_page.max(page);
                Ok(())
            });
            let commit = match next {
                Ok(Some(Record::Commit(commit))) => commit,
                Ok(Some(Record::Rows { tables, end })) => {
                    // Within the generation's first transactions the database is not yet whole.
                    if plan.transactions >= generation.info.base_transactions {
                        plan.rows = Some(RowsPoint {
                            segment: index,
                            end,
                            transactions: plan.transactions,
                            database_pages: plan.cut.map(|c| c.database_pages),
                            seen: point_seen(generation, plan.cut, plan.transactions),
                            tables,
                        });
                    }
                    continue;
                }
                Ok(None) => break,
                Err(e @ SegmentError::Damaged { .. }) => {
                    plan.damage = Some(e.to_string());
                    return Ok(plan);
                }
                Err(e) => return Err(RestoreError::Segment(e)),
            };
            if commit.seen > at {
                return Ok(plan);
            }
            if last_page > commit.database_pages {
                let why = format!(
                    "{}: damaged at byte {}: a transaction writes page {last_page} of a database of {} pages",
                    path.display(),
                    commit.end,
                    commit.database_pages
                );
                plan.damage = Some(why);
                return Ok(plan);
            }
            plan.transactions += 1;
            plan.cut = Some(Cut {
                segment: index,
                end: commit.end,
                database_pages: commit.database_pages,
                seen: commit.seen,
                after: commit.after,
            });
        }
        previous_end = Some(reader.position());
    }
    Ok(plan)
}

/// Pass two: the generation's copy, then every transaction up to the plan's cut, written to `path`,
/// checked against the plan's rows record on the way when it is of an earlier point (one of the last
/// point is compared with the final count instead).
fn rebuild(
    generation: &Generation,
    plan: &Plan,
    path: &Path,
) -> Result<Option<RowsChecked>, RestoreError> {
    let io_error = |source| RestoreError::Io {
        path: path.to_owned(),
        source,
    };
    let out = timeline::write_base(generation, path)?;
    // Read up to the later of the cut and the rows record (only rows records lie between the two).
    let stop = [
        plan.cut.map(|c| (c.segment, c.end)),
        plan.rows.as_ref().map(|r| (r.segment, r.end)),
    ]
    .into_iter()
    .flatten()
    .max();
    let mut checked = None;
    let mut page_size = 0u64;
    if let Some((last_segment, stop_at)) = stop {
        for (index, (_, segment)) in generation.segments[..=last_segment].iter().enumerate() {
            let mut reader = SegmentReader::open(segment).map_err(RestoreError::Segment)?;
            page_size = u64::from(reader.start().header.page_size);
            while !(index == last_segment && reader.offset() >= stop_at) {
                let record = reader
                    .next_record(|page, data| {
                        out.write_all_at(data, u64::from(page - 1) * page_size)
                    })
                    .map_err(RestoreError::Segment)?;
                match record {
                    None => break,
                    Some(Record::Rows { end, .. }) => {
                        if let Some(point) = plan
                            .rows
                            .as_ref()
                            .filter(|p| p.segment == index && p.end == end)
                            .filter(|p| p.transactions < plan.transactions)
                        {
                            checked = Some(check_rows(generation, &out, path, point, page_size)?);
                        }
                    }
                    Some(Record::Commit(_)) => {}
                }
            }
        }
    }
    if let Some(cut) = plan.cut {
        out.set_len(u64::from(cut.database_pages) * page_size)
            .map_err(io_error)?;
    }
    out.sync_all().map_err(io_error)?;
    Ok(checked)
}

/// Counts the rows of the database rebuilt so far (`out`, at `path`), as of the rows record `point`,
/// and compares them with it.
fn check_rows(
    generation: &Generation,
    out: &fs::File,
    path: &Path,
    point: &RowsPoint,
    page_size: u64,
) -> Result<RowsChecked, RestoreError> {
    if let Some(pages) = point.database_pages {
        out.set_len(u64::from(pages) * page_size)
            .map_err(|source| RestoreError::Io {
                path: path.to_owned(),
                source,
            })?;
    }
    let found = crate::rows::count(&open_rebuilt(path)?).map_err(sqlite_error(path))?;
    compare_rows(generation, point, &found)
}

/// Compares the rows `found` with the rows record `point`.
fn compare_rows(
    generation: &Generation,
    point: &RowsPoint,
    found: &RowCounts,
) -> Result<RowsChecked, RestoreError> {
    if let Some((table, recorded, found)) = crate::rows::first_difference(&point.tables, found) {
        return Err(RestoreError::RowsDiffer {
            database: generation.info.database.clone(),
            at: show_time(point.seen),
            table,
            recorded,
            found,
        });
    }
    Ok(RowsChecked {
        seen: point.seen,
        transactions: point.transactions,
        exact: false,
    })
}

fn sqlite_error(path: &Path) -> impl Fn(rusqlite::Error) -> RestoreError + '_ {
    move |source| RestoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

/// The database being rebuilt at `path`, opened by SQLite (read-write: it is in WAL mode, whose readers
/// write the index; nothing else is written).
fn open_rebuilt(path: &Path) -> Result<Connection, RestoreError> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error(path))
}

/// `PRAGMA integrity_check` on the rebuilt database, and its rows per table.
fn check(path: &Path) -> Result<BTreeMap<String, u64>, RestoreError> {
    let sqlite = sqlite_error(path);
    let conn = open_rebuilt(path)?;
    let report: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(&sqlite)?;
    if report != ["ok"] {
        return Err(RestoreError::Integrity {
            path: path.to_owned(),
            report: report.join("; "),
        });
    }
    crate::rows::count(&conn).map_err(sqlite)
}

//! Rebuilding one database as it was at a chosen time from the point-in-time store: the newest generation
//! begun at or before the time, its copy of the database, and its transactions seen at or before the time
//! replayed over it in order. The segments are read twice: once to check every transaction up to the time
//! (its hash, its chain, its pages inside the database's size) and find where to stop, then to write; so a
//! damaged segment stops the restore at the last good transaction before the damage, and says so, and
//! never leaves half a transaction written. The result is checked with `PRAGMA integrity_check` and its
//! tables counted before it is moved into place.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use magi_core::store::rusqlite::{self, Connection, OpenFlags};
use serde::Serialize;

use crate::segment::{SegmentError, SegmentReader};
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
        let (cut, transactions, damage) = find_cut(generation, at)?;
        if transactions >= generation.info.base_transactions {
            usable = Some((
                generation,
                cut,
                transactions,
                first_damage.take().or(damage),
            ));
            break;
        }
        let damage = damage.unwrap_or_else(|| "its first transactions are missing".into());
        log::warn!(
            "the generation begun {} cannot be used ({damage}); trying the one before",
            show_time(generation.info.started)
        );
        first_damage.get_or_insert(damage);
    }
    let Some((generation, cut, transactions, damage)) = usable else {
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
    let result = rebuild(generation, cut, &partial).and_then(|()| check(&partial));
    let tables = match result {
        Ok(tables) => tables,
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
    // Within the generation's first transactions the point is the generation's start: what it copied.
    let seen = match cut {
        Some(cut) if transactions > generation.info.base_transactions => cut.seen,
        _ => started,
    };
    Ok(Restored {
        database: generation.info.database.clone(),
        output: output.to_owned(),
        generation: started,
        seen,
        after: cut.map_or(started, |c| c.after),
        transactions,
        damage,
        tables,
    })
}

/// Pass one: checks the generation's transactions in order up to `at`; the last to replay, how many, and
/// the damage that stopped it early if any.
fn find_cut(
    generation: &Generation,
    at: i64,
) -> Result<(Option<Cut>, u64, Option<String>), RestoreError> {
    let mut cut = None;
    let mut transactions = 0;
    let mut previous_end = None;
    for (index, (_, path)) in generation.segments.iter().enumerate() {
        let mut reader = match SegmentReader::open(path) {
            Ok(reader) => reader,
            Err(e @ SegmentError::Damaged { .. }) => {
                return Ok((cut, transactions, Some(e.to_string())));
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
            return Ok((cut, transactions, Some(why)));
        }
        loop {
            let mut last_page = 0;
            let next = reader.next_commit(|page, _| {
                last_page = last_page.max(page);
                Ok(())
            });
            let commit = match next {
                Ok(Some(commit)) => commit,
                Ok(None) => break,
                Err(e @ SegmentError::Damaged { .. }) => {
                    return Ok((cut, transactions, Some(e.to_string())));
                }
                Err(e) => return Err(RestoreError::Segment(e)),
            };
            if commit.seen > at {
                return Ok((cut, transactions, None));
            }
            if last_page > commit.database_pages {
                let why = format!(
                    "{}: damaged at byte {}: a transaction writes page {last_page} of a database of {} pages",
                    path.display(),
                    commit.end,
                    commit.database_pages
                );
                return Ok((cut, transactions, Some(why)));
            }
            transactions += 1;
            cut = Some(Cut {
                segment: index,
                end: commit.end,
                database_pages: commit.database_pages,
                seen: commit.seen,
                after: commit.after,
            });
        }
        previous_end = Some(reader.position());
    }
    Ok((cut, transactions, None))
}

/// Pass two: the generation's copy, then every transaction up to `cut`, written to `path`.
fn rebuild(generation: &Generation, cut: Option<Cut>, path: &Path) -> Result<(), RestoreError> {
    let io_error = |source| RestoreError::Io {
        path: path.to_owned(),
        source,
    };
    let out = timeline::write_base(generation, path)?;
    if let Some(cut) = cut {
        let mut page_size = 0u64;
        for (_, segment) in &generation.segments[..=cut.segment] {
            let mut reader = SegmentReader::open(segment).map_err(RestoreError::Segment)?;
            page_size = u64::from(reader.start().header.page_size);
            let last = segment == &generation.segments[cut.segment].1;
            while !(last && reader.offset() >= cut.end) {
                let commit = reader
                    .next_commit(|page, data| {
                        out.write_all_at(data, u64::from(page - 1) * page_size)
                    })
                    .map_err(RestoreError::Segment)?;
                if commit.is_none() {
                    break;
                }
            }
        }
        out.set_len(u64::from(cut.database_pages) * page_size)
            .map_err(io_error)?;
    }
    out.sync_all().map_err(io_error)
}

/// `PRAGMA integrity_check` on the rebuilt database, and its rows per table.
fn check(path: &Path) -> Result<BTreeMap<String, u64>, RestoreError> {
    let sqlite = |source| RestoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    let report: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite)?;
    if report != ["ok"] {
        return Err(RestoreError::Integrity {
            path: path.to_owned(),
            report: report.join("; "),
        });
    }
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite)?;
    let mut tables = BTreeMap::new();
    for name in names {
        let quoted = name.replace('"', "\"\"");
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{quoted}\""), [], |r| {
                r.get(0)
            })
            .map_err(sqlite)?;
        tables.insert(name, u64::try_from(rows).unwrap_or(0));
    }
    Ok(tables)
}

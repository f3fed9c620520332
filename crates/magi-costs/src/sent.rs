//! What `magi-costs check` has sent, per subject (`daily:ann`), in its own SQLite file (`costs.db` beside
//! the usage database), so each threshold is reported once per period however often the timer runs.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use magi_core::store::{self, StoreError, rusqlite};
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::check::Sent;

const MIGRATIONS: &[&str] = &["CREATE TABLE sent (
    subject TEXT PRIMARY KEY,
    period TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    spent_usd REAL NOT NULL,
    at TEXT NOT NULL
);"];

#[derive(Debug, thiserror::Error)]
pub enum SentError {
    #[error(transparent)]
    Open(#[from] StoreError),
    #[error("{}: {what}: {source}", path.display())]
    Query {
        path: PathBuf,
        what: &'static str,
        source: rusqlite::Error,
    },
}

/// The record of events sent.
#[derive(Debug)]
pub struct SentStore {
    conn: Connection,
    path: PathBuf,
}

impl SentStore {
    /// Opens (creating 0600 if needed) the file at `path`.
    pub fn open(path: &Path) -> Result<SentStore, SentError> {
        Ok(SentStore {
            conn: store::open(path, MIGRATIONS)?,
            path: path.to_owned(),
        })
    }

    fn failed(&self, what: &'static str) -> impl FnOnce(rusqlite::Error) -> SentError + '_ {
        move |source| SentError::Query {
            path: self.path.clone(),
            what,
            source,
        }
    }

    /// What was last sent about `subject`.
    pub fn last(&self, subject: &str) -> Result<Option<Sent>, SentError> {
        let row: Option<(String, u8)> = self
            .conn
            .query_row(
                "SELECT period, threshold FROM sent WHERE subject = ?1",
                [subject],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(self.failed("reading what was sent"))?;
        Ok(row.and_then(|(period, threshold)| {
            period.parse().ok().map(|period| Sent { period, threshold })
        }))
    }

    /// Remembers that `sent` went out about `subject` at `at`, with `spent_usd` spent.
    pub fn remember(
        &self,
        subject: &str,
        sent: Sent,
        spent_usd: f64,
        at: Timestamp,
    ) -> Result<(), SentError> {
        self.conn
            .execute(
                "INSERT INTO sent (subject, period, threshold, spent_usd, at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (subject) DO UPDATE SET period = excluded.period, \
                 threshold = excluded.threshold, spent_usd = excluded.spent_usd, at = excluded.at",
                params![
                    subject,
                    sent.period.to_string(),
                    sent.threshold,
                    spent_usd,
                    at.to_string()
                ],
            )
            .map(drop)
            .map_err(self.failed("remembering what was sent"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_sent_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("costs.db");
        let store = SentStore::open(&path).unwrap();
        assert_eq!(store.last("daily:ann").unwrap(), None);
        let first = Sent {
            period: "2026-11-24".parse().unwrap(),
            threshold: 80,
        };
        let at = "2026-11-24T10:00:00Z".parse().unwrap();
        store.remember("daily:ann", first, 8.5, at).unwrap();
        let second = Sent {
            threshold: 100,
            ..first
        };
        store.remember("daily:ann", second, 10.5, at).unwrap();
        drop(store);
        let store = SentStore::open(&path).unwrap();
        assert_eq!(store.last("daily:ann").unwrap(), Some(second));
        assert_eq!(store.last("monthly:ann").unwrap(), None);
    }
}

//! The health history: state changes, restarts and resource samples in SQLite at the state directory, kept 30
//! days and then pruned. The rest of the tool records and reads through [`History`]; no SQL lives elsewhere.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use magi_core::store::{self, StoreError, rusqlite};
use serde::Serialize;

/// How long rows are kept.
pub const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

const MIGRATIONS: &[&str] = &["
CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    subject TEXT NOT NULL,
    from_condition TEXT,
    to_condition TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX changes_ts ON changes (ts_ms);
CREATE TABLE restarts (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    subject TEXT NOT NULL,
    container TEXT NOT NULL,
    reason TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX restarts_ts ON restarts (ts_ms);
CREATE TABLE samples (
    ts_ms INTEGER NOT NULL,
    subject TEXT NOT NULL,
    condition TEXT NOT NULL,
    cpu_percent REAL,
    memory_used INTEGER,
    memory_limit INTEGER,
    latency_ms REAL,
    data_bytes INTEGER,
    restart_count INTEGER
);
CREATE INDEX samples_ts ON samples (ts_ms);
"];

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: cannot {action} the health history: {source}", path.display())]
    Query {
        path: PathBuf,
        action: &'static str,
        source: rusqlite::Error,
    },
}

/// One entry of the history, as `history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A service or the stack changed condition.
    Change {
        ts: Timestamp,
        subject: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        to: String,
        severity: String,
        message: String,
    },
    /// `watch --restart-unhealthy` restarted (or tried to restart) a container.
    Restart {
        ts: Timestamp,
        subject: String,
        container: String,
        reason: String,
        outcome: String,
    },
}

impl Entry {
    pub fn ts(&self) -> Timestamp {
        match self {
            Entry::Change { ts, .. } | Entry::Restart { ts, .. } => *ts,
        }
    }
}

/// A resource sample of one service at one check.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRow<'a> {
    pub subject: &'a str,
    pub condition: &'a str,
    pub cpu_percent: Option<f64>,
    pub memory_used: Option<u64>,
    pub memory_limit: Option<u64>,
    pub latency_ms: Option<f64>,
    pub data_bytes: Option<u64>,
    pub restart_count: Option<u64>,
}

/// The history database.
pub struct History {
    conn: rusqlite::Connection,
    path: PathBuf,
}

fn ms(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

fn from_ms(v: i64) -> Timestamp {
    Timestamp::from_millisecond(v).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn opt(v: Option<u64>) -> Option<i64> {
    v.map(|v| v.min(i64::MAX as u64) as i64)
}

impl History {
    /// The history file under the state directory.
    pub fn default_path(state_dir: &Path) -> PathBuf {
        state_dir.join("health.db")
    }

    pub fn open(path: &Path) -> Result<History, HistoryError> {
        Ok(History {
            conn: store::open(path, MIGRATIONS)?,
            path: path.to_owned(),
        })
    }

    fn failed(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> HistoryError + '_ {
        move |source| HistoryError::Query {
            path: self.path.clone(),
            action,
            source,
        }
    }

    pub fn record_change(
        &self,
        ts: Timestamp,
        subject: &str,
        from: Option<&str>,
        to: &str,
        severity: &str,
        message: &str,
    ) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT INTO changes (ts_ms, subject, from_condition, to_condition, severity, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![ms(ts), subject, from, to, severity, message],
            )
            .map(drop)
            .map_err(self.failed("record a change in"))
    }

    pub fn record_restart(
        &self,
        ts: Timestamp,
        subject: &str,
        container: &str,
        reason: &str,
        outcome: &str,
    ) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "INSERT INTO restarts (ts_ms, subject, container, reason, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![ms(ts), subject, container, reason, outcome],
            )
            .map(drop)
            .map_err(self.failed("record a restart in"))
    }

    /// Records one check's samples in one transaction.
    pub fn record_samples(
        &mut self,
        ts: Timestamp,
        rows: &[SampleRow<'_>],
    ) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let failed = |source| HistoryError::Query {
            path: path.clone(),
            action: "record samples in",
            source,
        };
        let tx = self.conn.transaction().map_err(failed)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO samples (ts_ms, subject, condition, cpu_percent, memory_used, memory_limit,
                     latency_ms, data_bytes, restart_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(failed)?;
            for r in rows {
                insert
                    .execute(rusqlite::params![
                        ms(ts),
                        r.subject,
                        r.condition,
                        r.cpu_percent,
                        opt(r.memory_used),
                        opt(r.memory_limit),
                        r.latency_ms,
                        opt(r.data_bytes),
                        opt(r.restart_count)
                    ])
                    .map_err(failed)?;
            }
        }
        tx.commit().map_err(failed)
    }

    /// Deletes everything older than `now - RETENTION`; returns how many rows went.
    pub fn prune(&self, now: Timestamp) -> Result<usize, HistoryError> {
        let cutoff = ms(now) - RETENTION.as_millis() as i64;
        let mut removed = 0;
        for table in ["changes", "restarts", "samples"] {
            removed += self
                .conn
                .execute(&format!("DELETE FROM {table} WHERE ts_ms < ?1"), [cutoff])
                .map_err(self.failed("prune"))?;
        }
        Ok(removed)
    }

    /// Changes and restarts since `since`, oldest first, of one subject or all.
    pub fn entries(
        &self,
        since: Timestamp,
        subject: Option<&str>,
    ) -> Result<Vec<Entry>, HistoryError> {
        let mut entries = Vec::new();
        let mut changes = self
            .conn
            .prepare_cached(
                "SELECT ts_ms, subject, from_condition, to_condition, severity, message FROM changes
                 WHERE ts_ms >= ?1 AND (?2 IS NULL OR subject = ?2) ORDER BY ts_ms, id",
            )
            .map_err(self.failed("read"))?;
        let rows = changes
            .query_map(rusqlite::params![ms(since), subject], |r| {
                Ok(Entry::Change {
                    ts: from_ms(r.get(0)?),
                    subject: r.get(1)?,
                    from: r.get(2)?,
                    to: r.get(3)?,
                    severity: r.get(4)?,
                    message: r.get(5)?,
                })
            })
            .map_err(self.failed("read"))?;
        for row in rows {
            entries.push(row.map_err(self.failed("read"))?);
        }
        let mut restarts = self
            .conn
            .prepare_cached(
                "SELECT ts_ms, subject, container, reason, outcome FROM restarts
                 WHERE ts_ms >= ?1 AND (?2 IS NULL OR subject = ?2) ORDER BY ts_ms, id",
            )
            .map_err(self.failed("read"))?;
        let rows = restarts
            .query_map(rusqlite::params![ms(since), subject], |r| {
                Ok(Entry::Restart {
                    ts: from_ms(r.get(0)?),
                    subject: r.get(1)?,
                    container: r.get(2)?,
                    reason: r.get(3)?,
                    outcome: r.get(4)?,
                })
            })
            .map_err(self.failed("read"))?;
        for row in rows {
            entries.push(row.map_err(self.failed("read"))?);
        }
        entries.sort_by_key(Entry::ts);
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn records_read_back_in_order_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let history = History::open(&dir.path().join("health.db")).unwrap();
        history
            .record_change(
                at("2026-11-24T10:00:00Z"),
                "qdrant",
                Some("up"),
                "down",
                "critical",
                "qdrant is down",
            )
            .unwrap();
        history
            .record_restart(
                at("2026-11-24T10:01:00Z"),
                "qdrant",
                "magi-memory",
                "down for 3 checks",
                "restarted",
            )
            .unwrap();
        history
            .record_change(
                at("2026-11-24T09:00:00Z"),
                "redis",
                None,
                "up",
                "ok",
                "redis is up",
            )
            .unwrap();
        let all = history.entries(at("2026-11-24T00:00:00Z"), None).unwrap();
        assert_eq!(
            all.iter()
                .map(|e| match e {
                    Entry::Change { subject, .. } | Entry::Restart { subject, .. } =>
                        subject.as_str(),
                })
                .collect::<Vec<_>>(),
            ["redis", "qdrant", "qdrant"]
        );
        assert!(matches!(&all[2], Entry::Restart { outcome, .. } if outcome == "restarted"));
        let qdrant = history
            .entries(at("2026-11-24T09:30:00Z"), Some("qdrant"))
            .unwrap();
        assert_eq!(qdrant.len(), 2);
        let json = serde_json::to_value(&all[0]).unwrap();
        assert_eq!(json["kind"], "change");
        assert_eq!(json["ts"], "2026-11-24T09:00:00Z");
    }

    #[test]
    fn rows_older_than_thirty_days_are_pruned() {
        let mut history = History::open(&tempfile::tempdir().unwrap().path().join("h.db")).unwrap();
        let row = SampleRow {
            subject: "redis",
            condition: "up",
            cpu_percent: Some(1.5),
            memory_used: Some(1 << 20),
            memory_limit: Some(1 << 30),
            latency_ms: Some(0.4),
            data_bytes: None,
            restart_count: Some(0),
        };
        history
            .record_samples(at("2026-10-01T00:00:00Z"), std::slice::from_ref(&row))
            .unwrap();
        history
            .record_samples(at("2026-11-20T00:00:00Z"), &[row])
            .unwrap();
        history
            .record_change(at("2026-10-01T00:00:00Z"), "redis", None, "up", "ok", "old")
            .unwrap();
        assert_eq!(history.prune(at("2026-11-24T00:00:00Z")).unwrap(), 2);
        let samples: i64 = history
            .conn
            .query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0))
            .unwrap();
        assert_eq!(samples, 1);
        assert!(
            history
                .entries(Timestamp::UNIX_EPOCH, None)
                .unwrap()
                .is_empty()
        );
    }
}

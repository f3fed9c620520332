//! The usage store: one row per request that passed the gateway, written in batches, and the queries that
//! magi-costs and `magi-limits show` ask of it.
//!
//! # Writing
//!
//! [`Recorder::start`] opens the database and runs a writer thread; [`Recorder::record`] hands it a
//! [`Record`] without blocking (a bounded channel: if the disk stalls for 65,536 requests the extra records
//! are counted as dropped and logged, rather than stalling the clients). The thread writes what has arrived
//! every flush interval, in transactions of up to 512 records, and everything still queued when
//! [`Recorder::finish`] is called, so a clean stop loses nothing and a restart starts from what is on disk.
//! Breaker state changes go the same way ([`Recorder::breaker`]), for `magi-limits breakers`.
//!
//! # Reading
//!
//! [`UsageStore::open`] then:
//! - [`UsageStore::totals`]: requests, tokens and cost grouped by [`Period`] (day, ISO week from Monday,
//!   month; UTC) and optionally by [`GroupBy`] model or user, since a date: what `magi-costs` prints.
//! - [`UsageStore::spent`]: tokens and cost of everyone or one user in `[from, to)`: what budget checks need
//!   (with [`crate::clock::day_start`] and [`crate::clock::month_start`]).
//! - [`UsageStore::recent_errors`]: upstream failures grouped by model, status and error.
//! - [`UsageStore::breakers`]: the last state the gateway recorded for each model's breaker.
//! - [`UsageStore::activity`]: requests and tokens per model and per user since an instant (`show`).
//!
//! Budget definitions are policy: [`crate::policy::Policy::budgets`] reads them from the same file.
//!
//! Times are stored as fixed-width RFC 3339 UTC text with milliseconds ([`crate::clock::stored`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::civil::Date;
use magi_core::store::{StoreError, rusqlite};
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::clock;
use crate::db;
use crate::figures::Figures;

/// How many records may wait for the writer before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 65_536;
/// The most records written in one transaction.
const BATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error(transparent)]
    Open(#[from] StoreError),
    #[error("{}: {what}: {source}", path.display())]
    Query {
        path: PathBuf,
        what: &'static str,
        source: rusqlite::Error,
    },
    #[error("cannot start the usage writer thread: {0}")]
    Thread(std::io::Error),
}

/// One request as the gateway saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// When the request arrived.
    pub ts: Timestamp,
    pub user: String,
    /// The model asked for in the body; empty for requests without one (e.g. `GET /v1/models`).
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    /// From arrival to the last byte sent (or to the disconnect).
    pub latency_ms: u64,
    /// From arrival to the upstream answer's first byte (its head), when there was one; for the metrics
    /// store's time-to-first-byte histogram, not kept in usage.db.
    pub first_byte_ms: Option<u64>,
    /// The HTTP status the client got.
    pub status: u16,
    /// The client went away before the response was complete.
    pub disconnected: bool,
    /// The first characters of the API key used, if any (never the whole key).
    pub key_prefix: Option<String>,
    pub path: String,
    /// What went wrong upstream (status, timeout, connection error), for `errors recent`.
    pub error: Option<String>,
}

impl Record {
    /// Whether the request failed its caller (see [`FAILED_SQL`]).
    pub fn failed(&self) -> bool {
        self.status >= 500 || (self.error.is_some() && self.status >= 400)
    }
}

/// A breaker's state as last recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerRow {
    pub model: String,
    /// `closed`, `open` or `half-open`.
    pub state: String,
    /// Failures counted in the current window (or that opened it).
    pub failures: u32,
    /// When it entered this state.
    pub since: Timestamp,
    pub last_error: Option<String>,
}

enum Entry {
    Usage(Box<Record>),
    Breaker(BreakerRow),
    Flush(SyncSender<()>),
}

/// The batched writer of usage records.
#[derive(Debug)]
pub struct Recorder {
    tx: Option<SyncSender<Entry>>,
    thread: Option<JoinHandle<()>>,
    dropped: Arc<AtomicU64>,
    /// Set, with the writer unparked, when a flush, the stop or a full batch should not wait for the interval.
    hurry: Arc<AtomicBool>,
    /// Records sent since the writer was last woken for a full batch.
    unwoken: AtomicUsize,
}

impl Recorder {
    /// Opens the database at `path` and starts the writer thread, which commits every `flush_every`.
    pub fn start(path: &Path, flush_every: Duration) -> Result<Recorder, UsageError> {
        Recorder::start_with_figures(path, flush_every, None)
    }

    /// [`Recorder::start`], and each flush also adds the records' figures to the metrics store.
    pub fn start_with_figures(
        path: &Path,
        flush_every: Duration,
        figures: Option<Figures>,
    ) -> Result<Recorder, UsageError> {
        let conn = db::open(path)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_CAPACITY);
        let path = path.to_owned();
        let hurry = Arc::new(AtomicBool::new(false));
        let thread = {
            let hurry = Arc::clone(&hurry);
            std::thread::Builder::new()
                .name("usage-writer".into())
                .spawn(move || write_loop(conn, &path, rx, flush_every, &hurry, figures))
                .map_err(UsageError::Thread)?
        };
        Ok(Recorder {
            tx: Some(tx),
            thread: Some(thread),
            dropped: Arc::default(),
            hurry,
            unwoken: AtomicUsize::new(0),
        })
    }

    /// Queues a record; never blocks. Returns false (and counts it) when the queue is full.
    pub fn record(&self, record: Record) -> bool {
        self.send(Entry::Usage(Box::new(record)))
    }

    /// Queues a breaker state change.
    pub fn breaker(&self, row: BreakerRow) -> bool {
        self.send(Entry::Breaker(row))
    }

    fn send(&self, entry: Entry) -> bool {
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(entry) {
            Ok(()) => {
                // A full batch is written at once, which bounds the memory records wait in.
                if self.unwoken.fetch_add(1, Ordering::Relaxed) + 1 >= BATCH {
                    self.unwoken.store(0, Ordering::Relaxed);
                    self.wake_writer();
                }
                true
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    log::error!("usage writer is behind: {n} records dropped so far");
                }
                false
            }
        }
    }

    /// Records dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until everything queued so far is committed.
    pub fn flush(&self) {
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        if let Some(tx) = &self.tx
            && tx.send(Entry::Flush(ack)).is_ok()
        {
            self.wake_writer();
            let _ = done.recv();
        }
    }

    /// Writes everything still queued and stops the writer.
    pub fn finish(mut self) {
        self.stop();
    }

    fn wake_writer(&self) {
        self.hurry.store(true, Ordering::Release);
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    fn stop(&mut self) {
        self.tx.take();
        self.wake_writer();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits for a record, then lets records gather for `flush_every` and writes what came in batches. The
/// thread sleeps while they gather rather than waking for each one (at thousands of answers a second, those
/// wake-ups cost the gateway more than the writes); a flush or the stop cuts the sleep short.
fn write_loop(
    mut conn: Connection,
    path: &Path,
    rx: Receiver<Entry>,
    flush_every: Duration,
    hurry: &AtomicBool,
    mut figures: Option<Figures>,
) {
    let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
    while let Ok(first) = rx.recv() {
        let deadline = Instant::now() + flush_every;
        if !matches!(first, Entry::Flush(_)) {
            while !hurry.swap(false, Ordering::AcqRel) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::park_timeout(left);
            }
        }
        batch.push(first);
        loop {
            batch.extend(rx.try_iter().take(BATCH - batch.len()));
            let full = batch.len() == BATCH;
            if let Some(figures) = &mut figures {
                for entry in &batch {
                    if let Entry::Usage(record) = entry {
                        figures.add(record);
                    }
                }
            }
            if let Err(e) = write_batch(&mut conn, &mut batch) {
                log::error!("{}: cannot write usage records: {e}", path.display());
                batch.clear();
            }
            if !full {
                break;
            }
        }
        if let Some(figures) = &mut figures {
            figures.flush(clock::now().as_millisecond());
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &mut Vec<Entry>) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let mut acks = Vec::new();
    {
        let mut usage = tx.prepare_cached(
            "INSERT INTO usage (ts, user, model, prompt_tokens, completion_tokens, cost_usd, latency_ms, \
             status, disconnected, key_prefix, path, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        let mut breaker = tx.prepare_cached(
            "INSERT INTO breakers (model, state, failures, since, last_error) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (model) DO UPDATE SET state = excluded.state, failures = excluded.failures, \
             since = excluded.since, last_error = excluded.last_error",
        )?;
        for entry in batch.drain(..) {
            match entry {
                Entry::Usage(r) => {
                    usage.execute(params![
                        clock::stored(r.ts),
                        r.user,
                        r.model,
                        r.prompt_tokens as i64,
                        r.completion_tokens as i64,
                        r.cost_usd,
                        r.latency_ms as i64,
                        r.status,
                        r.disconnected,
                        r.key_prefix,
                        r.path,
                        r.error,
                    ])?;
                }
                Entry::Breaker(b) => {
                    breaker.execute(params![
                        b.model,
                        b.state,
                        b.failures,
                        clock::stored(b.since),
                        b.last_error
                    ])?;
                }
                Entry::Flush(ack) => acks.push(ack),
            }
        }
    }
    let result = tx.commit();
    for ack in acks {
        let _ = ack.send(());
    }
    result
}

/// The length of the periods [`UsageStore::totals`] groups by, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Period {
    Day,
    /// ISO weeks, starting on Monday.
    Week,
    Month,
}

/// What [`UsageStore::totals`] groups by beside the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    Model,
    User,
}

/// Requests, tokens and cost of one period (and model or user).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Total {
    /// The first day of the period.
    pub period: Date,
    /// The model or user, when grouped by one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

/// Tokens and cost over an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spent {
    pub requests: u64,
    pub tokens: u64,
    pub cost_usd: f64,
}

/// Upstream failures of one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorGroup {
    pub model: String,
    pub status: u16,
    pub error: String,
    pub count: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// Requests and tokens of one model or user since an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub name: String,
    pub requests: u64,
    pub tokens: u64,
}

/// A request failed its caller when the model did not answer: a 5xx, or an upstream failure the gateway
/// recorded with its error. A refusal on purpose (429 for a limit, 403) is a request, not a failure. The
/// same rule in SQL and in Rust ([`Record::failed`]); a test holds them together.
pub const FAILED_SQL: &str = "(status >= 500 OR (error IS NOT NULL AND status >= 400))";

/// One model's requests over a range, and how many failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub model: String,
    pub requests: u64,
    pub failed: u64,
}

/// The usage store opened for reading.
#[derive(Debug)]
pub struct UsageStore {
    conn: Connection,
    path: PathBuf,
}

impl UsageStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<UsageStore, UsageError> {
        Ok(UsageStore {
            conn: db::open(path)?,
            path: path.to_owned(),
        })
    }

    fn failed(&self, what: &'static str) -> impl FnOnce(rusqlite::Error) -> UsageError + '_ {
        move |source| UsageError::Query {
            path: self.path.clone(),
            what,
            source,
        }
    }

    /// Totals per period (and per model or user), oldest first, from `since` (a UTC date) on.
    pub fn totals(
        &self,
        period: Period,
        by: Option<GroupBy>,
        since: Option<Date>,
    ) -> Result<Vec<Total>, UsageError> {
        let start = match period {
            Period::Day => "date(ts)",
            Period::Week => "date(ts, 'weekday 0', '-6 days')",
            Period::Month => "date(ts, 'start of month')",
        };
        let key = match by {
            None => "NULL",
            Some(GroupBy::Model) => "model",
            Some(GroupBy::User) => "user",
        };
        let since = since.map_or_else(String::new, |d| clock::stored(clock::midnight(d)));
        let sql = format!(
            "SELECT {start} AS period, {key} AS key, count(*), sum(prompt_tokens), sum(completion_tokens), \
             sum(cost_usd) FROM usage WHERE ts >= ?1 GROUP BY period, key ORDER BY period, key"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(self.failed("reading totals"))?;
        let rows = stmt
            .query_map([since], |row| {
                let period: String = row.get(0)?;
                Ok(Total {
                    period: period.parse().map_err(|e: jiff::Error| {
                        rusqlite::Error::FromSqlConversionFailure(
                            0,
                            rusqlite::types::Type::Text,
                            e.into(),
                        )
                    })?,
                    key: row.get(1)?,
                    requests: row.get::<_, i64>(2)? as u64,
                    prompt_tokens: row.get::<_, i64>(3)? as u64,
                    completion_tokens: row.get::<_, i64>(4)? as u64,
                    cost_usd: row.get(5)?,
                })
            })
            .map_err(self.failed("reading totals"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.failed("reading totals"))
    }

    /// Each model's requests in `[from, to)` and how many of them failed the caller ([`FAILED_SQL`]), busiest
    /// first: the request-based availability of the SLA report.
    pub fn outcomes(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Outcome>, UsageError> {
        let sql = format!(
            "SELECT model, count(*), sum(CASE WHEN {FAILED_SQL} THEN 1 ELSE 0 END) FROM usage \
             WHERE ts >= ?1 AND ts < ?2 AND model != '' GROUP BY model ORDER BY count(*) DESC, model"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(self.failed("reading request outcomes"))?;
        let rows = stmt
            .query_map(params![clock::stored(from), clock::stored(to)], |row| {
                Ok(Outcome {
                    model: row.get(0)?,
                    requests: row.get::<_, i64>(1)? as u64,
                    failed: row.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(self.failed("reading request outcomes"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.failed("reading request outcomes"))
    }

    /// Tokens and cost of `user` (everyone when `None`) in `[from, to)`.
    pub fn spent(
        &self,
        user: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Spent, UsageError> {
        self.conn
            .query_row(
                "SELECT count(*), coalesce(sum(prompt_tokens + completion_tokens), 0), \
                 coalesce(sum(cost_usd), 0.0) FROM usage \
                 WHERE ts >= ?1 AND ts < ?2 AND (?3 IS NULL OR user = ?3)",
                params![clock::stored(from), clock::stored(to), user],
                |row| {
                    Ok(Spent {
                        requests: row.get::<_, i64>(0)? as u64,
                        tokens: row.get::<_, i64>(1)? as u64,
                        cost_usd: row.get(2)?,
                    })
                },
            )
            .map_err(self.failed("reading spend"))
    }

    /// Tokens per user and cost per user in `[from, to)`, for the gateway's ledger at start-up.
    pub fn spent_by_user(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, Spent)>, UsageError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT user, count(*), sum(prompt_tokens + completion_tokens), sum(cost_usd) FROM usage \
                 WHERE ts >= ?1 AND ts < ?2 GROUP BY user ORDER BY user",
            )
            .map_err(self.failed("reading spend"))?;
        let rows = stmt
            .query_map(params![clock::stored(from), clock::stored(to)], |row| {
                Ok((
                    row.get(0)?,
                    Spent {
                        requests: row.get::<_, i64>(1)? as u64,
                        tokens: row.get::<_, i64>(2)? as u64,
                        cost_usd: row.get(3)?,
                    },
                ))
            })
            .map_err(self.failed("reading spend"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.failed("reading spend"))
    }

    /// Upstream failures since `since`, grouped by model, status and error, most recent group first.
    pub fn recent_errors(&self, since: Timestamp) -> Result<Vec<ErrorGroup>, UsageError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT model, status, error, count(*), min(ts), max(ts) FROM usage \
                 WHERE ts >= ?1 AND error IS NOT NULL GROUP BY model, status, error ORDER BY max(ts) DESC",
            )
            .map_err(self.failed("reading errors"))?;
        let rows = stmt
            .query_map([clock::stored(since)], |row| {
                Ok(ErrorGroup {
                    model: row.get(0)?,
                    status: row.get(1)?,
                    error: row.get(2)?,
                    count: row.get::<_, i64>(3)? as u64,
                    first: parse_ts(row.get(4)?)?,
                    last: parse_ts(row.get(5)?)?,
                })
            })
            .map_err(self.failed("reading errors"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.failed("reading errors"))
    }

    /// The breakers as the gateway last recorded them, by model.
    pub fn breakers(&self) -> Result<Vec<BreakerRow>, UsageError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT model, state, failures, since, last_error FROM breakers ORDER BY model",
            )
            .map_err(self.failed("reading breakers"))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(BreakerRow {
                    model: row.get(0)?,
                    state: row.get(1)?,
                    failures: row.get(2)?,
                    since: parse_ts(row.get(3)?)?,
                    last_error: row.get(4)?,
                })
            })
            .map_err(self.failed("reading breakers"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.failed("reading breakers"))
    }

    /// Requests and tokens per model (`by` = Model) or user since `since`.
    pub fn activity(&self, by: GroupBy, since: Timestamp) -> Result<Vec<Activity>, UsageError> {
        let column = match by {
            GroupBy::Model => "model",
            GroupBy::User => "user",
        };
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {column}, count(*), sum(prompt_tokens + completion_tokens) FROM usage \
                 WHERE ts >= ?1 GROUP BY {column} ORDER BY {column}"
            ))
            .map_err(self.failed("reading activity"))?;
        let rows = stmt
            .query_map([clock::stored(since)], |row| {
                Ok(Activity {
                    name: row.get(0)?,
                    requests: row.get::<_, i64>(1)? as u64,
                    tokens: row.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(self.failed("reading activity"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.failed("reading activity"))
    }

    /// Every record since `since`, oldest first (tests and exports).
    pub fn records(&self, since: Timestamp) -> Result<Vec<Record>, UsageError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT ts, user, model, prompt_tokens, completion_tokens, cost_usd, latency_ms, status, \
                 disconnected, key_prefix, path, error FROM usage WHERE ts >= ?1 ORDER BY ts, id",
            )
            .map_err(self.failed("reading records"))?;
        let rows = stmt
            .query_map([clock::stored(since)], |row| {
                Ok(Record {
                    ts: parse_ts(row.get(0)?)?,
                    user: row.get(1)?,
                    model: row.get(2)?,
                    prompt_tokens: row.get::<_, i64>(3)? as u64,
                    completion_tokens: row.get::<_, i64>(4)? as u64,
                    cost_usd: row.get(5)?,
                    latency_ms: row.get::<_, i64>(6)? as u64,
                    first_byte_ms: None,
                    status: row.get(7)?,
                    disconnected: row.get(8)?,
                    key_prefix: row.get(9)?,
                    path: row.get(10)?,
                    error: row.get(11)?,
                })
            })
            .map_err(self.failed("reading records"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.failed("reading records"))
    }
}

fn parse_ts(text: String) -> rusqlite::Result<Timestamp> {
    text.parse().map_err(|e: jiff::Error| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ts: &str, user: &str, model: &str, tokens: (u64, u64), cost: f64) -> Record {
        Record {
            ts: ts.parse().unwrap(),
            user: user.into(),
            model: model.into(),
            prompt_tokens: tokens.0,
            completion_tokens: tokens.1,
            cost_usd: cost,
            latency_ms: 12,
            first_byte_ms: None,
            status: 200,
            disconnected: false,
            key_prefix: None,
            path: "/v1/chat/completions".into(),
            error: None,
        }
    }

    fn store_with(records: &[Record]) -> (tempfile::TempDir, UsageStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/usage.db");
        let recorder = Recorder::start(&path, Duration::from_secs(60)).unwrap();
        for r in records {
            assert!(recorder.record(r.clone()));
        }
        recorder.finish();
        let store = UsageStore::open(&path).unwrap();
        (dir, store)
    }

    #[test]
    fn records_survive_a_restart_and_read_back_exactly() {
        let mut failed = record("2026-11-24T10:00:00.250Z", "ann", "gpt", (10, 5), 0.5);
        failed.status = 502;
        failed.error = Some("upstream 502".into());
        failed.disconnected = true;
        failed.key_prefix = Some("magi_ab12".into());
        let (_dir, store) = store_with(&[failed.clone()]);
        assert_eq!(
            store
                .records("2026-11-24T00:00:00Z".parse().unwrap())
                .unwrap(),
            vec![failed]
        );
    }

    #[test]
    fn outcomes_count_failures_as_the_figures_do() {
        let at = "2026-11-24T10:00:00Z";
        let mut all = Vec::new();
        // (status, error): answered, refused on purpose, failed upstream, a 5xx, a 4xx with an upstream error.
        for (status, error) in [
            (200, None),
            (200, None),
            (429, None),
            (403, None),
            (502, Some("upstream 502")),
            (500, None),
            (400, Some("upstream refused the body")),
        ] {
            let mut r = record(at, "ann", "gpt", (1, 1), 0.0);
            r.status = status;
            r.error = error.map(str::to_owned);
            all.push(r);
        }
        all.push(record(at, "ann", "claude", (1, 1), 0.0));
        all.push(record("2026-11-25T10:00:00Z", "ann", "gpt", (1, 1), 0.0));
        let failed_in_rust = all[..7].iter().filter(|r| r.failed()).count() as u64;
        let (_dir, store) = store_with(&all);
        let outcomes = store
            .outcomes(
                "2026-11-24T00:00:00Z".parse().unwrap(),
                "2026-11-25T00:00:00Z".parse().unwrap(),
            )
            .unwrap();
        assert_eq!(
            outcomes,
            vec![
                Outcome {
                    model: "gpt".into(),
                    requests: 7,
                    failed: 3
                },
                Outcome {
                    model: "claude".into(),
                    requests: 1,
                    failed: 0
                }
            ]
        );
        assert_eq!(failed_in_rust, 3, "the SQL and the Rust rule agree");
    }

    #[test]
    fn totals_group_by_day_week_month_and_key() {
        let (_dir, store) = store_with(&[
            record("2026-11-22T23:59:59.999Z", "ann", "gpt", (10, 5), 0.25), // Sunday
            record("2026-11-23T00:00:00.000Z", "bob", "gpt", (1, 1), 0.5),   // Monday
            record("2026-11-23T08:00:00.000Z", "ann", "claude", (2, 2), 1.0),
            record("2026-12-01T08:00:00.000Z", "ann", "gpt", (3, 3), 2.0),
        ]);
        let days = store.totals(Period::Day, None, None).unwrap();
        assert_eq!(
            days.iter()
                .map(|t| (t.period.to_string(), t.requests, t.cost_usd))
                .collect::<Vec<_>>(),
            vec![
                ("2026-11-22".into(), 1, 0.25),
                ("2026-11-23".into(), 2, 1.5),
                ("2026-12-01".into(), 1, 2.0)
            ]
        );
        let weeks = store.totals(Period::Week, None, None).unwrap();
        assert_eq!(
            weeks
                .iter()
                .map(|t| (t.period.to_string(), t.prompt_tokens))
                .collect::<Vec<_>>(),
            vec![
                ("2026-11-16".into(), 10),
                ("2026-11-23".into(), 3),
                ("2026-11-30".into(), 3)
            ]
        );
        let months = store
            .totals(
                Period::Month,
                Some(GroupBy::User),
                Some("2026-11-23".parse().unwrap()),
            )
            .unwrap();
        assert_eq!(
            months
                .iter()
                .map(|t| (
                    t.period.to_string(),
                    t.key.clone().unwrap(),
                    t.completion_tokens
                ))
                .collect::<Vec<_>>(),
            vec![
                ("2026-11-01".into(), "ann".into(), 2),
                ("2026-11-01".into(), "bob".into(), 1),
                ("2026-12-01".into(), "ann".into(), 3)
            ]
        );
    }

    #[test]
    fn spent_counts_a_half_open_interval_per_user() {
        let (_dir, store) = store_with(&[
            record("2026-11-23T23:59:59.999Z", "ann", "gpt", (10, 5), 0.25),
            record("2026-11-24T00:00:00.000Z", "ann", "gpt", (1, 1), 0.5),
            record("2026-11-24T12:00:00.000Z", "bob", "gpt", (2, 2), 1.0),
        ]);
        let day = "2026-11-24T00:00:00Z".parse().unwrap();
        let next = "2026-11-25T00:00:00Z".parse().unwrap();
        assert_eq!(
            store.spent(Some("ann"), day, next).unwrap(),
            Spent {
                requests: 1,
                tokens: 2,
                cost_usd: 0.5
            }
        );
        assert_eq!(store.spent(None, day, next).unwrap().tokens, 6);
        assert_eq!(
            store.spent_by_user(day, next).unwrap(),
            vec![
                (
                    "ann".into(),
                    Spent {
                        requests: 1,
                        tokens: 2,
                        cost_usd: 0.5
                    }
                ),
                (
                    "bob".into(),
                    Spent {
                        requests: 1,
                        tokens: 4,
                        cost_usd: 1.0
                    }
                )
            ]
        );
    }

    #[test]
    fn errors_are_grouped_and_breakers_upserted() {
        let mut a = record("2026-11-24T10:00:00Z", "ann", "gpt", (0, 0), 0.0);
        a.status = 503;
        a.error = Some("upstream answered 503".into());
        let mut b = a.clone();
        b.ts = "2026-11-24T10:00:05Z".parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let recorder = Recorder::start(&path, Duration::from_millis(10)).unwrap();
        recorder.record(a);
        recorder.record(b);
        for state in ["open", "half-open"] {
            recorder.breaker(BreakerRow {
                model: "gpt".into(),
                state: state.into(),
                failures: 5,
                since: "2026-11-24T10:00:05Z".parse().unwrap(),
                last_error: Some("upstream answered 503".into()),
            });
        }
        recorder.flush();
        let store = UsageStore::open(&path).unwrap();
        let errors = store
            .recent_errors("2026-11-24T00:00:00Z".parse().unwrap())
            .unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].count, errors[0].status), (2, 503));
        assert_eq!(errors[0].last.to_string(), "2026-11-24T10:00:05Z");
        let breakers = store.breakers().unwrap();
        assert_eq!(breakers.len(), 1);
        assert_eq!(breakers[0].state, "half-open");
        drop(recorder);
    }
}

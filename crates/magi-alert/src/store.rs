//! The SQLite store of magi-alert: alerts, the tracks the rules remember, queued deliveries, silences and
//! history. The rest of the crate never writes SQL.
//!
//! Everything one event decides (tracks moved, an alert opened or closed, its deliveries queued) is written in
//! one transaction, so a kill leaves either all of it or none. A delivery is `pending` until a worker claims
//! it (`sending`), then `sent`, back to `pending` with a later `next_at` after a failure, or `failed` when
//! the channel refused it for good or it was given up. Times are milliseconds since the Unix epoch.

use std::path::Path;

use jiff::Timestamp;
use magi_core::Severity;
use magi_core::store::{self, StoreError, rusqlite};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::channel::ChannelSpec;
use crate::engine::{Decision, Silence};
use crate::notice::Notice;
use crate::rule::{NoticeKind, Step, Track};

const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    resolved_at INTEGER,
    acked_at INTEGER,
    ack_note TEXT,
    event TEXT NOT NULL
);
CREATE UNIQUE INDEX alerts_active ON alerts (rule, subject) WHERE resolved_at IS NULL;
CREATE TABLE tracks (
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    track TEXT NOT NULL,
    PRIMARY KEY (rule, subject)
);
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    alert_id INTEGER REFERENCES alerts (id),
    channel TEXT NOT NULL,
    spec TEXT NOT NULL,
    notice TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    done_at INTEGER,
    answer TEXT
);
CREATE INDEX deliveries_due ON deliveries (channel, state, next_at);
CREATE TABLE silences (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    until INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    note TEXT,
    removed_at INTEGER
);
CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    alert_id INTEGER,
    what TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX history_at ON history (at);
"#];

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum AlertStoreError {
    #[error(transparent)]
    Open(#[from] StoreError),
    #[error("the alert database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("no alert #{0}; `magi-alert list` shows them")]
    NoAlert(i64),
    #[error("alert #{0} has already resolved; nothing to acknowledge")]
    Resolved(i64),
    #[error("no active silence '{0}'; `magi-alert silence list` shows them")]
    NoSilence(String),
}

type Result<T> = std::result::Result<T, AlertStoreError>;

/// An alert as `list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub severity: Severity,
    pub message: String,
    pub started_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub acked_at: Option<Timestamp>,
    pub ack_note: Option<String>,
}

/// A silence as `silence list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SilenceRow {
    pub id: i64,
    pub subject: String,
    pub until: Timestamp,
    pub note: Option<String>,
}

/// One line of `history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    pub at: Timestamp,
    pub alert: Option<i64>,
    pub what: String,
    pub subject: String,
    pub detail: String,
}

/// A delivery a worker is about to attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub key: String,
    pub alert: Option<i64>,
    pub channel: String,
    pub notice: Notice,
    pub attempts: u32,
    pub created_at: Timestamp,
}

/// Where a decision's notices go: `(channel name, spec)` for a rule name.
pub type Route<'a> = &'a dyn Fn(&str) -> Vec<(String, ChannelSpec)>;

pub struct Store {
    conn: Connection,
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn severity(text: &str) -> Severity {
    text.parse().unwrap_or(Severity::Critical)
}

/// An unresolved alert's id, severity, message, start (ms) and the event that opened it.
type OpenAlert = (i64, String, String, i64, String);

fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

impl Store {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store {
            conn: store::open(path, MIGRATIONS)?,
        })
    }

    /// A fresh database in memory, for tests.
    pub fn in_memory() -> Result<Store> {
        Ok(Store {
            conn: store::open_in_memory(MIGRATIONS)?,
        })
    }

    /// The tracks saved by the last run, to restore into the engine.
    pub fn tracks(&self) -> Result<Vec<(String, String, Track)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT rule, subject, track FROM tracks")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut tracks = Vec::new();
        for row in rows {
            let (rule, subject, text) = row?;
            match serde_json::from_str(&text) {
                Ok(track) => tracks.push((rule, subject, track)),
                Err(e) => log::warn!(
                    "{rule}/{subject}: a saved track cannot be read ({e}); starting it afresh"
                ),
            }
        }
        Ok(tracks)
    }

    /// Records what one event (or one tick) decided, with the deliveries it asks for, in one transaction.
    /// Returns how many deliveries were queued.
    pub fn apply(
        &mut self,
        decisions: &[Decision],
        now: Timestamp,
        route: Route<'_>,
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut queued = 0;
        for d in decisions {
            let text = serde_json::to_string(&d.track).map_err(json_err)?;
            tx.execute(
                "INSERT INTO tracks (rule, subject, track) VALUES (?1, ?2, ?3)
                 ON CONFLICT (rule, subject) DO UPDATE SET track = excluded.track",
                params![d.rule, d.subject, text],
            )?;
            // Asked only by the steps that change an alert: most events change nothing.
            let active = || -> rusqlite::Result<Option<OpenAlert>> {
                tx.query_row(
                    "SELECT id, severity, message, started_at, event FROM alerts
                     WHERE rule = ?1 AND subject = ?2 AND resolved_at IS NULL",
                    params![d.rule, d.subject],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
            };
            let (notice_kind, alert) = match d.step {
                Step::Nothing => continue,
                Step::Open { notify } => {
                    let event = d
                        .event
                        .as_ref()
                        .expect("an alert opens on an event or a bad run that had one");
                    let firing = d.track.firing.expect("an opened track is firing");
                    if let Some((id, ..)) = active()? {
                        // Only after a crash between saving the alert and saving its track: keep the alert.
                        log::warn!(
                            "{}: alert #{id} of rule {} was already open",
                            d.subject,
                            d.rule
                        );
                        continue;
                    }
                    tx.execute(
                        "INSERT INTO alerts (rule, subject, severity, message, started_at, event)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            d.rule,
                            d.subject,
                            firing.severity.as_str(),
                            event.message,
                            ms(firing.since),
                            event.to_line()
                        ],
                    )?;
                    let id = tx.last_insert_rowid();
                    history(
                        &tx,
                        now,
                        Some(id),
                        "fired",
                        &d.subject,
                        &format!("{} ({}): {}", d.rule, firing.severity, event.message),
                    )?;
                    if !notify {
                        history(
                            &tx,
                            now,
                            Some(id),
                            "silenced",
                            &d.subject,
                            "fired under a silence; notice held",
                        )?;
                        continue;
                    }
                    (
                        NoticeKind::Firing,
                        (
                            id,
                            firing.severity,
                            event.message.clone(),
                            firing.since,
                            event.clone(),
                        ),
                    )
                }
                Step::Notify(kind) => {
                    let Some((id, _, message, started, event_text)) = active()? else {
                        continue;
                    };
                    let firing = d.track.firing.expect("a notified track is firing");
                    let event = match &d.event {
                        Some(e) => e.clone(),
                        None => serde_json::from_str(&event_text).map_err(json_err)?,
                    };
                    let message = if d.event.is_some() {
                        event.message.clone()
                    } else {
                        message
                    };
                    tx.execute(
                        "UPDATE alerts SET severity = ?2, message = ?3 WHERE id = ?1",
                        params![id, firing.severity.as_str(), message],
                    )?;
                    history(&tx, now, Some(id), kind.as_str(), &d.subject, &message)?;
                    (kind, (id, firing.severity, message, ts(started), event))
                }
                Step::Close { notify } => {
                    let Some((id, sev, _, started, _)) = active()? else {
                        continue;
                    };
                    let event = d.event.clone().expect("an alert resolves on an event");
                    tx.execute(
                        "UPDATE alerts SET resolved_at = ?2 WHERE id = ?1",
                        params![id, ms(now)],
                    )?;
                    history(&tx, now, Some(id), "resolved", &d.subject, &event.message)?;
                    if !notify {
                        continue;
                    }
                    (
                        NoticeKind::Resolved,
                        (
                            id,
                            severity(&sev),
                            event.message.clone(),
                            ts(started),
                            event,
                        ),
                    )
                }
            };
            let (id, sev, message, since, event) = alert;
            let notice = Notice {
                kind: notice_kind,
                alert: id,
                rule: d.rule.clone(),
                subject: d.subject.clone(),
                severity: sev,
                message,
                since,
                at: now,
                event,
            };
            let text = serde_json::to_string(&notice).map_err(json_err)?;
            for (channel, spec) in route(&d.rule) {
                queue(&tx, &notice, &text, &channel, &spec, now)?;
                queued += 1;
            }
        }
        tx.commit()?;
        Ok(queued)
    }

    /// The firing alerts that are acknowledged, as `(rule, subject)`.
    pub fn acked(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT rule, subject FROM alerts WHERE resolved_at IS NULL AND acked_at IS NOT NULL",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn ack(&mut self, id: i64, note: Option<&str>, now: Timestamp) -> Result<AlertRow> {
        let alert = self.alert(id)?.ok_or(AlertStoreError::NoAlert(id))?;
        if alert.resolved_at.is_some() {
            return Err(AlertStoreError::Resolved(id));
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE alerts SET acked_at = ?2, ack_note = ?3 WHERE id = ?1",
            params![id, ms(now), note],
        )?;
        history(
            &tx,
            now,
            Some(id),
            "acked",
            &alert.subject,
            note.unwrap_or(""),
        )?;
        tx.commit()?;
        Ok(self.alert(id)?.expect("the alert was just read"))
    }

    pub fn alert(&self, id: i64) -> Result<Option<AlertRow>> {
        Ok(self
            .conn
            .query_row(&format!("{ALERT_COLUMNS} WHERE id = ?1"), [id], alert_row)
            .optional()?)
    }

    /// Alerts, newest first; at most `limit` of them.
    pub fn alerts(&self, active_only: bool, limit: Option<u32>) -> Result<Vec<AlertRow>> {
        let filter = if active_only {
            "WHERE resolved_at IS NULL"
        } else {
            ""
        };
        let mut stmt = self.conn.prepare(&format!(
            "{ALERT_COLUMNS} {filter} ORDER BY id DESC LIMIT ?1"
        ))?;
        let limit = limit.map_or(-1, i64::from);
        let rows = stmt.query_map([limit], alert_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn silence_add(
        &mut self,
        subject: &str,
        until: Timestamp,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO silences (subject, until, created_at, note) VALUES (?1, ?2, ?3, ?4)",
            params![subject, ms(until), ms(now), note],
        )?;
        let id = tx.last_insert_rowid();
        history(
            &tx,
            now,
            None,
            "silence",
            subject,
            &format!("silence #{id} until {until}"),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Ends the active silences with this id or subject; returns the subjects of those ended.
    pub fn silence_remove(&mut self, id_or_subject: &str, now: Timestamp) -> Result<Vec<String>> {
        let tx = self.conn.transaction()?;
        let ended: Vec<String> = {
            let mut stmt = tx.prepare(
                "UPDATE silences SET removed_at = ?2
                 WHERE removed_at IS NULL AND until > ?2 AND (CAST(id AS TEXT) = ?1 OR subject = ?1)
                 RETURNING subject",
            )?;
            stmt.query_map(params![id_or_subject, ms(now)], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let n = ended.len();
        if n == 0 {
            return Err(AlertStoreError::NoSilence(id_or_subject.to_owned()));
        }
        history(
            &tx,
            now,
            None,
            "unsilence",
            id_or_subject,
            &format!("{n} silence(s) removed"),
        )?;
        tx.commit()?;
        Ok(ended)
    }

    pub fn silences(&self, now: Timestamp) -> Result<Vec<SilenceRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, subject, until, note FROM silences WHERE removed_at IS NULL AND until > ?1 ORDER BY until",
        )?;
        let rows = stmt.query_map([ms(now)], |r| {
            Ok(SilenceRow {
                id: r.get(0)?,
                subject: r.get(1)?,
                until: ts(r.get(2)?),
                note: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The active silences, for the engine.
    pub fn active_silences(&self, now: Timestamp) -> Result<Vec<Silence>> {
        Ok(self
            .silences(now)?
            .into_iter()
            .map(|s| Silence {
                subject: s.subject,
                until: s.until,
            })
            .collect())
    }

    pub fn history(&self, since: Timestamp) -> Result<Vec<HistoryRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT at, alert_id, what, subject, detail FROM history WHERE at >= ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([ms(since)], |r| {
            Ok(HistoryRow {
                at: ts(r.get(0)?),
                alert: r.get(1)?,
                what: r.get(2)?,
                subject: r.get(3)?,
                detail: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deliveries a killed run left `sending`: whether the server got them is unknown, so they are sent again
    /// (at least once). Returns how many.
    pub fn requeue_interrupted(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE deliveries SET state = 'pending' WHERE state = 'sending'",
            [],
        )?)
    }

    /// Channels that have deliveries waiting, with the spec to reach them.
    pub fn waiting_channels(&self) -> Result<Vec<(String, ChannelSpec)>> {
        let mut stmt = self.conn.prepare(
            "SELECT channel, spec FROM deliveries WHERE state IN ('pending', 'sending') GROUP BY channel",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (channel, spec) = row?;
            out.push((channel, serde_json::from_str(&spec).map_err(json_err)?));
        }
        Ok(out)
    }

    /// How many deliveries are still to be made.
    pub fn waiting(&self) -> Result<usize> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending')",
            [],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// The next delivery of `channel` due at `now`, claimed (`sending`, one more attempt) in one step; else
    /// when the next one is due. The notices of one alert reach a channel in the order they were queued: a
    /// delivery waits while an earlier one of the same alert to the same channel is unfinished, so a resolve
    /// never overtakes the retry of its firing.
    pub fn claim(&mut self, channel: &str, now: Timestamp) -> Result<Claim> {
        let tx = self.conn.transaction()?;
        let next: Option<QueuedRow> = tx
            .query_row(
                "SELECT id, key, alert_id, notice, attempts, created_at, next_at FROM deliveries AS d
                 WHERE channel = ?1 AND state = 'pending' AND NOT EXISTS (
                     SELECT 1 FROM deliveries AS earlier
                     WHERE earlier.channel = d.channel AND earlier.alert_id = d.alert_id
                       AND earlier.id < d.id AND earlier.state IN ('pending', 'sending'))
                 ORDER BY next_at, id LIMIT 1",
                [channel],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, key, alert, notice, attempts, created, next_at)) = next else {
            return Ok(Claim::Idle);
        };
        if next_at > ms(now) {
            return Ok(Claim::Later(ts(next_at)));
        }
        tx.execute(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1 WHERE id = ?1",
            [id],
        )?;
        tx.commit()?;
        let notice = serde_json::from_str(&notice).map_err(json_err)?;
        Ok(Claim::Due(Box::new(Delivery {
            id,
            key,
            alert,
            channel: channel.to_owned(),
            notice,
            attempts: attempts + 1,
            created_at: ts(created),
        })))
    }

    pub fn sent(&mut self, delivery: &Delivery, answer: &str, now: Timestamp) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET state = 'sent', done_at = ?2, answer = ?3 WHERE id = ?1",
            params![delivery.id, ms(now), answer],
        )?;
        let detail = format!(
            "{} {} to {}: {answer}",
            delivery.notice.kind.as_str(),
            delivery.key,
            delivery.channel
        );
        history(
            &tx,
            now,
            delivery.alert,
            "sent",
            &delivery.notice.subject,
            &detail,
        )?;
        Ok(tx.commit()?)
    }

    pub fn retry(&mut self, delivery: &Delivery, error: &str, at: Timestamp) -> Result<()> {
        self.conn.execute(
            "UPDATE deliveries SET state = 'pending', next_at = ?2, answer = ?3 WHERE id = ?1",
            params![delivery.id, ms(at), error],
        )?;
        Ok(())
    }

    pub fn failed(&mut self, delivery: &Delivery, error: &str, now: Timestamp) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE deliveries SET state = 'failed', done_at = ?2, answer = ?3 WHERE id = ?1",
            params![delivery.id, ms(now), error],
        )?;
        let detail = format!(
            "{} to {} given up after {} attempts: {error}",
            delivery.notice.kind.as_str(),
            delivery.channel,
            delivery.attempts
        );
        history(
            &tx,
            now,
            delivery.alert,
            "failed",
            &delivery.notice.subject,
            &detail,
        )?;
        Ok(tx.commit()?)
    }

    /// Deliveries by state, for the store's tests: `(channel, kind, state, attempts)` in queue order.
    #[cfg(test)]
    pub fn deliveries(&self) -> Result<Vec<(String, String, String, u32)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT channel, notice, state, attempts FROM deliveries ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            let notice: String = r.get(1)?;
            let kind = serde_json::from_str::<Notice>(&notice)
                .map(|n| n.kind.as_str().to_owned())
                .unwrap_or_default();
            Ok((r.get(0)?, kind, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A pending delivery as read: id, key, alert, notice, attempts, created, next attempt.
type QueuedRow = (i64, String, Option<i64>, String, u32, i64, i64);

/// What [`Store::claim`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    Due(Box<Delivery>),
    Later(Timestamp),
    Idle,
}

const ALERT_COLUMNS: &str = "SELECT id, rule, subject, severity, message, started_at, resolved_at, acked_at, ack_note FROM alerts";

fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    Ok(AlertRow {
        id: r.get(0)?,
        rule: r.get(1)?,
        subject: r.get(2)?,
        severity: severity(&r.get::<_, String>(3)?),
        message: r.get(4)?,
        started_at: ts(r.get(5)?),
        resolved_at: r.get::<_, Option<i64>>(6)?.map(ts),
        acked_at: r.get::<_, Option<i64>>(7)?.map(ts),
        ack_note: r.get(8)?,
    })
}

fn history(
    tx: &Connection,
    now: Timestamp,
    alert: Option<i64>,
    what: &str,
    subject: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO history (at, alert_id, what, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![ms(now), alert, what, subject, detail],
    )?;
    Ok(())
}

/// Queues one delivery of `notice` (already serialized as `text`, once for all its channels).
fn queue(
    tx: &Connection,
    notice: &Notice,
    text: &str,
    channel: &str,
    spec: &ChannelSpec,
    now: Timestamp,
) -> rusqlite::Result<()> {
    let key = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    tx.execute(
        "INSERT INTO deliveries (key, alert_id, channel, spec, notice, state, created_at, next_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6)",
        params![
            key,
            (notice.alert > 0).then_some(notice.alert),
            channel,
            serde_json::to_string(spec).map_err(json_err)?,
            text,
            ms(now)
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use magi_core::paths::Paths;
    use magi_core::{Config, Event};

    use super::*;
    use crate::engine::Engine;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn status(subject: &str, severity: Severity, t: i64) -> Event {
        let mut e = Event::new(
            "magi-health",
            "service.status",
            subject,
            severity,
            format!("{subject} is {severity}"),
        );
        e.ts = at(t);
        e
    }

    fn route(_: &str) -> Vec<(String, ChannelSpec)> {
        vec![("hook".into(), ChannelSpec::url("http://127.0.0.1:9/"))]
    }

    fn engine() -> Engine {
        Engine::new(&Config::defaults(&Paths::for_test(Path::new("/tmp/x"))))
    }

    #[test]
    fn an_outage_is_one_alert_with_a_firing_and_a_resolved_delivery() {
        let mut store = Store::in_memory().unwrap();
        let mut engine = engine();
        for (t, sev) in [
            (0, Severity::Critical),
            (1, Severity::Critical),
            (2, Severity::Ok),
            (3, Severity::Ok),
        ] {
            let d = engine.observe(&status("qdrant", sev, t), at(t));
            store.apply(&d, at(t), &route).unwrap();
        }
        let alerts = store.alerts(false, None).unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            (alerts[0].started_at, alerts[0].resolved_at),
            (at(0), Some(at(2)))
        );
        let kinds: Vec<String> = store
            .deliveries()
            .unwrap()
            .into_iter()
            .map(|d| d.1)
            .collect();
        assert_eq!(kinds, ["firing", "resolved"]);
        let tracks = store.tracks().unwrap();
        assert_eq!(tracks.len(), 1);
        assert_eq!(
            (tracks[0].2.firing, tracks[0].2.last_event),
            (None, Some(at(2))),
            "a resolved subject keeps only the time of its last event"
        );
    }

    #[test]
    fn claims_retries_and_an_interrupted_send_comes_back() {
        let mut store = Store::in_memory().unwrap();
        let mut engine = engine();
        let d = engine.observe(&status("redis", Severity::Critical, 0), at(0));
        store.apply(&d, at(0), &route).unwrap();
        let Claim::Due(first) = store.claim("hook", at(0)).unwrap() else {
            panic!()
        };
        assert_eq!((first.attempts, first.notice.kind), (1, NoticeKind::Firing));
        assert_eq!(
            store.claim("hook", at(0)).unwrap(),
            Claim::Idle,
            "a claimed delivery is not handed out twice"
        );
        store.retry(&first, "refused", at(10)).unwrap();
        assert_eq!(store.claim("hook", at(5)).unwrap(), Claim::Later(at(10)));
        let Claim::Due(again) = store.claim("hook", at(10)).unwrap() else {
            panic!()
        };
        assert_eq!(
            (again.attempts, &again.key),
            (2, &first.key),
            "the same key on every attempt"
        );
        assert_eq!(store.requeue_interrupted().unwrap(), 1);
        assert_eq!(store.waiting_channels().unwrap()[0].0, "hook");
        let Claim::Due(third) = store.claim("hook", at(11)).unwrap() else {
            panic!()
        };
        store.sent(&third, "200 OK", at(11)).unwrap();
        assert_eq!(store.waiting().unwrap(), 0);
        assert_eq!(store.claim("hook", at(12)).unwrap(), Claim::Idle);
        assert!(
            store
                .history(at(0))
                .unwrap()
                .iter()
                .any(|h| h.what == "sent" && h.detail.ends_with("200 OK"))
        );
    }

    #[test]
    fn a_resolve_waits_for_the_retry_of_its_firing() {
        let mut store = Store::in_memory().unwrap();
        let mut engine = engine();
        let d = engine.observe(&status("qdrant", Severity::Critical, 0), at(0));
        store.apply(&d, at(0), &route).unwrap();
        let Claim::Due(firing) = store.claim("hook", at(0)).unwrap() else {
            panic!()
        };
        store.retry(&firing, "503", at(10)).unwrap();
        let d = engine.observe(&status("qdrant", Severity::Ok, 2), at(2));
        store.apply(&d, at(2), &route).unwrap();
        assert_eq!(
            store.claim("hook", at(5)).unwrap(),
            Claim::Later(at(10)),
            "the resolve, due now, waits behind the firing's retry"
        );
        let Claim::Due(again) = store.claim("hook", at(10)).unwrap() else {
            panic!()
        };
        assert_eq!(again.notice.kind, NoticeKind::Firing);
        assert_eq!(store.claim("hook", at(10)).unwrap(), Claim::Idle);
        store.sent(&again, "200 OK", at(10)).unwrap();
        let Claim::Due(resolve) = store.claim("hook", at(10)).unwrap() else {
            panic!()
        };
        assert_eq!(resolve.notice.kind, NoticeKind::Resolved);
    }

    #[test]
    fn acks_and_silences() {
        let mut store = Store::in_memory().unwrap();
        let mut engine = engine();
        store
            .apply(
                &engine.observe(&status("qdrant", Severity::Critical, 0), at(0)),
                at(0),
                &route,
            )
            .unwrap();
        let id = store.alerts(true, Some(1)).unwrap()[0].id;
        let acked = store.ack(id, Some("on it"), at(5)).unwrap();
        assert_eq!(
            (acked.acked_at, acked.ack_note.as_deref()),
            (Some(at(5)), Some("on it"))
        );
        assert_eq!(
            store.acked().unwrap(),
            [("core-down".to_string(), "qdrant".to_string())]
        );
        assert!(matches!(
            store.ack(999, None, at(5)),
            Err(AlertStoreError::NoAlert(999))
        ));
        store
            .apply(
                &engine.observe(&status("qdrant", Severity::Ok, 6), at(6)),
                at(6),
                &route,
            )
            .unwrap();
        assert!(matches!(
            store.ack(id, None, at(7)),
            Err(AlertStoreError::Resolved(_))
        ));

        let sid = store.silence_add("redis", at(3600), None, at(0)).unwrap();
        assert_eq!(store.active_silences(at(10)).unwrap()[0].subject, "redis");
        assert!(
            store.active_silences(at(3600)).unwrap().is_empty(),
            "expired"
        );
        assert_eq!(
            store.silence_remove(&sid.to_string(), at(10)).unwrap(),
            ["redis"]
        );
        assert!(matches!(
            store.silence_remove("redis", at(11)),
            Err(AlertStoreError::NoSilence(_))
        ));
    }
}

//! The event schema (version 1) that the tools exchange as newline-delimited JSON, its writer, and a
//! streaming reader that survives anything a pipe can carry.
//!
//! The reader accepts our own lines and `journalctl -o json` records that carry the event in `MAGI_EVENT`.
//! A line that is not an event (malformed, truncated, over [`MAX_LINE_BYTES`], not UTF-8, of an unknown schema
//! version) is reported with its line number and skipped; the stream goes on. Journal records of ordinary log
//! lines, which carry no event, are passed over silently. Memory stays bounded by the line limit.

use std::fmt;
use std::io::{self, BufRead, Write};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::lines::{BoundedLines, Line};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Lines longer than this are skipped without being held in memory. Events are small; a line this long is
/// a fault upstream, not an event.
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// How bad the news is. Ordered: `Ok < Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(text: &str) -> Result<Severity, String> {
        match text {
            "ok" => Ok(Severity::Ok),
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "'{other}' is not a severity (ok, info, warning, critical)"
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that happened, as every tool reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The schema version, [`SCHEMA_VERSION`].
    pub v: u32,
    /// When it happened, RFC 3339 in UTC.
    pub ts: Timestamp,
    pub host: String,
    /// The binary that produced the event (`magi-health`).
    pub source: String,
    /// Dotted kind: `service.status`, `backup.completed`, `budget.threshold`.
    pub kind: String,
    /// What it is about: a service name, a backup name, a user.
    pub subject: String,
    pub severity: Severity,
    /// One line a person understands.
    pub message: String,
    #[serde(default)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

impl Event {
    /// A new event stamped with the current time and this host's name.
    pub fn new(
        source: impl Into<String>,
        kind: impl Into<String>,
        subject: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Event {
        Event {
            v: SCHEMA_VERSION,
            ts: Timestamp::now(),
            host: hostname(),
            source: source.into(),
            kind: kind.into(),
            subject: subject.into(),
            severity,
            message: message.into(),
            data: serde_json::Map::new(),
        }
    }

    /// Adds one field to `data`.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Event {
        self.data.insert(key.to_owned(), value.into());
        self
    }

    /// The event as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an event always serializes")
    }
}

/// This machine's host name, or `localhost` when it has none that is valid UTF-8.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Writes events as NDJSON, one flushed line each, so a reader on the other end of a pipe sees each at once.
pub struct EventWriter<W: Write> {
    out: W,
}

impl<W: Write> EventWriter<W> {
    pub fn new(out: W) -> Self {
        EventWriter { out }
    }

    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Why a line was skipped. Each carries the 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error(
        "line {line}: {bytes} bytes or more, over the {MAX_LINE_BYTES}-byte limit for an event; skipped"
    )]
    TooLong { line: u64, bytes: usize },
    #[error("line {line}: not valid UTF-8; skipped")]
    NotUtf8 { line: u64 },
    #[error("line {line}: not an event: {reason}; skipped")]
    Malformed { line: u64, reason: String },
    #[error(
        "line {line}: event schema version {version} is not one this build reads ({SCHEMA_VERSION}); skipped"
    )]
    UnknownVersion { line: u64, version: u64 },
}

/// Counts of what a reader has seen so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadStats {
    pub lines: u64,
    pub events: u64,
    pub skipped: u64,
    /// Blank lines and journal records that carry no event.
    pub passed_over: u64,
}

/// A streaming reader of events from NDJSON or `journalctl -o json` output.
///
/// [`EventReader::next_line`] yields each event or the reason a line was skipped; as an [`Iterator`] it yields
/// only events and reports skipped lines through the log (stderr, or the journal under systemd).
pub struct EventReader<R> {
    lines: BoundedLines<R>,
    stats: ReadStats,
}

impl<R: BufRead> EventReader<R> {
    pub fn new(input: R) -> Self {
        EventReader {
            lines: BoundedLines::new(input, MAX_LINE_BYTES),
            stats: ReadStats::default(),
        }
    }

    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// The next event or skipped line; `Ok(None)` at the end of the input. An I/O error ends the stream.
    pub fn next_line(&mut self) -> io::Result<Option<Result<Event, Skip>>> {
        loop {
            let Some(line) = self.lines.next_line()? else {
                return Ok(None);
            };
            self.stats.lines += 1;
            let number = self.stats.lines;
            let outcome = match line {
                Line::TooLong(bytes) => Some(Err(Skip::TooLong {
                    line: number,
                    bytes,
                })),
                Line::Text(text) => parse_line(text, number),
            };
            match outcome {
                None => self.stats.passed_over += 1,
                Some(Ok(event)) => {
                    self.stats.events += 1;
                    return Ok(Some(Ok(event)));
                }
                Some(Err(skip)) => {
                    self.stats.skipped += 1;
                    return Ok(Some(Err(skip)));
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_line() {
                Ok(None) => return None,
                Ok(Some(Ok(event))) => return Some(Ok(event)),
                Ok(Some(Err(skip))) => log::warn!("{skip}"),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The fields that tell an event line from a journal record, read before the whole event is parsed.
#[derive(Deserialize)]
struct Envelope {
    v: Option<serde_json::Value>,
    #[serde(rename = "MAGI_EVENT")]
    magi_event: Option<serde_json::Value>,
    #[serde(rename = "__CURSOR")]
    cursor: Option<serde::de::IgnoredAny>,
    #[serde(rename = "MESSAGE")]
    message: Option<serde::de::IgnoredAny>,
}

/// Parses one line: `None` for a line that carries no event and is no fault (blank, a plain journal record).
pub fn parse_line(bytes: &[u8], line: u64) -> Option<Result<Event, Skip>> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(Err(Skip::NotUtf8 { line }));
    };
    if text.trim().is_empty() {
        return None;
    }
    let malformed = |reason: String| Skip::Malformed { line, reason };
    let envelope: Envelope = match serde_json::from_str(text) {
        Ok(e) => e,
        Err(e) if e.is_eof() => return Some(Err(malformed(format!("truncated JSON ({e})")))),
        Err(e) if e.is_data() && !text.trim_start().starts_with('{') => {
            return Some(Err(malformed("not a JSON object".into())));
        }
        Err(e) if e.is_data() => {
            return Some(Err(malformed(format!("a field of the wrong type ({e})"))));
        }
        Err(e) => return Some(Err(malformed(format!("invalid JSON ({e})")))),
    };
    if envelope.v.is_some() {
        return Some(parse_event(text, envelope.v.as_ref(), line));
    }
    match envelope.magi_event {
        Some(serde_json::Value::String(inner)) => {
            let version = match serde_json::from_str::<Envelope>(&inner) {
                Ok(inner_envelope) => inner_envelope.v,
                Err(e) => {
                    return Some(Err(malformed(format!(
                        "MAGI_EVENT is not a JSON object ({e})"
                    ))));
                }
            };
            Some(parse_event(&inner, version.as_ref(), line))
        }
        Some(_) => Some(Err(malformed("MAGI_EVENT is not text".into()))),
        None if envelope.cursor.is_some() || envelope.message.is_some() => None,
        None => Some(Err(malformed(
            "no \"v\" field: not a MAGI event or journal record".into(),
        ))),
    }
}

fn parse_event(text: &str, version: Option<&serde_json::Value>, line: u64) -> Result<Event, Skip> {
    match version.and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(version) => return Err(Skip::UnknownVersion { line, version }),
        None => {
            return Err(Skip::Malformed {
                line,
                reason: "\"v\" is not a schema version number".into(),
            });
        }
    }
    serde_json::from_str(text).map_err(|e| Skip::Malformed {
        line,
        reason: format!("{e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(subject: &str) -> Event {
        Event::new(
            "magi-health",
            "service.status",
            subject,
            Severity::Critical,
            format!("{subject} is down"),
        )
        .with("state", "exited")
    }

    fn read_all(input: &[u8]) -> (Vec<Event>, Vec<Skip>, ReadStats) {
        let mut reader = EventReader::new(input);
        let (mut events, mut skips) = (Vec::new(), Vec::new());
        while let Some(item) = reader.next_line().unwrap() {
            match item {
                Ok(e) => events.push(e),
                Err(s) => skips.push(s),
            }
        }
        (events, skips, reader.stats())
    }

    #[test]
    fn round_trips_through_the_writer() {
        let mut out = Vec::new();
        let mut writer = EventWriter::new(&mut out);
        writer.write(&sample("qdrant")).unwrap();
        writer.write(&sample("redis")).unwrap();
        let (events, skips, _) = read_all(&out);
        assert!(skips.is_empty());
        assert_eq!(
            events,
            vec![
                sample_like(&events[0], "qdrant"),
                sample_like(&events[1], "redis")
            ]
        );
        assert!(
            String::from_utf8(out)
                .unwrap()
                .lines()
                .all(|l| l.starts_with("{\"v\":1,\"ts\":\""))
        );
    }

    fn sample_like(seen: &Event, subject: &str) -> Event {
        Event {
            ts: seen.ts,
            host: seen.host.clone(),
            ..sample(subject)
        }
    }

    #[test]
    fn bad_lines_are_skipped_with_their_numbers_and_the_stream_goes_on() {
        let good = sample("qdrant").to_line();
        let mut input = Vec::new();
        input.extend_from_slice(format!("{good}\n").as_bytes());
        input.extend_from_slice(b"{\"v\":1,\"ts\":\n"); // 2: truncated
        input.extend_from_slice(b"not json at all\n"); // 3
        input.extend_from_slice(b"\n   \n"); // 4, 5: blank
        input.extend_from_slice(b"{\"v\":1,\"message\":\"\xff\xfe\"}\n"); // 6: not UTF-8
        input.extend_from_slice(
            format!("{{\"v\":1,\"x\":\"{}\"}}\n", "a".repeat(1 << 20)).as_bytes(),
        ); // 7
        input.extend_from_slice(b"{\"v\":2,\"kind\":\"future\"}\n"); // 8
        input.extend_from_slice(b"[1,2,3]\n"); // 9
        input.extend_from_slice(b"{\"v\":1,\"kind\":\"x\"}\n"); // 10: missing fields
        input.extend_from_slice(format!("{good}\r\n").as_bytes()); // 11: CRLF
        input.extend_from_slice(&good.as_bytes()[..good.len() - 5]); // 12: cut off at EOF
        let (events, skips, stats) = read_all(&input);
        assert_eq!(events.len(), 2);
        let described: Vec<(u64, &str)> = skips
            .iter()
            .map(|s| match s {
                Skip::Malformed { line, reason } if reason.starts_with("truncated") => {
                    (*line, "truncated")
                }
                Skip::Malformed { line, reason } if reason.contains("not a JSON object") => {
                    (*line, "not object")
                }
                Skip::Malformed { line, reason } if reason.starts_with("invalid JSON") => {
                    (*line, "invalid")
                }
                Skip::Malformed { line, reason } if reason.starts_with("missing field") => {
                    (*line, "missing")
                }
                Skip::NotUtf8 { line } => (*line, "utf8"),
                Skip::TooLong { line, .. } => (*line, "long"),
                Skip::UnknownVersion { line, version: 2 } => (*line, "version"),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            described,
            [
                (2, "truncated"),
                (3, "invalid"),
                (6, "utf8"),
                (7, "long"),
                (8, "version"),
                (9, "not object"),
                (10, "missing"),
                (12, "truncated")
            ]
        );
        assert_eq!(
            stats,
            ReadStats {
                lines: 12,
                events: 2,
                skipped: 8,
                passed_over: 2
            }
        );
    }

    #[test]
    fn a_long_line_is_measured_not_kept() {
        let mut input = vec![b'x'; 3 * MAX_LINE_BYTES];
        input.push(b'\n');
        input.extend_from_slice(format!("{}\n", sample("redis").to_line()).as_bytes());
        let mut reader = EventReader::new(io::BufReader::with_capacity(4096, &input[..]));
        let first = reader.next_line().unwrap().unwrap().unwrap_err();
        assert_eq!(
            first,
            Skip::TooLong {
                line: 1,
                bytes: 3 * MAX_LINE_BYTES + 1
            }
        );
        assert!(
            reader.lines.buffered() <= MAX_LINE_BYTES + 4096,
            "held {} bytes",
            reader.lines.buffered()
        );
        assert_eq!(
            reader.next_line().unwrap().unwrap().unwrap().subject,
            "redis"
        );
    }

    #[test]
    fn journal_records_carry_events_in_magi_event() {
        let event = sample("redis");
        let record = serde_json::json!({
            "__CURSOR": "s=abc;i=1",
            "MESSAGE": event.message,
            "PRIORITY": "3",
            "MAGI_KIND": event.kind,
            "MAGI_EVENT": event.to_line(),
        });
        let plain = serde_json::json!({"__CURSOR": "s=abc;i=2", "MESSAGE": "started"});
        let binary = serde_json::json!({"__CURSOR": "s=abc;i=3", "MAGI_EVENT": [123, 125]});
        let input = format!("{record}\n{plain}\n{binary}\n");
        let (events, skips, stats) = read_all(input.as_bytes());
        assert_eq!(events[0].subject, "redis");
        assert_eq!(events[0].ts, event.ts);
        assert_eq!(
            skips,
            [Skip::Malformed {
                line: 3,
                reason: "MAGI_EVENT is not text".into()
            }]
        );
        assert_eq!(stats.passed_over, 1);
    }

    #[test]
    fn unknown_fields_within_version_one_are_tolerated() {
        let mut value = serde_json::to_value(sample("qdrant")).unwrap();
        value["added_later"] = serde_json::json!(true);
        let (events, skips, _) = read_all(format!("{value}\n").as_bytes());
        assert_eq!((events.len(), skips.len()), (1, 0));
    }

    #[test]
    fn severities_order_by_badness() {
        assert!(Severity::Ok < Severity::Info && Severity::Info < Severity::Warning);
        assert!(Severity::Warning < Severity::Critical);
    }
}

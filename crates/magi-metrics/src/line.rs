//! The metric line `magi metrics push` reads, one JSON object a line:
//!
//! ```json
//! {"metric":"queue_depth","labels":{"service":"n8n"},"value":3,"kind":"gauge","time":"2026-12-03T10:00:00Z"}
//! ```
//!
//! `metric` and `value` are required; `labels` default to none, `kind` to `gauge` (`delta` for an amount
//! during the interval: requests, tokens, cost), `time` to now (RFC 3339, or `ts_ms` as Unix milliseconds).
//! Unknown fields are refused, so a misspelt one is not silently dropped. A line that does not parse is
//! reported with its number and skipped; the rest are stored.

use std::collections::BTreeMap;

use jiff::Timestamp;
use magi_tsdb::{Kind, Sample, SeriesKey};
use serde::Deserialize;

/// The longest metric line read; a longer one is skipped unread.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricLine {
    metric: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    value: f64,
    #[serde(default)]
    kind: Kind,
    time: Option<Timestamp>,
    ts_ms: Option<i64>,
}

/// Why a line was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("line {line}: not a metric line: {reason}")]
    Json { line: u64, reason: String },
    #[error("line {line}: {reason}")]
    Invalid { line: u64, reason: String },
    #[error("line {line}: longer than {MAX_LINE_BYTES} bytes ({bytes}), skipped unread")]
    TooLong { line: u64, bytes: usize },
}

/// Parses line `number`; `Ok(None)` for a blank line.
pub fn parse(bytes: &[u8], number: u64, now_ms: i64) -> Result<Option<Sample>, LineError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let invalid = |reason: String| LineError::Invalid {
        line: number,
        reason,
    };
    let m: MetricLine = serde_json::from_slice(bytes).map_err(|e| LineError::Json {
        line: number,
        reason: e.to_string(),
    })?;
    let key = SeriesKey::new(m.metric, m.labels).map_err(|e| invalid(e.to_string()))?;
    if !m.value.is_finite() {
        return Err(invalid("the value is not a finite number".into()));
    }
    let ts_ms = match (m.time, m.ts_ms) {
        (Some(_), Some(_)) => return Err(invalid("give `time` or `ts_ms`, not both".into())),
        (Some(t), None) => t.as_millisecond(),
        (None, Some(ms)) => ms,
        (None, None) => now_ms,
    };
    Ok(Some(Sample {
        key,
        kind: m.kind,
        ts_ms,
        value: m.value,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_full_line_and_a_minimal_one() {
        let s = parse(
            br#"{"metric":"q","labels":{"service":"n8n"},"value":3,"kind":"delta","time":"2026-12-03T10:00:00Z"}"#,
            1,
            0,
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.key.to_string(), r#"q{service="n8n"}"#);
        assert_eq!(
            (s.kind, s.value, s.ts_ms),
            (Kind::Delta, 3.0, 1_796_292_000_000)
        );
        let s = parse(br#"{"metric":"q","value":1.5}"#, 2, 42)
            .unwrap()
            .unwrap();
        assert_eq!((s.kind, s.ts_ms), (Kind::Gauge, 42));
        assert_eq!(parse(b"   ", 3, 0), Ok(None));
    }

    #[test]
    fn bad_lines_say_which_and_why() {
        let err = |line: &str| parse(line.as_bytes(), 7, 0).unwrap_err().to_string();
        assert!(
            err(r#"{"metric":"q","valeu":1}"#)
                .starts_with("line 7: not a metric line: unknown field `valeu`")
        );
        assert!(err(r#"{"metric":"9q","value":1}"#).contains("metric name \"9q\""));
        assert!(err(r#"{"metric":"q","value":1,"kind":"counter"}"#).contains("unknown variant"));
        assert!(err(r#"{"metric":"q","value":1,"time":"yesterday"}"#).starts_with("line 7"));
        assert!(
            err(r#"{"metric":"q","value":1,"time":"2026-12-03T10:00:00Z","ts_ms":5}"#)
                .contains("not both")
        );
        assert!(err("not json").starts_with("line 7: not a metric line"));
    }

    proptest! {
        #[test]
        fn no_line_makes_the_parser_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes, 1, 0);
        }
    }
}

//! What a URL asks to see: the range (`range=1h|6h|24h|7d|30d|90d`) and where it ends (`end=`, RFC 3339 or
//! Unix milliseconds; now when absent). Every view is a URL, so a link shows someone else the same chart.
//! A query string is read without trusting it: unknown parameters are ignored, a bad value is an error
//! that names it, and nothing of it reaches the page unescaped.

use magi_tsdb::tier::{DAY_MS, HOUR_MS};

/// The ranges a view offers, with their length.
pub const RANGES: [(&str, i64); 6] = [
    ("1h", HOUR_MS),
    ("6h", 6 * HOUR_MS),
    ("24h", DAY_MS),
    ("7d", 7 * DAY_MS),
    ("30d", 30 * DAY_MS),
    ("90d", 90 * DAY_MS),
];

/// The longest query string read; a longer one is refused.
const MAX_QUERY: usize = 512;

/// A range of time to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The range's name, one of [`RANGES`].
    pub range: &'static str,
    /// Whether `end` was given (the view is pinned) or is now (the view follows the present).
    pub pinned: bool,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl View {
    /// The view `query` asks for at `now_ms`; the default is the last hour.
    pub fn parse(query: Option<&str>, now_ms: i64) -> Result<View, String> {
        let query = query.unwrap_or("");
        if query.len() > MAX_QUERY {
            return Err(format!("the query string is longer than {MAX_QUERY} bytes"));
        }
        let (mut range, mut span, mut end) = (RANGES[0].0, RANGES[0].1, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "range" => {
                    (range, span) = RANGES
                        .iter()
                        .copied()
                        .find(|(r, _)| *r == value)
                        .ok_or_else(|| {
                            let known: Vec<&str> = RANGES.iter().map(|(r, _)| *r).collect();
                            format!("range must be one of {}", known.join(", "))
                        })?;
                }
                "end" => end = Some(parse_end(value)?),
                _ => {}
            }
        }
        let to_ms = end.unwrap_or(now_ms);
        Ok(View {
            range,
            pinned: end.is_some(),
            from_ms: to_ms - span,
            to_ms,
        })
    }

    /// The query string of this view with another range (the same end if pinned).
    pub fn with_range(&self, range: &str) -> String {
        if self.pinned {
            format!("?range={range}&end={}", self.to_ms)
        } else {
            format!("?range={range}")
        }
    }

    /// The query string that shows exactly this view later: its end pinned.
    pub fn pinned_query(&self) -> String {
        format!("?range={}&end={}", self.range, self.to_ms)
    }

    /// The query string of this view as asked: for links between pages.
    pub fn query(&self) -> String {
        self.with_range(self.range)
    }
}

/// `end=`: Unix milliseconds, or an RFC 3339 time (a `+` in a query string is a space; write `Z`).
fn parse_end(value: &str) -> Result<i64, String> {
    if let Ok(ms) = value.parse::<i64>() {
        return jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.as_millisecond())
            .map_err(|_| "end is out of range".to_owned());
    }
    let decoded = value.replace("%3A", ":").replace("%3a", ":");
    decoded
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            "end must be Unix milliseconds or an RFC 3339 time such as 2026-12-01T00:00:00Z"
                .to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn no_query_is_the_last_hour_following_now() {
        let v = View::parse(None, NOW).unwrap();
        assert_eq!(
            (v.range, v.pinned, v.from_ms, v.to_ms),
            ("1h", false, NOW - HOUR_MS, NOW)
        );
        assert_eq!(v.query(), "?range=1h");
    }

    #[test]
    fn a_range_and_an_end_pin_the_view() {
        let v = View::parse(Some("range=30d&end=2026-12-01T00:00:00Z&x=1"), NOW).unwrap();
        let end = "2026-12-01T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!((v.range, v.pinned, v.to_ms), ("30d", true, end));
        assert_eq!(v.to_ms - v.from_ms, 30 * DAY_MS);
        assert_eq!(View::parse(Some(&v.pinned_query()[1..]), NOW).unwrap(), v);
        assert_eq!(
            View::parse(Some("end=2026-12-01T00%3A00%3A00Z"), NOW)
                .unwrap()
                .to_ms,
            end
        );
    }

    #[test]
    fn bad_values_are_named_and_long_queries_refused() {
        assert!(
            View::parse(Some("range=2y"), NOW)
                .unwrap_err()
                .contains("range must be one of")
        );
        assert!(
            View::parse(Some("end=<script>"), NOW)
                .unwrap_err()
                .starts_with("end must be")
        );
        assert!(View::parse(Some("end=99999999999999999"), NOW).is_err());
        assert!(View::parse(Some(&"a".repeat(600)), NOW).is_err());
    }
}

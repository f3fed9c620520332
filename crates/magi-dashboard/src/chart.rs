//! Charts as server-rendered SVG, each inside a `<figure>` with its caption, a sentence that says what it
//! shows, and a table of the same figures, so a chart reads with JavaScript off, in a screen reader and on
//! paper.
//!
//! A chart of one series draws the band between each bucket's min and max with its mean as a line; a chart
//! of several draws each series' max per bucket (a short spike then survives a month's zoom). A gap in the
//! data (no sample for more than two steps) is a gap in the line, never a straight bridge. Coordinates are
//! whole pixels of a fixed 720×200 view box: the page stays small and the browser scales it.

use std::fmt::Write as _;

use magi_core::format::{self, html_escape};
use magi_tsdb::Bucket;
use magi_tsdb::store::Annotation;

/// How a chart's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Bytes,
    BytesPerSecond,
    Seconds,
    Count,
    Dollars,
}

impl Unit {
    /// `value` for a person: "12.5 %", "1.2 GiB", "3.4 MiB/s", "340 ms", "1,204", "$3.20".
    pub fn show(self, value: f64) -> String {
        if !value.is_finite() {
            return "-".to_owned();
        }
        match self {
            Unit::Percent => format!("{value:.1} %"),
            Unit::Bytes => format::human_bytes(value.max(0.0) as u64),
            Unit::BytesPerSecond => format!("{}/s", format::human_bytes(value.max(0.0) as u64)),
            Unit::Seconds if value < 1.0 => format!("{:.0} ms", value * 1000.0),
            Unit::Seconds => format!("{value:.2} s"),
            Unit::Count if value.fract() == 0.0 && value.abs() < 1e15 => {
                let sign = if value < 0.0 { "-" } else { "" };
                format!("{sign}{}", format::thousands(value.abs() as u64))
            }
            Unit::Count => format!("{value:.2}"),
            Unit::Dollars => format!("${value:.2}"),
        }
    }
}

/// One series of a chart.
#[derive(Debug, Clone)]
pub struct Line {
    pub label: String,
    pub buckets: Vec<Bucket>,
    pub step_ms: i64,
}

/// A chart to draw over `[from_ms, to_ms)`.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    pub title: String,
    pub unit: Unit,
    pub lines: Vec<Line>,
    /// Restarts, backups, upgrades: drawn as marks, listed under the chart.
    pub marks: &'a [Annotation],
    pub from_ms: i64,
    pub to_ms: i64,
    /// A level drawn across the chart (a memory limit), with what it is.
    pub level: Option<(f64, String)>,
}

const WIDTH: i64 = 720;
const HEIGHT: i64 = 200;
const LEFT: i64 = 64;
const RIGHT: i64 = 712;
const TOP: i64 = 10;
const BOTTOM: i64 = 176;
/// Line colours, as CSS classes (the page's stylesheet says which colour each is).
const PALETTE: usize = 8;

/// What a series did over the range: for the sentence and the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub latest: f64,
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    pub max_at_ms: i64,
}

/// The summary of `buckets`; `None` when there are none.
pub fn summarize(buckets: &[Bucket]) -> Option<Summary> {
    let last = buckets.last()?;
    let mut s = Summary {
        latest: last.last,
        min: f64::INFINITY,
        mean: 0.0,
        max: f64::NEG_INFINITY,
        max_at_ms: last.start_ms,
    };
    let (mut sum, mut count) = (0.0, 0u64);
    for b in buckets {
        s.min = s.min.min(b.min);
        if b.max > s.max {
            s.max = b.max;
            s.max_at_ms = b.start_ms;
        }
        sum += b.sum;
        count += b.count;
    }
    s.mean = if count == 0 { 0.0 } else { sum / count as f64 };
    Some(s)
}

/// A round top for the y axis at or above `max`: 1, 2 or 5 times a power of ten.
fn nice_ceiling(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * power)
}

/// The time of an axis label: the hour and minute within a day, the day and hour beyond.
fn tick_time(ms: i64, span_ms: i64) -> String {
    let Ok(at) = jiff::Timestamp::from_millisecond(ms) else {
        return String::new();
    };
    if span_ms <= magi_tsdb::tier::DAY_MS {
        at.strftime("%H:%M").to_string()
    } else {
        at.strftime("%m-%d %H:%M").to_string()
    }
}

/// When something happened, for the sentence and the table.
pub fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(format::minute)
        .unwrap_or_default()
}

impl Chart<'_> {
    fn x(&self, ms: i64) -> i64 {
        let span = (self.to_ms - self.from_ms).max(1);
        LEFT + ((ms - self.from_ms).clamp(0, span) as i128 * (RIGHT - LEFT) as i128 / span as i128)
            as i64
    }

    fn y(&self, value: f64, top: f64) -> i64 {
        let share = (value / top).clamp(0.0, 1.0);
        BOTTOM - (share * (BOTTOM - TOP) as f64).round() as i64
    }

    /// The SVG path of `value` of each bucket, broken where samples are missing for over two steps.
    fn path(&self, line: &Line, top: f64, value: impl Fn(&Bucket) -> f64) -> String {
        let mut d = String::new();
        let mut previous: Option<i64> = None;
        let mut last_xy = (i64::MIN, i64::MIN);
        for b in &line.buckets {
            let (x, y) = (self.x(b.start_ms), self.y(value(b), top));
            let joined = previous.is_some_and(|p| b.start_ms - p <= 2 * line.step_ms.max(1));
            if joined && (x, y) == last_xy {
                continue;
            }
            let _ = write!(d, "{}{x} {y}", if joined { 'L' } else { 'M' });
            if !joined {
                // A lone point still shows: a short stroke of its own.
                let _ = write!(d, "h1");
            }
            previous = Some(b.start_ms);
            last_xy = (x, y);
        }
        d
    }

    /// The band between each bucket's min and max, one polygon per unbroken run.
    fn band(&self, line: &Line, top: f64) -> String {
        let mut out = String::new();
        for run in line
            .buckets
            .chunk_by(|a, b| b.start_ms - a.start_ms <= 2 * line.step_ms.max(1))
        {
            if run.iter().all(|b| b.min == b.max) {
                continue;
            }
            let mut d = String::new();
            for (i, b) in run.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{} {}",
                    if i == 0 { 'M' } else { 'L' },
                    self.x(b.start_ms),
                    self.y(b.max, top)
                );
            }
            for b in run.iter().rev() {
                let _ = write!(d, "L{} {}", self.x(b.start_ms), self.y(b.min, top));
            }
            let _ = write!(out, r#"<path class="band" d="{d}Z"/>"#);
        }
        out
    }

    /// The whole `<figure>`.
    pub fn render(&self) -> String {
        let single = self.lines.len() == 1;
        let summaries: Vec<Option<Summary>> =
            self.lines.iter().map(|l| summarize(&l.buckets)).collect();
        let highest = summaries
            .iter()
            .flatten()
            .map(|s| s.max)
            .chain(self.level.as_ref().map(|(v, _)| *v))
            .fold(0.0, f64::max);
        let top = nice_ceiling(highest);
        let mut svg = format!(
            r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" focusable="false">"#,
            html_escape(&self.title)
        );
        for (value, y) in [(0.0, BOTTOM), (top / 2.0, (TOP + BOTTOM) / 2), (top, TOP)] {
            let _ = write!(
                svg,
                r#"<line class="grid" x1="{LEFT}" x2="{RIGHT}" y1="{y}" y2="{y}"/><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>"#,
                LEFT - 6,
                y + 4,
                html_escape(&self.unit.show(value))
            );
        }
        let span = self.to_ms - self.from_ms;
        for (ms, anchor) in [
            (self.from_ms, "start"),
            (self.from_ms + span / 2, "middle"),
            (self.to_ms, "end"),
        ] {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
                self.x(ms),
                HEIGHT - 6,
                tick_time(ms, span)
            );
        }
        for mark in self.marks {
            let x = self.x(mark.ts_ms);
            let _ = write!(
                svg,
                r#"<line class="mark" x1="{x}" x2="{x}" y1="{TOP}" y2="{BOTTOM}"><title>{} {}: {}</title></line>"#,
                html_escape(&when(mark.ts_ms)),
                html_escape(&mark.kind),
                html_escape(&mark.text)
            );
        }
        if let Some((level, what)) = &self.level {
            let y = self.y(*level, top);
            let _ = write!(
                svg,
                r#"<line class="level" x1="{LEFT}" x2="{RIGHT}" y1="{y}" y2="{y}"><title>{}</title></line>"#,
                html_escape(what)
            );
        }
        for (i, line) in self.lines.iter().enumerate() {
            let colour = i % PALETTE;
            if single {
                svg.push_str(&self.band(line, top));
                let _ = write!(
                    svg,
                    r#"<path class="line c{colour}" d="{}"/>"#,
                    self.path(line, top, Bucket::mean)
                );
            } else {
                let _ = write!(
                    svg,
                    r#"<path class="line c{colour}" d="{}"><title>{}</title></path>"#,
                    self.path(line, top, |b| b.max),
                    html_escape(&line.label)
                );
            }
        }
        svg.push_str("</svg>");

        let mut figure = format!(
            r#"<figure class="chart"><figcaption>{}</figcaption>{svg}"#,
            html_escape(&self.title)
        );
        if !single && !self.lines.is_empty() {
            figure.push_str(r#"<ul class="legend">"#);
            for (i, line) in self.lines.iter().enumerate() {
                let _ = write!(
                    figure,
                    r#"<li><span class="key c{}"></span>{}</li>"#,
                    i % PALETTE,
                    html_escape(&line.label)
                );
            }
            figure.push_str("</ul>");
        }
        let _ = write!(
            figure,
            r#"<p class="summary">{}</p>"#,
            html_escape(&self.sentence(&summaries))
        );
        figure.push_str(&self.table(&summaries));
        figure.push_str("</figure>");
        figure
    }

    /// What the chart shows, in words: the peak and when, the latest, or that there is nothing yet.
    fn sentence(&self, summaries: &[Option<Summary>]) -> String {
        let known: Vec<(&Line, &Summary)> = self
            .lines
            .iter()
            .zip(summaries)
            .filter_map(|(l, s)| s.as_ref().map(|s| (l, s)))
            .collect();
        let Some((peak_line, peak)) = known
            .iter()
            .copied()
            .max_by(|a, b| a.1.max.total_cmp(&b.1.max))
        else {
            return format!("{}: no figures in this range yet.", self.title);
        };
        let who = if self.lines.len() == 1 {
            String::new()
        } else {
            format!(" ({})", peak_line.label)
        };
        let mut text = format!(
            "{}: peak {}{who} at {}",
            self.title,
            self.unit.show(peak.max),
            when(peak.max_at_ms)
        );
        if known.len() == 1 {
            let _ = write!(
                text,
                ", mean {}, latest {}",
                self.unit.show(peak.mean),
                self.unit.show(peak.latest)
            );
        }
        if !self.marks.is_empty() {
            let _ = write!(text, "; {} marked event(s)", self.marks.len());
        }
        text.push('.');
        text
    }

    fn table(&self, summaries: &[Option<Summary>]) -> String {
        let mut t = String::from(
            r#"<details><summary>Figures</summary><table><thead><tr><th scope="col">Series</th><th scope="col">Latest</th><th scope="col">Min</th><th scope="col">Mean</th><th scope="col">Max</th><th scope="col">Max at</th></tr></thead><tbody>"#,
        );
        for (line, summary) in self.lines.iter().zip(summaries) {
            let _ = write!(
                t,
                r#"<tr><th scope="row">{}</th>"#,
                html_escape(&line.label)
            );
            match summary {
                Some(s) => {
                    for v in [s.latest, s.min, s.mean, s.max] {
                        let _ = write!(t, "<td>{}</td>", html_escape(&self.unit.show(v)));
                    }
                    let _ = write!(t, "<td>{}</td>", html_escape(&when(s.max_at_ms)));
                }
                None => t.push_str(r#"<td colspan="5">no figures</td>"#),
            }
            t.push_str("</tr>");
        }
        t.push_str("</tbody></table></details>");
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(start_ms: i64, values: &[f64]) -> Bucket {
        let points: Vec<(i64, f64)> = values.iter().map(|v| (start_ms, *v)).collect();
        Bucket::of(start_ms, &points).unwrap()
    }

    fn chart(lines: Vec<Line>) -> Chart<'static> {
        Chart {
            title: "CPU".into(),
            unit: Unit::Percent,
            lines,
            marks: &[],
            from_ms: 0,
            to_ms: 100_000,
            level: None,
        }
    }

    #[test]
    fn the_axis_top_is_round_and_above_the_peak() {
        for (max, top) in [
            (0.0, 1.0),
            (0.3, 0.5),
            (7.0, 10.0),
            (95.0, 100.0),
            (101.0, 200.0),
        ] {
            assert_eq!(nice_ceiling(max), top, "{max}");
        }
    }

    #[test]
    fn a_gap_breaks_the_line_and_a_run_joins_it() {
        let line = Line {
            label: "a".into(),
            step_ms: 10_000,
            buckets: vec![
                bucket(0, &[1.0]),
                bucket(10_000, &[2.0]),
                bucket(60_000, &[3.0]),
            ],
        };
        let c = chart(vec![line.clone()]);
        let d = c.path(&line, 4.0, Bucket::mean);
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
    }

    #[test]
    fn a_spike_inside_a_bucket_reaches_the_top_of_the_band_and_the_summary() {
        let line = Line {
            label: "qdrant".into(),
            step_ms: 10_000,
            buckets: vec![bucket(0, &[1.0, 95.0, 1.0]), bucket(10_000, &[2.0])],
        };
        let html = chart(vec![line]).render();
        // The band's top is at y for 95 of a 100 axis: 176 - 0.95 * 166.
        assert!(html.contains(&format!("M{LEFT} 18")), "{html}");
        assert!(html.contains("peak 95.0 %"), "{html}");
        assert!(html.contains("<td>95.0 %</td>"), "{html}");
    }

    #[test]
    fn labels_and_titles_are_escaped() {
        let line = Line {
            label: "<script>".into(),
            step_ms: 1,
            buckets: vec![bucket(0, &[1.0])],
        };
        let mut c = chart(vec![line.clone(), line]);
        c.title = "a\"b".into();
        let html = c.render();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("a&quot;b"));
    }

    #[test]
    fn an_empty_chart_says_so() {
        let html = chart(Vec::new()).render();
        assert!(html.contains("CPU: no figures in this range yet."));
    }
}

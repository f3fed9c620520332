//! Exported series in three formats: NDJSON and CSV with every field of a bucket, and OpenMetrics text
//! with one value a bucket (a gauge's mean, a delta's sum) at the bucket's start, grouped by metric family
//! as `promtool tsdb create-blocks-from openmetrics` wants it.

use std::io::{self, Write};

use jiff::Timestamp;
use magi_core::format::csv_field;
use magi_tsdb::{Answer, Bucket, Kind};
use serde::Serialize;

/// The one value a bucket stands for: a gauge's mean, a delta's total.
pub fn value(kind: Kind, b: &Bucket) -> f64 {
    match kind {
        Kind::Gauge => b.mean(),
        Kind::Delta => b.sum,
    }
}

#[derive(Serialize)]
struct JsonRow<'a> {
    series: String,
    metric: &'a str,
    labels: &'a std::collections::BTreeMap<String, String>,
    kind: Kind,
    time: Timestamp,
    step_ms: i64,
    value: f64,
    min: f64,
    max: f64,
    sum: f64,
    count: u64,
    last: f64,
}

pub fn json(out: &mut impl Write, answers: &[Answer]) -> io::Result<()> {
    for a in answers {
        let series = a.key.to_string();
        for b in &a.buckets {
            let row = JsonRow {
                series: series.clone(),
                metric: &a.key.name,
                labels: &a.key.labels,
                kind: a.kind,
                time: Timestamp::from_millisecond(b.start_ms).unwrap_or_default(),
                step_ms: a.step_ms,
                value: value(a.kind, b),
                min: b.min,
                max: b.max,
                sum: b.sum,
                count: b.count,
                last: b.last,
            };
            serde_json::to_writer(&mut *out, &row)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

pub fn csv(out: &mut impl Write, answers: &[Answer]) -> io::Result<()> {
    writeln!(out, "series,time,value,min,max,sum,count,last")?;
    for a in answers {
        let series = csv_field(&a.key.to_string());
        for b in &a.buckets {
            let time = Timestamp::from_millisecond(b.start_ms).unwrap_or_default();
            writeln!(
                out,
                "{series},{time},{},{},{},{},{},{}",
                value(a.kind, b),
                b.min,
                b.max,
                b.sum,
                b.count,
                b.last
            )?;
        }
    }
    Ok(())
}

/// OpenMetrics text: one `# TYPE` per metric name, its series' samples in time order, `# EOF` last.
pub fn openmetrics(out: &mut impl Write, answers: &[Answer]) -> io::Result<()> {
    let mut family: Option<&str> = None;
    // Answers come sorted by key, so a family's series are together.
    for a in answers {
        if family != Some(a.key.name.as_str()) {
            let kind = match a.kind {
                Kind::Gauge => "gauge",
                Kind::Delta => "unknown",
            };
            writeln!(out, "# TYPE {} {kind}", a.key.name)?;
            family = Some(&a.key.name);
        }
        let series = a.key.to_string();
        for b in &a.buckets {
            let ms = b.start_ms;
            writeln!(
                out,
                "{series} {} {}.{:03}",
                value(a.kind, b),
                ms.div_euclid(1000),
                ms.rem_euclid(1000)
            )?;
        }
    }
    writeln!(out, "# EOF")
}

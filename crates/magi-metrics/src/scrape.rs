//! `scrape`: the Prometheus text endpoints of the config's `[metrics.scrape.NAME]` read into the store's
//! `scrape` shard, each series with a `job` label of the target's name. Counters are stored as the readings
//! they are (gauges of the running total); a histogram's buckets become `NAME_bucket{le=...}` series,
//! a summary's quantiles `NAME{quantile=...}`.
//!
//! A target is not trusted: each is read on a thread of its own with a time limit and a size limit, so one
//! that hangs, floods or sends garbage costs its own samples and a line in the log, never the others'.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

use magi_core::config::ScrapeTarget;
use magi_tsdb::{Kind, Sample, SeriesKey};

/// The shard scraped series go to.
pub const SHARD: &str = "scrape";
/// The most one target's answer may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read from a target.
pub const MAX_BODY: u64 = 4 * 1024 * 1024;
/// The most samples kept from one scrape.
pub const MAX_SAMPLES: usize = 10_000;

/// Why a scrape gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("{url}: {why}")]
    Fetch { url: String, why: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: not Prometheus text: {why}")]
    Parse { url: String, why: String },
}

/// Reads one target once.
pub fn fetch(target: &ScrapeTarget) -> Result<String, ScrapeError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let failed = |why: String| ScrapeError::Fetch {
        url: target.url.clone(),
        why,
    };
    let mut response = agent
        .get(&target.url)
        .call()
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(ScrapeError::Status {
            url: target.url.clone(),
            status,
        });
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| failed(e.to_string()))
}

/// The samples of one answer, at `ts_ms`, each labelled `job=name`.
pub fn samples(name: &str, url: &str, text: &str, ts_ms: i64) -> Result<Vec<Sample>, ScrapeError> {
    let lines = text.as_bytes().lines();
    let scrape = prometheus_parse::Scrape::parse(lines).map_err(|e| ScrapeError::Parse {
        url: url.to_owned(),
        why: e.to_string(),
    })?;
    let mut out = Vec::new();
    let mut push = |metric: &str,
                    labels: &BTreeMap<String, String>,
                    extra: Option<(&str, String)>,
                    value: f64| {
        if out.len() >= MAX_SAMPLES || !value.is_finite() {
            return;
        }
        let mut all: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.push(("job", name));
        let extra_owned;
        if let Some((k, v)) = extra {
            extra_owned = v;
            all.push((k, extra_owned.as_str()));
        }
        // A series the store refuses (a name or label too long, too many labels) is skipped, not fatal.
        if let Ok(key) = SeriesKey::of(metric, &all) {
            out.push(Sample {
                key,
                kind: Kind::Gauge,
                ts_ms,
                value,
            });
        }
    };
    // The parser passes over lines it cannot read: an answer of only such lines is not metrics at all.
    if scrape.samples.is_empty() {
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        if lines > 0 {
            return Err(ScrapeError::Parse {
                url: url.to_owned(),
                why: format!("{lines} line(s), none of them a metric"),
            });
        }
    }
    for s in scrape.samples {
        let labels: BTreeMap<String, String> = s
            .labels
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => push(&s.metric, &labels, None, v),
            prometheus_parse::Value::Histogram(buckets) => {
                let name = format!("{}_bucket", s.metric);
                for b in buckets {
                    let le = if b.less_than.is_infinite() {
                        "+Inf".to_owned()
                    } else {
                        b.less_than.to_string()
                    };
                    push(&name, &labels, Some(("le", le)), b.count);
                }
            }
            prometheus_parse::Value::Summary(quantiles) => {
                for q in quantiles {
                    push(
                        &s.metric,
                        &labels,
                        Some(("quantile", q.quantile.to_string())),
                        q.count,
                    );
                }
            }
        }
    }
    Ok(out)
}

/// What one target's thread sends the writer.
pub type Scraped = (String, Result<Vec<Sample>, ScrapeError>);

/// Starts a thread per target that scrapes it every interval and sends what it got to `to`, until
/// `to` is closed. With `once`, each scrapes one time.
pub fn start(
    targets: &BTreeMap<String, ScrapeTarget>,
    to: &mpsc::Sender<Scraped>,
    once: bool,
) -> std::io::Result<()> {
    for (name, target) in targets {
        let (name, target, to) = (name.clone(), target.clone(), to.clone());
        std::thread::Builder::new()
            .name(format!("scrape-{name}"))
            .spawn(move || {
                loop {
                    let now = jiff::Timestamp::now().as_millisecond();
                    let got =
                        fetch(&target).and_then(|text| samples(&name, &target.url, &text, now));
                    if to.send((name.clone(), got)).is_err() || once {
                        return;
                    }
                    std::thread::sleep(target.interval);
                }
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_histograms_and_summaries_become_series_with_the_job() {
        let text = "\
# TYPE requests_total counter
requests_total{code=\"200\"} 10
# TYPE up gauge
up 1
# TYPE latency_seconds histogram
latency_seconds_bucket{le=\"0.1\"} 3
latency_seconds_bucket{le=\"+Inf\"} 5
latency_seconds_sum 1.5
latency_seconds_count 5
";
        let got = samples("qdrant", "http://x/metrics", text, 1000).unwrap();
        let keys: Vec<String> = got
            .iter()
            .map(|s| format!("{} {}", s.key, s.value))
            .collect();
        assert!(
            keys.contains(&r#"requests_total{code="200",job="qdrant"} 10"#.to_owned()),
            "{keys:?}"
        );
        assert!(
            keys.contains(&r#"up{job="qdrant"} 1"#.to_owned()),
            "{keys:?}"
        );
        assert!(
            keys.contains(&r#"latency_seconds_bucket{job="qdrant",le="0.1"} 3"#.to_owned()),
            "{keys:?}"
        );
        assert!(
            keys.contains(&r#"latency_seconds_bucket{job="qdrant",le="+Inf"} 5"#.to_owned()),
            "{keys:?}"
        );
        assert!(got.iter().all(|s| s.ts_ms == 1000));
    }

    #[test]
    fn a_flood_of_series_stops_at_the_bound_and_garbage_is_an_error_or_nothing() {
        let mut text = String::new();
        for i in 0..(MAX_SAMPLES + 500) {
            text.push_str(&format!("made_up_{i} 1\n"));
        }
        assert_eq!(samples("x", "u", &text, 0).unwrap().len(), MAX_SAMPLES);
        let garbage = samples("x", "u", "\u{0}\u{1}{{{ not metrics at all\n}}}", 0).unwrap_err();
        assert!(
            garbage.to_string().contains("none of them a metric"),
            "{garbage}"
        );
    }
}

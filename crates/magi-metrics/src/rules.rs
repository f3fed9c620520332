//! Threshold rules on stored series, as people write them: `cpu > 90% for 5m on qdrant`, `disk > 85%`,
//! `p95 latency > 10s on model gpt-4o`, `p95 ttft > 2s on model gpt-4o` (time to the first token: the
//! upstream answer's first byte), `p95 latency > 500ms for 1h on searxng` (a service's probe latency),
//! `error rate > 5% for 10m`, or any series by its selector
//! (`queue_depth{service="n8n"} > 100 for 2m`).
//!
//! [`Rule::parse`] reads one; [`RulesFile`] keeps them (TOML, in the config directory); [`Evaluator`]
//! checks them against the store and says, per rule and instance (a service, a disk, a model), when a
//! breach begins and ends, as `metric.threshold` events for magi-alert. A gauge breaches when every point
//! of the `for` window does (a single spike does not page anyone); a rate or a percentile is computed over
//! the window (5 minutes when none is given). No data in the window is neither a breach nor a recovery.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use magi_core::config::parse_duration;
use magi_core::{Event, Severity};
use magi_tsdb::{Reader, Selector, TsdbError};
use serde::{Deserialize, Serialize};

/// The longest rule text read.
pub const MAX_RULE: usize = 300;
/// The most rules a file may hold.
pub const MAX_RULES: usize = 200;
/// The most instances one rule tracks (a selector matching a flood of made-up series stops here).
const MAX_INSTANCES: usize = 500;
/// The window of a rate or a percentile when the rule names none.
const DEFAULT_WINDOW: Duration = Duration::from_secs(300);
/// How old the latest point of a gauge may be for a rule without `for`.
const FRESH: Duration = Duration::from_secs(60);

/// Why a rule does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}': {why}")]
pub struct RuleError {
    pub text: String,
    pub why: String,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Above,
    AtLeast,
    Below,
    AtMost,
}

impl Op {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Above => value > threshold,
            Op::AtLeast => value >= threshold,
            Op::Below => value < threshold,
            Op::AtMost => value <= threshold,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Above => ">",
            Op::AtLeast => ">=",
            Op::Below => "<",
            Op::AtMost => "<=",
        }
    }
}

/// What a rule measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// A gauge per instance: the series `selector` matches, instances told apart by `label`.
    Gauge { selector: Selector, label: String },
    /// Memory used over the limit, in percent, per service.
    MemoryPercent { service: Option<String> },
    /// A latency percentile per model, of `metric`: the whole answer (`llm_latency_seconds`) or its
    /// first byte (`llm_first_byte_seconds`).
    Percentile {
        q: f64,
        metric: &'static str,
        model: Option<String>,
    },
    /// Errors over requests, in percent, per model.
    ErrorRate { model: Option<String> },
    /// A percentile of a service's probe latency over the window, from the samples magi-health wrote.
    ProbePercentile { q: f64, service: String },
}

/// One rule, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub text: String,
    pub measure: Measure,
    pub op: Op,
    /// In the measure's own unit: percent, seconds or bytes.
    pub threshold: f64,
    /// How long a gauge must breach; the window of a rate or a percentile.
    pub window: Option<Duration>,
}

fn bad(text: &str, why: impl Into<String>) -> RuleError {
    RuleError {
        text: text.to_owned(),
        why: why.into(),
    }
}

/// A number with its unit: `90%`, `10s`, `500ms`, `2GiB`, `85`. Returns the value and the unit's kind.
fn quantity(text: &str) -> Option<(f64, &'static str)> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok().filter(|n: &f64| n.is_finite())?;
    let (factor, kind) = match unit.to_ascii_lowercase().as_str() {
        "" => (1.0, "plain"),
        "%" => (1.0, "percent"),
        "ms" => (0.001, "time"),
        "s" => (1.0, "time"),
        "m" | "min" => (60.0, "time"),
        "kb" => (1e3, "bytes"),
        "mb" => (1e6, "bytes"),
        "gb" => (1e9, "bytes"),
        "kib" => (1024.0, "bytes"),
        "mib" => (1024.0 * 1024.0, "bytes"),
        "gib" => (1024.0 * 1024.0 * 1024.0, "bytes"),
        _ => return None,
    };
    Some((n * factor, kind))
}

impl Rule {
    /// Reads `SUBJECT OP VALUE [for DURATION] [on TARGET]`.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let text = text.trim();
        if text.len() > MAX_RULE {
            return Err(bad(&text[..40], format!("longer than {MAX_RULE} bytes")));
        }
        let at = text.find(['>', '<']).ok_or_else(|| {
            bad(
                text,
                "no comparison (write e.g. cpu > 90% for 5m on qdrant)",
            )
        })?;
        let (subject, rest) = text.split_at(at);
        let (op, rest) = match rest.as_bytes() {
            [b'>', b'=', ..] => (Op::AtLeast, &rest[2..]),
            [b'<', b'=', ..] => (Op::AtMost, &rest[2..]),
            [b'>', ..] => (Op::Above, &rest[1..]),
            _ => (Op::Below, &rest[1..]),
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let Some((value, mut tail)) = words.split_first() else {
            return Err(bad(text, "no value after the comparison"));
        };
        let (threshold, unit) = quantity(value).ok_or_else(|| {
            bad(
                text,
                format!("'{value}' is not a value (write e.g. 90%, 10s, 2GiB)"),
            )
        })?;
        let mut window = None;
        let mut target: Option<String> = None;
        let mut target_is_model = false;
        while let Some((word, after)) = tail.split_first() {
            match *word {
                "for" => {
                    let d = after
                        .first()
                        .ok_or_else(|| bad(text, "'for' needs a duration"))?;
                    window = Some(parse_duration(d).map_err(|e| bad(text, e))?);
                    tail = &after[1..];
                }
                "on" => {
                    let (is_model, name) = match after {
                        ["model", name, ..] => (true, *name),
                        [name, ..] => (false, *name),
                        [] => return Err(bad(text, "'on' needs a service or 'model NAME'")),
                    };
                    target_is_model = is_model;
                    target = Some(name.to_owned());
                    tail = &after[if is_model { 2 } else { 1 }..];
                }
                other => {
                    return Err(bad(
                        text,
                        format!(
                            "'{other}' is not understood here (for DURATION, on SERVICE, on model NAME)"
                        ),
                    ));
                }
            }
        }
        let subject = subject.trim().to_ascii_lowercase();
        let want = |kinds: &[&str], what: &str| {
            if kinds.contains(&unit) {
                Ok(())
            } else {
                Err(bad(text, format!("{subject} is {what}")))
            }
        };
        let service_gauge = |name: &str| Measure::Gauge {
            selector: match &target {
                Some(t) => Selector::name(name).with("service", t),
                None => Selector::name(name),
            },
            label: "service".to_owned(),
        };
        let measure = match subject.as_str() {
            "cpu" => {
                want(&["percent", "plain"], "a percentage (e.g. 90%)")?;
                service_gauge("container_cpu_percent")
            }
            "memory" if unit == "percent" => Measure::MemoryPercent {
                service: target.clone(),
            },
            "memory" => {
                want(
                    &["bytes", "plain"],
                    "a size (e.g. 2GiB) or a percentage of the limit",
                )?;
                service_gauge("container_memory_bytes")
            }
            "disk" => {
                want(&["percent", "plain"], "a percentage used (e.g. 85%)")?;
                Measure::Gauge {
                    selector: match &target {
                        Some(t) => Selector::name("disk_used_percent").with("disk", t),
                        None => Selector::name("disk_used_percent"),
                    },
                    label: "disk".to_owned(),
                }
            }
            "latency" | "probe latency" => {
                want(&["time", "plain"], "a time (e.g. 2s, 500ms)")?;
                service_gauge("probe_latency_seconds")
            }
            "error rate" => {
                want(&["percent", "plain"], "a percentage (e.g. 5%)")?;
                Measure::ErrorRate {
                    model: target.clone(),
                }
            }
            s if s.starts_with('p')
                && [" latency", " ttft", " first byte"]
                    .iter()
                    .any(|w| s.ends_with(w)) =>
            {
                want(&["time", "plain"], "a time (e.g. 10s)")?;
                let (figure, metric) = if s.ends_with(" latency") {
                    (" latency", "llm_latency_seconds")
                } else if s.ends_with(" ttft") {
                    (" ttft", "llm_first_byte_seconds")
                } else {
                    (" first byte", "llm_first_byte_seconds")
                };
                let q: f64 = s[1..s.len() - figure.len()]
                    .parse()
                    .ok()
                    .filter(|q| (0.0..100.0).contains(q) && *q > 0.0)
                    .ok_or_else(|| bad(text, "a percentile is p50, p95, p99 and the like"))?;
                match (&target, target_is_model, figure) {
                    // `on SERVICE`: the service's own probe latency.
                    (Some(service), false, " latency") => Measure::ProbePercentile {
                        q: q / 100.0,
                        service: service.clone(),
                    },
                    (Some(_), false, _) => {
                        return Err(bad(
                            text,
                            "time to first token is a model's: write 'on model NAME'",
                        ));
                    }
                    _ => Measure::Percentile {
                        q: q / 100.0,
                        metric,
                        model: target.clone(),
                    },
                }
            }
            _ => {
                let mut selector = Selector::parse(subject.trim())
                    .map_err(|e| bad(text, format!("'{subject}' is neither a known figure (cpu, memory, disk, latency, pNN latency, pNN ttft, error rate) nor a series: {e}")))?;
                if let Some(t) = &target {
                    let label = if target_is_model { "model" } else { "service" };
                    selector = selector.with(label, t);
                }
                Measure::Gauge {
                    selector,
                    label: if target_is_model { "model" } else { "service" }.to_owned(),
                }
            }
        };
        if target_is_model
            && !matches!(
                measure,
                Measure::Percentile { .. } | Measure::ErrorRate { .. } | Measure::Gauge { .. }
            )
        {
            return Err(bad(
                text,
                "'on model' goes with a latency percentile or the error rate",
            ));
        }
        Ok(Rule {
            text: text.to_owned(),
            measure,
            op,
            threshold,
            window,
        })
    }

    /// A name made of the rule's words: `cpu-90-5m-qdrant`.
    pub fn default_name(text: &str) -> String {
        let mut name = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                name.push(c.to_ascii_lowercase());
            } else if !name.ends_with('-') && !name.is_empty() {
                name.push('-');
            }
        }
        name.trim_end_matches('-').chars().take(48).collect()
    }
}

/// A rule as kept in the rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredRule {
    pub name: String,
    pub rule: String,
    #[serde(default = "warning")]
    pub severity: Severity,
}

fn warning() -> Severity {
    Severity::Warning
}

/// The rules file: `[[rules]]` tables of name, rule and severity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub rules: Vec<StoredRule>,
}

/// Why the rules file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesFileError {
    #[error("{path}: cannot read the rules: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a rules file: {why}")]
    Parse { path: String, why: String },
    #[error("{path}: cannot write the rules: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl RulesFile {
    /// The rules at `path`; none when the file does not exist. Every rule must parse.
    pub fn load(path: &Path) -> Result<RulesFile, RulesFileError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RulesFile::default()),
            Err(source) => {
                return Err(RulesFileError::Read {
                    path: shown,
                    source,
                });
            }
        };
        let file: RulesFile = toml::from_str(&text).map_err(|e| RulesFileError::Parse {
            path: shown.clone(),
            why: e.message().to_owned(),
        })?;
        if file.rules.len() > MAX_RULES {
            return Err(RulesFileError::Parse {
                path: shown,
                why: format!("more than {MAX_RULES} rules"),
            });
        }
        for r in &file.rules {
            Rule::parse(&r.rule).map_err(|e| RulesFileError::Parse {
                path: shown.clone(),
                why: format!("rule {}: {e}", r.name),
            })?;
        }
        Ok(file)
    }

    /// Writes the rules to `path`, replacing the file whole.
    pub fn save(&self, path: &Path) -> Result<(), RulesFileError> {
        let text = format!(
            "# Threshold rules on MAGI's metrics, evaluated by `magi-metrics alerts watch` (magi alerts configure).\n{}",
            toml::to_string(self).unwrap_or_default()
        );
        magi_core::file::replace(path, text.as_bytes(), 0o644).map_err(|source| {
            RulesFileError::Write {
                path: path.display().to_string(),
                source,
            }
        })
    }
}

/// What one instance of a rule measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    Breach(f64),
    Clear(f64),
    NoData,
}

/// Every instance of `rule` and its reading at `now_ms`.
pub fn read(
    reader: &Reader,
    rule: &Rule,
    now_ms: i64,
) -> Result<BTreeMap<String, Reading>, TsdbError> {
    let judge = |v: f64| {
        if rule.op.holds(v, rule.threshold) {
            Reading::Breach(v)
        } else {
            Reading::Clear(v)
        }
    };
    let window_ms = |d: Option<Duration>| d.unwrap_or(DEFAULT_WINDOW).as_millis() as i64;
    let mut out = BTreeMap::new();
    match &rule.measure {
        Measure::Gauge { selector, label } => {
            let span = rule.window.unwrap_or(FRESH).as_millis() as i64;
            let tier = reader.tiers().finest_holding(now_ms - span, now_ms);
            for answer in reader
                .read_tier(selector, tier, now_ms - span, now_ms + 1)?
                .into_iter()
                .take(MAX_INSTANCES)
            {
                let instance = answer
                    .key
                    .label(label)
                    .map_or_else(|| answer.key.to_string(), str::to_owned);
                let Some(last) = answer.buckets.last() else {
                    out.insert(instance, Reading::NoData);
                    continue;
                };
                let reading = match rule.window {
                    // Without `for`: the latest point.
                    None => judge(last.last),
                    // With it: a breach only if every point of the window breached, and the window is covered.
                    Some(_) => {
                        let first = answer.buckets[0].start_ms;
                        let covered = first <= now_ms - span + span / 10 + 15_000;
                        let all = answer.buckets.iter().all(|b| {
                            rule.op.holds(b.min, rule.threshold)
                                && rule.op.holds(b.max, rule.threshold)
                        });
                        if all && covered {
                            Reading::Breach(last.last)
                        } else {
                            Reading::Clear(last.last)
                        }
                    }
                };
                out.insert(instance, reading);
            }
        }
        Measure::MemoryPercent { service } => {
            let gauge = |name: &str| match service {
                Some(s) => Selector::name(name).with("service", s),
                None => Selector::name(name),
            };
            let limits: BTreeMap<String, f64> = reader
                .read_tier(
                    &gauge("container_memory_limit_bytes"),
                    0,
                    now_ms - FRESH.as_millis() as i64,
                    now_ms + 1,
                )?
                .into_iter()
                .filter_map(|a| Some((a.key.label("service")?.to_owned(), a.buckets.last()?.last)))
                .collect();
            let span = rule.window.unwrap_or(FRESH).as_millis() as i64;
            let tier = reader.tiers().finest_holding(now_ms - span, now_ms);
            for answer in reader
                .read_tier(
                    &gauge("container_memory_bytes"),
                    tier,
                    now_ms - span,
                    now_ms + 1,
                )?
                .into_iter()
                .take(MAX_INSTANCES)
            {
                let Some(service) = answer.key.label("service").map(str::to_owned) else {
                    continue;
                };
                let limit = limits.get(&service).copied().filter(|l| *l > 0.0);
                let reading = match (answer.buckets.last(), limit) {
                    (Some(_), Some(limit)) => {
                        let percent = |v: f64| 100.0 * v / limit;
                        let last = percent(answer.buckets.last().map_or(0.0, |b| b.last));
                        let all = answer
                            .buckets
                            .iter()
                            .all(|b| rule.op.holds(percent(b.min), rule.threshold));
                        if rule.window.is_none() || all {
                            judge(last)
                        } else {
                            Reading::Clear(last)
                        }
                    }
                    _ => Reading::NoData,
                };
                out.insert(service, reading);
            }
        }
        Measure::Percentile { q, metric, model } => {
            let from = now_ms - window_ms(rule.window);
            for m in models(
                reader,
                model.as_deref(),
                &format!("{metric}_bucket"),
                from,
                now_ms,
            )? {
                let selector = Selector::name(metric).with("model", &m);
                let value = reader
                    .quantile(&selector, *q, from, now_ms + 1, 1, now_ms)?
                    .overall;
                out.insert(
                    m,
                    value
                        .filter(|v| v.is_finite())
                        .map_or(Reading::NoData, judge),
                );
            }
        }
        Measure::ProbePercentile { q, service } => {
            let from = now_ms - window_ms(rule.window);
            let selector = Selector::name("probe_latency_seconds").with("service", service);
            let mut samples = reader.samples(&selector, from, now_ms + 1, now_ms)?;
            samples.sort_by(|a, b| a.0.total_cmp(&b.0));
            let total: u64 = samples.iter().map(|s| s.1).sum();
            let rank = (*q * total as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            let value = samples.iter().find_map(|&(v, n)| {
                seen += n;
                (seen >= rank).then_some(v)
            });
            out.insert(service.clone(), value.map_or(Reading::NoData, judge));
        }
        Measure::ErrorRate { model } => {
            let from = now_ms - window_ms(rule.window);
            let sum = |name: &str| {
                let selector = match model {
                    Some(m) => Selector::name(name).with("model", m),
                    None => Selector::name(name),
                };
                reader.totals(&selector, "model", from, now_ms + 1, now_ms)
            };
            let requests = sum("llm_requests")?;
            let errors = sum("llm_errors")?;
            for (m, r) in requests.into_iter().take(MAX_INSTANCES) {
                let reading = if r > 0.0 {
                    judge(100.0 * errors.get(&m).copied().unwrap_or(0.0) / r)
                } else {
                    Reading::NoData
                };
                out.insert(m, reading);
            }
        }
    }
    Ok(out)
}

/// The models with figures of `series` in the window, or just `only`.
fn models(
    reader: &Reader,
    only: Option<&str>,
    series: &str,
    from: i64,
    now_ms: i64,
) -> Result<Vec<String>, TsdbError> {
    if let Some(m) = only {
        return Ok(vec![m.to_owned()]);
    }
    let tier = reader.tiers().finest_holding(from, now_ms);
    let mut out: Vec<String> = reader
        .read_tier(&Selector::name(series), tier, from, now_ms + 1)?
        .into_iter()
        .filter(|a| !a.buckets.is_empty())
        .filter_map(|a| a.key.label("model").map(str::to_owned))
        .collect();
    out.sort();
    out.dedup();
    out.truncate(MAX_INSTANCES);
    Ok(out)
}

/// Remembers each rule instance's state between rounds and says what changed.
#[derive(Debug, Default)]
pub struct Evaluator {
    /// (rule name, instance) → breaching.
    firing: BTreeMap<(String, String), bool>,
    started: bool,
}

impl Evaluator {
    /// One round over `rules` at `now_ms`: an event for each instance whose state changed, and on the first
    /// round for every instance (so a breach that ended while we were down is resolved).
    pub fn round(&mut self, reader: &Reader, rules: &[StoredRule], now_ms: i64) -> Vec<Event> {
        let mut events = Vec::new();
        let first = !self.started;
        self.started = true;
        for stored in rules {
            let Ok(rule) = Rule::parse(&stored.rule) else {
                continue;
            };
            let readings = match read(reader, &rule, now_ms) {
                Ok(r) => r,
                Err(e) => {
                    log::warn!("rule {}: {e}", stored.name);
                    continue;
                }
            };
            for (instance, reading) in readings {
                let (breach, value) = match reading {
                    Reading::Breach(v) => (true, v),
                    Reading::Clear(v) => (false, v),
                    Reading::NoData => continue,
                };
                let key = (stored.name.clone(), instance.clone());
                let before = self.firing.insert(key, breach);
                // A new instance that is fine says nothing, except on the first round, when every state is
                // said so that a breach that ended while we were down is resolved.
                let changed = before.map_or(breach, |b| b != breach);
                if !first && !changed {
                    continue;
                }
                events.push(event(stored, &rule, &instance, breach, value, now_ms));
            }
        }
        events
    }
}

fn event(
    stored: &StoredRule,
    rule: &Rule,
    instance: &str,
    breach: bool,
    value: f64,
    now_ms: i64,
) -> Event {
    let subject = format!("{}:{instance}", stored.name);
    let (severity, message) = if breach {
        (
            stored.severity,
            format!(
                "{instance}: {} (now {value:.2}; {})",
                rule.text, stored.name
            ),
        )
    } else {
        (
            Severity::Ok,
            format!(
                "{instance}: back within {} (now {value:.2}; {})",
                rule.text, stored.name
            ),
        )
    };
    let mut event = Event::new(
        "magi-metrics",
        "metric.threshold",
        subject,
        severity,
        message,
    );
    if let Ok(at) = jiff::Timestamp::from_millisecond(now_ms) {
        event.ts = at;
    }
    event
        .with("rule", stored.name.as_str())
        .with("expr", rule.text.as_str())
        .with("instance", instance)
        .with("value", value)
        .with("threshold", rule.threshold)
        .with("op", rule.op.symbol())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issues_examples_parse_to_what_they_say() {
        let r = Rule::parse("cpu > 90% for 5m on qdrant").unwrap();
        assert_eq!(r.op, Op::Above);
        assert_eq!(r.threshold, 90.0);
        assert_eq!(r.window, Some(Duration::from_secs(300)));
        assert_eq!(
            r.measure,
            Measure::Gauge {
                selector: Selector::name("container_cpu_percent").with("service", "qdrant"),
                label: "service".into()
            }
        );
        let r = Rule::parse("disk > 85%").unwrap();
        assert!(
            matches!(&r.measure, Measure::Gauge { selector, label } if selector.name == "disk_used_percent" && label == "disk")
        );
        let r = Rule::parse("p95 latency > 10s on model gpt-4o").unwrap();
        assert_eq!(
            r.measure,
            Measure::Percentile {
                q: 0.95,
                metric: "llm_latency_seconds",
                model: Some("gpt-4o".into())
            }
        );
        assert_eq!(r.threshold, 10.0);
        let r = Rule::parse("p99 ttft > 800ms on model gpt-4o").unwrap();
        assert_eq!(
            r.measure,
            Measure::Percentile {
                q: 0.99,
                metric: "llm_first_byte_seconds",
                model: Some("gpt-4o".into())
            }
        );
        assert_eq!(r.threshold, 0.8);
        assert_eq!(
            Rule::parse("p50 first byte > 1s").unwrap().measure,
            Measure::Percentile {
                q: 0.5,
                metric: "llm_first_byte_seconds",
                model: None
            }
        );
        let r = Rule::parse("error rate > 5% for 10m").unwrap();
        assert_eq!(r.measure, Measure::ErrorRate { model: None });
        assert_eq!(r.window, Some(Duration::from_secs(600)));
        let r = Rule::parse("memory >= 90% on redis").unwrap();
        assert_eq!(
            r.measure,
            Measure::MemoryPercent {
                service: Some("redis".into())
            }
        );
        let r = Rule::parse("latency > 500ms on searxng").unwrap();
        assert_eq!(r.threshold, 0.5);
        let r = Rule::parse(r#"queue_depth{service="n8n"} < 3 for 2m"#).unwrap();
        assert!(
            matches!(&r.measure, Measure::Gauge { selector, .. } if selector.name == "queue_depth")
        );
        assert_eq!(
            Rule::default_name("cpu > 90% for 5m on qdrant"),
            "cpu-90-for-5m-on-qdrant"
        );
    }

    fn gauge(name: &str, labels: &[(&str, &str)], ts_ms: i64, value: f64) -> magi_tsdb::Sample {
        magi_tsdb::Sample {
            key: magi_tsdb::SeriesKey::of(name, labels).unwrap(),
            kind: magi_tsdb::Kind::Gauge,
            ts_ms,
            value,
        }
    }

    /// A store in a temporary directory, and the writer of its `shard`.
    fn store(shard: &str) -> (tempfile::TempDir, magi_tsdb::Writer) {
        let dir = tempfile::tempdir().unwrap();
        let writer = magi_tsdb::Writer::open(
            dir.path(),
            shard,
            magi_tsdb::Tiers::default(),
            magi_tsdb::store::Limits::default(),
        )
        .unwrap();
        (dir, writer)
    }

    fn stored(name: &str, rule: &str) -> StoredRule {
        StoredRule {
            name: name.into(),
            rule: rule.into(),
            severity: Severity::Critical,
        }
    }

    #[test]
    fn a_breach_held_for_the_window_fires_once_and_resolves_once() {
        let (dir, mut writer) = store("health");
        let now = jiff::Timestamp::now().as_millisecond();
        let mut batch = Vec::new();
        // qdrant at 95 % for the last 6 minutes; redis at 95 % only for the last minute (a spike).
        for i in 0..72 {
            let t = now - 360_000 + i * 5_000;
            batch.push(gauge(
                "container_cpu_percent",
                &[("service", "qdrant")],
                t,
                95.0,
            ));
            let redis = if t > now - 60_000 { 95.0 } else { 3.0 };
            batch.push(gauge(
                "container_cpu_percent",
                &[("service", "redis")],
                t,
                redis,
            ));
        }
        writer.append(&batch, now).unwrap();
        let reader = Reader::new(dir.path(), magi_tsdb::Tiers::default());
        let rules = [stored("cpu-hot", "cpu > 90% for 5m")];
        let mut evaluator = Evaluator::default();

        // The first round says every instance's state: qdrant breaching, redis fine (a spike is not 5 minutes).
        let first = evaluator.round(&reader, &rules, now);
        let said: Vec<(String, Severity)> = first
            .iter()
            .map(|e| (e.subject.clone(), e.severity))
            .collect();
        assert_eq!(
            said,
            [
                ("cpu-hot:qdrant".into(), Severity::Critical),
                ("cpu-hot:redis".into(), Severity::Ok)
            ]
        );
        assert_eq!(first[0].kind, "metric.threshold");
        assert_eq!(first[0].data["value"], 95.0);
        // Nothing changed: nothing said.
        assert!(evaluator.round(&reader, &rules, now + 1).is_empty());
        // qdrant cools down: one ok event.
        writer
            .append(
                &[gauge(
                    "container_cpu_percent",
                    &[("service", "qdrant")],
                    now + 5_000,
                    10.0,
                )],
                now + 5_000,
            )
            .unwrap();
        let cooled = evaluator.round(&reader, &rules, now + 5_001);
        assert_eq!(cooled.len(), 1, "{cooled:?}");
        assert_eq!(
            (cooled[0].subject.as_str(), cooled[0].severity),
            ("cpu-hot:qdrant", Severity::Ok)
        );
    }

    #[test]
    fn latency_and_time_to_first_token_budgets_read_their_own_histograms() {
        use magi_tsdb::histogram::{Histogram, LATENCY_BOUNDS};
        let (dir, mut writer) = store("limits");
        let now = jiff::Timestamp::now().as_millisecond();
        // gpt: whole answers in 3 s, the first byte slow (2 s); llama: both fast.
        let mut batch = Vec::new();
        for (model, whole, first) in [("gpt", 3.0, 2.0), ("llama", 0.4, 0.1)] {
            let mut w = Histogram::new("llm_latency_seconds", &[("model", model)], LATENCY_BOUNDS);
            let mut f = Histogram::new(
                "llm_first_byte_seconds",
                &[("model", model)],
                LATENCY_BOUNDS,
            );
            for _ in 0..100 {
                w.observe(whole);
                f.observe(first);
            }
            batch.extend(w.drain(now - 60_000));
            batch.extend(f.drain(now - 60_000));
        }
        writer.append(&batch, now).unwrap();
        let reader = Reader::new(dir.path(), magi_tsdb::Tiers::default());
        let ttft = read(&reader, &Rule::parse("p95 ttft > 1s").unwrap(), now).unwrap();
        assert!(
            matches!(ttft["gpt"], Reading::Breach(v) if (1.0..=2.5).contains(&v)),
            "{ttft:?}"
        );
        assert!(matches!(ttft["llama"], Reading::Clear(_)), "{ttft:?}");
        let whole = read(&reader, &Rule::parse("p95 latency > 5s").unwrap(), now).unwrap();
        assert!(
            matches!(whole["gpt"], Reading::Clear(v) if v >= 2.0),
            "{whole:?}"
        );
    }

    #[test]
    fn a_services_probe_latency_budget_is_the_percentile_of_its_samples() {
        let (dir, mut writer) = store("health");
        let now = jiff::Timestamp::now().as_millisecond();
        // 100 samples over the last 500 s: 90 at 20 ms, 10 at 900 ms (one in ten slow).
        let batch: Vec<_> = (0..100)
            .map(|i| {
                let v = if i % 10 == 0 { 0.9 } else { 0.02 };
                gauge(
                    "probe_latency_seconds",
                    &[("service", "searxng")],
                    now - 500_000 + i * 5_000,
                    v,
                )
            })
            .collect();
        writer.append(&batch, now).unwrap();
        let reader = Reader::new(dir.path(), magi_tsdb::Tiers::default());
        let rule = Rule::parse("p95 latency > 500ms for 10m on searxng").unwrap();
        assert_eq!(
            rule.measure,
            Measure::ProbePercentile {
                q: 0.95,
                service: "searxng".into()
            }
        );
        let p95 = read(&reader, &rule, now).unwrap();
        assert!(
            matches!(p95["searxng"], Reading::Breach(v) if v == 0.9),
            "{p95:?}"
        );
        let p50 = read(
            &reader,
            &Rule::parse("p50 latency > 500ms for 10m on searxng").unwrap(),
            now,
        )
        .unwrap();
        assert!(
            matches!(p50["searxng"], Reading::Clear(v) if v == 0.02),
            "{p50:?}"
        );
        assert!(Rule::parse("p95 ttft > 1s on searxng").is_err());
    }

    #[test]
    fn the_rules_file_round_trips_and_refuses_a_bad_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alert-rules.toml");
        assert_eq!(RulesFile::load(&path).unwrap(), RulesFile::default());
        let file = RulesFile {
            rules: vec![stored("disk", "disk > 85%")],
        };
        file.save(&path).unwrap();
        assert_eq!(RulesFile::load(&path).unwrap(), file);
        std::fs::write(&path, "[[rules]]\nname = \"x\"\nrule = \"cpu is hot\"\n").unwrap();
        let e = RulesFile::load(&path).unwrap_err().to_string();
        assert!(e.contains("rule x") && e.contains("no comparison"), "{e}");
        std::fs::write(&path, "[[rules]]\nname = 1\n").unwrap();
        assert!(
            RulesFile::load(&path)
                .unwrap_err()
                .to_string()
                .contains("not a rules file")
        );
    }

    #[test]
    fn a_rule_that_does_not_parse_says_why() {
        for (text, says) in [
            ("cpu is high", "no comparison"),
            ("cpu >", "no value"),
            ("cpu > lots", "is not a value"),
            ("cpu > 90% for", "needs a duration"),
            ("cpu > 90% for ever", "is not a duration"),
            ("cpu > 90% sometimes", "is not understood"),
            ("disk > 2GiB", "a percentage used"),
            ("p950 latency > 1s", "p50, p95, p99"),
            ("not a series! > 1", "neither a known figure"),
        ] {
            let e = Rule::parse(text).unwrap_err();
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
        assert!(Rule::parse(&"x".repeat(400)).is_err());
    }
}

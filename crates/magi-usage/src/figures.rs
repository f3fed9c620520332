//! What the gateway's usage records add to the metrics store (the `limits` shard), summed in the usage
//! writer's thread so the request path pays nothing for it: per model and user the requests, errors,
//! tokens and cost of each flush interval (delta series), and per model a histogram of whole-answer
//! latency, from which the dashboard reads p50/p95/p99 over any range.
//!
//! An error is what the client did not get because of the model: a 5xx answer or an upstream failure. A
//! request the gateway refused on purpose (429 for a limit, 403) is counted as a request, not an error.
//! The names are the client's to choose, so a flood of made-up model names must add nothing: a model and
//! user get series of their own once upstream has answered them successfully (as the gateway's own
//! `/metrics` decides), up to [`MAX_PAIRS`]; until then their requests count under `(other)`.

use std::collections::BTreeMap;

use magi_tsdb::histogram::{Histogram, LATENCY_BOUNDS};
use magi_tsdb::{Kind, Sample, SeriesKey, Writer};

use crate::usage::Record;

/// The shard the gateway writes.
pub const SHARD: &str = "limits";

/// The most model and user pairs with series of their own.
pub const MAX_PAIRS: usize = 1000;

/// The label of requests whose model or user has no series of its own.
pub const OTHER: &str = "(other)";

#[derive(Default)]
struct Sums {
    requests: f64,
    errors: f64,
    prompt_tokens: f64,
    completion_tokens: f64,
    cost_usd: f64,
}

/// Figures gathered since the last flush, and the writer they go to.
pub struct Figures {
    writer: Writer,
    sums: BTreeMap<(String, String), Sums>,
    /// Latency histograms by (metric, model): the whole answer, and the time to its first byte.
    latency: BTreeMap<(&'static str, String), Histogram>,
    /// The pairs, and the models, that have series of their own.
    known: std::collections::HashSet<(String, String)>,
    known_models: std::collections::HashSet<String>,
    refusals_said: bool,
}

impl Figures {
    pub fn new(writer: Writer) -> Figures {
        Figures {
            writer,
            sums: BTreeMap::new(),
            latency: BTreeMap::new(),
            known: Default::default(),
            known_models: Default::default(),
            refusals_said: false,
        }
    }

    /// Counts one finished request (requests to no model, like `GET /v1/models`, are not figures).
    pub fn add(&mut self, record: &Record) {
        if record.model.is_empty() {
            return;
        }
        let pair = (record.model.clone(), record.user.clone());
        let answered = (200..300).contains(&record.status);
        let (model, user) = if self.known.contains(&pair) {
            pair
        } else if answered && self.known.len() < MAX_PAIRS {
            self.known.insert(pair.clone());
            self.known_models.insert(pair.0.clone());
            pair
        } else if self.known_models.contains(&pair.0) {
            (pair.0, OTHER.to_owned())
        } else {
            (OTHER.to_owned(), OTHER.to_owned())
        };
        let sums = self.sums.entry((model.clone(), user)).or_default();
        sums.requests += 1.0;
        if record.failed() {
            sums.errors += 1.0;
        }
        sums.prompt_tokens += record.prompt_tokens as f64;
        sums.completion_tokens += record.completion_tokens as f64;
        sums.cost_usd += record.cost_usd;
        let observed = [
            ("llm_latency_seconds", Some(record.latency_ms)),
            ("llm_first_byte_seconds", record.first_byte_ms),
        ];
        for (name, ms) in observed {
            if let Some(ms) = ms {
                self.latency
                    .entry((name, model.clone()))
                    .or_insert_with(|| Histogram::new(name, &[("model", &model)], LATENCY_BOUNDS))
                    .observe(ms as f64 / 1000.0);
            }
        }
    }

    /// Writes what was gathered as points at `now_ms`, and starts again.
    pub fn flush(&mut self, now_ms: i64) {
        let mut samples = Vec::new();
        for ((model, user), sums) in std::mem::take(&mut self.sums) {
            let labels = [("model", model.as_str()), ("user", user.as_str())];
            for (name, value) in [
                ("llm_requests", sums.requests),
                ("llm_errors", sums.errors),
                ("llm_prompt_tokens", sums.prompt_tokens),
                ("llm_completion_tokens", sums.completion_tokens),
                ("llm_cost_usd", sums.cost_usd),
            ] {
                // A model or user name the store cannot label (too long, control characters) is skipped.
                if let Ok(key) = SeriesKey::of(name, &labels) {
                    samples.push(Sample {
                        key,
                        kind: Kind::Delta,
                        ts_ms: now_ms,
                        value,
                    });
                }
            }
        }
        for histogram in self.latency.values_mut() {
            if !histogram.is_empty() {
                samples.extend(histogram.drain(now_ms));
            }
        }
        if samples.is_empty() {
            return;
        }
        match self.writer.append(&samples, now_ms) {
            Ok(appended) if !appended.refused.is_empty() && !self.refusals_said => {
                self.refusals_said = true;
                log::warn!(
                    "{}: {} figure(s) not kept: {}",
                    self.writer.path().display(),
                    appended.refused.len(),
                    appended.refused[0].1
                );
            }
            Ok(_) => {}
            Err(e) => log::warn!("{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use magi_tsdb::store::Limits;
    use magi_tsdb::{Reader, Selector, Tiers};

    fn record(model: &str, user: &str, status: u16) -> Record {
        Record {
            ts: jiff::Timestamp::now(),
            user: user.into(),
            model: model.into(),
            prompt_tokens: 3,
            completion_tokens: 4,
            cost_usd: 0.5,
            latency_ms: 800,
            first_byte_ms: Some(300),
            status,
            disconnected: false,
            key_prefix: None,
            path: "/v1/chat/completions".into(),
            error: (status >= 500).then(|| "upstream 502".into()),
        }
    }

    #[test]
    fn made_up_models_count_under_other_and_add_no_series() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::open(dir.path(), SHARD, Tiers::default(), Limits::default()).unwrap();
        let mut figures = Figures::new(writer);
        figures.add(&record("gpt-4o", "ann", 200));
        figures.add(&record("gpt-4o", "bob", 502));
        for i in 0..500 {
            figures.add(&record(&format!("made-up-{i}"), "mallory", 404));
        }
        let now = jiff::Timestamp::now().as_millisecond();
        figures.flush(now);
        let reader = Reader::new(dir.path(), Tiers::default());
        let total = |selector: Selector| -> Vec<(String, f64)> {
            reader
                .query(&selector, now - 60_000, now + 1, 10, now)
                .unwrap()
                .into_iter()
                .map(|a| (a.key.to_string(), a.buckets.iter().map(|b| b.sum).sum()))
                .collect()
        };
        assert_eq!(
            total(Selector::name("llm_requests")),
            vec![
                (
                    r#"llm_requests{model="(other)",user="(other)"}"#.into(),
                    500.0
                ),
                (r#"llm_requests{model="gpt-4o",user="(other)"}"#.into(), 1.0),
                (r#"llm_requests{model="gpt-4o",user="ann"}"#.into(), 1.0),
            ]
        );
        assert_eq!(
            total(Selector::name("llm_errors").with("model", "gpt-4o")),
            vec![
                (r#"llm_errors{model="gpt-4o",user="(other)"}"#.into(), 1.0),
                (r#"llm_errors{model="gpt-4o",user="ann"}"#.into(), 0.0),
            ]
        );
        let p50 = reader
            .quantile(
                &Selector::name("llm_latency_seconds").with("model", "gpt-4o"),
                0.5,
                now - 60_000,
                now + 1,
                10,
                now,
            )
            .unwrap();
        assert!((0.5..=1.0).contains(&p50.overall.unwrap()), "{p50:?}");
        // The time to the first byte (300 ms) has a histogram of its own.
        let first = reader
            .quantile(
                &Selector::name("llm_first_byte_seconds").with("model", "gpt-4o"),
                0.5,
                now - 60_000,
                now + 1,
                10,
                now,
            )
            .unwrap();
        assert!((0.25..=0.5).contains(&first.overall.unwrap()), "{first:?}");
        assert!(reader.series().unwrap().len() < 80);
    }
}

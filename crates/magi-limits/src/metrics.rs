//! The gateway's Prometheus metrics: requests, tokens, cost and latency per model, refusals by reason,
//! and, read when scraped, queue depth and breaker state per model.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hashbrown::HashMap;
use magi_core::exposition::{Exposition, Kind};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// What is counted of one model's requests. Requests that name no model (`/v1/models`) are counted under
/// the empty name, by status only.
#[derive(Debug, Default)]
struct ModelCounters {
    requests: BTreeMap<u16, u64>,
    prompt_tokens: u64,
    completion_tokens: u64,
    cost: f64,
    latency: Histogram,
}

#[derive(Debug, Default)]
struct Counters {
    models: HashMap<String, ModelCounters>,
    refused: BTreeMap<&'static str, u64>,
}

impl Counters {
    /// Every model's counters, sorted by name (for a stable exposition).
    fn sorted(&self) -> Vec<(&String, &ModelCounters)> {
        let mut models: Vec<_> = self.models.iter().collect();
        models.sort_unstable_by_key(|(model, _)| *model);
        models
    }
}

/// The most models with series of their own; past it, new names count under [`OTHER`].
const MAX_MODELS: usize = 1000;

/// The series of the requests for models that have none of their own.
pub const OTHER: &str = "(other)";

/// The series a request is counted in. The model name is the client's to choose: a name gets a series of
/// its own once upstream has answered it successfully (a real model), up to [`MAX_MODELS`]; until then,
/// failed requests for it count under [`OTHER`], so a flood of made-up names adds nothing.
fn series<'a>(models: &HashMap<String, ModelCounters>, model: &'a str, status: u16) -> &'a str {
    let known = model.is_empty() || models.contains_key(model);
    if known || ((200..300).contains(&status) && models.len() < MAX_MODELS) {
        model
    } else {
        OTHER
    }
}

/// What the gateway counts.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

/// A finished request, as counted.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    pub model: &'a str,
    pub status: u16,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    pub seconds: f64,
}

/// Live values read at scrape time.
#[derive(Debug, Default)]
pub struct Live {
    pub queue_depths: Vec<(String, usize)>,
    /// Model, gauge (0 closed, 1 half-open, 2 open).
    pub breakers: Vec<(String, u8)>,
    pub usage_dropped: u64,
    /// Requests between arrival and their usage record.
    pub in_flight: u64,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn finished(&self, f: Finished<'_>) {
        let mut counters = self.lock();
        let name = series(&counters.models, f.model, f.status);
        let c = counters.models.entry_ref(name).or_default();
        *c.requests.entry(f.status).or_default() += 1;
        if f.model.is_empty() {
            return;
        }
        c.prompt_tokens += f.prompt_tokens;
        c.completion_tokens += f.completion_tokens;
        c.cost += f.cost_usd;
        let h = &mut c.latency;
        for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
            if f.seconds <= bound {
                *count += 1;
            }
        }
        h.sum += f.seconds;
        h.count += 1;
    }

    /// A request the gateway refused itself: `rate_limit`, `queue`, `quota`, `budget`, `breaker`, `bad_request`, `busy`.
    pub fn refused(&self, reason: &'static str) {
        *self.lock().refused.entry(reason).or_default() += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self, live: &Live) -> String {
        let c = self.lock();
        let models = c.sorted();
        // Requests that named no model are counted by status, and have no tokens, cost or latency.
        let named = || {
            models
                .iter()
                .copied()
                .filter(|(model, _)| !model.is_empty())
        };
        let mut page = Exposition::new();
        page.family(
            "magi_limits_requests_total",
            Kind::Counter,
            "Requests answered, by model and status.",
        );
        for (model, counters) in &models {
            for (status, n) in &counters.requests {
                page.sample(&[("model", model), ("status", &status.to_string())], n);
            }
        }
        page.family(
            "magi_limits_tokens_total",
            Kind::Counter,
            "Tokens used, by model and kind.",
        );
        type Count = fn(&ModelCounters) -> u64;
        let kinds: [(&str, Count); 2] = [
            ("prompt", |m| m.prompt_tokens),
            ("completion", |m| m.completion_tokens),
        ];
        for (kind, count) in kinds {
            for (model, m) in named() {
                page.sample(&[("model", model), ("kind", kind)], count(m));
            }
        }
        page.family(
            "magi_limits_cost_usd_total",
            Kind::Counter,
            "Cost in USD, by model.",
        );
        for (model, m) in named() {
            page.sample(&[("model", model)], m.cost);
        }
        page.family(
            "magi_limits_request_duration_seconds",
            Kind::Histogram,
            "Time from arrival to the last byte, by model.",
        );
        for (model, m) in named() {
            let h = &m.latency;
            page.histogram(&[("model", model)], &BUCKETS, &h.counts, h.sum, h.count);
        }
        page.family(
            "magi_limits_refused_total",
            Kind::Counter,
            "Requests the gateway refused itself, by reason.",
        );
        for (reason, n) in &c.refused {
            page.sample(&[("reason", reason)], n);
        }
        page.family(
            "magi_limits_queue_depth",
            Kind::Gauge,
            "Requests waiting for their model, by model.",
        );
        for (model, n) in &live.queue_depths {
            page.sample(&[("model", model)], n);
        }
        page.family(
            "magi_limits_breaker_state",
            Kind::Gauge,
            "Circuit breaker per model: 0 closed, 1 half-open, 2 open.",
        );
        for (model, state) in &live.breakers {
            page.sample(&[("model", model)], state);
        }
        page.family(
            "magi_limits_usage_dropped_total",
            Kind::Counter,
            "Usage records dropped because the writer fell behind.",
        );
        page.sample(&[], live.usage_dropped);
        page.family(
            "magi_limits_in_flight",
            Kind::Gauge,
            "Requests between arrival and their usage record.",
        );
        page.sample(&[], live.in_flight);
        page.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_live_gauges() {
        let metrics = Metrics::default();
        metrics.finished(Finished {
            model: "gpt\"x",
            status: 200,
            prompt_tokens: 3,
            completion_tokens: 4,
            cost_usd: 0.5,
            seconds: 0.02,
        });
        metrics.finished(Finished {
            model: "",
            status: 200,
            prompt_tokens: 0,
            completion_tokens: 0,
            cost_usd: 0.0,
            seconds: 0.001,
        });
        metrics.refused("quota");
        let text = metrics.render(&Live {
            queue_depths: vec![("gpt".into(), 2)],
            breakers: vec![("gpt".into(), 2)],
            usage_dropped: 0,
            in_flight: 1,
        });
        for line in [
            "magi_limits_requests_total{model=\"gpt\\\"x\",status=\"200\"} 1",
            "magi_limits_tokens_total{model=\"gpt\\\"x\",kind=\"completion\"} 4",
            "magi_limits_request_duration_seconds_bucket{model=\"gpt\\\"x\",le=\"0.01\"} 0",
            "magi_limits_request_duration_seconds_bucket{model=\"gpt\\\"x\",le=\"0.025\"} 1",
            "magi_limits_refused_total{reason=\"quota\"} 1",
            "magi_limits_queue_depth{model=\"gpt\"} 2",
            "magi_limits_breaker_state{model=\"gpt\"} 2",
            "magi_limits_in_flight 1",
            "magi_limits_requests_total{model=\"\",status=\"200\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        // A request that named no model is counted, but has no tokens, cost or latency of a model.
        assert_eq!(text.matches("model=\"\"").count(), 1, "{text}");
    }
}

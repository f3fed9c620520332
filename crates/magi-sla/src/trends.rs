//! Is a model's or a service's trailing week significantly worse than the week before? For each model through
//! the gateway: the error rate, the p95 of whole answers and the p95 of time to the first token; for each
//! service: the p95 of its probe latency (from magi-health's samples; older than the raw tier, each rollup
//! bucket counts as its mean, as many times as it has samples). This week against last.
//!
//! "Significantly" is two tests, both written down so a person can redo them:
//!
//! - **Error rate**: a one-sided two-proportion z-test, z = (p₂ − p₁) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)) with the
//!   pooled p̄; worse when z ≥ 3 (a one-in-740 chance under no change), this week's rate is at least 1.2×
//!   last week's, and at least 5 requests failed this week.
//! - **A p95**: under no change, 5 % of this week's answers would be slower than last week's p95. The count
//!   above it (at the histogram bucket bound at or above it) against n × 5 % is a one-sided binomial test by
//!   its normal approximation, z = (k − 0.05n) / √(0.05 × 0.95 × n); worse when z ≥ 3 and this week's p95 is
//!   at least 1.2× last week's.
//!
//! Each needs at least 100 requests in each week; with fewer nothing is said.

use jiff::Timestamp;
use magi_core::{Event, Severity};
use magi_tsdb::histogram::quantile;
use magi_tsdb::tier::DAY_MS;
use magi_tsdb::{Reader, Selector, TsdbError};
use serde::Serialize;

const WEEK_MS: i64 = 7 * DAY_MS;
/// The least requests a week for a comparison.
pub const MIN_REQUESTS: f64 = 100.0;
const Z: f64 = 3.0;
const RATIO: f64 = 1.2;

/// One figure of one model (or service), this week against the week before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The model, or for `p95 probe latency` the service.
    pub model: String,
    /// `error rate`, `p95 latency`, `p95 ttft` or `p95 probe latency`.
    pub figure: &'static str,
    pub last_week: f64,
    pub this_week: f64,
    /// The test's z; `None` with too few requests to test.
    pub z: Option<f64>,
    pub worse: bool,
}

/// The error-rate test: (failed, requests) last week and this week.
pub fn error_rate_worse(last: (f64, f64), this: (f64, f64)) -> (Option<f64>, bool) {
    let ((e1, n1), (e2, n2)) = (last, this);
    if n1 < MIN_REQUESTS || n2 < MIN_REQUESTS {
        return (None, false);
    }
    let (p1, p2) = (e1 / n1, e2 / n2);
    let pooled = (e1 + e2) / (n1 + n2);
    let spread = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if spread <= 0.0 {
        return (Some(0.0), false);
    }
    let z = (p2 - p1) / spread;
    (Some(z), z >= Z && p2 >= RATIO * p1 && e2 >= 5.0)
}

/// The p95 test on cumulative bucket counts of last week and this week: the two p95s, z, and the verdict.
pub fn p95_worse(
    last: &[(f64, f64)],
    this: &[(f64, f64)],
) -> Option<(f64, f64, Option<f64>, bool)> {
    let before = quantile(0.95, last)?;
    let now = quantile(0.95, this)?;
    let n1 = last.last()?.1;
    let n2 = this.last()?.1;
    if n1 < MIN_REQUESTS || n2 < MIN_REQUESTS {
        return Some((before, now, None, false));
    }
    // The first bound at or above last week's p95: how many of this week's answers were slower than it.
    let (_, at_or_below) = this.iter().find(|(bound, _)| *bound >= before)?;
    let above = n2 - at_or_below;
    let z = (above - 0.05 * n2) / (0.05 * 0.95 * n2).sqrt();
    Some((before, now, Some(z), z >= Z && now >= RATIO * before))
}

/// The p95 test on two weeks of samples `(value, how many)`, turned into cumulative counts at each distinct
/// value (every value its own bucket bound, so the test is exact on samples).
pub fn samples_worse(
    last: &[(f64, u64)],
    this: &[(f64, u64)],
) -> Option<(f64, f64, Option<f64>, bool)> {
    let cumulative = |samples: &[(f64, u64)], bounds: &[f64]| -> Vec<(f64, f64)> {
        bounds
            .iter()
            .map(|&b| {
                let at_or_below: u64 = samples.iter().filter(|s| s.0 <= b).map(|s| s.1).sum();
                (b, at_or_below as f64)
            })
            .collect()
    };
    let mut bounds: Vec<f64> = last.iter().chain(this).map(|s| s.0).collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    p95_worse(&cumulative(last, &bounds), &cumulative(this, &bounds))
}

/// Every service's probe-latency comparison at `now_ms`.
pub fn compare_services(
    reader: &Reader,
    services: &[String],
    now_ms: i64,
) -> Result<Vec<Comparison>, TsdbError> {
    let (this_from, last_from) = (now_ms - WEEK_MS, now_ms - 2 * WEEK_MS);
    let mut out = Vec::new();
    for service in services {
        let selector = Selector::name("probe_latency_seconds").with("service", service);
        let last = reader.samples(&selector, last_from, this_from, now_ms)?;
        let this = reader.samples(&selector, this_from, now_ms, now_ms)?;
        if let Some((before, now, z, worse)) = samples_worse(&last, &this) {
            out.push(Comparison {
                model: service.clone(),
                figure: "p95 probe latency",
                last_week: before,
                this_week: now,
                z,
                worse,
            });
        }
    }
    Ok(out)
}

/// Every model's comparisons at `now_ms`.
pub fn compare(reader: &Reader, now_ms: i64) -> Result<Vec<Comparison>, TsdbError> {
    let (this_from, last_from) = (now_ms - WEEK_MS, now_ms - 2 * WEEK_MS);
    let totals = |name: &str, from: i64, to: i64| {
        reader.totals(&Selector::name(name), "model", from, to, now_ms)
    };
    let requests = (
        totals("llm_requests", last_from, this_from)?,
        totals("llm_requests", this_from, now_ms)?,
    );
    let errors = (
        totals("llm_errors", last_from, this_from)?,
        totals("llm_errors", this_from, now_ms)?,
    );
    let mut out = Vec::new();
    for model in requests.1.keys().filter(|m| requests.0.contains_key(*m)) {
        let get =
            |m: &std::collections::BTreeMap<String, f64>| m.get(model).copied().unwrap_or(0.0);
        let last = (get(&errors.0), get(&requests.0));
        let this = (get(&errors.1), get(&requests.1));
        let (z, worse) = error_rate_worse(last, this);
        out.push(Comparison {
            model: model.clone(),
            figure: "error rate",
            last_week: if last.1 > 0.0 {
                100.0 * last.0 / last.1
            } else {
                0.0
            },
            this_week: if this.1 > 0.0 {
                100.0 * this.0 / this.1
            } else {
                0.0
            },
            z,
            worse,
        });
        for (figure, metric) in [
            ("p95 latency", "llm_latency_seconds"),
            ("p95 ttft", "llm_first_byte_seconds"),
        ] {
            let selector = Selector::name(metric).with("model", model);
            let last = reader.cumulative(&selector, last_from, this_from, now_ms)?;
            let this = reader.cumulative(&selector, this_from, now_ms, now_ms)?;
            if let Some((before, now, z, worse)) = p95_worse(&last, &this) {
                out.push(Comparison {
                    model: model.clone(),
                    figure,
                    last_week: before,
                    this_week: now,
                    z,
                    worse,
                });
            }
        }
    }
    Ok(out)
}

/// The `sla.trend` event of one model: a warning naming what got worse, or ok.
pub fn event(model: &str, comparisons: &[&Comparison], at: Timestamp) -> Event {
    let worse: Vec<String> = comparisons
        .iter()
        .filter(|c| c.worse)
        .map(|c| match c.figure {
            "error rate" => format!(
                "error rate {:.2} % against {:.2} %",
                c.this_week, c.last_week
            ),
            figure => format!("{figure} {:.2} s against {:.2} s", c.this_week, c.last_week),
        })
        .collect();
    let (severity, message) = if worse.is_empty() {
        (
            Severity::Ok,
            format!("{model}: this week is no worse than the week before"),
        )
    } else {
        (
            Severity::Warning,
            format!(
                "{model}: this week is significantly worse than the week before: {}",
                worse.join("; ")
            ),
        )
    };
    let mut event = Event::new("magi-sla", "sla.trend", model, severity, message);
    event.ts = at;
    for c in comparisons {
        let key = c.figure.replace(' ', "_");
        event = event
            .with(&format!("{key}_last_week"), c.last_week)
            .with(&format!("{key}_this_week"), c.this_week);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_rate_that_tripled_on_enough_requests_is_worse_and_noise_is_not() {
        // 1 % of 10,000 then 3 % of 10,000: z ≈ 10.
        let (z, worse) = error_rate_worse((100.0, 10_000.0), (300.0, 10_000.0));
        assert!(z.unwrap() > 9.0 && worse);
        // 1.0 % then 1.1 %: within chance.
        assert!(!error_rate_worse((100.0, 10_000.0), (110.0, 10_000.0)).1);
        // Too few requests to say.
        assert_eq!(error_rate_worse((1.0, 50.0), (10.0, 50.0)), (None, false));
    }

    #[test]
    fn a_services_probe_latency_that_doubled_for_many_samples_is_worse() {
        // Last week 10,000 samples at 20 ms and 300 at 200 ms; this week a third of them at 200 ms.
        let last = [(0.02, 10_000), (0.2, 300)];
        let this = [(0.02, 6_000), (0.2, 3_000)];
        let (before, now, z, worse) = samples_worse(&last, &this).unwrap();
        assert!(
            now > before && z.unwrap() > 3.0 && worse,
            "{before} {now} {z:?}"
        );
        assert!(!samples_worse(&last, &last).unwrap().3);
    }

    #[test]
    fn a_p95_that_moved_up_a_bucket_for_many_answers_is_worse() {
        // Last week: 1,000 answers, 96 % at or below 1 s, all at or below 2.5 s. This week: 30 % above 1 s.
        let last = [
            (0.5, 500.0),
            (1.0, 960.0),
            (2.5, 1000.0),
            (f64::INFINITY, 1000.0),
        ];
        let this = [
            (0.5, 300.0),
            (1.0, 700.0),
            (2.5, 1000.0),
            (f64::INFINITY, 1000.0),
        ];
        let (before, now, z, worse) = p95_worse(&last, &this).unwrap();
        assert!(now > before, "{before} {now}");
        assert!(z.unwrap() > 3.0 && worse);
        let (_, _, _, same) = p95_worse(&last, &last).unwrap();
        assert!(!same);
    }
}

//! What the pages show, read from the metrics store: the tiles (each service's latest condition and
//! figures as magi-health watch wrote them), the charts of a range, and the models' requests, errors,
//! latency percentiles, tokens and cost. Every read goes through [`magi_tsdb::Reader`], which never blocks
//! the writers; nothing here polls Docker or the gateway (one poller of each, as the design says).

use std::collections::BTreeMap;

use magi_check::Condition;
use magi_tsdb::store::Annotation;
use magi_tsdb::tier::DAY_MS;
use magi_tsdb::{Answer, Bucket, Reader, Selector, Tiers, TsdbError};
use magi_usage::clock;

use crate::chart::{Chart, Line, Unit};
use crate::view::View;

/// Points per series in a chart of one series, and in a chart of several (the page stays light).
pub const POINTS_SINGLE: usize = 360;
pub const POINTS_MANY: usize = 120;
/// A tile whose last check is older than this says so instead of showing a stale colour.
pub const STALE_MS: i64 = 30_000;

/// One service's tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub service: String,
    /// The latest condition magi-health recorded, if any within [`STALE_MS`] of the view's end.
    pub condition: Option<Condition>,
    /// When the latest condition was recorded, fresh or not.
    pub seen_ms: Option<i64>,
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    pub data: Option<f64>,
    pub latency: Option<f64>,
}

/// One model's figures over a range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelRow {
    pub model: String,
    pub requests: f64,
    pub errors: f64,
    pub prompt_tokens: f64,
    pub completion_tokens: f64,
    pub cost: f64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    /// The p95 of the time to the upstream answer's first byte.
    pub first_byte_p95: Option<f64>,
}

/// One user's figures over a range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserRow {
    pub user: String,
    pub requests: f64,
    pub tokens: f64,
    pub cost: f64,
}

/// The month so far and where it is heading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Month {
    pub spent: f64,
    /// The month's cost at the pace so far.
    pub forecast: f64,
}

/// The store as the pages read it, with the catalog's services in their order.
pub struct Store {
    reader: Reader,
    services: Vec<String>,
}

impl Store {
    pub fn new(dir: &std::path::Path, services: Vec<String>) -> Store {
        Store {
            reader: Reader::new(dir, Tiers::default()),
            services,
        }
    }

    /// The catalog's services, then any other the store has figures of.
    fn services_with(&self, answers: &[Answer]) -> Vec<String> {
        let mut out = self.services.clone();
        for a in answers {
            if let Some(s) = a.key.label("service")
                && !out.iter().any(|known| known == s)
            {
                out.push(s.to_owned());
            }
        }
        out
    }

    /// The latest value of each service's `metric` in the two minutes before `at_ms`, with its time.
    fn latest(&self, metric: &str, at_ms: i64) -> Result<BTreeMap<String, (i64, f64)>, TsdbError> {
        let answers = self.reader.query(
            &Selector::name(metric),
            at_ms - 120_000,
            at_ms + 1,
            1_000,
            at_ms,
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|a| {
                let service = a.key.label("service")?.to_owned();
                let last = a.buckets.last()?;
                Some((service, (last.start_ms, last.last)))
            })
            .collect())
    }

    /// A tile per service, as of `at_ms`.
    pub fn tiles(&self, at_ms: i64) -> Result<Vec<Tile>, TsdbError> {
        let conditions = self.reader.query(
            &Selector::name("service_condition"),
            at_ms - 120_000,
            at_ms + 1,
            1_000,
            at_ms,
        )?;
        let cpu = self.latest("container_cpu_percent", at_ms)?;
        let memory = self.latest("container_memory_bytes", at_ms)?;
        let data = self.latest("data_bytes", at_ms)?;
        let latency = self.latest("probe_latency_seconds", at_ms)?;
        // watch writes a round's figures at one time: a figure older than the latest condition is from
        // before it (a stopped container's last CPU), so the tile does not show it.
        let value = |m: &BTreeMap<String, (i64, f64)>, s: &str, seen: Option<i64>| {
            m.get(s)
                .filter(|(t, _)| seen.is_none_or(|seen| *t >= seen))
                .map(|(_, v)| *v)
        };
        Ok(self
            .services_with(&conditions)
            .into_iter()
            .map(|service| {
                // The newest raw point: its time is the bucket's start (raw buckets hold one point each).
                let last = conditions
                    .iter()
                    .find(|a| a.key.label("service") == Some(service.as_str()))
                    .and_then(|a| a.buckets.last());
                let seen_ms = last.map(|b| b.start_ms);
                let condition = last
                    .filter(|b| at_ms - b.start_ms <= STALE_MS)
                    .and_then(|b| Condition::from_code(b.last));
                Tile {
                    cpu: value(&cpu, &service, seen_ms),
                    memory: value(&memory, &service, seen_ms),
                    data: value(&data, &service, seen_ms),
                    latency: value(&latency, &service, seen_ms),
                    condition,
                    seen_ms,
                    service,
                }
            })
            .collect())
    }

    /// Every series of `metric` over the view, one line per service (or per `label`), at most `points`.
    fn lines(
        &self,
        selector: &Selector,
        label: &str,
        view: &View,
        points: usize,
        now_ms: i64,
    ) -> Result<Vec<Line>, TsdbError> {
        let answers = self
            .reader
            .query(selector, view.from_ms, view.to_ms, points, now_ms)?;
        Ok(answers
            .into_iter()
            .filter(|a| !a.buckets.is_empty())
            .map(|a| Line {
                label: a.key.label(label).unwrap_or(&a.key.name).to_owned(),
                buckets: a.buckets,
                step_ms: a.step_ms,
            })
            .collect())
    }

    /// A chart of `metric` for every service.
    pub fn fleet_chart<'a>(
        &self,
        metric: &str,
        title: &str,
        unit: Unit,
        view: &View,
        marks: &'a [Annotation],
        now_ms: i64,
    ) -> Result<Chart<'a>, TsdbError> {
        let mut lines = self.lines(
            &Selector::name(metric),
            "service",
            view,
            POINTS_MANY,
            now_ms,
        )?;
        let order = self.services_with(&[]);
        lines.sort_by_key(|l| {
            order
                .iter()
                .position(|s| *s == l.label)
                .unwrap_or(usize::MAX)
        });
        Ok(Chart {
            title: format!("{title}, each point the highest of its interval"),
            unit,
            lines,
            marks,
            from_ms: view.from_ms,
            to_ms: view.to_ms,
            level: None,
        })
    }

    /// A chart of one service's `metric`, with `level_metric` (a limit) drawn across it.
    #[allow(clippy::too_many_arguments)]
    pub fn service_chart<'a>(
        &self,
        service: &str,
        metric: &str,
        title: &str,
        unit: Unit,
        level_metric: Option<&str>,
        view: &View,
        marks: &'a [Annotation],
        now_ms: i64,
    ) -> Result<Chart<'a>, TsdbError> {
        let selector = Selector::name(metric).with("service", service);
        let lines = self.lines(&selector, "service", view, POINTS_SINGLE, now_ms)?;
        let level = match level_metric {
            Some(m) => self
                .latest(m, view.to_ms)?
                .remove(service)
                .filter(|(_, v)| *v > 0.0)
                .map(|(_, v)| (v, format!("limit {}", unit.show(v)))),
            None => None,
        };
        Ok(Chart {
            title: format!("{service}: {title}"),
            unit,
            lines,
            marks,
            from_ms: view.from_ms,
            to_ms: view.to_ms,
            level,
        })
    }

    /// A chart of one service's two directions of traffic (`(metric, label)` each): received and sent,
    /// read and written.
    pub fn service_traffic_chart<'a>(
        &self,
        service: &str,
        directions: [(&str, &str); 2],
        title: &str,
        view: &View,
        marks: &'a [Annotation],
        now_ms: i64,
    ) -> Result<Chart<'a>, TsdbError> {
        let mut lines = Vec::new();
        for (metric, label) in directions {
            let selector = Selector::name(metric).with("service", service);
            for mut line in self.lines(&selector, "service", view, POINTS_SINGLE, now_ms)? {
                line.label = label.to_owned();
                lines.push(line);
            }
        }
        Ok(Chart {
            title: format!("{service}: {title}"),
            unit: Unit::BytesPerSecond,
            lines,
            marks,
            from_ms: view.from_ms,
            to_ms: view.to_ms,
            level: None,
        })
    }

    /// The annotations over the view, of one service or all.
    pub fn marks(&self, view: &View, service: Option<&str>) -> Result<Vec<Annotation>, TsdbError> {
        let mut marks = self.reader.annotations(view.from_ms, view.to_ms)?;
        if let Some(service) = service {
            marks.retain(|m| m.service.as_deref() == Some(service));
        }
        Ok(marks)
    }

    /// Every delta series of `metric` summed over the view, by `label`.
    fn totals(
        &self,
        metric: &str,
        label: &str,
        view: &View,
        now_ms: i64,
    ) -> Result<BTreeMap<String, f64>, TsdbError> {
        self.reader.totals(
            &Selector::name(metric),
            label,
            view.from_ms,
            view.to_ms,
            now_ms,
        )
    }

    /// Each model's figures over the view, busiest first.
    pub fn models(&self, view: &View, now_ms: i64) -> Result<Vec<ModelRow>, TsdbError> {
        let requests = self.totals("llm_requests", "model", view, now_ms)?;
        let errors = self.totals("llm_errors", "model", view, now_ms)?;
        let prompt = self.totals("llm_prompt_tokens", "model", view, now_ms)?;
        let completion = self.totals("llm_completion_tokens", "model", view, now_ms)?;
        let cost = self.totals("llm_cost_usd", "model", view, now_ms)?;
        let mut rows = Vec::new();
        for (model, requests) in &requests {
            let q_of = |metric: &str, q: f64| -> Result<Option<f64>, TsdbError> {
                let selector = Selector::name(metric).with("model", model);
                Ok(self
                    .reader
                    .quantile(&selector, q, view.from_ms, view.to_ms, 1, now_ms)?
                    .overall)
            };
            let q = |q: f64| q_of("llm_latency_seconds", q);
            let get = |m: &BTreeMap<String, f64>| m.get(model).copied().unwrap_or(0.0);
            rows.push(ModelRow {
                model: model.clone(),
                requests: *requests,
                errors: get(&errors),
                prompt_tokens: get(&prompt),
                completion_tokens: get(&completion),
                cost: get(&cost),
                p50: q(0.5)?,
                p95: q(0.95)?,
                p99: q(0.99)?,
                first_byte_p95: q_of("llm_first_byte_seconds", 0.95)?,
            });
        }
        rows.sort_by(|a, b| {
            b.requests
                .total_cmp(&a.requests)
                .then(a.model.cmp(&b.model))
        });
        Ok(rows)
    }

    /// Each user's figures over the view, costliest first.
    pub fn users(&self, view: &View, now_ms: i64) -> Result<Vec<UserRow>, TsdbError> {
        let requests = self.totals("llm_requests", "user", view, now_ms)?;
        let prompt = self.totals("llm_prompt_tokens", "user", view, now_ms)?;
        let completion = self.totals("llm_completion_tokens", "user", view, now_ms)?;
        let cost = self.totals("llm_cost_usd", "user", view, now_ms)?;
        let get = |m: &BTreeMap<String, f64>, u: &str| m.get(u).copied().unwrap_or(0.0);
        let mut rows: Vec<UserRow> = requests
            .iter()
            .map(|(user, requests)| UserRow {
                user: user.clone(),
                requests: *requests,
                tokens: get(&prompt, user) + get(&completion, user),
                cost: get(&cost, user),
            })
            .collect();
        rows.sort_by(|a, b| b.cost.total_cmp(&a.cost).then(a.user.cmp(&b.user)));
        Ok(rows)
    }

    /// Requests per minute of each model over the view.
    pub fn request_rates(&self, view: &View, now_ms: i64) -> Result<Vec<Line>, TsdbError> {
        let lines = self.by_model("llm_requests", view, POINTS_MANY, now_ms)?;
        Ok(lines
            .into_iter()
            .map(|mut l| {
                let per_minute = 60_000.0 / l.step_ms.max(1) as f64;
                for b in &mut l.buckets {
                    *b = Bucket::point(b.start_ms, b.sum * per_minute);
                }
                l
            })
            .collect())
    }

    /// `metric` (a delta) summed across users per model, per chart step.
    fn by_model(
        &self,
        metric: &str,
        view: &View,
        points: usize,
        now_ms: i64,
    ) -> Result<Vec<Line>, TsdbError> {
        let answers = self.reader.query(
            &Selector::name(metric),
            view.from_ms,
            view.to_ms,
            points,
            now_ms,
        )?;
        let mut merged: BTreeMap<String, (i64, BTreeMap<i64, Bucket>)> = BTreeMap::new();
        for a in answers {
            let model = a.key.label("model").unwrap_or("").to_owned();
            let entry = merged.entry(model).or_insert((a.step_ms, BTreeMap::new()));
            for b in a.buckets {
                entry
                    .1
                    .entry(b.start_ms)
                    .and_modify(|m| *m = m.merge(b))
                    .or_insert(b);
            }
        }
        Ok(merged
            .into_iter()
            .map(|(label, (step_ms, buckets))| Line {
                label,
                step_ms,
                buckets: buckets.into_values().collect(),
            })
            .collect())
    }

    /// Cost per UTC day of each model over the view.
    pub fn daily_cost(&self, view: &View, now_ms: i64) -> Result<Vec<Line>, TsdbError> {
        let days = ((view.to_ms - view.from_ms) / DAY_MS).max(1) as usize;
        let lines = self.by_model("llm_cost_usd", view, days, now_ms)?;
        Ok(lines
            .into_iter()
            .map(|l| {
                let buckets = magi_tsdb::bucket::coarsen(&l.buckets, DAY_MS)
                    .into_iter()
                    .map(|b| Bucket::point(b.start_ms, b.sum))
                    .collect();
                Line {
                    label: l.label,
                    buckets,
                    step_ms: DAY_MS,
                }
            })
            .collect())
    }

    /// The p95 latency of each model per chart step.
    pub fn p95_lines(
        &self,
        models: &[ModelRow],
        view: &View,
        now_ms: i64,
    ) -> Result<Vec<Line>, TsdbError> {
        let mut lines = Vec::new();
        for row in models {
            let selector = Selector::name("llm_latency_seconds").with("model", &row.model);
            let q = self.reader.quantile(
                &selector,
                0.95,
                view.from_ms,
                view.to_ms,
                POINTS_MANY,
                now_ms,
            )?;
            let buckets: Vec<Bucket> = q
                .points
                .iter()
                .filter_map(|(t, v)| v.filter(|v| v.is_finite()).map(|v| Bucket::point(*t, v)))
                .collect();
            if !buckets.is_empty() {
                lines.push(Line {
                    label: row.model.clone(),
                    buckets,
                    step_ms: q.step_ms,
                });
            }
        }
        Ok(lines)
    }

    /// This UTC month's cost so far at `now_ms`, and the month's at that pace.
    pub fn month(&self, now_ms: i64) -> Result<Month, TsdbError> {
        let now = jiff::Timestamp::from_millisecond(now_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let start_ms = clock::month_start(now).as_millisecond();
        let view = View {
            range: "30d",
            pinned: true,
            from_ms: start_ms,
            to_ms: now_ms + 1,
        };
        let spent: f64 = self
            .totals("llm_cost_usd", "model", &view, now_ms)?
            .values()
            .sum();
        Ok(Month {
            spent,
            forecast: clock::month_pace(spent, now),
        })
    }

    /// The newest change any writer made, as a number that grows: the shards' files' latest mtime, in
    /// nanoseconds. Cheap enough to ask every second for every open tab together.
    pub fn version(dir: &std::path::Path) -> u128 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.ends_with(".db") || name.ends_with(".db-wal")
            })
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .max()
            .unwrap_or(0)
    }
}

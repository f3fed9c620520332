//! The HTTP face of magi-health: `/healthz` (`application/health+json`, 200 for pass and warn, 503 for fail),
//! `/status` (a self-contained HTML page) and `/metrics` (Prometheus text).
//!
//! [`serve`] takes an already-bound listener and a shutdown future, so the binary binds `--listen` and tests
//! bind port 0. What it shows comes from a [`Source`]: the latest round of `watch`, or, for `serve` on its own,
//! a check run on demand and reused for a few seconds so that a scraper cannot make it check in a loop.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use magi_check::{Checker, Report, StackStatus};
use serde_json::json;
use tokio::net::TcpListener;

use crate::history::{Entry, History};
use crate::{metrics, page};

/// What the server shows: a report, the recent changes, and how often watch restarted each service.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub report: Arc<Report>,
    /// Newest first.
    pub recent: Vec<Entry>,
    /// Restarts made by `watch --restart-unhealthy` since it started, by service.
    pub healed: HashMap<String, u64>,
}

/// Where snapshots come from.
pub enum Source {
    /// The rounds of a running `watch`.
    Watch(tokio::sync::watch::Receiver<Option<Arc<Snapshot>>>),
    /// A check on demand, reused for `max_age`; recent changes from the history file if there is one.
    OnDemand {
        checker: Box<Checker>,
        max_age: Duration,
        history: Option<PathBuf>,
        cache: tokio::sync::Mutex<Option<(Instant, Arc<Snapshot>)>>,
    },
}

impl Source {
    pub fn on_demand(checker: Checker, max_age: Duration, history: Option<PathBuf>) -> Source {
        Source::OnDemand {
            checker: Box::new(checker),
            max_age,
            history,
            cache: tokio::sync::Mutex::new(None),
        }
    }

    /// The latest snapshot, or `None` before the first check has completed.
    pub async fn snapshot(&self) -> Option<Arc<Snapshot>> {
        match self {
            Source::Watch(rx) => rx.borrow().clone(),
            Source::OnDemand {
                checker,
                max_age,
                history,
                cache,
            } => {
                let mut cache = cache.lock().await;
                if let Some((at, snapshot)) = cache.as_ref()
                    && at.elapsed() < *max_age
                {
                    return Some(snapshot.clone());
                }
                let report = checker.check(None).await;
                let recent = history
                    .as_ref()
                    .filter(|p| p.exists())
                    .and_then(|p| History::open(p).ok())
                    .and_then(|h| {
                        let since = report
                            .at
                            .checked_sub(jiff::SignedDuration::from_hours(24))
                            .ok()?;
                        h.entries(since, None).ok()
                    })
                    .map(|mut entries| {
                        entries.reverse();
                        entries.truncate(20);
                        entries
                    })
                    .unwrap_or_default();
                let snapshot = Arc::new(Snapshot {
                    report: Arc::new(report),
                    recent,
                    healed: HashMap::new(),
                });
                *cache = Some((Instant::now(), snapshot.clone()));
                Some(snapshot)
            }
        }
    }
}

/// Serves until `shutdown` completes, within the bounds every MAGI daemon has (a 10 s header timeout, a
/// connection cap from the open-file limit, 10 s to finish on a stop): the routes read no request body.
pub async fn serve(
    listener: TcpListener,
    source: Arc<Source>,
    refresh: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/status") }),
        )
        .route("/healthz", get(healthz))
        .route("/status", get(status))
        .route("/metrics", get(metrics_text))
        .with_state(Shared { source, refresh });
    magi_serve::serve(
        listener,
        magi_serve::Bounds::defaults(),
        move |_peer| {
            let app = app.clone();
            hyper::service::service_fn(move |request| {
                use tower_service::Service as _;
                app.clone().call(request)
            })
        },
        shutdown,
    )
    .await;
}

#[derive(Clone)]
struct Shared {
    source: Arc<Source>,
    refresh: Duration,
}

fn not_yet() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::RETRY_AFTER, "5"),
        ],
        "no check has completed yet\n",
    )
        .into_response()
}

async fn healthz(State(shared): State<Shared>) -> Response {
    let Some(snapshot) = shared.source.snapshot().await else {
        let body = json!({"status": "fail", "output": "no check has completed yet"});
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/health+json")],
            body.to_string(),
        )
            .into_response();
    };
    let (code, body) = health_json(&snapshot.report);
    (
        code,
        [
            (header::CONTENT_TYPE, "application/health+json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The health document (draft-inadarei-api-health-check): pass, warn or fail, with one check per service.
pub fn health_json(report: &Report) -> (StatusCode, serde_json::Value) {
    let status = |s: StackStatus| match s {
        StackStatus::Ok => "pass",
        StackStatus::Degraded => "warn",
        StackStatus::Down => "fail",
    };
    let severity = |s: magi_core::Severity| match s {
        magi_core::Severity::Ok | magi_core::Severity::Info => "pass",
        magi_core::Severity::Warning => "warn",
        magi_core::Severity::Critical => "fail",
    };
    let mut checks = serde_json::Map::new();
    for s in &report.services {
        let mut check = json!({
            "componentId": s.service.container,
            "componentType": "container",
            "status": severity(s.verdict.severity),
            "time": report.at.to_string(),
            "output": s.verdict.because(),
            "condition": s.verdict.condition.name(),
        });
        if let Some(latency) = s.observation.probe.as_ref().and_then(|p| p.latency()) {
            check["observedValue"] = json!(latency.as_secs_f64() * 1000.0);
            check["observedUnit"] = json!("ms");
        }
        checks.insert(format!("{}:responseTime", s.service.name), json!([check]));
    }
    let code = match report.stack.status {
        StackStatus::Down => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    let mut notes = report.stack.impacts.clone();
    notes.extend(report.stack.problems.iter().cloned());
    (
        code,
        json!({
            "status": status(report.stack.status),
            "version": "1",
            "releaseId": env!("CARGO_PKG_VERSION"),
            "serviceId": "magi",
            "description": "the MAGI stack",
            "output": report.stack.summary(),
            "notes": notes,
            "checks": checks,
        }),
    )
}

async fn status(State(shared): State<Shared>) -> Response {
    match shared.source.snapshot().await {
        Some(snapshot) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            page::render(&snapshot, shared.refresh),
        )
            .into_response(),
        None => not_yet(),
    }
}

async fn metrics_text(State(shared): State<Shared>) -> Response {
    match shared.source.snapshot().await {
        Some(snapshot) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            metrics::render(&snapshot),
        )
            .into_response(),
        None => not_yet(),
    }
}

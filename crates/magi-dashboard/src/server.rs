//! The dashboard's HTTP face: `/` (the services), `/service/NAME`, `/models`, `/alerts` (and `POST
//! /alerts/ID/ack`), `/sla` (magi-sla's report), `/live` (server-sent events saying the store changed),
//! `/assets/*` (embedded in the binary) and `/healthz`.
//!
//! The one request that changes anything, acknowledging an alert, is refused unless it comes from a page of
//! the dashboard itself: a browser says where a form was sent from (`Sec-Fetch-Site`, `Origin`), so a
//! page elsewhere cannot make a visitor's browser acknowledge alerts (cross-site request forgery).
//!
//! Pages are read from the store on the blocking pool, so a slow disk never stalls the accept loop. `/live`
//! streams are bounded (`max_live`; one more gets 503 and the script retries later) and fed by one poller
//! that looks at the store once a second for every tab together; they end when the server stops, so a stop
//! never waits on an open tab. Every answer carries a strict Content-Security-Policy: the page loads
//! nothing but its own stylesheet and script.

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use magi_tsdb::TsdbError;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::alerts::AlertTool;
use crate::chart::{Chart, Unit};
use crate::data::Store;
use crate::page;
use crate::tool::Tool;
use crate::view::View;

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/live.js");
/// How often the poller looks at the store's files.
const POLL: Duration = Duration::from_secs(1);
/// A comment on every open stream this often: a tab that went away is noticed and its slot freed.
const KEEPALIVE: Duration = Duration::from_secs(15);
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The SLA report's own policy: its one inline stylesheet and nothing else (it is magi-sla's self-contained
/// page, served as it prints it).
const SLA_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
frame-ancestors 'none'";
/// The alerts page shows this many, the newest.
const ALERTS_SHOWN: u32 = 50;

/// What the server needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The metrics store directory.
    pub dir: PathBuf,
    /// The gateway's usage database, read for the budgets (when it exists; never created here).
    pub usage_db: PathBuf,
    /// The catalog's services, in the order their tiles appear.
    pub services: Vec<String>,
    /// Open `/live` streams at once.
    pub max_live: usize,
    /// magi-alert, asked for the alerts page and its acknowledgements.
    pub alerts: AlertTool,
    /// magi-sla, asked for the service-level report.
    pub sla: Tool,
}

#[derive(Clone)]
struct Shared {
    store: Arc<Store>,
    alerts: Arc<AlertTool>,
    sla: Arc<Tool>,
    usage_db: Arc<PathBuf>,
    changes: watch::Receiver<u128>,
    stopping: watch::Receiver<bool>,
    live: Arc<Semaphore>,
}

/// Serves until `shutdown` completes, within the bounds every MAGI daemon has.
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (changed, changes) = watch::channel(Store::version(&settings.dir));
    let (stop, stopping) = watch::channel(false);
    let dir = settings.dir.clone();
    let poller = tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let version = Store::version(&dir);
            changed.send_if_modified(|v| std::mem::replace(v, version) != version);
        }
    });
    let shared = Shared {
        store: Arc::new(Store::new(&settings.dir, settings.services)),
        alerts: Arc::new(settings.alerts),
        sla: Arc::new(settings.sla),
        usage_db: Arc::new(settings.usage_db),
        changes,
        stopping,
        live: Arc::new(Semaphore::new(settings.max_live.max(1))),
    };
    let app = Router::new()
        .route("/", get(overview))
        .route("/service/{name}", get(service))
        .route("/models", get(models))
        .route("/alerts", get(alerts))
        .route("/alerts/{id}/ack", post(acknowledge))
        .route("/sla", get(sla))
        .route("/live", get(live))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/assets/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/assets/live.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .fallback(|| async {
            html(
                StatusCode::NOT_FOUND,
                page::problem("Not found", "There is no such page on the dashboard."),
            )
        })
        .with_state(shared);
    let shutdown = async move {
        shutdown.await;
        stop.send(true).ok();
    };
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
    poller.abort();
}

fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn html(status: StatusCode, body: String) -> Response {
    secured(
        (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    secured(
        (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "max-age=300"),
            ],
            body,
        )
            .into_response(),
    )
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Renders a page on the blocking pool; a bad URL is a 400 that says what is wrong with it, a store that
/// cannot be read a 500 that says why (and the log has it too).
async fn render(
    uri: &Uri,
    build: impl FnOnce(&View, i64) -> Result<Option<String>, TsdbError> + Send + 'static,
) -> Response {
    let now = now_ms();
    let view = match View::parse(uri.query(), now) {
        Ok(view) => view,
        Err(why) => return html(StatusCode::BAD_REQUEST, page::problem("Not a view", &why)),
    };
    match tokio::task::spawn_blocking(move || build(&view, now)).await {
        Ok(Ok(Some(body))) => html(StatusCode::OK, body),
        Ok(Ok(None)) => html(
            StatusCode::NOT_FOUND,
            page::problem("Not found", "The store has no figures of that service."),
        ),
        Ok(Err(e)) => {
            log::error!("{e}");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                page::problem("The metrics store cannot be read", &e.to_string()),
            )
        }
        Err(e) => {
            log::error!("rendering a page failed: {e}");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                page::problem("The page failed", "See the dashboard's log."),
            )
        }
    }
}

async fn overview(State(shared): State<Shared>, uri: Uri) -> Response {
    let store = shared.store;
    render(&uri, move |view, now| {
        let tiles = store.tiles(view.to_ms.min(now))?;
        let marks = store.marks(view, None)?;
        let charts: Vec<Chart<'_>> = vec![
            store.fleet_chart(
                "container_cpu_percent",
                "CPU",
                Unit::Percent,
                view,
                &marks,
                now,
            )?,
            store.fleet_chart(
                "container_memory_bytes",
                "Memory",
                Unit::Bytes,
                view,
                &marks,
                now,
            )?,
            store.fleet_chart("data_bytes", "Data on disk", Unit::Bytes, view, &marks, now)?,
        ];
        let main = page::overview(&tiles, &charts, &marks, view);
        Ok(Some(page::layout("Services", "/", view, &main)))
    })
    .await
}

async fn service(State(shared): State<Shared>, Path(name): Path<String>, uri: Uri) -> Response {
    let store = shared.store;
    render(&uri, move |view, now| {
        let tiles = store.tiles(view.to_ms.min(now))?;
        let Some(tile) = tiles.iter().find(|t| t.service == name) else {
            return Ok(None);
        };
        let marks = store.marks(view, Some(&name))?;
        let charts = vec![
            store.service_chart(
                &name,
                "container_cpu_percent",
                "CPU",
                Unit::Percent,
                None,
                view,
                &marks,
                now,
            )?,
            store.service_chart(
                &name,
                "container_memory_bytes",
                "memory",
                Unit::Bytes,
                Some("container_memory_limit_bytes"),
                view,
                &marks,
                now,
            )?,
            store.service_chart(
                &name,
                "data_bytes",
                "data on disk",
                Unit::Bytes,
                None,
                view,
                &marks,
                now,
            )?,
            store.service_chart(
                &name,
                "probe_latency_seconds",
                "probe latency",
                Unit::Seconds,
                None,
                view,
                &marks,
                now,
            )?,
            store.service_traffic_chart(
                &name,
                [
                    ("container_network_receive_bytes_per_second", "received"),
                    ("container_network_transmit_bytes_per_second", "sent"),
                ],
                "network",
                view,
                &marks,
                now,
            )?,
            store.service_traffic_chart(
                &name,
                [
                    ("container_block_read_bytes_per_second", "read"),
                    ("container_block_write_bytes_per_second", "written"),
                ],
                "block I/O",
                view,
                &marks,
                now,
            )?,
        ];
        let main = page::service(&name, Some(tile), &charts, &marks, view);
        let here = format!("/service/{name}");
        Ok(Some(page::layout(&name, &here, view, &main)))
    })
    .await
}

async fn alerts(State(shared): State<Shared>, uri: Uri) -> Response {
    let listed = shared.alerts.list(ALERTS_SHOWN).await;
    if let Err(e) = &listed {
        log::warn!("the alerts page: {e}");
    }
    render(&uri, move |view, _now| {
        let main = page::alerts(&listed);
        Ok(Some(page::layout("Alerts", "/alerts", view, &main)))
    })
    .await
}

/// magi-sla's report over the view's range (30 days unless the URL names one), ending now.
async fn sla(State(shared): State<Shared>, uri: Uri) -> Response {
    let query = uri.query().unwrap_or("");
    let since = if query.split('&').any(|p| p.starts_with("range=")) {
        match View::parse(Some(query), now_ms()) {
            Ok(view) => view.range,
            Err(why) => return html(StatusCode::BAD_REQUEST, page::problem("Not a view", &why)),
        }
    } else {
        "30d"
    };
    match shared
        .sla
        .run(&["report", "--since", since, "--html"])
        .await
    {
        Ok(page) => {
            let mut response = html(StatusCode::OK, page);
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(SLA_CSP),
            );
            response
        }
        Err(e) => {
            log::warn!("the SLA page: {e}");
            html(
                StatusCode::BAD_GATEWAY,
                page::problem("The SLA report cannot be shown", &e.to_string()),
            )
        }
    }
}

/// Whether a state-changing request comes from the dashboard's own pages: `Sec-Fetch-Site` (sent by every
/// current browser) must say same-origin, else `Origin` (older browsers) must name the host the request
/// was sent to. A request with neither comes from no browser (curl on this host), which no other site can
/// make a visitor send.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = get("sec-fetch-site") {
        return site == "same-origin";
    }
    match (
        get("origin"),
        get("x-forwarded-host").or_else(|| get("host")),
    ) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

async fn acknowledge(
    State(shared): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    if !same_origin(&headers) {
        return html(
            StatusCode::FORBIDDEN,
            page::problem(
                "Refused",
                "An alert is acknowledged from the dashboard's own alerts page, not from another site.",
            ),
        );
    }
    let user = headers.get("remote-user").and_then(|v| v.to_str().ok());
    match shared.alerts.acknowledge(id, user).await {
        Ok(()) => {
            log::info!(
                "alert #{id} acknowledged on the dashboard{}",
                user.map(|u| format!(" by {}", magi_core::printable::printable(u)))
                    .unwrap_or_default()
            );
            secured(
                (
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, "/alerts"),
                        (header::CACHE_CONTROL, "no-store"),
                    ],
                )
                    .into_response(),
            )
        }
        Err(e) => html(
            StatusCode::CONFLICT,
            page::problem("The alert was not acknowledged", &e.to_string()),
        ),
    }
}

async fn models(State(shared): State<Shared>, uri: Uri) -> Response {
    let store = shared.store;
    let usage_db = shared.usage_db;
    render(&uri, move |view, now| {
        let rows = store.models(view, now)?;
        let users = store.users(view, now)?;
        let month = store.month(now)?;
        let budget = global_budget(&usage_db);
        let chart = |title: &str, unit, lines| Chart {
            title: title.to_owned(),
            unit,
            lines,
            marks: &[],
            from_ms: view.from_ms,
            to_ms: view.to_ms,
            level: None,
        };
        let charts = vec![
            chart(
                "Requests per minute by model",
                Unit::Count,
                store.request_rates(view, now)?,
            ),
            chart(
                "p95 latency by model",
                Unit::Seconds,
                store.p95_lines(&rows, view, now)?,
            ),
            Chart {
                level: budget.as_ref().and_then(|b| b.daily_usd).map(|d| {
                    let shown = Unit::Dollars.show(d);
                    (
                        d,
                        format!("the daily budget, {shown}, for all models together"),
                    )
                }),
                ..chart(
                    "Cost per day by model",
                    Unit::Dollars,
                    store.daily_cost(view, now)?,
                )
            },
        ];
        let monthly = budget.and_then(|b| b.monthly_usd);
        let main = page::models(&rows, &users, &month, monthly, &charts);
        Ok(Some(page::layout(
            "Models and cost",
            "/models",
            view,
            &main,
        )))
    })
    .await
}

/// The budget of all users together, if the gateway's database exists and has one. Read only when the
/// file is there: the dashboard never creates the gateway's database.
fn global_budget(path: &std::path::Path) -> Option<magi_usage::policy::Budget> {
    if !path.is_file() {
        return None;
    }
    match magi_usage::policy::Policy::open(path).and_then(|p| p.budgets()) {
        Ok(budgets) => budgets.into_iter().find(|b| b.user.is_none()),
        Err(e) => {
            log::warn!("the budgets are not shown: {e}");
            None
        }
    }
}

/// Server-sent events: `retry`, then a `changed` event each time the store changes, a comment every
/// [`KEEPALIVE`], and the end when the server stops.
async fn live(State(shared): State<Shared>) -> Response {
    let Ok(permit) = Arc::clone(&shared.live).try_acquire_owned() else {
        return secured(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "10")],
                "too many open live streams; try again later\n",
            )
                .into_response(),
        );
    };
    struct Stream {
        changes: watch::Receiver<u128>,
        stopping: watch::Receiver<bool>,
        started: bool,
        _permit: tokio::sync::OwnedSemaphorePermit,
    }
    let state = Stream {
        changes: shared.changes,
        stopping: shared.stopping,
        started: false,
        _permit: permit,
    };
    let events = futures_util::stream::unfold(state, |mut s| async move {
        if !s.started {
            s.started = true;
            s.changes.mark_unchanged();
            return Some((Ok::<_, Infallible>("retry: 1000\n\n".to_owned()), s));
        }
        if *s.stopping.borrow() {
            return None;
        }
        tokio::select! {
            changed = s.changes.changed() => {
                changed.ok()?;
                let version = *s.changes.borrow_and_update();
                Some((Ok(format!("event: changed\ndata: {version}\n\n")), s))
            }
            _ = s.stopping.changed() => None,
            () = tokio::time::sleep(KEEPALIVE) => Some((Ok(": keepalive\n\n".to_owned()), s)),
        }
    });
    secured(
        (
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            Body::from_stream(events),
        )
            .into_response(),
    )
}

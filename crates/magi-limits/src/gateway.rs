//! The gateway: an HTTP/1 server that passes every request on to LiteLLM and every answer back, streamed as
//! it arrives, after deciding whether the request may go.
//!
//! Per request: `/metrics` is answered here; anything else is read whole (bodies are small JSON; bounded by
//! `max_body`), its identity decided ([`crate::identity::identify`]) and its JSON checked (400 if broken).
//! A request naming a model then passes, in order: the [`Ledger`] (daily quota, budgets → 429 with a human
//! message), the [`Limiter`] (user and model rate limits, the queue → 429 with `retry-after` and
//! `x-ratelimit-*`) and the model's [`Breaker`] (open → 503 at once). It goes upstream with up to `retries`
//! retries (exponential backoff with jitter) while nothing has reached the client yet: connection errors,
//! connect and first-byte timeouts and 500/502/503/504 answers are retried and counted by the breaker. The
//! answer streams back through [`Metered`], which splits server-sent events ([`crate::sse`]) to read
//! `usage` (asking upstream for it with `stream_options.include_usage` when the client did not, and then
//! dropping that extra chunk), copies a JSON answer to read its `usage`, enforces the idle timeout, and when
//! the answer ends or the client goes away records one usage row, charges the ledger and token buckets, and
//! counts the metrics.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use hashbrown::HashMap;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use jiff::Timestamp;
use magi_core::backoff::Backoff;
use magi_core::{Event, Severity};
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};

use crate::breaker::{Admit, Breaker, BreakerSettings, State};
use crate::h1::{self, Head};
use crate::identity::{Identity, KeyRefusal, identify};
use crate::ledger::Ledger;
use crate::limiter::{Limiter, QueueSettings, Refusal};
use crate::metrics::{Finished, Live, Metrics};
use crate::openai::{self, RequestPeek, Usage};
use crate::prices::Prices;
use crate::sse::{self, Splitter};
use crate::upstream::{Lease, Upstream};
use magi_usage::clock;
use magi_usage::keys::KeyHolders;
use magi_usage::policy::{Policy, Snapshot};
use magi_usage::usage::{BreakerRow, Record, Recorder, UsageStore};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How the gateway runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// LiteLLM's base URL (scheme and authority, e.g. `http://127.0.0.1:4000`).
    pub upstream: Uri,
    /// The usage and policy database.
    pub db: PathBuf,
    /// LiteLLM's `config.yaml`, for prices.
    pub litellm_config: PathBuf,
    pub queue: QueueSettings,
    pub breaker: BreakerSettings,
    pub retries: u32,
    pub backoff: Duration,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
    pub flush_every: Duration,
    /// The metrics store the usage figures go to, if any.
    pub metrics: Option<PathBuf>,
    pub max_body: usize,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
    /// The header timeout, the connection cap and the grace period of a stop.
    pub serving: magi_serve::Bounds,
}

/// Request bodies held in memory at once, in all: a body waits for room (up to the body timeout, then 503)
/// so that many slow uploads of the largest size cannot take the memory of the box.
const BODY_MEMORY: usize = 64 << 20;

/// The shared state of the running gateway.
pub struct Gateway {
    settings: Settings,
    keys: Arc<dyn KeyHolders>,
    upstream: Arc<Upstream>,
    limiter: Arc<Limiter>,
    breakers: Mutex<HashMap<String, Breaker>>,
    ledger: Mutex<Ledger>,
    policy: Mutex<Arc<Snapshot>>,
    prices: Mutex<Arc<Prices>>,
    metrics: Metrics,
    recorder: Recorder,
    in_flight: AtomicI64,
    /// Room for request bodies, in KiB permits (see [`BODY_MEMORY`]).
    body_room: tokio::sync::Semaphore,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Gateway {
    /// Opens the stores and loads the policy, the prices and today's spend.
    pub fn start(
        settings: Settings,
        keys: Arc<dyn KeyHolders>,
    ) -> anyhow::Result<(Arc<Gateway>, Policy)> {
        let figures = settings.metrics.as_deref().and_then(|dir| {
            let writer = magi_tsdb::Writer::open(
                dir,
                magi_usage::figures::SHARD,
                magi_tsdb::Tiers::default(),
                magi_tsdb::store::Limits::default(),
            );
            match writer {
                Ok(writer) => Some(magi_usage::figures::Figures::new(writer)),
                // The gateway carries every request: without its charts it still must.
                Err(e) => {
                    log::warn!("{e}; request figures are not kept");
                    None
                }
            }
        });
        let recorder = Recorder::start_with_figures(&settings.db, settings.flush_every, figures)?;
        let mut policy = Policy::open(&settings.db)?;
        let snapshot = policy.snapshot()?;
        let store = UsageStore::open(&settings.db)?;
        let ledger = Ledger::load(&store, clock::now())?;
        // The gateway carries every request to the models: a config it cannot read costs prices, not service.
        let prices = Prices::load(&settings.litellm_config).unwrap_or_else(|e| {
            log::error!("{e}; costs come only from LiteLLM until the file is fixed");
            Prices::default()
        });
        log::info!(
            "{} model prices from {}",
            prices.len(),
            settings.litellm_config.display()
        );
        let limiter = Limiter::new(settings.queue);
        limiter.apply(&snapshot.rate_limits, Instant::now());
        let upstream = Upstream::new(&settings.upstream, settings.connect_timeout);
        let gateway = Arc::new(Gateway {
            settings,
            keys,
            upstream,
            limiter,
            breakers: Mutex::default(),
            ledger: Mutex::new(ledger),
            policy: Mutex::new(Arc::new(snapshot)),
            prices: Mutex::new(Arc::new(prices)),
            metrics: Metrics::default(),
            recorder,
            in_flight: AtomicI64::new(0),
            body_room: tokio::sync::Semaphore::new(BODY_MEMORY >> 10),
        });
        Ok((gateway, policy))
    }

    /// Re-reads the policy when it changed and LiteLLM's config when its mtime moved, every second.
    async fn watch_policy(self: Arc<Self>, mut policy: Policy) {
        let mut version = lock(&self.policy).version;
        let mtime =
            |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut config_mtime: Option<SystemTime> = mtime(&self.settings.litellm_config);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            match policy.version() {
                Ok(v) if v != version => match policy.snapshot() {
                    Ok(snapshot) => {
                        version = snapshot.version;
                        self.limiter.apply(&snapshot.rate_limits, Instant::now());
                        *lock(&self.policy) = Arc::new(snapshot);
                        log::info!("policy version {version} applied");
                    }
                    Err(e) => log::error!("cannot reload the policy: {e}"),
                },
                Ok(_) => {}
                Err(e) => log::error!("cannot check the policy: {e}"),
            }
            let now = mtime(&self.settings.litellm_config);
            if now != config_mtime {
                config_mtime = now;
                match Prices::load(&self.settings.litellm_config) {
                    Ok(prices) => {
                        log::info!("{} model prices reloaded", prices.len());
                        *lock(&self.prices) = Arc::new(prices);
                    }
                    Err(e) => log::error!("{e}; keeping the previous prices"),
                }
            }
        }
    }

    fn live(&self) -> Live {
        let breakers = lock(&self.breakers)
            .iter()
            .map(|(m, b)| (m.clone(), b.state().gauge()))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        Live {
            queue_depths: self.limiter.queue_depths(),
            breakers,
            usage_dropped: self.recorder.dropped(),
            in_flight: self.in_flight.load(Ordering::Relaxed).max(0) as u64,
        }
    }

    /// Whether a request for `model` may go; else the 503's message and when to retry.
    fn breaker_admit(&self, model: &str) -> Result<Admit, (String, Duration)> {
        let now = Instant::now();
        let mut breakers = lock(&self.breakers);
        // A model with no breaker yet has had no failure: its breaker is closed, and is made only when it
        // fails, so made-up names that upstream refuses with a 4xx add nothing here.
        let Some(breaker) = breakers.get_mut(model) else {
            return Ok(Admit::Normal);
        };
        let before = breaker.state();
        let admitted = breaker.admit(now);
        if breaker.state() != before {
            self.breaker_changed(model, breaker);
        }
        admitted.map_err(|wait| {
            let message = format!(
                "model {model} is failing upstream, so the gateway is not sending it requests for now \
                 (circuit open after {} failures; last: {}); retry in {}s",
                breaker.failures().max(self.settings.breaker.failures),
                breaker.last_error().unwrap_or("unknown"),
                wait.as_secs_f64().ceil() as u64
            );
            (message, wait)
        })
    }

    fn breaker_outcome(&self, model: &str, error: Option<&str>) -> State {
        let now = Instant::now();
        let mut breakers = lock(&self.breakers);
        if error.is_none() && !breakers.contains_key(model) {
            return State::Closed;
        }
        if !breakers.contains_key(model) && breakers.len() >= MAX_BREAKERS {
            // Past this many failing names the newest are not tracked: a breaker per made-up name would be
            // a table the client fills.
            return State::Closed;
        }
        let breaker = breakers
            .entry_ref(model)
            .or_insert_with(|| Breaker::new(self.settings.breaker, now));
        let changed = match error {
            None => breaker.success(now),
            Some(e) => breaker.failure(now, e),
        };
        if changed.is_some() {
            self.breaker_changed(model, breaker);
        }
        breaker.state()
    }

    /// Logs a breaker's change as a `breaker.state` event (journald fields for magi-alert) and records it.
    fn breaker_changed(&self, model: &str, breaker: &Breaker) {
        let state = breaker.state();
        let last = breaker.last_error().unwrap_or("unknown");
        let (severity, message) = match state {
            State::Open => (
                Severity::Warning,
                format!(
                    "breaker of model {model} opened after {} failures (last: {last}); requests get 503 \
                     until a probe succeeds",
                    breaker.failures()
                ),
            ),
            State::HalfOpen => (
                Severity::Info,
                format!("breaker of model {model} half-open: probing"),
            ),
            State::Closed => (
                Severity::Ok,
                format!("breaker of model {model} closed: the model answers again"),
            ),
        };
        magi_core::logging::log_event(
            &Event::new("magi-limits", "breaker.state", model, severity, message)
                .with("state", state.as_str())
                .with("failures", breaker.failures())
                .with("last_error", last),
        );
        self.recorder.breaker(BreakerRow {
            model: model.to_owned(),
            state: state.as_str().to_owned(),
            failures: breaker.failures(),
            since: clock::now(),
            last_error: breaker.last_error().map(str::to_owned),
        });
    }
}

/// Serves on `listener` until `shutdown` resolves, then lets answers in flight finish (up to the grace
/// period) and writes the usage still queued.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    policy: Policy,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let watcher = tokio::spawn(Arc::clone(&gateway).watch_policy(policy));
    let served = Arc::clone(&gateway);
    magi_serve::serve(
        listener,
        gateway.settings.serving,
        move |_peer| {
            let gateway = Arc::clone(&served);
            hyper::service::service_fn(move |req| {
                let gateway = Arc::clone(&gateway);
                async move { Ok::<_, Infallible>(handle(gateway, req).await) }
            })
        },
        shutdown,
    )
    .await;
    watcher.abort();
    gateway.recorder.flush();
    Ok(())
}

/// The body of an answer: one the gateway made, or the upstream's passed through [`Metered`].
pub enum Body {
    Full(Full<Bytes>),
    Metered(Box<Metered>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Body::Full(full) => Pin::new(full).poll_frame(cx).map_err(|e| match e {}),
            Body::Metered(metered) => Pin::new(metered.as_mut()).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(full) => full.is_end_stream(),
            Body::Metered(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(full) => full.size_hint(),
            Body::Metered(metered) => metered.read_ahead_hint(),
        }
    }
}

/// What one request is, as far as the accounting goes.
struct Call {
    gateway: Arc<Gateway>,
    identity: Identity,
    model: String,
    path: String,
    arrived: Timestamp,
    started: Instant,
    /// When the upstream answer's head arrived, after `started`.
    first_byte: Option<std::time::Duration>,
    /// The gateway added `stream_options.include_usage`, so the usage chunk is not the client's.
    injected: bool,
    finished: bool,
}

impl Call {
    /// Records the request once: usage row, ledger, token buckets, metrics.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        status: u16,
        usage: Option<Usage>,
        cost_header: Option<f64>,
        disconnected: bool,
        error: Option<String>,
    ) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let gw = &self.gateway;
        gw.in_flight.fetch_sub(1, Ordering::Relaxed);
        let (prompt, completion) = usage.map_or((0, 0), |u| (u.prompt, u.completion));
        let cost = match (cost_header, usage.and_then(|u| u.cost)) {
            (Some(c), _) if c > 0.0 => c,
            (_, Some(c)) if c > 0.0 => c,
            _ => lock(&gw.prices).get(&self.model).cost(prompt, completion),
        };
        let elapsed = self.started.elapsed();
        if !self.model.is_empty() {
            lock(&gw.ledger).add(
                clock::now(),
                self.arrived,
                &self.identity.user,
                prompt + completion,
                cost,
            );
            gw.limiter
                .charge(&self.model, &self.identity.user, prompt + completion);
        }
        gw.metrics.finished(Finished {
            model: &self.model,
            status,
            prompt_tokens: prompt,
            completion_tokens: completion,
            cost_usd: cost,
            seconds: elapsed.as_secs_f64(),
        });
        // The call is finished: what it knew moves into its record.
        gw.recorder.record(Record {
            ts: self.arrived,
            user: std::mem::take(&mut self.identity.user),
            model: std::mem::take(&mut self.model),
            prompt_tokens: prompt,
            completion_tokens: completion,
            cost_usd: cost,
            latency_ms: elapsed.as_millis() as u64,
            first_byte_ms: self.first_byte.map(|d| d.as_millis() as u64),
            status,
            disconnected,
            key_prefix: self.identity.key_prefix.take(),
            path: std::mem::take(&mut self.path),
            error,
        });
    }

    /// An answer the gateway makes itself, in OpenAI's error format.
    fn refuse(
        &mut self,
        status: StatusCode,
        kind: &str,
        code: &str,
        message: &str,
        retry_after: Option<Duration>,
        headers: &[(&'static str, String)],
    ) -> Response<Body> {
        self.finish(status.as_u16(), None, None, false, None);
        let mut response = error_response(status, kind, code, message);
        if let Some(wait) = retry_after {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        for (name, value) in headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // A request whose handler was dropped before any answer: the client went away while it waited.
        self.finish(499, None, None, true, None);
    }
}

fn error_response(status: StatusCode, kind: &str, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    });
    let mut response = Response::new(Body::Full(Full::new(Bytes::from(body.to_string()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Headers that belong to one connection and are never passed on.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

fn hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name)
}

async fn handle(gateway: Arc<Gateway>, request: Request<Incoming>) -> Response<Body> {
    if request.uri().path() == "/metrics" && request.method() == Method::GET {
        let mut response = Response::new(Body::Full(Full::new(Bytes::from(
            gateway.metrics.render(&gateway.live()),
        ))));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return response;
    }
    gateway.in_flight.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    // A refused key is still a call: answered, counted and recorded (as anonymous's).
    let (identity, refusal) = match identify(&parts.headers, gateway.keys.as_ref()) {
        Ok(identity) => (identity, None),
        Err(refusal) => (Identity::anonymous(), Some(refusal)),
    };
    let mut call = Call {
        gateway: Arc::clone(&gateway),
        identity,
        model: String::new(),
        path: parts.uri.path().to_owned(),
        arrived: clock::now(),
        started: Instant::now(),
        first_byte: None,
        injected: false,
        finished: false,
    };
    match refusal {
        None => {}
        Some(KeyRefusal::Invalid) => {
            gateway.metrics.refused("bad_key");
            return call.refuse(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "invalid_api_key",
                "this magi API key is not valid: unknown, revoked, expired, or its account is disabled \
                 (magi-users keys list)",
                None,
                &[],
            );
        }
        Some(KeyRefusal::Unavailable(e)) => {
            gateway.metrics.refused("bad_key");
            return call.refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "api_error",
                "key_check_failed",
                &format!("cannot check the magi API key: {e}"),
                None,
                &[],
            );
        }
    }
    let max = gateway.settings.max_body;
    let deadline = tokio::time::Instant::now() + gateway.settings.body_timeout;
    let declared = hyper::body::Body::size_hint(&body)
        .exact()
        .map_or(max, |n| (n as usize).min(max));
    let room = (declared >> 10) as u32 + 1;
    let Ok(Ok(_room)) =
        tokio::time::timeout_at(deadline, gateway.body_room.acquire_many(room)).await
    else {
        gateway.metrics.refused("busy");
        return call.refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "busy",
            "too many large request bodies are being received at once; retry shortly",
            None,
            &[],
        );
    };
    let collected = tokio::time::timeout_at(deadline, Limited::new(body, max).collect()).await;
    let Ok(collected) = collected else {
        gateway.metrics.refused("bad_request");
        return call.refuse(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request_error",
            "body_timeout",
            &format!(
                "the request body did not arrive within {}s",
                gateway.settings.body_timeout.as_secs()
            ),
            None,
            &[],
        );
    };
    let mut body = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            gateway.metrics.refused("bad_request");
            return call.refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "body_too_large",
                &format!("the request body is larger than {max} bytes"),
                None,
                &[],
            );
        }
        Err(e) => {
            gateway.metrics.refused("bad_request");
            return call.refuse(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "unreadable_body",
                &format!("cannot read the request body: {e}"),
                None,
                &[],
            );
        }
    };
    if is_json_request(&parts.method, &parts.headers, &body) {
        match RequestPeek::read(&body) {
            Ok(peek) => {
                if peek.wants_stream_usage(&call.path)
                    && let Some(asking) = openai::ask_for_stream_usage(&call.path, &body)
                {
                    call.injected = true;
                    body = Bytes::from(asking);
                }
                call.model = peek.model.unwrap_or_default();
            }
            Err(e) => {
                gateway.metrics.refused("bad_request");
                return call.refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "invalid_json",
                    &format!(
                        "the request body is not valid JSON: {e} (magi-limits reads the model from it)"
                    ),
                    None,
                    &[],
                );
            }
        }
    }
    if !call.model.is_empty() {
        let policy = Arc::clone(&lock(&gateway.policy));
        let checked = lock(&gateway.ledger).check(clock::now(), &call.identity.user, &policy);
        if let Err(message) = checked {
            let now = clock::now();
            let reason = if message.starts_with("daily quota") {
                "quota"
            } else {
                "budget"
            };
            gateway.metrics.refused(reason);
            let reset = if message.contains("resets on") {
                clock::next_month(now)
            } else {
                clock::next_day(now)
            };
            let wait = Duration::from_secs(now.duration_until(reset).as_secs().max(1) as u64);
            return call.refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "insufficient_quota",
                reason,
                &message,
                Some(wait),
                &[],
            );
        }
        let priority = call.identity.priority(&policy.priorities);
        if let Err(Refusal {
            message,
            retry_after,
            headers,
        }) = gateway
            .limiter
            .acquire(&call.model, &call.identity.user, priority)
            .await
        {
            gateway.metrics.refused(if message.contains("queue") {
                "queue"
            } else {
                "rate_limit"
            });
            return call.refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "rate_limit_exceeded",
                &message,
                Some(retry_after),
                &headers,
            );
        }
        if let Err((message, wait)) = gateway.breaker_admit(&call.model) {
            gateway.metrics.refused("breaker");
            return call.refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "circuit_open",
                &message,
                Some(wait),
                &[],
            );
        }
    }
    forward(call, parts, body).await
}

/// A POST or PUT whose body should be JSON: non-empty and not an upload (multipart, audio, octet-stream).
/// Clients of OpenAI's API do not always declare JSON, so anything else is read as JSON.
fn is_json_request(method: &Method, headers: &HeaderMap, body: &Bytes) -> bool {
    if body.is_empty() || !(method == Method::POST || method == Method::PUT) {
        return false;
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| {
            !(ct.starts_with("multipart/")
                || ct.starts_with("audio/")
                || ct.starts_with("application/octet-stream"))
        })
}

/// The request as it goes upstream: origin form (the path and query alone, as HTTP/1.1 asks of a request to
/// a server that is no proxy), LiteLLM's `host`, the client's headers but those of its own connection, and
/// no `accept-encoding` (the answer is read for usage, so it comes uncompressed).
fn upstream_request(gateway: &Gateway, parts: &hyper::http::request::Parts, body: &Bytes) -> Bytes {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let host = gateway
        .settings
        .upstream
        .authority()
        .map_or("", |a| a.as_str());
    let headers = parts.headers.iter().filter(|(name, _)| {
        !(hop_by_hop(name)
            || *name == header::HOST
            || *name == header::CONTENT_LENGTH
            || *name == header::ACCEPT_ENCODING
            || *name == header::EXPECT)
    });
    h1::encode_request(&parts.method, target, host, headers, body)
}

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

/// The error of a failed upstream call, with its causes.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn forward(
    mut call: Call,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Response<Body> {
    let gateway = Arc::clone(&call.gateway);
    let settings = &gateway.settings;
    let model = call.model.clone();
    let mut last_error = String::new();
    let mut timed_out = false;
    let request = upstream_request(&gateway, &parts, &body);
    for attempt in 0..=settings.retries {
        if attempt > 0 {
            let backoff = Backoff {
                initial: settings.backoff,
                max: settings.backoff.saturating_mul(1 << 16),
            };
            tokio::time::sleep(backoff.jittered(attempt, fastrand::f64())).await;
            if !model.is_empty()
                && let Err((message, wait)) = gateway.breaker_admit(&model)
            {
                gateway.metrics.refused("breaker");
                return call.refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "circuit_open",
                    &message,
                    Some(wait),
                    &[],
                );
            }
        }
        let error = match tokio::time::timeout(
            settings.first_byte_timeout,
            gateway.upstream.send(&request, &parts.method),
        )
        .await
        {
            Ok(Ok((head, lease))) if retryable(head.status) => {
                let error = format!("upstream answered {}", head.status);
                let state = if model.is_empty() {
                    State::Closed
                } else {
                    gateway.breaker_outcome(&model, Some(&error))
                };
                if attempt == settings.retries || state == State::Open {
                    return pass_on(call, head, lease, Some(error)).await;
                }
                log::debug!("{model}: {error}; retrying (attempt {})", attempt + 1);
                continue;
            }
            Ok(Ok((head, lease))) => {
                if !model.is_empty() {
                    gateway.breaker_outcome(&model, None);
                }
                return pass_on(call, head, lease, None).await;
            }
            Ok(Err(e)) => {
                timed_out = false;
                format!(
                    "cannot reach LiteLLM at {}: {}",
                    settings.upstream,
                    describe(&e)
                )
            }
            Err(_) => {
                timed_out = true;
                format!(
                    "LiteLLM at {} sent no answer within {:?} (--first-byte-timeout)",
                    settings.upstream, settings.first_byte_timeout
                )
            }
        };
        last_error = error;
        log::warn!(
            "{}: {last_error}",
            if model.is_empty() {
                call.path.as_str()
            } else {
                &model
            }
        );
        if !model.is_empty() && gateway.breaker_outcome(&model, Some(&last_error)) == State::Open {
            break;
        }
    }
    let status = if timed_out {
        StatusCode::GATEWAY_TIMEOUT
    } else {
        StatusCode::BAD_GATEWAY
    };
    call.finish(status.as_u16(), None, None, false, Some(last_error.clone()));
    error_response(status, "api_error", "upstream_unavailable", &last_error)
}

/// Passes an upstream answer on, metered. The head waits for the first data (or the end), so that hyper
/// writes them together: one write to the client for an answer that arrived whole.
async fn pass_on(
    mut call: Call,
    mut head: Head,
    lease: Lease,
    error: Option<String>,
) -> Response<Body> {
    call.first_byte = Some(call.started.elapsed());
    let content_type = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let sse = content_type.starts_with("text/event-stream");
    let json = !sse && content_type.contains("json");
    let cost_header = head
        .headers
        .get("x-litellm-response-cost")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|c| c.is_finite() && *c >= 0.0);
    for name in &HOP_BY_HOP {
        head.headers.remove(name);
    }
    if sse {
        head.headers.remove(header::CONTENT_LENGTH);
    }
    let idle = Box::pin(tokio::time::sleep(call.gateway.settings.idle_timeout));
    let metered = Metered {
        status: head.status.as_u16(),
        lease: Some(lease),
        call,
        splitter: sse.then(Splitter::default),
        events: Vec::with_capacity(EXPECTED_CHUNKS),
        json: json.then(Vec::new),
        usage: None,
        cost_header,
        error,
        idle,
        last_data: Instant::now(),
        held: Vec::with_capacity(EXPECTED_CHUNKS),
        held_len: 0,
        ready: VecDeque::new(),
    };
    let mut metered = Box::new(metered);
    let first =
        std::future::poll_fn(|cx| hyper::body::Body::poll_frame(Pin::new(metered.as_mut()), cx))
            .await;
    metered.ready.push_front(first);
    let mut response = Response::new(Body::Metered(metered));
    *response.status_mut() = head.status;
    *response.headers_mut() = head.headers;
    response
}

/// The bytes of `events`, one after the other.
fn joined(events: &[sse::Event]) -> Vec<u8> {
    let mut all = Vec::with_capacity(events.iter().map(|e| e.raw.len()).sum());
    for event in events {
        all.extend_from_slice(&event.raw);
    }
    all
}

/// The largest JSON answer copied to read its `usage`.
const JSON_COPY_LIMIT: usize = 8 << 20;

/// The most models with a breaker: each is a model upstream failed for.
const MAX_BREAKERS: usize = 1000;

/// An upstream answer on its way to the client, read for usage as it passes.
pub struct Metered {
    status: u16,
    /// The upstream connection the answer is read from, given back to the pool when it was read to the end.
    lease: Option<Lease>,
    call: Call,
    splitter: Option<Splitter>,
    /// The events of the chunk being passed on (kept to reuse its allocation).
    events: Vec<sse::Event>,
    json: Option<Vec<u8>>,
    usage: Option<Usage>,
    cost_header: Option<f64>,
    error: Option<String>,
    /// Fires the idle timeout (`--idle-timeout`) after the data before last was seen; moved on to `last_data` then, so the timer
    /// is not re-armed for every chunk.
    idle: Pin<Box<Sleep>>,
    last_data: Instant,
    /// Data read from upstream and not yet handed to hyper: what arrives together goes out in one write.
    held: Vec<Bytes>,
    /// The bytes in `held`, kept rather than summed at each chunk (that was quadratic in the chunks).
    held_len: usize,
    /// Frames to give before reading on: the first, read before the head went out; and what came after the
    /// held data (the end of the answer, an error or a trailers frame).
    ready: VecDeque<Option<Result<Frame<Bytes>, BoxError>>>,
}

/// Room for the chunks of a whole short answer (a dozen server-sent events), so the vectors that hold them
/// do not grow chunk by chunk.
const EXPECTED_CHUNKS: usize = 16;

/// The most data held back to be written together.
const HOLD_LIMIT: usize = 64 << 10;

impl Metered {
    /// The bytes of `data` the client gets.
    fn pass(&mut self, data: Bytes) -> Bytes {
        if let Some(copy) = &mut self.json
            && copy.len() + data.len() <= JSON_COPY_LIMIT
        {
            copy.extend_from_slice(&data);
        }
        let Some(splitter) = &mut self.splitter else {
            return data;
        };
        // Whole events in, none changed: the chunk goes on as it came, without a copy.
        let whole = splitter.is_empty();
        let mut events = std::mem::take(&mut self.events);
        splitter.push(&data, &mut events);
        let whole = whole && splitter.is_empty();
        let mut out: Option<Vec<u8>> = None;
        for (index, event) in events.iter().enumerate() {
            let replacement = self.read_event(event);
            match replacement {
                None => {
                    if let Some(out) = &mut out {
                        out.extend_from_slice(&event.raw);
                    }
                }
                Some(bytes) => {
                    let out = out.get_or_insert_with(|| joined(&events[..index]));
                    out.extend(bytes.unwrap_or_default());
                }
            }
        }
        let passed = match out {
            Some(out) => Bytes::from(out),
            None if whole => data,
            None => Bytes::from(joined(&events)),
        };
        events.clear();
        self.events = events;
        passed
    }

    /// Reads an event for usage and failures; `Some` when the client gets other bytes in its place (`None`
    /// within: the event is dropped).
    fn read_event(&mut self, event: &sse::Event) -> Option<Option<Vec<u8>>> {
        let [usage, error] = event.objects([b"\"usage\"", b"\"error\""]);
        if !usage && !error {
            return None;
        }
        let data = event.data()?;
        if error && let Some(failure) = openai::stream_error(&data) {
            self.error = Some(failure);
        }
        if !usage {
            return None;
        }
        self.usage = Some(Usage::read(&data).or(self.usage)?);
        if self.call.injected {
            openai::strip_usage(&data)
        } else {
            None
        }
    }

    fn complete(&mut self, disconnected: bool, error: Option<String>) {
        if self.call.finished {
            return;
        }
        if let Some(copy) = self.json.take() {
            self.usage = Usage::read(&copy).or(self.usage);
        }
        let error = error.or_else(|| self.error.take());
        if let Some(e) = &error
            && !self.call.model.is_empty()
            && self.status < 500
        {
            self.call.gateway.breaker_outcome(&self.call.model, Some(e));
        }
        self.call.finish(
            self.status,
            self.usage,
            self.cost_header,
            disconnected,
            error,
        );
    }

    /// The answer has been read to its end: the connection goes back to the pool, the rest of a last event
    /// not ended goes on as it came, and the call is recorded.
    fn end(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.give_back();
        }
        if let Some(splitter) = self.splitter.take() {
            self.hold(Bytes::from(splitter.finish()));
        }
        self.complete(false, None);
    }

    /// The upstream's size hint, with the data read ahead counted in.
    fn read_ahead_hint(&self) -> SizeHint {
        let hint = self
            .lease
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Lease::size_hint);
        let ahead: u64 = self
            .ready
            .iter()
            .flatten()
            .filter_map(|frame| frame.as_ref().ok()?.data_ref().map(|d| d.len() as u64))
            .sum();
        let mut ahead_hint = SizeHint::new();
        if let Some(upper) = hint.upper() {
            ahead_hint.set_upper(upper + ahead);
        }
        ahead_hint.set_lower(hint.lower() + ahead);
        ahead_hint
    }

    /// The held data as one frame.
    fn release(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let len = std::mem::take(&mut self.held_len);
        let data = if self.held.len() == 1 {
            self.held.pop().unwrap_or_default()
        } else {
            let mut all = Vec::with_capacity(len);
            for part in self.held.drain(..) {
                all.extend_from_slice(&part);
            }
            Bytes::from(all)
        };
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn hold(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.held_len += data.len();
            self.held.push(data);
        }
    }
}

/// Upstream data is passed on as it arrives, but what has arrived together is written together: hyper's
/// server writes whenever the body has nothing ready, so each poll reads the upstream connection
/// ([`Lease::poll_data`]) until nothing more has arrived, and only then lets the held data go out.
impl hyper::body::Body for Metered {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(ready) = this.ready.pop_front() {
            return Poll::Ready(ready);
        }
        // When data last arrived, taken once per poll rather than per chunk.
        let mut fresh = false;
        let last = loop {
            let Some(lease) = &mut this.lease else {
                break None;
            };
            match lease.poll_data(cx) {
                Poll::Ready(Ok(Some(data))) => {
                    fresh = true;
                    let ended = lease.is_end();
                    let out = this.pass(data);
                    this.hold(out);
                    // hyper stops polling once a sized body is sent, so its end is seen here.
                    if ended {
                        this.end();
                        break None;
                    }
                    if this.held_len >= HOLD_LIMIT {
                        this.last_data = Instant::now();
                        return this.release();
                    }
                }
                Poll::Ready(Ok(None)) => {
                    this.end();
                    break None;
                }
                Poll::Ready(Err(e)) => {
                    let error = format!("upstream answer cut short: {}", describe(&e));
                    this.complete(false, Some(error));
                    break Some(Err(Box::new(e) as BoxError));
                }
                Poll::Pending => {
                    if fresh {
                        this.last_data = Instant::now();
                    }
                    let silent = loop {
                        if this.idle.as_mut().poll(cx).is_pending() {
                            break false;
                        }
                        let due = this.last_data + this.call.gateway.settings.idle_timeout;
                        if due <= Instant::now() {
                            break true;
                        }
                        this.idle.as_mut().reset(due);
                    };
                    if silent {
                        let error = format!(
                            "upstream sent nothing for {:?} mid-answer (--idle-timeout)",
                            this.call.gateway.settings.idle_timeout
                        );
                        this.complete(false, Some(error.clone()));
                        break Some(Err(error.into()));
                    }
                    if this.held.is_empty() {
                        return Poll::Pending;
                    }
                    // The connection was driven just before: nothing more has arrived.
                    return this.release();
                }
            }
        };
        if this.held.is_empty() {
            return Poll::Ready(last);
        }
        this.ready.push_back(last);
        this.release()
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        self.complete(true, None);
    }
}

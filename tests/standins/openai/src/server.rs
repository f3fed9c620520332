//! The HTTP side of the stand-in: routes OpenAI's paths and the control paths, applies each request's
//! behaviour (error, stall, cut, slow stream) and records what it received.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt as _;
use serde_json::{Value, json};

use crate::behaviour::{Behaviour, Queue};
use crate::wire::{self, Answer, Kind};

/// Recorded requests kept (the oldest are forgotten first), so a long benchmark stays bounded.
const MAX_RECORDED: usize = 10_000;
/// How long a cut stream waits after its last chunk, so that chunk reaches the client before the cut.
const FLUSH_BEFORE_CUT: Duration = Duration::from_millis(50);

#[derive(Default)]
struct Stand {
    queue: Queue,
    requests: Mutex<VecDeque<Value>>,
    answers: AtomicU64,
}

type Shared = Arc<Stand>;

/// Serves OpenAI's API and the control paths on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let api = |kind: Kind| move |state, body| completion(state, kind, body);
    let app = Router::new()
        .route("/v1/chat/completions", post(api(Kind::Chat)))
        .route("/chat/completions", post(api(Kind::Chat)))
        .route("/v1/completions", post(api(Kind::Text)))
        .route("/completions", post(api(Kind::Text)))
        .route("/v1/embeddings", post(embeddings))
        .route("/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/standin/next", post(push_next).delete(clear_next))
        .route(
            "/standin/requests",
            get(list_requests).delete(clear_requests),
        )
        .route("/health", get(|| async { "ok" }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such path on openai-standin") })
        .with_state(Shared::default());
    // Each chunk goes out when written, as a provider's does: without TCP_NODELAY a small chunk waits for
    // the ACK of the one before, which the client delays (Nagle against delayed ACKs, ~40 ms).
    let listener = listener.tap_io(|tcp| {
        // A socket that refuses the option still serves, only slower.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &wire::error(status.as_u16(), message))
}

/// The answer of a [`Behaviour::Status`]: OpenAI's error body, and for 429 its rate-limit headers.
fn status_response(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = if status == 429 {
        "Rate limit reached for requests (openai-standin)".to_owned()
    } else {
        format!("openai-standin answers {status} as asked")
    };
    let mut response = error(code, &message);
    if status == 429 {
        let headers = response.headers_mut();
        for (name, value) in [
            ("retry-after", "1"),
            ("x-ratelimit-limit-requests", "60"),
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "1s"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Parses the body, takes the behaviour and records the request; `Err` says why the body is bad.
fn receive(state: &Stand, path: &str, body: &Bytes) -> Result<(Value, Behaviour), String> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let model = body["model"].as_str().unwrap_or("").to_owned();
    let behaviour = state.queue.take(&model);
    let record = json!({
        "method": "POST",
        "path": path,
        "model": model,
        "stream": wire::stream(&body),
        "include_usage": wire::include_usage(&body),
        "behaviour": format!("{behaviour:?}"),
        "body": body,
    });
    let mut requests = state.requests.lock().unwrap_or_else(|e| e.into_inner());
    if requests.len() == MAX_RECORDED {
        requests.pop_front();
    }
    requests.push_back(record);
    Ok((body, behaviour))
}

/// Errors and stalls, which every API path honours; `Some` is the answer to send instead.
async fn before_answer(behaviour: Behaviour) -> Option<Response> {
    match behaviour {
        Behaviour::Status(status) => Some(status_response(status)),
        Behaviour::Stall(stall) => {
            tokio::time::sleep(stall).await;
            None
        }
        _ => None,
    }
}

async fn completion(State(state): State<Shared>, kind: Kind, body: Bytes) -> Response {
    let path = match kind {
        Kind::Chat => "/v1/chat/completions",
        Kind::Text => "/v1/completions",
    };
    let (body, behaviour) = match receive(&state, path, &body) {
        Ok(received) => received,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    if let Some(response) = before_answer(behaviour).await {
        return response;
    }
    let number = state.answers.fetch_add(1, Ordering::Relaxed) + 1;
    let answer = Answer {
        kind,
        id: match kind {
            Kind::Chat => format!("chatcmpl-standin-{number}"),
            Kind::Text => format!("cmpl-standin-{number}"),
        },
        model: body["model"].as_str().unwrap_or("standin-ok").to_owned(),
        created: now(),
        prompt: wire::prompt_tokens(kind, &body),
        completion: wire::completion_tokens(&body),
    };
    let delay = match behaviour {
        Behaviour::SlowStream(delay) => delay,
        _ => Duration::ZERO,
    };
    if wire::stream(&body) {
        let chunks = answer.chunks(wire::include_usage(&body));
        let cut = (behaviour == Behaviour::Drop).then(|| answer.dropped_after());
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from_stream(sse(chunks, delay, cut)))
            .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()));
    }
    let text = answer.json().to_string();
    if behaviour == Behaviour::Drop {
        let half = text.as_bytes()[..text.len() / 2].to_vec();
        return Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, text.len())
            .body(Body::from_stream(sse(
                vec![String::from_utf8_lossy(&half).into_owned()],
                Duration::ZERO,
                Some(1),
            )))
            .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()));
    }
    tokio::time::sleep(delay * (answer.completion as u32 + 2)).await;
    json_response(StatusCode::OK, &answer.json())
}

/// A body of `chunks` with `delay` before each, cut (an error, which makes the server close the
/// connection without ending the body) after `cut` chunks when set.
fn sse(
    chunks: Vec<String>,
    delay: Duration,
    cut: Option<usize>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let state = (chunks.into_iter(), 0usize, false);
    futures_util::stream::unfold(state, move |(mut chunks, sent, done)| async move {
        if done {
            return None;
        }
        if cut == Some(sent) {
            // A pause first, so the server flushes what was sent before it gives up the connection.
            tokio::time::sleep(FLUSH_BEFORE_CUT).await;
            let cut_error = std::io::Error::other("openai-standin cuts the connection as asked");
            return Some((Err(cut_error), (chunks, sent, true)));
        }
        let chunk = chunks.next()?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some((Ok(Bytes::from(chunk)), (chunks, sent + 1, false)))
    })
}

async fn embeddings(State(state): State<Shared>, body: Bytes) -> Response {
    let (body, behaviour) = match receive(&state, "/v1/embeddings", &body) {
        Ok(received) => received,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    if let Some(response) = before_answer(behaviour).await {
        return response;
    }
    json_response(StatusCode::OK, &wire::embeddings(&body))
}

async fn models() -> Response {
    json_response(StatusCode::OK, &wire::models(now()))
}

async fn push_next(State(state): State<Shared>, body: Bytes) -> Response {
    let parsed: Result<(Option<String>, Behaviour, usize), String> =
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| format!("the body is not valid JSON: {e}"))
            .and_then(|request| {
                let name = request["behaviour"]
                    .as_str()
                    .ok_or("`behaviour` (a string) is missing")?;
                let count = request["count"].as_u64().unwrap_or(1) as usize;
                let model = request["model"].as_str().map(str::to_owned);
                Ok((model, Behaviour::parse(name)?, count))
            });
    match parsed {
        Ok((model, behaviour, count)) => {
            let answer =
                json!({"queued": format!("{behaviour:?}"), "count": count, "model": model});
            state.queue.push(model, behaviour, count);
            json_response(StatusCode::OK, &answer)
        }
        Err(message) => error(StatusCode::BAD_REQUEST, &message),
    }
}

async fn clear_next(State(state): State<Shared>) -> Response {
    state.queue.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_requests(State(state): State<Shared>) -> Response {
    let requests = state.requests.lock().unwrap_or_else(|e| e.into_inner());
    json_response(
        StatusCode::OK,
        &Value::Array(requests.iter().cloned().collect()),
    )
}

async fn clear_requests(State(state): State<Shared>) -> Response {
    state
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    StatusCode::NO_CONTENT.into_response()
}

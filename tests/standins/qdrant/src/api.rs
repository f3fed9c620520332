//! The HTTP side of the stand-in: routes Qdrant's REST paths to the storage and wraps every answer in
//! Qdrant's envelope (`{"result": ..., "status": "ok", "time": seconds}`, errors as
//! `{"status": {"error": "..."}, "time": seconds}`).

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::multipart;
use crate::storage::{Point, Storage, StoreError, VectorParams};

/// The version the stand-in reports; snapshots restore only onto the same minor version of Qdrant.
pub const VERSION: &str = "1.12.4";

/// Largest request body taken (snapshot uploads included).
const MAX_BODY: u64 = 256 * 1024 * 1024;

/// The stand-in server's state.
pub struct Api {
    storage: Mutex<Storage>,
    /// While this file exists, `/readyz` and `/healthz` answer 503, as Qdrant does while it is not ready.
    unready_flag: Option<PathBuf>,
}

/// An answer before it is put on the wire.
struct Reply {
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
}

impl Reply {
    fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            body: value.to_string().into_bytes(),
            content_type: "application/json",
        }
    }

    fn text(status: u16, text: &str) -> Reply {
        Reply {
            status,
            body: text.as_bytes().to_vec(),
            content_type: "text/plain; charset=utf-8",
        }
    }
}

/// Serves requests from `listener` until the process ends, one thread per request.
pub fn serve(listener: TcpListener, api: Api) -> std::io::Result<()> {
    let server = Server::from_listener(listener, None).map_err(std::io::Error::other)?;
    let api = Arc::new(api);
    for request in server.incoming_requests() {
        let api = Arc::clone(&api);
        std::thread::spawn(move || api.handle(request));
    }
    Ok(())
}

impl Api {
    pub fn new(storage: Storage, unready_flag: Option<PathBuf>) -> Api {
        Api {
            storage: Mutex::new(storage),
            unready_flag,
        }
    }

    fn handle(&self, mut request: Request) {
        let started = Instant::now();
        let reply = match read_body(&mut request) {
            Ok(body) => self.route(&request, &body, started),
            Err(e) => error(&StoreError::BadInput(e), started),
        };
        let header = Header::from_bytes("Content-Type", reply.content_type)
            .expect("a static header is valid");
        let response = Response::from_data(reply.body)
            .with_status_code(reply.status)
            .with_header(header);
        // The client may have gone away; there is nobody left to tell.
        let _ = request.respond(response);
    }

    fn route(&self, request: &Request, body: &[u8], started: Instant) -> Reply {
        let (path, query) = match request.url().split_once('?') {
            Some((path, query)) => (path, query),
            None => (request.url(), ""),
        };
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let method = request.method();
        // Locked per operation, never across a fetch: recovering from our own download URL must not
        // wait for itself.
        let storage = || self.storage.lock().unwrap_or_else(|e| e.into_inner());
        let result = match (method, segments.as_slice()) {
            (Method::Get, [""]) => {
                return Reply::json(
                    200,
                    &json!({
                        "title": "qdrant - vector search engine",
                        "version": VERSION,
                        "commit": "standin",
                    }),
                );
            }
            (Method::Get, ["readyz"]) => return self.readiness("all shards are ready"),
            (Method::Get, ["healthz"]) => return self.readiness("healthz check passed"),
            (Method::Get, ["collections"]) => storage().collections().map(|names| {
                json!({ "collections": names.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>() })
            }),
            (Method::Put, ["collections", c]) => {
                parse::<CreateCollection>(body).and_then(|req| {
                    storage().create(c, &req.vectors).map(|()| json!(true))
                })
            }
            (Method::Get, ["collections", c]) => collection_info(&storage(), c),
            (Method::Delete, ["collections", c]) => storage().delete(c).map(|gone| json!(gone)),
            (Method::Put, ["collections", c, "points"]) => parse::<Upsert>(body)
                .and_then(|req| storage().upsert(c, req.points))
                .map(|()| json!({ "operation_id": 0, "status": "completed" })),
            (Method::Post, ["collections", c, "points", "scroll"]) => {
                let req = if body.is_empty() {
                    Ok(Scroll::default())
                } else {
                    parse::<Scroll>(body)
                };
                req.and_then(|req| scroll(&storage(), c, &req))
            }
            (Method::Post, ["collections", c, "snapshots"]) => storage()
                .create_snapshot(c)
                .map(|info| json!(info)),
            (Method::Get, ["collections", c, "snapshots"]) => {
                storage().snapshots(c).map(|list| json!(list))
            }
            (Method::Post, ["collections", c, "snapshots", "upload"]) => {
                let content_type = header(request, "Content-Type").unwrap_or_default();
                multipart::file_field(&content_type, body, "snapshot")
                    .map_err(StoreError::BadInput)
                    .and_then(|bytes| {
                        storage().restore(c, &bytes, query_param(query, "checksum").as_deref())
                    })
                    .map(|()| json!(true))
            }
            (Method::Put, ["collections", c, "snapshots", "recover"]) => parse::<Recover>(body)
                .and_then(|req| {
                    let bytes = fetch(&req.location)?;
                    storage().restore(c, &bytes, req.checksum.as_deref())
                })
                .map(|()| json!(true)),
            (Method::Get, ["collections", c, "snapshots", name]) => {
                let path = storage().snapshot_path(c, name);
                return match path
                    .and_then(|p| Ok(std::fs::read(p)?))
                {
                    Ok(bytes) => Reply {
                        status: 200,
                        body: bytes,
                        content_type: "application/octet-stream",
                    },
                    Err(e) => error(&e, started),
                };
            }
            (Method::Delete, ["collections", c, "snapshots", name]) => {
                storage().delete_snapshot(c, name).map(|()| json!(true))
            }
            _ => Err(StoreError::NotFound(format!(
                "Not found: {method} {path} is not part of the stand-in's API"
            ))),
        };
        match result {
            Ok(value) => Reply::json(
                200,
                &json!({ "result": value, "status": "ok", "time": elapsed(started) }),
            ),
            Err(e) => error(&e, started),
        }
    }

    fn readiness(&self, ok: &str) -> Reply {
        match &self.unready_flag {
            Some(flag) if flag.exists() => Reply::text(503, "some shards are not ready"),
            _ => Reply::text(200, ok),
        }
    }
}

#[derive(Deserialize)]
struct CreateCollection {
    vectors: VectorParams,
}

#[derive(Deserialize)]
struct Upsert {
    points: Vec<Point>,
}

#[derive(Deserialize)]
struct Scroll {
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    offset: Option<Value>,
    #[serde(default = "yes")]
    with_payload: bool,
    #[serde(default)]
    with_vector: bool,
}

impl Default for Scroll {
    fn default() -> Self {
        Scroll {
            limit: default_limit(),
            offset: None,
            with_payload: true,
            with_vector: false,
        }
    }
}

fn default_limit() -> usize {
    10
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Recover {
    location: String,
    #[serde(default)]
    checksum: Option<String>,
}

fn collection_info(storage: &Storage, name: &str) -> Result<Value, StoreError> {
    let params = storage.params(name)?;
    let count = storage.points(name)?.len();
    Ok(json!({
        "status": "green",
        "optimizer_status": "ok",
        "indexed_vectors_count": 0,
        "points_count": count,
        "segments_count": 1,
        "config": { "params": { "vectors": params, "shard_number": 1, "replication_factor": 1 } },
        "payload_schema": {},
    }))
}

fn scroll(storage: &Storage, name: &str, req: &Scroll) -> Result<Value, StoreError> {
    let points = storage.points(name)?;
    let start = match &req.offset {
        Some(offset) => points
            .iter()
            .position(|p| &p.id == offset)
            .unwrap_or(points.len()),
        None => 0,
    };
    let page: Vec<Value> = points[start..]
        .iter()
        .take(req.limit)
        .map(|p| {
            let mut record = json!({ "id": p.id });
            if req.with_payload {
                record["payload"] = json!(p.payload);
            }
            if req.with_vector {
                // As Qdrant prints its f32s: the shortest decimal that reads back as the same f32.
                let vector: Vec<f64> = p
                    .vector
                    .iter()
                    .map(|x| x.to_string().parse().unwrap_or(f64::from(*x)))
                    .collect();
                record["vector"] = json!(vector);
            }
            record
        })
        .collect();
    let next = points.get(start + req.limit).map(|p| p.id.clone());
    Ok(json!({ "points": page, "next_page_offset": next }))
}

/// Reads a snapshot from `file:///PATH` or `http://` (the recover API's locations).
fn fetch(location: &str) -> Result<Vec<u8>, StoreError> {
    if let Some(path) = location.strip_prefix("file://") {
        return std::fs::read(path).map_err(|e| {
            StoreError::BadInput(format!("Wrong input: cannot read snapshot {path}: {e}"))
        });
    }
    if location.starts_with("http://") {
        return ureq::get(location)
            .call()
            .and_then(|r| r.into_body().with_config().limit(MAX_BODY).read_to_vec())
            .map_err(|e| {
                StoreError::BadInput(format!(
                    "Wrong input: cannot download snapshot {location}: {e}"
                ))
            });
    }
    Err(StoreError::BadInput(format!(
        "Wrong input: unsupported snapshot location {location} (file:// or http://)"
    )))
}

fn read_body(request: &mut Request) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read the request body: {e}"))?;
    if body.len() as u64 > MAX_BODY {
        return Err(format!("the request body is larger than {MAX_BODY} bytes"));
    }
    Ok(body)
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(body)
        .map_err(|e| StoreError::BadInput(format!("Format error in JSON body: {e}")))
}

fn header(request: &Request, name: &'static str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_owned())
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn elapsed(started: Instant) -> f64 {
    started.elapsed().as_secs_f64()
}

fn error(e: &StoreError, started: Instant) -> Reply {
    Reply::json(
        e.status(),
        &json!({ "status": { "error": e.message() }, "time": elapsed(started) }),
    )
}

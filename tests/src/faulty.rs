//! A fault-injecting HTTP proxy of our own, put in front of a real S3 server: per request it can answer
//! 503 SlowDown or 500 InternalError in the server's place, cut the server's answer off halfway, or, during
//! an outage, drop every connection. Requests it lets through reach the server byte for byte (the Host
//! header too, so signatures still match), one upstream connection per request.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does to the requests it sees.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// The share of requests answered 503 SlowDown or 500 InternalError by the proxy itself.
    pub error_rate: f64,
    /// The share of answers cut off halfway (the connection closed mid-body).
    pub reset_rate: f64,
}

/// What the proxy did, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    /// Requests by kind, for pricing: PUT and POST, GET and HEAD, LIST, DELETE.
    pub writes: u64,
    pub reads: u64,
    pub lists: u64,
    pub deletes: u64,
    pub errors: u64,
    pub resets: u64,
    pub dropped: u64,
}

#[derive(Default)]
struct Shared {
    faults: Mutex<Faults>,
    outage_until: Mutex<Option<Instant>>,
    requests: AtomicU64,
    writes: AtomicU64,
    reads: AtomicU64,
    lists: AtomicU64,
    deletes: AtomicU64,
    errors: AtomicU64,
    resets: AtomicU64,
    dropped: AtomicU64,
}

/// The proxy, listening on a loopback port until the test process ends.
pub struct FaultyProxy {
    endpoint: String,
    shared: Arc<Shared>,
}

impl FaultyProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FaultyProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the proxy");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared::default());
        let serving = Arc::clone(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let shared = Arc::clone(&serving);
                let upstream = upstream.clone();
                std::thread::spawn(move || serve(client, &upstream, &shared));
            }
        });
        FaultyProxy { endpoint, shared }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn set(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap() = faults;
    }

    /// Drops every connection for `length` from now.
    pub fn outage(&self, length: Duration) {
        *self.shared.outage_until.lock().unwrap() = Some(Instant::now() + length);
    }

    pub fn counts(&self) -> Counts {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counts {
            requests: n(&self.shared.requests),
            writes: n(&self.shared.writes),
            reads: n(&self.shared.reads),
            lists: n(&self.shared.lists),
            deletes: n(&self.shared.deletes),
            errors: n(&self.shared.errors),
            resets: n(&self.shared.resets),
            dropped: n(&self.shared.dropped),
        }
    }
}

/// Reads one request: its head (up to the blank line) and its body by Content-Length.
fn read_request(client: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).ok()? == 0 || head.len() > 64 << 10 {
            return None;
        }
        head.push(byte[0]);
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    request.parse(&head).ok()?;
    let length = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    client.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// The request head with `Connection: close`, so the server ends its answer by closing.
fn closing(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in text.split("\r\n") {
        if line.is_empty() || line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

fn serve(mut client: TcpStream, upstream: &str, shared: &Shared) {
    while let Some((head, body)) = read_request(&mut client) {
        shared.requests.fetch_add(1, Ordering::Relaxed);
        let line =
            String::from_utf8_lossy(&head[..head.iter().position(|b| *b == b'\r').unwrap_or(0)])
                .into_owned();
        let kind = match line.split(' ').next().unwrap_or_default() {
            "PUT" | "POST" => &shared.writes,
            "DELETE" => &shared.deletes,
            "GET" if line.contains("list-type=") || line.contains("?location") => &shared.lists,
            "GET"
                if line.split(' ').nth(1).is_some_and(|p| {
                    p.trim_end_matches('/').matches('/').count() <= 1 && p.contains('?')
                }) =>
            {
                &shared.lists
            }
            _ => &shared.reads,
        };
        kind.fetch_add(1, Ordering::Relaxed);
        let outage = shared
            .outage_until
            .lock()
            .unwrap()
            .is_some_and(|until| Instant::now() < until);
        if outage {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let faults = *shared.faults.lock().unwrap();
        if fastrand::f64() < faults.error_rate {
            shared.errors.fetch_add(1, Ordering::Relaxed);
            let (status, code) = if fastrand::bool() {
                ("503 Slow Down", "SlowDown")
            } else {
                ("500 Internal Server Error", "InternalError")
            };
            let xml = format!(
                "<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message></Error>"
            );
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{xml}",
                xml.len()
            );
            if client.write_all(answer.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let Ok(mut server) = TcpStream::connect(upstream) else {
            return;
        };
        if server.write_all(&closing(&head)).is_err() || server.write_all(&body).is_err() {
            return;
        }
        let mut answer = Vec::new();
        if server.read_to_end(&mut answer).is_err() {
            return;
        }
        if fastrand::f64() < faults.reset_rate {
            shared.resets.fetch_add(1, Ordering::Relaxed);
            let _ = client.write_all(&answer[..answer.len() / 2]);
            return;
        }
        if client.write_all(&answer).is_err() {
            return;
        }
        // The server said Connection: close; the client opens a new connection for its next request.
        let said_close = String::from_utf8_lossy(&answer[..answer.len().min(4096)])
            .to_ascii_lowercase()
            .contains("connection: close");
        if said_close {
            return;
        }
    }
}

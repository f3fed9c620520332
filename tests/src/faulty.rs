//! A fault-injecting HTTP proxy of our own, put in front of a real S3 server: per request it can answer
//! 503 SlowDown or 500 InternalError in the server's place, cut the server's answer off halfway, or, during
//! an outage, drop every connection; it can add latency, cap the bandwidth each way, and refuse what one
//! provider refuses (B2 the `x-amz-checksum-*` headers, R2 aws-chunked bodies, Object Lock a PUT without
//! Content-MD5), answering as that provider does. Requests it lets through reach the server byte for byte
//! (the Host header too, so signatures still match), one upstream connection per request. Errors and cut
//! answers come at exactly their share, spread evenly over the requests, so a test that asks for them gets
//! them however few requests it makes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does to the requests it sees.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// The share of requests answered 503 SlowDown or 500 InternalError by the proxy itself: at 0.1,
    /// every tenth request that reaches that point.
    pub error_rate: f64,
    /// The share of answers cut off halfway (the connection closed mid-body), spread the same way.
    pub reset_rate: f64,
    /// Waited before each request is forwarded.
    pub latency: Duration,
    /// The most bytes a second each way, per connection; 0 for no cap.
    pub bytes_per_second: u64,
    /// One provider's refusals.
    pub quirk: Option<Quirk>,
}

/// What one provider's S3 API refuses that others accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// Backblaze B2: any `x-amz-checksum-*` or `x-amz-sdk-checksum-algorithm` header, 400 InvalidArgument.
    B2,
    /// Cloudflare R2: an aws-chunked body (`Content-Encoding: aws-chunked`, a `STREAMING-` payload hash or
    /// trailing checksums), 501 NotImplemented.
    R2,
    /// A bucket with Object Lock: a PUT with `x-amz-object-lock-*` headers and neither Content-MD5 nor a
    /// checksum header, 400 InvalidRequest.
    ObjectLock,
}

impl Quirk {
    /// The refusal for a request with these (lowercased) header names and values, if it is one.
    fn refusal(
        self,
        method: &str,
        headers: &[(String, String)],
    ) -> Option<(&'static str, &'static str)> {
        let has = |prefix: &str| headers.iter().any(|(name, _)| name.starts_with(prefix));
        let value = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        match self {
            Quirk::B2 if has("x-amz-checksum-") || has("x-amz-sdk-checksum-algorithm") => {
                Some(("400 Bad Request", "InvalidArgument"))
            }
            Quirk::R2
                if value("content-encoding").contains("aws-chunked")
                    || value("x-amz-content-sha256").starts_with("STREAMING-")
                    || has("x-amz-trailer") =>
            {
                Some(("501 Not Implemented", "NotImplemented"))
            }
            Quirk::ObjectLock
                if method == "PUT"
                    && has("x-amz-object-lock-")
                    && !has("content-md5")
                    && !has("x-amz-checksum-") =>
            {
                Some(("400 Bad Request", "InvalidRequest"))
            }
            _ => None,
        }
    }
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
    /// Requests refused for a provider's quirk.
    pub refused: u64,
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
    refused: AtomicU64,
    owed: Mutex<Owed>,
}

/// How far each fault is behind its share: a request adds the share and a fault is due when a whole one is
/// owed, so a share of 0.05 is every twentieth request, never none by bad luck.
#[derive(Default)]
struct Owed {
    errors: f64,
    resets: f64,
}

impl Shared {
    fn due(&self, fault: impl FnOnce(&mut Owed) -> &mut f64, share: f64) -> bool {
        let mut owed = self.owed.lock().unwrap();
        let owed = fault(&mut owed);
        *owed += share;
        let due = *owed >= 1.0;
        if due {
            *owed -= 1.0;
        }
        due
    }
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
            refused: n(&self.shared.refused),
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

/// Answers an S3 error document; false if the client is gone.
fn answer_error(client: &mut TcpStream, status: &str, code: &str, message: &str) -> bool {
    let xml = format!(
        "<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{xml}",
        xml.len()
    );
    client.write_all(answer.as_bytes()).is_ok()
}

/// Writes `bytes` no faster than `per_second` (0: at once).
fn throttled(out: &mut TcpStream, bytes: &[u8], per_second: u64) -> std::io::Result<()> {
    if per_second == 0 {
        return out.write_all(bytes);
    }
    let started = Instant::now();
    let mut sent = 0u64;
    for piece in bytes.chunks(16 << 10) {
        out.write_all(piece)?;
        sent += piece.len() as u64;
        let due = Duration::from_secs_f64(sent as f64 / per_second as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    Ok(())
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
        std::thread::sleep(faults.latency);
        let refusal = faults.quirk.and_then(|quirk| {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut request = httparse::Request::new(&mut headers);
            request.parse(&head).ok()?;
            let method = request.method.unwrap_or_default().to_owned();
            let named: Vec<(String, String)> = request
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            quirk.refusal(&method, &named)
        });
        if let Some((status, code)) = refusal {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            if !answer_error(
                &mut client,
                status,
                code,
                "refused as the provider refuses it",
            ) {
                return;
            }
            continue;
        }
        if shared.due(|owed| &mut owed.errors, faults.error_rate) {
            // The two errors take turns.
            let (status, code) = if shared
                .errors
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(2)
            {
                ("503 Slow Down", "SlowDown")
            } else {
                ("500 Internal Server Error", "InternalError")
            };
            if !answer_error(&mut client, status, code, "injected by the test proxy") {
                return;
            }
            continue;
        }
        let Ok(mut server) = TcpStream::connect(upstream) else {
            return;
        };
        if server.write_all(&closing(&head)).is_err()
            || throttled(&mut server, &body, faults.bytes_per_second).is_err()
        {
            return;
        }
        let mut answer = Vec::new();
        if server.read_to_end(&mut answer).is_err() {
            return;
        }
        if shared.due(|owed| &mut owed.resets, faults.reset_rate) {
            shared.resets.fetch_add(1, Ordering::Relaxed);
            let _ = client.write_all(&answer[..answer.len() / 2]);
            return;
        }
        if throttled(&mut client, &answer, faults.bytes_per_second).is_err() {
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

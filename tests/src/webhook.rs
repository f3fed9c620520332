//! An HTTP endpoint on loopback that records every request (method, path, headers, body) and answers with
//! statuses the test scripts, so a test can make an alert channel fail and recover.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tiny_http::{Response, Server};

/// One request the receiver got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    pub method: String,
    /// The path with its query string, e.g. `/hooks/magi?x=1`.
    pub path: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status the receiver answered with.
    pub answered: u16,
}

impl ReceivedRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the request body is not JSON ({e}): {}", self.text()))
    }
}

#[derive(Debug, Default)]
struct Log {
    requests: Vec<ReceivedRequest>,
    /// Statuses for the next requests, in order; 200 once they run out.
    script: VecDeque<u16>,
}

#[derive(Debug, Default)]
struct Shared {
    log: Mutex<Log>,
    arrived: Condvar,
}

/// A running webhook receiver; stopped on drop.
pub struct WebhookReceiver {
    port: u16,
    server: Arc<Server>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl WebhookReceiver {
    /// Starts on a free port of 127.0.0.1, answering 200 to everything until told otherwise.
    pub fn start() -> WebhookReceiver {
        let server = Server::http("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("cannot start the webhook receiver: {e}"));
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .expect("the receiver listens on TCP");
        let server = Arc::new(server);
        let shared = Arc::new(Shared::default());
        let thread = {
            let (server, shared) = (Arc::clone(&server), Arc::clone(&shared));
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let mut body = Vec::new();
                    // A body cut short is recorded as far as it came.
                    let _ = request.as_reader().read_to_end(&mut body);
                    let mut log = shared.log.lock().unwrap_or_else(|e| e.into_inner());
                    let status = log.script.pop_front().unwrap_or(200);
                    log.requests.push(ReceivedRequest {
                        method: request.method().as_str().to_owned(),
                        path: request.url().to_owned(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| {
                                (
                                    h.field.as_str().as_str().to_ascii_lowercase(),
                                    h.value.as_str().to_owned(),
                                )
                            })
                            .collect(),
                        body,
                        answered: status,
                    });
                    drop(log);
                    shared.arrived.notify_all();
                    // The sender may have given up; that is its business.
                    let _ = request.respond(Response::from_string("").with_status_code(status));
                }
            })
        };
        WebhookReceiver {
            port,
            server,
            shared,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers the next requests with these statuses in order (then 200 again), e.g. `[503, 503]` for a
    /// channel that fails twice and recovers.
    pub fn respond_with(&self, statuses: &[u16]) {
        let mut log = self.shared.log.lock().unwrap_or_else(|e| e.into_inner());
        log.script.extend(statuses);
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        let log = self.shared.log.lock().unwrap_or_else(|e| e.into_inner());
        log.requests.clone()
    }

    /// Waits until at least `count` requests arrived and returns them all; panics at the timeout.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        let deadline = Instant::now() + timeout;
        let mut log = self.shared.log.lock().unwrap_or_else(|e| e.into_inner());
        while log.requests.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "the webhook receiver got {} request(s) within {timeout:?}, expected {count}",
                    log.requests.len()
                );
            }
            log = self
                .shared
                .arrived
                .wait_timeout(log, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        log.requests.clone()
    }
}

impl std::fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

//! The upstream LLM provider's stand-in (`tests/standins/openai`, binary `openai-standin`) on a free
//! loopback port, stopped on drop, with its control endpoint at hand: queue behaviours for the next
//! requests and read back what it received. The behaviours (model names `standin-429`, `standin-stall-MS`,
//! `standin-drop`, ...) are documented at the top of `tests/standins/openai/src/main.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::daemon::Daemon;

/// The line prefix the stand-in prints once it listens.
const LISTENING: &str = "openai-standin listening on http://";

/// A running `openai-standin`; stopped on drop.
#[derive(Debug)]
pub struct OpenAiStandin {
    port: u16,
    _dir: tempfile::TempDir,
    _daemon: Daemon,
}

impl OpenAiStandin {
    /// Starts the stand-in on a free port of 127.0.0.1 (it binds port 0 and says which port it got).
    pub fn start() -> OpenAiStandin {
        OpenAiStandin::spawn(false)
    }

    /// A stand-in that also ends when the test process ends, for an instance kept in a `static`.
    pub(crate) fn start_for_process() -> OpenAiStandin {
        OpenAiStandin::spawn(true)
    }

    fn spawn(lifeline: bool) -> OpenAiStandin {
        let dir = tempfile::Builder::new()
            .prefix("magi-openai-standin-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for openai-standin: {e}"));
        let log = dir.path().join("standin.log");
        let mut command = crate::bin("openai-standin");
        command.arg("--listen").arg("127.0.0.1:0");
        let mut daemon = if lifeline {
            command.arg("--exit-with-stdin");
            Daemon::spawn_with_lifeline("openai-standin", command, &log)
        } else {
            Daemon::spawn("openai-standin", command, &log)
        };
        let port = || -> Option<u16> {
            let text = std::fs::read_to_string(&log).ok()?;
            let line = text.lines().find_map(|l| l.strip_prefix(LISTENING))?;
            line.rsplit_once(':')?.1.trim().parse().ok()
        };
        daemon
            .wait_ready(Duration::from_secs(10), || port().is_some())
            .unwrap_or_else(|e| panic!("{}", e.message()));
        OpenAiStandin {
            port: port().expect("the stand-in said its port"),
            _dir: dir,
            _daemon: daemon,
        }
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The API base a client or LiteLLM's `api_base` takes: `http://127.0.0.1:PORT/v1`.
    pub fn api_base(&self) -> String {
        self.url("/v1")
    }

    /// Makes the next `count` API requests behave as `behaviour` (`429`, `500`, `stall-2000`, `drop`,
    /// `slow-stream-50`, `ok`), whatever model they name. Tests that share a stand-in use
    /// [`OpenAiStandin::queue_for`] instead.
    pub fn queue(&self, behaviour: &str, count: usize) {
        self.push(json!({"behaviour": behaviour, "count": count}));
    }

    /// Makes the next `count` requests for exactly the upstream model `model` (e.g. `standin-ok~breaker`)
    /// behave as `behaviour`; other models are untouched.
    pub fn queue_for(&self, model: &str, behaviour: &str, count: usize) {
        self.push(json!({"behaviour": behaviour, "count": count, "model": model}));
    }

    fn push(&self, request: Value) {
        ureq::post(self.url("/standin/next"))
            .send_json(&request)
            .unwrap_or_else(|e| panic!("openai-standin refuses to queue {request}: {e}"));
    }

    /// The recorded requests for exactly the upstream model `model`.
    pub fn requests_for(&self, model: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["model"] == model)
            .collect()
    }

    /// Every API request received so far, oldest first (`method`, `path`, `model`, `stream`,
    /// `include_usage`, `behaviour`, `body`).
    pub fn requests(&self) -> Vec<Value> {
        ureq::get(self.url("/standin/requests"))
            .call()
            .and_then(|mut r| r.body_mut().read_json::<Vec<Value>>())
            .unwrap_or_else(|e| panic!("cannot read openai-standin's requests: {e}"))
    }

    /// Forgets the recorded requests and the queued behaviours.
    pub fn reset(&self) {
        for path in ["/standin/requests", "/standin/next"] {
            ureq::delete(self.url(path))
                .call()
                .unwrap_or_else(|e| panic!("cannot reset openai-standin ({path}): {e}"));
        }
    }
}

//! magi-limits end to end: the built gateway in front of a real LiteLLM proxy (PyPI `litellm[proxy]`, no
//! database, as MAGI runs it) in front of the upstream stand-in (`openai-standin`, the one imitation: no real
//! provider can be reached here). Each test starts its own gateway with its own usage.db and uses its own
//! model names (`standin-ok~TEST`, routed by LiteLLM's wildcard) so the shared LiteLLM serves them all.
//!
//! Where LiteLLM cannot express a case the test goes to the stand-in directly and says so.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use magi_testkit::{Component, LiteLlm, bin, flood, free_port, require};

use crate::users::Users;
use serde_json::{Value, json};

/// A gateway of our own: its state directory, and the process once `serve` started it.
struct Gateway {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// One HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A usage row as stored.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    ts: String,
    user: String,
    model: String,
    prompt_tokens: i64,
    completion_tokens: i64,
    cost_usd: f64,
    status: i64,
    disconnected: bool,
    error: Option<String>,
}

impl Gateway {
    fn new() -> Gateway {
        Gateway {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            child: None,
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("usage.db")
    }

    fn metrics_dir(&self) -> PathBuf {
        self.dir.path().join("metrics")
    }

    /// `magi-limits --db DB ARGS`, asserting success.
    fn cli(&self, args: &[&str]) -> String {
        let output = self.cli_output(args);
        assert!(
            output.status.success(),
            "magi-limits {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn cli_output(&self, args: &[&str]) -> Output {
        bin("magi-limits")
            .arg("--db")
            .arg(self.db())
            .args(args)
            .env_remove("JOURNAL_STREAM")
            .env_remove("MAGI_LOG")
            .output()
            .unwrap()
    }

    /// Starts `serve` before `upstream`, with prices from `config`, and waits until it answers.
    fn serve(&mut self, upstream: &str, config: &Path, args: &[&str], env: &[(&str, &str)]) {
        let log = std::fs::File::create(self.dir.path().join("gateway.log")).unwrap();
        let mut command = bin("magi-limits");
        command
            .arg("--db")
            .arg(self.db())
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--upstream", upstream])
            .args(if args.contains(&"--flush-interval") {
                &[][..]
            } else {
                &["--flush-interval", "50ms"][..]
            })
            .arg("--litellm-config")
            .arg(config)
            .args(args)
            .env("MAGI_METRICS_DIR", self.metrics_dir())
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(command.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the gateway did not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM, and the exit status.
    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        child.wait().unwrap()
    }

    /// A request with a JSON body and extra headers, by raw HTTP/1.1 so every status and header is seen.
    fn post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        post_to(self.port, path, body, headers)
    }

    /// A streamed chat completion sent by raw HTTP/1.1 (`Connection: close`), its answer left to be read.
    fn stream_chat(&self, model: &str, max_tokens: u32) -> TcpStream {
        let body = json!({"model": model, "stream": true, "max_tokens": max_tokens,
                          "messages": [{"role": "user", "content": "tell me"}]})
        .to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nContent-Type: application/json\r\n\
             Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        stream
    }

    fn get(&self, path: &str) -> Answer {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        parse_answer(&raw)
    }

    /// A chat completion for `model` from `user` (Open WebUI's header: interactive).
    fn chat(&self, model: &str, user: Option<&str>, extra: Value) -> Answer {
        let mut body = json!({
            "model": model,
            "messages": [{"role": "user", "content": "one two three"}],
            "max_tokens": 4,
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let headers: Vec<(&str, &str)> = user
            .map(|u| vec![("X-OpenWebUI-User-Email", u)])
            .unwrap_or_default();
        self.post("/v1/chat/completions", &body.to_string(), &headers)
    }

    /// The value of one metric line (`name{labels}`), if present.
    fn metric(&self, series: &str) -> Option<f64> {
        self.get("/metrics").body.lines().find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(|v| v.trim().parse().ok())
        })
    }

    fn rows(&self) -> Vec<Row> {
        let conn = rusqlite::Connection::open(self.db()).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT ts, user, model, prompt_tokens, completion_tokens, cost_usd, status, disconnected, \
                 error FROM usage ORDER BY id",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(Row {
                ts: r.get(0)?,
                user: r.get(1)?,
                model: r.get(2)?,
                prompt_tokens: r.get(3)?,
                completion_tokens: r.get(4)?,
                cost_usd: r.get(5)?,
                status: r.get(6)?,
                disconnected: r.get(7)?,
                error: r.get(8)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// Waits until `n` usage rows are written.
    fn wait_rows(&self, n: usize) -> Vec<Row> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let rows = self.rows();
            if rows.len() >= n {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} usage rows after 10s: {rows:?}\n{}",
                rows.len(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// POST to 127.0.0.1:`port` by raw HTTP/1.1.
fn post_to(port: u16, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The `data:` payloads of an SSE body.
fn sse_data(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

fn litellm() -> Option<&'static LiteLlm> {
    require(Component::LiteLLM).then(LiteLlm::shared)
}

fn start(litellm: &LiteLlm, args: &[&str], env: &[(&str, &str)]) -> Gateway {
    let mut gateway = Gateway::new();
    gateway.serve(&litellm.url(""), litellm.config_path(), args, env);
    gateway
}

const PROMPT_PRICE: f64 = magi_testkit::litellm::INPUT_COST_PER_TOKEN;
const COMPLETION_PRICE: f64 = magi_testkit::litellm::OUTPUT_COST_PER_TOKEN;

#[test]
fn limits_usage_rows_are_exact_for_streamed_and_plain_calls_and_survive_a_stop() {
    let Some(litellm) = litellm() else { return };
    let model = "standin-ok~limits-usage";
    let mut gateway = Gateway::new();
    // Written only at the stop: the rows below prove the batch is flushed on SIGTERM.
    gateway.serve(
        &litellm.url(""),
        litellm.config_path(),
        &["--flush-interval", "1h"],
        &[],
    );
    let plain = gateway.chat(model, Some("ann@example.org"), json!({"max_tokens": 5}));
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(plain.json()["usage"]["completion_tokens"], 5);

    // The client did not ask for usage: the gateway asks upstream and drops that chunk from the stream.
    let streamed = gateway.chat(model, None, json!({"stream": true, "max_tokens": 7}));
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    assert!(
        streamed
            .header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let data = sse_data(&streamed.body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content.split_whitespace().count(), 7);
    assert!(
        chunks.iter().all(|c| c["usage"].is_null()),
        "usage the client did not ask for reached it: {data:?}"
    );
    // Exactly the chunks LiteLLM itself sends a client that does not ask for usage.
    let body = json!({"model": model, "stream": true, "max_tokens": 7,
                      "messages": [{"role": "user", "content": "one two three"}]});
    let direct = post_to(
        litellm.port(),
        "/v1/chat/completions",
        &body.to_string(),
        &[],
    );
    assert_eq!(
        sse_data(&direct.body).len(),
        data.len(),
        "{data:?}\n{}",
        direct.body
    );

    // The client asked for usage itself: it gets the chunk.
    let asked = gateway.chat(
        model,
        None,
        json!({"stream": true, "max_tokens": 2, "stream_options": {"include_usage": true}}),
    );
    let usage_chunk = sse_data(&asked.body)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .find(|c| !c["usage"].is_null());
    assert_eq!(
        usage_chunk.expect("the usage chunk")["usage"]["completion_tokens"],
        2
    );

    let metric = |series: &str| gateway.metric(&format!("{series}{{model=\"{model}\"}}"));
    assert_eq!(
        gateway.metric(&format!(
            "magi_limits_tokens_total{{model=\"{model}\",kind=\"completion\"}}"
        )),
        Some(14.0)
    );
    assert_eq!(
        metric("magi_limits_request_duration_seconds_count"),
        Some(3.0)
    );
    let cost = metric("magi_limits_cost_usd_total").unwrap();
    assert!(
        (cost - (9.0 * PROMPT_PRICE + 14.0 * COMPLETION_PRICE)).abs() < 1e-12,
        "{cost}"
    );
    assert!(
        gateway.rows().is_empty(),
        "nothing is written before the flush"
    );
    assert!(gateway.stop().success(), "{}", gateway.log());
    let rows = gateway.rows();
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.user.as_str(),
                r.model.as_str(),
                r.prompt_tokens,
                r.completion_tokens,
                r.status,
                r.disconnected,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ann@example.org", model, 3, 5, 200, false),
            ("anonymous", model, 3, 7, 200, false),
            ("anonymous", model, 3, 2, 200, false),
        ]
    );
    for row in &rows {
        let expected = row.prompt_tokens as f64 * PROMPT_PRICE
            + row.completion_tokens as f64 * COMPLETION_PRICE;
        assert!(
            (row.cost_usd - expected).abs() < 1e-12,
            "cost of {row:?}, expected {expected}"
        );
        assert!(row.ts.ends_with('Z') && row.ts.len() == 24, "{}", row.ts);
    }

    // The same calls as figures in the metrics store, per model and user, and a latency histogram.
    let total = |series: &str| -> f64 {
        let out = bin("magi-metrics")
            .args([
                "query", series, "--range", "1h", "--points", "1000", "--json",
            ])
            .env("MAGI_METRICS_DIR", gateway.metrics_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["value"]
                    .as_f64()
                    .unwrap()
            })
            .sum()
    };
    assert_eq!(total(&format!("llm_requests{{model=\"{model}\"}}")), 3.0);
    assert_eq!(
        total(&format!(
            "llm_requests{{model=\"{model}\",user=\"anonymous\"}}"
        )),
        2.0
    );
    assert_eq!(
        total(&format!("llm_completion_tokens{{model=\"{model}\"}}")),
        14.0
    );
    assert_eq!(total(&format!("llm_errors{{model=\"{model}\"}}")), 0.0);
    assert_eq!(
        total(&format!("llm_latency_seconds_count{{model=\"{model}\"}}")),
        3.0
    );
    // Each answer's first byte too: one observation per call that reached upstream.
    assert_eq!(
        total(&format!(
            "llm_first_byte_seconds_count{{model=\"{model}\"}}"
        )),
        3.0
    );
    let p95 = bin("magi-metrics")
        .args([
            "query",
            "llm_latency_seconds",
            "--quantile",
            "0.95",
            "--range",
            "1h",
            "--json",
        ])
        .env("MAGI_METRICS_DIR", gateway.metrics_dir())
        .output()
        .unwrap();
    let p95: Value = serde_json::from_slice(&p95.stdout).unwrap();
    let p95 = p95["overall"].as_f64().expect("a p95 from the histogram");
    assert!(p95 > 0.0 && p95 <= 120.0, "{p95}");
}

#[test]
fn limits_rate_limits_refuse_at_exactly_the_limit_with_openai_headers() {
    let Some(litellm) = litellm() else { return };
    let mut gateway = Gateway::new();
    let (rpm_model, tpm_model) = ("standin-ok~limits-rpm", "standin-ok~limits-tpm");
    gateway.cli(&["set", rpm_model, "--rpm", "3"]);
    // Each call below is 3 prompt + 4 completion = 7 tokens: two fit in 14, the third must wait.
    gateway.cli(&["set", tpm_model, "--tpm", "14"]);
    gateway.cli(&["set", "--user", "ann@example.org", "--rpm", "2"]);
    gateway.serve(
        &litellm.url(""),
        litellm.config_path(),
        &["--queue-wait", "0s"],
        &[],
    );
    let statuses = |model: &str, user: Option<&str>, n: usize| -> Vec<Answer> {
        (0..n)
            .map(|_| gateway.chat(model, user, json!({})))
            .collect()
    };
    let answers = statuses(rpm_model, None, 4);
    assert_eq!(
        answers.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![200, 200, 200, 429]
    );
    let refused = &answers[3];
    assert_eq!(refused.json()["error"]["code"], "rate_limit_exceeded");
    assert_eq!(refused.json()["error"]["type"], "rate_limit_error");
    // One request token comes back every 20 s.
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((15..=20).contains(&retry), "{retry}");
    assert_eq!(refused.header("x-ratelimit-limit-requests"), Some("3"));
    assert_eq!(refused.header("x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(litellm.standin().requests_for(rpm_model).len(), 3);

    let answers = statuses(tpm_model, None, 3);
    assert_eq!(
        answers.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![200, 200, 429]
    );
    assert_eq!(answers[2].header("x-ratelimit-limit-tokens"), Some("14"));

    let model = "standin-ok~limits-user";
    let answers = statuses(model, Some("ann@example.org"), 3);
    assert_eq!(
        answers.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![200, 200, 429]
    );
    assert!(
        answers[2].json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("rate limit of user ann@example.org reached (2 requests per minute)")
    );
    assert_eq!(
        gateway
            .chat(model, Some("bob@example.org"), json!({}))
            .status,
        200
    );

    // A change reaches the running gateway without a restart.
    gateway.cli(&["set", rpm_model, "--rpm", "100"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while gateway.chat(rpm_model, None, json!({})).status != 200 {
        assert!(Instant::now() < deadline, "the new limit was not applied");
        std::thread::sleep(Duration::from_millis(200));
    }
    let show: Vec<Value> = gateway
        .cli(&["show", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rpm = show
        .iter()
        .find(|r| r["name"] == rpm_model)
        .expect("the model's limit is shown");
    assert_eq!(rpm["rpm"], 100);
    assert!(rpm["requests_last_minute"].as_u64().unwrap() >= 3, "{rpm}");
}

#[test]
fn limits_queue_serves_interactive_first_within_its_bound_and_wait() {
    let Some(litellm) = litellm() else { return };
    let model = "standin-ok~limits-queue";
    let mut gateway = Gateway::new();
    // 12 a minute: a burst of 12, then one every 5 s, so the three requests below queue well inside one
    // refill even on a loaded machine (at one a second a refill could serve the first before the second
    // arrived), and the three are served within the 20 s wait.
    gateway.cli(&["set", model, "--rpm", "12"]);
    gateway.serve(
        &litellm.url(""),
        litellm.config_path(),
        &["--queue-max", "3", "--queue-wait", "20s"],
        &[],
    );
    for _ in 0..12 {
        assert_eq!(gateway.chat(model, None, json!({})).status, 200);
    }
    let depth = format!("magi_limits_queue_depth{{model=\"{model}\"}}");
    let port = gateway.port;
    let send = move |tag: &'static str, user: Option<&'static str>| {
        std::thread::spawn(move || {
            let mut g = Gateway::new();
            g.port = port;
            let body = json!({"model": model, "messages": [{"role": "user", "content": tag}], "max_tokens": 1});
            let headers: Vec<(&str, &str)> = user
                .map(|u| vec![("X-OpenWebUI-User-Email", u)])
                .unwrap_or_default();
            g.post("/v1/chat/completions", &body.to_string(), &headers)
                .status
        })
    };
    let queued = |n: f64| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if gateway.metric(&depth).unwrap_or(0.0) >= n {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // The bucket refilled a little while the burst went through: send until a request has to queue.
    let mut waiting = Vec::new();
    for _ in 0..100 {
        let first = send("workflow-1", None);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !first.is_finished() && gateway.metric(&depth).unwrap_or(0.0) < 1.0 {
            assert!(Instant::now() < deadline, "neither answered nor queued");
            std::thread::sleep(Duration::from_millis(5));
        }
        if !first.is_finished() {
            waiting.push(first);
            break;
        }
        assert_eq!(first.join().unwrap(), 200);
    }
    assert_eq!(waiting.len(), 1, "nothing queued: {}", gateway.log());
    // The stand-in is shared with other tests: count only what arrives from here on.
    let before = litellm.standin().requests_for(model).len();
    waiting.push(send("workflow-2", None));
    assert!(queued(2.0), "workflow-2 did not queue");
    waiting.push(send("interactive", Some("ann@example.org")));
    assert!(queued(3.0), "interactive did not queue");
    let full = gateway.chat(model, None, json!({}));
    assert_eq!(full.status, 429);
    assert!(
        full.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the queue is full (3 requests waiting)"),
        "{}",
        full.body
    );
    for handle in waiting {
        assert_eq!(handle.join().unwrap(), 200);
    }
    let order: Vec<String> = litellm
        .standin()
        .requests_for(model)
        .iter()
        .skip(before)
        .map(|r| {
            r["body"]["messages"][0]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(order, vec!["interactive", "workflow-1", "workflow-2"]);
    assert_eq!(gateway.metric(&depth).unwrap_or(0.0), 0.0);

    // The maximum wait: with the bucket empty again, a request waits 1 s at most, then 429.
    let mut short = Gateway::new();
    short.cli(&["set", model, "--rpm", "1"]);
    short.serve(
        &litellm.url(""),
        litellm.config_path(),
        &["--queue-wait", "1s"],
        &[],
    );
    assert_eq!(short.chat(model, None, json!({})).status, 200);
    let started = Instant::now();
    let waited = short.chat(model, None, json!({}));
    assert_eq!(waited.status, 429);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(950) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert!(
        waited.body.contains("waited in the queue"),
        "{}",
        waited.body
    );
}

#[test]
fn limits_breaker_opens_half_opens_and_closes_and_retries_before_the_first_byte() {
    let Some(litellm) = litellm() else { return };
    let standin = litellm.standin();
    let model = "standin-ok~limits-breaker";
    let mut gateway = Gateway::new();
    gateway.serve(
        &litellm.url(""),
        litellm.config_path(),
        &[
            "--breaker-failures",
            "3",
            "--breaker-cooldown",
            "1s",
            "--retries",
            "0",
        ],
        &[],
    );
    standin.queue_for(model, "503", 4);
    for _ in 0..3 {
        let failed = gateway.chat(model, None, json!({}));
        assert!(failed.status >= 500, "{failed:?}");
    }
    let open = gateway.chat(model, None, json!({}));
    assert_eq!(open.status, 503);
    assert_eq!(open.json()["error"]["code"], "circuit_open");
    assert_eq!(
        open.header("retry-after"),
        Some("1"),
        "the 1 s cooldown, rounded up"
    );
    assert_eq!(
        standin.requests_for(model).len(),
        3,
        "open: nothing goes upstream"
    );
    assert_eq!(
        gateway.metric(&format!("magi_limits_breaker_state{{model=\"{model}\"}}")),
        Some(2.0)
    );

    // Half-open: one probe; it fails (the 4th queued 503), so the breaker opens again.
    std::thread::sleep(Duration::from_millis(1100));
    assert!(gateway.chat(model, None, json!({})).status >= 500);
    assert_eq!(gateway.chat(model, None, json!({})).status, 503);
    assert_eq!(standin.requests_for(model).len(), 4);

    // The next probe succeeds and closes it.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(gateway.chat(model, None, json!({})).status, 200);
    assert_eq!(gateway.chat(model, None, json!({})).status, 200);
    assert_eq!(
        gateway.metric(&format!("magi_limits_breaker_state{{model=\"{model}\"}}")),
        Some(0.0)
    );
    gateway.wait_rows(8);
    let breakers: Vec<Value> = gateway
        .cli(&["breakers", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(breakers.len(), 1);
    assert_eq!(breakers[0]["state"], "closed");
    let errors: Vec<Value> = gateway
        .cli(&["errors", "recent", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        errors
            .iter()
            .map(|e| e["count"].as_u64().unwrap())
            .sum::<u64>(),
        4,
        "{errors:?}"
    );

    // Retries: two failures before the first byte are retried; the client sees only the success.
    let mut retrying = Gateway::new();
    retrying.serve(
        &litellm.url(""),
        litellm.config_path(),
        &["--retries", "2", "--backoff", "20ms"],
        &[],
    );
    let model = "standin-ok~limits-retry";
    standin.queue_for(model, "500", 2);
    let answer = retrying.chat(model, None, json!({}));
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(standin.requests_for(model).len(), 3);
}

#[test]
fn limits_quota_and_budget_reset_at_the_utc_day_boundary() {
    let Some(litellm) = litellm() else { return };
    let model = "standin-ok~limits-quota";
    let mut gateway = Gateway::new();
    gateway.cli(&["quota", "set", "ann@example.org", "14"]);
    // Two calls of 3 + 4 tokens cost 2 × (3 × 1e-6 + 4 × 2e-6) = $0.000022.
    gateway.cli(&[
        "budget",
        "set",
        "--daily",
        "0.00002",
        "--user",
        "bob@example.org",
    ]);
    gateway.serve(
        &litellm.url(""),
        litellm.config_path(),
        &[],
        &[("MAGI_LIMITS_NOW", "2026-11-24T23:59:52Z")],
    );
    for user in ["ann@example.org", "bob@example.org"] {
        for _ in 0..2 {
            assert_eq!(gateway.chat(model, Some(user), json!({})).status, 200);
        }
        gateway.wait_rows(if user.starts_with("ann") { 2 } else { 4 });
    }
    let quota = gateway.chat(model, Some("ann@example.org"), json!({}));
    assert_eq!(quota.status, 429);
    assert_eq!(quota.json()["error"]["type"], "insufficient_quota");
    assert_eq!(
        quota.json()["error"]["message"],
        "daily quota of 14 tokens reached; resets at 00:00 UTC (ann@example.org used 14 today)"
    );
    let retry: u64 = quota.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=8).contains(&retry), "{retry}");
    let budget = gateway.chat(model, Some("bob@example.org"), json!({}));
    assert_eq!(budget.status, 429);
    assert!(
        budget.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("daily budget of $0.000020 for bob@example.org reached"),
        "{}",
        budget.body
    );
    // After midnight (gateway time) both go again.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut requests = 6;
    loop {
        requests += 1;
        if gateway
            .chat(model, Some("ann@example.org"), json!({}))
            .status
            == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "the quota did not reset");
        std::thread::sleep(Duration::from_millis(250));
    }
    let bob = gateway.chat(model, Some("bob@example.org"), json!({}));
    assert_eq!(bob.status, 200);
    let rows = gateway.wait_rows(requests + 1);
    let passed_after: Vec<&Row> = rows.iter().filter(|r| r.status == 200).skip(4).collect();
    assert!(!passed_after.is_empty());
    for row in passed_after {
        assert!(row.ts.as_str() >= "2026-11-25T00:00:00.000Z", "{row:?}");
    }
    for row in rows.iter().filter(|r| r.status == 429) {
        assert!(row.ts.as_str() < "2026-11-25T00:00:00.000Z", "{row:?}");
    }
}

#[test]
fn limits_client_disconnect_mid_stream_is_recorded_and_nothing_leaks() {
    let Some(litellm) = litellm() else { return };
    let model = "standin-slow-stream";
    let gateway = start(litellm, &[], &[]);
    let fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", gateway.pid()))
            .unwrap()
            .count()
    };
    // Warm the upstream connection pool so the baseline counts it.
    assert_eq!(
        gateway
            .chat("standin-ok~limits-disconnect", None, json!({}))
            .status,
        200
    );
    let baseline = fds();
    let mut stream = gateway.stream_chat(model, 40);
    let mut first = [0u8; 512];
    let n = stream.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    drop(stream);
    let rows = gateway.wait_rows(2);
    let cut = &rows[1];
    assert_eq!(
        (cut.model.as_str(), cut.status, cut.disconnected),
        (model, 200, true),
        "{cut:?}"
    );
    assert!(cut.error.is_none());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let in_flight = gateway.metric("magi_limits_in_flight");
        if in_flight == Some(0.0) && fds() <= baseline {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "leaked: in flight {in_flight:?}, {} fds against {baseline}",
            fds()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn limits_streams_each_chunk_as_it_arrives() {
    let Some(litellm) = litellm() else { return };
    let gateway = start(litellm, &[], &[]);
    let pace = Duration::from_millis(150);
    let mut stream = gateway.stream_chat("standin-slow-stream-150~limits-pace", 6);
    let sent = Instant::now();
    let mut seen = String::new();
    // When each content chunk ("w1", "w2", ...) reached the client.
    let mut arrivals: Vec<Duration> = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
        let words =
            seen.matches("\"content\":\"w").count() + seen.matches("\"content\":\" w").count();
        while arrivals.len() < words {
            arrivals.push(sent.elapsed());
        }
    }
    assert!(seen.contains("data: [DONE]"), "{seen}");
    assert_eq!(arrivals.len(), 6, "six words: {seen}");
    // Upstream sends a word every 150 ms: each reaches the client on its own, none held for the next.
    for pair in arrivals.windows(2) {
        assert!(
            pair[1] - pair[0] >= pace / 2,
            "words arrived together, not as upstream sent them: {arrivals:?}"
        );
    }
}

#[test]
fn limits_malformed_json_gets_a_clear_400_and_the_gateway_carries_on() {
    let Some(litellm) = litellm() else { return };
    let gateway = start(litellm, &[], &[]);
    for body in ["{\"model\": ", "not json at all", "{\"model\": \"x\",}"] {
        let answer = gateway.post("/v1/chat/completions", body, &[]);
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        let error = &answer.json()["error"];
        assert_eq!(error["code"], "invalid_json");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("the request body is not valid JSON: "),
            "{error}"
        );
    }
    assert!(litellm.standin().requests_for("x").is_empty());
    let models = gateway.get("/v1/models");
    assert_eq!(
        models.status, 200,
        "other paths pass through: {}",
        models.body
    );
    assert_eq!(
        gateway
            .chat("standin-ok~limits-400", None, json!({}))
            .status,
        200
    );
}

#[test]
fn limits_first_byte_and_idle_timeouts_end_a_silent_upstream() {
    let Some(litellm) = litellm() else { return };
    let gateway = start(
        litellm,
        &[
            "--first-byte-timeout",
            "3s",
            "--idle-timeout",
            "700ms",
            "--retries",
            "0",
        ],
        &[],
    );
    // The stand-in waits 5 s before its status line; LiteLLM waits with it.
    let started = Instant::now();
    let stalled = gateway.chat("standin-stall", None, json!({}));
    assert_eq!(stalled.status, 504, "{}", stalled.body);
    assert!(started.elapsed() < Duration::from_millis(4500));
    assert!(
        stalled.json()["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("sent no answer within 3s (--first-byte-timeout)"),
        "{}",
        stalled.body
    );
    // 2 s before each chunk: LiteLLM answers once the first has come (within 3 s), then the gateway ends
    // the stream after 700 ms of silence.
    let started = Instant::now();
    let idle = gateway.chat(
        "standin-slow-stream-2000~limits-idle",
        None,
        json!({"stream": true, "max_tokens": 3}),
    );
    assert_eq!(idle.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(!idle.body.contains("[DONE]"), "{}", idle.body);
    let rows = gateway.wait_rows(2);
    assert_eq!(
        rows[0]
            .error
            .as_deref()
            .map(|e| e.contains("no answer within 3s")),
        Some(true)
    );
    assert_eq!(
        rows[1].error.as_deref(),
        Some("upstream sent nothing for 700ms mid-answer (--idle-timeout)"),
        "{:?}",
        rows[1]
    );
    // Cut mid-stream: LiteLLM turns it into an error event; the row says so.
    let cut = gateway.chat(
        "standin-drop~limits-cut",
        None,
        json!({"stream": true, "max_tokens": 6}),
    );
    assert_eq!(cut.status, 200);
    let rows = gateway.wait_rows(3);
    assert!(
        rows[2]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("upstream failed mid-stream: ")),
        "{:?}",
        rows[2]
    );
    let errors = gateway.cli(&["errors", "recent"]);
    assert!(
        errors.contains("standin-stall") && errors.contains("504"),
        "{errors}"
    );
}

/// Straight to the stand-in, because LiteLLM always says the cost itself (header or `usage.cost`): without
/// it, the cost comes from the `model_info` prices of LiteLLM's config.yaml.
#[test]
fn limits_cost_falls_back_to_config_prices_without_litellms_word() {
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    let config = gateway.dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "model_list:\n  - model_name: priced\n    litellm_params:\n      model: openai/priced\n    \
         model_info:\n      input_cost_per_token: 0.5\n      output_cost_per_token: 2\n  \
         - model_name: \"*\"\n    litellm_params:\n      model: openai/*\n    model_info:\n      \
         input_cost_per_token: 0.25\n",
    )
    .unwrap();
    gateway.serve(&standin.url(""), &config, &[], &[]);
    assert_eq!(
        gateway
            .chat("priced", None, json!({"max_tokens": 2}))
            .status,
        200
    );
    let streamed = gateway.chat("other", None, json!({"stream": true, "max_tokens": 2}));
    assert_eq!(streamed.status, 200);
    let rows = gateway.wait_rows(2);
    // 3 prompt tokens × 0.5 + 2 completion tokens × 2; then 3 × 0.25 by the wildcard.
    assert_eq!(rows[0].cost_usd, 5.5, "{:?}", rows[0]);
    assert_eq!(rows[1].cost_usd, 0.75, "{:?}", rows[1]);
    assert!(
        gateway.log().contains("2 model prices from"),
        "{}",
        gateway.log()
    );

    // A config it cannot read costs the prices, not the service.
    let mut broken = Gateway::new();
    let config = broken.dir.path().join("config.yaml");
    std::fs::write(&config, "model_list: [\n").unwrap();
    broken.serve(&standin.url(""), &config, &[], &[]);
    assert_eq!(broken.chat("priced", None, json!({})).status, 200);
    assert!(
        broken.log().contains("not a LiteLLM config"),
        "{}",
        broken.log()
    );
}

/// Straight to the stand-in, because LiteLLM turns a cut stream into an error event of its own: an answer
/// whose connection upstream cuts mid-body (a stream and a sized JSON answer) reaches the client as far as
/// it came and no further, its row says it was cut short, and the gateway carries on.
#[test]
fn limits_an_answer_cut_mid_body_by_upstream_ends_there_and_is_recorded() {
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(&standin.url(""), &config, &[], &[]);
    let stream = gateway.chat(
        "standin-drop",
        None,
        json!({"stream": true, "max_tokens": 6, "stream_options": {"include_usage": true}}),
    );
    assert_eq!(stream.status, 200);
    let events = sse_data(&stream.body);
    assert!(!events.is_empty(), "{}", stream.body);
    assert!(!events.iter().any(|e| e == "[DONE]"), "{}", stream.body);
    let plain = gateway.chat("standin-drop", None, json!({"max_tokens": 6}));
    assert_eq!(plain.status, 200);
    assert!(
        serde_json::from_str::<Value>(&plain.body).is_err(),
        "half a JSON body: {}",
        plain.body
    );
    let ok = gateway.chat("standin-ok", None, json!({"max_tokens": 2}));
    assert_eq!(ok.status, 200);
    let rows = gateway.wait_rows(3);
    for row in &rows[..2] {
        assert_eq!(
            row.error.as_deref(),
            Some("upstream answer cut short: the connection closed mid-answer"),
            "{row:?}"
        );
    }
    assert_eq!(rows[2].error, None, "{:?}", rows[2]);
    assert_eq!(rows[2].completion_tokens, 2);
}

/// Socket activation as systemd does it (`systemd-socket-activate` passes the listening socket as fd 3
/// with LISTEN_FDS/LISTEN_PID, like magi-limits.socket): the gateway serves that socket, not --listen.
#[test]
fn limits_serves_the_socket_systemd_passes() {
    if !require(Component::SystemdAnalyze) {
        return;
    }
    let standin = magi_testkit::OpenAiStandin::start();
    let gateway = Gateway::new();
    let log = std::fs::File::create(gateway.dir.path().join("gateway.log")).unwrap();
    let mut activator = Command::new("systemd-socket-activate")
        .args(["--listen", &format!("127.0.0.1:{}", gateway.port)])
        // systemd-socket-activate hands the child only the environment it is told to: without this the
        // gateway would keep its figures in the machine's own /var/lib/magi/metrics.
        .arg(format!(
            "--setenv=MAGI_METRICS_DIR={}",
            gateway.metrics_dir().display()
        ))
        .arg(magi_testkit::bin_path("magi-limits"))
        .arg("--db")
        .arg(gateway.db())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:1",
            "--upstream",
            &standin.url(""),
        ])
        .arg("--litellm-config")
        .arg(gateway.dir.path().join("none.yaml"))
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", gateway.port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "systemd-socket-activate did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let answer = gateway.chat("standin-ok", None, json!({}));
    let _ = activator.kill();
    let _ = activator.wait();
    assert_eq!(answer.status, 200, "{}\n{}", answer.body, gateway.log());
    assert!(
        gateway
            .log()
            .contains("listening on the socket systemd passed"),
        "{}",
        gateway.log()
    );
}

/// The gateway keeps its upstream connections alive and reuses them, and one that upstream closed while it
/// sat idle is passed over for a new one: no error, no retry, nothing counted against the breaker. nginx in
/// front of the stand-in closes idle connections after a second and logs the connection serving each
/// request.
#[test]
fn limits_kept_alive_upstream_connections_are_reused_and_a_closed_one_is_passed_over() {
    if !require(Component::Nginx) {
        return;
    }
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    let log = gateway.dir.path().join("upstream-connections.log");
    let nginx = magi_testkit::Nginx::start_with(
        &format!(
            "    log_format connections '$connection $status';\n    \
             upstream standin {{ server 127.0.0.1:{}; keepalive 16; }}",
            standin.port()
        ),
        &format!(
            "keepalive_timeout 1s; access_log {} connections; location / {{ proxy_pass http://standin; \
             proxy_http_version 1.1; proxy_set_header Connection \"\"; }}",
            log.display()
        ),
    );
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(
        &nginx.url(""),
        &config,
        &["--breaker-failures", "1", "--retries", "0"],
        &[],
    );
    let connections = || -> Vec<String> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
            .collect()
    };
    for _ in 0..3 {
        let answer = gateway.chat("standin-ok", None, json!({"stream": true}));
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let served = connections();
    assert_eq!(served.len(), 3, "{served:?}");
    assert!(
        served.iter().all(|c| *c == served[0]),
        "one kept-alive connection served the three: {served:?}"
    );
    // nginx closes the idle connection; the next request goes on a new one, and answers.
    std::thread::sleep(Duration::from_millis(1500));
    let answer = gateway.chat("standin-ok", None, json!({}));
    assert_eq!(answer.status, 200, "{}\n{}", answer.body, gateway.log());
    let served = connections();
    assert_eq!(served.len(), 4, "{served:?}");
    assert_ne!(served[3], served[0], "a new connection: {served:?}");
    assert!(
        !gateway.log().contains("cannot reach"),
        "no failure was logged: {}",
        gateway.log()
    );
    let breaker = gateway.chat("standin-ok", None, json!({}));
    assert_eq!(breaker.status, 200, "the breaker (1 failure) stayed closed");
}

/// Nothing listens upstream (LiteLLM down): connection errors are retried, answered 502 with the cause,
/// and open the breaker like 5xx answers do. No LiteLLM needed for a closed port.
#[test]
fn limits_connection_errors_are_retried_then_open_the_breaker() {
    let mut gateway = Gateway::new();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(
        &closed,
        &config,
        &[
            "--retries",
            "1",
            "--backoff",
            "10ms",
            "--breaker-failures",
            "4",
        ],
        &[],
    );
    for _ in 0..2 {
        let down = gateway.chat("gpt", None, json!({}));
        assert_eq!(down.status, 502, "{}", down.body);
        let message = down.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(
            message.starts_with(&format!("cannot reach LiteLLM at {closed}")),
            "{message}"
        );
    }
    // Two requests, two attempts each: four failures open the breaker.
    let open = gateway.chat("gpt", None, json!({}));
    assert_eq!(open.status, 503, "{}", open.body);
    assert_eq!(open.json()["error"]["code"], "circuit_open");
    let other = gateway.chat("another-model", None, json!({}));
    assert_eq!(other.status, 502, "breakers are per model");
    // The change is a breaker.state event in the log (journald fields for magi-alert under systemd).
    assert!(
        gateway
            .log()
            .contains("breaker of model gpt opened after 4 failures"),
        "{}",
        gateway.log()
    );
}

/// Type=notify as systemd sees it: READY=1 once listening, WATCHDOG=1 at half the WatchdogSec= interval,
/// STOPPING=1 on SIGTERM.
#[test]
fn limits_tells_systemd_it_is_ready_and_alive() {
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    let socket_path = gateway.dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(
        &standin.url(""),
        &config,
        &[],
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let mut seen = String::new();
    let mut buf = [0u8; 512];
    while !(seen.contains("READY=1") && seen.matches("WATCHDOG=1").count() >= 3) {
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{e}; notified so far: {seen:?}"));
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(gateway.stop().success());
    let n = socket.recv(&mut buf).unwrap();
    let mut rest = String::from_utf8_lossy(&buf[..n]).into_owned();
    while !rest.contains("STOPPING=1") {
        let n = socket.recv(&mut buf).unwrap();
        rest.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// A client that gives up while its request waits in the queue: the request leaves the queue, the row says
/// 499 and disconnected, and nothing stays in flight. Straight to the stand-in: nothing reaches upstream.
#[test]
fn limits_a_client_leaving_the_queue_is_recorded_and_frees_its_place() {
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    gateway.cli(&["set", "gpt", "--rpm", "1"]);
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(&standin.url(""), &config, &["--queue-wait", "30s"], &[]);
    assert_eq!(gateway.chat("gpt", None, json!({})).status, 200);
    let body = json!({"model": "gpt", "messages": []}).to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", gateway.port)).unwrap();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: g\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let depth = "magi_limits_queue_depth{model=\"gpt\"}";
    let deadline = Instant::now() + Duration::from_secs(5);
    while gateway.metric(depth) != Some(1.0) {
        assert!(Instant::now() < deadline, "the request did not queue");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stream);
    let rows = gateway.wait_rows(2);
    assert_eq!(
        (rows[1].status, rows[1].disconnected),
        (499, true),
        "{:?}",
        rows[1]
    );
    assert_eq!(gateway.metric(depth).unwrap_or(0.0), 0.0);
    assert_eq!(gateway.metric("magi_limits_in_flight"), Some(0.0));
    assert_eq!(standin.requests_for("gpt").len(), 1);
}

#[test]
fn limits_a_magi_api_key_counts_against_its_holder_whose_quota_magi_users_sets() {
    let Some(litellm) = litellm() else { return };
    let model = "standin-ok~limits-keys";
    let mut gateway = Gateway::new();
    let users = Users::new("");
    users.ok(
        &[
            "add",
            "ann",
            "--email",
            "ann@example.org",
            "--password-file",
            "-",
        ],
        "correct horse battery\n",
    );
    let key = users
        .ok(&["keys", "create", "ann"], "")
        .split_whitespace()
        .find(|w| w.starts_with("magi_"))
        .expect("keys create prints the key")
        .to_owned();
    // One call is 3 prompt + 4 completion tokens: a quota of 7 lets exactly one through.
    let limits_db = gateway.db();
    let limits_db = limits_db.to_str().unwrap();
    users.ok(&["quota", "set", "ann", "7", "--limits-db", limits_db], "");
    let unknown = users.run(
        &["quota", "set", "nobody", "7", "--limits-db", limits_db],
        "",
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        gateway.cli(&["show", "--json"]).contains("\"ann\""),
        "magi-limits shows the quota magi-users set"
    );
    gateway.serve(
        &litellm.url(""),
        litellm.config_path(),
        &["--users-db", users.db().to_str().unwrap()],
        &[],
    );
    let body = json!({
        "model": model,
        "messages": [{"role": "user", "content": "one two three"}],
        "max_tokens": 4,
    })
    .to_string();
    let bearer = format!("Bearer {key}");
    let call = |authorization: &str| {
        gateway.post(
            "/v1/chat/completions",
            &body,
            &[("Authorization", authorization), ("Remote-User", "mallory")],
        )
    };
    assert_eq!(call(&bearer).status, 200);
    let rows = gateway.wait_rows(1);
    assert_eq!(
        rows[0].user, "ann",
        "the key's holder, not the Remote-User header"
    );
    let over = call(&bearer);
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(over.json()["error"]["type"], "insufficient_quota");

    let prefix = &key[..key.rfind('_').unwrap()];
    users.ok(&["keys", "revoke", prefix], "");
    let revoked = call(&bearer);
    assert_eq!(revoked.status, 401, "{}", revoked.body);
    assert_eq!(revoked.json()["error"]["code"], "invalid_api_key");
    let forged = call(&format!("Bearer magi_00000000_{}", "0".repeat(64)));
    assert_eq!(forged.status, 401);
}

/// The resident memory of a process, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

/// Finding 10: model names are the client's to choose. Six thousand made-up names that upstream refuses
/// add no series to /metrics (they count under one), and no breaker or memory; a real model that upstream
/// answers gets its own series.
#[test]
fn limits_made_up_model_names_add_no_metrics_series() {
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(&standin.url(""), &config, &[], &[]);
    let ok = gateway.chat("standin-ok~real", None, json!({"max_tokens": 1}));
    assert_eq!(ok.status, 200);
    let before = rss(gateway.pid());
    for i in 0..6000 {
        let refused = gateway.chat(&format!("standin-400~made-up-{i}"), None, json!({}));
        assert_eq!(refused.status, 400);
    }
    let exposition = gateway.get("/metrics").body;
    let labels: std::collections::BTreeSet<&str> = exposition
        .lines()
        .filter_map(|l| l.split("model=\"").nth(1)?.split('"').next())
        .collect();
    assert!(labels.contains("standin-ok~real"), "{labels:?}");
    assert!(labels.contains("(other)"), "{labels:?}");
    assert!(
        labels.len() <= 3,
        "{} model series: {labels:?}",
        labels.len()
    );
    let after = rss(gateway.pid());
    assert!(
        after < before + (32 << 20),
        "RSS grew from {before} to {after} bytes"
    );
}

/// `MAGI_LIMITS_NOW` moves the clock quotas and budgets follow: a test hook, warned about whenever set.
#[test]
fn limits_a_shifted_clock_is_warned_about() {
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(
        &standin.url(""),
        &config,
        &[],
        &[("MAGI_LIMITS_NOW", "2031-01-31T23:59:00Z")],
    );
    assert_eq!(gateway.chat("standin-ok", None, json!({})).status, 200);
    gateway.wait_rows(1);
    let log = gateway.log();
    assert!(
        log.contains("MAGI_LIMITS_NOW=2031-01-31T23:59:00Z") && log.contains("test hook"),
        "{log}"
    );
    let costs = bin("magi-costs")
        .env("MAGI_LIMITS_NOW", "2031-01-31T23:59:00Z")
        .env("MAGI_LIMITS_DB", gateway.db())
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&costs.stderr);
    assert!(said.contains("test hook"), "magi-costs warns too: {said}");
}

/// Finding 9: connections that send nothing, or half a request, are closed after the header timeout, so a
/// flood of them past the open-file limit does not stop the gateway from answering for long.
#[test]
fn limits_a_flood_of_idle_connections_is_shed_by_the_header_timeout() {
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(&standin.url(""), &config, &[], &[]);
    let limited = Command::new("prlimit")
        .args(["--pid", &gateway.pid().to_string(), "--nofile=256:256"])
        .status()
        .unwrap();
    assert!(limited.success());
    let idle = flood::idle_connections(
        gateway.port,
        300,
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n",
    );
    assert!(idle.len() > 256, "the flood got past the open-file limit");
    let answered = flood::status_line_despite_flood(
        gateway.port,
        b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(20),
    );
    assert_eq!(&answered, b"HTTP/1.1 200");
    for mut s in idle.into_iter().take(20) {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let ended = loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break s.read(&mut buf),
                Ok(_) => continue,
            }
        };
        assert!(
            matches!(ended, Ok(0))
                || matches!(&ended, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "an idle connection is closed by the gateway: {ended:?}"
        );
    }
}

/// Finding 9: bodies that stall mid-way get a 408 after the body timeout (or a 503 while the body memory
/// is taken), their connections end, and the memory they held does not grow past the bound.
#[test]
fn limits_stalled_bodies_time_out_and_memory_stays_bounded() {
    let standin = magi_testkit::OpenAiStandin::start();
    let mut gateway = Gateway::new();
    let config = gateway.dir.path().join("none.yaml");
    gateway.serve(&standin.url(""), &config, &["--body-timeout", "2s"], &[]);
    let before = rss(gateway.pid());
    let chunk = vec![b'x'; 1 << 20];
    let stalled: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", gateway.port)).unwrap();
            s.write_all(
                format!(
                    "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\n\r\n",
                    16 << 20
                )
                .as_bytes(),
            )
            .unwrap();
            for _ in 0..4 {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
            s
        })
        .collect();
    for mut s in stalled {
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head)
            .expect("a stalled body gets an answer, not an endless wait");
        assert!(
            &head == b"HTTP/1.1 408" || &head == b"HTTP/1.1 503",
            "{}",
            String::from_utf8_lossy(&head)
        );
    }
    let peak = rss(gateway.pid());
    assert!(
        peak < before + (160 << 20),
        "40 stalled 16 MiB bodies held {} MiB",
        (peak - before) >> 20
    );
    assert_eq!(gateway.chat("standin-ok", None, json!({})).status, 200);
}

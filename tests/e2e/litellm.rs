//! The upstream rig end to end: the OpenAI stand-in on its own, then the real LiteLLM proxy in front of it,
//! recording what LiteLLM does with usage, streams, cost and each failure (what a gateway in front of
//! LiteLLM will see).

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use magi_testkit::litellm::{INPUT_COST_PER_TOKEN, OUTPUT_COST_PER_TOKEN};
use magi_testkit::{Component, LiteLlm, OpenAiStandin, require};
use serde_json::{Value, json};

/// One answer as a client sees it: status, headers, and the body line by line with arrival times.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    /// Non-empty body lines, each with the time since the request was sent.
    lines: Vec<(Duration, String)>,
    /// Why reading the body stopped early, when it did (a cut connection).
    cut: Option<String>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        let body: String = self.lines.iter().map(|(_, l)| l.as_str()).collect();
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
    }

    /// The SSE events' data (`[DONE]` included), with arrival times.
    fn events(&self) -> Vec<(Duration, String)> {
        self.lines
            .iter()
            .filter_map(|(t, l)| l.strip_prefix("data: ").map(|d| (*t, d.to_owned())))
            .collect()
    }

    /// The SSE events parsed as JSON (everything but `[DONE]`).
    fn chunks(&self) -> Vec<Value> {
        self.events()
            .iter()
            .filter(|(_, d)| d != "[DONE]")
            .map(|(_, d)| serde_json::from_str(d).unwrap_or_else(|e| panic!("{e}: {d}")))
            .collect()
    }
}

fn post(url: &str, body: &Value) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let started = Instant::now();
    let response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body.to_string())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let mut reader = BufReader::new(response.into_body().into_reader());
    let mut lines = Vec::new();
    let mut cut = None;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {
                let line = line.trim_end().to_owned();
                if !line.is_empty() {
                    lines.push((started.elapsed(), line));
                }
            }
            Err(e) => {
                cut = Some(e.to_string());
                break;
            }
        }
    }
    Reply {
        status,
        headers,
        lines,
        cut,
    }
}

fn chat(model: &str, words: &str, max_tokens: u64) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": words}],
        "max_tokens": max_tokens,
    })
}

fn streamed(mut body: Value, include_usage: bool) -> Value {
    body["stream"] = json!(true);
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[test]
fn openai_standin_speaks_openai_with_exact_usage_and_failures() {
    let standin = OpenAiStandin::start();
    let url = standin.url("/v1/chat/completions");

    let reply = post(&url, &chat("standin-ok", "one two three four", 3));
    assert_eq!(reply.status, 200);
    let answer = reply.json();
    assert_eq!(answer["choices"][0]["message"]["content"], "w1 w2 w3");
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7})
    );

    let reply = post(&url, &streamed(chat("standin-ok", "a b", 5), true));
    let chunks = reply.chunks();
    assert_eq!(content(&chunks), "w1 w2 w3 w4 w5");
    let usage = chunks.last().expect("a usage chunk");
    assert_eq!(
        usage["choices"],
        json!([]),
        "OpenAI's usage chunk has no choices"
    );
    assert_eq!(usage["usage"]["total_tokens"], 7);
    assert_eq!(reply.events().last().unwrap().1, "[DONE]");

    let reply = post(&url, &chat("standin-429", "hi", 1));
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("x-ratelimit-remaining-requests"), Some("0"));
    assert_eq!(reply.json()["error"]["code"], "rate_limit_exceeded");

    let reply = post(&url, &streamed(chat("standin-drop", "hi", 6), true));
    assert_eq!(reply.status, 200);
    assert_eq!(
        content(&reply.chunks()),
        "w1 w2 w3",
        "half the words, then the cut"
    );
    assert!(reply.cut.is_some(), "the connection is cut mid-stream");
    assert!(reply.events().iter().all(|(_, d)| d != "[DONE]"));

    // Queued behaviours apply to their model only, in order, then the name rules again.
    standin.queue_for("standin-ok~q", "503", 2);
    let statuses: Vec<u16> = (0..3)
        .map(|_| post(&url, &chat("standin-ok~q", "hi", 1)).status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert_eq!(post(&url, &chat("standin-ok", "hi", 1)).status, 200);
    assert_eq!(standin.requests_for("standin-ok~q").len(), 3);

    let started = Instant::now();
    let reply = post(&url, &chat("standin-stall-300", "hi", 1));
    assert_eq!(reply.status, 200);
    assert!(reply.lines[0].0 >= Duration::from_millis(300));
    assert!(started.elapsed() >= Duration::from_millis(300));

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut bad = agent.post(&url).send("{not json").expect("an answer");
    assert_eq!(bad.status().as_u16(), 400);
    let error: Value = bad.body_mut().read_json().expect("OpenAI's error body");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not valid JSON")),
        "{error}"
    );
}

#[test]
fn litellm_passes_usage_and_prices_a_plain_answer() {
    if !require(Component::LiteLLM) {
        return;
    }
    let litellm = LiteLlm::shared();
    let model = "standin-ok~plain";
    let reply = post(
        &litellm.url("/v1/chat/completions"),
        &chat(model, "how much is this", 3),
    );
    assert_eq!(reply.status, 200, "{:?}", reply.lines);
    let answer = reply.json();
    assert_eq!(answer["choices"][0]["message"]["content"], "w1 w2 w3");
    assert_eq!(answer["usage"]["prompt_tokens"], 4);
    assert_eq!(answer["usage"]["completion_tokens"], 3);
    assert_eq!(answer["usage"]["total_tokens"], 7);
    // LiteLLM prices a plain answer from model_info and says so in a header.
    let cost: f64 = reply
        .header("x-litellm-response-cost")
        .expect("x-litellm-response-cost on a plain answer")
        .parse()
        .unwrap();
    let expected = 4.0 * INPUT_COST_PER_TOKEN + 3.0 * OUTPUT_COST_PER_TOKEN;
    assert!((cost - expected).abs() < 1e-12, "{cost} != {expected}");
    let upstream = litellm.standin().requests_for(model);
    assert_eq!(
        upstream.len(),
        1,
        "one client request is one upstream request"
    );
    assert_eq!(upstream[0]["stream"], false);

    let reply = post(
        &litellm.url("/v1/embeddings"),
        &json!({"model": "standin-ok~embed", "input": ["one two", "three"]}),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["usage"]["prompt_tokens"], 3);
    assert_eq!(reply.json()["data"].as_array().map(Vec::len), Some(2));
}

#[test]
fn litellm_streams_chunks_as_they_come_with_the_usage_chunk() {
    if !require(Component::LiteLLM) {
        return;
    }
    let litellm = LiteLlm::shared();
    let url = litellm.url("/v1/chat/completions");
    // 100 ms before each of the stand-in's chunks: a buffering proxy would deliver them all at once.
    let model = "standin-slow-stream~usage";
    let reply = post(&url, &streamed(chat(model, "stream this please", 5), true));
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream"))
    );
    let events = reply.events();
    let chunks = reply.chunks();
    assert_eq!(content(&chunks), "w1 w2 w3 w4 w5");
    let words: Vec<Duration> = events
        .iter()
        .filter(|(_, d)| d.contains("\"content\":\"") && !d.contains("\"content\":\"\""))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(words.len(), 5);
    assert!(
        words[4] - words[0] >= Duration::from_millis(300),
        "the chunks arrive one by one, not in one piece: {words:?}"
    );
    // The usage chunk comes last before [DONE], with the stand-in's counts and LiteLLM's own `cost`; unlike
    // OpenAI's, its `choices` is not empty but one choice with an empty delta.
    let usage = chunks.last().unwrap();
    assert_eq!(usage["usage"]["prompt_tokens"], 3);
    assert_eq!(usage["usage"]["completion_tokens"], 5);
    assert_eq!(usage["usage"]["total_tokens"], 8);
    assert_eq!(usage["choices"][0]["delta"], json!({}));
    let cost = usage["usage"]["cost"]
        .as_f64()
        .expect("LiteLLM adds usage.cost");
    let expected = 3.0 * INPUT_COST_PER_TOKEN + 5.0 * OUTPUT_COST_PER_TOKEN;
    assert!((cost - expected).abs() < 1e-12, "{cost} != {expected}");
    assert_eq!(events.last().unwrap().1, "[DONE]");
    // Headers go out before the stream, so a stream's cost is not in x-litellm-response-cost (LiteLLM
    // 1.102.4 sends no such header then, only zeroed x-litellm-response-cost-input/-output).
    assert_eq!(reply.header("x-litellm-response-cost"), None);

    // Without include_usage the client gets no usage chunk, yet LiteLLM asks the upstream for one anyway.
    let model = "standin-ok~nousage";
    let reply = post(&url, &streamed(chat(model, "a b", 2), false));
    assert_eq!(content(&reply.chunks()), "w1 w2");
    assert!(reply.chunks().iter().all(|c| c["usage"].is_null()));
    let upstream = litellm.standin().requests_for(model);
    assert_eq!(upstream.len(), 1);
    assert_eq!(upstream[0]["include_usage"], true);
}

#[test]
fn litellm_passes_upstream_failures_its_own_way() {
    if !require(Component::LiteLLM) {
        return;
    }
    let litellm = LiteLlm::shared();
    let standin = litellm.standin();
    let url = litellm.url("/v1/chat/completions");

    // 429: the status passes, in LiteLLM's error body; the upstream's retry-after and x-ratelimit-* headers
    // do not reach the client. (With LiteLLM's default num_retries it makes 3 upstream attempts first, ~3 s;
    // the rig turns retries off.)
    let model = "standin-429~fail";
    let reply = post(&url, &chat(model, "hi", 1));
    assert_eq!(reply.status, 429);
    assert_eq!(reply.json()["error"]["code"], "429");
    assert_eq!(reply.header("retry-after"), None);
    assert_eq!(reply.header("x-ratelimit-remaining-requests"), None);
    assert_eq!(standin.requests_for(model).len(), 1);

    // 5xx: 500 and 503 pass as they are.
    for status in [500, 503] {
        let model = format!("standin-{status}~fail");
        let reply = post(&url, &chat(&model, "hi", 1));
        assert_eq!(reply.status, status);
        assert_eq!(reply.json()["error"]["code"], status.to_string());
        assert_eq!(standin.requests_for(&model).len(), 1);
    }

    // A stall before the first byte: LiteLLM's default timeout is long (6000 s), so it waits and answers.
    let reply = post(&url, &chat("standin-stall-1500~fail", "hi", 2));
    assert_eq!(reply.status, 200);
    assert!(reply.lines[0].0 >= Duration::from_millis(1500));

    // A stream cut mid-way: LiteLLM has sent 200 and the chunks so far, then it ends the stream cleanly with
    // an error event (`data: {"error": ...}`) and no [DONE]: the client sees no cut connection.
    let reply = post(&url, &streamed(chat("standin-drop~fail", "hi", 6), true));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.cut, None);
    let events = reply.events();
    let last: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("APIConnectionError")),
        "{last}"
    );
    assert!(events.iter().all(|(_, d)| d != "[DONE]"));
    assert_eq!(content(&reply.chunks()), "w1 w2 w3");

    // A plain answer cut mid-way becomes LiteLLM's 500 (an APIConnectionError).
    let model = "standin-drop~plain";
    let reply = post(&url, &chat(model, "hi", 2));
    assert_eq!(reply.status, 500);
    assert_eq!(standin.requests_for(model).len(), 1);
}

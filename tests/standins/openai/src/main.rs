//! `openai-standin`: a STAND-IN for the upstream LLM provider (OpenAI, OpenRouter, ...), for the MAGI ops
//! tests and benchmarks only.
//!
//! The real providers cannot be reached from the test machines, so this program speaks OpenAI's documented
//! HTTP wire format for what LiteLLM and magi-limits pass on: `POST /v1/chat/completions` and
//! `POST /v1/completions` (a JSON answer with `usage`, or with `"stream": true` server-sent events
//! `data: {chunk}` ending in `data: [DONE]`, with one extra usage chunk whose `choices` is empty when the
//! request sets `stream_options.include_usage`), `POST /v1/embeddings` and `GET /v1/models`. The same paths
//! without the `/v1` prefix answer too. It is not a model: the text is made up and deterministic.
//!
//! Usage: `openai-standin [--listen ADDR] [--exit-with-stdin]` (default `127.0.0.1:0`). The first line on
//! stdout is `openai-standin listening on http://IP:PORT`, so port 0 works. With `--exit-with-stdin` it
//! exits when its stdin reaches end of file, so a test process holding the pipe never leaves it behind.
//!
//! # Token counts (deterministic)
//!
//! - prompt tokens = the number of whitespace-separated words in the prompt: every message's `content`
//!   (a string, or the `text` of its parts) for chat; `prompt` (a string or a list of them) for completions;
//!   `input` for embeddings.
//! - completion tokens = `max_tokens` (or `max_completion_tokens`) when the request sets it, else 4. The
//!   answer is that many words `w1 w2 ... wN`; a stream carries one word per content chunk, so N content
//!   chunks (after a first chunk with the role, before a last one with `finish_reason: "stop"`).
//! - `total_tokens` = prompt + completion. Embeddings have 8 dimensions.
//!
//! # Behaviours
//!
//! A behaviour is chosen by the upstream **model name** in the request body, which survives LiteLLM (a
//! LiteLLM `model_list` entry with `model: openai/standin-429` sends `"model": "standin-429"` here):
//!
//! | model | what happens |
//! |---|---|
//! | `standin-ok` (and any name not below) | a normal answer |
//! | `standin-429` | 429, OpenAI's `rate_limit_exceeded` error body, `retry-after: 1` and `x-ratelimit-*` headers |
//! | `standin-NNN` (e.g. `standin-500`, `standin-503`) | status NNN with OpenAI's error body (`server_error`) |
//! | `standin-stall[-MS]` | waits MS ms (default 5000) before the status line, then answers normally |
//! | `standin-drop` | a stream sends the role chunk and half the content chunks, then (50 ms later) the connection is cut: no `[DONE]`, no usage, no end chunk; a JSON answer is cut after half its body |
//! | `standin-slow-stream[-MS]` | MS ms (default 100) before each stream chunk; a JSON answer waits MS × (completion tokens + 2) |
//!
//! Errors and stalls apply to embeddings too; cuts and slow streams only to the completion endpoints.
//! A body that is not JSON gets 400 with OpenAI's error body; an unknown path 404.
//!
//! A `~tag` after the name is ignored by the stand-in (`standin-500~breaker-test` fails like `standin-500`),
//! so tests sharing one stand-in (and one LiteLLM with a `*` wildcard route) each use their own model names.
//!
//! A **control endpoint** overrides the model name for the next requests: `POST /standin/next` with
//! `{"behaviour": "429", "count": 3, "model": "standin-ok~mine"}` makes the next 3 requests for exactly that
//! model behave as `standin-429` would; without `model` it applies to the next requests whatever their model
//! (a model's own queue goes first). `behaviour` is the model name without `standin-`: `ok`, `429`, `500`,
//! `stall-2000`, `drop`, `slow-stream-50`. Calls queue in order; `DELETE /standin/next` clears every queue.
//! So "fail twice, then answer" is `{"behaviour": "500", "count": 2, "model": M}` and requests for M.
//!
//! **Recorded requests**: `GET /standin/requests` lists every API request received so far, oldest first, as
//! `{"method", "path", "model", "stream", "include_usage", "behaviour", "body"}` (so a test can count
//! LiteLLM's retries or see whether usage was asked for); `DELETE /standin/requests` forgets them.

mod behaviour;
mod server;
mod wire;

use std::process::ExitCode;

fn parse_args() -> Result<(String, bool), String> {
    let mut listen = "127.0.0.1:0".to_owned();
    let mut exit_with_stdin = false;
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        match flag.as_str() {
            "--listen" => listen = iter.next().ok_or("--listen needs an address")?,
            "--exit-with-stdin" => exit_with_stdin = true,
            "--help" | "-h" => {
                return Err(
                    "usage: openai-standin [--listen ADDR] [--exit-with-stdin] (default 127.0.0.1:0)"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument '{other}' (try --help)")),
        }
    }
    Ok((listen, exit_with_stdin))
}

/// Ends the process once stdin reaches end of file (the test process that holds the pipe is gone).
fn exit_with_stdin() {
    std::thread::spawn(|| {
        // Whatever arrives is ignored; only the end of the stream matters.
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
}

async fn run() -> Result<(), String> {
    let (listen, exit_on_eof) = parse_args()?;
    if exit_on_eof {
        exit_with_stdin();
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("the listener has no address: {e}"))?;
    println!("openai-standin listening on http://{address}");
    server::serve(listener)
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("openai-standin: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("openai-standin: {message}");
            ExitCode::FAILURE
        }
    }
}

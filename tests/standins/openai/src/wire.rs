//! OpenAI's wire format, as pure functions of the request body: token counts, the JSON answers of chat and
//! text completions, their server-sent-event chunks, embeddings, the model list and error bodies.

use serde_json::{Value, json};

/// Completion tokens when the request sets no `max_tokens`.
const DEFAULT_COMPLETION_TOKENS: u64 = 4;
/// Dimensions of the made-up embeddings.
const EMBEDDING_DIMENSIONS: usize = 8;

/// Which completion endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/completions`.
    Text,
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Words in a string, or in the strings (or `text` of the parts) of a list.
fn words_in(value: &Value) -> u64 {
    match value {
        Value::String(text) => words(text),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Object(part) => part.get("text").map_or(0, words_in),
                other => words_in(other),
            })
            .sum(),
        _ => 0,
    }
}

/// Prompt tokens: the words of every message's content (chat) or of the prompt (text).
pub fn prompt_tokens(kind: Kind, body: &Value) -> u64 {
    match kind {
        Kind::Chat => body["messages"].as_array().map_or(0, |messages| {
            messages.iter().map(|m| words_in(&m["content"])).sum()
        }),
        Kind::Text => words_in(&body["prompt"]),
    }
}

/// Completion tokens: `max_tokens` or `max_completion_tokens` when set, else 4.
pub fn completion_tokens(body: &Value) -> u64 {
    body["max_tokens"]
        .as_u64()
        .or_else(|| body["max_completion_tokens"].as_u64())
        .unwrap_or(DEFAULT_COMPLETION_TOKENS)
}

/// Whether the request asks for a stream.
pub fn stream(body: &Value) -> bool {
    body["stream"].as_bool().unwrap_or(false)
}

/// Whether a stream request asks for the extra usage chunk.
pub fn include_usage(body: &Value) -> bool {
    body["stream_options"]["include_usage"]
        .as_bool()
        .unwrap_or(false)
}

fn usage(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    })
}

/// The made-up answer of `completion` words: `w1 w2 ... wN`.
fn text(completion: u64) -> String {
    (1..=completion)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One answer's identity: endpoint, id, model and time.
#[derive(Debug, Clone)]
pub struct Answer {
    pub kind: Kind,
    pub id: String,
    pub model: String,
    pub created: u64,
    pub prompt: u64,
    pub completion: u64,
}

impl Answer {
    fn object(&self, chunk: bool) -> &'static str {
        match (self.kind, chunk) {
            (Kind::Chat, false) => "chat.completion",
            (Kind::Chat, true) => "chat.completion.chunk",
            (Kind::Text, _) => "text_completion",
        }
    }

    /// The whole answer as one JSON object with `usage`.
    pub fn json(&self) -> Value {
        let choice = match self.kind {
            Kind::Chat => json!({
                "index": 0,
                "message": {"role": "assistant", "content": text(self.completion)},
                "logprobs": null,
                "finish_reason": "stop",
            }),
            Kind::Text => json!({
                "index": 0,
                "text": text(self.completion),
                "logprobs": null,
                "finish_reason": "stop",
            }),
        };
        json!({
            "id": self.id,
            "object": self.object(false),
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_standin",
            "choices": [choice],
            "usage": usage(self.prompt, self.completion),
        })
    }

    fn chunk(&self, choices: Value, include_usage: bool) -> String {
        let mut chunk = json!({
            "id": self.id,
            "object": self.object(true),
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_standin",
            "choices": choices,
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        format!("data: {chunk}\n\n")
    }

    fn choice(&self, content: Option<&str>, role: bool, finish: bool) -> Value {
        let finish_reason = if finish { json!("stop") } else { Value::Null };
        match self.kind {
            Kind::Chat => {
                let mut delta = json!({});
                if role {
                    delta["role"] = json!("assistant");
                    delta["content"] = json!("");
                }
                if let Some(content) = content {
                    delta["content"] = json!(content);
                }
                json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}])
            }
            Kind::Text => json!([{
                "index": 0,
                "text": content.unwrap_or(""),
                "logprobs": null,
                "finish_reason": finish_reason,
            }]),
        }
    }

    /// The stream's events in order: a role chunk, one chunk per completion word, a `finish_reason` chunk,
    /// the usage chunk (empty `choices`) when asked for, and `data: [DONE]`.
    pub fn chunks(&self, include_usage: bool) -> Vec<String> {
        let mut chunks = vec![self.chunk(self.choice(None, true, false), include_usage)];
        for i in 1..=self.completion {
            let word = if i == 1 {
                format!("w{i}")
            } else {
                format!(" w{i}")
            };
            chunks.push(self.chunk(self.choice(Some(&word), false, false), include_usage));
        }
        chunks.push(self.chunk(self.choice(None, false, true), include_usage));
        if include_usage {
            let mut last = json!({
                "id": self.id,
                "object": self.object(true),
                "created": self.created,
                "model": self.model,
                "system_fingerprint": "fp_standin",
                "choices": [],
            });
            last["usage"] = usage(self.prompt, self.completion);
            chunks.push(format!("data: {last}\n\n"));
        }
        chunks.push("data: [DONE]\n\n".to_owned());
        chunks
    }

    /// How many chunks a dropped stream sends: the role chunk and half the content chunks.
    pub fn dropped_after(&self) -> usize {
        1 + (self.completion / 2) as usize
    }
}

/// `/v1/embeddings`: one 8-dimensional vector per input string, usage from the input's words.
pub fn embeddings(body: &Value) -> Value {
    let inputs: Vec<Value> = match &body["input"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let seed = words_in(input) as f64;
            let embedding: Vec<f64> = (0..EMBEDDING_DIMENSIONS)
                .map(|d| ((seed + d as f64) / 10.0).sin())
                .collect();
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let prompt: u64 = inputs.iter().map(words_in).sum();
    json!({
        "object": "list",
        "data": data,
        "model": body["model"],
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    })
}

/// `/v1/models`: the behaviour models by name.
pub fn models(created: u64) -> Value {
    let names = [
        "standin-ok",
        "standin-429",
        "standin-500",
        "standin-503",
        "standin-stall",
        "standin-drop",
        "standin-slow-stream",
    ];
    let data: Vec<Value> = names
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": created, "owned_by": "openai-standin"}))
        .collect();
    json!({"object": "list", "data": data})
}

/// OpenAI's error body for `status`.
pub fn error(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        429 => ("requests", "rate_limit_exceeded"),
        400..=499 => ("invalid_request_error", "invalid_request"),
        _ => ("server_error", "server_error"),
    };
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(kind: Kind, completion: u64) -> Answer {
        Answer {
            kind,
            id: "chatcmpl-1".into(),
            model: "standin-ok".into(),
            created: 1,
            prompt: 3,
            completion,
        }
    }

    #[test]
    fn prompt_tokens_are_words() {
        let chat = json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "one two three"}]},
        ]});
        assert_eq!(prompt_tokens(Kind::Chat, &chat), 5);
        assert_eq!(
            prompt_tokens(Kind::Text, &json!({"prompt": ["a b", "c"]})),
            3
        );
        assert_eq!(completion_tokens(&json!({"max_tokens": 7})), 7);
        assert_eq!(completion_tokens(&json!({})), DEFAULT_COMPLETION_TOKENS);
    }

    #[test]
    fn a_stream_has_one_chunk_per_word_and_usage_when_asked() {
        let chunks = answer(Kind::Chat, 3).chunks(true);
        assert_eq!(chunks.len(), 1 + 3 + 1 + 1 + 1);
        assert!(chunks[1].contains(r#""content":"w1""#), "{}", chunks[1]);
        let usage: Value = serde_json::from_str(chunks[5].strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["total_tokens"], 6);
        assert_eq!(chunks[6], "data: [DONE]\n\n");
        assert_eq!(answer(Kind::Text, 3).chunks(false).len(), 1 + 3 + 1 + 1);
    }

    #[test]
    fn the_whole_answer_carries_usage() {
        let body = answer(Kind::Chat, 2).json();
        assert_eq!(body["choices"][0]["message"]["content"], "w1 w2");
        assert_eq!(
            body["usage"],
            json!({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5})
        );
    }
}

//! What the gateway reads of OpenAI's request and answer bodies, and the one change it makes to them.
//!
//! Reading is done without building the whole document: a request body yields its model and whether a
//! streamed completion asked for its usage ([`RequestPeek`]), an answer or stream chunk its `usage`
//! ([`Usage::read`]); everything else in them is skipped, not stored. Only the rarer paths build a
//! [`Value`]: adding `stream_options.include_usage` to a request that did not ask for it
//! ([`ask_for_stream_usage`]), dropping the usage chunk the client did not ask for ([`strip_usage`]), and
//! reading the failure in an error chunk ([`stream_error`]).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The fields of a request body the gateway needs. A body that is valid JSON but not an object has none of
/// them (it is passed on as it is).
#[derive(Debug, Default, PartialEq)]
pub struct RequestPeek {
    /// `model`, when it is a string.
    pub model: Option<String>,
    /// `stream` is `true`.
    pub stream: bool,
    /// `stream_options.include_usage` is `true`.
    pub include_usage: bool,
}

impl RequestPeek {
    /// Reads `body`; an error says where the JSON is broken. The text is checked as UTF-8 first, because
    /// the strings the peek skips are not.
    pub fn read(body: &[u8]) -> serde_json::Result<RequestPeek> {
        let text = std::str::from_utf8(body).map_err(|e| {
            de::Error::custom(format_args!("invalid UTF-8 at byte {}", e.valid_up_to()))
        })?;
        serde_json::from_str(text)
    }

    /// Whether the request streams a completion without asking for its usage, so the gateway asks for it.
    pub fn wants_stream_usage(&self, path: &str) -> bool {
        is_completion(path) && self.stream && !self.include_usage
    }
}

fn is_completion(path: &str) -> bool {
    path.ends_with("/chat/completions") || path.ends_with("/completions")
}

/// The request keys the gateway reads.
enum RequestKey {
    Model,
    Stream,
    StreamOptions,
    Other,
}

impl<'de> Deserialize<'de> for RequestKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = RequestKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<RequestKey, E> {
                Ok(match key {
                    "model" => RequestKey::Model,
                    "stream" => RequestKey::Stream,
                    "stream_options" => RequestKey::StreamOptions,
                    _ => RequestKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for RequestPeek {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PeekVisitor;
        impl<'de> Visitor<'de> for PeekVisitor {
            type Value = RequestPeek;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON document")
            }
            // A later duplicate key wins, as it does when the JSON is read into a map.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RequestPeek, A::Error> {
                let mut peek = RequestPeek::default();
                while let Some(key) = map.next_key::<RequestKey>()? {
                    match key {
                        RequestKey::Model => {
                            peek.model = match map.next_value::<Value>()? {
                                Value::String(model) => Some(model),
                                _ => None,
                            }
                        }
                        RequestKey::Stream => {
                            peek.stream = map.next_value::<Value>()? == Value::Bool(true);
                        }
                        RequestKey::StreamOptions => {
                            peek.include_usage = map.next_value::<Value>()?.get("include_usage")
                                == Some(&Value::Bool(true));
                        }
                        RequestKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(peek)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RequestPeek, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RequestPeek::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RequestPeek, E> {
                Ok(RequestPeek::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RequestPeek, E> {
                Ok(RequestPeek::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RequestPeek, E> {
                Ok(RequestPeek::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RequestPeek, E> {
                Ok(RequestPeek::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<RequestPeek, E> {
                Ok(RequestPeek::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<RequestPeek, E> {
                Ok(RequestPeek::default())
            }
        }
        deserializer.deserialize_any(PeekVisitor)
    }
}

/// Adds `stream_options.include_usage` to a streamed completion that did not ask for it, and returns the
/// body to send; `None` when there is nothing to add (or `stream_options` is something other than an object,
/// which the gateway leaves to upstream to refuse).
pub fn ask_for_stream_usage(path: &str, body: &[u8]) -> Option<Vec<u8>> {
    let mut json: Value = serde_json::from_slice(body).ok()?;
    let object = json.as_object_mut()?;
    if !is_completion(path) || object.get("stream") != Some(&Value::Bool(true)) {
        return None;
    }
    let options = object
        .entry("stream_options")
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()?;
    if options.get("include_usage") == Some(&Value::Bool(true)) {
        return None;
    }
    options.insert("include_usage".into(), Value::Bool(true));
    serde_json::to_vec(&json).ok()
}

/// What an answer or chunk says it used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    pub prompt: u64,
    pub completion: u64,
    /// LiteLLM's own `usage.cost`, which it adds to a stream's usage chunk.
    pub cost: Option<f64>,
}

/// The part of an answer or chunk that carries its usage; the rest is skipped unread.
#[derive(Deserialize)]
struct Reported {
    #[serde(default)]
    usage: Option<ReportedUsage>,
}

/// Numbers are read as JSON values, so a count of an unexpected type makes that count unknown rather than
/// the answer unreadable.
#[derive(Deserialize)]
struct ReportedUsage {
    #[serde(default)]
    prompt_tokens: Value,
    #[serde(default)]
    completion_tokens: Value,
    #[serde(default)]
    cost: Value,
}

impl Usage {
    /// The `usage` of an answer or chunk (JSON): `None` when it has none, or no prompt token count.
    pub fn read(json: &[u8]) -> Option<Usage> {
        let usage = serde_json::from_slice::<Reported>(json).ok()?.usage?;
        Some(Usage {
            prompt: usage.prompt_tokens.as_u64()?,
            completion: usage.completion_tokens.as_u64().unwrap_or(0),
            cost: usage.cost.as_f64().filter(|c| c.is_finite() && *c >= 0.0),
        })
    }
}

/// The failure an upstream reports inside a stream that had already begun: LiteLLM sends
/// `data: {"error": {"message": ...}}` and ends the stream when its provider fails mid-answer.
pub fn stream_error(chunk: &[u8]) -> Option<String> {
    let chunk: Value = serde_json::from_slice(chunk).ok()?;
    let error = chunk.get("error")?;
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| error.to_string(), str::to_owned);
    Some(format!("upstream failed mid-stream: {message}"))
}

/// What to do with a stream chunk carrying usage the client did not ask for: OpenAI sends it as an extra
/// chunk without choices, LiteLLM as one whose only choice has an empty delta and no finish reason; either
/// is dropped (`Some(None)`). Usage merged into a chunk with content or a finish reason loses just its
/// `usage` (`Some(Some(event))`). `None` when the chunk is not a JSON object.
pub fn strip_usage(chunk: &[u8]) -> Option<Option<Vec<u8>>> {
    let mut chunk: Value = serde_json::from_slice(chunk).ok()?;
    let blank = |v: &Value| {
        v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty)
    };
    let empty = chunk
        .get("choices")
        .and_then(Value::as_array)
        .is_none_or(|choices| {
            choices.iter().all(|c| {
                c.get("delta")
                    .and_then(Value::as_object)
                    .is_none_or(|d| d.values().all(blank))
                    && c.get("finish_reason").is_none_or(Value::is_null)
            })
        });
    if empty {
        return Some(None);
    }
    chunk.as_object_mut()?.remove("usage");
    Some(Some(format!("data: {chunk}\n\n").into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn peek(body: &str) -> RequestPeek {
        RequestPeek::read(body.as_bytes()).unwrap()
    }

    #[test]
    fn a_request_yields_its_model_and_whether_it_asked_for_stream_usage() {
        let asked = peek(
            r#"{"messages":[{"role":"user","content":"hi \"model\""}],"model":"gpt-4o","stream":true,
                "stream_options":{"include_usage":true}}"#,
        );
        assert_eq!(
            asked,
            RequestPeek {
                model: Some("gpt-4o".into()),
                stream: true,
                include_usage: true
            }
        );
        assert!(!asked.wants_stream_usage("/v1/chat/completions"));
        let unasked = peek(r#"{"model":"m","stream":true,"stream_options":null}"#);
        assert!(unasked.wants_stream_usage("/v1/chat/completions"));
        assert!(unasked.wants_stream_usage("/v1/completions"));
        assert!(!unasked.wants_stream_usage("/v1/embeddings"));
        assert!(
            !peek(r#"{"model":"m","stream":false}"#).wants_stream_usage("/v1/chat/completions")
        );
        assert!(
            !peek(r#"{"model":"m","stream":"yes"}"#).wants_stream_usage("/v1/chat/completions")
        );
    }

    #[test]
    fn keys_are_read_unescaped_and_the_last_duplicate_wins() {
        assert_eq!(
            peek(r#"{"mod\u0065l":"a","model":"b"}"#).model.as_deref(),
            Some("b")
        );
        assert_eq!(peek(r#"{"model":"a\nb"}"#).model.as_deref(), Some("a\nb"));
    }

    #[test]
    fn json_that_is_no_object_or_names_no_string_model_has_no_model() {
        for body in [
            r#"[1,{"model":"m"}]"#,
            "\"model\"",
            "42",
            "null",
            "true",
            r#"{"model":7}"#,
        ] {
            assert_eq!(peek(body), RequestPeek::default(), "{body}");
        }
    }

    #[test]
    fn broken_json_is_an_error_that_says_where() {
        let error = RequestPeek::read(br#"{"model": "m", "#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 1 column"), "{error}");
        assert!(RequestPeek::read(br#"{"model": "m"} trailing"#).is_err());
        assert!(RequestPeek::read(b"{\"model\": \"\xff\"}").is_err());
        let error = RequestPeek::read(b"{\"messages\": [\"\xff\"]}").unwrap_err();
        assert_eq!(error.to_string(), "invalid UTF-8 at byte 15");
    }

    #[test]
    fn stream_usage_is_added_only_where_it_was_not_asked_for() {
        let added = ask_for_stream_usage("/v1/chat/completions", br#"{"model":"m","stream":true}"#)
            .expect("added");
        let added: Value = serde_json::from_slice(&added).unwrap();
        assert_eq!(added["stream_options"]["include_usage"], true);
        assert_eq!(added["model"], "m");
        let kept = ask_for_stream_usage(
            "/v1/chat/completions",
            br#"{"stream":true,"stream_options":{"include_usage":false,"x":1}}"#,
        )
        .expect("added");
        let kept: Value = serde_json::from_slice(&kept).unwrap();
        assert_eq!(
            kept["stream_options"],
            serde_json::json!({"include_usage": true, "x": 1})
        );
        for (path, body) in [
            (
                "/v1/chat/completions",
                r#"{"stream":true,"stream_options":{"include_usage":true}}"#,
            ),
            ("/v1/chat/completions", r#"{"stream":false}"#),
            (
                "/v1/chat/completions",
                r#"{"stream":true,"stream_options":"odd"}"#,
            ),
            ("/v1/embeddings", r#"{"stream":true}"#),
        ] {
            assert_eq!(ask_for_stream_usage(path, body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn usage_is_read_from_answers_chunks_and_embeddings() {
        let answer = br#"{"id":"x","choices":[{"message":{"content":"{\"usage\":1}"}}],
                          "usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,
                                   "prompt_tokens_details":{"cached_tokens":0}}}"#;
        assert_eq!(
            Usage::read(answer),
            Some(Usage {
                prompt: 3,
                completion: 4,
                cost: None
            })
        );
        let embedding = br#"{"usage":{"prompt_tokens":5,"total_tokens":5}}"#;
        assert_eq!(Usage::read(embedding).map(|u| u.completion), Some(0));
        let litellm = br#"{"usage":{"prompt_tokens":1,"completion_tokens":1,"cost":0.5}}"#;
        assert_eq!(Usage::read(litellm).and_then(|u| u.cost), Some(0.5));
        let negative = br#"{"usage":{"prompt_tokens":1,"cost":-2}}"#;
        assert_eq!(Usage::read(negative).map(|u| u.cost), Some(None));
        assert_eq!(Usage::read(br#"{"usage":null}"#), None);
        assert_eq!(Usage::read(br#"{"usage":{"completion_tokens":1}}"#), None);
        assert_eq!(Usage::read(br#"{"usage":{"prompt_tokens":"3"}}"#), None);
        assert_eq!(Usage::read(b"[DONE]"), None);
    }

    #[test]
    fn an_error_event_in_a_stream_is_a_failure() {
        let event = br#"{"error": {"message": "APIConnectionError", "code": "500"}}"#;
        assert_eq!(
            stream_error(event).as_deref(),
            Some("upstream failed mid-stream: APIConnectionError")
        );
        assert_eq!(stream_error(br#"{"choices": []}"#), None);
    }

    #[test]
    fn an_unasked_usage_chunk_is_dropped_in_openai_and_litellm_shapes() {
        let openai = br#"{"choices": [], "usage": {"prompt_tokens": 1}}"#;
        assert_eq!(strip_usage(openai), Some(None));
        let litellm = br#"{"choices": [{"index": 0, "delta": {}, "finish_reason": null}],
                           "usage": {"prompt_tokens": 1}}"#;
        assert_eq!(strip_usage(litellm), Some(None));
        let merged = br#"{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 1}}"#;
        let kept = String::from_utf8(strip_usage(merged).unwrap().unwrap()).unwrap();
        assert!(
            kept.starts_with("data: {") && kept.ends_with("}\n\n"),
            "{kept}"
        );
        assert!(kept.contains("\"finish_reason\":\"stop\"") && !kept.contains("usage"));
        assert_eq!(strip_usage(b"[DONE"), None);
    }

    proptest! {
        /// The peek reads what a parse of the whole document reads, for any body.
        #[test]
        fn the_peek_agrees_with_a_whole_parse(
            model in proptest::option::of(prop_oneof![
                "[a-z0-9./-]{0,12}".prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                Just(Value::Null),
            ]),
            stream in proptest::option::of(prop_oneof![any::<bool>().prop_map(Value::from), Just(Value::Null)]),
            include in proptest::option::of(prop_oneof![
                any::<bool>().prop_map(|b| serde_json::json!({"include_usage": b})),
                Just(Value::Null),
                Just(serde_json::json!({})),
            ]),
            extra in "[a-z]{1,6}",
        ) {
            let mut object = serde_json::Map::new();
            object.insert(extra.clone(), serde_json::json!([{"model": "inner", "stream": true}]));
            if let Some(m) = &model { object.insert("model".into(), m.clone()); }
            if let Some(s) = &stream { object.insert("stream".into(), s.clone()); }
            if let Some(i) = &include { object.insert("stream_options".into(), i.clone()); }
            let body = Value::Object(object.clone()).to_string();
            let whole: Value = serde_json::from_str(&body).unwrap();
            let peek = RequestPeek::read(body.as_bytes()).unwrap();
            prop_assert_eq!(peek.model.as_deref(), whole.get("model").and_then(Value::as_str));
            prop_assert_eq!(peek.stream, whole.get("stream") == Some(&Value::Bool(true)));
            prop_assert_eq!(
                peek.include_usage,
                whole.pointer("/stream_options/include_usage") == Some(&Value::Bool(true))
            );
        }

        /// Any bytes: an answer or an error, never a panic.
        #[test]
        fn any_bytes_are_read_or_refused(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = RequestPeek::read(&body);
            let _ = Usage::read(&body);
            let _ = stream_error(&body);
            let _ = strip_usage(&body);
        }
    }
}

//! Which behaviour a request gets: parsed from the upstream model name (`standin-429`, `standin-stall-2000`,
//! a `~tag` suffix ignored) unless the control queues (`POST /standin/next`) hold one for the next requests:
//! the queue of its exact model name first, then the queue for any model.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Stall before the status line when `standin-stall` names no duration.
const DEFAULT_STALL: Duration = Duration::from_millis(5000);
/// Pause before each chunk when `standin-slow-stream` names no duration.
const DEFAULT_CHUNK_DELAY: Duration = Duration::from_millis(100);

/// What the stand-in does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// A normal answer.
    Ok,
    /// An error answer with this status (429 gets `retry-after` and `x-ratelimit-*` too).
    Status(u16),
    /// Wait this long before the status line, then answer normally.
    Stall(Duration),
    /// Cut the connection after half of the answer.
    Drop,
    /// Wait this long before each stream chunk.
    SlowStream(Duration),
}

impl Behaviour {
    /// The behaviour a model name selects: `standin-` + a behaviour name (+ `~tag`, ignored), anything else
    /// is [`Behaviour::Ok`].
    pub fn from_model(model: &str) -> Behaviour {
        let name = model.split_once('~').map_or(model, |(name, _tag)| name);
        name.strip_prefix("standin-")
            .and_then(|name| Behaviour::parse(name).ok())
            .unwrap_or(Behaviour::Ok)
    }

    /// A behaviour name as the control endpoint takes it: `ok`, `NNN`, `stall[-MS]`, `drop`,
    /// `slow-stream[-MS]`.
    pub fn parse(name: &str) -> Result<Behaviour, String> {
        let millis = |rest: &str, default: Duration| -> Result<Duration, String> {
            match rest.strip_prefix('-') {
                None if rest.is_empty() => Ok(default),
                Some(ms) => ms
                    .parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| format!("'{ms}' in '{name}' is not a number of milliseconds")),
                None => Err(format!("unknown behaviour '{name}'")),
            }
        };
        if name == "ok" {
            Ok(Behaviour::Ok)
        } else if name == "drop" {
            Ok(Behaviour::Drop)
        } else if let Some(rest) = name.strip_prefix("slow-stream") {
            millis(rest, DEFAULT_CHUNK_DELAY).map(Behaviour::SlowStream)
        } else if let Some(rest) = name.strip_prefix("stall") {
            millis(rest, DEFAULT_STALL).map(Behaviour::Stall)
        } else if name.len() == 3
            && let Ok(status @ 400..=599) = name.parse::<u16>()
        {
            Ok(Behaviour::Status(status))
        } else {
            Err(format!(
                "unknown behaviour '{name}' (ok, NNN for a 4xx/5xx status, stall[-MS], drop, slow-stream[-MS])"
            ))
        }
    }
}

/// Behaviours queued by the control endpoint for the next requests, in order: per exact model name
/// (`Some`), and for any model (`None`).
#[derive(Debug, Default)]
pub struct Queue {
    next: Mutex<HashMap<Option<String>, VecDeque<Behaviour>>>,
}

impl Queue {
    /// Queues `behaviour` for the next `count` requests for `model` (any model when `None`), after those
    /// already queued.
    pub fn push(&self, model: Option<String>, behaviour: Behaviour, count: usize) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        next.entry(model)
            .or_default()
            .extend(std::iter::repeat_n(behaviour, count));
    }

    /// Forgets every queued behaviour.
    pub fn clear(&self) {
        self.next.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The behaviour of a request for `model`: the next one queued for that model, else the next one queued
    /// for any model, else the model name's.
    pub fn take(&self, model: &str) -> Behaviour {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let mut pop = |key: Option<String>| next.get_mut(&key).and_then(VecDeque::pop_front);
        pop(Some(model.to_owned()))
            .or_else(|| pop(None))
            .unwrap_or_else(|| Behaviour::from_model(model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_select_behaviours() {
        assert_eq!(Behaviour::from_model("standin-ok"), Behaviour::Ok);
        assert_eq!(Behaviour::from_model("gpt-4o"), Behaviour::Ok);
        assert_eq!(Behaviour::from_model("standin-429"), Behaviour::Status(429));
        assert_eq!(Behaviour::from_model("standin-503"), Behaviour::Status(503));
        assert_eq!(Behaviour::from_model("standin-drop"), Behaviour::Drop);
        assert_eq!(
            Behaviour::from_model("standin-stall"),
            Behaviour::Stall(DEFAULT_STALL)
        );
        assert_eq!(
            Behaviour::from_model("standin-stall-250"),
            Behaviour::Stall(Duration::from_millis(250))
        );
        assert_eq!(
            Behaviour::from_model("standin-slow-stream-20"),
            Behaviour::SlowStream(Duration::from_millis(20))
        );
        assert_eq!(
            Behaviour::from_model("standin-500~breaker"),
            Behaviour::Status(500)
        );
        assert_eq!(Behaviour::from_model("standin-200"), Behaviour::Ok);
        assert_eq!(Behaviour::from_model("standin-stallx"), Behaviour::Ok);
    }

    #[test]
    fn bad_control_names_are_refused() {
        assert!(Behaviour::parse("stall-abc").is_err());
        assert!(Behaviour::parse("teapot").is_err());
        assert!(Behaviour::parse("200").is_err());
    }

    #[test]
    fn the_queue_goes_first_then_the_model_name() {
        let queue = Queue::default();
        queue.push(None, Behaviour::Status(500), 2);
        queue.push(None, Behaviour::Drop, 1);
        queue.push(Some("standin-ok~a".into()), Behaviour::Status(503), 1);
        assert_eq!(queue.take("standin-ok~a"), Behaviour::Status(503));
        assert_eq!(queue.take("standin-ok~a"), Behaviour::Status(500));
        assert_eq!(queue.take("standin-ok"), Behaviour::Status(500));
        assert_eq!(queue.take("standin-ok"), Behaviour::Drop);
        assert_eq!(queue.take("standin-429"), Behaviour::Status(429));
        queue.push(None, Behaviour::Drop, 5);
        queue.clear();
        assert_eq!(queue.take("standin-ok"), Behaviour::Ok);
    }
}

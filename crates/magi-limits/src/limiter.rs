//! Rate limits and the queue: requests and tokens per minute, per model and per user, as token buckets.
//!
//! A limit of N per minute is a [`Bucket`] holding at most N that refills N/60 every second, so a burst of N
//! passes at once and then one every 60/N seconds. A request takes one request token; it may start while its
//! tokens-per-minute bucket holds at least one token, and its actual tokens (known only when the answer is complete) are
//! charged afterwards with [`Limiter::charge`], so a bucket can go into debt and refuses until it has refilled.
//!
//! Over a user's limit the answer is 429 at once. Over a model's limit the request waits in that model's
//! queue, interactive requests before workflows and first come first served within a class, until the
//! model has room (a dispatcher task per busy model wakes the head of the queue) or the maximum wait passes
//! (429). The number of waiting requests across all models is bounded; when it is full the answer is 429.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use magi_usage::policy::{Priority, RateLimit, Scope};

/// A token bucket of `capacity` that refills `capacity` per minute.
#[derive(Debug, Clone)]
pub struct Bucket {
    capacity: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(per_minute: u64, now: Instant) -> Bucket {
        Bucket {
            capacity: per_minute as f64,
            level: per_minute as f64,
            at: now,
        }
    }

    fn per_sec(&self) -> f64 {
        self.capacity / 60.0
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * self.per_sec()).min(self.capacity);
        self.at = now;
    }

    /// How long until the level reaches `need`.
    fn wait_for(&self, need: f64) -> Duration {
        if self.per_sec() <= 0.0 {
            return Duration::from_secs(60);
        }
        Duration::from_secs_f64(((need - self.level) / self.per_sec()).max(0.0))
    }

    /// Takes `n` if the bucket holds that many; else how long until it will.
    pub fn take(&mut self, n: f64, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.level + 1e-9 >= n {
            self.level -= n;
            Ok(())
        } else {
            Err(self.wait_for(n))
        }
    }

    /// Whether at least one whole token is left; else how long until one is.
    pub fn open(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.level + 1e-9 >= 1.0 {
            Ok(())
        } else {
            Err(self.wait_for(1.0).max(Duration::from_millis(1)))
        }
    }

    /// Removes `n` (may go below zero).
    pub fn charge(&mut self, n: f64, now: Instant) {
        self.refill(now);
        self.level -= n;
    }

    /// Gives back what a refused request took.
    fn refund(&mut self, n: f64) {
        self.level = (self.level + n).min(self.capacity);
    }

    pub fn capacity(&self) -> u64 {
        self.capacity as u64
    }

    pub fn remaining(&self) -> u64 {
        self.level.max(0.0).floor() as u64
    }

    /// Seconds until the bucket is full again.
    pub fn reset_secs(&self) -> f64 {
        self.wait_for(self.capacity).as_secs_f64()
    }
}

/// The buckets of one model or user.
#[derive(Debug, Clone)]
struct Buckets {
    rpm: Option<Bucket>,
    tpm: Option<Bucket>,
}

impl Buckets {
    /// Takes a request token if both buckets allow; else the longer wait.
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(tpm) = &mut self.tpm {
            tpm.open(now)?;
        }
        if let Some(rpm) = &mut self.rpm {
            rpm.take(1.0, now)?;
        }
        Ok(())
    }

    fn refund(&mut self) {
        if let Some(rpm) = &mut self.rpm {
            rpm.refund(1.0);
        }
    }
}

/// Why a request may not go now, with what the 429 says.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub message: String,
    pub retry_after: Duration,
    /// The `x-ratelimit-*` headers: (name, value).
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Debug)]
struct Waiter {
    priority: Priority,
    seq: u64,
    grant: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    /// The heap pops the greatest: interactive before workflow, then the earliest.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then(other.seq.cmp(&self.seq))
    }
}

#[derive(Debug, Default)]
struct State {
    limits: HashMap<(Scope, String), Buckets>,
    queues: HashMap<String, BinaryHeap<Waiter>>,
    dispatching: HashSet<String>,
    queued: usize,
    seq: u64,
}

/// A request's place in its model's queue while it waits.
struct Place<'a> {
    limiter: &'a Limiter,
    model: &'a str,
    user: &'a str,
    seq: u64,
    granted: bool,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if self.granted {
            return;
        }
        let mut state = self.limiter.lock();
        if let Some(queue) = state.queues.get_mut(self.model) {
            let before = queue.len();
            queue.retain(|w| w.seq != self.seq);
            let removed = before - queue.len();
            if queue.is_empty() {
                state.queues.remove(self.model);
            }
            state.queued -= removed;
        }
        if let Some(b) = state.limits.get_mut(&(Scope::User, self.user.to_owned())) {
            b.refund();
        }
    }
}

/// Queue settings.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// Requests waiting across all models at most.
    pub max_waiting: usize,
    /// The longest a request waits before 429.
    pub max_wait: Duration,
}

/// The rate limits and queues of the gateway.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
    settings: QueueSettings,
}

impl Limiter {
    pub fn new(settings: QueueSettings) -> Arc<Limiter> {
        Arc::new(Limiter {
            state: Mutex::default(),
            settings,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a new policy, keeping the levels of limits that did not change.
    pub fn apply(&self, limits: &[RateLimit], now: Instant) {
        let mut state = self.lock();
        let old = std::mem::take(&mut state.limits);
        for limit in limits {
            let key = (limit.scope, limit.name.clone());
            let previous = old.get(&key);
            let keep = |old: Option<&Bucket>, per_minute: Option<u64>| {
                per_minute.map(|n| match old {
                    Some(b) if b.capacity() == n => b.clone(),
                    _ => Bucket::new(n, now),
                })
            };
            state.limits.insert(
                key,
                Buckets {
                    rpm: keep(previous.and_then(|b| b.rpm.as_ref()), limit.rpm),
                    tpm: keep(previous.and_then(|b| b.tpm.as_ref()), limit.tpm),
                },
            );
        }
    }

    /// Lets a request of `user` for `model` go, possibly after queueing; or says why not.
    pub async fn acquire(
        self: &Arc<Self>,
        model: &str,
        user: &str,
        priority: Priority,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        let receiver = {
            let mut state = self.lock();
            let user_key = (Scope::User, user.to_owned());
            if let Some(buckets) = state.limits.get_mut(&user_key) {
                buckets
                    .admit(now)
                    .map_err(|wait| refusal(&format!("user {user}"), buckets, wait))?;
            }
            let model_key = (Scope::Model, model.to_owned());
            let queue_empty = state.queues.get(model).is_none_or(BinaryHeap::is_empty);
            let Some(buckets) = state.limits.get_mut(&model_key) else {
                return Ok(());
            };
            let wait = if queue_empty {
                match buckets.admit(now) {
                    Ok(()) => return Ok(()),
                    Err(wait) => wait,
                }
            } else {
                Duration::ZERO
            };
            if state.queued >= self.settings.max_waiting || self.settings.max_wait.is_zero() {
                let buckets = state.limits.get_mut(&model_key).expect("looked up above");
                let mut refused = refusal(&format!("model {model}"), buckets, wait);
                if state.queued >= self.settings.max_waiting && !self.settings.max_wait.is_zero() {
                    refused.message = format!(
                        "{}; the queue is full ({} requests waiting)",
                        refused.message, state.queued
                    );
                }
                if let Some(b) = state.limits.get_mut(&user_key) {
                    b.refund();
                }
                return Err(refused);
            }
            let (grant, receiver) = oneshot::channel();
            state.seq += 1;
            let seq = state.seq;
            state
                .queues
                .entry(model.to_owned())
                .or_default()
                .push(Waiter {
                    priority,
                    seq,
                    grant,
                });
            state.queued += 1;
            if state.dispatching.insert(model.to_owned()) {
                tokio::spawn(Arc::clone(self).dispatch(model.to_owned()));
            }
            (receiver, seq)
        };
        let (receiver, seq) = receiver;
        // Leaves the queue however the wait ends: granted, timed out, or the client gone (this future
        // dropped), so a waiter that left never holds a place.
        let mut place = Place {
            limiter: self,
            model,
            user,
            seq,
            granted: false,
        };
        let waited = tokio::time::timeout(self.settings.max_wait, receiver).await;
        match waited {
            Ok(Ok(())) => {
                place.granted = true;
                Ok(())
            }
            _ => {
                drop(place);
                let mut state = self.lock();
                let message = format!(
                    "rate limit of model {model} reached and it stayed busy for {}s while this request \
                     waited in the queue; retry later",
                    self.settings.max_wait.as_secs()
                );
                let mut refused = match state.limits.get_mut(&(Scope::Model, model.to_owned())) {
                    Some(buckets) => {
                        refusal(&format!("model {model}"), buckets, Duration::from_secs(1))
                    }
                    None => Refusal {
                        message: String::new(),
                        retry_after: Duration::from_secs(1),
                        headers: Vec::new(),
                    },
                };
                refused.message = message;
                Err(refused)
            }
        }
    }

    /// Wakes the head of `model`'s queue whenever the model has room, until the queue is empty.
    async fn dispatch(self: Arc<Self>, model: String) {
        loop {
            let wait = {
                let mut state = self.lock();
                let state = &mut *state;
                let Some(queue) = state.queues.get_mut(&model) else {
                    state.dispatching.remove(&model);
                    return;
                };
                while queue.peek().is_some_and(|w| w.grant.is_closed()) {
                    queue.pop();
                    state.queued -= 1;
                }
                if queue.is_empty() {
                    state.queues.remove(&model);
                    state.dispatching.remove(&model);
                    return;
                }
                let admitted = match state.limits.get_mut(&(Scope::Model, model.clone())) {
                    Some(buckets) => buckets.admit(Instant::now()),
                    None => Ok(()),
                };
                match admitted {
                    Ok(()) => {
                        let waiter = queue.pop().expect("not empty");
                        state.queued -= 1;
                        if waiter.grant.send(()).is_err()
                            && let Some(b) = state.limits.get_mut(&(Scope::Model, model.clone()))
                        {
                            b.refund();
                        }
                        continue;
                    }
                    Err(wait) => wait,
                }
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    /// Charges the tokens a finished request used to its model's and user's token buckets.
    pub fn charge(&self, model: &str, user: &str, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let now = Instant::now();
        let mut state = self.lock();
        for key in [
            (Scope::Model, model.to_owned()),
            (Scope::User, user.to_owned()),
        ] {
            if let Some(tpm) = state.limits.get_mut(&key).and_then(|b| b.tpm.as_mut()) {
                tpm.charge(tokens as f64, now);
            }
        }
    }

    /// Requests waiting per model.
    pub fn queue_depths(&self) -> Vec<(String, usize)> {
        let state = self.lock();
        let mut depths: Vec<_> = state
            .queues
            .iter()
            .map(|(model, q)| (model.clone(), q.len()))
            .collect();
        depths.sort();
        depths
    }
}

fn refusal(what: &str, buckets: &mut Buckets, wait: Duration) -> Refusal {
    let mut headers = Vec::new();
    let mut parts = Vec::new();
    if let Some(rpm) = &buckets.rpm {
        headers.push(("x-ratelimit-limit-requests", rpm.capacity().to_string()));
        headers.push((
            "x-ratelimit-remaining-requests",
            rpm.remaining().to_string(),
        ));
        headers.push((
            "x-ratelimit-reset-requests",
            format!("{:.3}s", rpm.reset_secs()),
        ));
        parts.push(format!("{} requests per minute", rpm.capacity()));
    }
    if let Some(tpm) = &buckets.tpm {
        headers.push(("x-ratelimit-limit-tokens", tpm.capacity().to_string()));
        headers.push(("x-ratelimit-remaining-tokens", tpm.remaining().to_string()));
        headers.push((
            "x-ratelimit-reset-tokens",
            format!("{:.3}s", tpm.reset_secs()),
        ));
        parts.push(format!("{} tokens per minute", tpm.capacity()));
    }
    let retry_after = wait.max(Duration::from_secs(1));
    Refusal {
        message: format!(
            "rate limit of {what} reached ({}); retry in {}s",
            parts.join(", "),
            retry_after.as_secs_f64().ceil() as u64
        ),
        retry_after,
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(scope: Scope, name: &str, rpm: Option<u64>, tpm: Option<u64>) -> RateLimit {
        RateLimit {
            scope,
            name: name.into(),
            rpm,
            tpm,
        }
    }

    #[test]
    fn a_bucket_passes_a_burst_then_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(60, t0);
        for _ in 0..60 {
            b.take(1.0, t0).unwrap();
        }
        assert_eq!(b.take(1.0, t0), Err(Duration::from_secs(1)));
        assert!(b.take(1.0, t0 + Duration::from_millis(999)).is_err());
        assert!(b.take(1.0, t0 + Duration::from_millis(1000)).is_ok());
    }

    #[test]
    fn a_token_bucket_goes_into_debt_and_refuses_until_repaid() {
        let t0 = Instant::now();
        let mut b = Bucket::new(600, t0);
        b.charge(900.0, t0);
        assert_eq!(b.remaining(), 0);
        let wait = b.open(t0).unwrap_err();
        // 300 in debt plus one whole token, at 10 a second.
        assert!(wait >= Duration::from_millis(30_099) && wait <= Duration::from_millis(30_101));
        assert!(b.open(t0 + Duration::from_millis(30_050)).is_err());
        assert!(b.open(t0 + Duration::from_millis(30_101)).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn user_limits_refuse_at_once_with_openai_headers() {
        let limiter = Limiter::new(QueueSettings {
            max_waiting: 10,
            max_wait: Duration::from_secs(5),
        });
        limiter.apply(&[limit(Scope::User, "ann", Some(2), None)], Instant::now());
        for _ in 0..2 {
            limiter
                .acquire("gpt", "ann", Priority::Interactive)
                .await
                .unwrap();
        }
        let refused = limiter
            .acquire("gpt", "ann", Priority::Interactive)
            .await
            .unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(30));
        assert!(
            refused
                .message
                .starts_with("rate limit of user ann reached (2 requests per minute)")
        );
        assert!(
            refused
                .headers
                .contains(&("x-ratelimit-remaining-requests", "0".into()))
        );
        limiter
            .acquire("gpt", "bob", Priority::Interactive)
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_queue_serves_interactive_first_then_in_order_and_is_bounded() {
        let limiter = Limiter::new(QueueSettings {
            max_waiting: 3,
            max_wait: Duration::from_secs(10),
        });
        limiter.apply(
            &[limit(Scope::Model, "gpt", Some(60), None)],
            Instant::now(),
        );
        for _ in 0..60 {
            limiter
                .acquire("gpt", "x", Priority::Workflow)
                .await
                .unwrap();
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, priority) in [
            ("w1", Priority::Workflow),
            ("w2", Priority::Workflow),
            ("i1", Priority::Interactive),
        ] {
            let (limiter, order) = (Arc::clone(&limiter), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                limiter.acquire("gpt", name, priority).await.unwrap();
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        assert_eq!(limiter.queue_depths(), vec![("gpt".into(), 3)]);
        let full = limiter
            .acquire("gpt", "late", Priority::Interactive)
            .await
            .unwrap_err();
        assert!(
            full.message
                .contains("the queue is full (3 requests waiting)"),
            "{}",
            full.message
        );
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec!["i1", "w1", "w2"]);
        assert!(limiter.queue_depths().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_goes_away_leaves_the_queue_at_once() {
        let limiter = Limiter::new(QueueSettings {
            max_waiting: 1,
            max_wait: Duration::from_secs(60),
        });
        limiter.apply(&[limit(Scope::Model, "gpt", Some(1), None)], Instant::now());
        limiter
            .acquire("gpt", "a", Priority::Workflow)
            .await
            .unwrap();
        let waiting = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move { limiter.acquire("gpt", "b", Priority::Workflow).await }
        });
        tokio::task::yield_now().await;
        assert_eq!(limiter.queue_depths(), vec![("gpt".into(), 1)]);
        waiting.abort();
        let _ = waiting.await;
        assert!(limiter.queue_depths().is_empty());
        assert_eq!(limiter.lock().queued, 0, "its place is free for the next");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_waits_at_most_the_maximum_wait() {
        let limiter = Limiter::new(QueueSettings {
            max_waiting: 3,
            max_wait: Duration::from_secs(2),
        });
        limiter.apply(&[limit(Scope::Model, "gpt", Some(1), None)], Instant::now());
        limiter
            .acquire("gpt", "a", Priority::Workflow)
            .await
            .unwrap();
        let started = tokio::time::Instant::now();
        let refused = limiter
            .acquire("gpt", "b", Priority::Workflow)
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert!(
            refused.message.contains("waited in the queue"),
            "{}",
            refused.message
        );
        assert!(limiter.queue_depths().is_empty());
    }
}

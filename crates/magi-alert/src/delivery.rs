//! Durable delivery: one worker thread per channel takes due deliveries from the store, attempts each, and
//! records the outcome; a failure is retried with exponential backoff and jitter until the channel takes it,
//! refuses it for good, or it has waited `give_up_after`.
//!
//! **At least once, and why not exactly once.** A delivery is marked `sending` before the attempt and `sent`
//! after the server's answer, each in its own committed transaction. A delivery committed `sent` is never
//! sent again, whatever happens later; one queued and not yet attempted is sent after a restart, so a kill
//! loses nothing queued. The only window for a duplicate is a kill (or power loss) after the server accepted
//! the notice and before `sent` was committed: that delivery is found `sending` at the next start and sent
//! again, because no client can tell "the server got it" from "it did not" without the server's help.
//! SIGTERM closes that window for a normal stop (the attempt in flight finishes and is recorded before the
//! process exits), and every attempt of a delivery carries the same key (`Idempotency-Key` on webhooks, the
//! `Message-ID` of an email, `MAGI_ALERT_DELIVERY` for a command), so a receiver can drop the rare repeat.
//! Choosing at-most-once instead would lose alerts in the same window, which is worse for an alerting tool.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use magi_core::backoff::Backoff;

use crate::channel::Channel;
use crate::store::{Claim, Delivery, Store};

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub give_up_after: Duration,
}

/// Wakes idle workers when deliveries are queued, and tells them to stop.
#[derive(Debug, Default)]
pub struct Wake {
    stop: AtomicBool,
    generation: Mutex<u64>,
    changed: Condvar,
}

impl Wake {
    /// New deliveries are queued.
    pub fn notify(&self) {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.changed.notify_all();
    }

    /// Finish the attempt in flight, then stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.notify();
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleeps up to `timeout`, or until [`Wake::notify`] or [`Wake::stop`].
    pub fn wait(&self, timeout: Duration) {
        let guard = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        let seen = *guard;
        let _ = self
            .changed
            .wait_timeout_while(guard, timeout, |g| *g == seen && !self.stopping());
    }
}

/// Delivers the queue of one channel until told to stop.
pub fn work(channel: Channel, db: PathBuf, policy: Policy, wake: &Wake) {
    let mut store = match Store::open(&db) {
        Ok(store) => store,
        Err(e) => {
            log::error!(
                "channel '{}': cannot open the alert database: {e}",
                channel.name
            );
            return;
        }
    };
    while !wake.stopping() {
        let now = Timestamp::now();
        match store.claim(&channel.name, now) {
            Ok(Claim::Due(delivery)) => {
                if let Err(e) = attempt(&channel, &mut store, &delivery, policy) {
                    log::error!("channel '{}': cannot record a delivery: {e}", channel.name);
                    wake.wait(Duration::from_secs(1));
                }
            }
            Ok(Claim::Later(at)) => {
                let wait = at
                    .duration_since(now)
                    .unsigned_abs()
                    .min(Duration::from_secs(1));
                wake.wait(wait);
            }
            Ok(Claim::Idle) => wake.wait(Duration::from_secs(1)),
            Err(e) => {
                log::error!("channel '{}': cannot read the queue: {e}", channel.name);
                wake.wait(Duration::from_secs(1));
            }
        }
    }
}

fn attempt(
    channel: &Channel,
    store: &mut Store,
    delivery: &Delivery,
    policy: Policy,
) -> Result<(), crate::store::AlertStoreError> {
    let notice = &delivery.notice;
    let result = channel.send(notice, &delivery.key);
    let now = Timestamp::now();
    match result {
        Ok(answer) => {
            log::info!(
                "{}: {} notice sent to {} ({answer})",
                notice.subject,
                notice.kind.as_str(),
                channel.name
            );
            store.sent(delivery, &answer, now)
        }
        Err(e) if e.permanent => {
            log::error!(
                "{}: {} notice refused by {}: {e}; not retried",
                notice.subject,
                notice.kind.as_str(),
                channel.name
            );
            store.failed(delivery, &e.message, now)
        }
        Err(e) => {
            let waited = now.duration_since(delivery.created_at).unsigned_abs();
            if waited >= policy.give_up_after {
                log::error!(
                    "{}: {} notice to {} given up after {} attempts: {e}",
                    notice.subject,
                    notice.kind.as_str(),
                    channel.name,
                    delivery.attempts
                );
                return store.failed(delivery, &e.message, now);
            }
            let backoff = Backoff {
                initial: policy.retry_initial,
                max: policy.retry_max,
            };
            let wait = backoff
                .jittered(delivery.attempts, fastrand::f64())
                .max(e.retry_after.unwrap_or_default().min(policy.retry_max));
            log::warn!(
                "{}: {} notice to {} failed (attempt {}): {e}; retrying in {}",
                notice.subject,
                notice.kind.as_str(),
                channel.name,
                delivery.attempts,
                magi_core::config::format_duration(Duration::from_millis(wait.as_millis() as u64))
            );
            let at = now
                .checked_add(
                    jiff::SignedDuration::try_from(wait).unwrap_or(jiff::SignedDuration::MAX),
                )
                .unwrap_or(now);
            store.retry(delivery, &e.message, at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_wakes_a_waiting_worker() {
        let wake = std::sync::Arc::new(Wake::default());
        let waiter = {
            let wake = wake.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                wake.wait(Duration::from_secs(30));
                started.elapsed()
            })
        };
        while !waiter.is_finished() {
            wake.stop();
            std::thread::yield_now();
        }
        assert!(waiter.join().unwrap() < Duration::from_secs(30));
    }
}

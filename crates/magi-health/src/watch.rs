//! `watch`: the long-running loop. Each round checks the stack, compares every service's condition and the
//! stack's status with the previous round, and emits one event per change (NDJSON on stdout with `--json`,
//! the log always), records changes, restarts and resource samples in the history, heals what the policy
//! says to heal, and publishes the report for the HTTP server. It tells systemd READY=1 after the first round,
//! STATUS= after each, and WATCHDOG=1 often enough for `WatchdogSec=`.
//!
//! Time comes from a [`Clock`], so a test drives rounds back to back with a clock that jumps instead of
//! sleeping, and the backoff and hourly cap see the time the test says.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use magi_check::{Checker, Condition, Report, StackStatus};
use magi_core::daemon::Notifier;
use magi_core::event::EventWriter;
use magi_core::logging::log_event;
use magi_core::{Event, Severity};

use crate::feed;
use crate::heal::{self, Decision, Patient, Policy};
use crate::history::{Entry, History, SampleRow};
use crate::render::{self, SOURCE};
use crate::server::Snapshot;

/// Where the loop's time comes from.
pub trait Clock {
    fn now(&self) -> Timestamp;
    /// Waits `d`, or, for a test clock, moves time on by `d`.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(d)
    }
}

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub interval: Duration,
    /// Heal with this policy, or only watch.
    pub heal: Option<Policy>,
    /// The systemd watchdog interval (`WATCHDOG_USEC`), if set.
    pub watchdog: Option<Duration>,
}

/// How many recent changes the status page shows.
const RECENT: usize = 20;

/// How often old history is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The watcher and everything it remembers between rounds.
pub struct Watcher<C: Clock, N: Notifier> {
    checker: Checker,
    clock: C,
    notifier: N,
    options: WatchOptions,
    history: Option<History>,
    events: Option<EventWriter<Box<dyn Write>>>,
    previous: HashMap<String, Condition>,
    previous_stack: Option<StackStatus>,
    patients: HashMap<String, Patient>,
    /// Whether an exited container was stopped on purpose, by container and the time it finished.
    purpose: HashMap<(String, Timestamp), bool>,
    recent: VecDeque<Entry>,
    healed: HashMap<String, u64>,
    last_prune: Option<Timestamp>,
    publish: tokio::sync::watch::Sender<Option<Arc<Snapshot>>>,
    /// The metrics store's `health` shard, when the figures are kept there.
    metrics: Option<magi_tsdb::Writer>,
}

/// What one round did, for the caller and tests.
#[derive(Debug, Clone)]
pub struct Round {
    pub report: Arc<Report>,
    pub decisions: Vec<(String, Decision)>,
}

impl<C: Clock, N: Notifier> Watcher<C, N> {
    /// A watcher; `events` receives NDJSON (`--json`), `history` the records.
    pub fn new(
        checker: Checker,
        clock: C,
        notifier: N,
        options: WatchOptions,
        history: Option<History>,
        events: Option<Box<dyn Write>>,
    ) -> Watcher<C, N> {
        Watcher {
            checker,
            clock,
            notifier,
            options,
            history,
            events: events.map(EventWriter::new),
            previous: HashMap::new(),
            previous_stack: None,
            patients: HashMap::new(),
            purpose: HashMap::new(),
            recent: VecDeque::new(),
            healed: HashMap::new(),
            last_prune: None,
            publish: tokio::sync::watch::channel(None).0,
            metrics: None,
        }
    }

    /// Writes each round's figures, and each restart as an annotation, to the metrics store.
    pub fn with_metrics(mut self, writer: magi_tsdb::Writer) -> Self {
        self.metrics = Some(writer);
        self
    }

    /// A receiver of each round's snapshot, for the HTTP server.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Option<Arc<Snapshot>>> {
        self.publish.subscribe()
    }

    /// Runs rounds until `shutdown` completes, or until an output error (a closed stdout) ends the loop.
    pub async fn run(&mut self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        tokio::pin!(shutdown);
        let mut first = true;
        loop {
            let round = self.round().await?;
            let status = format!(
                "{}; next check in {}s",
                round.report.stack.summary(),
                self.options.interval.as_secs()
            );
            if first {
                self.notifier.notify(&[
                    sd_notify::NotifyState::Ready,
                    sd_notify::NotifyState::Status(&status),
                ]);
                first = false;
            } else {
                self.notifier
                    .notify(&[sd_notify::NotifyState::Status(&status)]);
            }
            if self.options.watchdog.is_some() {
                self.notifier.notify(&[sd_notify::NotifyState::Watchdog]);
            }
            let mut left = self.options.interval;
            while !left.is_zero() {
                let step = match self.options.watchdog {
                    Some(w) => left.min(w / 2).max(Duration::from_millis(1)),
                    None => left,
                };
                // A stop asked for goes first, whatever else is ready.
                tokio::select! {
                    biased;
                    () = &mut shutdown => {
                        self.notifier.notify(&[sd_notify::NotifyState::Stopping]);
                        return Ok(());
                    }
                    () = self.clock.sleep(step) => {}
                }
                left = left.saturating_sub(step);
                if self.options.watchdog.is_some() {
                    self.notifier.notify(&[sd_notify::NotifyState::Watchdog]);
                }
            }
        }
    }

    /// One round: check, compare, emit, record, heal, publish.
    pub async fn round(&mut self) -> std::io::Result<Round> {
        let mut report = self.checker.check(None).await;
        let now = self.clock.now();
        report.at = now;
        let mut events = Vec::new();
        for s in &report.services {
            let condition = s.verdict.condition;
            let before = self.previous.insert(s.service.name.clone(), condition);
            if before == Some(condition) {
                continue;
            }
            let mut event = render::service_event(s, now, &report.stack.impacts);
            if let Some(before) = before {
                event.message = format!("{} (was {before})", event.message);
                event = event.with("previous", before.name());
            }
            self.remember_change(
                now,
                &s.service.name,
                before.map(Condition::name),
                condition.name(),
                &event,
            );
            events.push(event);
        }
        if self.previous_stack != Some(report.stack.status) {
            let before = self.previous_stack.replace(report.stack.status);
            let mut event = render::stack_event(&report);
            if let Some(before) = before {
                event.message = format!("{} (was {before})", event.message);
                event = event.with("previous", before.name());
            }
            self.remember_change(
                now,
                "stack",
                before.map(StackStatus::name),
                report.stack.status.name(),
                &event,
            );
            events.push(event);
        }
        for event in &events {
            self.emit(event)?;
        }
        let decisions = match self.options.heal {
            Some(policy) => self.heal(&report, policy, now).await?,
            None => Vec::new(),
        };
        self.record_samples(&report, now);
        let report = Arc::new(report);
        self.publish.send_replace(Some(Arc::new(Snapshot {
            report: report.clone(),
            recent: self.recent.iter().rev().cloned().collect(),
            healed: self.healed.clone(),
        })));
        Ok(Round { report, decisions })
    }

    fn emit(&mut self, event: &Event) -> std::io::Result<()> {
        log_event(event);
        match &mut self.events {
            Some(writer) => writer.write(event),
            None => Ok(()),
        }
    }

    fn remember_change(
        &mut self,
        now: Timestamp,
        subject: &str,
        from: Option<&str>,
        to: &str,
        event: &Event,
    ) {
        if let Some(history) = &self.history
            && let Err(e) = history.record_change(
                now,
                subject,
                from,
                to,
                event.severity.as_str(),
                &event.message,
            )
        {
            log::warn!("{e}");
        }
        self.recent.push_back(Entry::Change {
            ts: now,
            subject: subject.to_owned(),
            from: from.map(str::to_owned),
            to: to.to_owned(),
            severity: event.severity.as_str().to_owned(),
            message: event.message.clone(),
        });
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
    }

    async fn heal(
        &mut self,
        report: &Report,
        policy: Policy,
        now: Timestamp,
    ) -> std::io::Result<Vec<(String, Decision)>> {
        let mut decisions = Vec::new();
        for s in &report.services {
            let on_purpose = match &s.observation.container {
                Ok(c)
                    if matches!(
                        c.state,
                        magi_docker::State::Exited { .. }
                            | magi_docker::State::OomKilled { .. }
                            | magi_docker::State::Dead
                    ) =>
                {
                    self.on_purpose(c).await
                }
                _ => false,
            };
            let sickness = heal::sickness(s, on_purpose);
            let patient = self.patients.entry(s.service.name.clone()).or_default();
            let decision = policy.decide(patient, now, &sickness);
            let container = s.service.container.as_str();
            match &decision {
                Decision::Restart { reason, attempt } => {
                    let outcome = match self
                        .checker
                        .engine()
                        .restart(container, Duration::from_secs(10))
                        .await
                    {
                        Ok(()) => "restarted".to_owned(),
                        Err(e) => format!("failed: {e}"),
                    };
                    let ok = outcome == "restarted";
                    let wait = policy.wait_after(*attempt);
                    let message = if ok {
                        format!(
                            "restarted {container} ({reason}); attempt {attempt}, next restart no sooner than {}s",
                            wait.as_secs()
                        )
                    } else {
                        format!("could not restart {container} ({reason}): {outcome}")
                    };
                    let event = Event::new(
                        SOURCE,
                        "service.restarted",
                        &s.service.name,
                        if ok {
                            Severity::Warning
                        } else {
                            Severity::Critical
                        },
                        message,
                    )
                    .with("container", container)
                    .with("reason", reason.as_str())
                    .with("attempt", *attempt)
                    .with("outcome", outcome.as_str());
                    let event = Event { ts: now, ..event };
                    if ok {
                        *self.healed.entry(s.service.name.clone()).or_default() += 1;
                    }
                    if let Some(metrics) = &mut self.metrics
                        && let Err(e) = metrics.annotate(
                            now.as_millisecond(),
                            "restart",
                            Some(&s.service.name),
                            &format!("restarted {container} ({reason}): {outcome}"),
                        )
                    {
                        log::warn!("{e}");
                    }
                    if let Some(history) = &self.history
                        && let Err(e) = history.record_restart(
                            now,
                            &s.service.name,
                            container,
                            reason,
                            &outcome,
                        )
                    {
                        log::warn!("{e}");
                    }
                    self.recent.push_back(Entry::Restart {
                        ts: now,
                        subject: s.service.name.clone(),
                        container: container.to_owned(),
                        reason: reason.clone(),
                        outcome,
                    });
                    self.emit(&event)?;
                }
                Decision::Capped {
                    restarts,
                    announce: true,
                } => {
                    let event = Event::new(SOURCE, "service.restart_capped", &s.service.name, Severity::Critical,
                        format!("will not restart {container} again for now: {restarts} restarts in the last hour, the cap"))
                        .with("container", container)
                        .with("restarts", *restarts);
                    self.emit(&Event { ts: now, ..event })?;
                }
                _ => {}
            }
            decisions.push((s.service.name.clone(), decision));
        }
        Ok(decisions)
    }

    /// Whether an exited container was stopped on purpose, asking the engine's event log once per exit.
    async fn on_purpose(&mut self, container: &magi_docker::Container) -> bool {
        let key = (
            container.name.clone(),
            container.finished_at.unwrap_or(Timestamp::UNIX_EPOCH),
        );
        if let Some(known) = self.purpose.get(&key) {
            return *known;
        }
        let since = container.started_at.unwrap_or(Timestamp::UNIX_EPOCH);
        let requested = match self
            .checker
            .engine()
            .stop_requested(&container.name, since)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                log::warn!(
                    "{e}; treating the exit of {} as not on purpose",
                    container.name
                );
                false
            }
        };
        let verdict = container.stopped_on_purpose(requested);
        self.purpose.insert(key, verdict);
        verdict
    }

    fn record_samples(&mut self, report: &Report, now: Timestamp) {
        if let Some(metrics) = &mut self.metrics {
            let ms = now.as_millisecond();
            if let Err(e) = metrics.append(&feed::samples(report, ms), ms) {
                log::warn!("{e}");
            }
        }
        let Some(history) = &mut self.history else {
            return;
        };
        let rows: Vec<SampleRow<'_>> = report
            .services
            .iter()
            .map(|s| {
                let o = &s.observation;
                SampleRow {
                    subject: &s.service.name,
                    condition: s.verdict.condition.name(),
                    cpu_percent: o.cpu_percent,
                    memory_used: o.memory.map(|m| m.used),
                    memory_limit: o.memory.map(|m| m.limit),
                    latency_ms: o
                        .probe
                        .as_ref()
                        .and_then(|p| p.latency())
                        .map(|l| l.as_secs_f64() * 1000.0),
                    data_bytes: o.data_bytes,
                    restart_count: o.container.as_ref().ok().map(|c| c.restart_count),
                }
            })
            .collect();
        if let Err(e) = history.record_samples(now, &rows) {
            log::warn!("{e}");
        }
        let due = self
            .last_prune
            .is_none_or(|last| now.duration_since(last).as_secs() >= PRUNE_EVERY.as_secs() as i64);
        if due {
            self.last_prune = Some(now);
            match history.prune(now) {
                Ok(0) => {}
                Ok(n) => log::debug!("pruned {n} history rows older than 30 days"),
                Err(e) => log::warn!("{e}"),
            }
        }
    }
}

//! The stream: read → decide → record → deliver, each beside the others so a slow or dead channel never
//! holds up reading.
//!
//! A reader thread parses lines with [`magi_core::event::EventReader`] and reports bad ones with their line
//! numbers; the deciding loop feeds events and ticks to the [`Engine`] and records decisions in the store;
//! one worker per channel delivers ([`crate::delivery`]). Events whose `source` is `magi-alert` are passed
//! over: magi-alert logs its own alert events to the journal, and reading `journalctl -u 'magi-*'` must not
//! turn them into alerts about alerts. Received events are not logged again for the same reason; their
//! producers already logged them.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use magi_core::event::{EventReader, ReadStats};
use magi_core::logging::log_event;
use magi_core::paths::Paths;
use magi_core::{Config, Event};

use crate::channel::{Channel, ChannelError, ChannelSpec, redact};
use crate::delivery::{self, Policy, Wake};
use crate::engine::{Decision, Engine};
use crate::rule::{NoticeKind, Step};
use crate::store::{AlertStoreError, Store};

/// The `source` of the events magi-alert itself logs.
pub const SOURCE: &str = "magi-alert";

/// How often time is let pass for reminders, `for` durations and silences that end.
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] AlertStoreError),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("reading the events: {0}")]
    Read(#[from] std::io::Error),
}

/// How a run is set up.
pub struct Options {
    pub db: PathBuf,
    /// Channels given on the command line (`--to URL`), beside the configured ones.
    pub extra: Vec<String>,
    /// At the end of the input, how long to wait for queued deliveries before leaving them for the next run.
    pub drain: Duration,
    /// The metrics store where fired, escalated and resolved alerts are marked for the dashboard's charts.
    pub marks: PathBuf,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub events: u64,
    pub skipped: u64,
    pub alerts: u64,
    /// Deliveries still queued at exit; the next run sends them.
    pub left: usize,
}

enum Message {
    Event(Box<Event>),
    End(std::io::Result<()>, ReadStats),
}

/// Every channel this run can send to, configured and from the command line, by name.
pub fn channels(
    config: &Config,
    extra: &[String],
    paths: &Paths,
) -> Result<BTreeMap<String, Channel>, ChannelError> {
    config
        .alert
        .channels
        .keys()
        .chain(extra)
        .map(|target| Ok((target.clone(), open(config, target, paths)?)))
        .collect()
}

/// The channel `target` names: a channel of the config by its name, else a channel URL.
fn open(config: &Config, target: &str, paths: &Paths) -> Result<Channel, ChannelError> {
    match config.alert.channels.get(target) {
        Some(c) => Channel::open(target, ChannelSpec::configured(c), paths),
        None => Channel::open(&url_channel_name(target), ChannelSpec::url(target), paths),
    }
}

/// The name of a channel given by URL: the URL without its secret parts (the name is what logs, errors and
/// `history` show, and what its queued deliveries are stored under), and a checksum of the whole URL so two
/// URLs that differ only in their hidden parts stay two channels. FNV-1a: stable across builds and runs.
fn url_channel_name(url: &str) -> String {
    let sum = url.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let shown = redact(url);
    if shown == url {
        shown
    } else {
        format!("{shown}#{:06x}", sum & 0xff_ffff)
    }
}

/// Reads `input` to its end (or until `stop`), alerting and delivering; then waits up to `drain` for the queue.
pub fn run(
    config: &Config,
    paths: &Paths,
    options: &Options,
    input: Box<dyn BufRead + Send>,
    stop: Arc<Wake>,
) -> Result<Summary, DaemonError> {
    let channels = channels(config, &options.extra, paths)?;
    let mut store = Store::open(&options.db)?;
    let requeued = store.requeue_interrupted()?;
    if requeued > 0 {
        log::warn!(
            "{requeued} deliveries were in flight when the last run ended; sending them again"
        );
    }
    let mut engine = Engine::new(config);
    for (rule, subject, track) in store.tracks()? {
        engine.restore(&rule, &subject, track);
    }
    let defaults = &config.alert.defaults;
    let policy = Policy {
        retry_initial: defaults.retry_initial,
        retry_max: defaults.retry_max,
        give_up_after: defaults.give_up_after,
    };
    let routes: BTreeMap<String, Vec<(String, ChannelSpec)>> = engine
        .rules()
        .iter()
        .map(|rule| {
            let names: Vec<&String> = if !rule.to.is_empty() {
                rule.to.iter().collect()
            } else if !defaults.to.is_empty() {
                defaults.to.iter().chain(options.extra.iter()).collect()
            } else {
                channels.keys().collect()
            };
            let route = names
                .into_iter()
                .filter_map(|n| channels.get(n))
                .map(|c| (c.name.clone(), c.spec.clone()))
                .collect();
            (rule.name.clone(), route)
        })
        .collect();
    if channels.is_empty() {
        log::warn!(
            "no channel to send to: alerts are recorded (`magi-alert list`) but nobody is told; give --to URL or [alert.channels] in the config"
        );
    }

    let wake = Arc::new(Wake::default());
    let mut workers = Vec::new();
    let mut waiting: BTreeMap<String, ChannelSpec> =
        store.waiting_channels()?.into_iter().collect();
    for channel in channels.into_values() {
        waiting.remove(&channel.name);
        workers.push(spawn_worker(
            channel,
            options.db.clone(),
            policy,
            wake.clone(),
        ));
    }
    for (name, spec) in waiting {
        match Channel::open(&name, spec, paths) {
            Ok(channel) => workers.push(spawn_worker(
                channel,
                options.db.clone(),
                policy,
                wake.clone(),
            )),
            Err(e) => log::error!("{e}; its queued deliveries stay queued"),
        }
    }

    let (tx, rx) = mpsc::sync_channel::<Message>(4096);
    std::thread::Builder::new()
        .name("reader".into())
        .spawn(move || read(input, tx))
        .expect("a thread can be started");

    let mut summary = Summary::default();
    let mut next_tick = Instant::now();
    let route = |rule: &str| routes.get(rule).cloned().unwrap_or_default();
    let outcome: Result<(), DaemonError> = loop {
        if stop.stopping() {
            break Ok(());
        }
        if Instant::now() >= next_tick {
            next_tick = Instant::now() + TICK;
            let now = Timestamp::now();
            engine.set_silences(store.active_silences(now)?);
            let acked = store.acked()?;
            engine.set_acked(&|rule, subject| acked.iter().any(|(r, s)| r == rule && s == subject));
            let decisions = engine.tick(now);
            record(
                &mut store,
                &decisions,
                now,
                &route,
                &wake,
                &mut summary,
                &options.marks,
            )?;
        }
        match rx.recv_timeout(
            Duration::from_millis(200).min(next_tick.saturating_duration_since(Instant::now())),
        ) {
            Ok(Message::Event(event)) => {
                summary.events += 1;
                let now = Timestamp::now();
                let decisions = engine.observe(&event, now);
                if !decisions.is_empty() {
                    record(
                        &mut store,
                        &decisions,
                        now,
                        &route,
                        &wake,
                        &mut summary,
                        &options.marks,
                    )?;
                }
            }
            Ok(Message::End(result, stats)) => {
                summary.skipped = stats.skipped;
                break result.map_err(DaemonError::from);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        }
    };
    let deadline = Instant::now() + options.drain;
    while outcome.is_ok() && !stop.stopping() && Instant::now() < deadline && store.waiting()? > 0 {
        stop.wait(Duration::from_millis(50));
    }
    wake.stop();
    for worker in workers {
        let _ = worker.join();
    }
    summary.left = store.waiting()?;
    outcome?;
    Ok(summary)
}

/// Sends a test notice to a configured channel (by name) or a channel URL, now, outside the queue.
/// Returns the channel's name and the server's answer or why it failed.
pub fn test(
    config: &Config,
    paths: &Paths,
    target: &str,
) -> Result<(String, Result<String, crate::channel::SendError>), ChannelError> {
    let channel = open(config, target, paths)?;
    let event = Event::new(
        SOURCE,
        "alert.test",
        "magi-alert",
        magi_core::Severity::Info,
        "test notice from magi-alert",
    );
    let notice = crate::notice::Notice {
        kind: NoticeKind::Test,
        alert: 0,
        rule: "test".into(),
        subject: "magi-alert".into(),
        severity: magi_core::Severity::Info,
        message: "test notice from magi-alert".into(),
        since: event.ts,
        at: event.ts,
        event,
    };
    let key = format!("test-{:016x}", fastrand::u64(..));
    let answer = channel.send(&notice, &key);
    Ok((channel.name, answer))
}

fn spawn_worker(
    channel: Channel,
    db: PathBuf,
    policy: Policy,
    wake: Arc<Wake>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("deliver {}", channel.name))
        .spawn(move || delivery::work(channel, db, policy, &wake))
        .expect("a thread can be started")
}

/// The reader thread: events go to the deciding loop; bad lines are reported here, with their numbers.
fn read(input: Box<dyn BufRead + Send>, tx: mpsc::SyncSender<Message>) {
    let mut reader = EventReader::new(input);
    let end = loop {
        match reader.next_line() {
            Ok(None) => break Ok(()),
            Ok(Some(Ok(event))) if event.source == SOURCE => {
                log::trace!(
                    "line {}: magi-alert's own event, passed over",
                    reader.stats().lines
                );
            }
            Ok(Some(Ok(event))) => {
                if tx.send(Message::Event(Box::new(event))).is_err() {
                    return;
                }
            }
            Ok(Some(Err(skip))) => log::warn!("{skip}"),
            Err(e) => break Err(e),
        }
    };
    let _ = tx.send(Message::End(end, reader.stats()));
}

fn record(
    store: &mut Store,
    decisions: &[Decision],
    now: Timestamp,
    route: crate::store::Route<'_>,
    wake: &Wake,
    summary: &mut Summary,
    marks: &std::path::Path,
) -> Result<(), DaemonError> {
    if decisions.is_empty() {
        return Ok(());
    }
    let queued = store.apply(decisions, now, route)?;
    if queued > 0 {
        wake.notify();
    }
    for d in decisions {
        let (kind, what) = match d.step {
            Step::Open { .. } => {
                summary.alerts += 1;
                ("alert.fired", "fired")
            }
            Step::Notify(NoticeKind::Escalated) => ("alert.escalated", "escalated"),
            Step::Close { .. } => ("alert.resolved", "resolved"),
            Step::Notify(_) | Step::Nothing => continue,
        };
        let (severity, message) = match &d.event {
            Some(e) => (e.severity, e.message.as_str()),
            None => (
                d.track
                    .firing
                    .map_or(magi_core::Severity::Warning, |f| f.severity),
                "",
            ),
        };
        let line = format!("{} {what}: {message}", d.rule);
        log_event(
            &Event::new(
                SOURCE,
                kind,
                d.subject.clone(),
                severity,
                line.trim_end_matches(": "),
            )
            .with("rule", d.rule.clone()),
        );
        magi_tsdb::mark(
            marks,
            "alert",
            "alert",
            Some(&d.subject),
            line.trim_end_matches(": "),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_channel_on_the_command_line_is_a_configured_name_or_a_url() {
        let paths = Paths::for_test(Path::new("/tmp/magi-alert-daemon-test"));
        let config = Config::from_toml(
            "[alert.channels.ops]\nurl = \"https://hooks.example.org/magi\"\n",
            Path::new("magi.toml"),
            &paths,
        )
        .unwrap();
        let extra = ["ops".to_owned(), "ntfy://ntfy.example.org/magi".to_owned()];
        let channels = channels(&config, &extra, &paths).unwrap();
        assert_eq!(
            channels.keys().collect::<Vec<_>>(),
            ["ntfy://ntfy.example.org/magi", "ops"]
        );
        assert_eq!(channels["ops"].spec.url, "https://hooks.example.org/magi");
        let unknown = open(&config, "not-a-channel", &paths)
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("not-a-channel"), "{unknown}");
    }
}

//! The watch loop and the HTTP server as a library, against the mini MAGI stack in real Docker: healing over
//! an hour of test-clock time (no test sleeps to wait for time), and `/healthz` and `/metrics` read by real
//! parsers from a server started on port 0 and stopped through its shutdown future.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use magi_check::{Checker, Options};
use magi_core::config::Config;
use magi_core::daemon::Notifier;
use magi_core::paths::Paths;
use magi_docker::Engine;
use magi_health_lib::heal::{Decision, Policy};
use magi_health_lib::server::{self, Source};
use magi_health_lib::watch::{Clock, WatchOptions, Watcher};
use magi_testkit::MiniStack;

/// A clock that moves only when the loop sleeps or the test says so.
#[derive(Clone)]
struct TestClock(Rc<Cell<Timestamp>>);

impl TestClock {
    fn advance(&self, d: Duration) {
        self.0.set(self.0.get().checked_add(d).unwrap());
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        self.0.get()
    }

    fn sleep(&self, d: Duration) -> impl std::future::Future<Output = ()> {
        self.advance(d);
        std::future::ready(())
    }
}

/// Notifications kept in memory.
#[derive(Clone, Default)]
struct Recorded(Rc<std::cell::RefCell<Vec<String>>>);

impl Notifier for Recorded {
    fn notify(&self, states: &[sd_notify::NotifyState<'_>]) {
        for s in states {
            self.0.borrow_mut().push(s.to_string());
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn config(stack: &MiniStack) -> Config {
    let paths = Paths::for_test(stack.home());
    Config::from_file(stack.config_path(), &paths).unwrap()
}

async fn checker(stack: &MiniStack) -> Checker {
    let engine = Engine::connect().await.unwrap();
    Checker::new(
        engine,
        config(stack),
        Options {
            timeout: Duration::from_secs(2),
            ..Options::default()
        },
    )
}

#[test]
fn watch_heals_with_backoff_and_an_hourly_cap_over_test_clock_time() {
    if !MiniStack::available() {
        return;
    }
    let stack = MiniStack::up();
    stack.break_probe("youtube-mcp");
    let clock = TestClock(Rc::new(Cell::new("2026-11-24T12:00:00Z".parse().unwrap())));
    let policy = Policy {
        after: 1,
        backoff: Duration::from_secs(600),
        max_per_hour: 2,
    };
    runtime().block_on(async {
        let mut watcher = Watcher::new(
            checker(&stack).await,
            clock.clone(),
            Recorded::default(),
            WatchOptions {
                interval: Duration::from_secs(300),
                heal: Some(policy),
                watchdog: None,
            },
            None,
            None,
        );
        let mut restarts = Vec::new();
        let mut capped = Vec::new();
        for step in 0..14u64 {
            let round = watcher.round().await.unwrap();
            for (service, decision) in &round.decisions {
                match decision {
                    Decision::Restart { attempt, .. } if service == "youtube-mcp" => {
                        restarts.push((step * 5, *attempt))
                    }
                    Decision::Restart { .. } => {
                        panic!("only youtube-mcp is ill, yet {service} was restarted")
                    }
                    Decision::Capped { announce, .. } => capped.push((step * 5, *announce)),
                    _ => {}
                }
            }
            clock.advance(Duration::from_secs(300));
        }
        // Minutes: restart at 0, wait 10 min, restart at 10, then the cap (2 an hour) until the restart at 0
        // leaves the hour at 60; the third wait (40 min after 10) has passed by then.
        assert_eq!(restarts, [(0, 1), (10, 2), (60, 3)]);
        let minutes: Vec<u64> = capped.iter().map(|c| c.0).collect();
        assert_eq!(
            minutes,
            [15, 20, 25, 30, 35, 40, 45, 50, 55, 65],
            "60 restarts; 65 is capped again (10 and 60)"
        );
        assert_eq!(
            capped.iter().filter(|c| c.1).count(),
            1,
            "the cap is announced once while it stays ill"
        );
    });
}

#[test]
fn the_loop_tells_systemd_ready_once_status_each_round_and_pings_the_watchdog_in_time() {
    if !MiniStack::available() {
        return;
    }
    let stack = MiniStack::up();
    let start: Timestamp = "2026-11-24T12:00:00Z".parse().unwrap();
    let clock = TestClock(Rc::new(Cell::new(start)));
    let recorded = Recorded::default();
    runtime().block_on(async {
        let mut watcher = Watcher::new(
            checker(&stack).await,
            clock.clone(),
            recorded.clone(),
            WatchOptions {
                interval: Duration::from_secs(15),
                heal: None,
                watchdog: Some(Duration::from_secs(10)),
            },
            None,
            None,
        );
        let seen = recorded.clone();
        let three_rounds = std::future::poll_fn(move |_| {
            let statuses = seen
                .0
                .borrow()
                .iter()
                .filter(|m| m.starts_with("STATUS="))
                .count();
            if statuses >= 3 {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        });
        watcher.run(three_rounds).await.unwrap();
    });
    let messages = recorded.0.borrow().clone();
    assert_eq!(messages[0], "READY=1");
    assert!(
        messages[1].starts_with("STATUS=stack is ok: every service is up; next check in 15s"),
        "{messages:?}"
    );
    assert_eq!(
        messages.iter().filter(|m| *m == "READY=1").count(),
        1,
        "{messages:?}"
    );
    assert_eq!(messages.last().map(String::as_str), Some("STOPPING=1"));
    // Each 15 s interval is slept in steps of half the 10 s watchdog, with a ping after the round and each step.
    let between: Vec<&String> = messages
        .iter()
        .skip_while(|m| !m.starts_with("STATUS="))
        .skip(1)
        .take_while(|m| !m.starts_with("STATUS="))
        .collect();
    assert_eq!(between, ["WATCHDOG=1"; 4], "{messages:?}");
    let elapsed = clock.now().duration_since(start).as_secs();
    assert!(
        (30..=45).contains(&elapsed),
        "two or three intervals of test time passed: {elapsed} s"
    );
}

fn http_get(port: u16, path: &str) -> (u16, String, String) {
    let reply = magi_testkit::http::get(port, path);
    let content_type = reply.header("content-type").unwrap_or_default().to_owned();
    (reply.status, content_type, reply.body)
}

#[test]
fn the_server_speaks_health_json_and_prometheus_text() {
    if !MiniStack::available() {
        return;
    }
    let stack = MiniStack::up();
    stack.stop("searxng");
    let clock = TestClock(Rc::new(Cell::new(Timestamp::now())));
    runtime().block_on(async {
        let mut watcher = Watcher::new(
            checker(&stack).await,
            clock,
            Recorded::default(),
            WatchOptions {
                interval: Duration::from_secs(15),
                heal: None,
                watchdog: None,
            },
            None,
            None,
        );
        let source = Arc::new(Source::Watch(watcher.subscribe()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(
            listener,
            source,
            Duration::from_secs(15),
            async {
                stopped.await.ok();
            },
        ));

        let get = |path: &'static str| tokio::task::spawn_blocking(move || http_get(port, path));
        let (status, _, body) = get("/healthz").await.unwrap();
        assert_eq!(status, 503, "before the first round: {body}");

        watcher.round().await.unwrap();
        let (status, content_type, body) = get("/healthz").await.unwrap();
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/health+json")
        );
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            health["status"], "warn",
            "an optional service is down: {health}"
        );
        assert_eq!(
            health["checks"]["searxng:responseTime"][0]["status"],
            "fail"
        );

        let (status, content_type, body) = get("/metrics").await.unwrap();
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/plain; version=0.0.4"));
        let lines = body.lines().map(|l| Ok(l.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
        let value = |name: &str, service: &str| {
            scrape
                .samples
                .iter()
                .find(|s| s.metric == name && s.labels.get("service") == Some(service))
                .map(|s| match s.value {
                    prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Untyped(v) => v,
                    _ => f64::NAN,
                })
        };
        assert_eq!(value("magi_service_up", "searxng"), Some(0.0));
        assert_eq!(value("magi_service_up", "qdrant"), Some(1.0));
        assert!(value("magi_probe_latency_seconds", "qdrant").unwrap() > 0.0);
        assert!(
            value("magi_container_memory_bytes", "redis").is_some_and(|m| m > 0.0),
            "{body}"
        );
        let states: HashMap<String, f64> = scrape
            .samples
            .iter()
            .filter(|s| {
                s.metric == "magi_container_state" && s.labels.get("service") == Some("searxng")
            })
            .map(|s| {
                (
                    s.labels.get("state").unwrap().to_owned(),
                    match s.value {
                        prometheus_parse::Value::Gauge(v) => v,
                        _ => f64::NAN,
                    },
                )
            })
            .collect();
        assert_eq!(states.get("exited"), Some(&1.0));
        assert_eq!(
            states.values().sum::<f64>(),
            1.0,
            "exactly one state is current: {states:?}"
        );
        assert!(scrape.docs.contains_key("magi_check_duration_seconds"));
        let stack_status = scrape
            .samples
            .iter()
            .find(|s| s.metric == "magi_stack_status")
            .unwrap();
        assert!(matches!(stack_status.value, prometheus_parse::Value::Gauge(v) if v == 1.0));

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the server stops on its shutdown future")
            .unwrap();
    });
}

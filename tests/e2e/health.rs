//! magi-health against the mini MAGI stack in real Docker: every container state, degraded versus down, the
//! output formats and exit codes, a hanging probe, Docker unreachable, `watch` with its events, systemd
//! notifications and healing, `history`, `serve` (`/healthz`, `/metrics`, `/status` rendered in Chromium) and
//! `validate`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use magi_testkit::{Component, MiniStack, docker, free_port, require};
use serde_json::Value;

/// Every service of the catalog: the ten the mini stack starts and the two compose-profile ones it does not.
const CATALOG: usize = 12;

fn up() -> Option<MiniStack> {
    MiniStack::available().then(MiniStack::up)
}

fn run(stack: &MiniStack, args: &[&str]) -> Output {
    stack
        .command("magi-health")
        .args(args)
        .output()
        .expect("magi-health runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn events(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The `service.status` events by subject.
fn by_service(events: &[Value]) -> BTreeMap<String, Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "service.status")
        .map(|e| (e["subject"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

fn condition(event: &Value) -> (&str, &str) {
    (
        event["data"]["condition"].as_str().unwrap_or("?"),
        event["severity"].as_str().unwrap_or("?"),
    )
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

#[test]
fn health_check_of_a_healthy_stack_is_ok_in_every_format() {
    let Some(stack) = up() else { return };

    let table = run(&stack, &[]);
    assert_eq!(
        code(&table),
        0,
        "{}{}",
        text(&table.stdout),
        text(&table.stderr)
    );
    let shown = text(&table.stdout);
    assert!(shown.starts_with("SERVICE"), "{shown}");
    assert!(shown.contains("stack: OK"), "{shown}");
    assert!(
        !shown.contains('\x1b'),
        "no colours when stdout is not a terminal"
    );

    let json = run(&stack, &["--json"]);
    assert_eq!(code(&json), 0, "{}", text(&json.stderr));
    let events = events(&json);
    assert_eq!(events.len(), CATALOG + 1);
    assert_eq!(events.last().unwrap()["kind"], "stack.status");
    assert_eq!(events.last().unwrap()["data"]["status"], "ok");
    let services = by_service(&events);
    for name in stack.services() {
        let event = &services[name];
        assert_eq!(condition(event), ("up", "ok"), "{event}");
        assert_eq!(event["data"]["state"], "running");
        assert_eq!(event["v"], 1);
        assert!(
            event["data"]["memory_used"].as_u64().unwrap() > 0,
            "{event}"
        );
        assert!(event["data"]["cpu_percent"].as_f64().is_some(), "{event}");
        assert_eq!(event["data"]["probe"]["outcome"], "answered", "{event}");
    }
    assert_eq!(services["redis"]["data"]["probe"]["detail"], "PONG");
    assert_eq!(services["qdrant"]["data"]["health"], "healthy");
    assert!(services["qdrant"]["data"]["data_bytes"].as_u64().unwrap() > 0);
    for absent in ["playwright", "caddy"] {
        assert_eq!(condition(&services[absent]), ("absent", "ok"));
    }

    let nagios = run(&stack, &["--nagios"]);
    assert_eq!(code(&nagios), 0);
    let line = text(&nagios.stdout);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with("MAGI OK - stack is ok: every service is up |"),
        "{line}"
    );
    assert!(line.contains("'qdrant_latency'="), "{line}");
    assert!(line.contains("'redis_memory'="), "{line}");
}

#[test]
fn health_a_disk_under_the_configured_free_space_degrades_the_stack() {
    let Some(stack) = up() else { return };
    let config = stack.home().join("disk.toml");
    let original = std::fs::read_to_string(stack.config_path()).unwrap();
    let strict = original.replace("disk_free_percent = 0", "disk_free_percent = 100");
    assert_ne!(strict, original);
    std::fs::write(&config, strict).unwrap();
    let output = stack
        .command("magi-health")
        .arg("--json")
        .env("MAGI_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(code(&output), 1, "{}", text(&output.stderr));
    let stack_event = events(&output)
        .into_iter()
        .find(|e| e["kind"] == "stack.status")
        .expect("a stack.status event");
    assert_eq!(stack_event["data"]["status"], "degraded", "{stack_event}");
    let message = stack_event["message"].as_str().unwrap();
    for role in ["MAGI home (", "backups (", "Docker ("] {
        assert!(message.contains(role), "{message}");
    }
    assert!(message.contains("free ("), "{message}");
}

#[test]
fn health_reports_every_container_state_and_a_degraded_stack() {
    let Some(stack) = up() else { return };
    stack.stop("searxng");
    stack.kill("n8n");
    stack.pause("jupyter");
    stack.remove("mcpo");
    stack.break_probe("youtube-mcp");
    stack.make_unhealthy("qdrant");
    stack.wait_for("qdrant", "unhealthy", Duration::from_secs(30), |s| {
        s.and_then(|s| s.health.as_deref()) == Some("unhealthy")
    });
    let image =
        docker::docker(&["inspect", "--format", "{{.Config.Image}}", "magi-digestion"]).unwrap();
    let image = image.trim();
    stack.remove("firecrawl");
    docker::docker(&[
        "run",
        "--detach",
        "--name",
        "magi-digestion",
        "--label",
        "magi.test=1",
        "--restart",
        "always",
        image,
        "sh",
        "-c",
        "exit 3",
    ])
    .unwrap();
    stack.wait_for("firecrawl", "restarting", Duration::from_secs(30), |s| {
        s.is_some_and(|s| s.status == "restarting" && s.restart_count >= 3)
    });

    let output = run(&stack, &["--json"]);
    assert_eq!(
        code(&output),
        1,
        "an optional service down and a core one unhealthy: degraded"
    );
    let events = events(&output);
    let services = by_service(&events);
    let seen = |name: &str| {
        let e = &services[name];
        (
            condition(e).0.to_owned(),
            e["data"]["state"].as_str().unwrap().to_owned(),
            e["message"].as_str().unwrap().to_owned(),
        )
    };
    let (c, state, message) = seen("searxng");
    assert_eq!((c.as_str(), state.as_str()), ("down", "exited"));
    assert!(message.contains("exited with code"), "{message}");
    let (_, state, message) = seen("n8n");
    assert_eq!(state, "exited");
    assert!(message.ends_with("exited with code 137"), "{message}");
    assert_eq!(seen("jupyter").1, "paused");
    assert_eq!(seen("mcpo").1, "missing");
    assert!(
        seen("mcpo")
            .2
            .ends_with("container magi-mcp-bridge does not exist")
    );
    let (c, state, message) = seen("youtube-mcp");
    assert_eq!((c.as_str(), state.as_str()), ("down", "running"));
    assert!(message.contains("the probe failed: HTTP 404"), "{message}");
    let (c, state, message) = seen("qdrant");
    assert_eq!((c.as_str(), state.as_str()), ("unhealthy", "running"));
    assert!(message.contains("but the endpoint answers"), "{message}");
    assert_eq!(services["qdrant"]["severity"], "warning");
    assert!(
        services["qdrant"]["data"]["failing_streak"]
            .as_u64()
            .unwrap()
            >= 2
    );
    assert_eq!(seen("firecrawl").1, "restarting");
    assert!(
        services["firecrawl"]["data"]["restart_count"]
            .as_u64()
            .unwrap()
            >= 3
    );
    let stack_event = events.last().unwrap();
    assert_eq!(stack_event["data"]["status"], "degraded");
    assert_eq!(
        stack_event["data"]["impacts"],
        serde_json::json!(["magi-vision is down: chat in magi-cortex cannot search the web"])
    );
}

#[test]
fn health_reports_an_oom_killed_container() {
    let Some(stack) = up() else { return };
    let image =
        docker::docker(&["inspect", "--format", "{{.Config.Image}}", "magi-vision"]).unwrap();
    stack.remove("searxng");
    docker::docker(&[
        "run",
        "--detach",
        "--name",
        "magi-vision",
        "--label",
        "magi.test=1",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        image.trim(),
        "sh",
        "-c",
        "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
    ])
    .unwrap();
    stack.wait_for("searxng", "OOM-killed", Duration::from_secs(60), |s| {
        s.is_some_and(|s| s.oom_killed)
    });
    let output = run(&stack, &["--json", "--service", "searxng"]);
    assert_eq!(code(&output), 2, "the one service checked is down");
    let events = events(&output);
    assert_eq!(events.len(), 2);
    let searxng = &by_service(&events)["searxng"];
    assert_eq!(searxng["data"]["state"], "oom_killed");
    assert!(
        searxng["message"]
            .as_str()
            .unwrap()
            .contains("killed for running out of memory"),
        "{searxng}"
    );
}

#[test]
fn health_a_core_service_down_takes_the_stack_down_with_its_impact() {
    let Some(stack) = up() else { return };
    stack.stop("litellm");
    let output = run(&stack, &[]);
    assert_eq!(code(&output), 2);
    let shown = text(&output.stdout);
    assert!(shown.contains("stack: DOWN"), "{shown}");
    assert!(
        shown.contains("impact: magi-router is down: chat in magi-cortex cannot reach any model"),
        "{shown}"
    );

    let nagios = run(&stack, &["--nagios"]);
    assert_eq!(code(&nagios), 2);
    let line = text(&nagios.stdout);
    assert!(
        line.starts_with("MAGI CRITICAL - stack is down: litellm (core) is down: exited with code"),
        "{line}"
    );

    let narrowed = run(
        &stack,
        &["--service", "searxng", "--service", "magi-memory", "--json"],
    );
    assert_eq!(code(&narrowed), 0, "narrowed to services that are up");
    assert_eq!(
        by_service(&events(&narrowed)).keys().collect::<Vec<_>>(),
        ["qdrant", "searxng"]
    );
}

#[test]
fn health_a_hanging_probe_never_holds_the_check_past_its_timeout() {
    let Some(stack) = up() else { return };
    let port = stack.published_port("jupyter");
    stack.pause("jupyter");
    let config = stack.home().join("hang.toml");
    let original = std::fs::read_to_string(stack.config_path()).unwrap();
    let mcpo_probe = format!(
        "http://127.0.0.1:{}/openapi.json",
        stack.published_port("mcpo")
    );
    let hanging = format!("http://127.0.0.1:{port}/api");
    std::fs::write(&config, original.replace(&mcpo_probe, &hanging)).unwrap();
    assert!(std::fs::read_to_string(&config).unwrap().contains(&hanging));

    let started = Instant::now();
    let output = stack
        .command("magi-health")
        .args(["--json", "--service", "mcpo", "--timeout", "1s"])
        .env("MAGI_CONFIG", &config)
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(code(&output), 2, "{}", text(&output.stderr));
    let mcpo = &by_service(&events(&output))["mcpo"];
    assert_eq!(mcpo["data"]["probe"]["outcome"], "timed_out", "{mcpo}");
    assert!(
        mcpo["message"]
            .as_str()
            .unwrap()
            .ends_with("the probe got no answer within 1000 ms"),
        "{mcpo}"
    );
    assert!(
        took < Duration::from_millis(2500),
        "the check took {took:?} with a 1 s timeout"
    );
}

#[test]
fn health_docker_unreachable_or_forbidden_is_unknown_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let host = format!("unix://{}/docker.sock", dir.path().display());
    let output = magi_testkit::bin("magi-health")
        .env("DOCKER_HOST", &host)
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    assert_eq!(code(&output), 3);
    assert!(output.stdout.is_empty());
    assert_eq!(
        text(&output.stderr),
        format!(
            "magi-health: error: cannot reach the Docker engine at {host}: no socket there; is the Docker engine running? (systemctl start docker)\n"
        )
    );

    // Forbidden: a socket of our own that only root may open, and magi-health run as nobody. The
    // machine's Docker socket is not used: its mode differs from host to host.
    if !require(Component::Root) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("root-only.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    let host = format!("unix://{}", socket.display());
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(magi_testkit::bin_path("magi-health"))
        .env_remove("JOURNAL_STREAM")
        .env("DOCKER_HOST", &host)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&output), 3, "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stderr),
        format!(
            "magi-health: error: cannot reach the Docker engine at {host}: permission denied; add this user to the docker group or run as root\n"
        )
    );
}

#[test]
fn health_bad_input_is_a_clear_error() {
    let output = magi_testkit::bin("magi-health")
        .args(["--service", "postgres"])
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    assert_eq!(code(&output), 3);
    let err = text(&output.stderr);
    assert!(err.starts_with("magi-health: error: no service named 'postgres' in the catalog (known: open-webui, litellm,"), "{err}");
    assert_eq!(err.lines().count(), 1);

    let output = magi_testkit::bin("magi-health")
        .args(["watch", "--interval", "soon"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 3);
    assert!(
        text(&output.stderr).contains("'soon' is not a duration"),
        "{}",
        text(&output.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("magi.toml");
    std::fs::write(
        &config,
        "[services.litellm]\ndepends_on = { postgres = \"loses its keys\" }\n",
    )
    .unwrap();
    let output = magi_testkit::bin("magi-health")
        .env("MAGI_CONFIG", &config)
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    assert_eq!(code(&output), 3);
    let err = text(&output.stderr);
    assert!(
        err.contains(
            "magi.toml:2: services.litellm.depends_on.postgres: no service named 'postgres'"
        ),
        "{err}"
    );

    let help = magi_testkit::bin("magi-health")
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(code(&help), 0);
    let help = text(&help.stdout);
    assert!(
        help.contains("Examples:") && help.contains("magi-health --nagios"),
        "{help}"
    );
}

/// A running `magi-health watch` whose stdout lines arrive on a channel, each event with `received_ms`, the
/// milliseconds since the watch started when the test read it.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<(Duration, String)>,
}

impl Watch {
    fn start(stack: &MiniStack, args: &[&str], envs: &[(&str, &str)]) -> Watch {
        let mut child = stack
            .command("magi-health")
            .arg("watch")
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let started = Instant::now();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((started.elapsed(), line)).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    /// The next event within `timeout`, or `None`.
    fn next(&self, timeout: Duration) -> Option<Value> {
        self.lines.recv_timeout(timeout).ok().map(|(at, l)| {
            let mut event: Value =
                serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            event["received_ms"] = Value::from(at.as_millis() as u64);
            event
        })
    }

    /// Events until `done` says so, failing after `timeout`.
    fn until(&self, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while !done(&seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Some(e) => seen.push(e),
                None => panic!("timed out; events so far: {seen:#?}"),
            }
        }
        seen
    }

    fn stop(mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .ok();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "watch exits 0 on SIGTERM: {status:?}");
    }
}

impl Drop for Watch {
    /// A failed test must not leave a watch running.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

#[test]
fn health_watch_emits_one_event_per_change_and_talks_to_systemd() {
    let Some(stack) = up() else { return };
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let watch = Watch::start(
        &stack,
        &["--json", "--interval", "1s"],
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    let first = watch.until(Duration::from_secs(20), |seen| seen.len() == CATALOG + 1);
    assert!(
        first[..CATALOG]
            .iter()
            .all(|e| e["kind"] == "service.status")
    );
    assert_eq!(first[CATALOG]["kind"], "stack.status");
    assert_eq!(first[CATALOG]["data"]["status"], "ok");

    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    while !(messages.iter().any(|m: &String| m.contains("READY=1"))
        && messages.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2)
    {
        let n = socket.recv(&mut buf).expect("a notification within 20 s");
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let ready = messages.iter().find(|m| m.contains("READY=1")).unwrap();
    assert!(
        ready.contains("STATUS=stack is ok: every service is up; next check in 1s"),
        "{ready}"
    );
    assert_eq!(messages.iter().filter(|m| m.contains("READY=1")).count(), 1);
    // From here on nobody reads the socket: a service manager that does not read must not stall the checks.

    stack.stop("searxng");
    let change = watch.until(Duration::from_secs(20), |seen| seen.len() == 2);
    assert_eq!(change[0]["kind"], "service.status");
    assert_eq!(change[0]["subject"], "searxng");
    assert_eq!(change[0]["data"]["previous"], "up");
    assert_eq!(condition(&change[0]), ("down", "critical"));
    assert_eq!(change[1]["kind"], "stack.status");
    assert_eq!(change[1]["data"]["status"], "degraded");
    assert_eq!(change[1]["data"]["previous"], "ok");
    assert_eq!(
        watch.next(Duration::from_secs(3)),
        None,
        "no event while nothing changes"
    );

    stack.start("searxng");
    let back = watch.until(Duration::from_secs(20), |seen| seen.len() == 2);
    assert_eq!(
        (back[0]["subject"].as_str(), condition(&back[0])),
        (Some("searxng"), ("up", "ok"))
    );
    assert_eq!(back[1]["data"]["status"], "ok");
    watch.stop();

    let history = run(&stack, &["history", "--service", "searxng", "--json"]);
    assert_eq!(code(&history), 0, "{}", text(&history.stderr));
    let records = events(&history);
    let transitions: Vec<(Option<&str>, &str)> = records
        .iter()
        .map(|r| (r["from"].as_str(), r["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        transitions,
        [(None, "up"), (Some("up"), "down"), (Some("down"), "up")]
    );
    let table = text(&run(&stack, &["history"]).stdout);
    assert!(
        table
            .lines()
            .any(|l| l.contains("stack") && l.contains("ok") && l.contains("-> degraded")),
        "{table}"
    );

    // Every round's figures went to the metrics store: searxng up, down while stopped, up again, and the
    // stack's status with it, point by point (raw at 1 s).
    let series = |selector: &str| -> Vec<f64> {
        let out = stack
            .command("magi-metrics")
            .args([
                "query", selector, "--range", "10m", "--points", "5000", "--json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        events(&out)
            .iter()
            .map(|row| row["value"].as_f64().unwrap())
            .collect()
    };
    let mut searxng = series(r#"service_up{service="searxng"}"#);
    searxng.dedup();
    assert_eq!(searxng, [1.0, 0.0, 1.0]);
    let mut stack_status = series("stack_status");
    stack_status.dedup();
    assert_eq!(stack_status, [2.0, 1.0, 2.0]);
    assert!(
        !series(r#"container_memory_bytes{service="redis"}"#).is_empty(),
        "memory is sampled"
    );
    // Network and block I/O as bytes a second between rounds: each round's probe sends redis a PING.
    let received = series(r#"container_network_receive_bytes_per_second{service="redis"}"#);
    assert!(
        received.iter().any(|b| *b > 0.0) && received.iter().all(|b| *b >= 0.0),
        "redis receives each round's probe: {received:?}"
    );
    assert!(
        !series(r#"container_block_write_bytes_per_second{service="redis"}"#).is_empty(),
        "block I/O is sampled"
    );
    // How full the MAGI home's disk is, as a percentage (what `disk > 85%` rules read).
    let disk = series(r#"disk_used_percent{disk="MAGI home"}"#);
    assert!(
        !disk.is_empty() && disk.iter().all(|p| (0.0..=100.0).contains(p)),
        "{disk:?}"
    );
    // And the Docker engine's own (its images, containers and volumes), for `magi capacity`.
    let docker = series(r#"disk_used_percent{disk="Docker"}"#);
    assert!(!docker.is_empty(), "Docker's disk is measured");
    let mut conditions = series(r#"service_condition{service="searxng"}"#);
    conditions.dedup();
    assert_eq!(
        conditions,
        [0.0, 5.0, 0.0],
        "up, down, up as condition codes"
    );
}

#[test]
fn health_restart_unhealthy_heals_with_backoff_and_a_cap_and_leaves_stopped_containers_alone() {
    let Some(stack) = up() else { return };
    stack.stop("jupyter");
    let watch = Watch::start(
        &stack,
        &[
            "--json",
            "--interval",
            "1s",
            "--restart-unhealthy",
            "--after",
            "2",
            "--backoff",
            "3s",
            "--max-restarts-per-hour",
            "2",
        ],
        &[],
    );
    watch.until(Duration::from_secs(20), |seen| {
        seen.iter().any(|e| e["kind"] == "stack.status")
    });
    stack.kill("n8n");
    stack.break_probe("youtube-mcp");
    let seen = watch.until(Duration::from_secs(60), |seen| {
        seen.iter().any(|e| e["kind"] == "service.restart_capped")
            && seen.iter().any(|e| {
                e["kind"] == "service.status"
                    && e["subject"] == "n8n"
                    && e["data"]["condition"] == "up"
            })
    });
    let restarts: Vec<(&str, u64)> = seen
        .iter()
        .filter(|e| e["kind"] == "service.restarted")
        .map(|e| {
            (
                e["subject"].as_str().unwrap(),
                e["data"]["attempt"].as_u64().unwrap(),
            )
        })
        .collect();
    let of = |name: &str| restarts.iter().filter(|r| r.0 == name).count();
    assert_eq!(
        of("n8n"),
        1,
        "killed (137, no docker stop): restarted once, and it came back"
    );
    assert_eq!(
        of("youtube-mcp"),
        2,
        "a probe a restart cannot fix: restarted up to the cap of 2 per hour"
    );
    assert_eq!(of("jupyter"), 0, "stopped with docker stop: on purpose");
    let times: Vec<u64> = seen
        .iter()
        .filter(|e| e["kind"] == "service.restarted" && e["subject"] == "youtube-mcp")
        .map(|e| e["received_ms"].as_u64().unwrap())
        .collect();
    assert!(
        times[1] - times[0] >= 2500,
        "the backoff of 3 s holds (one check interval of slack): {times:?}"
    );
    let capped = seen
        .iter()
        .find(|e| e["kind"] == "service.restart_capped")
        .unwrap();
    assert_eq!(capped["subject"], "youtube-mcp");
    assert_eq!(
        watch
            .next(Duration::from_secs(4))
            .map(|e| e["kind"].clone()),
        None,
        "nothing more once capped"
    );
    assert_eq!(stack.container_state("jupyter").unwrap().status, "exited");
    watch.stop();

    let history = run(&stack, &["history", "--json"]);
    let records = events(&history);
    let restarts: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["kind"] == "restart")
        .map(|r| {
            (
                r["subject"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        restarts
            .iter()
            .filter(|r| *r == &("youtube-mcp", "restarted"))
            .count(),
        2,
        "{restarts:?}"
    );
    assert!(restarts.contains(&("n8n", "restarted")), "{restarts:?}");
}

fn get(url: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.body_mut().read_to_string().unwrap(),
    )
}

/// Starts `magi-health serve` on a free port and waits until it answers.
fn serve(stack: &MiniStack) -> (Child, String) {
    let port = free_port();
    let child = stack
        .command("magi-health")
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--max-age",
            "0s",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, base)
}

fn end(mut child: Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .ok();
    assert!(child.wait().unwrap().success());
}

/// A flood of idle connections, past the open-file limit, is held at the connection cap and shed by the
/// header timeout: `/healthz` is answered again within seconds and the idle connections are closed.
#[test]
fn health_serve_sheds_a_flood_of_idle_connections() {
    use magi_testkit::flood;
    use std::io::Read;
    let Some(stack) = up() else { return };
    let port = free_port();
    // Started under a 128-descriptor limit: the cap is what that limit leaves.
    let mut command = Command::new("prlimit");
    command
        .args(["--nofile=128:128", "--"])
        .arg(magi_testkit::bin_path("magi-health"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .envs(stack.env())
        .stderr(Stdio::null());
    let child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let idle = flood::idle_connections(port, 300, b"GET /healthz HTTP/1.1\r\nhost: x\r\n");
    assert!(idle.len() > 128, "the flood got past the open-file limit");
    let answered = flood::status_line_despite_flood(
        port,
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(30),
    );
    assert_eq!(&answered, b"HTTP/1.1 200");
    for mut s in idle.into_iter().take(20) {
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut buf = [0u8; 512];
        let ended = s.read(&mut buf);
        assert!(
            matches!(ended, Ok(0))
                || matches!(&ended, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "an idle connection is closed by the server: {ended:?}"
        );
    }
    end(child);
}

#[test]
fn health_serve_answers_healthz_and_metrics() {
    let Some(stack) = up() else { return };
    let (child, base) = serve(&stack);
    let (status, content_type, body) = get(&format!("{base}/healthz"));
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/health+json")
    );
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "pass");
    assert_eq!(health["checks"]["qdrant:responseTime"][0]["status"], "pass");
    assert_eq!(
        health["checks"]["qdrant:responseTime"][0]["observedUnit"],
        "ms"
    );

    stack.make_unhealthy("qdrant");
    stack.wait_for("qdrant", "unhealthy", Duration::from_secs(30), |s| {
        s.and_then(|s| s.health.as_deref()) == Some("unhealthy")
    });
    let (status, _, body) = get(&format!("{base}/healthz"));
    assert_eq!(status, 200, "warn is still 200");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "warn"
    );

    stack.stop("redis");
    let (status, _, body) = get(&format!("{base}/healthz"));
    assert_eq!(status, 503);
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "fail");
    assert_eq!(health["checks"]["redis:responseTime"][0]["status"], "fail");

    let (status, content_type, metrics) = get(&format!("{base}/metrics"));
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(metrics.contains("magi_stack_status 2\n"), "{metrics}");
    assert!(
        metrics
            .contains("magi_service_up{service=\"redis\",container=\"magi-nervous-system\"} 0\n")
    );
    assert!(metrics.contains("magi_container_state{service=\"redis\",container=\"magi-nervous-system\",state=\"exited\"} 1\n"));
    assert!(
        metrics
            .contains("magi_probe_latency_seconds{service=\"qdrant\",container=\"magi-memory\"} ")
    );
    end(child);
}

/// The colours of the runs down one column of a PPM image (P6), top to bottom, of the given palette only.
fn colour_runs(ppm: &[u8], x: usize, palette: &[(&'static str, [u8; 3])]) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while ppm[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !ppm[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&ppm[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    let (width, height): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &ppm[i + 1..];
    let mut runs: Vec<&'static str> = Vec::new();
    for y in 0..height {
        let p = &pixels[(y * width + x) * 3..(y * width + x) * 3 + 3];
        let name = palette
            .iter()
            .find(|(_, rgb)| rgb.iter().zip(p).all(|(a, b)| a.abs_diff(*b) <= 6))
            .map(|(n, _)| *n);
        if let Some(name) = name
            && runs.last() != Some(&name)
        {
            runs.push(name);
        }
    }
    runs
}

#[test]
fn health_status_page_shows_the_three_colours_in_chromium() {
    let Some(stack) = up() else { return };
    if !require(Component::Chromium) {
        return;
    }
    stack.stop("searxng");
    stack.make_unhealthy("qdrant");
    stack.wait_for("qdrant", "unhealthy", Duration::from_secs(30), |s| {
        s.and_then(|s| s.health.as_deref()) == Some("unhealthy")
    });
    let (child, base) = serve(&stack);
    let (status, content_type, html) = get(&format!("{base}/status"));
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/html; charset=utf-8")
    );
    assert!(
        html.contains("<meta http-equiv=\"refresh\""),
        "auto-refresh"
    );
    assert!(
        !html.contains("<script") && !html.contains("src=\"http"),
        "self-contained"
    );

    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("status.png");
    let shot = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", png.display()))
        .args(["--window-size=1400,1100", &format!("{base}/status")])
        .output()
        .unwrap();
    assert!(
        png.is_file(),
        "chromium made no screenshot: {}",
        text(&shot.stderr)
    );
    let ppm = Command::new("pngtopnm").arg(&png).output().unwrap().stdout;
    let palette = [
        ("green", [0x2e, 0x7d, 0x32]),
        ("yellow", [0xf9, 0xa8, 0x25]),
        ("red", [0xc6, 0x28, 0x28]),
        ("grey", [0x9e, 0x9e, 0x9e]),
    ];
    let runs = colour_runs(&ppm, 10, &palette);
    // The banner in the stack's colour (degraded), then one strip per service in catalog order:
    // open-webui, litellm green; qdrant yellow; redis green; searxng red; n8n, firecrawl green; playwright grey;
    // mcpo, youtube-mcp, jupyter green; caddy grey.
    assert_eq!(
        runs,
        [
            "yellow", "green", "yellow", "green", "red", "green", "grey", "green", "grey"
        ],
        "screenshot at {}",
        png.display()
    );
    let kept = std::env::temp_dir().join("magi-health-status.png");
    std::fs::copy(&png, &kept).ok();
    end(child);
}

#[test]
fn health_validate_waits_for_the_core_services() {
    let Some(stack) = up() else { return };
    stack.stop("litellm");
    let output = run(&stack, &["validate", "--timeout", "2s"]);
    assert_eq!(code(&output), 2);
    let shown = text(&output.stdout);
    assert!(
        shown.starts_with("waiting for litellm (down: exited with code"),
        "{shown}"
    );
    assert!(
        shown.ends_with("not ready after 2s: still waiting for litellm\n"),
        "{shown}"
    );

    let mut child = stack
        .command("magi-health")
        .args(["validate", "--timeout", "60s"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting while litellm is stopped"
    );
    stack.start("litellm");
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{out}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("ready: every core service is up"),
        "{out}"
    );
}

/// A real TLS server (Python's `ssl`, which is OpenSSL) answering 200 on every path.
const TLS_SERVER: &str = r#"
import http.server, ssl, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        text(&output.stderr)
    );
}

#[test]
fn health_https_probes_check_the_certificate_against_the_trusted_cas() {
    let Some(stack) = up() else { return };
    if !require(Component::Openssl) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir.path(),
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=magi test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        dir.path(),
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.path().join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir.path(),
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "1",
            "-extfile",
            "san.ext",
        ],
    );

    let port = free_port();
    let mut server = Command::new("python3")
        .args(["-c", TLS_SERVER, &port.to_string()])
        .arg(dir.path().join("leaf.pem"))
        .arg(dir.path().join("leaf.key"))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the TLS server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let config = dir.path().join("magi.toml");
    let original = std::fs::read_to_string(stack.config_path()).unwrap();
    let mcpo_probe = format!(
        "http://127.0.0.1:{}/openapi.json",
        stack.published_port("mcpo")
    );
    std::fs::write(
        &config,
        original.replace(
            &mcpo_probe,
            &format!("https://127.0.0.1:{port}/openapi.json"),
        ),
    )
    .unwrap();
    let check = |trusted: Option<&Path>| {
        let mut command = stack.command("magi-health");
        command
            .args(["--json", "--service", "mcpo"])
            .env("MAGI_CONFIG", &config);
        if let Some(ca) = trusted {
            command.env("SSL_CERT_FILE", ca);
        }
        let output = command.output().unwrap();
        (code(&output), by_service(&events(&output))["mcpo"].clone())
    };

    let (status, mcpo) = check(Some(&dir.path().join("ca.pem")));
    assert_eq!(status, 0, "{mcpo}");
    assert_eq!(mcpo["data"]["probe"]["detail"], "HTTP 200", "{mcpo}");

    let (status, mcpo) = check(None);
    server.kill().ok();
    server.wait().ok();
    assert_eq!(status, 2, "{mcpo}");
    let message = mcpo["message"].as_str().unwrap();
    assert!(
        message.contains("TLS handshake failed: invalid peer certificate: UnknownIssuer"),
        "{message}"
    );
}

#[test]
fn health_without_any_magi_container_says_how_to_point_at_the_stack() {
    if !require(Component::Docker) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("magi.toml");
    let names = [
        "open-webui",
        "litellm",
        "qdrant",
        "redis",
        "searxng",
        "n8n",
        "firecrawl",
        "playwright",
        "mcpo",
        "youtube-mcp",
        "jupyter",
        "caddy",
    ];
    let catalog: String = names
        .iter()
        .map(|n| format!("[services.{n}]\ncontainer = \"magi-absent-{n}\"\n"))
        .collect();
    std::fs::write(&config, catalog).unwrap();
    let output = magi_testkit::bin("magi-health")
        .env("MAGI_CONFIG", &config)
        .env_remove("JOURNAL_STREAM")
        .output()
        .unwrap();
    assert_eq!(code(&output), 2, "the core services are missing: down");
    let err = text(&output.stderr);
    assert!(
        err.starts_with("magi-health: warning: no MAGI containers found on "),
        "{err}"
    );
    assert!(
        err.contains("set MAGI_HOME to its checkout or describe it in /etc/magi/magi.toml"),
        "{err}"
    );
    assert!(text(&output.stdout).contains("stack: DOWN"));
}

/// `magi-health watch --listen`, exactly as its shipped unit runs it (the port aside, which may be taken
/// here), serves /healthz and /status from its own samples.
#[test]
fn health_watch_listen_serves_healthz_and_status_as_its_unit_runs_it() {
    let Some(stack) = up() else { return };
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../units/magi-health.service"),
    )
    .unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("the unit has an ExecStart");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/bin/magi-health"));
    let port = free_port();
    let args: Vec<String> = words
        .map(|w| {
            if w.starts_with("127.0.0.1:") {
                format!("127.0.0.1:{port}")
            } else {
                w.to_owned()
            }
        })
        .collect();
    assert_eq!(args, ["watch", "--listen", &format!("127.0.0.1:{port}")]);
    let state = tempfile::tempdir().unwrap();
    let child = stack
        .command("magi-health")
        .args(&args)
        .env("STATE_DIRECTORY", state.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let (status, content_type, body) = get(&format!("{base}/healthz"));
            if status == 200 {
                assert_eq!(content_type, "application/health+json");
                break serde_json::from_str::<Value>(&body).unwrap();
            }
        }
        assert!(
            Instant::now() < deadline,
            "watch --listen did not serve /healthz"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(health["status"], "pass", "{health}");
    let (status, content_type, page) = get(&format!("{base}/status"));
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    for service in ["open-webui", "qdrant", "redis"] {
        assert!(page.contains(service), "{service} on the status page");
    }
    end(child);
}

//! magi-metrics, the real binary over real SQLite shards: metric lines pushed (bad ones named and skipped,
//! repeats stored once), an export imported into a real Prometheus TSDB by Debian's promtool and read back
//! with the same values, and a `kill -9` in the middle of a long push leaving every tier consistent.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use magi_testkit::bin;
use magi_tsdb::tier::HOUR_MS;
use magi_tsdb::{Reader, Selector, Tiers};

fn metrics(dir: &Path, args: &[&str]) -> Output {
    bin("magi-metrics")
        .args(args)
        .env("MAGI_METRICS_DIR", dir)
        .env_remove("MAGI_CONFIG")
        .output()
        .expect("magi-metrics runs")
}

fn push_file(dir: &Path, file: &Path) -> Output {
    metrics(dir, &["push", file.to_str().unwrap()])
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Lines for `series` series of `points` points at 5 s, ending a minute ago; values are short decimals.
fn lines(series: usize, points: i64, end_ms: i64) -> (String, BTreeMap<(String, i64), f64>) {
    let mut text = String::new();
    let mut expected = BTreeMap::new();
    let start = end_ms - points * 5000;
    for i in 0..points {
        for s in 0..series {
            let ts = start + i * 5000;
            let value = ((i * 37 + s as i64 * 11) % 10_000) as f64 / 100.0;
            let service = format!("svc{s}");
            text.push_str(&format!(
                "{{\"metric\":\"container_cpu_percent\",\"labels\":{{\"service\":\"{service}\"}},\"value\":{value},\"ts_ms\":{ts}}}\n"
            ));
            expected.insert((service, ts), value);
        }
    }
    (text, expected)
}

#[test]
fn metrics_push_names_bad_lines_stores_the_rest_and_stores_a_repeat_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (good, expected) = lines(2, 30, now_ms() - 60_000);
    let file = dir.path().join("in.ndjson");
    let long = format!(
        "{{\"metric\":\"x\",\"value\":1,\"labels\":{{\"a\":\"{}\"}}}}",
        "y".repeat(20_000)
    );
    let text = format!(
        "{good}not json\n{{\"metric\":\"q\",\"valeu\":1}}\n{long}\n{{\"metric\":\"bad name\",\"value\":1}}\n\
         {{\"metric\":\"q\",\"value\":1,\"ts_ms\":{}}}\n",
        now_ms() + 3_600_000
    );
    std::fs::write(&file, text).unwrap();
    let out = push_file(&store, &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for (line, why) in [
        (61, "not a metric line"),
        (62, "unknown field `valeu`"),
        (63, "longer than 16384 bytes"),
        (64, "metric name \"bad name\""),
        (65, "ahead of this host's clock"),
    ] {
        assert!(
            stderr.contains(&format!("line {line}: ")) && stderr.contains(why),
            "line {line} ({why}) not reported: {stderr}"
        );
    }
    assert!(stderr.contains("stored 60 point(s)"), "{stderr}");

    // The same lines again: nothing new.
    std::fs::write(&file, &good).unwrap();
    let again = push_file(&store, &file);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let out = metrics(&store, &["export", "--range", "1h", "--format", "json"]);
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), expected.len(), "each point once");
    for row in &rows {
        let service = row["labels"]["service"].as_str().unwrap().to_owned();
        let ts = row["time"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(
            row["value"].as_f64(),
            expected.get(&(service, ts)).copied(),
            "{row}"
        );
    }

    let listed = metrics(&store, &["list", "--json"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.contains(r#""series":"container_cpu_percent{service=\"svc0\"}""#),
        "{listed}"
    );
}

#[test]
fn metrics_export_imports_into_prometheus_with_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Three hours of two series: two compacted hours and the open one.
    let (text, expected) = lines(2, 3 * 720, now_ms() - 60_000);
    let file = dir.path().join("in.ndjson");
    std::fs::write(&file, text).unwrap();
    assert!(push_file(&store, &file).status.success());

    let out = metrics(
        &store,
        &["export", "--range", "4h", "--format", "openmetrics"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let om = dir.path().join("export.om");
    std::fs::write(&om, &out.stdout).unwrap();
    let tsdb = dir.path().join("prometheus");
    let created = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&tsdb)
        .output()
        .expect("promtool (Debian's prometheus package) runs");
    assert!(
        created.status.success(),
        "promtool refused the export: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    // promtool's dump opens the TSDB as Prometheus would, WAL included.
    std::fs::create_dir_all(tsdb.join("wal")).unwrap();
    let dump = Command::new("promtool")
        .args(["tsdb", "dump"])
        .arg(&tsdb)
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let mut back = BTreeMap::new();
    for line in String::from_utf8(dump.stdout).unwrap().lines() {
        // {__name__="container_cpu_percent", service="svc0"} 12.34 1796307749000
        let (labels, rest) = line.rsplit_once("} ").unwrap();
        let service = labels
            .split("service=\"")
            .nth(1)
            .unwrap()
            .trim_end_matches('"');
        let (value, ts) = rest.split_once(' ').unwrap();
        back.insert(
            (service.to_owned(), ts.parse::<i64>().unwrap()),
            value.parse::<f64>().unwrap(),
        );
    }
    assert_eq!(back.len(), expected.len());
    assert!(
        back == expected,
        "Prometheus reads back other values than were pushed"
    );
}

#[test]
fn metrics_a_push_killed_mid_compaction_leaves_every_tier_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // 30 hours of 20 series (216,000 lines): the push compacts hour after hour as it goes.
    let (text, expected) = lines(20, 30 * 720, now_ms() - 60_000);
    let file = dir.path().join("in.ndjson");
    std::fs::write(&file, &text).unwrap();
    for delay_ms in [300u64, 900] {
        let mut child = bin("magi-metrics")
            .args(["push", file.to_str().unwrap()])
            .env("MAGI_METRICS_DIR", &store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_tiers_agree(&store);
    }
    // The whole file again, to the end: every point once.
    let mut child = bin("magi-metrics")
        .arg("push")
        .env("MAGI_METRICS_DIR", &store)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (raw, _) = assert_tiers_agree(&store);
    assert_eq!(raw, expected.len() as u64);
}

/// Checks that, per series and minute, the raw points and the 1-minute rollups count the same (a
/// compaction half done would break it); returns the raw and rollup totals.
fn assert_tiers_agree(store: &Path) -> (u64, u64) {
    let reader = Reader::new(store, Tiers::default());
    let to = now_ms() + 1;
    let from = to - 40 * HOUR_MS;
    let selector = Selector::name("container_cpu_percent");
    let raw = reader.read_tier(&selector, 0, from, to).unwrap();
    let minute = reader.read_tier(&selector, 1, from, to).unwrap();
    assert_eq!(raw.len(), minute.len());
    let (mut raw_total, mut minute_total) = (0, 0);
    for (r, m) in raw.iter().zip(&minute) {
        let points: Vec<(i64, f64)> = r.buckets.iter().map(|b| (b.start_ms, b.last)).collect();
        let rolled = magi_tsdb::bucket::rollup(&points, 60_000);
        let counts = |buckets: &[magi_tsdb::Bucket]| -> Vec<(i64, u64)> {
            buckets.iter().map(|b| (b.start_ms, b.count)).collect()
        };
        assert_eq!(counts(&rolled), counts(&m.buckets), "{}", r.key);
        raw_total += r.buckets.len() as u64;
        minute_total += m.buckets.iter().map(|b| b.count).sum::<u64>();
    }
    (raw_total, minute_total)
}

fn cpu_line(service: &str, ts_ms: i64, value: f64) -> String {
    format!(
        "{{\"metric\":\"container_cpu_percent\",\"labels\":{{\"service\":\"{service}\"}},\"value\":{value},\"ts_ms\":{ts_ms}}}\n"
    )
}

/// `magi alerts configure` (through the dispatcher, as the issue writes it) keeps a rule; `magi-metrics alerts
/// watch` piped into the real magi-alert fires it at a real webhook once qdrant's CPU has breached for the
/// whole window, and resolves it when the CPU comes down.
#[test]
fn metrics_a_threshold_rule_fires_through_magi_alert_and_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rules = dir.path().join("alert-rules.toml");
    let rules_arg = rules.to_str().unwrap();
    let magi = |args: &[&str]| {
        bin("magi")
            .args(args)
            .env("MAGI_METRICS_DIR", &store)
            .env_remove("MAGI_CONFIG")
            .output()
            .unwrap()
    };
    let bad = magi(&[
        "alerts",
        "configure",
        "add",
        "cpu is hot",
        "--rules",
        rules_arg,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no comparison"));
    let added = magi(&[
        "alerts",
        "configure",
        "add",
        "cpu > 90% for 2m on qdrant",
        "--severity",
        "critical",
        "--rules",
        rules_arg,
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let listed = magi(&[
        "alerts",
        "configure",
        "list",
        "--json",
        "--rules",
        rules_arg,
    ]);
    let rule: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rule["name"], "cpu-90-for-2m-on-qdrant");
    assert_eq!(rule["severity"], "critical");

    // qdrant at 95 % for the last 3 minutes; redis hot only for the last 20 s.
    let now = now_ms();
    let mut text = String::new();
    for i in 0..36 {
        let t = now - 180_000 + i * 5_000;
        text.push_str(&cpu_line("qdrant", t, 95.0));
        text.push_str(&cpu_line(
            "redis",
            t,
            if t > now - 20_000 { 99.0 } else { 5.0 },
        ));
    }
    let file = dir.path().join("cpu.ndjson");
    std::fs::write(&file, text).unwrap();
    assert!(push_file(&store, &file).status.success());

    let hook = magi_testkit::WebhookReceiver::start();
    let mut watch = bin("magi-metrics")
        .args(["alerts", "watch", "--interval", "1s", "--rules", rules_arg])
        .env("MAGI_METRICS_DIR", &store)
        .env_remove("MAGI_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut alert = bin("magi-alert")
        .env("MAGI_ALERT_DB", dir.path().join("alert.db"))
        .env("MAGI_METRICS_DIR", &store)
        .env_remove("MAGI_CONFIG")
        .args(["--drain", "5s", "--to", &hook.url("/magi")])
        .stdin(Stdio::from(watch.stdout.take().unwrap()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let firing = hook.wait_for(1, Duration::from_secs(10));
    let body = firing[0].json();
    assert_eq!(body["status"], "firing", "{body}");
    assert_eq!(body["alert"]["rule"], "threshold", "{body}");
    assert_eq!(
        body["alert"]["subject"], "cpu-90-for-2m-on-qdrant:qdrant",
        "{body}"
    );
    assert_eq!(body["event"]["kind"], "metric.threshold", "{body}");
    assert_eq!(body["event"]["severity"], "critical", "{body}");

    // qdrant cools down: the alert resolves, once; redis' short spike never fired.
    let cool = dir.path().join("cool.ndjson");
    std::fs::write(&cool, cpu_line("qdrant", now_ms(), 12.0)).unwrap();
    assert!(push_file(&store, &cool).status.success());
    let both = hook.wait_for(2, Duration::from_secs(10));
    assert_eq!(both[1].json()["status"], "resolved", "{}", both[1].json());
    std::thread::sleep(Duration::from_secs(2));
    let all = hook.requests();
    assert_eq!(all.len(), 2, "{all:?}");
    watch.kill().ok();
    watch.wait().ok();
    alert.wait().ok();
}

/// A loopback server that accepts and then says nothing (`hang`) or answers garbage, for scrape targets.
fn bad_target(garbage: bool) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            if garbage {
                let mut s = stream;
                let body = "\u{1}\u{2}{{{ this is not metrics } } }\n# TYPE\n=== 12 ===\n";
                write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .ok();
            } else {
                held.push(stream);
            }
        }
    });
    port
}

/// A real Prometheus (Debian's) scrapes magi-health's /metrics and reads back what it serves; then
/// `magi-metrics scrape` reads Prometheus' own /metrics into the store beside a target that hangs and one
/// that answers garbage, which cost one line each and neither stalls the round.
#[test]
fn metrics_prometheus_scrapes_us_and_we_scrape_prometheus_past_a_hanging_and_a_garbage_target() {
    let dir = tempfile::tempdir().unwrap();
    let health_port = magi_testkit::free_port();
    let _health = magi_testkit::Killed(
        bin("magi-health")
            .args(["serve", "--listen", &format!("127.0.0.1:{health_port}")])
            .env_remove("MAGI_CONFIG")
            .env("STATE_DIRECTORY", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prometheus_port = magi_testkit::free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: magi-health\n    static_configs:\n      - targets: ['127.0.0.1:{health_port}']\n"
        ),
    )
    .unwrap();
    let _prometheus = magi_testkit::Killed(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (Debian's package) runs"),
    );

    // Prometheus holds what magi-health serves: the stack's status, as /metrics says it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let stored = loop {
        if std::net::TcpStream::connect(("127.0.0.1", prometheus_port)).is_ok() {
            let reply =
                magi_testkit::http::get(prometheus_port, "/api/v1/query?query=magi_stack_status");
            let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
            if let Some(value) = v["data"]["result"][0]["value"][1].as_str() {
                break value.to_owned();
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus never stored magi_stack_status"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let served = magi_testkit::http::get(health_port, "/metrics").body;
    assert!(
        served.contains(&format!("magi_stack_status {stored}\n")),
        "Prometheus has {stored}; /metrics:\n{served}"
    );

    // Every query of the shipped Grafana dashboard is PromQL this Prometheus accepts, and the health panels
    // find what magi-health serves.
    let grafana: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../packaging/grafana/magi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for panel in grafana["panels"].as_array().unwrap() {
        let expr = panel["targets"][0]["expr"].as_str().unwrap();
        let encoded: String = expr
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let reply =
            magi_testkit::http::get(prometheus_port, &format!("/api/v1/query?query={encoded}"));
        let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(
            v["status"], "success",
            "{}: {expr}: {}",
            panel["title"], reply.body
        );
        if expr.starts_with("magi_stack_status") || expr.starts_with("magi_service_up") {
            assert!(
                !v["data"]["result"].as_array().unwrap().is_empty(),
                "{expr}: {}",
                reply.body
            );
        }
    }

    // We scrape Prometheus, past a target that hangs and one that answers garbage.
    let hang = bad_target(false);
    let garbage = bad_target(true);
    let magi_config = dir.path().join("magi.toml");
    std::fs::write(
        &magi_config,
        format!(
            "[metrics.scrape.prometheus]\nurl = \"http://127.0.0.1:{prometheus_port}/metrics\"\n\
             [metrics.scrape.hang]\nurl = \"http://127.0.0.1:{hang}/metrics\"\n\
             [metrics.scrape.garbage]\nurl = \"http://127.0.0.1:{garbage}/metrics\"\n"
        ),
    )
    .unwrap();
    let store = dir.path().join("store");
    let started = std::time::Instant::now();
    let out = bin("magi-metrics")
        .args(["scrape", "--once"])
        .env("MAGI_CONFIG", &magi_config)
        .env("MAGI_METRICS_DIR", &store)
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(9), "one round took {took:?}");
    assert!(
        stderr.contains("hang:") && stderr.contains("garbage:"),
        "{stderr}"
    );
    assert!(!stderr.contains("prometheus:"), "{stderr}");
    let listed = metrics(&store, &["list", "--json"]);
    let series = String::from_utf8_lossy(&listed.stdout);
    assert!(
        series.contains(r#"prometheus_tsdb_head_series{job=\"prometheus\"}"#),
        "{series}"
    );
}

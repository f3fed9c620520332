//! magi-sla over a metrics store and usage records written by the same writers magi-health watch and the
//! gateway use, with histories whose seconds are known exactly: the report's up, down, unknown and
//! maintenance time, its availability and budget, its incidents and its request availability are checked to
//! the second; a monitor gap counts as unknown, never up; the HTML page is self-contained.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use magi_testkit::{Component, Killed, bin, require};
use magi_tsdb::store::Limits;
use magi_tsdb::tier::HOUR_MS;
use magi_tsdb::{Kind, Sample, SeriesKey, Tiers, Writer};
use magi_usage::usage::{Record, Recorder};
use serde_json::Value;

const S: i64 = 1000;

fn gauge(name: &str, labels: &[(&str, &str)], ts_ms: i64, value: f64) -> Sample {
    Sample {
        key: SeriesKey::of(name, labels).unwrap(),
        kind: Kind::Gauge,
        ts_ms,
        value,
    }
}

/// One of a model's figures over an interval, as the gateway writes it (user ann).
fn delta(name: &str, model: &str, ts_ms: i64, value: f64) -> Sample {
    Sample {
        key: SeriesKey::of(name, &[("model", model), ("user", "ann")]).unwrap(),
        kind: Kind::Delta,
        ts_ms,
        value,
    }
}

fn up(service: &str, ts_ms: i64, value: f64) -> Sample {
    gauge("service_up", &[("service", service)], ts_ms, value)
}

fn condition(service: &str, ts_ms: i64, code: u8) -> Sample {
    gauge(
        "service_condition",
        &[("service", service)],
        ts_ms,
        code.into(),
    )
}

/// A directory with an empty config (the built-in catalog), and where its metrics store goes.
fn scratch() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("magi.toml"), "").unwrap();
    let metrics = dir.path().join("metrics");
    (dir, metrics)
}

fn sla(dir: &Path, args: &[&str]) -> Output {
    bin("magi-sla")
        .env("MAGI_CONFIG", dir.join("magi.toml"))
        .env("MAGI_METRICS_DIR", dir.join("metrics"))
        .env("MAGI_LIMITS_DB", dir.join("usage.db"))
        .env_remove("JOURNAL_STREAM")
        .env_remove("MAGI_LOG")
        .args(args)
        .output()
        .unwrap()
}

/// The JSON lines a command printed.
fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The event about `subject` among `events`.
fn event_of<'a>(events: &'a [Value], subject: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["subject"] == subject)
        .unwrap_or_else(|| panic!("no event of {subject}: {events:#?}"))
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Feeds `events` to magi-alert (the test's config, its own alert.db and store) with a webhook as the
/// channel, and returns the bodies of the first `expected` notices the webhook got.
fn alert_through_webhook(dir: &Path, events: &str, expected: usize) -> Vec<Value> {
    let hook = magi_testkit::WebhookReceiver::start();
    let done = magi_testkit::feed(
        bin("magi-alert")
            .env("MAGI_CONFIG", dir.join("magi.toml"))
            .env("MAGI_ALERT_DB", dir.join("alert.db"))
            .env("MAGI_METRICS_DIR", dir.join("metrics"))
            .env_remove("JOURNAL_STREAM")
            .env_remove("MAGI_LOG")
            .args(["--drain", "10s", "--to", &hook.url("/sla")]),
        events.as_bytes(),
    );
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let sent: Vec<Value> = hook
        .wait_for(expected, Duration::from_secs(10))
        .iter()
        .map(|r| r.json())
        .collect();
    // Nothing more comes.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(hook.requests().len(), expected, "{sent:?}");
    sent
}

fn record(ts: jiff::Timestamp, model: &str, status: u16, error: Option<&str>) -> Record {
    Record {
        ts,
        user: "ann".into(),
        model: model.into(),
        prompt_tokens: 1,
        completion_tokens: 1,
        cost_usd: 0.0,
        latency_ms: 10,
        first_byte_ms: None,
        status,
        disconnected: false,
        key_prefix: None,
        path: "/v1/chat/completions".into(),
        error: error.map(str::to_owned),
    }
}

/// The last 24 hours, at 5 s: qdrant up but for a 10-minute outage (a restart recorded in it) and a
/// 30-minute gap where the watch was stopped; redis up throughout but for an hour of maintenance. The
/// window ends at `end`, a minute ago.
#[test]
fn sla_report_counts_up_down_unknown_and_maintenance_to_the_second() {
    let (dir, metrics) = scratch();
    let now = jiff::Timestamp::now().as_millisecond();
    // Whole seconds: the report's window is "24h before now", so the history begins before it.
    let begin = (now - 25 * HOUR_MS) / (5 * S) * (5 * S);
    let outage = (begin + 10 * HOUR_MS, begin + 10 * HOUR_MS + 600 * S);
    let gap = (begin + 15 * HOUR_MS, begin + 15 * HOUR_MS + 1800 * S);
    let mut writer = Writer::open(&metrics, "health", Tiers::default(), Limits::default()).unwrap();
    let mut batch = Vec::new();
    let mut t = begin;
    while t < now {
        if !(gap.0..gap.1).contains(&t) {
            let down = (outage.0..outage.1).contains(&t);
            batch.push(up("qdrant", t, if down { 0.0 } else { 1.0 }));
            batch.push(condition("qdrant", t, if down { 5 } else { 0 }));
        }
        batch.push(up("redis", t, 1.0));
        // The core is down with qdrant (a core service), and unobserved with it.
        if !(gap.0..gap.1).contains(&t) {
            let core_down = (outage.0..outage.1).contains(&t);
            batch.push(gauge(
                "stack_core_up",
                &[],
                t,
                if core_down { 0.0 } else { 1.0 },
            ));
        }
        if batch.len() >= 5_000 {
            writer.append(&batch, now).unwrap();
            batch.clear();
        }
        t += 5 * S;
    }
    writer.append(&batch, now).unwrap();
    writer
        .annotate(
            outage.0 + 60 * S,
            "restart",
            Some("qdrant"),
            "restarted: exited with code 137",
        )
        .unwrap();
    drop(writer);

    // An hour of redis maintenance, marked through the tool as an operator would (start, then end).
    ok(&sla(
        dir.path(),
        &[
            "maintenance",
            "start",
            "--service",
            "redis",
            "--note",
            "disk swap",
        ],
    ));
    std::thread::sleep(Duration::from_millis(1200));
    ok(&sla(
        dir.path(),
        &["maintenance", "end", "--service", "redis"],
    ));

    // Requests: gpt 997 answered, 2 upstream failures, 1 refusal for a limit (no failure); llama 10 answered.
    let recorder =
        Recorder::start(&dir.path().join("usage.db"), Duration::from_millis(20)).unwrap();
    let at = jiff::Timestamp::from_millisecond(now - HOUR_MS).unwrap();
    for i in 0..1000 {
        let (status, error) = match i {
            0 | 1 => (502, Some("upstream 502")),
            2 => (429, None),
            _ => (200, None),
        };
        assert!(recorder.record(record(at, "gpt", status, error)));
    }
    for _ in 0..10 {
        assert!(recorder.record(record(at, "llama", 200, None)));
    }
    recorder.finish();

    let out = ok(&sla(
        dir.path(),
        &[
            "report",
            "--since",
            "24h",
            "--service",
            "qdrant",
            "--service",
            "redis",
            "--json",
        ],
    ));
    let report: Value = serde_json::from_str(&out).unwrap();
    let service = |name: &str| -> &Value {
        report["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report:#}"))
    };
    let secs = |v: &Value, field: &str| v[field].as_f64().unwrap();

    // qdrant: 600 s down (the last down point vouches to the next, up, point); the watch's 30-minute gap
    // is unknown but for the 10 s of it the point 5 s before it vouches for (15 s); the rest of the 24 h up. The window's
    // edge falls between points, hence the second of slack at each end.
    let q = service("qdrant");
    assert_eq!(secs(q, "down_seconds"), 600.0, "{q:#}");
    assert!(
        (secs(q, "unknown_seconds") - 1790.0).abs() < 1.0,
        "the monitor's gap is unknown: {q:#}"
    );
    let window = 86_400.0;
    assert!(
        (secs(q, "up_seconds") - (window - 600.0 - 1790.0)).abs() < 1.0,
        "{q:#}"
    );
    let expected = 100.0 * (window - 2390.0) / (window - 1790.0);
    assert!(
        (q["availability_percent"].as_f64().unwrap() - expected).abs() < 0.001,
        "{q:#}"
    );
    assert_eq!(q["met"], false, "99.3 % misses 99.9 %");
    assert!(q["budget"]["spent_percent"].as_f64().unwrap() > 100.0);
    let incidents = q["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{q:#}");
    assert_eq!(incidents[0]["duration_seconds"], 600.0);
    assert_eq!(
        incidents[0]["start"].as_str().unwrap(),
        jiff::Timestamp::from_millisecond(outage.0)
            .unwrap()
            .to_string()
    );
    let cause = incidents[0]["cause"].as_str().unwrap();
    assert!(
        cause.starts_with("down") && cause.contains("exited with code 137"),
        "{cause}"
    );
    assert_eq!(q["mttr_seconds"], 600.0);

    // The core: down exactly when qdrant was, unknown while the watch was stopped.
    let core = &report["core"];
    assert_eq!(core["down_seconds"], 600.0, "{core:#}");
    assert!(
        (secs(core, "unknown_seconds") - 1790.0).abs() < 1.0,
        "{core:#}"
    );
    assert_eq!(core["incidents"].as_array().unwrap().len(), 1);

    // redis: up throughout but for its maintenance, which is neither up nor down nor unknown.
    let r = service("redis");
    let maintenance = secs(r, "maintenance_seconds");
    assert!((1.0..5.0).contains(&maintenance), "{r:#}");
    assert_eq!(secs(r, "down_seconds"), 0.0);
    assert!(secs(r, "unknown_seconds") < 1.0, "{r:#}");
    assert_eq!(r["availability_percent"], 100.0);
    assert_eq!(r["incidents"].as_array().unwrap().len(), 0);
    assert_eq!(report["maintenance"][0]["note"], "disk swap");

    // Requests: exact shares, refusals not counted as failures.
    let requests = report["requests"].as_array().unwrap();
    let gpt = requests.iter().find(|r| r["model"] == "gpt").unwrap();
    assert_eq!(
        (gpt["requests"].as_u64(), gpt["failed"].as_u64()),
        (Some(1000), Some(2))
    );
    assert_eq!(gpt["availability_percent"], 99.8);
    let all = requests.iter().find(|r| r["model"] == "all").unwrap();
    assert_eq!(
        all["availability_percent"].as_f64().unwrap(),
        100.0 * 1008.0 / 1010.0
    );

    // A per-service target: qdrant held to 99 % meets it.
    let out = ok(&sla(
        dir.path(),
        &[
            "report",
            "--since",
            "24h",
            "--service",
            "qdrant",
            "--target-of",
            "qdrant=99",
            "--json",
        ],
    ));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["services"][0]["met"], true, "{report:#}");
    // The same target from the config; the command line still wins over it.
    std::fs::write(dir.path().join("magi.toml"), "[sla.targets]\nqdrant = 99\n").unwrap();
    let met = |extra: &[&str]| -> Value {
        let mut args = vec!["report", "--since", "24h", "--service", "qdrant", "--json"];
        args.extend_from_slice(extra);
        let report: Value = serde_json::from_str(&ok(&sla(dir.path(), &args))).unwrap();
        report["services"][0]["met"].clone()
    };
    assert_eq!(met(&[]), true);
    assert_eq!(met(&["--target-of", "qdrant=99.9"]), false);
    std::fs::write(dir.path().join("magi.toml"), "").unwrap();

    // The table and the page say the same; the page loads nothing from anywhere.
    let text = ok(&sla(
        dir.path(),
        &["report", "--since", "24h", "--service", "qdrant"],
    ));
    assert!(
        text.contains("qdrant") && text.contains("exited with code 137"),
        "{text}"
    );
    let html = ok(&sla(dir.path(), &["report", "--since", "24h", "--html"]));
    assert!(html.starts_with("<!doctype html>") && html.contains("@media print"));
    for outside in ["src=", "href=", "http://", "https://", "<script"] {
        assert!(!html.contains(outside), "the page refers to {outside}");
    }
    // It prints: Chromium makes a PDF of it.
    if require(Component::Chromium) {
        let page = dir.path().join("sla.html");
        std::fs::write(&page, &html).unwrap();
        let pdf = dir.path().join("sla.pdf");
        let printed = std::process::Command::new("chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu"])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        let bytes = std::fs::read(&pdf).unwrap_or_else(|e| {
            panic!("no PDF: {e}: {}", String::from_utf8_lossy(&printed.stderr))
        });
        assert!(bytes.starts_with(b"%PDF") && bytes.len() > 1000);
    }
}

/// Histories older than the raw tier come from the 1-minute rollups: a whole-minute outage and a whole
/// hour without any observation are still exact.
#[test]
fn sla_report_reads_rollups_for_older_history() {
    let (dir, metrics) = scratch();
    let now = jiff::Timestamp::now().as_millisecond();
    let minute = 60 * S;
    let begin = (now - 6 * 24 * HOUR_MS) / minute * minute;
    let end = now - 4 * 24 * HOUR_MS;
    let outage = (begin + 24 * HOUR_MS, begin + 24 * HOUR_MS + 20 * minute);
    let gap = (begin + 30 * HOUR_MS, begin + 31 * HOUR_MS);
    let mut writer = Writer::open(&metrics, "health", Tiers::default(), Limits::default()).unwrap();
    let mut batch = Vec::new();
    let mut t = begin;
    while t < end {
        if !(gap.0..gap.1).contains(&t) {
            let down = (outage.0..outage.1).contains(&t);
            batch.push(up("qdrant", t, if down { 0.0 } else { 1.0 }));
        }
        if batch.len() >= 5_000 {
            writer.append(&batch, now).unwrap();
            batch.clear();
        }
        t += 5 * S;
    }
    writer.append(&batch, now).unwrap();
    writer.compact(now).unwrap();
    drop(writer);

    let out = ok(&sla(
        dir.path(),
        &["report", "--since", "7d", "--service", "qdrant", "--json"],
    ));
    let report: Value = serde_json::from_str(&out).unwrap();
    let q = &report["services"][0];
    assert_eq!(q["down_seconds"], 1200.0, "{q:#}");
    let observed = (end - begin) as f64 / 1000.0 - 3600.0;
    assert!(
        (q["up_seconds"].as_f64().unwrap() - (observed - 1200.0)).abs() < 60.0,
        "{q:#}"
    );
    assert!(
        q["unknown_seconds"].as_f64().unwrap() >= 7.0 * 86_400.0 - observed - 60.0,
        "the hour without a watch and the days before and after are unknown: {q:#}"
    );
    assert_eq!(q["incidents"].as_array().unwrap().len(), 1, "{q:#}");
}

/// Burn rates on the multiwindow thresholds, through magi-alert to a webhook: three minutes down just now
/// fire the fast level (critical) and not the slow; a steady trickle of 0.2 % down over three days fires
/// the slow level (warning) and not the fast; a service that never failed is ok.
#[test]
fn sla_burn_fires_the_fast_level_for_a_fresh_outage_and_the_slow_for_a_trickle() {
    let (dir, metrics) = scratch();
    let now = jiff::Timestamp::now().as_millisecond();
    let begin = (now - 74 * HOUR_MS) / (5 * S) * (5 * S);
    let mut writer = Writer::open(&metrics, "health", Tiers::default(), Limits::default()).unwrap();
    let mut batch = Vec::new();
    let mut t = begin;
    let mut i = 0u64;
    while t < now {
        // qdrant: three minutes down, ending now.
        batch.push(up("qdrant", t, if t >= now - 180 * S { 0.0 } else { 1.0 }));
        // redis: one sample in 500 down (0.2 %), all along.
        batch.push(up("redis", t, if i % 500 == 250 { 0.0 } else { 1.0 }));
        batch.push(up("searxng", t, 1.0));
        if batch.len() >= 5_000 {
            writer.append(&batch, now).unwrap();
            batch.clear();
        }
        t += 5 * S;
        i += 1;
    }
    writer.append(&batch, now).unwrap();
    writer.compact(now).unwrap();
    drop(writer);

    let args = [
        "burn",
        "--json",
        "--service",
        "qdrant",
        "--service",
        "redis",
        "--service",
        "searxng",
    ];
    let out = ok(&sla(dir.path(), &args));
    let events = json_lines(&out);
    let of = |subject: &str| event_of(&events, subject);
    let qdrant = of("qdrant");
    assert_eq!(
        (
            &qdrant["kind"],
            &qdrant["severity"],
            &qdrant["data"]["level"]
        ),
        (&"sla.burn".into(), &"critical".into(), &"fast".into()),
        "{qdrant:#}"
    );
    assert!(
        qdrant["data"]["burn_slow"].as_f64().unwrap() < 1.0,
        "three minutes in three days is within the slow level: {qdrant:#}"
    );
    let redis = of("redis");
    assert_eq!(
        (&redis["severity"], &redis["data"]["level"]),
        (&"warning".into(), &"slow".into()),
        "{redis:#}"
    );
    assert!(
        redis["data"]["burn_fast"].as_f64().unwrap() < 14.4,
        "{redis:#}"
    );
    assert_eq!(of("searxng")["severity"], "ok");

    // Through magi-alert's built-in sla-burn rule to a webhook: qdrant critical, redis warning.
    let sent = alert_through_webhook(dir.path(), &out, 2);
    let mut alerted: Vec<(String, String)> = sent
        .iter()
        .map(|b| {
            assert_eq!(b["alert"]["rule"], "sla-burn", "{b}");
            (
                b["alert"]["subject"].as_str().unwrap().to_owned(),
                b["alert"]["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    alerted.sort();
    assert_eq!(
        alerted,
        [
            ("qdrant".to_owned(), "critical".to_owned()),
            ("redis".to_owned(), "warning".to_owned())
        ]
    );
}

/// A week of hourly history with known trends: the MAGI home's disk 2 points a day from 40 % (full in 30
/// days), redis's memory 10 MiB a day toward its 512 MiB limit from 200 MiB, qdrant's data 1 GiB a day on
/// this machine's /tmp (its room is the free space there now); and a month of usage against a budget.
#[test]
fn sla_capacity_forecasts_disks_data_and_memory_and_the_month() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("qdrant-data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        dir.path().join("magi.toml"),
        format!(
            "[stack]\nhome = {:?}\n[services.qdrant]\ndata = [\"qdrant-data\"]\n",
            dir.path().to_str().unwrap()
        ),
    )
    .unwrap();
    let metrics = dir.path().join("metrics");
    let now = jiff::Timestamp::now().as_millisecond();
    let day = 24 * HOUR_MS;
    let mut writer = Writer::open(&metrics, "health", Tiers::default(), Limits::default()).unwrap();
    let mut batch = Vec::new();
    let mib = 1024.0 * 1024.0;
    for h in (0..7 * 24).rev() {
        let t = now - h * HOUR_MS - 60_000;
        let days_ago = (now - t) as f64 / day as f64;
        batch.push(gauge(
            "disk_used_percent",
            &[("disk", "MAGI home")],
            t,
            40.0 - 2.0 * days_ago,
        ));
        batch.push(gauge(
            "container_memory_bytes",
            &[("service", "redis")],
            t,
            (200.0 - 10.0 * days_ago) * mib,
        ));
        batch.push(gauge(
            "container_memory_limit_bytes",
            &[("service", "redis")],
            t,
            512.0 * mib,
        ));
        batch.push(gauge(
            "data_bytes",
            &[("service", "qdrant")],
            t,
            (20.0 - days_ago) * 1024.0 * mib,
        ));
    }
    writer.append(&batch, now).unwrap();
    writer.compact(now).unwrap();
    drop(writer);
    // 40 requests a day since the month began, a dollar each, against a monthly budget of $100.
    let month_start = magi_usage::clock::month_start(jiff::Timestamp::now());
    let recorder =
        Recorder::start(&dir.path().join("usage.db"), Duration::from_millis(20)).unwrap();
    let mut r = record(month_start, "gpt", 200, None);
    r.cost_usd = 1.0;
    assert!(recorder.record(r));
    recorder.finish();
    let mut policy = magi_usage::policy::Policy::open(&dir.path().join("usage.db")).unwrap();
    policy.set_budget(None, None, Some(100.0)).unwrap();
    drop(policy);

    let out = ok(&sla(dir.path(), &["capacity", "--json"]));
    let c: Value = serde_json::from_str(&out).unwrap();
    let of = |kind: &str, subject: &str| -> &Value {
        c["headroom"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kind"] == kind && h["subject"] == subject)
            .unwrap_or_else(|| panic!("no {kind} {subject}: {c:#}"))
    };
    let days_until = |h: &Value| -> f64 {
        let at: jiff::Timestamp = h["reaches_at"].as_str().unwrap().parse().unwrap();
        (at.as_millisecond() - now) as f64 / day as f64
    };
    let within = |h: &Value, truth: f64| {
        let got = days_until(h);
        assert!(
            (got - truth).abs() / truth < 0.10,
            "{got:.2} days, not {truth:.2}: {h:#}"
        );
        let band = |edge: &str| -> f64 {
            let t: jiff::Timestamp = h[edge].as_str().unwrap().parse().unwrap();
            (t.as_millisecond() - now) as f64 / day as f64
        };
        assert!(
            band("earliest") <= got + 1e-6 && got <= band("latest") + 1e-6,
            "{h:#}"
        );
    };
    let disk = of("disk", "MAGI home");
    assert_eq!(disk["method"], "linear");
    assert!(
        (disk["per_day"].as_f64().unwrap() - 2.0).abs() < 0.01,
        "{disk:#}"
    );
    within(disk, 30.0);
    within(of("memory", "redis"), 31.2);
    let qdrant = of("data", "qdrant");
    let free = nix::sys::statvfs::statvfs(&data).unwrap();
    let free = free.blocks_available() as f64 * free.fragment_size() as f64;
    within(qdrant, free / (1024.0 * mib));
    assert_eq!(c["month"]["monthly_budget_usd"], 100.0);
    assert_eq!(c["month"]["cost_usd"], 1.0);
    let text = ok(&sla(dir.path(), &["capacity"]));
    assert!(
        text.contains("MAGI home") && text.contains("linear, R² 1.00"),
        "{text}"
    );
    // `magi capacity` is the same command.
    let via_magi = bin("magi")
        .env("MAGI_CONFIG", dir.path().join("magi.toml"))
        .env("MAGI_METRICS_DIR", &metrics)
        .env("MAGI_LIMITS_DB", dir.path().join("usage.db"))
        .env_remove("JOURNAL_STREAM")
        .args(["capacity", "--json"])
        .output()
        .unwrap();
    let again: Value = serde_json::from_str(&ok(&via_magi)).unwrap();
    assert_eq!(
        again["headroom"].as_array().unwrap().len(),
        c["headroom"].as_array().unwrap().len()
    );
}

/// A real tmpfs as the MAGI home, filled at a steady rate while a real `magi-health watch` measures it:
/// `magi capacity`, asked part way, predicts the moment it fills within 10 % of the time that was left.
#[test]
fn sla_capacity_predicts_a_filling_tmpfs_within_ten_percent() {
    if !require(Component::Root) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "magi-capacity-test"])
        .arg(&home)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount tmpfs");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(home.clone());
    std::fs::write(
        dir.path().join("magi.toml"),
        format!(
            "[stack]\nhome = {:?}\nbackup_dir = {:?}\n",
            home.to_str().unwrap(),
            home.join("backups").to_str().unwrap()
        ),
    )
    .unwrap();
    let metrics = dir.path().join("metrics");
    let _watch = Killed(
        bin("magi-health")
            .env("MAGI_CONFIG", dir.path().join("magi.toml"))
            // Its history database and everything else it keeps stay in the test's directory.
            .env("STATE_DIRECTORY", dir.path().join("state"))
            .env("RUNTIME_DIRECTORY", dir.path().join("run"))
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .args(["watch", "--interval", "1s", "--metrics-dir"])
            .arg(&metrics)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    // 32 KiB every 125 ms on a fixed schedule (256 KiB/s: 8 MiB in about 32 s), until the file system is full.
    let file = home.join("filling");
    let filler = std::thread::spawn(move || {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&file).unwrap();
        let chunk = vec![7u8; 32 * 1024];
        let start = std::time::Instant::now();
        for i in 1u32.. {
            if f.write_all(&chunk).and_then(|()| f.sync_data()).is_err() {
                return jiff::Timestamp::now();
            }
            let next = start + Duration::from_millis(125) * i;
            std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
        }
        unreachable!()
    });
    std::thread::sleep(Duration::from_secs(14));
    let asked = jiff::Timestamp::now();
    let out = ok(&bin("magi-sla")
        .env("MAGI_CONFIG", dir.path().join("magi.toml"))
        .env("MAGI_METRICS_DIR", &metrics)
        .env("MAGI_LIMITS_DB", dir.path().join("usage.db"))
        .env_remove("JOURNAL_STREAM")
        .args(["capacity", "--json", "--trend", "12s"])
        .output()
        .unwrap());
    let c: Value = serde_json::from_str(&out).unwrap();
    let disk = c["headroom"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "disk" && h["subject"] == "MAGI home")
        .unwrap_or_else(|| panic!("{c:#}"))
        .clone();
    let predicted: jiff::Timestamp = disk["reaches_at"]
        .as_str()
        .unwrap_or_else(|| panic!("{disk:#}"))
        .parse()
        .unwrap();
    let full = filler.join().unwrap();
    let left = (full.as_millisecond() - asked.as_millisecond()) as f64;
    let error = (predicted.as_millisecond() - full.as_millisecond()) as f64;
    println!(
        "tmpfs full {:.1} s after the question; predicted {:+.1} s off ({:.1} %)",
        left / 1000.0,
        error / 1000.0,
        100.0 * error.abs() / left
    );
    assert!(error.abs() / left < 0.10, "{disk:#}");
}

/// Two weeks of two models' figures as the gateway writes them: gpt's error rate triples and its answers slow
/// down this week, llama's stay as they were. `magi-sla trends --json` says gpt is significantly worse (a
/// warning through magi-alert's sla-trend rule) and llama is not.
#[test]
fn sla_trends_find_a_week_significantly_worse_than_the_one_before() {
    use magi_tsdb::histogram::{Histogram, LATENCY_BOUNDS};
    let (dir, metrics) = scratch();
    let now = jiff::Timestamp::now().as_millisecond();
    let day = 24 * HOUR_MS;
    let mut writer = Writer::open(&metrics, "limits", Tiers::default(), Limits::default()).unwrap();
    let mut batch = Vec::new();
    for d in 0..14 {
        let t = now - (14 - d) * day + HOUR_MS;
        let this_week = d >= 7;
        for (model, errors, slow) in [
            ("gpt", if this_week { 30.0 } else { 10.0 }, this_week),
            ("llama", 10.0, false),
        ] {
            batch.push(delta("llm_requests", model, t, 1000.0));
            batch.push(delta("llm_errors", model, t, errors));
            let mut whole =
                Histogram::new("llm_latency_seconds", &[("model", model)], LATENCY_BOUNDS);
            let mut first = Histogram::new(
                "llm_first_byte_seconds",
                &[("model", model)],
                LATENCY_BOUNDS,
            );
            for i in 0..1000 {
                let base = if i % 50 == 0 { 2.0 } else { 0.4 };
                whole.observe(if slow && i % 4 == 0 { 4.0 } else { base });
                first.observe(base / 4.0);
            }
            batch.extend(whole.drain(t));
            batch.extend(first.drain(t));
        }
    }
    writer.append(&batch, now).unwrap();
    writer.compact(now).unwrap();
    drop(writer);
    // searxng's probe, every 5 minutes: 20 ms all along but for one in three at 200 ms this week; redis's
    // steady.
    let mut health = Writer::open(&metrics, "health", Tiers::default(), Limits::default()).unwrap();
    let mut batch = Vec::new();
    for i in 0..14 * 24 * 12 {
        let t = now - 14 * day + i * 300_000 + 60_000;
        let this_week = t >= now - 7 * day;
        let slow = this_week && i % 3 == 0;
        let probe =
            |service: &str, v: f64| gauge("probe_latency_seconds", &[("service", service)], t, v);
        batch.push(probe("searxng", if slow { 0.2 } else { 0.02 }));
        batch.push(probe("redis", 0.001));
    }
    health.append(&batch, now).unwrap();
    health.compact(now).unwrap();
    drop(health);

    let out = ok(&sla(dir.path(), &["trends", "--json"]));
    let events = json_lines(&out);
    let of = |model: &str| event_of(&events, model);
    let gpt = of("gpt");
    assert_eq!(
        (&gpt["kind"], &gpt["severity"]),
        (&"sla.trend".into(), &"warning".into()),
        "{gpt:#}"
    );
    let message = gpt["message"].as_str().unwrap();
    assert!(
        message.contains("error rate 3.00 % against 1.00 %") && message.contains("p95 latency"),
        "{message}"
    );
    assert!(
        !message.contains("p95 ttft"),
        "the first byte did not change: {message}"
    );
    assert_eq!(of("llama")["severity"], "ok", "{out}");
    let searxng = of("searxng");
    assert_eq!(searxng["severity"], "warning", "{searxng:#}");
    assert!(
        searxng["message"]
            .as_str()
            .unwrap()
            .contains("p95 probe latency")
            && searxng["data"]["p95_probe_latency_this_week"]
                .as_f64()
                .unwrap()
                > 0.1
            && searxng["data"]["p95_probe_latency_last_week"]
                .as_f64()
                .unwrap()
                < 0.03,
        "{searxng:#}"
    );
    assert_eq!(of("redis")["severity"], "ok", "{out}");
    let table = ok(&sla(dir.path(), &["trends"]));
    assert!(table.contains("significantly"), "{table}");

    // Through magi-alert: a warning for gpt and one for searxng, from the built-in sla-trend rule (llama and
    // redis raise nothing).
    let sent = alert_through_webhook(dir.path(), &out, 2);
    let body = sent
        .iter()
        .find(|b| b["alert"]["subject"] == "gpt")
        .unwrap();
    assert_eq!(
        (
            &body["alert"]["rule"],
            &body["alert"]["subject"],
            &body["alert"]["severity"]
        ),
        (&"sla-trend".into(), &"gpt".into(), &"warning".into()),
        "{body}"
    );
}

/// Five weeks of hourly usage as the gateway writes it, about 100 requests an hour (a little noise), then an
/// hour of 400: `magi-sla anomalies` calls that hour's requests unusually high and nothing else unusual.
#[test]
fn sla_anomalies_find_an_unusual_hour_against_earlier_weeks() {
    let (dir, metrics) = scratch();
    let now = jiff::Timestamp::now().as_millisecond();
    let last_hour = now / HOUR_MS * HOUR_MS - HOUR_MS;
    let mut writer = Writer::open(&metrics, "limits", Tiers::default(), Limits::default()).unwrap();
    let mut batch = Vec::new();
    for h in 0..35 * 24 {
        let start = last_hour - h * HOUR_MS;
        let requests = if h == 0 {
            400.0
        } else {
            100.0 + (h % 7) as f64 - 3.0
        };
        batch.push(delta("llm_requests", "gpt", start + 600_000, requests));
        batch.push(delta("llm_prompt_tokens", "gpt", start + 600_000, 5000.0));
        batch.push(delta("llm_cost_usd", "gpt", start + 600_000, 0.5));
        if batch.len() >= 3000 {
            writer.append(&batch, now).unwrap();
            batch.clear();
        }
    }
    writer.append(&batch, now).unwrap();
    writer.compact(now).unwrap();
    drop(writer);

    let out = ok(&sla(dir.path(), &["anomalies", "--json"]));
    let events = json_lines(&out);
    assert_eq!(events.len(), 3, "{out}");
    for e in &events {
        assert_eq!(e["kind"], "usage.anomaly");
        assert_eq!(
            e["data"]["hour"].as_str().unwrap(),
            jiff::Timestamp::from_millisecond(last_hour)
                .unwrap()
                .to_string()
        );
        let expected = if e["subject"] == "requests" {
            "warning"
        } else {
            "ok"
        };
        assert_eq!(e["severity"], expected, "{e:#}");
    }
    let requests = event_of(&events, "requests");
    assert_eq!(requests["data"]["value"], 400.0);
    assert!(
        requests["message"]
            .as_str()
            .unwrap()
            .contains("unusually high")
    );
    let table = ok(&sla(dir.path(), &["anomalies", "--hours", "48"]));
    assert_eq!(table.lines().count(), 2, "one unusual hour: {table}");
    let report = ok(&sla(dir.path(), &["report", "--since", "24h"]));
    assert!(report.contains("Unusual hours of usage"), "{report}");
}

/// A silence in magi-alert is planned maintenance for the SLA: `silence add qdrant --for 1h` opens a window
/// that ends when the silence would, `silence remove` ends it early, and a glob over units is no service's.
#[test]
fn sla_a_silence_is_planned_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("magi.toml"), "").unwrap();
    let alert = |args: &[&str]| {
        ok(&bin("magi-alert")
            .env("MAGI_CONFIG", dir.path().join("magi.toml"))
            .env("MAGI_ALERT_DB", dir.path().join("alert.db"))
            .env("MAGI_METRICS_DIR", dir.path().join("metrics"))
            .env_remove("JOURNAL_STREAM")
            .env_remove("MAGI_LOG")
            .args(args)
            .output()
            .unwrap())
    };
    let windows =
        || -> Vec<Value> { json_lines(&ok(&sla(dir.path(), &["maintenance", "list", "--json"]))) };
    let before = jiff::Timestamp::now();
    alert(&[
        "silence",
        "add",
        "qdrant",
        "--for",
        "1h",
        "--note",
        "disk swap",
    ]);
    alert(&["silence", "add", "magi-*.service", "--for", "1h"]);
    let open = windows();
    assert_eq!(open.len(), 1, "only the service's silence: {open:?}");
    assert_eq!(open[0]["service"], "qdrant");
    assert!(open[0]["note"].as_str().unwrap().contains("disk swap"));
    let end: jiff::Timestamp = open[0]["end"].as_str().unwrap().parse().unwrap();
    let planned = end.as_millisecond() - before.as_millisecond();
    assert!(
        (3_595_000..3_605_000).contains(&planned),
        "ends with the silence: {planned} ms"
    );

    std::thread::sleep(Duration::from_millis(1100));
    alert(&["silence", "remove", "qdrant"]);
    let closed = windows();
    let end: jiff::Timestamp = closed[0]["end"].as_str().unwrap().parse().unwrap();
    let lasted = end.as_millisecond() - before.as_millisecond();
    assert!(
        (1_000..10_000).contains(&lasted),
        "ended early: {lasted} ms"
    );
}

/// Bad input gets one clear line and a usage exit.
#[test]
fn sla_bad_arguments_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("magi.toml"), "").unwrap();
    for (args, says) in [
        (vec!["report", "--target", "100"], "below 100 percent"),
        (vec!["report", "--target-of", "qdrant"], "SERVICE=PERCENT"),
        (vec!["report", "--since", "forever"], "forever"),
    ] {
        let out = sla(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // An empty store is a report that says so, not a failure.
    let text = ok(&sla(dir.path(), &["report"]));
    assert!(text.contains("No service has figures"), "{text}");
}

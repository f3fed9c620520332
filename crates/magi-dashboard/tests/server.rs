//! The dashboard's server on port 0 over a real metrics store on disk, seeded through the store's own
//! writer as magi-health watch and the gateway write it: tiles, charts, a month-old spike, the models'
//! figures, bad URLs, the security headers, the live stream and its bound.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Duration;

use magi_check::Condition;
use magi_dashboard::server::{Settings, serve};
use magi_testkit::http;
use magi_tsdb::histogram::{Histogram, LATENCY_BOUNDS};
use magi_tsdb::store::Limits;
use magi_tsdb::tier::{DAY_MS, HOUR_MS};
use magi_tsdb::{Kind, Sample, SeriesKey, Tiers, Writer};

fn gauge(name: &str, service: &str, ts_ms: i64, value: f64) -> Sample {
    Sample {
        key: SeriesKey::of(name, &[("service", service)]).unwrap(),
        kind: Kind::Gauge,
        ts_ms,
        value,
    }
}

fn delta(name: &str, model: &str, user: &str, ts_ms: i64, value: f64) -> Sample {
    Sample {
        key: SeriesKey::of(name, &[("model", model), ("user", user)]).unwrap(),
        kind: Kind::Delta,
        ts_ms,
        value,
    }
}

/// 30 days of qdrant's CPU at 1 % with one 5-minute spike to 95 % ten days ago (ending 90 s ago), the last minute of
/// conditions (open-webui up, qdrant down, redis slow), a restart mark, and a day of two models' calls.
fn seed(dir: &Path, now: i64) -> i64 {
    let mut health = Writer::open(dir, "health", Tiers::default(), Limits::default()).unwrap();
    let spike = now - 10 * DAY_MS;
    let mut batch = Vec::new();
    let mut t = now - 30 * DAY_MS;
    // The CPU stops 90 s ago, before the last minute of conditions: the container went down.
    while t < now - 90_000 {
        let step = if now - t > 2 * HOUR_MS { 60_000 } else { 5_000 };
        let cpu = if (spike..spike + 300_000).contains(&t) {
            95.0
        } else {
            1.0
        };
        batch.push(gauge("container_cpu_percent", "qdrant", t, cpu));
        if batch.len() >= 5_000 {
            health.append(&batch, now).unwrap();
            batch.clear();
        }
        t += step;
    }
    for i in 0..12 {
        let t = now - 60_000 + i * 5_000;
        batch.push(gauge(
            "service_condition",
            "open-webui",
            t,
            Condition::Up.code().into(),
        ));
        batch.push(gauge(
            "service_condition",
            "qdrant",
            t,
            Condition::Down.code().into(),
        ));
        batch.push(gauge(
            "service_condition",
            "redis",
            t,
            Condition::Slow.code().into(),
        ));
        batch.push(gauge(
            "container_memory_bytes",
            "redis",
            t,
            50.0 * 1024.0 * 1024.0,
        ));
        batch.push(gauge(
            "container_memory_limit_bytes",
            "redis",
            t,
            512.0 * 1024.0 * 1024.0,
        ));
    }
    health.append(&batch, now).unwrap();
    health
        .annotate(
            now - HOUR_MS / 2,
            "restart",
            Some("qdrant"),
            "restarted: exited with code 137",
        )
        .unwrap();
    // An upgrade, marked as `magi upgrade` (issue 18's) marks one: any tool's mark is drawn the same way.
    let mut upgrades = Writer::open(dir, "upgrade", Tiers::default(), Limits::default()).unwrap();
    upgrades
        .annotate(
            now - HOUR_MS / 4,
            "upgrade",
            Some("qdrant"),
            "qdrant 1.12.4 -> 1.13.0",
        )
        .unwrap();

    let mut limits = Writer::open(dir, "limits", Tiers::default(), Limits::default()).unwrap();
    let mut batch = Vec::new();
    let mut fast = Histogram::new(
        "llm_latency_seconds",
        &[("model", "gpt-4o")],
        LATENCY_BOUNDS,
    );
    for i in 0..100 {
        fast.observe(if i < 90 { 0.2 } else { 4.0 });
    }
    let mut first = Histogram::new(
        "llm_first_byte_seconds",
        &[("model", "gpt-4o")],
        LATENCY_BOUNDS,
    );
    for _ in 0..100 {
        first.observe(0.03);
    }
    let t = now - 600_000;
    batch.extend(fast.drain(t));
    batch.extend(first.drain(t));
    batch.push(delta("llm_requests", "gpt-4o", "ann", t, 60.0));
    batch.push(delta("llm_requests", "gpt-4o", "bob", t, 40.0));
    batch.push(delta("llm_errors", "gpt-4o", "bob", t, 5.0));
    batch.push(delta("llm_cost_usd", "gpt-4o", "ann", t, 1.25));
    batch.push(delta("llm_requests", "llama3", "ann", t, 7.0));
    limits.append(&batch, now).unwrap();
    spike
}

struct Running {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

fn start(dir: &Path, max_live: usize) -> Running {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let port = std_listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = Settings {
        dir: dir.to_owned(),
        services: ["open-webui", "litellm", "qdrant", "redis"]
            .map(str::to_owned)
            .to_vec(),
        max_live,
        usage_db: dir.join("usage.db"),
        alerts: magi_dashboard::alerts::AlertTool::installed(),
        sla: magi_dashboard::tool::Tool::installed("sla"),
    };
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            serve(listener, settings, async {
                stopped.await.ok();
            })
            .await;
        });
    });
    Running {
        port,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn tile<'a>(body: &'a str, service: &str) -> &'a str {
    let at = body
        .find(&format!(r#"data-service="{service}""#))
        .unwrap_or_else(|| panic!("no tile of {service}"));
    let start = body[..at].rfind("<li").unwrap();
    let end = at + body[at..].find("</li>").unwrap();
    &body[start..end]
}

#[test]
fn tiles_say_each_services_condition_in_colour_and_word() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    seed(dir.path(), now);
    let server = start(dir.path(), 4);
    let page = http::get(server.port, "/");
    assert_eq!(page.status, 200, "{}", page.body);
    for (service, class, condition, word) in [
        ("open-webui", "ok", "up", "up"),
        ("qdrant", "crit", "down", "down"),
        ("redis", "warn", "slow", "slow"),
        ("litellm", "none", "none", "no recent check"),
    ] {
        let t = tile(&page.body, service);
        assert!(
            t.contains(&format!(r#"class="tile {class}""#)),
            "{service}: {t}"
        );
        assert!(
            t.contains(&format!(r#"data-condition="{condition}""#)),
            "{service}: {t}"
        );
        assert!(
            t.contains(&format!(r#"<p class="state">{word}</p>"#)),
            "{service}: {t}"
        );
    }
    assert!(tile(&page.body, "redis").contains("<dd>50.0 MiB</dd>"));
    // qdrant's CPU was last sampled before its latest condition (down): not shown as if current.
    assert!(!tile(&page.body, "qdrant").contains("<dt>CPU</dt>"));
    assert!(page.body.contains("restarted: exited with code 137"));
    assert!(
        page.body
            .contains("upgrade qdrant: qdrant 1.12.4 -&gt; 1.13.0"),
        "the upgrade is in the marks list"
    );
    assert!(
        page.body.contains("<title>") && page.body.matches(r#"<line class="mark""#).count() >= 2,
        "restart and upgrade drawn on the charts"
    );
    assert!(
        page.body.len() < 60 * 1024,
        "first-load page weight {} bytes",
        page.body.len()
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let script = http::get(server.port, "/assets/live.js");
    assert_eq!(script.status, 200);
    assert!(script.body.contains("EventSource"));
}

#[test]
fn a_spike_of_five_minutes_ten_days_ago_shows_at_thirty_day_zoom() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    let spike = seed(dir.path(), now);
    let server = start(dir.path(), 4);
    let page = http::get(server.port, "/service/qdrant?range=30d");
    assert_eq!(page.status, 200, "{}", page.body);
    let sentence = page
        .body
        .split(r#"<p class="summary">"#)
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap();
    assert!(
        sentence.starts_with("qdrant: CPU: peak 95.0 %"),
        "{sentence}"
    );
    // The peak is placed at the start of the chart step that holds it (a few hours at 30 days).
    let placed = (1..=6).any(|hours| {
        let at = magi_dashboard::chart::when(spike.div_euclid(hours * HOUR_MS) * hours * HOUR_MS);
        sentence.contains(&format!("at {at}"))
    });
    assert!(
        placed,
        "{sentence}: the spike was at {}",
        magi_dashboard::chart::when(spike)
    );
    // The SVG carries no more than a chart's worth of points however long the range.
    let svg_points = page.body.matches('L').count();
    assert!(svg_points < 4 * 800, "{svg_points} path points");
    // The same range pinned to an end is the same chart, and a link to it is on the page.
    assert!(page.body.contains("range=30d&amp;end=") || page.body.contains("range=30d&end="));
}

#[test]
fn the_models_page_has_requests_errors_percentiles_and_cost() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    seed(dir.path(), now);
    // The gateway's database with a budget for everyone: $10 a day, $100 a month.
    magi_usage::policy::Policy::open(&dir.path().join("usage.db"))
        .unwrap()
        .set_budget(None, Some(10.0), Some(100.0))
        .unwrap();
    let server = start(dir.path(), 4);
    let page = http::get(server.port, "/models?range=24h");
    assert_eq!(page.status, 200, "{}", page.body);
    let row = page
        .body
        .split(r#"<th scope="row">gpt-4o</th>"#)
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .unwrap();
    // 100 requests, 5 errors, p50 within the 0.2 s bucket, p99 within the 4 s one, $1.25.
    assert!(row.starts_with("<td>100</td><td>5.0 %</td>"), "{row}");
    assert!(row.contains("<td>$1.25</td>"), "{row}");
    let cells: Vec<&str> = row.split("<td>").skip(3).take(4).collect();
    assert!(cells[0].contains("ms"), "p50 {cells:?}");
    assert!(cells[2].contains(" s<"), "p99 {cells:?}");
    // The first byte came within the 25–50 ms bucket.
    let first_byte: f64 = cells[3]
        .trim_end_matches("</td>")
        .trim_end_matches(" ms")
        .parse()
        .unwrap();
    assert!(
        (25.0..=50.0).contains(&first_byte),
        "first byte p95 {cells:?}"
    );
    // Busiest model first; users costliest first.
    assert!(page.body.find("gpt-4o").unwrap() < page.body.find("llama3").unwrap());
    let users = page.body.split("<h2>Per user</h2>").nth(1).unwrap();
    assert!(users.find(">ann<").unwrap() < users.find(">bob<").unwrap());
    assert!(
        page.body
            .contains("This month: <strong>$1.25</strong> so far")
    );
    assert!(
        page.body
            .contains("the monthly budget is <strong>$100.00</strong>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<title>the daily budget, $10.00, for all models together</title>")
    );
    // Without the gateway's database there are no budget lines, and none is created.
    let bare = tempfile::tempdir().unwrap();
    let server = start(bare.path(), 4);
    assert!(!http::get(server.port, "/models").body.contains("budget"));
    assert!(!bare.path().join("usage.db").exists());
}

#[test]
fn bad_urls_get_a_sentence_and_a_status_never_an_echo() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), 4);
    for (path, status, says) in [
        ("/?range=2y", 400, "range must be one of"),
        ("/?end=%3Cscript%3E", 400, "end must be Unix milliseconds"),
        ("/service/nope", 404, "no figures of that service"),
        ("/nothing/here", 404, "no such page"),
    ] {
        let reply = http::get(server.port, path);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert!(reply.body.contains(says), "{path}: {}", reply.body);
        assert!(!reply.body.contains("<script"), "{path}");
    }
    // An empty store is a page that says there is nothing yet, not an error.
    let empty = http::get(server.port, "/");
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("no figures in this range yet"));
}

/// Reads server-sent event lines until one starts with `prefix`, or panics after `within`.
fn wait_for_line(
    reader: &mut BufReader<std::net::TcpStream>,
    prefix: &str,
    within: Duration,
) -> String {
    reader.get_ref().set_read_timeout(Some(within)).unwrap();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("no '{prefix}' line within {within:?}: {e}"));
        assert!(n > 0, "the stream ended before '{prefix}'");
        if line.starts_with(prefix) {
            return line;
        }
    }
}

#[test]
fn an_open_tab_hears_of_each_new_sample_and_the_streams_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    seed(dir.path(), now);
    let server = start(dir.path(), 1);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(stream, "GET /live HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let status = wait_for_line(&mut reader, "HTTP/1.1", Duration::from_secs(5));
    assert!(status.contains("200"), "{status}");
    wait_for_line(&mut reader, "retry: 1000", Duration::from_secs(5));

    // A second tab beyond the bound is told to come back later.
    let refused = http::get(server.port, "/live");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("10"));

    // A new sample reaches the open tab as a `changed` event within the poll.
    std::thread::sleep(Duration::from_millis(1100));
    let mut health =
        Writer::open(dir.path(), "health", Tiers::default(), Limits::default()).unwrap();
    let t = jiff::Timestamp::now().as_millisecond();
    health
        .append(
            &[gauge(
                "service_condition",
                "qdrant",
                t,
                Condition::Up.code().into(),
            )],
            t,
        )
        .unwrap();
    let started = std::time::Instant::now();
    wait_for_line(&mut reader, "event: changed", Duration::from_secs(5));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let page = http::get(server.port, "/");
    assert!(tile(&page.body, "qdrant").contains(r#"data-condition="up""#));

    // The tab goes away: its slot comes back for the next.
    drop(reader);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        write!(s, "GET /live HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut r = BufReader::new(s);
        let status = wait_for_line(&mut r, "HTTP/1.1", Duration::from_secs(5));
        if status.contains("200") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the slot never came back: {status}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

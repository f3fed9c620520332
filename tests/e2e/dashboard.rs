//! magi-dashboard against the mini stack, fed by a real `magi-health watch`, read over HTTP and by headless
//! Chromium (Debian's): the tiles agree with `magi-health --json`, a stopped core container turns red within
//! 10 s and its alert (the same watch piped into magi-alert) reaches a webhook within 10 s, the page renders
//! with JavaScript on and off, a `kill -9` of the daemon is over within 5 s, and screenshots at phone and
//! desktop widths are kept as artifacts. Behind Caddy and magi-users' forward-auth, the dashboard is only
//! for those signed in, and an alert is acknowledged from its page by the person the proxy names.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use magi_testkit::{
    Caddy, Component, Killed, MiniStack, WebhookReceiver, bin, feed, free_port, http, require,
};

use crate::users::{Browser, Users, seed};

/// The (service, condition) pairs of the tiles on a page.
fn tiles(body: &str) -> BTreeMap<String, String> {
    body.split(r#"data-service=""#)
        .skip(1)
        .filter_map(|rest| {
            let (service, rest) = rest.split_once('"')?;
            let condition = rest
                .split(r#"data-condition=""#)
                .nth(1)?
                .split('"')
                .next()?;
            Some((service.to_owned(), condition.to_owned()))
        })
        .collect()
}

/// What `magi-health --json` says of each service now.
fn health_conditions(stack: &MiniStack) -> BTreeMap<String, String> {
    let out = stack.command("magi-health").arg("--json").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "service.status")
        .filter_map(|e| {
            Some((
                e["subject"].as_str()?.to_owned(),
                e["data"]["condition"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// The dashboard on `port`, reading the store at `metrics` and the alerts of the magi-alert database beside it.
fn dashboard(stack: &MiniStack, port: u16, metrics: &Path) -> Child {
    let child = stack
        .command("magi-dashboard")
        .args(["start", "--listen", &format!("127.0.0.1:{port}")])
        .env("MAGI_METRICS_DIR", metrics)
        .env("MAGI_ALERT_DB", metrics.with_file_name("alert.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the dashboard did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// `magi-health watch` every 2 s, writing its figures to the store at `metrics`.
fn watch(stack: &MiniStack, metrics: &Path) -> Killed {
    Killed(
        stack
            .command("magi-health")
            .args(["watch", "--interval", "2s", "--metrics-dir"])
            .arg(metrics)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn dashboard_tiles_agree_with_magi_health_and_a_stopped_core_container_turns_red_and_alerts() {
    if !MiniStack::available() || !require(Component::Chromium) {
        return;
    }
    let stack = MiniStack::up();
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("metrics");
    let hook = WebhookReceiver::start();
    // One watch feeds both: the store the page reads, and (`--json | magi-alert`) the alerts.
    let mut watching = stack
        .command("magi-health")
        .args(["watch", "--json", "--interval", "2s", "--metrics-dir"])
        .arg(&metrics)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _alerting = Killed(
        stack
            .command("magi-alert")
            .env("MAGI_ALERT_DB", metrics.with_file_name("alert.db"))
            .env("MAGI_METRICS_DIR", &metrics)
            .args(["--to", &hook.url("/magi")])
            .stdin(Stdio::from(watching.stdout.take().unwrap()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let _watch = Killed(watching);
    let port = free_port();
    let dash = Killed(dashboard(&stack, port, &metrics));

    // Every tile says what magi-health says (a round may fall between the two looks: look again).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = http::get(port, "/");
        let shown = tiles(&page.body);
        let said = health_conditions(&stack);
        if !said.is_empty() && said.iter().all(|(s, c)| shown.get(s) == Some(c)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "tiles {shown:?}\nmagi-health {said:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // A stopped core container: its tile red within 10 s of the stop, its alert at the webhook within 10 s.
    assert!(hook.requests().is_empty(), "{:?}", hook.requests());
    stack.stop("litellm");
    let stopped = Instant::now();
    loop {
        let page = http::get(port, "/");
        if tiles(&page.body).get("litellm").map(String::as_str) == Some("down") {
            let t = page.body.split(r#"data-service="litellm""#).next().unwrap();
            assert!(
                t.ends_with(r#"<li class="tile crit" "#),
                "{}",
                &t[t.len() - 60..]
            );
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "litellm still {:?} after 10 s",
            tiles(&page.body).get("litellm")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let red = stopped.elapsed();
    let firing = hook.wait_for(1, Duration::from_secs(10).saturating_sub(stopped.elapsed()));
    let alerted = stopped.elapsed();
    let body = firing[0].json();
    assert_eq!(
        (&body["status"], &body["alert"]["subject"]),
        (&"firing".into(), &"litellm".into()),
        "{body}"
    );
    assert!(
        alerted < Duration::from_secs(10),
        "alerted after {alerted:?}"
    );
    println!(
        "litellm red on the dashboard {red:?} and its alert at the webhook {alerted:?} after its stop"
    );
    // The alert is on the alerts page and marked on the charts.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alerts = http::get(port, "/alerts").body;
        let overview = http::get(port, "/?range=1h").body;
        if alerts.contains(r#"data-state="firing""#)
            && alerts.contains("litellm")
            && overview.contains("alert litellm")
        {
            break;
        }
        assert!(Instant::now() < deadline, "{alerts}");
        std::thread::sleep(Duration::from_millis(250));
    }

    // The service-level report (magi-sla's page, run by the dashboard): litellm's outage is an incident
    // still open, and the page loads nothing but its own inline style.
    let sla = http::get(port, "/sla?range=1h");
    assert_eq!(sla.status, 200, "{}", sla.body);
    assert!(
        sla.body.contains("MAGI service levels")
            && sla.body.contains("<th scope=\"row\">litellm</th>"),
        "{}",
        sla.body
    );
    assert!(
        sla.body.contains("ongoing"),
        "litellm's incident is open: {}",
        sla.body
    );
    assert!(
        sla.header("content-security-policy")
            .is_some_and(|csp| csp.starts_with("default-src 'none'; style-src 'unsafe-inline'")),
        "{}",
        sla.head
    );

    // Headless Chromium, with JavaScript and without: the same tiles in the DOM.
    let url = format!("http://127.0.0.1:{port}/?range=1h");
    for (name, extra) in [("js", None), ("no-js", Some("--disable-javascript"))] {
        let profile = dir.path().join(format!("profile-{name}"));
        let mut args: Vec<&str> = extra.into_iter().collect();
        args.extend(["--dump-dom", url.as_str()]);
        let dom = chromium(&profile, &args);
        let dom = String::from_utf8_lossy(&dom.stdout);
        assert_eq!(
            tiles(&dom).get("litellm").map(String::as_str),
            Some("down"),
            "{name}: {dom}"
        );
        assert!(dom.contains("CPU, each point the highest"), "{name}");
    }
    for (name, size) in [("phone", "390,844"), ("desktop", "1280,900")] {
        let png = dir.path().join(format!("{name}.png"));
        let profile = dir.path().join(format!("profile-{name}"));
        let out = chromium(
            &profile,
            &[
                &format!("--screenshot={}", png.display()),
                &format!("--window-size={size}"),
                &url,
            ],
        );
        let bytes = std::fs::read(&png).unwrap_or_else(|e| {
            panic!(
                "no {name} screenshot: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(bytes.starts_with(b"\x89PNG"), "{name}");
        let kept = std::env::temp_dir().join(format!("magi-dashboard-{name}.png"));
        std::fs::copy(&png, &kept).ok();
        println!("screenshot kept: {}", kept.display());
    }

    // kill -9 of the daemon: a new one on the same port answers within 5 s, and the page is the same.
    let before = tiles(&http::get(port, "/").body);
    drop(dash);
    let killed = Instant::now();
    let _restarted = Killed(dashboard(&stack, port, &metrics));
    let page = http::get(port, "/");
    assert_eq!(page.status, 200);
    assert!(
        killed.elapsed() < Duration::from_secs(5),
        "{:?}",
        killed.elapsed()
    );
    assert_eq!(tiles(&page.body).get("litellm"), before.get("litellm"));

    stack.start("litellm");
}

/// One `service.status` event of magi-health's, as `magi-health watch --json` prints it.
fn status_event(subject: &str, severity: &str) -> String {
    format!(
        "{{\"v\":1,\"ts\":\"{}\",\"host\":\"magi-host\",\"source\":\"magi-health\",\"kind\":\"service.status\",\"subject\":\"{subject}\",\"severity\":\"{severity}\",\"message\":\"{subject} is down\",\"data\":{{\"tier\":\"core\"}}}}\n",
        jiff::Timestamp::now()
    )
}

/// Behind Caddy with magi-users' forward-auth, as the docs wire it: nobody reaches the dashboard without
/// signing in, and an alert is acknowledged on its page in the name of the person the proxy vouches for (a
/// forged `Remote-User` does not get through); a form posted from another site is refused.
#[test]
fn dashboard_behind_forward_auth_acknowledges_an_alert_for_the_signed_in_user() {
    if !require(Component::Caddy) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("magi.toml");
    std::fs::write(&config, "").unwrap();
    let env = |c: &mut Command| {
        c.env("MAGI_CONFIG", &config)
            .env("MAGI_ALERT_DB", dir.path().join("alert.db"))
            .env("MAGI_METRICS_DIR", dir.path().join("metrics"))
            .env("MAGI_LIMITS_DB", dir.path().join("usage.db"))
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("MAGI_LOG");
    };
    // An alert firing: a core service down, as magi-health would say it.
    let mut alert = bin("magi-alert");
    env(&mut alert);
    let fed = feed(&mut alert, status_event("qdrant", "critical").as_bytes());
    assert!(
        fed.status.success(),
        "{}",
        String::from_utf8_lossy(&fed.stderr)
    );

    let port = free_port();
    let mut start = bin("magi-dashboard");
    env(&mut start);
    let _dash = Killed(
        start
            .args(["start", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut users = Users::new("");
    seed(&users);
    users.start(None);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let caddy = Caddy::start(&format!(
        "\thandle_path /magi-users/* {{\n\t\treverse_proxy 127.0.0.1:{users}\n\t}}\n\
         \thandle {{\n\
         \t\tforward_auth 127.0.0.1:{users} {{\n\
         \t\t\turi /auth\n\
         \t\t\tcopy_headers Remote-User Remote-Email Remote-Name Remote-Groups\n\
         \t\t}}\n\
         \t\treverse_proxy 127.0.0.1:{port}\n\
         \t}}",
        users = users.port
    ));
    let base = caddy.url("");

    let mut browser = Browser::default();
    let anonymous = browser.get(&format!("{base}/alerts"));
    assert_eq!(anonymous.status, 302, "{anonymous:?}");
    assert!(
        anonymous
            .header("location")
            .is_some_and(|l| l.contains("/magi-users/login")),
        "{anonymous:?}"
    );
    let refused = browser.send("POST", &format!("{base}/alerts/1/ack"), &[], Some(""));
    assert_eq!(
        refused.status, 302,
        "an anonymous acknowledgement never reaches the dashboard"
    );

    let login = browser.login(&base, "ada", "ada-password", &format!("{base}/alerts"));
    assert_eq!(login.status, 303, "{login:?}");
    let page = browser.get(&format!("{base}/alerts"));
    assert_eq!(page.status, 200, "{page:?}");
    assert!(
        page.body.contains(r#"data-alert="1" data-state="firing""#) && page.body.contains("qdrant"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"action="/alerts/1/ack""#),
        "{}",
        page.body
    );

    // A form on another site, posted by ada's browser with her cookie: refused, and nothing changed.
    let forged = browser.send(
        "POST",
        &format!("{base}/alerts/1/ack"),
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
        Some(""),
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert!(
        browser
            .get(&format!("{base}/alerts"))
            .body
            .contains(r#"data-state="firing""#)
    );

    // Her own page's button, with a Remote-User of someone else's that the proxy replaces with hers.
    let acked = browser.send(
        "POST",
        &format!("{base}/alerts/1/ack"),
        &[
            ("sec-fetch-site", "same-origin"),
            ("origin", &base),
            ("remote-user", "root"),
        ],
        Some(""),
    );
    assert_eq!(acked.status, 303, "{acked:?}");
    assert_eq!(acked.header("location"), Some("/alerts"));
    let mut list = bin("magi-alert");
    env(&mut list);
    let listed = list
        .args(["list", "--json", "--limit", "1"])
        .output()
        .unwrap();
    let alert: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(alert["id"], 1, "{alert}");
    assert!(alert["acked_at"].is_string(), "{alert}");
    assert_eq!(
        alert["ack_note"], "acknowledged on the dashboard by ada",
        "{alert}"
    );
    let page = browser.get(&format!("{base}/alerts"));
    assert!(
        page.body.contains(r#"data-state="acknowledged""#)
            && page.body.contains("acknowledged on the dashboard by ada"),
        "{}",
        page.body
    );
    // Acknowledging twice is harmless; an unknown alert is a clear refusal.
    let unknown = browser.send(
        "POST",
        &format!("{base}/alerts/99/ack"),
        &[("sec-fetch-site", "same-origin")],
        Some(""),
    );
    assert_eq!(unknown.status, 409, "{unknown:?}");
    assert!(unknown.body.contains("no alert #99"), "{}", unknown.body);
}

/// The page in a real browser (Chromium through its driver): a 5-minute spike ten days ago is drawn at its
/// height at 30-day zoom, axe-core finds no accessibility violation on any view (the alerts page with an
/// alert to acknowledge among them), a stopped container's tile turns red by the page's own live update
/// within 10 s, and a `kill -9` of the daemon is over for the open tab within 5 s of it noticing.
#[test]
fn dashboard_in_chromium_updates_live_reconnects_and_passes_axe() {
    if !MiniStack::available() || !require(Component::BrowserDriver) {
        return;
    }
    let stack = MiniStack::up();
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("metrics");
    let _watch = watch(&stack, &metrics);
    let port = free_port();
    let dash = Killed(dashboard(&stack, port, &metrics));
    let deadline = Instant::now() + Duration::from_secs(30);
    while tiles(&http::get(port, "/").body)
        .get("searxng")
        .map(String::as_str)
        != Some("up")
    {
        assert!(Instant::now() < deadline, "searxng never up on the page");
        std::thread::sleep(Duration::from_millis(300));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/drive.py");
    let base = format!("http://127.0.0.1:{port}");

    // A 5-minute spike of qdrant's CPU to 95 % ten days ago, over a day of 1 % around it: at 30-day zoom
    // (hourly buckets) Chromium draws it reaching 95 % on the chart's own axis.
    let now = jiff::Timestamp::now().as_millisecond();
    let spike = now - 10 * 86_400_000;
    let mut lines = String::new();
    let mut t = spike - 43_200_000;
    while t < spike + 43_200_000 {
        let cpu = if (spike..spike + 300_000).contains(&t) {
            95
        } else {
            1
        };
        lines.push_str(&format!(
            "{{\"metric\":\"container_cpu_percent\",\"labels\":{{\"service\":\"qdrant\"}},\"value\":{cpu},\"ts_ms\":{t}}}\n"
        ));
        t += if (spike - 600_000..spike + 600_000).contains(&t) {
            5_000
        } else {
            60_000
        };
    }
    let pushed = feed(
        stack
            .command("magi-metrics")
            .args(["push", "--dir"])
            .arg(&metrics),
        lines.as_bytes(),
    );
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let peak = Command::new("python3")
        .args([script, "peak", &format!("{base}/service/qdrant?range=30d")])
        .output()
        .unwrap();
    assert!(
        peak.status.success(),
        "{}",
        String::from_utf8_lossy(&peak.stderr)
    );
    let peak: serde_json::Value = serde_json::from_slice(&peak.stdout).unwrap();
    let top = peak["peak"].as_f64().unwrap_or_else(|| panic!("{peak}"));
    assert!(
        (93.0..=97.0).contains(&top),
        "the spike drawn at {top} %: {peak}"
    );
    assert!(
        peak["sentence"].as_str().unwrap().contains("95"),
        "the sentence names the spike: {peak}"
    );
    println!("a 5-minute spike 10 days ago drawn at {top:.1} % in Chromium at 30-day zoom");

    // An alert firing, so the alerts page is audited with its acknowledge button.
    let fed = feed(
        stack
            .command("magi-alert")
            .env("MAGI_ALERT_DB", metrics.with_file_name("alert.db"))
            .env("MAGI_METRICS_DIR", &metrics),
        status_event("qdrant", "critical").as_bytes(),
    );
    assert!(
        fed.status.success(),
        "{}",
        String::from_utf8_lossy(&fed.stderr)
    );
    assert!(
        http::get(port, "/alerts")
            .body
            .contains(r#"action="/alerts/1/ack""#)
    );

    let audit = Command::new("python3")
        .arg(script)
        .arg("audit")
        .args(
            [
                "/",
                "/?range=30d",
                "/service/qdrant",
                "/models?range=7d",
                "/alerts",
                "/sla?range=1h",
            ]
            .map(|p| format!("{base}{p}")),
        )
        .output()
        .unwrap();
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    for (url, violations) in found.as_object().unwrap() {
        assert_eq!(
            violations.as_array().unwrap().len(),
            0,
            "axe-core on {url}: {violations:#}"
        );
    }
    println!(
        "axe-core: no violations on {} views",
        found.as_object().unwrap().len()
    );

    let mut live = Killed(
        Command::new("python3")
            .args([script, "live", &format!("{base}/"), "searxng", "down"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut said = std::io::BufReader::new(live.0.stdout.take().unwrap());
    let mut line = String::new();
    use std::io::BufRead as _;
    said.read_line(&mut line).unwrap();
    assert_eq!(
        line.trim(),
        "loaded",
        "the browser did not load the page live"
    );
    stack.stop("searxng");
    line.clear();
    said.read_line(&mut line).unwrap();
    let turned: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("{line}: {}", stderr_of(&mut live)));
    let seconds = turned["turned"].as_f64().unwrap();
    assert!(seconds < 10.0, "red after {seconds} s");
    println!("searxng red in the open tab {seconds:.1} s after its stop");

    drop(dash);
    let _restarted = Killed(dashboard(&stack, port, &metrics));
    line.clear();
    said.read_line(&mut line).unwrap();
    let back: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("{line}: {}", stderr_of(&mut live)));
    let seconds = back["back"].as_f64().unwrap();
    assert!(seconds < 5.0, "the tab reconnected after {seconds} s");
    println!("the open tab reconnected {seconds:.1} s after it noticed the kill -9");
    stack.start("searxng");
}

fn stderr_of(child: &mut Killed) -> String {
    use std::io::Read as _;
    child.0.kill().ok();
    let mut text = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        e.read_to_string(&mut text).ok();
    }
    text
}

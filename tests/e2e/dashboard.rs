//! magi-dashboard against the mini stack, fed by a real `magi-health watch`, read over HTTP and by headless
//! Chromium (Debian's): the tiles agree with `magi-health --json`, a stopped container turns red within
//! 10 s, the page renders with JavaScript on and off, a `kill -9` of the daemon is over within 5 s, and
//! screenshots at phone and desktop widths are kept as artifacts.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use magi_testkit::{Component, Killed, MiniStack, free_port, http, require};

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

fn dashboard(stack: &MiniStack, port: u16, metrics: &Path) -> Child {
    let child = stack
        .command("magi-dashboard")
        .args(["start", "--listen", &format!("127.0.0.1:{port}")])
        .env("MAGI_METRICS_DIR", metrics)
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
fn dashboard_tiles_agree_with_magi_health_and_a_stopped_container_turns_red() {
    if !MiniStack::available() || !require(Component::Chromium) {
        return;
    }
    let stack = MiniStack::up();
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("metrics");
    let _watch = watch(&stack, &metrics);
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

    // A stopped container: its tile red within 10 s of the stop.
    stack.stop("searxng");
    let stopped = Instant::now();
    loop {
        let page = http::get(port, "/");
        if tiles(&page.body).get("searxng").map(String::as_str) == Some("down") {
            let t = page.body.split(r#"data-service="searxng""#).next().unwrap();
            assert!(
                t.ends_with(r#"<li class="tile crit" "#),
                "{}",
                &t[t.len() - 60..]
            );
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "searxng still {:?} after 10 s",
            tiles(&page.body).get("searxng")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    println!(
        "searxng red on the dashboard {:?} after its stop",
        stopped.elapsed()
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
            tiles(&dom).get("searxng").map(String::as_str),
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
    assert_eq!(tiles(&page.body).get("searxng"), before.get("searxng"));

    stack.start("searxng");
}

/// The page in a real browser (Chromium through its driver): a stopped container's tile turns red by the
/// page's own live update within 10 s, a `kill -9` of the daemon is over for the open tab within 5 s of it
/// noticing, and axe-core finds no accessibility violation on any view.
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

    let audit = Command::new("python3")
        .arg(script)
        .arg("audit")
        .args(
            ["/", "/?range=30d", "/service/qdrant", "/models?range=7d"]
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

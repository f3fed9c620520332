//! Tests of the test rig itself: the fixture images, the mini MAGI stack and each of its levers, the
//! loopback servers, and finding our binaries. If one of these fails, the rest of the end-to-end tests
//! cannot be trusted.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use magi_core::config::Config;
use magi_core::paths::Paths;
use magi_testkit::image::ScratchImage;
use magi_testkit::smtp::SmtpOptions;
use magi_testkit::{
    Component, MiniStack, Nginx, ProbeOutcome, S3Server, SmtpServer, WebhookReceiver, docker,
    require,
};
use rusqlite::Connection;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn get_json(url: &str) -> Value {
    ureq::get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_json()
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or_else(|e| panic!("{}: {sql}: {e}", db.display()))
}

fn exec(container: &str, args: &[&str]) -> String {
    let mut all = vec!["exec", container];
    all.extend_from_slice(args);
    docker::docker(&all).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn bin_finds_our_built_binaries() {
    let output = magi_testkit::bin("magi")
        .arg("--version")
        .output()
        .expect("magi runs");
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("magi "));
    let missing = std::panic::catch_unwind(|| magi_testkit::bin_path("magi-no-such-tool"))
        .expect_err("a missing binary panics");
    let message = missing.downcast_ref::<String>().expect("a message");
    assert!(
        message.ends_with(
            "target/debug/magi-no-such-tool not found: run `cargo build --workspace` first (tests/run does)"
        ),
        "{message}"
    );
}

#[test]
fn scratch_images_carry_programs_with_their_libraries_and_are_cached() {
    if !require(Component::Docker) || !require(Component::Busybox) || !require(Component::Redis) {
        return;
    }
    let image = || {
        ScratchImage::new("magi-test/rig-check")
            .with_busybox()
            .program("/usr/bin/redis-cli")
    };
    let reference = image().build();
    docker::docker(&["image", "rm", "--force", &reference]).unwrap();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| image().build());
        let b = s.spawn(|| image().build());
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!((&a, &b), (&reference, &reference), "racing builds agree");
    let id = |r: &str| docker::docker(&["image", "inspect", "--format", "{{.Id}}", r]).unwrap();
    let built = id(&reference);
    assert_eq!(image().build(), reference, "the same inputs, the same tag");
    assert_eq!(id(&reference), built, "a cached image is kept");
    let version = docker::docker(&["run", "--rm", &reference, "redis-cli", "--version"]).unwrap();
    assert!(version.starts_with("redis-cli "), "{version}");
    let shell =
        docker::docker(&["run", "--rm", &reference, "sh", "-c", "echo $((6 * 7))"]).unwrap();
    assert_eq!(shell, "42");
    let other = ScratchImage::new("magi-test/rig-check")
        .with_busybox()
        .program("/usr/bin/redis-server")
        .build();
    assert_ne!(other, reference, "other inputs, another tag");
    docker::docker(&["image", "rm", "--force", &reference, &other]).unwrap();
}

#[test]
fn mini_stack_comes_up_with_real_names_data_and_config() {
    if !MiniStack::available() {
        return;
    }
    let started = Instant::now();
    let stack = MiniStack::up();
    eprintln!("bring-up took {:.1}s", started.elapsed().as_secs_f64());

    assert_eq!(stack.services().len(), 10);
    for service in stack.services() {
        let state = stack.container_state(service).unwrap();
        assert!(state.running, "{service}: {state:?}");
        assert!(
            stack.probe(service).is_ok(),
            "{service}: {:?}",
            stack.probe(service)
        );
    }
    for (service, container) in [
        ("open-webui", "magi-cortex"),
        ("litellm", "magi-router"),
        ("qdrant", "magi-memory"),
        ("redis", "magi-nervous-system"),
        ("n8n", "magi-reflex-automation"),
    ] {
        let state = stack.container_state(container).unwrap();
        assert_eq!(state.health.as_deref(), Some("healthy"), "{service}");
        assert_eq!(state.name, container);
    }
    assert_eq!(stack.container_state("magi-vision").unwrap().health, None);
    assert!(
        stack.container_state("caddy").is_none(),
        "a profile's service is absent"
    );
    assert!(stack.container_state("playwright").is_none());

    let config = Config::from_file(stack.config_path(), &Paths::for_test(Path::new("/x")))
        .unwrap_or_else(|e| panic!("the generated config does not load: {e}"));
    assert_eq!(config.stack.home, stack.home());
    assert_eq!(
        config.services.len(),
        12,
        "every catalog entry is still there"
    );
    let qdrant = config.service("qdrant").unwrap().probe.clone().unwrap();
    assert_eq!(qdrant.to_string(), format!("{}/readyz", stack.qdrant_url()));
    assert_eq!(
        config
            .service("open-webui")
            .unwrap()
            .probe
            .as_ref()
            .unwrap()
            .port(),
        stack.published_port("open-webui")
    );
    let redis = config.service("redis").unwrap().probe.clone().unwrap();
    let redis_port = stack
        .redis_addr()
        .rsplit_once(':')
        .unwrap()
        .1
        .parse::<u16>()
        .unwrap();
    assert_eq!(redis.port(), redis_port);

    let shown = stack
        .command("magi")
        .args(["config", "show", "--json"])
        .output()
        .unwrap();
    assert!(shown.status.success(), "{shown:?}");
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["stack"]["home"], stack.home().to_str().unwrap());

    let root = get_json(&format!("{}/", stack.qdrant_url()));
    assert_eq!(root["version"], "1.12.4");
    let collections = get_json(&format!("{}/collections", stack.qdrant_url()));
    assert_eq!(
        collections["result"]["collections"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let memories = get_json(&format!("{}/collections/magi_memories", stack.qdrant_url()));
    assert_eq!(memories["result"]["points_count"], 4);
    assert!(
        stack
            .home()
            .join("data/qdrant/collections/magi_memories/points.json")
            .is_file(),
        "Qdrant's data land in the bind mount"
    );

    assert!(stack.home().join("data/redis/dump.rdb").is_file());
    let redis_container = "magi-nervous-system";
    assert_eq!(exec(redis_container, &["redis-cli", "DBSIZE"]), "6");
    assert_eq!(
        exec(redis_container, &["redis-cli", "TYPE", "bull:scrape:wait"]),
        "list"
    );
    assert_eq!(
        exec(
            redis_container,
            &["redis-cli", "HGET", "magi:user:ada", "role"]
        ),
        "admin"
    );

    let home = stack.home();
    let webui = home.join("data/open-webui/webui.db");
    assert_eq!(count(&webui, "SELECT count(*) FROM user"), 3);
    assert_eq!(
        count(&webui, "SELECT count(*) FROM auth WHERE active = 1"),
        2
    );
    assert_eq!(count(&webui, "SELECT count(*) FROM chat"), 3);
    assert_eq!(
        count(
            &webui,
            "SELECT sum(json_extract(usage, '$.total_tokens')) FROM chat_message WHERE role = 'assistant'"
        ),
        500 + 535 + 570
    );
    let chroma = home.join("data/open-webui/vector_db/chroma.sqlite3");
    assert_eq!(count(&chroma, "SELECT count(*) FROM embeddings"), 4);
    assert!(home.join("data/open-webui/uploads/7c1f-notes.md").is_file());
    let n8n = home.join("data/n8n/database.sqlite");
    assert_eq!(count(&n8n, "SELECT count(*) FROM workflow_entity"), 2);
    assert_eq!(count(&n8n, "SELECT count(*) FROM credentials_entity"), 2);
    let key: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("data/n8n/config")).unwrap())
            .unwrap();
    assert!(key["encryptionKey"].as_str().is_some_and(|k| !k.is_empty()));
    for file in [
        ".env",
        "docker-compose.yml",
        "config/litellm/config.yaml",
        "config/searxng/settings.yml",
        "workflows/daily-digest.json",
        "data/jupyter/notebooks/analysis.ipynb",
    ] {
        assert!(home.join(file).is_file(), "{file}");
    }
    let litellm = std::fs::read_to_string(home.join("config/litellm/config.yaml")).unwrap();
    assert!(litellm.contains("input_cost_per_token"));
    assert_eq!(
        exec("magi-cortex", &["ls", "/app/backend/data/webui.db"]),
        "/app/backend/data/webui.db",
        "the data are bind-mounted where the real image keeps them"
    );
    let by_alias = exec(
        "magi-cortex",
        &["wget", "-q", "-O", "-", "http://qdrant:6333/readyz"],
    );
    assert_eq!(
        by_alias, "all shards are ready",
        "compose service names resolve"
    );
}

#[test]
fn mini_stack_stop_start_kill_pause_remove() {
    if !MiniStack::available() {
        return;
    }
    let stack = MiniStack::up();

    let port = stack.published_port("searxng");
    stack.stop("searxng");
    let state = stack.container_state("searxng").unwrap();
    assert_eq!((state.status.as_str(), state.running), ("exited", false));
    assert!(matches!(
        stack.probe("searxng"),
        ProbeOutcome::Unreachable(_)
    ));
    stack.start("magi-vision");
    stack.wait_healthy("searxng", WAIT);
    assert_eq!(stack.published_port("searxng"), port);
    assert_eq!(stack.probe("searxng"), ProbeOutcome::Http(200));

    stack.kill("qdrant");
    let state = stack.container_state("magi-memory").unwrap();
    assert_eq!((state.status.as_str(), state.exit_code), ("exited", 137));
    assert!(!stack.probe("qdrant").is_ok());
    stack.start("qdrant");
    stack.wait_healthy("qdrant", WAIT);
    let collections = get_json(&format!("{}/collections", stack.qdrant_url()));
    assert_eq!(
        collections["result"]["collections"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "the data survive a kill"
    );

    stack.kill("redis");
    assert_eq!(stack.container_state("redis").unwrap().exit_code, 137);
    assert!(matches!(stack.probe("redis"), ProbeOutcome::Unreachable(_)));
    stack.start("redis");
    stack.wait_healthy("redis", WAIT);
    assert_eq!(stack.probe("redis"), ProbeOutcome::Redis("PONG".into()));
    assert_eq!(
        exec("magi-nervous-system", &["redis-cli", "DBSIZE"]),
        "6",
        "dump.rdb reloaded"
    );

    stack.pause("n8n");
    let state = stack.container_state("n8n").unwrap();
    assert_eq!((state.status.as_str(), state.paused), ("paused", true));
    assert!(matches!(stack.probe("n8n"), ProbeOutcome::Unreachable(_)));
    stack.unpause("n8n");
    stack.wait_healthy("n8n", WAIT);
    assert!(stack.probe("n8n").is_ok());

    stack.remove("jupyter");
    assert!(stack.container_state("magi-jupyter").is_none());
    assert!(matches!(
        stack.probe("jupyter"),
        ProbeOutcome::Unreachable(_)
    ));
}

#[test]
fn mini_stack_unhealthy_and_broken_probes() {
    if !MiniStack::available() {
        return;
    }
    let stack = MiniStack::up();
    let unhealthy = |s: Option<&magi_testkit::ContainerState>| {
        s.is_some_and(|s| s.health.as_deref() == Some("unhealthy"))
    };

    stack.make_unhealthy("open-webui");
    stack.wait_for("open-webui", "unhealthy", WAIT, unhealthy);
    assert_eq!(
        stack.probe("open-webui"),
        ProbeOutcome::Http(200),
        "Docker says unhealthy while the probe still answers"
    );
    stack.make_healthy("open-webui");
    stack.wait_healthy("open-webui", WAIT);

    stack.break_probe("litellm");
    assert_eq!(stack.probe("litellm"), ProbeOutcome::Http(404));
    stack.wait_for("litellm", "unhealthy", WAIT, unhealthy);
    assert!(stack.container_state("litellm").unwrap().running);
    stack.fix_probe("litellm");
    stack.wait_healthy("litellm", WAIT);
    assert_eq!(stack.probe("litellm"), ProbeOutcome::Http(200));

    stack.break_probe("qdrant");
    assert_eq!(stack.probe("qdrant"), ProbeOutcome::Http(503));
    stack.fix_probe("qdrant");
    assert_eq!(stack.probe("qdrant"), ProbeOutcome::Http(200));

    stack.break_probe("redis");
    match stack.probe("redis") {
        ProbeOutcome::Redis(reply) => assert!(reply.starts_with("NOAUTH"), "{reply}"),
        other => panic!("expected a NOAUTH reply, got {other:?}"),
    }
    stack.fix_probe("redis");
    assert_eq!(stack.probe("redis"), ProbeOutcome::Redis("PONG".into()));

    stack.break_probe("mcpo");
    assert_eq!(stack.probe("magi-mcp-bridge"), ProbeOutcome::Http(404));
    stack.fix_probe("mcpo");
    assert!(stack.probe("mcpo").is_ok());
}

/// Speaks SMTP by hand: the commands, and the reply code each must get.
fn smtp_dialog(port: u16, steps: &[(&str, &str)]) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut read_reply = || {
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.clone();
            }
        }
    };
    assert!(read_reply().starts_with("220"));
    for (command, code) in steps {
        writer.write_all(command.as_bytes()).unwrap();
        let reply = read_reply();
        assert!(reply.starts_with(code), "{command:?} got {reply:?}");
    }
}

#[test]
fn smtp_server_keeps_each_message_with_its_envelope() {
    if !require(Component::Smtp) {
        return;
    }
    let server = SmtpServer::start();
    smtp_dialog(
        server.port(),
        &[
            ("EHLO magi-alert\r\n", "250"),
            ("MAIL FROM:<magi@host.test>\r\n", "250"),
            ("RCPT TO:<ops@magi.test>\r\n", "250"),
            ("RCPT TO:<oncall@magi.test>\r\n", "250"),
            ("DATA\r\n", "354"),
            (
                "From: magi@host.test\r\nSubject: [MAGI] qdrant is down\r\n\r\nmagi-memory stopped.\r\n.\r\n",
                "250",
            ),
            ("QUIT\r\n", "221"),
        ],
    );
    let messages = server.wait_for_messages(1, WAIT);
    assert_eq!(messages.len(), 1);
    let mail = &messages[0];
    assert_eq!(mail.mail_from, "magi@host.test");
    assert_eq!(mail.rcpt_tos, ["ops@magi.test", "oncall@magi.test"]);
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("[MAGI] qdrant is down")
    );
    assert!(mail.raw.contains("magi-memory stopped."));
    assert!(!mail.tls);
}

#[test]
fn smtp_server_with_starttls_and_login() {
    if !require(Component::Smtp) {
        return;
    }
    let server = SmtpServer::with(SmtpOptions {
        login: Some(("alert".into(), "s3cret".into())),
        starttls: true,
        ..SmtpOptions::default()
    });
    smtp_dialog(
        server.port(),
        &[
            ("EHLO magi-alert\r\n", "250"),
            ("MAIL FROM:<magi@host.test>\r\n", "530"),
        ],
    );
    let client = r#"
import smtplib, ssl, sys
port, cafile, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
    s.starttls(context=ssl.create_default_context(cafile=cafile))
    s.login("alert", password)
    s.sendmail("magi@host.test", ["ops@magi.test"], "Subject: over TLS\r\n\r\nhello\r\n")
"#;
    let run = |password: &str| {
        Command::new("python3")
            .args(["-c", client, &server.port().to_string()])
            .arg(server.certificate())
            .arg(password)
            .output()
            .unwrap()
    };
    let refused = run("wrong");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("535"),
        "{refused:?}"
    );
    let sent = run("s3cret");
    assert!(sent.status.success(), "{sent:?}");
    let messages = server.wait_for_messages(1, WAIT);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].tls);
    assert_eq!(messages[0].login.as_deref(), Some("alert"));
    assert_eq!(messages[0].header("Subject").as_deref(), Some("over TLS"));
}

#[test]
fn s3_server_stores_objects_and_checks_signatures() {
    if !require(Component::SeaweedFS) {
        return;
    }
    let started = Instant::now();
    let s3 = S3Server::start();
    eprintln!("SeaweedFS ready in {:.1}s", started.elapsed().as_secs_f64());
    s3.create_bucket("magi-backups");
    s3.put_object(
        "magi-backups",
        "2026/11/archive-1.tar.zst",
        b"first archive",
    );
    s3.put_object("magi-backups", "manifest.json", br#"{"v":1}"#);
    assert_eq!(
        s3.get_object("magi-backups", "2026/11/archive-1.tar.zst")
            .as_deref(),
        Some(&b"first archive"[..])
    );
    assert_eq!(s3.get_object("magi-backups", "nope"), None);
    assert_eq!(
        s3.list_objects("magi-backups"),
        ["2026/11/archive-1.tar.zst", "manifest.json"]
    );

    use rusty_s3::S3Action;
    let wrong = rusty_s3::Credentials::new(s3.access_key(), "not-the-secret");
    let url = s3
        .bucket("magi-backups")
        .get_object(Some(&wrong), "manifest.json")
        .sign(Duration::from_secs(60));
    let status = ureq::get(url.as_str())
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 403, "a bad signature is refused");

    let own = rusty_s3::Bucket::new(
        s3.endpoint().parse().unwrap(),
        rusty_s3::UrlStyle::Path,
        "magi-backups",
        s3.region().to_owned(),
    )
    .unwrap();
    let right = rusty_s3::Credentials::new(s3.access_key(), s3.secret_key());
    let url = own
        .get_object(Some(&right), "manifest.json")
        .sign(Duration::from_secs(60));
    let body = ureq::get(url.as_str())
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(
        body, r#"{"v":1}"#,
        "a client given endpoint, region and keys gets in"
    );
}

#[test]
fn webhook_receiver_records_requests_and_answers_as_scripted() {
    let hook = WebhookReceiver::start();
    hook.respond_with(&[503, 500]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let statuses: Vec<u16> = (0..3)
        .map(|i| {
            agent
                .post(&hook.url("/hooks/magi?channel=ops"))
                .header("X-Magi-Event", "service.status")
                .send_json(serde_json::json!({ "attempt": i }))
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    assert_eq!(statuses, [503, 500, 200], "fails twice, then recovers");
    let requests = hook.wait_for(3, WAIT);
    assert_eq!(hook.requests(), requests);
    assert_eq!(requests.len(), 3);
    let last = &requests[2];
    assert_eq!(last.method, "POST");
    assert_eq!(last.path, "/hooks/magi?channel=ops");
    assert_eq!(last.header("x-magi-event"), Some("service.status"));
    assert!(
        last.header("Content-Type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    assert_eq!(last.json()["attempt"], 2);
    assert_eq!(
        requests.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [503, 500, 200]
    );
}

#[test]
fn nginx_runs_the_given_server_block() {
    if !require(Component::Nginx) {
        return;
    }
    let upstream = WebhookReceiver::start();
    let nginx = Nginx::start(&format!(
        "location /api/ {{\n    proxy_pass {};\n    proxy_set_header X-Forwarded-User ada@magi.test;\n}}\n\
         location = /ping {{ return 200 'pong'; }}",
        upstream.url("")
    ));
    let pong = ureq::get(&nginx.url("/ping"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(pong, "pong");
    let status = ureq::get(&nginx.url("/api/models"))
        .call()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    let requests = upstream.wait_for(1, WAIT);
    assert_eq!(requests[0].path, "/api/models");
    assert_eq!(
        requests[0].header("x-forwarded-user"),
        Some("ada@magi.test")
    );
    assert!(nginx.url("/").ends_with(&format!(":{}/", nginx.port())));
    std::fs::write(nginx.prefix().join("html/status.txt"), "static").unwrap();
    let page = ureq::get(&nginx.url("/status.txt"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert_eq!(page, "static", "the prefix's html/ is the root");
    assert!(
        nginx.error_log().contains("start worker process"),
        "{}",
        nginx.error_log()
    );
    assert!(
        nginx.access_log().contains("GET /api/models"),
        "{}",
        nginx.access_log()
    );
    let rejected = std::panic::catch_unwind(|| Nginx::start("location / { no_such_directive; }"))
        .expect_err("an invalid snippet is refused");
    let message = rejected.downcast_ref::<String>().unwrap();
    assert!(message.contains("unknown directive"), "{message}");
}

/// The stand-in started straight from the build, on loopback; killed on drop.
struct Standin(std::process::Child, String);

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn qdrant_standin_speaks_the_snapshot_api() {
    let storage = tempfile::tempdir().unwrap();
    let port = magi_testkit::free_port();
    let child = magi_testkit::bin("qdrant-standin")
        .arg("--storage")
        .arg(storage.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    let standin = Standin(child, format!("http://127.0.0.1:{port}"));
    let base = &standin.1;
    let deadline = Instant::now() + WAIT;
    while ureq::get(&format!("{base}/readyz")).call().is_err() {
        assert!(Instant::now() < deadline, "the stand-in did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let send = |method: &str, path: &str, body: Option<Value>| -> (u16, Value) {
        let url = format!("{base}{path}");
        let mut response = match (method, body) {
            ("PUT", Some(b)) => agent.put(&url).send_json(b),
            ("POST", Some(b)) => agent.post(&url).send_json(b),
            ("POST", None) => agent.post(&url).send_empty(),
            ("DELETE", _) => agent.delete(&url).call(),
            _ => agent.get(&url).call(),
        }
        .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_json().unwrap())
    };
    let collection = serde_json::json!({ "vectors": { "size": 2, "distance": "Cosine" } });
    assert_eq!(send("PUT", "/collections/notes", Some(collection)).0, 200);
    let points = serde_json::json!({ "points": [
        { "id": 1, "vector": [0.1, 0.9], "payload": { "text": "one" } },
        { "id": 2, "vector": [0.8, 0.2], "payload": { "text": "two" } },
    ]});
    assert_eq!(
        send("PUT", "/collections/notes/points", Some(points)).0,
        200
    );

    let (status, created) = send("POST", "/collections/notes/snapshots", None);
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "ok");
    let name = created["result"]["name"].as_str().unwrap().to_owned();
    assert!(
        name.starts_with("notes-") && name.ends_with(".snapshot"),
        "{name}"
    );
    let (_, listed) = send("GET", "/collections/notes/snapshots", None);
    assert_eq!(listed["result"][0]["name"], name.as_str());
    let download = format!("{base}/collections/notes/snapshots/{name}");
    let bytes = ureq::get(&download)
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    let checksum: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(created["result"]["checksum"], checksum.as_str());
    assert_eq!(created["result"]["size"], bytes.len());
    assert!(storage.path().join("snapshots/notes").join(&name).is_file());

    assert_eq!(send("DELETE", "/collections/notes", None).1["result"], true);
    let (status, missing) = send("GET", "/collections/notes", None);
    assert_eq!(status, 404);
    assert!(
        missing["status"]["error"]
            .as_str()
            .unwrap()
            .contains("doesn't exist")
    );

    let boundary = "magi-rig-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut uploaded = agent
        .post(&format!(
            "{base}/collections/restored/snapshots/upload?priority=snapshot&checksum={checksum}"
        ))
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 200);
    assert_eq!(
        uploaded.body_mut().read_json::<Value>().unwrap()["result"],
        true
    );
    let (_, info) = send("GET", "/collections/restored", None);
    assert_eq!(info["result"]["points_count"], 2);
    let scroll = serde_json::json!({ "limit": 1, "with_vector": true });
    let (_, page) = send("POST", "/collections/restored/points/scroll", Some(scroll));
    assert_eq!(page["result"]["points"][0]["payload"]["text"], "one");
    assert_eq!(page["result"]["points"][0]["vector"][1], 0.9);
    assert_eq!(page["result"]["next_page_offset"], 2);

    let snapshot_file = storage.path().join("snapshots/notes").join(&name);
    let by_file = serde_json::json!({ "location": format!("file://{}", snapshot_file.display()) });
    let (status, _) = send(
        "PUT",
        "/collections/from-file/snapshots/recover",
        Some(by_file),
    );
    assert_eq!(status, 200);
    let by_url = serde_json::json!({ "location": download, "checksum": checksum });
    let (status, recovered) = send(
        "PUT",
        "/collections/from-url/snapshots/recover",
        Some(by_url),
    );
    assert_eq!(status, 200, "{recovered}");
    let (_, all) = send("GET", "/collections", None);
    let mut names: Vec<&str> = all["result"]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["from-file", "from-url", "restored"]);
    let snapshot = format!("/collections/notes/snapshots/{name}");
    assert_eq!(
        send("DELETE", &snapshot, None).0,
        200,
        "a snapshot outlives its collection"
    );
    assert!(!snapshot_file.exists());
    assert_eq!(send("DELETE", &snapshot, None).0, 404);
}

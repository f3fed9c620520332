//! magi-alert end to end: the built binary fed event lines, delivering to a real SMTP server (aiosmtpd, plain,
//! STARTTLS with a login, and implicit TLS), a loopback HTTP receiver in each webhook format, and a command;
//! restarts, outages and SIGTERM; and the pipeline from `magi-health` against the mini MAGI stack.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use magi_testkit::smtp::SmtpOptions;
use magi_testkit::{Component, MiniStack, SmtpServer, WebhookReceiver, bin, free_port, require};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    /// A temp dir with a config that retries fast (200 ms, doubling to 1 s).
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("magi.toml"),
            "[alert.defaults]\nretry_initial = \"200ms\"\nretry_max = \"1s\"\n",
        )
        .unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Adds `[alert.channels.NAME] url = URL` for each pair to the config.
    fn configure_channels(&self, channels: &[(&str, &str)]) {
        let mut config = std::fs::read_to_string(self.path("magi.toml")).unwrap();
        for (name, url) in channels {
            config.push_str(&format!("[alert.channels.{name}]\nurl = {url:?}\n"));
        }
        std::fs::write(self.path("magi.toml"), config).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = bin("magi-alert");
        c.env("MAGI_CONFIG", self.path("magi.toml"))
            .env("MAGI_ALERT_DB", self.path("alert.db"))
            .env("MAGI_METRICS_DIR", self.path("metrics"))
            .env_remove("JOURNAL_STREAM")
            .env_remove("MAGI_LOG")
            .args(args);
        c
    }

    /// Runs with `input` on stdin until EOF, waiting up to 10 s for deliveries.
    fn feed(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self.spawn(args);
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        let mut all = vec!["--drain", "10s"];
        all.extend_from_slice(args);
        self.command(&all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn alerts(&self) -> Vec<Value> {
        let out = self.command(&["list", "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A `service.status` event as magi-health prints it, `seconds` after a fixed start.
fn status(subject: &str, severity: &str, seconds: u32) -> String {
    format!(
        "{{\"v\":1,\"ts\":\"2026-05-01T12:{:02}:{:02}Z\",\"host\":\"magi-host\",\"source\":\"magi-health\",\"kind\":\"service.status\",\"subject\":\"{subject}\",\"severity\":\"{severity}\",\"message\":\"{subject} is {}\",\"data\":{{\"tier\":\"core\"}}}}\n",
        seconds / 60,
        seconds % 60,
        if severity == "ok" { "up" } else { "down" }
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn alert_email_reaches_a_real_smtp_server() {
    if !require(Component::Smtp) {
        return;
    }
    let smtp = SmtpServer::start();
    let setup = Setup::new();
    let url = format!(
        "smtp://127.0.0.1:{}?to=ops@example.org&from=magi@example.org&tls=none",
        smtp.port()
    );
    let input = [status("qdrant", "critical", 0), status("qdrant", "ok", 30)].concat();
    let out = setup.feed(&["--to", &url], input.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let mails = smtp.wait_for_messages(2, WAIT);
    assert_eq!(mails.len(), 2);
    let (firing, resolved) = (&mails[0], &mails[1]);
    assert_eq!(firing.mail_from, "magi@example.org");
    assert_eq!(firing.rcpt_tos, ["ops@example.org"]);
    assert_eq!(
        firing.header("Subject").unwrap(),
        "[FIRING] qdrant: qdrant is down"
    );
    assert_eq!(firing.header("X-MAGI-Status").unwrap(), "firing");
    assert_eq!(firing.header("X-MAGI-Severity").unwrap(), "critical");
    assert_eq!(firing.header("X-MAGI-Alert").unwrap(), "1");
    assert!(firing.raw.contains("magi-alert ack 1"), "{}", firing.raw);
    assert!(firing.raw.contains("Rule:     core-down"), "{}", firing.raw);
    assert_eq!(
        resolved.header("Subject").unwrap(),
        "[RESOLVED] qdrant: qdrant is up"
    );
    assert!(resolved.raw.contains("Resolved after"), "{}", resolved.raw);
    assert_eq!(
        firing.header("References"),
        resolved.header("References"),
        "the resolve threads under the alert"
    );
    assert_ne!(firing.header("Message-ID"), resolved.header("Message-ID"));
}

#[test]
fn each_webhook_format_reaches_the_receiver() {
    let hook = WebhookReceiver::start();
    let setup = Setup::new();
    let ntfy = hook.url("").replace("http://", "ntfy://") + "/ops";
    let slack = hook.url("/slack").replace("http://", "slack+http://");
    let discord = hook.url("/discord").replace("http://", "discord+http://");
    let generic = hook.url("/generic");
    // Slack and Discord URLs are their token: named in the config, never on the command line.
    setup.configure_channels(&[("slack", &slack), ("discord", &discord)]);
    let input = status("redis", "critical", 0);
    let out = setup.feed(
        &[
            "--to", &generic, "--to", &ntfy, "--to", "slack", "--to", "discord",
        ],
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = hook.wait_for(4, WAIT);
    let by_path = |path: &str| {
        let found: Vec<_> = requests.iter().filter(|r| r.path == path).collect();
        assert_eq!(found.len(), 1, "one request to {path}: {requests:?}");
        assert_eq!(found[0].method, "POST");
        assert_eq!(found[0].header("content-type"), Some("application/json"));
        assert!(
            found[0]
                .header("idempotency-key")
                .is_some_and(|k| k.len() == 32)
        );
        found[0].json()
    };
    let g = by_path("/generic");
    assert_eq!(g["status"], "firing");
    assert_eq!(g["title"], "[FIRING] redis: redis is down");
    assert_eq!(
        (g["alert"]["id"].as_i64(), g["alert"]["rule"].as_str()),
        (Some(1), Some("core-down"))
    );
    assert_eq!(g["event"]["subject"], "redis");
    assert_eq!(g["event"]["ts"], "2026-05-01T12:00:00Z");
    let n = by_path("/");
    assert_eq!(
        (n["topic"].as_str(), n["priority"].as_i64()),
        (Some("ops"), Some(5))
    );
    assert_eq!(n["title"], "[FIRING] redis: redis is down");
    assert_eq!(
        n["tags"],
        serde_json::json!(["rotating_light", "magi", "core-down"])
    );
    let s = by_path("/slack");
    assert_eq!(s["text"], "[FIRING] redis: redis is down");
    assert_eq!(s["attachments"][0]["color"], "#d62828");
    assert!(
        s["attachments"][0]["text"]
            .as_str()
            .unwrap()
            .contains("magi-alert ack 1")
    );
    let d = by_path("/discord");
    assert_eq!(d["embeds"][0]["title"], "[FIRING] redis: redis is down");
    assert_eq!(d["embeds"][0]["color"], 0xd62828);
}

#[test]
fn bad_lines_are_reported_with_their_numbers_and_skipped() {
    let hook = WebhookReceiver::start();
    let setup = Setup::new();
    let good = status("qdrant", "critical", 0);
    let mut input = Vec::new();
    input.extend_from_slice(&good.as_bytes()[..40]); // 1: truncated
    input.push(b'\n');
    input.extend_from_slice(format!("{{\"v\":1,\"x\":\"{}\"}}\n", "a".repeat(1 << 20)).as_bytes()); // 2: 1 MiB
    input.extend_from_slice(b"{\"v\":1,\"message\":\"\xff\xfe\"}\n"); // 3: not UTF-8
    input.extend_from_slice(good.replace("\"v\":1", "\"v\":2").as_bytes()); // 4: a future schema
    input.extend_from_slice(b"hello\n"); // 5
    input.extend_from_slice(good.as_bytes()); // 6: the one event
    let out = setup.feed(&["--to", &hook.url("/h")], &input);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "warning: line 1: not an event: truncated JSON",
        "warning: line 2: 1048591 bytes or more, over the 262144-byte limit",
        "warning: line 3: not valid UTF-8; skipped",
        "warning: line 4: event schema version 2 is not one this build reads (1); skipped",
        "warning: line 5: not an event: invalid JSON",
        "1 events read, 5 lines skipped, 1 alerts fired",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert_eq!(
        hook.wait_for(1, WAIT)[0].json()["alert"]["subject"],
        "qdrant",
        "the stream went on"
    );
    assert_eq!(setup.alerts().len(), 1);
}

#[test]
fn a_restart_mid_outage_neither_duplicates_nor_loses_an_alert() {
    let hook = WebhookReceiver::start();
    hook.respond_with(&[503]);
    let setup = Setup::new();
    let url = hook.url("/h");
    let mut first = setup.spawn(&["--to", &url]);
    let mut stdin = first.stdin.take().unwrap();
    stdin
        .write_all(status("qdrant", "critical", 0).as_bytes())
        .unwrap();
    hook.wait_for(1, WAIT);
    // Killed hard while the firing notice waits for its retry.
    first.kill().unwrap();
    first.wait().unwrap();
    drop(stdin);
    assert_eq!(
        hook.requests().len(),
        1,
        "nothing got through before the kill"
    );

    let input = [
        status("qdrant", "critical", 0), // the same line again, as a replayed journal would give it
        status("qdrant", "critical", 30),
        status("qdrant", "ok", 60),
    ]
    .concat();
    let out = setup.feed(&["--to", &url], input.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    hook.wait_for(3, WAIT);
    std::thread::sleep(Duration::from_millis(500));
    let requests = hook.requests();
    let seen: Vec<(String, u16)> = requests
        .iter()
        .map(|r| (r.json()["status"].as_str().unwrap().to_owned(), r.answered))
        .collect();
    assert_eq!(
        seen,
        [
            ("firing".into(), 503),
            ("firing".into(), 200),
            ("resolved".into(), 200)
        ],
        "one firing (its failed attempt retried after the restart) and one resolve"
    );
    assert_eq!(
        requests[0].header("idempotency-key"),
        requests[1].header("idempotency-key")
    );
    let alerts = setup.alerts();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0]["resolved_at"].is_string());
}

/// Forwards connections on `port` to the real SMTP server, once it is started: "the mail server is back".
fn relay(listener: TcpListener, to: u16) {
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let server = TcpStream::connect(("127.0.0.1", to)).unwrap();
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut c, mut s) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s, &mut c);
                let _ = c.shutdown(std::net::Shutdown::Write);
            });
        }
    });
}

#[test]
fn the_smtp_server_down_for_a_while_then_back_gets_the_email_once() {
    if !require(Component::Smtp) {
        return;
    }
    let setup = Setup::new();
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}?to=ops@example.org&tls=none");
    let mut child = setup.spawn(&["--to", &url]);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(status("litellm", "critical", 0).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    // Nothing listens on the port: several attempts fail while the reader keeps going.
    std::thread::sleep(Duration::from_secs(2));
    stdin
        .write_all(status("litellm", "critical", 5).as_bytes())
        .unwrap();
    let smtp = SmtpServer::start();
    relay(TcpListener::bind(("127.0.0.1", port)).unwrap(), smtp.port());
    smtp.wait_for_messages(1, WAIT);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("(attempt 2)"), "retried while down:\n{err}");
    std::thread::sleep(Duration::from_millis(500));
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "exactly one email");
    assert_eq!(
        mails[0].header("Subject").unwrap(),
        "[FIRING] litellm: litellm is down"
    );
}

#[test]
fn sigterm_finishes_the_delivery_in_flight_and_exits_0() {
    let setup = Setup::new();
    let log = setup.path("exec.log");
    let script = setup.path("notify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho started >> {log}\nsleep 1\necho \"$MAGI_ALERT_STATUS $MAGI_ALERT_SUBJECT\" >> {log}\ncat >> {log}\necho done >> {log}\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut child = setup.spawn(&["--to", &format!("exec://{}", script.display())]);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(status("open-webui", "critical", 0).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    wait_until(|| std::fs::read_to_string(&log).is_ok_and(|l| l.contains("started")));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.ends_with("done\n"),
        "the command ran to its end:\n{written}"
    );
    assert!(written.contains("firing open-webui\n"), "{written}");
    assert!(
        written.contains("\"subject\":\"open-webui\""),
        "the event on stdin:\n{written}"
    );
    let history = setup.command(&["history", "--json"]).output().unwrap();
    let history = String::from_utf8(history.stdout).unwrap();
    assert!(
        history.contains("\"what\":\"sent\""),
        "recorded as sent before exit:\n{history}"
    );
    drop(stdin);
}

#[test]
fn ack_silence_list_and_history_look_after_alerts() {
    let setup = Setup::new();
    let out = setup.feed(&[], status("qdrant", "critical", 0).as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no channel to send to"),
        "{}",
        stderr(&out)
    );
    let alerts = setup.alerts();
    assert_eq!(
        (alerts.len(), alerts[0]["subject"].as_str()),
        (1, Some("qdrant"))
    );
    let ack = setup
        .command(&["ack", "1", "--note", "on it"])
        .output()
        .unwrap();
    assert!(ack.status.success(), "{}", stderr(&ack));
    assert_eq!(setup.alerts()[0]["ack_note"], "on it");
    // The ack is marked on the dashboard's charts, against the alert's subject.
    let now = jiff::Timestamp::now().as_millisecond();
    let marks = magi_tsdb::Reader::new(&setup.path("metrics"), magi_tsdb::Tiers::default())
        .annotations(now - 600_000, now + 1)
        .unwrap();
    assert!(
        marks.iter().any(|m| m.service.as_deref() == Some("qdrant")
            && m.text.ends_with("acknowledged #1: on it")),
        "{marks:?}"
    );
    let missing = setup.command(&["ack", "42"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no alert #42"),
        "{}",
        stderr(&missing)
    );

    let add = setup
        .command(&["silence", "add", "redis", "--for", "2h"])
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", stderr(&add));
    let list = setup
        .command(&["silence", "list", "--json"])
        .output()
        .unwrap();
    let silence: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(silence["subject"], "redis");
    let bad = setup
        .command(&["silence", "add", "redis", "--for", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let remove = setup
        .command(&["silence", "remove", "redis"])
        .output()
        .unwrap();
    assert!(remove.status.success(), "{}", stderr(&remove));
    let history = setup.command(&["history"]).output().unwrap();
    let history = String::from_utf8(history.stdout).unwrap();
    for what in ["fired", "acked", "silence", "unsilence"] {
        assert!(history.contains(what), "{what} missing:\n{history}");
    }
}

#[test]
fn a_password_in_a_url_is_refused_and_not_echoed() {
    let setup = Setup::new();
    let out = setup.feed(&["--to", "smtp://u:hunter2@mail.example.org?to=a@b.c"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("holds a password"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A secret file as an operator keeps one: mode 0600.
fn secret_file(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

#[test]
fn starttls_with_a_login_delivers_once_to_a_server_trusted_by_ca() {
    if !require(Component::Smtp) {
        return;
    }
    let smtp = SmtpServer::with(SmtpOptions {
        login: Some(("magi".into(), "correct horse".into())),
        starttls: true,
        ..SmtpOptions::default()
    });
    let setup = Setup::new();
    let password = setup.path("smtp-password");
    secret_file(&password, "correct horse\n");
    let url = format!(
        "smtp://magi@127.0.0.1:{}?to=ops@example.org&from=magi@example.org&password_file={}&ca={}",
        smtp.port(),
        password.display(),
        smtp.certificate().display()
    );
    let out = setup.feed(&["--to", &url], status("qdrant", "critical", 0).as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    smtp.wait_for_messages(1, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "exactly one email");
    let mail = &mails[0];
    assert!(mail.tls, "the message came over STARTTLS");
    assert_eq!(mail.login.as_deref(), Some("magi"));
    assert_eq!(mail.rcpt_tos, ["ops@example.org"]);
    assert_eq!(
        mail.header("Subject").unwrap(),
        "[FIRING] qdrant: qdrant is down"
    );
    let err = stderr(&out);
    assert!(!err.contains("correct horse"), "{err}");
    assert!(err.contains("firing notice sent to"), "{err}");
}

#[test]
fn a_wrong_smtp_password_is_one_clear_line_and_the_mail_goes_once_it_is_fixed() {
    if !require(Component::Smtp) {
        return;
    }
    let smtp = SmtpServer::with(SmtpOptions {
        login: Some(("magi".into(), "correct horse".into())),
        starttls: true,
        ..SmtpOptions::default()
    });
    let setup = Setup::new();
    let password = setup.path("smtp-password");
    secret_file(&password, "battery staple\n");
    // A configured channel this time: `ca` and `password` in [alert.channels.mail].
    std::fs::write(
        setup.path("magi.toml"),
        format!(
            "[alert.defaults]\nretry_initial = \"200ms\"\nretry_max = \"1s\"\n\n\
             [alert.channels.mail]\nurl = \"smtp://magi@localhost:{}?to=ops@example.org\"\n\
             password = {:?}\nca = {:?}\n",
            smtp.port(),
            password.display().to_string(),
            smtp.certificate().display().to_string()
        ),
    )
    .unwrap();
    let mut child = setup.spawn(&[]);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(status("redis", "critical", 0).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    // Read stderr as it comes; fix the password once the refusal has been reported.
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !seen
        .iter()
        .any(|l: &String| l.contains("refused the login"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "no refused login reported; stderr so far:\n{}",
                seen.join("\n")
            ),
        }
    }
    assert!(smtp.messages().is_empty(), "nothing got through");
    secret_file(&password, "correct horse\n");
    let mails = smtp.wait_for_messages(1, WAIT);
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(lines_rx.try_iter());
    let err = seen.join("\n");
    assert!(status.success(), "{err}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.messages().len(), 1, "exactly one email");
    assert_eq!(mails[0].login.as_deref(), Some("magi"));
    assert!(mails[0].tls);
    let refusals: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("refused the login"))
        .collect();
    let expected = format!(
        "magi-alert: warning: redis: firing notice to mail failed (attempt 1): smtp localhost:{}: the server refused the login of 'magi' (permanent error (535): ",
        smtp.port()
    );
    assert!(refusals[0].starts_with(&expected), "{err}");
    for line in &refusals {
        assert!(
            line.contains(&format!("check the password in {}", password.display())),
            "{line}"
        );
        assert!(
            line.contains("; retrying in "),
            "retried, not dropped: {line}"
        );
    }
    assert!(!err.contains("not retried"), "{err}");
    assert!(
        !err.contains("battery staple") && !err.contains("correct horse"),
        "{err}"
    );
    assert!(err.contains("firing notice sent to mail"), "{err}");
}

#[test]
fn email_tls_never_falls_back_to_clear_text_or_an_untrusted_certificate() {
    if !require(Component::Smtp) {
        return;
    }
    let setup = Setup::new();
    // A server that offers no STARTTLS: smtp:// requires it, so nothing is sent in clear.
    let plain = SmtpServer::start();
    // A STARTTLS server whose self-signed certificate nobody told magi-alert to trust.
    let private = SmtpServer::with(SmtpOptions {
        login: None,
        starttls: true,
        ..SmtpOptions::default()
    });
    // ...and the same server with another self-signed certificate given as ca=.
    let stranger = SmtpServer::with(SmtpOptions {
        login: None,
        starttls: true,
        ..SmtpOptions::default()
    });
    let no_starttls = format!("smtp://127.0.0.1:{}?to=ops@example.org", plain.port());
    let untrusted = format!("smtp://127.0.0.1:{}?to=ops@example.org", private.port());
    let wrong_ca = format!("{untrusted}&ca={}", stranger.certificate().display());
    let out = setup
        .command(&[
            "--drain",
            "2s",
            "--to",
            &no_starttls,
            "--to",
            &untrusted,
            "--to",
            &wrong_ca,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(status("qdrant", "critical", 0).as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "smtp 127.0.0.1:{}: the server does not offer STARTTLS, so the mail was not sent (never in clear text)",
            plain.port()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("smtp 127.0.0.1:{}: TLS failed (", private.port()))
            && err.contains("give its certificate as ca=FILE"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "the certificates trusted are the public roots and {}",
            stranger.certificate().display()
        )),
        "{err}"
    );
    assert!(
        err.contains("3 deliveries still queued"),
        "kept for the next run, not dropped:\n{err}"
    );
    assert!(plain.messages().is_empty(), "nothing in clear text");
    assert!(private.messages().is_empty());
    let history = setup.command(&["history", "--json"]).output().unwrap();
    let history = String::from_utf8(history.stdout).unwrap();
    assert!(
        !history.contains("\"what\":\"failed\""),
        "not given up:\n{history}"
    );
}

#[test]
fn implicit_tls_with_a_login_delivers_once() {
    if !require(Component::Smtp) {
        return;
    }
    let smtps = SmtpServer::with(SmtpOptions {
        login: Some(("magi".into(), "correct horse".into())),
        implicit_tls: true,
        ..SmtpOptions::default()
    });
    let setup = Setup::new();
    let password = setup.path("smtp-password");
    secret_file(&password, "correct horse\n");
    let url = format!(
        "smtps://magi@localhost:{}?to=ops@example.org&password_file={}&ca={}",
        smtps.port(),
        password.display(),
        smtps.certificate().display()
    );
    let out = setup.feed(&["--to", &url], status("litellm", "critical", 0).as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    smtps.wait_for_messages(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let mails = smtps.messages();
    assert_eq!(mails.len(), 1, "exactly one email");
    let mail = &mails[0];
    assert!(mail.tls, "over implicit TLS");
    assert_eq!(mail.login.as_deref(), Some("magi"));
    assert_eq!(mail.rcpt_tos, ["ops@example.org"]);
    assert!(
        mail.raw
            .contains("Subject: [FIRING] litellm: litellm is down"),
        "{}",
        mail.raw
    );

    // Without ca= the same server's self-signed certificate is not trusted, and nothing is sent.
    let other = Setup::new();
    let untrusted = url.split("&ca=").next().unwrap().to_owned();
    let out = other
        .command(&["--drain", "1s", "--to", &untrusted])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(status("litellm", "critical", 0).as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let err = stderr(&out);
    assert!(err.contains("TLS failed"), "{err}");
    assert_eq!(smtps.messages().len(), 1, "still one email");
}

/// Collects a child's output lines as they come, for waiting on and for failure messages.
#[derive(Clone, Default)]
struct Lines(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Lines {
    fn follow(&self, stream: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<()> {
        let lines = self.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                lines.0.lock().unwrap().push(line);
            }
        })
    }

    fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }

    fn count(&self, what: impl Fn(&str) -> bool) -> usize {
        self.0.lock().unwrap().iter().filter(|l| what(l)).count()
    }
}

#[test]
fn magi_health_watch_piped_into_magi_alert_alerts_once_and_resolves_once() {
    if !MiniStack::available() {
        return;
    }
    let stack = MiniStack::up();
    let hook = WebhookReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    // `magi-health watch --json --interval 1s | magi-alert --to URL`, as an operator runs it, with the
    // stack's config (no [alert] section: the built-in core-down rule).
    let mut health = stack
        .command("magi-health")
        .args(["watch", "--json", "--interval", "1s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut alert = stack
        .command("magi-alert")
        .env("MAGI_ALERT_DB", dir.path().join("alert.db"))
        .args(["--drain", "10s", "--to", &hook.url("/magi")])
        .stdin(Stdio::from(health.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (health_log, alert_log) = (Lines::default(), Lines::default());
    let followers = [
        health_log.follow(health.stderr.take().unwrap()),
        alert_log.follow(alert.stderr.take().unwrap()),
    ];
    let logs = || {
        format!(
            "magi-health:\n{}\nmagi-alert:\n{}",
            health_log.text(),
            alert_log.text()
        )
    };
    let says = |lines: &Lines, words: &[&str]| lines.count(|l| words.iter().all(|w| l.contains(w)));
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // The first round reports every service; the stack starts healthy, so nothing fires.
    wait_for("the first round of magi-health", &|| {
        says(&health_log, &["litellm"]) > 0 && says(&health_log, &["stack"]) > 0
    });
    assert!(
        hook.requests().is_empty(),
        "{:?}\n{}",
        hook.requests(),
        logs()
    );

    stack.kill("litellm");
    let firing = hook.wait_for(1, Duration::from_secs(60));
    let body = firing[0].json();
    assert_eq!(body["status"], "firing", "{body}");
    assert_eq!(body["alert"]["subject"], "litellm", "{body}");
    assert_eq!(body["alert"]["rule"], "core-down", "{body}");
    assert_eq!(body["event"]["source"], "magi-health", "{body}");
    assert_eq!(body["event"]["kind"], "service.status", "{body}");

    stack.start("litellm");
    let requests = hook.wait_for(2, Duration::from_secs(60));
    let body = requests[1].json();
    assert_eq!(body["status"], "resolved", "{body}");
    assert_eq!(body["alert"]["subject"], "litellm", "{body}");
    assert_eq!(body["alert"]["id"], firing[0].json()["alert"]["id"]);

    // Settle: the container healthy again and magi-health reporting the stack ok again, then three more
    // rounds of quiet; no further notice may come.
    stack.wait_healthy("litellm", Duration::from_secs(60));
    wait_for("magi-health to report the stack ok again", &|| {
        says(&health_log, &["stack: stack is ok", "(was "]) > 0
    });
    std::thread::sleep(Duration::from_secs(3));
    let all = hook.requests();
    assert_eq!(
        all.len(),
        2,
        "exactly one firing and one resolve: {:?}\n{}",
        all.iter().map(|r| r.text()).collect::<Vec<_>>(),
        logs()
    );
    // Both are marked on the dashboard's charts, against litellm.
    let state = stack
        .env()
        .into_iter()
        .find(|(k, _)| *k == "STATE_DIRECTORY")
        .map(|(_, v)| std::path::PathBuf::from(v))
        .unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    let marks: Vec<String> =
        magi_tsdb::Reader::new(&state.join("metrics"), magi_tsdb::Tiers::default())
            .annotations(now - 600_000, now + 1)
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == "alert" && m.service.as_deref() == Some("litellm"))
            .map(|m| m.text)
            .collect();
    assert!(
        marks.iter().any(|t| t.starts_with("core-down fired"))
            && marks.iter().any(|t| t.starts_with("core-down resolved")),
        "{marks:?}"
    );

    // The operator stops the pipeline: magi-health ends, magi-alert reads EOF and exits 0.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(health.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    health.wait().unwrap();
    let status = alert.wait().unwrap();
    for f in followers {
        f.join().unwrap();
    }
    assert!(status.success(), "{}", logs());
    let list = stack
        .command("magi-alert")
        .env("MAGI_ALERT_DB", dir.path().join("alert.db"))
        .args(["list", "--json"])
        .output()
        .unwrap();
    let alerts: Vec<Value> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["subject"], "litellm");
    assert!(alerts[0]["resolved_at"].is_string(), "{alerts:?}");
}

/// Finding 11: a webhook's token is neither taken on the command line nor shown in a log line, an error
/// or `history`; and attacker-chosen text of an event is shown escaped by `history`.
#[test]
fn webhook_tokens_stay_off_the_command_line_and_out_of_logs() {
    let hook = WebhookReceiver::start();
    let setup = Setup::new();
    let slack = hook
        .url("/services/T0/B0/slack-token-1")
        .replace("http://", "slack+http://");
    for args in [vec!["--to", slack.as_str()], vec!["test", slack.as_str()]] {
        let out = setup.feed(&args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("[alert.channels"), "{err}");
        assert!(!err.contains("slack-token-1"), "{err}");
    }
    setup.configure_channels(&[("ops", &slack)]);
    let generic = hook.url("/hook/generic-token-2");
    let hostile = status("redis\\u001b[2J\\u001b]0;pwned\\u0007", "critical", 0);
    let out = setup.feed(&["--to", "ops", "--to", &generic], hostile.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    hook.wait_for(2, WAIT);
    let refused = hook.url("/missing/generic-token-3");
    let failed = setup.feed(&["test", &refused], b"");
    let shown = [
        stderr(&out),
        stderr(&failed),
        String::from_utf8_lossy(&setup.feed(&["history"], b"").stdout).into_owned(),
    ]
    .join("\n");
    for token in ["slack-token-1", "generic-token-2", "generic-token-3"] {
        assert!(!shown.contains(token), "{token} shown:\n{shown}");
    }
    assert!(shown.contains("sent to"), "{shown}");
    let log = [stderr(&out), stderr(&failed)].join("\n");
    assert!(!log.contains('\x1b') && !log.contains('\x07'), "{log:?}");
    assert!(shown.contains("redis\\x1b[2J"), "{shown}");
}

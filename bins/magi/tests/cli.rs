//! The `magi` binary as a user meets it: finding and running tools, and checking configuration.
//!
//! Each test copies the built binary into a temporary directory beside small `magi-*` scripts, so what "next
//! to magi" and "on PATH" mean is under the test's control.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_magi"), dir.path().join("bin/magi")).unwrap();
        Setup { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A tool that reports how it was called and exits with the code in its first argument, if numeric.
    fn tool(&self, rel: &str) {
        let script = "#!/bin/sh\necho \"argv0=${0##*/} args=$* config=$MAGI_CONFIG log=$MAGI_LOG\"\ncase \"$1\" in [0-9]*) exit \"$1\";; esac\n";
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn magi(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.path("bin/magi"));
        command
            .args(args)
            .env_clear()
            .env("PATH", self.path("path"))
            .env("HOME", self.path("home"))
            .env("CONFIGURATION_DIRECTORY", self.path("etc"));
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        output(&mut self.magi(args))
    }
}

/// Runs a command, retrying while another test thread's fork still holds a just-written script open
/// (ETXTBSY), which is a property of fork/exec in a multi-threaded test, not of magi.
fn output(command: &mut Command) -> Output {
    for _ in 0..50 {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            result => return result.unwrap(),
        }
    }
    panic!("{command:?} stayed busy")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_installed_tools_with_one_line_each() {
    let setup = Setup::new();
    setup.tool("bin/magi-health");
    setup.tool("path/magi-hello");
    let out = setup.run(&["--help"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  health  Check the stack's containers and endpoints at a glance"),
        "{stdout}"
    );
    assert!(stdout.contains("  hello   (external tool)"), "{stdout}");
    assert!(
        stdout.contains(
            "(not installed: backup, restore, alert, limits, costs, metrics, dashboard, users, sla, pitr)"
        ),
        "{stdout}"
    );
}

#[test]
fn a_tool_runs_with_its_arguments_and_its_exit_code() {
    let setup = Setup::new();
    setup.tool("bin/magi-health");
    let out = setup.run(&["health", "7", "--json"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        text(&out.stdout),
        "argv0=magi-health args=7 --json config= log=\n"
    );
}

#[test]
fn next_to_magi_wins_over_path_and_path_is_searched() {
    let setup = Setup::new();
    setup.tool("bin/magi-health");
    setup.tool("path/magi-health");
    setup.tool("path/magi-backup");
    let out = setup.run(&["backup", "0"]);
    assert_eq!(text(&out.stdout), "argv0=magi-backup args=0 config= log=\n");
    let listed = text(&setup.run(&["--help"]).stdout);
    assert_eq!(listed.matches("  health ").count(), 1, "{listed}");
}

#[test]
fn flags_before_the_tool_reach_it_through_the_environment() {
    let setup = Setup::new();
    setup.tool("bin/magi-health");
    let out = setup.run(&["--config", "/etc/other.toml", "-v", "health", "0"]);
    assert_eq!(
        text(&out.stdout),
        "argv0=magi-health args=0 config=/etc/other.toml log=debug\n"
    );
    let out = setup.run(&["-q", "health", "0"]);
    assert_eq!(
        text(&out.stdout),
        "argv0=magi-health args=0 config= log=error\n"
    );
}

#[test]
fn an_unknown_tool_is_a_usage_error_with_the_list() {
    let setup = Setup::new();
    setup.tool("bin/magi-health");
    let out = setup.run(&["frob", "--now"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "magi: error: 'frob' is not a magi tool (installed: health; built in: config, event, logs, help; see magi --help)\n"
    );
    let out = setup.run(&["restore"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("magi-restore is part of MAGI ops but is not installed"));
}

#[test]
fn help_of_a_tool_runs_the_tool_with_help() {
    let setup = Setup::new();
    setup.tool("bin/magi-health");
    assert_eq!(
        text(&setup.run(&["help", "health"]).stdout),
        "argv0=magi-health args=--help config= log=\n"
    );
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_malformed_config_is_one_line_naming_file_line_and_key_and_exit_2() {
    let setup = Setup::new();
    let file = setup.path("bad.toml");
    write(
        &file,
        "[stack]\nhome = \"/srv/magi\"\n\n[services.qdrant]\nprobee = \"http://127.0.0.1:6333/readyz\"\n",
    );
    let out = setup.run(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "magi: error: {}:5: services.qdrant.probee: unknown field `probee`",
            file.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    write(
        &file,
        "[services.redis]\nprobe = \"ftp://127.0.0.1:6379\"\n",
    );
    let out = setup.run(&["config", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(":2: services.redis.probe: unsupported probe scheme 'ftp'"));
}

/// Values that parse but would break a tool later are refused by `config check` with file, line and key;
/// a file that is no config (a device, or one too big to be one) is one line, read no further.
#[test]
fn config_check_refuses_values_that_would_break_a_tool_and_files_that_are_no_config() {
    let setup = Setup::new();
    let file = setup.path("bad.toml");
    for (toml, line_key) in [
        (
            "[users]\nsession_lifetime = \"9223372036854775807s\"\n",
            ":2: users.session_lifetime: ",
        ),
        ("[stack]\nhome = \"/srv/ma\\u0000gi\"\n", ":2: stack.home: "),
        (
            "[alert]\n\n[stack]\nbackup_dir = \"/var/\\u0000x\"\n",
            ":4: stack.backup_dir: ",
        ),
    ] {
        write(&file, toml);
        let out = setup.run(&["config", "check", file.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{toml}: {stderr}");
        assert!(
            stderr.contains(&format!("{}{line_key}", file.display())),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let big = setup.path("big.toml");
    write(&big, &"# padding\n".repeat(200_000));
    for path in ["/dev/zero", big.to_str().unwrap()] {
        let started = std::time::Instant::now();
        let out = setup.run(&["config", "check", path]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("not a regular file") || stderr.contains("larger than 1 MiB"),
            "{stderr}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{path}"
        );
    }
}

#[test]
fn a_good_config_checks_ok_and_shows_merged_with_the_defaults() {
    let setup = Setup::new();
    let file = setup.path("magi.toml");
    write(
        &file,
        "[services.qdrant]\nprobe = \"http://127.0.0.1:16333/readyz\"\n\n[services.caddy]\nenabled = false\n",
    );
    let out = setup.run(&["config", "check", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!(
            "{}: ok (11 services, 4 core; MAGI home /opt/magi)\n",
            file.display()
        )
    );

    let out = output(
        setup
            .magi(&["config", "show", "--json"])
            .env("MAGI_CONFIG", &file)
            .env("MAGI_HOME", "/srv/magi"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["stack"]["home"], "/srv/magi");
    assert_eq!(
        shown["services"]["qdrant"]["probe"],
        "http://127.0.0.1:16333/readyz"
    );
    assert_eq!(shown["services"]["qdrant"]["container"], "magi-memory");
    assert!(shown["services"].get("caddy").is_none());

    let toml_out = output(&mut setup.magi(&["--config", file.to_str().unwrap(), "config", "show"]));
    let shown = text(&toml_out.stdout);
    assert!(
        shown.starts_with(&format!(
            "# The configuration in effect, from {}",
            file.display()
        )),
        "{shown}"
    );
    let reread = setup.path("reread.toml");
    write(&reread, &shown);
    let out = setup.run(&["config", "check", reread.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "shown config must read back: {}",
        text(&out.stderr)
    );
}

#[test]
fn the_default_file_is_found_and_a_missing_explicit_one_is_an_error() {
    let setup = Setup::new();
    let out = setup.run(&["config", "check"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with("no config file at"),
        "{}",
        text(&out.stdout)
    );
    write(
        &setup.path("etc/magi.toml"),
        "[stack]\nhome = \"/data/magi\"\n",
    );
    let out = setup.run(&["config", "check"]);
    assert!(
        text(&out.stdout).ends_with("MAGI home /data/magi)\n"),
        "{}",
        text(&out.stdout)
    );
    let out = output(
        setup
            .magi(&["config", "show"])
            .env("MAGI_CONFIG", setup.path("missing.toml")),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing.toml: cannot read the config file"),
        "{}",
        text(&out.stderr)
    );
    let out = output(
        setup
            .magi(&["config", "show"])
            .env("MAGI_HOME", "relative/dir"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "magi: error: MAGI_HOME=relative/dir: must be an absolute path\n"
    );
}

/// The journal is a real journald listening on its socket; tests/run starts one where no systemd does.
fn journald_available() -> bool {
    magi_testkit::require(magi_testkit::Component::Journald)
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// The journal records whose MAGI_SUBJECT is `subject`, polled until `expected` of them arrive or 5 s pass.
fn journal_records(subject: &str, expected: usize) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let out = Command::new("journalctl")
            .args([
                "--no-pager",
                "-o",
                "json",
                &format!("MAGI_SUBJECT={subject}"),
            ])
            .output()
            .unwrap();
        let records: Vec<serde_json::Value> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if records.len() >= expected || std::time::Instant::now() > deadline {
            return records;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Runs `magi event emit` with stderr connected to a journal stream, JOURNAL_STREAM naming it, and
/// `redirect` appended to the exec line (to send stderr elsewhere while keeping the variable).
fn emit_under_journal(subject: &str, redirect: &str) -> Output {
    let magi = env!("CARGO_BIN_EXE_magi");
    let script = format!(
        "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); exec {magi} event emit --kind backup.failed \
         --subject {subject} --severity critical --data bytes=12 'the nightly backup failed' {redirect}"
    );
    output(Command::new("systemd-cat").args(["-t", "magi-test", "sh", "-c", &script]))
}

#[test]
fn events_are_logged_natively_with_structured_fields_when_stderr_is_the_journal() {
    if !journald_available() {
        return;
    }
    let subject = unique("native");
    let out = emit_under_journal(&subject, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records = journal_records(&subject, 1);
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(
        record["_TRANSPORT"], "journal",
        "a native record, not a line of the stdout stream"
    );
    assert_eq!(record["MESSAGE"], "the nightly backup failed");
    assert_eq!(record["PRIORITY"], "3");
    assert_eq!(record["SYSLOG_IDENTIFIER"], "magi");
    assert_eq!(
        (&record["MAGI_KIND"], &record["MAGI_SEVERITY"]),
        (&"backup.failed".into(), &"critical".into())
    );
    let event: serde_json::Value =
        serde_json::from_str(record["MAGI_EVENT"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&event["subject"], &event["data"]["bytes"]),
        (&subject.clone().into(), &12.into())
    );

    let mut validate = Command::new(env!("CARGO_BIN_EXE_magi"));
    validate
        .args(["event", "validate", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = validate.spawn().unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        format!("{record}\n").as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let relayed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        relayed["subject"],
        subject.as_str(),
        "a journal record is read back as the event it carries"
    );
}

#[test]
fn an_inherited_journal_stream_with_stderr_elsewhere_logs_plain_lines() {
    if !journald_available() {
        return;
    }
    let subject = unique("plain");
    let log = tempfile::NamedTempFile::new().unwrap();
    let out = emit_under_journal(&subject, &format!("2>{}", log.path().display()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = std::fs::read_to_string(log.path()).unwrap();
    assert_eq!(
        line,
        format!("magi: error: {subject}: the nightly backup failed\n")
    );
    assert!(
        journal_records(&subject, 0).is_empty(),
        "nothing may reach the journal natively"
    );
}

#[test]
fn validate_reports_each_bad_line_and_fails() {
    let setup = Setup::new();
    let stream = setup.path("events.ndjson");
    let good = r#"{"v":1,"ts":"2026-11-24T03:00:00Z","host":"h","source":"magi-health","kind":"service.status","subject":"redis","severity":"ok","message":"redis is up","data":{}}"#;
    let mut bytes = format!("{good}\nnot json\n\n{{\"v\":7}}\n").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe\n");
    bytes.extend_from_slice(format!("{good}\n").as_bytes());
    std::fs::write(&stream, bytes).unwrap();
    let out = setup.run(&["event", "validate", "--json", stream.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).lines().count(), 2);
    assert_eq!(
        text(&out.stderr),
        "magi: warning: line 2: not an event: invalid JSON (expected ident at line 1 column 2); skipped\n\
         magi: warning: line 4: event schema version 7 is not one this build reads (1); skipped\n\
         magi: warning: line 5: not valid UTF-8; skipped\n\
         magi: warning: 6 lines: 2 events, 3 skipped, 1 without an event\n"
    );
}

#[test]
fn logs_of_one_service_show_our_records_about_it_filtered_by_level() {
    if !journald_available() {
        return;
    }
    let setup = Setup::new();
    let name = unique("svc").replace('-', "x").to_ascii_lowercase();
    let config = setup.path("magi.toml");
    write(
        &config,
        &format!("[services.{name}]\ncontainer = \"magi-{name}\"\n"),
    );
    let magi = env!("CARGO_BIN_EXE_magi");
    for (severity, message) in [("critical", "it broke"), ("info", "it is back")] {
        let script = format!(
            "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); \
             exec {magi} event emit --kind service.status --subject {name} --severity {severity} '{message}'"
        );
        let out = output(Command::new("systemd-cat").args(["sh", "-c", &script]));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(journal_records(&name, 2).len(), 2);
    let config = config.to_str().unwrap();
    let journalctl_path = format!("{}:/usr/bin:/bin", setup.path("path").display());
    let run = |args: &[&str]| output(setup.magi(args).env("PATH", &journalctl_path));
    let all = run(&["--config", config, "logs", "--service", &name, "--json"]);
    assert!(all.status.success(), "{}", text(&all.stderr));
    let messages: Vec<String> = text(&all.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["MESSAGE"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(messages, ["it broke", "it is back"]);
    let errors = run(&[
        "--config",
        config,
        "logs",
        "--service",
        &name,
        "--level",
        "error",
    ]);
    let shown = text(&errors.stdout);
    assert!(
        shown.contains("it broke") && !shown.contains("it is back"),
        "{shown}"
    );
    let unknown = run(&["--config", config, "logs", "--service", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
}

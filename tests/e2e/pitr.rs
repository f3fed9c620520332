//! magi-pitr, the real binary: `check` on real SQLite databases in a bare MAGI home, and the capture
//! daemon following a database a separate writer process (Python's sqlite3) writes to at 200 transactions a
//! second, both killed with SIGKILL along the way, restored to 50 random times.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use magi_testkit::Killed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::backup::{BareHome, code, text};
use crate::cloud::{json_lines, walk};

#[test]
fn pitr_check_names_a_rollback_journal_database_and_how_to_switch_it() {
    let bare = BareHome::new("");
    let webui = bare.home().join("data/open-webui/webui.db");
    let chroma = bare.home().join("data/open-webui/vector_db/chroma.sqlite3");
    fs::create_dir_all(chroma.parent().unwrap()).unwrap();
    // Open WebUI's database in the rollback-journal mode SQLite starts in; Chroma's in WAL.
    Connection::open(&webui)
        .unwrap()
        .execute_batch("CREATE TABLE chat (id TEXT PRIMARY KEY, chat TEXT)")
        .unwrap();
    let chroma_conn = Connection::open(&chroma).unwrap();
    chroma_conn
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE embeddings (id INTEGER PRIMARY KEY, v BLOB);
             INSERT INTO embeddings (v) VALUES (zeroblob(10000));",
        )
        .unwrap();

    let json = bare.run("magi-pitr", &["check", "--json"]);
    assert_eq!(code(&json), 1, "a database to switch fails the check");
    let found = json_lines(&json);
    let by_path = |path: &std::path::Path| {
        found
            .iter()
            .find(|d| d["path"] == path.display().to_string())
            .unwrap_or_else(|| panic!("{} not listed: {found:?}", path.display()))
            .clone()
    };
    let webui_found = by_path(&webui);
    assert_eq!(webui_found["mode"], "rollback");
    assert_eq!(webui_found["service"], "open-webui");
    let advice = webui_found["advice"].as_str().unwrap();
    assert!(
        advice.contains("docker stop magi-cortex")
            && advice.contains(&format!(
                "sqlite3 {} 'PRAGMA journal_mode=WAL;'",
                webui.display()
            )),
        "{advice}"
    );
    let chroma_found = by_path(&chroma);
    assert_eq!(chroma_found["mode"], "wal");
    assert!(
        chroma_found["wal_bytes"].as_u64().unwrap() > 10_000,
        "{chroma_found}"
    );
    assert!(chroma_found.get("advice").is_none());
    let n8n = by_path(&bare.home().join("data/n8n/database.sqlite"));
    assert_eq!(n8n["mode"], "missing");

    let table = bare.run("magi-pitr", &["check"]);
    assert_eq!(code(&table), 1);
    let shown = text(&table.stdout);
    assert!(shown.starts_with("SERVICE"), "{shown}");
    assert!(shown.contains("uses a rollback journal"), "{shown}");

    // Switched as the advice says (with the application stopped), the check passes.
    Connection::open(&webui)
        .unwrap()
        .execute_batch("PRAGMA journal_mode = WAL")
        .unwrap();
    let after = bare.run("magi-pitr", &["check", "--service", "open-webui", "--json"]);
    assert_eq!(code(&after), 0);
    assert!(json_lines(&after).iter().all(|d| d["mode"] == "wal"));

    let unknown = bare.run("magi-pitr", &["check", "--service", "nope"]);
    assert_eq!(code(&unknown), 2);
    assert!(
        text(&unknown.stderr).contains("nope"),
        "{}",
        text(&unknown.stderr)
    );
    drop(chroma_conn);
}

/// The application: inserts rows `start..start + count` one transaction each at `rate` a second, each row
/// holding the time its transaction began; prints each row's id and the time its commit returned; runs a
/// checkpoint of its own every hundred rows, as SQLite's automatic one would.
const WRITER: &str = r#"
import sqlite3, sys, time
db, start, count, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
conn = sqlite3.connect(db, isolation_level=None, timeout=10)
t0 = time.monotonic()
for n in range(count):
    delay = t0 + n / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    i = start + n
    before = time.time_ns()
    conn.execute("INSERT INTO row (id, began, body) VALUES (?, ?, ?)", (i, before, "x" * (300 + i * 37 % 900)))
    print(i, time.time_ns(), flush=True)
    if i % 100 == 99:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
"#;

fn now_ns() -> i64 {
    jiff::Timestamp::now().as_nanosecond() as i64
}

/// Starts the writer; the times its commits returned are gathered into `committed` as it prints them.
fn start_writer(
    db: &Path,
    start: u32,
    count: u32,
    committed: &Arc<Mutex<BTreeMap<u32, i64>>>,
) -> (Killed, std::thread::JoinHandle<()>) {
    let mut child = Command::new("python3")
        .args([
            "-c",
            WRITER,
            &db.display().to_string(),
            &start.to_string(),
            &count.to_string(),
            "200",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let committed = Arc::clone(committed);
    let reader = std::thread::spawn(move || {
        let mut out = BufReader::new(out);
        let mut line = String::new();
        // Only whole lines: a writer killed mid-line leaves a last one cut short, not a commit to count.
        while out.read_line(&mut line).is_ok_and(|n| n > 0) && line.ends_with('\n') {
            let mut words = line.trim_end().split(' ');
            let id = words.next().unwrap().parse().unwrap();
            let at = words.next().unwrap().parse().unwrap();
            committed.lock().unwrap().insert(id, at);
            line.clear();
        }
    });
    (Killed(child), reader)
}

fn start_capture(bare: &BareHome, log: &Path) -> Killed {
    Killed(
        bare.command("magi-pitr")
            .args([
                "capture",
                "--service",
                "n8n",
                "--interval",
                "20ms",
                "--checkpoint-frames",
                "200",
            ])
            .env("MAGI_LOG", "debug")
            .stderr(
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .unwrap(),
            )
            .spawn()
            .unwrap(),
    )
}

/// The (id, began) rows of a database.
fn rows(db: &Path) -> Vec<(u32, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut statement = conn
        .prepare("SELECT id, began FROM row ORDER BY id")
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn at_text(nanos: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(nanos))
        .unwrap()
        .to_string()
}

/// The newest point `magi-pitr list` says the store holds for n8n.
fn latest(bare: &BareHome) -> i64 {
    let listed = bare.run("magi-pitr", &["list", "--service", "n8n", "--json"]);
    assert_eq!(code(&listed), 0, "{}", text(&listed.stderr));
    json_lines(&listed)[0]["latest"].as_i64().unwrap()
}

/// The newest point once the capture has shipped everything written: the same in two lists 300 ms apart
/// (on a loaded machine a fixed wait can end before the last poll does).
fn settled(bare: &BareHome) -> i64 {
    let mut last = latest(bare);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = latest(bare);
        if now == last {
            return now;
        }
        last = now;
    }
}

/// `magi-pitr restore` of n8n to `at` into a new directory under `scratch`: the output and the JSON line.
fn restore_at(
    bare: &BareHome,
    scratch: &Path,
    at: i64,
) -> (
    std::process::Output,
    Option<serde_json::Value>,
    std::path::PathBuf,
) {
    let dir = scratch.join(format!("at-{at}"));
    let out = bare.run(
        "magi-pitr",
        &[
            "restore",
            "--service",
            "n8n",
            "--timestamp",
            &at_text(at),
            "--to",
            &dir.display().to_string(),
            "--json",
        ],
    );
    let line = json_lines(&out).into_iter().next();
    (out, line, dir.join("n8n/database.sqlite"))
}

/// A bare home whose n8n database, in WAL mode, has the writer's `row` table.
fn rows_home() -> (BareHome, std::path::PathBuf) {
    let bare = BareHome::new("");
    let db = bare.home().join("data/n8n/database.sqlite");
    fs::create_dir_all(db.parent().unwrap()).unwrap();
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE row (id INTEGER PRIMARY KEY, began INTEGER NOT NULL, body TEXT NOT NULL);",
        )
        .unwrap();
    (bare, db)
}

#[test]
fn pitr_capture_survives_sigkill_of_itself_and_the_writer_and_restores_any_second() {
    let (bare, db) = rows_home();
    // The application's files belong to its own uid (n8n runs as 1000): what the capture creates beside
    // them must too, or the application could no longer write its log.
    nix::unistd::chown(&db, Some(1000.into()), Some(1000.into())).unwrap();
    let log = bare.backups().join("../capture.log");
    let scratch = tempfile::tempdir().unwrap();
    let committed = Arc::new(Mutex::new(BTreeMap::new()));

    let mut capture = start_capture(&bare, &log);
    std::thread::sleep(Duration::from_millis(300));
    for suffix in ["-wal", "-shm"] {
        let mut path = db.clone().into_os_string();
        path.push(suffix);
        let owner = std::os::unix::fs::MetadataExt::uid(&fs::metadata(&path).unwrap());
        assert_eq!(
            owner,
            1000,
            "{} belongs to {owner}",
            Path::new(&path).display()
        );
    }
    let (mut writer, reading) = start_writer(&db, 0, 600, &committed);
    let started = Instant::now();
    // Each SIGKILL of the capture: the newest point it had shipped just before, and when it was down.
    let mut shipped_before_kill = Vec::new();
    let mut down = Vec::new();
    let mut kill_capture = |capture: &mut Killed| {
        shipped_before_kill.push(latest(&bare));
        let from = now_ns();
        capture.0.kill().unwrap();
        capture.0.wait().unwrap();
        std::thread::sleep(Duration::from_millis(150));
        *capture = start_capture(&bare, &log);
        down.push((from, now_ns() + 1_000_000_000));
    };
    std::thread::sleep(Duration::from_millis(700));
    kill_capture(&mut capture);
    std::thread::sleep(Duration::from_millis(1500).saturating_sub(started.elapsed()));
    // The application killed mid-stream, then started again from where its database stands.
    writer.0.kill().unwrap();
    writer.0.wait().unwrap();
    reading.join().unwrap();
    let next = rows(&db).last().map_or(0, |r| r.0 + 1);
    assert!(
        next > 100,
        "the writer wrote {next} rows before it was killed"
    );
    let (mut writer, reading) = start_writer(&db, next, 400, &committed);
    std::thread::sleep(Duration::from_millis(2200).saturating_sub(started.elapsed()));
    kill_capture(&mut capture);
    assert!(writer.0.wait().unwrap().success());
    reading.join().unwrap();
    // The application closed its last connection: SQLite deletes the log then unless another process
    // holds the database open, as the capture does (a descriptor of the file opened and closed again in
    // the capture would drop its locks, and the log would go, with the capture still reading it).
    std::thread::sleep(Duration::from_millis(300));
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    assert!(
        Path::new(&wal).exists(),
        "the log stays while the capture follows the database"
    );
    let (mut writer, reading) = start_writer(&db, next + 400, 50, &committed);
    assert!(writer.0.wait().unwrap().success());
    reading.join().unwrap();
    let final_point = settled(&bare);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(capture.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let stopped = capture.0.wait().unwrap();
    let said = fs::read_to_string(&log).unwrap();
    assert!(
        stopped.success(),
        "the capture stops cleanly on SIGTERM: {stopped:?}\n{said}"
    );

    // Everything: the database as the application left it.
    let live = rows(&db);
    assert_eq!(live.len() as u32, next + 450);
    let (out, line, restored) = restore_at(&bare, scratch.path(), now_ns());
    assert_eq!(code(&out), 0, "{}\n{said}", text(&out.stderr));
    assert_eq!(rows(&restored), live);
    let line = line.unwrap();
    assert_eq!(
        line["rows_checked"]["exact"], true,
        "the capture's last poll counted the rows of its newest point: {line}"
    );
    assert_eq!(
        line["seen"].as_i64().unwrap(),
        final_point,
        "{line}\n{}\n{said}",
        text(
            &bare
                .run("magi-pitr", &["list", "--service", "n8n", "--json"])
                .stdout
        )
    );

    // What was shipped before each SIGKILL is still there after it.
    for point in shipped_before_kill {
        let (out, line, _) = restore_at(&bare, scratch.path(), point);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        assert_eq!(
            line.unwrap()["seen"].as_i64().unwrap(),
            point,
            "the point shipped before the kill"
        );
    }

    // Fifty random times: exactly the rows committed by then, give or take what a poll may not have seen
    // yet (the capture reads the log every 20 ms; the unit tests bound this tightly, here the machine is
    // shared with the writer and the test).
    let committed = committed.lock().unwrap().clone();
    let first = live[0].1;
    let last = *committed.values().max().unwrap();
    let slack = 250_000_000;
    let mut random = 0x2545_f491_u64;
    let mut checked = 0;
    let mut checked_against_rows = 0;
    while checked < 50 {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let at = first + (random % (last - first) as u64) as i64;
        if down
            .iter()
            .any(|(from, to)| at >= from - slack && at <= *to)
        {
            continue;
        }
        checked += 1;
        let (out, line, restored) = restore_at(&bare, scratch.path(), at);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        let line = line.unwrap();
        assert!(line["seen"].as_i64().unwrap() <= at);
        let got = rows(&restored);
        assert_eq!(
            got[..],
            live[..got.len()],
            "at {at}: the rows are the live database's first ones"
        );
        if let Some(next) = live.get(got.len()) {
            assert!(
                next.1 > at - slack,
                "at {at}: row {} began {} ms before and is missing",
                next.0,
                (at - next.1) / 1_000_000
            );
        }
        for (id, began) in &live[..got.len()] {
            assert!(*began <= at, "at {at}: row {id} began after");
        }
        for (id, commit) in &committed {
            if *commit <= at - slack {
                assert!(
                    (*id as usize) < got.len(),
                    "at {at}: row {id}, committed {} ms before, is missing",
                    (at - commit) / 1_000_000
                );
            }
        }
        assert_eq!(line["tables"]["row"].as_u64().unwrap(), got.len() as u64);
        let rows_checked = &line["rows_checked"];
        if !rows_checked.is_null() {
            assert!(rows_checked["seen"].as_i64().unwrap() <= line["seen"].as_i64().unwrap());
            checked_against_rows += 1;
        }
    }
    assert!(
        checked_against_rows >= 40,
        "the capture counts the rows every second while writes come: only {checked_against_rows} of 50 \
         restores had a count before their point"
    );

    // The monthly drill, on a host whose Docker cannot be reached: the newest point restored into a
    // scratch directory and checked, an event that says the service could not be started from it.
    let drill = drill_without_docker(&bare);
    assert_eq!(code(&drill), 0, "{}", text(&drill.stderr));
    let events = json_lines(&drill);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "pitr.drill");
    assert_eq!(events[0]["severity"], "warning", "{}", events[0]);
    assert_eq!(events[0]["data"]["scratch_stack"], false, "{}", events[0]);
    assert!(
        events[0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach the Docker engine"),
        "{}",
        events[0]
    );
    assert_eq!(events[0]["data"]["rows_checked"], true, "{}", events[0]);
    assert!(
        events[0]["message"]
            .as_str()
            .unwrap()
            .contains("rows match the capture's count of the point"),
        "{}",
        events[0]
    );
    assert_eq!(
        events[0]["data"]["rows"].as_u64().unwrap(),
        live.len() as u64
    );

    // A damaged segment: the restore stops at the last good transaction before it, names it, exits 1.
    let store = bare.backups().join("pitr/n8n/database.sqlite");
    let mut segments: Vec<_> = walk(&store)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    let victim = segments.last().unwrap().clone();
    let mut bytes = fs::read(&victim).unwrap();
    assert!(
        bytes.len() > 200,
        "{} is {} bytes",
        victim.display(),
        bytes.len()
    );
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    fs::write(&victim, bytes).unwrap();
    let (out, line, restored) = restore_at(&bare, scratch.path(), now_ns());
    assert_eq!(code(&out), 1);
    let complaint = text(&out.stderr);
    assert!(
        complaint.contains(&victim.display().to_string()) && complaint.contains("damaged at byte"),
        "{complaint}"
    );
    assert!(line.unwrap()["damage"].as_str().is_some());
    let got = rows(&restored);
    assert!(
        got.len() < live.len() && got[..] == live[..got.len()],
        "a prefix: {} of {}",
        got.len(),
        live.len()
    );
    let drill = drill_without_docker(&bare);
    assert_eq!(code(&drill), 1, "the drill fails on the damage");
    assert_eq!(json_lines(&drill)[0]["severity"], "critical");
}

#[test]
fn pitr_follows_magi_ops_own_stores_as_the_service_magi_and_restores_them() {
    let bare = BareHome::new("");
    fs::create_dir_all(bare.state()).unwrap();
    // An alert outbox as magi-alert keeps it: the core's store opener, WAL mode.
    let outbox = bare.state().join("alert.db");
    let conn = magi_core::store::open(
        &outbox,
        &["CREATE TABLE sent (id INTEGER PRIMARY KEY, subject TEXT NOT NULL);"],
    )
    .unwrap();
    let checked = bare.run("magi-pitr", &["check", "--service", "magi", "--json"]);
    assert_eq!(code(&checked), 0, "{}", text(&checked.stderr));
    let found = json_lines(&checked);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["service"], "magi");
    assert_eq!(found[0]["mode"], "wal");

    let log = bare.backups().join("../capture.log");
    let mut capture = Killed(
        bare.command("magi-pitr")
            .args(["capture", "--service", "magi", "--interval", "20ms"])
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let insert = |range: std::ops::Range<u32>| {
        for n in range {
            conn.execute(
                "INSERT INTO sent (subject) VALUES (?1)",
                [format!("alert {n}")],
            )
            .unwrap();
        }
    };
    std::thread::sleep(Duration::from_millis(500));
    insert(0..20);
    std::thread::sleep(Duration::from_millis(400));
    let after_twenty = now_ns();
    std::thread::sleep(Duration::from_millis(400));
    insert(20..30);
    std::thread::sleep(Duration::from_millis(400));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(capture.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(
        capture.0.wait().unwrap().success(),
        "{}",
        fs::read_to_string(&log).unwrap()
    );

    let count = |db: &Path| -> i64 {
        Connection::open(db)
            .unwrap()
            .query_row("SELECT count(*) FROM sent", [], |r| r.get(0))
            .unwrap()
    };
    for (at, rows) in [(after_twenty, 20), (now_ns(), 30)] {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("look");
        let out = bare.run(
            "magi-pitr",
            &[
                "restore",
                "--service",
                "magi",
                "--timestamp",
                &at_text(at),
                "--to",
                &to.display().to_string(),
                "--json",
            ],
        );
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        assert_eq!(count(&to.join("magi/alert.db")), rows, "at {}", at_text(at));
        assert_eq!(json_lines(&out)[0]["tables"]["sent"], rows);
    }

    // The drill checks them on their files: they are no container's.
    let drill = drill_without_docker_for(&bare, &["--service", "magi"]);
    assert_eq!(code(&drill), 0, "{}", text(&drill.stderr));
    let event = &json_lines(&drill)[0];
    assert_eq!(event["severity"], "ok", "{event}");
    assert_eq!(event["data"]["rows"], 30, "{event}");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("MAGI ops' own stores"),
        "{event}"
    );
}

/// `magi-pitr drill --json` with Docker out of reach (a mini stack another test runs meanwhile has the
/// real container names).
fn drill_without_docker(bare: &BareHome) -> std::process::Output {
    drill_without_docker_for(bare, &[])
}

/// The same with more arguments.
fn drill_without_docker_for(bare: &BareHome, args: &[&str]) -> std::process::Output {
    let mut command = bare.command("magi-pitr");
    command.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    let mut all = vec!["drill", "--json"];
    all.extend_from_slice(args);
    crate::backup::logged(command, "magi-pitr", &all)
}

/// The workflow ids of n8n's database.
fn workflows(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut statement = conn
        .prepare("SELECT id FROM workflow_entity ORDER BY id")
        .unwrap();
    statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn pitr_magi_restore_timestamp_puts_a_database_back_to_the_second_through_the_gated_restore() {
    let Some(stack) = magi_testkit::MiniStack::available().then(magi_testkit::MiniStack::up) else {
        return;
    };
    let run =
        |binary: &str, args: &[&str]| crate::backup::logged(stack.command(binary), binary, args);
    let db = stack.home().join("data/n8n/database.sqlite");
    Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA journal_mode = WAL")
        .unwrap();
    let log = stack.home().join("../capture.log");
    let mut capture = Killed(
        stack
            .command("magi-pitr")
            .args(["capture", "--service", "n8n", "--interval", "20ms"])
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));

    // The nightly backup, then a day's work: two workflows added, then a third and the mistake (the
    // daily digest deleted).
    let backup = run("magi-backup", &["create", "--json"]);
    assert_eq!(code(&backup), 0, "{}", text(&backup.stderr));
    // One timeline: the listing names the backups beside the capture's points.
    let listed = run("magi-pitr", &["list", "--service", "n8n", "--json"]);
    let listed = json_lines(&listed);
    assert_eq!(
        listed[0]["backups"].as_array().unwrap().len(),
        1,
        "{listed:?}"
    );
    assert!(listed[0]["earliest"].as_i64().is_some(), "{listed:?}");
    let before = workflows(&db);
    let conn = Connection::open(&db).unwrap();
    let add = |id: &str| {
        conn.execute(
            "INSERT INTO workflow_entity (id, name, active) VALUES (?1, ?1, 0)",
            [id],
        )
        .unwrap();
    };
    let pause = || std::thread::sleep(Duration::from_millis(400));
    add("wf-a");
    pause();
    let after_a = now_ns();
    pause();
    add("wf-b");
    pause();
    let after_b = now_ns();
    pause();
    add("wf-c");
    conn.execute(
        "DELETE FROM workflow_entity WHERE id = 'wf-daily-digest'",
        [],
    )
    .unwrap();
    drop(conn);
    pause();

    // Looked at first, in a directory: the stack is not touched.
    let look = tempfile::tempdir().unwrap();
    let looked = run(
        "magi-restore",
        &[
            "--timestamp",
            &at_text(after_a),
            "--service",
            "n8n",
            "--to",
            &look.path().join("a").display().to_string(),
        ],
    );
    assert_eq!(code(&looked), 0, "{}", text(&looked.stderr));
    let mut expected_a = before.clone();
    expected_a.push("wf-a".into());
    expected_a.sort();
    assert_eq!(
        workflows(&look.path().join("a/n8n/database.sqlite")),
        expected_a
    );
    assert!(
        workflows(&db).contains(&"wf-c".to_owned()),
        "the stack is untouched"
    );

    // Then put in place, through the restore every backup takes: staged, swapped, health-gated.
    let restored = run(
        "magi-restore",
        &[
            "--timestamp",
            &at_text(after_b),
            "--service",
            "n8n",
            "--yes",
            "--json",
        ],
    );
    assert_eq!(code(&restored), 0, "{}", text(&restored.stderr));
    let mut expected_b = expected_a.clone();
    expected_b.push("wf-b".into());
    expected_b.sort();
    assert_eq!(
        workflows(&db),
        expected_b,
        "wf-b kept, wf-c and the mistake undone"
    );
    let completed = json_lines(&restored)
        .into_iter()
        .find(|e| e["kind"] == "restore.completed")
        .expect("a restore.completed event");
    let point = completed["data"]["points"]["n8n"]
        .as_str()
        .unwrap_or_else(|| panic!("{completed}"));
    let point: jiff::Timestamp = point.parse().unwrap();
    assert!(
        point.as_nanosecond() as i64 <= after_b
            && point.as_nanosecond() as i64 > after_b - 800_000_000,
        "the point {point} is the last transaction before {}",
        at_text(after_b)
    );
    assert!(
        !stack.home().read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".magi-pitr-restore")),
        "the rebuilt databases' directory is gone"
    );

    // A time before anything was captured: a clear error, nothing changed.
    let early = run(
        "magi-restore",
        &[
            "--timestamp",
            "2001-01-01T00:00:00Z",
            "--service",
            "n8n",
            "--yes",
        ],
    );
    assert_ne!(code(&early), 0);
    assert_eq!(workflows(&db), expected_b);

    // The capture saw the database file replaced and follows the new one.
    std::thread::sleep(Duration::from_millis(500));
    capture.0.kill().unwrap();
    capture.0.wait().unwrap();
    let said = fs::read_to_string(&log).unwrap();
    assert!(said.contains("the database file was replaced"), "{said}");

    // The monthly drill: n8n restored to its newest point and started from it in a scratch stack, kept
    // here to be looked at; the live service and its data untouched.
    let docker = |args: &[&str]| {
        magi_testkit::docker::docker(args)
            .unwrap()
            .trim()
            .to_owned()
    };
    let live = "magi-reflex-automation";
    let live_started = docker(&["inspect", "-f", "{{.State.StartedAt}}", live]);
    let live_files = |dir: &Path| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = walk(dir)
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(dir).unwrap().to_owned(),
                    fs::read(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let data_before = live_files(&stack.home().join("data/n8n"));
    let drill = run(
        "magi-pitr",
        &["drill", "--service", "n8n", "--keep", "--json"],
    );
    assert_eq!(code(&drill), 0, "{}", text(&drill.stderr));
    let events = json_lines(&drill);
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["severity"], "ok", "{event}");
    assert_eq!(event["data"]["scratch_stack"], true, "{event}");
    assert!(
        event["data"]["seconds_to_healthy"].as_f64().unwrap() > 0.0,
        "{event}"
    );
    assert!(
        event["message"].as_str().unwrap().contains("healthy in"),
        "{event}"
    );
    let copy = format!("magi-drill-{live}");
    let copy_data = docker(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{if eq .Destination \"/home/node/.n8n\"}}{{.Source}}{{end}}{{end}}",
        &copy,
    ]);
    assert!(
        copy_data.starts_with(&stack.backups().join("pitr/.drill-").display().to_string()),
        "the copy's data is the scratch copy: {copy_data}"
    );
    assert_eq!(
        workflows(&Path::new(&copy_data).join("database.sqlite")),
        expected_b,
        "the scratch n8n runs on the restored database"
    );
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Health.Status}}", &copy]),
        "healthy"
    );
    assert_eq!(docker(&["port", &copy]), "", "no published port");
    let network = docker(&[
        "inspect",
        "-f",
        "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}",
        &copy,
    ]);
    assert_eq!(
        docker(&["network", "inspect", "-f", "{{.Internal}}", &network]),
        "true"
    );
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.StartedAt}}", live]),
        live_started,
        "the live n8n was not restarted"
    );
    assert!(
        live_files(&stack.home().join("data/n8n")) == data_before,
        "the live n8n's data is as it was"
    );

    // What it left is removed on asking.
    let cleaned = run("magi-pitr", &["drill", "--clean"]);
    assert_eq!(code(&cleaned), 0, "{}", text(&cleaned.stderr));
    let filter = "label=magi.sandbox=drill";
    assert_eq!(docker(&["ps", "--all", "--quiet", "--filter", filter]), "");
    assert_eq!(
        docker(&["network", "ls", "--quiet", "--filter", filter]),
        ""
    );
    assert!(!Path::new(&copy_data).exists());

    // A service that does not come up from its point fails the drill.
    stack.make_unhealthy("n8n");
    let drill = run(
        "magi-pitr",
        &["drill", "--service", "n8n", "--json", "--timeout", "20s"],
    );
    stack.make_healthy("n8n");
    assert_eq!(code(&drill), 1, "{}", text(&drill.stderr));
    let event = &json_lines(&drill)[0];
    assert_eq!(event["severity"], "critical", "{event}");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("does not come up from them"),
        "{event}"
    );
    assert_eq!(docker(&["ps", "--all", "--quiet", "--filter", filter]), "");
}

#[test]
fn pitr_capture_and_litestream_on_one_database_both_restore_it_and_the_capture_is_fresher() {
    if !magi_testkit::require(magi_testkit::Component::Litestream) {
        return;
    }
    let (bare, db) = rows_home();
    let log = bare.backups().join("../capture.log");
    let replica = bare.backups().join("../litestream");
    // Both follow the database at once: each checkpoints the log, and each must cope with the other's.
    let _capture = start_capture(&bare, &log);
    let _litestream = Killed(
        Command::new("litestream")
            .arg("replicate")
            .arg(&db)
            .arg(format!("file://{}", replica.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let committed = Arc::new(Mutex::new(BTreeMap::new()));
    let (mut writer, reading) = start_writer(&db, 0, 800, &committed);
    assert!(writer.0.wait().unwrap().success());
    reading.join().unwrap();
    settled(&bare);
    // Litestream syncs every second.
    std::thread::sleep(Duration::from_millis(2500));
    let live = rows(&db);
    assert_eq!(live.len(), 800);

    let scratch = tempfile::tempdir().unwrap();
    let litestream_at = |at: Option<i64>, name: &str| -> Vec<(u32, i64)> {
        let out = scratch.path().join(name);
        let mut command = Command::new("litestream");
        command.arg("restore").arg("-o").arg(&out);
        if let Some(at) = at {
            command.args(["-timestamp", &at_text(at)]);
        }
        let done = command
            .arg(format!("file://{}", replica.display()))
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "litestream restore: {}",
            text(&done.stderr)
        );
        rows(&out)
    };
    let (out, _, ours) = restore_at(&bare, scratch.path(), now_ns());
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(rows(&ours), live, "magi-pitr restores the whole database");
    assert_eq!(
        litestream_at(None, "latest.db"),
        live,
        "Litestream restores the whole database"
    );

    // At ten times while the writer ran, each tool's rows are the live database's first ones; the
    // capture (reading the log every 20 ms) holds at least as many in sum as Litestream (every second).
    let committed = committed.lock().unwrap().clone();
    let (first, last) = (live[0].1, *committed.values().max().unwrap());
    let (mut ours_total, mut theirs_total) = (0, 0);
    for n in 1..=10 {
        let at = first + (last - first) * n / 11;
        let (out, _, path) = restore_at(&bare, scratch.path(), at);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        let ours = rows(&path);
        let theirs = litestream_at(Some(at), &format!("at-{n}.db"));
        for got in [&ours, &theirs] {
            assert_eq!(got[..], live[..got.len()]);
            assert!(got.iter().all(|(_, began)| *began <= at));
        }
        ours_total += ours.len();
        theirs_total += theirs.len();
    }
    eprintln!("rows restored at ten times: magi-pitr {ours_total}, Litestream {theirs_total}");
    assert!(
        ours_total >= theirs_total,
        "magi-pitr {ours_total} rows, Litestream {theirs_total}"
    );
    let said = fs::read_to_string(&log).unwrap();
    assert!(!said.contains("warning"), "{said}");
}

#[test]
fn pitr_a_full_disk_pauses_the_capture_with_one_warning_holds_up_nothing_and_it_goes_on() {
    if !magi_testkit::require(magi_testkit::Component::Root) {
        return;
    }
    let bare = BareHome::new("");
    let mount = crate::backup::Tmpfs(bare.backups());
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mount.0)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount tmpfs");
    let db = bare.home().join("data/n8n/database.sqlite");
    fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB NOT NULL);",
    )
    .unwrap();
    let log = bare.home().join("../capture.log");
    let _capture = start_capture(&bare, &log);
    std::thread::sleep(Duration::from_millis(500));

    // 3 MiB of pages that do not compress, into a 1 MiB store: the application writes on regardless.
    let started = Instant::now();
    for id in 0..60 {
        conn.execute(
            "INSERT INTO blob (id, data) VALUES (?1, ?2)",
            (id as i64, crate::backup::noise(50_000, id)),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the application was held up: {:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let said = fs::read_to_string(&log).unwrap();
    assert_eq!(
        said.matches("is full: shipping is paused").count(),
        1,
        "{said}"
    );

    // Room again: the capture goes on, and the store restores the database as it is.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&mount.0)
        .status()
        .unwrap();
    assert!(grown.success());
    let until = Instant::now() + Duration::from_secs(60);
    while !fs::read_to_string(&log).unwrap().contains("followed again") {
        assert!(
            Instant::now() < until,
            "{}",
            fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    let scratch = tempfile::tempdir().unwrap();
    let (out, _, restored) = restore_at(&bare, scratch.path(), now_ns());
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let count = |path: &Path| -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM blob", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&restored), 60);
    drop(conn);
}

#[test]
fn pitr_capture_ships_the_store_to_the_cloud_repository_and_restores_from_it_alone() {
    let (bare, db) = rows_home();
    let repository = bare.home().parent().unwrap().join("offsite");
    let output = |binary: &str, args: &[&str]| crate::cloud::bare_output(&bare, binary, args);
    let configure = output(
        "magi-backup",
        &[
            "cloud",
            "configure",
            "--directory",
            repository.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&configure), 0, "{}", text(&configure.stderr));
    let log = bare.home().join("../capture.log");
    let _capture = start_capture(&bare, &log);
    std::thread::sleep(Duration::from_millis(300));
    // Shipped while the writer writes (what the timer does every minute), then once it is done.
    let committed = Arc::new(Mutex::new(BTreeMap::new()));
    let (mut writer, reading) = start_writer(&db, 0, 300, &committed);
    std::thread::sleep(Duration::from_millis(700));
    let first = output("magi-pitr", &["ship", "--json"]);
    assert_eq!(code(&first), 0, "{}", text(&first.stderr));
    assert!(writer.0.wait().unwrap().success());
    reading.join().unwrap();
    let shipped_after = settled(&bare);
    let second = output("magi-pitr", &["ship", "--json"]);
    assert_eq!(code(&second), 0, "{}", text(&second.stderr));
    let second = &json_lines(&second)[0];
    assert_eq!(
        second["forgotten"], 1,
        "the older point-in-time snapshot is forgotten: {second}"
    );
    assert!(second["bytes"].as_u64().unwrap() > json_lines(&first)[0]["bytes"].as_u64().unwrap());
    // Nothing written since: nothing new is sent.
    let third = output("magi-pitr", &["ship", "--json"]);
    assert_eq!(code(&third), 0, "{}", text(&third.stderr));
    assert_eq!(
        json_lines(&third)[0]["new_bytes"],
        0,
        "{}",
        text(&third.stdout)
    );

    // The local store is gone: the cloud copy alone restores the database, encrypted at rest.
    fs::remove_dir_all(bare.backups().join("pitr")).unwrap();
    let live = rows(&db);
    let to = bare.home().parent().unwrap().join("from-cloud");
    let restored = output(
        "magi-pitr",
        &[
            "restore",
            "--from-cloud",
            "--service",
            "n8n",
            "--timestamp",
            &at_text(now_ns()),
            "--to",
            to.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code(&restored), 0, "{}", text(&restored.stderr));
    assert_eq!(rows(&to.join("n8n/database.sqlite")), live);
    assert!(json_lines(&restored)[0]["seen"].as_i64().unwrap() >= shipped_after);
    for file in walk(&repository) {
        let bytes = fs::read(&file).unwrap();
        assert!(
            !bytes.windows(4).any(|w| w == b"xxxx"),
            "{} holds the rows in the clear",
            file.display()
        );
    }
    // Only the newest point-in-time snapshot is kept; the cloud backups' own tools still read the
    // repository.
    let listed = output("magi-backup", &["cloud", "list", "--json"]);
    assert_eq!(code(&listed), 0, "{}", text(&listed.stderr));
    let pitr_snapshots = text(&listed.stdout).matches("pitr-").count();
    assert!(pitr_snapshots >= 1, "{}", text(&listed.stdout));
    let verify = output("magi-backup", &["cloud", "verify", "--deep"]);
    assert_eq!(code(&verify), 0, "{}", text(&verify.stderr));
}

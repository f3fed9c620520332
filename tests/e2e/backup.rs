//! magi-backup and magi-restore against the mini MAGI stack in real Docker (and a bare MAGI home where no
//! container is needed): the round trip of every SQLite row, Redis key and Qdrant point, kill -9 during a
//! backup, a flipped byte, a full disk, a service down, a restore that does not come back and rolls back,
//! retention, the timer drop-in, and bad input.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use magi_testkit::docker::docker;
use magi_testkit::{Component, MiniStack, require};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::{Value, json};

fn up() -> Option<MiniStack> {
    MiniStack::available().then(MiniStack::up)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().expect("exited, not killed")
}

fn run(stack: &MiniStack, binary: &str, args: &[&str]) -> Output {
    let mut command = stack.command(binary);
    command.stdin(Stdio::null());
    logged(command, binary, args)
}

/// Runs the command with `args`, echoing the command line and what it printed into the test's output.
pub(crate) fn logged(mut command: Command, binary: &str, args: &[&str]) -> Output {
    let output = command.args(args).output().expect("the binary runs");
    eprintln!(
        "$ {binary} {}\n{}{}",
        args.join(" "),
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

fn events(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn list(stack: &MiniStack) -> Vec<Value> {
    let output = run(stack, "magi-backup", &["list", "--json"]);
    assert_eq!(code(&output), 0);
    events(&output)
}

/// The backup made by `create --json`: the name in its `backup.completed` or `backup.failed` event.
fn created_name(output: &Output) -> String {
    events(output)
        .iter()
        .find(|e| e["kind"] == "backup.completed" || e["kind"] == "backup.failed")
        .and_then(|e| e["data"]["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no backup name in {}", text(&output.stdout)))
}

/// Every row of every table, as text, sorted: what a restore must give back exactly.
fn sqlite_rows(path: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut all = BTreeMap::new();
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let mut rows: Vec<String> = statement
            .query_map([], |row| {
                Ok((0..columns)
                    .map(|i| match row.get_ref(i).unwrap() {
                        ValueRef::Null => "NULL".to_owned(),
                        ValueRef::Integer(n) => n.to_string(),
                        ValueRef::Real(x) => x.to_string(),
                        ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                        ValueRef::Blob(b) => format!("blob{b:?}"),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        all.insert(table, rows);
    }
    all
}

fn redis_cli(args: &[&str]) -> String {
    let mut full = vec!["exec", "magi-nervous-system", "redis-cli", "--no-raw"];
    full.extend_from_slice(args);
    docker(&full).unwrap_or_else(|e| panic!("{e}"))
}

/// Every key with its type, value and whether it expires.
fn redis_state() -> BTreeMap<String, String> {
    let keys = redis_cli(&["--scan"]);
    let mut state = BTreeMap::new();
    for key in keys
        .lines()
        .map(|k| k.trim_matches('"'))
        .filter(|k| !k.is_empty())
    {
        let kind = redis_cli(&["TYPE", key]);
        let value = match kind.as_str() {
            "string" => redis_cli(&["GET", key]),
            "hash" => sorted(redis_cli(&["HGETALL", key])),
            "list" => redis_cli(&["LRANGE", key, "0", "-1"]),
            "set" => sorted(redis_cli(&["SMEMBERS", key])),
            "zset" => redis_cli(&["ZRANGE", key, "0", "-1", "WITHSCORES"]),
            other => panic!("key {key} has an unexpected type {other}"),
        };
        let expires = redis_cli(&["TTL", key]) != "(integer) -1";
        state.insert(key.to_owned(), format!("{kind} {value} expires={expires}"));
    }
    state
}

fn sorted(lines: String) -> String {
    let mut lines: Vec<&str> = lines
        .lines()
        .map(|l| l.split_once(") ").map_or(l, |p| p.1))
        .collect();
    lines.sort();
    lines.join("\n")
}

fn http(method: &str, url: &str, body: Option<Value>) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let response = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        ("PUT", Some(b)) => agent.put(url).send_json(b),
        (_, Some(b)) => agent.post(url).send_json(b),
        (_, None) => agent.post(url).send_empty(),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    assert!(
        response.status().is_success(),
        "{method} {url}: {}",
        response.status()
    );
    response.body_mut().read_json().unwrap()
}

/// Every collection with every point (id, vector, payload).
fn qdrant_state(stack: &MiniStack) -> BTreeMap<String, Value> {
    let base = stack.qdrant_url();
    let collections = http("GET", &format!("{base}/collections"), None);
    collections["result"]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_owned();
            let points = http(
                "POST",
                &format!("{base}/collections/{name}/points/scroll"),
                Some(json!({"limit": 1000, "with_payload": true, "with_vector": true})),
            );
            (name, points["result"]["points"].clone())
        })
        .collect()
}

#[test]
fn backup_round_trip_restores_every_row_key_and_point() {
    let Some(stack) = up() else { return };
    let home = stack.home().to_owned();
    let webui = home.join("data/open-webui/webui.db");
    let n8n = home.join("data/n8n/database.sqlite");
    let chroma = home.join("data/open-webui/vector_db/chroma.sqlite3");
    let before = (
        sqlite_rows(&webui),
        sqlite_rows(&n8n),
        sqlite_rows(&chroma),
        redis_state(),
        qdrant_state(&stack),
        fs::read(home.join("data/n8n/config")).unwrap(),
        fs::read(home.join(".env")).unwrap(),
    );
    assert!(
        before.3.len() >= 6 && before.4.len() == 2,
        "the stack is seeded: {:?} {:?}",
        before.3,
        before.4
    );

    let output = run(
        &stack,
        "magi-backup",
        &["create", "--json", "--note", "round trip"],
    );
    assert_eq!(code(&output), 0);
    let kinds: Vec<String> = events(&output)
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["backup.started", "backup.completed"]);
    let name = created_name(&output);
    let archive = stack.backups().join(format!("{name}.tar.zst"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let manifest = manifest_of(&archive);
    let methods: BTreeMap<String, String> = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["method"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(methods["data/open-webui/webui.db"], "sqlite-online-backup");
    assert_eq!(methods["data/redis/dump.rdb"], "redis-bgsave");
    assert_eq!(
        methods["snapshots/qdrant/magi_memories.snapshot"],
        "qdrant-snapshot"
    );
    assert_eq!(methods["data/n8n/config"], "copy-paused");
    assert_eq!(methods[".env"], "config");
    assert!(
        manifest["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["engine"] == "qdrant 1.12.4")
    );
    let listed = list(&stack);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["status"].as_str(), listed[0]["note"].as_str()),
        (Some("complete"), Some("round trip"))
    );
    assert!(
        !stack.container_state("open-webui").unwrap().paused,
        "a backup leaves the container running"
    );
    let verify = run(&stack, "magi-backup", &["verify", &name, "--deep"]);
    assert_eq!(code(&verify), 0);
    assert!(list(&stack)[0]["verified"]["ok"] == true);

    // Change and destroy.
    fs::write(&webui, b"this is no longer a database").unwrap();
    Connection::open(&n8n)
        .unwrap()
        .execute_batch("DELETE FROM workflow_entity;")
        .unwrap();
    fs::remove_file(home.join("data/n8n/config")).unwrap();
    fs::write(
        home.join("data/open-webui/uploads/new-after-backup.txt"),
        "gone after restore",
    )
    .unwrap();
    fs::write(home.join(".env"), "WEBUI_SECRET_KEY=changed\n").unwrap();
    fs::write(home.join("config/added-after-backup.yaml"), "x: 1\n").unwrap();
    let config_inode = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(home.join("config")).unwrap().ino()
    };
    redis_cli(&["FLUSHALL"]);
    redis_cli(&["SET", "magi:after", "backup"]);
    let base = stack.qdrant_url();
    http("DELETE", &format!("{base}/collections/magi_memories"), None);
    http(
        "PUT",
        &format!("{base}/collections/late"),
        Some(json!({"vectors": {"size": 4, "distance": "Dot"}})),
    );
    assert_ne!(qdrant_state(&stack), before.4);

    let restore = run(&stack, "magi-restore", &[&name, "--yes"]);
    assert_eq!(code(&restore), 0, "{}", text(&restore.stderr));
    let after = (
        sqlite_rows(&webui),
        sqlite_rows(&n8n),
        sqlite_rows(&chroma),
        redis_state(),
        qdrant_state(&stack),
        fs::read(home.join("data/n8n/config")).unwrap(),
        fs::read(home.join(".env")).unwrap(),
    );
    assert_eq!(after.0, before.0, "webui.db rows");
    assert_eq!(after.1, before.1, "n8n rows");
    assert_eq!(after.2, before.2, "chroma rows");
    assert_eq!(after.3, before.3, "redis keys");
    assert_eq!(after.4, before.4, "qdrant points");
    assert_eq!(after.5, before.5, "n8n encryption key");
    assert_eq!(after.6, before.6, ".env");
    assert!(
        !home
            .join("data/open-webui/uploads/new-after-backup.txt")
            .exists()
    );
    assert!(!home.join("config/added-after-backup.yaml").exists());
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            fs::metadata(home.join("config")).unwrap().ino(),
            config_inode,
            "config/ stays the directory running containers bind-mount"
        );
    }
    let owner = |p: &Path| {
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(p).unwrap();
        (m.uid(), m.gid(), m.mode() & 0o7777)
    };
    let entry = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "data/open-webui/webui.db")
        .unwrap();
    assert_eq!(
        owner(&webui),
        (
            entry["uid"].as_u64().unwrap() as u32,
            entry["gid"].as_u64().unwrap() as u32,
            entry["mode"].as_u64().unwrap() as u32
        )
    );
    let stderr = text(&restore.stderr);
    for phase in ["stage", "swap", "start", "load_collections", "wait"] {
        assert!(
            stderr.contains(&format!("{phase}: ")),
            "the time of {phase} is logged: {stderr}"
        );
    }
    assert!(
        stderr.contains("-safety") && stderr.contains("is removed"),
        "the safety copy is named and removed once the stack is healthy: {stderr}"
    );
    assert_eq!(list(&stack).len(), 1, "the confirmed safety copy is gone");
    assert_restore_dir_empties(&home);
}

/// The restore's working directory under the home holds nothing (at once, or after the background
/// removal of a confirmed safety copy).
fn assert_restore_dir_empties(home: &Path) {
    let dir = home.join(".magi-restore");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left: Vec<String> = fs::read_dir(&dir)
            .map(|es| {
                es.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left under the home: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The manifest at the end of an archive: JSON, its SHA-256, its length, `MAGIMNF1`.
fn manifest_of(path: &Path) -> Value {
    let bytes = fs::read(path).unwrap();
    let n = bytes.len();
    assert_eq!(&bytes[n - 8..], b"MAGIMNF1");
    let len = u64::from_le_bytes(bytes[n - 16..n - 8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[n - 48 - len..n - 48]).unwrap()
}

/// A MAGI home with only configuration files, a config for it and the environment to run our tools there,
/// for the tests that need no container.
pub(crate) struct BareHome {
    root: tempfile::TempDir,
}

impl BareHome {
    pub(crate) fn new(extra: &str) -> BareHome {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        for (path, content) in [
            (
                ".env",
                "OPENAI_API_KEY=sk-test\nWEBUI_SECRET_KEY=s3cret\n".to_owned(),
            ),
            ("docker-compose.yml", "services: {}\n".to_owned()),
            ("config/litellm/config.yaml", "model_list: []\n".repeat(200)),
            ("workflows/daily.json", "{\"nodes\": []}\n".to_owned()),
        ] {
            let p = home.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        let backups = root.path().join("backups");
        fs::create_dir_all(&backups).unwrap();
        fs::write(
            root.path().join("magi.toml"),
            format!(
                "[stack]\nhome = {:?}\nbackup_dir = {:?}\n{extra}",
                home.display().to_string(),
                backups.display().to_string()
            ),
        )
        .unwrap();
        BareHome { root }
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    pub(crate) fn backups(&self) -> PathBuf {
        self.root.path().join("backups")
    }

    /// The state directory the tools are given (`STATE_DIRECTORY`): where their own stores live.
    pub(crate) fn state(&self) -> PathBuf {
        self.root.path().join("state")
    }

    pub(crate) fn command(&self, binary: &str) -> Command {
        self.environment(magi_testkit::bin(binary))
    }

    /// `program` (a wrapper such as `script` or `systemd-cat`) with the environment of [`BareHome::command`].
    fn wrapped(&self, program: &str) -> Command {
        self.environment(Command::new(program))
    }

    fn environment(&self, mut command: Command) -> Command {
        let root = self.root.path();
        command
            .env("MAGI_CONFIG", root.join("magi.toml"))
            .env("STATE_DIRECTORY", root.join("state"))
            .env("HOME", root)
            .env_remove("MAGI_HOME")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null());
        command
    }

    pub(crate) fn run(&self, binary: &str, args: &[&str]) -> Output {
        logged(self.command(binary), binary, args)
    }

    /// `magi-backup prune` keeping the last `last` and nothing by day, week or month, plus `extra`.
    fn prune(&self, last: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "prune",
            "--keep-last",
            last,
            "--keep-daily",
            "0",
            "--keep-weekly",
            "0",
            "--keep-monthly",
            "0",
        ];
        args.extend_from_slice(extra);
        self.run("magi-backup", &args)
    }
}

#[test]
fn backup_a_flipped_byte_anywhere_fails_verify_naming_the_entry() {
    let bare = BareHome::new("");
    let output = bare.run("magi-backup", &["create", "--service", "config", "--json"]);
    assert_eq!(code(&output), 0);
    let name = created_name(&output);
    let path = bare.backups().join(format!("{name}.tar.zst"));
    let original = fs::read(&path).unwrap();
    let manifest = manifest_of(&path);
    let entries = manifest["entries"].as_array().unwrap();
    let trailer = original.len() - 48 - 8 - serde_json::to_vec(&manifest).unwrap().len();
    let mut seed = Instant::now().elapsed().as_nanos() as u64 | 1;
    let mut offsets: Vec<usize> = (0..12)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % original.len() as u64) as usize
        })
        .collect();
    offsets.extend([0, original.len() - 1, trailer - 1]);
    for offset in offsets {
        let mut bytes = original.clone();
        bytes[offset] ^= 0x01;
        fs::write(&path, &bytes).unwrap();
        let verify = bare.run("magi-backup", &["verify", &name]);
        assert_eq!(code(&verify), 1, "a flip at byte {offset} went unnoticed");
        let stderr = text(&verify.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        let owner = entries.iter().find(|e| {
            let start = e["frame"]["offset"].as_u64().unwrap() as usize;
            (start..start + e["frame"]["len"].as_u64().unwrap() as usize).contains(&offset)
        });
        let expected = match owner {
            Some(e) => format!("entry {}:", e["path"].as_str().unwrap()),
            None if offset < trailer => "end of the tar stream".into(),
            None => "the manifest".into(),
        };
        assert!(
            stderr.contains(&expected),
            "flip at {offset}: expected {expected:?} in {stderr}"
        );
    }
    fs::write(&path, &original).unwrap();
    assert_eq!(code(&bare.run("magi-backup", &["verify", &name])), 0);
    let listed = text(&bare.run("magi-backup", &["list", "--json"]).stdout);
    let record: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(
        record["verified"]["ok"], true,
        "the last verification is shown"
    );
}

/// Bytes that do not compress (xorshift64).
pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A tmpfs mounted for the length of a test.
pub(crate) struct Tmpfs(pub(crate) PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn backup_a_full_disk_is_a_clear_error_and_leaves_no_partial_file() {
    if !require(Component::Root) {
        return;
    }
    let bare = BareHome::new("");
    let mount = Tmpfs(bare.backups());
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&mount.0)
        .status()
        .unwrap();
    assert!(status.success(), "mount tmpfs");
    fs::write(bare.home().join("config/big.bin"), noise(3_000_000, 7)).unwrap();
    let output = bare.run("magi-backup", &["create", "--service", "config", "--json"]);
    assert_eq!(code(&output), 1);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("is full"), "{stderr}");
    assert!(stderr.contains("nothing was kept"), "{stderr}");
    let failed: Vec<Value> = events(&output)
        .into_iter()
        .filter(|e| e["kind"] == "backup.failed")
        .collect();
    assert_eq!(failed.len(), 1);
    let left: Vec<_> = fs::read_dir(&mount.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn backup_a_service_down_fails_its_target_and_the_others_are_kept() {
    let Some(stack) = up() else { return };
    stack.stop("redis");
    let output = run(&stack, "magi-backup", &["create", "--json"]);
    assert_eq!(code(&output), 1);
    let failed = events(&output)
        .into_iter()
        .find(|e| e["kind"] == "backup.failed")
        .expect("a backup.failed event");
    assert_eq!(failed["severity"], "critical");
    assert_eq!(failed["data"]["failed_services"], json!(["redis"]));
    assert!(
        failed["message"].as_str().unwrap().contains("redis"),
        "{failed}"
    );
    let name = created_name(&output);
    let listed = list(&stack);
    assert_eq!(listed[0]["status"], "partial");
    assert_eq!(listed[0]["failed"], json!(["redis"]));
    for service in ["open-webui", "qdrant", "n8n", "config"] {
        assert!(
            listed[0]["services"]
                .as_array()
                .unwrap()
                .contains(&json!(service)),
            "{service}: {listed:?}"
        );
    }
    assert_eq!(
        code(&run(&stack, "magi-backup", &["verify", &name, "--deep"])),
        0
    );
    // The dashboard's charts have it: the partial backup marked, its size a figure.
    let state = stack
        .env()
        .into_iter()
        .find(|(k, _)| *k == "STATE_DIRECTORY")
        .map(|(_, v)| PathBuf::from(v))
        .unwrap();
    let reader = magi_tsdb::Reader::new(&state.join("metrics"), magi_tsdb::Tiers::default());
    let now = jiff::Timestamp::now().as_millisecond();
    let marks = reader.annotations(now - 600_000, now + 1).unwrap();
    assert!(
        marks
            .iter()
            .any(|m| m.kind == "backup" && m.text.starts_with(&format!("backup (partial) {name}"))),
        "{marks:?}"
    );
    let size = reader
        .query(
            &magi_tsdb::Selector::name("backup_bytes"),
            now - 600_000,
            now + 1,
            100,
            now,
        )
        .unwrap();
    assert_eq!(
        size[0].buckets.last().unwrap().last,
        failed["data"]["bytes"].as_f64().unwrap()
    );
    stack.start("redis");
}

#[test]
fn backup_killed_at_any_point_leaves_no_half_archive_and_the_next_run_unpauses() {
    let Some(stack) = up() else { return };
    let uploads = stack.home().join("data/open-webui/uploads");
    for i in 0..40 {
        fs::write(
            uploads.join(format!("big-{i}.bin")),
            noise(1_000_000, i + 1),
        )
        .unwrap();
    }
    let mut paused_seen = false;
    for (round, delay_ms) in [0u64, 150, 400, 900, 1600].into_iter().enumerate() {
        let mut child = stack
            .command("magi-backup")
            .args(["create"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if round == 0 {
            // Wait until open-webui's directory is being copied: the container is paused.
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stack.container_state("open-webui").unwrap().paused {
                assert!(Instant::now() < deadline, "magi-cortex was never paused");
                assert!(
                    child.try_wait().unwrap().is_none(),
                    "the backup ended before pausing"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            paused_seen = true;
        } else {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        child.wait().unwrap();
        for record in list(&stack) {
            assert_eq!(
                record["status"], "complete",
                "round {round}: a listed archive is not whole: {record}"
            );
            assert_eq!(
                code(&run(
                    &stack,
                    "magi-backup",
                    &["verify", record["name"].as_str().unwrap()]
                )),
                0
            );
        }
    }
    assert!(paused_seen);
    let output = run(&stack, "magi-backup", &["create", "--service", "config"]);
    assert_eq!(code(&output), 0);
    assert!(
        text(&output.stderr).contains("unpaused magi-cortex")
            || !stack.container_state("open-webui").unwrap().paused
    );
    assert!(
        !stack.container_state("open-webui").unwrap().paused,
        "the next run unpaused magi-cortex"
    );
    let leftovers: Vec<String> = fs::read_dir(stack.backups())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // The verification records (.magi-backup.db and its WAL files) belong there; nothing else hidden does.
        .filter(|n| n.starts_with('.') && !n.starts_with(".magi-backup.db"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn backup_sigterm_unpauses_at_once() {
    let Some(stack) = up() else { return };
    let uploads = stack.home().join("data/open-webui/uploads");
    for i in 0..40 {
        fs::write(
            uploads.join(format!("big-{i}.bin")),
            noise(1_000_000, i + 1),
        )
        .unwrap();
    }
    let child = stack
        .command("magi-backup")
        .args(["create"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stack.container_state("open-webui").unwrap().paused {
        assert!(Instant::now() < deadline, "magi-cortex was never paused");
        std::thread::sleep(Duration::from_millis(5));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(143));
    assert!(!stack.container_state("open-webui").unwrap().paused);
    assert!(list(&stack).is_empty());
    let names: Vec<String> = fs::read_dir(stack.backups())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with(".partial") && n != ".lock"),
        "{names:?}"
    );
}

#[test]
fn backup_a_restore_that_does_not_come_back_rolls_back() {
    let Some(stack) = up() else { return };
    let webui = stack.home().join("data/open-webui/webui.db");
    let output = run(
        &stack,
        "magi-backup",
        &["create", "--service", "open-webui", "--json"],
    );
    assert_eq!(code(&output), 0);
    let name = created_name(&output);
    Connection::open(&webui)
        .unwrap()
        .execute(
            "UPDATE user SET name = 'Ada Renamed After The Backup' WHERE email = 'ada@magi.test'",
            [],
        )
        .unwrap();
    let pre_restore = sqlite_rows(&webui);
    let config = stack.config_path().with_file_name("short-timeout.toml");
    let mut text_config = fs::read_to_string(stack.config_path()).unwrap();
    text_config.push_str("\n[backup]\nrestore_timeout = \"4s\"\n");
    fs::write(&config, text_config).unwrap();
    stack.break_probe("open-webui");
    let started = Instant::now();
    let restore = run(
        &stack,
        "magi-restore",
        &[
            &name,
            "--yes",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&restore), 1);
    assert!(started.elapsed() < Duration::from_secs(60));
    let stderr = text(&restore.stderr);
    assert!(stderr.contains("rolling back"), "{stderr}");
    let failed = events(&restore)
        .into_iter()
        .find(|e| e["kind"] == "restore.failed")
        .expect("restore.failed");
    assert_eq!(failed["data"]["rolled_back"], true);
    assert_eq!(
        sqlite_rows(&webui),
        pre_restore,
        "the data are the pre-restore state"
    );
    stack.fix_probe("open-webui");
    stack.wait_healthy("open-webui", Duration::from_secs(30));
}

#[test]
fn backup_prune_keeps_what_the_policy_says() {
    let bare = BareHome::new("");
    let mut names = Vec::new();
    for _ in 0..4 {
        let output = bare.run("magi-backup", &["create", "--service", "config", "--json"]);
        assert_eq!(code(&output), 0);
        names.push(created_name(&output));
    }
    let dry = bare.prune("2", &["--dry-run"]);
    assert_eq!(code(&dry), 0);
    assert_eq!(text(&dry.stdout).matches("would remove").count(), 2);
    assert_eq!(
        fs::read_dir(bare.backups()).unwrap().count(),
        4,
        "--dry-run deletes nothing"
    );
    let real = bare.prune("2", &[]);
    assert_eq!(code(&real), 0);
    let left: Vec<String> = text(&bare.run("magi-backup", &["list", "--json"]).stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(left, names[2..]);
    let none = bare.prune("0", &[]);
    assert_eq!(code(&none), 2);
}

#[test]
fn backup_auto_writes_a_checked_timer_drop_in() {
    let bare = BareHome::new("");
    let units = bare.root.path().join("units");
    let output = bare.run(
        "magi-backup",
        &[
            "auto",
            "--schedule",
            "Mon..Fri 02:30",
            "--unit-dir",
            units.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&output), 0);
    let drop_in = fs::read_to_string(units.join("magi-backup.timer.d/schedule.conf")).unwrap();
    assert!(
        drop_in.contains("[Timer]\nOnCalendar=\nOnCalendar=Mon..Fri *-*-* 02:30:00\n"),
        "{drop_in}"
    );
    let bad = bare.run(
        "magi-backup",
        &[
            "auto",
            "--schedule",
            "whenever",
            "--unit-dir",
            units.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&bad), 2);
    assert!(text(&bad.stderr).contains("'whenever' is not a schedule systemd accepts"));
    assert_eq!(
        fs::read_to_string(units.join("magi-backup.timer.d/schedule.conf")).unwrap(),
        drop_in,
        "left as it was"
    );
}

#[test]
fn backup_bad_input_is_one_clear_line_and_changes_nothing() {
    let bare = BareHome::new("");
    for (binary, args, expected) in [
        (
            "magi-backup",
            vec!["verify", "magi-2020-01-01T00-00-00.000Z"],
            "no backup named",
        ),
        (
            "magi-backup",
            vec!["create", "--service", "postgres"],
            "no service named 'postgres'",
        ),
        (
            "magi-restore",
            vec!["nonsense", "--yes"],
            "no backup named 'nonsense'",
        ),
        (
            "magi-restore",
            vec!["--at", "yesterday-ish", "--yes"],
            "is not a time",
        ),
    ] {
        let output = bare.run(binary, &args);
        assert_eq!(code(&output), 2, "{args:?}");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
    }
    let output = bare.run("magi-backup", &["create", "--service", "config", "--json"]);
    let name = created_name(&output);
    fs::write(bare.home().join(".env"), "CHANGED=1\n").unwrap();
    let no_yes = bare.run("magi-restore", &[&name]);
    assert_eq!(code(&no_yes), 2, "no --yes and nobody to ask");
    let dry = bare.run("magi-restore", &[&name, "--dry-run"]);
    assert_eq!(code(&dry), 0);
    assert_eq!(
        fs::read(bare.home().join(".env")).unwrap(),
        b"CHANGED=1\n",
        "--dry-run changes nothing"
    );
}

#[test]
fn backup_encrypted_archives_open_only_with_the_identity() {
    if !require(Component::Age) {
        return;
    }
    let keygen = Command::new("age-keygen").output().unwrap();
    assert!(keygen.status.success());
    let key = text(&keygen.stdout);
    let recipient = key
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    let probe = BareHome::new("");
    let key_path = probe.root.path().join("backup-identity.txt");
    fs::write(&key_path, &key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).unwrap();
    let section = format!(
        "[backup]\nrecipient = {recipient:?}\nidentity = {:?}\n",
        key_path.display().to_string()
    );
    let bare = BareHome::new(&section);
    let output = bare.run("magi-backup", &["create", "--service", "config", "--json"]);
    assert_eq!(code(&output), 0);
    let name = created_name(&output);
    let path = bare.backups().join(format!("{name}.tar.zst.age"));
    let bytes = fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !bytes.windows(16).any(|w| w == b"WEBUI_SECRET_KEY"),
        ".env is not in the clear"
    );
    assert_eq!(
        code(&bare.run("magi-backup", &["verify", &name, "--deep"])),
        0
    );
    let listed: Value = serde_json::from_str(
        text(&bare.run("magi-backup", &["list", "--json"]).stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(listed["status"], "complete");
    assert_eq!(code(&bare.run("magi-restore", &[&name, "--dry-run"])), 0);
    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    fs::write(&path, &flipped).unwrap();
    let verify = bare.run("magi-backup", &["verify", &name]);
    assert_eq!(code(&verify), 1);
    fs::write(&path, &bytes).unwrap();

    // Without the identity the archive is listed as locked and cannot be verified.
    fs::write(
        bare.root.path().join("magi.toml"),
        fs::read_to_string(bare.root.path().join("magi.toml"))
            .unwrap()
            .replace(
                &format!("identity = {:?}\n", key_path.display().to_string()),
                "",
            ),
    )
    .unwrap();
    let listed: Value = serde_json::from_str(
        text(&bare.run("magi-backup", &["list", "--json"]).stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(listed["status"], "locked");
    let verify = bare.run("magi-backup", &["verify", &name]);
    assert_eq!(code(&verify), 1);
    assert!(
        text(&verify.stderr).contains("no [backup] identity"),
        "{}",
        text(&verify.stderr)
    );
}

#[test]
fn backup_a_restored_optional_service_that_does_not_come_back_rolls_back() {
    let Some(stack) = up() else { return };
    let n8n = stack.home().join("data/n8n/database.sqlite");
    let output = run(
        &stack,
        "magi-backup",
        &["create", "--service", "n8n", "--json"],
    );
    assert_eq!(code(&output), 0);
    let name = created_name(&output);
    Connection::open(&n8n)
        .unwrap()
        .execute_batch("DELETE FROM workflow_entity;")
        .unwrap();
    let pre_restore = sqlite_rows(&n8n);
    let config = stack.config_path().with_file_name("short-timeout.toml");
    let mut text_config = fs::read_to_string(stack.config_path()).unwrap();
    text_config.push_str("\n[backup]\nrestore_timeout = \"4s\"\n");
    fs::write(&config, text_config).unwrap();
    stack.break_probe("n8n");
    let restore = run(
        &stack,
        "magi-restore",
        &[
            &name,
            "--yes",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&restore), 1, "n8n is optional, but it was restored");
    let stderr = text(&restore.stderr);
    assert!(
        stderr.contains("n8n") && stderr.contains("rolling back"),
        "{stderr}"
    );
    let failed = events(&restore)
        .into_iter()
        .find(|e| e["kind"] == "restore.failed")
        .expect("restore.failed");
    assert_eq!(failed["data"]["rolled_back"], true);
    assert_eq!(sqlite_rows(&n8n), pre_restore, "the pre-restore state");
    assert_restore_dir_empties(stack.home());
    stack.fix_probe("n8n");
}

#[test]
fn backup_qdrant_down_during_a_restore_says_so_and_changes_nothing() {
    let Some(stack) = up() else { return };
    let webui = stack.home().join("data/open-webui/webui.db");
    let output = run(&stack, "magi-backup", &["create", "--json"]);
    assert_eq!(code(&output), 0);
    let name = created_name(&output);
    Connection::open(&webui)
        .unwrap()
        .execute(
            "UPDATE user SET name = 'Ada Changed' WHERE email = 'ada@magi.test'",
            [],
        )
        .unwrap();
    let pre_restore = sqlite_rows(&webui);
    stack.stop("qdrant");
    let restore = run(&stack, "magi-restore", &[&name, "--yes", "--json"]);
    assert_eq!(code(&restore), 1);
    let stderr = text(&restore.stderr);
    assert!(
        stderr.contains("qdrant")
            && stderr.contains("Qdrant does not answer")
            && stderr.contains("nothing was changed")
            && stderr.contains("--service"),
        "one clear line: {stderr}"
    );
    assert!(
        events(&restore)
            .iter()
            .all(|e| e["kind"] != "backup.failed" && e["kind"] != "restore.failed"),
        "nothing started, so nothing failed half-way"
    );
    assert_eq!(
        sqlite_rows(&webui),
        pre_restore,
        "the data are as they were"
    );
    assert_restore_dir_empties(stack.home());
    assert_eq!(list(&stack).len(), 1, "no safety copy is left");
    assert!(
        stack.container_state("open-webui").unwrap().running,
        "nothing was stopped"
    );
    stack.start("qdrant");
}

/// The journal records since `since` (µs since the epoch) whose event names `marker`, polled until
/// `expected` of them arrive or 5 s pass.
fn journal_events(since: u128, marker: &str, expected: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = Command::new("journalctl")
            .args(["--no-pager", "-o", "json", "--since"])
            .arg(format!("@{}", since / 1_000_000))
            .output()
            .unwrap();
        let records: Vec<Value> = text(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["MAGI_EVENT"].as_str().is_some_and(|e| e.contains(marker)))
            .collect();
        if records.len() >= expected || Instant::now() > deadline {
            return records;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn backup_events_reach_journald_with_their_kind() {
    if !require(Component::Journald) {
        return;
    }
    let bare = BareHome::new("");
    let n8n = bare.home().join("data/n8n");
    fs::create_dir_all(&n8n).unwrap();
    fs::write(n8n.join("database.sqlite"), "not a database at all").unwrap();
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let binary = magi_testkit::bin_path("magi-backup");
    for service in ["config", "n8n"] {
        let mut systemd_cat = bare.wrapped("systemd-cat");
        systemd_cat.args(["-t", "magi-backup-test", "sh", "-c"]).arg(format!(
            "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); exec {} create --service {service}",
            binary.display()
        ));
        let output = systemd_cat.output().unwrap();
        assert!(
            output.stderr.is_empty(),
            "nothing on plain stderr: {}",
            text(&output.stderr)
        );
    }
    let marker = bare.backups().display().to_string();
    let records = journal_events(since, &marker, 2);
    let mut kinds: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            (
                r["MAGI_KIND"].as_str().unwrap_or_default().to_owned(),
                r["MAGI_SUBJECT"].as_str().unwrap_or_default().to_owned(),
                r["PRIORITY"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("backup.completed".into(), "config".into(), "5".into()),
            ("backup.failed".into(), "n8n".into(), "3".into()),
        ],
        "{records:?}"
    );
    let failed = records
        .iter()
        .find(|r| r["MAGI_KIND"] == "backup.failed")
        .unwrap();
    let started: Vec<Value> = journal_events(since, "backup of n8n started", 1)
        .into_iter()
        .filter(|r| r["_PID"] == failed["_PID"])
        .collect();
    assert_eq!(
        started.len(),
        1,
        "backup.started is logged too: {started:?}"
    );
    assert_eq!(started[0]["MAGI_KIND"], "backup.started");
    let event: Value = serde_json::from_str(failed["MAGI_EVENT"].as_str().unwrap()).unwrap();
    assert_eq!(event["data"]["failed_services"], json!(["n8n"]));
}

#[test]
fn backup_progress_is_shown_on_a_tty_and_only_there() {
    let bare = BareHome::new("");
    fs::write(bare.home().join("big.bin"), noise(4_000_000, 7)).unwrap();
    let binary = magi_testkit::bin_path("magi-backup");
    let mut script = bare.wrapped("script");
    script
        .arg("-qec")
        .arg(format!("{} create --service config", binary.display()))
        .arg("/dev/null");
    let on_tty = logged(
        script,
        "script -qec 'magi-backup create --service config'",
        &[],
    );
    assert_eq!(code(&on_tty), 0);
    let seen = text(&on_tty.stdout);
    assert!(
        seen.contains("\r\x1b[2K") && seen.contains("MiB/s"),
        "a progress line on the terminal: {seen:?}"
    );
    let piped = bare.run("magi-backup", &["create", "--service", "config"]);
    assert_eq!(code(&piped), 0);
    for stream in [&piped.stdout, &piped.stderr] {
        assert!(
            !text(stream).contains('\x1b') && !text(stream).contains('\r'),
            "no progress escapes without a terminal: {:?}",
            text(stream)
        );
    }
}

#[test]
fn backup_a_restore_killed_after_the_swap_is_rolled_back_by_the_next_one() {
    let Some(stack) = up() else { return };
    let home = stack.home().to_owned();
    let webui = home.join("data/open-webui/webui.db");
    let output = run(
        &stack,
        "magi-backup",
        &["create", "--service", "open-webui", "--json"],
    );
    assert_eq!(code(&output), 0);
    let name = created_name(&output);
    let config = run(
        &stack,
        "magi-backup",
        &["create", "--service", "config", "--json"],
    );
    let config_name = created_name(&config);
    Connection::open(&webui)
        .unwrap()
        .execute(
            "UPDATE user SET name = 'Ada Before The Killed Restore' WHERE email = 'ada@magi.test'",
            [],
        )
        .unwrap();
    let pre_restore = sqlite_rows(&webui);
    let mut child = stack
        .command("magi-restore")
        .args([name.as_str(), "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let work = home.join(".magi-restore");
    let swapped = || {
        fs::read_dir(&work)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                fs::read_to_string(e.path().join("journal.json"))
                    .is_ok_and(|j| j.contains("\"swapping\""))
            })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !swapped() {
        assert!(Instant::now() < deadline, "the restore never swapped");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the restore ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    let listed = list(&stack);
    assert!(
        listed
            .iter()
            .any(|l| l["kind"] == "safety" && l["status"] == "unconfirmed"),
        "the safety copy is listed: {listed:?}"
    );
    let next = run(&stack, "magi-restore", &[&config_name, "--yes"]);
    assert_eq!(code(&next), 0, "{}", text(&next.stderr));
    assert!(
        text(&next.stderr).contains("rolling back to its safety copy"),
        "{}",
        text(&next.stderr)
    );
    assert_eq!(
        sqlite_rows(&webui),
        pre_restore,
        "the unconfirmed restore was undone"
    );
    assert!(stack.container_state("open-webui").unwrap().running);
    assert_restore_dir_empties(&home);
}

/// The directory outside the home a crafted archive aims at, as it was: its files and their content, and
/// the directory's mode and owner.
fn outside_state(dir: &Path) -> (BTreeMap<String, Vec<u8>>, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let files = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    let meta = fs::metadata(dir).unwrap();
    (files, meta.mode() & 0o7777, meta.uid())
}

/// Writes an archive into the bare home's backup directory holding `entries` (built by `write`) under the
/// manifest of a real backup of `config`, so that only what `write` adds is hostile; returns its name.
fn craft(
    bare: &BareHome,
    template: &magi_backup::manifest::Manifest,
    offset_ms: i64,
    write: impl FnOnce(&mut magi_backup::archive::ArchiveWriter),
) -> String {
    use magi_backup::archive::ArchiveWriter;
    use magi_backup::name::{ArchiveName, Kind};
    let name = ArchiveName::new(
        jiff::Timestamp::now() + jiff::SignedDuration::from_millis(offset_ms),
        Kind::Regular,
    );
    let mut writer = ArchiveWriter::create(&bare.backups(), &name.file_name(), None).unwrap();
    write(&mut writer);
    writer.finish(template.clone()).unwrap();
    name.stem()
}

/// What a crafting closure writes entries with.
type Writer = magi_backup::archive::ArchiveWriter;

/// One crafted archive's entries, written in order.
type Craft = Box<dyn FnOnce(&mut Writer)>;

fn meta(path: &str, mode: u32) -> magi_backup::archive::EntryMeta {
    magi_backup::archive::EntryMeta {
        path: path.into(),
        service: "config".into(),
        method: magi_backup::manifest::Method::Config,
        engine: None,
        collection: None,
        mode,
        uid: 0,
        gid: 0,
        mtime: 1_700_000_000,
    }
}

/// Finding 1–4 of the hostile-input issue: archives that reach outside the MAGI home through a symlink
/// they hold (written through, chmod-ed through, chains of links, a relative climb) or a Qdrant collection
/// name with `..` in it. Each is refused alike by `verify`, `list`, `--dry-run` and a real restore, naming
/// the entry, and nothing outside the home (nor in it) changes — run as root, as the restore runs.
#[test]
fn backup_a_crafted_archive_cannot_reach_outside_the_home() {
    use std::os::unix::fs::PermissionsExt;
    if !require(Component::Root) {
        return;
    }
    let bare = BareHome::new("");
    let real = created_name(&bare.run("magi-backup", &["create", "--service", "config", "--json"]));
    let template =
        magi_backup::archive::Archive::open(&bare.backups().join(format!("{real}.tar.zst")), None)
            .unwrap()
            .manifest;
    let outside = bare.root.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("sentinel"), "untouched").unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o750)).unwrap();
    let out = outside.display().to_string();
    let home_before = sorted_tree(&bare.home());
    let outside_before = outside_state(&outside);

    let cases: Vec<(&str, String, Craft)> = vec![
        (
            "write through a symlink",
            "config/out".into(),
            Box::new({
                let out = out.clone();
                move |w| {
                    w.add_symlink(meta("config/out", 0o777), &out).unwrap();
                    w.add_file(meta("config/out/x", 0o644), 5, &mut &b"owned"[..])
                        .unwrap();
                }
            }),
        ),
        (
            "a relative climb",
            "config/up".into(),
            Box::new(|w| {
                w.add_symlink(meta("config/up", 0o777), "../../outside")
                    .unwrap();
                w.add_file(meta("config/up/x", 0o644), 5, &mut &b"owned"[..])
                    .unwrap();
            }),
        ),
        (
            "a chain of symlinks",
            "config/b".into(),
            Box::new({
                let out = out.clone();
                move |w| {
                    w.add_symlink(meta("config/a", 0o777), "b").unwrap();
                    w.add_symlink(meta("config/b", 0o777), &out).unwrap();
                    w.add_file(meta("config/a/x", 0o644), 5, &mut &b"owned"[..])
                        .unwrap();
                }
            }),
        ),
        (
            "chmod through a symlink",
            "config/d2".into(),
            Box::new({
                let out = out.clone();
                move |w| {
                    w.add_symlink(meta("config/d2", 0o777), &out).unwrap();
                    w.add_dir(meta("config/d2", 0o777)).unwrap();
                }
            }),
        ),
        (
            "a symlink replaced by a directory inside the home",
            "config/d3".into(),
            Box::new(|w| {
                w.add_symlink(meta("config/d3", 0o777), "litellm").unwrap();
                w.add_dir(meta("config/d3", 0o777)).unwrap();
            }),
        ),
        (
            "a collection name with ..",
            "snapshots/qdrant/x.snapshot".into(),
            Box::new(|w| {
                let mut snapshot = meta("snapshots/qdrant/x.snapshot", 0o600);
                snapshot.method = magi_backup::manifest::Method::QdrantSnapshot;
                snapshot.collection = Some("../../../../../../../../tmp/x".into());
                w.add_file(snapshot, 5, &mut &b"owned"[..]).unwrap();
            }),
        ),
    ];
    for (offset, (case, entry, write)) in cases.into_iter().enumerate() {
        let name = craft(&bare, &template, 1_000 * (offset as i64 + 1), write);
        let verify = bare.run("magi-backup", &["verify", &name]);
        assert_ne!(code(&verify), 0, "{case}: verify must fail");
        let said = text(&verify.stderr);
        assert!(
            said.contains(&format!("entry {entry}")),
            "{case}: names the entry: {said}"
        );
        let listed = bare.run("magi-backup", &["list", "--json"]);
        let row = events(&listed)
            .into_iter()
            .find(|r| r["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{case}: listed"));
        assert_eq!(row["status"], "damaged", "{case}: {row}");
        assert_ne!(row["verified"]["ok"], true, "{case}: {row}");
        let dry = bare.run("magi-restore", &[&name, "--dry-run"]);
        assert_ne!(code(&dry), 0, "{case}: --dry-run must refuse");
        assert!(
            text(&dry.stderr).contains(&format!("entry {entry}")),
            "{case}"
        );
        let real = bare.run("magi-restore", &[&name, "--yes"]);
        assert_ne!(code(&real), 0, "{case}: the restore must refuse");
        assert_eq!(
            outside_state(&outside),
            outside_before,
            "{case}: outside the home"
        );
        assert_eq!(sorted_tree(&bare.home()), home_before, "{case}: the home");
        assert!(!Path::new("/tmp/x.snapshot").exists(), "{case}");
    }
}

/// Setuid and setgid bits in an archive are not restored, and an owner foreign to this host becomes the
/// owner of the data directory it lands in.
#[test]
fn backup_a_restore_drops_set_id_bits_and_foreign_owners() {
    use std::os::unix::fs::MetadataExt;
    if !require(Component::Root) {
        return;
    }
    // No core service to wait for: the restore of the configuration alone completes.
    let bare = BareHome::new(
        "[services.open-webui]\ntier = \"optional\"\n[services.litellm]\ntier = \"optional\"\n\
         [services.qdrant]\ntier = \"optional\"\n[services.redis]\ntier = \"optional\"\n",
    );
    let real = created_name(&bare.run("magi-backup", &["create", "--service", "config", "--json"]));
    let template =
        magi_backup::archive::Archive::open(&bare.backups().join(format!("{real}.tar.zst")), None)
            .unwrap()
            .manifest;
    let name = craft(&bare, &template, 1_000, |w| {
        let mut suid = meta(".env", 0o4755);
        suid.uid = 4242;
        suid.gid = 4242;
        w.add_file(suid, 5, &mut &b"A=1\n\n"[..]).unwrap();
    });
    let verify = bare.run("magi-backup", &["verify", &name]);
    assert_eq!(code(&verify), 0, "a set-id bit is not damage");
    let restored = bare.run("magi-restore", &[&name, "--yes", "--service", "config"]);
    assert_eq!(code(&restored), 0);
    let meta = fs::metadata(bare.home().join(".env")).unwrap();
    assert_eq!(fs::read(bare.home().join(".env")).unwrap(), b"A=1\n\n");
    assert_eq!(meta.mode() & 0o7777, 0o755, "setuid dropped");
    let home = fs::metadata(bare.home()).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (home.uid(), home.gid()),
        "foreign owner replaced"
    );
}

/// Every file under `dir` (links not followed) with its content or link target, for before/after checks.
fn sorted_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for e in fs::read_dir(&at).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if rel.starts_with(".magi-restore") {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                found.insert(
                    rel,
                    format!("-> {}", fs::read_link(&path).unwrap().display()),
                );
            } else if meta.is_dir() {
                found.insert(rel, "dir".into());
                stack.push(path);
            } else {
                found.insert(rel, text(&fs::read(&path).unwrap()));
            }
        }
    }
    found
}

/// Documented and untested until now: `magi-restore --at TIME` picks the newest backup taken at or before
/// TIME and restores it; an encrypted archive is restored for real, byte for byte; the dry run names the
/// archive and what it replaces and changes nothing; a time before every backup, and the wrong identity,
/// are one clear line each and change nothing.
#[test]
fn backup_restores_at_a_time_from_an_encrypted_archive_as_the_dry_run_said() {
    if !require(Component::Age) {
        return;
    }
    let keygen = |dir: &Path, name: &str| {
        let out = Command::new("age-keygen").output().unwrap();
        assert!(out.status.success());
        let key = text(&out.stdout);
        let path = dir.join(name);
        fs::write(&path, &key).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let recipient = key
            .lines()
            .find_map(|l| l.strip_prefix("# public key: "))
            .unwrap()
            .to_owned();
        (path, recipient)
    };
    let keys = tempfile::tempdir().unwrap();
    let (identity, recipient) = keygen(keys.path(), "identity.txt");
    let (other, _) = keygen(keys.path(), "other.txt");
    let section = |identity: &Path| {
        format!(
            "[services.open-webui]\ntier = \"optional\"\n[services.litellm]\ntier = \"optional\"\n\
             [services.qdrant]\ntier = \"optional\"\n[services.redis]\ntier = \"optional\"\n\
             [backup]\nrecipient = {recipient:?}\nidentity = {:?}\n",
            identity.display().to_string()
        )
    };
    let bare = BareHome::new(&section(&identity));
    let env = bare.home().join(".env");
    let original = fs::read(&env).unwrap();
    let first =
        created_name(&bare.run("magi-backup", &["create", "--service", "config", "--json"]));
    let taken: jiff::Timestamp = fs::read_dir(bare.backups())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().modified().unwrap())
        .max()
        .unwrap()
        .try_into()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    fs::write(&env, "SECOND=2\n").unwrap();
    let second =
        created_name(&bare.run("magi-backup", &["create", "--service", "config", "--json"]));
    assert_ne!(first, second);
    fs::write(&env, "NOW=3\n").unwrap();
    let between = (taken + jiff::SignedDuration::from_millis(500)).to_string();

    let dry = bare.run("magi-restore", &["--at", &between, "--dry-run"]);
    assert_eq!(code(&dry), 0);
    let said = text(&dry.stdout);
    assert!(said.starts_with(&format!("{first} (taken ")), "{said}");
    let config_line = said
        .lines()
        .find(|l| l.trim_start().starts_with("config"))
        .unwrap_or_else(|| panic!("the config line: {said}"));
    assert!(config_line.contains(" files, "), "{config_line}");
    assert_eq!(
        fs::read(&env).unwrap(),
        b"NOW=3\n",
        "a dry run changes nothing"
    );

    let restored = bare.run("magi-restore", &["--at", &between, "--yes"]);
    assert_eq!(code(&restored), 0, "{}", text(&restored.stderr));
    assert_eq!(
        fs::read(&env).unwrap(),
        original,
        "the first backup's .env, byte for byte, not the second's"
    );

    let before_all = bare.run("magi-restore", &["--at", "2001-01-01 00:00", "--yes"]);
    assert_eq!(code(&before_all), 2);
    assert!(text(&before_all.stderr).contains("no readable backup was taken at or before"));
    assert_eq!(fs::read(&env).unwrap(), original);

    fs::write(bare.root.path().join("magi.toml"), section(&other)).unwrap();
    let home = bare.home();
    let toml = fs::read_to_string(bare.root.path().join("magi.toml")).unwrap();
    fs::write(
        bare.root.path().join("magi.toml"),
        format!(
            "[stack]\nhome = {:?}\nbackup_dir = {:?}\n{toml}",
            home.display().to_string(),
            bare.backups().display().to_string()
        ),
    )
    .unwrap();
    fs::write(&env, "NOW=4\n").unwrap();
    let wrong = bare.run("magi-restore", &[&second, "--yes"]);
    assert_ne!(code(&wrong), 0);
    assert_eq!(
        text(&wrong.stderr).lines().count(),
        1,
        "{}",
        text(&wrong.stderr)
    );
    assert_eq!(
        fs::read(&env).unwrap(),
        b"NOW=4\n",
        "the wrong identity changes nothing"
    );
}

/// Documented and untested until now: `magi-restore NAME --service S` out of an archive of the whole stack
/// puts back S's data only; every other service keeps what it has now.
#[test]
fn backup_restore_of_one_service_leaves_the_others_as_they_are() {
    let Some(stack) = up() else { return };
    let home = stack.home().to_owned();
    let n8n = home.join("data/n8n/database.sqlite");
    let n8n_before = sqlite_rows(&n8n);
    let output = run(&stack, "magi-backup", &["create", "--json"]);
    assert_eq!(code(&output), 0);
    let name = created_name(&output);

    Connection::open(&n8n)
        .unwrap()
        .execute_batch("DELETE FROM workflow_entity;")
        .unwrap();
    redis_cli(&["SET", "magi:after", "the backup"]);
    fs::write(
        home.join(".env"),
        "WEBUI_SECRET_KEY=changed after the backup\n",
    )
    .unwrap();
    let redis_now = redis_state();
    let n8n_changed = sqlite_rows(&n8n);
    assert_ne!(n8n_changed, n8n_before);

    let dry = run(
        &stack,
        "magi-restore",
        &[&name, "--service", "n8n", "--dry-run"],
    );
    assert_eq!(code(&dry), 0);
    let said = text(&dry.stdout);
    let services: Vec<&str> = said
        .lines()
        .skip(1)
        .filter(|l| !l.trim_start().starts_with("stops"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(services, ["n8n"], "the dry run names n8n alone: {said}");

    let restored = run(
        &stack,
        "magi-restore",
        &[&name, "--service", "n8n", "--yes"],
    );
    assert_eq!(code(&restored), 0, "{}", text(&restored.stderr));
    assert_eq!(sqlite_rows(&n8n), n8n_before, "n8n is as it was backed up");
    assert_eq!(redis_state(), redis_now, "redis keeps what it has now");
    assert_eq!(
        fs::read(home.join(".env")).unwrap(),
        b"WEBUI_SECRET_KEY=changed after the backup\n",
        "the configuration keeps what it has now"
    );
}

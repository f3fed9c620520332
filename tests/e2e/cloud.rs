//! Cloud backup against a real S3 server (SeaweedFS) and the mini MAGI stack in Docker: configure with a
//! write-read-delete probe, upload only what changed, nothing readable in the bucket, restore straight from
//! the bucket with the local archives gone, a write-only host, a flipped byte, a wrong secret and a wrong
//! key.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use magi_testkit::{Component, MiniStack, S3Server, require};
use rusqlite::Connection;
use serde_json::Value;

const BUCKET: &str = "magi-offsite";

use crate::backup::{code, text};

/// The stack's environment plus its config directory as the place credentials go.
fn command(stack: &MiniStack, binary: &str, config: &Path) -> Command {
    let mut command = stack.command(binary);
    command
        .env("MAGI_CONFIG", config)
        .env("CONFIGURATION_DIRECTORY", config.parent().unwrap())
        .stdin(Stdio::null());
    command
}

fn run(stack: &MiniStack, config: &Path, binary: &str, args: &[&str]) -> Output {
    let output = command(stack, binary, config)
        .args(args)
        .output()
        .expect("the binary runs");
    eprintln!(
        "$ {binary} {}\n{}{}",
        args.join(" "),
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

pub(crate) fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn uploaded_event(output: &Output) -> Value {
    json_lines(output)
        .into_iter()
        .find(|e| e["kind"] == "backup.cloud.uploaded")
        .unwrap_or_else(|| panic!("no backup.cloud.uploaded in {}", text(&output.stdout)))
}

fn created_name(output: &Output) -> String {
    json_lines(output)
        .iter()
        .find(|e| e["kind"] == "backup.completed")
        .and_then(|e| e["data"]["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no backup name in {}", text(&output.stdout)))
}

fn rows(path: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut statement = conn.prepare(sql).unwrap();
    statement
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every object in the bucket, read back.
fn bucket_objects(s3: &S3Server) -> Vec<(String, Vec<u8>)> {
    s3.list_objects(BUCKET)
        .into_iter()
        .map(|key| {
            let bytes = s3.get_object(BUCKET, &key).unwrap();
            (key, bytes)
        })
        .collect()
}

/// `magi-backup cloud configure` for the test bucket of `s3`, its keys in the files given.
fn configure_bucket(
    stack: &MiniStack,
    config: &Path,
    s3: &S3Server,
    key_file: &Path,
    secret_file: &Path,
) -> Output {
    run(
        stack,
        config,
        "magi-backup",
        &[
            "cloud",
            "configure",
            "--endpoint",
            s3.endpoint(),
            "--bucket",
            BUCKET,
            "--access-key-file",
            key_file.to_str().unwrap(),
            "--secret-key-file",
            secret_file.to_str().unwrap(),
        ],
    )
}

fn write_secret(dir: &Path, name: &str, value: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("{value}\n")).unwrap();
    path
}

#[test]
fn cloud_backup_uploads_what_changed_and_restores_from_the_bucket_alone() {
    if !require(Component::SeaweedFS) {
        return;
    }
    let Some(stack) = MiniStack::available().then(MiniStack::up) else {
        return;
    };
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let config = stack.config_path().to_owned();
    let etc = config.parent().unwrap().to_owned();
    let keys = tempfile::tempdir().unwrap();
    let key_file = write_secret(keys.path(), "key", s3.access_key());
    let secret_file = write_secret(keys.path(), "secret", s3.secret_key());
    let home = stack.home().to_owned();
    let marker = "MAGI-PLAINTEXT-MARKER-7f3a91";
    fs::write(
        home.join("data/open-webui/uploads/secret-notes.txt"),
        format!("{marker}\n").repeat(2000),
    )
    .unwrap();

    let off = run(
        &stack,
        &config,
        "magi-backup",
        &["cloud", "upload", "--if-configured"],
    );
    assert_eq!(
        code(&off),
        0,
        "the unit's run does nothing until [cloud] is written"
    );
    let off = run(&stack, &config, "magi-backup", &["cloud", "upload"]);
    assert_eq!(code(&off), 2, "asked for, it is a usage error");
    assert!(text(&off.stderr).contains("configure"));

    let configure = configure_bucket(&stack, &config, &s3, &key_file, &secret_file);
    assert_eq!(code(&configure), 0);
    assert!(text(&configure.stdout).contains("KEEP AN OFFLINE COPY"));
    let written = fs::read_to_string(&config).unwrap();
    assert!(written.contains("[cloud]") && written.contains("secret_key = \"cloud-secret-key\""));
    assert!(
        !written.contains(s3.secret_key()),
        "the secret is not in the config"
    );
    use std::os::unix::fs::PermissionsExt;
    for name in ["cloud-identity", "cloud-secret-key", "cloud-access-key"] {
        let mode = fs::metadata(etc.join("credentials").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let leftover: Vec<String> = s3
        .list_objects(BUCKET)
        .into_iter()
        .filter(|k| k.contains("probe"))
        .collect();
    assert!(
        leftover.is_empty(),
        "the probe object is deleted: {leftover:?}"
    );

    let create = run(&stack, &config, "magi-backup", &["create", "--json"]);
    assert_eq!(code(&create), 0);
    let first = created_name(&create);
    let upload = run(
        &stack,
        &config,
        "magi-backup",
        &["cloud", "upload", "--json"],
    );
    assert_eq!(code(&upload), 0);
    let event = uploaded_event(&upload);
    assert_eq!(event["data"]["name"], first.as_str());
    let total = event["data"]["bytes"].as_u64().unwrap();
    assert!(total > 100_000, "{event}");
    let again = run(&stack, &config, "magi-backup", &["cloud", "upload"]);
    assert_eq!(code(&again), 0);
    assert!(text(&again.stdout).contains("already in"));
    let listed = run(&stack, &config, "magi-backup", &["list", "--json"]);
    assert!(
        json_lines(&listed)[0]["uploaded"].is_string(),
        "list shows the upload"
    );

    for (key, bytes) in bucket_objects(&s3) {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{key} holds plaintext"
        );
    }

    // A small change: one workflow renamed.
    let n8n = home.join("data/n8n/database.sqlite");
    Connection::open(&n8n)
        .unwrap()
        .execute(
            "UPDATE workflow_entity SET name = 'renamed after the first backup'",
            [],
        )
        .unwrap();
    let wanted = rows(&n8n, "SELECT name FROM workflow_entity ORDER BY id");
    let create = run(&stack, &config, "magi-backup", &["create", "--json"]);
    let second = created_name(&create);
    let upload = run(
        &stack,
        &config,
        "magi-backup",
        &["cloud", "upload", "--json"],
    );
    assert_eq!(code(&upload), 0);
    let event = uploaded_event(&upload);
    let new_bytes = event["data"]["new_bytes"].as_u64().unwrap();
    assert!(
        new_bytes * 4 < total,
        "an incremental upload stores what changed: {new_bytes} of {total}"
    );

    // The box loses its disk: the stack's data changed, every local archive gone.
    fs::write(
        home.join("data/open-webui/uploads/secret-notes.txt"),
        "gone",
    )
    .unwrap();
    Connection::open(&n8n)
        .unwrap()
        .execute_batch("DELETE FROM workflow_entity;")
        .unwrap();
    let backups = config.parent().unwrap().join("backups");
    for entry in fs::read_dir(&backups).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".tar.zst") {
            fs::remove_file(path).unwrap();
        }
    }
    let list = run(&stack, &config, "magi-backup", &["cloud", "list", "--json"]);
    assert_eq!(code(&list), 0);
    let snapshots = json_lines(&list);
    let names: Vec<&str> = snapshots
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [first.as_str(), second.as_str()]);
    assert!(snapshots.iter().all(|s| s["local"] == false));

    let restore = run(
        &stack,
        &config,
        "magi-restore",
        &[
            "--from-cloud",
            &second,
            "--service",
            "n8n",
            "--service",
            "open-webui",
            "--yes",
        ],
    );
    assert_eq!(code(&restore), 0);
    assert_eq!(
        rows(&n8n, "SELECT name FROM workflow_entity ORDER BY id"),
        wanted
    );
    assert_eq!(
        fs::read_to_string(home.join("data/open-webui/uploads/secret-notes.txt")).unwrap(),
        format!("{marker}\n").repeat(2000)
    );
    let look = tempfile::tempdir().unwrap();
    let to = look.path().join("look");
    let fetched = run(
        &stack,
        &config,
        "magi-restore",
        &[
            "--from-cloud",
            &second,
            "--service",
            "n8n",
            "--to",
            to.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&fetched), 0);
    assert_eq!(
        rows(
            &to.join("data/n8n/database.sqlite"),
            "SELECT name FROM workflow_entity ORDER BY id"
        ),
        wanted,
        "--to writes the files where a person can look"
    );
    assert!(
        !to.join("data/open-webui").exists(),
        "only the service asked for"
    );
    let again = run(
        &stack,
        &config,
        "magi-restore",
        &["--from-cloud", &second, "--to", to.to_str().unwrap()],
    );
    assert_eq!(code(&again), 1, "a directory that is not empty is refused");
    let leftovers: Vec<String> = fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".cloud-restore"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the rebuilt archive is removed: {leftovers:?}"
    );

    let verify = run(
        &stack,
        &config,
        "magi-backup",
        &["cloud", "verify", "--deep", "--restore", "--json"],
    );
    assert_eq!(code(&verify), 0);
    let report: Value = serde_json::from_str(text(&verify.stdout).trim()).unwrap();
    assert_eq!(report["restored"]["name"], second.as_str(), "{report}");
    assert_eq!(report["problems"], serde_json::json!([]));

    let drill = run(
        &stack,
        &config,
        "magi-backup",
        &["cloud", "verify", "--drill"],
    );
    assert_eq!(code(&drill), 1, "without Object Lock the drill fails");
    assert!(text(&drill.stdout).contains("can delete every backup"));

    // A flipped byte in a pack: named by verify, and a restore that needs it changes nothing.
    let (key, mut bytes) = bucket_objects(&s3)
        .into_iter()
        .filter(|(k, _)| k.contains("/data/"))
        .max_by_key(|(_, b)| b.len())
        .unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    s3.put_object(BUCKET, &key, &bytes);
    let verify = run(
        &stack,
        &config,
        "magi-backup",
        &["cloud", "verify", "--deep"],
    );
    assert_eq!(code(&verify), 1);
    let pack = key.rsplit('/').next().unwrap();
    assert!(
        text(&verify.stdout).contains(pack),
        "the damaged pack is named"
    );
    assert!(
        text(&verify.stdout).contains(&format!("snapshot {second}, ")),
        "and the snapshot and file that need it"
    );

    // A wrong secret and a wrong key are two different, clear errors.
    let wrong = config.with_file_name("wrong-secret.toml");
    fs::write(
        &wrong,
        written.replace(
            "\"cloud-secret-key\"",
            &format!("\"{}\"", keys.path().join("bad").display()),
        ),
    )
    .unwrap();
    fs::write(keys.path().join("bad"), "not-the-secret\n").unwrap();
    fs::set_permissions(keys.path().join("bad"), fs::Permissions::from_mode(0o600)).unwrap();
    let denied = run(&stack, &wrong, "magi-backup", &["cloud", "list"]);
    assert_eq!(code(&denied), 1);
    let said = text(&denied.stderr);
    assert!(
        said.contains(BUCKET) && said.contains("SignatureDoesNotMatch"),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "one line: {said}");

    let other_key = keys.path().join("other-identity");
    fs::write(
        &other_key,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(
                &age::x25519::Identity::generate().to_string()
            )
        ),
    )
    .unwrap();
    fs::set_permissions(&other_key, fs::Permissions::from_mode(0o600)).unwrap();
    let stranger = config.with_file_name("wrong-key.toml");
    fs::write(
        &stranger,
        written.replace(
            "identity = \"cloud-identity\"",
            &format!("identity = \"{}\"", other_key.display()),
        ),
    )
    .unwrap();
    let refused = run(&stack, &stranger, "magi-backup", &["cloud", "list"]);
    assert_eq!(code(&refused), 1);
    let said = text(&refused.stderr);
    assert!(
        said.contains("cannot be decrypted with the [cloud] identity"),
        "{said}"
    );

    // A write-only host: the recipient alone uploads, and cannot read back.
    let recipient = written
        .lines()
        .find_map(|l| l.strip_prefix("recipient = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let writer = config.with_file_name("write-only.toml");
    fs::write(
        &writer,
        written
            .lines()
            .filter(|l| !l.starts_with("identity = "))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    assert!(fs::read_to_string(&writer).unwrap().contains(&recipient));
    let create = run(&stack, &writer, "magi-backup", &["create", "--json"]);
    let third = created_name(&create);
    let upload = run(&stack, &writer, "magi-backup", &["cloud", "upload", &third]);
    assert_eq!(code(&upload), 0);
    let restore = run(
        &stack,
        &writer,
        "magi-restore",
        &["--from-cloud", &third, "--yes"],
    );
    assert_eq!(code(&restore), 1);
    assert!(
        text(&restore.stderr).contains("write-only"),
        "{}",
        text(&restore.stderr)
    );
}

/// A file shaped like a SQLite database: the header, then 4 KiB pages of noise.
fn database(pages: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut db: Vec<u8> = (0..pages * 4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    db[..16].copy_from_slice(b"SQLite format 3\0");
    db[16..18].copy_from_slice(&4096u16.to_be_bytes());
    db
}

fn back_up(
    repo: &mut magi_repo::Repository,
    name: &str,
    files: &[(&str, &[u8])],
) -> magi_repo::snapshot::Snapshot {
    use std::io::Write as _;
    let mut backup = repo.backup();
    for (path, content) in files {
        let mut writer = backup.file(path, content.len() as u64);
        writer.write_all(content).unwrap();
        writer.finish().unwrap();
    }
    backup.finish(name, "test-host", Value::Null).unwrap()
}

/// The repository's own round trip on one server: backup, restore, an incremental that stores only the
/// changed pages with no LIST, a multipart object, verify, prune, and a missing bucket named.
fn repository_on(s3: &S3Server, server: &str) {
    use magi_repo::s3::{Provider, Retry, S3Config, S3Store};
    use magi_repo::store::Store;
    use std::sync::Arc;
    s3.create_bucket(BUCKET);
    let config = |bucket: &str| S3Config {
        endpoint: s3.endpoint().parse().unwrap(),
        bucket: bucket.to_owned(),
        region: s3.region().to_owned(),
        prefix: "magi".into(),
        provider: Provider::Generic,
        access_key: s3.access_key().to_owned(),
        secret_key: s3.secret_key().to_owned(),
        retry: Retry {
            deadline: std::time::Duration::from_secs(5),
            ..Retry::default()
        },
        lock_days: None,
    };
    let store = Arc::new(S3Store::new(&config(BUCKET)).unwrap());
    assert!(magi_repo::repo::init(store.as_ref()).unwrap(), "{server}");
    let identity = Arc::new(age::x25519::Identity::generate());
    let keys = magi_repo::Keys {
        recipient: identity.to_public(),
        identity: Some(Arc::clone(&identity)),
    };
    let cache = tempfile::tempdir().unwrap();
    let shared: Arc<dyn Store> = store.clone();
    let mut repo = magi_repo::Repository::open(
        Arc::clone(&shared),
        keys.clone(),
        cache.path(),
        magi_repo::Options::default(),
    )
    .unwrap();
    let mut db = database(600, 1);
    let rdb = database(300, 2)[4096..].to_vec();
    let only_in_one = database(2600, 4)[4096..].to_vec();
    back_up(
        &mut repo,
        "one",
        &[
            ("webui.db", &db),
            ("dump.rdb", &rdb),
            ("small", b"x"),
            ("old", &only_in_one),
        ],
    );
    for page in [7usize, 300, 301, 599] {
        db[page * 4096 + 9] ^= 0xff;
    }
    let before = store.counters();
    let second = back_up(
        &mut repo,
        "two",
        &[("webui.db", &db), ("dump.rdb", &rdb), ("small", b"x")],
    );
    let used = store.counters();
    assert_eq!(second.stats.new_chunks, 4, "{server}: {:?}", second.stats);
    assert_eq!(
        used.list - before.list,
        0,
        "{server}: no LIST on the hot path"
    );
    let requests = used.requests() - before.requests();
    assert!(
        requests <= 8,
        "{server}: {requests} requests for an incremental"
    );

    let fresh = tempfile::tempdir().unwrap();
    let keys_again = keys.clone();
    let mut reader =
        magi_repo::Repository::open(shared, keys, fresh.path(), magi_repo::Options::default())
            .unwrap();
    let snapshot = reader.snapshot("two").unwrap();
    let out = tempfile::tempdir().unwrap();
    let paths = reader
        .restore(&snapshot, &[0, 1], out.path(), &|_| {})
        .unwrap();
    assert_eq!(fs::read(&paths[0]).unwrap(), db, "{server}");
    assert_eq!(fs::read(&paths[1]).unwrap(), rdb, "{server}");
    let report = reader.verify(true, 0).unwrap();
    assert!(
        report.problems.is_empty(),
        "{server}: {:?}",
        report.problems
    );
    reader.forget(&["one".to_owned()]).unwrap();
    let pruned = reader
        .prune(std::time::Duration::ZERO, 1.0, &[], false)
        .unwrap();
    assert!(pruned.deleted_packs >= 1, "{server}: {pruned:?}");
    let report = reader.verify(true, 0).unwrap();
    assert!(
        report.problems.is_empty(),
        "{server} after prune: {:?}",
        report.problems
    );

    let big: Vec<u8> = database(18_000, 3);
    store.put("probe/multipart", &big, false).unwrap();
    assert!(
        store.get("probe/multipart").unwrap() == Some(big),
        "{server}: multipart"
    );
    store.delete("probe/multipart").unwrap();

    let missing: Arc<dyn Store> = Arc::new(S3Store::new(&config("no-such-bucket")).unwrap());
    let error = match magi_repo::Repository::open(
        missing,
        keys_again,
        cache.path(),
        magi_repo::Options::default(),
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("{server}: a missing bucket opened"),
    };
    assert!(
        error.contains("no-such-bucket") && error.contains("NoSuchBucket"),
        "{server}: {error}"
    );
}

#[test]
fn cloud_repository_works_on_three_s3_servers() {
    if !require(Component::SeaweedFS) || !require(Component::MoreS3) {
        return;
    }
    for (server, name) in [
        (S3Server::start as fn() -> S3Server, "SeaweedFS"),
        (S3Server::moto, "moto"),
        (S3Server::s3s_fs, "s3s-fs"),
    ] {
        let started = std::time::Instant::now();
        repository_on(&server(), name);
        eprintln!("{name}: {:.1} s", started.elapsed().as_secs_f64());
    }
}

#[test]
fn cloud_a_snapshot_restores_with_age_zstd_and_python_alone() {
    use magi_repo::store::{DirStore, Store};
    use std::sync::Arc;
    if !require(Component::Age) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(DirStore::new(&dir.path().join("repo")).unwrap());
    magi_repo::repo::init(store.as_ref()).unwrap();
    let identity = age::x25519::Identity::generate();
    let identity_file = dir.path().join("cloud-identity");
    fs::write(
        &identity_file,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&identity.to_string())
        ),
    )
    .unwrap();
    let keys = magi_repo::Keys {
        recipient: identity.to_public(),
        identity: None,
    };
    let mut repo = magi_repo::Repository::open(
        store,
        keys,
        &dir.path().join("cache"),
        magi_repo::Options::default(),
    )
    .unwrap();
    let db = database(700, 9);
    let rdb = database(200, 10)[100..].to_vec();
    back_up(
        &mut repo,
        "magi-2026-12-04T03-00-00.000Z",
        &[
            ("data/open-webui/webui.db", &db),
            ("data/redis/dump.rdb", &rdb),
            (".env", b"A=1\n"),
        ],
    );
    let out = dir.path().join("out");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/magi-repo/recover.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg("--repository")
        .arg(dir.path().join("repo"))
        .arg("--identity")
        .arg(&identity_file)
        .arg("magi-2026-12-04T03-00-00.000Z")
        .arg(&out)
        .output()
        .unwrap();
    eprintln!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(output.status.success());
    assert_eq!(fs::read(out.join("data/open-webui/webui.db")).unwrap(), db);
    assert_eq!(fs::read(out.join("data/redis/dump.rdb")).unwrap(), rdb);
    assert_eq!(fs::read(out.join(".env")).unwrap(), b"A=1\n");

    // A flipped byte in a pack is named, and no file is claimed whole.
    let pack = fs::read_dir(dir.path().join("repo/data"))
        .unwrap()
        .flat_map(|d| fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = fs::read(&pack).unwrap();
    bytes[1000] ^= 1;
    fs::write(&pack, bytes).unwrap();
    let output = Command::new("python3")
        .arg(&script)
        .arg("--repository")
        .arg(dir.path().join("repo"))
        .arg("--identity")
        .arg(&identity_file)
        .arg("magi-2026-12-04T03-00-00.000Z")
        .arg(dir.path().join("out2"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("damaged"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn cloud_uploads_ride_out_server_errors_cut_answers_and_an_outage() {
    use magi_repo::s3::{Provider, Retry, S3Config, S3Store};
    use magi_repo::store::Store;
    use magi_testkit::faulty::{Faults, FaultyProxy};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    if !require(Component::SeaweedFS) {
        return;
    }
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let proxy = FaultyProxy::start(s3.endpoint());
    let config = |bucket: &str| S3Config {
        endpoint: proxy.endpoint().parse().unwrap(),
        bucket: bucket.to_owned(),
        region: s3.region().to_owned(),
        prefix: "magi".into(),
        provider: Provider::Generic,
        access_key: s3.access_key().to_owned(),
        secret_key: s3.secret_key().to_owned(),
        retry: Retry::default(),
        lock_days: None,
    };
    let store: Arc<dyn Store> = Arc::new(S3Store::new(&config(BUCKET)).unwrap());
    magi_repo::repo::init(store.as_ref()).unwrap();
    let identity = Arc::new(age::x25519::Identity::generate());
    let keys = magi_repo::Keys {
        recipient: identity.to_public(),
        identity: Some(Arc::clone(&identity)),
    };
    let small_packs = magi_repo::Options {
        parallel: 4,
        pack_size: 128 << 10,
    };
    let cache = tempfile::tempdir().unwrap();
    let mut repo =
        magi_repo::Repository::open(Arc::clone(&store), keys.clone(), cache.path(), small_packs)
            .unwrap();

    // One in ten requests refused with 503/500, one in twenty answers cut off, and a 30-second outage
    // a second into the upload.
    proxy.set(Faults {
        error_rate: 0.10,
        reset_rate: 0.05,
        ..Faults::default()
    });
    let db = database(3000, 21);
    let started = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(1));
            proxy.outage(Duration::from_secs(30));
        });
        back_up(&mut repo, "faulty", &[("webui.db", &db)]);
    });
    let counts = proxy.counts();
    eprintln!(
        "uploaded through {counts:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        counts.errors > 0 && counts.resets > 0 && counts.dropped > 0,
        "{counts:?}"
    );
    assert!(
        started.elapsed() > Duration::from_secs(30),
        "it waited out the outage"
    );

    let fresh = tempfile::tempdir().unwrap();
    let mut reader =
        magi_repo::Repository::open(Arc::clone(&store), keys, fresh.path(), small_packs).unwrap();
    let snapshot = reader.snapshot("faulty").unwrap();
    let out = tempfile::tempdir().unwrap();
    let paths = reader
        .restore(&snapshot, &[0], out.path(), &|_| {})
        .unwrap();
    assert_eq!(
        fs::read(&paths[0]).unwrap(),
        db,
        "restored through the same faults"
    );
    proxy.set(Faults::default());
    let report = reader.verify(true, 0).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // What the server means is not retried: a missing bucket fails on its first answers.
    let before = proxy.counts().requests;
    let missing: Arc<dyn Store> = Arc::new(S3Store::new(&config("no-such-bucket")).unwrap());
    let error = match magi_repo::Repository::open(
        missing,
        magi_repo::Keys {
            recipient: identity.to_public(),
            identity: None,
        },
        fresh.path(),
        small_packs,
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a missing bucket opened"),
    };
    assert!(error.contains("NoSuchBucket"), "{error}");
    assert!(
        proxy.counts().requests - before <= 2,
        "no retry of a 404: {:?}",
        proxy.counts()
    );
}

#[test]
fn cloud_upload_killed_anywhere_half_lists_nothing_and_loses_at_most_the_pack_in_flight() {
    use std::time::{Duration, Instant};
    if !require(Component::SeaweedFS) {
        return;
    }
    let Some(stack) = MiniStack::available().then(MiniStack::up) else {
        return;
    };
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let config = stack.config_path().to_owned();
    let keys = tempfile::tempdir().unwrap();
    let key_file = write_secret(keys.path(), "key", s3.access_key());
    let secret_file = write_secret(keys.path(), "secret", s3.secret_key());
    let configure = configure_bucket(&stack, &config, &s3, &key_file, &secret_file);
    assert_eq!(code(&configure), 0);
    // One upload at a time, so "in flight" is one pack.
    let mut text_of_config = fs::read_to_string(&config).unwrap();
    text_of_config.push_str("parallel = 1\n");
    fs::write(&config, text_of_config).unwrap();
    let big = stack.home().join("data/open-webui/uploads/big.bin");

    let mut seed = 100;
    let new_backup = |seed: u64| {
        fs::write(&big, database(2000, seed)).unwrap();
        let create = run(&stack, &config, "magi-backup", &["create", "--json"]);
        created_name(&create)
    };
    // How long an upload takes: the shorter of the first (which sets the repository up) and an
    // incremental one, as the rounds below are. A kill comes anywhere in its first nine tenths.
    let mut name = new_backup(seed);
    let mut full = Duration::MAX;
    for _ in 0..2 {
        let started = Instant::now();
        let upload = run(&stack, &config, "magi-backup", &["cloud", "upload", &name]);
        assert_eq!(code(&upload), 0);
        full = full.min(started.elapsed());
        seed += 1;
        name = new_backup(seed);
    }

    let mut kills = 0;
    for round in 0..50 {
        let delay = Duration::from_secs_f64(full.as_secs_f64() * 0.9 * fastrand::f64());
        let mut child = command(&stack, "magi-backup", &config)
            .args(["cloud", "upload", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        // Whatever the moment, every listed snapshot is whole: it opens and names only stored chunks.
        let listed = run(&stack, &config, "magi-backup", &["cloud", "list", "--json"]);
        assert_eq!(
            code(&listed),
            0,
            "round {round}: every listed snapshot opens"
        );
        if json_lines(&listed)
            .iter()
            .any(|s| s["name"] == name.as_str())
        {
            seed += 1;
            name = new_backup(seed);
        }
    }
    let last = run(&stack, &config, "magi-backup", &["cloud", "upload", &name]);
    assert_eq!(code(&last), 0);
    let verify = run(
        &stack,
        &config,
        "magi-backup",
        &["cloud", "verify", "--deep", "--json"],
    );
    assert_eq!(code(&verify), 0);
    let report: Value = serde_json::from_str(text(&verify.stdout).trim()).unwrap();
    let orphans = report["unindexed_packs"].as_u64().unwrap();
    eprintln!("{kills} kills of 50 uploads; {orphans} packs uploaded again after a kill");
    assert!(kills >= 25, "most rounds were killed mid-upload: {kills}");
    assert!(
        orphans <= kills,
        "at most the one pack in flight is lost per kill: {orphans} for {kills} kills"
    );
}

#[test]
fn cloud_restore_onto_a_full_disk_is_a_clear_error_and_changes_nothing() {
    use crate::backup::{BareHome, Tmpfs, noise};
    if !require(Component::Root) {
        return;
    }
    let bare = BareHome::new("");
    let repository = bare.home().parent().unwrap().join("offsite");
    let run_bare = |binary: &str, args: &[&str]| bare_output(&bare, binary, args);
    let big = bare.home().join("config/big.bin");
    fs::write(&big, noise(3_000_000, 7)).unwrap();
    let create = run_bare("magi-backup", &["create", "--service", "config", "--json"]);
    let name = created_name(&create);
    let configure = run_bare(
        "magi-backup",
        &[
            "cloud",
            "configure",
            "--directory",
            repository.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&configure), 0);
    assert!(
        bare.home()
            .parent()
            .unwrap()
            .join("etc/credentials/cloud-identity")
            .exists()
    );
    assert_eq!(
        code(&run_bare("magi-backup", &["cloud", "upload", &name])),
        0
    );
    for entry in fs::read_dir(bare.backups()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.to_string_lossy().ends_with(".tar.zst") {
            fs::remove_file(path).unwrap();
        }
    }
    fs::write(&big, b"changed since the backup").unwrap();

    let mount = Tmpfs(bare.backups());
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mount.0)
        .status()
        .unwrap();
    assert!(status.success(), "mount tmpfs");
    let restore = run_bare(
        "magi-restore",
        &["--from-cloud", &name, "--service", "config", "--yes"],
    );
    assert_eq!(code(&restore), 1);
    let said = text(&restore.stderr);
    assert!(said.contains("is full"), "{said}");
    assert_eq!(
        fs::read(&big).unwrap(),
        b"changed since the backup",
        "nothing replaced"
    );
    let left: Vec<String> = fs::read_dir(&mount.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".cloud-restore"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn cloud_a_prune_while_an_upload_runs_waits_its_turn_and_loses_nothing() {
    use crate::backup::{BareHome, noise};
    let bare = BareHome::new("");
    let repository = bare.home().parent().unwrap().join("offsite");
    let output = |binary: &str, args: &[&str]| bare_output(&bare, binary, args);
    let configure = output(
        "magi-backup",
        &[
            "cloud",
            "configure",
            "--directory",
            repository.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&configure), 0);
    let mut names = Vec::new();
    for seed in 0..3 {
        fs::write(bare.home().join("config/big.bin"), noise(12_000_000, seed)).unwrap();
        let create = output("magi-backup", &["create", "--service", "config", "--json"]);
        names.push(created_name(&create));
    }
    for name in &names[..2] {
        assert_eq!(code(&output("magi-backup", &["cloud", "upload", name])), 0);
    }
    let mut upload = bare_command(&bare, "magi-backup");
    let mut upload = upload
        .args(["cloud", "upload", &names[2]])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let prune = output("magi-backup", &["cloud", "prune", "--keep-last", "1"]);
    let uploaded = upload.wait().unwrap();
    assert!(uploaded.success());
    if code(&prune) == 1 {
        assert!(
            text(&prune.stderr).contains("is running"),
            "{}",
            text(&prune.stderr)
        );
    }
    let again = output("magi-backup", &["cloud", "prune", "--keep-last", "1"]);
    assert_eq!(code(&again), 0);
    let list = output("magi-backup", &["cloud", "list", "--json"]);
    let kept: Vec<String> = json_lines(&list)
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kept, [names[2].clone()]);
    let verify = output("magi-backup", &["cloud", "verify", "--deep"]);
    assert_eq!(code(&verify), 0, "the newest backup is whole");
}

#[test]
fn cloud_the_ransomware_drill_needs_object_lock_and_a_locked_backup_survives_its_own_credentials() {
    use magi_repo::s3::{Drill, Provider, Retry, S3Config, S3Store};
    use magi_repo::store::Store;
    if !require(Component::MoreS3) {
        return;
    }
    let s3 = S3Server::moto();
    s3.create_bucket("plain");
    s3.create_locked_bucket("locked");
    let store = |bucket: &str, lock_days| {
        S3Store::new(&S3Config {
            endpoint: s3.endpoint().parse().unwrap(),
            bucket: bucket.to_owned(),
            region: s3.region().to_owned(),
            prefix: "magi".into(),
            provider: Provider::Generic,
            access_key: s3.access_key().to_owned(),
            secret_key: s3.secret_key().to_owned(),
            retry: Retry::default(),
            lock_days,
        })
        .unwrap()
    };
    assert_eq!(store("locked", None).drill().unwrap(), Drill::NotConfigured);
    assert!(
        matches!(store("plain", Some(30)).drill().unwrap(), Drill::NoLock(_)),
        "a bucket without Object Lock is told apart"
    );
    let locked = store("locked", Some(30));
    match locked.drill().unwrap() {
        Drill::Refused(code) => eprintln!("the locked bucket refused: {code}"),
        other => panic!("the locked bucket let the delete through: {other:?}"),
    }
    // A backup written under the lock: its snapshot survives a delete with the same credentials.
    locked
        .put("snapshots/one", b"sealed snapshot", false)
        .unwrap();
    locked.delete("snapshots/one").unwrap();
    let versions = s3.object_versions("locked", "magi/snapshots/one");
    assert!(!versions.is_empty(), "the locked version is still there");
}

/// Sends a bare PUT carrying `header` through `proxy`; the status line of the answer.
fn probe_put(proxy: &magi_testkit::faulty::FaultyProxy, header: &str) -> String {
    use std::io::{BufRead as _, BufReader, Write as _};
    let address = proxy.endpoint().trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "PUT /{BUCKET}/magi/probe HTTP/1.1\r\nHost: {address}\r\n{header}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    status.trim().to_owned()
}

#[test]
fn cloud_backups_cross_latency_a_bandwidth_cap_and_each_providers_refusals() {
    use magi_repo::s3::{Provider, Retry, S3Config, S3Store};
    use magi_repo::store::Store;
    use magi_testkit::faulty::{Faults, FaultyProxy, Quirk};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    if !require(Component::SeaweedFS) || !require(Component::MoreS3) {
        return;
    }
    let seaweed = S3Server::start();
    seaweed.create_bucket(BUCKET);
    let moto = S3Server::moto();
    moto.create_locked_bucket(BUCKET);
    // B2's and R2's refusals in front of SeaweedFS; a bucket under Object Lock on moto, behind a proxy that
    // refuses a locked PUT without Content-MD5 as AWS does.
    for (quirk, s3, lock_days, offending) in [
        (Quirk::B2, &seaweed, None, "x-amz-checksum-crc32: AAAAAA=="),
        (
            Quirk::R2,
            &seaweed,
            None,
            "x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        ),
        (
            Quirk::ObjectLock,
            &moto,
            Some(1),
            "x-amz-object-lock-mode: COMPLIANCE",
        ),
    ] {
        let proxy = FaultyProxy::start(s3.endpoint());
        let cap = 4 << 20;
        proxy.set(Faults {
            latency: Duration::from_millis(20),
            bytes_per_second: cap,
            quirk: Some(quirk),
            ..Faults::default()
        });
        let store: Arc<dyn Store> = Arc::new(
            S3Store::new(&S3Config {
                endpoint: proxy.endpoint().parse().unwrap(),
                bucket: BUCKET.into(),
                region: s3.region().to_owned(),
                prefix: format!("{quirk:?}"),
                provider: Provider::Generic,
                access_key: s3.access_key().to_owned(),
                secret_key: s3.secret_key().to_owned(),
                retry: Retry::default(),
                lock_days,
            })
            .unwrap(),
        );
        magi_repo::repo::init(store.as_ref()).unwrap();
        let identity = Arc::new(age::x25519::Identity::generate());
        let keys = magi_repo::Keys {
            recipient: identity.to_public(),
            identity: Some(Arc::clone(&identity)),
        };
        let cache = tempfile::tempdir().unwrap();
        let mut repo = magi_repo::Repository::open(
            Arc::clone(&store),
            keys,
            cache.path(),
            magi_repo::Options::default(),
        )
        .unwrap();
        let mut db = database(800, 31);
        let started = Instant::now();
        back_up(&mut repo, "one", &[("webui.db", &db)]);
        db[4096 * 9 + 5] ^= 1;
        back_up(&mut repo, "two", &[("webui.db", &db)]);
        let snapshot = repo.snapshot("two").unwrap();
        let out = tempfile::tempdir().unwrap();
        let paths = repo.restore(&snapshot, &[0], out.path(), &|_| {}).unwrap();
        assert_eq!(fs::read(&paths[0]).unwrap(), db, "{quirk:?}");
        let report = repo.verify(true, 0).unwrap();
        assert!(
            report.problems.is_empty(),
            "{quirk:?}: {:?}",
            report.problems
        );
        let took = started.elapsed();
        let counted = store.counters();
        let counts = proxy.counts();
        assert_eq!(
            counts.refused, 0,
            "{quirk:?}: magi sent what the provider refuses"
        );
        // The cap held: the bytes that crossed could not have crossed faster.
        let floor = (counted.bytes_up + counted.bytes_down) as f64 / cap as f64;
        assert!(
            took.as_secs_f64() >= floor,
            "{quirk:?}: {} bytes in {took:?} through a {cap} B/s cap",
            counted.bytes_up + counted.bytes_down
        );
        eprintln!(
            "{quirk:?}: {} requests, {:.1} MiB up, {:.1} MiB down in {:.1} s",
            counts.requests,
            counted.bytes_up as f64 / 1048576.0,
            counted.bytes_down as f64 / 1048576.0,
            took.as_secs_f64()
        );
        // The refusal is live: what magi never sends is refused, as the provider would.
        let status = probe_put(&proxy, offending);
        assert!(
            status.contains(" 400 ") || status.contains(" 501 "),
            "{quirk:?}: {status}"
        );
        assert_eq!(proxy.counts().refused, 1, "{quirk:?}");
    }
}

#[test]
fn cloud_configure_on_a_terminal_asks_for_what_its_flags_would_say() {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt;
    if !require(Component::SeaweedFS) {
        return;
    }
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    fs::create_dir_all(&etc).unwrap();
    let config = etc.join("magi.toml");
    fs::write(
        &config,
        format!(
            "[stack]\nhome = \"{}\"\nbackup_dir = \"{}\"\n",
            dir.path().join("home").display(),
            dir.path().join("backups").display()
        ),
    )
    .unwrap();
    let key_file = write_secret(dir.path(), "key", s3.access_key());
    let secret_file = write_secret(dir.path(), "secret", s3.secret_key());
    // util-linux's script(1) gives the command a terminal and passes our answers to it.
    let mut session = Command::new("script")
        .args(["--quiet", "--return", "--command"])
        .arg(format!(
            "{} cloud configure",
            magi_testkit::bin_path("magi-backup").display()
        ))
        .arg("/dev/null")
        .env("MAGI_CONFIG", &config)
        .env("CONFIGURATION_DIRECTORY", &etc)
        .env("STATE_DIRECTORY", dir.path().join("state"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) runs");
    let answers = format!(
        "{}\n{BUCKET}\n{}\n{}\n",
        s3.endpoint(),
        key_file.display(),
        secret_file.display()
    );
    session
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let output = session.wait_with_output().unwrap();
    let said = text(&output.stdout);
    eprintln!("{said}{}", text(&output.stderr));
    assert_eq!(code(&output), 0);
    for prompt in [
        "S3 endpoint",
        "Bucket",
        "access key ID",
        "secret access key",
        "KEEP AN OFFLINE COPY",
    ] {
        assert!(said.contains(prompt), "no '{prompt}' in {said}");
    }
    let written = fs::read_to_string(&config).unwrap();
    assert!(
        written.contains(&format!("endpoint = \"{}\"", s3.endpoint()))
            && written.contains(&format!("bucket = \"{BUCKET}\"")),
        "{written}"
    );
    assert!(!written.contains(s3.secret_key()));
    for name in ["cloud-identity", "cloud-secret-key", "cloud-access-key"] {
        let mode = fs::metadata(etc.join("credentials").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn cloud_prune_repacks_mostly_superseded_packs_and_the_kept_backup_restores() {
    use crate::backup::{BareHome, noise};
    let bare = BareHome::new("");
    let repository = bare.home().parent().unwrap().join("offsite");
    let output = |binary: &str, args: &[&str]| bare_output(&bare, binary, args);
    let configure = &["cloud", "configure", "--directory"];
    let configure = output(
        "magi-backup",
        &[configure.as_slice(), &[repository.to_str().unwrap()]].concat(),
    );
    assert_eq!(code(&configure), 0);
    // Seven 64 KiB blocks in ten change between the two backups.
    let first = noise(6_000_000, 1);
    let fresh = noise(6_000_000, 2);
    let mut second = first.clone();
    for (block, range) in (0..first.len()).step_by(65_536).enumerate() {
        if block % 10 < 7 {
            let end = (range + 65_536).min(first.len());
            second[range..end].copy_from_slice(&fresh[range..end]);
        }
    }
    let mut names = Vec::new();
    for content in [&first, &second] {
        fs::write(bare.home().join("config/big.bin"), content).unwrap();
        let create = output("magi-backup", &["create", "--service", "config", "--json"]);
        let name = created_name(&create);
        assert_eq!(code(&output("magi-backup", &["cloud", "upload", &name])), 0);
        names.push(name);
    }
    let bucket = || -> u64 {
        walk(&repository.join("data"))
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .sum()
    };
    let before = bucket();

    let dry = output(
        "magi-backup",
        &["cloud", "prune", "--keep-last", "1", "--dry-run", "--json"],
    );
    assert_eq!(code(&dry), 0);
    let report = &json_lines(&dry)[0]["report"];
    assert!(report["repacked_packs"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(bucket(), before, "a dry run changes nothing");
    let never = output(
        "magi-backup",
        &[
            "cloud",
            "prune",
            "--keep-last",
            "1",
            "--dry-run",
            "--max-unused",
            "100",
            "--json",
        ],
    );
    assert_eq!(json_lines(&never)[0]["report"]["repacked_packs"], 0);

    let prune = output("magi-backup", &["cloud", "prune", "--keep-last", "1"]);
    assert_eq!(code(&prune), 0);
    assert!(
        text(&prune.stdout).contains("repacked "),
        "{}",
        text(&prune.stdout)
    );
    assert!(
        bucket() < before * 3 / 4,
        "{} of {before} bytes left",
        bucket()
    );
    assert_eq!(
        code(&output("magi-backup", &["cloud", "verify", "--deep"])),
        0
    );
    let to = bare.home().parent().unwrap().join("look");
    let restore = output(
        "magi-restore",
        &["--from-cloud", &names[1], "--to", to.to_str().unwrap()],
    );
    assert_eq!(code(&restore), 0);
    let restored = walk(&to)
        .into_iter()
        .find(|p| p.ends_with("config/big.bin"))
        .expect("big.bin restored");
    assert!(
        fs::read(restored).unwrap() == second,
        "the kept backup, byte for byte"
    );
}

/// Every file under `dir`, at any depth.
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A command of a bare home, with a config directory of its own beside the home.
pub(crate) fn bare_command(bare: &crate::backup::BareHome, binary: &str) -> Command {
    let mut command = bare.command(binary);
    command.env(
        "CONFIGURATION_DIRECTORY",
        bare.home().parent().unwrap().join("etc"),
    );
    command
}

/// Runs a bare home's command with `args`, logged into the test's output.
pub(crate) fn bare_output(bare: &crate::backup::BareHome, binary: &str, args: &[&str]) -> Output {
    crate::backup::logged(bare_command(bare, binary), binary, args)
}

//! The cloud backup benchmark: prints the figures of issue 17, measured side by side with Debian's restic in
//! one run against the same SeaweedFS, through one counting proxy (no faults) so both tools' requests are
//! counted the same way.
//!
//! The fixture is shaped like a MAGI stack: an Open-WebUI-like SQLite database (`chat` rows with JSON
//! conversations, `message` rows; 80 MiB by default, `--size`), a real Redis dump (redis-server's own
//! `SAVE` of 200 000 keys, one server for both days), a Qdrant-like collection snapshot (a tar of 384-dimension f32 vectors and their
//! payloads) and a dozen uploads. A "1 % day" then: updates 1 % of the messages in place, adds 1 % new
//! chats and messages, deletes a few; sets 1 % of the Redis keys to new values and saves; changes 1 % of
//! the vectors and appends 1 % more; adds one upload.
//!
//! *Bytes changed* is measured, not assumed: for the database, the 4 KiB pages that differ between the two
//! files (what any tool must send at least); for the Redis dump, the Qdrant snapshot and the uploads, the
//! bytes of the new version that no 4 KiB-aligned block of the old one matches, which over-counts insertions
//! a little (and so flatters no one).
//!
//! magi: `magi-backup cloud upload` of a local archive of the fixture (made by magi-backup's own writer),
//! restored with `magi-restore --from-cloud NAME --to DIR`, checked with `magi-backup cloud verify --deep`.
//! restic: `restic backup` of the fixture directory, `restic restore latest --target DIR`, `restic check
//! --read-data`. Upload sizes are the bucket's growth; requests are those the proxy saw.
//!
//! Usage: `cargo build --release -p magi-backup -p magi-restore && cargo run --release -p magi-bench --bin
//! cloud -- [--size 80MiB]`

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;

use anyhow::{Context, bail};
use magi_bench::{Measurement, measured_ok};
use magi_testkit::S3Server;
use magi_testkit::faulty::FaultyProxy;

const MIB: f64 = 1024.0 * 1024.0;
const PAGE: usize = 4096;
/// List prices, USD: AWS S3 Standard (us-east-1) and Backblaze B2.
const AWS_GB_MONTH: f64 = 0.023;
const AWS_PUT_PER_1000: f64 = 0.005;
const AWS_GET_PER_1000: f64 = 0.0004;
const B2_GB_MONTH: f64 = 0.006;
const B2_CLASS_B_PER_10000: f64 = 0.004;
const B2_CLASS_C_PER_1000: f64 = 0.004;

fn main() -> ExitCode {
    magi_bench::main("cloud", run)
}

fn size_arg() -> anyhow::Result<u64> {
    let mut size = 80 * 1024 * 1024;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size" => {
                let text = args.next().context("--size needs a value like 80MiB")?;
                let mib: u64 = text
                    .trim_end_matches("MiB")
                    .parse()
                    .with_context(|| format!("'{text}' is not a size in MiB (80MiB)"))?;
                size = mib * 1024 * 1024;
            }
            other => bail!("unknown argument '{other}' (usage: cloud [--size 80MiB])"),
        }
    }
    if size < 8 * 1024 * 1024 {
        bail!("--size must be at least 8MiB");
    }
    Ok(size)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn words(&mut self, n: usize) -> String {
        const WORDS: [&str; 16] = [
            "the",
            "model",
            "answer",
            "question",
            "vector",
            "memory",
            "workflow",
            "agent",
            "search",
            "token",
            "context",
            "prompt",
            "user",
            "assistant",
            "summary",
            "tool",
        ];
        let mut out = String::with_capacity(n * 7);
        for i in 0..n {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(WORDS[(self.next() % 16) as usize]);
            if self.next().is_multiple_of(11) {
                out.push_str(&(self.next() % 10_000).to_string());
            }
        }
        out
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The fixture's files, relative to its home.
const DB: &str = "data/open-webui/webui.db";
const RDB: &str = "data/redis/dump.rdb";
const SNAPSHOT: &str = "snapshots/qdrant/memories.snapshot";

fn create_db(path: &Path, target: u64, rng: &mut Rng) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE chat (id TEXT PRIMARY KEY, user_id TEXT, title TEXT, chat TEXT,
                            created_at INTEGER, updated_at INTEGER, archived INTEGER, pinned INTEGER);
         CREATE TABLE message (id INTEGER PRIMARY KEY, chat_id TEXT, role TEXT, content TEXT,
                               created_at INTEGER);
         CREATE INDEX message_chat ON message (chat_id);",
    )?;
    let mut chat = 0u64;
    while fs::metadata(path)?.len() + wal_size(path) < target {
        let tx = conn.unchecked_transaction()?;
        for _ in 0..200 {
            add_chat(&tx, chat, rng)?;
            chat += 1;
        }
        tx.commit()?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

fn wal_size(db: &Path) -> u64 {
    fs::metadata(db.with_extension("db-wal")).map_or(0, |m| m.len())
}

fn add_chat(conn: &rusqlite::Connection, chat: u64, rng: &mut Rng) -> anyhow::Result<()> {
    let id = format!("{chat:016x}-{:08x}", rng.next() as u32);
    let messages: Vec<String> = (0..6)
        .map(|_| {
            let words = 40 + (rng.next() % 80) as usize;
            rng.words(words)
        })
        .collect();
    let json = serde_json::json!({ "title": rng.words(4), "messages": messages }).to_string();
    conn.execute(
        "INSERT INTO chat VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0, 0)",
        rusqlite::params![
            id,
            format!("user-{}", chat % 17),
            rng.words(4),
            json,
            chat as i64
        ],
    )?;
    for (i, content) in messages.iter().enumerate() {
        conn.execute(
            "INSERT INTO message (chat_id, role, content, created_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                id,
                if i % 2 == 0 { "user" } else { "assistant" },
                content,
                chat as i64
            ],
        )?;
    }
    Ok(())
}

/// A day of 1 % churn in the database.
fn churn_db(path: &Path, rng: &mut Rng) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    let messages: i64 = conn.query_row("SELECT max(id) FROM message", [], |r| r.get(0))?;
    let chats: i64 = conn.query_row("SELECT count(*) FROM chat", [], |r| r.get(0))?;
    let tx = conn.unchecked_transaction()?;
    for _ in 0..messages / 100 {
        let id = (rng.next() % messages as u64) as i64 + 1;
        let content = rng.words(60);
        tx.execute(
            "UPDATE message SET content = ?1 WHERE id = ?2",
            rusqlite::params![content, id],
        )?;
    }
    for n in 0..chats / 100 {
        add_chat(&tx, 1_000_000_000 + n as u64, rng)?;
    }
    for _ in 0..chats / 1000 {
        let id = (rng.next() % messages as u64) as i64 + 1;
        tx.execute("DELETE FROM message WHERE id = ?1", [id])?;
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// A running redis-server holding the fixture's keys; its own `SAVE` writes the dump. One server serves
/// both days, as on a host: a restart between them would reorder the whole dump (Redis seeds its hash
/// tables afresh at each start), and every tool would then send all of it.
struct Redis {
    server: std::process::Child,
    socket: std::path::PathBuf,
    dir: std::path::PathBuf,
    keys: u64,
}

impl Redis {
    fn start(root: &Path, keys: u64) -> anyhow::Result<Redis> {
        let dir = root.join("redis");
        fs::create_dir_all(&dir)?;
        let socket = dir.join("redis.sock");
        let server = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(&dir)
            .args(["--dbfilename", "dump.rdb"])
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start redis-server")?;
        let redis = Redis {
            server,
            socket,
            dir,
            keys,
        };
        for _ in 0..200 {
            let pong = Command::new("redis-cli")
                .arg("-s")
                .arg(&redis.socket)
                .arg("ping")
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"PONG"));
            if pong {
                return Ok(redis);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        bail!("redis-server did not answer within 10 s")
    }

    /// Sets the keys as they are on `day` (on day 1, 1 % of them changed), saves and copies the dump.
    fn dump(&self, out: &Path, day: u32) -> anyhow::Result<()> {
        let mut rng = Rng(7);
        let mut commands = String::new();
        for key in 0..self.keys {
            let value = rng.words(8);
            if day > 0 && !key.is_multiple_of(100) {
                continue;
            }
            let value = if day > 0 {
                format!("changed on day {day}: {value}")
            } else {
                value
            };
            commands.push_str(&format!(
                "*3\r\n$3\r\nSET\r\n${}\r\nmagi:session:{key:08}\r\n${}\r\n{value}\r\n",
                21,
                value.len()
            ));
        }
        commands.push_str("*1\r\n$4\r\nSAVE\r\n");
        let mut child = Command::new("redis-cli")
            .arg("-s")
            .arg(&self.socket)
            .arg("--pipe")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?;
        child.stdin.take().unwrap().write_all(commands.as_bytes())?;
        if !child.wait()?.success() {
            bail!("redis-cli --pipe failed");
        }
        fs::copy(self.dir.join("dump.rdb"), out)?;
        Ok(())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A Qdrant-like collection snapshot: a tar of the vectors and their payloads.
fn qdrant_snapshot(out: &Path, points: usize, day: u32) -> anyhow::Result<()> {
    let mut rng = Rng(11);
    let mut vectors = Vec::with_capacity(points * 384 * 4);
    let mut payloads = String::new();
    let total = if day > 0 {
        points + points / 100
    } else {
        points
    };
    for point in 0..total {
        let changed = day > 0 && point.is_multiple_of(100);
        for _ in 0..384 {
            let v = (rng.next() % 20_000) as f32 / 10_000.0 - 1.0;
            vectors.extend_from_slice(&(if changed { -v } else { v }).to_le_bytes());
        }
        payloads.push_str(&format!(
            "{{\"id\":{point},\"text\":\"{}\"}}\n",
            rng.words(12)
        ));
    }
    let mut tar = tar::Builder::new(fs::File::create(out)?);
    for (name, bytes) in [
        ("segments/0/vectors.bin", vectors.as_slice()),
        ("segments/0/payload.jsonl", payloads.as_bytes()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        tar.append_data(&mut header, name, bytes)?;
    }
    tar.finish()?;
    Ok(())
}

/// The bytes of `new` that no 4 KiB-aligned block of `old` holds; for a database, the pages that differ.
fn changed_bytes(old: &[u8], new: &[u8], aligned: bool) -> u64 {
    if aligned {
        return new
            .chunks(PAGE)
            .enumerate()
            .filter(|(i, page)| {
                old.get(i * PAGE..(i * PAGE + page.len()).min(old.len())) != Some(page)
            })
            .map(|(_, p)| p.len() as u64)
            .sum();
    }
    let known: HashSet<&[u8]> = old.chunks_exact(PAGE).collect();
    let mut changed = 0u64;
    let mut at = 0;
    while at + PAGE <= new.len() {
        if known.contains(&new[at..at + PAGE]) {
            at += PAGE;
        } else {
            changed += 1;
            at += 1;
        }
    }
    changed.min(new.len() as u64) + (new.len() - at.min(new.len())) as u64
}

/// Writes a local archive of the fixture with magi-backup's own writer; returns its name.
fn archive(home: &Path, backups: &Path, files: &[&str]) -> anyhow::Result<String> {
    use magi_backup::archive::{ArchiveWriter, EntryMeta};
    use magi_backup::manifest::{Frame, Manifest, Method, TargetRecord};
    use magi_backup::name::{ArchiveName, Kind};
    let name = ArchiveName::new(jiff::Timestamp::now(), Kind::Regular);
    let mut writer = ArchiveWriter::create(backups, &name.file_name(), None)?;
    for path in files {
        let (service, method) = match *path {
            DB => ("open-webui", Method::SqliteOnlineBackup),
            RDB => ("redis", Method::RedisBgsave),
            SNAPSHOT => ("qdrant", Method::QdrantSnapshot),
            _ => ("open-webui", Method::CopyPaused),
        };
        let full = home.join(path);
        let size = fs::metadata(&full)?.len();
        let meta = EntryMeta {
            path: (*path).to_owned(),
            service: service.into(),
            method,
            engine: None,
            collection: (method == Method::QdrantSnapshot).then(|| "memories".into()),
            mode: 0o600,
            uid: 0,
            gid: 0,
            mtime: 0,
        };
        writer.add_file(meta, size, &mut fs::File::open(&full)?)?;
    }
    let manifest = Manifest {
        format: magi_backup::manifest::FORMAT,
        tool: "magi-bench".into(),
        host: "bench".into(),
        kind: Kind::Regular,
        started: jiff::Timestamp::now(),
        finished: jiff::Timestamp::now(),
        note: None,
        home: home.to_owned(),
        services: vec!["open-webui".into(), "redis".into(), "qdrant".into()],
        targets: vec![
            TargetRecord::new("open-webui", "sqlite", Some(Path::new("data/open-webui"))),
            TargetRecord::new("redis", "redis", Some(Path::new("data/redis"))),
            TargetRecord {
                collections: vec!["memories".into()],
                ..TargetRecord::new("qdrant", "qdrant", None)
            },
        ],
        failed: vec![],
        entries: vec![],
        end: Frame {
            offset: 0,
            len: 0,
            sha256: String::new(),
        },
    };
    writer.finish(manifest)?;
    // Names are to the millisecond; two archives in one millisecond would collide.
    std::thread::sleep(std::time::Duration::from_millis(5));
    Ok(name.stem())
}

/// The bytes stored in a bucket, by listing it.
fn bucket_bytes(s3: &S3Server, bucket: &str) -> anyhow::Result<u64> {
    use magi_repo::s3::{Provider, Retry, S3Config, S3Store};
    use magi_repo::store::Store;
    let store = S3Store::new(&S3Config {
        endpoint: s3.endpoint().parse()?,
        bucket: bucket.into(),
        region: s3.region().into(),
        prefix: String::new(),
        provider: Provider::Generic,
        access_key: s3.access_key().into(),
        secret_key: s3.secret_key().into(),
        retry: Retry::default(),
        lock_days: None,
    })?;
    Ok(store.list("")?.iter().map(|l| l.size).sum())
}

/// What magi uploads for a file's second version, in a repository holding only its first.
fn uploaded_alone(
    identity: &age::x25519::Identity,
    path: &str,
    old: &[u8],
    new: &[u8],
) -> anyhow::Result<u64> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn magi_repo::store::Store> =
        Arc::new(magi_repo::store::DirStore::new(dir.path())?);
    magi_repo::repo::init(store.as_ref())?;
    let keys = magi_repo::Keys {
        recipient: identity.to_public(),
        identity: None,
    };
    let mut repo = magi_repo::Repository::open(
        store,
        keys,
        &dir.path().join("cache"),
        magi_repo::Options::default(),
    )?;
    let mut sent = 0;
    for (name, content) in [("d0", old), ("d1", new)] {
        let mut backup = repo.backup();
        let mut writer = backup.file(path, content.len() as u64);
        writer.write_all(content)?;
        writer.finish()?;
        let s = backup.finish(name, "bench", serde_json::Value::Null)?;
        sent = s.stats.packed_bytes + s.stats.metadata_bytes;
    }
    Ok(sent)
}

struct Run {
    measured: Measurement,
    uploaded: u64,
    requests: u64,
    counts: magi_testkit::faulty::Counts,
}

/// What one run's requests cost at list prices: (AWS, B2).
fn request_cost(c: &magi_testkit::faulty::Counts) -> (f64, f64) {
    let aws = (c.writes + c.lists) as f64 / 1000.0 * AWS_PUT_PER_1000
        + c.reads as f64 / 1000.0 * AWS_GET_PER_1000;
    let b2 = c.reads as f64 / 10_000.0 * B2_CLASS_B_PER_10000
        + c.lists as f64 / 1000.0 * B2_CLASS_C_PER_1000;
    (aws, b2)
}

fn difference(
    a: magi_testkit::faulty::Counts,
    b: magi_testkit::faulty::Counts,
) -> magi_testkit::faulty::Counts {
    magi_testkit::faulty::Counts {
        requests: a.requests - b.requests,
        writes: a.writes - b.writes,
        reads: a.reads - b.reads,
        lists: a.lists - b.lists,
        deletes: a.deletes - b.deletes,
        errors: 0,
        resets: 0,
        dropped: 0,
        refused: 0,
    }
}

fn run() -> anyhow::Result<()> {
    let size = size_arg()?;
    let work = tempfile::Builder::new()
        .prefix("magi-cloud-bench-")
        .tempdir()?;
    let root = work.path();
    let home = root.join("home");
    for dir in ["data/open-webui/uploads", "data/redis", "snapshots/qdrant"] {
        fs::create_dir_all(home.join(dir))?;
    }
    let backups = root.join("backups");
    fs::create_dir_all(&backups)?;
    let mut rng = Rng(42);
    eprintln!(
        "building the fixture ({:.0} MiB database)...",
        size as f64 / MIB
    );
    create_db(&home.join(DB), size, &mut rng)?;
    let keys = (size / 400).max(20_000);
    let redis = Redis::start(root, keys)?;
    redis.dump(&home.join(RDB), 0)?;
    qdrant_snapshot(&home.join(SNAPSHOT), (size / 8192) as usize, 0)?;
    let mut files: Vec<String> = vec![DB.into(), RDB.into(), SNAPSHOT.into()];
    for i in 0..12 {
        let path = format!("data/open-webui/uploads/file-{i}.bin");
        fs::write(home.join(&path), rng.bytes(1 << 20))?;
        files.push(path);
    }

    let s3 = S3Server::start();
    s3.create_bucket("magi");
    s3.create_bucket("restic");
    let proxy = FaultyProxy::start(s3.endpoint());
    let etc = root.join("etc");
    fs::create_dir_all(etc.join("credentials"))?;
    for (name, value) in [
        ("cloud-access-key", s3.access_key()),
        ("cloud-secret-key", s3.secret_key()),
    ] {
        let path = etc.join("credentials").join(name);
        fs::write(&path, format!("{value}\n"))?;
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    let identity = age::x25519::Identity::generate();
    let identity_file = etc.join("credentials/cloud-identity");
    fs::write(
        &identity_file,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&identity.to_string())
        ),
    )?;
    fs::set_permissions(
        &identity_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    let config = etc.join("magi.toml");
    fs::write(
        &config,
        format!(
            "[stack]\nhome = \"{}\"\nbackup_dir = \"{}\"\n\n[cloud]\nendpoint = \"{}\"\nbucket = \"magi\"\n\
             provider = \"generic\"\naccess_key = \"cloud-access-key\"\nsecret_key = \"cloud-secret-key\"\n\
             recipient = \"{}\"\nidentity = \"cloud-identity\"\n",
            home.display(),
            backups.display(),
            proxy.endpoint(),
            identity.to_public()
        ),
    )?;
    {
        let store: Arc<dyn magi_repo::store::Store> =
            Arc::new(magi_repo::s3::S3Store::new(&magi_repo::s3::S3Config {
                endpoint: s3.endpoint().parse()?,
                bucket: "magi".into(),
                region: s3.region().into(),
                prefix: "magi".into(),
                provider: magi_repo::s3::Provider::Generic,
                access_key: s3.access_key().into(),
                secret_key: s3.secret_key().into(),
                retry: magi_repo::s3::Retry::default(),
                lock_days: None,
            })?);
        magi_repo::repo::init(store.as_ref())?;
    }
    let env: Vec<(&'static str, OsString)> = vec![
        ("MAGI_CONFIG", config.clone().into()),
        ("CONFIGURATION_DIRECTORY", etc.clone().into()),
        ("STATE_DIRECTORY", root.join("state").into()),
    ];
    let restic_env: Vec<(&'static str, OsString)> = vec![
        (
            "RESTIC_REPOSITORY",
            format!("s3:{}/restic", proxy.endpoint()).into(),
        ),
        ("RESTIC_PASSWORD", "bench".into()),
        ("AWS_ACCESS_KEY_ID", s3.access_key().into()),
        ("AWS_SECRET_ACCESS_KEY", s3.secret_key().into()),
        ("RESTIC_CACHE_DIR", root.join("restic-cache").into()),
    ];
    // A second restic repository for the database alone, as magi's database-alone figure has one.
    s3.create_bucket("restic-db");
    let mut restic_db_env = restic_env.clone();
    restic_db_env[0].1 = format!("s3:{}/restic-db", proxy.endpoint()).into();
    for env in [&restic_env, &restic_db_env] {
        let status = Command::new("restic")
            .args(["init", "--repository-version", "2"])
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("restic init failed");
        }
    }

    let magi = |args: &[&str]| -> anyhow::Result<Run> {
        let before = (bucket_bytes(&s3, "magi")?, proxy.counts());
        let command: Vec<&str> = args.to_vec();
        let measured = measured_ok(&env, &command)?;
        let counts = difference(proxy.counts(), before.1);
        Ok(Run {
            measured,
            uploaded: bucket_bytes(&s3, "magi")?.saturating_sub(before.0),
            requests: counts.requests,
            counts,
        })
    };
    let restic_in =
        |env: &[(&'static str, OsString)], bucket: &str, args: &[&str]| -> anyhow::Result<Run> {
            let before = (bucket_bytes(&s3, bucket)?, proxy.counts());
            let mut command = vec!["restic", "--no-cache"];
            command.extend_from_slice(args);
            let measured = measured_ok(env, &command)?;
            let counts = difference(proxy.counts(), before.1);
            Ok(Run {
                measured,
                uploaded: bucket_bytes(&s3, bucket)?.saturating_sub(before.0),
                requests: counts.requests,
                counts,
            })
        };
    let restic = |args: &[&str]| restic_in(&restic_env, "restic", args);
    let db_arg = home.join(DB).display().to_string();
    let bin = |name: &str| -> anyhow::Result<String> {
        Ok(magi_testkit::bin_path(name).display().to_string())
    };
    let backup_bin = bin("magi-backup")?;
    let restore_bin = bin("magi-restore")?;
    let file_refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let total: u64 = files
        .iter()
        .map(|f| fs::metadata(home.join(f)).map(|m| m.len()).unwrap_or(0))
        .sum();
    let home_arg = home.display().to_string();

    eprintln!("day 0: full backups...");
    let day0 = archive(&home, &backups, &file_refs)?;
    let magi_full = magi(&[&backup_bin, "cloud", "upload", &day0])?;
    let restic_full = restic(&["backup", &home_arg])?;
    restic_in(&restic_db_env, "restic-db", &["backup", &db_arg])?;

    eprintln!("day 1: a 1 % day...");
    let old: Vec<Vec<u8>> = files
        .iter()
        .map(|f| fs::read(home.join(f)))
        .collect::<Result<_, _>>()?;
    churn_db(&home.join(DB), &mut rng)?;
    redis.dump(&home.join(RDB), 1)?;
    qdrant_snapshot(&home.join(SNAPSHOT), (size / 8192) as usize, 1)?;
    let added = "data/open-webui/uploads/day-1.bin".to_owned();
    fs::write(home.join(&added), rng.bytes(1 << 20))?;
    files.push(added);
    let mut changed_db = 0;
    let mut changed_all = 0;
    for (i, file) in files.iter().enumerate() {
        let new = fs::read(home.join(file))?;
        let before: &[u8] = old.get(i).map_or(&[], Vec::as_slice);
        let changed = changed_bytes(before, &new, file == DB);
        if file == DB {
            changed_db = changed;
        }
        changed_all += changed;
    }
    let file_refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let day1 = archive(&home, &backups, &file_refs)?;
    let magi_incr = magi(&[&backup_bin, "cloud", "upload", &day1])?;
    let restic_incr = restic(&["backup", &home_arg])?;
    let restic_db = restic_in(&restic_db_env, "restic-db", &["backup", &db_arg])?;

    // Each part alone, in a repository of its own, for its own ratio.
    let db_ratio = uploaded_alone(&identity, DB, &old[0], &fs::read(home.join(DB))?)?;
    let mut parts = Vec::new();
    for (i, (label, path)) in [("Redis dump", RDB), ("Qdrant snapshot", SNAPSHOT)]
        .into_iter()
        .enumerate()
    {
        let new = fs::read(home.join(path))?;
        let changed = changed_bytes(&old[i + 1], &new, false);
        parts.push((
            label,
            changed,
            uploaded_alone(&identity, path, &old[i + 1], &new)?,
        ));
    }
    let db_ratio_of = |bytes: u64| bytes as f64 / changed_db as f64;

    eprintln!("restores from the bucket...");
    let magi_out = root.join("magi-restored");
    let magi_restore = magi(&[
        &restore_bin,
        "--from-cloud",
        &day1,
        "--to",
        &magi_out.display().to_string(),
    ])?;
    let restic_out = root.join("restic-restored");
    let restic_restore = restic(&[
        "restore",
        "latest",
        "--target",
        &restic_out.display().to_string(),
    ])?;
    let same = fs::read(magi_out.join(DB))? == fs::read(home.join(DB))?;
    if !same {
        bail!("magi's restored database differs from the original");
    }
    eprintln!("verifying...");
    let magi_verify = magi(&[&backup_bin, "cloud", "verify", "--deep"])?;
    let restic_verify = restic(&["check", "--read-data"])?;

    let mib = |b: u64| b as f64 / MIB;
    let rate = |r: &Run| mib(total) / r.measured.seconds();
    println!(
        "cloud backup benchmark: fixture {:.1} MiB (database {:.1} MiB), SeaweedFS on loopback, restic {}",
        mib(total),
        mib(old[0].len() as u64),
        restic_version()
    );
    println!();
    println!("{:<44} {:>14} {:>14}", "", "magi", "restic");
    println!(
        "{:<44} {:>11.1} MiB {:>11.1} MiB",
        "first backup: uploaded",
        mib(magi_full.uploaded),
        mib(restic_full.uploaded)
    );
    println!(
        "{:<44} {:>9.1} MiB/s {:>9.1} MiB/s",
        "first backup: throughput",
        rate(&magi_full),
        rate(&restic_full)
    );
    println!(
        "{:<44} {:>12.2} s {:>12.2} s",
        "first backup: CPU time (user + system)",
        magi_full.measured.cpu_ms / 1000.0,
        restic_full.measured.cpu_ms / 1000.0
    );
    println!(
        "{:<44} {:>11.1} MiB {:>11.1} MiB",
        "first backup: peak RSS",
        magi_full.measured.max_rss_mib(),
        restic_full.measured.max_rss_mib()
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "first backup: requests", magi_full.requests, restic_full.requests
    );
    println!(
        "{:<44} {:>11.2} MiB",
        "1 % day: bytes changed (whole stack)",
        mib(changed_all)
    );
    println!(
        "{:<44} {:>11.2} MiB",
        "1 % day: bytes changed (database pages)",
        mib(changed_db)
    );
    println!(
        "{:<44} {:>11.2} MiB {:>11.2} MiB",
        "1 % day: uploaded",
        mib(magi_incr.uploaded),
        mib(restic_incr.uploaded)
    );
    println!(
        "{:<44} {:>14.2} {:>14.2}",
        "1 % day: uploaded ÷ changed (whole stack)",
        magi_incr.uploaded as f64 / changed_all as f64,
        restic_incr.uploaded as f64 / changed_all as f64
    );
    println!(
        "{:<44} {:>14.2} {:>14.2}",
        "1 % day: uploaded ÷ changed (database alone)",
        db_ratio_of(db_ratio),
        db_ratio_of(restic_db.uploaded)
    );
    for (label, changed, uploaded) in &parts {
        println!(
            "{:<44} {:>14.2}",
            format!("1 % day: uploaded ÷ changed ({label} alone)"),
            *uploaded as f64 / *changed as f64
        );
        println!(
            "{:<44} {:>11.2} MiB",
            format!("1 % day: uploaded ({label} alone)"),
            mib(*uploaded)
        );
    }
    println!(
        "{:<44} {:>14.3}",
        "1 % day, database alone: magi ÷ restic",
        db_ratio as f64 / restic_db.uploaded as f64
    );
    println!(
        "{:<44} {:>14.3}",
        "1 % day: magi's upload ÷ restic's",
        magi_incr.uploaded as f64 / restic_incr.uploaded as f64
    );
    println!(
        "{:<44} {:>14} {:>14}",
        "1 % day: requests", magi_incr.requests, restic_incr.requests
    );
    println!(
        "{:<44} {:>11.1} MiB {:>11.1} MiB",
        "1 % day: peak RSS",
        magi_incr.measured.max_rss_mib(),
        restic_incr.measured.max_rss_mib()
    );
    println!(
        "{:<44} {:>9.1} MiB/s {:>9.1} MiB/s",
        "restore from the bucket: throughput",
        rate(&magi_restore),
        rate(&restic_restore)
    );
    println!(
        "{:<44} {:>11.1} MiB {:>11.1} MiB",
        "restore: peak RSS",
        magi_restore.measured.max_rss_mib(),
        restic_restore.measured.max_rss_mib()
    );
    println!(
        "{:<44} {:>12.1} s {:>12.1} s",
        "verify, reading everything",
        magi_verify.measured.seconds(),
        restic_verify.measured.seconds()
    );
    println!(
        "{:<44} {:>11.1} MiB {:>11.1} MiB",
        "verify: peak RSS",
        magi_verify.measured.max_rss_mib(),
        restic_verify.measured.max_rss_mib()
    );
    println!();
    println!(
        "ratios: throughput magi ÷ restic: backup {:.2}×, restore {:.2}×",
        rate(&magi_full) / rate(&restic_full),
        rate(&magi_restore) / rate(&restic_restore)
    );
    println!();
    println!(
        "a month of daily 1 % days at list prices (storage of the first backup plus 30 days' uploads, 30 incrementals' requests):"
    );
    for (tool, full, incr) in [
        ("magi", &magi_full, &magi_incr),
        ("restic", &restic_full, &restic_incr),
    ] {
        let gb = (full.uploaded + 30 * incr.uploaded) as f64 / 1e9;
        let (aws_requests, b2_requests) = request_cost(&incr.counts);
        let aws = gb * AWS_GB_MONTH + 30.0 * aws_requests;
        let b2 = gb * B2_GB_MONTH + 30.0 * b2_requests;
        let c = &incr.counts;
        println!(
            "  {tool:<7} {gb:>8.3} GB; per incremental {} PUT/POST, {} GET/HEAD, {} LIST, {} DELETE: AWS S3 ${aws:.4}, Backblaze B2 ${b2:.4}",
            c.writes, c.reads, c.lists, c.deletes
        );
    }
    Ok(())
}

fn restic_version() -> String {
    Command::new("restic")
        .arg("version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

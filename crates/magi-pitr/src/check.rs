//! `magi-pitr check`: which of the stack's SQLite databases point-in-time recovery can follow. It follows
//! a database's write-ahead log, so one in rollback-journal mode (Open WebUI creates `webui.db` that way)
//! is reported with what switching it means and the commands that switch it safely.
//!
//! The mode is read from the database header's format-version bytes (18 and 19: 1 for a rollback journal,
//! 2 for WAL), not by opening the database: SQLite would take locks and might start recovery on a live
//! application's file.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use magi_core::config::{Config, Service, Target};
use serde::Serialize;

/// The journal mode of one database, as its header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Wal,
    Rollback,
    /// No file: the service is not installed, or has not started yet.
    Missing,
    /// An empty file: SQLite writes the header, and so the mode, with the first table.
    Empty,
    /// Not a SQLite 3 database, or one of a format this does not know.
    NotSqlite,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Wal => "wal",
            Mode::Rollback => "rollback",
            Mode::Missing => "missing",
            Mode::Empty => "empty",
            Mode::NotSqlite => "not-sqlite",
        }
    }

    /// Whether point-in-time recovery cannot follow a database found in this mode.
    pub fn needs_action(self) -> bool {
        matches!(self, Mode::Rollback | Mode::NotSqlite)
    }
}

/// The service name of MAGI ops' own stores (alerts, users, health history, costs: the `*.db` files of the
/// state directory), followed like the stack's databases; `--service magi` names them.
pub const OWN: &str = "magi";

/// The first bytes of every SQLite 3 database.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Reads the mode from the header of the file at `path`.
pub fn mode_of(path: &Path) -> io::Result<Mode> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Mode::Missing),
        Err(e) => return Err(e),
    };
    let mut header = Vec::with_capacity(20);
    file.by_ref().take(20).read_to_end(&mut header)?;
    Ok(match header.as_slice() {
        [] => Mode::Empty,
        [magic @ .., 1, 1] if magic.starts_with(MAGIC) && header.len() == 20 => Mode::Rollback,
        [magic @ .., 2, 2] if magic.starts_with(MAGIC) && header.len() == 20 => Mode::Wal,
        _ => Mode::NotSqlite,
    })
}

/// One database of the stack, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Database {
    pub service: String,
    pub container: String,
    pub path: PathBuf,
    pub mode: Mode,
    /// The database file's size, and its write-ahead log's where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wal_bytes: Option<u64>,
    /// For a database to switch: what it means and how, in words a person can follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

/// Every SQLite database the catalog names for `services`, checked.
pub fn databases(config: &Config, services: &[&Service]) -> io::Result<Vec<Database>> {
    let mut found = Vec::new();
    for service in services {
        for target in &service.backup {
            let Target::Sqlite { path } = target else {
                continue;
            };
            let path = config.stack.home.join(path);
            let mode = mode_of(&path)?;
            let advice = (mode == Mode::Rollback).then(|| advice(service, &path));
            found.push(Database::sized(
                &service.name,
                &service.container,
                path,
                mode,
                advice,
            ));
        }
    }
    Ok(found)
}

impl Database {
    /// The database at `path`, in `mode`, with the sizes of its file and log as they are now.
    fn sized(
        service: &str,
        container: &str,
        path: PathBuf,
        mode: Mode,
        advice: Option<String>,
    ) -> Database {
        let size = |path: &Path| std::fs::metadata(path).ok().map(|m| m.len());
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        Database {
            service: service.to_owned(),
            container: container.to_owned(),
            advice,
            bytes: size(&path),
            wal_bytes: size(Path::new(&wal)),
            path,
            mode,
        }
    }
}

/// MAGI ops' own stores: each SQLite database directly in `state_dir` named `*.db` (the core's store
/// opener puts them in WAL mode). Not in a container, so `container` is empty.
pub fn own_stores(state_dir: &Path) -> io::Result<Vec<Database>> {
    let entries = match std::fs::read_dir(state_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if !entry.file_type()?.is_file() || path.extension().is_none_or(|e| e != "db") {
            continue;
        }
        let mode = mode_of(&path)?;
        if matches!(mode, Mode::NotSqlite | Mode::Empty) {
            continue;
        }
        found.push(Database::sized(OWN, "", path, mode, None));
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// What switching a database in rollback-journal mode to WAL means, and the commands that do it with the
/// application stopped (so no connection still uses the rollback journal).
fn advice(service: &Service, path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let shown = shell_quoted(&path.display().to_string());
    let mut text = format!(
        "{} uses a rollback journal. Point-in-time recovery follows a database's write-ahead log, so until it \
is switched this database can be restored only to its nightly backups. To switch it, with {} stopped so no \
connection still uses the old journal:\n  docker stop {}\n  sqlite3 {shown} 'PRAGMA journal_mode=WAL;'\n  \
docker start {}\nThe mode is stored in the file and stays. SQLite then keeps {file}-wal and {file}-shm beside it: \
the directory must stay writable and on a local disk (WAL does not work over NFS), and readers no longer wait \
for the writer. (`sqlite3` is Debian's sqlite3 package.)",
        path.display(),
        service.name,
        service.container,
        service.container,
    );
    if service.name == "n8n" {
        text.push_str(
            "\nn8n can keep the mode itself: with DB_SQLITE_POOL_SIZE above 0 in its environment it opens its \
database in WAL mode at every start.",
        );
    }
    text
}

/// `text` as one word for a POSIX shell.
fn shell_quoted(text: &str) -> String {
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@".contains(&b))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use magi_core::store::rusqlite::Connection;

    #[test]
    fn the_mode_is_read_from_the_header_of_real_databases() {
        let dir = tempfile::tempdir().unwrap();
        let rollback = dir.path().join("rollback.db");
        Connection::open(&rollback)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        assert_eq!(mode_of(&rollback).unwrap(), Mode::Rollback);
        let wal = dir.path().join("wal.db");
        Connection::open(&wal)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x)")
            .unwrap();
        assert_eq!(mode_of(&wal).unwrap(), Mode::Wal);
        // Switched back, the header says so again.
        Connection::open(&wal)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = DELETE")
            .unwrap();
        assert_eq!(mode_of(&wal).unwrap(), Mode::Rollback);

        assert_eq!(mode_of(&dir.path().join("none.db")).unwrap(), Mode::Missing);
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(mode_of(&empty).unwrap(), Mode::Empty);
        let mut header = std::fs::read(&rollback).unwrap()[..20].to_vec();
        for (at, value) in [(0, b'X'), (18, 3)] {
            let mut bad = header.clone();
            bad[at] = value;
            std::fs::write(&empty, &bad).unwrap();
            assert_eq!(mode_of(&empty).unwrap(), Mode::NotSqlite, "byte {at}");
        }
        header.truncate(19);
        std::fs::write(&empty, &header).unwrap();
        assert_eq!(mode_of(&empty).unwrap(), Mode::NotSqlite);
    }

    #[test]
    fn the_own_stores_are_the_state_directorys_sqlite_files_named_db() {
        let dir = tempfile::tempdir().unwrap();
        assert!(own_stores(&dir.path().join("absent")).unwrap().is_empty());
        let alert = dir.path().join("alert.db");
        magi_core::store::open(&alert, &["CREATE TABLE t (x);"]).unwrap();
        std::fs::write(dir.path().join("notes.db"), "not a database").unwrap();
        std::fs::write(dir.path().join("empty.db"), "").unwrap();
        std::fs::create_dir(dir.path().join("dir.db")).unwrap();
        std::fs::copy(&alert, dir.path().join("alert.sqlite")).unwrap();
        let found = own_stores(dir.path()).unwrap();
        let names: Vec<_> = found.iter().map(|d| d.path.clone()).collect();
        assert_eq!(names, [alert]);
        assert_eq!(found[0].service, OWN);
        assert_eq!(
            found[0].mode,
            Mode::Wal,
            "the core's opener puts its stores in WAL mode"
        );
        assert!(found[0].container.is_empty());
    }

    #[test]
    fn a_path_with_a_space_or_quote_is_one_shell_word() {
        assert_eq!(shell_quoted("/srv/magi/webui.db"), "/srv/magi/webui.db");
        assert_eq!(
            shell_quoted("/srv/my magi/it's.db"),
            r"'/srv/my magi/it'\''s.db'"
        );
    }
}

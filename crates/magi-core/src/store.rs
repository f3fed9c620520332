//! The SQLite helper every tool's store opens its database with.
//!
//! It creates the file 0600 in a 0700 directory before SQLite touches it (SQLite gives the `-wal` and `-shm`
//! files the same mode), turns on WAL with a busy timeout so a reader never blocks the daemon that writes, and
//! applies the tool's migrations in order, recording progress in `PRAGMA user_version`.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use rusqlite;
use rusqlite::Connection;

/// How long a statement waits for another connection's lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: cannot create the database file: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot open the database: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{}: migration to schema version {version} failed: {source}", path.display())]
    Migrate {
        path: PathBuf,
        version: usize,
        source: rusqlite::Error,
    },
    #[error("{}: schema version {found} is newer than this build knows ({known}); upgrade the magi tools", path.display())]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
}

/// Opens (creating if needed) the database at `path` and brings its schema up to `migrations.len()`.
///
/// Each migration is a batch of SQL run in its own transaction; entry `i` takes the schema to version `i + 1`.
/// Migrations are append-only: never edit one that has shipped.
pub fn open(path: &Path, migrations: &[&str]) -> Result<Connection, StoreError> {
    let create = |source| StoreError::Create {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(create)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(create)?;
    let mode = file.metadata().map_err(create)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        file.set_permissions(Permissions::from_mode(0o600))
            .map_err(create)?;
    }
    drop(file);
    let open = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let mut conn = Connection::open(path).map_err(open)?;
    configure(&conn).map_err(open)?;
    migrate(&mut conn, migrations, path)?;
    Ok(conn)
}

/// An in-memory database with the same settings and migrations, for tests and dry runs.
pub fn open_in_memory(migrations: &[&str]) -> Result<Connection, StoreError> {
    let path = Path::new(":memory:");
    let mut conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
        path: path.into(),
        source,
    })?;
    configure(&conn).map_err(|source| StoreError::Open {
        path: path.into(),
        source,
    })?;
    migrate(&mut conn, migrations, path)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// The schema version recorded in the database.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<usize> {
    conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
        .map(|v| v as usize)
}

fn migrate(conn: &mut Connection, migrations: &[&str], path: &Path) -> Result<(), StoreError> {
    let found = schema_version(conn).map_err(|source| StoreError::Open {
        path: path.into(),
        source,
    })?;
    if found > migrations.len() {
        return Err(StoreError::TooNew {
            path: path.into(),
            found,
            known: migrations.len(),
        });
    }
    for (index, sql) in migrations.iter().enumerate().skip(found) {
        let version = index + 1;
        let failed = |source| StoreError::Migrate {
            path: path.into(),
            version,
            source,
        };
        let tx = conn.transaction().map_err(failed)?;
        tx.execute_batch(sql).map_err(failed)?;
        tx.pragma_update(None, "user_version", version as i64)
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATIONS: &[&str] = &[
        "CREATE TABLE sample (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "ALTER TABLE sample ADD COLUMN note TEXT;",
    ];

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_private_files_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/nested/tool.db");
        let conn = open(&path, MIGRATIONS).unwrap();
        conn.execute("INSERT INTO sample (name, note) VALUES ('a', 'b')", [])
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("state/nested/tool.db-wal")), 0o600);
        let journal: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
        assert_eq!(schema_version(&conn).unwrap(), 2);
    }

    #[test]
    fn migrations_apply_once_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool.db");
        open(&path, &MIGRATIONS[..1])
            .unwrap()
            .execute("INSERT INTO sample (name) VALUES ('kept')", [])
            .unwrap();
        let conn = open(&path, MIGRATIONS).unwrap();
        let row: (String, Option<String>) = conn
            .query_row("SELECT name, note FROM sample", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(row, ("kept".into(), None));
        drop(conn);
        assert_eq!(
            schema_version(&open(&path, MIGRATIONS).unwrap()).unwrap(),
            2
        );
    }

    #[test]
    fn a_failed_migration_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool.db");
        open(&path, &MIGRATIONS[..1]).unwrap();
        let broken = [
            MIGRATIONS[0],
            "ALTER TABLE sample ADD COLUMN x TEXT; SELECT * FROM missing;",
        ];
        let err = open(&path, &broken).unwrap_err();
        assert!(
            matches!(err, StoreError::Migrate { version: 2, .. }),
            "{err}"
        );
        let conn = open(&path, &MIGRATIONS[..1]).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 1);
        assert!(
            conn.prepare("SELECT x FROM sample").is_err(),
            "the half-applied column must be rolled back"
        );
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool.db");
        open(&path, MIGRATIONS).unwrap();
        let err = open(&path, &MIGRATIONS[..1]).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "schema version 2 is newer than this build knows (1); upgrade the magi tools"
            ),
            "{err}"
        );
    }

    #[test]
    fn loosened_permissions_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool.db");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        open(&path, MIGRATIONS).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}

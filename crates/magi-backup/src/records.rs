//! What `verify` found and which archives `cloud upload` copied off-site, kept in `.magi-backup.db` beside the archives so `list` can show each archive's last
//! verification. Beside the archives rather than in the state directory, because the backup runs as root
//! while the other tools own that directory as the `magi` user, and the records belong with what they
//! describe.

use std::collections::HashMap;
use std::path::Path;

use jiff::Timestamp;
use magi_core::store::{self, rusqlite};
use serde::Serialize;

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE verification (
    name TEXT NOT NULL,
    at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    deep INTEGER NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX verification_name ON verification (name, at);",
    "CREATE TABLE upload (name TEXT PRIMARY KEY, at TEXT NOT NULL);",
];

/// One verification of one archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub at: Timestamp,
    pub ok: bool,
    pub deep: bool,
    pub detail: String,
}

fn path(backup_dir: &Path) -> std::path::PathBuf {
    backup_dir.join(".magi-backup.db")
}

/// Records a verification.
pub fn record(backup_dir: &Path, name: &str, v: &Verification) -> anyhow::Result<()> {
    let conn = store::open(&path(backup_dir), MIGRATIONS)?;
    conn.execute(
        "INSERT INTO verification (name, at, ok, deep, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![name, v.at.to_string(), v.ok, v.deep, v.detail],
    )?;
    Ok(())
}

/// The last verification of every archive that has one.
pub fn last(backup_dir: &Path) -> anyhow::Result<HashMap<String, Verification>> {
    if !path(backup_dir).exists() {
        return Ok(HashMap::new());
    }
    let conn = store::open(&path(backup_dir), MIGRATIONS)?;
    let mut statement =
        conn.prepare("SELECT name, at, ok, deep, detail FROM verification ORDER BY at")?;
    let rows = statement.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut last = HashMap::new();
    for row in rows {
        let (name, at, ok, deep, detail) = row?;
        if let Ok(at) = at.parse() {
            last.insert(
                name,
                Verification {
                    at,
                    ok,
                    deep,
                    detail,
                },
            );
        }
    }
    Ok(last)
}

/// Records that an archive is in the cloud repository.
pub fn record_upload(backup_dir: &Path, name: &str, at: Timestamp) -> anyhow::Result<()> {
    let conn = store::open(&path(backup_dir), MIGRATIONS)?;
    conn.execute(
        "INSERT INTO upload (name, at) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET at = excluded.at",
        rusqlite::params![name, at.to_string()],
    )?;
    Ok(())
}

/// When each archive was uploaded, for those that were.
pub fn uploads(backup_dir: &Path) -> anyhow::Result<HashMap<String, Timestamp>> {
    if !path(backup_dir).exists() {
        return Ok(HashMap::new());
    }
    let conn = store::open(&path(backup_dir), MIGRATIONS)?;
    let mut statement = conn.prepare("SELECT name, at FROM upload")?;
    let rows = statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut found = HashMap::new();
    for row in rows {
        let (name, at) = row?;
        if let Ok(at) = at.parse() {
            found.insert(name, at);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_verification_wins() {
        let dir = tempfile::tempdir().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let v = |t: &str, ok| Verification {
            at: at(t),
            ok,
            deep: false,
            detail: String::new(),
        };
        record(dir.path(), "a", &v("2026-01-01T00:00:00Z", true)).unwrap();
        record(dir.path(), "a", &v("2026-01-02T00:00:00Z", false)).unwrap();
        record(dir.path(), "b", &v("2026-01-01T00:00:00Z", true)).unwrap();
        let last = last(dir.path()).unwrap();
        assert!(!last["a"].ok);
        assert!(last["b"].ok);
    }
}

//! Verifying an archive: the manifest's own checksum, the frames tiling the file, and for every entry the
//! SHA-256 of its stored bytes, zstd's checksum, its tar header and the SHA-256 of its content. `--deep`
//! also opens what was captured as its engine would: every SQLite file is restored into a scratch directory
//! and passes `PRAGMA integrity_check`, every Redis dump starts with an RDB header, every Qdrant snapshot
//! reads as a whole tar. The first bad entry is named.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::archive::Archive;
use crate::engine::{qdrant, redis, sqlite};
use crate::error::{BackupError, io_at};
use crate::manifest::{EntryType, Method};

/// Verifies every entry; `scratch` is used by the deep checks.
pub fn verify(archive: &Archive, deep: bool, scratch: &Path) -> Result<(), BackupError> {
    let mut reader = archive.reader()?;
    let file = reader.as_mut();
    archive.check_layout(file)?;
    for entry in &archive.manifest.entries {
        let deep_kind = if deep && entry.entry_type == EntryType::File {
            Some(entry.method)
        } else {
            None
        };
        let bad = |message: String| BackupError::BadEntry {
            archive: archive.name.clone(),
            entry: entry.path.clone(),
            message,
        };
        match deep_kind {
            Some(Method::SqliteOnlineBackup) | Some(Method::QdrantSnapshot) => {
                let copy = scratch.join("entry");
                let mut out = File::create(&copy).map_err(io_at("create", &copy))?;
                archive.extract(file, entry, &mut out)?;
                drop(out);
                let checked = if entry.method == Method::SqliteOnlineBackup {
                    sqlite::integrity(&copy)
                } else {
                    qdrant::check_snapshot(&copy)
                };
                let _ = std::fs::remove_file(&copy);
                checked.map_err(|e| bad(e.to_string()))?;
            }
            Some(Method::RedisBgsave) => {
                let mut head = Head(Vec::new());
                archive.extract(file, entry, &mut head)?;
                if !redis::is_rdb_header(&head.0) {
                    return Err(bad("not a Redis RDB file (no REDIS header)".into()));
                }
            }
            _ => archive.extract(file, entry, &mut io::sink())?,
        }
    }
    Ok(())
}

/// Keeps the first bytes written.
struct Head(Vec<u8>);

impl Write for Head {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = 16usize.saturating_sub(self.0.len());
        self.0.extend_from_slice(&buf[..room.min(buf.len())]);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

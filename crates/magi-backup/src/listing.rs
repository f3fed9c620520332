//! The archives in the backup directory: found by name (temporary files and anything else are ignored),
//! in time order, each with its manifest or the reason it cannot be read.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;

use crate::archive::Archive;
use crate::error::{BackupError, io_at};
use crate::name::{ArchiveName, ENCRYPTED, EXTENSION, Kind};

/// The identity that decrypts encrypted archives, when one is configured.
pub type Key<'a> = Option<&'a Arc<age::x25519::Identity>>;

/// One archive file, known by its name alone.
#[derive(Debug)]
pub struct ArchiveFile {
    pub name: ArchiveName,
    pub path: PathBuf,
    pub size: u64,
}

/// One archive file with its manifest, or the reason it cannot be read.
#[derive(Debug)]
pub struct Listed {
    pub name: ArchiveName,
    pub path: PathBuf,
    pub size: u64,
    pub archive: Result<Archive, BackupError>,
}

/// Every archive file in `dir`, oldest first, without opening any; an absent directory holds none.
pub fn files(dir: &Path) -> Result<Vec<ArchiveFile>, BackupError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::io("read", dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_at("read", dir))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !file_name.ends_with(EXTENSION)
            && !file_name.ends_with(&format!("{EXTENSION}{ENCRYPTED}"))
        {
            continue;
        }
        let Some(name) = ArchiveName::parse(&file_name) else {
            continue;
        };
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        found.push(ArchiveFile {
            name,
            path: entry.path(),
            size,
        });
    }
    found.sort_by_key(|f| f.name.time);
    Ok(found)
}

/// Every archive in `dir`, oldest first, each opened (its manifest read and checked).
pub fn archives(dir: &Path, key: Key) -> Result<Vec<Listed>, BackupError> {
    Ok(files(dir)?
        .into_iter()
        .map(|f| Listed {
            archive: Archive::open(&f.path, key),
            name: f.name,
            path: f.path,
            size: f.size,
        })
        .collect())
}

/// The archive a command names, with or without the extension.
pub fn find(dir: &Path, name: &str, key: Key) -> Result<Archive, BackupError> {
    let parsed = ArchiveName::parse(name).ok_or_else(|| BackupError::NotFound {
        name: name.to_owned(),
        dir: dir.to_owned(),
    })?;
    let path = [parsed.file_name(), parsed.encrypted_file_name()]
        .into_iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| BackupError::NotFound {
            name: name.to_owned(),
            dir: dir.to_owned(),
        })?;
    Archive::open(&path, key)
}

/// The newest regular archive taken at or before `at` that can be read; newer ones are opened first, so
/// usually just the one.
pub fn newest_at(dir: &Path, at: Timestamp, key: Key) -> Result<Option<Archive>, BackupError> {
    Ok(files(dir)?
        .into_iter()
        .rev()
        .filter(|f| f.name.kind == Kind::Regular && f.name.time <= at)
        .find_map(|f| Archive::open(&f.path, key).ok()))
}

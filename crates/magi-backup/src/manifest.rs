//! The manifest: what one archive holds and how each entry was captured.
//!
//! It records the tool version, host, times, note and kind of the backup, the targets that were captured or
//! failed, and per entry its archive path, service, type, size, mode, owner, mtime, SHA-256, capture method,
//! engine version and the byte range of the zstd frame that holds it, so a verification names the entry a
//! bad byte belongs to and a restore of one service reads only that service's frames.

use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::name::Kind;

/// The manifest format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The pseudo-service that owns the stack's configuration files (`.env`, `config/`, `workflows/`).
pub const CONFIG_SERVICE: &str = "config";

/// How an entry was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// SQLite's online backup API, then `PRAGMA integrity_check` on the copy.
    SqliteOnlineBackup,
    /// Redis `BGSAVE`, then its dump file once `LASTSAVE` changed.
    RedisBgsave,
    /// A Qdrant per-collection snapshot through its HTTP API.
    QdrantSnapshot,
    /// Copied while the owning container was paused.
    CopyPaused,
    /// Copied as it was (a stopped container's files, or files nothing writes).
    Copy,
    /// A configuration file of the stack.
    Config,
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    File,
    Dir,
    Symlink,
}

/// The bytes of the archive file that hold one entry: one zstd frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub offset: u64,
    pub len: u64,
    /// Hex SHA-256 of the frame's bytes as stored.
    pub sha256: String,
}

impl Frame {
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }

    pub fn contains(&self, offset: u64) -> bool {
        (self.offset..self.end()).contains(&offset)
    }
}

/// One entry of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path in the archive: relative to the MAGI home for files, `snapshots/qdrant/NAME.snapshot` for a
    /// Qdrant collection.
    pub path: String,
    pub service: String,
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// Hex SHA-256 of the content (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Where a symlink points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub method: Method,
    /// The engine that produced the content: `sqlite 3.46.0`, `redis 7.0.15`, `qdrant 1.12.4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The Qdrant collection a snapshot restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    pub frame: Frame,
}

/// A target that was captured, as restore needs to know it (which directories are whole copies, which
/// collections Qdrant had).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    pub service: String,
    /// `sqlite`, `redis`, `qdrant`, `copy` or `config`.
    pub kind: String,
    /// The path under the MAGI home it read, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Qdrant: every collection that existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<String>,
}

impl TargetRecord {
    /// A target's record before capture: what it reads, with no collections yet.
    pub fn new(service: &str, kind: &str, path: Option<&std::path::Path>) -> TargetRecord {
        TargetRecord {
            service: service.to_owned(),
            kind: kind.to_owned(),
            path: path.map(|p| p.display().to_string()),
            collections: Vec::new(),
        }
    }
}

/// A target that could not be captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub service: String,
    pub target: String,
    pub error: String,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `magi-backup 0.1.0`.
    pub tool: String,
    pub host: String,
    pub kind: Kind,
    pub started: Timestamp,
    pub finished: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The MAGI home the paths are relative to.
    pub home: PathBuf,
    /// The services asked for, in catalog order (`config` for the stack's configuration).
    pub services: Vec<String>,
    pub targets: Vec<TargetRecord>,
    pub failed: Vec<Failure>,
    pub entries: Vec<Entry>,
    /// The frame that ends the tar stream.
    pub end: Frame,
}

#[cfg(test)]
impl Manifest {
    /// A manifest for a test's archive of `service` under `home`: the writer fills in its entries.
    pub(crate) fn for_test(home: &str, service: &str) -> Manifest {
        Manifest {
            format: FORMAT,
            tool: "magi-backup test".into(),
            host: "test".into(),
            kind: Kind::Regular,
            started: Timestamp::now(),
            finished: Timestamp::now(),
            note: None,
            home: home.into(),
            services: vec![service.into()],
            targets: vec![],
            failed: vec![],
            entries: vec![],
            end: Frame {
                offset: 0,
                len: 0,
                sha256: String::new(),
            },
        }
    }
}

impl Manifest {
    /// The bytes of content the archive holds.
    pub fn content_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// Whether every target asked for was captured.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// The services that have entries or captured targets in this archive.
    pub fn captured_services(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for name in self.targets.iter().map(|t| t.service.as_str()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The entry whose frame holds byte `offset` of the archive file.
    pub fn entry_at(&self, offset: u64) -> Option<&Entry> {
        self.entries.iter().find(|e| e.frame.contains(offset))
    }

    /// Checks that the frames tile the archive from byte 0 to the end frame without gaps or overlaps, so
    /// that every byte before the trailer belongs to exactly one entry.
    pub fn check_frames(&self) -> Result<(), String> {
        let mut next = 0;
        for entry in &self.entries {
            if entry.frame.offset != next || entry.frame.len == 0 {
                return Err(format!(
                    "entry {} does not start where the previous one ended",
                    entry.path
                ));
            }
            next = entry.frame.end();
        }
        if self.end.offset != next {
            return Err("the end of the tar stream is not after the last entry".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, offset: u64, len: u64) -> Entry {
        Entry {
            path: path.into(),
            service: "open-webui".into(),
            entry_type: EntryType::File,
            size: 10,
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            mtime: 1_700_000_000,
            sha256: Some("00".repeat(32)),
            link: None,
            method: Method::SqliteOnlineBackup,
            engine: Some("sqlite 3.46.0".into()),
            collection: None,
            frame: Frame {
                offset,
                len,
                sha256: String::new(),
            },
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            tool: "magi-backup 0.1.0".into(),
            host: "magi-host".into(),
            kind: Kind::Regular,
            started: "2026-11-24T03:00:00Z".parse().unwrap(),
            finished: "2026-11-24T03:00:05Z".parse().unwrap(),
            note: Some("before the upgrade".into()),
            home: "/opt/magi".into(),
            services: vec!["open-webui".into(), "redis".into()],
            targets: vec![TargetRecord {
                service: "open-webui".into(),
                kind: "sqlite".into(),
                path: Some("data/open-webui/webui.db".into()),
                collections: vec![],
            }],
            failed: vec![Failure {
                service: "redis".into(),
                target: "redis data/redis/dump.rdb".into(),
                error: "connection refused".into(),
            }],
            entries: vec![entry("a", 0, 100), entry("b", 100, 50)],
            end: Frame {
                offset: 150,
                len: 20,
                sha256: String::new(),
            },
        }
    }

    #[test]
    fn the_manifest_reads_back_as_written() {
        let m = manifest();
        let text = serde_json::to_string(&m).unwrap();
        assert!(
            text.contains(r#""method":"sqlite-online-backup""#),
            "{text}"
        );
        assert!(text.contains(r#""type":"file""#), "{text}");
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
        assert!(!m.is_complete());
        assert_eq!(m.captured_services(), ["open-webui"]);
        assert_eq!(m.content_bytes(), 20);
    }

    #[test]
    fn every_byte_before_the_trailer_belongs_to_one_entry() {
        let m = manifest();
        m.check_frames().unwrap();
        assert_eq!(m.entry_at(0).unwrap().path, "a");
        assert_eq!(m.entry_at(99).unwrap().path, "a");
        assert_eq!(m.entry_at(100).unwrap().path, "b");
        assert!(m.entry_at(150).is_none());
        let mut gap = m.clone();
        gap.entries[1].frame.offset = 101;
        assert!(gap.check_frames().unwrap_err().contains("entry b"));
    }
}

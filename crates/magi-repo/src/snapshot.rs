//! Snapshots: one sealed object per backup, `snapshots/NAME`, naming its files and, for each, the leaves
//! of its chunk tree. `meta` carries what the caller wants kept with it: magi-backup puts the local
//! archive's manifest there, so a cloud snapshot and a local archive of the same backup are one backup.
//! The name is in the key in the clear (a time stamp), so a host with only the recipient can list them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The snapshot format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The longest snapshot name.
const MAX_NAME: usize = 128;

/// One backup in the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub name: String,
    pub time: Timestamp,
    pub host: String,
    pub meta: serde_json::Value,
    pub files: Vec<FileRecord>,
    pub stats: Stats,
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    /// Hex SHA-256 of the whole content.
    pub sha256: String,
    /// How it was cut: `sqlite-pages-4096`, `fastcdc-2020-1k`, `fastcdc-2020-2k`, `fastcdc-2020-64k`, `whole`.
    pub chunking: String,
    /// The tree's leaves, in order.
    pub leaves: Vec<String>,
}

/// What the backup that made a snapshot read and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Bytes of the files.
    pub bytes: u64,
    /// Chunks of the files, and how many of them were not stored yet.
    pub chunks: u64,
    pub new_chunks: u64,
    /// Bytes of the new chunks before compression.
    pub new_bytes: u64,
    /// Packs written, and their bytes as stored.
    pub packs: u64,
    pub packed_bytes: u64,
    /// Bytes of the index and snapshot objects.
    pub metadata_bytes: u64,
}

/// The key of a snapshot.
pub fn key(name: &str) -> String {
    format!("snapshots/{name}")
}

/// Whether `name` can be a snapshot's name: letters, digits and `.-_:`, not starting with a dot.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        assert!(valid_name("magi-2026-11-24T03-00-00.000Z"));
        for bad in ["", ".hidden", "a/b", "../x", "a b", &"x".repeat(200)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}

//! Where a repository's objects live: a flat namespace of keys holding immutable byte strings, written
//! whole. Two kinds: an S3-compatible bucket ([`crate::s3`]) and a plain directory (a USB disk or an NFS
//! mount, the second medium of 3-2-1), behind one trait so the repository code cannot tell them apart.
//!
//! Every read is bounded: an object larger than [`MAX_OBJECT`] is refused before it is read, whoever
//! put it there.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// The largest object a repository holds (a pack is at most a few MiB; a consolidated index of a large
/// repository some tens); anything larger is not ours.
pub const MAX_OBJECT: u64 = 512 << 20;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// The server's ETag without quotes: the MD5 of a single-part upload. Empty for a directory.
    pub etag: String,
    /// When it was written, where the store says.
    pub modified: Option<jiff::Timestamp>,
}

/// Requests made and bytes moved, for the figures of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub put: u64,
    pub get: u64,
    pub head: u64,
    pub list: u64,
    pub delete: u64,
    /// Multipart starts and completions.
    pub post: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

impl Counters {
    pub fn requests(&self) -> u64 {
        self.put + self.get + self.head + self.list + self.delete + self.post
    }
}

/// The storage of a repository.
pub trait Store: Send + Sync {
    /// Writes an object whole. With `if_absent`, fails with [`StoreError::Exists`] when the key exists
    /// (where the server can tell; see the provider profiles).
    fn put(&self, key: &str, body: &[u8], if_absent: bool) -> Result<(), StoreError>;
    /// [`Store::put`] of a pack, whose MD5 the caller has computed for the index: a store that sends it
    /// (S3's `Content-MD5`) need not compute it a second time.
    fn put_pack(&self, key: &str, body: &[u8], md5: [u8; 16]) -> Result<(), StoreError> {
        let _ = md5;
        self.put(key, body, false)
    }
    /// Reads an object whole, or `None` if there is none.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether an object exists (a HEAD: no listing).
    fn exists(&self, key: &str) -> Result<bool, StoreError>;
    /// Deletes an object; deleting a missing one is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every object whose key starts with `prefix`, in key order.
    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError>;
    /// Where this is, for messages: the bucket and endpoint, or a path.
    fn describe(&self) -> String;
    /// The requests made so far (zero where nothing is counted).
    fn counters(&self) -> Counters {
        Counters::default()
    }
}

/// A repository in a local directory: one file per key, written under a temporary name, synced and
/// renamed, so a crash leaves the object whole or absent.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store in `root`, created 0700 if missing.
    pub fn new(root: &Path) -> Result<DirStore, StoreError> {
        fs::create_dir_all(root).map_err(|source| StoreError::Io {
            action: "create the repository directory",
            path: root.to_owned(),
            source,
        })?;
        Ok(DirStore {
            root: root.to_owned(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        // Keys are made by the repository, but a listing read back could name anything: refuse what
        // would leave the directory.
        let plain = !key.is_empty()
            && key
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..")
            && !key.contains('\0');
        if !plain {
            return Err(StoreError::Refused {
                target: self.describe(),
                cause: format!("'{key}' is not a key of a repository"),
            });
        }
        Ok(self.root.join(key))
    }

    fn io<'a>(action: &'static str, path: &'a Path) -> impl Fn(std::io::Error) -> StoreError + 'a {
        move |source| StoreError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

impl Store for DirStore {
    fn put(&self, key: &str, body: &[u8], if_absent: bool) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let dir = path.parent().expect("a key has a parent: the root");
        fs::create_dir_all(dir).map_err(Self::io("create", dir))?;
        if if_absent && path.exists() {
            return Err(StoreError::Exists {
                target: self.describe(),
                key: key.to_owned(),
            });
        }
        let temp = dir.join(format!(
            ".{}.{}.partial",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("object"),
            std::process::id()
        ));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(Self::io("create", &temp))?;
        file.write_all(body)
            .and_then(|()| file.sync_all())
            .map_err(Self::io("write", &temp))?;
        fs::rename(&temp, &path).map_err(Self::io("rename into place", &path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(Self::io("sync", dir))
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::io("read", &path)(e)),
        };
        let size = file.metadata().map_err(Self::io("read", &path))?.len();
        if size > MAX_OBJECT {
            return Err(StoreError::TooLarge {
                target: self.describe(),
                key: key.to_owned(),
                size,
                limit: MAX_OBJECT,
            });
        }
        let mut body = Vec::with_capacity(size as usize);
        file.take(MAX_OBJECT + 1)
            .read_to_end(&mut body)
            .map_err(Self::io("read", &path))?;
        Ok(Some(body))
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.path(key)?.is_file())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Self::io("delete", &path)(e)),
            _ => Ok(()),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let mut found = Vec::new();
        let mut pending = vec![self.root.clone()];
        while let Some(dir) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Self::io("list", &dir)(e)),
            };
            for entry in entries {
                let entry = entry.map_err(Self::io("list", &dir))?;
                let path = entry.path();
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') {
                    continue;
                }
                let kind = entry.file_type().map_err(Self::io("list", &path))?;
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file() {
                    let key = path
                        .strip_prefix(&self.root)
                        .expect("listed under the root")
                        .to_string_lossy()
                        .into_owned();
                    if key.starts_with(prefix) {
                        let metadata = entry.metadata().map_err(Self::io("list", &path))?;
                        found.push(Listed {
                            key,
                            size: metadata.len(),
                            etag: String::new(),
                            modified: metadata
                                .modified()
                                .ok()
                                .and_then(|t| jiff::Timestamp::try_from(t).ok()),
                        });
                    }
                }
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_store_writes_reads_lists_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(&dir.path().join("repo")).unwrap();
        store.put("data/ab/abc", b"pack", false).unwrap();
        store.put("snapshots/one", b"snap", true).unwrap();
        assert!(matches!(
            store.put("snapshots/one", b"again", true),
            Err(StoreError::Exists { .. })
        ));
        assert_eq!(
            store.get("data/ab/abc").unwrap().as_deref(),
            Some(&b"pack"[..])
        );
        assert_eq!(store.get("data/ab/none").unwrap(), None);
        let keys: Vec<String> = store
            .list("data/")
            .unwrap()
            .into_iter()
            .map(|l| l.key)
            .collect();
        assert_eq!(keys, ["data/ab/abc"]);
        store.delete("data/ab/abc").unwrap();
        store.delete("data/ab/abc").unwrap();
        assert!(store.list("data/").unwrap().is_empty());
        for hostile in ["../escape", "data/../../x", "/etc/passwd", "a//b", ""] {
            assert!(
                matches!(store.get(hostile), Err(StoreError::Refused { .. })),
                "{hostile}"
            );
        }
    }
}

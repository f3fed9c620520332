//! The off-site copy: local archives uploaded into the cloud repository (magi-repo), and archives rebuilt
//! from it for the restore path.
//!
//! An upload reads an archive's entries, each checked against its checksums as it is read, and adds their
//! content to one snapshot named as the archive, with the archive's manifest kept in the snapshot: a cloud
//! snapshot and a local archive of the same backup are one backup. A download fetches only the files of
//! the services asked for, databases first, and writes them into a new archive through the same writer a
//! backup uses, so the restore that follows is the one a local archive gets: safety backup, health-gated
//! swap, rollback.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use magi_core::config::Config;
use magi_core::paths::Paths;
use magi_repo::repo::Repository;
use magi_repo::snapshot::Snapshot;

use crate::archive::{Archive, ArchiveWriter, EntryMeta};
use crate::error::{BackupError, io_at};
use crate::manifest::{Entry, EntryType, Manifest, Method};

pub use magi_repo::configured::{cache_dir, drill, keys, provider, s3_config_with, store};

/// Opens the repository of the `[cloud]` section ([`magi_repo::configured::open`]); no section is a
/// usage error.
pub fn open(config: &Config, paths: &Paths) -> anyhow::Result<Repository> {
    magi_repo::configured::open(config, paths).map_err(|e| match e {
        magi_repo::configured::ConfiguredError::NotConfigured => {
            magi_core::exit::UsageError(e.to_string()).into()
        }
        other => other.into(),
    })
}

/// The most archive content on its way from the reading thread to the chunker: a few blocks.
const BLOCK: usize = 256 << 10;
const BLOCKS_IN_FLIGHT: usize = 4;

/// Uploads one archive as the snapshot of the same name; `progress` gets the bytes read so far. One thread
/// reads the archive (decompressing it and checking its checksums) while this one cuts, hashes and packs
/// what it read, so a small host's two cores both work before the upload workers take the packs.
pub fn upload(
    repo: &mut Repository,
    archive: &Archive,
    progress: &mut dyn FnMut(u64, &str),
) -> Result<Snapshot, BackupError> {
    let files: Vec<&Entry> = archive
        .manifest
        .entries
        .iter()
        .filter(|e| e.entry_type == EntryType::File)
        .collect();
    let (blocks, received) = std::sync::mpsc::sync_channel::<Vec<u8>>(BLOCKS_IN_FLIGHT);
    std::thread::scope(|scope| {
        // The sender moves into the reading thread, so its end, however it ends, ends the receiving too.
        let reading = files.clone();
        let reader = scope.spawn(move || -> Result<(), BackupError> {
            let mut source = archive.reader()?;
            for entry in reading {
                let mut out = BlockSender {
                    blocks: &blocks,
                    block: Vec::with_capacity(BLOCK),
                };
                // The archive's reader checks the content against the manifest's SHA-256 as it goes.
                archive.extract(&mut source, entry, &mut out)?;
                // An empty block ends the entry. Either send fails only when the chunking side stopped,
                // and its error is the one to report.
                if out.send().is_err() || blocks.send(Vec::new()).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let mut backup = repo.backup();
        let mut done = 0u64;
        // `Ok(false)`: the reading thread stopped early, and its error says why.
        let chunked = (|| -> Result<bool, BackupError> {
            for entry in &files {
                progress(done, &entry.path);
                let mut writer =
                    backup.file_digested(&entry.path, entry.size, entry.sha256.clone());
                loop {
                    let Ok(block) = received.recv() else {
                        return Ok(false);
                    };
                    if block.is_empty() {
                        break;
                    }
                    writer.write_all(&block).map_err(|e| match e.downcast() {
                        Ok(repo_error) => BackupError::Cloud(repo_error),
                        Err(e) => BackupError::io("upload", &archive.path, e),
                    })?;
                }
                writer.finish()?;
                done += entry.size;
            }
            Ok(true)
        })();
        drop(received);
        let read = reader.join().unwrap_or_else(|_| {
            Err(BackupError::BadArchive {
                archive: archive.name.clone(),
                message: "the thread reading it panicked".into(),
            })
        });
        match chunked {
            Err(e) => return Err(e),
            Ok(false) => read?,
            Ok(true) => {}
        }
        let meta = serde_json::to_value(&archive.manifest).expect("a manifest always serializes");
        Ok(backup.finish(&archive.name, &archive.manifest.host, meta)?)
    })
}

/// Passes what an entry's extraction writes to the chunking thread, a block at a time.
struct BlockSender<'a> {
    blocks: &'a std::sync::mpsc::SyncSender<Vec<u8>>,
    block: Vec<u8>,
}

impl BlockSender<'_> {
    fn send(&mut self) -> io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
        self.blocks
            .send(full)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))
    }
}

impl Write for BlockSender<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(BLOCK - self.block.len());
        self.block.extend_from_slice(&data[..take]);
        if self.block.len() == BLOCK {
            self.send()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The manifest a snapshot carries.
pub fn manifest_of(snapshot: &Snapshot) -> Result<Manifest, BackupError> {
    serde_json::from_value(snapshot.meta.clone()).map_err(|e| BackupError::BadArchive {
        archive: snapshot.name.clone(),
        message: format!("the cloud snapshot's manifest is not readable: {e}"),
    })
}

/// The catalog names of `wanted` (container names allowed), or every service the manifest holds.
fn chosen(manifest: &Manifest, config: &Config, wanted: &[String]) -> Vec<String> {
    if wanted.is_empty() {
        return manifest
            .captured_services()
            .into_iter()
            .map(str::to_owned)
            .collect();
    }
    wanted
        .iter()
        .map(|name| {
            config
                .service(name)
                .map_or(name.clone(), |s| s.name.clone())
        })
        .collect()
}

/// The entries of the services chosen and the snapshot files that hold their content, databases first.
struct Selection {
    services: Vec<String>,
    entries: Vec<crate::manifest::Entry>,
    /// Indices into the snapshot's files, in the order to fetch them.
    which: Vec<usize>,
}

fn select(
    snapshot: &Snapshot,
    manifest: &Manifest,
    config: &Config,
    wanted: &[String],
) -> Result<Selection, BackupError> {
    let services = chosen(manifest, config, wanted);
    let by_path: std::collections::HashMap<&str, usize> = snapshot
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    let entries: Vec<_> = manifest
        .entries
        .iter()
        .filter(|e| services.contains(&e.service))
        .cloned()
        .collect();
    let mut which: Vec<(bool, usize)> = Vec::new();
    for entry in entries.iter().filter(|e| e.entry_type == EntryType::File) {
        let index = by_path
            .get(entry.path.as_str())
            .ok_or_else(|| BackupError::BadArchive {
                archive: snapshot.name.clone(),
                message: format!(
                    "the cloud snapshot holds no content for {}",
                    magi_core::printable::printable(&entry.path)
                ),
            })?;
        // Databases first: they are what a restore is usually for, and the largest to check.
        which.push((entry.method != Method::SqliteOnlineBackup, *index));
    }
    which.sort();
    Ok(Selection {
        services,
        entries,
        which: which.into_iter().map(|(_, i)| i).collect(),
    })
}

/// Fetches the selected files into `dir/files`: the file of snapshot file `i` for each.
fn fetch_files(
    repo: &mut Repository,
    snapshot: &Snapshot,
    selection: &Selection,
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(PathBuf, std::collections::HashMap<String, PathBuf>), BackupError> {
    let fetched = dir.join("files");
    std::fs::create_dir(&fetched).map_err(io_at("create", &fetched))?;
    let paths = repo
        .restore(snapshot, &selection.which, &fetched, progress)
        .map_err(|e| match e {
            magi_repo::RepoError::Io {
                action,
                path,
                source,
            } => BackupError::io(action, &path, source),
            other => other.into(),
        })?;
    let by_path = selection
        .which
        .iter()
        .map(|i| snapshot.files[*i].path.clone())
        .zip(paths)
        .collect();
    Ok((fetched, by_path))
}

/// Rebuilds the archive of `snapshot` in `dir` (a fresh directory), holding only the services chosen:
/// their files fetched from the repository, databases first, then written as a backup writes them.
pub fn download(
    repo: &mut Repository,
    snapshot: &Snapshot,
    config: &Config,
    wanted: &[String],
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Archive, BackupError> {
    let mut manifest = manifest_of(snapshot)?;
    let selection = select(snapshot, &manifest, config, wanted)?;
    let (fetched, local) = fetch_files(repo, snapshot, &selection, dir, progress)?;
    let file_name = format!("{}.tar.zst", snapshot.name);
    let mut writer = ArchiveWriter::create(dir, &file_name, None)?;
    for entry in &selection.entries {
        let meta = EntryMeta {
            path: entry.path.clone(),
            service: entry.service.clone(),
            method: entry.method,
            engine: entry.engine.clone(),
            collection: entry.collection.clone(),
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
            mtime: entry.mtime,
        };
        match entry.entry_type {
            EntryType::Dir => writer.add_dir(meta)?,
            EntryType::Symlink => {
                writer.add_symlink(meta, entry.link.as_deref().unwrap_or_default())?
            }
            EntryType::File => {
                let path = &local[&entry.path];
                let mut file = File::open(path).map_err(io_at("read", path))?;
                writer.add_file(meta, entry.size, &mut file)?;
            }
        }
    }
    let services = &selection.services;
    manifest.services.retain(|s| services.contains(s));
    manifest.targets.retain(|t| services.contains(&t.service));
    manifest.failed.retain(|f| services.contains(&f.service));
    let (path, _, _) = writer.finish(manifest)?;
    std::fs::remove_dir_all(&fetched).map_err(io_at("remove", &fetched))?;
    Archive::open(&path, None)
}

/// Restores the files of the services chosen into `dir` (absent or empty) by their paths in the
/// archive, with their modes (never set-id bits) and times, touching nothing of the stack: to look
/// before restoring. Symlinks are listed, not made. Returns the files written.
pub fn download_to(
    repo: &mut Repository,
    snapshot: &Snapshot,
    config: &Config,
    wanted: &[String],
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, Vec<String>), BackupError> {
    use std::os::unix::fs::PermissionsExt;
    let manifest = manifest_of(snapshot)?;
    crate::confine::check(&manifest).map_err(|r| BackupError::BadEntry {
        archive: snapshot.name.clone(),
        entry: r.entry,
        message: r.message,
    })?;
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(BackupError::Io {
            action: "restore into",
            path: dir.to_owned(),
            source: std::io::Error::other("the directory is not empty"),
        });
    }
    std::fs::create_dir_all(dir).map_err(io_at("create", dir))?;
    let selection = select(snapshot, &manifest, config, wanted)?;
    if selection.entries.is_empty() {
        return Err(BackupError::BadArchive {
            archive: snapshot.name.clone(),
            message: "holds nothing of the services asked for".into(),
        });
    }
    let work = dir.join(".magi-fetch");
    std::fs::create_dir(&work).map_err(io_at("create", &work))?;
    let (fetched, local) = fetch_files(repo, snapshot, &selection, &work, progress)?;
    let mut files = 0;
    let mut links = Vec::new();
    let mut dirs = Vec::new();
    for entry in &selection.entries {
        let target = dir.join(&entry.path);
        let mode = std::fs::Permissions::from_mode(entry.mode & 0o777);
        match entry.entry_type {
            EntryType::Dir => {
                std::fs::create_dir_all(&target).map_err(io_at("create", &target))?;
                // Modes of directories last, so a read-only one is still filled.
                dirs.push((target, mode));
            }
            EntryType::Symlink => links.push(format!(
                "{} -> {}",
                entry.path,
                entry.link.as_deref().unwrap_or_default()
            )),
            EntryType::File => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io_at("create", parent))?;
                }
                let from = &local[&entry.path];
                std::fs::rename(from, &target).map_err(io_at("move into place", &target))?;
                std::fs::set_permissions(&target, mode).map_err(io_at("chmod", &target))?;
                files += 1;
            }
        }
    }
    debug_assert!(fetched.starts_with(&work));
    std::fs::remove_dir_all(&work).map_err(io_at("remove", &work))?;
    for (path, mode) in dirs.into_iter().rev() {
        std::fs::set_permissions(&path, mode).map_err(io_at("chmod", &path))?;
    }
    Ok((files, links))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::{ArchiveName, Kind};
    use jiff::Timestamp;
    use magi_repo::repo::{Keys, Options};
    use magi_repo::store::{DirStore, Store};
    use std::sync::Arc;

    /// A local archive of two files: a large one (several blocks of the reading thread) and a small one.
    fn archive(dir: &Path) -> (PathBuf, Vec<u8>) {
        let name = ArchiveName::new(Timestamp::now(), Kind::Regular);
        let mut writer = ArchiveWriter::create(dir, &name.file_name(), None).unwrap();
        let mut state = 7u64;
        let large: Vec<u8> = (0..3 << 20)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        for (path, content) in [("data/large.bin", &large[..]), ("data/small", b"hello")] {
            let meta = EntryMeta {
                path: path.into(),
                service: "open-webui".into(),
                method: Method::CopyPaused,
                engine: None,
                collection: None,
                mode: 0o600,
                uid: 0,
                gid: 0,
                mtime: 0,
            };
            writer
                .add_file(meta, content.len() as u64, &mut &content[..])
                .unwrap();
        }
        let manifest = Manifest::for_test(&dir.display().to_string(), "open-webui");
        (writer.finish(manifest).unwrap().0, large)
    }

    fn repository(dir: &Path) -> Repository {
        let store: Arc<dyn Store> = Arc::new(DirStore::new(&dir.join("bucket")).unwrap());
        magi_repo::repo::init(store.as_ref()).unwrap();
        let identity = Arc::new(age::x25519::Identity::generate());
        let keys = Keys {
            recipient: identity.to_public(),
            identity: Some(identity),
        };
        Repository::open(store, keys, &dir.join("cache"), Options::default()).unwrap()
    }

    #[test]
    fn an_upload_reads_on_one_thread_and_packs_on_another_and_a_damaged_archive_stores_no_snapshot()
    {
        let dir = tempfile::tempdir().unwrap();
        let (path, large) = archive(dir.path());
        let good = Archive::open(&path, None).unwrap();
        let mut repo = repository(&dir.path().join("one"));
        let mut seen = Vec::new();
        let snapshot = upload(&mut repo, &good, &mut |_, p| seen.push(p.to_owned())).unwrap();
        assert_eq!(seen, ["data/large.bin", "data/small"]);
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let paths = repo.restore(&snapshot, &[0, 1], &out, &|_| {}).unwrap();
        assert_eq!(std::fs::read(&paths[0]).unwrap(), large);
        assert_eq!(std::fs::read(&paths[1]).unwrap(), b"hello");

        // A byte flipped in the middle of the large file's frame: the reading thread's error is the one
        // reported, naming the entry, and the repository gets no snapshot.
        let frame = &good.manifest.entries[0].frame;
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[(frame.offset + frame.len / 2) as usize] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let damaged = Archive::open(&path, None).unwrap();
        let mut other = repository(&dir.path().join("two"));
        match upload(&mut other, &damaged, &mut |_, _| {}) {
            Err(BackupError::BadEntry { entry, .. }) => assert_eq!(entry, "data/large.bin"),
            other => panic!("not a bad entry: {other:?}"),
        }
        assert!(other.snapshots().unwrap().is_empty());
    }
}

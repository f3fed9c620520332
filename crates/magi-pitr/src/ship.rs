//! The capture's off-site copy: the point-in-time store uploaded into the cloud repository `[cloud]` names
//! (magi-repo: age-encrypted, chunked by content, so each upload sends only what changed: the segments'
//! new ends and new generations) as one snapshot named `pitr-TIME`, every minute by default. Once it is
//! stored, the older `pitr-` snapshots are forgotten (`magi backup cloud prune` reclaims what only they
//! held). `restore --from-cloud` fetches the newest into a scratch store and restores from it as from the
//! local one.
//!
//! What an upload takes: the complete generations (a generation without its `generation.json` is still
//! being made), each file up to the length it had when listed, so a segment being appended to is taken
//! to a point its reader stops at cleanly. What a download writes is checked as a bucket's objects must
//! be: each path must be a generation's own file, or nothing is written.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use magi_repo::Repository;
use magi_repo::snapshot::Snapshot;

use crate::timeline;

/// The name of every snapshot of the point-in-time store.
pub const PREFIX: &str = "pitr-";

/// Why an upload or a download failed.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Repo(#[from] magi_repo::RepoError),
    #[error(transparent)]
    Timeline(#[from] timeline::TimelineError),
    #[error(
        "the cloud repository holds no point-in-time snapshot (`{PREFIX}...`): nothing was shipped yet"
    )]
    NothingShipped,
    #[error(
        "{snapshot} holds '{path}', which is not a file of the point-in-time store: nothing was written"
    )]
    Foreign { snapshot: String, path: String },
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> ShipError + '_ {
    move |source| ShipError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What an upload stored.
#[derive(Debug, Clone)]
pub struct Shipped {
    pub snapshot: Snapshot,
    /// Older point-in-time snapshots forgotten after it.
    pub forgotten: usize,
}

/// The files of the store under `root` an upload takes, with their paths relative to it.
fn files(root: &Path) -> Result<Vec<(String, PathBuf)>, ShipError> {
    let mut found = Vec::new();
    let Ok(services) = fs::read_dir(root) else {
        return Ok(found);
    };
    for service in services {
        let service = service.map_err(io_error(root))?.path();
        let Ok(databases) = fs::read_dir(&service) else {
            continue;
        };
        for database in databases {
            let store = database.map_err(io_error(&service))?.path();
            for generation in timeline::generations(&store)? {
                let mut paths = vec![generation.base(), generation.dir.join("generation.json")];
                paths.extend(generation.segments.iter().map(|(_, p)| p.clone()));
                for path in paths {
                    let relative = path
                        .strip_prefix(root)
                        .expect("under the root")
                        .to_string_lossy()
                        .into_owned();
                    found.push((relative, path));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Uploads the store under `root` as a new `pitr-` snapshot and forgets the older ones.
pub fn upload(repo: &mut Repository, root: &Path) -> Result<Shipped, ShipError> {
    let files = files(root)?;
    let mut backup = repo.backup();
    let mut buffer = vec![0u8; 1 << 20];
    for (relative, path) in &files {
        let mut file = File::open(path).map_err(io_error(path))?;
        let size = file.metadata().map_err(io_error(path))?.len();
        let mut writer = backup.file(relative, size);
        let mut left = size;
        while left > 0 {
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = file.read(&mut buffer[..want]).map_err(io_error(path))?;
            if n == 0 {
                return Err(io_error(path)(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "it became shorter while it was read",
                )));
            }
            writer
                .write_all(&buffer[..n])
                .map_err(|e| match e.downcast() {
                    Ok(repo_error) => ShipError::Repo(repo_error),
                    Err(e) => io_error(path)(e),
                })?;
            left -= n as u64;
        }
        writer.finish()?;
    }
    let time = jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let name = format!("{PREFIX}{}", time.to_string().replace(':', "-"));
    let snapshot = backup.finish(
        &name,
        &magi_core::event::hostname(),
        serde_json::json!({ "kind": "pitr" }),
    )?;
    let older: Vec<String> = repo
        .snapshots()?
        .into_iter()
        .filter(|n| n.starts_with(PREFIX) && *n != name)
        .collect();
    repo.forget(&older)?;
    Ok(Shipped {
        snapshot,
        forgotten: older.len(),
    })
}

/// Whether `path` (from a snapshot) is a file a point-in-time store holds:
/// `SERVICE/DATABASE/GENERATION/(base.db.zst | generation.json | NNNNNNNN.seg)`, plain names only.
fn store_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let plain =
        |p: &str| !p.is_empty() && p != "." && p != ".." && !p.contains('\0') && !p.contains('\\');
    let generation = |p: &str| p.len() == 20 && p.bytes().all(|b| b.is_ascii_digit());
    let file = |p: &str| {
        p == "base.db.zst"
            || p == "generation.json"
            || p.strip_suffix(".seg")
                .is_some_and(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    parts.len() == 4 && parts.iter().all(|p| plain(p)) && generation(parts[2]) && file(parts[3])
}

/// Downloads the newest `pitr-` snapshot into `dest` (a new, empty directory), as a store to restore from;
/// its name.
pub fn download(repo: &mut Repository, dest: &Path) -> Result<String, ShipError> {
    let name = repo
        .snapshots()?
        .into_iter()
        .filter(|n| n.starts_with(PREFIX))
        .max()
        .ok_or(ShipError::NothingShipped)?;
    let snapshot = repo.snapshot(&name)?;
    if let Some(foreign) = snapshot.files.iter().find(|f| !store_path(&f.path)) {
        return Err(ShipError::Foreign {
            snapshot: name,
            path: foreign.path.clone(),
        });
    }
    let fetched = dest.join(".fetched");
    fs::create_dir_all(&fetched).map_err(io_error(&fetched))?;
    let which: Vec<usize> = (0..snapshot.files.len()).collect();
    let paths = repo.restore(&snapshot, &which, &fetched, &|_| {})?;
    for (file, from) in snapshot.files.iter().zip(paths) {
        let to = dest.join(&file.path);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        fs::rename(&from, &to).map_err(io_error(&to))?;
    }
    fs::remove_dir_all(&fetched).map_err(io_error(&fetched))?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_generation_s_own_files_are_written_from_a_snapshot() {
        for good in [
            "n8n/database.sqlite/01796402214416691552/base.db.zst",
            "open-webui/webui.db/01796402214416691552/00000001.seg",
            "n8n/database.sqlite/01796402214416691552/generation.json",
        ] {
            assert!(store_path(good), "{good}");
        }
        for bad in [
            "../etc/n8n/01796402214416691552/base.db.zst",
            "n8n/../01796402214416691552/base.db.zst",
            "/n8n/database.sqlite/01796402214416691552/base.db.zst",
            "n8n/database.sqlite/01796402214416691552/../../../../etc/passwd",
            "n8n/database.sqlite/0179640221441669155/base.db.zst",
            "n8n/database.sqlite/01796402214416691552/run.sh",
            "n8n/database.sqlite/01796402214416691552/00000001.seg/x",
            "n8n//01796402214416691552/base.db.zst",
            "",
        ] {
            assert!(!store_path(bad), "{bad}");
        }
    }
}

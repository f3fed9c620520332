//! The safety copy a restore keeps of what it replaces, made by renaming on the MAGI home's own file system
//! instead of writing another archive.
//!
//! A restore works in `MAGI_HOME/.magi-restore/<name>/` (`<name>` sorts by time, like an archive's):
//! `new/` holds the verified files staged from the archive, `new-qdrant/` the verified Qdrant snapshots,
//! `old/` receives what each replaced path held, moved aside by `rename(2)`, and `old-qdrant/` the snapshots
//! Qdrant gave of the collections about to be replaced. `journal.json` records, before anything under the
//! home moves, which paths are swapped and whether they existed, so [`Safety::roll_back`] puts everything
//! back from any point, also after the process was killed: the next `magi-restore` rolls back a safety copy
//! that was never confirmed. Once the stack is confirmed healthy the directory is removed
//! ([`Safety::confirm`]).

use std::fs::{self, DirBuilder, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, io_at};
use crate::name::{ArchiveName, Kind};

/// The directory under the MAGI home where restores stage and keep their safety copies.
pub const WORK_DIR: &str = ".magi-restore";
/// What a confirmed safety copy's directory is renamed to end with while it is deleted.
const REMOVING: &str = ".removing";

/// How far a restore got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Files are being staged; nothing under the home has moved.
    Staging,
    /// Paths under the home are being, or have been, swapped; the restore is not confirmed yet.
    Swapping,
}

/// A path the restore replaces as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// Relative to the MAGI home.
    pub path: String,
    /// Whether the home held it when the swap began.
    pub existed: bool,
    /// Paths under it that the archive does not restore and that stay as they are (moved over from the
    /// replaced tree into the new one).
    pub carry: Vec<String>,
}

/// What `journal.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub started: Timestamp,
    /// The archive being restored.
    pub archive: String,
    pub services: Vec<String>,
    /// Containers stopped while the paths are swapped.
    pub containers: Vec<String>,
    pub stage: Stage,
    pub roots: Vec<Root>,
    /// Per Qdrant service, the collections it had before the restore (their snapshots are in `old-qdrant/`).
    pub collections: Vec<(String, Vec<String>)>,
}

/// One restore's working and safety directory.
#[derive(Debug)]
pub struct Safety {
    pub name: String,
    pub dir: PathBuf,
    home: PathBuf,
    pub journal: Journal,
}

impl Safety {
    /// Creates the directory (0700) and its journal, in the staging stage.
    pub fn create(
        home: &Path,
        archive: &str,
        services: &[String],
        containers: &[String],
    ) -> Result<Safety, BackupError> {
        let work = home.join(WORK_DIR);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&work)
            .map_err(io_at("create", &work))?;
        let mut time = Timestamp::now();
        let (name, dir) = loop {
            let name = ArchiveName::new(time, Kind::Safety).stem();
            let dir = work.join(&name);
            match DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => break (name, dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    time += std::time::Duration::from_millis(1);
                }
                Err(e) => return Err(BackupError::io("create", &dir, e)),
            }
        };
        let safety = Safety {
            name,
            dir,
            home: home.to_owned(),
            journal: Journal {
                started: Timestamp::now(),
                archive: archive.to_owned(),
                services: services.to_vec(),
                containers: containers.to_vec(),
                stage: Stage::Staging,
                roots: Vec::new(),
                collections: Vec::new(),
            },
        };
        for sub in ["new", "old", "new-qdrant", "old-qdrant"] {
            let path = safety.dir.join(sub);
            fs::create_dir(&path).map_err(io_at("create", &path))?;
        }
        safety.save()?;
        Ok(safety)
    }

    /// The safety directories of restores that were interrupted, oldest first.
    pub fn leftovers(home: &Path) -> Vec<Result<Safety, BackupError>> {
        let work = home.join(WORK_DIR);
        let Ok(entries) = fs::read_dir(&work) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().ends_with(REMOVING))
            .map(|e| e.path())
            .collect();
        found.sort();
        found
            .into_iter()
            .map(|dir| {
                let path = dir.join("journal.json");
                let text = fs::read(&path).map_err(io_at("read", &path))?;
                let journal: Journal = serde_json::from_slice(&text).map_err(|e| {
                    BackupError::io("read", &path, io::Error::new(io::ErrorKind::InvalidData, e))
                })?;
                Ok(Safety {
                    name: dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    dir,
                    home: home.to_owned(),
                    journal,
                })
            })
            .collect()
    }

    /// The MAGI home this restore replaces paths of.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Where the staged files go, mirroring the home.
    pub fn staging(&self) -> PathBuf {
        self.dir.join("new")
    }

    /// Where the staged snapshots of a Qdrant service go.
    pub fn new_snapshots(&self, service: &str) -> PathBuf {
        self.dir.join("new-qdrant").join(service)
    }

    /// Where the snapshots of a Qdrant service's current collections go.
    pub fn old_snapshots(&self, service: &str) -> PathBuf {
        self.dir.join("old-qdrant").join(service)
    }

    /// Bytes the safety copy holds (what was moved aside and the saved snapshots).
    pub fn size(&self) -> u64 {
        fn walk(path: &Path) -> u64 {
            let Ok(m) = fs::symlink_metadata(path) else {
                return 0;
            };
            if m.is_dir() {
                fs::read_dir(path)
                    .map(|es| es.flatten().map(|e| walk(&e.path())).sum())
                    .unwrap_or(0)
            } else {
                m.len()
            }
        }
        walk(&self.dir.join("old")) + walk(&self.dir.join("old-qdrant"))
    }

    /// Writes the journal (to a temporary name, fsynced, renamed).
    pub fn save(&self) -> Result<(), BackupError> {
        let path = self.dir.join("journal.json");
        let temp = self.dir.join(".journal.json.partial");
        let json = serde_json::to_vec_pretty(&self.journal).expect("a journal serializes");
        let written = (|| {
            let mut file = File::create(&temp)?;
            io::Write::write_all(&mut file, &json)?;
            file.sync_all()?;
            fs::rename(&temp, &path)?;
            File::open(&self.dir)?.sync_all()
        })();
        written.map_err(io_at("write", &path))
    }

    /// Checks that every root's parent is on the file system of the safety directory, where a rename works.
    pub fn check_same_file_system(&self, roots: &[Root]) -> Result<(), BackupError> {
        let dev = fs::metadata(&self.dir)
            .map_err(io_at("read", &self.dir))?
            .dev();
        for root in roots {
            let mut parent = self.home.join(&root.path);
            while !parent.exists() {
                if !parent.pop() {
                    break;
                }
            }
            let theirs = fs::metadata(&parent).map_err(io_at("read", &parent))?.dev();
            if theirs != dev {
                return Err(BackupError::io(
                    "restore",
                    &self.home.join(&root.path),
                    io::Error::other(format!(
                        "it is on another file system than {}, where the restore stages and keeps its safety copy; nothing was changed",
                        self.dir.display()
                    )),
                ));
            }
        }
        Ok(())
    }

    /// Moves every root aside into `old/` and the staged one into its place, then carries over what stays;
    /// the journal is written first, so an interruption at any point can be rolled back. Ends with an fsync
    /// of every directory whose entries changed.
    pub fn swap(&mut self, roots: Vec<Root>) -> Result<(), BackupError> {
        self.journal.roots = roots
            .into_iter()
            .map(|mut r| {
                r.existed = fs::symlink_metadata(self.home.join(&r.path)).is_ok();
                r
            })
            .collect();
        self.journal.stage = Stage::Swapping;
        self.save()?;
        let mut touched: Vec<PathBuf> = Vec::new();
        for root in &self.journal.roots {
            let live = self.home.join(&root.path);
            let old = self.dir.join("old").join(&root.path);
            let new = self.staging().join(&root.path);
            let parent = live.parent().unwrap_or(&self.home).to_owned();
            fs::create_dir_all(&parent).map_err(io_at("create", &parent))?;
            if root.existed {
                move_to(&live, &old)?;
                touched.push(old.parent().unwrap_or(&self.dir).to_owned());
            }
            if fs::symlink_metadata(&new).is_ok() {
                fs::rename(&new, &live).map_err(io_at("rename into place", &live))?;
            }
            for carried in &root.carry {
                let from = self.dir.join("old").join(carried);
                if fs::symlink_metadata(&from).is_ok() {
                    let to = self.home.join(carried);
                    move_to(&from, &to)?;
                    touched.push(to.parent().unwrap_or(&self.home).to_owned());
                }
            }
            touched.push(parent);
        }
        sync_dirs(touched)
    }

    /// Puts back what [`Safety::swap`] moved, from whatever point it reached; the restored paths are
    /// removed. Idempotent. Qdrant's collections are the caller's ([`Safety::old_snapshots`]).
    pub fn roll_back(&self) -> Result<(), BackupError> {
        if self.journal.stage == Stage::Staging {
            return Ok(());
        }
        let mut touched = Vec::new();
        for root in self.journal.roots.iter().rev() {
            let live = self.home.join(&root.path);
            let old = self.dir.join("old").join(&root.path);
            if root.existed && fs::symlink_metadata(&old).is_err() {
                // Never moved aside: the live path is still the original.
                continue;
            }
            for carried in &root.carry {
                let here = self.home.join(carried);
                let back = self.dir.join("old").join(carried);
                if fs::symlink_metadata(&here).is_ok() && fs::symlink_metadata(&back).is_err() {
                    move_to(&here, &back)?;
                }
            }
            remove(&live)?;
            if root.existed {
                fs::rename(&old, &live).map_err(io_at("move back", &live))?;
            }
            touched.push(live.parent().unwrap_or(&self.home).to_owned());
        }
        sync_dirs(touched)
    }

    /// Drops the safety copy of a restore confirmed healthy: renamed out of the leftovers at once (it is
    /// never rolled back after this), then deleted by a background `rm -rf`, since unlinking the tens of
    /// thousands of files a restore may replace can take longer than the restore; whatever a killed `rm`
    /// leaves, the next restore removes.
    pub fn confirm(self) -> Result<(), BackupError> {
        let gone = self.dir.with_file_name(format!("{}{REMOVING}", self.name));
        fs::rename(&self.dir, &gone).map_err(io_at("rename", &self.dir))?;
        let spawned = std::process::Command::new("rm")
            .arg("-rf")
            .arg(&gone)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn();
        if let Err(e) = spawned {
            log::debug!("cannot start rm -rf in the background ({e}); removing it now");
            fs::remove_dir_all(&gone).map_err(io_at("remove", &gone))?;
        }
        Ok(())
    }

    /// Removes what confirmed restores left to be deleted (a background `rm` that was killed).
    pub fn remove_confirmed(home: &Path) {
        let Ok(entries) = fs::read_dir(home.join(WORK_DIR)) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().ends_with(REMOVING) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Removes the directory: the restore is rolled back, or never started.
    pub fn discard(self) -> Result<(), BackupError> {
        fs::remove_dir_all(&self.dir).map_err(io_at("remove", &self.dir))?;
        let work = self.home.join(WORK_DIR);
        let _ = fs::remove_dir(&work);
        Ok(())
    }
}

/// Renames `from` to `to`, creating `to`'s parents.
fn move_to(from: &Path, to: &Path) -> Result<(), BackupError> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(io_at("create", parent))?;
    }
    fs::rename(from, to).map_err(io_at("move aside", from))
}

fn remove(path: &Path) -> Result<(), BackupError> {
    let removed = match fs::symlink_metadata(path) {
        Err(_) => return Ok(()),
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    removed.map_err(io_at("remove", path))
}

fn sync_dirs(mut dirs: Vec<PathBuf>) -> Result<(), BackupError> {
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_at("sync", &dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(home: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
            for e in fs::read_dir(dir).unwrap().flatten() {
                let rel = e.path().strip_prefix(base).unwrap().display().to_string();
                if rel.starts_with(WORK_DIR) {
                    continue;
                }
                if e.file_type().unwrap().is_dir() {
                    walk(base, &e.path(), out);
                } else {
                    out.push((rel, fs::read_to_string(e.path()).unwrap()));
                }
            }
        }
        walk(home, home, &mut out);
        out.sort();
        out
    }

    fn root(path: &str, carry: &[&str]) -> Root {
        Root {
            path: path.into(),
            existed: false,
            carry: carry.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn a_swap_replaces_carries_over_and_rolls_back_exactly() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path();
        fs::create_dir_all(h.join("data/app/sub")).unwrap();
        fs::write(h.join("data/app/a"), "old a").unwrap();
        fs::write(h.join("data/app/sub/extra"), "gone after").unwrap();
        fs::write(h.join("data/app/db"), "kept db").unwrap();
        fs::write(h.join(".env"), "old env").unwrap();
        let before = tree(h);
        let mut safety = Safety::create(h, "magi-x", &["app".into()], &[]).unwrap();
        let staging = safety.staging();
        fs::create_dir_all(staging.join("data/app")).unwrap();
        fs::write(staging.join("data/app/a"), "new a").unwrap();
        fs::write(staging.join("workflows"), "new file").unwrap();
        safety
            .swap(vec![
                root("data/app", &["data/app/db"]),
                root(".env", &[]),
                root("workflows", &[]),
            ])
            .unwrap();
        assert_eq!(
            tree(h),
            vec![
                ("data/app/a".into(), "new a".into()),
                ("data/app/db".into(), "kept db".into()),
                ("workflows".into(), "new file".into()),
            ]
        );
        let reread = Safety::leftovers(h).pop().unwrap().unwrap();
        assert_eq!(reread.journal.stage, Stage::Swapping);
        reread.roll_back().unwrap();
        reread.roll_back().unwrap();
        assert_eq!(tree(h), before);
        reread.discard().unwrap();
        assert!(!h.join(WORK_DIR).exists());
    }
}

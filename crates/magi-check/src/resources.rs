//! What a service occupies on disk and how much room is left: the size of its data directories (as `du` counts
//! it, in allocated blocks, without following symbolic links or leaving the file system) and the free space of
//! the file systems holding the MAGI home, the backups and the Docker engine's root (its images, containers
//! and volumes).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Free space on the file system holding one of the stack's directories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disk {
    /// What lives there: "MAGI home", "backups", "Docker".
    pub role: String,
    pub path: PathBuf,
    /// Bytes available to unprivileged writers.
    pub free: u64,
    pub total: u64,
}

impl Disk {
    /// Free over total, 0 to 1.
    pub fn free_fraction(&self) -> Option<f64> {
        (self.total > 0).then(|| self.free as f64 / self.total as f64)
    }

    /// Measures the file system holding `path`, or its nearest existing ancestor (the backup directory may not
    /// exist before the first backup). `None` if nothing along the path can be measured.
    pub fn measure(role: &str, path: &Path) -> Option<Disk> {
        let existing = path.ancestors().find(|p| p.exists())?;
        let stat = nix::sys::statvfs::statvfs(existing).ok()?;
        let fragment = stat.fragment_size() as u64;
        Some(Disk {
            role: role.to_owned(),
            path: path.to_owned(),
            free: stat.blocks_available() as u64 * fragment,
            total: stat.blocks() as u64 * fragment,
        })
    }
}

/// The space the files under `paths` take, in bytes; paths that do not exist count as nothing. Returns `None`
/// if none of them exists.
pub fn size_of(paths: &[PathBuf]) -> Option<u64> {
    let mut total = 0;
    let mut any = false;
    for path in paths {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            continue;
        };
        any = true;
        total += walk(path, &meta, meta.dev());
    }
    any.then_some(total)
}

fn walk(path: &Path, meta: &std::fs::Metadata, device: u64) -> u64 {
    let mut total = meta.blocks() * 512;
    if !meta.is_dir() || meta.dev() != device {
        return total;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return total;
    };
    for entry in entries.flatten() {
        if let Ok(child) = entry.metadata() {
            total += walk(&entry.path(), &child, device);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_allocated_blocks_and_skip_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/file"), vec![7u8; 100_000]).unwrap();
        std::os::unix::fs::symlink("/usr", dir.path().join("a/link")).unwrap();
        let size = size_of(&[dir.path().join("a"), dir.path().join("nope")]).unwrap();
        assert!((100_000..200_000).contains(&size), "{size}");
        assert_eq!(size_of(&[dir.path().join("nope")]), None);
    }

    #[test]
    fn free_space_is_measured_at_the_nearest_existing_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let disk = Disk::measure("backups", &dir.path().join("not/yet")).unwrap();
        assert_eq!(disk.path, dir.path().join("not/yet"));
        assert!(disk.total > 0 && disk.free <= disk.total);
        assert!(disk.free_fraction().unwrap() <= 1.0);
    }
}

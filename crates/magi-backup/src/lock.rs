//! The lock that keeps two backups or restores from running at once: a `.lock` file in the backup
//! directory naming the holder's pid and start time.
//!
//! It is taken atomically (written under a private name, then hard-linked into place, which fails if the
//! lock exists), so it never exists half-written. A lock whose holder is dead, or whose pid now belongs to a
//! process started at another time (pid reuse), is stale: it is removed and taken.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{BackupError, io_at};

const LOCK: &str = ".lock";

/// Who holds a lock: the pid and the process's start time (clock ticks since boot, from `/proc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub start: u64,
}

impl Holder {
    /// This process.
    pub fn me() -> Holder {
        let pid = std::process::id();
        Holder {
            pid,
            start: start_time(pid).unwrap_or(0),
        }
    }

    pub fn parse(text: &str) -> Option<Holder> {
        let mut fields = text.split_whitespace();
        let pid = fields.next()?.parse().ok()?;
        let start = fields.next()?.parse().ok()?;
        Some(Holder { pid, start })
    }

    fn to_line(self) -> String {
        format!("{} {}\n", self.pid, self.start)
    }
}

/// The start time of a live process, `None` if there is no such process.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a lock held by `holder` is stale, given how to find a live process's start time. A lock file
/// that does not parse cannot have been written by us (it is linked in complete) and is stale.
pub fn is_stale(holder: Option<Holder>, start_of: impl Fn(u32) -> Option<u64>) -> bool {
    match holder {
        None => true,
        Some(h) => start_of(h.pid) != Some(h.start),
    }
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    holder: Holder,
}

impl Lock {
    /// Takes the lock of `dir`, clearing a stale one.
    pub fn acquire(dir: &Path) -> Result<Lock, BackupError> {
        let path = dir.join(LOCK);
        let me = Holder::me();
        let private = dir.join(format!("{LOCK}.{}", me.pid));
        fs::write(&private, me.to_line()).map_err(io_at("write the lock", &private))?;
        let result = (|| {
            for _ in 0..3 {
                match fs::hard_link(&private, &path) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(BackupError::io("take the lock", &path, e)),
                }
                let holder = match fs::read_to_string(&path) {
                    Ok(text) => Holder::parse(&text),
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(BackupError::io("read the lock", &path, e)),
                };
                if !is_stale(holder, start_time) {
                    let pid = holder.map_or(0, |h| h.pid);
                    return Err(BackupError::Locked {
                        path: path.clone(),
                        pid,
                    });
                }
                log::warn!(
                    "removing the stale lock {} of process {}, which is no longer running",
                    path.display(),
                    holder.map_or_else(|| "?".to_owned(), |h| h.pid.to_string())
                );
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != ErrorKind::NotFound => {
                        return Err(BackupError::io("remove the stale lock", &path, e));
                    }
                    _ => {}
                }
            }
            Err(BackupError::Locked {
                path: path.clone(),
                pid: 0,
            })
        })();
        let _ = fs::remove_file(&private);
        result.map(|()| Lock { path, holder: me })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let ours = fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| Holder::parse(&t))
            == Some(self.holder);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_of_a_dead_or_reused_pid_is_stale() {
        let holder = Holder {
            pid: 42,
            start: 1000,
        };
        assert!(!is_stale(Some(holder), |_| Some(1000)), "alive: held");
        assert!(is_stale(Some(holder), |_| None), "dead: stale");
        assert!(is_stale(Some(holder), |_| Some(2000)), "pid reused: stale");
        assert!(is_stale(None, |_| Some(1000)), "garbage: stale");
        assert_eq!(Holder::parse("42 1000\n"), Some(holder));
        assert_eq!(Holder::parse("42"), None);
    }

    #[test]
    fn a_second_taker_is_refused_and_a_stale_lock_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock::acquire(dir.path()).unwrap();
        let err = Lock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("(pid {}) is running", std::process::id())),
            "{err}"
        );
        drop(lock);
        assert!(!dir.path().join(LOCK).exists());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(dir.path().join(LOCK), format!("{dead} 1\n")).unwrap();
        let lock = Lock::acquire(dir.path()).unwrap();
        assert_eq!(
            Holder::parse(&fs::read_to_string(lock.path()).unwrap()),
            Some(Holder::me())
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no private file left"
        );
    }
}

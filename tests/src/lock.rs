//! Machine-wide turns: an exclusive `flock` on a file under the system temp dir, held until dropped.
//!
//! `flock` locks belong to an open file description, and every [`Turn`] opens the file anew, so the lock
//! serialises threads of one test binary as well as separate test binaries: no process-wide mutex is needed
//! beside it. The kernel drops the lock when a killed process's descriptor closes, so a crashed run never
//! leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;

/// An exclusive hold on a named lock file; released on drop.
#[derive(Debug)]
pub(crate) struct Turn {
    _file: File,
}

impl Turn {
    /// Blocks until this thread holds the lock named `name` (`/tmp/magi-testkit-NAME.lock`).
    pub(crate) fn take(name: &str) -> Turn {
        let path: PathBuf = std::env::temp_dir().join(format!("magi-testkit-{name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open the lock file {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        Turn { _file: file }
    }
}

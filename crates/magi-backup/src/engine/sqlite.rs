//! SQLite databases (Open WebUI's `webui.db`, Chroma's `chroma.sqlite3`, n8n's `database.sqlite`): copied
//! with SQLite's online backup API from a read-only connection, so a live WAL database gives a consistent
//! copy and no `-wal`/`-shm` file of ours appears beside it; then `PRAGMA integrity_check` on the copy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::StepResult;
use rusqlite::{Connection, OpenFlags};

use super::{Capture, Context, EngineError, Staged, StagedFile, meta_of, open_staged};
use crate::manifest::{Method, TargetRecord};

pub struct SqliteTarget {
    pub service: String,
    pub path: PathBuf,
}

/// `ok`, or what `PRAGMA integrity_check` found first. Only for copies of ours: a WAL database needs its
/// `-shm` created, so the connection may write.
pub fn integrity(path: &Path) -> Result<(), EngineError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(EngineError::sqlite("cannot open it as SQLite"))?;
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(EngineError::sqlite("integrity_check cannot run"))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(EngineError::answer(format!("integrity_check: {verdict}")))
    }
}

impl Capture for SqliteTarget {
    fn service(&self) -> &str {
        &self.service
    }

    fn label(&self) -> String {
        format!("sqlite {}", self.path.display())
    }

    fn record(&self) -> TargetRecord {
        TargetRecord::new(&self.service, "sqlite", Some(&self.path))
    }

    fn stage(&self, context: &Context) -> Result<Staged, EngineError> {
        let source = context.home().join(&self.path);
        let record = self.record();
        if !source.exists() {
            log::info!(
                "{}: {} does not exist; nothing to capture",
                self.service,
                self.path.display()
            );
            return Ok(Staged {
                files: Vec::new(),
                walk: None,
                record,
            });
        }
        let mut meta = meta_of(
            &source,
            self.path.display().to_string(),
            &self.service,
            Method::SqliteOnlineBackup,
        )?;
        meta.engine = Some(format!("sqlite {}", rusqlite::version()));
        let copy = context.scratch.join(format!(
            "{}-{}.sqlite",
            self.service,
            self.path.display().to_string().replace('/', "_")
        ));
        let src = Connection::open_with_flags(
            &source,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(EngineError::sqlite(format!(
            "cannot open {}",
            source.display()
        )))?;
        src.busy_timeout(Duration::from_secs(30))
            .map_err(EngineError::sqlite("cannot set a busy timeout"))?;
        let mut dst = Connection::open(&copy).map_err(EngineError::sqlite(format!(
            "cannot create the copy {}",
            copy.display()
        )))?;
        {
            let backup = rusqlite::backup::Backup::new(&src, &mut dst)
                .map_err(EngineError::sqlite("the online backup cannot start"))?;
            let deadline = std::time::Instant::now() + Duration::from_secs(300);
            loop {
                match backup.step(-1) {
                    Ok(StepResult::Done) => break,
                    Ok(StepResult::More) => {}
                    Ok(_) if std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Ok(_) => {
                        return Err(EngineError::answer("the database stayed locked for 300s"));
                    }
                    Err(e) => return Err(EngineError::sqlite("the online backup failed")(e)),
                }
            }
        }
        drop(dst);
        drop(src);
        if let Err(e) = integrity(&copy) {
            let _ = std::fs::remove_file(&copy);
            return Err(EngineError::answer(format!(
                "the copy fails its check: {e}"
            )));
        }
        let (file, size) = open_staged(&copy)?;
        Ok(Staged {
            files: vec![StagedFile { meta, file, size }],
            walk: None,
            record,
        })
    }
}

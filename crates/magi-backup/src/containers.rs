//! The containers a backup pauses and a restore stops, through the shared [`magi_docker::Engine`], called
//! from the worker threads that capture and restore.
//!
//! Every pause is recorded in a state file (`.magi-backup-paused.json` beside the archives) before it is made
//! and removed from it once undone, so a run killed while a container was paused is repaired by the next
//! run ([`Pauser::recover`]); a signal makes [`Pauser::interrupt`] unpause everything at once. One mutex
//! orders pausing and interrupting, so a pause in flight when a signal arrives is undone too.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use magi_docker::{Container, Engine, State};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use crate::engine::EngineError;
use crate::error::{BackupError, io_at};

/// How long a container may take to stop before Docker kills it.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Blocking calls on the Docker engine, for worker threads of a runtime whose main thread drives it.
#[derive(Clone)]
pub struct Docker {
    engine: Engine,
    handle: Handle,
}

impl Docker {
    pub fn new(engine: Engine, handle: Handle) -> Docker {
        Docker { engine, handle }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs a future of the engine's runtime to completion.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    pub fn inspect(&self, name: &str) -> Result<Container, BackupError> {
        Ok(self.handle.block_on(self.engine.inspect(name))?)
    }

    /// The address of a running container on its network.
    pub fn ip(&self, name: &str) -> Result<String, EngineError> {
        let container = self.handle.block_on(self.engine.inspect(name))?;
        let fail = |why: String| EngineError::Container {
            name: name.to_owned(),
            why,
        };
        if container.state != State::Running {
            return Err(fail(format!("is {}", container.state)));
        }
        container
            .ip()
            .map(str::to_owned)
            .ok_or_else(|| fail("has no IP address on any network".into()))
    }

    pub fn stop(&self, name: &str) -> Result<(), BackupError> {
        Ok(self.handle.block_on(self.engine.stop(name, STOP_GRACE))?)
    }

    pub fn start(&self, name: &str) -> Result<(), BackupError> {
        Ok(self.handle.block_on(self.engine.start(name))?)
    }

    fn pause(&self, name: &str) -> Result<(), BackupError> {
        Ok(self.handle.block_on(self.engine.pause(name))?)
    }

    fn unpause(&self, name: &str) -> Result<(), BackupError> {
        Ok(self.handle.block_on(self.engine.unpause(name))?)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    pid: u32,
    paused: Vec<String>,
}

#[derive(Default)]
struct Inner {
    paused: Vec<String>,
    interrupted: bool,
}

/// Pauses containers for copying, and makes sure they are unpaused.
#[derive(Clone)]
pub struct Pauser {
    docker: Option<Docker>,
    file: PathBuf,
    inner: Arc<Mutex<Inner>>,
}

impl Pauser {
    /// `dir` keeps the list of containers paused right now (the backup directory, root's like the backup).
    pub fn new(docker: Option<Docker>, dir: &Path) -> Pauser {
        Pauser {
            docker,
            file: dir.join(".magi-backup-paused.json"),
            inner: Arc::default(),
        }
    }

    fn save(&self, paused: &[String]) -> Result<(), BackupError> {
        if paused.is_empty() {
            return match fs::remove_file(&self.file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(BackupError::io("remove", &self.file, e))
                }
                _ => Ok(()),
            };
        }
        if let Some(dir) = self.file.parent() {
            fs::create_dir_all(dir).map_err(io_at("create", dir))?;
        }
        let record = Record {
            pid: std::process::id(),
            paused: paused.to_vec(),
        };
        let temp = self.file.with_extension("json.tmp");
        let text = serde_json::to_vec(&record).expect("a record serializes");
        fs::File::create(&temp)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(&text)?;
                f.sync_all()
            })
            .and_then(|()| fs::rename(&temp, &self.file))
            .map_err(io_at("write", &self.file))
    }

    /// Unpauses what an interrupted run left paused. Call with the lock held.
    pub fn recover(&self) -> Result<(), BackupError> {
        let text = match fs::read_to_string(&self.file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(BackupError::io("read", &self.file, e)),
        };
        let record: Record = serde_json::from_str(&text).unwrap_or_default();
        let docker = self.docker.as_ref().ok_or_else(|| BackupError::Io {
            action: "undo the pauses recorded in",
            path: self.file.clone(),
            source: std::io::Error::other("Docker cannot be reached"),
        })?;
        for name in &record.paused {
            if docker.inspect(name)?.state == State::Paused {
                docker.unpause(name)?;
                log::warn!(
                    "unpaused {name}, left paused by an interrupted backup (pid {})",
                    record.pid
                );
            }
        }
        self.save(&[])
    }

    /// Pauses `container` (unless it is already paused by someone else, or not running) and returns a
    /// guard that unpauses it when dropped.
    pub fn pause(&self, container: &str) -> Result<PauseGuard, BackupError> {
        let docker = self.docker.as_ref().ok_or_else(|| BackupError::Io {
            action: "pause",
            path: PathBuf::from(container),
            source: std::io::Error::other("Docker cannot be reached"),
        })?;
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.interrupted {
            return Err(BackupError::Interrupted);
        }
        if docker.inspect(container)?.state != State::Running {
            return Ok(PauseGuard {
                pauser: None,
                container: container.to_owned(),
            });
        }
        let mut paused = inner.paused.clone();
        paused.push(container.to_owned());
        self.save(&paused)?;
        docker.pause(container)?;
        inner.paused = paused;
        Ok(PauseGuard {
            pauser: Some(self.clone()),
            container: container.to_owned(),
        })
    }

    fn unpause(&self, container: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !inner.paused.iter().any(|c| c == container) {
            return;
        }
        let docker = self
            .docker
            .as_ref()
            .expect("a container was paused through Docker");
        match docker.unpause(container) {
            Ok(()) => {
                inner.paused.retain(|c| c != container);
                let paused = inner.paused.clone();
                if let Err(e) = self.save(&paused) {
                    log::warn!("{e}");
                }
            }
            Err(e) => log::error!(
                "{e}; it stays recorded in {} and the next run unpauses it",
                self.file.display()
            ),
        }
    }

    /// Unpauses everything now and refuses further pauses: the process is about to end on a signal.
    pub fn interrupt(&self) {
        let paused = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.interrupted = true;
            inner.paused.clone()
        };
        for container in paused {
            self.unpause(&container);
        }
    }
}

/// A paused container; dropping the guard unpauses it, on success, error and unwinding alike.
pub struct PauseGuard {
    pauser: Option<Pauser>,
    container: String,
}

impl PauseGuard {
    /// Whether this guard really paused the container (it was running).
    pub fn paused(&self) -> bool {
        self.pauser.is_some()
    }
}

impl Drop for PauseGuard {
    fn drop(&mut self) {
        if let Some(pauser) = self.pauser.take() {
            pauser.unpause(&self.container);
        }
    }
}

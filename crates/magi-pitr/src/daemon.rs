//! `magi-pitr capture`, the daemon: one thread per SQLite database of the stack, each keeping a
//! [`Follower`] open and polling it. A database not there yet, or not in WAL mode, is looked at again
//! every little while, so a service installed or switched later is followed without a restart; a database
//! file replaced (a restore swaps one in) is opened again; a failure is logged when it starts and when it
//! ends, not every poll.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use magi_core::backoff::Backoff;

use crate::capture::{Follower, Options};
use crate::check::{self, Database, Mode};
use crate::timeline;

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The point-in-time store: `<backup dir>/pitr`.
    pub root: PathBuf,
    /// Time between polls of a database: what a restore to the second can miss at most.
    pub interval: Duration,
    pub options: Options,
}

/// How often a database that cannot be followed is looked at again.
const RECHECK: Backoff = Backoff {
    initial: Duration::from_secs(1),
    max: Duration::from_secs(30),
};

/// Follows `databases` until `stop` is set.
pub fn run(databases: Vec<Database>, settings: &Settings, stop: &Arc<AtomicBool>) {
    let threads: Vec<_> = databases
        .into_iter()
        .map(|database| {
            let settings = settings.clone();
            let stop = Arc::clone(stop);
            std::thread::Builder::new()
                .name(format!("follow {}", database.service))
                .spawn(move || follow(&database, &settings, &stop))
        })
        .collect();
    for thread in threads {
        match thread {
            Ok(handle) => {
                if handle.join().is_err() {
                    log::error!("a capture thread panicked");
                }
            }
            Err(e) => log::error!("cannot start a capture thread: {e}"),
        }
    }
}

/// Follows one database until `stop` is set.
fn follow(database: &Database, settings: &Settings, stop: &AtomicBool) {
    let shown = format!("{} ({})", database.path.display(), database.service);
    let store = timeline::database_store(&settings.root, &database.service, &database.path);
    let mut follower: Option<Follower> = None;
    let mut said: Option<String> = None;
    let mut failures = 0;
    let mut complain = |now: Option<String>| {
        match (&said, &now) {
            (before, Some(now)) if before.as_ref() != Some(now) => log::warn!("{shown}: {now}"),
            (Some(_), None) => log::info!("{shown}: followed again"),
            _ => {}
        }
        said = now;
    };
    while !stop.load(Ordering::SeqCst) {
        if follower.as_ref().is_some_and(|f| !f.still_current()) {
            log::info!("{shown}: the database file was replaced; following the new one");
            follower = None;
        }
        let problem = match follower.as_mut() {
            Some(open) => match open.poll() {
                Ok(polled) => {
                    if polled.new_generation {
                        log::info!("{shown}: a new generation begun");
                    }
                    None
                }
                Err(e) if e.is_disk_full() => {
                    follower = None;
                    Some(disk_full(&store))
                }
                Err(e) => {
                    follower = None;
                    Some(e.to_string())
                }
            },
            None => match open(database, &store, settings.options) {
                Ok(opened) => {
                    follower = Some(opened);
                    continue;
                }
                Err(why) => Some(why),
            },
        };
        let wait = match problem {
            None => {
                failures = 0;
                complain(None);
                settings.interval
            }
            Some(why) => {
                failures += 1;
                complain(Some(why));
                RECHECK.wait(failures)
            }
        };
        sleep_unless_stopped(wait, stop);
    }
    if let Some(Err(e)) = follower.as_mut().map(Follower::finish) {
        log::warn!("{shown}: the last poll before stopping: {e}");
    }
}

/// A follower for `database`, or why there cannot be one yet.
fn open(
    database: &Database,
    store: &std::path::Path,
    options: Options,
) -> Result<Follower, String> {
    match check::mode_of(&database.path) {
        Ok(Mode::Wal) => {}
        Ok(Mode::Missing | Mode::Empty) => {
            return Err("not there yet (the service has not created it); looking again".into());
        }
        Ok(Mode::Rollback) => {
            return Err(database.advice.clone().unwrap_or_else(|| {
                "in rollback-journal mode: `magi-pitr check` says how to switch it to WAL".into()
            }));
        }
        Ok(Mode::NotSqlite) => return Err("not a SQLite database".into()),
        Err(e) => return Err(e.to_string()),
    }
    Follower::open(&database.path, store, options).map_err(|e| {
        if e.is_disk_full() {
            disk_full(store)
        } else {
            e.to_string()
        }
    })
}

/// The one warning a full disk gives, however the capture meets it.
fn disk_full(store: &std::path::Path) -> String {
    format!(
        "the disk of {} is full: shipping is paused (the application is not held up) and goes on when \
         there is room",
        store.display()
    )
}

/// Sleeps `wait`, waking early when `stop` is set.
fn sleep_unless_stopped(wait: Duration, stop: &AtomicBool) {
    let until = Instant::now() + wait;
    while !stop.load(Ordering::SeqCst) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

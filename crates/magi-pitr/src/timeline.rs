//! The point-in-time store on disk: for each database a directory of generations, each a copy of the
//! database file when it began (`base.db.zst`), its segments in order (`00000001.seg`, ...) and
//! `generation.json`, written last, without which a generation is not complete and is ignored (and
//! removed by the next capture). A generation is named by the Unix nanosecond it began, zero-padded, so
//! names sort by time.
//!
//! ```text
//! <backup dir>/pitr/<service>/<database file name>/<generation>/{base.db.zst, generation.json, *.seg}
//! ```

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The base copy's name in a generation.
const BASE: &str = "base.db.zst";
const INFO: &str = "generation.json";
/// zstd's fastest level: a generation's copy is taken under the capture's read transaction.
const BASE_LEVEL: i32 = 1;

/// Why the store cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {why}")]
    Invalid { path: PathBuf, why: String },
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> TimelineError + '_ {
    move |source| TimelineError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a generation records about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationInfo {
    /// Unix nanoseconds: the generation's first point, the database as the capture found it.
    pub started: i64,
    /// The database followed, and its file's inode (a new file is a new generation).
    pub database: PathBuf,
    pub inode: u64,
    /// The transactions the first segment holds from the start: the log as it stood when the copy was
    /// taken, which the copy needs to be whole. A restore cannot use the generation without all of them.
    pub base_transactions: u64,
}

/// A complete generation found in the store.
#[derive(Debug, Clone)]
pub struct Generation {
    pub dir: PathBuf,
    pub info: GenerationInfo,
    /// Its segments by number, in order.
    pub segments: Vec<(u32, PathBuf)>,
}

impl Generation {
    /// The copy of the database the generation began with.
    pub fn base(&self) -> PathBuf {
        self.dir.join(BASE)
    }
}

/// The store's directory for one database of a service.
pub fn database_store(root: &Path, service: &str, database: &Path) -> PathBuf {
    let file = database
        .file_name()
        .map_or_else(|| "database".into(), |n| n.to_string_lossy().into_owned());
    root.join(service).join(file)
}

/// The path of segment `number` of the generation in `dir`.
pub fn segment_path(dir: &Path, number: u32) -> PathBuf {
    dir.join(format!("{number:08}.seg"))
}

/// Syncs a directory, so the files created or renamed in it stay.
pub fn sync_dir(dir: &Path) -> Result<(), TimelineError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// The complete generations of the database whose store is `store`, oldest first.
pub fn generations(store: &Path) -> Result<Vec<Generation>, TimelineError> {
    let entries = match fs::read_dir(store) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(store)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let dir = entry.map_err(io_error(store))?.path();
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let info_path = dir.join(INFO);
        let text = match fs::read(&info_path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&info_path)(e)),
        };
        let info: GenerationInfo =
            serde_json::from_slice(&text).map_err(|e| TimelineError::Invalid {
                path: info_path.clone(),
                why: e.to_string(),
            })?;
        let mut segments = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
            let path = entry.map_err(io_error(&dir))?.path();
            let number = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".seg"))
                .filter(|n| n.len() == 8)
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(number) = number {
                segments.push((number, path));
            }
        }
        segments.sort();
        found.push(Generation {
            dir,
            info,
            segments,
        });
    }
    found.sort_by_key(|g| g.info.started);
    Ok(found)
}

/// Creates the directory of a new generation of the database in `store` and copies the database file
/// (`source`, read by offset from the descriptor the capture keeps open: opening and closing the file
/// again would drop the POSIX locks SQLite holds on it in this process) into it; generations an
/// interrupted capture left incomplete are removed first.
pub fn create_generation(
    store: &Path,
    info: &GenerationInfo,
    source: &File,
) -> Result<PathBuf, TimelineError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(store)
        .map_err(io_error(store))?;
    remove_incomplete(store)?;
    let dir = store.join(format!("{:020}", info.started.max(0)));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(io_error(&dir))?;
    let base = dir.join(BASE);
    let out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&base)
        .map_err(io_error(&base))?;
    let mut encoder =
        zstd::Encoder::new(BufWriter::new(out), BASE_LEVEL).map_err(io_error(&base))?;
    let database = &info.database;
    io::copy(
        &mut BufReader::with_capacity(
            1 << 20,
            ReadAt {
                file: source,
                offset: 0,
            },
        ),
        &mut encoder,
    )
    .map_err(io_error(database))?;
    let out = encoder
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(io_error(&base))?;
    out.sync_all().map_err(io_error(&base))?;
    Ok(dir)
}

/// Reads a file from the start by offset, leaving the descriptor's own position alone.
struct ReadAt<'a> {
    file: &'a File,
    offset: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Marks a generation complete: its `generation.json`, written and synced.
pub fn seal_generation(dir: &Path, info: &GenerationInfo) -> Result<(), TimelineError> {
    let text = serde_json::to_vec(info).expect("plain data serialises");
    let path = dir.join(INFO);
    magi_core::file::replace(&path, &text, 0o600).map_err(io_error(&path))
}

/// What the store holds for one database, for a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub generations: usize,
    /// The earliest time a restore can reach (Unix nanoseconds): the oldest generation's start.
    pub earliest: Option<i64>,
    /// The latest: the newest transaction shipped, or the newest generation's start.
    pub latest: Option<i64>,
    pub segments: usize,
    pub bytes: u64,
    /// Damage found reading the newest generation's segments: a restore stops before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
}

/// Sums up the store of one database; the newest generation's segments are read through and checked.
pub fn summarise(store: &Path) -> Result<Summary, TimelineError> {
    let generations = generations(store)?;
    let mut summary = Summary {
        generations: generations.len(),
        earliest: generations.first().map(|g| g.info.started),
        latest: generations.last().map(|g| g.info.started),
        ..Summary::default()
    };
    for generation in &generations {
        let files = std::iter::once(generation.base())
            .chain(generation.segments.iter().map(|(_, p)| p.clone()));
        for file in files {
            summary.bytes += fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        }
        summary.segments += generation.segments.len();
    }
    if let Some(newest) = generations.last() {
        'segments: for (_, path) in &newest.segments {
            let mut reader = match crate::segment::SegmentReader::open(path) {
                Ok(reader) => reader,
                Err(e) => {
                    summary.damage = Some(e.to_string());
                    break;
                }
            };
            loop {
                match reader.next_commit(|_, _| Ok(())) {
                    Ok(Some(commit)) => {
                        summary.latest = summary.latest.max(Some(commit.seen));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        summary.damage = Some(e.to_string());
                        break 'segments;
                    }
                }
            }
        }
    }
    Ok(summary)
}

/// Removes the generations no longer needed to restore to `keep_from` (Unix nanoseconds) or later: each
/// one whose successor began at or before then.
pub fn prune(store: &Path, keep_from: i64) -> Result<usize, TimelineError> {
    let generations = generations(store)?;
    let mut removed = 0;
    for pair in generations.windows(2) {
        if pair[1].info.started <= keep_from {
            fs::remove_dir_all(&pair[0].dir).map_err(io_error(&pair[0].dir))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes the generations in `store` that were begun and never sealed.
fn remove_incomplete(store: &Path) -> Result<(), TimelineError> {
    for entry in fs::read_dir(store).map_err(io_error(store))? {
        let dir = entry.map_err(io_error(store))?.path();
        let generation_like = dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit()));
        if generation_like && !dir.join(INFO).exists() {
            log::info!("removing {}, a generation never completed", dir.display());
            fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
        }
    }
    Ok(())
}

/// Writes the base copy of `generation` out, decompressed, to a new file at `path`.
pub fn write_base(generation: &Generation, path: &Path) -> Result<File, TimelineError> {
    let base = generation.base();
    let input = File::open(&base).map_err(io_error(&base))?;
    let mut decoder = zstd::Decoder::new(input).map_err(io_error(&base))?;
    let mut out = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    let mut writer = BufWriter::with_capacity(1 << 20, &mut out);
    io::copy(&mut decoder, &mut writer).map_err(|e| TimelineError::Invalid {
        path: base.clone(),
        why: format!("the generation's copy of the database cannot be read back: {e}"),
    })?;
    writer.flush().map_err(io_error(path))?;
    drop(writer);
    Ok(out)
}

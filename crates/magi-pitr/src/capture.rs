//! The capture: follows one SQLite database's write-ahead log and ships each committed transaction, with
//! the time it was seen, into the point-in-time store ([`crate::timeline`] lays it out).
//!
//! It works as Litestream does. Between polls it holds a read transaction on the database, which keeps
//! any checkpoint (the application's or its own) from backfilling frames past those it has read, and keeps
//! SQLite from starting the log again over frames it has not read. Each poll it renews that transaction,
//! reads the log on from where it stood, and writes the committed transactions to the current segment,
//! synced before the poll ends: a transaction in a synced segment is shipped. Once the log is long, it
//! checkpoints it itself (`RESTART`, with a short busy timeout so a writer waits milliseconds at most), so
//! the application's own checkpoints, which its read transaction holds back, are not needed.
//!
//! A new log (SQLite writes it from the start after a checkpoint) follows the old one only if the capture
//! read the old one to its end; the old log's frames it had not read are still in the file past the new
//! log's first frames, and are read from there. Whatever breaks that chain (the log truncated, the capture
//! down while the application checkpointed, the database file replaced) starts a new generation: a copy
//! of the database file, then the log from its first frame, which together give the database as it is.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use magi_core::store::rusqlite::{self, Connection, OpenFlags};

use crate::segment::{SegmentError, SegmentWriter};
use crate::timeline::{self, GenerationInfo, TimelineError};
use crate::wal::{End, HEADER_LEN, Header, Position, Tail};

/// Why following a database failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{path} is not in WAL mode (it is in {mode} mode): `magi-pitr check` says how to switch it"
    )]
    NotWal { path: PathBuf, mode: String },
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error(transparent)]
    Timeline(#[from] TimelineError),
}

impl CaptureError {
    /// Whether the disk the store is on (or the database's) is full: the capture waits for room.
    pub fn is_disk_full(&self) -> bool {
        let io = match self {
            CaptureError::Io { source, .. } => Some(source),
            CaptureError::Segment(SegmentError::Io { source, .. }) => Some(source),
            CaptureError::Timeline(TimelineError::Io { source, .. }) => Some(source),
            _ => None,
        };
        io.is_some_and(|e| e.kind() == io::ErrorKind::StorageFull || e.raw_os_error() == Some(28))
    }
}

/// How many times a poll tries its checkpoint when another is running.
const CHECKPOINT_ATTEMPTS: u32 = 5;

/// How the capture polls and when it checkpoints.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Log frames after which the capture checkpoints the log.
    pub checkpoint_frames: u64,
    /// A segment is closed and the next begun once it is this long.
    pub segment_bytes: u64,
    /// How long a checkpoint may wait for the application's readers and writer.
    pub checkpoint_wait: Duration,
    /// A new generation (a fresh copy of the database) is begun once the current one is this old, so a
    /// restore replays at most this much of the log.
    pub snapshot_every: Duration,
    /// Generations are kept while they are needed to restore to any time this far back.
    pub keep: Duration,
    /// The rows per table are counted and recorded at most this often, while transactions come, and
    /// less often when counting takes long (never more than a hundredth of the time).
    pub rows_every: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            checkpoint_frames: 1000,
            segment_bytes: 64 << 20,
            checkpoint_wait: Duration::from_millis(5),
            snapshot_every: Duration::from_secs(24 * 3600),
            keep: Duration::from_secs(7 * 24 * 3600),
            rows_every: Duration::from_secs(1),
        }
    }
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Polled {
    pub transactions: u64,
    pub frames: u64,
    /// A new generation was begun (the first poll, or the log's chain was broken).
    pub new_generation: bool,
    pub checkpointed: bool,
}

/// Follows one database.
pub struct Follower {
    database: PathBuf,
    wal: PathBuf,
    store: PathBuf,
    options: Options,
    conn: Connection,
    /// The database file, open for as long as the connection is (and dropped after it): the generation's
    /// copy is read through it, because closing any descriptor of the file in this process would drop the
    /// locks SQLite holds on it, and the application's last close would then delete the log under us.
    file: File,
    /// The database's wal-index (`-shm`), kept open for the same reason, once it exists: its header says
    /// how far the log is committed (a frame past that is being written, or was never committed).
    shm: Option<File>,
    /// How far the log of these salts is known to be committed: from the wal-index at the last poll, or
    /// from the capture's own checkpoint (then exactly: SQLite starts the log again right after it).
    committed: Option<Committed>,
    inode: u64,
    generation: Option<Generation>,
    /// When the previous poll began reading the log: what it did not see committed after this.
    last_read: i64,
    /// Where the log stood when the read transaction began (its frames and salts), when that is known
    /// exactly: the wal-index said the same just before and just after.
    snapshot: Option<(u64, [u32; 2])>,
    /// Transactions were shipped since the rows were last recorded (or a generation began).
    rows_wanted: bool,
    /// When the rows may be counted next (Unix nanoseconds).
    rows_due: i64,
}

/// Where a log is known to be committed to.
#[derive(Debug, Clone, Copy)]
struct Committed {
    salts: [u32; 2],
    frames: u64,
    /// From the capture's own checkpoint: nothing can be committed to that log after it.
    last: bool,
}

/// The generation being written.
struct Generation {
    dir: PathBuf,
    started: i64,
    segment: Option<SegmentWriter>,
    next_segment: u32,
}

/// Now, in Unix nanoseconds.
pub fn now() -> i64 {
    i64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or(i64::MAX)
}

impl Follower {
    /// Opens `database` to follow it into `store` (the database's own directory of the point-in-time
    /// store), going on with the generation an earlier run left if its chain still holds.
    pub fn open(database: &Path, store: &Path, options: Options) -> Result<Follower, CaptureError> {
        let sqlite = |source| CaptureError::Sqlite {
            path: database.to_owned(),
            source,
        };
        let conn = Connection::open_with_flags(
            database,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite)?;
        conn.busy_timeout(magi_core::store::BUSY_TIMEOUT)
            .map_err(sqlite)?;
        // This connection never writes; it must not checkpoint on its own either when it closes last.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(sqlite)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .map_err(sqlite)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CaptureError::NotWal {
                path: database.to_owned(),
                mode,
            });
        }
        let io_error = |source| CaptureError::Io {
            path: database.to_owned(),
            source,
        };
        let file = File::open(database).map_err(io_error)?;
        let inode = file.metadata().map_err(io_error)?.ino();
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        let mut follower = Follower {
            database: database.to_owned(),
            wal: PathBuf::from(wal),
            store: store.to_owned(),
            options,
            conn,
            file,
            shm: None,
            committed: None,
            inode,
            generation: None,
            last_read: now(),
            snapshot: None,
            rows_wanted: true,
            rows_due: 0,
        };
        follower.generation = follower.resume()?;
        Ok(follower)
    }

    /// The newest generation's last segment, reopened, if it belongs to this database file.
    fn resume(&self) -> Result<Option<Generation>, CaptureError> {
        let Some(newest) = timeline::generations(&self.store)?.pop() else {
            return Ok(None);
        };
        if newest.info.inode != self.inode {
            return Ok(None);
        }
        let Some((number, last)) = newest.segments.last().cloned() else {
            return Ok(None);
        };
        match SegmentWriter::reopen(&last) {
            Ok(segment) => Ok(Some(Generation {
                dir: newest.dir,
                started: newest.info.started,
                segment: Some(segment),
                next_segment: number + 1,
            })),
            Err(e) => {
                log::warn!("{e}; beginning a new generation");
                Ok(None)
            }
        }
    }

    /// The database followed.
    pub fn database(&self) -> &Path {
        &self.database
    }

    /// Whether the database file at the path is still the one this follower opened (a restore swaps in a
    /// new file; the follower must then be opened again).
    pub fn still_current(&self) -> bool {
        fs::metadata(&self.database).is_ok_and(|m| m.ino() == self.inode)
    }

    /// Reads what was committed since the last poll into the store, and checkpoints when the log is long.
    pub fn poll(&mut self) -> Result<Polled, CaptureError> {
        let read_start = now();
        self.renew_read_transaction()?;
        let mut polled = Polled::default();
        let due = self.generation.as_ref().is_some_and(|g| {
            read_start.saturating_sub(g.started) >= duration_nanos(self.options.snapshot_every)
        });
        if due {
            log::info!(
                "{}: beginning the next generation, a fresh copy of the database",
                self.database.display()
            );
            self.generation = None;
        }
        if self.generation.is_none() {
            self.begin_generation(read_start, &mut polled)?;
            polled.new_generation = true;
        } else if !self.follow(read_start, &mut polled)? {
            log::warn!(
                "{}: its log was started again over frames not yet shipped (the capture was stopped, or \
                 the log was truncated); beginning a new generation",
                self.database.display()
            );
            self.generation = None;
            self.begin_generation(read_start, &mut polled)?;
            polled.new_generation = true;
        }
        self.rows_wanted |= polled.transactions > 0 || polled.new_generation;
        if self.rows_wanted && read_start >= self.rows_due {
            self.record_rows(read_start)?;
        }
        if let Some(segment) = self.segment_mut() {
            segment.sync()?;
        }
        self.last_read = read_start;
        let frames = self.segment_mut().map_or(0, |s| s.position().frame);
        if frames >= self.options.checkpoint_frames {
            polled.checkpointed = self.checkpoint()?;
        }
        Ok(polled)
    }

    /// The last poll before the capture stops: the rows are counted whatever the back-off says, so a
    /// restore to the newest point is checked against a count of that very point.
    pub fn finish(&mut self) -> Result<Polled, CaptureError> {
        self.rows_due = 0;
        self.poll()
    }

    fn segment_mut(&mut self) -> Option<&mut SegmentWriter> {
        self.generation.as_mut()?.segment.as_mut()
    }

    /// Ends the read transaction held since the last poll and begins another on the database as it is.
    fn renew_read_transaction(&mut self) -> Result<(), CaptureError> {
        let path = self.database.clone();
        let sqlite = |source| CaptureError::Sqlite {
            path: path.clone(),
            source,
        };
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("COMMIT").map_err(sqlite)?;
        }
        let before = self.index();
        self.conn.execute_batch("BEGIN").map_err(sqlite)?;
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(sqlite)?;
        // The transaction reads the database as the wal-index said it was when it began: exactly that,
        // if nothing was committed between the two reads.
        self.snapshot = before.filter(|&before| self.index() == Some(before));
        Ok(())
    }

    /// Counts the rows per table as the read transaction sees them and records them in the segment, when
    /// that is exactly the database as the segment's last commit left it.
    fn record_rows(&mut self, read_start: i64) -> Result<(), CaptureError> {
        let Some((frames, salts)) = self.snapshot else {
            return Ok(());
        };
        let at_snapshot = self.segment_mut().is_some_and(|segment| {
            let position = segment.position();
            position.header.salts == salts && position.frame == frames
        });
        if !at_snapshot {
            return Ok(());
        }
        let began = std::time::Instant::now();
        let tables = crate::rows::count(&self.conn).map_err(|source| CaptureError::Sqlite {
            path: self.database.clone(),
            source,
        })?;
        let took = began.elapsed();
        let segment = self.segment_mut().expect("a segment at the snapshot");
        if !segment.rows(&tables)? {
            log::warn!(
                "{}: its {} tables are too many to record their rows; a restore is checked without them",
                self.database.display(),
                tables.len()
            );
        }
        self.rows_wanted = false;
        self.rows_due = read_start + duration_nanos(self.options.rows_every.max(took * 100));
        Ok(())
    }

    /// Checkpoints the log so SQLite starts it again, with the read transaction let go for it. `RESTART`,
    /// because a `PASSIVE` checkpoint never catches up with a busy writer, and the log then grows without
    /// end (measured: a fifth less write throughput than with `RESTART`, which holds the application's
    /// writer a few milliseconds at most while it waits).
    fn checkpoint(&mut self) -> Result<bool, CaptureError> {
        let path = self.database.clone();
        let sqlite = |source| CaptureError::Sqlite {
            path: path.clone(),
            source,
        };
        let salts = self.segment_mut().map(|s| s.position().header.salts);
        self.conn.execute_batch("COMMIT").map_err(sqlite)?;
        self.conn
            .busy_timeout(self.options.checkpoint_wait)
            .map_err(sqlite)?;
        // A checkpoint running elsewhere (the application's own, which SQLite runs after each commit once
        // the log is past its threshold) makes this one busy at once, without waiting: try again a few
        // times, a millisecond apart.
        let mut outcome = Ok(false);
        for attempt in 0..CHECKPOINT_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            outcome = match self
                .conn
                .query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
                }) {
                Ok((0, log)) => {
                    // The next write starts the log again: this log is committed to `log` frames.
                    if let Some(salts) = salts {
                        self.committed = Some(Committed {
                            salts,
                            frames: u64::try_from(log).unwrap_or(0),
                            last: true,
                        });
                    }
                    Ok(true)
                }
                Ok(_) => Ok(false),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy =>
                {
                    Ok(false)
                }
                Err(source) => Err(source),
            };
            if !matches!(outcome, Ok(false)) {
                break;
            }
        }
        log::debug!("{}: checkpoint: {outcome:?}", self.database.display());
        self.conn
            .busy_timeout(magi_core::store::BUSY_TIMEOUT)
            .map_err(sqlite)?;
        self.renew_read_transaction()?;
        outcome.map_err(sqlite)
    }

    /// Reads the log on from the current segment's position. False when the chain is broken.
    fn follow(&mut self, read_start: i64, polled: &mut Polled) -> Result<bool, CaptureError> {
        let Some(mut file) = self.open_wal()? else {
            // No log, or one SQLite has not written a header to yet: nothing new, unless the log the
            // capture was reading is gone with frames it had read (a truncating checkpoint).
            return Ok(self.segment_mut().is_none_or(|s| s.position().frame == 0));
        };
        let header = match read_header(&mut file, &self.wal)? {
            Some(header) => header,
            None => return Ok(self.segment_mut().is_none_or(|s| s.position().frame == 0)),
        };
        let Some(position) = self.segment_mut().map(|s| s.position()) else {
            // The generation began with no log: this one is the first.
            self.new_segment(Position::start(header))?;
            let limit = self.committed_frames(&header);
            self.read(&mut file, read_start, polled, limit)?;
            return Ok(true);
        };
        if header.bytes() == position.header.bytes() {
            self.rotate_if_long()?;
            let limit = self.committed_frames(&header);
            self.read(&mut file, read_start, polled, limit)?;
            return Ok(true);
        }
        if !header.follows(&position.header) {
            return Ok(false);
        }
        // The log was started again. Its old frames past the new log's are still there: read them up to
        // where the old log was committed, then make sure the new log had not reached them when they were
        // read. Where it was committed is known exactly after the capture's own checkpoint; otherwise the
        // wal-index said so at the last poll, and a valid frame past that could have been committed since
        // or never: the chain cannot be proved then.
        let Some(committed) = self
            .committed
            .filter(|c| c.salts == position.header.salts && c.frames >= position.frame)
        else {
            return Ok(false);
        };
        let (end, _) = self.read(&mut file, read_start, polled, committed.frames)?;
        if end.frame != committed.frames {
            return Ok(false);
        }
        if !committed.last {
            file.seek(SeekFrom::Start(end.header.offset_of(end.frame)))
                .map_err(|source| CaptureError::Io {
                    path: self.wal.clone(),
                    source,
                })?;
            let mut past = Tail::new(BufReader::new(&file), end);
            if matches!(past.next_frame(), Ok(Ok(_))) {
                return Ok(false);
            }
        }
        let new_log_frames = count_frames(&mut file, header, &self.wal)?;
        if end.frame <= new_log_frames {
            return Ok(false);
        }
        self.new_segment(Position::start(header))?;
        let limit = self.committed_frames(&header);
        self.read(&mut file, read_start, polled, limit)?;
        Ok(true)
    }

    /// How many frames of the log `header` heads the wal-index says are committed, remembered for when
    /// the log is started again; none while the index is of another log (read again next poll).
    fn committed_frames(&mut self, header: &Header) -> u64 {
        let Some((frames, salts)) = self.index() else {
            return 0;
        };
        if salts != header.salts {
            return 0;
        }
        let known = self
            .committed
            .filter(|c| c.salts == salts && c.last)
            .map_or(0, |c| c.frames);
        if known < frames || self.committed.is_none_or(|c| c.salts != salts) {
            self.committed = Some(Committed {
                salts,
                frames,
                last: false,
            });
        }
        frames
    }

    /// The wal-index header's committed frames and salts, the index opened the first time it exists.
    fn index(&mut self) -> Option<(u64, [u32; 2])> {
        if self.shm.is_none() {
            let mut shm = self.database.as_os_str().to_owned();
            shm.push("-shm");
            self.shm = File::open(shm).ok();
        }
        self.shm.as_ref().and_then(index_header)
    }

    /// Opens the log, if there is one.
    fn open_wal(&self) -> Result<Option<File>, CaptureError> {
        match File::open(&self.wal) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(CaptureError::Io {
                path: self.wal.clone(),
                source,
            }),
        }
    }

    /// Reads the committed transactions of the log from the current segment's position into it; the
    /// position the log's valid frames end at (committed or not), and why they end there.
    fn read(
        &mut self,
        file: &mut File,
        read_start: i64,
        polled: &mut Polled,
        limit: u64,
    ) -> Result<(Position, End), CaptureError> {
        let after = self.last_read;
        let wal = self.wal.clone();
        let io_error = |source| CaptureError::Io {
            path: wal.clone(),
            source,
        };
        let segment = self
            .generation
            .as_mut()
            .and_then(|g| g.segment.as_mut())
            .expect("a segment to read into");
        let from = segment.position();
        file.seek(SeekFrom::Start(from.header.offset_of(from.frame)))
            .map_err(io_error)?;
        let mut tail = Tail::new(BufReader::with_capacity(1 << 16, &*file), from);
        let end = loop {
            if tail.position().frame >= limit {
                break End::Clean;
            }
            let database_pages = match tail.next_frame().map_err(io_error)? {
                Ok(frame) => {
                    segment.frame(frame.page, frame.data)?;
                    frame.database_pages
                }
                Err(end) => break end,
            };
            polled.frames += 1;
            if database_pages != 0 {
                let seen = now().max(read_start);
                segment.commit(tail.position(), database_pages, seen, after.min(seen))?;
                polled.transactions += 1;
            }
        };
        Ok((tail.position(), end))
    }

    /// Closes the current segment once it is long and begins the next at the same position.
    fn rotate_if_long(&mut self) -> Result<(), CaptureError> {
        let limit = self.options.segment_bytes;
        match self.segment_mut() {
            Some(segment) if segment.len() >= limit => {
                let position = segment.position();
                self.new_segment(position)
            }
            _ => Ok(()),
        }
    }

    /// Closes the current segment (synced) and begins a new one at `position`.
    fn new_segment(&mut self, position: Position) -> Result<(), CaptureError> {
        let generation = self.generation.as_mut().expect("a generation");
        if let Some(segment) = generation.segment.as_mut() {
            segment.sync()?;
        }
        let path = timeline::segment_path(&generation.dir, generation.next_segment);
        generation.segment = Some(SegmentWriter::create(&path, position)?);
        generation.next_segment += 1;
        timeline::sync_dir(&generation.dir)?;
        Ok(())
    }

    /// Begins a generation: the database file copied as it stands under the read transaction, then the
    /// whole log as the first segment (the copy may hold older pages than the log's; the log's replayed
    /// over it give the database as of the read).
    fn begin_generation(
        &mut self,
        read_start: i64,
        polled: &mut Polled,
    ) -> Result<(), CaptureError> {
        let mut info = GenerationInfo {
            started: read_start,
            database: self.database.clone(),
            inode: self.inode,
            base_transactions: 0,
        };
        let transactions_before = polled.transactions;
        let dir = timeline::create_generation(&self.store, &info, &self.file)?;
        self.generation = Some(Generation {
            dir,
            started: read_start,
            segment: None,
            next_segment: 1,
        });
        let header = match self.open_wal()? {
            Some(mut file) => read_header(&mut file, &self.wal)?.map(|h| (file, h)),
            None => None,
        };
        if let Some((mut file, header)) = header {
            self.new_segment(Position::start(header))?;
            // Every transaction of the log is part of the generation's starting point.
            self.last_read = read_start;
            let limit = self.committed_frames(&header);
            self.read(&mut file, read_start, polled, limit)?;
        }
        if let Some(segment) = self.segment_mut() {
            segment.sync()?;
        }
        // The generation's first point is the database with all of the log read so far: a restore to any
        // time from now on replays at least that much.
        info.started = now();
        info.base_transactions = polled.transactions - transactions_before;
        let generation = self.generation.as_mut().expect("a generation");
        generation.started = info.started;
        timeline::seal_generation(&generation.dir, &info)?;
        timeline::prune(
            &self.store,
            info.started - duration_nanos(self.options.keep),
        )?;
        Ok(())
    }
}

/// The committed frame count and salts of the wal-index header (SQLite's `WalIndexHdr`, twice at the start
/// of the `-shm` file, in native byte order but for the salts, copied from the log's header); `None`
/// while the two copies differ (a writer is changing it) after a few tries, or before it is initialised.
fn index_header(shm: &File) -> Option<(u64, [u32; 2])> {
    use std::os::unix::fs::FileExt;
    for _ in 0..100 {
        let mut bytes = [0u8; 96];
        shm.read_exact_at(&mut bytes, 0).ok()?;
        if bytes[..48] != bytes[48..] {
            std::thread::yield_now();
            continue;
        }
        if bytes[12] == 0 {
            return None;
        }
        let frames = u32::from_ne_bytes(bytes[16..20].try_into().expect("4 bytes"));
        let salt = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        return Some((u64::from(frames), [salt(32), salt(36)]));
    }
    None
}

fn duration_nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

/// The log's header, or `None` while it has none (SQLite writes it with the first frame).
fn read_header(file: &mut File, path: &Path) -> Result<Option<Header>, CaptureError> {
    let mut bytes = [0u8; HEADER_LEN];
    let whole = crate::wal::read_whole(file, &mut bytes).map_err(|source| CaptureError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !whole {
        return Ok(None);
    }
    Ok(Header::parse(&bytes, &path.display().to_string()).ok())
}

/// How many valid frames the log `header` heads has now.
fn count_frames(file: &mut File, header: Header, path: &Path) -> Result<u64, CaptureError> {
    file.seek(SeekFrom::Start(HEADER_LEN as u64))
        .map_err(|source| CaptureError::Io {
            path: path.to_owned(),
            source,
        })?;
    let mut tail = Tail::new(
        BufReader::with_capacity(1 << 16, file.by_ref()),
        Position::start(header),
    );
    while let Ok(Ok(_)) = tail.next_frame() {}
    Ok(tail.position().frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::restore;
    use crate::segment::SegmentReader;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    /// When each row's transaction began and when its commit returned, as the writer saw it.
    #[derive(Debug, Clone, Copy)]
    struct Written {
        before: i64,
        after: i64,
    }

    /// An application database in WAL mode with SQLite's automatic checkpoint every `autocheckpoint` pages.
    fn app_database(dir: &Path, autocheckpoint: u32) -> (PathBuf, Connection) {
        let db = dir.join("app.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = {autocheckpoint};
             CREATE TABLE row (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
        ))
        .unwrap();
        (db, conn)
    }

    /// Inserts rows `range` one transaction each, `per_second` of them a second, on a thread of its own.
    fn writer(
        conn: Connection,
        range: std::ops::Range<u32>,
        per_second: u32,
    ) -> std::thread::JoinHandle<(Connection, Vec<Written>)> {
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut written = Vec::new();
            for (n, id) in range.enumerate() {
                let due = started + Duration::from_secs_f64(n as f64 / f64::from(per_second));
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                let before = now();
                conn.execute(
                    "INSERT INTO row (id, body) VALUES (?1, ?2)",
                    (id, "x".repeat(300 + (id as usize * 37) % 900)),
                )
                .unwrap();
                written.push(Written {
                    before,
                    after: now(),
                });
            }
            (conn, written)
        })
    }

    /// Polls `follower` every `every` until `done`; the longest time between two polls' starts.
    fn poll_until(
        follower: &mut Follower,
        every: Duration,
        done: &AtomicBool,
    ) -> (i64, Vec<Polled>) {
        let mut longest = 0;
        let mut polls = Vec::new();
        let mut last = now();
        while !done.load(Ordering::Relaxed) {
            let start = now();
            longest = longest.max(start - last);
            last = start;
            polls.push(follower.poll().unwrap());
            std::thread::sleep(every);
        }
        polls.push(follower.poll().unwrap());
        settle_rows(follower);
        (longest, polls)
    }

    /// Polls until the capture has recorded the rows of the database as it stands (counting backs off
    /// to a hundred times what it took).
    fn settle_rows(follower: &mut Follower) {
        for _ in 0..500 {
            if !follower.rows_wanted {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
            follower.poll().unwrap();
        }
        panic!("the rows were never recorded");
    }

    fn ids(db: &Path) -> Vec<u32> {
        let conn = Connection::open(db).unwrap();
        let mut statement = conn.prepare("SELECT id FROM row ORDER BY id").unwrap();
        statement
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn options() -> Options {
        Options {
            checkpoint_frames: 60,
            ..Options::default()
        }
    }

    /// [`options`], with the rows counted at every poll that can.
    fn counting_every_poll() -> Options {
        Options {
            rows_every: Duration::ZERO,
            ..options()
        }
    }

    #[test]
    fn a_restore_to_any_time_holds_exactly_the_transactions_committed_by_then() {
        let dir = tempfile::tempdir().unwrap();
        let (db, conn) = app_database(dir.path(), 40);
        let store = dir.path().join("store");
        let mut follower = Follower::open(&db, &store, counting_every_poll()).unwrap();
        // The generation begins before the first row is written: every time after that has a point.
        assert!(follower.poll().unwrap().new_generation);
        let done = Arc::new(AtomicBool::new(false));
        let writing = writer(conn, 0..400, 200);
        let flag = done.clone();
        let watcher = std::thread::spawn(move || {
            let written = writing.join().unwrap();
            flag.store(true, Ordering::Relaxed);
            written
        });
        let (longest_gap, polls) = poll_until(&mut follower, Duration::from_millis(10), &done);
        let (_conn, written) = watcher.join().unwrap();

        assert_eq!(
            polls.iter().filter(|p| p.new_generation).count(),
            0,
            "{polls:?}"
        );
        assert!(
            polls.iter().filter(|p| p.checkpointed).count() >= 3,
            "{polls:?}"
        );
        let everything = restore(&store, now(), &dir.path().join("now.db")).unwrap();
        assert_eq!(
            ids(&dir.path().join("now.db")),
            (0..400).collect::<Vec<_>>()
        );
        assert!(everything.transactions >= 400, "{everything:?}");
        let checked = everything.rows_checked.expect("the rows were checked");
        assert!(
            checked.exact,
            "the capture counted the rows after the writer's last transaction: {everything:?}"
        );
        assert_eq!(timeline::generations(&store).unwrap().len(), 1);
        assert!(
            timeline::generations(&store).unwrap()[0].segments.len() >= 3,
            "the log was started again after the checkpoints"
        );

        let first = written[0].before;
        let last = written[399].after;
        let mut random = 0x9e37_79b9_u64;
        let mut checked_against_rows = 0;
        for n in 0..50 {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let at = first + (random % (last - first + 20_000_000) as u64) as i64;
            let out = dir.path().join(format!("restored-{n}.db"));
            let restored = restore(&store, at, &out).unwrap();
            let got = ids(&out);
            let count = got.len() as u32;
            assert_eq!(got, (0..count).collect::<Vec<_>>(), "at {at}: not a prefix");
            assert_eq!(restored.tables["row"], u64::from(count));
            assert!(restored.seen <= at);
            if let Some(checked) = restored.rows_checked {
                assert!(checked.transactions <= restored.transactions && checked.seen <= at);
                checked_against_rows += 1;
            }
            if let Some(next) = written.get(count as usize) {
                assert!(
                    next.before > at - longest_gap,
                    "at {at}: row {count}, committed {} ns before, is missing",
                    at - next.after
                );
            }
            for (id, row) in written.iter().enumerate() {
                if row.before > at {
                    assert!(
                        id as u32 >= count,
                        "at {at}: row {id}, begun after, is there"
                    );
                }
                if row.after <= at - longest_gap {
                    assert!(
                        (id as u32) < count,
                        "at {at}: row {id}, committed {} ns before, is missing",
                        at - row.after
                    );
                }
            }
        }
        assert!(
            checked_against_rows >= 45,
            "only {checked_against_rows} of 50 restores found rows recorded before their point"
        );
    }

    #[test]
    fn a_rebuilt_database_whose_rows_differ_from_the_capture_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (db, conn) = app_database(dir.path(), 0);
        let store = dir.path().join("store");
        let mut follower = Follower::open(&db, &store, counting_every_poll()).unwrap();
        insert(&conn, 0..30);
        follower.poll().unwrap();
        insert(&conn, 30..40);
        follower.poll().unwrap();
        settle_rows(&mut follower);
        drop(follower);
        let restored = restore(&store, now(), &dir.path().join("good.db")).unwrap();
        let checked = restored.rows_checked.expect("checked");
        assert!(checked.exact && checked.transactions == restored.transactions);

        // A record that says one row more than the database holds after the last transaction.
        let generation = timeline::generations(&store).unwrap().remove(0);
        let last = &generation.segments.last().unwrap().1;
        let mut segment = SegmentWriter::reopen(last).unwrap();
        let forged = crate::segment::RowCounts::from([("row".to_owned(), 41)]);
        assert!(segment.rows(&forged).unwrap());
        segment.sync().unwrap();
        let out = dir.path().join("refused.db");
        let error = restore(&store, now(), &out).unwrap_err().to_string();
        assert!(
            error.contains("table \"row\" holds 40 rows where the capture counted 41"),
            "{error}"
        );
        assert!(!out.exists(), "nothing is left where the restore was to go");
        assert_eq!(
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| e
                    .as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("refused"))
                .count(),
            0
        );
    }

    fn insert(conn: &Connection, ids: std::ops::Range<u32>) {
        for id in ids {
            conn.execute("INSERT INTO row (id, body) VALUES (?1, 'x')", [id])
                .unwrap();
        }
    }

    #[test]
    fn a_capture_stopped_and_started_again_goes_on_with_its_generation_or_begins_one_when_it_must()
    {
        let dir = tempfile::tempdir().unwrap();
        let (db, conn) = app_database(dir.path(), 0);
        let store = dir.path().join("store");
        let mut follower = Follower::open(&db, &store, Options::default()).unwrap();
        insert(&conn, 0..10);
        follower.poll().unwrap();
        let at_ten = now();
        drop(follower);

        // Written while the capture was down, with the log untouched: the next run reads it on.
        insert(&conn, 10..20);
        let mut follower = Follower::open(&db, &store, Options::default()).unwrap();
        let polled = follower.poll().unwrap();
        assert!(!polled.new_generation, "{polled:?}");
        assert_eq!(polled.transactions, 10);
        let at_twenty = now();
        drop(follower);

        // The application checkpoints and truncates the log while the capture is down: what it wrote in
        // between is in no segment, so the next run must begin a new generation from the database file.
        insert(&conn, 20..30);
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        insert(&conn, 30..40);
        let mut follower = Follower::open(&db, &store, Options::default()).unwrap();
        assert!(follower.poll().unwrap().new_generation);
        insert(&conn, 40..50);
        follower.poll().unwrap();
        assert_eq!(timeline::generations(&store).unwrap().len(), 2);

        for (at, rows) in [(at_ten, 10), (at_twenty, 20), (now(), 50)] {
            let out = dir.path().join(format!("at-{rows}.db"));
            restore(&store, at, &out).unwrap();
            assert_eq!(ids(&out), (0..rows).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_generation_begun_with_no_log_takes_the_first_log_written_after() {
        let dir = tempfile::tempdir().unwrap();
        let (db, conn) = app_database(dir.path(), 0);
        drop(conn);
        assert!(
            !dir.path().join("app.db-wal").exists(),
            "the last connection closed took the log"
        );
        let store = dir.path().join("store");
        let mut follower = Follower::open(&db, &store, Options::default()).unwrap();
        assert!(follower.poll().unwrap().new_generation);
        let conn = Connection::open(&db).unwrap();
        insert(&conn, 0..3);
        drop(conn);
        assert!(
            dir.path().join("app.db-wal").exists(),
            "the application's last close leaves the log to the capture"
        );
        let polled = follower.poll().unwrap();
        assert_eq!(polled.transactions, 3, "{polled:?}");
        let out = dir.path().join("out.db");
        restore(&store, now(), &out).unwrap();
        assert_eq!(ids(&out), [0, 1, 2]);
    }

    #[test]
    fn a_restore_to_the_latest_point_is_byte_for_byte_the_database_sqlite_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let (db, conn) = app_database(dir.path(), 0);
        let store = dir.path().join("store");
        let mut follower = Follower::open(&db, &store, options()).unwrap();
        for n in 0..8 {
            insert(&conn, n * 25..n * 25 + 25);
            conn.execute("DELETE FROM row WHERE id % 7 = 3", [])
                .unwrap();
            follower.poll().unwrap();
        }
        drop(follower);
        let out = dir.path().join("restored.db");
        restore(&store, now(), &out).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        assert!(std::fs::read(&out).unwrap() == std::fs::read(&db).unwrap());
    }

    #[test]
    fn a_damaged_segment_stops_the_restore_at_the_last_good_transaction_and_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let (db, conn) = app_database(dir.path(), 0);
        let store = dir.path().join("store");
        let mut follower = Follower::open(
            &db,
            &store,
            Options {
                checkpoint_frames: 20,
                ..Options::default()
            },
        )
        .unwrap();
        for n in 0..6 {
            insert(&conn, n * 10..n * 10 + 10);
            follower.poll().unwrap();
        }
        let generation = timeline::generations(&store).unwrap().remove(0);
        assert!(generation.segments.len() >= 3, "{:?}", generation.segments);
        // A byte in a page of the second segment's third transaction.
        let victim = &generation.segments[1].1;
        let mut reader = SegmentReader::open(victim).unwrap();
        let mut good = 0;
        for _ in 0..2 {
            reader.next_commit(|_, _| Ok(())).unwrap().unwrap();
            good += 1;
        }
        let flip_at = reader.offset() + 5 + 100;
        let mut bytes = std::fs::read(victim).unwrap();
        bytes[flip_at as usize] ^= 0x40;
        std::fs::write(victim, bytes).unwrap();

        // The rows of the last good transaction: restored to the time it was seen, before any damage.
        let mut reader = SegmentReader::open(victim).unwrap();
        let mut last_good = None;
        for _ in 0..good {
            last_good = reader.next_commit(|_, _| Ok(())).unwrap();
        }
        let before = dir.path().join("before.db");
        restore(&store, last_good.unwrap().seen, &before).unwrap();
        let rows_before = ids(&before).len();
        let out = dir.path().join("restored.db");
        let restored = restore(&store, now(), &out).unwrap();
        let damage = restored.damage.as_deref().expect("the damage is named");
        assert!(damage.contains(&victim.display().to_string()), "{damage}");
        assert!(damage.contains("hash does not match"), "{damage}");
        assert_eq!(ids(&out), (0..rows_before as u32).collect::<Vec<_>>());
        assert!(rows_before < 60);
    }
}

//! A SQLite write-ahead log, read the way SQLite's own recovery reads it (<https://www.sqlite.org/fileformat.html#the_write_ahead_log>):
//! a 32-byte header, then frames of a 24-byte header and one page each. A frame counts only if its salts
//! are the header's and its checksum, cumulative from the header on, matches; the log ends at the first
//! frame that does not, and a transaction counts only once its commit frame (one that gives the database's
//! size) is read. After a checkpoint SQLite writes the log again from the start under new salts, so frames
//! of the older log left further on end it too.
//!
//! [`scan`] finds the commits of a log and why it ends, reading one frame at a time; [`Tail`] reads a log on
//! from a [`Position`], as the capture does each poll.
//! Both read a log an attacker may have written: every size is checked before it is used, and neither
//! holds more than one page.

use std::io::{self, Read};

/// The log's header.
pub const HEADER_LEN: usize = 32;
/// A frame's header, before its page.
pub const FRAME_HEADER_LEN: usize = 24;
/// The magic numbers: checksums over big-endian words with the low bit set, little-endian without.
const MAGIC_LITTLE: u32 = 0x377f_0682;
const MAGIC_BIG: u32 = 0x377f_0683;
/// The only log format there is.
const VERSION: u32 = 3_007_000;

/// Why a log cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: not a SQLite write-ahead log ({why})")]
    NotWal { path: String, why: String },
}

/// The log's header, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub page_size: u32,
    /// Counts checkpoints: a log written after one has a higher sequence and new salts.
    pub checkpoint_sequence: u32,
    pub salts: [u32; 2],
    big_endian_checksums: bool,
    checksum: [u32; 2],
    bytes: [u8; HEADER_LEN],
}

/// One committed transaction: the frame that committed it and the database's size in pages after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    /// Zero-based index of the commit frame in the log.
    pub frame: u64,
    pub database_pages: u32,
}

/// Where the valid log ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// At the end of the file, or in a frame cut short.
    Clean,
    /// At a frame of an older log (other salts): the log was restarted after a checkpoint.
    OlderLog { frame: u64 },
    /// At a frame whose checksum does not match: damage, or a write torn by a crash.
    BadChecksum { frame: u64 },
}

/// What [`scan`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub header: Header,
    pub commits: Vec<Commit>,
    pub end: End,
    /// Frames after the last commit: a transaction being written, not committed.
    pub uncommitted_frames: u64,
}

impl Header {
    /// Reads and checks a log's header.
    pub fn parse(bytes: &[u8; HEADER_LEN], path: &str) -> Result<Header, WalError> {
        let not_wal = |why: String| WalError::NotWal {
            path: path.to_owned(),
            why,
        };
        let word = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let big_endian_checksums = match word(0) {
            MAGIC_BIG => true,
            MAGIC_LITTLE => false,
            other => return Err(not_wal(format!("magic number {other:#010x}"))),
        };
        if word(4) != VERSION {
            return Err(not_wal(format!("format version {}", word(4))));
        }
        let page_size = word(8);
        if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(not_wal(format!("page size {page_size}")));
        }
        let checksum = [word(24), word(28)];
        if checksum_of([0, 0], &bytes[..24], big_endian_checksums) != checksum {
            return Err(not_wal("its header's checksum does not match".into()));
        }
        Ok(Header {
            page_size,
            checkpoint_sequence: word(12),
            salts: [word(16), word(20)],
            big_endian_checksums,
            checksum,
            bytes: *bytes,
        })
    }

    /// The header as the log holds it, for a copy to be parsed again.
    pub fn bytes(&self) -> &[u8; HEADER_LEN] {
        &self.bytes
    }

    /// Whether `self` is the log SQLite writes next after `older`: a restart after a checkpoint counts the
    /// checkpoint and adds one to the first salt.
    pub fn follows(&self, older: &Header) -> bool {
        self.checkpoint_sequence == older.checkpoint_sequence.wrapping_add(1)
            && self.salts[0] == older.salts[0].wrapping_add(1)
            && self.page_size == older.page_size
    }

    /// Where frame `frame` of this log starts in its file.
    pub fn offset_of(&self, frame: u64) -> u64 {
        HEADER_LEN as u64 + frame * (FRAME_HEADER_LEN as u64 + u64::from(self.page_size))
    }
}

/// Where a reader of a log stands: the log, the next frame to read and the checksum running up to it, which
/// the next frame's must continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub header: Header,
    pub frame: u64,
    pub running: [u32; 2],
}

impl Position {
    /// The start of the log `header` heads.
    pub fn start(header: Header) -> Position {
        Position {
            header,
            frame: 0,
            running: header.checksum,
        }
    }
}

/// One valid frame: the page it holds, the database's size if it commits, and the checksum running to it.
#[derive(Debug)]
pub struct Frame<'a> {
    pub page: u32,
    /// Non-zero only on a commit frame.
    pub database_pages: u32,
    pub data: &'a [u8],
    pub checksum: [u32; 2],
}

/// Reads a log on from a [`Position`], frame by frame, checking each as SQLite's recovery would.
pub struct Tail<R> {
    frames: Frames<R>,
}

impl<R: Read> Tail<R> {
    /// Reads from `reader`, which must stand at `position`'s frame (see [`Header::offset_of`]).
    pub fn new(reader: R, position: Position) -> Tail<R> {
        let mut frames = Frames::new(reader, position.header);
        frames.running = position.running;
        frames.index = position.frame;
        Tail { frames }
    }

    /// The next valid frame, or where the log ends.
    pub fn next_frame(&mut self) -> io::Result<Result<Frame<'_>, End>> {
        Ok(match self.frames.next()? {
            Ok(head) => Ok(Frame {
                page: head.page,
                database_pages: head.database_pages,
                data: &self.frames.page,
                checksum: self.frames.running,
            }),
            Err(end) => Err(end),
        })
    }

    /// Where the reader stands now: after the last frame [`Tail::next_frame`] returned.
    pub fn position(&self) -> Position {
        Position {
            header: self.frames.header,
            frame: self.frames.index,
            running: self.frames.running,
        }
    }
}

/// SQLite's WAL checksum: over 32-bit words in pairs, continuing from `seed`.
pub(crate) fn checksum_of(seed: [u32; 2], bytes: &[u8], big_endian: bool) -> [u32; 2] {
    let [mut s0, mut s1] = seed;
    for pair in bytes.chunks_exact(8) {
        let word = |b: &[u8]| {
            let b: [u8; 4] = b.try_into().expect("4 bytes");
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
    }
    [s0, s1]
}

/// One frame's header, read and checked against the log so far.
struct FrameHead {
    page: u32,
    database_pages: u32,
}

/// Reads a log frame by frame into one page buffer.
struct Frames<R> {
    reader: R,
    header: Header,
    running: [u32; 2],
    index: u64,
    head: [u8; FRAME_HEADER_LEN],
    page: Vec<u8>,
}

impl<R: Read> Frames<R> {
    fn new(reader: R, header: Header) -> Frames<R> {
        Frames {
            reader,
            running: header.checksum,
            header,
            index: 0,
            head: [0; FRAME_HEADER_LEN],
            page: vec![0; header.page_size as usize],
        }
    }

    /// The next valid frame, or where the log ends.
    fn next(&mut self) -> io::Result<Result<FrameHead, End>> {
        if !read_whole(&mut self.reader, &mut self.head)?
            || !read_whole(&mut self.reader, &mut self.page)?
        {
            return Ok(Err(End::Clean));
        }
        let word = |i: usize| u32::from_be_bytes(self.head[i..i + 4].try_into().expect("4 bytes"));
        if [word(8), word(12)] != self.header.salts {
            return Ok(Err(End::OlderLog { frame: self.index }));
        }
        let big = self.header.big_endian_checksums;
        let running = checksum_of(
            checksum_of(self.running, &self.head[..8], big),
            &self.page,
            big,
        );
        if running != [word(16), word(20)] || word(0) == 0 {
            return Ok(Err(End::BadChecksum { frame: self.index }));
        }
        self.running = running;
        self.index += 1;
        Ok(Ok(FrameHead {
            page: word(0),
            database_pages: word(4),
        }))
    }
}

/// Fills `buf`, or says the input ended first.
pub(crate) fn read_whole(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn header_of(reader: &mut impl Read, path: &str) -> Result<Header, WalError> {
    let mut bytes = [0u8; HEADER_LEN];
    let whole = read_whole(reader, &mut bytes).map_err(|source| WalError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !whole {
        return Err(WalError::NotWal {
            path: path.to_owned(),
            why: "shorter than its header".into(),
        });
    }
    Header::parse(&bytes, path)
}

/// The commits of the log read from `reader`, and where it ends.
pub fn scan(reader: impl Read, path: &str) -> Result<Scan, WalError> {
    let mut reader = io::BufReader::with_capacity(1 << 16, reader);
    let header = header_of(&mut reader, path)?;
    let mut frames = Frames::new(reader, header);
    let mut commits = Vec::new();
    let mut uncommitted_frames = 0;
    let end = loop {
        let frame = frames.next().map_err(|source| WalError::Io {
            path: path.to_owned(),
            source,
        })?;
        match frame {
            Ok(frame) if frame.database_pages != 0 => {
                commits.push(Commit {
                    frame: frames.index - 1,
                    database_pages: frame.database_pages,
                });
                uncommitted_frames = 0;
            }
            Ok(_) => uncommitted_frames += 1,
            Err(end) => break end,
        }
    };
    Ok(Scan {
        header,
        commits,
        end,
        uncommitted_frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use magi_core::store::rusqlite::Connection;
    use std::fs::File;
    use std::os::unix::fs::FileExt;
    use std::path::Path;
    use std::path::PathBuf;

    /// The tests' oracle for [`scan`]: writes the log's frames up to and including the commit `upto` onto
    /// `database`, the database file as it
    /// stood when the log began (after the checkpoint before it), and sizes the file as that commit says: the
    /// database as of that transaction. The log is read again and checked frame by frame as it is written.
    pub fn replay(wal: &Path, upto: Commit, database: &Path) -> Result<(), WalError> {
        let io_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| WalError::Io {
                path: path.clone(),
                source,
            }
        };
        let wal_name = wal.display().to_string();
        let mut log = File::open(wal).map_err(io_error(wal))?;
        let header = header_of(&mut log, &wal_name)?;
        let target = std::fs::OpenOptions::new()
            .write(true)
            .open(database)
            .map_err(io_error(database))?;
        let have = target.metadata().map_err(io_error(database))?.len();
        assert_eq!(have % u64::from(header.page_size), 0, "whole pages");
        let changed = |why: String| WalError::NotWal {
            path: wal_name.clone(),
            why: format!("{why}; it changed since it was scanned"),
        };
        let mut frames = Frames::new(io::BufReader::with_capacity(1 << 16, log), header);
        loop {
            let frame = match frames.next().map_err(io_error(wal))? {
                Ok(frame) => frame,
                Err(end) => {
                    return Err(changed(format!(
                        "it ends ({end:?}) before frame {}",
                        upto.frame
                    )));
                }
            };
            // A page past the size the commit leaves is cut off at the end anyway; not writing it keeps a
            // crafted page number from growing the file.
            if frame.page <= upto.database_pages {
                let at = u64::from(frame.page - 1) * u64::from(header.page_size);
                target
                    .write_all_at(&frames.page, at)
                    .map_err(io_error(database))?;
            }
            if frames.index > upto.frame {
                if frame.database_pages != upto.database_pages {
                    return Err(changed(format!(
                        "frame {} is not the commit scanned",
                        upto.frame
                    )));
                }
                break;
            }
        }
        target
            .set_len(u64::from(upto.database_pages) * u64::from(header.page_size))
            .map_err(io_error(database))?;
        target.sync_all().map_err(io_error(database))?;
        Ok(())
    }

    /// A WAL database with no automatic checkpoints, checkpointed and copied as the base a replay starts
    /// from; then `transactions` transactions of one row each, large enough to touch several pages.
    struct Logged {
        _dir: tempfile::TempDir,
        db: PathBuf,
        wal: PathBuf,
        base: Vec<u8>,
        conn: Connection,
    }

    fn logged(transactions: u32) -> Logged {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("app.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE chat (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
        let base = std::fs::read(&db).unwrap();
        for i in 0..transactions {
            write(&conn, i);
        }
        Logged {
            wal: dir.path().join("app.db-wal"),
            _dir: dir,
            db,
            base,
            conn,
        }
    }

    fn write(conn: &Connection, i: u32) {
        conn.execute(
            "INSERT INTO chat (id, body) VALUES (?1, ?2)",
            (i, format!("{i}:").repeat(900 + i as usize)),
        )
        .unwrap();
    }

    /// The base with the log replayed up to `commit`: its row IDs, and whether SQLite finds it sound.
    fn replayed(logged: &Logged, wal: &Path, commit: Commit) -> (Vec<u32>, String) {
        let out = tempfile::tempdir().unwrap();
        let copy = out.path().join("copy.db");
        std::fs::write(&copy, &logged.base).unwrap();
        replay(wal, commit, &copy).unwrap();
        let conn = Connection::open(&copy).unwrap();
        let ids = conn
            .prepare("SELECT id FROM chat ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<Vec<u32>, _>>()
            .unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        (ids, check)
    }

    fn scanned(wal: &Path) -> Scan {
        scan(File::open(wal).unwrap(), "app.db-wal").unwrap()
    }

    #[test]
    fn each_commit_of_a_real_log_replays_to_exactly_its_transactions() {
        let logged = logged(20);
        let scan = scanned(&logged.wal);
        assert_eq!(scan.commits.len(), 20);
        assert_eq!(scan.end, End::Clean);
        assert_eq!(scan.uncommitted_frames, 0);
        assert_eq!(scan.header.page_size, 4096);
        for k in [1, 2, 7, 20] {
            let (ids, check) = replayed(&logged, &logged.wal, scan.commits[k - 1]);
            assert_eq!(ids, (0..k as u32).collect::<Vec<_>>(), "up to commit {k}");
            assert_eq!(check, "ok");
        }
        // Replayed to its last commit, the base is byte for byte what SQLite's own checkpoint makes.
        let saved = logged.wal.with_file_name("saved-wal");
        std::fs::copy(&logged.wal, &saved).unwrap();
        logged
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
        let copy = logged.wal.with_file_name("copy.db");
        std::fs::write(&copy, &logged.base).unwrap();
        replay(&saved, scan.commits[19], &copy).unwrap();
        assert!(std::fs::read(&copy).unwrap() == std::fs::read(&logged.db).unwrap());
    }

    #[test]
    fn a_flipped_byte_ends_the_log_at_the_last_good_commit_and_replay_refuses_past_it() {
        let logged = logged(12);
        let good = scanned(&logged.wal);
        let mut bytes = std::fs::read(&logged.wal).unwrap();
        // A byte in the page of the commit frame of the eighth transaction.
        let frame_len = FRAME_HEADER_LEN + good.header.page_size as usize;
        let at = HEADER_LEN + good.commits[7].frame as usize * frame_len + FRAME_HEADER_LEN + 100;
        bytes[at] ^= 0x40;
        let damaged = logged.wal.with_file_name("damaged-wal");
        std::fs::write(&damaged, &bytes).unwrap();
        let scan = scanned(&damaged);
        assert_eq!(scan.commits, good.commits[..7]);
        assert_eq!(
            scan.end,
            End::BadChecksum {
                frame: good.commits[7].frame
            }
        );
        let (ids, check) = replayed(&logged, &damaged, scan.commits[6]);
        assert_eq!(ids, (0..7).collect::<Vec<_>>());
        assert_eq!(check, "ok");
        let copy = logged.wal.with_file_name("copy.db");
        std::fs::write(&copy, &logged.base).unwrap();
        let err = replay(&damaged, good.commits[11], &copy).unwrap_err();
        assert!(err.to_string().contains("BadChecksum"), "{err}");
    }

    #[test]
    fn a_log_restarted_after_a_checkpoint_ends_at_the_older_logs_frames() {
        let mut logged = logged(10);
        logged
            .conn
            .execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
            .unwrap();
        let before = scanned(&logged.wal);
        // The checkpointed database is the new base; the next writes start the log again, new salts.
        logged.base = std::fs::read(&logged.db).unwrap();
        for i in 10..13 {
            write(&logged.conn, i);
        }
        let scan = scanned(&logged.wal);
        assert_ne!(scan.header.salts, before.header.salts);
        assert_eq!(
            scan.header.checkpoint_sequence,
            before.header.checkpoint_sequence + 1
        );
        assert_eq!(scan.commits.len(), 3);
        assert!(matches!(scan.end, End::OlderLog { .. }), "{:?}", scan.end);
        let (ids, check) = replayed(&logged, &logged.wal, scan.commits[2]);
        assert_eq!(ids, (0..13).collect::<Vec<_>>());
        assert_eq!(check, "ok");
    }

    #[test]
    fn a_transaction_still_being_written_is_not_a_commit() {
        let logged = logged(3);
        let good = scanned(&logged.wal);
        let frame_len = FRAME_HEADER_LEN + good.header.page_size as usize;
        // The log cut inside the last transaction, before its commit frame.
        let bytes = std::fs::read(&logged.wal).unwrap();
        let first_of_last = good.commits[1].frame as usize + 1;
        assert!(
            good.commits[2].frame as usize > first_of_last,
            "the last transaction spans frames"
        );
        let cut = logged.wal.with_file_name("cut-wal");
        std::fs::write(
            &cut,
            &bytes[..HEADER_LEN + (first_of_last + 1) * frame_len + 7],
        )
        .unwrap();
        let scan = scanned(&cut);
        assert_eq!(scan.commits, good.commits[..2]);
        assert_eq!(scan.uncommitted_frames, 1);
        assert_eq!(scan.end, End::Clean);
    }

    #[test]
    fn what_is_not_a_log_is_named() {
        let logged = logged(1);
        let mut bytes = std::fs::read(&logged.wal).unwrap();
        for (at, why) in [(0, "magic number"), (8, "page size"), (20, "checksum")] {
            let mut bad = bytes.clone();
            bad[at + 2] ^= 0x10;
            let err = scan(&bad[..], "x-wal").unwrap_err();
            assert!(err.to_string().contains(why), "{err}");
        }
        bytes.truncate(20);
        let err = scan(&bytes[..], "x-wal").unwrap_err();
        assert!(err.to_string().contains("shorter than its header"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_scan_without_panic_and_commits_lie_inside(bytes: Vec<u8>) {
            if let Ok(scan) = scan(&bytes[..], "x-wal") {
                let frame_len = (FRAME_HEADER_LEN + scan.header.page_size as usize) as u64;
                for commit in &scan.commits {
                    proptest::prop_assert!(HEADER_LEN as u64 + (commit.frame + 1) * frame_len <= bytes.len() as u64);
                }
            }
        }
    }
}

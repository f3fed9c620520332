//! A segment: the committed transactions of one stretch of one write-ahead log, as the capture ships them.
//!
//! A segment file is a 64-byte header (magic, format version, the log's own 32-byte header, the log frame
//! it starts at, padding) and then records. A frame record is `F`, the page number and the page, or `Z`,
//! the page number, a length and the page compressed with zstd (when that is smaller); a commit
//! record is `C`, the database's size in pages, the log's checksum at the commit frame, the times the
//! capture saw the transaction (`seen`) and last saw the log without it (`after`), the number of frames in
//! the transaction and a SHA-256 chained from the previous commit's (from the header's, for the first)
//! over the transaction's frame records and the commit record. Between transactions a rows record `R`
//! gives the rows per table of the database as the last commit left it (the capture's own count, which a
//! restore checks its rebuilt database against): a length, then each table's name (a 2-byte length and
//! UTF-8) and rows, then a SHA-256 chained the same way. A transaction counts only once its commit
//! record is whole and its hash matches; a record cut short at the end is a write a crash interrupted and
//! is dropped, anything else that does not match is damage, named with its byte offset.
//!
//! Segments are read as if an attacker wrote them (a cloud bucket can hold anything): every length is
//! checked against the page size the header gives, and nothing larger than one page is held.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::wal::{self, HEADER_LEN, Header, Position};

const MAGIC: &[u8; 8] = b"MAGIPITR";
const VERSION: u32 = 1;
/// The segment header: magic, version, the log's header, its first frame, padding to 64 bytes.
pub const SEGMENT_HEADER_LEN: u64 = 64;
const FRAME_TAG: u8 = b'F';
const COMPRESSED_FRAME_TAG: u8 = b'Z';
/// zstd's fastest level: a page is compressed on the capture's poll, between the application's commits.
const PAGE_LEVEL: i32 = 1;
const COMMIT_TAG: u8 = b'C';
/// A commit record after its tag: pages, checksum, seen, after, frames, hash.
const COMMIT_BODY_LEN: usize = 4 + 8 + 8 + 8 + 4 + 32;
const ROWS_TAG: u8 = b'R';
/// The most a rows record's tables may take: far more than any database of the stack has (Open WebUI's
/// has about 30 tables), and what a reader holds at most.
pub const ROWS_MAX_BYTES: usize = 1 << 20;

/// Why a segment cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: damaged at byte {offset}: {why}")]
    Damaged {
        path: PathBuf,
        offset: u64,
        why: String,
    },
}

/// One committed transaction as a segment records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub database_pages: u32,
    /// The log's checksum at the commit frame: the position after it continues from this.
    pub checksum: [u32; 2],
    /// When the capture had read the transaction (Unix nanoseconds): it committed at or before this.
    pub seen: i64,
    /// When the capture last read the log's end without it: it committed after this.
    pub after: i64,
    pub frames: u32,
    /// Where the record after this commit starts.
    pub end: u64,
}

/// Rows per table of a database, by table name.
pub type RowCounts = BTreeMap<String, u64>;

/// A record read from a segment: a transaction's commit, or the rows the database held after the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Commit(Committed),
    Rows {
        tables: RowCounts,
        /// Where the record after this one starts.
        end: u64,
    },
}

/// Appends transactions to a segment: frames as they are read, a commit when one is whole.
pub struct SegmentWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// The position in the log after the last commit written.
    position: Position,
    /// The file's length after the last commit: a transaction not committed is cut back to it.
    committed_len: u64,
    written_len: u64,
    chain: [u8; 32],
    hasher: Sha256,
    pending_frames: u32,
    compressor: zstd::bulk::Compressor<'static>,
    compressed: Vec<u8>,
}

impl SegmentWriter {
    /// Creates the segment at `path` for the log `position` stands in, starting at its frame.
    pub fn create(path: &Path, position: Position) -> Result<SegmentWriter, SegmentError> {
        let io_error = io_error(path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(&io_error)?;
        let header = encode_header(&position);
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.write_all(&header).map_err(&io_error)?;
        let chain: [u8; 32] = Sha256::digest(header).into();
        Ok(SegmentWriter {
            path: path.to_owned(),
            out,
            position,
            committed_len: SEGMENT_HEADER_LEN,
            written_len: SEGMENT_HEADER_LEN,
            hasher: Sha256::new_with_prefix(chain),
            chain,
            pending_frames: 0,
            compressor: compressor(path)?,
            compressed: Vec::new(),
        })
    }

    /// Opens a segment an earlier run wrote to go on appending to it: it is read and checked, and a
    /// transaction cut short at its end (the earlier run was killed mid-write) is cut off.
    pub fn reopen(path: &Path) -> Result<SegmentWriter, SegmentError> {
        let mut reader = SegmentReader::open(path)?;
        while reader.next_record(|_, _| Ok(()))?.is_some() {}
        let position = reader.position;
        let chain = reader.chain;
        let committed_len = reader.offset;
        let io_error = io_error(path);
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(&io_error)?;
        file.set_len(committed_len).map_err(&io_error)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.seek(SeekFrom::Start(committed_len))
            .map_err(&io_error)?;
        Ok(SegmentWriter {
            path: path.to_owned(),
            out,
            position,
            committed_len,
            written_len: committed_len,
            hasher: Sha256::new_with_prefix(chain),
            chain,
            pending_frames: 0,
            compressor: compressor(path)?,
            compressed: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The position in the log after the last commit written.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The segment's length up to its last commit.
    pub fn len(&self) -> u64 {
        self.committed_len
    }

    /// Whether no transaction has been written yet.
    pub fn is_empty(&self) -> bool {
        self.committed_len == SEGMENT_HEADER_LEN
    }

    /// Writes one frame of the transaction being read, compressed if that makes it smaller.
    pub fn frame(&mut self, page: u32, data: &[u8]) -> Result<(), SegmentError> {
        self.compressed
            .resize(zstd::zstd_safe::compress_bound(data.len()), 0);
        let compressed_len = self
            .compressor
            .compress_to_buffer(data, &mut self.compressed[..])
            .map_err(io_error(&self.path))?;
        let mut head = [0u8; 9];
        head[1..5].copy_from_slice(&page.to_le_bytes());
        let (head, body) = if compressed_len + 4 < data.len() {
            head[0] = COMPRESSED_FRAME_TAG;
            head[5..9].copy_from_slice(&(compressed_len as u32).to_le_bytes());
            (&head[..], &self.compressed[..compressed_len])
        } else {
            head[0] = FRAME_TAG;
            (&head[..5], data)
        };
        self.hasher.update(head);
        self.hasher.update(body);
        self.out.write_all(head).map_err(io_error(&self.path))?;
        self.out.write_all(body).map_err(io_error(&self.path))?;
        self.written_len += (head.len() + body.len()) as u64;
        self.pending_frames += 1;
        Ok(())
    }

    /// Commits the frames written since the last commit: the transaction whose commit frame left the log
    /// at `after_commit`.
    pub fn commit(
        &mut self,
        after_commit: Position,
        database_pages: u32,
        seen: i64,
        after: i64,
    ) -> Result<(), SegmentError> {
        let mut body = [0u8; 1 + COMMIT_BODY_LEN];
        body[0] = COMMIT_TAG;
        body[1..5].copy_from_slice(&database_pages.to_le_bytes());
        body[5..9].copy_from_slice(&after_commit.running[0].to_le_bytes());
        body[9..13].copy_from_slice(&after_commit.running[1].to_le_bytes());
        body[13..21].copy_from_slice(&seen.to_le_bytes());
        body[21..29].copy_from_slice(&after.to_le_bytes());
        body[29..33].copy_from_slice(&self.pending_frames.to_le_bytes());
        self.hasher.update(&body[..33]);
        let hash: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        body[33..].copy_from_slice(&hash);
        self.out.write_all(&body).map_err(io_error(&self.path))?;
        self.written_len += body.len() as u64;
        self.committed_len = self.written_len;
        self.chain = hash;
        self.hasher = Sha256::new_with_prefix(hash);
        self.pending_frames = 0;
        self.position = after_commit;
        Ok(())
    }

    /// Records the rows per table of the database as the last commit left it. Between transactions
    /// only: with a transaction's frames pending, or larger than [`ROWS_MAX_BYTES`], it is not written
    /// (false).
    pub fn rows(&mut self, tables: &RowCounts) -> Result<bool, SegmentError> {
        if self.pending_frames != 0 {
            return Ok(false);
        }
        let mut entries = Vec::new();
        for (name, rows) in tables {
            let Ok(len) = u16::try_from(name.len()) else {
                return Ok(false);
            };
            entries.extend_from_slice(&len.to_le_bytes());
            entries.extend_from_slice(name.as_bytes());
            entries.extend_from_slice(&rows.to_le_bytes());
        }
        if entries.len() > ROWS_MAX_BYTES {
            return Ok(false);
        }
        let mut head = [0u8; 5];
        head[0] = ROWS_TAG;
        head[1..].copy_from_slice(&(entries.len() as u32).to_le_bytes());
        self.hasher.update(head);
        self.hasher.update(&entries);
        let hash: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        let io_error = io_error(&self.path);
        self.out.write_all(&head).map_err(&io_error)?;
        self.out.write_all(&entries).map_err(&io_error)?;
        self.out.write_all(&hash).map_err(&io_error)?;
        self.written_len += (head.len() + entries.len() + hash.len()) as u64;
        self.committed_len = self.written_len;
        self.chain = hash;
        self.hasher = Sha256::new_with_prefix(hash);
        Ok(true)
    }

    /// Drops the frames written since the last commit (the log ended inside a transaction) and makes
    /// what is committed durable.
    pub fn sync(&mut self) -> Result<(), SegmentError> {
        let io_error = io_error(&self.path);
        self.out.flush().map_err(&io_error)?;
        if self.written_len != self.committed_len {
            let file = self.out.get_mut();
            file.set_len(self.committed_len).map_err(&io_error)?;
            file.seek(SeekFrom::Start(self.committed_len))
                .map_err(&io_error)?;
            self.written_len = self.committed_len;
            self.hasher = Sha256::new_with_prefix(self.chain);
            self.pending_frames = 0;
        }
        self.out.get_ref().sync_data().map_err(&io_error)
    }
}

fn compressor(path: &Path) -> Result<zstd::bulk::Compressor<'static>, SegmentError> {
    zstd::bulk::Compressor::new(PAGE_LEVEL).map_err(io_error(path))
}

fn encode_header(position: &Position) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12..12 + HEADER_LEN].copy_from_slice(position.header.bytes());
    header[44..52].copy_from_slice(&position.frame.to_le_bytes());
    header[52..56].copy_from_slice(&position.running[0].to_le_bytes());
    header[56..60].copy_from_slice(&position.running[1].to_le_bytes());
    header
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> SegmentError + '_ {
    move |source| SegmentError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a segment's transactions in order, checking each.
pub struct SegmentReader {
    path: PathBuf,
    input: Box<dyn Read>,
    /// The log position the segment starts at, then the one after the last commit read.
    position: Position,
    start: Position,
    offset: u64,
    chain: [u8; 32],
    page: Vec<u8>,
    compressed: Vec<u8>,
    decompressor: zstd::bulk::Decompressor<'static>,
}

impl SegmentReader {
    /// Opens and checks the header of the segment at `path`.
    pub fn open(path: &Path) -> Result<SegmentReader, SegmentError> {
        let file = File::open(path).map_err(io_error(path))?;
        SegmentReader::new(path, Box::new(BufReader::with_capacity(1 << 16, file)))
    }

    /// Reads a segment from `input`, named `path` in what it says.
    pub fn new(path: &Path, mut input: Box<dyn Read>) -> Result<SegmentReader, SegmentError> {
        let io_error = io_error(path);
        let damaged = |why: &str| SegmentError::Damaged {
            path: path.to_owned(),
            offset: 0,
            why: why.to_owned(),
        };
        let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
        input
            .read_exact(&mut header)
            .map_err(|_| damaged("shorter than a segment's header"))?;
        if &header[..8] != MAGIC {
            return Err(damaged("not a point-in-time recovery segment"));
        }
        let word = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
        if word(8) != VERSION {
            return Err(damaged(&format!("format version {}", word(8))));
        }
        let log_header = Header::parse(
            header[12..12 + HEADER_LEN].try_into().expect("32 bytes"),
            &path.display().to_string(),
        )
        .map_err(|e| damaged(&format!("its log header: {e}")))?;
        let frame = u64::from_le_bytes(header[44..52].try_into().expect("8 bytes"));
        if frame > u64::from(u32::MAX) {
            return Err(damaged(&format!("it starts at log frame {frame}")));
        }
        let position = Position {
            header: log_header,
            frame,
            running: [word(52), word(56)],
        };
        Ok(SegmentReader {
            path: path.to_owned(),
            input,
            position,
            start: position,
            offset: SEGMENT_HEADER_LEN,
            chain: Sha256::digest(header).into(),
            page: vec![0; log_header.page_size as usize],
            compressed: Vec::new(),
            decompressor: zstd::bulk::Decompressor::new().map_err(&io_error)?,
        })
    }

    /// The log position the segment starts at.
    pub fn start(&self) -> Position {
        self.start
    }

    /// The log position after the last commit read.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Where the next record starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next transaction, as [`next_record`](Self::next_record) does, passing over rows records.
    pub fn next_commit(
        &mut self,
        mut frame: impl FnMut(u32, &[u8]) -> io::Result<()>,
    ) -> Result<Option<Committed>, SegmentError> {
        loop {
            match self.next_record(&mut frame)? {
                Some(Record::Commit(commit)) => return Ok(Some(commit)),
                Some(Record::Rows { .. }) => {}
                None => return Ok(None),
            }
        }
    }

    /// Reads the next record: a transaction, giving each of its frames to `frame` (page number and page)
    /// as it is read, before its commit is checked, so a caller that writes them must be ready to undo or
    /// must have checked the transaction first; or a rows record. `None` at the end (a record cut short by
    /// a crash ends it too).
    pub fn next_record(
        &mut self,
        mut frame: impl FnMut(u32, &[u8]) -> io::Result<()>,
    ) -> Result<Option<Record>, SegmentError> {
        let start = self.offset;
        let mut hasher = Sha256::new_with_prefix(self.chain);
        let mut frames = 0u32;
        let mut at = self.offset;
        loop {
            let mut tag = [0u8; 1];
            if !self.fill(&mut tag)? {
                return Ok(None);
            }
            match tag[0] {
                FRAME_TAG | COMPRESSED_FRAME_TAG => {
                    let mut page_number = [0u8; 4];
                    if !self.fill(&mut page_number)? {
                        return Ok(None);
                    }
                    let number = u32::from_le_bytes(page_number);
                    if number == 0 {
                        return Err(self.damaged(at, "a frame of page 0"));
                    }
                    hasher.update(tag);
                    hasher.update(page_number);
                    let stored = if tag[0] == FRAME_TAG {
                        let mut page = std::mem::take(&mut self.page);
                        let whole = self.fill(&mut page);
                        self.page = page;
                        if !whole? {
                            return Ok(None);
                        }
                        hasher.update(&self.page);
                        5 + self.page.len() as u64
                    } else {
                        let mut len = [0u8; 4];
                        if !self.fill(&mut len)? {
                            return Ok(None);
                        }
                        let stored_len = len;
                        let len = u32::from_le_bytes(len) as usize;
                        // A compressed page is smaller than the page; anything else is not ours.
                        if len >= self.page.len() {
                            return Err(
                                self.damaged(at, &format!("a compressed page of {len} bytes"))
                            );
                        }
                        let mut compressed = std::mem::take(&mut self.compressed);
                        compressed.resize(len, 0);
                        let whole = self.fill(&mut compressed);
                        self.compressed = compressed;
                        if !whole? {
                            return Ok(None);
                        }
                        hasher.update(stored_len);
                        hasher.update(&self.compressed);
                        let page_len = self.page.len();
                        let out = self
                            .decompressor
                            .decompress_to_buffer(&self.compressed, &mut self.page[..]);
                        if out.ok() != Some(page_len) {
                            return Err(self.damaged(
                                at,
                                "a compressed page that does not decompress to one page",
                            ));
                        }
                        9 + len as u64
                    };
                    frame(number, &self.page).map_err(io_error(&self.path))?;
                    frames = frames.saturating_add(1);
                    at += stored;
                }
                COMMIT_TAG => {
                    let mut body = [0u8; COMMIT_BODY_LEN];
                    if !self.fill(&mut body)? {
                        return Ok(None);
                    }
                    let word =
                        |i: usize| u32::from_le_bytes(body[i..i + 4].try_into().expect("4 bytes"));
                    let long =
                        |i: usize| i64::from_le_bytes(body[i..i + 8].try_into().expect("8 bytes"));
                    hasher.update(tag);
                    hasher.update(&body[..32]);
                    let hash: [u8; 32] = hasher.finalize().into();
                    if hash[..] != body[32..] {
                        return Err(self.damaged(
                            start,
                            "a transaction's hash does not match its frames (the segment was changed or damaged)",
                        ));
                    }
                    let committed = Committed {
                        database_pages: word(0),
                        checksum: [word(4), word(8)],
                        seen: long(12),
                        after: long(20),
                        frames: word(28),
                        end: at + 1 + COMMIT_BODY_LEN as u64,
                    };
                    if committed.frames != frames || frames == 0 || committed.database_pages == 0 {
                        return Err(self.damaged(start, "a commit that counts its frames wrong"));
                    }
                    self.chain = hash;
                    self.offset = committed.end;
                    self.position = Position {
                        header: self.position.header,
                        frame: self.position.frame + u64::from(frames),
                        running: committed.checksum,
                    };
                    return Ok(Some(Record::Commit(committed)));
                }
                ROWS_TAG if frames == 0 => return self.rows_record(hasher),
                ROWS_TAG => {
                    return Err(self.damaged(at, "a rows record inside a transaction"));
                }
                other => return Err(self.damaged(at, &format!("a record of kind {other:#04x}"))),
            }
        }
    }

    /// The rest of a rows record, its tag read (at the current offset).
    fn rows_record(&mut self, mut hasher: Sha256) -> Result<Option<Record>, SegmentError> {
        let start = self.offset;
        let mut len = [0u8; 4];
        if !self.fill(&mut len)? {
            return Ok(None);
        }
        let entries_len = u32::from_le_bytes(len) as usize;
        if entries_len > ROWS_MAX_BYTES {
            return Err(self.damaged(start, &format!("a rows record of {entries_len} bytes")));
        }
        let mut entries = vec![0u8; entries_len];
        let mut hash = [0u8; 32];
        if !self.fill(&mut entries)? || !self.fill(&mut hash)? {
            return Ok(None);
        }
        hasher.update([ROWS_TAG]);
        hasher.update(len);
        hasher.update(&entries);
        let expected: [u8; 32] = hasher.finalize().into();
        if expected != hash {
            return Err(self.damaged(
                start,
                "a rows record's hash does not match (the segment was changed or damaged)",
            ));
        }
        let mut tables = RowCounts::new();
        let mut rest = &entries[..];
        while !rest.is_empty() {
            let entry = rest.split_at_checked(2).and_then(|(len, rest)| {
                let len = u16::from_le_bytes(len.try_into().expect("2 bytes")) as usize;
                let (name, rest) = rest.split_at_checked(len)?;
                let (rows, rest) = rest.split_at_checked(8)?;
                let name = std::str::from_utf8(name).ok()?;
                Some((
                    name,
                    u64::from_le_bytes(rows.try_into().expect("8 bytes")),
                    rest,
                ))
            });
            let Some((name, rows, after)) = entry else {
                return Err(self.damaged(start, "a rows record whose tables do not parse"));
            };
            if tables.insert(name.to_owned(), rows).is_some() {
                return Err(self.damaged(start, &format!("a rows record naming {name:?} twice")));
            }
            rest = after;
        }
        self.chain = expected;
        self.offset = start + 1 + 4 + entries_len as u64 + 32;
        Ok(Some(Record::Rows {
            tables,
            end: self.offset,
        }))
    }

    fn damaged(&self, offset: u64, why: &str) -> SegmentError {
        SegmentError::Damaged {
            path: self.path.clone(),
            offset,
            why: why.to_owned(),
        }
    }

    /// Fills `buf`, or says the segment ended first.
    fn fill(&mut self, buf: &mut [u8]) -> Result<bool, SegmentError> {
        wal::read_whole(&mut self.input, buf).map_err(io_error(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::Header;

    /// A log header as SQLite writes one: 4096-byte pages, checksummed.
    fn header() -> Header {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[..4].copy_from_slice(&0x377f_0682u32.to_be_bytes());
        bytes[4..8].copy_from_slice(&3_007_000u32.to_be_bytes());
        bytes[8..12].copy_from_slice(&4096u32.to_be_bytes());
        bytes[16..24].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let checksum = crate::wal::checksum_of([0, 0], &bytes[..24], false);
        bytes[24..28].copy_from_slice(&checksum[0].to_be_bytes());
        bytes[28..32].copy_from_slice(&checksum[1].to_be_bytes());
        Header::parse(&bytes, "test").unwrap()
    }

    /// A transaction's frames: page numbers and pages.
    type Transaction = Vec<(u32, Vec<u8>)>;

    /// A segment of three transactions: compressible pages, random pages, a mix.
    fn written(dir: &Path) -> (PathBuf, Vec<Transaction>) {
        let path = dir.join("00000001.seg");
        let mut writer = SegmentWriter::create(&path, Position::start(header())).unwrap();
        let mut random = fastrand::Rng::with_seed(7);
        let noise =
            |random: &mut fastrand::Rng| (0..4096).map(|_| random.u8(..)).collect::<Vec<u8>>();
        let transactions = vec![
            vec![(1, vec![b'a'; 4096]), (2, vec![0; 4096])],
            vec![(3, noise(&mut random))],
            vec![(1, noise(&mut random)), (4, vec![7; 4096])],
        ];
        let mut position = Position::start(header());
        for (n, transaction) in transactions.iter().enumerate() {
            for (page, data) in transaction {
                writer.frame(*page, data).unwrap();
            }
            position.frame += transaction.len() as u64;
            position.running = [n as u32, 9];
            writer
                .commit(position, 4, 100 + n as i64, 50 + n as i64)
                .unwrap();
            if n == 1 {
                assert!(writer.rows(&rows_after_two()).unwrap());
            }
        }
        writer.sync().unwrap();
        (path, transactions)
    }

    /// The rows recorded after the second transaction.
    fn rows_after_two() -> RowCounts {
        RowCounts::from([("chat".to_owned(), 2), ("user \"ß\"".to_owned(), 1)])
    }

    #[test]
    fn a_segment_reads_back_its_pages_compressed_or_not_and_its_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (path, transactions) = written(dir.path());
        assert!(
            std::fs::metadata(&path).unwrap().len() < 5 * 4096,
            "the three compressible pages of six are stored compressed"
        );
        let mut reader = SegmentReader::open(&path).unwrap();
        for (n, transaction) in transactions.iter().enumerate() {
            let mut got = Vec::new();
            let commit = reader
                .next_commit(|page, data| {
                    got.push((page, data.to_vec()));
                    Ok(())
                })
                .unwrap()
                .unwrap();
            assert_eq!(&got, transaction);
            assert_eq!(
                (commit.seen, commit.after, commit.frames),
                (100 + n as i64, 50 + n as i64, got.len() as u32)
            );
        }
        assert!(reader.next_commit(|_, _| Ok(())).unwrap().is_none());
        assert_eq!(reader.position().frame, 5);
    }

    #[test]
    fn a_rows_record_reads_back_between_the_transactions_it_was_written_between() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = written(dir.path());
        let mut reader = SegmentReader::open(&path).unwrap();
        let mut kinds = Vec::new();
        while let Some(record) = reader.next_record(|_, _| Ok(())).unwrap() {
            kinds.push(match record {
                Record::Commit(commit) => format!("commit {}", commit.seen),
                Record::Rows { tables, .. } => {
                    assert_eq!(tables, rows_after_two());
                    "rows".to_owned()
                }
            });
        }
        assert_eq!(kinds, ["commit 100", "commit 101", "rows", "commit 102"]);
        assert_eq!(reader.offset(), std::fs::metadata(&path).unwrap().len());

        // A count changed by one is caught by the record's hash.
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.windows(4).position(|w| w == b"chat").unwrap() + 4;
        bytes[at] ^= 1;
        let mut reader = SegmentReader::new(&path, Box::new(std::io::Cursor::new(bytes))).unwrap();
        let error = loop {
            match reader.next_record(|_, _| Ok(())) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the changed count was read as whole"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(
            error.contains("a rows record's hash does not match"),
            "{error}"
        );
    }

    #[test]
    fn rows_are_recorded_only_between_transactions_and_only_within_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000001.seg");
        let mut writer = SegmentWriter::create(&path, Position::start(header())).unwrap();
        let many: RowCounts = (0..40_000).map(|n| (format!("table_{n:020}"), n)).collect();
        assert!(
            !writer.rows(&many).unwrap(),
            "a record over the bound is not written"
        );
        assert!(writer.is_empty());
        writer.frame(1, &[0; 4096]).unwrap();
        assert!(
            !writer.rows(&rows_after_two()).unwrap(),
            "not inside a transaction"
        );
        assert!(writer.is_empty());
    }

    #[test]
    fn a_segment_cut_anywhere_reads_to_its_last_whole_commit_and_reopens_there() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = written(dir.path());
        let whole = std::fs::read(&path).unwrap();
        for cut in (SEGMENT_HEADER_LEN as usize..whole.len()).step_by(97) {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let mut reader = SegmentReader::open(&path).unwrap();
            let mut last_end = SEGMENT_HEADER_LEN;
            while let Some(record) = reader.next_record(|_, _| Ok(())).unwrap() {
                last_end = match record {
                    Record::Commit(commit) => commit.end,
                    Record::Rows { end, .. } => end,
                };
            }
            assert!(last_end as usize <= cut);
            let writer = SegmentWriter::reopen(&path).unwrap();
            assert_eq!(writer.len(), last_end);
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                writer.len(),
                "the cut transaction is cut off"
            );
        }
    }

    #[test]
    fn the_fuzzers_seeds_read_whole_so_they_start_it_inside_the_format() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/segment");
        let mut rows_records = 0;
        for seed in std::fs::read_dir(&seeds).unwrap() {
            let path = seed.unwrap().path();
            let mut reader = SegmentReader::open(&path).unwrap();
            while let Some(record) = reader.next_record(|_, _| Ok(())).unwrap() {
                rows_records += usize::from(matches!(record, Record::Rows { .. }));
            }
            assert_eq!(reader.offset(), std::fs::metadata(&path).unwrap().len());
        }
        assert!(rows_records > 0, "a seed has a rows record");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_read_as_a_segment_without_panic(bytes: Vec<u8>, flip in 0usize..20_000) {
            let dir = tempfile::tempdir().unwrap();
            let (path, _) = written(dir.path());
            let mut segment = std::fs::read(&path).unwrap();
            let at = flip % segment.len();
            segment[at] ^= 0x5a;
            for input in [segment, bytes] {
                let Ok(mut reader) = SegmentReader::new(Path::new("fuzz"), Box::new(std::io::Cursor::new(input))) else {
                    continue;
                };
                while let Ok(Some(record)) = reader.next_record(|page, data| {
                    assert!(page > 0 && data.len() == 4096);
                    Ok(())
                }) {
                    match record {
                        Record::Commit(commit) => assert!(commit.frames > 0),
                        Record::Rows { tables, .. } => assert!(tables.len() <= ROWS_MAX_BYTES / 10),
                    }
                }
            }
        }
    }
}

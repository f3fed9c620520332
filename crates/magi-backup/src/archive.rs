//! The archive file: one tar stream, compressed with zstd one frame per entry, then the manifest.
//!
//! Each entry (its tar header and content) is its own zstd frame, with zstd's content checksum, so the
//! manifest can record the byte range and the SHA-256 of every frame: a verification reads each frame,
//! checks the bytes as stored, the content after decompression and the tar header, and names the entry a
//! bad byte belongs to; a restore of one service reads only its frames. A last frame ends the tar stream.
//! The manifest follows in a zstd *skippable* frame that decompressors pass over, so `zstd -d | tar -x`
//! still extracts the files; its JSON is followed by its SHA-256, its length and a magic number, so it is
//! found from the end of the file. The file is written under a hidden temporary name, mode 0600, fsynced,
//! and renamed into place only when complete: a killed backup never leaves a file that looks like one.
//!
//! With an age recipient the whole file is an age stream (`.tar.zst.age`): frame offsets are offsets in the
//! plaintext, which age's chunked format lets a reader seek to, and age's authentication of every chunk
//! catches a changed byte before the checks above do.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use magi_core::format::hex;
use sha2::{Digest, Sha256};
use zstd::stream::raw::{CParameter, Encoder, InBuffer, Operation, OutBuffer};

use crate::error::{BackupError, io_at};
use crate::manifest::{Entry, EntryType, Frame, Manifest, Method};

/// Compression level: zstd's default, the speed `tar | zstd` gets.
pub const LEVEL: i32 = 3;

/// The last eight bytes of every archive.
const MAGIC: &[u8; 8] = b"MAGIMNF1";
/// The magic number of the zstd skippable frame that carries the manifest.
const SKIPPABLE: u32 = 0x184D_2A5E;
/// JSON length (8) + magic (8) after the JSON's SHA-256 (32).
const TAIL: u64 = 48;
/// The largest manifest read back; a bigger length field is a damaged file.
const MAX_MANIFEST: u64 = 256 * 1024 * 1024;

pub use magi_repo::configured::parse_identity;

/// A hidden temporary name for `file_name` in the same directory: never listed, cleaned by the next run.
pub fn partial_name(file_name: &str) -> String {
    format!(".{file_name}.partial")
}

/// Whether a file name is a temporary of an unfinished archive.
pub fn is_partial(file_name: &str) -> bool {
    file_name.starts_with('.') && file_name.ends_with(".partial")
}

/// What the caller knows of an entry before it is written.
#[derive(Debug, Clone)]
pub struct EntryMeta {
    pub path: String,
    pub service: String,
    pub method: Method,
    pub engine: Option<String>,
    pub collection: Option<String>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
}

/// Where an archive's bytes go: the file, or an age stream into it.
enum Sink {
    Plain(File),
    Age(age::stream::StreamWriter<File>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(f) => f.write(buf),
            Sink::Age(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(f) => f.flush(),
            Sink::Age(w) => w.flush(),
        }
    }
}

impl Sink {
    /// Ends the age stream, if any, and gives the file back.
    fn finish(self) -> io::Result<File> {
        match self {
            Sink::Plain(f) => Ok(f),
            Sink::Age(w) => w.finish(),
        }
    }
}

/// What an archive is read from: the file, or the decrypted age stream of it.
pub trait Source: Read + Seek + Send {}

impl<T: Read + Seek + Send> Source for T {}

/// Opens an archive file for reading, decrypting it with `identity` when it is an age file.
fn open_source(
    path: &Path,
    name: &str,
    identity: Option<&age::x25519::Identity>,
) -> Result<Box<dyn Source>, BackupError> {
    let file = File::open(path).map_err(io_at("open", path))?;
    let Some(identity) = identity else {
        return Ok(Box::new(file));
    };
    let bad = |e: age::DecryptError| BackupError::BadArchive {
        archive: name.to_owned(),
        message: format!("cannot be decrypted with the [backup] identity: {e}"),
    };
    let decryptor = age::Decryptor::new(file).map_err(bad)?;
    let reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(bad)?;
    Ok(Box::new(reader))
}

/// A zstd encoder that writes one frame per call of [`Frames::end_frame`] and hashes what it writes.
struct Frames {
    out: Sink,
    pos: u64,
    encoder: Encoder<'static>,
    buffer: Vec<u8>,
    hasher: Sha256,
    start: Option<u64>,
}

impl Frames {
    fn new(out: Sink) -> io::Result<Frames> {
        let mut encoder = Encoder::new(LEVEL)?;
        encoder.set_parameter(CParameter::ChecksumFlag(true))?;
        // One worker thread compresses while this one reads and hashes, as `tar | zstd` overlaps; jobs of
        // 2 MiB keep the worker's buffers, and so the peak memory, small.
        encoder.set_parameter(CParameter::NbWorkers(1))?;
        encoder.set_parameter(CParameter::JobSize(2 << 20))?;
        Ok(Frames {
            out,
            pos: 0,
            encoder,
            buffer: vec![0; zstd::zstd_safe::CCtx::out_size()],
            hasher: Sha256::new(),
            start: None,
        })
    }

    fn emit(&mut self, n: usize) -> io::Result<()> {
        let bytes = &self.buffer[..n];
        self.out.write_all(bytes)?;
        self.hasher.update(bytes);
        self.pos += n as u64;
        Ok(())
    }

    /// Ends the current frame (an empty one if nothing was written) and returns where it lies.
    fn end_frame(&mut self) -> io::Result<Frame> {
        let start = self.start.take().unwrap_or(self.pos);
        loop {
            let mut output = OutBuffer::around(&mut self.buffer[..]);
            let left = self.encoder.finish(&mut output, false)?;
            let n = output.pos();
            self.emit(n)?;
            if left == 0 {
                break;
            }
        }
        self.encoder.reinit()?;
        let sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
        Ok(Frame {
            offset: start,
            len: self.pos - start,
            sha256,
        })
    }
}

impl Write for Frames {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.start.is_none() {
            self.start = Some(self.pos);
        }
        let mut input = InBuffer::around(data);
        while input.pos() < data.len() {
            let mut output = OutBuffer::around(&mut self.buffer[..]);
            self.encoder.run(&mut input, &mut output)?;
            let n = output.pos();
            self.emit(n)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads exactly `size` bytes: the source's, then zeros if it ended early; hashes them and counts the
/// source's own.
struct Exact<'a> {
    inner: io::Take<&'a mut dyn Read>,
    left: u64,
    from_source: u64,
    hasher: Sha256,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left as usize);
        let mut n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            n = want;
            buf[..n].fill(0);
        } else {
            self.from_source += n as u64;
        }
        self.hasher.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// An archive being written. Dropped before [`ArchiveWriter::finish`], it removes its temporary file.
pub struct ArchiveWriter {
    tar: Option<tar::Builder<Frames>>,
    temp: PathBuf,
    dest: PathBuf,
    entries: Vec<Entry>,
}

impl ArchiveWriter {
    /// Starts `dir/file_name` under its temporary name, mode 0600, encrypted to `recipient` if given.
    pub fn create(
        dir: &Path,
        file_name: &str,
        recipient: Option<&age::x25519::Recipient>,
    ) -> Result<ArchiveWriter, BackupError> {
        let temp = dir.join(partial_name(file_name));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io_at("create", &temp))?;
        let sink = match recipient {
            None => Sink::Plain(file),
            Some(recipient) => Sink::Age(
                age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
                    .map_err(|e| BackupError::io("encrypt", &temp, io::Error::other(e)))?
                    .wrap_output(file)
                    .map_err(io_at("encrypt", &temp))?,
            ),
        };
        let frames = Frames::new(sink).map_err(io_at("start compressing", &temp))?;
        let mut tar = tar::Builder::new(frames);
        tar.mode(tar::HeaderMode::Complete);
        Ok(ArchiveWriter {
            tar: Some(tar),
            temp,
            dest: dir.join(file_name),
            entries: Vec::new(),
        })
    }

    /// The temporary file being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Bytes written to the file so far.
    pub fn written(&self) -> u64 {
        self.tar.as_ref().map_or(0, |t| t.get_ref().pos)
    }

    fn builder(&mut self) -> &mut tar::Builder<Frames> {
        self.tar
            .as_mut()
            .expect("an unfinished archive has its builder")
    }

    fn header(meta: &EntryMeta, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(meta.mode & 0o7777);
        header.set_uid(meta.uid.into());
        header.set_gid(meta.gid.into());
        header.set_mtime(meta.mtime.max(0) as u64);
        header
    }

    fn push(
        &mut self,
        meta: EntryMeta,
        entry_type: EntryType,
        size: u64,
    ) -> Result<(), BackupError> {
        let frame = self
            .builder()
            .get_mut()
            .end_frame()
            .map_err(|e| BackupError::io("write", &self.temp, e))?;
        self.entries.push(Entry {
            path: meta.path,
            service: meta.service,
            entry_type,
            size,
            mode: meta.mode & 0o7777,
            uid: meta.uid,
            gid: meta.gid,
            mtime: meta.mtime,
            sha256: None,
            link: None,
            method: meta.method,
            engine: meta.engine,
            collection: meta.collection,
            frame,
        });
        Ok(())
    }

    /// Adds a file of `size` bytes read from `content`. If the content ends early the entry is padded with
    /// zeros, kept (so the archive stays whole) and reported as an error of the caller's target.
    pub fn add_file(
        &mut self,
        meta: EntryMeta,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<(), BackupError> {
        let mut header = Self::header(&meta, tar::EntryType::Regular, size);
        let mut exact = Exact {
            inner: content.take(size),
            left: size,
            from_source: 0,
            hasher: Sha256::new(),
        };
        let temp = self.temp.clone();
        self.builder()
            .append_data(&mut header, &meta.path, &mut exact)
            .map_err(|e| BackupError::io("write", &temp, e))?;
        let sha = hex(&exact.hasher.finalize());
        let short = exact.from_source;
        let path = meta.path.clone();
        self.push(meta, EntryType::File, size)?;
        self.entries.last_mut().expect("just pushed").sha256 = Some(sha);
        if short < size {
            return Err(BackupError::BadEntry {
                archive: self.dest.display().to_string(),
                entry: path,
                message: format!("shrank from {size} to {short} bytes while it was read"),
            });
        }
        Ok(())
    }

    pub fn add_dir(&mut self, meta: EntryMeta) -> Result<(), BackupError> {
        let mut header = Self::header(&meta, tar::EntryType::Directory, 0);
        let temp = self.temp.clone();
        let path = format!("{}/", meta.path.trim_end_matches('/'));
        self.builder()
            .append_data(&mut header, &path, io::empty())
            .map_err(|e| BackupError::io("write", &temp, e))?;
        self.push(meta, EntryType::Dir, 0)
    }

    pub fn add_symlink(&mut self, meta: EntryMeta, target: &str) -> Result<(), BackupError> {
        let mut header = Self::header(&meta, tar::EntryType::Symlink, 0);
        let temp = self.temp.clone();
        self.builder()
            .append_link(&mut header, &meta.path, target)
            .map_err(|e| BackupError::io("write", &temp, e))?;
        self.push(meta, EntryType::Symlink, 0)?;
        self.entries.last_mut().expect("just pushed").link = Some(target.to_owned());
        Ok(())
    }

    /// Ends the tar stream, appends the manifest (its entries and end frame filled in here), fsyncs, and
    /// renames the file into place. Returns the final path, the manifest and the file's size.
    pub fn finish(
        mut self,
        mut manifest: Manifest,
    ) -> Result<(PathBuf, Manifest, u64), BackupError> {
        let temp = self.temp.clone();
        let failed = |e| BackupError::io("write", &temp, e);
        let mut tar = self.tar.take().expect("finish is called once");
        tar.finish().map_err(failed)?;
        let mut frames = tar.into_inner().map_err(failed)?;
        manifest.end = frames.end_frame().map_err(failed)?;
        manifest.entries = std::mem::take(&mut self.entries);
        manifest.finished = Timestamp::now();
        let json = serde_json::to_vec(&manifest).expect("a manifest always serializes");
        let digest = Sha256::digest(&json);
        let payload = json.len() as u64 + TAIL;
        let mut trailer = Vec::with_capacity(json.len() + TAIL as usize + 8);
        trailer.extend_from_slice(&SKIPPABLE.to_le_bytes());
        trailer.extend_from_slice(&(payload as u32).to_le_bytes());
        trailer.extend_from_slice(&json);
        trailer.extend_from_slice(&digest);
        trailer.extend_from_slice(&(json.len() as u64).to_le_bytes());
        trailer.extend_from_slice(MAGIC);
        let mut out = frames.out;
        out.write_all(&trailer).map_err(failed)?;
        let file = out.finish().map_err(failed)?;
        file.sync_all().map_err(failed)?;
        let size = file.metadata().map_err(failed)?.len();
        fs::rename(&self.temp, &self.dest).map_err(io_at("rename into place", &self.dest))?;
        if let Some(dir) = self.dest.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io_at("sync", dir))?;
        }
        self.temp = PathBuf::new();
        Ok((self.dest.clone(), manifest, size))
    }
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            drop(self.tar.take());
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// A finished archive: its file and manifest.
#[derive(Clone)]
pub struct Archive {
    pub path: PathBuf,
    /// The name as commands take it (without the extension).
    pub name: String,
    pub manifest: Manifest,
    /// The size of the file.
    pub size: u64,
    /// Where the manifest's skippable frame starts (in the plaintext of an encrypted archive).
    pub trailer: u64,
    /// The identity that decrypts an encrypted archive.
    identity: Option<Arc<age::x25519::Identity>>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("size", &self.size)
            .field("trailer", &self.trailer)
            .field("encrypted", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// Whether an archive file is encrypted (its name ends in `.age`).
    pub fn is_encrypted(path: &Path) -> bool {
        path.extension().is_some_and(|e| e == "age")
    }

    /// Reads the manifest from the end of the file; an encrypted archive needs `identity`.
    pub fn open(
        path: &Path,
        identity: Option<&Arc<age::x25519::Identity>>,
    ) -> Result<Archive, BackupError> {
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let name = crate::name::ArchiveName::parse(file_name)
            .map(|n| n.stem())
            .unwrap_or_else(|| file_name.to_owned());
        let bad = |message: &str| BackupError::BadArchive {
            archive: name.clone(),
            message: message.to_owned(),
        };
        let identity = if Archive::is_encrypted(path) {
            Some(Arc::clone(identity.ok_or_else(|| {
                bad("encrypted, and no [backup] identity is configured to decrypt it")
            })?))
        } else {
            None
        };
        let disk_size = std::fs::metadata(path).map_err(io_at("read", path))?.len();
        let mut file = open_source(path, &name, identity.as_deref())?;
        let size = file
            .seek(SeekFrom::End(0))
            .map_err(|e| bad(&format!("the manifest cannot be read: {e}")))?;
        if size < TAIL + 8 {
            return Err(bad("too short to be an archive (no manifest at its end)"));
        }
        let mut tail = [0u8; 16];
        file.seek(SeekFrom::End(-16))
            .and_then(|_| file.read_exact(&mut tail))
            .map_err(|e| bad(&format!("the manifest cannot be read: {e}")))?;
        if &tail[8..] != MAGIC {
            return Err(bad(
                "the manifest: no manifest at the end of the file (not an archive of magi-backup, or cut short)",
            ));
        }
        let json_len = u64::from_le_bytes(tail[..8].try_into().expect("8 bytes"));
        if json_len > MAX_MANIFEST || json_len + TAIL + 8 > size {
            return Err(bad("the manifest: its length field is damaged"));
        }
        let trailer = size - json_len - TAIL - 8;
        let mut block = vec![0u8; (json_len + TAIL + 8) as usize];
        file.seek(SeekFrom::Start(trailer))
            .and_then(|_| file.read_exact(&mut block))
            .map_err(|e| bad(&format!("the manifest cannot be read: {e}")))?;
        let magic = u32::from_le_bytes(block[..4].try_into().expect("4 bytes"));
        let payload = u32::from_le_bytes(block[4..8].try_into().expect("4 bytes"));
        if magic != SKIPPABLE || u64::from(payload) != json_len + TAIL {
            return Err(bad("the manifest: its frame header is damaged"));
        }
        let json = &block[8..8 + json_len as usize];
        let digest = &block[8 + json_len as usize..8 + json_len as usize + 32];
        if Sha256::digest(json).as_slice() != digest {
            return Err(bad("the manifest: its checksum does not match (damaged)"));
        }
        let manifest: Manifest = serde_json::from_slice(json)
            .map_err(|e| bad(&format!("the manifest cannot be read: {e}")))?;
        crate::confine::check(&manifest).map_err(|r| BackupError::BadEntry {
            archive: name.clone(),
            entry: r.entry,
            message: r.message,
        })?;
        if manifest.format != crate::manifest::FORMAT {
            return Err(bad(&format!(
                "manifest format {} is not one this build reads ({}); use a newer magi-backup",
                manifest.format,
                crate::manifest::FORMAT
            )));
        }
        Ok(Archive {
            path: path.to_owned(),
            name,
            manifest,
            size: disk_size,
            trailer,
            identity,
        })
    }

    /// Opens the archive for reading its entries.
    pub fn reader(&self) -> Result<Box<dyn Source>, BackupError> {
        open_source(&self.path, &self.name, self.identity.as_deref())
    }

    fn bad_entry(&self, entry: &str, message: impl Into<String>) -> BackupError {
        BackupError::BadEntry {
            archive: self.name.clone(),
            entry: entry.to_owned(),
            message: message.into(),
        }
    }

    /// Checks that the frames tile the file up to the manifest, and the end frame.
    pub fn check_layout(&self, file: &mut dyn Source) -> Result<(), BackupError> {
        self.manifest
            .check_frames()
            .map_err(|m| BackupError::BadArchive {
                archive: self.name.clone(),
                message: m,
            })?;
        if self.manifest.end.end() != self.trailer {
            return Err(self.bad_entry(
                "(end of the tar stream)",
                "the file does not end where the manifest says",
            ));
        }
        let mut decoded = Vec::new();
        self.decode(file, &self.manifest.end, "(end of the tar stream)", |r| {
            r.read_to_end(&mut decoded).map(|_| ())
        })?;
        if decoded.len() != 1024 || decoded.iter().any(|b| *b != 0) {
            return Err(self.bad_entry(
                "(end of the tar stream)",
                "not the end marker of a tar stream",
            ));
        }
        Ok(())
    }

    /// Decompresses one frame, giving the content to `read`, then checks the frame's zstd checksum and the
    /// SHA-256 of its stored bytes.
    fn decode(
        &self,
        file: &mut dyn Source,
        frame: &Frame,
        entry: &str,
        read: impl FnOnce(&mut dyn Read) -> io::Result<()>,
    ) -> Result<(), BackupError> {
        file.seek(SeekFrom::Start(frame.offset))
            .map_err(io_at("read", &self.path))?;
        let mut stored = Hashing {
            inner: (&mut *file).take(frame.len),
            hasher: Sha256::new(),
        };
        let outcome = (|| {
            let mut decoder = zstd::stream::read::Decoder::new(&mut stored)?.single_frame();
            read(&mut decoder)?;
            io::copy(&mut decoder, &mut io::sink())?;
            Ok::<_, io::Error>(())
        })();
        let drained = io::copy(&mut stored, &mut io::sink());
        if let Err(e) = outcome {
            return Err(self.bad_entry(entry, format!("cannot be decompressed: {e}")));
        }
        if let Err(e) = drained {
            return Err(self.bad_entry(entry, format!("cannot be read: {e}")));
        }
        if hex(&stored.hasher.finalize()) != frame.sha256 {
            return Err(self.bad_entry(
                entry,
                "its stored bytes do not match their SHA-256 (damaged)",
            ));
        }
        Ok(())
    }

    /// Reads one entry, checking its frame, tar header, size and content SHA-256, and gives a file's content
    /// to `out` as it is read.
    pub fn extract(
        &self,
        file: &mut dyn Source,
        entry: &Entry,
        out: &mut dyn Write,
    ) -> Result<(), BackupError> {
        let mut problem: Option<String> = None;
        self.decode(file, &entry.frame, &entry.path, |decoder| {
            let mut tar = tar::Archive::new(decoder);
            let mut entries = tar.entries()?;
            let Some(member) = entries.next() else {
                problem = Some("its frame holds no tar entry".into());
                return Ok(());
            };
            let mut member = member?;
            let path = member
                .path()?
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned();
            if path != entry.path.trim_end_matches('/') {
                problem = Some(format!("its tar header names '{path}'"));
                return Ok(());
            }
            let kind = member.header().entry_type();
            let expected = match entry.entry_type {
                EntryType::File => tar::EntryType::Regular,
                EntryType::Dir => tar::EntryType::Directory,
                EntryType::Symlink => tar::EntryType::Symlink,
            };
            if kind != expected {
                // A hard link or device in the tar stream, whatever the manifest says, is refused here
                // so that `tar -x` of the same file cannot be made to do more than a restore would.
                problem = Some(format!(
                    "its tar header is a {kind:?} entry, the manifest says {:?}",
                    entry.entry_type
                ));
                return Ok(());
            }
            match entry.entry_type {
                EntryType::File => {
                    let mut hashing = Hashing {
                        inner: &mut member,
                        hasher: Sha256::new(),
                    };
                    let copied = io::copy(&mut hashing, out)?;
                    let sha = hex(&hashing.hasher.finalize());
                    if copied != entry.size {
                        problem = Some(format!(
                            "holds {copied} bytes, the manifest says {}",
                            entry.size
                        ));
                    } else if Some(&sha) != entry.sha256.as_ref() {
                        problem = Some("its content does not match its SHA-256".into());
                    }
                }
                EntryType::Symlink => {
                    let link = member
                        .link_name()?
                        .map(|l| l.to_string_lossy().into_owned());
                    if link != entry.link {
                        problem = Some("its link target differs from the manifest".into());
                    }
                }
                EntryType::Dir => {}
            }
            Ok(())
        })?;
        match problem {
            Some(message) => Err(self.bad_entry(&entry.path, message)),
            None => Ok(()),
        }
    }
}

struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(path: &str) -> EntryMeta {
        EntryMeta {
            path: path.into(),
            service: "n8n".into(),
            method: Method::Copy,
            engine: None,
            collection: None,
            mode: 0o640,
            uid: 1000,
            gid: 1000,
            mtime: 1_700_000_000,
        }
    }

    fn empty_manifest() -> Manifest {
        Manifest::for_test("/opt/magi", "n8n")
    }

    fn write_sample(dir: &Path) -> PathBuf {
        write_sample_to(dir, "a.tar.zst", None)
    }

    fn write_sample_to(
        dir: &Path,
        file_name: &str,
        recipient: Option<&age::x25519::Recipient>,
    ) -> PathBuf {
        let mut writer = ArchiveWriter::create(dir, file_name, recipient).unwrap();
        writer.add_dir(meta("data/n8n")).unwrap();
        let big: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        writer
            .add_file(meta("data/n8n/big.bin"), big.len() as u64, &mut &big[..])
            .unwrap();
        let long = format!("data/n8n/{}/config", "x".repeat(120));
        writer.add_file(meta(&long), 5, &mut &b"hello"[..]).unwrap();
        writer.add_symlink(meta("data/n8n/link"), "config").unwrap();
        let (path, _, _) = writer.finish(empty_manifest()).unwrap();
        path
    }

    fn verify(path: &Path) -> Result<(), BackupError> {
        verify_with(path, None)
    }

    fn verify_with(
        path: &Path,
        identity: Option<&Arc<age::x25519::Identity>>,
    ) -> Result<(), BackupError> {
        let archive = Archive::open(path, identity)?;
        let mut file = archive.reader()?;
        archive.check_layout(file.as_mut())?;
        for entry in &archive.manifest.entries {
            archive.extract(file.as_mut(), entry, &mut io::sink())?;
        }
        Ok(())
    }

    #[test]
    fn a_written_archive_verifies_and_extracts_with_tar() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path());
        verify(&path).unwrap();
        let archive = Archive::open(&path, None).unwrap();
        assert_eq!(archive.manifest.entries.len(), 4);
        assert!(archive.manifest.entries[2].path.len() > 100);
        let mut out = Vec::new();
        archive
            .extract(
                archive.reader().unwrap().as_mut(),
                &archive.manifest.entries[2],
                &mut out,
            )
            .unwrap();
        assert_eq!(out, b"hello");
        let decoded = zstd::stream::decode_all(File::open(&path).unwrap()).unwrap();
        let mut tar = tar::Archive::new(&decoded[..]);
        let names: Vec<String> = tar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(!dir.path().join(partial_name("a.tar.zst")).exists());
    }

    #[test]
    fn a_flipped_byte_anywhere_names_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_sample(dir.path());
        let original = fs::read(&path).unwrap();
        let archive = Archive::open(&path, None).unwrap();
        let step = (original.len() / 97).max(1);
        for offset in (0..original.len())
            .step_by(step)
            .chain([original.len() - 1])
        {
            let mut bytes = original.clone();
            bytes[offset] ^= 0x20;
            fs::write(&path, &bytes).unwrap();
            let err = verify(&path).expect_err(&format!("a flip at {offset} went unnoticed"));
            let text = err.to_string();
            match archive.manifest.entry_at(offset as u64) {
                Some(entry) => assert!(
                    text.contains(&format!("entry {}:", entry.path)),
                    "flip at {offset}: {text}"
                ),
                None if (offset as u64) < archive.trailer => {
                    assert!(
                        text.contains("end of the tar stream"),
                        "flip at {offset}: {text}"
                    )
                }
                None => assert!(text.contains("the manifest"), "flip at {offset}: {text}"),
            }
        }
    }

    /// A hard link in the tar stream (which `tar -x` would make to any file of the host) under a manifest
    /// entry that says "file" is refused by the header check, naming the entry.
    #[test]
    fn a_hard_link_in_the_tar_stream_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ArchiveWriter::create(dir.path(), "a.tar.zst", None).unwrap();
        let entry = meta("data/n8n/passwd");
        let mut header = ArchiveWriter::header(&entry, tar::EntryType::Link, 0);
        writer
            .builder()
            .append_link(&mut header, &entry.path, "etc/passwd")
            .unwrap();
        writer.push(entry, EntryType::File, 0).unwrap();
        writer.entries.last_mut().unwrap().sha256 = Some(hex(&Sha256::digest(b"")));
        let (path, _, _) = writer.finish(empty_manifest()).unwrap();
        let err = verify(&path).unwrap_err().to_string();
        assert!(
            err.contains("entry data/n8n/passwd") && err.contains("Link"),
            "{err}"
        );
    }

    #[test]
    fn an_abandoned_archive_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ArchiveWriter::create(dir.path(), "b.tar.zst", None).unwrap();
        writer.add_file(meta("x"), 3, &mut &b"abc"[..]).unwrap();
        assert!(writer.temp_path().exists());
        drop(writer);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn content_that_ends_early_is_padded_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = ArchiveWriter::create(dir.path(), "c.tar.zst", None).unwrap();
        let err = writer
            .add_file(meta("data/n8n/config"), 10, &mut &b"abc"[..])
            .unwrap_err();
        assert!(
            err.to_string().contains("shrank from 10 to 3 bytes"),
            "{err}"
        );
        let (path, _, _) = writer.finish(empty_manifest()).unwrap();
        verify(&path).unwrap();
    }

    #[test]
    fn an_encrypted_archive_needs_its_identity_and_catches_a_flipped_byte() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Arc::new(age::x25519::Identity::generate());
        let path = write_sample_to(dir.path(), "e.tar.zst.age", Some(&identity.to_public()));
        verify_with(&path, Some(&identity)).unwrap();
        let original = fs::read(&path).unwrap();
        assert!(
            !original.windows(5).any(|w| w == b"hello"),
            "the content is not in the clear"
        );
        let err = Archive::open(&path, None).unwrap_err().to_string();
        assert!(err.contains("no [backup] identity"), "{err}");
        let other = Arc::new(age::x25519::Identity::generate());
        let err = Archive::open(&path, Some(&other)).unwrap_err().to_string();
        assert!(err.contains("cannot be decrypted"), "{err}");
        for offset in [original.len() / 3, original.len() / 2, original.len() - 40] {
            let mut bytes = original.clone();
            bytes[offset] ^= 0x04;
            fs::write(&path, &bytes).unwrap();
            assert!(
                verify_with(&path, Some(&identity)).is_err(),
                "a flip at {offset} went unnoticed"
            );
        }
    }
}

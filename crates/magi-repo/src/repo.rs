//! A repository: its objects in a [`Store`], its keys, and the local cache of its index. Backing up
//! ([`Repository::backup`]), restoring files ([`Repository::restore`]), checking ([`Repository::verify`])
//! and removing what no snapshot needs ([`Repository::prune`]) are here; the layout is in FORMAT.md beside
//! this crate.
//!
//! The order of writes is what keeps a repository whole whatever is killed when: packs first (each
//! recorded in the local cache the moment its upload succeeded), then one index object naming them, then
//! the snapshot. A snapshot is only ever written after everything it names is stored and indexed, so
//! nothing is half-listed; a prune writes the new index and a new epoch before it deletes anything.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chunk::Chunker;
use crate::crypt;
use crate::error::{RepoError, StoreError};
use crate::index::{Cache, IndexDoc, PackRecord, digest, is_digest};
use crate::pack::{self, Blob, Kind, PackBuilder, Raw};
use crate::snapshot::{self, FileRecord, Snapshot, Stats};
use crate::store::{Listed, Store};
use crate::tree::{self, ChunkRef, LEAF_ENTRIES};
use magi_core::format::hex;

/// The repository format this build writes and reads.
pub const FORMAT: u32 = 1;

/// A backup writes an index object each time this many of its packs are stored (about 256 MiB of content),
/// not one at the end: what it holds for its index, and what a killed backup leaves unindexed, stay bounded.
const INDEX_PACKS: usize = 64;

/// The plaintext `config` object: the one thing a reader needs before any key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoConfig {
    pub format: u32,
    pub id: String,
    pub created: Timestamp,
}

/// How a repository is worked with.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Uploads or downloads at once.
    pub parallel: usize,
    /// A pack is sealed when the content of its blobs reaches this size.
    pub pack_size: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            parallel: 4,
            pack_size: 4 << 20,
        }
    }
}

/// The keys: the recipient seals; the identity, where this host has it, opens.
#[derive(Clone)]
pub struct Keys {
    pub recipient: age::x25519::Recipient,
    pub identity: Option<Arc<age::x25519::Identity>>,
}

/// Creates a repository in an empty store; returns false if one is already there (its format checked).
pub fn init(store: &dyn Store) -> Result<bool, RepoError> {
    if let Some(existing) = store.get("config")? {
        let config: RepoConfig = serde_json::from_slice(&existing)
            .map_err(|e| RepoError::damaged("config", format!("is not readable: {e}")))?;
        if config.format != FORMAT {
            return Err(RepoError::damaged(
                "config",
                format!(
                    "format {} is not the {FORMAT} this build knows",
                    config.format
                ),
            ));
        }
        return Ok(false);
    }
    let config = RepoConfig {
        format: FORMAT,
        id: random_hex(),
        created: Timestamp::now(),
    };
    store.put(
        "config",
        &serde_json::to_vec_pretty(&config).expect("serializes"),
        true,
    )?;
    store.put("epoch", random_hex().as_bytes(), false)?;
    Ok(true)
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system's random source");
    hex(&bytes)
}

/// Reads the epoch, which changes with every prune.
fn read_epoch(store: &dyn Store) -> Result<String, RepoError> {
    let Some(bytes) = store.get("epoch")? else {
        // Some servers answer a GET in a missing bucket as if only the object were missing; a listing
        // tells the two apart, and costs nothing on the hot path, where the epoch is there.
        store.list("config")?;
        return Err(RepoError::Missing {
            target: store.describe(),
        });
    };
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    if text.is_empty() || text.len() > 64 || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(RepoError::damaged("epoch", "is not an epoch token"));
    }
    Ok(text)
}

/// An open repository.
pub struct Repository {
    store: Arc<dyn Store>,
    keys: Keys,
    cache: Cache,
    epoch: String,
    options: Options,
}

impl Repository {
    /// Opens the repository in `store`, with its cache under `cache_dir`.
    pub fn open(
        store: Arc<dyn Store>,
        keys: Keys,
        cache_dir: &Path,
        options: Options,
    ) -> Result<Repository, RepoError> {
        let epoch = read_epoch(store.as_ref())?;
        let options = Options {
            pack_size: options.pack_size.min(pack::MAX_RAW as usize / 2),
            ..options
        };
        let name = hex(&Sha256::digest(store.describe().as_bytes()));
        let mut cache = Cache::open(&cache_dir.join(format!("{}.db", &name[..16])))?;
        if cache.epoch()?.as_deref() != Some(epoch.as_str()) {
            cache.reset(&epoch)?;
        }
        Ok(Repository {
            store,
            keys,
            cache,
            epoch,
            options,
        })
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    fn identity(&self, action: &'static str) -> Result<Arc<age::x25519::Identity>, RepoError> {
        self.keys
            .identity
            .clone()
            .ok_or(RepoError::NoIdentity { action })
    }

    /// Starts a backup.
    pub fn backup(&mut self) -> Backup<'_> {
        let (jobs, queue) = sync_channel::<Raw>(1);
        let (done, results) = std::sync::mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..self.options.parallel.max(1))
            .map(|_| {
                let queue = Arc::clone(&queue);
                let done = done.clone();
                let store = Arc::clone(&self.store);
                let recipient = self.keys.recipient.clone();
                std::thread::spawn(move || upload_worker(store.as_ref(), &recipient, &queue, &done))
            })
            .collect();
        Backup {
            repo: self,
            data: PackBuilder::default(),
            trees: PackBuilder::default(),
            pending: HashSet::new(),
            sealed: HashMap::new(),
            stored: Vec::new(),
            sent: 0,
            sealed_count: 0,
            jobs: Some(jobs),
            results,
            workers,
            failure: None,
            files: Vec::new(),
            stats: Stats::default(),
            seen_bytes: 0,
        }
    }

    /// The names of the snapshots, oldest first (names sort by time).
    pub fn snapshots(&self) -> Result<Vec<String>, RepoError> {
        Ok(self
            .store
            .list("snapshots/")?
            .into_iter()
            .filter_map(|l| l.key.strip_prefix("snapshots/").map(str::to_owned))
            .filter(|n| snapshot::valid_name(n))
            .collect())
    }

    /// Whether the snapshot `name` is stored (one HEAD, no listing).
    pub fn has_snapshot(&self, name: &str) -> Result<bool, RepoError> {
        Ok(snapshot::valid_name(name) && self.store.exists(&snapshot::key(name))?)
    }

    /// Reads a snapshot.
    pub fn snapshot(&self, name: &str) -> Result<Snapshot, RepoError> {
        let identity = self.identity("reading a snapshot")?;
        if !snapshot::valid_name(name) {
            return Err(RepoError::NoSnapshot {
                name: name.to_owned(),
                target: self.store.describe(),
            });
        }
        let key = snapshot::key(name);
        let bytes = self.store.get(&key)?.ok_or_else(|| RepoError::NoSnapshot {
            name: name.to_owned(),
            target: self.store.describe(),
        })?;
        let snapshot: Snapshot = crypt::open_json(&bytes, &identity, &key)?;
        if snapshot.format != snapshot::FORMAT || snapshot.name != name {
            return Err(RepoError::damaged(
                &key,
                "is not the snapshot its name says (format or name differ)",
            ));
        }
        Ok(snapshot)
    }

    /// Loads every index object not yet in the cache.
    pub fn sync_index(&mut self) -> Result<Vec<Listed>, RepoError> {
        let identity = self.identity("reading the index")?;
        let listed = self.store.list("index/")?;
        for object in &listed {
            let Some(id) = object.key.strip_prefix("index/") else {
                continue;
            };
            if !is_digest(id) || self.cache.has_index(id)? {
                continue;
            }
            let bytes = self.store.get(&object.key)?.ok_or_else(|| {
                RepoError::damaged(&object.key, "was listed and is gone (a prune running?)")
            })?;
            if hex(&Sha256::digest(&bytes)) != id {
                return Err(RepoError::damaged(
                    &object.key,
                    "its bytes do not match its SHA-256 (damaged or changed in the bucket)",
                ));
            }
            let doc: IndexDoc = crypt::open_json(&bytes, &identity, &object.key)?;
            let packs = doc
                .packs
                .iter()
                .map(|pack| pack.record(&object.key))
                .collect::<Result<Vec<_>, _>>()?;
            self.cache.load(id, &packs)?;
        }
        Ok(listed)
    }

    /// Fetches and opens one pack, checking its ID.
    fn fetch_pack(&self, id: &str) -> Result<Vec<u8>, RepoError> {
        let identity = self.identity("reading a pack")?;
        fetch_pack(self.store.as_ref(), &identity, id, self.cache.raw_size(id)?)
    }

    /// The chunk lists of the given leaves.
    fn leaves(
        &self,
        ids: &HashSet<[u8; 32]>,
    ) -> Result<HashMap<[u8; 32], Vec<ChunkRef>>, RepoError> {
        let mut by_pack: HashMap<String, Vec<Blob>> = HashMap::new();
        for id in ids {
            let (pack, blob) = self.cache.locate(id)?.ok_or_else(|| {
                RepoError::damaged(
                    "index",
                    format!("tree leaf {} is in no pack of the index", hex(id)),
                )
            })?;
            by_pack.entry(pack).or_default().push(blob);
        }
        let mut leaves = HashMap::new();
        for (pack, blobs) in by_pack {
            let plain = self.fetch_pack(&pack)?;
            for blob in blobs {
                let raw = pack::blob(&plain, &blob, &pack)?;
                leaves.insert(blob.id, tree::decode(raw, &pack::key(&pack))?);
            }
        }
        Ok(leaves)
    }

    /// Restores the files `which` (indices into the snapshot's files, in the order to fetch them) into
    /// `dir`, each as `dir/INDEX`, created new; checks each against its SHA-256. Returns their paths.
    pub fn restore(
        &mut self,
        snapshot: &Snapshot,
        which: &[usize],
        dir: &Path,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<PathBuf>, RepoError> {
        let identity = self.identity("restoring")?;
        self.sync_index()?;
        let skey = snapshot::key(&snapshot.name);
        let mut leaf_ids = HashSet::new();
        for &i in which {
            let file = snapshot
                .files
                .get(i)
                .ok_or_else(|| RepoError::damaged(&skey, format!("has no file number {i}")))?;
            for leaf in &file.leaves {
                leaf_ids.insert(digest(leaf).ok_or_else(|| {
                    RepoError::damaged(&skey, format!("{}: a leaf ID is not a SHA-256", file.path))
                })?);
            }
        }
        let paths: Vec<&str> = which
            .iter()
            .map(|i| snapshot.files[*i].path.as_str())
            .collect();
        let leaves = self.leaves(&leaf_ids).map_err(|e| {
            needed_by(
                e,
                &snapshot.name,
                &format!("the chunk lists of {}", paths.join(", ")),
            )
        })?;
        // Where every chunk goes, grouped by pack, packs in the order of the files that need them.
        let mut order: Vec<String> = Vec::new();
        let mut places: HashMap<String, Vec<(Blob, usize, u64)>> = HashMap::new();
        let mut outputs = Vec::new();
        for (slot, &i) in which.iter().enumerate() {
            let file = &snapshot.files[i];
            let mut offset = 0u64;
            for leaf in &file.leaves {
                let leaf = digest(leaf).expect("checked above");
                for chunk in &leaves[&leaf] {
                    let (pack, blob) = self.cache.locate(&chunk.id)?.ok_or_else(|| {
                        RepoError::damaged(
                            &skey,
                            format!(
                                "{}: chunk {} is in no pack of the index",
                                file.path,
                                hex(&chunk.id)
                            ),
                        )
                    })?;
                    if blob.raw_length != chunk.len {
                        return Err(RepoError::damaged(
                            &skey,
                            format!("{}: chunk {} has two lengths", file.path, hex(&chunk.id)),
                        ));
                    }
                    if !places.contains_key(&pack) {
                        order.push(pack.clone());
                    }
                    places.entry(pack).or_default().push((blob, slot, offset));
                    offset += u64::from(chunk.len);
                }
            }
            if offset != file.size {
                return Err(RepoError::damaged(
                    &skey,
                    format!(
                        "{}: its chunks add up to {offset} bytes, not {}",
                        file.path, file.size
                    ),
                ));
            }
            let path = dir.join(i.to_string());
            let out = OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| RepoError::io("create", &path, e))?;
            out.set_len(file.size)
                .map_err(|e| RepoError::io("size", &path, e))?;
            outputs.push((path, out));
        }
        let raw_sizes: HashMap<String, u64> = order
            .iter()
            .map(|p| Ok((p.clone(), self.cache.raw_size(p)?)))
            .collect::<Result<_, RepoError>>()?;
        // A file is synced and checked against its SHA-256 by the worker that writes its last bytes, while
        // the other workers go on fetching: a file's bytes still to write, by slot.
        let remaining: Vec<AtomicU64> = which
            .iter()
            .map(|&i| AtomicU64::new(snapshot.files[i].size))
            .collect();
        let complete = |slot: usize| -> Result<(), RepoError> {
            let (path, out) = &outputs[slot];
            out.sync_all().map_err(|e| RepoError::io("sync", path, e))?;
            let file = &snapshot.files[which[slot]];
            if sha256_of(path)? != file.sha256 {
                return Err(RepoError::damaged(
                    &skey,
                    format!(
                        "{}: the restored content does not match its SHA-256",
                        file.path
                    ),
                ));
            }
            Ok(())
        };
        let queue = Mutex::new(order.into_iter());
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<RepoError>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..self.options.parallel.max(1) {
                scope.spawn(|| {
                    loop {
                        if failed.load(Ordering::Relaxed) {
                            return;
                        }
                        let Some(pack) = queue.lock().unwrap_or_else(|e| e.into_inner()).next()
                        else {
                            return;
                        };
                        let outcome = (|| {
                            let plain = fetch_pack(
                                self.store.as_ref(),
                                &identity,
                                &pack,
                                raw_sizes[&pack],
                            )?;
                            // Each blob is checked, then runs of blobs that lie one after another both in
                            // the pack and in the file (a backup packs a file's new chunks in order) are
                            // written with one call rather than one per chunk.
                            let mut run: Option<(usize, u64, u64, u64)> = None;
                            let flush = |run: Option<(usize, u64, u64, u64)>| {
                                let Some((slot, offset, start, end)) = run else {
                                    return Ok(());
                                };
                                let (path, out) = &outputs[slot];
                                out.write_all_at(&plain[start as usize..end as usize], offset)
                                    .map_err(|e| RepoError::io("write", path, e))?;
                                progress(end - start);
                                if remaining[slot].fetch_sub(end - start, Ordering::AcqRel)
                                    == end - start
                                {
                                    complete(slot)?;
                                }
                                Ok::<_, RepoError>(())
                            };
                            for (blob, slot, offset) in &places[&pack] {
                                pack::blob(&plain, blob, &pack)?;
                                run = match run {
                                    Some((s, o, start, end))
                                        if s == *slot
                                            && end == blob.raw_offset
                                            && o + (end - start) == *offset =>
                                    {
                                        Some((s, o, start, blob.end()))
                                    }
                                    other => {
                                        flush(other)?;
                                        Some((*slot, *offset, blob.raw_offset, blob.end()))
                                    }
                                };
                            }
                            flush(run)?;
                            Ok::<_, RepoError>(())
                        })();
                        // A damaged pack is named with the snapshot and the file that needed it.
                        let outcome = outcome.map_err(|e| {
                            let slot = places[&pack][0].1;
                            needed_by(e, &snapshot.name, &snapshot.files[which[slot]].path)
                        });
                        if let Err(e) = outcome {
                            failed.store(true, Ordering::Relaxed);
                            first_error
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                            return;
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        // Empty files had no last bytes to write.
        for (slot, &i) in which.iter().enumerate() {
            if snapshot.files[i].size == 0 {
                complete(slot)?;
            }
        }
        Ok(outputs.into_iter().map(|(path, _)| path).collect())
    }

    /// The packs in the store, by ID (one listing of `data/`).
    fn listed_packs(&self) -> Result<HashMap<String, Listed>, RepoError> {
        Ok(self
            .store
            .list("data/")?
            .into_iter()
            .filter_map(|l| {
                let id = l.key.rsplit('/').next()?.to_owned();
                is_digest(&id).then_some((id, l))
            })
            .collect())
    }

    /// Checks the repository: every indexed pack is in the bucket with its size and MD5, every snapshot
    /// opens and names only indexed blobs; `sample` packs (all with `deep`) are read and every blob in
    /// them checked.
    pub fn verify(&mut self, deep: bool, sample: usize) -> Result<VerifyReport, RepoError> {
        let mut report = VerifyReport::default();
        let listed = self.listed_packs()?;
        let readable = self.keys.identity.is_some();
        if readable {
            self.sync_index()?;
        }
        let packs = self.cache.packs()?;
        report.packs = packs.len() as u64;
        for (id, size, md5) in &packs {
            match listed.get(id) {
                None => report
                    .problems
                    .push(format!("{}: missing from the bucket", pack::key(id))),
                Some(l) if l.size != *size => report.problems.push(format!(
                    "{}: {} bytes in the bucket, {size} in the index",
                    pack::key(id),
                    l.size
                )),
                Some(l) if is_md5(&l.etag) && !l.etag.eq_ignore_ascii_case(md5) => {
                    report.problems.push(format!(
                        "{}: its ETag is not the MD5 in the index",
                        pack::key(id)
                    ))
                }
                Some(_) => {}
            }
        }
        let known: HashSet<&str> = packs.iter().map(|(id, _, _)| id.as_str()).collect();
        report.unindexed_packs = listed
            .keys()
            .filter(|id| !known.contains(id.as_str()))
            .count() as u64;
        if !readable {
            return Ok(report);
        }
        // Which packs each file of each snapshot reads (with --deep), to name what a damaged pack costs.
        let mut users: Vec<(String, String, HashSet<String>)> = Vec::new();
        for name in self.snapshots()? {
            report.snapshots += 1;
            let snapshot = match self.snapshot(&name) {
                Ok(s) => s,
                Err(e @ RepoError::WrongKey { .. }) => return Err(e),
                Err(e) => {
                    report.problems.push(e.to_string());
                    continue;
                }
            };
            let mut leaf_ids = HashSet::new();
            for file in &snapshot.files {
                for leaf in &file.leaves {
                    match digest(leaf) {
                        Some(id) if self.cache.knows(&id)? => {
                            leaf_ids.insert(id);
                        }
                        _ => report.problems.push(format!(
                            "snapshot {name}, {}: a tree leaf is in no pack",
                            file.path
                        )),
                    }
                }
            }
            if deep {
                match self.leaves(&leaf_ids) {
                    Ok(leaves) => {
                        for chunk in leaves.values().flatten() {
                            if !self.cache.knows(&chunk.id)? {
                                report.problems.push(format!(
                                    "snapshot {name}: chunk {} is in no pack",
                                    hex(&chunk.id)
                                ));
                            }
                        }
                        for file in &snapshot.files {
                            let mut packs = HashSet::new();
                            for leaf in file.leaves.iter().filter_map(|l| digest(l)) {
                                for chunk in leaves.get(&leaf).into_iter().flatten() {
                                    if let Some((pack, _)) = self.cache.locate(&chunk.id)? {
                                        packs.insert(pack);
                                    }
                                }
                            }
                            users.push((name.clone(), file.path.clone(), packs));
                        }
                    }
                    Err(e) => report.problems.push(format!("snapshot {name}: {e}")),
                }
            }
        }
        let mut present: Vec<&String> = packs
            .iter()
            .map(|(id, _, _)| id)
            .filter(|id| listed.contains_key(*id))
            .collect();
        if !deep {
            fastrand::shuffle(&mut present);
            present.truncate(sample);
        }
        for id in present {
            report.read_packs += 1;
            let outcome = self.fetch_pack(id).and_then(|plain| {
                for blob in self.cache.blobs_of(id)? {
                    pack::blob(&plain, &blob, id)?;
                }
                Ok(())
            });
            match outcome {
                Ok(()) => {}
                Err(e @ RepoError::WrongKey { .. }) => return Err(e),
                Err(e) => {
                    report.problems.push(e.to_string());
                    for (snapshot, path, packs) in &users {
                        if packs.contains(id) {
                            report.problems.push(format!(
                                "snapshot {snapshot}, {path}: part of its content is in the damaged {}",
                                pack::key(id)
                            ));
                        }
                    }
                }
            }
        }
        Ok(report)
    }

    /// Deletes snapshots by name (a retention policy chose them).
    pub fn forget(&self, names: &[String]) -> Result<(), RepoError> {
        for name in names {
            if snapshot::valid_name(name) {
                self.store.delete(&snapshot::key(name))?;
            }
        }
        Ok(())
    }

    /// Deletes the packs no snapshot needs: wholly unreferenced indexed packs, and packs no index names
    /// that are older than `grace` (what a killed backup left; a running one's are younger). Packs that
    /// hold both needed and unneeded blobs are kept whole. The index is rewritten as one object.
    ///
    /// A kept pack more than `max_unused` of whose content (a share, 0 to 1) no snapshot needs is
    /// repacked: its used blobs are written into new packs and it is deleted, so the space a database's
    /// superseded pages hold comes back even while each old pack still holds a page in use.
    ///
    /// Snapshots named in `forgetting` count as gone, so a dry run beside a forget that did not happen
    /// reports what the two together would do.
    pub fn prune(
        &mut self,
        grace: Duration,
        max_unused: f64,
        forgetting: &[String],
        dry_run: bool,
    ) -> Result<PruneReport, RepoError> {
        let identity = self.identity("pruning")?;
        let old_indexes = self.sync_index()?;
        let mut needed_leaves = HashSet::new();
        let mut names = self.snapshots()?;
        names.retain(|name| !forgetting.contains(name));
        for name in &names {
            let snapshot = self.snapshot(name)?;
            for file in &snapshot.files {
                for leaf in &file.leaves {
                    needed_leaves.insert(digest(leaf).ok_or_else(|| {
                        RepoError::damaged(&snapshot::key(name), "a leaf ID is not a SHA-256")
                    })?);
                }
            }
        }
        let mut needed: HashSet<[u8; 32]> = needed_leaves.clone();
        for chunks in self.leaves(&needed_leaves)?.values() {
            needed.extend(chunks.iter().map(|c| c.id));
        }
        let listed = self.listed_packs()?;
        let now = Timestamp::now();
        let mut report = PruneReport {
            snapshots: names.len() as u64,
            ..PruneReport::default()
        };
        let mut keep = Vec::new();
        let mut repack = Vec::new();
        let mut delete = Vec::new();
        let packs = self.cache.packs()?;
        let indexed: HashSet<String> = packs.iter().map(|p| p.0.clone()).collect();
        for (id, size, md5) in packs {
            let blobs = self.cache.blobs_of(&id)?;
            let content: u64 = blobs.iter().map(|b| u64::from(b.raw_length)).sum();
            let used: u64 = blobs
                .iter()
                .filter(|b| needed.contains(&b.id))
                .map(|b| u64::from(b.raw_length))
                .sum();
            let pack = PackRecord {
                id,
                size,
                md5,
                blobs,
            };
            // A used blob may be empty (an empty file's one chunk), so "used" is asked of the blobs.
            if !pack.blobs.iter().any(|b| needed.contains(&b.id)) {
                report.deleted_packs += 1;
                report.deleted_bytes += pack.size;
                delete.push(pack.id);
            } else if !listed.contains_key(&pack.id) {
                report.missing_packs += 1;
            } else if (content - used) as f64 > max_unused * content as f64 {
                report.repacked_packs += 1;
                report.deleted_packs += 1;
                report.deleted_bytes += pack.size;
                repack.push(pack);
            } else {
                if used < content {
                    report.partly_used_packs += 1;
                }
                keep.push(pack);
            }
        }
        for (id, object) in &listed {
            let old_enough = object
                .modified
                .is_none_or(|m| now.duration_since(m).unsigned_abs() > grace);
            if !indexed.contains(id) && old_enough {
                report.deleted_packs += 1;
                report.deleted_bytes += object.size;
                delete.push(id.clone());
            }
        }
        report.kept_packs = keep.len() as u64;
        if dry_run {
            return Ok(report);
        }
        // The used blobs of the packs being repacked go into new packs before any index or pack is
        // deleted: a prune killed here leaves only packs no index names, which the next prune removes.
        let mut builders = [PackBuilder::default(), PackBuilder::default()];
        let mut copied = HashSet::new();
        for pack in &repack {
            let plain = fetch_pack(
                self.store.as_ref(),
                &identity,
                &pack.id,
                pack.blobs.iter().map(Blob::end).max().unwrap_or(0),
            )?;
            for blob in &pack.blobs {
                if !needed.contains(&blob.id) || !copied.insert(blob.id) {
                    continue;
                }
                let raw = plain
                    .get(blob.raw_offset as usize..blob.end() as usize)
                    .filter(|raw| <[u8; 32]>::from(Sha256::digest(raw)) == blob.id)
                    .ok_or_else(|| {
                        RepoError::damaged(
                            &pack::key(&pack.id),
                            "holds a blob that does not match its ID",
                        )
                    })?;
                let builder = &mut builders[usize::from(blob.kind == Kind::Tree)];
                builder.add(blob.id, blob.kind, raw);
                if builder.len() >= self.options.pack_size {
                    keep.push(self.write_pack(builder, &mut report)?);
                }
            }
            delete.push(pack.id.clone());
        }
        for builder in &mut builders {
            if !builder.is_empty() {
                keep.push(self.write_pack(builder, &mut report)?);
            }
        }
        let sealed = crate::index::seal(&keep.iter().collect::<Vec<_>>(), &self.keys.recipient);
        let new_index = hex(&Sha256::digest(&sealed));
        self.store
            .put(&format!("index/{new_index}"), &sealed, false)?;
        let epoch = random_hex();
        self.store.put("epoch", epoch.as_bytes(), false)?;
        for old in &old_indexes {
            if old.key != format!("index/{new_index}") {
                self.store.delete(&old.key)?;
            }
        }
        for id in &delete {
            self.store.delete(&pack::key(id))?;
        }
        self.cache.reset(&epoch)?;
        self.cache.load(&new_index, &keep)?;
        self.epoch = epoch;
        Ok(report)
    }

    /// Seals and stores what `builder` holds, as a prune's repacking does: one pack, now.
    fn write_pack(
        &self,
        builder: &mut PackBuilder,
        report: &mut PruneReport,
    ) -> Result<PackRecord, RepoError> {
        let pack::Sealed {
            id,
            bytes,
            md5,
            blobs,
        } = builder.take(crypt::THOROUGH).seal(&self.keys.recipient);
        self.store.put_pack(&pack::key(&id), &bytes, md5)?;
        report.written_packs += 1;
        report.written_bytes += bytes.len() as u64;
        Ok(PackRecord {
            id,
            size: bytes.len() as u64,
            md5: hex(&md5),
            blobs,
        })
    }
}

/// A damaged object's error, saying which snapshot needs it for what.
fn needed_by(error: RepoError, snapshot: &str, what: &str) -> RepoError {
    match error {
        RepoError::Damaged { key, message } => RepoError::Damaged {
            key,
            message: format!("{message}; snapshot {snapshot} needs it for {what}"),
        },
        other => other,
    }
}

fn is_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

fn sha256_of(path: &Path) -> Result<String, RepoError> {
    let mut file = File::open(path).map_err(|e| RepoError::io("read", path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| RepoError::io("read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn fetch_pack(
    store: &dyn Store,
    identity: &age::x25519::Identity,
    id: &str,
    raw_size: u64,
) -> Result<Vec<u8>, RepoError> {
    let key = pack::key(id);
    let bytes = store.get(&key)?.ok_or_else(|| {
        RepoError::damaged(&key, "is named by the index and missing from the bucket")
    })?;
    pack::open(bytes, id, raw_size, identity)
}

/// What an upload worker tells the backup about one pack: first that it is sealed (its index entry is
/// then known, so the index can be sealed while the last uploads run), then that it is stored or not.
enum Progress {
    Sealed(PackRecord),
    Stored(String),
    Failed(StoreError),
}

/// Compresses, seals and uploads the packs the backup fills, one at a time.
fn upload_worker(
    store: &dyn Store,
    recipient: &age::x25519::Recipient,
    queue: &Mutex<Receiver<Raw>>,
    done: &std::sync::mpsc::Sender<Progress>,
) {
    loop {
        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(raw) = job else { return };
        let pack::Sealed {
            id,
            bytes,
            md5,
            blobs,
        } = raw.seal(recipient);
        let record = PackRecord {
            id: id.clone(),
            size: bytes.len() as u64,
            md5: hex(&md5),
            blobs,
        };
        if done.send(Progress::Sealed(record)).is_err() {
            return;
        }
        let outcome = match store.put_pack(&pack::key(&id), &bytes, md5) {
            Ok(()) => Progress::Stored(id),
            Err(e) => Progress::Failed(e),
        };
        if done.send(outcome).is_err() {
            return;
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub snapshots: u64,
    pub packs: u64,
    pub read_packs: u64,
    /// Packs in the bucket that no index names (from a killed backup; a prune removes them).
    pub unindexed_packs: u64,
    pub problems: Vec<String>,
}

/// What `prune` did or would do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub snapshots: u64,
    pub kept_packs: u64,
    pub partly_used_packs: u64,
    pub deleted_packs: u64,
    pub deleted_bytes: u64,
    /// Packs the index names that are not in the bucket (dropped from the new index).
    pub missing_packs: u64,
    /// Partly used packs rewritten with only their used blobs (and then deleted, so also counted in
    /// `deleted_packs` and `deleted_bytes`), and the packs and bytes written for them.
    pub repacked_packs: u64,
    pub written_packs: u64,
    pub written_bytes: u64,
}

/// A backup being written: files are added one by one, then [`Backup::finish`] writes the index and the
/// snapshot. Dropped unfinished, it writes neither; the packs already stored stay journaled in the
/// cache and are used by the next backup.
pub struct Backup<'r> {
    repo: &'r mut Repository,
    data: PackBuilder,
    trees: PackBuilder,
    /// Blobs in packs not yet confirmed stored.
    pending: HashSet<[u8; 32]>,
    /// The packs this backup sealed that no index object names yet: kept for the index rather than read
    /// back from the cache, which at the end of a first backup is tens of thousands of rows read on the
    /// one busy thread.
    sealed: HashMap<String, PackRecord>,
    /// Those of `sealed` whose upload succeeded.
    stored: Vec<String>,
    /// Packs handed to the workers, and those sealed.
    sent: usize,
    sealed_count: usize,
    jobs: Option<SyncSender<Raw>>,
    results: Receiver<Progress>,
    workers: Vec<JoinHandle<()>>,
    failure: Option<RepoError>,
    files: Vec<FileRecord>,
    stats: Stats,
    /// Bytes of file content chunked so far.
    seen_bytes: u64,
}

impl<'r> Backup<'r> {
    /// Starts a file of `size` bytes; write its content to the returned writer, then finish it.
    pub fn file<'b>(&'b mut self, path: &str, size: u64) -> FileWriter<'b, 'r> {
        self.file_digested(path, size, None)
    }

    /// [`Backup::file`] for content whose SHA-256 (hex) the caller has already checked as it reads it,
    /// as an archive's reader does: it is recorded rather than computed a second time.
    pub fn file_digested<'b>(
        &'b mut self,
        path: &str,
        size: u64,
        sha256: Option<String>,
    ) -> FileWriter<'b, 'r> {
        FileWriter {
            chunker: Chunker::new(size),
            backup: self,
            path: path.to_owned(),
            size,
            leaf: Vec::with_capacity(LEAF_ENTRIES),
            leaves: Vec::new(),
            hasher: match sha256 {
                Some(known) => Digesting::Known(known),
                None => Digesting::Computing(Sha256::new()),
            },
            written: 0,
        }
    }

    /// Stores a blob unless it is stored or pending; returns its ID.
    fn blob(&mut self, raw: &[u8], kind: Kind) -> Result<[u8; 32], RepoError> {
        let id: [u8; 32] = Sha256::digest(raw).into();
        if kind == Kind::Data {
            self.stats.chunks += 1;
            self.seen_bytes += raw.len() as u64;
        }
        if self.pending.contains(&id) || self.repo.cache.knows(&id)? {
            return Ok(id);
        }
        if kind == Kind::Data {
            self.stats.new_chunks += 1;
            self.stats.new_bytes += raw.len() as u64;
        }
        self.pending.insert(id);
        let builder = match kind {
            Kind::Data => &mut self.data,
            Kind::Tree => &mut self.trees,
        };
        builder.add(id, kind, raw);
        if builder.len() >= self.repo.options.pack_size {
            self.seal(kind)?;
        }
        self.collect(false)?;
        if self.stored.len() >= INDEX_PACKS {
            self.index_stored()?;
        }
        Ok(id)
    }

    fn seal(&mut self, kind: Kind) -> Result<(), RepoError> {
        // A backup that has found most of what it read already stored (a day's incremental) sends little,
        // and compresses that little harder; one of mostly new data (a first backup) compresses fast.
        let level = if self.stats.new_bytes * 4 < self.seen_bytes {
            crypt::THOROUGH
        } else {
            crypt::LEVEL
        };
        let builder = match kind {
            Kind::Data => &mut self.data,
            Kind::Tree => &mut self.trees,
        };
        if builder.is_empty() {
            return Ok(());
        }
        let raw = builder.take(level);
        let sent = self
            .jobs
            .as_ref()
            .expect("jobs are open until finish")
            .send(raw);
        self.sent += 1;
        if sent.is_err() {
            self.collect(true)?;
            return Err(self
                .failure
                .take()
                .unwrap_or_else(|| RepoError::Cache("the upload workers stopped".into())));
        }
        Ok(())
    }

    /// Records the packs whose uploads finished; with `wait`, until every worker is done.
    fn collect(&mut self, wait: bool) -> Result<(), RepoError> {
        loop {
            let next = if wait {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            let Some(progress) = next else { break };
            self.record(progress)?;
        }
        self.failure.take().map_or(Ok(()), Err)
    }

    /// Writes an index object naming the packs stored so far and lets go of their records, so a backup
    /// of any size holds at most [`INDEX_PACKS`] packs' records.
    fn index_stored(&mut self) -> Result<(), RepoError> {
        let ids = std::mem::take(&mut self.stored);
        let packs: Vec<PackRecord> = ids.iter().filter_map(|id| self.sealed.remove(id)).collect();
        let sealed =
            crate::index::seal(&packs.iter().collect::<Vec<_>>(), &self.repo.keys.recipient);
        let id = hex(&Sha256::digest(&sealed));
        self.repo
            .store
            .put(&format!("index/{id}"), &sealed, false)?;
        self.stats.metadata_bytes += sealed.len() as u64;
        self.repo.cache.indexed(&id, &ids)?;
        Ok(())
    }

    /// Waits until every pack handed to the workers is sealed (their uploads may still run).
    fn all_sealed(&mut self) -> Result<(), RepoError> {
        while self.sealed_count < self.sent && self.failure.is_none() {
            let Ok(progress) = self.results.recv() else {
                break;
            };
            self.record(progress)?;
        }
        self.failure.take().map_or(Ok(()), Err)
    }

    fn record(&mut self, progress: Progress) -> Result<(), RepoError> {
        match progress {
            Progress::Sealed(entry) => {
                self.sealed_count += 1;
                self.sealed.insert(entry.id.clone(), entry);
            }
            Progress::Stored(id) => {
                let pack = self.sealed.get(&id).ok_or_else(|| {
                    RepoError::Cache(format!("pack {id} was reported stored before sealed"))
                })?;
                self.stats.packs += 1;
                self.stats.packed_bytes += pack.size;
                self.repo.cache.add(pack, false)?;
                for blob in &pack.blobs {
                    self.pending.remove(&blob.id);
                }
                self.stored.push(id);
            }
            Progress::Failed(e) => {
                self.failure.get_or_insert(e.into());
            }
        }
        Ok(())
    }

    /// Stores the last packs, then the index and the snapshot `name`.
    pub fn finish(
        mut self,
        name: &str,
        host: &str,
        meta: serde_json::Value,
    ) -> Result<Snapshot, RepoError> {
        if !snapshot::valid_name(name) {
            return Err(RepoError::NoSnapshot {
                name: name.to_owned(),
                target: "a snapshot name (letters, digits, '.-_:')".into(),
            });
        }
        self.seal(Kind::Data)?;
        self.seal(Kind::Tree)?;
        drop(self.jobs.take());
        // The index of this backup's packs and of any an earlier killed backup stored and journaled,
        // sealed while the last packs upload; stored only once they all are.
        self.all_sealed()?;
        let earlier = self
            .repo
            .cache
            .unindexed(|id| !self.sealed.contains_key(id))?;
        let mut packs: Vec<&PackRecord> = self.sealed.values().chain(&earlier).collect();
        packs.sort_by(|a, b| a.id.cmp(&b.id));
        let index = (!packs.is_empty()).then(|| {
            let sealed = crate::index::seal(&packs, &self.repo.keys.recipient);
            (hex(&Sha256::digest(&sealed)), sealed)
        });
        let indexed: Vec<String> = packs.iter().map(|pack| pack.id.clone()).collect();
        for worker in std::mem::take(&mut self.workers) {
            let _ = worker.join();
        }
        self.collect(true)?;
        let store = Arc::clone(&self.repo.store);
        if read_epoch(store.as_ref())? != self.repo.epoch {
            self.repo.cache.reset("changed")?;
            return Err(RepoError::Cache(
                "a prune ran while this backup ran, so chunks it reused may be gone; run the backup again"
                    .into(),
            ));
        }
        if let Some((id, sealed)) = index {
            store.put(&format!("index/{id}"), &sealed, false)?;
            self.stats.metadata_bytes += sealed.len() as u64;
            self.repo.cache.indexed(&id, &indexed)?;
        }
        let snapshot = Snapshot {
            format: snapshot::FORMAT,
            name: name.to_owned(),
            time: Timestamp::now(),
            host: host.to_owned(),
            meta,
            files: std::mem::take(&mut self.files),
            stats: self.stats.clone(),
        };
        let sealed = crypt::seal_json(&snapshot, &self.repo.keys.recipient);
        store.put(&snapshot::key(name), &sealed, true)?;
        let mut snapshot = snapshot;
        snapshot.stats.metadata_bytes += sealed.len() as u64;
        Ok(snapshot)
    }
}

impl Drop for Backup<'_> {
    fn drop(&mut self) {
        drop(self.jobs.take());
        for worker in std::mem::take(&mut self.workers) {
            let _ = worker.join();
        }
        // Journal what did get stored, so the next backup need not upload it again.
        while let Ok(progress) = self.results.try_recv() {
            if let Progress::Stored(_) | Progress::Sealed(_) = progress {
                let _ = self.record(progress);
            }
        }
    }
}

/// A file's SHA-256: given by a caller that checked it, or computed here.
enum Digesting {
    Known(String),
    Computing(Sha256),
}

/// One file being added to a backup.
pub struct FileWriter<'b, 'r> {
    backup: &'b mut Backup<'r>,
    chunker: Chunker,
    path: String,
    size: u64,
    leaf: Vec<ChunkRef>,
    leaves: Vec<String>,
    hasher: Digesting,
    written: u64,
}

impl FileWriter<'_, '_> {
    fn chunk(
        backup: &mut Backup<'_>,
        leaf: &mut Vec<ChunkRef>,
        leaves: &mut Vec<String>,
        raw: &[u8],
    ) -> Result<(), RepoError> {
        let id = backup.blob(raw, Kind::Data)?;
        leaf.push(ChunkRef {
            id,
            len: raw.len() as u32,
        });
        if leaf.len() == LEAF_ENTRIES {
            let leaf_id = backup.blob(&tree::encode(leaf), Kind::Tree)?;
            leaves.push(hex(&leaf_id));
            leaf.clear();
        }
        Ok(())
    }

    /// Ends the file: its last chunks and leaf, and its record in the snapshot.
    pub fn finish(mut self) -> Result<(), RepoError> {
        if self.written != self.size {
            return Err(RepoError::Cache(format!(
                "{}: {} bytes were written, {} announced",
                self.path, self.written, self.size
            )));
        }
        let FileWriter {
            backup,
            chunker,
            leaf,
            leaves,
            ..
        } = &mut self;
        let chunker = std::mem::replace(chunker, Chunker::new(0));
        let chunking = chunker.finish(&mut |raw: &[u8]| Self::chunk(backup, leaf, leaves, raw))?;
        if !self.leaf.is_empty() {
            let leaf_id = self.backup.blob(&tree::encode(&self.leaf), Kind::Tree)?;
            self.leaves.push(hex(&leaf_id));
        }
        let record = FileRecord {
            path: self.path.clone(),
            size: self.size,
            sha256: match std::mem::replace(&mut self.hasher, Digesting::Known(String::new())) {
                Digesting::Known(known) => known,
                Digesting::Computing(hasher) => hex(&hasher.finalize()),
            },
            chunking: chunking.name(),
            leaves: std::mem::take(&mut self.leaves),
        };
        self.backup.stats.bytes += self.size;
        self.backup.files.push(record);
        Ok(())
    }
}

impl Write for FileWriter<'_, '_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Digesting::Computing(hasher) = &mut self.hasher {
            hasher.update(data);
        }
        self.written += data.len() as u64;
        let FileWriter {
            backup,
            chunker,
            leaf,
            leaves,
            ..
        } = self;
        chunker
            .push(data, &mut |raw: &[u8]| {
                Self::chunk(backup, leaf, leaves, raw)
            })
            .map_err(io::Error::other)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DirStore;

    struct Fixture {
        _dir: tempfile::TempDir,
        root: PathBuf,
        store: Arc<dyn Store>,
        identity: Arc<age::x25519::Identity>,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let store: Arc<dyn Store> = Arc::new(DirStore::new(&root.join("bucket")).unwrap());
        assert!(init(store.as_ref()).unwrap());
        assert!(
            !init(store.as_ref()).unwrap(),
            "a second init finds the first"
        );
        Fixture {
            _dir: dir,
            root,
            store,
            identity: Arc::new(age::x25519::Identity::generate()),
        }
    }

    impl Fixture {
        fn open(&self, readable: bool, cache: &str) -> Repository {
            let keys = Keys {
                recipient: self.identity.to_public(),
                identity: readable.then(|| Arc::clone(&self.identity)),
            };
            let options = Options {
                parallel: 3,
                pack_size: 64 << 10,
            };
            Repository::open(
                Arc::clone(&self.store),
                keys,
                &self.root.join(cache),
                options,
            )
            .unwrap()
        }
    }

    /// A file shaped like a SQLite database: the header, then 4 KiB pages of noise.
    fn database(pages: usize, seed: u64) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut db: Vec<u8> = (0..pages * 4096).map(|_| rng.u8(..)).collect();
        db[..16].copy_from_slice(b"SQLite format 3\0");
        db[16..18].copy_from_slice(&4096u16.to_be_bytes());
        db
    }

    fn back_up(repo: &mut Repository, name: &str, files: &[(&str, &[u8])]) -> Snapshot {
        let mut backup = repo.backup();
        for (path, content) in files {
            let mut writer = backup.file(path, content.len() as u64);
            for piece in content.chunks(10_000) {
                writer.write_all(piece).unwrap();
            }
            writer.finish().unwrap();
        }
        backup
            .finish(name, "test-host", serde_json::json!({"note": name}))
            .unwrap()
    }

    #[test]
    fn a_backup_restores_and_the_next_one_stores_only_the_changed_pages() {
        let f = fixture();
        let mut repo = f.open(true, "cache");
        let mut db = database(300, 1);
        let blob: Vec<u8> = database(200, 2)[4096..].to_vec();
        let first = back_up(
            &mut repo,
            "one",
            &[("webui.db", &db), ("dump.rdb", &blob), ("small", b"hi")],
        );
        assert_eq!(first.files[0].chunking, "sqlite-pages-4096");
        assert_eq!(first.files[1].chunking, "fastcdc-2020-64k");
        assert_eq!(first.files[2].chunking, "whole");
        for page in [3usize, 150, 151, 299] {
            db[page * 4096 + 100] ^= 0xff;
        }
        // A database whose pages repeat, and repeat pages of another file: its chunks are not one run.
        let mut repeats = db[..4096 * 40].to_vec();
        for _ in 0..30 {
            repeats.extend_from_slice(&db[4096..4096 * 2]);
        }
        // Pages 41 and 42 lie one after the other in the first pack but not in this file.
        for page in [41, 150, 42] {
            repeats.extend_from_slice(&db[page * 4096..(page + 1) * 4096]);
        }
        let second = back_up(
            &mut repo,
            "two",
            &[
                ("webui.db", &db),
                ("dump.rdb", &blob),
                ("small", b"hi"),
                ("repeats.db", &repeats),
            ],
        );
        assert_eq!(second.stats.new_chunks, 4, "{:?}", second.stats);
        assert_eq!(second.stats.new_bytes, 4 * 4096);

        let mut fresh = f.open(true, "other-cache");
        let snapshot = fresh.snapshot("two").unwrap();
        assert_eq!(snapshot.meta["note"], "two");
        let out = f.root.join("out");
        std::fs::create_dir(&out).unwrap();
        let paths = fresh.restore(&snapshot, &[0, 2, 3], &out, &|_| {}).unwrap();
        assert_eq!(std::fs::read(&paths[0]).unwrap(), db);
        assert_eq!(std::fs::read(&paths[1]).unwrap(), b"hi");
        assert_eq!(std::fs::read(&paths[2]).unwrap(), repeats);
        assert_eq!(fresh.snapshots().unwrap(), ["one", "two"]);
    }

    #[test]
    fn a_write_only_host_backs_up_but_cannot_read_and_a_wrong_identity_is_named() {
        let f = fixture();
        let mut writer = f.open(false, "writer");
        back_up(&mut writer, "one", &[("a.db", &database(100, 3))]);
        assert!(matches!(
            writer.snapshot("one"),
            Err(RepoError::NoIdentity { .. })
        ));
        let report = writer.verify(false, 5).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);

        let stranger = Keys {
            recipient: f.identity.to_public(),
            identity: Some(Arc::new(age::x25519::Identity::generate())),
        };
        let repo = Repository::open(
            Arc::clone(&f.store),
            stranger,
            &f.root.join("s"),
            Options::default(),
        )
        .unwrap();
        assert!(matches!(
            repo.snapshot("one"),
            Err(RepoError::WrongKey { .. })
        ));
    }

    #[test]
    fn a_killed_backup_leaves_no_snapshot_and_the_next_reuses_its_packs() {
        let f = fixture();
        let db = database(400, 4);
        {
            let mut repo = f.open(true, "cache");
            let mut backup = repo.backup();
            let mut writer = backup.file("a.db", db.len() as u64);
            writer.write_all(&db).unwrap();
            // Dropped without finish, as a killed process would leave it (minus what was in flight).
        }
        let mut repo = f.open(true, "cache");
        assert!(repo.snapshots().unwrap().is_empty(), "nothing half-listed");
        let snapshot = back_up(&mut repo, "one", &[("a.db", &db)]);
        assert!(
            snapshot.stats.new_chunks < 40,
            "most pages were stored before the kill: {:?}",
            snapshot.stats
        );
        let report = repo.verify(true, 0).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        // A host with no cache knows only what the bucket's index names: the killed backup's packs too.
        let report = f.open(true, "fresh cache").verify(true, 0).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.unindexed_packs, 0);
    }

    #[test]
    fn a_large_backup_writes_an_index_object_every_so_many_packs_and_names_each_pack_once() {
        let f = fixture();
        let db = database(INDEX_PACKS * 16 * 5 / 2, 8);
        let mut repo = f.open(true, "cache");
        let snapshot = back_up(&mut repo, "big", &[("big.db", &db)]);
        let indexes = f.store.list("index/").unwrap();
        assert!(indexes.len() >= 3, "{} index objects", indexes.len());
        let named: usize = indexes
            .iter()
            .map(|object| {
                let bytes = f.store.get(&object.key).unwrap().unwrap();
                let doc: IndexDoc = crypt::open_json(&bytes, &f.identity, &object.key).unwrap();
                doc.packs.len()
            })
            .sum();
        assert_eq!(named as u64, snapshot.stats.packs);
        assert_eq!(named, f.store.list("data/").unwrap().len());
        let report = f.open(true, "fresh cache").verify(true, 0).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn verify_names_a_flipped_byte_and_restore_stops_there() {
        let f = fixture();
        let mut repo = f.open(true, "cache");
        let db = database(50, 5);
        let snapshot = back_up(&mut repo, "one", &[("a.db", &db)]);
        let packs = f.store.list("data/").unwrap();
        // The largest pack holds the data (the other, the chunk list).
        let victim = &packs.iter().max_by_key(|l| l.size).unwrap().key;
        let mut bytes = f.store.get(victim).unwrap().unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        f.store.put(victim, &bytes, false).unwrap();
        let report = repo.verify(true, 0).unwrap();
        assert!(
            report.problems.iter().any(|p| p.contains(victim.as_str())),
            "{:?}",
            report.problems
        );
        let out = f.root.join("out");
        std::fs::create_dir(&out).unwrap();
        let err = repo.restore(&snapshot, &[0], &out, &|_| {}).unwrap_err();
        assert!(matches!(err, RepoError::Damaged { .. }), "{err}");
        assert!(
            err.to_string().contains("snapshot one needs it for ")
                && err.to_string().contains("a.db"),
            "{err}"
        );
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.starts_with("snapshot one, a.db: ")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn prune_deletes_what_only_forgotten_snapshots_needed() {
        let f = fixture();
        let mut repo = f.open(true, "cache");
        back_up(&mut repo, "one", &[("a.db", &database(100, 6))]);
        let kept = database(100, 7);
        back_up(&mut repo, "two", &[("a.db", &kept)]);
        let before: u64 = f.store.list("data/").unwrap().iter().map(|l| l.size).sum();
        repo.forget(&["one".to_owned()]).unwrap();
        let dry = repo.prune(Duration::ZERO, 1.0, &[], true).unwrap();
        assert_eq!(
            f.store
                .list("data/")
                .unwrap()
                .iter()
                .map(|l| l.size)
                .sum::<u64>(),
            before
        );
        let report = repo.prune(Duration::ZERO, 1.0, &[], false).unwrap();
        assert_eq!(report.deleted_packs, dry.deleted_packs);
        assert!(report.deleted_bytes > before / 3, "{report:?}");
        assert_eq!(
            f.store.list("index/").unwrap().len(),
            1,
            "one consolidated index"
        );
        let mut other = f.open(true, "other");
        let snapshot = other.snapshot("two").unwrap();
        let out = f.root.join("out");
        std::fs::create_dir(&out).unwrap();
        let paths = other.restore(&snapshot, &[0], &out, &|_| {}).unwrap();
        assert_eq!(std::fs::read(&paths[0]).unwrap(), kept);
        let report = other.verify(true, 0).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn prune_repacks_the_packs_mostly_superseded_and_keeps_every_used_page() {
        let f = fixture();
        let mut repo = f.open(true, "cache");
        let first = database(200, 11);
        back_up(&mut repo, "one", &[("a.db", &first)]);
        let first_packs = f.store.list("data/").unwrap();
        // Seven pages in ten change: each of the first backup's packs keeps three tenths in use.
        let fresh = database(200, 12);
        let mut second = first.clone();
        for page in (1..200).filter(|page| page % 10 < 7) {
            let range = page * 4096..(page + 1) * 4096;
            second[range.clone()].copy_from_slice(&fresh[range]);
        }
        back_up(&mut repo, "two", &[("a.db", &second)]);
        repo.forget(&["one".to_owned()]).unwrap();
        let bucket = || -> u64 { f.store.list("data/").unwrap().iter().map(|l| l.size).sum() };
        let before = bucket();

        let never = repo.prune(Duration::ZERO, 1.0, &[], true).unwrap();
        assert_eq!(never.repacked_packs, 0);
        assert!(never.partly_used_packs > 0, "{never:?}");
        let dry = repo.prune(Duration::ZERO, 0.5, &[], true).unwrap();
        assert!(dry.repacked_packs > 0, "{dry:?}");
        assert_eq!(bucket(), before, "a dry run writes nothing");

        // A pack to be repacked that does not read back stops the prune before it deletes anything.
        let victim = &first_packs.iter().max_by_key(|l| l.size).unwrap().key;
        let good = f.store.get(victim).unwrap().unwrap();
        let mut bad = good.clone();
        bad[good.len() / 2] ^= 1;
        f.store.put(victim, &bad, false).unwrap();
        let indexes = f.store.list("index/").unwrap();
        let err = repo.prune(Duration::ZERO, 0.5, &[], false).unwrap_err();
        assert!(
            matches!(&err, RepoError::Damaged { key, .. } if key == victim),
            "{err}"
        );
        assert_eq!(f.store.list("index/").unwrap(), indexes);
        let left: HashSet<String> = f
            .store
            .list("data/")
            .unwrap()
            .into_iter()
            .map(|l| l.key)
            .collect();
        assert!(first_packs.iter().all(|l| left.contains(&l.key)));
        f.store.put(victim, &good, false).unwrap();

        let report = repo.prune(Duration::ZERO, 0.5, &[], false).unwrap();
        assert_eq!(report.repacked_packs, dry.repacked_packs);
        assert!(report.written_packs > 0, "{report:?}");
        assert!(
            bucket() < before - before / 5,
            "{} of {before} bytes left: {report:?}",
            bucket()
        );
        let mut other = f.open(true, "other");
        let snapshot = other.snapshot("two").unwrap();
        let out = f.root.join("out");
        std::fs::create_dir(&out).unwrap();
        let paths = other.restore(&snapshot, &[0], &out, &|_| {}).unwrap();
        assert_eq!(std::fs::read(&paths[0]).unwrap(), second);
        let verified = other.verify(true, 0).unwrap();
        assert!(verified.problems.is_empty(), "{:?}", verified.problems);
        assert_eq!(verified.unindexed_packs, 0);
        let again = other.prune(Duration::ZERO, 0.5, &[], false).unwrap();
        assert_eq!(again.repacked_packs, 0, "repacked packs are wholly used");
    }

    #[test]
    fn a_prune_during_a_backup_fails_the_backup_rather_than_lose_a_chunk() {
        let f = fixture();
        let mut repo = f.open(true, "cache");
        let db = database(40, 8);
        back_up(&mut repo, "one", &[("a.db", &db)]);
        let mut backup = repo.backup();
        let mut writer = backup.file("a.db", db.len() as u64);
        writer.write_all(&db).unwrap();
        writer.finish().unwrap();
        f.store.put("epoch", b"pruned", false).unwrap();
        let err = backup
            .finish("two", "h", serde_json::Value::Null)
            .unwrap_err();
        assert!(err.to_string().contains("prune ran"), "{err}");
        assert_eq!(f.store.get("snapshots/two").unwrap(), None);
    }
}

//! The index: which pack holds each blob, and where in it. Stored as `index/ID` objects (sealed JSON, one
//! per 64 packs a backup adds and one at its end, merged into one by a prune) and mirrored in a local SQLite cache, which
//! is also the journal of a backup: a pack is recorded the moment its upload succeeds, so a backup killed
//! halfway loses at most the packs in flight, and the next backup puts the recorded ones in its index.

use std::cell::Cell;
use std::path::Path;

use magi_core::store::rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::RepoError;
use crate::pack::{Blob, Kind};
use magi_core::format::hex;

/// The index format this build writes and reads.
pub const FORMAT: u32 = 1;

/// One index object, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IndexDoc {
    pub format: u32,
    pub packs: Vec<PackEntry>,
}

/// One pack of an index as read: its stored size and MD5 (what a bucket listing shows), and its blobs as
/// `[id, kind, offset, length]`, placing each in the pack's decompressed plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PackEntry {
    pub id: String,
    pub size: u64,
    pub md5: String,
    pub blobs: Vec<(String, Kind, u64, u32)>,
}

impl PackEntry {
    /// The pack as a record, checked: IDs must be SHA-256 hex digests, as the pack's own ID.
    pub fn record(&self, key: &str) -> Result<PackRecord, RepoError> {
        if !is_digest(&self.id) {
            return Err(RepoError::damaged(
                key,
                "names a pack whose ID is not a SHA-256",
            ));
        }
        let blobs = self
            .blobs
            .iter()
            .map(|(id, kind, raw_offset, raw_length)| {
                Ok(Blob {
                    id: digest(id).ok_or_else(|| {
                        RepoError::damaged(key, "names a blob whose ID is not a SHA-256")
                    })?,
                    kind: *kind,
                    raw_offset: *raw_offset,
                    raw_length: *raw_length,
                })
            })
            .collect::<Result<_, RepoError>>()?;
        Ok(PackRecord {
            id: self.id.clone(),
            size: self.size,
            md5: self.md5.clone(),
            blobs,
        })
    }
}

/// A pack as this host holds it: an index entry whose blob IDs are bytes, 48 bytes a blob where the
/// entry's hex takes three times that. Serialized, it is a [`PackEntry`]; the hex is written then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackRecord {
    pub id: String,
    pub size: u64,
    pub md5: String,
    pub blobs: Vec<Blob>,
}

impl Serialize for PackRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};
        struct Rows<'a>(&'a [Blob]);
        impl Serialize for Rows<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut rows = serializer.serialize_seq(Some(self.0.len()))?;
                for blob in self.0 {
                    rows.serialize_element(&(
                        hex(&blob.id),
                        blob.kind,
                        blob.raw_offset,
                        blob.raw_length,
                    ))?;
                }
                rows.end()
            }
        }
        let mut entry = serializer.serialize_struct("PackEntry", 4)?;
        entry.serialize_field("id", &self.id)?;
        entry.serialize_field("size", &self.size)?;
        entry.serialize_field("md5", &self.md5)?;
        entry.serialize_field("blobs", &Rows(&self.blobs))?;
        entry.end()
    }
}

/// The sealed index object naming `packs`: an [`IndexDoc`]'s JSON.
pub fn seal(packs: &[&PackRecord], recipient: &age::x25519::Recipient) -> Vec<u8> {
    #[derive(Serialize)]
    struct Borrowed<'a> {
        format: u32,
        packs: &'a [&'a PackRecord],
    }
    crate::crypt::seal_json(
        &Borrowed {
            format: FORMAT,
            packs,
        },
        recipient,
    )
}

/// Whether `text` is a lowercase hex SHA-256.
pub fn is_digest(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A hex SHA-256 as bytes.
pub fn digest(text: &str) -> Option<[u8; 32]> {
    if !is_digest(text) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

const MIGRATIONS: &[&str] = &["
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE packs (id TEXT PRIMARY KEY, size INTEGER NOT NULL, md5 TEXT NOT NULL,
                        indexed INTEGER NOT NULL);
    CREATE TABLE blobs (id BLOB PRIMARY KEY, pack TEXT NOT NULL, kind TEXT NOT NULL,
                        raw_offset INTEGER NOT NULL, raw_length INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX blobs_by_pack ON blobs (pack);
    CREATE TABLE indexes (id TEXT PRIMARY KEY);
", "
    -- A blob names its pack by a small integer, not the pack's 64-character ID: the rows a backup looks up
    -- and adds by the ten thousand are then half as wide. The cache is rebuilt from the bucket's index
    -- (forgetting the epoch makes the next open do it).
    DROP TABLE blobs;
    DROP TABLE packs;
    DELETE FROM indexes;
    DELETE FROM meta WHERE key = 'epoch';
    CREATE TABLE packs (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
                        md5 TEXT NOT NULL, indexed INTEGER NOT NULL);
    CREATE TABLE blobs (id BLOB PRIMARY KEY, pack INTEGER NOT NULL, kind TEXT NOT NULL,
                        raw_offset INTEGER NOT NULL, raw_length INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX blobs_by_pack ON blobs (pack);
"];

/// The local cache of a repository's index.
///
/// Lookups share one read transaction until the next write: a backup asks about every chunk, tens of
/// thousands of times, and a transaction per question spends more on file locks than on the question.
pub struct Cache {
    conn: Connection,
    reading: Cell<bool>,
}

fn kind_text(kind: Kind) -> &'static str {
    match kind {
        Kind::Data => "d",
        Kind::Tree => "t",
    }
}

fn kind_of(text: &str) -> Kind {
    if text == "t" { Kind::Tree } else { Kind::Data }
}

/// A blob from a row of `id, kind, raw_offset, raw_length`.
fn blob_row(r: &magi_core::store::rusqlite::Row<'_>) -> magi_core::store::rusqlite::Result<Blob> {
    let id: Vec<u8> = r.get(0)?;
    let kind: String = r.get(1)?;
    Ok(Blob {
        id: id.as_slice().try_into().unwrap_or([0; 32]),
        kind: kind_of(&kind),
        raw_offset: r.get::<_, i64>(2)? as u64,
        raw_length: r.get(3)?,
    })
}

impl Cache {
    pub fn open(path: &Path) -> Result<Cache, RepoError> {
        let conn = magi_core::store::open(path, MIGRATIONS)?;
        Ok(Cache {
            conn,
            reading: Cell::new(false),
        })
    }

    /// Opens the shared read transaction, unless it is open.
    fn read(&self) -> Result<(), RepoError> {
        if !self.reading.get() {
            self.conn.execute_batch("BEGIN")?;
            self.reading.set(true);
        }
        Ok(())
    }

    /// Ends the shared read transaction before a write.
    fn write(&mut self) -> Result<(), RepoError> {
        if self.reading.replace(false) {
            self.conn.execute_batch("COMMIT")?;
        }
        Ok(())
    }

    /// The repository epoch this cache was built against.
    pub fn epoch(&self) -> Result<Option<String>, RepoError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Forgets everything, for a repository whose epoch changed (a prune ran somewhere).
    pub fn reset(&mut self, epoch: &str) -> Result<(), RepoError> {
        self.write()?;
        let tx = self.conn.transaction()?;
        tx.execute_batch("DELETE FROM blobs; DELETE FROM packs; DELETE FROM indexes;")?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('epoch', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [epoch],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whether a blob is stored.
    pub fn knows(&self, id: &[u8; 32]) -> Result<bool, RepoError> {
        self.read()?;
        let mut statement = self
            .conn
            .prepare_cached("SELECT 1 FROM blobs WHERE id = ?1")?;
        Ok(statement.exists([&id[..]])?)
    }

    /// Where a blob is: its pack and place.
    pub fn locate(&self, id: &[u8; 32]) -> Result<Option<(String, Blob)>, RepoError> {
        self.read()?;
        // Two lookups by key rather than a join: a profile of a restore showed the join prepared again
        // for every binding (most of its time in sqlite3Reprepare), 10 µs a lookup against 1.4 µs.
        let mut blob = self.conn.prepare_cached(
            "SELECT id, kind, raw_offset, raw_length, pack FROM blobs WHERE id = ?1",
        )?;
        let Some((found, pack)) = blob
            .query_row([&id[..]], |r| Ok((blob_row(r)?, r.get::<_, i64>(4)?)))
            .optional()?
        else {
            return Ok(None);
        };
        let mut pack_id = self
            .conn
            .prepare_cached("SELECT id FROM packs WHERE n = ?1")?;
        Ok(Some((pack_id.query_row([pack], |r| r.get(0))?, found)))
    }

    /// Records a pack and its blobs; `indexed` when an index object already names it.
    pub fn add(&mut self, pack: &PackRecord, indexed: bool) -> Result<(), RepoError> {
        self.write()?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO packs (id, size, md5, indexed) VALUES (?1, ?2, ?3, ?4)",
            params![pack.id, pack.size as i64, pack.md5, indexed],
        )?;
        {
            let n: i64 = tx.query_row("SELECT n FROM packs WHERE id = ?1", [&pack.id], |r| {
                r.get(0)
            })?;
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO blobs (id, pack, kind, raw_offset, raw_length)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for blob in &pack.blobs {
                insert.execute(params![
                    &blob.id[..],
                    n,
                    kind_text(blob.kind),
                    blob.raw_offset as i64,
                    blob.raw_length
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The packs stored but named by no index object yet, those `wanted` with their blobs.
    pub fn unindexed(&self, wanted: impl Fn(&str) -> bool) -> Result<Vec<PackRecord>, RepoError> {
        let mut packs = self
            .conn
            .prepare("SELECT id, size, md5 FROM packs WHERE indexed = 0 ORDER BY id")?;
        let rows: Vec<(String, i64, String)> = packs
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .filter(|(id, _, _)| wanted(id))
            .map(|(id, size, md5)| {
                let blobs = self.blobs_of(&id)?;
                Ok(PackRecord {
                    id,
                    size: size as u64,
                    md5,
                    blobs,
                })
            })
            .collect()
    }

    /// Marks packs as named by the index object `index`.
    pub fn indexed(&mut self, index: &str, packs: &[String]) -> Result<(), RepoError> {
        self.write()?;
        let tx = self.conn.transaction()?;
        for pack in packs {
            tx.execute("UPDATE packs SET indexed = 1 WHERE id = ?1", [pack])?;
        }
        tx.execute("INSERT OR IGNORE INTO indexes (id) VALUES (?1)", [index])?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the index object `id` is already in the cache.
    pub fn has_index(&self, id: &str) -> Result<bool, RepoError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM indexes WHERE id = ?1")?
            .exists([id])?)
    }

    /// Loads the packs of the index object `id`, read from the repository.
    pub fn load(&mut self, id: &str, packs: &[PackRecord]) -> Result<(), RepoError> {
        for pack in packs {
            self.add(pack, true)?;
        }
        self.write()?;
        self.conn
            .execute("INSERT OR IGNORE INTO indexes (id) VALUES (?1)", [id])?;
        Ok(())
    }

    /// Every pack known, with its size and MD5.
    pub fn packs(&self) -> Result<Vec<(String, u64, String)>, RepoError> {
        let mut statement = self
            .conn
            .prepare("SELECT id, size, md5 FROM packs ORDER BY id")?;
        let rows = statement
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The blobs of one pack, in the order of their content.
    pub fn blobs_of(&self, pack: &str) -> Result<Vec<Blob>, RepoError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, kind, raw_offset, raw_length FROM blobs
             WHERE pack = (SELECT n FROM packs WHERE id = ?1) ORDER BY raw_offset",
        )?;
        let rows = statement
            .query_map([pack], blob_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Where a pack's decompressed plaintext ends: the bound of its decompression.
    pub fn raw_size(&self, pack: &str) -> Result<u64, RepoError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT max(raw_offset + raw_length) FROM blobs
                 WHERE pack = (SELECT n FROM packs WHERE id = ?1)",
            )?
            .query_row([pack], |r| r.get::<_, Option<i64>>(0))?
            .unwrap_or(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::PackBuilder;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_cache_journals_packs_until_an_index_names_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(&dir.path().join("cache.db")).unwrap();
        assert_eq!(cache.epoch().unwrap(), None);
        cache.reset("e1").unwrap();
        let identity = age::x25519::Identity::generate();
        let mut builder = PackBuilder::default();
        let id: [u8; 32] = Sha256::digest(b"page").into();
        builder.add(id, Kind::Data, b"page");
        let sealed = builder
            .take(crate::crypt::LEVEL)
            .seal(&identity.to_public());
        let entry = PackRecord {
            id: sealed.id.clone(),
            size: sealed.bytes.len() as u64,
            md5: hex(&sealed.md5),
            blobs: sealed.blobs.clone(),
        };
        cache.add(&entry, false).unwrap();
        assert!(cache.knows(&id).unwrap());
        assert_eq!(
            cache.unindexed(|_| true).unwrap(),
            std::slice::from_ref(&entry)
        );
        assert!(cache.unindexed(|id| id != entry.id).unwrap().is_empty());
        cache
            .indexed("idx1", std::slice::from_ref(&entry.id))
            .unwrap();
        assert!(cache.unindexed(|_| true).unwrap().is_empty());
        assert!(cache.has_index("idx1").unwrap());
        assert_eq!(cache.locate(&id).unwrap().unwrap().0, sealed.id);
        cache.reset("e2").unwrap();
        assert!(!cache.knows(&id).unwrap());
        assert_eq!(cache.epoch().unwrap().as_deref(), Some("e2"));
    }

    #[test]
    fn a_cache_of_the_first_schema_is_emptied_and_rebuilt_from_the_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.db");
        {
            let old = magi_core::store::open(&path, &MIGRATIONS[..1]).unwrap();
            old.execute_batch(
                "INSERT INTO meta VALUES ('epoch', 'e1');
                 INSERT INTO packs VALUES ('p', 1, 'm', 1);
                 INSERT INTO blobs VALUES (x'00', 'p', 'd', 0, 1);",
            )
            .unwrap();
        }
        let cache = Cache::open(&path).unwrap();
        assert_eq!(
            cache.epoch().unwrap(),
            None,
            "no epoch, so the next open resyncs"
        );
        assert!(cache.packs().unwrap().is_empty());
    }

    #[test]
    fn a_record_is_written_as_the_entry_readers_parse() {
        let record = PackRecord {
            id: "ab".repeat(32),
            size: 1234,
            md5: "cd".repeat(16),
            blobs: vec![
                Blob {
                    id: [7; 32],
                    kind: Kind::Data,
                    raw_offset: 0,
                    raw_length: 4096,
                },
                Blob {
                    id: [9; 32],
                    kind: Kind::Tree,
                    raw_offset: 4096,
                    raw_length: 576,
                },
            ],
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(
            json["blobs"][1],
            serde_json::json!(["09".repeat(32), "t", 4096, 576]),
            "{json}"
        );
        let entry: PackEntry = serde_json::from_value(json).unwrap();
        assert_eq!(entry.record("index/x").unwrap(), record);
    }

    #[test]
    fn an_index_naming_a_bad_id_is_refused() {
        let entry = PackEntry {
            id: "../../etc".into(),
            size: 1,
            md5: String::new(),
            blobs: vec![],
        };
        assert!(entry.record("index/x").is_err());
        assert_eq!(digest(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(digest("AB"), None);
    }
}

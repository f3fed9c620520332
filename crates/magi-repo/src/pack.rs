//! Packs: many blobs in one object, so a backup of a hundred thousand pages is a few dozen PUTs.
//!
//! A pack's plaintext is its blobs' contents one after another, compressed as one zstd frame (with its
//! content checksum: the blobs share one compression window, which a page-sized blob alone would not fill),
//! then sealed with age. The pack's ID is the SHA-256 of what is stored, so a changed byte is seen before
//! anything is decrypted and named by its key. Where each blob lies in the decompressed plaintext is in the
//! index, not in the pack: `age -d | zstd -d` gives the contents, and the index slices them.
//!
//! A pack is filled by the backup's reading thread ([`PackBuilder`]) and compressed, sealed and uploaded by
//! an upload worker ([`Raw::seal`]), so the two cores a small host has both work.

use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypt;
use crate::error::RepoError;
use magi_core::format::hex;

/// What a blob holds: file content, or a tree leaf (kept in packs of their own, so a prune reads the
/// trees without the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "d")]
    Data,
    #[serde(rename = "t")]
    Tree,
}

/// Where one blob lies in its pack's decompressed plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blob {
    pub id: [u8; 32],
    pub kind: Kind,
    pub raw_offset: u64,
    pub raw_length: u32,
}

impl Blob {
    pub fn end(&self) -> u64 {
        self.raw_offset + u64::from(self.raw_length)
    }
}

/// The most content a pack holds: far more than the 4 MiB (plus one chunk) a backup puts in one. An index
/// that claims more is not believed, so a crafted pack cannot make a reader expand it without bound.
pub const MAX_RAW: u64 = 64 << 20;

/// The key of a pack.
pub fn key(id: &str) -> String {
    format!("data/{}/{id}", &id[..2])
}

/// A pack being filled.
#[derive(Debug, Default)]
pub struct PackBuilder {
    raw: Vec<u8>,
    blobs: Vec<Blob>,
}

/// A filled pack, not yet compressed or sealed, and the zstd level to compress it at.
#[derive(Debug)]
pub struct Raw {
    raw: Vec<u8>,
    blobs: Vec<Blob>,
    level: i32,
}

/// A pack ready to store.
#[derive(Debug)]
pub struct Sealed {
    pub id: String,
    pub bytes: Vec<u8>,
    pub md5: [u8; 16],
    pub blobs: Vec<Blob>,
}

impl PackBuilder {
    /// Adds a blob; `raw` hashes to `id`.
    pub fn add(&mut self, id: [u8; 32], kind: Kind, raw: &[u8]) {
        self.blobs.push(Blob {
            id,
            kind,
            raw_offset: self.raw.len() as u64,
            raw_length: raw.len() as u32,
        });
        self.raw.extend_from_slice(raw);
    }

    /// Bytes of content so far.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// The pack's content, to be compressed at `level`, leaving the builder empty.
    pub fn take(&mut self, level: i32) -> Raw {
        Raw {
            raw: std::mem::take(&mut self.raw),
            blobs: std::mem::take(&mut self.blobs),
            level,
        }
    }
}

impl Raw {
    /// Compresses and seals the pack.
    pub fn seal(self, recipient: &age::x25519::Recipient) -> Sealed {
        let frame = crypt::compress(&self.raw, self.level);
        drop(self.raw);
        let bytes = crypt::seal(&frame, recipient);
        Sealed {
            id: hex(&Sha256::digest(&bytes)),
            md5: Md5::digest(&bytes).into(),
            bytes,
            blobs: self.blobs,
        }
    }
}

/// Checks a pack's stored bytes against its ID, decrypts and decompresses them; `raw_size` is where its
/// last blob ends, from the index, and bounds the decompression. Each stage's input is let go before the
/// next, so a restore's workers hold two copies of a pack at a time, not three.
pub fn open(
    bytes: Vec<u8>,
    id: &str,
    raw_size: u64,
    identity: &age::x25519::Identity,
) -> Result<Vec<u8>, RepoError> {
    let key = key(id);
    if raw_size > MAX_RAW {
        return Err(RepoError::damaged(
            &key,
            format!("the index says it holds {raw_size} bytes, more than any pack does"),
        ));
    }
    if hex(&Sha256::digest(&bytes)) != id {
        return Err(RepoError::damaged(
            &key,
            "its bytes do not match its SHA-256 (damaged or changed in the bucket)",
        ));
    }
    let frame = crypt::open(&bytes, identity, &key)?;
    drop(bytes);
    crypt::decompress(&frame, raw_size, &key)
}

/// A blob's content from its pack's decompressed plaintext, checked against its ID.
pub fn blob<'a>(raw: &'a [u8], blob: &Blob, pack: &str) -> Result<&'a [u8], RepoError> {
    let content = usize::try_from(blob.raw_offset)
        .ok()
        .and_then(|start| raw.get(start..start.checked_add(blob.raw_length as usize)?))
        .ok_or_else(|| RepoError::damaged(&key(pack), "a blob lies beyond the end of its pack"))?;
    if Sha256::digest(content).as_slice() != blob.id {
        return Err(RepoError::damaged(
            &key(pack),
            format!("blob {} does not match its SHA-256", hex(&blob.id)),
        ));
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_come_back_from_their_pack_and_a_changed_byte_is_caught() {
        let identity = age::x25519::Identity::generate();
        let mut builder = PackBuilder::default();
        let contents: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 1000 + usize::from(i)]).collect();
        for c in &contents {
            builder.add(Sha256::digest(c).into(), Kind::Data, c);
        }
        let sealed = builder.take(crypt::LEVEL).seal(&identity.to_public());
        assert!(builder.is_empty());
        let size = sealed.blobs.last().unwrap().end();
        let raw = open(sealed.bytes.clone(), &sealed.id, size, &identity).unwrap();
        assert_eq!(
            raw,
            contents.concat(),
            "the plaintext is the blobs in order"
        );
        for (b, c) in sealed.blobs.iter().zip(&contents) {
            assert_eq!(blob(&raw, b, &sealed.id).unwrap(), c.as_slice());
        }
        assert!(
            open(sealed.bytes.clone(), &sealed.id, size - 1, &identity).is_err(),
            "decompression is bounded by the index"
        );
        assert!(
            open(sealed.bytes.clone(), &sealed.id, MAX_RAW + 1, &identity).is_err(),
            "and the index by what a pack can hold"
        );
        let mut bad = sealed.bytes.clone();
        bad[100] ^= 0x40;
        assert!(matches!(
            open(bad, &sealed.id, size, &identity),
            Err(RepoError::Damaged { .. })
        ));
        let mut lying = sealed.blobs[0];
        lying.id = [0; 32];
        assert!(blob(&raw, &lying, &sealed.id).is_err());
        lying.raw_offset = u64::MAX;
        assert!(blob(&raw, &lying, &sealed.id).is_err());
    }
}

//! Packs: many blobs in one object, so a backup of a hundred thousand pages is a few dozen PUTs.
//!
//! A pack's plaintext is its blobs one after another, each its own zstd frame with a content checksum;
//! decompressed as one stream (`zstd -d`) they give the blobs' contents one after another, which is what
//! the recovery script relies on. The plaintext is sealed with age, and the pack's ID is the SHA-256 of
//! what is stored, so a changed byte is seen before anything is decrypted and named by its key.
//! Where each blob lies is recorded in the index, not in the pack.

use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypt;
use crate::error::RepoError;
use crate::s3::hex;

/// What a blob holds: file content, or a tree leaf (kept in packs of their own, so a prune reads the
/// trees without the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "d")]
    Data,
    #[serde(rename = "t")]
    Tree,
}

/// Where one blob lies in its pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blob {
    pub id: [u8; 32],
    pub kind: Kind,
    /// Its zstd frame in the pack's plaintext.
    pub offset: u32,
    pub length: u32,
    /// Its content in the decompressed plaintext.
    pub raw_offset: u64,
    pub raw_length: u32,
}

/// The key of a pack.
pub fn key(id: &str) -> String {
    format!("data/{}/{id}", &id[..2])
}

/// A pack being filled.
#[derive(Debug, Default)]
pub struct PackBuilder {
    plain: Vec<u8>,
    raw: u64,
    blobs: Vec<Blob>,
}

/// A pack ready to store.
#[derive(Debug)]
pub struct Sealed {
    pub id: String,
    pub bytes: Vec<u8>,
    pub md5: String,
    pub blobs: Vec<Blob>,
}

impl PackBuilder {
    /// Adds a blob; `raw` hashes to `id`.
    pub fn add(&mut self, id: [u8; 32], kind: Kind, raw: &[u8]) {
        let frame = crypt::compress(raw);
        self.blobs.push(Blob {
            id,
            kind,
            offset: self.plain.len() as u32,
            length: frame.len() as u32,
            raw_offset: self.raw,
            raw_length: raw.len() as u32,
        });
        self.plain.extend_from_slice(&frame);
        self.raw += raw.len() as u64;
    }

    /// Bytes of plaintext so far.
    pub fn len(&self) -> usize {
        self.plain.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Seals the pack and starts an empty one.
    pub fn seal(&mut self, recipient: &age::x25519::Recipient) -> Sealed {
        let plain = std::mem::take(&mut self.plain);
        let blobs = std::mem::take(&mut self.blobs);
        self.raw = 0;
        let bytes = crypt::seal(&plain, recipient);
        Sealed {
            id: hex(&Sha256::digest(&bytes)),
            md5: hex(&Md5::digest(&bytes)),
            bytes,
            blobs,
        }
    }
}

/// Checks a pack's stored bytes against its ID and decrypts them.
pub fn open(
    bytes: &[u8],
    id: &str,
    identity: &age::x25519::Identity,
) -> Result<Vec<u8>, RepoError> {
    let key = key(id);
    if hex(&Sha256::digest(bytes)) != id {
        return Err(RepoError::damaged(
            &key,
            "its bytes do not match its SHA-256 (damaged or changed in the bucket)",
        ));
    }
    crypt::open(bytes, identity, &key)
}

/// A blob's content from its pack's plaintext, checked against its ID.
pub fn blob(plain: &[u8], blob: &Blob, pack: &str) -> Result<Vec<u8>, RepoError> {
    let key = key(pack);
    let start = blob.offset as usize;
    let frame = start
        .checked_add(blob.length as usize)
        .and_then(|end| plain.get(start..end))
        .ok_or_else(|| RepoError::damaged(&key, "a blob lies beyond the end of its pack"))?;
    let raw = crypt::decompress(frame, u64::from(blob.raw_length), &key)?;
    if raw.len() != blob.raw_length as usize || Sha256::digest(&raw).as_slice() != blob.id {
        return Err(RepoError::damaged(
            &key,
            format!("blob {} does not match its SHA-256", hex(&blob.id)),
        ));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_come_back_from_their_pack_and_the_plaintext_decompresses_to_them_in_order() {
        let identity = age::x25519::Identity::generate();
        let mut builder = PackBuilder::default();
        let contents: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 1000 + usize::from(i)]).collect();
        for c in &contents {
            builder.add(Sha256::digest(c).into(), Kind::Data, c);
        }
        let sealed = builder.seal(&identity.to_public());
        assert!(builder.is_empty());
        let plain = open(&sealed.bytes, &sealed.id, &identity).unwrap();
        for (b, c) in sealed.blobs.iter().zip(&contents) {
            assert_eq!(&blob(&plain, b, &sealed.id).unwrap(), c);
        }
        let whole = crypt::decompress(&plain, 1 << 20, "k").unwrap();
        assert_eq!(
            whole,
            contents.concat(),
            "one zstd stream of frames is the blobs in order"
        );
        let mut bad = sealed.bytes.clone();
        bad[100] ^= 0x40;
        assert!(matches!(
            open(&bad, &sealed.id, &identity),
            Err(RepoError::Damaged { .. })
        ));
        let mut lying = sealed.blobs[0];
        lying.id = [0; 32];
        assert!(blob(&plain, &lying, &sealed.id).is_err());
        lying.offset = u32::MAX;
        assert!(blob(&plain, &lying, &sealed.id).is_err());
    }
}

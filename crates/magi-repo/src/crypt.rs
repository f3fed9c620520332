//! Sealing and opening what the repository stores: zstd for size, then age (X25519) for secrecy and
//! integrity. A host with only the recipient can seal; opening needs the identity.
//!
//! Every expansion is bounded: a decompressed metadata object larger than [`MAX_PLAIN`] is refused, so a
//! crafted object cannot exhaust memory.

use std::io::{Read, Write};

use crate::error::RepoError;

/// zstd's default level: fast, and what the local archives use.
pub const LEVEL: i32 = 3;
/// For the few packs of a backup that finds most of its content already stored: slower per byte, and
/// about 5 % smaller on the pages and records a day changes.
pub const THOROUGH: i32 = 9;
/// The largest plaintext of one metadata object or pack.
pub const MAX_PLAIN: u64 = 1 << 30;

/// Encrypts `plain` to `recipient`.
pub fn seal(plain: &[u8], recipient: &age::x25519::Recipient) -> Vec<u8> {
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .expect("one recipient is enough");
    let mut out = Vec::with_capacity(plain.len() + 256);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .expect("writing to memory cannot fail");
    writer
        .write_all(plain)
        .expect("writing to memory cannot fail");
    writer.finish().expect("writing to memory cannot fail");
    out
}

/// Decrypts an object read from `key`.
pub fn open(
    sealed: &[u8],
    identity: &age::x25519::Identity,
    key: &str,
) -> Result<Vec<u8>, RepoError> {
    let failed = |e: age::DecryptError| match e {
        age::DecryptError::NoMatchingKeys => RepoError::WrongKey {
            key: key.to_owned(),
            message: e.to_string(),
        },
        other => RepoError::damaged(
            key,
            format!("does not decrypt: {other} (damaged or changed)"),
        ),
    };
    let decryptor = age::Decryptor::new(sealed).map_err(failed)?;
    let mut reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .map_err(failed)?;
    let mut plain = Vec::with_capacity(sealed.len());
    (&mut reader)
        .take(MAX_PLAIN + 1)
        .read_to_end(&mut plain)
        .map_err(|e| {
            RepoError::damaged(key, format!("does not decrypt: {e} (damaged or changed)"))
        })?;
    if plain.len() as u64 > MAX_PLAIN {
        return Err(RepoError::damaged(
            key,
            "decrypts to more than any object holds",
        ));
    }
    Ok(plain)
}

/// One zstd frame of `raw`, with its content checksum. Compressed in one call rather than streamed: the
/// whole input is at hand, and zstd then matches within it directly instead of through a window copy.
pub fn compress(raw: &[u8], level: i32) -> Vec<u8> {
    let mut compressor = zstd::bulk::Compressor::new(level).expect("a zstd context in memory");
    compressor
        .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
        .expect("a zstd parameter");
    compressor
        .compress(raw)
        .expect("compressing to memory cannot fail")
}

/// Decompresses `frame` into at most `limit` bytes.
pub fn decompress(frame: &[u8], limit: u64, key: &str) -> Result<Vec<u8>, RepoError> {
    let mut out = Vec::new();
    let decoder = zstd::stream::read::Decoder::new(frame)
        .map_err(|e| RepoError::damaged(key, format!("does not decompress: {e}")))?;
    decoder
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| RepoError::damaged(key, format!("does not decompress: {e}")))?;
    if out.len() as u64 > limit {
        return Err(RepoError::damaged(
            key,
            format!("decompresses to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

/// A metadata object: JSON, compressed, sealed.
pub fn seal_json<T: serde::Serialize>(value: &T, recipient: &age::x25519::Recipient) -> Vec<u8> {
    let json = serde_json::to_vec(value).expect("metadata always serializes");
    seal(&compress(&json, LEVEL), recipient)
}

/// Reads a metadata object back.
pub fn open_json<T: serde::de::DeserializeOwned>(
    sealed: &[u8],
    identity: &age::x25519::Identity,
    key: &str,
) -> Result<T, RepoError> {
    let frame = open(sealed, identity, key)?;
    let json = decompress(&frame, MAX_PLAIN, key)?;
    serde_json::from_slice(&json)
        .map_err(|e| RepoError::damaged(key, format!("is not readable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_objects_open_only_with_the_identity_and_a_flipped_byte_is_caught() {
        let identity = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let sealed = seal_json(&vec!["a", "b"], &identity.to_public());
        let back: Vec<String> = open_json(&sealed, &identity, "index/x").unwrap();
        assert_eq!(back, ["a", "b"]);
        assert!(matches!(
            open_json::<Vec<String>>(&sealed, &other, "index/x"),
            Err(RepoError::WrongKey { .. })
        ));
        for at in [sealed.len() / 2, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[at] ^= 1;
            assert!(matches!(
                open_json::<Vec<String>>(&bad, &identity, "index/x"),
                Err(RepoError::Damaged { .. })
            ));
        }
    }

    #[test]
    fn decompression_is_bounded() {
        let bomb = compress(&vec![0u8; 10 << 20], LEVEL);
        assert!(bomb.len() < 10_000);
        assert!(matches!(
            decompress(&bomb, 1 << 20, "k"),
            Err(RepoError::Damaged { .. })
        ));
        assert_eq!(decompress(&bomb, 10 << 20, "k").unwrap().len(), 10 << 20);
    }
}

//! Secrets handed out to clients — session ids, API keys, CSRF tokens — and the one-way form they are stored
//! in. A secret is 256 random bits from the OS, written as hex; the store keeps only its SHA-256, so a copy
//! of `users.db` lets no one in.

use sha2::{Digest, Sha256};

use crate::error::Error;

/// An API key starts with this, then 8 hex digits shown in listings, then the secret: `magi_ab12cd34_...`.
pub const KEY_PREFIX: &str = "magi_";
const PREFIX_HEX: usize = 8;
const SECRET_BYTES: usize = 32;

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes)
}

/// A new random secret of 256 bits, as 64 hex digits (session ids, CSRF tokens).
pub fn new_secret() -> Result<String, Error> {
    Ok(hex(&random_bytes::<SECRET_BYTES>()?))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The stored form of a secret: hex SHA-256 of its text.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether two strings are equal, in a time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new API key: the whole key (shown once) and its visible prefix (`magi_ab12cd34`).
pub fn new_key() -> Result<(String, String), Error> {
    let prefix = format!(
        "{KEY_PREFIX}{}",
        &hex(&random_bytes::<{ PREFIX_HEX / 2 }>()?)
    );
    let key = format!("{prefix}_{}", new_secret()?);
    Ok((key, prefix))
}

/// The visible prefix of a well-formed API key, or `None` for anything else.
pub fn key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hexish = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    (id.len() == PREFIX_HEX && hexish(id) && secret.len() == SECRET_BYTES * 2 && hexish(secret))
        .then(|| &key[..KEY_PREFIX.len() + PREFIX_HEX])
}

/// Whether `text` looks like a session id (64 hex digits), checked before any lookup.
pub fn is_session_id(text: &str) -> bool {
    text.len() == SECRET_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_a_visible_prefix_and_parse_back() {
        let (key, prefix) = new_key().unwrap();
        assert!(key.starts_with(&format!("{prefix}_")), "{key}");
        assert_eq!(prefix.len(), "magi_ab12cd34".len());
        assert_eq!(key_prefix(&key), Some(prefix.as_str()));
        assert_eq!(key_prefix("magi_ab12cd34_short"), None);
        assert_eq!(key_prefix(&key.replace("magi_", "magx_")), None);
        assert_ne!(new_key().unwrap().0, key);
    }

    #[test]
    fn secrets_are_256_bits_and_stored_hashed() {
        let s = new_secret().unwrap();
        assert!(is_session_id(&s));
        assert_eq!(digest(&s).len(), 64);
        assert_ne!(digest(&s), s);
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn same_compares_whole_strings() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}

//! Secrets handed out to clients — session ids, API keys, CSRF tokens — and the one-way form they are stored
//! in. A secret is 256 random bits from the OS, written as hex; the store keeps only its SHA-256, so a copy
//! of `users.db` lets no one in.

use magi_core::format::hex;
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

/// The stored form of a secret: hex SHA-256 of its text.
pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// HMAC-SHA256 (RFC 2104) of `message` under a 32-byte `key`.
pub fn hmac(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        inner_pad[i] ^= k;
        outer_pad[i] ^= k;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// A CSRF token bound to this server: 128 random bits and their HMAC under `key`, 64 hex digits in all,
/// so a token the client made up (the same in its cookie and its form) is told apart from one we issued.
pub fn new_csrf(key: &[u8; 32]) -> Result<String, Error> {
    let nonce = hex(&random_bytes::<16>()?);
    let mac = hex(&hmac(key, nonce.as_bytes())[..16]);
    Ok(nonce + &mac)
}

/// Whether `token` is a CSRF token this server issued under `key`.
pub fn is_our_csrf(key: &[u8; 32], token: &str) -> bool {
    if token.len() != 64 || !token.is_ascii() {
        return false;
    }
    let (nonce, mac) = token.split_at(32);
    same(mac, &hex(&hmac(key, nonce.as_bytes())[..16]))
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
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2 uses a 4-byte key; ours are 32 bytes, so case 1's 20-byte key, zero-padded
        // to 32 (HMAC pads short keys with zeros itself), checks the construction.
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        assert_eq!(
            hex(&hmac(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn only_tokens_we_issued_pass() {
        let key = [7u8; 32];
        let token = new_csrf(&key).unwrap();
        assert!(is_our_csrf(&key, &token));
        assert!(!is_our_csrf(&[8u8; 32], &token));
        assert!(!is_our_csrf(&key, &"a".repeat(64)));
    }

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

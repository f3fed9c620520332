//! Password hashing with argon2id at OWASP's parameters (19 MiB of memory, 2 passes, 1 lane), as PHC
//! strings. A login for a name that has no account is checked against a dummy hash, so it costs the same
//! time as a wrong password for a real one and tells an attacker nothing about which names exist.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::Error;
use crate::token::random_bytes;

/// The shortest password `add` and `reset-password` accept.
pub const MIN_LENGTH: usize = 8;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP's argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) of `password` under a fresh random salt.
pub fn hash(password: &str) -> Result<String, Error> {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| Error::Hash(e.to_string()))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `stored`; `None` checks against a dummy and is always false.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: LazyLock<String> =
        LazyLock::new(|| hash("not a password anyone has").unwrap_or_default());
    let known = stored.is_some();
    let phc = stored.unwrap_or(DUMMY.as_str());
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && known
}

/// Checks a new password before it is hashed.
pub fn check_new(password: &str) -> Result<(), Error> {
    if password.chars().count() < MIN_LENGTH {
        return Err(Error::Invalid(format!(
            "the password is too short: use at least {MIN_LENGTH} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse", Some(&phc)));
        assert!(!verify("wrong horse", Some(&phc)));
        assert!(!verify("not a password anyone has", None));
        assert_ne!(hash("correct horse").unwrap(), phc, "salts differ");
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new("short").is_err());
        assert!(check_new("long enough").is_ok());
    }
}

//! API keys as the gateway and forward-auth both see them: the one reader of `Authorization: Bearer TOKEN`
//! ([`bearer`]) and the seam through which a tool asks who holds a key ([`KeyHolders`]). magi-users owns the
//! keys (its `users.db`) and answers; a binary wires that answer into whoever asks, so no tool crate has to
//! depend on another to know who is calling.

/// Who holds an API key.
pub trait KeyHolders: Send + Sync {
    /// The holder of `token`, `None` when it is not a valid key; `Err` when the answer cannot be had.
    fn holder(&self, token: &str) -> Result<Option<KeyHolder>, String>;
}

/// The account behind an API key and the key's visible prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    pub user: String,
    pub prefix: String,
}

/// The token of an `Authorization: Bearer TOKEN` header. The scheme is case-insensitive (RFC 9110,
/// section 11.1) and may be followed by more than one space; a token with a space inside is no token.
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_tokens_are_read_whatever_the_case_of_the_scheme() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc "), Some("abc"));
        assert_eq!(bearer("BEARER magi_1_x"), Some("magi_1_x"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer a b"), None);
    }
}

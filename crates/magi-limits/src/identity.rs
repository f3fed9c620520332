//! Who is asking: the identity the gateway counts a request against, from the request's headers.
//!
//! In order: Open WebUI's forwarded user headers (`X-OpenWebUI-User-Email`, else `-Id`, else `-Name`; sent
//! when Open WebUI runs with `ENABLE_FORWARD_USER_INFO_HEADERS=true`), then the holder of a magi API key
//! (`Authorization: Bearer magi_...`, asked of [`KeyHolders`]), then `Remote-User` (set by the magi-users
//! forward-auth in front), else `anonymous`. A `magi_` key that names nobody (unknown, revoked, expired, its
//! account disabled) is refused rather than counted as anonymous. Of a key only its visible prefix is kept,
//! for the usage record and priority rules. The gateway listens on loopback and trusts these headers as it
//! trusts its callers: whatever fronts it for others must overwrite them. [`identify`] is the one place
//! identity is decided.

use hyper::HeaderMap;

use magi_usage::keys::{self, KeyHolders};
use magi_usage::policy::{Priority, PriorityRule};

/// Why a request's API key was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefusal {
    /// Not a key of anybody's (401).
    Invalid,
    /// The key store could not be read (503).
    Unavailable(String),
}

/// Who a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub key_prefix: Option<String>,
    /// A person is waiting (the request came through Open WebUI).
    pub interactive: bool,
}

impl Identity {
    /// Nobody in particular.
    pub fn anonymous() -> Identity {
        Identity {
            user: "anonymous".into(),
            key_prefix: None,
            interactive: false,
        }
    }

    /// The queue class: a rule for the user or the key prefix wins, else interactive for Open WebUI.
    pub fn priority(&self, rules: &[PriorityRule]) -> Priority {
        rules
            .iter()
            .find(|r| r.who == self.user || Some(&r.who) == self.key_prefix.as_ref())
            .map(|r| r.priority)
            .unwrap_or(if self.interactive {
                Priority::Interactive
            } else {
                Priority::Workflow
            })
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The identity of a request, from its headers, asking `keys` about a magi API key.
pub fn identify(headers: &HeaderMap, keys: &dyn KeyHolders) -> Result<Identity, KeyRefusal> {
    let holder = match header(headers, "authorization")
        .and_then(keys::bearer)
        .filter(|token| token.starts_with("magi_"))
    {
        Some(token) => match keys.holder(token) {
            Ok(Some(holder)) => Some(holder),
            Ok(None) => return Err(KeyRefusal::Invalid),
            Err(e) => return Err(KeyRefusal::Unavailable(e)),
        },
        None => None,
    };
    let key_prefix = holder.as_ref().map(|h| h.prefix.clone());
    let webui = [
        "x-openwebui-user-email",
        "x-openwebui-user-id",
        "x-openwebui-user-name",
    ]
    .iter()
    .find_map(|name| header(headers, name));
    if let Some(user) = webui {
        return Ok(Identity {
            user: user.to_owned(),
            key_prefix,
            interactive: true,
        });
    }
    let user = match holder {
        Some(holder) => holder.user,
        None => match header(headers, "remote-user") {
            Some(user) => user.to_owned(),
            None => return Ok(Identity::anonymous()),
        },
    };
    Ok(Identity {
        user,
        key_prefix,
        interactive: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use magi_usage::keys::KeyHolder;

    /// One key, `magi_0123abcd_...`, held by ann; `magi_broken...` cannot be checked.
    struct OneKey;

    impl KeyHolders for OneKey {
        fn holder(&self, token: &str) -> Result<Option<KeyHolder>, String> {
            if token.starts_with("magi_broken") {
                return Err("users.db is locked".into());
            }
            Ok((token == "magi_0123abcd_secret").then(|| KeyHolder {
                user: "ann".into(),
                prefix: "magi_0123abcd".into(),
            }))
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    fn who(pairs: &[(&'static str, &str)]) -> Identity {
        identify(&headers(pairs), &OneKey).unwrap()
    }

    #[test]
    fn open_webui_then_a_key_then_remote_user_then_anonymous() {
        let webui = who(&[
            ("x-openwebui-user-name", "Ann"),
            ("x-openwebui-user-email", "ann@example.org"),
            ("remote-user", "other"),
        ]);
        assert_eq!(webui.user, "ann@example.org");
        assert!(webui.interactive);
        assert_eq!(who(&[("x-openwebui-user-id", "u-1")]).user, "u-1");
        let keyed = who(&[
            ("authorization", "Bearer magi_0123abcd_secret"),
            ("remote-user", "bob"),
        ]);
        assert_eq!(
            (keyed.user.as_str(), keyed.key_prefix.as_deref()),
            ("ann", Some("magi_0123abcd"))
        );
        // The scheme is case-insensitive, as forward-auth reads it: the same key passes both.
        for scheme in ["bearer", "BEARER", "Bearer  "] {
            let keyed = who(&[("authorization", &format!("{scheme} magi_0123abcd_secret"))]);
            assert_eq!(keyed.user, "ann", "{scheme:?}");
        }
        let proxied = who(&[("remote-user", "bob")]);
        assert_eq!((proxied.user.as_str(), proxied.interactive), ("bob", false));
        assert_eq!(who(&[]).user, "anonymous");
        let litellm_key = who(&[("authorization", "Bearer sk-litellm-master")]);
        assert_eq!(
            (litellm_key.user.as_str(), litellm_key.key_prefix),
            ("anonymous", None)
        );
    }

    #[test]
    fn a_magi_key_of_nobody_is_refused_not_counted_as_anonymous() {
        let refused =
            |token: &str| identify(&headers(&[("authorization", token)]), &OneKey).unwrap_err();
        assert_eq!(refused("Bearer magi_0123abcd_wrong"), KeyRefusal::Invalid);
        assert!(matches!(
            refused("Bearer magi_broken"),
            KeyRefusal::Unavailable(e) if e.contains("locked")
        ));
    }

    #[test]
    fn rules_for_a_user_or_a_key_prefix_set_priority() {
        let id = who(&[("authorization", "Bearer magi_0123abcd_secret")]);
        assert_eq!(id.priority(&[]), Priority::Workflow);
        let by_key = PriorityRule {
            who: "magi_0123abcd".into(),
            priority: Priority::Interactive,
        };
        assert_eq!(id.priority(&[by_key]), Priority::Interactive);
        let by_user = PriorityRule {
            who: "ann".into(),
            priority: Priority::Interactive,
        };
        assert_eq!(id.priority(&[by_user]), Priority::Interactive);
    }
}

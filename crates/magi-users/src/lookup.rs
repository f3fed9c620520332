//! The read-only handle other tools use to learn who an API key belongs to: the magi-limits gateway calls
//! [`Lookup::identify_key`] on each request's `Authorization: Bearer` token: a lookup by the key's SHA-256
//! (unique index) and one of its account by id; it never writes, so it can share `users.db` with a running `magi-users serve`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use magi_core::store::rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use magi_usage::keys::{KeyHolder, KeyHolders};

use crate::error::Error;
use crate::store::{Principal, key_holder};
use crate::token;

/// Who an API key belongs to, as the identity headers carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The account name (`Remote-User`).
    pub user: String,
    pub email: String,
    /// The display name.
    pub name: String,
    /// The role, then the teams.
    pub groups: Vec<String>,
    /// What the key may be used for; `*` is everything the role allows.
    pub scopes: Vec<String>,
}

impl From<Principal> for Identity {
    fn from(p: Principal) -> Identity {
        Identity {
            user: p.user,
            email: p.email,
            name: p.name,
            groups: p.groups,
            scopes: p.scopes.unwrap_or_default(),
        }
    }
}

/// A read-only connection to `users.db`, safe to share between threads.
pub struct Lookup {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Lookup {
    /// Opens `users.db` read-only; it must exist (`magi-users add` creates it).
    pub fn open(path: &Path) -> Result<Lookup, Error> {
        if !path.exists() {
            return Err(Error::Missing {
                path: path.to_owned(),
            });
        }
        let failed = |source| Error::Query {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failed)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(failed)?;
        Ok(Lookup {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    /// The identity behind `bearer_token` if it is a valid API key (known, not revoked, not expired, its
    /// account enabled); `None` for anything else, including text that is not a key at all.
    pub fn identify_key(&self, bearer_token: &str) -> Result<Option<Identity>, Error> {
        if token::key_prefix(bearer_token).is_none() {
            return Ok(None);
        }
        let now = jiff::Timestamp::now().as_second();
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        key_holder(&conn, &token::digest(bearer_token), now)
            .map(|found| found.map(|(_, _, p)| Identity::from(p)))
            .map_err(|source| Error::Query {
                path: self.path.clone(),
                source,
            })
    }
}

/// The holders of API keys for the magi-limits gateway: `users.db` opened on the first key it is asked about
/// (a host where nobody ran `magi-users add` has no keys yet, and that is no error), then kept open.
pub fn gateway_keys(db: PathBuf) -> Arc<dyn KeyHolders> {
    Arc::new(GatewayKeys {
        db,
        lookup: Mutex::new(None),
    })
}

struct GatewayKeys {
    db: PathBuf,
    lookup: Mutex<Option<Arc<Lookup>>>,
}

impl KeyHolders for GatewayKeys {
    fn holder(&self, token: &str) -> Result<Option<KeyHolder>, String> {
        let lookup = {
            let mut slot = self.lookup.lock().unwrap_or_else(|e| e.into_inner());
            match &*slot {
                Some(lookup) => Arc::clone(lookup),
                None => match Lookup::open(&self.db) {
                    Ok(lookup) => Arc::clone(slot.insert(Arc::new(lookup))),
                    Err(Error::Missing { .. }) => return Ok(None),
                    Err(e) => return Err(e.to_string()),
                },
            }
        };
        let Some(prefix) = token::key_prefix(token) else {
            return Ok(None);
        };
        Ok(lookup
            .identify_key(token)
            .map_err(|e| e.to_string())?
            .map(|identity| KeyHolder {
                user: identity.user,
                prefix: prefix.to_owned(),
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewUser, Store};

    #[test]
    fn identifies_a_valid_key_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.db");
        assert!(matches!(Lookup::open(&path), Err(Error::Missing { .. })));
        let mut store = Store::open(&path).unwrap();
        store
            .add_user(
                &NewUser {
                    name: "ada",
                    email: "ada@example.org",
                    display_name: None,
                    role: "admin",
                    teams: &[],
                },
                "$argon2id$x",
                0,
            )
            .unwrap();
        let (key, prefix) = store
            .create_key("ada", "gateway", &["chat".into()], None, 0)
            .unwrap();
        let lookup = Lookup::open(&path).unwrap();
        let who = lookup.identify_key(&key).unwrap().unwrap();
        assert_eq!(
            who,
            Identity {
                user: "ada".into(),
                email: "ada@example.org".into(),
                name: "ada".into(),
                groups: vec!["admin".into()],
                scopes: vec!["chat".into()],
            }
        );
        assert_eq!(lookup.identify_key("magi_nope").unwrap(), None);
        let mut forged = key.clone();
        forged.pop();
        forged.push(if key.ends_with('0') { '1' } else { '0' });
        assert_eq!(lookup.identify_key(&forged).unwrap(), None);
        store.revoke_key(&prefix, 1).unwrap();
        assert_eq!(
            lookup.identify_key(&key).unwrap(),
            None,
            "revocation is seen at once"
        );
    }
}

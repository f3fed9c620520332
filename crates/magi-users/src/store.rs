//! The user database (`users.db`, 0600 in the state directory): accounts, roles, teams, sessions, API keys,
//! failed-login counters and the audit log. Nothing else in magi-users writes SQL.
//!
//! Times are Unix seconds, passed in by the caller so tests can drive the clock. Secrets (session ids, API
//! keys) are stored only as their SHA-256 ([`crate::token::digest`]); password hashes are argon2id PHC strings.

use std::path::{Path, PathBuf};

use magi_core::store::rusqlite::{self, Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::Error;
use crate::token;

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE roles (
    name TEXT PRIMARY KEY,
    permissions TEXT NOT NULL,
    builtin INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);
INSERT INTO roles (name, permissions, builtin, created) VALUES ('admin', '*', 1, 0), ('user', 'chat', 1, 0);
CREATE TABLE teams (name TEXT PRIMARY KEY, created INTEGER NOT NULL);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL REFERENCES roles(name),
    password TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    last_login INTEGER
);
CREATE TABLE members (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    team TEXT NOT NULL REFERENCES teams(name) ON DELETE CASCADE,
    PRIMARY KEY (user_id, team)
) WITHOUT ROWID;
CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    address TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE keys (
    prefix TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created INTEGER NOT NULL,
    expires INTEGER,
    last_used INTEGER,
    revoked INTEGER
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
CREATE TABLE throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last INTEGER NOT NULL,
    locked_until INTEGER
) WITHOUT ROWID;
"#,
    r#"
-- Throttle keys are bounded (a long name is stored as its hash) and expired rows are pruned by age.
DELETE FROM throttle WHERE length(key) > 80;
CREATE INDEX throttle_last ON throttle(last);
"#,
];

/// The built-in roles: `admin` may do everything, `user` may chat.
pub const BUILT_IN_ROLES: &[&str] = &["admin", "user"];

/// The identity of an account by its id, read with [`Principal::from_row`]; `None` when it is disabled.
/// Lookups run per request, so they avoid joins: SQLite re-plans a join on every call here, while a lookup
/// by key with correlated subqueries keeps its plan.
const PRINCIPAL_QUERY: &str = "SELECT u.name, u.email, u.display_name, u.role, \
     (SELECT permissions FROM roles r WHERE r.name = u.role), \
     (SELECT group_concat(team, ',') FROM (SELECT team FROM members m WHERE m.user_id = u.id ORDER BY team)) \
     FROM users u WHERE u.id = ?1 AND u.disabled = 0";

const SESSION_QUERY: &str = "SELECT user_id, last_seen, expires FROM sessions WHERE hash = ?1";
const KEY_QUERY: &str =
    "SELECT user_id, scopes, prefix, revoked, expires, last_used FROM keys WHERE hash = ?1";

pub(crate) fn principal(
    conn: &Connection,
    user_id: i64,
    scopes: Option<Vec<String>>,
) -> rusqlite::Result<Option<Principal>> {
    conn.prepare_cached(PRINCIPAL_QUERY)?
        .query_row([user_id], |r| Principal::from_row(r, 0, scopes))
        .optional()
}

/// A valid API key (not revoked or expired, its account enabled) by the key's hash: its prefix, when it
/// was last used, and its holder.
pub(crate) fn key_holder(
    conn: &Connection,
    hash: &str,
    now: i64,
) -> rusqlite::Result<Option<(String, Option<i64>, Principal)>> {
    let row = conn
        .prepare_cached(KEY_QUERY)?
        .query_row([hash], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .optional()?;
    let Some((user_id, scopes, prefix, revoked, expires, last_used)) = row else {
        return Ok(None);
    };
    if revoked.is_some() || expires.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    Ok(principal(conn, user_id, Some(split(&scopes)))?.map(|p| (prefix, last_used, p)))
}

/// Who a request is from: a user with their role's permissions, and an API key's scopes when it came
/// with one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user: String,
    pub email: String,
    pub name: String,
    pub role: String,
    /// The role first, then the teams in name order.
    pub groups: Vec<String>,
    pub permissions: Vec<String>,
    /// `Some` for an API key: what it may be used for (`*` for everything the role allows).
    pub scopes: Option<Vec<String>>,
}

impl Principal {
    /// Whether the role grants `permission` (and the key's scopes, when it came with a key, include it).
    pub fn may(&self, permission: &str) -> bool {
        let grants = |list: &[String]| list.iter().any(|p| p == "*" || p == permission);
        grants(&self.permissions) && self.scopes.as_deref().is_none_or(grants)
    }

    /// Reads the columns of [`PRINCIPAL_QUERY`] starting at column `at`.
    pub(crate) fn from_row(
        row: &rusqlite::Row<'_>,
        at: usize,
        scopes: Option<Vec<String>>,
    ) -> rusqlite::Result<Principal> {
        let role: String = row.get(at + 3)?;
        let teams: Option<String> = row.get(at + 5)?;
        let mut groups = vec![role.clone()];
        groups.extend(split(&teams.unwrap_or_default()));
        Ok(Principal {
            user: row.get(at)?,
            email: row.get(at + 1)?,
            name: row.get(at + 2)?,
            role,
            groups,
            permissions: split(&row.get::<_, String>(at + 4)?),
            scopes,
        })
    }
}

/// A comma-separated list as stored.
pub(crate) fn split(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An account as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub teams: Vec<String>,
    pub disabled: bool,
    pub created: i64,
    pub last_login: Option<i64>,
}

/// What `add` creates.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    pub role: &'a str,
    pub teams: &'a [String],
}

/// What `set` changes; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub teams: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    pub name: String,
    pub permissions: Vec<String>,
    pub builtin: bool,
    pub users: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub name: String,
    pub members: Vec<String>,
}

/// An API key as `keys list` shows it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Key {
    pub prefix: String,
    pub user: String,
    pub label: String,
    pub scopes: Vec<String>,
    pub created: i64,
    pub expires: Option<i64>,
    pub last_used: Option<i64>,
    pub revoked: Option<i64>,
}

/// One line of the audit log: who did what to whom, when and from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    /// A client address, or `cli` for the command line.
    pub source: String,
    pub detail: String,
}

/// The failed-login record of one account name or client address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last: i64,
    pub locked_until: Option<i64>,
}

/// The open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating 0600, migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, Error> {
        Ok(Store {
            conn: magi_core::store::open(path, MIGRATIONS)?,
            path: path.to_owned(),
        })
    }

    /// An empty database in memory, for tests.
    pub fn in_memory() -> Result<Store, Error> {
        Ok(Store {
            conn: magi_core::store::open_in_memory(MIGRATIONS)?,
            path: PathBuf::from(":memory:"),
        })
    }

    fn query(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        |source| Error::Query {
            path: self.path.clone(),
            source,
        }
    }

    fn user_id(&self, name: &str) -> Result<i64, Error> {
        self.conn
            .query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(self.query())?
            .ok_or_else(|| Error::NoUser(name.into()))
    }

    fn check_role(&self, role: &str) -> Result<(), Error> {
        let found: Option<String> = self
            .conn
            .query_row("SELECT name FROM roles WHERE name = ?1", [role], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.query())?;
        found.map(|_| ()).ok_or_else(|| Error::NoRole(role.into()))
    }

    fn set_teams(&self, user_id: i64, teams: &[String]) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM members WHERE user_id = ?1", [user_id])
            .map_err(self.query())?;
        for team in teams {
            let known: bool = self
                .conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM teams WHERE name = ?1)",
                    [team],
                    |r| r.get(0),
                )
                .map_err(self.query())?;
            if !known {
                return Err(Error::NoTeam(team.clone()));
            }
            self.conn
                .execute(
                    "INSERT OR IGNORE INTO members (user_id, team) VALUES (?1, ?2)",
                    params![user_id, team],
                )
                .map_err(self.query())?;
        }
        Ok(())
    }

    /// Creates an account with the argon2id PHC string `password`.
    pub fn add_user(&mut self, new: &NewUser<'_>, password: &str, now: i64) -> Result<(), Error> {
        check_name(new.name, "user")?;
        check_email(new.email)?;
        self.check_role(new.role)?;
        let tx = self.conn.transaction().map_err(|source| Error::Query {
            path: self.path.clone(),
            source,
        })?;
        // Names that differ only in case are one account: `Ada` cannot be added beside `ada`, who would be
        // told apart from her only by a capital letter in the audit log and in every listing.
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1 COLLATE NOCASE)",
                [new.name],
                |r| r.get(0),
            )
            .map_err(|source| Error::Query {
                path: self.path.clone(),
                source,
            })?;
        if exists {
            return Err(Error::UserExists(new.name.into()));
        }
        tx.execute(
            "INSERT INTO users (name, email, display_name, role, password, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![new.name, new.email, new.display_name.unwrap_or(new.name), new.role, password, now],
        )
        .map_err(|source| Error::Query { path: self.path.clone(), source })?;
        tx.commit().map_err(|source| Error::Query {
            path: self.path.clone(),
            source,
        })?;
        let id = self.user_id(new.name)?;
        if let Err(e) = self.set_teams(id, new.teams) {
            self.conn
                .execute("DELETE FROM users WHERE id = ?1", [id])
                .map_err(self.query())?;
            return Err(e);
        }
        Ok(())
    }

    /// Changes an account's email, display name, role or teams.
    pub fn set_user(&mut self, name: &str, changes: &Changes) -> Result<(), Error> {
        let id = self.user_id(name)?;
        if let Some(email) = &changes.email {
            check_email(email)?;
            self.conn
                .execute(
                    "UPDATE users SET email = ?1 WHERE id = ?2",
                    params![email, id],
                )
                .map_err(self.query())?;
        }
        if let Some(display) = &changes.display_name {
            self.conn
                .execute(
                    "UPDATE users SET display_name = ?1 WHERE id = ?2",
                    params![display, id],
                )
                .map_err(self.query())?;
        }
        if let Some(role) = &changes.role {
            self.check_role(role)?;
            self.conn
                .execute(
                    "UPDATE users SET role = ?1 WHERE id = ?2",
                    params![role, id],
                )
                .map_err(self.query())?;
        }
        if let Some(teams) = &changes.teams {
            self.set_teams(id, teams)?;
        }
        Ok(())
    }

    /// Removes an account with its sessions, keys and memberships.
    pub fn remove_user(&mut self, name: &str) -> Result<(), Error> {
        let id = self.user_id(name)?;
        self.conn
            .execute("DELETE FROM users WHERE id = ?1", [id])
            .map_err(self.query())?;
        Ok(())
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<User>, Error> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT u.name, u.email, u.display_name, u.role, \
                 (SELECT group_concat(team, ',') FROM (SELECT team FROM members m WHERE m.user_id = u.id ORDER BY team)), \
                 u.disabled, u.created, u.last_login FROM users u ORDER BY u.name",
            )
            .map_err(self.query())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(User {
                    name: r.get(0)?,
                    email: r.get(1)?,
                    display_name: r.get(2)?,
                    role: r.get(3)?,
                    teams: split(&r.get::<_, Option<String>>(4)?.unwrap_or_default()),
                    disabled: r.get(5)?,
                    created: r.get(6)?,
                    last_login: r.get(7)?,
                })
            })
            .map_err(self.query())?;
        rows.collect::<Result<_, _>>().map_err(self.query())
    }

    /// Disables or enables an account; disabling ends its sessions. Returns the sessions ended.
    pub fn set_disabled(&mut self, name: &str, disabled: bool) -> Result<usize, Error> {
        let id = self.user_id(name)?;
        self.conn
            .execute(
                "UPDATE users SET disabled = ?1 WHERE id = ?2",
                params![disabled, id],
            )
            .map_err(self.query())?;
        if disabled {
            self.end_sessions(id)
        } else {
            Ok(0)
        }
    }

    /// Sets a new password hash and ends every session of the account. Returns the sessions ended.
    pub fn set_password(&mut self, name: &str, password: &str) -> Result<usize, Error> {
        let id = self.user_id(name)?;
        self.conn
            .execute(
                "UPDATE users SET password = ?1 WHERE id = ?2",
                params![password, id],
            )
            .map_err(self.query())?;
        self.end_sessions(id)
    }

    fn end_sessions(&self, user_id: i64) -> Result<usize, Error> {
        self.conn
            .execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])
            .map_err(self.query())
    }

    /// For a login: the account's id, password hash and whether it is disabled.
    pub fn credentials(&self, name: &str) -> Result<Option<(i64, String, bool)>, Error> {
        self.conn
            .prepare_cached("SELECT id, password, disabled FROM users WHERE name = ?1")
            .and_then(|mut s| {
                s.query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(self.query())
    }

    /// Starts a session for a user that has just logged in; returns its id (the cookie value).
    pub fn create_session(
        &mut self,
        user_id: i64,
        now: i64,
        lifetime: i64,
        address: &str,
    ) -> Result<String, Error> {
        let id = token::new_secret()?;
        self.conn
            .execute(
                "INSERT INTO sessions (hash, user_id, created, last_seen, expires, address) VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
                params![token::digest(&id), user_id, now, now + lifetime, address],
            )
            .map_err(self.query())?;
        self.conn
            .execute(
                "UPDATE users SET last_login = ?1 WHERE id = ?2",
                params![now, user_id],
            )
            .map_err(self.query())?;
        Ok(id)
    }

    /// Who holds the session `id`, if it is live: not past its absolute expiry, used within `idle` seconds,
    /// and its account enabled. Use is recorded at most once every `idle / 20` seconds, so that a busy
    /// session does not write on every request.
    pub fn session(&self, id: &str, now: i64, idle: i64) -> Result<Option<Principal>, Error> {
        if !token::is_session_id(id) {
            return Ok(None);
        }
        let hash = token::digest(id);
        let found = self
            .conn
            .prepare_cached(SESSION_QUERY)
            .and_then(|mut s| {
                s.query_row([&hash], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .optional()
            })
            .map_err(self.query())?;
        let Some((user_id, last_seen, expires)) = found else {
            return Ok(None);
        };
        if expires <= now || last_seen <= now - idle {
            return Ok(None);
        }
        let Some(principal) = principal(&self.conn, user_id, None).map_err(self.query())? else {
            return Ok(None);
        };
        if now - last_seen >= (idle / 20).max(1) {
            self.conn
                .prepare_cached("UPDATE sessions SET last_seen = ?1 WHERE hash = ?2")
                .and_then(|mut s| s.execute(params![now, hash]))
                .map_err(self.query())?;
        }
        Ok(Some(principal))
    }

    /// Ends the session `id`; returns the user it belonged to.
    pub fn end_session(&mut self, id: &str) -> Result<Option<String>, Error> {
        let hash = token::digest(id);
        let user: Option<String> = self
            .conn
            .query_row(
                "SELECT u.name FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ?1",
                [&hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.query())?;
        self.conn
            .execute("DELETE FROM sessions WHERE hash = ?1", [&hash])
            .map_err(self.query())?;
        Ok(user)
    }

    /// Deletes sessions past their absolute expiry or idle for longer than `idle`.
    pub fn prune_sessions(&mut self, now: i64, idle: i64) -> Result<usize, Error> {
        self.conn
            .execute(
                "DELETE FROM sessions WHERE expires <= ?1 OR last_seen <= ?2",
                params![now, now - idle],
            )
            .map_err(self.query())
    }

    /// Who holds the API key, if it is valid (not revoked or expired, account enabled). Use is recorded at
    /// most once a minute.
    pub fn key(&self, key: &str, now: i64) -> Result<Option<Principal>, Error> {
        if token::key_prefix(key).is_none() {
            return Ok(None);
        }
        let found = key_holder(&self.conn, &token::digest(key), now).map_err(self.query())?;
        let Some((prefix, last_used, principal)) = found else {
            return Ok(None);
        };
        if last_used.is_none_or(|at| now - at >= 60) {
            self.conn
                .prepare_cached("UPDATE keys SET last_used = ?1 WHERE prefix = ?2")
                .and_then(|mut s| s.execute(params![now, prefix]))
                .map_err(self.query())?;
        }
        Ok(Some(principal))
    }

    /// Creates an API key for `user`; returns the key (to be shown once) and its prefix.
    pub fn create_key(
        &mut self,
        user: &str,
        label: &str,
        scopes: &[String],
        expires: Option<i64>,
        now: i64,
    ) -> Result<(String, String), Error> {
        let id = self.user_id(user)?;
        for scope in scopes {
            check_permission(scope)?;
        }
        let (key, prefix) = token::new_key()?;
        self.conn
            .execute(
                "INSERT INTO keys (prefix, hash, user_id, label, scopes, created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![prefix, token::digest(&key), id, label, scopes.join(","), now, expires],
            )
            .map_err(self.query())?;
        Ok((key, prefix))
    }

    /// API keys, of one user or all, newest first.
    pub fn keys(&self, user: Option<&str>) -> Result<Vec<Key>, Error> {
        if let Some(user) = user {
            self.user_id(user)?;
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT k.prefix, u.name, k.label, k.scopes, k.created, k.expires, k.last_used, k.revoked \
                 FROM keys k JOIN users u ON u.id = k.user_id WHERE ?1 IS NULL OR u.name = ?1 \
                 ORDER BY k.created DESC, k.prefix",
            )
            .map_err(self.query())?;
        let rows = stmt
            .query_map([user], |r| {
                Ok(Key {
                    prefix: r.get(0)?,
                    user: r.get(1)?,
                    label: r.get(2)?,
                    scopes: split(&r.get::<_, String>(3)?),
                    created: r.get(4)?,
                    expires: r.get(5)?,
                    last_used: r.get(6)?,
                    revoked: r.get(7)?,
                })
            })
            .map_err(self.query())?;
        rows.collect::<Result<_, _>>().map_err(self.query())
    }

    /// Revokes the key with this prefix (or whole key); returns its owner.
    pub fn revoke_key(&mut self, prefix: &str, now: i64) -> Result<String, Error> {
        let prefix = token::key_prefix(prefix).unwrap_or(prefix);
        let owner: Option<String> = self
            .conn
            .query_row(
                "SELECT u.name FROM keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = ?1",
                [prefix],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.query())?;
        let owner = owner.ok_or_else(|| Error::NoKey(prefix.into()))?;
        self.conn
            .execute(
                "UPDATE keys SET revoked = ?1 WHERE prefix = ?2 AND revoked IS NULL",
                params![now, prefix],
            )
            .map_err(self.query())?;
        Ok(owner)
    }

    /// Every role with its permissions and how many accounts hold it.
    pub fn roles(&self) -> Result<Vec<Role>, Error> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.name, r.permissions, r.builtin, (SELECT count(*) FROM users u WHERE u.role = r.name) \
                 FROM roles r ORDER BY r.builtin DESC, r.name",
            )
            .map_err(self.query())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Role {
                    name: r.get(0)?,
                    permissions: split(&r.get::<_, String>(1)?),
                    builtin: r.get(2)?,
                    users: r.get(3)?,
                })
            })
            .map_err(self.query())?;
        rows.collect::<Result<_, _>>().map_err(self.query())
    }

    /// Creates a custom role.
    pub fn create_role(
        &mut self,
        name: &str,
        permissions: &[String],
        now: i64,
    ) -> Result<(), Error> {
        check_name(name, "role")?;
        if permissions.is_empty() {
            return Err(Error::Invalid(
                "a role needs at least one permission (--permissions chat,audit.read)".into(),
            ));
        }
        for p in permissions {
            check_permission(p)?;
        }
        let inserted = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO roles (name, permissions, created) VALUES (?1, ?2, ?3)",
                params![name, permissions.join(","), now],
            )
            .map_err(self.query())?;
        if inserted == 0 {
            return Err(Error::RoleExists(name.into()));
        }
        Ok(())
    }

    /// Removes a custom role that no account holds.
    pub fn remove_role(&mut self, name: &str) -> Result<(), Error> {
        if BUILT_IN_ROLES.contains(&name) {
            return Err(Error::BuiltInRole(name.into()));
        }
        self.check_role(name)?;
        let holders: Vec<String> = self
            .conn
            .prepare("SELECT name FROM users WHERE role = ?1 ORDER BY name")
            .and_then(|mut s| s.query_map([name], |r| r.get(0))?.collect())
            .map_err(self.query())?;
        if !holders.is_empty() {
            return Err(Error::RoleInUse {
                role: name.into(),
                users: holders.join(", "),
            });
        }
        self.conn
            .execute("DELETE FROM roles WHERE name = ?1", [name])
            .map_err(self.query())?;
        Ok(())
    }

    /// Every team with its members.
    pub fn teams(&self) -> Result<Vec<Team>, Error> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT t.name, (SELECT group_concat(name, ',') FROM (SELECT u.name FROM members m \
                 JOIN users u ON u.id = m.user_id WHERE m.team = t.name ORDER BY u.name)) \
                 FROM teams t ORDER BY t.name",
            )
            .map_err(self.query())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Team {
                    name: r.get(0)?,
                    members: split(&r.get::<_, Option<String>>(1)?.unwrap_or_default()),
                })
            })
            .map_err(self.query())?;
        rows.collect::<Result<_, _>>().map_err(self.query())
    }

    pub fn add_team(&mut self, name: &str, now: i64) -> Result<(), Error> {
        check_name(name, "team")?;
        let inserted = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO teams (name, created) VALUES (?1, ?2)",
                params![name, now],
            )
            .map_err(self.query())?;
        if inserted == 0 {
            return Err(Error::TeamExists(name.into()));
        }
        Ok(())
    }

    /// Removes a team; its members stay, without it.
    pub fn remove_team(&mut self, name: &str) -> Result<(), Error> {
        let removed = self
            .conn
            .execute("DELETE FROM teams WHERE name = ?1", [name])
            .map_err(self.query())?;
        if removed == 0 {
            return Err(Error::NoTeam(name.into()));
        }
        Ok(())
    }

    /// Appends to the audit log.
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), Error> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit (at, actor, action, subject, source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    entry.at,
                    entry.actor,
                    entry.action,
                    entry.subject,
                    entry.source,
                    entry.detail
                ])
            })
            .map_err(self.query())?;
        Ok(())
    }

    /// The audit log since `since`, oldest first, of entries where `user` is the actor or the subject.
    pub fn activity(&self, since: i64, user: Option<&str>) -> Result<Vec<AuditEntry>, Error> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT at, actor, action, subject, source, detail FROM audit \
                 WHERE at >= ?1 AND (?2 IS NULL OR actor = ?2 OR subject = ?2) ORDER BY at, id",
            )
            .map_err(self.query())?;
        let rows = stmt
            .query_map(params![since, user], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    subject: r.get(3)?,
                    source: r.get(4)?,
                    detail: r.get(5)?,
                })
            })
            .map_err(self.query())?;
        rows.collect::<Result<_, _>>().map_err(self.query())
    }

    /// The failed-login record of `key` (`user:NAME` or `addr:ADDRESS`).
    pub fn failures(&self, key: &str) -> Result<Failures, Error> {
        read_failures(&self.conn, key).map_err(self.query())
    }

    /// Reads the failed-login records of `keys` and stores what `decide` makes of them, in one write
    /// transaction, so that parallel logins each see the failures of those before them: the attempt is
    /// counted before its password is checked. Rows whose last failure is older than `forget_before` and
    /// that hold no lockout in force are pruned in the same transaction.
    pub fn reserve_failures<T>(
        &mut self,
        keys: [&str; 2],
        now: i64,
        forget_before: i64,
        decide: impl FnOnce([Failures; 2]) -> (T, Option<[Failures; 2]>),
    ) -> Result<T, Error> {
        let path = self.path.clone();
        let failed = |source| Error::Query {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(failed)?;
        let records = [
            read_failures(&tx, keys[0]).map_err(failed)?,
            read_failures(&tx, keys[1]).map_err(failed)?,
        ];
        let (outcome, store) = decide(records);
        let written = (|| {
            tx.execute(
                "DELETE FROM throttle WHERE last < ?1 AND (locked_until IS NULL OR locked_until <= ?2)",
                params![forget_before, now],
            )?;
            if let Some(records) = store {
                for (key, failures) in keys.iter().zip(records) {
                    tx.execute(
                        "INSERT INTO throttle (key, failures, last, locked_until) VALUES (?1, ?2, ?3, ?4) \
                         ON CONFLICT (key) DO UPDATE SET failures = ?2, last = ?3, locked_until = ?4",
                        params![key, failures.count, failures.last, failures.locked_until],
                    )?;
                }
            }
            tx.commit()
        })();
        written.map_err(failed)?;
        Ok(outcome)
    }

    pub fn clear_failures(&mut self, key: &str) -> Result<(), Error> {
        self.conn
            .execute("DELETE FROM throttle WHERE key = ?1", [key])
            .map_err(self.query())?;
        Ok(())
    }
}

/// The failed-login record of `key`, zero when there is none.
fn read_failures(conn: &rusqlite::Connection, key: &str) -> rusqlite::Result<Failures> {
    conn.prepare_cached("SELECT failures, last, locked_until FROM throttle WHERE key = ?1")
        .and_then(|mut s| {
            s.query_row([key], |r| {
                Ok(Failures {
                    count: r.get(0)?,
                    last: r.get(1)?,
                    locked_until: r.get(2)?,
                })
            })
            .optional()
        })
        .map(Option::unwrap_or_default)
}

/// Names of users, roles and teams: letters, digits, `.`, `_`, `-` and `@`, 1 to 64 of them.
pub fn check_name(name: &str, what: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "'{name}' is not a valid {what} name: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

fn check_email(email: &str) -> Result<(), Error> {
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.contains(|c: char| c.is_whitespace() || c.is_control() || c == ',');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("'{email}' is not an email address")))
    }
}

/// Permissions and scopes: `*`, or lowercase words joined by `.`, `_` or `-` (`chat`, `audit.read`).
pub fn check_permission(p: &str) -> Result<(), Error> {
    let ok = p == "*"
        || (!p.is_empty()
            && p.len() <= 64
            && p.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            }));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "'{p}' is not a permission: use lowercase words like chat or audit.read, or *"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA";

    fn store_with_ada() -> Store {
        let mut store = Store::in_memory().unwrap();
        store.add_team("research", 0).unwrap();
        store
            .add_user(
                &NewUser {
                    name: "ada",
                    email: "ada@example.org",
                    display_name: Some("Ada Lovelace"),
                    role: "user",
                    teams: &["research".into()],
                },
                HASH,
                100,
            )
            .unwrap();
        store
    }

    #[test]
    fn sessions_end_when_idle_past_their_lifetime_or_when_the_account_is_disabled() {
        let mut store = store_with_ada();
        let (id, _, _) = store.credentials("ada").unwrap().unwrap();
        let session = store.create_session(id, 1000, 3600, "127.0.0.1").unwrap();
        let who = store.session(&session, 1001, 600).unwrap().unwrap();
        assert_eq!(who.user, "ada");
        assert_eq!(who.groups, ["user", "research"]);
        assert_eq!(who.name, "Ada Lovelace");
        assert!(who.may("chat") && !who.may("users.manage"));
        assert!(
            store.session(&session, 1000 + 700, 600).unwrap().is_none(),
            "idle"
        );
        assert!(
            store.session(&session, 1500, 600).unwrap().is_some(),
            "use keeps it alive"
        );
        assert!(store.session(&session, 2000, 600).unwrap().is_some());
        assert!(
            store.session(&session, 4600, 6000).unwrap().is_none(),
            "absolute expiry"
        );
        let fresh = store.create_session(id, 5000, 3600, "127.0.0.1").unwrap();
        store.set_disabled("ada", true).unwrap();
        assert!(store.session(&fresh, 5001, 600).unwrap().is_none());
        store.set_disabled("ada", false).unwrap();
        assert!(
            store.session(&fresh, 5001, 600).unwrap().is_none(),
            "disabling ended it"
        );
        assert!(store.session("not-a-session", 5001, 600).unwrap().is_none());
    }

    #[test]
    fn per_request_lookups_keep_their_query_plans() {
        use magi_core::store::rusqlite::StatementStatus;
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("users.db")).unwrap();
        store
            .add_user(
                &NewUser {
                    name: "ada",
                    email: "ada@example.org",
                    display_name: None,
                    role: "user",
                    teams: &[],
                },
                HASH,
                0,
            )
            .unwrap();
        let (id, _, _) = store.credentials("ada").unwrap().unwrap();
        let session = store.create_session(id, 0, 3600, "a").unwrap();
        let (key, _) = store.create_key("ada", "", &["*".into()], None, 0).unwrap();
        for _ in 0..5 {
            assert!(store.session(&session, 1, 600).unwrap().is_some());
            assert!(store.key(&key, 1).unwrap().is_some());
        }
        for sql in [SESSION_QUERY, KEY_QUERY, PRINCIPAL_QUERY] {
            let statement = store.conn.prepare_cached(sql).unwrap();
            assert_eq!(statement.get_status(StatementStatus::RePrepare), 0, "{sql}");
        }
    }

    #[test]
    fn a_password_reset_ends_every_session() {
        let mut store = store_with_ada();
        let (id, _, _) = store.credentials("ada").unwrap().unwrap();
        let a = store.create_session(id, 0, 3600, "a").unwrap();
        let b = store.create_session(id, 0, 3600, "b").unwrap();
        assert_eq!(store.set_password("ada", "$argon2id$new").unwrap(), 2);
        assert!(store.session(&a, 1, 600).unwrap().is_none());
        assert!(store.session(&b, 1, 600).unwrap().is_none());
        assert_eq!(
            store.credentials("ada").unwrap().unwrap().1,
            "$argon2id$new"
        );
    }

    #[test]
    fn keys_are_stored_hashed_scoped_expire_and_revoke() {
        let mut store = store_with_ada();
        let (key, prefix) = store
            .create_key("ada", "laptop", &["chat".into()], Some(2000), 1000)
            .unwrap();
        let who = store.key(&key, 1500).unwrap().unwrap();
        assert_eq!(who.scopes.as_deref(), Some(&["chat".to_string()][..]));
        assert!(who.may("chat"));
        assert!(store.key(&key, 2000).unwrap().is_none(), "expired");
        let stored: String = store
            .conn
            .query_row("SELECT hash FROM keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, token::digest(&key));
        assert!(!stored.contains(&key[prefix.len() + 1..]));
        let listed = store.keys(Some("ada")).unwrap();
        assert_eq!(
            (listed[0].prefix.as_str(), listed[0].last_used),
            (prefix.as_str(), Some(1500))
        );
        let (forever, prefix) = store
            .create_key("ada", "ci", &["*".into()], None, 1000)
            .unwrap();
        assert!(store.key(&forever, 99_999).unwrap().is_some());
        assert_eq!(store.revoke_key(&prefix, 3000).unwrap(), "ada");
        assert!(store.key(&forever, 3001).unwrap().is_none());
        assert!(matches!(
            store.revoke_key("magi_00000000", 1),
            Err(Error::NoKey(_))
        ));
    }

    #[test]
    fn custom_roles_grant_their_permissions_and_built_ins_stay() {
        let mut store = store_with_ada();
        store
            .create_role("auditor", &["audit.read".into(), "chat".into()], 0)
            .unwrap();
        store
            .set_user(
                "ada",
                &Changes {
                    role: Some("auditor".into()),
                    ..Changes::default()
                },
            )
            .unwrap();
        let (id, _, _) = store.credentials("ada").unwrap().unwrap();
        let s = store.create_session(id, 0, 3600, "a").unwrap();
        assert!(
            store
                .session(&s, 1, 600)
                .unwrap()
                .unwrap()
                .may("audit.read")
        );
        assert!(matches!(
            store.remove_role("auditor"),
            Err(Error::RoleInUse { .. })
        ));
        assert!(matches!(
            store.remove_role("admin"),
            Err(Error::BuiltInRole(_))
        ));
        assert!(matches!(
            store.create_role("x", &["Bad Perm".into()], 0),
            Err(Error::Invalid(_))
        ));
        let roles = store.roles().unwrap();
        assert_eq!(
            roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["admin", "user", "auditor"]
        );
    }

    #[test]
    fn bad_names_and_duplicates_are_refused_and_leave_nothing_behind() {
        let mut store = store_with_ada();
        fn new<'a>(name: &'a str, teams: &'a [String]) -> NewUser<'a> {
            NewUser {
                name,
                email: "x@example.org",
                display_name: None,
                role: "user",
                teams,
            }
        }
        assert!(matches!(
            store.add_user(&new("ada", &[]), HASH, 0),
            Err(Error::UserExists(_))
        ));
        assert!(matches!(
            store.add_user(&new("bad name", &[]), HASH, 0),
            Err(Error::Invalid(_))
        ));
        let ghosts = ["ghosts".to_string()];
        assert!(matches!(
            store.add_user(&new("bob", &ghosts), HASH, 0),
            Err(Error::NoTeam(_))
        ));
        assert_eq!(
            store.users().unwrap().len(),
            1,
            "the half-made account was removed"
        );
        store.remove_team("research").unwrap();
        assert!(store.users().unwrap()[0].teams.is_empty());
    }

    #[test]
    fn the_audit_log_filters_by_time_and_user() {
        let store = store_with_ada();
        let entry = |at, actor: &str, subject: &str| AuditEntry {
            at,
            actor: actor.into(),
            action: "login".into(),
            subject: subject.into(),
            source: "cli".into(),
            detail: String::new(),
        };
        store.audit(&entry(10, "root", "ada")).unwrap();
        store.audit(&entry(20, "bob", "bob")).unwrap();
        store.audit(&entry(30, "ada", "ada")).unwrap();
        assert_eq!(store.activity(0, Some("ada")).unwrap().len(), 2);
        assert_eq!(store.activity(15, None).unwrap().len(), 2);
        assert_eq!(store.activity(25, Some("ada")).unwrap()[0].at, 30);
    }
}

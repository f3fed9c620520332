//! The policy store: what the gateway enforces, as the operator set it with the CLI.
//!
//! It lives in the same `usage.db` as the usage records (see [`crate::db`] for why). The pieces:
//! - [`RateLimit`]: requests and tokens per minute for one model ([`Scope::Model`]) or one user
//!   ([`Scope::User`]); `None` means unlimited.
//! - [`Quota`]: a user's tokens per UTC day.
//! - [`Budget`]: daily and monthly cost limits in USD, overall (`user: None`) or for one user.
//! - [`Priority`]: whether a user's or an API key prefix's requests queue as `interactive` (first) or
//!   `workflow`; without an entry, requests from Open WebUI are interactive and the rest are workflows.
//!
//! [`Policy::open`] then `set_*` / `clear_*` to change it, [`Policy::snapshot`] to read all of it at once.
//! Every write bumps a version counter in the same transaction; a running gateway polls
//! [`Policy::version`] (one indexed read) every second and reloads the snapshot when it moved, so changes
//! apply without a restart and without signals.

use std::path::{Path, PathBuf};

use magi_core::store::{StoreError, rusqlite};
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;

use crate::db;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Open(#[from] StoreError),
    #[error("{}: {what}: {source}", path.display())]
    Query {
        path: PathBuf,
        what: &'static str,
        source: rusqlite::Error,
    },
}

/// What a rate limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Model,
    User,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Model => "model",
            Scope::User => "user",
        }
    }
}

/// Requests and tokens per minute for one model or user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    pub scope: Scope,
    pub name: String,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
}

/// A user's daily token quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub user: String,
    pub tokens_per_day: u64,
}

/// Cost limits, overall (`user` is `None`) or for one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    pub user: Option<String>,
    pub daily_usd: Option<f64>,
    pub monthly_usd: Option<f64>,
}

/// Which queue class a request waits in when its model is at its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// A person is waiting: served first.
    Interactive,
    /// A workflow or script: served when no interactive request waits.
    Workflow,
}

impl Priority {
    fn as_str(self) -> &'static str {
        match self {
            Priority::Interactive => "interactive",
            Priority::Workflow => "workflow",
        }
    }
}

/// A priority set for a user or an API key prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriorityRule {
    pub who: String,
    pub priority: Priority,
}

/// The whole policy at one version.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    pub version: i64,
    pub rate_limits: Vec<RateLimit>,
    pub quotas: Vec<Quota>,
    pub budgets: Vec<Budget>,
    pub priorities: Vec<PriorityRule>,
}

/// The policy store.
#[derive(Debug)]
pub struct Policy {
    conn: Connection,
    path: PathBuf,
}

impl Policy {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Policy, PolicyError> {
        Ok(Policy {
            conn: db::open(path)?,
            path: path.to_owned(),
        })
    }

    #[cfg(test)]
    fn in_memory() -> Policy {
        Policy {
            conn: db::open_in_memory(),
            path: ":memory:".into(),
        }
    }

    fn failed(&self, what: &'static str) -> impl Fn(rusqlite::Error) -> PolicyError + '_ {
        move |source| PolicyError::Query {
            path: self.path.clone(),
            what,
            source,
        }
    }

    /// The counter every change bumps.
    pub fn version(&self) -> Result<i64, PolicyError> {
        self.conn
            .query_row("SELECT version FROM policy_version WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(self.failed("reading the policy version"))
    }

    fn change(
        &mut self,
        what: &'static str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<(), PolicyError> {
        let path = self.path.clone();
        let failed = |source| PolicyError::Query {
            path: path.clone(),
            what,
            source,
        };
        let tx = self.conn.transaction().map_err(failed)?;
        tx.execute(sql, params).map_err(failed)?;
        tx.execute(
            "UPDATE policy_version SET version = version + 1 WHERE id = 1",
            [],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)
    }

    /// Sets the rate limits of a model or user; `None` leaves that one as it was.
    pub fn set_rate_limit(
        &mut self,
        scope: Scope,
        name: &str,
        rpm: Option<u64>,
        tpm: Option<u64>,
    ) -> Result<(), PolicyError> {
        self.change(
            "setting a rate limit",
            "INSERT INTO rate_limits (kind, name, rpm, tpm) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (kind, name) DO UPDATE SET rpm = coalesce(excluded.rpm, rpm), \
             tpm = coalesce(excluded.tpm, tpm)",
            params![
                scope.as_str(),
                name,
                rpm.map(|n| n as i64),
                tpm.map(|n| n as i64)
            ],
        )
    }

    /// Removes the rate limits of a model or user.
    pub fn clear_rate_limit(&mut self, scope: Scope, name: &str) -> Result<(), PolicyError> {
        self.change(
            "clearing a rate limit",
            "DELETE FROM rate_limits WHERE kind = ?1 AND name = ?2",
            params![scope.as_str(), name],
        )
    }

    /// Sets a user's daily token quota.
    pub fn set_quota(&mut self, user: &str, tokens_per_day: u64) -> Result<(), PolicyError> {
        self.change(
            "setting a quota",
            "INSERT INTO quotas (user, tokens_per_day) VALUES (?1, ?2) \
             ON CONFLICT (user) DO UPDATE SET tokens_per_day = excluded.tokens_per_day",
            params![user, tokens_per_day as i64],
        )
    }

    /// Removes a user's daily token quota.
    pub fn clear_quota(&mut self, user: &str) -> Result<(), PolicyError> {
        self.change(
            "clearing a quota",
            "DELETE FROM quotas WHERE user = ?1",
            [user],
        )
    }

    /// Sets the daily and/or monthly budget, overall (`user` = `None`) or for one user; `None` leaves that
    /// one as it was.
    pub fn set_budget(
        &mut self,
        user: Option<&str>,
        daily_usd: Option<f64>,
        monthly_usd: Option<f64>,
    ) -> Result<(), PolicyError> {
        self.change(
            "setting a budget",
            "INSERT INTO budgets (user, daily_usd, monthly_usd) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user) DO UPDATE SET daily_usd = coalesce(excluded.daily_usd, daily_usd), \
             monthly_usd = coalesce(excluded.monthly_usd, monthly_usd)",
            params![user.unwrap_or(""), daily_usd, monthly_usd],
        )
    }

    /// Removes the budgets of one user or the overall ones.
    pub fn clear_budget(&mut self, user: Option<&str>) -> Result<(), PolicyError> {
        self.change(
            "clearing a budget",
            "DELETE FROM budgets WHERE user = ?1",
            [user.unwrap_or("")],
        )
    }

    /// Sets the queue priority of a user or an API key prefix.
    pub fn set_priority(&mut self, who: &str, priority: Priority) -> Result<(), PolicyError> {
        self.change(
            "setting a priority",
            "INSERT INTO priorities (who, priority) VALUES (?1, ?2) \
             ON CONFLICT (who) DO UPDATE SET priority = excluded.priority",
            params![who, priority.as_str()],
        )
    }

    /// The budget definitions, the overall one first.
    pub fn budgets(&self) -> Result<Vec<Budget>, PolicyError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT user, daily_usd, monthly_usd FROM budgets ORDER BY user")
            .map_err(self.failed("reading budgets"))?;
        let rows = stmt
            .query_map([], |row| {
                let user: String = row.get(0)?;
                Ok(Budget {
                    user: (!user.is_empty()).then_some(user),
                    daily_usd: row.get(1)?,
                    monthly_usd: row.get(2)?,
                })
            })
            .map_err(self.failed("reading budgets"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.failed("reading budgets"))
    }

    /// The quota of one user, if set.
    pub fn quota(&self, user: &str) -> Result<Option<u64>, PolicyError> {
        self.conn
            .query_row(
                "SELECT tokens_per_day FROM quotas WHERE user = ?1",
                [user],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|q| q.map(|n| n as u64))
            .map_err(self.failed("reading a quota"))
    }

    /// Everything, read in one transaction so it is one version.
    pub fn snapshot(&mut self) -> Result<Snapshot, PolicyError> {
        let path = self.path.clone();
        let failed = |source| PolicyError::Query {
            path: path.clone(),
            what: "reading the policy",
            source,
        };
        let tx = self.conn.transaction().map_err(failed)?;
        let version = tx
            .query_row("SELECT version FROM policy_version WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(failed)?;
        let rate_limits = tx
            .prepare("SELECT kind, name, rpm, tpm FROM rate_limits ORDER BY kind, name")
            .and_then(|mut s| {
                s.query_map([], |row| {
                    let kind: String = row.get(0)?;
                    Ok(RateLimit {
                        scope: if kind == "user" {
                            Scope::User
                        } else {
                            Scope::Model
                        },
                        name: row.get(1)?,
                        rpm: row.get::<_, Option<i64>>(2)?.map(|n| n as u64),
                        tpm: row.get::<_, Option<i64>>(3)?.map(|n| n as u64),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(failed)?;
        let quotas = tx
            .prepare("SELECT user, tokens_per_day FROM quotas ORDER BY user")
            .and_then(|mut s| {
                s.query_map([], |row| {
                    Ok(Quota {
                        user: row.get(0)?,
                        tokens_per_day: row.get::<_, i64>(1)? as u64,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(failed)?;
        let priorities = tx
            .prepare("SELECT who, priority FROM priorities ORDER BY who")
            .and_then(|mut s| {
                s.query_map([], |row| {
                    let priority: String = row.get(1)?;
                    Ok(PriorityRule {
                        who: row.get(0)?,
                        priority: if priority == "interactive" {
                            Priority::Interactive
                        } else {
                            Priority::Workflow
                        },
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(failed)?;
        drop(tx);
        let budgets = self.budgets()?;
        Ok(Snapshot {
            version,
            rate_limits,
            quotas,
            budgets,
            priorities,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_bumps_the_version_and_partial_sets_keep_the_rest() {
        let mut policy = Policy::in_memory();
        assert_eq!(policy.version().unwrap(), 0);
        policy
            .set_rate_limit(Scope::Model, "gpt", Some(60), Some(1000))
            .unwrap();
        policy
            .set_rate_limit(Scope::Model, "gpt", None, Some(2000))
            .unwrap();
        policy.set_quota("ann", 100_000).unwrap();
        policy.set_budget(None, Some(5.0), None).unwrap();
        policy.set_budget(None, None, Some(100.0)).unwrap();
        policy.set_budget(Some("ann"), Some(1.0), None).unwrap();
        policy.set_priority("n8n", Priority::Workflow).unwrap();
        let snap = policy.snapshot().unwrap();
        assert_eq!(snap.version, 7);
        assert_eq!(
            snap.rate_limits,
            vec![RateLimit {
                scope: Scope::Model,
                name: "gpt".into(),
                rpm: Some(60),
                tpm: Some(2000)
            }]
        );
        assert_eq!(
            snap.budgets,
            vec![
                Budget {
                    user: None,
                    daily_usd: Some(5.0),
                    monthly_usd: Some(100.0)
                },
                Budget {
                    user: Some("ann".into()),
                    daily_usd: Some(1.0),
                    monthly_usd: None
                }
            ]
        );
        assert_eq!(policy.quota("ann").unwrap(), Some(100_000));
        policy.clear_quota("ann").unwrap();
        assert_eq!(policy.quota("ann").unwrap(), None);
        assert_eq!(policy.version().unwrap(), 8);
    }
}

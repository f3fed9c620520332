//! The stores MAGI's tools share about the use of models, apart from the gateway that fills them, so that
//! magi-costs, magi-users and the tools to come (the dashboard, the SLA report, retention) read them without
//! depending on the gateway:
//!
//! - [`db`]: `usage.db`, its schema and where it lives;
//! - [`usage`]: the usage records (written in the background by [`usage::Recorder`], summed by
//!   [`usage::UsageStore`]);
//! - [`policy`]: limits, quotas, budgets and priorities, in the same file;
//! - [`clock`]: the clock usage is counted in, and the day and month it falls in;
//! - [`figures`]: what the usage records add to the metrics store (requests, errors, tokens, cost, latency);
//! - [`keys`]: the one `Authorization: Bearer` reader and the seam that asks who holds an API key.

pub mod clock;
pub mod db;
pub mod figures;
pub mod keys;
pub mod policy;
pub mod usage;

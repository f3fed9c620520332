//! End-to-end tests: the built binaries against real components (the rig is the magi-testkit library).

mod alert;
mod backup;
mod cloud;
mod costs;
mod dashboard;
mod health;
mod limits;
mod litellm;
mod logs;
mod metrics;
mod package;
mod pitr;
mod rig;
mod roadmap;
mod sla;
mod units;
mod users;

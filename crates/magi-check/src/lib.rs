//! The check engine of the MAGI stack, shared by `magi-health` and by `magi-restore`'s wait-until-healthy.
//!
//! The flow is collect → decide: [`check::Checker`] observes every service of the catalog in parallel, each
//! bounded by a timeout (its container through Docker, its own endpoint through a [`probe`], its
//! [`resources`]), and [`verdict`] turns those observations into a verdict per service and one for the stack,
//! with the dependency map's impact in words. Deciding is pure, so every rule is tested from literal
//! observations. [`validate`] waits, after `docker compose up`, until every core service is ready.

pub mod check;
pub mod probe;
pub mod resources;
pub mod validate;
pub mod verdict;

pub use check::{Checker, Observation, Options, Report, ServiceReport};
pub use probe::ProbeOutcome;
pub use verdict::{Condition, StackStatus, StackVerdict, Thresholds, Verdict};

//! The shared core of the MAGI ops tools.
//!
//! Every tool depends on this crate and none re-implements what it owns: the configuration and the service
//! catalog it describes ([`config`]), what a daemon does with systemd ([`daemon`]), the event schema spoken
//! over pipes ([`event`]), logging to journald or stderr ([`logging`]), exit codes and error reporting
//! ([`exit`]), where files live ([`paths`]), secrets read from files ([`secret`]), the SQLite store helper
//! ([`store`]), figures and times formatted for people ([`format`]), column tables ([`table`]), the
//! Prometheus text format ([`exposition`]), lines of bounded length from untrusted input ([`lines`]), waits between retries ([`backoff`]), files replaced whole
//! ([`file`]) and attacker-controlled text made safe to print ([`printable`]).

pub mod backoff;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod event;
pub mod exit;
pub mod exposition;
pub mod file;
pub mod format;
pub mod lines;
pub mod logging;
pub mod paths;
pub mod printable;
pub mod secret;
pub mod store;
pub mod table;
pub mod tools;

pub use config::{Config, Probe, Service, Target, Tier};
pub use event::{Event, Severity};

//! magi-alert as a library: events in, alerts decided by pure rules, recorded in SQLite, delivered durably.
//!
//! The pipeline reads like the modules: [`daemon`] reads the stream and ticks the clock, [`engine`] and
//! [`rule`] decide (pure functions of events and `now`), [`store`] records alerts, tracks, deliveries,
//! silences and history, [`delivery`] sends with retries through a [`channel`], which renders a [`notice`].
//! [`command`] runs a parsed command line ([`run`]), so the binary only parses and exits.

pub mod channel;
pub mod cli;
pub mod command;
pub mod daemon;
pub mod delivery;
pub mod engine;
pub mod notice;
pub mod rule;
pub mod store;

pub use command::run;

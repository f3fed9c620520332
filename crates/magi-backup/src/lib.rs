//! magi-backup and magi-restore: backups people can trust, restores that work the first time.
//!
//! The binaries parse [`cli`] and call [`run::backup`] or [`run::restore`], the command layer, which only
//! parses, prompts, prints and emits; everything else is here, in one crate because a restore is built
//! from the same parts as a backup (it reads and checks an archive's entries), and neither tool is useful
//! without the other.
//!
//! - [`engine`]: one module per engine (SQLite, Redis, Qdrant, plain copies), each owning its capture and
//!   what its restore needs beyond files.
//! - [`archive`], [`manifest`], [`name`], [`listing`]: how a backup is stored, described, named and found;
//!   [`confine`]: what an archive may name, whoever wrote it.
//! - [`create`], [`verify`], [`retention`], [`schedule`], [`records`]: taking, checking, pruning and
//!   scheduling backups.
//! - [`restore`] (the steps on a real stack), [`transaction`] (their order and rollbacks) and [`safety`]
//!   (what a restore replaced, kept until it is confirmed).
//! - [`containers`] pauses and stops through the shared Docker client, [`lock`] keeps runs apart,
//!   [`progress`] draws the progress line, [`error`] says what went wrong.

pub mod archive;
pub mod cli;
pub mod cloud;
pub mod cloud_commands;
pub mod confine;
pub mod containers;
pub mod create;
pub mod engine;
pub mod error;
pub mod listing;
pub mod lock;
pub mod manifest;
pub mod name;
pub mod point_in_time;
pub mod progress;
pub mod records;
pub mod restore;
pub mod retention;
pub mod run;
pub mod safety;
pub mod schedule;
pub mod transaction;

pub mod verify;

pub use error::BackupError;

//! magi-backup and magi-restore: backups people can trust, restores that work the first time.
//!
//! The binaries parse [`cli`] and call [`run::backup`] or [`run::restore`]; everything else is here, in one
//! crate because a restore is built from the same parts as a backup (it reads and checks an archive's
//! entries), and neither tool is useful without the other. What is captured is the
//! [`target`] modules' (one [`target::Capture`] implementation per kind), how it is stored the
//! [`archive`]'s and [`manifest`]'s, and what an archive may name [`confine`]'s; [`create`], [`verify`], [`retention`], [`schedule`] and [`restore`]
//! are the commands' logic, [`safety`] keeps what a restore replaced until it is confirmed, [`containers`] pauses and stops through the shared Docker client, and [`lock`]
//! keeps runs apart.

pub mod archive;
pub mod cli;
pub mod confine;
pub mod containers;
pub mod create;
pub mod error;
pub mod listing;
pub mod lock;
pub mod manifest;
pub mod name;
pub mod progress;
pub mod records;
pub mod restore;
pub mod retention;
pub mod run;
pub mod safety;
pub mod schedule;
pub mod target;
pub mod verify;

pub use error::BackupError;

//! MAGI's cloud repository: backups cut into chunks by what the files are ([`chunk`]), deduplicated by
//! content, packed, compressed and encrypted with age ([`pack`], [`crypt`]), with an index of where each
//! chunk lies ([`index`]), a two-level chunk tree per file ([`tree`]) and one snapshot per backup
//! ([`snapshot`]), kept in an S3-compatible bucket ([`s3`]) or a directory ([`store`]). [`repo`] ties them
//! together: back up, restore, verify, prune. The format is written down in FORMAT.md beside this crate,
//! with a script that restores without this code.
//!
//! A shared store crate: magi-backup's cloud commands use it, and point-in-time recovery writes its WAL
//! segments into the same repository.

pub mod chunk;
pub mod configured;
pub mod crypt;
pub mod error;
pub mod index;
pub mod pack;
pub mod repo;
pub mod s3;
pub mod snapshot;
pub mod store;
pub mod tree;

pub use error::{RepoError, StoreError};
pub use repo::{Keys, Options, Repository};

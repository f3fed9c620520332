//! MAGI's point-in-time recovery (issue 21), built up from its foundation: [`wal`] reads a SQLite database's
//! write-ahead log as SQLite's own recovery does (salts and cumulative checksums, committed transactions
//! only) and replays it onto a copy of the database up to a chosen commit. The capture daemon that ships
//! WAL frames into the backup repository, and `magi restore --timestamp`, build on it.

pub mod wal;

//! A SQLite write-ahead log as an attacker may write it (a WAL segment in the backup repository is read by
//! restores that run as root): scanned, every commit it reports lies inside the bytes given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use magi_pitr::wal::{FRAME_HEADER_LEN, HEADER_LEN, scan};

fuzz_target!(|data: &[u8]| {
    if let Ok(scan) = scan(data, "fuzzed-wal") {
        let frame_len = (FRAME_HEADER_LEN + scan.header.page_size as usize) as u64;
        for commit in &scan.commits {
            assert!(HEADER_LEN as u64 + (commit.frame + 1) * frame_len <= data.len() as u64);
        }
    }
});

//! A point-in-time recovery segment as an attacker may write it (segments come back from a cloud bucket, and
//! restores run as root): read through, each frame handed on is one whole page of a page number above zero,
//! no commit counts a frame it did not hand on, and a rows record stands between transactions, bounded.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use magi_pitr::segment::{Record, SegmentReader, ROWS_MAX_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = SegmentReader::new(Path::new("fuzzed.seg"), Box::new(std::io::Cursor::new(data.to_vec()))) else {
        return;
    };
    let page_size = reader.start().header.page_size as usize;
    loop {
        let mut frames = 0u32;
        match reader.next_record(|page, bytes| {
            assert!(page > 0 && bytes.len() == page_size);
            frames += 1;
            Ok(())
        }) {
            Ok(Some(Record::Commit(commit))) => assert_eq!(commit.frames, frames),
            Ok(Some(Record::Rows { tables, .. })) => {
                assert_eq!(frames, 0);
                assert!(tables.len() <= ROWS_MAX_BYTES / 10);
            }
            _ => break,
        }
    }
});

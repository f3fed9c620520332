//! One line of an event stream (an event, a `journalctl -o json` record, or anything): an event or a
//! reason to skip it, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = magi_core::event::parse_line(data, 1);
});

//! A server-sent event stream from upstream, cut into two chunks anywhere, and the JSON of each event
//! looked into as the gateway does for usage and errors. Never a panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use magi_limits::openai::{RequestPeek, Usage, stream_error, strip_usage};
use magi_limits::sse::Splitter;

fuzz_target!(|data: &[u8]| {
    let cut = data
        .first()
        .map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let mut splitter = Splitter::default();
    let mut events = Vec::new();
    splitter.push(&Bytes::copy_from_slice(&data[..cut]), &mut events);
    splitter.push(&Bytes::copy_from_slice(&data[cut..]), &mut events);
    for event in &events {
        let _ = event.objects([b"usage", b"error"]);
        if let Some(json) = event.data() {
            let _ = Usage::read(&json);
            let _ = stream_error(&json);
            let _ = strip_usage(&json);
        }
    }
    let _ = splitter.finish();
    let _ = RequestPeek::read(data);
});

//! An upstream's answer on the wire, as magi-limits' HTTP/1 client reads it: the head, then a chunked
//! body. Never a panic, and the body never decodes to more bytes than arrived.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use magi_limits::h1::{Chunked, parse_head};

fuzz_target!(|data: &[u8]| {
    let (split, rest) = data.split_at(data.len() / 2);
    let mut buf = BytesMut::from(split);
    let _ = parse_head(&mut buf, &http::Method::POST);
    buf.extend_from_slice(rest);
    let _ = parse_head(&mut buf, &http::Method::GET);
    let arrived = data.len();
    let mut chunked = Chunked::default();
    let mut body = BytesMut::from(data);
    let mut decoded = 0;
    for _ in 0..4 {
        match chunked.decode(&mut body) {
            Ok(piece) => decoded += piece.len(),
            Err(_) => break,
        }
        if chunked.is_done() {
            break;
        }
    }
    assert!(decoded <= arrived);
});

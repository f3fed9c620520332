//! What a client sends magi-users in its headers: cookies, a bearer token, a redirect target, a
//! forwarded-for chain. Never a panic; a redirect that is accepted stays on the site.
#![no_main]

use libfuzzer_sys::fuzz_target;
use magi_usage::keys::bearer;
use magi_users::request::{client_address, cookie, safe_redirect};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = bearer(text);
    let _ = cookie(text.split('\n'), "magi_session");
    let peer: std::net::SocketAddr = "127.0.0.1:1".parse().expect("an address");
    let _ = client_address(Some(text), peer, &[peer.ip()]);
    if let Some(target) = safe_redirect(text, Some("magi.example.org")) {
        assert!(
            !target.starts_with("//") && !target.starts_with("/\\"),
            "{target}"
        );
    }
});

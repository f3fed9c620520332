//! Reading what the proxy forwards: the session cookie, an `Authorization: Bearer` key, the URL the browser
//! asked for, the client's address, and whether a login may redirect back to where it was sent from. Pure
//! functions of header text, so property tests can throw anything at them.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The value of cookie `name` in `Cookie` header values (`a=1; b=2`); the first one wins.
pub fn cookie<'a>(values: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    values
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The host the browser addressed: `X-Forwarded-Host`, else `Host`.
pub fn host(headers: &HeaderMap) -> Option<&str> {
    header(headers, "x-forwarded-host")
        .map(|h| h.split(',').next().unwrap_or(h).trim())
        .or_else(|| header(headers, "host"))
}

/// The URL the browser asked for, from what the proxy forwards: `X-Original-URL` (nginx, as a whole), or
/// `X-Forwarded-Proto` + host + `X-Forwarded-Uri` (Caddy, Traefik) or `X-Original-URI` (nginx, a path).
pub fn original_url(headers: &HeaderMap) -> Option<String> {
    if let Some(url) = header(headers, "x-original-url")
        && (url.starts_with("https://") || url.starts_with("http://"))
    {
        return Some(url.to_owned());
    }
    let path = header(headers, "x-forwarded-uri").or_else(|| header(headers, "x-original-uri"))?;
    if !path.starts_with('/') {
        return None;
    }
    let proto = match header(headers, "x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("http") => "http",
        _ => "https",
    };
    Some(format!("{proto}://{}{path}", host(headers)?))
}

/// The client's address: when the peer is one of the `trusted` proxies, the last entry of
/// `X-Forwarded-For` (the one that proxy added; earlier entries are the client's to forge); else the peer's,
/// whatever the header says.
pub fn client_address(forwarded_for: Option<&str>, peer: SocketAddr, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer.ip()) {
        return peer.ip();
    }
    forwarded_for
        .and_then(|v| v.rsplit(',').map(str::trim).find(|s| !s.is_empty()))
        .and_then(|s| s.parse().ok())
        .unwrap_or(peer.ip())
}

/// Whether a form post comes from a page of this site, as the browser says: `Sec-Fetch-Site` (when sent)
/// is `same-origin` or `none`, and `Origin` (when sent) names the host the request was sent to. A client
/// that sends neither is not a browser, and a CSRF attack needs a browser.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let site = headers
        .get("sec-fetch-site")
        .map(|v| matches!(v.as_bytes(), b"same-origin" | b"none"));
    let origin = headers.get(axum::http::header::ORIGIN).map(|v| {
        let origin = v.to_str().unwrap_or("");
        let authority = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        authority.is_some_and(|a| host(headers).is_some_and(|h| h.eq_ignore_ascii_case(a)))
    });
    site.unwrap_or(true) && origin.unwrap_or(true)
}

/// Where a login may send the browser back to: a path on this site, or an http(s) URL of `host`, the host
/// the login page was asked for. Anything else (other hosts, `//evil`, `javascript:`) is refused, so the login
/// page cannot be used to bounce people to another site.
pub fn safe_redirect(target: &str, host: Option<&str>) -> Option<String> {
    if target.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    if target.starts_with('/') && !target.starts_with("//") {
        return Some(target.to_owned());
    }
    let rest = target
        .strip_prefix("https://")
        .or_else(|| target.strip_prefix("http://"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    (!authority.is_empty()
        && !authority.contains('@')
        && host.is_some_and(|h| h.eq_ignore_ascii_case(authority)))
    .then(|| target.to_owned())
}

/// Whether the client is a browser that can be sent to a login page (it accepts HTML), rather than an API
/// client that wants a status code.
pub fn wants_html(headers: &HeaderMap) -> bool {
    header(headers, "accept").is_some_and(|a| a.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;
    use magi_usage::keys::bearer;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn cookies_are_found_among_others() {
        assert_eq!(
            cookie(["a=1; magi_session=xyz; b=2"], "magi_session"),
            Some("xyz")
        );
        assert_eq!(
            cookie(["a=1", "magi_session=\"q\""], "magi_session"),
            Some("q")
        );
        assert_eq!(cookie(["xmagi_session=1"], "magi_session"), None);
        assert_eq!(cookie(["magi_session="], "magi_session"), None);
    }

    #[test]
    fn the_original_url_comes_from_either_proxy_convention() {
        let caddy = headers(&[
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "magi.lan:8080"),
            ("x-forwarded-uri", "/c/123?x=1"),
        ]);
        assert_eq!(
            original_url(&caddy).as_deref(),
            Some("http://magi.lan:8080/c/123?x=1")
        );
        let nginx = headers(&[("x-original-url", "https://magi.example.org/chat")]);
        assert_eq!(
            original_url(&nginx).as_deref(),
            Some("https://magi.example.org/chat")
        );
        let path_only = headers(&[("host", "magi.example.org"), ("x-original-uri", "/a")]);
        assert_eq!(
            original_url(&path_only).as_deref(),
            Some("https://magi.example.org/a")
        );
        assert_eq!(original_url(&headers(&[("host", "h")])), None);
    }

    #[test]
    fn the_proxy_added_address_wins_over_forged_ones() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let trusted = [peer.ip()];
        assert_eq!(
            client_address(Some("6.6.6.6, 10.0.0.7"), peer, &trusted).to_string(),
            "10.0.0.7"
        );
        assert_eq!(
            client_address(Some("garbage"), peer, &trusted).to_string(),
            "127.0.0.1"
        );
        assert_eq!(
            client_address(None, peer, &trusted).to_string(),
            "127.0.0.1"
        );
        let stranger: SocketAddr = "192.0.2.9:5000".parse().unwrap();
        assert_eq!(
            client_address(Some("10.0.0.7"), stranger, &trusted).to_string(),
            "192.0.2.9",
            "a peer that is no trusted proxy cannot name another address"
        );
    }

    #[test]
    fn redirects_stay_on_this_site() {
        let host = Some("magi.lan");
        assert_eq!(
            safe_redirect("/chat?x=1", host).as_deref(),
            Some("/chat?x=1")
        );
        assert_eq!(
            safe_redirect("https://magi.lan/c", host).as_deref(),
            Some("https://magi.lan/c")
        );
        for bad in [
            "//evil.org/x",
            "https://evil.org/",
            "https://magi.lan@evil.org/",
            "javascript:alert(1)",
            "/\\evil.org",
            "https://magi.lan.evil.org/",
        ] {
            assert_eq!(safe_redirect(bad, host), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn cookie_parsing_finds_what_was_set_among_any_noise(
            noise in "[ -~]{0,80}",
            value in "[0-9a-f]{1,64}",
        ) {
            let noise = noise.replace("magi_session", "x");
            let line = format!("{noise}; magi_session={value}; {noise}");
            let first = cookie([noise.as_str()], "magi_session");
            prop_assert_eq!(first, None);
            prop_assert_eq!(cookie([line.as_str()], "magi_session"), Some(value.as_str()));
        }

        #[test]
        fn header_parsers_never_panic(text in "\\PC{0,200}") {
            let _ = cookie([text.as_str()], "magi_session");
            let _ = bearer(&text);
            let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
            let _ = client_address(Some(&text), peer, &[peer.ip()]);
            if let Ok(value) = HeaderValue::from_str(&text) {
                let mut map = HeaderMap::new();
                map.insert("x-forwarded-uri", value.clone());
                map.insert("x-forwarded-host", value.clone());
                map.insert("x-original-url", value);
                let _ = original_url(&map);
            }
        }

        #[test]
        fn a_redirect_never_leaves_the_host(target in "\\PC{0,100}", host in "[a-z]{1,10}\\.lan") {
            if let Some(to) = safe_redirect(&target, Some(&host)) {
                prop_assert_eq!(&to, &target);
                let same_site = (to.starts_with('/') && !to.starts_with("//"))
                    || to.starts_with(&format!("https://{host}"))
                    || to.starts_with(&format!("http://{host}"));
                prop_assert!(same_site, "{to}");
                let after = to.split_once("://").map(|(_, r)| r).unwrap_or("");
                let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
                prop_assert!(authority.is_empty() || authority.eq_ignore_ascii_case(&host));
            }
        }

        #[test]
        fn bearer_round_trips(token in "[!-~]{1,100}") {
            let header = format!("Bearer {token}");
            prop_assert_eq!(bearer(&header), Some(token.as_str()));
        }
    }
}

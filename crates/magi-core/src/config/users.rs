//! The `[users]` section of the configuration: how `magi-users serve` listens, where its login page is, its
//! cookies, session timeouts and brute-force protection.
//!
//! Every field is optional in the file; what it does not name keeps its default.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::alert::{format_duration, parse_duration};

/// The effective `[users]` configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsersConfig {
    /// Where `magi-users serve` listens (loopback: only the reverse proxy talks to it).
    pub listen: SocketAddr,
    /// Where the proxy serves the login page, as the browser sees it: a path on the same host
    /// (`/magi-users/login`) or a full URL; `/auth` redirects there with `?rd=` the original URL.
    pub login_url: String,
    /// Mark cookies `Secure` (sent over HTTPS only). Off only for a plain-HTTP LAN.
    pub secure_cookies: bool,
    /// The cookie's `Domain` (e.g. `example.org` to share a login between subdomains); none is this host only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie_domain: Option<String>,
    /// A session not used for this long ends.
    #[serde(serialize_with = "duration")]
    pub session_idle: Duration,
    /// A session ends this long after the login, used or not.
    #[serde(serialize_with = "duration")]
    pub session_lifetime: Duration,
    /// From this many failed logins in a row (per account and per client address), answers slow down.
    pub backoff_after: u32,
    /// At this many failed logins in a row, the account or address is locked out for `lockout`.
    pub lockout_after: u32,
    #[serde(serialize_with = "duration")]
    pub lockout: Duration,
    /// The reverse proxies whose `X-Forwarded-For` names the client; from any other peer the header is the
    /// client's to forge and is ignored. Loopback by default: Caddy or nginx on the same host.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl UsersConfig {
    /// Loopback on 9091, secure cookies, 12 h idle and 7 d absolute sessions, slower answers from 3
    /// failures and a 15-minute lockout at 10.
    pub fn defaults() -> UsersConfig {
        UsersConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
            login_url: "/magi-users/login".into(),
            secure_cookies: true,
            cookie_domain: None,
            session_idle: Duration::from_secs(12 * 3600),
            session_lifetime: Duration::from_secs(7 * 86400),
            backoff_after: 3,
            lockout_after: 10,
            lockout: Duration::from_secs(15 * 60),
            trusted_proxies: vec![
                std::net::IpAddr::from([127, 0, 0, 1]),
                std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            ],
        }
    }

    /// Applies the file's `[users]` table; `invalid` makes an error that names the dotted key.
    pub(super) fn apply(
        &mut self,
        file: FileUsers,
        invalid: &dyn Fn(String, String) -> super::ConfigError,
    ) -> Result<(), super::ConfigError> {
        let key = |f: &str| format!("users.{f}");
        let positive = |f: &str, text: &str| -> Result<Duration, super::ConfigError> {
            match parse_duration(text) {
                Ok(d) if d.is_zero() => Err(invalid(key(f), "must be longer than 0s".into())),
                Ok(d) => Ok(d),
                Err(m) => Err(invalid(key(f), m)),
            }
        };
        if let Some(listen) = file.listen {
            self.listen = listen.parse().map_err(|_| {
                invalid(
                    key("listen"),
                    format!("'{listen}' is not an address and port (e.g. 127.0.0.1:9091)"),
                )
            })?;
        }
        if let Some(url) = file.login_url {
            if !(url.starts_with('/') || url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(invalid(
                    key("login_url"),
                    format!("'{url}' is neither a path (/magi-users/login) nor an http(s) URL"),
                ));
            }
            self.login_url = url;
        }
        if let Some(secure) = file.secure_cookies {
            self.secure_cookies = secure;
        }
        if let Some(domain) = file.cookie_domain {
            if domain.is_empty() || domain.contains([' ', ';', ',', '/']) {
                return Err(invalid(
                    key("cookie_domain"),
                    format!("'{domain}' is not a domain name"),
                ));
            }
            self.cookie_domain = Some(domain);
        }
        if let Some(text) = file.session_idle {
            self.session_idle = positive("session_idle", &text)?;
        }
        if let Some(text) = file.session_lifetime {
            self.session_lifetime = positive("session_lifetime", &text)?;
        }
        if let Some(text) = file.lockout {
            self.lockout = positive("lockout", &text)?;
        }
        if let Some(n) = file.backoff_after {
            self.backoff_after = n;
        }
        if let Some(proxies) = file.trusted_proxies {
            self.trusted_proxies = proxies
                .iter()
                .map(|p| {
                    p.parse().map_err(|_| {
                        invalid(
                            key("trusted_proxies"),
                            format!("'{p}' is not an IP address"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(n) = file.lockout_after {
            if n == 0 {
                return Err(invalid(key("lockout_after"), "must be 1 or more".into()));
            }
            self.lockout_after = n;
        }
        Ok(())
    }
}

fn duration<S: serde::Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*d))
}

/// The `[users]` table as written: every field optional, every unknown key an error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileUsers {
    listen: Option<String>,
    login_url: Option<String>,
    secure_cookies: Option<bool>,
    cookie_domain: Option<String>,
    session_idle: Option<String>,
    session_lifetime: Option<String>,
    backoff_after: Option<u32>,
    lockout_after: Option<u32>,
    lockout: Option<String>,
    trusted_proxies: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{invalid, load};

    #[test]
    fn the_file_overrides_the_server_settings_and_reads_back() {
        let config = load(
            "[users]\nlisten = \"127.0.0.1:19091\"\nsecure_cookies = false\nsession_idle = \"30m\"\n\
             lockout_after = 5\nlockout = \"2s\"\ncookie_domain = \"example.org\"\n",
        )
        .unwrap();
        assert_eq!(config.users.listen.port(), 19091);
        assert!(!config.users.secure_cookies);
        assert_eq!(config.users.session_idle.as_secs(), 1800);
        assert_eq!(config.users.lockout_after, 5);
        assert_eq!(
            config.users.session_lifetime.as_secs(),
            7 * 86400,
            "unnamed fields keep their defaults"
        );
        let shown = config.to_toml();
        assert_eq!(load(&shown).unwrap().users, config.users, "{shown}");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, expected) in [
            ("[users]\nlisten = \"localhost\"\n", "users.listen"),
            ("[users]\nlogin_url = \"login\"\n", "users.login_url"),
            ("[users]\nsession_idle = \"0s\"\n", "users.session_idle"),
            ("[users]\nlockout_after = 0\n", "users.lockout_after"),
            ("[users]\ncookie_domain = \"a b\"\n", "users.cookie_domain"),
            ("[users]\nsecure = false\n", "users.secure"),
        ] {
            let (line, key, _) = invalid(text);
            assert_eq!((key.as_str(), line), (expected, 2), "{text}");
        }
    }
}

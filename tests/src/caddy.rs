//! Debian's Caddy on loopback with a generated Caddyfile: one site on a free port of 127.0.0.1 around the
//! test's snippet, no admin endpoint, no automatic HTTPS, every file it writes under a temporary directory,
//! run in the foreground (`caddy run`) and stopped on drop. The packaged `caddy.service` plays no part.

use std::fs;
use std::process::Command;
use std::time::Duration;

use crate::daemon::Daemon;
use crate::port::free_port;

/// The caddy binary (Debian's `caddy` package).
pub const CADDY: &str = "/usr/bin/caddy";

/// A running Caddy; stopped on drop.
#[derive(Debug)]
pub struct Caddy {
    port: u16,
    dir: tempfile::TempDir,
    _daemon: Daemon,
}

impl Caddy {
    /// Starts Caddy serving `site_snippet` (e.g. `reverse_proxy 127.0.0.1:4000`) inside its one site block,
    /// on a free port of 127.0.0.1. Panics with Caddy's log when it does not come up.
    pub fn start(site_snippet: &str) -> Caddy {
        let dir = tempfile::Builder::new()
            .prefix("magi-caddy-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a directory for Caddy: {e}"));
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let file = dir.path().join("Caddyfile");
            fs::write(&file, caddyfile(port, site_snippet))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
            let mut command = Command::new(CADDY);
            command
                .args(["run", "--adapter", "caddyfile", "--config"])
                .arg(&file)
                .env("HOME", dir.path())
                .env("XDG_DATA_HOME", dir.path().join("data"))
                .env("XDG_CONFIG_HOME", dir.path().join("config"));
            let log = dir.path().join("caddy.log");
            let mut daemon = Daemon::spawn("caddy", command, &log);
            let ready = daemon.wait_ready(Duration::from_secs(15), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            match ready {
                Ok(()) => {
                    return Caddy {
                        port,
                        dir,
                        _daemon: daemon,
                    };
                }
                Err(e) => {
                    last_error = e.message().to_owned();
                    if !last_error.contains("address already in use") {
                        break;
                    }
                }
            }
        }
        panic!("{last_error}")
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Caddy's log so far (JSON lines).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("caddy.log")).unwrap_or_default()
    }
}

fn caddyfile(port: u16, snippet: &str) -> String {
    format!(
        "# Written by magi-testkit.\n\
{{\n\
\tadmin off\n\
\tauto_https off\n\
}}\n\
\n\
:{port} {{\n\
\tbind 127.0.0.1\n\
{snippet}\n\
}}\n"
    )
}

//! Debian's nginx on loopback with a generated config: one `server` block around the test's snippet, every
//! path (pid, logs, temp files) under a temporary prefix, in the foreground, stopped on drop.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::daemon::Daemon;
use crate::port::free_port;

/// The nginx binary (Debian's `nginx-light`, `nginx-core` and `nginx` all install it here).
pub const NGINX: &str = "/usr/sbin/nginx";

/// A running nginx; stopped on drop.
#[derive(Debug)]
pub struct Nginx {
    port: u16,
    prefix: tempfile::TempDir,
    _daemon: Daemon,
}

impl Nginx {
    /// Starts nginx listening on a free port of 127.0.0.1 with `server_snippet` inside its one `server`
    /// block (e.g. `location / { proxy_pass http://127.0.0.1:4000; }`). Panics with `nginx -t`'s complaint
    /// when the snippet is invalid.
    pub fn start(server_snippet: &str) -> Nginx {
        Nginx::start_with("", server_snippet)
    }

    /// Like [`Nginx::start`], with `http_snippet` in the `http` block before the `server` block (e.g. an
    /// `upstream` with `keepalive`).
    pub fn start_with(http_snippet: &str, server_snippet: &str) -> Nginx {
        let prefix = tempfile::Builder::new()
            .prefix("magi-nginx-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a prefix dir for nginx: {e}"));
        for dir in ["logs", "temp", "html"] {
            let path = prefix.path().join(dir);
            fs::create_dir(&path)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        }
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = prefix.path().join("nginx.conf");
            fs::write(
                &conf,
                config(prefix.path(), port, http_snippet, server_snippet),
            )
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
            check(prefix.path(), &conf);
            let mut command = Command::new(NGINX);
            command
                .arg("-p")
                .arg(prefix.path())
                .arg("-e")
                .arg(prefix.path().join("logs/error.log"))
                .arg("-c")
                .arg(&conf);
            let mut daemon =
                Daemon::spawn("nginx", command, &prefix.path().join("logs/stderr.log"));
            let ready = daemon.wait_ready(Duration::from_secs(10), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            match ready {
                Ok(()) => {
                    return Nginx {
                        port,
                        prefix,
                        _daemon: daemon,
                    };
                }
                Err(e) => {
                    let error_log = fs::read_to_string(prefix.path().join("logs/error.log"))
                        .unwrap_or_default();
                    last_error = format!("{}\nerror.log:\n{error_log}", e.message());
                    if !error_log.contains("Address already in use") {
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

    /// The error log's text so far.
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.prefix.path().join("logs/error.log")).unwrap_or_default()
    }

    /// The access log's text so far (nginx's `combined` format).
    pub fn access_log(&self) -> String {
        fs::read_to_string(self.prefix.path().join("logs/access.log")).unwrap_or_default()
    }

    /// The prefix directory (`logs/`, `temp/`, `html/` the default root).
    pub fn prefix(&self) -> PathBuf {
        self.prefix.path().to_owned()
    }
}

fn config(prefix: &Path, port: u16, http_snippet: &str, snippet: &str) -> String {
    let p = prefix.display();
    let user = if nix::unistd::geteuid().is_root() {
        "user root;\n"
    } else {
        ""
    };
    format!(
        "# Written by magi-testkit.\n\
{user}worker_processes 1;\n\
daemon off;\n\
pid {p}/nginx.pid;\n\
error_log {p}/logs/error.log info;\n\
events {{ worker_connections 1024; }}\n\
http {{\n\
    access_log {p}/logs/access.log combined;\n\
    client_body_temp_path {p}/temp/body;\n\
    proxy_temp_path {p}/temp/proxy;\n\
    fastcgi_temp_path {p}/temp/fastcgi;\n\
    uwsgi_temp_path {p}/temp/uwsgi;\n\
    scgi_temp_path {p}/temp/scgi;\n\
    default_type application/octet-stream;\n\
{http_snippet}\n\
    server {{\n\
        listen 127.0.0.1:{port};\n\
        server_name localhost;\n\
        root {p}/html;\n\
{snippet}\n\
    }}\n\
}}\n"
    )
}

/// `nginx -t`: a broken snippet fails here with nginx's own message, not as a timeout.
fn check(prefix: &Path, conf: &Path) {
    let output = Command::new(NGINX)
        .arg("-t")
        .arg("-q")
        .arg("-p")
        .arg(prefix)
        .arg("-e")
        .arg(prefix.join("logs/error.log"))
        .arg("-c")
        .arg(conf)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {NGINX}: {e}"));
    if !output.status.success() {
        panic!(
            "nginx rejects the generated config {}: {}",
            conf.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
}

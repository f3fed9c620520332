//! A real SMTP server on loopback that keeps what it receives: aiosmtpd, run by
//! `tests/fixtures/smtp_sink.py`, saving each message with its envelope to a directory the test reads.
//! Plain SMTP by default; AUTH (PLAIN/LOGIN), and STARTTLS or implicit TLS with a throwaway certificate, on
//! request.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::daemon::Daemon;

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_tos: Vec<String>,
    /// The user that authenticated, if AUTH was used.
    pub login: Option<String>,
    /// Whether the message came over TLS (STARTTLS or implicit).
    pub tls: bool,
    /// The message as received (headers and body).
    pub raw: String,
}

impl ReceivedMail {
    /// The value of the first header named `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut value: Option<String> = None;
        for line in self.raw.lines().take_while(|l| !l.is_empty()) {
            match (&mut value, line.starts_with([' ', '\t'])) {
                (Some(v), true) => {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                (Some(_), false) => break,
                (None, _) => {
                    if let Some((key, rest)) = line.split_once(':')
                        && key.eq_ignore_ascii_case(name)
                    {
                        value = Some(rest.trim().to_owned());
                    }
                }
            }
        }
        value
    }
}

#[derive(Deserialize)]
struct Envelope {
    mail_from: String,
    rcpt_tos: Vec<String>,
    login: Option<String>,
    tls: bool,
}

/// Options for [`SmtpServer::with`].
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    /// Require AUTH with this user and password.
    pub login: Option<(String, String)>,
    /// Offer STARTTLS with a self-signed certificate for `localhost` (see [`SmtpServer::certificate`]).
    pub starttls: bool,
    /// Speak TLS from the first byte (SMTPS) with the same kind of certificate; wins over `starttls`.
    pub implicit_tls: bool,
}

/// A running SMTP sink; stopped on drop.
#[derive(Debug)]
pub struct SmtpServer {
    port: u16,
    dir: tempfile::TempDir,
    _daemon: Daemon,
}

impl SmtpServer {
    /// Plain SMTP, no authentication.
    pub fn start() -> SmtpServer {
        SmtpServer::with(SmtpOptions::default())
    }

    /// A server with AUTH and/or TLS.
    pub fn with(options: SmtpOptions) -> SmtpServer {
        let dir = tempfile::Builder::new()
            .prefix("magi-smtp-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for the SMTP server: {e}"));
        let messages = dir.path().join("messages");
        fs::create_dir(&messages)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", messages.display()));
        let port_file = dir.path().join("port");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/smtp_sink.py");
        let mut command = Command::new("python3");
        command
            .arg(&script)
            .arg("--dir")
            .arg(&messages)
            .arg("--port-file")
            .arg(&port_file);
        if let Some((user, password)) = &options.login {
            command.arg("--login").arg(format!("{user}:{password}"));
        }
        if options.starttls || options.implicit_tls {
            let (cert, key) = self_signed(dir.path());
            command
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
        }
        if options.implicit_tls {
            command.arg("--implicit-tls");
        }
        let mut daemon = Daemon::spawn("the SMTP sink", command, &dir.path().join("smtp.log"));
        daemon
            .wait_ready(Duration::from_secs(15), || port_file.exists())
            .unwrap_or_else(|e| panic!("{}", e.message()));
        let port = fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{} holds no port", port_file.display()));
        SmtpServer {
            port,
            dir,
            _daemon: daemon,
        }
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The certificate (PEM) the server presents over TLS, for clients that must trust it.
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The messages received so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let dir = self.dir.path().join("messages");
        let mut stems: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .map(|p| p.with_extension(""))
            .collect();
        stems.sort();
        stems
            .into_iter()
            .map(|stem| {
                let json = stem.with_extension("json");
                let envelope: Envelope = serde_json::from_slice(
                    &fs::read(&json).unwrap_or_else(|e| panic!("{}: {e}", json.display())),
                )
                .unwrap_or_else(|e| panic!("{}: {e}", json.display()));
                let eml = stem.with_extension("eml");
                let raw = fs::read(&eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
                ReceivedMail {
                    mail_from: envelope.mail_from,
                    rcpt_tos: envelope.rcpt_tos,
                    login: envelope.login,
                    tls: envelope.tls,
                    raw: String::from_utf8_lossy(&raw).into_owned(),
                }
            })
            .collect()
    }

    /// Waits until at least `count` messages arrived and returns them all; panics at the timeout.
    pub fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            if Instant::now() > deadline {
                panic!(
                    "the SMTP server received {} message(s) within {timeout:?}, expected {count}",
                    messages.len()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A throwaway self-signed certificate for `localhost` and 127.0.0.1, made with `openssl`.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let output = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl to make a test certificate: {e}"));
    assert!(
        output.status.success(),
        "`openssl req -x509 ...` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (cert, key)
}

//! Channels: where notices go, named by Apprise-style URLs, and the one attempt to send a notice there.
//!
//! | URL | sends |
//! |---|---|
//! | `https://host/path`, `http://...` | the generic JSON body, POST |
//! | `ntfy://host/topic` (HTTP), `ntfys://host/topic` (HTTPS), `ntfy://topic` (ntfy.sh) | ntfy JSON: title, priority, tags |
//! | `slack://T/B/X` (hooks.slack.com), `slack+https://host/path` | a Slack incoming-webhook body |
//! | `discord://ID/TOKEN` (discord.com), `discord+https://host/path` | a Discord webhook body |
//! | `smtp://[user@]host[:587]?to=a@b,c@d[&from=..][&tls=starttls][&ca=FILE]` | an email over STARTTLS (required) |
//! | `smtps://[user@]host[:465]?to=...[&ca=FILE]` | an email over implicit TLS |
//! | `exec:///path/to/command[?arg=X&arg=Y]` | runs the command, the event on its stdin |
//!
//! A password is never part of a URL, because URLs end up in argv, `ps` and shell history: `user:pw@` is
//! refused. An SMTP channel with a user reads its password from the secret reference given as `password` in
//! the config or `password_file=` in the URL (a path or a systemd credential name), or else from the
//! credential `smtp-password`; the password is read again before each attempt, so a fixed password file
//! is used by the next retry. `tls=none` (plain SMTP) is only accepted for a loopback server.
//!
//! TLS trusts the public (Mozilla) roots. A server with a private CA or a self-signed certificate is trusted
//! by giving its PEM certificate as `ca=FILE` in the URL or `ca` in the config: added to the roots, never
//! replacing them, and the host name is still checked. STARTTLS is required on `smtp://`: a server that does
//! not offer it gets nothing, not the mail in clear text.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls as Wire, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use magi_core::paths::Paths;
use magi_core::secret::{Secret, SecretError, read_secret};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::notice::Notice;

/// How long one attempt may take before it counts as failed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// The credential an SMTP user's password is read from when the channel names none.
pub const DEFAULT_SMTP_CREDENTIAL: &str = "smtp-password";

/// What is stored with a delivery so it can be sent after a restart: the URL and the secret's reference,
/// never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSpec {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A PEM file of extra trusted CA certificates (email channels), beside `ca=` in the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
}

impl ChannelSpec {
    /// A channel given only by its URL (`--to URL`).
    pub fn url(url: impl Into<String>) -> ChannelSpec {
        ChannelSpec {
            url: url.into(),
            password: None,
            ca: None,
        }
    }

    /// A channel of `[alert.channels.NAME]`.
    pub fn configured(channel: &magi_core::config::AlertChannel) -> ChannelSpec {
        ChannelSpec {
            url: channel.url.clone(),
            password: channel.password.clone(),
            ca: channel.ca.clone(),
        }
    }
}

/// A channel URL that cannot be used, with what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("channel '{name}': {message}")]
    Invalid { name: String, message: String },
    #[error("channel '{name}': {source}")]
    Secret { name: String, source: SecretError },
}

/// One failed attempt: whether trying again can help, and what the other end said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// A rejection that will not change (a 404, a mailbox that does not exist): no retry.
    pub permanent: bool,
    pub message: String,
    /// The server asked to wait this long (HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl SendError {
    fn transient(message: impl Into<String>) -> SendError {
        SendError {
            permanent: false,
            message: message.into(),
            retry_after: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebFormat {
    Generic,
    Slack,
    Discord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Starttls,
    Implicit,
    None,
}

#[derive(Debug)]
enum Target {
    Web { url: String, format: WebFormat },
    Ntfy { server: String, topic: String },
    Email(Box<Email>),
    Exec { program: PathBuf, args: Vec<String> },
}

#[derive(Debug)]
struct Email {
    host: String,
    port: u16,
    tls: Tls,
    /// Extra trusted roots from `ca`: the file, and its certificates as read at start-up.
    ca: Option<(String, Certificate)>,
    credentials: Option<Login>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

/// An SMTP login: the user, where the password is kept, and the password as last read from there.
#[derive(Debug)]
struct Login {
    user: String,
    reference: String,
    paths: Paths,
    secret: Secret,
}

impl Login {
    /// The password as the reference holds it now, so a password fixed after a refusal is used by the next
    /// retry without a restart.
    fn password(&self) -> Result<Secret, SecretError> {
        read_secret(&self.reference, &self.paths)
    }
}

/// A channel ready to send.
#[derive(Debug)]
pub struct Channel {
    pub name: String,
    pub spec: ChannelSpec,
    target: Target,
    agent: ureq::Agent,
}

impl Channel {
    /// Parses the URL and reads the password it needs, so a mistake shows at start-up, not at the first alert.
    pub fn open(name: &str, spec: ChannelSpec, paths: &Paths) -> Result<Channel, ChannelError> {
        // A URL given with a password is named without it, so the refusal does not repeat the secret.
        let shown = match Url::parse(name) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(None);
                u.to_string()
            }
            _ => name.to_owned(),
        };
        let invalid = |message: String| ChannelError::Invalid {
            name: shown.clone(),
            message,
        };
        let url = Url::parse(&spec.url)
            .map_err(|e| invalid(format!("'{}' is not a URL: {e}", spec.url)))?;
        if url.password().is_some() {
            return Err(invalid(
                "a password does not belong in a URL (it would show in ps and shell history): put it in a \
                 file and give password_file=FILE, or LoadCredential=smtp-password"
                    .into(),
            ));
        }
        let query = |key: &str| -> Vec<String> {
            url.query_pairs()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
                .collect()
        };
        let host = || {
            url.host_str()
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| invalid("the URL names no host".into()))
        };
        let segments: Vec<String> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let scheme = url.scheme();
        let target = match scheme {
            "http" | "https" => Target::Web {
                url: spec.url.clone(),
                format: WebFormat::Generic,
            },
            "slack+http" | "slack+https" | "discord+http" | "discord+https" => {
                let (format, inner) = scheme.split_once('+').expect("the scheme has a +");
                Target::Web {
                    url: format!("{inner}{}", &spec.url[scheme.len()..]),
                    format: if format == "slack" {
                        WebFormat::Slack
                    } else {
                        WebFormat::Discord
                    },
                }
            }
            "slack" => {
                let tokens: Vec<String> = std::iter::once(host()?).chain(segments).collect();
                if tokens.len() != 3 {
                    return Err(invalid("write slack://TOKEN_A/TOKEN_B/TOKEN_C (the three parts of the hooks.slack.com URL)".into()));
                }
                Target::Web {
                    url: format!("https://hooks.slack.com/services/{}", tokens.join("/")),
                    format: WebFormat::Slack,
                }
            }
            "discord" => {
                let tokens: Vec<String> = std::iter::once(host()?).chain(segments).collect();
                if tokens.len() != 2 {
                    return Err(invalid("write discord://WEBHOOK_ID/WEBHOOK_TOKEN".into()));
                }
                Target::Web {
                    url: format!("https://discord.com/api/webhooks/{}", tokens.join("/")),
                    format: WebFormat::Discord,
                }
            }
            "ntfy" | "ntfys" => {
                let web = if scheme == "ntfys" { "https" } else { "http" };
                let authority = match url.port() {
                    Some(p) => format!("{}:{p}", host()?),
                    None => host()?,
                };
                match segments.as_slice() {
                    [] => Target::Ntfy {
                        server: "https://ntfy.sh".into(),
                        topic: host()?,
                    },
                    [topic] => Target::Ntfy {
                        server: format!("{web}://{authority}"),
                        topic: topic.clone(),
                    },
                    _ => {
                        return Err(invalid(
                            "write ntfy://HOST/TOPIC (or ntfys:// for HTTPS)".into(),
                        ));
                    }
                }
            }
            "smtp" | "smtps" => {
                let host = host()?;
                let mut tls = if scheme == "smtps" {
                    Tls::Implicit
                } else {
                    Tls::Starttls
                };
                match query("tls").first().map(String::as_str) {
                    None => {}
                    Some("starttls") if scheme == "smtp" => {}
                    Some("implicit") if scheme == "smtps" => {}
                    Some("none") if scheme == "smtp" => {
                        if !is_loopback(&host) {
                            return Err(invalid(format!(
                                "tls=none sends mail in clear text; it is only accepted for a server on this machine, not {host}"
                            )));
                        }
                        tls = Tls::None;
                    }
                    Some(other) => {
                        return Err(invalid(format!(
                            "tls={other}: smtp:// takes tls=starttls or tls=none (loopback only); smtps:// is implicit TLS"
                        )));
                    }
                }
                let port = url
                    .port()
                    .unwrap_or(if tls == Tls::Implicit { 465 } else { 587 });
                let to: Vec<Mailbox> = query("to")
                    .iter()
                    .flat_map(|v| {
                        v.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect::<Vec<_>>()
                    })
                    .map(|a| {
                        a.parse::<Mailbox>()
                            .map_err(|e| invalid(format!("to={a}: {e}")))
                    })
                    .collect::<Result<_, _>>()?;
                if to.is_empty() {
                    return Err(invalid(
                        "an email channel needs ?to=ADDRESS (several: to=a@x,b@y)".into(),
                    ));
                }
                let from = match query("from").first() {
                    Some(f) => f
                        .parse::<Mailbox>()
                        .map_err(|e| invalid(format!("from={f}: {e}")))?,
                    None => format!("magi-alert@{}", magi_core::event::hostname())
                        .parse::<Mailbox>()
                        .or_else(|_| "magi-alert@localhost".parse())
                        .map_err(|e| {
                            invalid(format!(
                                "cannot make a sender address: {e}; give from=ADDRESS"
                            ))
                        })?,
                };
                let user = percent_decode(url.username());
                let credentials = if user.is_empty() {
                    None
                } else {
                    let reference = spec
                        .password
                        .clone()
                        .or_else(|| query("password_file").into_iter().next())
                        .unwrap_or_else(|| DEFAULT_SMTP_CREDENTIAL.into());
                    let secret =
                        read_secret(&reference, paths).map_err(|source| ChannelError::Secret {
                            name: name.to_owned(),
                            source,
                        })?;
                    Some(Login {
                        user,
                        reference,
                        paths: paths.clone(),
                        secret,
                    })
                };
                let ca = match spec.ca.clone().or_else(|| query("ca").into_iter().next()) {
                    None => None,
                    Some(_) if tls == Tls::None => {
                        return Err(invalid(
                            "ca= has no use with tls=none (no TLS): drop one of them".into(),
                        ));
                    }
                    Some(file) => Some((file.clone(), read_ca(&file).map_err(invalid)?)),
                };
                Target::Email(Box::new(Email {
                    host,
                    port,
                    tls,
                    ca,
                    credentials,
                    from,
                    to,
                }))
            }
            "exec" => {
                let path = PathBuf::from(percent_decode(url.path()));
                if !path.is_absolute() || url.host_str().is_some_and(|h| !h.is_empty()) {
                    return Err(invalid(
                        "write exec:///ABSOLUTE/PATH (three slashes)".into(),
                    ));
                }
                Target::Exec {
                    program: path,
                    args: query("arg"),
                }
            }
            other => {
                return Err(invalid(format!(
                    "unknown scheme '{other}' (known: {})",
                    magi_core::config::CHANNEL_SCHEMES.join(", ")
                )));
            }
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(ATTEMPT_TIMEOUT))
            .http_status_as_error(false)
            .user_agent(concat!("magi-alert/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Channel {
            name: name.to_owned(),
            spec,
            target,
            agent,
        })
    }

    /// One attempt to deliver. `key` is the delivery's idempotency key, sent along so a receiver can drop a
    /// duplicate. On success, the server's answer.
    pub fn send(&self, notice: &Notice, key: &str) -> Result<String, SendError> {
        match &self.target {
            Target::Web { url, format } => {
                let body = match format {
                    WebFormat::Generic => notice.generic_json(key),
                    WebFormat::Slack => notice.slack_json(),
                    WebFormat::Discord => notice.discord_json(),
                };
                self.post(url, &body, key)
            }
            Target::Ntfy { server, topic } => {
                self.post(&format!("{server}/"), &notice.ntfy_json(topic), key)
            }
            Target::Email(email) => email.send(notice, key),
            Target::Exec { program, args } => exec(program, args, notice, key),
        }
    }

    fn post(&self, url: &str, body: &serde_json::Value, key: &str) -> Result<String, SendError> {
        let mut response = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .send(body.to_string())
            .map_err(|e| SendError::transient(format!("POST {}: {e}", redact(url))))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response
            .body_mut()
            .with_config()
            .limit(4096)
            .read_to_string()
            .unwrap_or_default();
        let answer = format!("{} {}", status.as_u16(), one_line(&text));
        let code = status.as_u16();
        if status.is_success() {
            Ok(answer)
        } else {
            Err(SendError {
                permanent: (400..500).contains(&code) && !matches!(code, 408 | 425 | 429),
                message: format!("POST {} answered {answer}", redact(url)),
                retry_after,
            })
        }
    }
}

impl Email {
    fn send(&self, notice: &Notice, key: &str) -> Result<String, SendError> {
        let host = magi_core::event::hostname();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(notice.headline())
            .message_id(Some(format!("<{key}.magi-alert@{host}>")));
        if notice.alert > 0 {
            let thread = format!("<alert-{}.magi-alert@{host}>", notice.alert);
            builder = builder.references(thread.clone()).in_reply_to(thread);
        }
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let mut message = builder
            .header(ContentType::TEXT_PLAIN)
            .body(notice.body())
            .map_err(|e| SendError {
                permanent: true,
                message: format!("cannot build the email: {e}"),
                retry_after: None,
            })?;
        for (name, value) in [
            ("X-MAGI-Alert", notice.alert.to_string()),
            ("X-MAGI-Status", notice.kind.as_str().to_owned()),
            ("X-MAGI-Subject", notice.subject.clone()),
            ("X-MAGI-Severity", notice.severity.as_str().to_owned()),
        ] {
            message.headers_mut().insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str(name),
                value,
            ));
        }
        let at = format!("smtp {}:{}", self.host, self.port);
        let wire = match self.tls {
            Tls::None => Wire::None,
            Tls::Starttls => Wire::Required(self.tls_parameters(&at)?),
            Tls::Implicit => Wire::Wrapper(self.tls_parameters(&at)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(&self.host)
            .port(self.port)
            .tls(wire)
            .timeout(Some(ATTEMPT_TIMEOUT));
        if let Some(login) = &self.credentials {
            let password = login.password().unwrap_or_else(|e| {
                log::warn!("{e}; using the password read before");
                login.secret.clone()
            });
            builder = builder.credentials(Credentials::new(
                login.user.clone(),
                password.expose().to_owned(),
            ));
        }
        match builder.build().send(&message) {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) => Err(self.failure(&at, &e)),
        }
    }

    /// The public roots, plus the `ca` certificates if any; the host name is always checked.
    ///
    /// Without `ca`, rustls with the Mozilla roots. With `ca`, OpenSSL with the system's roots and the
    /// file: the usual self-signed server certificate (`openssl req -x509`, as most self-hosted mail servers
    /// make one) is marked CA:TRUE, and rustls refuses a CA certificate as a server's own
    /// (`CaUsedAsEndEntity`) even when it is the trusted root itself; OpenSSL trusts it as given.
    fn tls_parameters(&self, at: &str) -> Result<TlsParameters, SendError> {
        let builder = TlsParameters::builder(self.host.clone());
        let built = match &self.ca {
            None => builder.build_rustls(),
            Some((_, certificate)) => builder
                .add_root_certificate(certificate.clone())
                .build_native(),
        };
        built.map_err(|e| SendError::transient(format!("{at}: cannot set up TLS: {e}")))
    }

    /// One line that says what went wrong and what to do about it. A refused login is worth retrying (the
    /// password gets fixed; the notice is still good); other 5xx answers are refusals of this message.
    fn failure(&self, at: &str, e: &lettre::transport::smtp::Error) -> SendError {
        let code = e.status().map(u16::from);
        let detail = one_line(&e.to_string());
        let (permanent, message) = match (code, &self.credentials) {
            (Some(530 | 534 | 535 | 538), Some(login)) => (
                false,
                format!(
                    "{at}: the server refused the login of '{}' ({detail}); check the password in {}",
                    login.user, login.reference
                ),
            ),
            (Some(530), None) => (
                false,
                format!(
                    "{at}: the server wants a login ({detail}); give the user in the URL, smtp://USER@{}",
                    self.host
                ),
            ),
            _ if detail.contains("STARTTLS is not supported") => (
                false,
                format!(
                    "{at}: the server does not offer STARTTLS, so the mail was not sent (never in clear text); enable TLS on the server, or use tls=none for a server on this machine"
                ),
            ),
            _ if e.is_tls() || detail.contains("certificate") => {
                let hint = match &self.ca {
                    Some((file, _)) => {
                        format!("the certificates trusted are the public roots and {file}")
                    }
                    None => {
                        "for a private CA or a self-signed server give its certificate as ca=FILE"
                            .into()
                    }
                };
                (false, format!("{at}: TLS failed ({detail}); {hint}"))
            }
            _ => (e.is_permanent(), format!("{at}: {detail}")),
        };
        SendError {
            permanent,
            message,
            retry_after: None,
        }
    }
}

/// The certificates of a `ca` PEM file.
fn read_ca(file: &str) -> Result<Certificate, String> {
    if !file.starts_with('/') {
        return Err(format!(
            "ca={file} is not an absolute path: give the PEM file as /PATH/TO/ca.pem"
        ));
    }
    let pem = std::fs::read(file).map_err(|e| format!("ca={file}: cannot read it: {e}"))?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(format!(
            "ca={file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    Certificate::from_pem(&pem).map_err(|e| format!("ca={file}: not a PEM certificate: {e}"))
}

/// Runs the command with the event on stdin and the alert in `MAGI_ALERT_*`; exit 0 is success.
fn exec(
    program: &PathBuf,
    args: &[String],
    notice: &Notice,
    key: &str,
) -> Result<String, SendError> {
    let shown = program.display();
    let mut child = Command::new(program)
        .args(args)
        .env("MAGI_ALERT_ID", notice.alert.to_string())
        .env("MAGI_ALERT_STATUS", notice.kind.as_str())
        .env("MAGI_ALERT_RULE", &notice.rule)
        .env("MAGI_ALERT_SUBJECT", &notice.subject)
        .env("MAGI_ALERT_SEVERITY", notice.severity.as_str())
        .env("MAGI_ALERT_TITLE", notice.headline())
        .env("MAGI_ALERT_DELIVERY", key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SendError::transient(format!("cannot run {shown}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let line = format!("{}\n", notice.event.to_line());
        // A command that does not read its stdin is its own business; its exit status decides.
        let _ = stdin.write_all(line.as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= ATTEMPT_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SendError::transient(format!(
                    "{shown} did not finish within {}s; killed",
                    ATTEMPT_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(SendError::transient(format!("waiting for {shown}: {e}"))),
        }
    };
    let mut output = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.by_ref().take(4096).read_to_string(&mut output);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.by_ref().take(4096).read_to_string(&mut output);
    }
    let output = one_line(&output);
    if status.success() {
        Ok(format!("{shown} exited 0 {output}").trim().to_owned())
    } else {
        Err(SendError::transient(
            format!("{shown} failed ({status}) {output}")
                .trim()
                .to_owned(),
        ))
    }
}

/// A server's answer as one short line for logs and history.
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A URL fit for logs, listings and errors: the scheme and host, without a password, and without a path or
/// query that may hold a token (Slack's and Discord's webhook URLs are their token; a generic webhook's
/// path often is). `exec://` and mail URLs keep their path and address, which are no secrets.
pub fn redact(url: &str) -> String {
    let Ok(u) = Url::parse(url) else {
        return url.to_owned();
    };
    match u.scheme() {
        "exec" => url.to_owned(),
        "smtp" | "smtps" => {
            let mut shown = u.clone();
            let _ = shown.set_password(None);
            shown.to_string()
        }
        scheme => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let host = u.host_str().unwrap_or("");
            let hidden = (u.path().len() > 1 || u.query().is_some()) as usize;
            format!("{scheme}://{host}{port}{}", ["", "/…"][hidden])
        }
    }
}

/// Why `url` may not be given on the command line, where any user can read it (`ps`, `/proc`): the URL is
/// a credential (Slack's and Discord's webhook URLs are their token), or it carries a password or a token in
/// its query. Such a channel belongs in `[alert.channels]` of the config, and `--to` takes its name.
pub fn secret_on_command_line(url: &str) -> Option<&'static str> {
    let parsed = Url::parse(url).ok()?;
    let scheme = parsed.scheme();
    if scheme.starts_with("slack") || scheme.starts_with("discord") {
        return Some("a Slack or Discord webhook URL is its token");
    }
    if parsed.password().is_some() {
        return Some("it holds a password");
    }
    // `password_file=` names a file, which is the way to keep a password out of the URL.
    let secret_key = |k: &str| {
        let k = k.to_ascii_lowercase();
        !k.ends_with("_file")
            && ["token", "key", "secret", "sig", "password", "auth"]
                .iter()
                .any(|s| k.contains(s))
    };
    if parsed.query_pairs().any(|(k, _)| secret_key(&k)) {
        return Some("its query holds a token");
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn open(url: &str) -> Result<Channel, ChannelError> {
        Channel::open(
            "t",
            ChannelSpec::url(url),
            &Paths::for_test(Path::new("/nonexistent")),
        )
    }

    fn web(url: &str) -> (String, WebFormat) {
        match open(url).unwrap().target {
            Target::Web { url, format } => (url, format),
            other => panic!("{other:?}"),
        }
    }

    fn error(url: &str) -> String {
        open(url).unwrap_err().to_string()
    }

    #[test]
    fn web_urls_pick_their_format() {
        assert_eq!(
            web("https://example.org/hook"),
            ("https://example.org/hook".into(), WebFormat::Generic)
        );
        assert_eq!(
            web("slack://TA/TB/TC"),
            (
                "https://hooks.slack.com/services/TA/TB/TC".into(),
                WebFormat::Slack
            )
        );
        assert_eq!(
            web("slack+http://127.0.0.1:9/x"),
            ("http://127.0.0.1:9/x".into(), WebFormat::Slack)
        );
        assert_eq!(
            web("discord://123/tok"),
            (
                "https://discord.com/api/webhooks/123/tok".into(),
                WebFormat::Discord
            )
        );
        assert!(error("slack://TA/TB").contains("TOKEN_C"));
    }

    #[test]
    fn ntfy_urls_follow_apprise() {
        let ntfy = |url| match open(url).unwrap().target {
            Target::Ntfy { server, topic } => (server, topic),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            ntfy("ntfy://127.0.0.1:8080/ops"),
            ("http://127.0.0.1:8080".into(), "ops".into())
        );
        assert_eq!(
            ntfy("ntfys://ntfy.example.org/ops"),
            ("https://ntfy.example.org".into(), "ops".into())
        );
        assert_eq!(
            ntfy("ntfy://magi-ops"),
            ("https://ntfy.sh".into(), "magi-ops".into())
        );
    }

    #[test]
    fn smtp_urls_and_their_secrets() {
        let email = |url| match open(url).unwrap().target {
            Target::Email(e) => e,
            other => panic!("{other:?}"),
        };
        let e = email(
            "smtp://mail.example.org?to=ops@example.org,oncall@example.org&from=MAGI%20%3Cmagi@example.org%3E",
        );
        assert_eq!((e.port, e.tls, e.to.len()), (587, Tls::Starttls, 2));
        assert_eq!(e.from.to_string(), "MAGI <magi@example.org>");
        assert_eq!(email("smtps://mail.example.org?to=a@b.c").port, 465);
        assert_eq!(
            email("smtp://127.0.0.1:2525?to=a@b.c&tls=none").tls,
            Tls::None
        );
        assert!(
            error("smtp://mail.example.org:25?to=a@b.c&tls=none")
                .contains("only accepted for a server on this machine")
        );
        assert!(
            error("smtp://u:hunter2@mail.example.org?to=a@b.c")
                .contains("password does not belong")
        );
        assert!(!error("smtp://u:hunter2@mail.example.org?to=a@b.c").contains("hunter2"));
        assert!(error("smtp://mail.example.org").contains("needs ?to="));
        let missing = error("smtp://alerts@mail.example.org?to=a@b.c");
        assert!(
            missing.contains("secret 'smtp-password' not found"),
            "{missing}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let e = email(&format!(
            "smtp://alerts%40example.org@mail.example.org?to=a@b.c&password_file={}",
            file.display()
        ));
        let login = e.credentials.unwrap();
        assert_eq!(
            (login.user.as_str(), login.secret.expose()),
            ("alerts@example.org", "s3cret")
        );
        std::fs::write(&file, "fixed\n").unwrap();
        assert_eq!(
            login.password().unwrap().expose(),
            "fixed",
            "read again for each attempt"
        );
    }

    #[test]
    fn smtp_ca_adds_a_pem_file_to_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ca.pem");
        // A real certificate, so the PEM parses (its trust is not checked here).
        std::fs::write(&pem, TEST_CERT).unwrap();
        let ca = |url: String| match open(&url).unwrap().target {
            Target::Email(e) => e.ca.map(|(file, _)| file),
            other => panic!("{other:?}"),
        };
        let file = pem.display().to_string();
        assert_eq!(
            ca(format!("smtp://mail.example.org?to=a@b.c&ca={file}")),
            Some(file.clone())
        );
        assert_eq!(
            ca(format!("smtps://mail.example.org?to=a@b.c&ca={file}")),
            Some(file.clone())
        );
        assert_eq!(ca("smtp://mail.example.org?to=a@b.c".into()), None);
        let configured = Channel::open(
            "mail",
            ChannelSpec {
                ca: Some(file.clone()),
                ..ChannelSpec::url("smtps://mail.example.org?to=a@b.c")
            },
            &Paths::for_test(Path::new("/nonexistent")),
        )
        .unwrap();
        assert!(matches!(configured.target, Target::Email(e) if e.ca.is_some()));
        assert!(
            error("smtp://mail.example.org?to=a@b.c&ca=/nonexistent/ca.pem")
                .contains("ca=/nonexistent/ca.pem: cannot read it")
        );
        assert!(error("smtp://mail.example.org?to=a@b.c&ca=ca.pem").contains("absolute path"));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(
            error(&format!(
                "smtp://mail.example.org?to=a@b.c&ca={}",
                empty.display()
            ))
            .contains("holds no PEM certificate")
        );
        assert!(
            error(&format!("smtp://127.0.0.1:25?to=a@b.c&tls=none&ca={file}"))
                .contains("no use with tls=none")
        );
    }

    /// A self-signed certificate for `localhost` (only parsed, never trusted).
    const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBfjCCASOgAwIBAgIULtOf6P/nlL7RcNfGzy1jBe4GSlUwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MB4XDTI2MTEyNDA0MTExMFoXDTM2MTEyMTA0
MTExMFowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEzCylCaAnEBHKrSWQe4A0+Fn5GEfuAJ6uoMKPJJ3vpgSj04rIWIUX49tX
ArgVgcco4y3SNR96oZfoyiFdbqWHvKNTMFEwHQYDVR0OBBYEFBdCjhX36gxdrbru
k0rj7uBJmllEMB8GA1UdIwQYMBaAFBdCjhX36gxdrbruk0rj7uBJmllEMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAOtdlBpqu9Lw1nEQ7Zdsna3u
ATWTB80Ks4rijVwx0XpDAiEA5p0g7GgXm80vtcxgAaUcxlHeKuVLCFTB1zg8H341
AE8=
-----END CERTIFICATE-----
";

    #[test]
    fn exec_urls_need_an_absolute_path() {
        match open("exec:///usr/bin/logger?arg=-t&arg=magi")
            .unwrap()
            .target
        {
            Target::Exec { program, args } => {
                assert_eq!(
                    (program, args),
                    (
                        PathBuf::from("/usr/bin/logger"),
                        vec!["-t".to_string(), "magi".into()]
                    )
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(error("exec://usr/bin/logger").contains("three slashes"));
        assert!(error("gopher://x").contains("unknown scheme"));
    }

    #[test]
    fn logs_do_not_show_webhook_tokens() {
        assert_eq!(
            redact("https://hooks.slack.com/services/T/B/secret"),
            "https://hooks.slack.com/…"
        );
        assert!(!redact("http://127.0.0.1:9/hook/secret").contains("secret"));
        for url in [
            "slack://T000/B000/secret",
            "discord://1234/secret",
            "discord+https://example.org/api/webhooks/1/secret",
            "ntfys://ntfy.example.org/secret-topic",
            "https://hooks.example.org/x?token=secret",
            "smtp://alerts:secret@mail.example.org?to=ops@example.org",
        ] {
            assert!(!redact(url).contains("secret"), "{url}: {}", redact(url));
        }
        assert_eq!(redact("exec:///usr/bin/logger"), "exec:///usr/bin/logger");
    }

    #[test]
    fn urls_that_are_credentials_are_kept_off_the_command_line() {
        for url in [
            "slack://T000/B000/secret",
            "discord+https://example.org/api/webhooks/1/secret",
            "https://user:secret@hooks.example.org/x",
            "https://hooks.example.org/x?api_key=secret",
        ] {
            assert!(secret_on_command_line(url).is_some(), "{url}");
        }
        for url in [
            "ntfy://ntfy.example.org/magi",
            "smtp://alerts@mail.example.org:587?to=ops@example.org",
            "exec:///usr/bin/logger",
            "https://hooks.example.org/magi",
        ] {
            assert_eq!(secret_on_command_line(url), None, "{url}");
        }
    }
}

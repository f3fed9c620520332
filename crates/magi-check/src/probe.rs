//! Asking a service whether it answers, through its own endpoint: an HTTP(S) GET that must answer 2xx, a
//! Redis `PING` over TCP, or a bare TCP connect. Every probe is bounded by its timeout as a whole (connect, request
//! and answer), so an endpoint that accepts the connection and then hangs costs the timeout and no more.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper::Request;
use hyper_util::rt::TokioIo;
use magi_core::Probe;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// The service answered as it should; `detail` says how ("HTTP 200", "PONG").
    Answered {
        #[serde(serialize_with = "millis")]
        latency: Duration,
        detail: String,
    },
    /// It answered wrongly or refused.
    Failed { reason: String },
    /// No answer within the timeout.
    TimedOut {
        #[serde(serialize_with = "millis")]
        after: Duration,
    },
    /// Not asked, because the answer is already known ("the container is paused").
    Skipped { reason: String },
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

impl ProbeOutcome {
    pub fn latency(&self) -> Option<Duration> {
        match self {
            ProbeOutcome::Answered { latency, .. } => Some(*latency),
            _ => None,
        }
    }
}

/// Runs `probe`, connecting to `address` instead of the probe's host when given (a container's IP for a probe
/// that names a container, as inside Compose), and gives up after `timeout`.
pub async fn run(probe: &Probe, address: Option<&str>, timeout: Duration) -> ProbeOutcome {
    let host = address.unwrap_or_else(|| probe.host()).to_owned();
    let port = probe.port();
    let started = Instant::now();
    let asked = async {
        match probe {
            Probe::Http { url } => http_get(url, &host, port).await,
            Probe::Redis { .. } => redis_ping(&host, port).await,
            Probe::Tcp { .. } => connect(&host, port).await.map(|_| "TCP connect".to_owned()),
        }
    };
    match tokio::time::timeout(timeout, asked).await {
        Ok(Ok(detail)) => ProbeOutcome::Answered {
            latency: started.elapsed(),
            detail,
        },
        Ok(Err(error)) => ProbeOutcome::Failed {
            reason: error.to_string(),
        },
        Err(_) => ProbeOutcome::TimedOut { after: timeout },
    }
}

/// Why a service did not answer its probe as it should.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot connect to {address}: {}", io_reason(source))]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("'{name}' cannot be checked against a certificate: {source}")]
    ServerName {
        name: String,
        source: tokio_rustls::rustls::pki_types::InvalidDnsNameError,
    },
    /// TLS cannot be set up on this machine (no trusted CAs): the same for every probe, so kept as text.
    #[error("{0}")]
    TlsSetup(String),
    #[error("TLS handshake failed: {0}")]
    Tls(#[source] std::io::Error),
    #[error("HTTP handshake failed: {0}")]
    Handshake(#[source] hyper::Error),
    #[error("{url} is not a valid request: {source}")]
    BadRequest {
        url: String,
        source: hyper::http::Error,
    },
    #[error("HTTP connection failed: {0}")]
    Connection(#[source] hyper::Error),
    #[error("HTTP request failed: {0}")]
    Request(#[source] hyper::Error),
    /// The service answered with a status other than 2xx.
    #[error("HTTP {0}")]
    Status(u16),
    #[error("cannot send PING: {}", io_reason(.0))]
    Send(#[source] std::io::Error),
    #[error("no reply to PING: {}", io_reason(.0))]
    NoReply(#[source] std::io::Error),
    #[error("the connection closed without a reply to PING")]
    Closed,
    /// Redis answered something other than `+PONG` (the first 80 characters).
    #[error("PING answered {0}")]
    NotPong(String),
}

async fn connect(host: &str, port: u16) -> Result<TcpStream, ProbeError> {
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|source| ProbeError::Connect {
            address: join(host, port),
            source,
        })?;
    stream.set_nodelay(true).ok();
    Ok(stream)
}

fn join(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        _ => err.to_string(),
    }
}

/// `GET` the URL's path from host:port, over TLS for `https://`; any 2xx is an answer.
async fn http_get(url: &str, host: &str, port: u16) -> Result<String, ProbeError> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let stream = connect(host, port).await?;
    if scheme != "https" {
        return request(stream, url, authority, path).await;
    }
    let name = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let server_name =
        ServerName::try_from(name.to_owned()).map_err(|source| ProbeError::ServerName {
            name: name.to_owned(),
            source,
        })?;
    let stream = TlsConnector::from(tls_config().map_err(ProbeError::TlsSetup)?)
        .connect(server_name, stream)
        .await
        .map_err(ProbeError::Tls)?;
    request(stream, url, authority, path).await
}

/// The TLS client settings, built once: the system's trusted CAs (`SSL_CERT_FILE` and `SSL_CERT_DIR` are
/// honoured, so a private CA such as Caddy's internal one can be added).
fn tls_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if roots.is_empty() {
                return Err("no trusted CA certificates found for https:// probes (install ca-certificates or set SSL_CERT_FILE)".into());
            }
            let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| format!("cannot set up TLS: {e}"))
        })
        .clone()
}

/// Sends the GET over an open connection and reads the status line.
async fn request<S>(stream: S, url: &str, authority: &str, path: &str) -> Result<String, ProbeError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ProbeError::Handshake)?;
    let request = Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::USER_AGENT, "magi-health")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<&'static [u8]>::new())
        .map_err(|source| ProbeError::BadRequest {
            url: url.to_owned(),
            source,
        })?;
    let send = sender.send_request(request);
    tokio::pin!(send);
    // The connection must be driven while the request waits; once it ends, an answer it read is delivered.
    let response = tokio::select! {
        response = &mut send => response,
        ended = connection => match ended {
            Ok(()) => send.await,
            Err(e) => return Err(ProbeError::Connection(e)),
        },
    }
    .map_err(ProbeError::Request)?;
    let status = response.status();
    if status.is_success() {
        Ok(format!("HTTP {}", status.as_u16()))
    } else {
        Err(ProbeError::Status(status.as_u16()))
    }
}

/// Sends `PING` and reads one reply line. Only `+PONG` is an answer: `-NOAUTH` means a password was set that
/// the stack's clients do not send, `-LOADING` that the data set is not in memory yet.
async fn redis_ping(host: &str, port: u16) -> Result<String, ProbeError> {
    let mut stream = connect(host, port).await?;
    stream
        .write_all(b"*1\r\n$4\r\nPING\r\n")
        .await
        .map_err(ProbeError::Send)?;
    let mut line = String::new();
    let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(stream, MAX_REPLY));
    reader
        .read_line(&mut line)
        .await
        .map_err(ProbeError::NoReply)?;
    let line = line.trim_end();
    match line {
        "+PONG" => Ok("PONG".into()),
        "" => Err(ProbeError::Closed),
        l => Err(ProbeError::NotPong(l.chars().take(80).collect())),
    }
}

/// A reply line longer than this is not Redis.
const MAX_REPLY: u64 = 512;

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A real TCP server on loopback that accepts, reads the request and answers with `reply` (or never).
    async fn server(reply: Option<&'static [u8]>) -> (u16, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                match reply {
                    Some(r) => {
                        socket.write_all(r).await.unwrap();
                        socket.shutdown().await.ok();
                    }
                    None => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                }
            }
        });
        (port, task)
    }

    fn http(port: u16, path: &str) -> Probe {
        format!("http://127.0.0.1:{port}{path}").parse().unwrap()
    }

    #[test]
    fn http_2xx_answers_and_others_fail() {
        runtime().block_on(async {
            let (ok, _a) = server(Some(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")).await;
            let outcome = run(&http(ok, "/healthz"), None, Duration::from_secs(2)).await;
            assert!(
                matches!(&outcome, ProbeOutcome::Answered { detail, .. } if detail == "HTTP 200"),
                "{outcome:?}"
            );
            let (bad, _b) = server(Some(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
            ))
            .await;
            let outcome = run(&http(bad, "/"), None, Duration::from_secs(2)).await;
            assert_eq!(
                outcome,
                ProbeOutcome::Failed {
                    reason: "HTTP 503".into()
                }
            );
        });
    }

    #[test]
    fn a_hanging_endpoint_costs_the_timeout_and_no_more() {
        runtime().block_on(async {
            let (port, _task) = server(None).await;
            for probe in [
                http(port, "/"),
                format!("redis://127.0.0.1:{port}").parse().unwrap(),
            ] {
                let started = Instant::now();
                let outcome = run(&probe, None, Duration::from_millis(300)).await;
                assert_eq!(
                    outcome,
                    ProbeOutcome::TimedOut {
                        after: Duration::from_millis(300)
                    }
                );
                assert!(
                    started.elapsed() < Duration::from_millis(600),
                    "{:?}",
                    started.elapsed()
                );
            }
        });
    }

    #[test]
    fn a_closed_port_is_refused() {
        runtime().block_on(async {
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let outcome = run(&http(port, "/"), None, Duration::from_secs(1)).await;
            assert_eq!(
                outcome,
                ProbeOutcome::Failed {
                    reason: format!("cannot connect to 127.0.0.1:{port}: connection refused")
                }
            );
        });
    }

    #[test]
    fn the_address_overrides_the_host_but_not_the_host_header() {
        runtime().block_on(async {
            let (port, _task) = server(Some(b"HTTP/1.1 204 No Content\r\n\r\n")).await;
            let probe: Probe = format!("http://magi-memory:{port}/readyz").parse().unwrap();
            let outcome = run(&probe, Some("127.0.0.1"), Duration::from_secs(2)).await;
            assert!(
                matches!(&outcome, ProbeOutcome::Answered { detail, .. } if detail == "HTTP 204"),
                "{outcome:?}"
            );
        });
    }

    /// A real redis-server on a free loopback port, with the given extra arguments; `None` where there is none
    /// (a developer machine without Redis; CI installs it and fails instead).
    fn redis(extra: &[&str]) -> Option<(u16, std::process::Child)> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .spawn();
        match child {
            Ok(child) => {
                let deadline = Instant::now() + Duration::from_secs(5);
                while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                    assert!(Instant::now() < deadline, "redis-server did not start");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Some((port, child))
            }
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("redis-server: {e}"),
            Err(e) => {
                eprintln!("skipped: redis-server is not available ({e})");
                None
            }
        }
    }

    #[test]
    fn a_real_redis_answers_ping_unless_it_wants_a_password() {
        let Some((port, mut child)) = redis(&[]) else {
            return;
        };
        let probe: Probe = format!("redis://127.0.0.1:{port}").parse().unwrap();
        let outcome = runtime().block_on(run(&probe, None, Duration::from_secs(2)));
        child.kill().ok();
        child.wait().ok();
        assert!(
            matches!(&outcome, ProbeOutcome::Answered { detail, .. } if detail == "PONG"),
            "{outcome:?}"
        );

        let Some((port, mut child)) = redis(&["--requirepass", "secret"]) else {
            return;
        };
        let probe: Probe = format!("redis://127.0.0.1:{port}").parse().unwrap();
        let outcome = runtime().block_on(run(&probe, None, Duration::from_secs(2)));
        child.kill().ok();
        child.wait().ok();
        assert_eq!(
            outcome,
            ProbeOutcome::Failed {
                reason: "PING answered -NOAUTH Authentication required.".into()
            }
        );
    }

    #[test]
    fn a_server_that_is_not_redis_fails_the_ping() {
        runtime().block_on(async {
            let (port, _task) = server(Some(b"HTTP/1.1 400 Bad Request\r\n\r\n")).await;
            let probe: Probe = format!("redis://127.0.0.1:{port}").parse().unwrap();
            assert_eq!(
                run(&probe, None, Duration::from_secs(1)).await,
                ProbeOutcome::Failed {
                    reason: "PING answered HTTP/1.1 400 Bad Request".into()
                }
            );
        });
    }
}

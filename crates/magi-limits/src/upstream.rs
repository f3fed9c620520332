//! The gateway's connections to LiteLLM: HTTP/1.1, kept alive in a pool of idle connections. A request takes
//! an idle connection (or opens one) and holds it in a [`Lease`] until its answer has been read to the end;
//! only then does the connection go back to the pool.
//!
//! A connection is driven by the task of the request that holds it, not by a task of its own: the answer's
//! body polls it ([`Lease::drive`]) before reading, so each chunk that arrived is decoded and read in the
//! same poll, with no hand-off between tasks per chunk. An idle connection in the pool is polled by nobody;
//! one that upstream closed meanwhile is found out when it is taken, and passed over.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long a connection may stay idle in the pool before it is closed.
const IDLE_LIFETIME: Duration = Duration::from_secs(60);

/// Why a request did not get an answer from upstream.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("no connection within {0:?} (--connect-timeout)")]
    ConnectTimeout(Duration),
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// One connection: the side that sends requests, and the side that does the reading and writing.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    io: Io,
}

/// The reading and writing side of a connection.
struct Io {
    connection: Connection<TokioIo<TcpStream>, Full<Bytes>>,
    /// The connection has ended (closed by upstream, or failed): it is never polled again.
    ended: bool,
}

impl Io {
    /// Reads and writes what the connection can now; true once it has ended.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.ended && self.connection.poll_without_shutdown(cx).is_ready() {
            self.ended = true;
        }
        self.ended
    }
}

/// One upstream (LiteLLM) and its idle connections.
pub struct Upstream {
    /// `host:port`.
    authority: String,
    connect_timeout: Duration,
    idle: Mutex<Vec<(Box<Conn>, Instant)>>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// A connection in use by one request: the answer's body drives it ([`Lease::drive`]), and
/// [`Lease::give_back`] returns it to the pool.
pub struct Lease {
    /// Boxed: the connection's buffers make it large, and the lease moves from the pool through the
    /// request's futures into the answer's body.
    conn: Box<Conn>,
    upstream: Arc<Upstream>,
}

impl Lease {
    /// Reads and writes what the connection can now, so the answer's body gets what arrived.
    pub fn drive(&mut self, cx: &mut Context<'_>) {
        self.conn.io.drive(cx);
    }

    /// Returns the connection to the pool: call only when its answer has been read to the end.
    pub fn give_back(self) {
        if !self.conn.io.ended && !self.conn.sender.is_closed() {
            let mut idle = self.upstream.lock();
            idle.push((self.conn, Instant::now()));
        }
    }
}

impl Upstream {
    /// LiteLLM at `base` (`http://host:port`; port 80 when it names none).
    pub fn new(base: &Uri, connect_timeout: Duration) -> Arc<Upstream> {
        let authority = base.authority().map_or_else(
            || "127.0.0.1:4000".to_owned(),
            |a| format!("{}:{}", a.host(), a.port_u16().unwrap_or(80)),
        );
        Arc::new(Upstream {
            authority,
            connect_timeout,
            idle: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Box<Conn>, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle connection that is young enough.
    fn checkout(&self) -> Option<Box<Conn>> {
        let mut idle = self.lock();
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < IDLE_LIFETIME {
                return Some(conn);
            }
        }
        None
    }

    async fn connect(&self) -> Result<Box<Conn>, UpstreamError> {
        let stream =
            tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.authority))
                .await
                .map_err(|_| UpstreamError::ConnectTimeout(self.connect_timeout))?
                .map_err(UpstreamError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        Ok(Box::new(Conn {
            sender,
            io: Io {
                connection,
                ended: false,
            },
        }))
    }

    /// Sends the request `make` builds on an idle connection, or on a new one; a kept-alive connection that
    /// upstream closed before the request could leave is passed over (the request is built anew for the
    /// next), never counted as a failure.
    pub async fn send(
        self: &Arc<Self>,
        make: impl Fn() -> Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Lease), UpstreamError> {
        while let Some(mut conn) = self.checkout() {
            // A connection that upstream closed while it sat idle ends at its first poll.
            if std::future::poll_fn(|cx| Poll::Ready(conn.io.drive(cx))).await {
                continue;
            }
            match send_on(&mut conn, make()).await {
                Ok(response) => return Ok((response, self.lease(conn))),
                Err(e) if e.is_canceled() || e.is_closed() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let mut conn = self.connect().await?;
        let response = send_on(&mut conn, make()).await?;
        Ok((response, self.lease(conn)))
    }

    fn lease(self: &Arc<Self>, conn: Box<Conn>) -> Lease {
        Lease {
            conn,
            upstream: Arc::clone(self),
        }
    }
}

/// Sends `request` on `conn` once it can take one, and waits for the answer's head, driving the connection
/// meanwhile.
async fn send_on(
    conn: &mut Conn,
    request: Request<Full<Bytes>>,
) -> Result<Response<Incoming>, hyper::Error> {
    let Conn { sender, io } = conn;
    std::future::poll_fn(|cx| {
        io.drive(cx);
        sender.poll_ready(cx)
    })
    .await?;
    let mut response = pin!(sender.send_request(request));
    std::future::poll_fn(|cx| {
        io.drive(cx);
        response.as_mut().poll(cx)
    })
    .await
}

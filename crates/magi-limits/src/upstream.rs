//! The gateway's connections to LiteLLM: HTTP/1.1, kept alive in a pool of idle connections, each driven by
//! a task of its own. A request takes an idle connection (or opens one) and holds it in a [`Lease`] until its
//! answer has been read to the end; only then does the connection go back to the pool, so a connection in
//! the pool is always free for the next request.
//!
//! This replaces hyper-util's general-purpose client, which for every streamed answer spawned a task to
//! watch for the connection's return and raced each checkout against a new connection: work a gateway with
//! one upstream does not need, on the path of every request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
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

/// One upstream (LiteLLM) and its idle connections.
#[derive(Debug)]
pub struct Upstream {
    /// `host:port`.
    authority: String,
    connect_timeout: Duration,
    idle: Mutex<Vec<(SendRequest<Full<Bytes>>, Instant)>>,
}

/// A connection in use by one request; [`Lease::give_back`] returns it to the pool.
#[derive(Debug)]
pub struct Lease {
    sender: SendRequest<Full<Bytes>>,
    upstream: Arc<Upstream>,
}

impl Lease {
    /// Returns the connection to the pool: call only when its answer has been read to the end.
    pub fn give_back(self) {
        if !self.sender.is_closed() {
            let mut idle = self.upstream.lock();
            idle.push((self.sender, Instant::now()));
        }
    }
}

impl Upstream {
    pub fn new(authority: String, connect_timeout: Duration) -> Arc<Upstream> {
        Arc::new(Upstream {
            authority,
            connect_timeout,
            idle: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(SendRequest<Full<Bytes>>, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle connection that is still open and young enough.
    fn checkout(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.lock();
        while let Some((sender, since)) = idle.pop() {
            if !sender.is_closed() && since.elapsed() < IDLE_LIFETIME {
                return Some(sender);
            }
        }
        None
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, UpstreamError> {
        let stream =
            tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.authority))
                .await
                .map_err(|_| UpstreamError::ConnectTimeout(self.connect_timeout))?
                .map_err(UpstreamError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::debug!("upstream connection ended: {e}");
            }
        });
        Ok(sender)
    }

    /// Sends the request `make` builds on an idle connection, or on a new one; a kept-alive connection that
    /// upstream closed before the request could leave is passed over (the request is built anew for the
    /// next), never counted as a failure.
    pub async fn send(
        self: &Arc<Self>,
        make: impl Fn() -> Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Lease), UpstreamError> {
        while let Some(mut sender) = self.checkout() {
            if sender.ready().await.is_err() {
                continue;
            }
            match sender.send_request(make()).await {
                Ok(response) => return Ok((response, self.lease(sender))),
                Err(e) if e.is_canceled() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let mut sender = self.connect().await?;
        sender.ready().await?;
        let response = sender.send_request(make()).await?;
        Ok((response, self.lease(sender)))
    }

    fn lease(self: &Arc<Self>, sender: SendRequest<Full<Bytes>>) -> Lease {
        Lease {
            sender,
            upstream: Arc::clone(self),
        }
    }
}

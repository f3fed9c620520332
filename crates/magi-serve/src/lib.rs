//! The HTTP/1 accept loop every MAGI daemon serves with (the limits gateway, forward-auth, the health
//! server): one loop, so each gets the same defences against a client that never finishes.
//!
//! - A connection cap: one permit per open connection; at the cap the next client waits in the kernel's
//!   listen queue instead of costing a descriptor, so `accept` never fails for want of one. The default cap
//!   is the open-file limit less room for the daemon's own files.
//! - A header timeout: a client has that long to send a request's head, and to start the next one on a
//!   kept-alive connection; then the connection is closed. Bodies are the service's to bound, since only
//!   it knows what it reads.
//! - A graceful stop: when `shutdown` resolves the listener closes, answers in flight get the grace period
//!   to finish, and what is still open after it is dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// How long clients may take and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The longest a client may take to send a request's head, or to start the next on a kept-alive
    /// connection.
    pub header_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// How long answers in flight may take to finish once the server is told to stop.
    pub grace: Duration,
}

impl Bounds {
    /// A 10 s header timeout, the connection cap of [`connection_limit`] and 10 s of grace.
    pub fn defaults() -> Bounds {
        Bounds {
            header_timeout: Duration::from_secs(10),
            max_connections: connection_limit(),
            grace: Duration::from_secs(10),
        }
    }
}

/// The default connection cap: the soft open-file limit less 64 descriptors for the daemon's own files
/// (databases, the listener, logging), between 16 and 16384.
pub fn connection_limit() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| soft);
    usize::try_from(soft.saturating_sub(64))
        .unwrap_or(usize::MAX)
        .clamp(16, 16384)
}

/// Serves connections from `listener` until `shutdown` resolves, each with the service `service` makes for
/// the peer's address, within `bounds`; then stops as [`Bounds::grace`] says.
pub async fn serve<S, B>(
    listener: TcpListener,
    bounds: Bounds,
    service: impl Fn(SocketAddr) -> S,
    shutdown: impl Future<Output = ()>,
) where
    S: HttpService<Incoming, ResBody = B> + Send + 'static,
    S::Future: Send,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_timeout);
    let slots = Arc::new(tokio::sync::Semaphore::new(bounds.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service(peer)));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                log::debug!("connection from {peer} ended: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    log::info!("stopping: finishing the answers in flight");
    if tokio::time::timeout(bounds.grace, graceful.shutdown())
        .await
        .is_err()
    {
        log::warn!(
            "answers still in flight after {}s; stopping anyway",
            bounds.grace.as_secs()
        );
    }
}

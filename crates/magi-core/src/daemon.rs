//! What every MAGI daemon does with systemd, written once: take the socket systemd passed
//! (`LISTEN_FDS`, a `.socket` unit) or bind its own, tell systemd it is ready and stopping, feed the
//! watchdog, and stop on SIGTERM or SIGINT. Each call is harmless outside systemd: the notifications go
//! nowhere without `NOTIFY_SOCKET`, and without `WATCHDOG_USEC` there is no watchdog to feed.

use std::net::SocketAddr;
use std::time::Duration;

/// Why a daemon could not get its listening socket.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("the socket passed by systemd (LISTEN_FDS) is not a TCP listener: {0}")]
    Passed(std::io::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// The TCP socket systemd passed (the first of `LISTEN_FDS`), else a new one bound to `address`.
pub async fn listener(address: SocketAddr) -> Result<tokio::net::TcpListener, ListenError> {
    let passed = listenfd::ListenFd::from_env()
        .take_tcp_listener(0)
        .map_err(ListenError::Passed)?;
    if let Some(socket) = passed {
        socket.set_nonblocking(true).map_err(ListenError::Passed)?;
        log::info!("listening on the socket systemd passed");
        return tokio::net::TcpListener::from_std(socket).map_err(ListenError::Passed);
    }
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ListenError::Bind { address, source })
}

/// Resolves at the first SIGTERM or SIGINT, saying which; never, if the handlers cannot be installed.
pub async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => log::info!("SIGTERM: stopping"),
                _ = int.recv() => log::info!("SIGINT: stopping"),
            }
        }
        _ => std::future::pending().await,
    }
}

/// Tells systemd the daemon is ready (`Type=notify`), with a status line for `systemctl status`.
pub fn ready(status: &str) {
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(status),
    ]);
}

/// Tells systemd the daemon is stopping.
pub fn stopping() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
}

/// Feeds the watchdog once.
pub fn watchdog_ping() {
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
}

/// The watchdog interval systemd set for this process (`WatchdogSec=`), if any.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_passed_socket_the_daemon_binds_its_own_and_names_a_taken_address() {
        let own = listener("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let taken = own.local_addr().unwrap();
        let error = listener(taken).await.unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("cannot listen on {taken}: ")),
            "{error}"
        );
    }
}

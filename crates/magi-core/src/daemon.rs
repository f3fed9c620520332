//! What every MAGI daemon does with systemd, written once: take the socket or FIFO systemd passed
//! (`LISTEN_FDS`, a `.socket` unit) or bind its own, tell systemd it is ready and stopping, feed the
//! watchdog, and stop on SIGTERM or SIGINT (in an async runtime or on a plain thread). Each call is harmless
//! outside systemd: the notifications go nowhere without `NOTIFY_SOCKET`, and without `WATCHDOG_USEC` there
//! is no watchdog to feed.

use std::net::SocketAddr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::OnceLock;
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

/// The FIFO systemd passed (`ListenFIFO=`, the first of `LISTEN_FDS` for this process), as a path to open.
/// It is reopened through `/proc/self/fd` rather than read through the passed descriptor because systemd
/// passes it non-blocking, and a reader wants to block until a line comes.
pub fn passed_fifo() -> Option<PathBuf> {
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok());
    (for_us && count.is_some_and(|n| n >= 1)).then(|| PathBuf::from("/proc/self/fd/3"))
}

/// Which signal asked a process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Terminate,
    Interrupt,
}

impl StopSignal {
    /// The exit code of a process ended by this signal, as shells report it: 143 and 130.
    pub fn exit_code(self) -> u8 {
        match self {
            StopSignal::Terminate => 143,
            StopSignal::Interrupt => 130,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Interrupt => "SIGINT",
        }
    }
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// SIGTERM and SIGINT, watched from the moment of [`StopSignals::install`] (a signal that comes before the
/// first [`StopSignals::recv`] is kept, not lost).
#[derive(Debug)]
pub struct StopSignals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Installs the handlers; needs a Tokio runtime.
    pub fn install() -> std::io::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// The next stop signal.
    pub async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.terminate.recv() => StopSignal::Terminate,
            _ = self.interrupt.recv() => StopSignal::Interrupt,
        }
    }
}

/// Resolves at the first SIGTERM or SIGINT, saying which in the log; never, if the handlers cannot be
/// installed.
pub async fn stop_signal() {
    match StopSignals::install() {
        Ok(mut signals) => {
            let signal = signals.recv().await;
            log::info!("{signal}: stopping");
        }
        Err(_) => std::future::pending().await,
    }
}

/// For a daemon made of plain threads: blocks SIGTERM and SIGINT in the calling thread (and so in every
/// thread it starts afterwards; call this first) and runs `on_stop` on a thread of its own at the first of
/// them.
pub fn on_stop_signal(on_stop: impl FnOnce(StopSignal) + Send + 'static) -> std::io::Result<()> {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    set.thread_block().map_err(std::io::Error::from)?;
    std::thread::Builder::new()
        .name("stop-signal".into())
        .spawn(move || {
            if let Ok(signal) = set.wait() {
                on_stop(if signal == Signal::SIGINT {
                    StopSignal::Interrupt
                } else {
                    StopSignal::Terminate
                });
            }
        })?;
    Ok(())
}

/// How a daemon tells its service manager how it is; [`Systemd`] in production, a recorder in tests.
pub trait Notifier {
    fn notify(&self, states: &[sd_notify::NotifyState<'_>]);
}

/// The `NOTIFY_SOCKET` of the service manager, if there is one. Messages are sent without blocking: a
/// service manager that does not read must not stop the daemon (it will notice the silence on its own).
#[derive(Debug, Default)]
pub struct Systemd {
    socket: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
}

impl Systemd {
    /// The notifier for `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace); silent without it.
    pub fn from_env() -> Systemd {
        let Some(target) = std::env::var_os("NOTIFY_SOCKET").filter(|v| !v.is_empty()) else {
            return Systemd::default();
        };
        let address = match target.as_encoded_bytes().strip_prefix(b"@") {
            Some(name) => std::os::unix::net::SocketAddr::from_abstract_name(name),
            None => std::os::unix::net::SocketAddr::from_pathname(&target),
        };
        let socket = UnixDatagram::unbound().and_then(|s| s.set_nonblocking(true).map(|()| s));
        match (socket, address) {
            (Ok(socket), Ok(address)) => Systemd {
                socket: Some((socket, address)),
            },
            (Err(e), _) | (_, Err(e)) => {
                log::warn!(
                    "NOTIFY_SOCKET={}: {e}; not notifying the service manager",
                    target.to_string_lossy()
                );
                Systemd::default()
            }
        }
    }
}

impl Notifier for Systemd {
    fn notify(&self, states: &[sd_notify::NotifyState<'_>]) {
        let Some((socket, address)) = &self.socket else {
            return;
        };
        let message: String = states.iter().map(|s| format!("{s}\n")).collect();
        if let Err(e) = socket.send_to_addr(message.as_bytes(), address) {
            log::debug!("cannot notify the service manager: {e}");
        }
    }
}

/// This process's service manager, found once.
fn manager() -> &'static Systemd {
    static MANAGER: OnceLock<Systemd> = OnceLock::new();
    MANAGER.get_or_init(Systemd::from_env)
}

/// Tells systemd the daemon is ready (`Type=notify`), with a status line for `systemctl status`.
pub fn ready(status: &str) {
    manager().notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(status),
    ]);
}

/// Tells systemd the daemon is stopping.
pub fn stopping() {
    manager().notify(&[sd_notify::NotifyState::Stopping]);
}

/// Feeds the watchdog once.
pub fn watchdog_ping() {
    manager().notify(&[sd_notify::NotifyState::Watchdog]);
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

//! Free loopback ports for servers that must be told their port before they start.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that nothing listens on right now. Another process may take it before the server
/// that is given it binds it; the servers of the rig retry with a new port when that happens.
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free ports on 127.0.0.1 (all held open until every one is found, so none repeats).
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap_or_else(|e| panic!("cannot find a free port on 127.0.0.1: {e}"))
        })
        .collect();
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .unwrap_or_else(|e| panic!("a bound listener has no address: {e}"))
                .port()
        })
        .collect()
}

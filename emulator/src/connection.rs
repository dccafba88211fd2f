//! Per-connection control: the means to drop a client's connection from inside a handler.
//!
//! Dropped connections are faults the emulator must really inject (the client sees a reset or a
//! closed socket, not an HTTP answer), which a handler cannot do by returning a response. Each
//! accepted connection gets a token; the connection task races the HTTP exchange against it, so
//! cancelling the token drops the socket at once.

use tokio_util::sync::CancellationToken;

/// Request extension that lets a handler drop its connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnectionControl {
    kill: CancellationToken,
}

impl ConnectionControl {
    pub(crate) fn new(kill: CancellationToken) -> Self {
        ConnectionControl { kill }
    }

    /// Drops the connection and never returns: the connection task stops polling the handler.
    pub(crate) async fn drop_connection<T>(&self) -> T {
        self.kill.cancel();
        std::future::pending().await
    }
}

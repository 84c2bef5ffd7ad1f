//! The accept loop shared by the client and peer listeners.

use keel_engine::wire::WireError;
use std::future::Future;
use std::time::Duration;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections until the task is dropped, each served by `serve`
/// on its own task with TCP_NODELAY set (frames are small and latency
/// bound; Nagle's algorithm would hold them for the peer's delayed ACK). A
/// failed accept (e.g. out of file descriptors) pauses the loop briefly
/// instead of spinning.
pub async fn accept_loop<S, F>(listener: TcpListener, what: &'static str, serve: S)
where
    S: Fn(ReadHalf<TcpStream>, WriteHalf<TcpStream>) -> F,
    F: Future<Output = Result<(), WireError>> + Send + 'static,
{
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!("{what} listener: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (reader, writer) = tokio::io::split(stream);
        let connection = serve(reader, writer);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%from, "{what} connection closed: {err}");
            }
        });
    }
}

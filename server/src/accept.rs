//! The accept loop shared by the client and peer listeners.

use crate::tls::{ServerConfig, Stream};
use keel_engine::wire::WireError;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpListener;

/// Accepts connections until the task is dropped, each served by `serve`
/// on its own task with TCP_NODELAY set (frames are small and latency
/// bound; Nagle's algorithm would hold them for the peer's delayed ACK).
/// With `tls` (an `https://` listener) each connection first completes a
/// TLS handshake on its own task; one that fails (a plaintext client, a bad
/// or missing client certificate, garbage) is logged and closed, and the
/// listener goes on. A failed accept (e.g. out of file descriptors) pauses
/// the loop briefly instead of spinning.
pub async fn accept_loop<S, F>(
    listener: TcpListener,
    what: &'static str,
    tls: Option<Arc<ServerConfig>>,
    serve: S,
) where
    S: Fn(ReadHalf<Stream>, WriteHalf<Stream>, Option<String>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), WireError>> + Send + 'static,
{
    let serve = Arc::new(serve);
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
        let serve = Arc::clone(&serve);
        let tls = tls.clone();
        tokio::spawn(async move {
            let stream = match tls {
                None => Stream::Plain(stream),
                Some(config) => {
                    match crate::tls::accept(stream, &config, &from.to_string()).await {
                        Ok(stream) => stream,
                        Err(err) => {
                            tracing::warn!("{what} listener: rejected connection: {err}");
                            return;
                        }
                    }
                }
            };
            let common_name = stream.peer_common_name();
            let (reader, writer) = tokio::io::split(stream);
            if let Err(err) = serve(reader, writer, common_name).await {
                tracing::debug!(%from, "{what} connection closed: {err}");
            }
        });
    }
}

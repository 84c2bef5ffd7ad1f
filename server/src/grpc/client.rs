//! The client side of the small gRPC layer: unary calls and streams over
//! one HTTP/2 connection. Keel's own tools speak Keel's protocol; this is
//! for speaking etcd's API where that is the point (the simulator's etcd
//! clients, forwarding to another member).

use super::codec::{Deframer, encode};
use super::status::{Code, Status, percent_decode};
use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use h2::{RecvStream, SendStream};
use http::{HeaderMap, Request};
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest response message a client accepts.
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// One HTTP/2 connection to a gRPC server.
#[derive(Clone)]
pub struct Channel {
    send: SendRequest<Bytes>,
}

fn transport(err: impl std::fmt::Display) -> Status {
    Status::new(Code::Unavailable, format!("transport: {err}"))
}

impl Channel {
    /// Opens HTTP/2 (prior knowledge) over `io`; the connection is driven
    /// by a task of its own until it closes.
    pub async fn connect<IO>(io: IO) -> Result<Channel, Status>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, connection) = h2::client::handshake(io).await.map_err(transport)?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Channel { send })
    }

    async fn open(
        &self,
        path: &str,
        metadata: &[(&str, &str)],
    ) -> Result<(ResponseFuture, SendStream<Bytes>), Status> {
        let mut request = Request::post(format!("http://keel{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (name, value) in metadata {
            request = request.header(*name, *value);
        }
        let request = request
            .body(())
            .map_err(|e| Status::internal(e.to_string()))?;
        let mut send = self.send.clone().ready().await.map_err(transport)?;
        send.send_request(request, false).map_err(transport)
    }

    /// One request message, one response message.
    pub async fn unary<M: prost::Message, R: prost::Message + Default>(
        &self,
        path: &str,
        metadata: &[(&str, &str)],
        request: &M,
    ) -> Result<R, Status> {
        let mut stream = self.stream(path, metadata).await?;
        stream.send(request)?;
        stream.close_send()?;
        match stream.next().await? {
            Some(response) => Ok(response),
            None => Err(Status::internal("no response message")),
        }
    }

    /// Opens a streaming call.
    pub async fn stream(
        &self,
        path: &str,
        metadata: &[(&str, &str)],
    ) -> Result<CallStream, Status> {
        let (response, send) = self.open(path, metadata).await?;
        Ok(CallStream {
            send,
            response: Some(response),
            recv: None,
            deframer: Deframer::new(MAX_RESPONSE_BYTES),
        })
    }
}

/// An open call: messages both ways, then the server's status.
pub struct CallStream {
    send: SendStream<Bytes>,
    response: Option<ResponseFuture>,
    recv: Option<RecvStream>,
    deframer: Deframer,
}

/// The status in `headers` (trailers, or a trailers-only answer).
fn status_in(headers: &HeaderMap) -> Option<Status> {
    let code = headers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .unwrap_or_default();
    Some(Status::new(Code::from_number(code), message))
}

impl CallStream {
    /// Sends one message (without waiting for the server's window: a
    /// client here sends little).
    pub fn send<M: prost::Message>(&mut self, message: &M) -> Result<(), Status> {
        self.send
            .send_data(encode(message), false)
            .map_err(transport)
    }

    /// Closes the client's side of the call.
    pub fn close_send(&mut self) -> Result<(), Status> {
        self.send.send_data(Bytes::new(), true).map_err(transport)
    }

    /// The next message; `Ok(None)` once the server ended the call with OK;
    /// `Err` with the status it ended with otherwise (or why the
    /// connection failed).
    pub async fn next<R: prost::Message + Default>(&mut self) -> Result<Option<R>, Status> {
        if self.recv.is_none() {
            let Some(response) = self.response.take() else {
                return Ok(None);
            };
            let response = response.await.map_err(transport)?;
            let (parts, body) = response.into_parts();
            if let Some(status) = status_in(&parts.headers) {
                return finished(status);
            }
            self.recv = Some(body);
        }
        loop {
            if let Some(message) = self.deframer.next_message()? {
                return R::decode(&message[..])
                    .map(Some)
                    .map_err(|e| Status::internal(format!("bad response message: {e}")));
            }
            let Some(recv) = self.recv.as_mut() else {
                return Ok(None);
            };
            match recv.data().await {
                Some(Ok(chunk)) => {
                    let _ = recv.flow_control().release_capacity(chunk.len());
                    self.deframer.push(&chunk);
                }
                Some(Err(err)) => return Err(transport(err)),
                None => {
                    let trailers = recv.trailers().await.map_err(transport)?;
                    self.recv = None;
                    let status = trailers
                        .as_ref()
                        .and_then(status_in)
                        .unwrap_or_else(|| Status::internal("call ended without a status"));
                    return finished(status);
                }
            }
        }
    }
}

fn finished<R>(status: Status) -> Result<Option<R>, Status> {
    if status.code == Code::Ok {
        Ok(None)
    } else {
        Err(status)
    }
}

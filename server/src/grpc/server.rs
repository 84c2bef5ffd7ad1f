//! Serving gRPC calls on one HTTP/2 connection.

use super::codec::{self, MessageReader};
use super::status::{Code, Status, parse_timeout};
use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, SendStream};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

/// Limits of one gRPC connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcOptions {
    /// Largest request message accepted (etcd: `--max-request-bytes` plus
    /// 512 KiB of gRPC overhead).
    pub max_receive_message_bytes: usize,
    /// Calls open at once on one connection.
    pub max_concurrent_streams: u32,
    /// HTTP/2 receive window of each call, in bytes.
    pub stream_window_bytes: u32,
    /// HTTP/2 receive window of the whole connection, in bytes.
    pub connection_window_bytes: u32,
    /// Largest header block accepted, in bytes.
    pub max_header_list_bytes: u32,
    /// Bytes of responses queued per call before sending waits for the
    /// client's window.
    pub max_send_buffer_bytes: usize,
    /// How long a client may take to complete the HTTP/2 connection
    /// preface and settings exchange.
    pub handshake_timeout: Duration,
}

impl Default for GrpcOptions {
    fn default() -> Self {
        GrpcOptions {
            max_receive_message_bytes: keel_engine::wire::DEFAULT_MAX_FRAME_BYTES + 512 * 1024,
            max_concurrent_streams: 4096,
            stream_window_bytes: 1 << 20,
            connection_window_bytes: 4 << 20,
            max_header_list_bytes: 16 << 10,
            max_send_buffer_bytes: 256 << 10,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// One request on a connection: a gRPC call, or a plain HTTP request (any
/// other method or content type), which the service answers as HTTP or
/// refuses as grpc-go does ([`PlainRequest::refuse`]).
pub enum Incoming {
    /// A gRPC call.
    Call(Call),
    /// Not a gRPC call.
    Plain(PlainRequest),
}

/// A request on an HTTP/2 connection that is not a gRPC call: etcd serves
/// its HTTP handlers (`/health`, `/version`, the JSON gateway) this way on
/// TLS listeners, where clients such as curl choose HTTP/2 by ALPN.
pub struct PlainRequest {
    /// Method, URI and headers.
    pub head: http::request::Parts,
    /// The request body.
    pub body: h2::RecvStream,
    respond: SendResponse<Bytes>,
}

impl PlainRequest {
    /// Answers as grpc-go's own HTTP/2 server does (etcd's plain
    /// listeners): a reset for anything but `POST`, `415` with a gRPC
    /// status for another content type.
    pub fn refuse(mut self) {
        if self.head.method != http::Method::POST {
            self.respond.send_reset(Reason::PROTOCOL_ERROR);
            return;
        }
        let content_type = self
            .head
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let status = Status::internal(format!(
            "invalid gRPC request content-type {content_type:?}"
        ));
        refuse(self.respond, StatusCode::UNSUPPORTED_MEDIA_TYPE, &status);
    }

    /// Sends the response head; the body follows on the returned stream
    /// unless `end` (no body).
    pub fn respond(
        &mut self,
        response: Response<()>,
        end: bool,
    ) -> Result<SendStream<Bytes>, h2::Error> {
        self.respond.send_response(response, end)
    }
}

/// Sends `data` on `stream`, waiting for the client's flow-control window.
pub async fn send_all(stream: &mut SendStream<Bytes>, mut data: Bytes) -> Result<(), Status> {
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        match poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(Ok(0)) => continue,
            Some(Ok(room)) => {
                let chunk = data.split_to(room.min(data.len()));
                stream
                    .send_data(chunk, false)
                    .map_err(|e| codec::stream_error(&e))?;
            }
            Some(Err(err)) => return Err(codec::stream_error(&err)),
            None => return Err(Status::new(Code::Canceled, "context canceled")),
        }
    }
    Ok(())
}

/// One incoming call: its method, metadata, deadline, request messages and
/// where its answer goes.
pub struct Call {
    /// The `:path`, e.g. `/etcdserverpb.KV/Range`.
    pub method: String,
    /// The request headers (gRPC metadata).
    pub metadata: HeaderMap,
    /// How long the client waits (`grpc-timeout`), if it said.
    pub timeout: Option<Duration>,
    /// The request messages.
    pub reader: MessageReader,
    /// The answer.
    pub sink: ResponseSink,
}

impl Call {
    /// A metadata value as text, if present and printable.
    pub fn metadata_str(&self, name: &str) -> Option<&str> {
        self.metadata.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Where a call's answer goes: response headers once, messages, then the
/// status in trailers (or a trailers-only answer for an early failure).
pub struct ResponseSink {
    respond: SendResponse<Bytes>,
    stream: Option<SendStream<Bytes>>,
    /// Told how the call ended: its status, or `Canceled` when the sink is
    /// dropped unfinished (the client left, or the connection ended).
    on_end: Option<Box<dyn FnOnce(Code) + Send>>,
}

impl ResponseSink {
    fn new(respond: SendResponse<Bytes>) -> ResponseSink {
        ResponseSink {
            respond,
            stream: None,
            on_end: None,
        }
    }

    /// Runs `on_end` with the call's final code when the call ends.
    pub fn on_end(&mut self, on_end: impl FnOnce(Code) + Send + 'static) {
        self.on_end = Some(Box::new(on_end));
    }

    /// Sends one message, waiting for the client's flow-control window.
    pub async fn send<M: prost::Message>(&mut self, message: &M) -> Result<(), Status> {
        self.send_framed(codec::encode(message)).await
    }

    /// Sends an already framed message.
    pub async fn send_framed(&mut self, data: Bytes) -> Result<(), Status> {
        if self.stream.is_none() {
            let response = grpc_response(StatusCode::OK);
            let stream = self
                .respond
                .send_response(response, false)
                .map_err(|e| codec::stream_error(&e))?;
            self.stream = Some(stream);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(Status::internal("response stream missing"));
        };
        send_all(stream, data).await
    }

    /// Ends the call with `status`.
    pub fn finish(mut self, status: &Status) {
        if let Some(on_end) = self.on_end.take() {
            on_end(status.code);
        }
        match self.stream.as_mut() {
            Some(stream) => {
                let _ = stream.send_trailers(status_headers(status));
            }
            None => {
                let mut response = grpc_response(StatusCode::OK);
                response.headers_mut().extend(status_headers(status));
                let _ = self.respond.send_response(response, true);
            }
        }
    }

    /// Ready once the client has reset the call (it gave up or went away).
    pub fn poll_reset(&mut self, cx: &mut Context<'_>) -> Poll<Reason> {
        let polled = match self.stream.as_mut() {
            Some(stream) => stream.poll_reset(cx),
            None => self.respond.poll_reset(cx),
        };
        polled.map(|reason| reason.unwrap_or(Reason::CANCEL))
    }
}

impl Drop for ResponseSink {
    fn drop(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end(Code::Canceled);
        }
    }
}

fn grpc_response(status: StatusCode) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}

fn status_headers(status: &Status) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("grpc-status", HeaderValue::from(status.code as u32));
    if !status.message.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&status.encoded_message()) {
            headers.insert("grpc-message", value);
        }
    }
    headers
}

/// Answers a request that is not a gRPC call at all (wrong content type,
/// malformed headers) with an HTTP status and a gRPC status.
fn refuse(mut respond: SendResponse<Bytes>, http_status: StatusCode, status: &Status) {
    let mut response = grpc_response(http_status);
    response.headers_mut().extend(status_headers(status));
    let _ = respond.send_response(response, true);
}

/// Why a gRPC connection ended badly.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// HTTP/2 failed: a protocol error, or the connection broke.
    #[error("http2: {0}")]
    Http2(#[from] h2::Error),
    /// The client did not complete the connection preface in time.
    #[error("http2: no connection preface within {0:?}")]
    HandshakeTimeout(Duration),
}

/// Serves requests on one connection until the client closes it or it
/// breaks; each (a gRPC call or a plain request) runs `service` on its own
/// task. Requests still running when the connection ends are stopped.
pub async fn serve_connection<IO, S, F>(
    io: IO,
    options: &GrpcOptions,
    service: Arc<S>,
) -> Result<(), ConnectionError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: Fn(Incoming) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let handshake = h2::server::Builder::new()
        .initial_window_size(options.stream_window_bytes)
        .initial_connection_window_size(options.connection_window_bytes)
        .max_concurrent_streams(options.max_concurrent_streams)
        .max_header_list_size(options.max_header_list_bytes)
        .max_send_buffer_size(options.max_send_buffer_bytes)
        .handshake::<_, Bytes>(io);
    let mut connection = tokio::time::timeout(options.handshake_timeout, handshake)
        .await
        .map_err(|_| ConnectionError::HandshakeTimeout(options.handshake_timeout))??;
    let mut calls: Vec<JoinHandle<()>> = Vec::new();
    let outcome = loop {
        let (request, respond) = match connection.accept().await {
            Some(Ok(accepted)) => accepted,
            Some(Err(err)) => break Err(err),
            None => break Ok(()),
        };
        calls.retain(|call| !call.is_finished());
        if let Some(incoming) = start_call(request, respond, options) {
            let service = Arc::clone(&service);
            calls.push(tokio::spawn(async move { service(incoming).await }));
        }
    };
    for call in calls {
        call.abort();
    }
    Ok(outcome?)
}

/// Tells gRPC calls from plain requests; checks what every gRPC call must
/// carry, answering the request itself when it is a call Keel cannot serve.
fn start_call(
    request: Request<h2::RecvStream>,
    respond: SendResponse<Bytes>,
    options: &GrpcOptions,
) -> Option<Incoming> {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if parts.method != http::Method::POST || !is_grpc_content_type(content_type) {
        return Some(Incoming::Plain(PlainRequest {
            head: parts,
            body,
            respond,
        }));
    }
    let timeout = match parts.headers.get("grpc-timeout") {
        None => None,
        Some(value) => match value.to_str().ok().and_then(parse_timeout) {
            Some(timeout) => Some(timeout),
            None => {
                let status =
                    Status::internal(format!("transport: malformed grpc-timeout: {value:?}"));
                refuse(respond, StatusCode::BAD_REQUEST, &status);
                return None;
            }
        },
    };
    let sink = ResponseSink::new(respond);
    if let Some(encoding) = parts.headers.get("grpc-encoding") {
        let encoding = encoding.to_str().unwrap_or("?");
        if encoding != "identity" {
            sink.finish(&Status::unimplemented(format!(
                "grpc: Decompressor is not installed for grpc-encoding {encoding:?}"
            )));
            return None;
        }
    }
    Some(Incoming::Call(Call {
        method: parts.uri.path().to_string(),
        metadata: parts.headers,
        timeout,
        reader: MessageReader::new(body, options.max_receive_message_bytes),
        sink,
    }))
}

/// `application/grpc`, optionally with a `+proto`-style suffix or `;`
/// parameters, as gRPC allows.
fn is_grpc_content_type(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("application/grpc") else {
        return false;
    };
    rest.is_empty() || rest.starts_with('+') || rest.starts_with(';')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types() {
        assert!(is_grpc_content_type("application/grpc"));
        assert!(is_grpc_content_type("application/grpc+proto"));
        assert!(is_grpc_content_type("application/grpc;charset=utf-8"));
        assert!(!is_grpc_content_type("application/grpcx"));
        assert!(!is_grpc_content_type("application/json"));
        assert!(!is_grpc_content_type(""));
    }

    #[test]
    fn status_headers_carry_the_code_and_the_encoded_message() {
        let headers = status_headers(&Status::new(Code::OutOfRange, "a\nb"));
        assert_eq!(
            headers.get("grpc-status").map(|v| v.as_bytes()),
            Some(&b"11"[..])
        );
        assert_eq!(
            headers.get("grpc-message").map(|v| v.as_bytes()),
            Some(&b"a%0Ab"[..])
        );
        let ok = status_headers(&Status::new(Code::Ok, ""));
        assert!(ok.get("grpc-message").is_none());
    }
}

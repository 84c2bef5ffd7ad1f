//! A minimal gRPC client over h2 for tests: unary calls and streams, with
//! the raw HTTP/2 answer (status, headers, trailers) available, so tests can
//! check exactly what the server sent.

use bytes::Bytes;
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use http::{HeaderMap, Request};
use keel_server::grpc::codec::{Deframer, encode, frame};
use prost::Message;

/// A connection to a gRPC server.
pub struct GrpcClient {
    send: SendRequest<Bytes>,
}

/// What came back for a call, raw.
#[derive(Debug)]
pub struct RawAnswer {
    /// HTTP status.
    pub http_status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Framed messages, as received.
    pub data: Vec<u8>,
    /// Trailers (or, for a trailers-only answer, the headers).
    pub trailers: HeaderMap,
}

impl RawAnswer {
    /// The grpc-status (from trailers, or headers for trailers-only).
    pub fn grpc_status(&self) -> Option<u32> {
        self.trailers
            .get("grpc-status")
            .or_else(|| self.headers.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    /// The decoded grpc-message.
    pub fn grpc_message(&self) -> String {
        self.trailers
            .get("grpc-message")
            .or_else(|| self.headers.get("grpc-message"))
            .and_then(|v| v.to_str().ok())
            .map(keel_server::grpc::status::percent_decode)
            .unwrap_or_default()
    }

    /// The messages in the body.
    pub fn messages(&self) -> Vec<Bytes> {
        let mut deframer = Deframer::new(usize::MAX);
        deframer.push(&self.data);
        let mut out = Vec::new();
        while let Ok(Some(message)) = deframer.next_message() {
            out.push(message);
        }
        out
    }
}

/// A failed call: code and message.
pub type CallError = (u32, String);

impl GrpcClient {
    /// Connects over plain TCP with HTTP/2 prior knowledge.
    pub async fn connect(address: &str) -> GrpcClient {
        let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
        let (send, connection) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        GrpcClient { send }
    }

    /// Connects over an established byte stream (TLS, say).
    pub async fn over<IO>(io: IO) -> GrpcClient
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (send, connection) = h2::client::handshake(io).await.unwrap();
        tokio::spawn(async move {
            let _ = connection.await;
        });
        GrpcClient { send }
    }

    /// Sends one request with `headers` and `body` as is; collects the answer.
    pub async fn call_raw(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> RawAnswer {
        let mut request = Request::post(format!("http://localhost{path}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(()).unwrap();
        let mut send = self.send.clone().ready().await.unwrap();
        let (response, mut stream) = send.send_request(request, false).unwrap();
        // A server may answer from the headers alone (unknown method, wrong
        // content type, unsupported encoding) and close the stream before
        // the body goes out, as grpc-go does: then sending fails with
        // InactiveStreamId, and the answer is still there to read.
        let _ = stream.send_data(body, true);
        let response = response.await.unwrap();
        let http_status = response.status().as_u16();
        let (parts, mut body) = response.into_parts();
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            data.extend_from_slice(&chunk);
        }
        let trailers = body.trailers().await.unwrap().unwrap_or_default();
        RawAnswer {
            http_status,
            headers: parts.headers,
            data,
            trailers,
        }
    }

    /// A unary call with the usual gRPC headers.
    pub async fn unary<M: Message, R: Message + Default>(
        &mut self,
        path: &str,
        request: &M,
    ) -> Result<R, CallError> {
        self.unary_with(path, &[], request).await
    }

    /// A unary call with extra metadata.
    pub async fn unary_with<M: Message, R: Message + Default>(
        &mut self,
        path: &str,
        metadata: &[(&str, &str)],
        request: &M,
    ) -> Result<R, CallError> {
        let mut headers = vec![("content-type", "application/grpc"), ("te", "trailers")];
        headers.extend_from_slice(metadata);
        let answer = self.call_raw(path, &headers, encode(request)).await;
        match answer.grpc_status() {
            Some(0) => {
                let messages = answer.messages();
                assert_eq!(messages.len(), 1, "one response message");
                Ok(R::decode(&messages[0][..]).unwrap())
            }
            Some(code) => Err((code, answer.grpc_message())),
            None => panic!("no grpc-status in {answer:?}"),
        }
    }

    /// Opens a streaming call.
    pub async fn stream(&mut self, path: &str, metadata: &[(&str, &str)]) -> GrpcStream {
        let mut request = Request::post(format!("http://localhost{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (name, value) in metadata {
            request = request.header(*name, *value);
        }
        let mut send = self.send.clone().ready().await.unwrap();
        let (response, stream) = send.send_request(request.body(()).unwrap(), false).unwrap();
        GrpcStream {
            send: stream,
            response: Some(response),
            recv: None,
            deframer: Deframer::new(usize::MAX),
            trailers: None,
        }
    }
}

/// An open streaming call.
pub struct GrpcStream {
    send: SendStream<Bytes>,
    response: Option<h2::client::ResponseFuture>,
    recv: Option<RecvStream>,
    deframer: Deframer,
    /// The trailers, once the server ended the call.
    pub trailers: Option<HeaderMap>,
}

impl GrpcStream {
    /// Sends one message.
    pub fn send<M: Message>(&mut self, message: &M) {
        self.send.send_data(encode(message), false).unwrap();
    }

    /// Sends raw bytes (already framed or not).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.send
            .send_data(Bytes::copy_from_slice(bytes), false)
            .unwrap();
    }

    /// Closes the client's side.
    pub fn close_send(&mut self) {
        self.send.send_data(Bytes::new(), true).unwrap();
    }

    /// Frames raw message bytes.
    pub fn framed(bytes: &[u8]) -> Bytes {
        frame(bytes)
    }

    /// The next message; `None` when the server ended the call (then
    /// `trailers` holds its status).
    pub async fn next<R: Message + Default>(&mut self) -> Option<R> {
        if self.recv.is_none() {
            let response = self.response.take()?.await.ok()?;
            let (parts, body) = response.into_parts();
            if parts.headers.contains_key("grpc-status") {
                self.trailers = Some(parts.headers);
                return None;
            }
            self.recv = Some(body);
        }
        loop {
            if let Ok(Some(message)) = self.deframer.next_message() {
                return Some(R::decode(&message[..]).unwrap());
            }
            let recv = self.recv.as_mut()?;
            match recv.data().await {
                Some(Ok(chunk)) => {
                    let _ = recv.flow_control().release_capacity(chunk.len());
                    self.deframer.push(&chunk);
                }
                _ => {
                    self.trailers = recv.trailers().await.ok().flatten();
                    return None;
                }
            }
        }
    }

    /// The status the server ended the call with.
    pub fn status(&self) -> Option<(u32, String)> {
        let trailers = self.trailers.as_ref()?;
        let code = trailers.get("grpc-status")?.to_str().ok()?.parse().ok()?;
        let message = trailers
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .map(keel_server::grpc::status::percent_decode)
            .unwrap_or_default();
        Some((code, message))
    }
}

//! HTTP requests that arrive on an HTTP/2 connection but are not gRPC
//! calls: on TLS listeners etcd serves its HTTP handlers (`/health`,
//! `/version`, the JSON gateway) beside gRPC on the same connection, and
//! clients such as curl pick HTTP/2 by ALPN. The same routes and answers
//! as HTTP/1.1 (`http.rs`), framed as HTTP/2: headers, DATA frames, and
//! trailers as HEADERS.

use super::ClientPortOptions;
use super::http::{HttpRequest, http_date, percent_decode, route, with_cors};
use crate::etcd::Context;
use crate::etcd::gateway::{self, Answer, Body, StreamItem};
use crate::grpc::{Code, PlainRequest, Status, send_all};
use bytes::{Bytes, BytesMut};
use h2::SendStream;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use std::time::SystemTime;

/// Reads `plain`'s body (bounded like a gRPC message), routes it as the
/// HTTP/1.1 server would and sends the answer.
pub async fn serve(mut plain: PlainRequest, ctx: Context, options: &ClientPortOptions) {
    let max_body = options.grpc.max_receive_message_bytes;
    let answer = match read_body(&mut plain.body, max_body).await {
        Ok(body) => match request_of(&plain.head, body) {
            Some(request) => {
                let head = request.method == "HEAD";
                (route(&request, &ctx, &options.etcd).await, head)
            }
            None => (gateway::http_error(400, "Bad Request"), false),
        },
        Err(BodyError::TooLarge(length)) => {
            let status = Status::new(
                Code::ResourceExhausted,
                format!("grpc: received message larger than max ({length} vs. {max_body})"),
            );
            (gateway::call_error_answer(&status), false)
        }
        // The client reset the stream: nobody to answer.
        Err(BodyError::Gone) => return,
    };
    let (answer, head_only) = answer;
    let _ = send_answer(&mut plain, with_cors(answer), head_only).await;
}

/// Why a body could not be read.
enum BodyError {
    TooLarge(usize),
    Gone,
}

async fn read_body(body: &mut h2::RecvStream, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut read = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|_| BodyError::Gone)?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if read.len() + chunk.len() > max {
            return Err(BodyError::TooLarge(read.len() + chunk.len()));
        }
        read.extend_from_slice(&chunk);
    }
    Ok(read)
}

/// The request as the router reads it; `None` when its path is not valid
/// percent-encoding.
fn request_of(head: &http::request::Parts, body: Vec<u8>) -> Option<HttpRequest> {
    let header = |name: &str| {
        head.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };
    Some(HttpRequest {
        method: head.method.as_str().to_string(),
        path: percent_decode(head.uri.path())?,
        query: head.uri.query().unwrap_or("").to_string(),
        http_1_1: true,
        wants_close: false,
        wants_10_keep_alive: false,
        body_error: None,
        content_type: header("content-type"),
        method_override: header("x-http-method-override"),
        authorization: header("authorization"),
        grpc_timeout: header("grpc-timeout"),
        body,
    })
}

/// The response head: the handler's headers and `date` (HTTP/2 has no
/// `Connection` or chunking; a whole body's length is known).
fn response_head(
    status: u16,
    headers: &[(&'static str, String)],
    length: Option<usize>,
    sniffed: Option<&str>,
) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    for (name, value) in headers {
        append(map, name, value);
    }
    if let Some(content_type) = sniffed {
        append(map, "content-type", content_type);
    }
    append(map, "date", &http_date(SystemTime::now()));
    if let Some(length) = length {
        append(map, "content-length", &length.to_string());
    }
    response
}

fn append(map: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
        HeaderValue::from_str(value),
    ) {
        map.append(name, value);
    }
}

async fn send_answer(
    plain: &mut PlainRequest,
    answer: Answer,
    head_only: bool,
) -> Result<(), Status> {
    let Answer {
        status,
        headers,
        body,
    } = answer;
    let (bytes, sniffed, trailers) = match body {
        Body::Whole(bytes) => (bytes, None, Vec::new()),
        Body::Sniffed(bytes, content_type) => (bytes, Some(content_type), Vec::new()),
        Body::Trailered(bytes, trailers) => (bytes, None, trailers),
        Body::Stream(items) => return send_stream(plain, headers, items).await,
    };
    let length = trailers.is_empty().then_some(bytes.len());
    let empty = head_only || (bytes.is_empty() && trailers.is_empty());
    let head = response_head(status, &headers, length, sniffed);
    let mut stream = plain.respond(head, empty).map_err(|e| h2_status(&e))?;
    if empty {
        return Ok(());
    }
    send_all(&mut stream, Bytes::from(bytes)).await?;
    if trailers.is_empty() {
        return end(&mut stream);
    }
    let mut map = HeaderMap::new();
    for (name, value) in trailers {
        append(&mut map, name, value);
    }
    stream.send_trailers(map).map_err(|e| h2_status(&e))
}

/// A gateway stream: the head once the first item (or the end) is known,
/// then one DATA frame per message line, an error object last.
async fn send_stream(
    plain: &mut PlainRequest,
    mut headers: Vec<(&'static str, String)>,
    mut items: tokio::sync::mpsc::Receiver<StreamItem>,
) -> Result<(), Status> {
    let first = items.recv().await;
    let (status, mut stream_headers) = gateway::stream_head(first.as_ref());
    stream_headers.append(&mut headers);
    let head = response_head(status, &stream_headers, None, None);
    let Some(mut item) = first else {
        plain.respond(head, true).map_err(|e| h2_status(&e))?;
        return Ok(());
    };
    let mut stream = plain.respond(head, false).map_err(|e| h2_status(&e))?;
    loop {
        let mut text = BytesMut::from(gateway::stream_item_text(&item).as_bytes());
        let is_error = matches!(item, StreamItem::Error(_));
        if !is_error {
            text.extend_from_slice(b"\n");
        }
        send_all(&mut stream, text.freeze()).await?;
        if is_error {
            return end(&mut stream);
        }
        item = tokio::select! {
            next = items.recv() => match next {
                Some(next) => next,
                None => return end(&mut stream),
            },
            // The client reset the stream: stop reading the watch.
            _ = std::future::poll_fn(|cx| stream.poll_reset(cx)) => return Ok(()),
        };
    }
}

fn end(stream: &mut SendStream<Bytes>) -> Result<(), Status> {
    stream
        .send_data(Bytes::new(), true)
        .map_err(|e| h2_status(&e))
}

fn h2_status(err: &h2::Error) -> Status {
    Status::new(Code::Unavailable, err.to_string())
}

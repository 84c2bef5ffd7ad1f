//! etcd 3.4's JSON gateway (grpc-gateway 1.6 in front of etcd's gRPC
//! server): `POST /v3/<service>/<method>` with the request message as
//! JSON, answered with the response message as JSON, or, for the
//! streaming methods (`/v3/watch`, `/v3/lease/keepalive`,
//! `/v3/maintenance/snapshot`), a stream of
//! `{"result":…}` messages. `/v3beta/` is the same API under its 3.3 name.
//! The methods are the gRPC ones ([`Unary`]); only the encoding differs.
//!
//! What etcd's gateway does around a call is reproduced here because
//! clients see it: the routing (`POST` only, 404 and 405 answered by Go's
//! `http.Error`, a `:verb` suffix, `X-HTTP-Method-Override`), a body that
//! does not decode (400 with code 3 before any call; 500 with code 2 on a
//! stream's first message), the gRPC metadata a successful call and a
//! failed one carry (`Grpc-Metadata-Content-Type`, and a failed call's
//! `Grpc-Trailer-Content-Type` trailer), and an `Authorization` header
//! (a token for etcd's auth, which Keel does not have: etcd without auth
//! refuses every token on the calls that check one).

use super::EtcdOptions;
use super::proto::etcdserverpb as pb;
use super::proto::json::{self, JsonError, JsonStream, ProtoJson};
use super::unary::{Context, GatewayError, Unary};
use super::watch::{self, Out};
use crate::grpc::{Code, Status};
use std::time::Duration;
use tokio::sync::mpsc;

/// An answer as etcd's Go handlers write it; the HTTP/1.1 server frames
/// it as Go's `net/http` does (`Date`, `Content-Length` or chunks,
/// `Connection`).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The headers the handler set (written sorted by name, as Go does).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Body,
}

/// How a handler wrote its body.
#[derive(Debug)]
pub enum Body {
    /// All at once, when the handler finished.
    Whole(Vec<u8>),
    /// All at once, with no `Content-Type` set: Go sniffs one and writes
    /// it after `Content-Length`.
    Sniffed(Vec<u8>, &'static str),
    /// All at once, followed by trailers (which make it chunked).
    Trailered(Vec<u8>, Vec<(&'static str, &'static str)>),
    /// A stream: nothing is written until its first item (or its end).
    Stream(mpsc::Receiver<StreamItem>),
}

/// One item of a gateway stream.
#[derive(Debug)]
pub enum StreamItem {
    /// A message, `{"result":…}` (the newline is the writer's).
    Message(String),
    /// The stream fails with this error (its last item).
    Error(Status),
}

/// `Content-Type` and `X-Content-Type-Options: nosniff`, as Go's
/// `http.Error` sets them.
fn text_error_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "text/plain; charset=utf-8".into()),
        ("X-Content-Type-Options", "nosniff".into()),
    ]
}

/// Go's `http.Error(w, message, status)`: the message and a newline.
pub fn http_error(status: u16, message: &str) -> Answer {
    Answer {
        status,
        headers: text_error_headers(),
        body: Body::Whole(format!("{message}\n").into_bytes()),
    }
}

/// The HTTP status grpc-gateway answers a gRPC code with.
pub fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::Canceled => 408,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
        Code::InvalidArgument | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::Unauthenticated => 401,
        Code::ResourceExhausted => 429,
        Code::FailedPrecondition => 412,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
    }
}

/// grpc-gateway's error body: `{"error":…,"message":…,"code":…}`.
pub fn error_body(status: &Status) -> String {
    let mut body = String::from("{\"error\":");
    crate::go_json::write_string(&mut body, &status.message);
    body.push_str(",\"message\":");
    crate::go_json::write_string(&mut body, &status.message);
    body.push_str(&format!(",\"code\":{}}}", status.code as u32));
    body
}

/// An error the gateway found itself (a body it could not decode): no
/// call was made, so no gRPC metadata.
pub fn gateway_error_answer(status: &Status) -> Answer {
    Answer {
        status: http_status(status.code),
        headers: vec![("Content-Type", "application/json".into())],
        body: Body::Whole(error_body(status).into_bytes()),
    }
}

/// An error a call answered: its gRPC trailers (`content-type`) come as
/// an HTTP trailer, announced by a `Trailer` header.
pub fn call_error_answer(status: &Status) -> Answer {
    Answer {
        status: http_status(status.code),
        headers: vec![
            ("Content-Type", "application/json".into()),
            ("Trailer", "Grpc-Trailer-Content-Type".into()),
        ],
        body: Body::Trailered(
            error_body(status).into_bytes(),
            vec![("Grpc-Trailer-Content-Type", "application/grpc")],
        ),
    }
}

/// A call's answer: its gRPC header metadata (`content-type`) comes as
/// `Grpc-Metadata-Content-Type`.
fn call_answer(body: String) -> Answer {
    Answer {
        status: 200,
        headers: vec![
            ("Content-Type", "application/json".into()),
            ("Grpc-Metadata-Content-Type", "application/grpc".into()),
        ],
        body: Body::Whole(body.into_bytes()),
    }
}

/// The head of a stream, decided by its first item: a message (the
/// call's header metadata came with it), an error before any message
/// (its status; no metadata), or the end (200, no metadata).
pub fn stream_head(first: Option<&StreamItem>) -> (u16, Vec<(&'static str, String)>) {
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    let status = match first {
        Some(StreamItem::Message(_)) => {
            headers.push(("Grpc-Metadata-Content-Type", "application/grpc".into()));
            200
        }
        Some(StreamItem::Error(status)) => http_status(status.code),
        None => 200,
    };
    (status, headers)
}

/// What the gateway writes for a stream item: a message, or grpc-gateway's
/// error object (no newline after it).
pub fn stream_item_text(item: &StreamItem) -> String {
    match item {
        StreamItem::Message(text) => text.clone(),
        StreamItem::Error(status) => {
            let http = http_status(status.code);
            let mut text = format!(
                "{{\"error\":{{\"grpc_code\":{},\"http_code\":{http},\"message\":",
                status.code as u32
            );
            crate::go_json::write_string(&mut text, &status.message);
            text.push_str(",\"http_status\":");
            crate::go_json::write_string(&mut text, http_reason(http));
            text.push_str("}}");
            text
        }
    }
}

/// Go's `http.StatusText` for the statuses Keel answers with.
pub fn http_reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// The gateway path of a request path, if it is one: the part after
/// `/v3/` or `/v3beta/`.
pub fn gateway_path(path: &str) -> Option<&str> {
    path.strip_prefix("/v3/")
        .or_else(|| path.strip_prefix("/v3beta/"))
}

/// One request as the gateway sees it.
#[derive(Debug, Clone, Copy)]
pub struct GatewayRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path after `/v3/` (query removed, percent-decoding done).
    pub path: &'a str,
    /// `Content-Type`, if sent.
    pub content_type: Option<&'a str>,
    /// `X-HTTP-Method-Override`, if sent.
    pub method_override: Option<&'a str>,
    /// `Authorization`, if sent.
    pub authorization: Option<&'a str>,
    /// `Grpc-Timeout`, if sent.
    pub grpc_timeout: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// Why the body ended early, if it did (bad chunked framing): a
    /// message cut by it fails with these words, as Go's body reader's.
    pub body_error: Option<&'a str>,
}

/// What a gateway path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Unary(Unary),
    Watch,
    KeepAlive,
    Snapshot,
}

/// grpc-gateway's matching of a path against etcd's routes: each route
/// is literal path segments and no verb, so a `:verb` suffix on the last
/// segment matches nothing unless it is empty, and `:…` alone is
/// refused.
fn route(path: &str) -> Result<Option<Route>, ()> {
    let (head, last) = match path.rsplit_once('/') {
        Some((head, last)) => (Some(head), last),
        None => (None, path),
    };
    let last = match last.rfind(':') {
        Some(0) => return Err(()),
        Some(at) if at + 1 < last.len() => return Ok(None),
        Some(at) => &last[..at],
        None => last,
    };
    let path = match head {
        Some(head) => format!("{head}/{last}"),
        None => last.to_string(),
    };
    Ok(match path.as_str() {
        "watch" => Some(Route::Watch),
        "lease/keepalive" => Some(Route::KeepAlive),
        "maintenance/snapshot" => Some(Route::Snapshot),
        path => Unary::from_gateway_path(path).map(Route::Unary),
    })
}

/// grpc-gateway's reading of `Grpc-Timeout`: an integer and a unit
/// (`H`, `M`, `S`, `m`, `u`, `n`). `Ok(None)`: no deadline (a zero
/// timeout sets none); a negative one has already passed.
fn grpc_timeout(value: &str) -> Result<Option<Duration>, ()> {
    let (number, unit) = value.split_at(value.len().saturating_sub(1));
    let unit_nanos: i128 = match unit {
        "H" => 3_600_000_000_000,
        "M" => 60_000_000_000,
        "S" => 1_000_000_000,
        "m" => 1_000_000,
        "u" => 1_000,
        "n" => 1,
        _ => return Err(()),
    };
    let count: i64 = number.parse().map_err(|_| ())?;
    let nanos = i128::from(count) * unit_nanos;
    Ok(match nanos {
        0 => None,
        n if n < 0 => Some(Duration::ZERO),
        n => Some(Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))),
    })
}

/// The error a call that ran out of its `Grpc-Timeout` ends with (the
/// gateway's own: no trailers came).
fn deadline_exceeded() -> Status {
    Status::new(Code::DeadlineExceeded, "context deadline exceeded")
}

/// A stream that ends with "deadline exceeded" at `deadline`.
fn with_deadline(answer: Answer, deadline: Duration) -> Answer {
    let Body::Stream(mut items) = answer.body else {
        return answer;
    };
    let (forward, forwarded) = mpsc::channel(1);
    tokio::spawn(async move {
        let expiry = tokio::time::sleep(deadline);
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                item = items.recv() => match item {
                    Some(item) => {
                        if forward.send(item).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
                () = &mut expiry => {
                    let _ = forward.send(StreamItem::Error(deadline_exceeded())).await;
                    return;
                }
            }
        }
    });
    Answer {
        body: Body::Stream(forwarded),
        ..answer
    }
}

/// Serves one request under `/v3/`.
pub async fn handle(ctx: Context, options: &EtcdOptions, request: GatewayRequest<'_>) -> Answer {
    let Ok(route) = route(request.path) else {
        return http_error(404, "Not Found");
    };
    let Some(route) = route else {
        return http_error(404, "Not Found");
    };
    // grpc-gateway honours X-HTTP-Method-Override only on a form POST.
    let form = request.content_type == Some("application/x-www-form-urlencoded");
    let mut method = request.method.to_string();
    let mut body = request.body;
    if let Some(method_override) = request.method_override.filter(|m| !m.is_empty())
        && request.method == "POST"
        && form
    {
        method = method_override.to_ascii_uppercase();
        // Go parses the form, which consumes the body.
        body = &[];
    }
    if method != "POST" {
        return http_error(405, "Method Not Allowed");
    }
    let deadline = match request.grpc_timeout.map(grpc_timeout) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(deadline))) => Some(deadline),
        Some(Err(())) => {
            let message = format!(
                "invalid grpc-timeout: {}",
                request.grpc_timeout.unwrap_or("")
            );
            return gateway_error_answer(&Status::new(Code::InvalidArgument, message));
        }
    };
    if let Some(error) = request.body_error
        && json::cut_short(body)
    {
        let code = if route == Route::Watch || route == Route::KeepAlive {
            Code::Unknown
        } else {
            Code::InvalidArgument
        };
        return gateway_error_answer(&Status::new(code, error));
    }
    let token = request.authorization;
    let caller = ctx.caller(token);
    let answer = match route {
        Route::Unary(unary) => {
            let call = unary.call_json(&ctx, body, token);
            let result = match deadline {
                Some(deadline) => tokio::time::timeout(deadline, call)
                    .await
                    .unwrap_or(Err(GatewayError::Deadline)),
                None => call.await,
            };
            match result {
                Ok(body) => call_answer(body),
                Err(GatewayError::Decode(error)) => {
                    gateway_error_answer(&Status::new(Code::InvalidArgument, error.0))
                }
                Err(GatewayError::Deadline) => gateway_error_answer(&deadline_exceeded()),
                Err(GatewayError::Call(status)) => call_error_answer(&status),
            }
        }
        Route::Watch => watch_stream(ctx.for_caller(caller), options, body),
        Route::KeepAlive => keep_alive_stream(ctx, body),
        Route::Snapshot => snapshot_stream(ctx.for_caller(caller), body),
    };
    match deadline {
        Some(deadline) => with_deadline(answer, deadline),
        None => answer,
    }
}

/// A stream's request messages from the body. The first must decode (an
/// error there is answered as a call that failed with code Unknown); a
/// later one that does not ends the requests, as the gateway's reader
/// stops there.
fn stream_requests<M: ProtoJson>(body: &[u8]) -> Result<Vec<M>, JsonError> {
    let mut stream = JsonStream::new(body);
    let mut requests = Vec::new();
    if let Some(first) = stream.next_message::<M>() {
        requests.push(first?);
    }
    while let Some(Ok(request)) = stream.next_message::<M>() {
        requests.push(request);
    }
    Ok(requests)
}

/// The answer to a stream whose first message does not decode.
fn first_message_error(error: JsonError) -> Answer {
    gateway_error_answer(&Status::new(Code::Unknown, error.0))
}

/// `{"result":<message>}`, one message of a stream.
fn result_text<M: ProtoJson>(message: &M) -> String {
    let mut text = String::from("{\"result\":");
    json::write_message(&mut text, message);
    text.push('}');
    text
}

/// `/v3/watch`: the body's watch requests, then every response the
/// watches send, until the client goes away (the end of the body does not
/// end the watches).
fn watch_stream(ctx: Context, options: &EtcdOptions, body: &[u8]) -> Answer {
    let requests = match stream_requests::<pb::WatchRequest>(body) {
        Ok(requests) => requests,
        Err(error) => return first_message_error(error),
    };
    let (items, answer) = mpsc::channel(4);
    let stream_options = options.watch_streams.clone();
    let (out, mut outgoing) = mpsc::channel(stream_options.queue_responses.max(1));
    let writer = tokio::spawn(async move {
        loop {
            // The HTTP side dropping the stream (its client left) ends
            // the writer, and with it the watches.
            let item = tokio::select! {
                item = outgoing.recv() => item,
                () = items.closed() => return,
            };
            let Some(item) = item else {
                return;
            };
            let item = match item {
                Out::Response(response) => StreamItem::Message(result_text(&response)),
                Out::End(status) => {
                    let _ = items.send(StreamItem::Error(status)).await;
                    return;
                }
            };
            if items.send(item).await.is_err() {
                return;
            }
        }
    });
    tokio::spawn(watch::run_stream(
        ctx,
        stream_options,
        requests.into_iter(),
        out,
        writer,
        false,
    ));
    Answer {
        status: 200,
        headers: Vec::new(),
        body: Body::Stream(answer),
    }
}

/// `/v3/lease/keepalive`: one answer per keep-alive in the body, then the
/// stream ends (the body is the whole request stream).
fn keep_alive_stream(ctx: Context, body: &[u8]) -> Answer {
    let requests = match stream_requests::<pb::LeaseKeepAliveRequest>(body) {
        Ok(requests) => requests,
        Err(error) => return first_message_error(error),
    };
    let (items, answer) = mpsc::channel(requests.len().max(1));
    tokio::spawn(async move {
        for request in requests {
            let item = match super::keepalive::keep_alive(&ctx, request.id).await {
                Ok(response) => StreamItem::Message(result_text(&response)),
                Err(status) => {
                    let _ = items.send(StreamItem::Error(status)).await;
                    return;
                }
            };
            if items.send(item).await.is_err() {
                return;
            }
        }
    });
    Answer {
        status: 200,
        headers: Vec::new(),
        body: Body::Stream(answer),
    }
}

/// `/v3/maintenance/snapshot`: the member's backup as a stream of
/// `SnapshotResponse` messages (`blob` base64, `remaining_bytes` counting
/// down), the bytes `Maintenance.Snapshot` streams over gRPC. The body is
/// one request, decoded as a unary call's is (an empty body is the empty
/// request); only root may take one once auth is on.
fn snapshot_stream(ctx: Context, body: &[u8]) -> Answer {
    if let Err(error) = json::from_json::<pb::SnapshotRequest>(body) {
        return gateway_error_answer(&Status::new(Code::InvalidArgument, error.0));
    }
    let (items, answer) = mpsc::channel(2);
    tokio::spawn(async move {
        let mut stream = match super::snapshot::backup_as(&ctx).await {
            Ok(stream) => stream,
            Err(error) => {
                let status = super::errors::maintenance_status_of(&error);
                let _ = items.send(StreamItem::Error(status)).await;
                return;
            }
        };
        loop {
            let item = match stream.next_piece(super::snapshot::PIECE_BYTES) {
                Ok(Some((blob, remaining_bytes))) => {
                    StreamItem::Message(result_text(&pb::SnapshotResponse {
                        header: None,
                        remaining_bytes,
                        blob,
                    }))
                }
                Ok(None) => return,
                Err(err) => {
                    tracing::error!("snapshot stream failed: {err}");
                    let status = Status::internal(format!("keel: snapshot failed: {err}"));
                    let _ = items.send(StreamItem::Error(status)).await;
                    return;
                }
            };
            // The client going away drops the receiver and ends the backup.
            if items.send(item).await.is_err() {
                return;
            }
        }
    });
    Answer {
        status: 200,
        headers: Vec::new(),
        body: Body::Stream(answer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_and_statuses_are_grpc_gateways() {
        let status = Status::new(
            Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted",
        );
        assert_eq!(
            error_body(&status),
            r#"{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}"#
        );
        assert_eq!(http_status(Code::OutOfRange), 400);
        assert_eq!(http_status(Code::Unavailable), 503);
        assert_eq!(http_status(Code::NotFound), 404);
    }

    #[test]
    fn call_errors_carry_a_trailer_and_decode_errors_do_not() {
        let status = Status::new(Code::NotFound, "etcdserver: member not found");
        let call = call_error_answer(&status);
        assert_eq!(call.status, 404);
        assert!(
            call.headers
                .contains(&("Trailer", "Grpc-Trailer-Content-Type".into()))
        );
        assert!(matches!(call.body, Body::Trailered(_, ref t) if t.len() == 1));
        let decode = gateway_error_answer(&Status::new(Code::InvalidArgument, "unexpected EOF"));
        assert_eq!(decode.status, 400);
        assert_eq!(
            decode.headers,
            vec![("Content-Type", "application/json".into())]
        );
        assert!(matches!(decode.body, Body::Whole(_)));
        let not_found = http_error(404, "Not Found");
        assert!(matches!(not_found.body, Body::Whole(ref b) if b == b"Not Found\n"));
        assert!(
            not_found
                .headers
                .contains(&("X-Content-Type-Options", "nosniff".into()))
        );
    }

    #[test]
    fn gateway_paths_under_both_prefixes() {
        assert_eq!(gateway_path("/v3/kv/range"), Some("kv/range"));
        assert_eq!(gateway_path("/v3beta/kv/range"), Some("kv/range"));
        assert_eq!(gateway_path("/v3alpha/kv/range"), None);
        assert_eq!(gateway_path("/health"), None);
    }

    #[test]
    fn routes_are_literal_with_no_verbs() {
        assert_eq!(route("kv/range"), Ok(Some(Route::Unary(Unary::Range))));
        assert_eq!(route("kv/range:"), Ok(Some(Route::Unary(Unary::Range))));
        assert_eq!(route("kv/range:get"), Ok(None));
        assert_eq!(route("kv/:get"), Err(()));
        assert_eq!(route("kv/range/"), Ok(None));
        assert_eq!(route("KV/Range"), Ok(None));
        assert_eq!(route("watch"), Ok(Some(Route::Watch)));
        assert_eq!(route("lease/keepalive"), Ok(Some(Route::KeepAlive)));
        // Hash and HashKV share the path; Hash was registered first.
        assert_eq!(
            route("maintenance/hash"),
            Ok(Some(Route::Unary(Unary::Hash)))
        );
        assert_eq!(route("maintenance/hashkv"), Ok(None));
        assert_eq!(route("auth/status"), Ok(None));
    }

    #[test]
    fn stream_bodies_hold_several_objects_and_stop_at_a_bad_one() {
        let requests: Result<Vec<pb::LeaseKeepAliveRequest>, _> =
            stream_requests(br#"{"ID":"1"} {"ID":2}{bad"#);
        assert_eq!(
            requests
                .ok()
                .map(|r| r.iter().map(|k| k.id).collect::<Vec<_>>()),
            Some(vec![1, 2])
        );
        assert_eq!(
            stream_requests::<pb::LeaseKeepAliveRequest>(b"{")
                .err()
                .map(|e| e.0),
            Some("unexpected EOF".into())
        );
        assert_eq!(
            stream_requests::<pb::LeaseKeepAliveRequest>(b" ").ok(),
            Some(vec![])
        );
    }

    #[test]
    fn grpc_timeouts_read_as_grpc_gateway_reads_them() {
        assert_eq!(grpc_timeout("1S"), Ok(Some(Duration::from_secs(1))));
        assert_eq!(grpc_timeout("+250m"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(
            grpc_timeout("123456789012n"),
            Ok(Some(Duration::from_nanos(123456789012)))
        );
        assert_eq!(grpc_timeout("0H"), Ok(None));
        assert_eq!(grpc_timeout("-1S"), Ok(Some(Duration::ZERO)));
        assert_eq!(grpc_timeout("S"), Err(()));
        assert_eq!(grpc_timeout("1s"), Err(()));
        assert_eq!(grpc_timeout("x1S"), Err(()));
        assert_eq!(grpc_timeout(""), Err(()));
    }

    #[tokio::test]
    async fn a_stream_past_its_deadline_ends_with_deadline_exceeded() {
        let (items, receiver) = mpsc::channel(1);
        let answer = Answer {
            status: 200,
            headers: Vec::new(),
            body: Body::Stream(receiver),
        };
        let Body::Stream(mut limited) = with_deadline(answer, Duration::from_millis(10)).body
        else {
            panic!("not a stream");
        };
        let _ = items.send(StreamItem::Message("m".into())).await;
        assert!(matches!(limited.recv().await, Some(StreamItem::Message(_))));
        let Some(StreamItem::Error(status)) = limited.recv().await else {
            panic!("no deadline");
        };
        assert_eq!(status, deadline_exceeded());
        assert!(limited.recv().await.is_none());
    }

    #[test]
    fn stream_heads_follow_the_first_item() {
        let message = StreamItem::Message("{\"result\":{}}".into());
        assert_eq!(stream_head(Some(&message)).1.len(), 2);
        let error = StreamItem::Error(Status::new(Code::Unknown, "auth: user name is empty"));
        assert_eq!(stream_head(Some(&error)).0, 500);
        assert_eq!(stream_head(Some(&error)).1.len(), 1);
        assert_eq!(
            stream_head(None),
            (200, vec![("Content-Type", "application/json".into())])
        );
    }

    #[test]
    fn a_failed_stream_ends_with_grpc_gateways_error_object() {
        let text = stream_item_text(&StreamItem::Error(Status::new(
            Code::Unavailable,
            "etcdserver: no leader",
        )));
        assert_eq!(
            text,
            "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}"
        );
    }
}

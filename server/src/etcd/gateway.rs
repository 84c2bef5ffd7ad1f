//! etcd 3.4's JSON gateway (grpc-gateway): `POST /v3/<service>/<method>`
//! with the request message as JSON, answered with the response message as
//! JSON, or, for the streaming methods (`/v3/watch`,
//! `/v3/lease/keepalive`), a stream of `{"result":…}` objects, one per
//! line. `/v3beta/` is the same API under its 3.3 name. The methods are
//! the gRPC ones ([`Unary`]); only the encoding differs.

use super::EtcdOptions;
use super::proto::etcdserverpb as pb;
use super::proto::json;
use super::unary::{Context, Unary, json_error};
use super::watch::{self, Out};
use crate::grpc::{Code, Status};
use serde_json::Value;
use tokio::sync::mpsc;

/// What the gateway answers.
#[derive(Debug)]
pub enum Answer {
    /// A whole body with an HTTP status and content type.
    Body {
        /// The HTTP status code.
        status: u16,
        /// The content type.
        content_type: &'static str,
        /// The body.
        body: String,
    },
    /// A stream of JSON lines (sent chunked); it ends when the channel does.
    Stream(mpsc::Receiver<String>),
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

/// grpc-gateway's error body: `{"error":…,"code":…,"message":…}`.
pub fn error_body(status: &Status) -> String {
    let mut body = String::from("{\"error\":");
    crate::go_json::write_string(&mut body, &status.message);
    body.push_str(&format!(",\"code\":{},\"message\":", status.code as u32));
    crate::go_json::write_string(&mut body, &status.message);
    body.push('}');
    body
}

/// An error as the gateway answers it.
pub fn error_answer(status: &Status) -> Answer {
    Answer::Body {
        status: http_status(status.code),
        content_type: "application/json",
        body: error_body(status),
    }
}

/// The gateway path of a request path, if it is one: the part after
/// `/v3/` or `/v3beta/`.
pub fn gateway_path(path: &str) -> Option<&str> {
    path.strip_prefix("/v3/")
        .or_else(|| path.strip_prefix("/v3beta/"))
}

/// Serves one gateway request (`path` as [`gateway_path`] gives it).
pub async fn handle(
    ctx: Context,
    options: &EtcdOptions,
    method: &str,
    path: &str,
    body: &[u8],
) -> Answer {
    let known =
        path == "watch" || path == "lease/keepalive" || Unary::from_gateway_path(path).is_some();
    if !known {
        return Answer::Body {
            status: 404,
            content_type: "text/plain",
            body: "Not Found\n".into(),
        };
    }
    if method != "POST" {
        return Answer::Body {
            status: 405,
            content_type: "text/plain",
            body: "Method Not Allowed\n".into(),
        };
    }
    match path {
        "watch" => watch_stream(ctx, options, body),
        "lease/keepalive" => keep_alive_stream(ctx, body).await,
        _ => match Unary::from_gateway_path(path) {
            Some(unary) => match unary.call_json(&ctx, body).await {
                Ok(body) => Answer::Body {
                    status: 200,
                    content_type: "application/json",
                    body,
                },
                Err(status) => error_answer(&status),
            },
            None => error_answer(&Status::unimplemented("unknown gateway method")),
        },
    }
}

/// The request messages of a streaming call: the body's JSON objects, one
/// after another (whitespace between them is allowed).
fn stream_requests<M: json::ProtoJson>(body: &[u8]) -> Result<Vec<M>, Status> {
    let mut requests = Vec::new();
    for value in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
        let value = value.map_err(|e| json_error(json::JsonError(e.to_string())))?;
        requests.push(json::from_value(&value).map_err(json_error)?);
    }
    Ok(requests)
}

/// `{"result":<message>}`, one line of a stream.
fn result_line<M: json::ProtoJson>(message: &M) -> String {
    let mut line = String::from("{\"result\":");
    json::write_message(&mut line, message);
    line.push_str("}\n");
    line
}

/// grpc-gateway's last line when a stream fails.
fn stream_error_line(status: &Status) -> String {
    let http = http_status(status.code);
    let mut line = format!(
        "{{\"error\":{{\"grpc_code\":{},\"http_code\":{http},\"message\":",
        status.code as u32
    );
    crate::go_json::write_string(&mut line, &status.message);
    line.push_str(",\"http_status\":");
    crate::go_json::write_string(&mut line, http_reason(http));
    line.push_str("}}\n");
    line
}

/// The reason phrase of an HTTP status Keel answers with.
pub fn http_reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
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
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// `/v3/watch`: the body's watch requests, then every response the
/// watches send, until the client goes away.
fn watch_stream(ctx: Context, options: &EtcdOptions, body: &[u8]) -> Answer {
    let requests = match stream_requests::<pb::WatchRequest>(body) {
        Ok(requests) => requests,
        Err(status) => return error_answer(&status),
    };
    let (lines, answer) = mpsc::channel(4);
    let stream_options = options.watch_streams.clone();
    let (out, mut outgoing) = mpsc::channel(stream_options.queue_responses.max(1));
    let writer = tokio::spawn(async move {
        while let Some(item) = outgoing.recv().await {
            let line = match item {
                Out::Response(response) => result_line(&response),
                Out::End(status) => {
                    let _ = lines.send(stream_error_line(&status)).await;
                    return;
                }
            };
            if lines.send(line).await.is_err() {
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
    Answer::Stream(answer)
}

/// `/v3/lease/keepalive`: one answer per keep-alive in the body, then the
/// stream ends (the body is the whole request stream).
async fn keep_alive_stream(ctx: Context, body: &[u8]) -> Answer {
    let requests = match stream_requests::<pb::LeaseKeepAliveRequest>(body) {
        Ok(requests) => requests,
        Err(status) => return error_answer(&status),
    };
    let (lines, answer) = mpsc::channel(requests.len().max(1));
    tokio::spawn(async move {
        for request in requests {
            let line = match super::keepalive::keep_alive(&ctx, request.id).await {
                Ok(response) => result_line(&response),
                Err(status) => {
                    let _ = lines.send(stream_error_line(&status)).await;
                    return;
                }
            };
            if lines.send(line).await.is_err() {
                return;
            }
        }
    });
    Answer::Stream(answer)
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
            r#"{"error":"etcdserver: mvcc: required revision has been compacted","code":11,"message":"etcdserver: mvcc: required revision has been compacted"}"#
        );
        assert_eq!(http_status(Code::OutOfRange), 400);
        assert_eq!(http_status(Code::Unavailable), 503);
        assert_eq!(http_status(Code::NotFound), 404);
    }

    #[test]
    fn gateway_paths_under_both_prefixes() {
        assert_eq!(gateway_path("/v3/kv/range"), Some("kv/range"));
        assert_eq!(gateway_path("/v3beta/kv/range"), Some("kv/range"));
        assert_eq!(gateway_path("/v3alpha/kv/range"), None);
        assert_eq!(gateway_path("/health"), None);
    }

    #[test]
    fn stream_bodies_hold_several_objects() {
        let requests: Result<Vec<pb::LeaseKeepAliveRequest>, _> =
            stream_requests(br#"{"ID":"1"} {"ID":2}"#);
        assert_eq!(
            requests
                .ok()
                .map(|r| r.iter().map(|k| k.id).collect::<Vec<_>>()),
            Some(vec![1, 2])
        );
        assert!(stream_requests::<pb::LeaseKeepAliveRequest>(b"{").is_err());
    }

    #[test]
    fn a_failed_stream_ends_with_grpc_gateways_error_line() {
        let line = stream_error_line(&Status::new(Code::Unavailable, "etcdserver: no leader"));
        assert_eq!(
            line,
            "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}\n"
        );
    }
}

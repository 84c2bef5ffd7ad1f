//! HTTP/1.1 on the client port, answered as etcd 3.4 answers it (its Go
//! `net/http` server, etcd's handlers): `GET /health`, `GET /version` and
//! `GET /metrics` (Prometheus's text format, [`crate::metrics`])
//! for load balancers and probes, etcd's JSON gateway under `/v3/` and
//! `/v3beta/`, CORS headers on every answer, `OPTIONS` on any path.
//!
//! The framing is Go's, because clients and proxies see it: `Date`, a
//! body of up to 2048 bytes with `Content-Length` and a longer one
//! chunked, trailers (always chunked), streams one chunk per message,
//! headers sorted by name, HTTP/1.0 answered as HTTP/1.0 (closing the
//! connection unless it asked for keep-alive), `Connection: close` for a
//! request that asked for it or sent a chunked body, Go's plain-text
//! answers to a request it cannot read. Requests on one connection are
//! served in turn (keep-alive, pipelining); heads and bodies are bounded.

use super::ClientPortOptions;
use crate::etcd::gateway::{self, Answer, Body, GatewayRequest, StreamItem};
use crate::etcd::{Context, EtcdOptions};
use crate::grpc::{Code, Status};
use keel_engine::api::{AlarmAction, AlarmRequest, AlarmType, Request, Response};
use keel_engine::node::{NodeHandle, NodeStatus};
use keel_engine::version::{ETCD_VERSION, etcd_cluster_version};
use keel_engine::wire::WireError;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Longest request head read before giving up (431, as Go answers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers one request may have.
const MAX_HEADERS: usize = 64;
/// What Go's `net/http` buffers of a handler's output before it must
/// choose how to frame it (`bufferBeforeChunkingSize`): a body written at
/// once and no longer gets `Content-Length`, a longer one is chunked.
const GO_BUFFER_BYTES: usize = 2048;
/// How long `/health` waits for its read of the alarms (etcd's quorum
/// read there has one second).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// One parsed request.
#[derive(Debug, Default)]
pub(super) struct HttpRequest {
    pub(super) method: String,
    /// The path, percent-decoded, without the query.
    pub(super) path: String,
    /// The query (after `?`), as sent.
    pub(super) query: String,
    pub(super) http_1_1: bool,
    /// HTTP/1.1 with `Connection: close`, or HTTP/1.0 without keep-alive.
    pub(super) wants_close: bool,
    /// HTTP/1.0 with `Connection: keep-alive`.
    pub(super) wants_10_keep_alive: bool,
    /// Why the body stopped early (bad chunked framing, as Go's chunked
    /// reader words it): the body is what came before, the connection
    /// closes after the answer.
    pub(super) body_error: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) method_override: Option<String>,
    pub(super) authorization: Option<String>,
    pub(super) grpc_timeout: Option<String>,
    pub(super) body: Vec<u8>,
}

/// Why a request could not be read.
#[derive(Debug)]
enum Refusal {
    /// The connection ended (or failed) between or inside requests.
    Closed,
    /// Go's own answers to what it cannot read; the connection closes.
    Malformed(String),
    MissingHost,
    HeadTooLarge,
    UnsupportedTransferEncoding,
    /// The body is over the limit: answered as etcd's gRPC server refuses
    /// a message that large, then the connection closes.
    TooLarge(usize),
}

impl Refusal {
    /// What Go writes (status line, two headers, the text) before closing.
    fn go_answer(&self) -> Option<String> {
        let (status, text) = match self {
            Refusal::Closed | Refusal::TooLarge(_) => return None,
            Refusal::Malformed(_) => ("400 Bad Request", "400 Bad Request".to_string()),
            Refusal::MissingHost => (
                "400 Bad Request: missing required Host header",
                "400 Bad Request: missing required Host header".to_string(),
            ),
            Refusal::HeadTooLarge => (
                "431 Request Header Fields Too Large",
                "431 Request Header Fields Too Large".to_string(),
            ),
            Refusal::UnsupportedTransferEncoding => (
                "501 Not Implemented",
                "Unsupported transfer encoding".to_string(),
            ),
        };
        Some(format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n{text}"
        ))
    }
}

/// Serves HTTP/1.1 requests on one connection until it closes.
pub async fn serve<R, W>(
    reader: R,
    mut writer: W,
    ctx: &Context,
    options: &ClientPortOptions,
) -> Result<(), WireError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(reader);
    let max_body = options.grpc.max_receive_message_bytes;
    loop {
        let request = match read_request(&mut reader, &mut writer, max_body, true).await {
            Ok(request) => request,
            Err(Refusal::Closed) => return Ok(()),
            Err(Refusal::TooLarge(length)) => {
                let status = Status::new(
                    Code::ResourceExhausted,
                    format!("grpc: received message larger than max ({length} vs. {max_body})"),
                );
                let exchange = Exchange {
                    http_1_1: true,
                    close: true,
                    ..Exchange::default()
                };
                let answer = with_cors(gateway::call_error_answer(&status));
                let _ = write_answer(&mut reader, &mut writer, &exchange, answer).await;
                return Ok(());
            }
            Err(refusal) => {
                if let Some(text) = refusal.go_answer() {
                    let _ = writer.write_all(text.as_bytes()).await;
                    let _ = writer.flush().await;
                }
                let why = match refusal {
                    Refusal::Malformed(why) => why,
                    other => format!("{other:?}"),
                };
                return Err(WireError::malformed("http", why));
            }
        };
        let answer = with_cors(route(&request, ctx, &options.etcd).await);
        let exchange = Exchange::of(&request);
        if !write_answer(&mut reader, &mut writer, &exchange, answer).await? {
            return Ok(());
        }
    }
}

/// etcd's CORS headers, on every answer.
pub(super) fn with_cors(mut answer: Answer) -> Answer {
    answer.headers.extend([
        (
            "Access-Control-Allow-Headers",
            "accept, content-type, authorization".to_string(),
        ),
        (
            "Access-Control-Allow-Methods",
            "POST, GET, OPTIONS, PUT, DELETE".to_string(),
        ),
        ("Access-Control-Allow-Origin", "*".to_string()),
    ]);
    answer
}

/// What each path answers: `OPTIONS` on any path is a CORS preflight;
/// `/v3beta/` is `/v3/`; Go's `ServeMux` redirects a path that is not
/// clean (and `/v3` to `/v3/`); etcd's handlers serve `/v3/`, `/health`,
/// `/version` and `/metrics` (a metrics listener only the last and
/// `/health`); anything else is Go's 404.
pub(super) async fn route(request: &HttpRequest, ctx: &Context, etcd: &EtcdOptions) -> Answer {
    let node = &ctx.node;
    if request.method == "OPTIONS" {
        return Answer {
            status: 200,
            headers: Vec::new(),
            body: Body::Whole(Vec::new()),
        };
    }
    let path = match request.path.strip_prefix("/v3beta/") {
        Some(rest) => format!("/v3/{rest}"),
        None => request.path.clone(),
    };
    if let Some(location) = mux_redirect(&path) {
        return redirect(&location, &request.query, &request.method);
    }
    if ctx.metrics_only && !["/metrics", "/health"].contains(&path.as_str()) {
        return gateway::http_error(404, "404 page not found");
    }
    if let Some(gateway_path) = path.strip_prefix("/v3/") {
        let ctx = ctx.clone();
        let gateway_request = GatewayRequest {
            method: &request.method,
            path: gateway_path,
            content_type: request.content_type.as_deref(),
            method_override: request.method_override.as_deref(),
            authorization: request.authorization.as_deref(),
            grpc_timeout: request.grpc_timeout.as_deref(),
            body: &request.body,
            body_error: request.body_error.as_deref(),
        };
        // Held for the call, or for as long as its stream runs.
        let permit = match &ctx.gateway_calls {
            Some(calls) => Arc::clone(calls).acquire_owned().await.ok(),
            None => None,
        };
        let mut answer = gateway::handle(ctx, etcd, gateway_request).await;
        if let (Some(permit), Body::Stream(items)) = (permit, &mut answer.body) {
            *items = hold_while_streaming(std::mem::replace(items, mpsc::channel(1).1), permit);
        }
        return answer;
    }
    match path.as_str() {
        "/health" | "/version" | "/metrics" if request.method != "GET" => {
            let mut answer = gateway::http_error(405, "Method Not Allowed");
            answer.headers.push(("Allow", "GET".into()));
            answer
        }
        "/health" => health(node, &request.query).await,
        "/metrics" => match &ctx.metrics {
            Some(metrics) => Answer {
                status: 200,
                headers: vec![("Content-Type", crate::metrics::CONTENT_TYPE.into())],
                body: Body::Whole(metrics.render().into_bytes()),
            },
            None => gateway::http_error(404, "404 page not found"),
        },
        "/version" => Answer {
            status: 200,
            headers: vec![("Content-Type", "application/json".into())],
            body: Body::Whole(version_body(&node.status()).into_bytes()),
        },
        _ => gateway::http_error(404, "404 page not found"),
    }
}

/// `GET /version`'s body: the etcd version Keel reports and the cluster
/// version (`not_decided` until the member has seen its cluster formed, as
/// etcd answers before its cluster version is set).
fn version_body(status: &NodeStatus) -> String {
    let cluster = if status.cluster_formed() {
        etcd_cluster_version()
    } else {
        "not_decided".to_string()
    };
    format!(r#"{{"etcdserver":"{ETCD_VERSION}","etcdcluster":"{cluster}"}}"#)
}

/// Forwards a gateway stream's items, holding `permit` until the stream
/// ends or its reader goes away (which drops `items`, ending the call).
fn hold_while_streaming(
    mut items: mpsc::Receiver<StreamItem>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> mpsc::Receiver<StreamItem> {
    let (forward, forwarded) = mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let item = tokio::select! {
                item = items.recv() => item,
                () = forward.closed() => None,
            };
            let Some(item) = item else { break };
            if forward.send(item).await.is_err() {
                break;
            }
        }
        drop(permit);
    });
    forwarded
}

/// etcd's health check: unhealthy with no leader, or with any alarm
/// raised (even NONE) that `?exclude=NAME` does not exclude, or when the
/// alarms cannot be read through the leader within a second.
async fn health(node: &NodeHandle, query: &str) -> Answer {
    let excluded: Vec<String> = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("exclude="))
        .map(|name| percent_decode(name).unwrap_or_default())
        .collect();
    let status = node.status();
    let mut healthy = !status.stopped && status.leader_id != 0;
    if healthy {
        let request = Request::Alarm(AlarmRequest {
            action: AlarmAction::Get,
            member_id: 0,
            alarm: AlarmType::None,
        });
        healthy = match tokio::time::timeout(HEALTH_TIMEOUT, node.request(request)).await {
            Ok(Ok(Response::Alarm(alarms))) => alarms
                .alarms
                .iter()
                .all(|alarm| excluded.iter().any(|name| name == alarm_name(alarm.alarm))),
            _ => false,
        };
    }
    if healthy {
        Answer {
            status: 200,
            headers: Vec::new(),
            body: Body::Sniffed(
                br#"{"health":"true"}"#.to_vec(),
                "text/plain; charset=utf-8",
            ),
        }
    } else {
        gateway::http_error(503, r#"{"health":"false"}"#)
    }
}

fn alarm_name(alarm: AlarmType) -> &'static str {
    match alarm {
        AlarmType::None => "NONE",
        AlarmType::NoSpace => "NOSPACE",
        AlarmType::Corrupt => "CORRUPT",
    }
}

/// Where Go's `ServeMux` redirects `path`: to its clean form (`.`, `..`
/// and doubled slashes resolved, a trailing slash kept), or `/v3` to the
/// registered `/v3/`.
fn mux_redirect(path: &str) -> Option<String> {
    let clean = clean_path(path);
    if clean != path {
        return Some(clean);
    }
    (path == "/v3").then(|| "/v3/".to_string())
}

/// Go's `cleanPath`.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut clean = format!("/{}", parts.join("/"));
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if trailing && clean != "/" {
        clean.push('/');
    }
    clean
}

/// Go's `http.Redirect` with 301.
fn redirect(location: &str, query: &str, method: &str) -> Answer {
    let location = if query.is_empty() {
        location.to_string()
    } else {
        format!("{location}?{query}")
    };
    let mut headers = vec![("Location", location.clone())];
    let body = if method == "GET" || method == "HEAD" {
        headers.push(("Content-Type", "text/html; charset=utf-8".into()));
        let mut escaped = String::new();
        for c in location.chars() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '"' => escaped.push_str("&#34;"),
                '\'' => escaped.push_str("&#39;"),
                c => escaped.push(c),
            }
        }
        format!("<a href=\"{escaped}\">Moved Permanently</a>.\n\n").into_bytes()
    } else {
        Vec::new()
    };
    Answer {
        status: 301,
        headers,
        body: Body::Whole(body),
    }
}

/// How one request's answer is framed and whether the connection stays.
#[derive(Debug, Default)]
struct Exchange {
    http_1_1: bool,
    head: bool,
    wants_10_keep_alive: bool,
    /// The connection closes after this answer whatever it is.
    close: bool,
}

impl Exchange {
    fn of(request: &HttpRequest) -> Exchange {
        Exchange {
            http_1_1: request.http_1_1,
            head: request.method == "HEAD",
            wants_10_keep_alive: request.wants_10_keep_alive,
            close: request.wants_close || request.body_error.is_some(),
        }
    }
}

/// The framing Go chooses for a body.
enum Framing {
    /// A HEAD answer with no body: neither length nor chunks.
    Empty,
    Length(usize),
    Chunked,
    /// HTTP/1.0 with no length: the body ends when the connection does.
    UntilClose,
}

/// Writes one answer as Go's `net/http` would; says whether the
/// connection may serve another request.
async fn write_answer<R, W>(
    reader: &mut BufReader<R>,
    writer: &mut W,
    exchange: &Exchange,
    answer: Answer,
) -> Result<bool, WireError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let Answer {
        status,
        mut headers,
        body,
    } = answer;
    let (bytes, sniffed, trailers) = match body {
        Body::Whole(bytes) => (bytes, None, Vec::new()),
        Body::Sniffed(bytes, content_type) => (bytes, Some(content_type), Vec::new()),
        Body::Trailered(bytes, trailers) => (bytes, None, trailers),
        Body::Stream(items) => {
            return write_stream(reader, writer, exchange, headers, items).await;
        }
    };
    // Go knows the length when the handler wrote everything into its
    // buffer before finishing (a HEAD answer with no body gets none).
    let framing = if exchange.head && bytes.is_empty() {
        Framing::Empty
    } else if trailers.is_empty() && bytes.len() <= GO_BUFFER_BYTES {
        Framing::Length(bytes.len())
    } else if exchange.head {
        Framing::Empty
    } else if exchange.http_1_1 {
        Framing::Chunked
    } else {
        Framing::UntilClose
    };
    let (head, keep) = head(status, &mut headers, exchange, &framing, sniffed);
    let mut out = head.into_bytes();
    if !exchange.head {
        match framing {
            Framing::Empty => {}
            Framing::Length(_) | Framing::UntilClose => out.extend_from_slice(&bytes),
            Framing::Chunked => {
                if !bytes.is_empty() {
                    push_chunk(&mut out, &bytes);
                }
                out.extend_from_slice(b"0\r\n");
                for (name, value) in trailers {
                    out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    writer.write_all(&out).await.map_err(io_error)?;
    writer.flush().await.map_err(io_error)?;
    Ok(keep)
}

/// The status line and headers: the handler's sorted by name, then
/// `Date`, `Content-Length`, a sniffed `Content-Type`, `Connection`,
/// `Transfer-Encoding` (Go's order). Says whether the connection stays.
fn head(
    status: u16,
    headers: &mut Vec<(&'static str, String)>,
    exchange: &Exchange,
    framing: &Framing,
    sniffed: Option<&str>,
) -> (String, bool) {
    headers.sort_by(|a, b| a.0.cmp(b.0));
    let has_length = matches!(framing, Framing::Length(_));
    let mut keep = !exchange.close;
    let mut connection = None;
    if exchange.wants_10_keep_alive && has_length {
        connection = Some("keep-alive");
        keep = true;
    } else if !exchange.http_1_1 || matches!(framing, Framing::UntilClose) {
        keep = false;
    }
    if !keep && exchange.http_1_1 {
        connection = Some("close");
    }
    let version = if exchange.http_1_1 { "1.1" } else { "1.0" };
    let mut text = format!(
        "HTTP/{version} {status} {}\r\n",
        gateway::http_reason(status)
    );
    for (name, value) in headers.iter() {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("Date: {}\r\n", http_date(SystemTime::now())));
    if let Framing::Length(length) = framing {
        text.push_str(&format!("Content-Length: {length}\r\n"));
    }
    if let Some(content_type) = sniffed {
        text.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    if let Some(connection) = connection {
        text.push_str(&format!("Connection: {connection}\r\n"));
    }
    if matches!(framing, Framing::Chunked) {
        text.push_str("Transfer-Encoding: chunked\r\n");
    }
    text.push_str("\r\n");
    (text, keep)
}

fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// A gateway stream: nothing until its first item (an answer with no item
/// at all has no head until the stream ends), then one chunk per message
/// as Go flushes them (a message of 2048 bytes or more and its newline go
/// as two chunks), an error object as the last, then the end. The client
/// leaving (its side closed) ends the stream.
async fn write_stream<R, W>(
    reader: &mut BufReader<R>,
    writer: &mut W,
    exchange: &Exchange,
    mut headers: Vec<(&'static str, String)>,
    mut items: tokio::sync::mpsc::Receiver<StreamItem>,
) -> Result<bool, WireError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut watch_reader = true;
    let mut first = true;
    let framing = if exchange.http_1_1 {
        Framing::Chunked
    } else {
        Framing::UntilClose
    };
    let mut keep = true;
    loop {
        let item = tokio::select! {
            biased;
            item = items.recv() => item,
            gone = client_gone(reader), if watch_reader => {
                if gone {
                    return Ok(false);
                }
                // The client sent more (a pipelined request): it waits
                // for this stream's end, and only the writes tell whether
                // it is still there.
                watch_reader = false;
                continue;
            }
        };
        let mut out = Vec::new();
        if first {
            first = false;
            let (status, mut stream_headers) = gateway::stream_head(item.as_ref());
            stream_headers.append(&mut headers);
            let (text, stays) = head(status, &mut stream_headers, exchange, &framing, None);
            keep = stays;
            out.extend_from_slice(text.as_bytes());
        }
        let Some(item) = item else {
            if matches!(framing, Framing::Chunked) {
                out.extend_from_slice(b"0\r\n\r\n");
            }
            writer.write_all(&out).await.map_err(io_error)?;
            writer.flush().await.map_err(io_error)?;
            return Ok(keep);
        };
        let mut text = gateway::stream_item_text(&item).into_bytes();
        let is_error = matches!(item, StreamItem::Error(_));
        match framing {
            Framing::Chunked if is_error => push_chunk(&mut out, &text),
            Framing::Chunked if text.len() >= GO_BUFFER_BYTES => {
                push_chunk(&mut out, &text);
                push_chunk(&mut out, b"\n");
            }
            Framing::Chunked => {
                text.push(b'\n');
                push_chunk(&mut out, &text);
            }
            _ => {
                if !is_error {
                    text.push(b'\n');
                }
                out.extend_from_slice(&text);
            }
        }
        writer.write_all(&out).await.map_err(io_error)?;
        writer.flush().await.map_err(io_error)?;
        if is_error {
            // The handler returns after an error: the stream ends.
            if matches!(framing, Framing::Chunked) {
                writer.write_all(b"0\r\n\r\n").await.map_err(io_error)?;
                writer.flush().await.map_err(io_error)?;
            }
            return Ok(keep);
        }
    }
}

/// Waits until the client's side of the connection closes (`true`) or it
/// sends more bytes (`false`, left unread).
async fn client_gone<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> bool {
    match reader.fill_buf().await {
        Ok(buffered) => buffered.is_empty(),
        Err(_) => true,
    }
}

fn io_error(err: std::io::Error) -> WireError {
    WireError::Io(err.to_string())
}

/// Parses one request from `bytes` as the client port reads it: method,
/// path and body (fuzzing's entry; `bytes` is the whole input).
pub fn parse_request(bytes: &[u8], max_body: usize) -> Result<(String, String, Vec<u8>), String> {
    let mut reader = BufReader::new(bytes);
    let mut answers = Vec::new();
    let reading = std::pin::pin!(read_request(&mut reader, &mut answers, max_body, false));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    // In-memory reads and writes never wait: one poll finishes.
    match std::future::Future::poll(reading, &mut context) {
        std::task::Poll::Ready(Ok(request)) => {
            let path = if request.query.is_empty() {
                request.path
            } else {
                format!("{}?{}", request.path, request.query)
            };
            Ok((request.method, path, request.body))
        }
        std::task::Poll::Ready(Err(refusal)) => Err(format!("{refusal:?}")),
        std::task::Poll::Pending => Err("request incomplete".into()),
    }
}

/// Go's `url.PathUnescape` of a request path: `%XX` decoded (bytes that
/// are not UTF-8 then read as U+FFFD); a bad escape fails.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = bytes.get(at + 1..at + 3)?;
            let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(value);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Reads one request: head, then body; answers `Expect: 100-continue`.
/// `require_host`: refuse an HTTP/1.1 request without `Host`, as Go does.
async fn read_request<R, W>(
    reader: &mut BufReader<R>,
    writer: &mut W,
    max_body: usize,
    require_host: bool,
) -> Result<HttpRequest, Refusal>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let head = read_head(reader).await?;
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(Refusal::Malformed("incomplete head".into())),
        Err(err) => return Err(Refusal::Malformed(err.to_string())),
    }
    let method = parsed.method.unwrap_or("").to_string();
    let target = parsed.path.unwrap_or("");
    let http_1_1 = parsed.version != Some(0);
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    if require_host && http_1_1 && header("host").is_none() {
        return Err(Refusal::MissingHost);
    }
    // An absolute-form target names the path after its authority.
    let origin_form = match target.split_once("://") {
        Some((_, rest)) if !target.starts_with('/') => {
            rest.find('/').map(|at| &rest[at..]).unwrap_or("/")
        }
        _ => target,
    };
    let (raw_path, query) = origin_form.split_once('?').unwrap_or((origin_form, ""));
    let path = percent_decode(raw_path)
        .ok_or_else(|| Refusal::Malformed(format!("bad path {raw_path:?}")))?;
    let connection = header("connection")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let has_token = |token: &str| connection.split(',').any(|t| t.trim() == token);
    let wants_10_keep_alive = !http_1_1 && has_token("keep-alive");
    let wants_close = has_token("close") || (!http_1_1 && !wants_10_keep_alive);
    let transfer_encoding = header("transfer-encoding").map(|t| t.to_ascii_lowercase());
    let chunked = match transfer_encoding.as_deref() {
        None => false,
        Some("chunked") if http_1_1 => true,
        Some(_) => return Err(Refusal::UnsupportedTransferEncoding),
    };
    let lengths: Vec<&[u8]> = parsed
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map(|h| h.value)
        .collect();
    if lengths.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err(Refusal::Malformed("conflicting content-length".into()));
    }
    let length = match header("content-length") {
        Some(value) if !chunked => value
            .parse::<usize>()
            .map_err(|_| Refusal::Malformed(format!("bad content-length {value:?}")))?,
        _ => 0,
    };
    if length > max_body {
        return Err(Refusal::TooLarge(length));
    }
    if header("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        && http_1_1
        && (chunked || length > 0)
    {
        writer
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|_| Refusal::Closed)?;
        writer.flush().await.map_err(|_| Refusal::Closed)?;
    }
    let (body, body_error) = if chunked {
        read_chunked(reader, max_body).await?
    } else {
        let mut body = vec![0u8; length];
        reader
            .read_exact(&mut body)
            .await
            .map_err(|_| Refusal::Closed)?;
        (body, None)
    };
    Ok(HttpRequest {
        method,
        path,
        query: query.to_string(),
        http_1_1,
        wants_close,
        wants_10_keep_alive,
        body_error,
        content_type: header("content-type"),
        method_override: header("x-http-method-override"),
        authorization: header("authorization"),
        grpc_timeout: header("grpc-timeout"),
        body,
    })
}

/// Reads up to and including the blank line that ends a head.
async fn read_head<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Result<Vec<u8>, Refusal> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let read = (&mut *reader)
            .take((MAX_HEAD_BYTES + 1 - head.len().min(MAX_HEAD_BYTES)) as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|_| Refusal::Closed)?;
        if read == 0 {
            return if head.is_empty() {
                Err(Refusal::Closed)
            } else {
                Err(Refusal::Malformed(
                    "connection closed inside a request head".into(),
                ))
            };
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD_BYTES {
            return Err(Refusal::HeadTooLarge);
        }
        if line == b"\r\n" || line == b"\n" {
            if head.len() == line.len() {
                // Blank lines before a request line are skipped (RFC 9112).
                head.clear();
                continue;
            }
            return Ok(head);
        }
    }
}

/// Reads a chunked body (chunk extensions and trailers ignored). Bad
/// framing ends the body where it is, with Go's words for it: Go's
/// handler reads what came before and its answer closes the connection.
async fn read_chunked<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    max_body: usize,
) -> Result<(Vec<u8>, Option<String>), Refusal> {
    let mut body = Vec::new();
    loop {
        let mut line = Vec::new();
        (&mut *reader)
            .take(4097)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|_| Refusal::Closed)?;
        if line.is_empty() {
            return Err(Refusal::Closed);
        }
        if line.len() > 4096 {
            return Ok((body, Some("header line too long".into())));
        }
        let text = String::from_utf8_lossy(&line);
        let size_text = text.trim().split(';').next().unwrap_or("").trim();
        let size = match usize::from_str_radix(size_text, 16) {
            Ok(size) => size,
            Err(_) if size_text.is_empty() => 0,
            Err(_) => return Ok((body, Some("invalid byte in chunk length".into()))),
        };
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                let mut trailer = Vec::new();
                let read = (&mut *reader)
                    .take(MAX_HEAD_BYTES as u64)
                    .read_until(b'\n', &mut trailer)
                    .await
                    .map_err(|_| Refusal::Closed)?;
                if read == 0 || trailer == b"\r\n" || trailer == b"\n" {
                    return Ok((body, None));
                }
            }
        }
        if body.len().saturating_add(size) > max_body {
            return Err(Refusal::TooLarge(body.len().saturating_add(size)));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .await
            .map_err(|_| Refusal::Closed)?;
        let mut end = [0u8; 2];
        reader
            .read_exact(&mut end)
            .await
            .map_err(|_| Refusal::Closed)?;
        if &end != b"\r\n" {
            return Ok((body, Some("malformed chunked encoding".into())));
        }
    }
}

/// An HTTP date (`Mon, 02 Jan 2006 15:04:05 GMT`), as Go writes `Date`.
pub(super) fn http_date(now: SystemTime) -> String {
    let seconds = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8], max_body: usize) -> Result<HttpRequest, Refusal> {
        let mut reader = BufReader::new(input);
        let mut sink = Vec::new();
        read_request(&mut reader, &mut sink, max_body, true).await
    }

    #[tokio::test]
    async fn requests_with_length_chunked_and_keep_alive_rules() {
        let plain = read(
            b"POST /v3/kv/put?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}",
            100,
        )
        .await
        .ok();
        assert_eq!(plain.as_ref().map(|r| r.body.as_slice()), Some(&b"{}"[..]));
        assert_eq!(plain.as_ref().map(|r| r.wants_close), Some(false));
        assert_eq!(plain.as_ref().map(|r| r.query.as_str()), Some("x=1"));
        let chunked = read(
            b"POST /v3/kv/put HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3;x=y\r\n}ab\r\n0\r\n\r\n",
            100,
        )
        .await
        .ok();
        assert_eq!(
            chunked.as_ref().map(|r| r.body.clone()),
            Some(b"{\"}ab".to_vec())
        );
        assert_eq!(chunked.map(|r| r.body_error), Some(None));
        // A chunk longer than its size says: what came is the body.
        let broken = read(
            b"POST /v3/kv/range HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"key\r\na\r\n\":\"Zm9v\"}\r\n0\r\n\r\n",
            100,
        )
        .await
        .ok();
        assert_eq!(
            broken.map(|r| (r.body, r.body_error)),
            Some((
                b"{\"key\":\"Zm9v\"}\r".to_vec(),
                Some("malformed chunked encoding".into())
            ))
        );
        let old = read(b"GET /health HTTP/1.0\r\n\r\n", 100).await.ok();
        assert_eq!(
            old.map(|r| (r.http_1_1, r.wants_close)),
            Some((false, true))
        );
        let old_kept = read(
            b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            100,
        )
        .await
        .ok();
        assert_eq!(old_kept.map(|r| r.wants_10_keep_alive), Some(true));
        let close = read(
            b"GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            100,
        )
        .await
        .ok();
        assert_eq!(close.map(|r| r.wants_close), Some(true));
        let escaped = read(b"POST /v3/kv/%72ange HTTP/1.1\r\nHost: h\r\n\r\n", 100)
            .await
            .ok();
        assert_eq!(escaped.map(|r| r.path), Some("/v3/kv/range".into()));
    }

    #[tokio::test]
    async fn bad_requests_are_refused_not_trusted() {
        assert!(matches!(
            read(
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 999\r\n\r\n",
                100
            )
            .await,
            Err(Refusal::TooLarge(999))
        ));
        assert!(matches!(
            read(
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
                100
            )
            .await,
            Err(Refusal::Malformed(_))
        ));
        let bad_size = read(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            100,
        )
        .await;
        assert_eq!(
            bad_size.ok().and_then(|r| r.body_error),
            Some("invalid byte in chunk length".into())
        );
        assert!(matches!(
            read(
                b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n",
                100
            )
            .await,
            Err(Refusal::TooLarge(128))
        ));
        assert!(matches!(
            read(
                b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
                100
            )
            .await,
            Err(Refusal::UnsupportedTransferEncoding)
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\n\r\n", 100).await,
            Err(Refusal::MissingHost)
        ));
        assert!(matches!(
            read(b"GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 100).await,
            Err(Refusal::Malformed(_))
        ));
        let long_head = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert!(matches!(
            read(long_head.as_bytes(), 100).await,
            Err(Refusal::HeadTooLarge)
        ));
        assert!(matches!(
            read(b"\x00\x01garbage\r\n\r\n", 100).await,
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(read(b"", 100).await, Err(Refusal::Closed)));
        assert!(matches!(
            read(
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                100
            )
            .await,
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            read(
                b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
                100
            )
            .await,
            Err(Refusal::Closed)
        ));
        assert_eq!(
            Refusal::MissingHost.go_answer().as_deref(),
            Some(
                "HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header"
            )
        );
    }

    #[tokio::test]
    async fn expect_continue_is_answered_before_the_body() {
        let input: &[u8] =
            b"POST /v3/kv/put HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}";
        let mut reader = BufReader::new(input);
        let mut written = Vec::new();
        let request = read_request(&mut reader, &mut written, 100, true).await;
        assert!(request.is_ok());
        assert_eq!(written, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    /// What `write_answer` writes, with the `Date` value blanked (the
    /// client sends nothing more and stays).
    async fn written(exchange: Exchange, answer: Answer) -> (String, bool) {
        let (_client, server) = tokio::io::duplex(64);
        let mut reader = BufReader::new(server);
        let mut out = Vec::new();
        let keep = write_answer(&mut reader, &mut out, &exchange, answer)
            .await
            .ok()
            .unwrap_or(false);
        let text = String::from_utf8_lossy(&out).into_owned();
        let text = match (text.find("Date: "), text.find(" GMT\r\n")) {
            (Some(start), Some(end)) => format!("{}Date: D{}", &text[..start], &text[end + 4..]),
            _ => text,
        };
        (text, keep)
    }

    fn http_1_1() -> Exchange {
        Exchange {
            http_1_1: true,
            ..Exchange::default()
        }
    }

    #[tokio::test]
    async fn answers_are_framed_as_gos_net_http_frames_them() {
        let json = |size: usize| Answer {
            status: 200,
            headers: vec![
                ("Content-Type", "application/json".into()),
                ("A", "1".into()),
            ],
            body: Body::Whole(vec![b'x'; size]),
        };
        let (small, keep) = written(http_1_1(), json(2048)).await;
        assert!(keep);
        assert!(small.starts_with(
            "HTTP/1.1 200 OK\r\nA: 1\r\nContent-Type: application/json\r\nDate: D\r\nContent-Length: 2048\r\n\r\nxx"
        ));
        let (large, _) = written(http_1_1(), json(2049)).await;
        assert!(large.contains("Date: D\r\nTransfer-Encoding: chunked\r\n\r\n801\r\nxx"));
        assert!(large.ends_with("x\r\n0\r\n\r\n"));
        let old = Exchange {
            close: true,
            ..Exchange::default()
        };
        let (old_large, keep) = written(old, json(3000)).await;
        assert!(!keep);
        assert!(old_large.starts_with("HTTP/1.0 200 OK\r\n"));
        assert!(!old_large.contains("Transfer-Encoding") && !old_large.contains("Connection"));
        let old_kept = Exchange {
            wants_10_keep_alive: true,
            ..Exchange::default()
        };
        let (kept, keep) = written(old_kept, json(2)).await;
        assert!(keep && kept.contains("Content-Length: 2\r\nConnection: keep-alive\r\n\r\n"));
        let closing = Exchange {
            http_1_1: true,
            close: true,
            ..Exchange::default()
        };
        let (closed, keep) = written(closing, json(2)).await;
        assert!(!keep && closed.contains("Content-Length: 2\r\nConnection: close\r\n\r\n"));
    }

    #[tokio::test]
    async fn trailers_sniffed_types_and_head_requests() {
        let status = Status::new(Code::NotFound, "etcdserver: member not found");
        let (error, _) = written(http_1_1(), gateway::call_error_answer(&status)).await;
        let body = gateway::error_body(&status);
        assert_eq!(
            error,
            format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nTrailer: Grpc-Trailer-Content-Type\r\nDate: D\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\nGrpc-Trailer-Content-Type: application/grpc\r\n\r\n",
                body.len()
            )
        );
        let health = Answer {
            status: 200,
            headers: vec![("Access-Control-Allow-Origin", "*".into())],
            body: Body::Sniffed(b"{}".to_vec(), "text/plain; charset=utf-8"),
        };
        let (sniffed, _) = written(http_1_1(), health).await;
        assert!(sniffed.contains(
            "Origin: *\r\nDate: D\r\nContent-Length: 2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}"
        ));
        let head = Exchange {
            http_1_1: true,
            head: true,
            ..Exchange::default()
        };
        let (head, _) = written(head, gateway::http_error(405, "Method Not Allowed")).await;
        assert!(head.ends_with("Content-Length: 19\r\n\r\n"));
        let (options, _) = written(
            http_1_1(),
            Answer {
                status: 200,
                headers: Vec::new(),
                body: Body::Whole(Vec::new()),
            },
        )
        .await;
        assert!(options.ends_with("Date: D\r\nContent-Length: 0\r\n\r\n"));
    }

    #[tokio::test]
    async fn streams_wait_for_their_first_item_and_chunk_per_message() {
        let (items, receiver) = tokio::sync::mpsc::channel(4);
        let _ = items
            .send(StreamItem::Message("{\"result\":{}}".into()))
            .await;
        let _ = items
            .send(StreamItem::Message("y".repeat(GO_BUFFER_BYTES)))
            .await;
        drop(items);
        let answer = Answer {
            status: 200,
            headers: Vec::new(),
            body: Body::Stream(receiver),
        };
        let (text, keep) = written(http_1_1(), answer).await;
        assert!(keep);
        assert!(text.starts_with(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nGrpc-Metadata-Content-Type: application/grpc\r\nDate: D\r\nTransfer-Encoding: chunked\r\n\r\ne\r\n{\"result\":{}}\n\r\n800\r\nyy"
        ));
        assert!(text.ends_with("y\r\n1\r\n\n\r\n0\r\n\r\n"));
        let (items, receiver) = tokio::sync::mpsc::channel(1);
        let _ = items
            .send(StreamItem::Error(Status::new(Code::Unknown, "no")))
            .await;
        let answer = Answer {
            status: 200,
            headers: Vec::new(),
            body: Body::Stream(receiver),
        };
        let (failed, _) = written(http_1_1(), answer).await;
        assert!(failed.starts_with("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nDate: D\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert!(failed.ends_with("}}\r\n0\r\n\r\n"));
    }

    #[tokio::test]
    async fn a_stream_ends_when_its_client_leaves() {
        let (client, server) = tokio::io::duplex(64);
        let mut reader = BufReader::new(server);
        drop(client);
        let (_items, receiver) = tokio::sync::mpsc::channel::<StreamItem>(1);
        let answer = Answer {
            status: 200,
            headers: Vec::new(),
            body: Body::Stream(receiver),
        };
        let mut out = Vec::new();
        let keep = write_answer(&mut reader, &mut out, &http_1_1(), answer).await;
        assert_eq!(keep.ok(), Some(false));
        assert!(out.is_empty(), "no head before the first item");
    }

    #[test]
    fn every_answer_gets_etcds_cors_headers() {
        let answer = with_cors(gateway::http_error(404, "404 page not found"));
        let names: Vec<&str> = answer.headers.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "Content-Type",
                "X-Content-Type-Options",
                "Access-Control-Allow-Headers",
                "Access-Control-Allow-Methods",
                "Access-Control-Allow-Origin"
            ]
        );
    }

    #[test]
    fn paths_clean_and_redirect_as_gos_serve_mux() {
        assert_eq!(mux_redirect("/v3/kv/range"), None);
        assert_eq!(mux_redirect("/v3"), Some("/v3/".into()));
        assert_eq!(mux_redirect("//v3/kv/range"), Some("/v3/kv/range".into()));
        assert_eq!(
            mux_redirect("/v3/kv/../kv/range/"),
            Some("/v3/kv/range/".into())
        );
        assert_eq!(mux_redirect("/"), None);
    }

    #[test]
    fn dates_are_http_dates() {
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        let later = UNIX_EPOCH + Duration::from_secs(1_136_214_245);
        assert_eq!(http_date(later), "Mon, 02 Jan 2006 15:04:05 GMT");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(http_date(leap), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}

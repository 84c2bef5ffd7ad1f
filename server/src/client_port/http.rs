//! HTTP/1.1 on the client port: `GET /health` and `GET /version` as etcd
//! answers them (for load balancers and probes), and etcd's JSON gateway
//! under `/v3/` and `/v3beta/`. Requests on one connection are served in
//! turn (keep-alive), bodies by `Content-Length` or chunked, with
//! `Expect: 100-continue`; heads and bodies are bounded; a malformed
//! request gets `400 Bad Request` and the connection is closed.
//!
//! `/version` reports the etcd version Keel implements (`ETCD_VERSION`,
//! 3.4.23), not Keel's own. Every answer carries the headers etcd 3.4.23
//! sends (its CORS handler's and `Date`), in its order: Go's server writes
//! the handler's headers sorted, then `Date` and `Content-Length`.

use super::ClientPortOptions;
use crate::etcd::gateway::{self, Answer};
use crate::etcd::{Context, EtcdOptions};
use crate::grpc::{Code, Status};
use keel_engine::node::{NodeHandle, NodeStatus};
use keel_engine::version::{ETCD_VERSION, etcd_cluster_version};
use keel_engine::wire::WireError;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Longest request head read before giving up.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers one request may have.
const MAX_HEADERS: usize = 64;

/// One parsed request.
#[derive(Debug)]
struct HttpRequest {
    method: String,
    path: String,
    keep_alive: bool,
    body: Vec<u8>,
}

/// Why a request could not be read.
#[derive(Debug)]
enum Refusal {
    /// The connection ended (or failed) between or inside requests.
    Closed,
    /// Malformed: answer 400 and close.
    Malformed(String),
    /// The body is over the limit: answer and close.
    TooLarge(usize),
}

/// Serves HTTP/1.1 requests on one connection until it closes.
pub async fn serve<R, W>(
    reader: R,
    mut writer: W,
    node: &NodeHandle,
    options: &ClientPortOptions,
) -> Result<(), WireError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(reader);
    let max_body = options.grpc.max_receive_message_bytes;
    loop {
        let request = match read_request(&mut reader, &mut writer, max_body).await {
            Ok(request) => request,
            Err(Refusal::Closed) => return Ok(()),
            Err(Refusal::Malformed(why)) => {
                let _ = write_body(
                    &mut writer,
                    400,
                    "text/plain; charset=utf-8",
                    b"400 Bad Request",
                    false,
                )
                .await;
                return Err(WireError::malformed("http", why));
            }
            Err(Refusal::TooLarge(length)) => {
                let status = Status::new(
                    Code::ResourceExhausted,
                    format!("grpc: received message larger than max ({length} vs. {max_body})"),
                );
                let body = gateway::error_body(&status);
                let _ =
                    write_body(&mut writer, 429, "application/json", body.as_bytes(), false).await;
                return Ok(());
            }
        };
        let answer = route(&request, node, &options.etcd).await;
        let keep_alive = request.keep_alive;
        match answer {
            Answer::Body {
                status,
                content_type,
                body,
            } => {
                write_body(
                    &mut writer,
                    status,
                    content_type,
                    body.as_bytes(),
                    keep_alive,
                )
                .await?
            }
            Answer::Stream(lines) => {
                // A stream ends only when its source does: the connection
                // is not reused after it.
                return write_stream(&mut writer, lines).await;
            }
        }
        if !keep_alive {
            return Ok(());
        }
    }
}

/// What each path answers.
async fn route(request: &HttpRequest, node: &NodeHandle, etcd: &EtcdOptions) -> Answer {
    if let Some(path) = gateway::gateway_path(&request.path) {
        let ctx = Context { node: node.clone() };
        return gateway::handle(ctx, etcd, &request.method, path, &request.body).await;
    }
    let path = request.path.split('?').next().unwrap_or("");
    match path {
        "/health" | "/version" if request.method != "GET" => text(405, "Method Not Allowed\n"),
        "/health" => {
            let status = node.status();
            let healthy = !status.stopped && status.leader_id != 0;
            let (code, body) = if healthy {
                (200, r#"{"health":"true"}"#)
            } else {
                (503, r#"{"health":"false"}"#)
            };
            Answer::Body {
                status: code,
                content_type: "text/plain; charset=utf-8",
                body: body.into(),
            }
        }
        "/version" => Answer::Body {
            status: 200,
            content_type: "application/json",
            body: version_body(&node.status()),
        },
        _ => text(404, "404 page not found\n"),
    }
}

fn text(status: u16, body: &str) -> Answer {
    Answer::Body {
        status,
        content_type: "text/plain; charset=utf-8",
        body: body.into(),
    }
}

/// Parses one request from `bytes` as the client port reads it: method,
/// path and body (fuzzing's entry; `bytes` is the whole input).
pub fn parse_request(bytes: &[u8], max_body: usize) -> Result<(String, String, Vec<u8>), String> {
    let mut reader = BufReader::new(bytes);
    let mut answers = Vec::new();
    let reading = std::pin::pin!(read_request(&mut reader, &mut answers, max_body));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    // In-memory reads and writes never wait: one poll finishes.
    match std::future::Future::poll(reading, &mut context) {
        std::task::Poll::Ready(Ok(request)) => Ok((request.method, request.path, request.body)),
        std::task::Poll::Ready(Err(refusal)) => Err(format!("{refusal:?}")),
        std::task::Poll::Pending => Err("request incomplete".into()),
    }
}

/// Reads one request: head, then body; answers `Expect: 100-continue`.
async fn read_request<R, W>(
    reader: &mut BufReader<R>,
    writer: &mut W,
    max_body: usize,
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
    let path = parsed.path.unwrap_or("").to_string();
    let http_1_0 = parsed.version == Some(0);
    let header = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let connection = header("connection").unwrap_or_default();
    let keep_alive = if http_1_0 {
        connection == "keep-alive"
    } else {
        connection != "close"
    };
    let chunked = header("transfer-encoding").is_some_and(|t| t.contains("chunked"));
    let length = match header("content-length") {
        Some(value) if !chunked => value
            .parse::<usize>()
            .map_err(|_| Refusal::Malformed(format!("bad content-length {value:?}")))?,
        _ => 0,
    };
    if length > max_body {
        return Err(Refusal::TooLarge(length));
    }
    if header("expect").is_some_and(|e| e == "100-continue") && (chunked || length > 0) {
        writer
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|_| Refusal::Closed)?;
        writer.flush().await.map_err(|_| Refusal::Closed)?;
    }
    let body = if chunked {
        read_chunked(reader, max_body).await?
    } else {
        let mut body = vec![0u8; length];
        reader
            .read_exact(&mut body)
            .await
            .map_err(|_| Refusal::Closed)?;
        body
    };
    Ok(HttpRequest {
        method,
        path,
        keep_alive,
        body,
    })
}

/// Reads up to and including the blank line that ends a head.
async fn read_head<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> Result<Vec<u8>, Refusal> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let read = reader
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
            return Err(Refusal::Malformed("request head too long".into()));
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

/// Reads a chunked body (chunk extensions and trailers ignored).
async fn read_chunked<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    max_body: usize,
) -> Result<Vec<u8>, Refusal> {
    let mut body = Vec::new();
    loop {
        let mut line = Vec::new();
        reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|_| Refusal::Closed)?;
        if line.len() > 1024 {
            return Err(Refusal::Malformed("chunk size line too long".into()));
        }
        let text = String::from_utf8_lossy(&line);
        let size_text = text.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Refusal::Malformed(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers, up to the blank line.
            loop {
                let mut trailer = Vec::new();
                let read = reader
                    .read_until(b'\n', &mut trailer)
                    .await
                    .map_err(|_| Refusal::Closed)?;
                if read == 0 || trailer == b"\r\n" || trailer == b"\n" {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > max_body {
            return Err(Refusal::TooLarge(body.len() + size));
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
            return Err(Refusal::Malformed("chunk not followed by CRLF".into()));
        }
    }
}

fn io_error(err: std::io::Error) -> WireError {
    WireError::Io(err.to_string())
}

/// The headers etcd's HTTP handlers set on every answer (its CORS
/// handler's, with the default `*` origin).
const CORS_HEADERS: &str = "Access-Control-Allow-Headers: accept, content-type, authorization\r\n\
     Access-Control-Allow-Methods: POST, GET, OPTIONS, PUT, DELETE\r\n\
     Access-Control-Allow-Origin: *\r\n";

/// `GET /version`'s body: the etcd version Keel reports, and the cluster
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

/// `time` as an HTTP date (RFC 7231's IMF-fixdate: `Mon, 07 Dec 2026
/// 05:57:07 GMT`); a clock before 1970 reads as 1970.
fn http_date(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = seconds / 86_400;
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_date(days);
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian (year, month 1..=12, day 1..=31) of `days`
/// after 1970-01-01, counted in 400-year eras starting on March 1st so
/// that the leap day falls at the end of each year.
fn civil_date(days: u64) -> (u64, u64, u64) {
    const DAYS_PER_ERA: u64 = 146_097;
    // 1970-01-01 is day 719,468 after 0000-03-01.
    let from_march_0000 = days + 719_468;
    let era = from_march_0000 / DAYS_PER_ERA;
    let day_of_era = from_march_0000 % DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Writes a whole response.
async fn write_body<W: AsyncWrite + Unpin>(
    writer: &mut W,
    status: u16,
    content_type: &str,
    body: &[u8],
    keep_alive: bool,
) -> Result<(), WireError> {
    let connection = if keep_alive {
        ""
    } else {
        "Connection: close\r\n"
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\n{CORS_HEADERS}Content-Type: {content_type}\r\nDate: {}\r\n\
         Content-Length: {}\r\n{connection}\r\n",
        gateway::http_reason(status),
        http_date(SystemTime::now()),
        body.len()
    );
    writer.write_all(head.as_bytes()).await.map_err(io_error)?;
    writer.write_all(body).await.map_err(io_error)?;
    writer.flush().await.map_err(io_error)
}

/// Writes a streamed response, one chunk per line, until the lines end.
async fn write_stream<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut lines: tokio::sync::mpsc::Receiver<String>,
) -> Result<(), WireError> {
    let head = format!(
        "HTTP/1.1 200 OK\r\n{CORS_HEADERS}Content-Type: application/json\r\nDate: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        http_date(SystemTime::now())
    );
    writer.write_all(head.as_bytes()).await.map_err(io_error)?;
    writer.flush().await.map_err(io_error)?;
    while let Some(line) = lines.recv().await {
        let chunk = format!("{:x}\r\n{line}\r\n", line.len());
        writer.write_all(chunk.as_bytes()).await.map_err(io_error)?;
        writer.flush().await.map_err(io_error)?;
    }
    writer.write_all(b"0\r\n\r\n").await.map_err(io_error)?;
    writer.flush().await.map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8], max_body: usize) -> Result<HttpRequest, Refusal> {
        let mut reader = BufReader::new(input);
        let mut sink = Vec::new();
        read_request(&mut reader, &mut sink, max_body).await
    }

    #[tokio::test]
    async fn requests_with_length_chunked_and_keep_alive_rules() {
        let plain = read(
            b"POST /v3/kv/put HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            100,
        )
        .await;
        let plain = plain.ok();
        assert_eq!(plain.as_ref().map(|r| r.body.as_slice()), Some(&b"{}"[..]));
        assert_eq!(plain.as_ref().map(|r| r.keep_alive), Some(true));
        let chunked = read(
            b"POST /v3/kv/put HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3;x=y\r\n}ab\r\n0\r\n\r\n",
            100,
        )
        .await;
        assert_eq!(chunked.ok().map(|r| r.body), Some(b"{\"}ab".to_vec()));
        let old = read(b"GET /health HTTP/1.0\r\n\r\n", 100).await;
        assert_eq!(old.ok().map(|r| r.keep_alive), Some(false));
        let close = read(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", 100).await;
        assert_eq!(close.ok().map(|r| r.keep_alive), Some(false));
    }

    #[tokio::test]
    async fn bad_requests_are_refused_not_trusted() {
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 999\r\n\r\n", 100).await,
            Err(Refusal::TooLarge(999))
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 100).await,
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            read(
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                100
            )
            .await,
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            read(
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n",
                100
            )
            .await,
            Err(Refusal::TooLarge(128))
        ));
        assert!(matches!(
            read(b"\x00\x01garbage\r\n\r\n", 100).await,
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(read(b"", 100).await, Err(Refusal::Closed)));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 100).await,
            Err(Refusal::Closed)
        ));
    }

    #[tokio::test]
    async fn expect_continue_is_answered_before_the_body() {
        let input: &[u8] =
            b"POST /v3/kv/put HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}";
        let mut reader = BufReader::new(input);
        let mut written = Vec::new();
        let request = read_request(&mut reader, &mut written, 100).await;
        assert!(request.is_ok());
        assert_eq!(written, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(seconds)
    }

    #[test]
    fn http_dates_are_imf_fixdates() {
        assert_eq!(http_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        // The Date etcd 3.4.23 sent when its /version was captured.
        assert_eq!(
            http_date(at(1_796_623_027)),
            "Mon, 07 Dec 2026 05:57:07 GMT"
        );
        // Leap days, century rules, the end of a year.
        assert_eq!(http_date(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(
            http_date(at(4_107_542_399)),
            "Sun, 28 Feb 2100 23:59:59 GMT"
        );
        assert_eq!(
            http_date(at(4_107_542_400)),
            "Mon, 01 Mar 2100 00:00:00 GMT"
        );
        assert_eq!(
            http_date(at(1_704_067_199)),
            "Sun, 31 Dec 2023 23:59:59 GMT"
        );
    }

    #[tokio::test]
    async fn version_answers_with_etcds_keys_and_headers() {
        let formed = NodeStatus {
            leader_id: 1,
            applied_index: 3,
            ..NodeStatus::default()
        };
        let mut written = Vec::new();
        let body = version_body(&formed);
        assert_eq!(body, r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#);
        let wrote = write_body(
            &mut written,
            200,
            "application/json",
            body.as_bytes(),
            false,
        )
        .await;
        assert!(wrote.is_ok());
        let answer = String::from_utf8(written).unwrap_or_default();
        let (head, sent) = answer.split_once("\r\n\r\n").unwrap_or_default();
        assert_eq!(sent, body);
        let names: Vec<&str> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split(':').next())
            .collect();
        assert_eq!(
            names,
            [
                "Access-Control-Allow-Headers",
                "Access-Control-Allow-Methods",
                "Access-Control-Allow-Origin",
                "Content-Type",
                "Date",
                "Content-Length",
                "Connection"
            ]
        );
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("\r\nContent-Length: 45\r\n"), "{head}");
        // Before the cluster has formed etcd says its cluster version is
        // not decided.
        assert_eq!(
            version_body(&NodeStatus::default()),
            r#"{"etcdserver":"3.4.23","etcdcluster":"not_decided"}"#
        );
    }
}

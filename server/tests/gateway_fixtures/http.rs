//! A raw HTTP/1.1 client for the gateway replay: it sends exactly the bytes
//! it is given and keeps the answer's framing (status line, headers in wire
//! order, each chunk of a chunked body, trailers), because the fixtures
//! compare those as well as the body.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// One response as it came over the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// `HTTP/1.1 200 OK`.
    pub status_line: String,
    /// Every header in wire order (`Date` included).
    pub headers: Vec<(String, String)>,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// Each chunk's payload (chunked bodies only).
    pub chunks: Vec<Vec<u8>>,
    /// Whether the terminating 0-size chunk arrived (chunked bodies only).
    pub complete: bool,
    /// The trailer fields after the last chunk.
    pub trailers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The status code (0 if the status line is malformed).
    pub fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What a parse step needs: more bytes, or it is done with `consumed` bytes.
enum Step<T> {
    More,
    Done(T, usize),
}

/// The head of a response: status line and headers.
fn parse_head(buffer: &[u8]) -> Step<(String, Vec<(String, String)>)> {
    let Some(end) = find(buffer, b"\r\n\r\n") else {
        return Step::More;
    };
    let text = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("").to_string();
    let headers = lines
        .map(|line| match line.split_once(':') {
            Some((name, value)) => (name.to_string(), value.trim().to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect();
    Step::Done((status_line, headers), end + 4)
}

/// One chunk: its payload, or the last chunk with its trailers.
enum Chunk {
    Data(Vec<u8>),
    Last(Vec<(String, String)>),
}

fn parse_chunk(buffer: &[u8]) -> Result<Step<Chunk>, String> {
    let Some(line_end) = find(buffer, b"\r\n") else {
        return Ok(Step::More);
    };
    let size_text = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
    let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        .map_err(|_| format!("bad chunk size line {size_text:?}"))?;
    let start = line_end + 2;
    if size == 0 {
        // Trailers up to the blank line.
        let mut at = start;
        let mut trailers = Vec::new();
        loop {
            let Some(end) = find(&buffer[at..], b"\r\n") else {
                return Ok(Step::More);
            };
            let line = String::from_utf8_lossy(&buffer[at..at + end]).into_owned();
            at += end + 2;
            if line.is_empty() {
                return Ok(Step::Done(Chunk::Last(trailers), at));
            }
            if let Some((name, value)) = line.split_once(':') {
                trailers.push((name.to_string(), value.trim().to_string()));
            }
        }
    }
    if buffer.len() < start + size + 2 {
        return Ok(Step::More);
    }
    if &buffer[start + size..start + size + 2] != b"\r\n" {
        return Err("chunk not followed by CRLF".into());
    }
    Ok(Step::Done(
        Chunk::Data(buffer[start..start + size].to_vec()),
        start + size + 2,
    ))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// How a response's body is framed.
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

fn framing(method: &str, status_line: &str, headers: &[(String, String)]) -> Framing {
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    if method == "HEAD" || status < 200 || status == 204 || status == 304 {
        Framing::Empty
    } else if header("Transfer-Encoding").is_some_and(|te| te.contains("chunked")) {
        Framing::Chunked
    } else if let Some(length) = header("Content-Length").and_then(|l| l.parse().ok()) {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    }
}

/// Every response in `bytes` (what one connection answered, in order), for
/// requests made with `methods` (one per response; the last is reused).
pub fn parse_all(mut bytes: &[u8], methods: &[&str]) -> Result<Vec<Response>, String> {
    let mut responses = Vec::new();
    while !bytes.is_empty() {
        let method = methods
            .get(responses.len())
            .or(methods.last())
            .copied()
            .unwrap_or("GET");
        let Step::Done((status_line, headers), used) = parse_head(bytes) else {
            return Err(format!(
                "incomplete head: {:?}",
                String::from_utf8_lossy(bytes)
            ));
        };
        bytes = &bytes[used..];
        let mut response = Response {
            status_line,
            headers,
            ..Response::default()
        };
        match framing(method, &response.status_line, &response.headers) {
            Framing::Empty => {}
            Framing::Length(length) => {
                let length = length.min(bytes.len());
                response.body = bytes[..length].to_vec();
                bytes = &bytes[length..];
            }
            Framing::UntilClose => {
                response.body = bytes.to_vec();
                bytes = &[];
            }
            Framing::Chunked => {
                response.chunked = true;
                loop {
                    match parse_chunk(bytes)? {
                        Step::More => {
                            bytes = &[];
                            break;
                        }
                        Step::Done(Chunk::Data(data), used) => {
                            response.body.extend_from_slice(&data);
                            response.chunks.push(data);
                            bytes = &bytes[used..];
                        }
                        Step::Done(Chunk::Last(trailers), used) => {
                            response.trailers = trailers;
                            response.complete = true;
                            bytes = &bytes[used..];
                            break;
                        }
                    }
                }
            }
        }
        let switching = response.status() == 101;
        responses.push(response);
        if switching {
            break;
        }
    }
    Ok(responses)
}

/// One client connection.
pub struct Connection {
    tcp: TcpStream,
    buffer: Vec<u8>,
    closed: bool,
}

impl Connection {
    /// Connects to `address` (`127.0.0.1:PORT`).
    pub async fn open(address: &str) -> Connection {
        let tcp = TcpStream::connect(address)
            .await
            .unwrap_or_else(|e| panic!("connect {address}: {e}"));
        Connection {
            tcp,
            buffer: Vec::new(),
            closed: false,
        }
    }

    /// Sends `bytes`.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.expect("send a request");
    }

    /// Reads more bytes before `deadline`; false on timeout or close.
    async fn fill(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout_at(deadline, self.tcp.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                self.buffer.extend_from_slice(&chunk[..n]);
                true
            }
            Ok(_) => {
                self.closed = true;
                false
            }
            Err(_) => false,
        }
    }

    /// Reads bytes until the server closes, `idle` passes without any, or
    /// `total` passes; says whether the server closed the connection.
    pub async fn read_until_quiet(&mut self, idle: Duration, total: Duration) -> (Vec<u8>, bool) {
        let end = Instant::now() + total;
        loop {
            let deadline = (Instant::now() + idle).min(end);
            if !self.fill(deadline).await {
                break;
            }
        }
        (std::mem::take(&mut self.buffer), self.closed)
    }

    /// Reads one response to a `method` request. A chunked body is read
    /// until its last chunk, until `deadline`, or — with `enough_chunks` —
    /// until that many chunks arrived and `grace` passed without another.
    /// `on_chunk` hears the chunk count as it grows. `None`: no response
    /// head arrived before the deadline.
    pub async fn read_response(
        &mut self,
        method: &str,
        mut deadline: Instant,
        enough_chunks: Option<usize>,
        grace: Duration,
        on_chunk: &(dyn Fn(usize) + Sync),
    ) -> Option<Response> {
        let (status_line, headers) = loop {
            if let Step::Done(head, used) = parse_head(&self.buffer) {
                self.buffer.drain(..used);
                break head;
            }
            if !self.fill(deadline).await {
                return None;
            }
        };
        let mut response = Response {
            status_line,
            headers,
            ..Response::default()
        };
        match framing(method, &response.status_line, &response.headers) {
            Framing::Empty => {}
            Framing::Length(length) => {
                while self.buffer.len() < length {
                    if !self.fill(deadline).await {
                        break;
                    }
                }
                let length = length.min(self.buffer.len());
                response.body = self.buffer.drain(..length).collect();
            }
            Framing::UntilClose => {
                while self.fill(deadline).await {}
                response.body = std::mem::take(&mut self.buffer);
            }
            Framing::Chunked => {
                response.chunked = true;
                loop {
                    match parse_chunk(&self.buffer) {
                        Err(why) => panic!("bad chunked body: {why}"),
                        Ok(Step::Done(Chunk::Data(data), used)) => {
                            self.buffer.drain(..used);
                            response.body.extend_from_slice(&data);
                            response.chunks.push(data);
                            on_chunk(response.chunks.len());
                            if enough_chunks.is_some_and(|n| response.chunks.len() >= n) {
                                deadline = deadline.min(Instant::now() + grace);
                            }
                        }
                        Ok(Step::Done(Chunk::Last(trailers), used)) => {
                            self.buffer.drain(..used);
                            response.trailers = trailers;
                            response.complete = true;
                            break;
                        }
                        Ok(Step::More) => {
                            if !self.fill(deadline).await {
                                break;
                            }
                        }
                    }
                }
            }
        }
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_of_every_framing_parse_in_sequence() {
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}\
HTTP/1.1 400 Bad Request\r\nTrailer: X\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n\
HTTP/1.0 200 OK\r\n\r\nrest";
        let parsed = parse_all(bytes, &["POST"]).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].body, b"{}");
        assert_eq!(parsed[1].chunks, vec![b"abc".to_vec()]);
        assert_eq!(parsed[1].trailers, vec![("X".into(), "y".into())]);
        assert!(parsed[1].complete);
        assert_eq!(parsed[2].body, b"rest");
    }
}

//! Plain HTTP on the client port: `GET /health` and `GET /version`, as
//! etcd answers them, for load balancers and probes. Nothing else.

use keel_engine::node::NodeHandle;
use keel_engine::wire::WireError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest request head read before giving up.
const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Answers one HTTP request whose first 8 bytes were `start`, then closes.
pub async fn serve<R, W>(
    mut reader: R,
    mut writer: W,
    start: &[u8],
    node: &NodeHandle,
) -> Result<(), WireError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut head = start.to_vec();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() > MAX_HEAD_BYTES {
            return Err(WireError::malformed("http", "request head too long"));
        }
        let mut byte = [0u8; 1];
        match reader.read(&mut byte).await {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(WireError::Io(e.to_string())),
        }
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let path = String::from_utf8_lossy(line)
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let (status, content_type, body) = match path.as_str() {
        "/health" => {
            let status = node.status();
            let healthy = !status.stopped && status.leader_id != 0;
            let body = if healthy {
                r#"{"health":"true"}"#
            } else {
                r#"{"health":"false"}"#
            };
            let code = if healthy {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            (code, "text/plain; charset=utf-8", body.to_string())
        }
        "/version" => (
            "200 OK",
            "application/json",
            format!(
                r#"{{"keelserver":"{}","keelcluster":"{}"}}"#,
                env!("CARGO_PKG_VERSION"),
                env!("CARGO_PKG_VERSION")
            ),
        ),
        _ => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "404 page not found\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    writer
        .write_all(response.as_bytes())
        .await
        .map_err(|e| WireError::Io(e.to_string()))?;
    writer
        .flush()
        .await
        .map_err(|e| WireError::Io(e.to_string()))?;
    Ok(())
}

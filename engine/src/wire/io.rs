//! Frames over any async byte stream (TCP, TLS, simulated TCP, pipes).
//! Every write is flushed: simulated streams deliver nothing until then.

use super::error::WireError;
use super::frame::{Frame, check_length, parse_frame};
use super::handshake::HANDSHAKE_BYTES;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

fn io_error(err: std::io::Error) -> WireError {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        WireError::Truncated
    } else {
        WireError::Io(err.to_string())
    }
}

/// Reads one frame: `Ok(None)` on a clean end of stream between frames;
/// never buffers more than `max_frame_bytes` for it.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_frame_bytes: usize,
) -> Result<Option<Frame>, WireError> {
    let mut prefix = [0u8; 4];
    let first = reader.read(&mut prefix[..1]).await.map_err(io_error)?;
    if first == 0 {
        return Ok(None);
    }
    reader
        .read_exact(&mut prefix[1..])
        .await
        .map_err(io_error)?;
    let len = check_length(u32::from_be_bytes(prefix), max_frame_bytes)?;
    let mut rest = vec![0u8; len];
    reader.read_exact(&mut rest).await.map_err(io_error)?;
    parse_frame(&rest).map(Some)
}

/// Writes one frame and flushes.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &Frame,
) -> Result<(), WireError> {
    writer.write_all(&frame.encode()).await.map_err(io_error)?;
    writer.flush().await.map_err(io_error)
}

/// Writes frames without flushing (put a `BufWriter` under it and flush
/// once the batch is written: one syscall for many frames).
pub async fn write_frame_unflushed<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frame: &Frame,
) -> Result<(), WireError> {
    writer.write_all(&frame.encode()).await.map_err(io_error)
}

/// Flushes what [`write_frame_unflushed`] wrote.
pub async fn flush<W: AsyncWrite + Unpin>(writer: &mut W) -> Result<(), WireError> {
    writer.flush().await.map_err(io_error)
}

/// Reads the 8 bytes of a hello or reply.
pub async fn read_handshake<R: AsyncRead + Unpin>(
    reader: &mut R,
) -> Result<[u8; HANDSHAKE_BYTES], WireError> {
    let mut bytes = [0u8; HANDSHAKE_BYTES];
    reader.read_exact(&mut bytes).await.map_err(io_error)?;
    Ok(bytes)
}

/// Writes the 8 bytes of a hello or reply and flushes.
pub async fn write_handshake<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8; HANDSHAKE_BYTES],
) -> Result<(), WireError> {
    writer.write_all(bytes).await.map_err(io_error)?;
    writer.flush().await.map_err(io_error)
}

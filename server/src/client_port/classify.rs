//! Which protocol a client connection speaks, from its first 8 bytes, and
//! a way to hand those bytes back to the protocol's reader.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The protocols the client port serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Keel's own framing (its handshake starts with `KEEL`); anything
    /// unrecognised is also given to it, whose handshake check answers
    /// with a typed error.
    Keel,
    /// HTTP/2 (its connection preface): etcd's gRPC API.
    Http2,
    /// An HTTP/1.x request line: `/health`, `/version`, etcd's JSON gateway.
    Http1,
}

/// The first 8 bytes of HTTP/2's connection preface.
const HTTP2_PREFACE_START: &[u8; 8] = b"PRI * HT";

/// HTTP/1 methods a request line may start with (with their space).
const HTTP1_METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"TRACE ",
    b"CONNECT ",
];

/// The protocol a connection that starts with `first` speaks.
pub fn classify(first: &[u8; 8]) -> Protocol {
    if first == HTTP2_PREFACE_START {
        Protocol::Http2
    } else if HTTP1_METHODS.iter().any(|method| first.starts_with(method)) {
        Protocol::Http1
    } else {
        Protocol::Keel
    }
}

/// A reader that first yields bytes already read, then the stream's.
pub struct Prefixed<R> {
    prefix: Vec<u8>,
    position: usize,
    inner: R,
}

impl<R> Prefixed<R> {
    /// Yields `prefix`, then what `inner` reads.
    pub fn new(prefix: &[u8], inner: R) -> Prefixed<R> {
        Prefixed {
            prefix: prefix.to_vec(),
            position: 0,
            inner,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Prefixed<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.position < self.prefix.len() {
            let rest = &self.prefix[self.position..];
            let count = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..count]);
            self.position += count;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// A reader and a writer as one stream (what HTTP/2 needs).
pub struct Duplex<R, W> {
    reader: R,
    writer: W,
}

impl<R, W> Duplex<R, W> {
    /// Joins `reader` and `writer`.
    pub fn new(reader: R, writer: W) -> Duplex<R, W> {
        Duplex { reader, writer }
    }
}

impl<R: AsyncRead + Unpin, W: Unpin> AsyncRead for Duplex<R, W> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl<R: Unpin, W: AsyncWrite + Unpin> AsyncWrite for Duplex<R, W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.writer.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn first_bytes_name_the_protocol() {
        assert_eq!(classify(b"PRI * HT"), Protocol::Http2);
        assert_eq!(classify(b"KEEL\0\x01\x01\0"), Protocol::Keel);
        assert_eq!(classify(b"GET /hea"), Protocol::Http1);
        assert_eq!(classify(b"POST /v3"), Protocol::Http1);
        assert_eq!(classify(b"DELETE /"), Protocol::Http1);
        assert_eq!(classify(b"OPTIONS "), Protocol::Http1);
        assert_eq!(classify(b"\x16\x03\x01\x02\0\x01\0\x01"), Protocol::Keel);
        assert_eq!(classify(b"garbage!"), Protocol::Keel);
    }

    #[tokio::test]
    async fn prefixed_reads_hand_the_prefix_back_first() {
        let rest: &[u8] = b" world";
        let mut reader = Prefixed::new(b"hello", rest);
        let mut all = String::new();
        let read = reader.read_to_string(&mut all).await;
        assert!(read.is_ok());
        assert_eq!(all, "hello world");
    }
}

//! A byte-stream layer under h2 that re-encodes every header block a
//! client sends, so that an `:authority` h2 would refuse arrives as one it
//! accepts. clientv3 3.4 dials a single endpoint as `passthrough:///<url>`
//! (etcdctl's `endpoint status`, `endpoint hashkv`, `defrag`, `snapshot`),
//! and grpc-go then sends the whole URL, `http://host:port`, as the
//! authority; etcd (grpc-go) ignores it, h2 resets the stream. Here such a
//! value becomes `host:port`.
//!
//! The layer reads HTTP/2 frames: the connection preface and every frame
//! but HEADERS and CONTINUATION pass through byte for byte; a header block
//! is decoded with the connection's HPACK state ([`super::hpack`]) and
//! written again as literals without indexing, so h2's own decoder never
//! needs a dynamic table and the two stay consistent. A block that does not
//! decode ends the connection (h2 would have ended it too).

use super::hpack::{Decoder, Field, encode_literal};
use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// Bytes of HTTP/2's connection preface.
const PREFACE_BYTES: usize = 24;
/// Bytes of a frame header.
const FRAME_HEADER_BYTES: usize = 9;
/// The largest frame payload h2 accepts with its default settings (and so
/// the largest header frame buffered here); also the size of the frames
/// written.
const MAX_FRAME_BYTES: usize = 16_384;
/// The largest header block (all its frames) buffered.
const MAX_BLOCK_BYTES: usize = 64 * 1024;
/// The HPACK table size h2 advertises (its default), which bounds the
/// client's.
const TABLE_BYTES: usize = 4096;

const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// Reads a client's HTTP/2 stream with its header blocks re-encoded.
pub struct HeaderFix<R> {
    inner: R,
    input: BytesMut,
    output: BytesMut,
    preface_left: usize,
    passthrough_left: usize,
    decoder: Decoder,
    block: Vec<u8>,
    block_stream: u32,
    block_end_stream: bool,
    in_block: bool,
    inner_done: bool,
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("http2 headers: {why}"))
}

impl<R> HeaderFix<R> {
    /// Wraps a client's stream that starts with the connection preface;
    /// decoded header lists over `max_list_bytes` end the connection.
    pub fn new(inner: R, max_list_bytes: usize) -> HeaderFix<R> {
        HeaderFix {
            inner,
            input: BytesMut::new(),
            output: BytesMut::new(),
            preface_left: PREFACE_BYTES,
            passthrough_left: 0,
            decoder: Decoder::new(TABLE_BYTES, max_list_bytes),
            block: Vec::new(),
            block_stream: 0,
            block_end_stream: false,
            in_block: false,
            inner_done: false,
        }
    }

    /// Moves what can be moved from `input` to `output`.
    fn process(&mut self) -> io::Result<()> {
        loop {
            if self.preface_left > 0 {
                let count = self.preface_left.min(self.input.len());
                self.output.extend_from_slice(&self.input.split_to(count));
                self.preface_left -= count;
                if self.preface_left > 0 {
                    return Ok(());
                }
            }
            if self.passthrough_left > 0 {
                let count = self.passthrough_left.min(self.input.len());
                self.output.extend_from_slice(&self.input.split_to(count));
                self.passthrough_left -= count;
                if self.passthrough_left > 0 {
                    return Ok(());
                }
            }
            if self.input.len() < FRAME_HEADER_BYTES {
                return Ok(());
            }
            let length = usize::from(self.input[0]) << 16
                | usize::from(self.input[1]) << 8
                | usize::from(self.input[2]);
            let kind = self.input[3];
            let flags = self.input[4];
            let stream =
                u32::from_be_bytes([self.input[5], self.input[6], self.input[7], self.input[8]])
                    & 0x7fff_ffff;
            let header_frame = kind == HEADERS || kind == CONTINUATION;
            if self.in_block && kind != CONTINUATION {
                return Err(invalid("a header block interrupted by another frame"));
            }
            if !header_frame {
                self.output
                    .extend_from_slice(&self.input.split_to(FRAME_HEADER_BYTES));
                self.passthrough_left = length;
                continue;
            }
            if length > MAX_FRAME_BYTES {
                return Err(invalid("header frame over the frame size"));
            }
            if self.input.len() < FRAME_HEADER_BYTES + length {
                return Ok(());
            }
            self.input.advance(FRAME_HEADER_BYTES);
            let payload = self.input.split_to(length);
            self.header_frame(kind, flags, stream, &payload)?;
        }
    }

    /// Takes one HEADERS or CONTINUATION frame; at the end of a block,
    /// writes the block again.
    fn header_frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> io::Result<()> {
        let fragment = if kind == HEADERS {
            if self.in_block {
                return Err(invalid("HEADERS inside a header block"));
            }
            self.in_block = true;
            self.block.clear();
            self.block_stream = stream;
            self.block_end_stream = flags & END_STREAM != 0;
            headers_fragment(flags, payload)?
        } else {
            if !self.in_block || stream != self.block_stream {
                return Err(invalid("CONTINUATION without its HEADERS"));
            }
            payload
        };
        if self.block.len() + fragment.len() > MAX_BLOCK_BYTES {
            return Err(invalid("header block too large"));
        }
        self.block.extend_from_slice(fragment);
        if flags & END_HEADERS == 0 {
            return Ok(());
        }
        self.in_block = false;
        let mut fields = self
            .decoder
            .decode(&self.block)
            .map_err(|e| invalid(&e.to_string()))?;
        fix_authority(&mut fields);
        let mut block = Vec::with_capacity(self.block.len() * 2);
        encode_literal(&fields, &mut block);
        self.write_block(&block);
        Ok(())
    }

    /// Writes `block` as HEADERS and as many CONTINUATIONs as it needs.
    fn write_block(&mut self, block: &[u8]) {
        let mut chunks = block.chunks(MAX_FRAME_BYTES).peekable();
        let mut first = true;
        if block.is_empty() {
            let flags = END_HEADERS | if self.block_end_stream { END_STREAM } else { 0 };
            self.write_frame(HEADERS, flags, &[]);
            return;
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            let mut flags = if last { END_HEADERS } else { 0 };
            let kind = if first {
                if self.block_end_stream {
                    flags |= END_STREAM;
                }
                HEADERS
            } else {
                CONTINUATION
            };
            self.write_frame(kind, flags, chunk);
            first = false;
        }
    }

    fn write_frame(&mut self, kind: u8, flags: u8, payload: &[u8]) {
        let length = payload.len() as u32;
        self.output.extend_from_slice(&length.to_be_bytes()[1..]);
        self.output.extend_from_slice(&[kind, flags]);
        self.output
            .extend_from_slice(&(self.block_stream & 0x7fff_ffff).to_be_bytes());
        self.output.extend_from_slice(payload);
    }
}

/// The header block fragment of a HEADERS frame: without its padding and
/// priority fields.
fn headers_fragment(flags: u8, payload: &[u8]) -> io::Result<&[u8]> {
    let mut fragment = payload;
    let mut padding = 0usize;
    if flags & PADDED != 0 {
        let (&length, rest) = fragment
            .split_first()
            .ok_or_else(|| invalid("PADDED without a pad length"))?;
        padding = usize::from(length);
        fragment = rest;
    }
    if flags & PRIORITY != 0 {
        fragment = fragment
            .get(5..)
            .ok_or_else(|| invalid("PRIORITY fields missing"))?;
    }
    let end = fragment
        .len()
        .checked_sub(padding)
        .ok_or_else(|| invalid("padding longer than the frame"))?;
    Ok(&fragment[..end])
}

/// `scheme://host:port[/...]` as `host:port`; any other value unchanged.
fn fix_authority(fields: &mut [Field]) {
    for (name, value) in fields.iter_mut() {
        if name.as_slice() != b":authority" {
            continue;
        }
        let Some(start) = value.windows(3).position(|w| w == b"://") else {
            continue;
        };
        let rest = &value[start + 3..];
        let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        *value = rest[..end].to_vec();
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for HeaderFix<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.output.is_empty() {
                let count = this.output.len().min(buf.remaining());
                buf.put_slice(&this.output.split_to(count));
                return Poll::Ready(Ok(()));
            }
            if this.inner_done {
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Ready(Ok(())) => {
                    if read.filled().is_empty() {
                        // The client is done: what is left is incomplete;
                        // hand it on as it is, for h2 to judge.
                        this.inner_done = true;
                        let rest = this.input.split();
                        this.output.extend_from_slice(&rest);
                        continue;
                    }
                    this.input.extend_from_slice(read.filled());
                    this.process()?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        out.extend_from_slice(&[kind, flags]);
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    async fn run(input: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut fixed = HeaderFix::new(&input[..], 1 << 16);
        let mut out = Vec::new();
        fixed.read_to_end(&mut out).await?;
        Ok(out)
    }

    fn literal_block(fields: &[(&str, &str)]) -> Vec<u8> {
        let fields: Vec<Field> = fields
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        let mut block = Vec::new();
        encode_literal(&fields, &mut block);
        block
    }

    #[tokio::test]
    async fn a_url_as_authority_becomes_host_and_port() {
        let mut input = PREFACE.to_vec();
        let settings = frame(0x4, 0, 0, &[]);
        input.extend_from_slice(&settings);
        // Indexed :method POST, then :authority with incremental indexing.
        let mut block = vec![0x83, 0x41, 22];
        block.extend_from_slice(b"http://127.0.0.1:23821");
        input.extend_from_slice(&frame(HEADERS, END_HEADERS, 1, &block));
        let data = frame(0x0, END_STREAM, 1, b"hello");
        input.extend_from_slice(&data);
        // A second request refers to the authority by its table index.
        input.extend_from_slice(&frame(HEADERS, END_HEADERS | END_STREAM, 3, &[0x83, 0xbe]));
        let out = run(input).await.ok().unwrap_or_default();
        let mut expected = PREFACE.to_vec();
        expected.extend_from_slice(&settings);
        let fixed = literal_block(&[(":method", "POST"), (":authority", "127.0.0.1:23821")]);
        expected.extend_from_slice(&frame(HEADERS, END_HEADERS, 1, &fixed));
        expected.extend_from_slice(&data);
        expected.extend_from_slice(&frame(HEADERS, END_HEADERS | END_STREAM, 3, &fixed));
        assert_eq!(out, expected);
    }

    #[tokio::test]
    async fn padding_priority_and_continuations_are_folded() {
        let block = literal_block(&[(":path", "/x"), ("te", "trailers")]);
        let (head, tail) = block.split_at(5);
        let mut headers = vec![2u8]; // pad length
        headers.extend_from_slice(&[0, 0, 0, 0, 16]); // priority fields
        headers.extend_from_slice(head);
        headers.extend_from_slice(&[0, 0]); // padding
        let mut input = PREFACE.to_vec();
        input.extend_from_slice(&frame(HEADERS, PADDED | PRIORITY | END_STREAM, 5, &headers));
        input.extend_from_slice(&frame(CONTINUATION, END_HEADERS, 5, tail));
        let out = run(input).await.ok().unwrap_or_default();
        let mut expected = PREFACE.to_vec();
        expected.extend_from_slice(&frame(HEADERS, END_HEADERS | END_STREAM, 5, &block));
        assert_eq!(out, expected);
    }

    #[tokio::test]
    async fn broken_header_blocks_end_the_stream() {
        for bad in [
            frame(HEADERS, END_HEADERS, 1, &[0x80]),
            frame(CONTINUATION, END_HEADERS, 1, &[0x82]),
            [frame(HEADERS, 0, 1, &[0x82]), frame(0x0, 0, 1, b"x")].concat(),
            frame(HEADERS, PADDED | END_HEADERS, 1, &[9, 0x82]),
        ] {
            let mut input = PREFACE.to_vec();
            input.extend_from_slice(&bad);
            assert!(run(input).await.is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn other_frames_and_truncated_input_pass_through() {
        let mut input = PREFACE.to_vec();
        input.extend_from_slice(&frame(0x6, 0, 0, &[1, 2, 3, 4, 5, 6, 7, 8]));
        input.extend_from_slice(&[0, 0, 9, HEADERS]);
        let out = run(input.clone()).await.ok().unwrap_or_default();
        assert_eq!(out, input);
    }

    #[test]
    fn authorities_keep_host_and_port() {
        let mut fields = vec![
            (b":authority".to_vec(), b"https://h:1/path".to_vec()),
            (b":path".to_vec(), b"http://not/touched".to_vec()),
            (b":authority".to_vec(), b"plain:2".to_vec()),
        ];
        fix_authority(&mut fields);
        assert_eq!(fields[0].1, b"h:1".to_vec());
        assert_eq!(fields[1].1, b"http://not/touched".to_vec());
        assert_eq!(fields[2].1, b"plain:2".to_vec());
    }
}

//! gRPC's message framing: a compressed flag byte, a 4-byte big-endian
//! length, the message. Only identity encoding is served.

use super::status::{Code, Status};
use bytes::{Buf, Bytes, BytesMut};
use h2::RecvStream;

/// Bytes of a message's prefix.
pub const PREFIX_BYTES: usize = 5;

/// Frames an encoded message.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(PREFIX_BYTES + message.len());
    out.extend_from_slice(&[0]);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.freeze()
}

/// Encodes and frames a prost message.
pub fn encode<M: prost::Message>(message: &M) -> Bytes {
    let length = message.encoded_len();
    let mut out = BytesMut::with_capacity(PREFIX_BYTES + length);
    out.extend_from_slice(&[0]);
    out.extend_from_slice(&(length as u32).to_be_bytes());
    // Writing into a buffer with enough room cannot fail.
    let _ = message.encode(&mut out);
    out.freeze()
}

/// Splits framed messages off a byte buffer, refusing what gRPC refuses:
/// a compressed message (only identity is served) and a message over the
/// size limit, which is refused from its prefix alone, before its bytes
/// arrive.
#[derive(Debug)]
pub struct Deframer {
    buffer: BytesMut,
    max_message_bytes: usize,
}

impl Deframer {
    /// A deframer refusing messages over `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Deframer {
        Deframer {
            buffer: BytesMut::new(),
            max_message_bytes,
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether bytes of an unfinished message are buffered.
    pub fn has_partial(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// The next whole message, if one is buffered.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, Status> {
        if self.buffer.len() < PREFIX_BYTES {
            return Ok(None);
        }
        match self.buffer[0] {
            0 => {}
            1 => {
                return Err(Status::internal(
                    "grpc: compressed flag set with identity or empty encoding",
                ));
            }
            flag => {
                return Err(Status::internal(format!(
                    "grpc: received unexpected payload format {flag}"
                )));
            }
        }
        let length = u32::from_be_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize;
        if length > self.max_message_bytes {
            return Err(Status::new(
                Code::ResourceExhausted,
                format!(
                    "grpc: received message larger than max ({length} vs. {})",
                    self.max_message_bytes
                ),
            ));
        }
        if self.buffer.len() < PREFIX_BYTES + length {
            return Ok(None);
        }
        self.buffer.advance(PREFIX_BYTES);
        Ok(Some(self.buffer.split_to(length).freeze()))
    }
}

/// Reads the messages of one request stream, releasing HTTP/2 flow-control
/// capacity only as bytes are taken, so a client can never have more than
/// its window plus one message buffered here.
pub struct MessageReader {
    body: RecvStream,
    deframer: Deframer,
}

impl MessageReader {
    /// Reads `body`, refusing messages over `max_message_bytes`.
    pub fn new(body: RecvStream, max_message_bytes: usize) -> MessageReader {
        MessageReader {
            body,
            deframer: Deframer::new(max_message_bytes),
        }
    }

    /// The next message's bytes; `None` once the client closed its side.
    pub async fn next_raw(&mut self) -> Result<Option<Bytes>, Status> {
        loop {
            if let Some(message) = self.deframer.next_message()? {
                return Ok(Some(message));
            }
            match self.body.data().await {
                Some(Ok(chunk)) => {
                    self.deframer.push(&chunk);
                    let _ = self.body.flow_control().release_capacity(chunk.len());
                }
                Some(Err(err)) => return Err(stream_error(&err)),
                None if self.deframer.has_partial() => {
                    return Err(Status::internal("grpc: stream ended inside a message"));
                }
                None => return Ok(None),
            }
        }
    }

    /// The next message, decoded; `None` once the client closed its side.
    pub async fn next<M: prost::Message + Default>(&mut self) -> Result<Option<M>, Status> {
        match self.next_raw().await? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }
}

/// Decodes a message as grpc-go reports a failure.
pub fn decode<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, Status> {
    M::decode(bytes)
        .map_err(|e| Status::internal(format!("grpc: error unmarshalling request: {e}")))
}

/// What a failed HTTP/2 stream means to the call.
pub fn stream_error(err: &h2::Error) -> Status {
    if err.reason() == Some(h2::Reason::CANCEL) {
        Status::new(Code::Canceled, "context canceled")
    } else {
        Status::new(Code::Internal, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_at_their_prefixes_whatever_the_chunking() {
        let mut wire = Vec::new();
        wire.extend_from_slice(&frame(b"hello"));
        wire.extend_from_slice(&frame(b""));
        wire.extend_from_slice(&frame(&[7u8; 300]));
        for chunk in [1, 2, 5, 7, 1000] {
            let mut deframer = Deframer::new(1024);
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                deframer.push(piece);
                while let Ok(Some(message)) = deframer.next_message() {
                    got.push(message);
                }
            }
            assert_eq!(got.len(), 3, "chunk {chunk}");
            assert_eq!(&got[0][..], b"hello");
            assert!(got[1].is_empty());
            assert_eq!(got[2].len(), 300);
            assert!(!deframer.has_partial());
        }
    }

    #[test]
    fn an_oversized_message_is_refused_from_its_prefix() {
        let mut deframer = Deframer::new(10);
        deframer.push(&[0, 0, 0, 0, 11]);
        let refused = deframer.next_message();
        assert_eq!(
            refused,
            Err(Status::new(
                Code::ResourceExhausted,
                "grpc: received message larger than max (11 vs. 10)"
            ))
        );
        let mut huge = Deframer::new(1 << 20);
        huge.push(&[0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            huge.next_message().map_err(|s| s.code),
            Err(Code::ResourceExhausted)
        );
    }

    #[test]
    fn compressed_or_unknown_flags_are_refused() {
        let mut compressed = Deframer::new(10);
        compressed.push(&[1, 0, 0, 0, 1, 9]);
        assert_eq!(
            compressed.next_message().map_err(|s| s.code),
            Err(Code::Internal)
        );
        let mut odd = Deframer::new(10);
        odd.push(&[9, 0, 0, 0, 0]);
        assert!(odd.next_message().is_err());
    }

    #[test]
    fn encode_frames_what_prost_encodes() {
        let header = crate::etcd::proto::etcdserverpb::ResponseHeader {
            revision: 5,
            ..Default::default()
        };
        assert_eq!(&encode(&header)[..], &[0, 0, 0, 0, 2, 0x18, 5]);
    }
}

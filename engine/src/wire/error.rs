//! Typed decoding errors; each maps to the API error a server sends back.

use crate::api::ApiError;

/// Why bytes from the network were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A frame's length is over the limit (checked before allocating).
    #[error("frame of {len} bytes is over the {max}-byte limit")]
    FrameTooLarge {
        /// The length the frame claimed.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The stream ended in the middle of a frame.
    #[error("truncated frame")]
    Truncated,
    /// A frame kind this version does not know.
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    /// The connection did not start with Keel's magic bytes.
    #[error("not a keel connection (bad magic)")]
    BadMagic,
    /// The peer speaks a protocol version this one does not.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u16),
    /// A frame body does not decode.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The connection failed.
    #[error("i/o: {0}")]
    Io(String),
}

impl WireError {
    /// A body that does not decode: what, and why.
    pub fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        WireError::Malformed {
            what,
            detail: detail.into(),
        }
    }

    /// The API error a server answers this with before closing.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            WireError::FrameTooLarge { .. } => ApiError::RequestTooLarge,
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

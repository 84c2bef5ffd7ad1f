//! The first bytes of every connection.
//!
//! ```text
//! hello (caller → listener, 8 bytes):  "KEEL" | version u16 | role u8 | 0u8
//! reply (listener → caller, 8 bytes):  "KEEL" | version u16 | status u8 | 0u8
//! status: 0 accepted, 1 unsupported version, 2 wrong port for this role
//! ```

use super::error::WireError;

/// The magic bytes every Keel connection starts with.
pub const MAGIC: &[u8; 4] = b"KEEL";
/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Bytes of a hello or a reply.
pub const HANDSHAKE_BYTES: usize = 8;

/// Who is connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A client, on the client port.
    Client,
    /// Another member, on the peer port.
    Peer,
}

/// The listener's verdict on a hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeStatus {
    /// Go ahead.
    Accepted,
    /// The listener does not speak the caller's version.
    UnsupportedVersion,
    /// A client on the peer port or a peer on the client port.
    WrongRole,
}

/// The caller's first 8 bytes.
pub fn encode_hello(role: Role) -> [u8; HANDSHAKE_BYTES] {
    let mut out = [0u8; HANDSHAKE_BYTES];
    out[..4].copy_from_slice(MAGIC);
    out[4..6].copy_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out[6] = match role {
        Role::Client => 1,
        Role::Peer => 2,
    };
    out
}

/// Reads a hello: the caller's role and version, or why it is refused.
pub fn decode_hello(bytes: &[u8; HANDSHAKE_BYTES]) -> Result<(Role, u16), WireError> {
    if &bytes[..4] != MAGIC {
        return Err(WireError::BadMagic);
    }
    let version = u16::from_be_bytes([bytes[4], bytes[5]]);
    let role = match bytes[6] {
        1 => Role::Client,
        2 => Role::Peer,
        other => {
            return Err(WireError::malformed(
                "hello",
                format!("unknown role {other}"),
            ));
        }
    };
    Ok((role, version))
}

/// The listener's reply.
pub fn encode_reply(status: HandshakeStatus) -> [u8; HANDSHAKE_BYTES] {
    let mut out = [0u8; HANDSHAKE_BYTES];
    out[..4].copy_from_slice(MAGIC);
    out[4..6].copy_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out[6] = match status {
        HandshakeStatus::Accepted => 0,
        HandshakeStatus::UnsupportedVersion => 1,
        HandshakeStatus::WrongRole => 2,
    };
    out
}

/// Reads the listener's reply; anything but acceptance is an error.
pub fn decode_reply(bytes: &[u8; HANDSHAKE_BYTES]) -> Result<(), WireError> {
    if &bytes[..4] != MAGIC {
        return Err(WireError::BadMagic);
    }
    let version = u16::from_be_bytes([bytes[4], bytes[5]]);
    match bytes[6] {
        0 => Ok(()),
        1 => Err(WireError::UnsupportedVersion(version)),
        2 => Err(WireError::malformed(
            "handshake",
            "wrong port for this role",
        )),
        other => Err(WireError::malformed(
            "handshake",
            format!("unknown status {other}"),
        )),
    }
}

/// The listener's verdict on a hello from `role` speaking `version`, on a
/// port that serves `expected`.
pub fn judge_hello(role: Role, version: u16, expected: Role) -> HandshakeStatus {
    if version != PROTOCOL_VERSION {
        HandshakeStatus::UnsupportedVersion
    } else if role != expected {
        HandshakeStatus::WrongRole
    } else {
        HandshakeStatus::Accepted
    }
}

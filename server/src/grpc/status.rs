//! gRPC status codes and the `grpc-status`/`grpc-message`/`grpc-timeout`
//! header values.

use std::fmt;
use std::time::Duration;

/// gRPC's status codes (the numbers are gRPC's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Success.
    Ok = 0,
    /// The call was canceled, usually by the caller.
    Canceled = 1,
    /// An error without a better code.
    Unknown = 2,
    /// The request is invalid whatever the system's state.
    InvalidArgument = 3,
    /// The deadline passed before the call completed.
    DeadlineExceeded = 4,
    /// Something the call needs does not exist.
    NotFound = 5,
    /// Something the call creates exists already.
    AlreadyExists = 6,
    /// The caller may not do this.
    PermissionDenied = 7,
    /// A quota or a size limit was exceeded.
    ResourceExhausted = 8,
    /// The system is not in the state the call needs.
    FailedPrecondition = 9,
    /// The call was aborted (a conflict).
    Aborted = 10,
    /// A value is out of its valid range.
    OutOfRange = 11,
    /// The method is not served.
    Unimplemented = 12,
    /// An invariant broke, or a protocol error.
    Internal = 13,
    /// The service cannot serve now; retrying may help.
    Unavailable = 14,
    /// Data was lost or corrupted.
    DataLoss = 15,
    /// The caller is not authenticated.
    Unauthenticated = 16,
}

impl Code {
    /// The code with this number (unknown numbers are `Unknown`).
    pub fn from_number(number: u32) -> Code {
        match number {
            0 => Code::Ok,
            1 => Code::Canceled,
            3 => Code::InvalidArgument,
            4 => Code::DeadlineExceeded,
            5 => Code::NotFound,
            6 => Code::AlreadyExists,
            7 => Code::PermissionDenied,
            8 => Code::ResourceExhausted,
            9 => Code::FailedPrecondition,
            10 => Code::Aborted,
            11 => Code::OutOfRange,
            12 => Code::Unimplemented,
            13 => Code::Internal,
            14 => Code::Unavailable,
            15 => Code::DataLoss,
            16 => Code::Unauthenticated,
            _ => Code::Unknown,
        }
    }
}

/// The outcome of a call: a code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The code clients branch on.
    pub code: Code,
    /// The message (etcd's clients also branch on etcd's messages).
    pub message: String,
}

impl Status {
    /// A status with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
        }
    }

    /// `Internal` with `message`.
    pub fn internal(message: impl Into<String>) -> Status {
        Status::new(Code::Internal, message)
    }

    /// `Unimplemented` with `message`.
    pub fn unimplemented(message: impl Into<String>) -> Status {
        Status::new(Code::Unimplemented, message)
    }

    /// The `grpc-message` header value: the message percent-encoded as
    /// gRPC requires (bytes outside printable ASCII, and `%`).
    pub fn encoded_message(&self) -> String {
        percent_encode(&self.message)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

/// gRPC's percent-encoding of `grpc-message`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Undoes [`percent_encode`] (invalid escapes are kept as they are).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
            if let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(value);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (`H`, `M`,
/// `S`, `m`, `u`, `n`). `None` when it is malformed.
pub fn parse_timeout(value: &str) -> Option<Duration> {
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at(split);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_percent_encoded_and_decoded() {
        let message = "etcdserver: 100% done\né";
        let encoded = percent_encode(message);
        assert_eq!(encoded, "etcdserver: 100%25 done%0A%C3%A9");
        assert_eq!(percent_decode(&encoded), message);
        assert_eq!(percent_decode("bad %zz and %4"), "bad %zz and %4");
    }

    #[test]
    fn timeouts_parse_as_grpc_defines_them() {
        assert_eq!(parse_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(
            parse_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        assert_eq!(parse_timeout("123456789S"), None);
        assert_eq!(parse_timeout("S"), None);
        assert_eq!(parse_timeout("5s"), None);
        assert_eq!(parse_timeout(""), None);
        assert_eq!(parse_timeout("-1S"), None);
    }

    #[test]
    fn unknown_code_numbers_are_unknown() {
        assert_eq!(Code::from_number(14), Code::Unavailable);
        assert_eq!(Code::from_number(2), Code::Unknown);
        assert_eq!(Code::from_number(99), Code::Unknown);
    }
}

//! keelctl's errors and exit codes: etcdctl's numbers, so scripts that test
//! `$?` keep working.

use std::fmt;

/// etcdctl's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything worked.
    Success,
    /// The request failed (server error, unhealthy endpoint, bad URL).
    Error,
    /// No connection to any endpoint.
    BadConnection,
    /// Malformed input on stdin (txn).
    InvalidInput,
    /// An option that is not supported (output format, sort target).
    BadFeature,
    /// Interrupted by a signal.
    Interrupted,
    /// Reading or writing a file failed.
    Io,
    /// Wrong arguments (count, form).
    BadArgs,
}

impl ExitCode {
    /// The process exit status.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Error => 1,
            ExitCode::BadConnection => 2,
            ExitCode::InvalidInput => 3,
            ExitCode::BadFeature => 4,
            ExitCode::Interrupted => 5,
            ExitCode::Io => 6,
            ExitCode::BadArgs => 128,
        }
    }
}

/// A failed keelctl invocation: the text after `Error: ` and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtlError {
    /// etcdctl's message for the same failure.
    pub message: String,
    /// etcdctl's exit code for it.
    pub exit: ExitCode,
}

impl CtlError {
    /// An error with `message` and `exit`.
    pub fn new(exit: ExitCode, message: impl Into<String>) -> Self {
        CtlError {
            message: message.into(),
            exit,
        }
    }

    /// Wrong arguments (exit 128).
    pub fn bad_args(message: impl Into<String>) -> Self {
        Self::new(ExitCode::BadArgs, message)
    }

    /// Unsupported option (exit 4).
    pub fn bad_feature(message: impl Into<String>) -> Self {
        Self::new(ExitCode::BadFeature, message)
    }

    /// A failed request (exit 1).
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Error, message)
    }
}

impl fmt::Display for CtlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CtlError {}

impl From<keel_engine::api::ApiError> for CtlError {
    fn from(error: keel_engine::api::ApiError) -> Self {
        CtlError::error(error.to_string())
    }
}

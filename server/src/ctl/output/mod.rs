//! etcdctl 3.4's printed output, byte for byte, for each command and format.
//!
//! Every printer is a pure function from a response to an [`Output`]: the
//! exact bytes for stdout and stderr and the exit code. Formats a command
//! does not support in etcdctl give etcdctl's error (`table not supported as
//! output format`, exit 4) — after the request ran, as in etcdctl.

mod cluster;
pub mod go_format;
pub mod json;
mod kv;
mod lease;
mod maintenance;
pub mod protobuf;
mod snapshot;
pub mod table;
mod watch;

pub use cluster::*;
pub use kv::*;
pub use lease::*;
pub use maintenance::*;
pub use snapshot::*;
pub use watch::*;

use super::error::CtlError;

/// `-w/--write-out`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable lines (the default).
    #[default]
    Simple,
    /// Go's JSON of the response.
    Json,
    /// A bordered table (member list, endpoint status and health).
    Table,
    /// etcdctl's `fields`; not supported by keelctl.
    Fields,
    /// etcdctl's `protobuf`: the response message's raw encoding (`get`,
    /// `put`, `del`, `txn`, `member list`).
    Protobuf,
}

impl OutputFormat {
    /// Parses `-w`'s value; unknown names give etcdctl's error.
    pub fn parse(text: &str) -> Result<OutputFormat, CtlError> {
        match text {
            "simple" => Ok(OutputFormat::Simple),
            "json" => Ok(OutputFormat::Json),
            "table" => Ok(OutputFormat::Table),
            "fields" => Ok(OutputFormat::Fields),
            "protobuf" => Ok(OutputFormat::Protobuf),
            _ => Err(CtlError::bad_feature("unsupported output format")),
        }
    }

    /// The error for a format keelctl recognizes but does not print.
    pub fn unsupported_by_keelctl(self) -> Option<CtlError> {
        match self {
            OutputFormat::Fields => Some(CtlError::bad_feature(
                "fields output format is not supported by keelctl (use simple, json or table)",
            )),
            _ => None,
        }
    }
}

/// How to print: the format and `--hex`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// `-w`.
    pub format: OutputFormat,
    /// `--hex`: keys and values as `\xNN` in the simple format.
    pub hex: bool,
}

/// What a command prints and how it exits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Bytes for stdout.
    pub stdout: Vec<u8>,
    /// Bytes for stderr.
    pub stderr: Vec<u8>,
    /// The process exit status.
    pub exit_code: i32,
}

impl Output {
    /// `text` on stdout, exit 0.
    pub fn stdout(text: impl Into<Vec<u8>>) -> Output {
        Output {
            stdout: text.into(),
            ..Output::default()
        }
    }

    /// stdout as text (lossy), for tests and logs.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy), for tests and logs.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Appends `Error: <message>` to stderr and sets the exit code.
    pub fn with_error(mut self, error: &CtlError) -> Output {
        self.stderr
            .extend_from_slice(format!("Error: {}\n", error.message).as_bytes());
        self.exit_code = error.exit.code();
        self
    }
}

/// etcdctl's error line: `Error: <text>` on stderr and the error's exit code.
/// (etcdctl's zap `{"level":"warn",...}` log lines are not reproduced.)
pub fn print_error(error: &CtlError) -> Output {
    Output::default().with_error(error)
}

/// cobra's `unknown command` failure as etcdctl shows it: cobra prints the
/// error and a usage hint, then etcdctl prints the error again (exit 1).
pub fn print_unknown_command(message: &str) -> Output {
    let error = CtlError::error(message);
    let mut output = print_error(&error);
    output
        .stderr
        .extend_from_slice(b"Run 'keelctl --help' for usage.\n");
    output.with_error(&error)
}

/// The error of a format a command cannot print: etcdctl's
/// `<format> not supported as output format` (exit 4), or keelctl's own
/// for a format it does not print at all.
pub(crate) fn format_not_supported(format: OutputFormat) -> Output {
    let error = format.unsupported_by_keelctl().unwrap_or_else(|| {
        let name = match format {
            OutputFormat::Protobuf => "protobuf",
            _ => "table",
        };
        CtlError::bad_feature(format!("{name} not supported as output format"))
    });
    print_error(&error)
}

#[cfg(test)]
mod tests;

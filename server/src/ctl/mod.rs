//! `keelctl`: etcdctl 3.4's command line, txn input and printed output.

pub mod error;
pub mod output;

pub use error::{CtlError, ExitCode};

//! `keelctl`: etcdctl 3.4's command line, txn input and printed output.
//!
//! [`run`] takes one invocation (arguments, environment, stdin) and returns
//! what to print and the exit status, so the binary is a thin shell and the
//! tests drive the same code in-process.

pub mod check;
pub mod cli;
pub mod command_names;
pub mod completion;
pub mod concurrency;
pub mod error;
pub mod go_parse;
pub mod help;
pub mod kv_args;
pub mod lease;
pub mod lock;
pub mod make_mirror;
pub mod output;
pub mod run;
mod snapshot;
pub mod txn_input;
pub mod watch;
pub mod watch_args;
pub mod watch_input;

pub use error::{CtlError, ExitCode};
pub use run::{InterruptSource, Invocation, LineSource, run};
pub use watch::{LineReceiver, lines_in_background};

//! `lock NAME [command args...]` and `elect NAME [PROPOSAL]` / `elect -l
//! NAME`: etcdctl 3.4's commands over [`super::concurrency`], with its
//! arguments, messages, printed keys and exit codes.
//!
//! Both catch SIGINT and SIGTERM (through [`super::Invocation::interrupt`])
//! as etcdctl does: holding, they release (delete their key) and exit 0;
//! still waiting, they remove their key and fail with `context canceled`.
//! The session lease is left to expire, as etcdctl leaves it.

use super::concurrency::{Election, Mutex, RecipeError, Session};
use super::error::CtlError;
use super::go_parse::parse_int;
use super::output::{self, Output};
use super::run::Session as CtlSession;
use crate::client::Client;
use keel_engine::api::{RangeRequest, RangeResponse, Request, Response};
use std::ffi::OsString;
use std::future::Future;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// `lock <lockname> [exec-command arg1 arg2 ...]`.
#[derive(clap::Args, Debug)]
pub struct LockArgs {
    /// timeout for session
    #[arg(long, default_value = "10", allow_negative_numbers = true)]
    pub ttl: String,
    /// The lock name, then the command to run while holding it.
    pub args: Vec<OsString>,
}

/// `elect <election-name> [proposal]`.
#[derive(clap::Args, Debug)]
pub struct ElectArgs {
    /// observation mode
    #[arg(short = 'l', long)]
    pub listen: bool,
    /// The election name and the proposal.
    pub args: Vec<OsString>,
}

/// How often a running command is checked for having exited.
const CHILD_POLL: Duration = Duration::from_millis(20);

type Interrupt = Pin<Box<dyn Future<Output = ()>>>;

impl From<RecipeError> for CtlError {
    fn from(error: RecipeError) -> Self {
        CtlError::error(error.0)
    }
}

impl CtlSession<'_> {
    /// `lock`: acquire, then print the key and hold until interrupted (or
    /// run the command and release when it exits).
    pub(super) async fn lock(mut self, args: LockArgs) -> Result<Output, CtlError> {
        // A bad --ttl is a flag error, found before the arguments are
        // looked at (pflag's IntVar; decimal here).
        let ttl = parse_int(&args.ttl, 10).map_err(|error| {
            CtlError::error(format!(
                "invalid argument \"{}\" for \"--ttl\" flag: {error}",
                args.ttl
            ))
        })?;
        let Some((name, command)) = args.args.split_first() else {
            return Err(CtlError::bad_args(
                "lock takes a lock name argument and an optional command to execute",
            ));
        };
        let client = Arc::new(self.client_for(self.globals.endpoints.clone())?);
        let session = self.session(&client, ttl).await?;
        let mut interrupt = self.listen_for_interrupt();
        let mut mutex = Mutex::new(&session, name.as_encoded_bytes());
        tokio::select! {
            locked = mutex.lock() => locked?,
            () = &mut interrupt => {
                let _ = mutex.unlock().await;
                return Err(CtlError::error("context canceled"));
            }
        }
        if !command.is_empty() {
            let ran = run_command(command, &mutex).await;
            let unlocked = mutex.unlock().await;
            ran?;
            unlocked?;
            return Ok(Output::default());
        }
        let held = get(&client, mutex.key().to_vec()).await?;
        if held.kvs.is_empty() {
            return Err(CtlError::error("lock lost on init"));
        }
        self.stream(&output::print_get(self.print(), &held, false));
        tokio::select! {
            () = &mut interrupt => {
                mutex.unlock().await?;
                Ok(Output::default())
            }
            () = session.done() => Err(CtlError::error("session expired")),
        }
    }

    /// `elect NAME PROPOSAL` campaigns; `elect -l NAME` observes.
    pub(super) async fn elect(mut self, args: ElectArgs) -> Result<Output, CtlError> {
        let (name, proposal) = match args.args.as_slice() {
            [name] => (name, None),
            [name, proposal] => (name, Some(proposal)),
            _ => {
                return Err(CtlError::bad_args(
                    "elect takes one election name argument and an optional proposal argument",
                ));
            }
        };
        match (proposal, args.listen) {
            (None, false) => {
                return Err(CtlError::bad_args("no proposal argument but -l not set"));
            }
            (Some(_), true) => return Err(CtlError::bad_args("proposal given but -l is set")),
            _ => {}
        }
        let client = Arc::new(self.client_for(self.globals.endpoints.clone())?);
        let session = self.session(&client, 0).await?;
        let mut interrupt = self.listen_for_interrupt();
        let mut election = Election::new(&session, name.as_encoded_bytes());
        let Some(proposal) = proposal else {
            let print = self.print();
            let prompts = &mut self.prompts;
            let observed = election.observe(|leader| {
                let printed = output::print_get(print, leader, false);
                let _ = prompts
                    .write_all(&printed.stdout)
                    .and_then(|()| prompts.flush());
            });
            return tokio::select! {
                lost = observed => Err(lost.into()),
                () = &mut interrupt => Ok(Output::default()),
            };
        };
        tokio::select! {
            elected = election.campaign(proposal.as_encoded_bytes()) => elected?,
            () = &mut interrupt => {
                let _ = election.resign().await;
                return Err(CtlError::error("context canceled"));
            }
        }
        let key = election.key().cloned().unwrap_or_default();
        let leader = get(&client, key.to_vec()).await?;
        self.stream(&output::print_get(self.print(), &leader, false));
        tokio::select! {
            () = &mut interrupt => {
                election.resign().await?;
                Ok(Output::default())
            }
            () = session.done() => Err(CtlError::error("elect: session expired")),
        }
    }

    async fn session(&self, client: &Arc<Client>, ttl: i64) -> Result<Session, CtlError> {
        // clientv3 waits dial timeout + 1 s for the first renewal.
        let first = self.globals.dial_timeout + Duration::from_secs(1);
        Ok(Session::new(Arc::clone(client), ttl, first).await?)
    }

    /// Starts catching SIGINT/SIGTERM (or the test's trigger).
    fn listen_for_interrupt(&mut self) -> Interrupt {
        match self.interrupt.take() {
            Some(source) => source(),
            None => Box::pin(std::future::pending()),
        }
    }

    /// Prints `printed` right away (stdout), as etcdctl does before it
    /// starts holding.
    fn stream(&mut self, printed: &Output) {
        let _ = self
            .prompts
            .write_all(&printed.stdout)
            .and_then(|()| self.prompts.flush());
    }
}

async fn get(client: &Client, key: Vec<u8>) -> Result<RangeResponse, CtlError> {
    let request = Request::Range(RangeRequest {
        key: key.into(),
        ..RangeRequest::default()
    });
    match client.request(request).await {
        Ok(Response::Range(response)) => Ok(response),
        Ok(other) => Err(super::run::unexpected(&other)),
        Err(error) => Err(CtlError::error(error.to_string())),
    }
}

/// Runs `command` with the lock's `ETCD_LOCK_KEY` and `ETCD_LOCK_REV` (the
/// names etcdctl sets, so its scripts work unchanged) added to the
/// environment, standard streams inherited; fails with Go's `exec` words.
async fn run_command(command: &[OsString], mutex: &Mutex<'_>) -> Result<(), CtlError> {
    let Some((program, args)) = command.split_first() else {
        return Ok(());
    };
    let mut child = std::process::Command::new(program);
    child
        .args(args)
        .env("ETCD_LOCK_KEY", OsString::from_vec(mutex.key().to_vec()))
        .env("ETCD_LOCK_REV", mutex.header().revision.to_string());
    run_to_exit(&mut child, program)
        .await
        .map_err(CtlError::error)
}

/// Starts `command` (whose program is `program`) and waits for it to exit,
/// polling so that the tasks beside it (session renewals, other watches)
/// keep running; the failure in Go's `exec.Cmd.Run` words.
pub(super) async fn run_to_exit(
    command: &mut std::process::Command,
    program: &OsString,
) -> Result<(), String> {
    let mut child = command
        .spawn()
        .map_err(|error| spawn_error(program, &error))?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => tokio::time::sleep(CHILD_POLL).await,
            Err(error) => return Err(error.to_string()),
        }
    };
    match exit_error(&status) {
        Some(message) => Err(message),
        None => Ok(()),
    }
}

/// Go's `exec.Cmd.Run` error for a command that could not start.
fn spawn_error(program: &OsString, error: &std::io::Error) -> String {
    let name = program.to_string_lossy();
    let quoted = super::output::go_format::go_quote(&name);
    if !name.contains('/') && error.kind() == std::io::ErrorKind::NotFound {
        return format!("exec: {quoted}: executable file not found in $PATH");
    }
    match error.kind() {
        std::io::ErrorKind::NotFound => {
            format!("exec: {quoted}: stat {name}: no such file or directory")
        }
        std::io::ErrorKind::PermissionDenied => format!("exec: {quoted}: permission denied"),
        _ => format!("fork/exec {name}: {error}"),
    }
}

/// Go's `*exec.ExitError` text (`exit status 3`, `signal: interrupt`), or
/// `None` for success.
fn exit_error(status: &std::process::ExitStatus) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return (code != 0).then(|| format!("exit status {code}"));
    }
    let signal = status.signal()?;
    let name = match signal {
        1 => "hangup",
        2 => "interrupt",
        3 => "quit",
        4 => "illegal instruction",
        6 => "aborted",
        9 => "killed",
        11 => "segmentation fault",
        13 => "broken pipe",
        15 => "terminated",
        _ => return Some(format!("signal: signal {signal}")),
    };
    Some(format!("signal: {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    #[test]
    fn command_failures_use_gos_words() {
        assert_eq!(exit_error(&ExitStatus::from_raw(0)), None);
        assert_eq!(
            exit_error(&ExitStatus::from_raw(3 << 8)).as_deref(),
            Some("exit status 3")
        );
        assert_eq!(
            exit_error(&ExitStatus::from_raw(2)).as_deref(),
            Some("signal: interrupt")
        );
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(
            spawn_error(&"nonexistent-command-x".into(), &missing),
            "exec: \"nonexistent-command-x\": executable file not found in $PATH"
        );
        assert_eq!(
            spawn_error(&"./x".into(), &missing),
            "exec: \"./x\": stat ./x: no such file or directory"
        );
    }
}

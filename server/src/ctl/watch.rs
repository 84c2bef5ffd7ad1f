//! `keelctl watch`: events printed as etcdctl 3.4 prints them, as they
//! arrive; with `--`, a command run for each event with etcdctl's
//! `ETCD_WATCH_*` variables; with `-i`, watches started from stdin's lines
//! (see [`super::watch_input`]) while the open ones keep printing.
//!
//! As in etcdctl: a watch on the command line ends only when the server
//! cancels it (exit 5); `-i` ends when stdin does (exit 3, `Error reading
//! watch request line: EOF`) or on a line etcdctl exits on, and a canceled
//! watch there just stops; a failed command ends everything (exit 1).

use super::error::{CtlError, ExitCode};
use super::lock::run_to_exit;
use super::output::go_format::go_quote_bytes;
use super::output::{self, Output, PrintOptions};
use super::run::{Session, request_error, unexpected};
use super::watch_args::{WatchArgs, WatchSpec};
use super::watch_input::{Line, parse_line};
use crate::client::Client;
use keel_engine::api::{EventKind, Request, Response, WatchResponse};
use std::cell::RefCell;
use std::ffi::OsString;
use std::future::Future;
use std::io::{BufRead, Write};
use std::os::unix::ffi::OsStringExt;
use std::pin::Pin;
use std::task::Poll;
use tokio::sync::mpsc;

/// `watch -i`'s request lines as they arrive, each without its newline;
/// the channel closing is the end of stdin (a last line without a newline
/// is never sent: etcdctl never runs it), an `Err` a failed read.
pub type LineReceiver = mpsc::UnboundedReceiver<Result<Vec<u8>, String>>;

/// Reads `reader`'s lines on a thread of their own, so that `watch -i`
/// prints events while it waits for the next line.
pub fn lines_in_background<R: BufRead + Send + 'static>(mut reader: R) -> LineReceiver {
    let (lines, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        while let Some(line) = read_line(&mut reader) {
            let failed = line.is_err();
            if lines.send(line).is_err() || failed {
                return;
            }
        }
    });
    receiver
}

/// One line of `reader` without its newline; `None` at the end (a last,
/// unterminated line included, as Go's `ReadString` fails on it).
fn read_line(reader: &mut dyn BufRead) -> Option<Result<Vec<u8>, String>> {
    let mut line = Vec::new();
    match reader.read_until(b'\n', &mut line) {
        Ok(_) if line.last() == Some(&b'\n') => {
            line.pop();
            Some(Ok(line))
        }
        Ok(_) => None,
        Err(error) => Some(Err(error.to_string())),
    }
}

/// Standard output and standard error, shared by the watches of one
/// invocation (never borrowed across an await).
struct Streams<'s> {
    stdout: &'s mut dyn Write,
    stderr: &'s mut dyn Write,
}

impl Streams<'_> {
    /// Writes and flushes; `false` when standard output is gone.
    fn out(&mut self, bytes: &[u8]) -> bool {
        self.stdout
            .write_all(bytes)
            .and_then(|()| self.stdout.flush())
            .is_ok()
    }

    fn err(&mut self, bytes: &[u8]) {
        let _ = self
            .stderr
            .write_all(bytes)
            .and_then(|()| self.stderr.flush());
    }
}

/// Why one watch stopped.
enum End {
    /// The server canceled it (the reason is printed).
    Canceled,
    /// Standard output is gone (`keelctl watch ... | head`).
    StdoutClosed,
    /// A command it ran failed: what etcdctl prints, exit 1.
    CommandFailed(Output),
    /// No member could be reached.
    Failed(CtlError),
}

type Follow<'f> = Pin<Box<dyn Future<Output = End> + 'f>>;

impl Session<'_> {
    /// `watch`: one watch from the command line, or `-i`.
    pub(super) async fn watch(mut self, args: WatchArgs) -> Result<Output, CtlError> {
        args.rev()?;
        args.env.check()?;
        if args.interactive {
            return self.watch_interactive(args).await;
        }
        let spec = args.spec()?;
        let client = self.client_for(self.globals.endpoints.clone())?;
        let streams = RefCell::new(Streams {
            stdout: self.prompts,
            stderr: self.stderr,
        });
        let show_progress = spec.create.progress_notify;
        match follow(&client, spec, self.globals.print, &streams, show_progress).await {
            End::Canceled => Err(CtlError::new(
                ExitCode::Interrupted,
                "watch is canceled by the server",
            )),
            End::StdoutClosed => Ok(Output::default()),
            End::CommandFailed(output) => Ok(output),
            End::Failed(error) => Err(error),
        }
    }

    /// `watch -i`: reads lines until stdin ends, each `watch` line's watch
    /// printing from then on beside the others.
    async fn watch_interactive(&mut self, args: WatchArgs) -> Result<Output, CtlError> {
        let print = self.globals.print;
        let client = self.client_for(self.globals.endpoints.clone())?;
        let mut lines = match self.stdin_lines.take() {
            Some(source) => Lines::Arriving(source()),
            None => Lines::Present(&mut *self.stdin),
        };
        let streams = RefCell::new(Streams {
            stdout: &mut *self.prompts,
            stderr: &mut *self.stderr,
        });
        let mut follows: Vec<Follow<'_>> = Vec::new();
        loop {
            let next = std::future::poll_fn(|cx| {
                for at in 0..follows.len() {
                    if let Poll::Ready(end) = follows[at].as_mut().poll(cx) {
                        drop(follows.swap_remove(at));
                        return Poll::Ready(Next::Ended(end));
                    }
                }
                lines.poll_next(cx).map(Next::Line)
            })
            .await;
            let line = match next {
                Next::Ended(End::CommandFailed(output)) => return Ok(output),
                Next::Ended(End::StdoutClosed) => return Ok(Output::default()),
                Next::Ended(End::Failed(error)) => {
                    let text = format!("watch was canceled ({})\n", error.message);
                    streams.borrow_mut().err(text.as_bytes());
                    continue;
                }
                Next::Ended(End::Canceled) => continue,
                Next::Line(None) => {
                    return Err(CtlError::new(
                        ExitCode::InvalidInput,
                        "Error reading watch request line: EOF",
                    ));
                }
                Next::Line(Some(Err(error))) => {
                    return Err(CtlError::new(
                        ExitCode::InvalidInput,
                        format!("Error reading watch request line: {error}"),
                    ));
                }
                Next::Line(Some(Ok(line))) => line,
            };
            match parse_line(&line, &args.env) {
                Line::Watch(spec) => {
                    follows.push(Box::pin(follow(&client, spec, print, &streams, true)))
                }
                Line::Progress => {
                    let response = progress(&client).await?;
                    let text = output::watch_response(print, &response);
                    for _ in 0..follows.len() {
                        if !streams.borrow_mut().out(&text) {
                            return Ok(Output::default());
                        }
                    }
                }
                Line::Rejected(text) => streams.borrow_mut().err(&text),
                Line::Fatal(error) => return Err(error),
            }
        }
    }
}

/// What the interactive loop woke up for.
enum Next {
    Ended(End),
    Line(Option<Result<Vec<u8>, String>>),
}

/// Where `watch -i`'s lines come from.
enum Lines<'r> {
    /// As they arrive ([`super::Invocation::stdin_lines`]).
    Arriving(LineReceiver),
    /// From a reader that has them all already (tests, files).
    Present(&'r mut dyn BufRead),
}

impl Lines<'_> {
    fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<Vec<u8>, String>>> {
        match self {
            Lines::Arriving(receiver) => receiver.poll_recv(cx),
            Lines::Present(reader) => Poll::Ready(read_line(&mut **reader)),
        }
    }
}

/// What `progress` prints for each open watch. etcd 3.4 answers a progress
/// request at once with the member's current revision, to every watch of
/// the stream; keelctl asks the member for its revision the same way.
async fn progress(client: &Client) -> Result<WatchResponse, CtlError> {
    match client.request(Request::Status).await {
        Ok(Response::Status(status)) => Ok(WatchResponse {
            header: status.header,
            ..WatchResponse::default()
        }),
        Ok(other) => Err(unexpected(&other)),
        Err(error) => Err(CtlError::error(error.to_string())),
    }
}

/// Follows one watch: prints each response (progress notifications only
/// if `show_progress`), then runs the spec's command once per event.
async fn follow(
    client: &Client,
    spec: WatchSpec,
    print: PrintOptions,
    streams: &RefCell<Streams<'_>>,
    show_progress: bool,
) -> End {
    let mut watcher = client.watch(spec.create.clone());
    while let Some(next) = watcher.next().await {
        let response = match next {
            Ok(response) => response,
            Err(error) => return End::Failed(request_error(error)),
        };
        if response.created || (response.is_progress_notify() && !show_progress) {
            continue;
        }
        if response.canceled {
            let line = format!("watch was canceled ({})\n", response.cancel_reason);
            let mut streams = streams.borrow_mut();
            streams.err(line.as_bytes());
            let text = output::watch_response(print, &response);
            if !text.is_empty() && !streams.out(&text) {
                return End::StdoutClosed;
            }
            return End::Canceled;
        }
        if !streams
            .borrow_mut()
            .out(&output::watch_response(print, &response))
        {
            return End::StdoutClosed;
        }
        if spec.exec.is_empty() {
            continue;
        }
        for event in &response.events {
            if let Err(error) = run_for_event(&spec.exec, &response, event).await {
                let line = format!("command {} error ({error})\n", go_quote_list(&spec.exec));
                return End::CommandFailed(Output {
                    stderr: line.into_bytes(),
                    exit_code: ExitCode::Error.code(),
                    ..Output::default()
                });
            }
        }
    }
    End::Canceled
}

/// Runs `exec` for `event` with etcdctl's variables: the response's
/// revision, and the event type, key and value as Go's `%q` prints them
/// (`ETCD_WATCH_KEY="foo"`). Standard output and error are inherited;
/// standard input is empty, as Go's `exec` leaves it.
async fn run_for_event(
    exec: &[OsString],
    response: &WatchResponse,
    event: &keel_engine::api::Event,
) -> Result<(), String> {
    let Some((program, args)) = exec.split_first() else {
        return Ok(());
    };
    let kind = match event.kind {
        EventKind::Put => "\"PUT\"",
        EventKind::Delete => "\"DELETE\"",
    };
    let quoted = |bytes: &[u8]| OsString::from_vec(go_quote_bytes(bytes).into_bytes());
    let mut command = std::process::Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .env("ETCD_WATCH_REVISION", response.header.revision.to_string())
        .env("ETCD_WATCH_EVENT_TYPE", kind)
        .env("ETCD_WATCH_KEY", quoted(&event.kv.key))
        .env("ETCD_WATCH_VALUE", quoted(&event.kv.value));
    run_to_exit(&mut command, program).await
}

/// Go's `%q` of a `[]string`: `["sh" "-c" "exit 3"]`.
fn go_quote_list(words: &[OsString]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|word| go_quote_bytes(word.as_encoded_bytes()))
        .collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_eof_and_an_unterminated_line_is_dropped() {
        let mut input: &[u8] = b"watch a\n\nlast";
        assert_eq!(read_line(&mut input), Some(Ok(b"watch a".to_vec())));
        assert_eq!(read_line(&mut input), Some(Ok(Vec::new())));
        assert_eq!(read_line(&mut input), None);
    }

    #[test]
    fn commands_are_quoted_as_go_quotes_a_string_slice() {
        let words: Vec<OsString> = vec!["sh".into(), "-c".into(), "echo \"x\"".into()];
        assert_eq!(go_quote_list(&words), r#"["sh" "-c" "echo \"x\""]"#);
    }
}

//! Running one keelctl invocation: parse, send, print.

use super::check::PerfCheck;
use super::cli::{
    AlarmCommand, ArgsOnly, CheckCommand, Command, CompactionArgs, DefragArgs, EndpointArgs,
    EndpointCommand, EndpointHashKvArgs, Globals, MemberAddArgs, MemberCommand, MemberUpdateArgs,
    Parsed, TxnArgs, parse,
};
use super::error::{CtlError, ExitCode};
use super::go_parse::{parse_int, parse_int_any_base, parse_uint};
use super::output::{
    self, EndpointHashKv, EndpointHealth, EndpointStatus, Output, OutputFormat, PrintOptions,
};
use super::txn_input::read_txn;
use super::watch::LineReceiver;
use crate::client::{Client, ClientError, ClientOptions};
use bytes::Bytes;
use keel_engine::api::*;
use keel_engine::version::{ETCD_VERSION, KEEL_VERSION, etcd_api_version};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::future::Future;
use std::io::{BufRead, Write};
use std::pin::Pin;
use std::time::Duration;
use tokio::time::Instant;

/// One keelctl invocation's inputs.
pub struct Invocation<'a> {
    /// The arguments, without the program name.
    pub args: Vec<OsString>,
    /// The environment (only `KEELCTL_*` and `ETCDCTL_*` matter).
    pub env: BTreeMap<String, String>,
    /// Standard input (txn, `put` without a value).
    pub stdin: &'a mut dyn BufRead,
    /// Standard output for what is printed as it happens (`txn -i` prompts,
    /// watch events, keep-alive renewals, lock and elect keys).
    pub prompts: &'a mut dyn Write,
    /// Standard error for what is printed as it happens (a watch's
    /// cancellation, `watch -i`'s rejected lines). `None`: collected, and
    /// put before the output's stderr.
    pub stderr: Option<&'a mut dyn Write>,
    /// `watch -i`'s lines as they arrive; called once, when `watch -i`
    /// starts, so no other command's stdin is taken from it. `None`: they
    /// are read from `stdin`, where all of them must be already (the
    /// session ends at its end, as etcdctl's does).
    pub stdin_lines: Option<LineSource>,
    /// How `lock` and `elect` learn of SIGINT and SIGTERM, which they catch
    /// to release what they hold. etcdctl catches them in those commands
    /// only (every other command dies of them), so this is called only when
    /// such a command starts; its future resolves at the signal. `None`:
    /// never interrupted.
    pub interrupt: Option<InterruptSource>,
}

/// Starts reading `watch -i`'s lines; see [`Invocation::stdin_lines`]
/// and [`super::watch::lines_in_background`].
pub type LineSource = Box<dyn FnOnce() -> LineReceiver>;

/// Starts listening for an interruption; the future resolves when it
/// comes. See [`Invocation::interrupt`].
pub type InterruptSource = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>>>;

/// Runs one invocation and returns what to print and the exit status;
/// nothing here exits the process.
pub async fn run(invocation: Invocation<'_>) -> Output {
    let (globals, command, warnings) = match parse(invocation.args, &invocation.env) {
        Parsed::Run {
            globals,
            command,
            warnings,
        } => (*globals, command, warnings),
        Parsed::Help(text) => return Output::stdout(text),
        Parsed::Output(output) => return output,
        Parsed::Error(error) => return output::print_error(&error),
        Parsed::UnknownCommand(message) => return output::print_unknown_command(&message),
    };
    let mut warned: Vec<u8> = Vec::new();
    for warning in &warnings {
        warned.extend_from_slice(warning.as_bytes());
        warned.push(b'\n');
    }
    let mut collected = Vec::new();
    let streamed = invocation.stderr.is_some();
    let stderr: &mut dyn Write = match invocation.stderr {
        Some(stderr) => {
            // Printed first, as etcdctl warns before it runs the command.
            let _ = stderr.write_all(&warned).and_then(|()| stderr.flush());
            stderr
        }
        None => &mut collected,
    };
    let session = Session {
        globals,
        stdin: invocation.stdin,
        prompts: invocation.prompts,
        stderr,
        stdin_lines: invocation.stdin_lines,
        interrupt: invocation.interrupt,
    };
    let mut output = session
        .execute(command)
        .await
        .unwrap_or_else(|error| output::print_error(&error));
    if !streamed {
        warned.extend_from_slice(&collected);
        warned.extend_from_slice(&output.stderr);
        output.stderr = warned;
    }
    output
}

/// One invocation's settings and streams, shared by the commands.
pub(super) struct Session<'a> {
    /// The global flags.
    pub(super) globals: Globals,
    /// Standard input.
    pub(super) stdin: &'a mut dyn BufRead,
    /// Standard output for commands that print as they go.
    pub(super) prompts: &'a mut dyn Write,
    /// Standard error for commands that print as they go.
    pub(super) stderr: &'a mut dyn Write,
    /// See [`Invocation::stdin_lines`].
    pub(super) stdin_lines: Option<LineSource>,
    /// See [`Invocation::interrupt`].
    pub(super) interrupt: Option<InterruptSource>,
}

/// etcdctl's exit status for a failed request.
pub(super) fn request_error(error: ClientError) -> CtlError {
    match error {
        ClientError::BadEndpoint(message) | ClientError::Tls(message) => {
            CtlError::new(ExitCode::BadConnection, message)
        }
        other => CtlError::error(other.to_string()),
    }
}

pub(super) fn unexpected(response: &Response) -> CtlError {
    CtlError::error(format!("unexpected response from the server: {response:?}"))
}

impl Session<'_> {
    pub(super) fn print(&self) -> PrintOptions {
        self.globals.print
    }

    pub(super) fn client_for(&self, endpoints: Vec<String>) -> Result<Client, CtlError> {
        Client::new(client_options(&self.globals, endpoints)).map_err(request_error)
    }

    pub(super) async fn send(&self, request: Request) -> Result<Response, CtlError> {
        let client = self.client_for(self.globals.endpoints.clone())?;
        client.request(request).await.map_err(request_error)
    }

    async fn execute(mut self, command: Command) -> Result<Output, CtlError> {
        match command {
            Command::Put(put) => {
                let request = put.request(&mut self.stdin)?;
                match self.send(Request::Put(request)).await? {
                    Response::Put(response) => Ok(output::print_put(self.print(), &response)),
                    other => Err(unexpected(&other)),
                }
            }
            Command::Get(get) => {
                let request = get.request()?;
                let response = match self.send(Request::Range(request)).await? {
                    Response::Range(response) => response,
                    other => return Err(unexpected(&other)),
                };
                if get.print_value_only && self.print().format != OutputFormat::Simple {
                    return Err(CtlError::bad_args(
                        "print-value-only is only for `--write-out=simple`",
                    ));
                }
                Ok(output::print_get(
                    self.print(),
                    &response,
                    get.print_value_only,
                ))
            }
            Command::Del(del) => match self.send(Request::DeleteRange(del.request()?)).await? {
                Response::DeleteRange(response) => {
                    Ok(output::print_delete(self.print(), &response))
                }
                other => Err(unexpected(&other)),
            },
            Command::Txn(txn) => self.txn(txn).await,
            Command::Watch(watch) => self.watch(watch).await,
            Command::Compaction(compaction) => self.compaction(compaction).await,
            Command::Member(member) => self.member(member).await,
            Command::Endpoint(endpoint) => {
                let targets = endpoint.targets();
                match endpoint.command {
                    EndpointCommand::Status => self.endpoint_status(targets).await,
                    EndpointCommand::Health => self.endpoint_health(targets).await,
                    EndpointCommand::Hashkv(args) => self.endpoint_hashkv(targets, args).await,
                }
            }
            Command::MoveLeader(args) => self.move_leader(args).await,
            Command::Defrag(args) => self.defrag(args).await,
            Command::Alarm(alarm) => self.alarm(alarm).await,
            Command::Lease(lease) => self.lease(lease).await,
            Command::Lock(lock) => self.lock(lock).await,
            Command::Elect(elect) => self.elect(elect).await,
            Command::Snapshot(snapshot) => self.snapshot(snapshot).await,
            Command::MakeMirror(args) => self.make_mirror(args).await,
            Command::Check(CheckCommand::Perf(perf)) => {
                self.check_perf(PerfCheck {
                    load: perf.load,
                    prefix: perf.prefix,
                    auto_compact: perf.auto_compact,
                    auto_defrag: perf.auto_defrag,
                    duration: perf.duration,
                })
                .await
            }
            // Answered while parsing; they need no cluster.
            Command::Help(_) | Command::Completion(_) => Err(CtlError::error(
                "help and completion are answered before any command runs",
            )),
            Command::Version => Ok(output::print_version(
                KEEL_VERSION,
                ETCD_VERSION,
                &etcd_api_version(),
            )),
        }
    }

    async fn txn(mut self, txn: TxnArgs) -> Result<Output, CtlError> {
        if !txn.args.is_empty() {
            return Err(CtlError::bad_args("txn command does not accept argument"));
        }
        let request = if txn.interactive {
            read_txn(&mut self.stdin, Some(&mut self.prompts))?
        } else {
            read_txn(&mut self.stdin, None)?
        };
        match self.send(Request::Txn(request)).await? {
            Response::Txn(response) => Ok(output::print_txn(self.print(), &response)),
            other => Err(unexpected(&other)),
        }
    }

    async fn compaction(self, compaction: CompactionArgs) -> Result<Output, CtlError> {
        let [revision] = compaction.args.as_slice() else {
            return Err(CtlError::bad_args("compaction command needs 1 argument"));
        };
        let revision = parse_int(revision, 10).map_err(CtlError::error)?;
        let request = Request::Compact(CompactionRequest {
            revision,
            physical: compaction.physical,
        });
        match self.send(request).await? {
            Response::Compact(_) => Ok(output::print_compaction(revision)),
            other => Err(unexpected(&other)),
        }
    }

    async fn member(self, command: MemberCommand) -> Result<Output, CtlError> {
        let print = self.print();
        match command {
            MemberCommand::List => {
                let response = self.member_request(Request::MemberList(MemberListRequest {
                    linearizable: true,
                }));
                Ok(output::print_member_list(print, &response.await?))
            }
            MemberCommand::Add(MemberAddArgs {
                peer_urls,
                learner,
                args,
            }) => {
                let Some(name) = args.first() else {
                    return Err(CtlError::bad_args("member name not provided"));
                };
                if args.len() > 1 {
                    return Err(CtlError::bad_args(format!(
                        "too many arguments, did you mean --peer-urls={}",
                        args[1]
                    )));
                }
                if peer_urls.is_empty() {
                    return Err(CtlError::bad_args("member peer urls not provided"));
                }
                let peer_urls = check_peer_urls(&peer_urls)?;
                let response = self.member_request(Request::MemberAdd(MemberAddRequest {
                    peer_urls,
                    is_learner: learner,
                    force: false,
                }));
                Ok(output::print_member_add(print, name, &response.await?))
            }
            MemberCommand::Remove(ArgsOnly { args }) => {
                let id = member_id(&args)?;
                let response =
                    self.member_request(Request::MemberRemove(MemberRemoveRequest { id }));
                Ok(output::print_member_remove(print, id, &response.await?))
            }
            MemberCommand::Update(MemberUpdateArgs { peer_urls, args }) => {
                let id = member_id(&args)?;
                if peer_urls.is_empty() {
                    return Err(CtlError::bad_args("member peer urls not provided"));
                }
                let peer_urls = check_peer_urls(&peer_urls)?;
                let response = self
                    .member_request(Request::MemberUpdate(MemberUpdateRequest { id, peer_urls }));
                Ok(output::print_member_update(print, id, &response.await?))
            }
            MemberCommand::Promote(ArgsOnly { args }) => {
                let id = member_id(&args)?;
                let response =
                    self.member_request(Request::MemberPromote(MemberPromoteRequest { id }));
                Ok(output::print_member_promote(print, id, &response.await?))
            }
        }
    }

    async fn member_request(&self, request: Request) -> Result<MemberResponse, CtlError> {
        match self.send(request).await? {
            Response::Member(response) => Ok(response),
            other => Err(unexpected(&other)),
        }
    }

    /// The endpoints `endpoint` commands talk to: the given ones, or with
    /// `--cluster` every member's client URLs.
    async fn endpoint_targets(&self, args: &EndpointArgs) -> Result<Vec<String>, CtlError> {
        if !args.cluster {
            return Ok(self.globals.endpoints.clone());
        }
        let request = Request::MemberList(MemberListRequest {
            linearizable: false,
        });
        match self.send(request).await {
            Ok(Response::Member(response)) => Ok(response
                .members
                .into_iter()
                .flat_map(|member| member.client_urls)
                .collect()),
            Ok(other) => Err(unexpected(&other)),
            Err(error) => Err(CtlError::error(format!(
                "failed to fetch endpoints from etcd cluster member list: {}",
                error.message
            ))),
        }
    }

    async fn endpoint_status(self, args: EndpointArgs) -> Result<Output, CtlError> {
        let mut statuses = Vec::new();
        for endpoint in self.endpoint_targets(&args).await? {
            let result = match self.client_for(vec![endpoint.clone()]) {
                Ok(client) => match client.request(Request::Status).await {
                    Ok(Response::Status(status)) => Ok(status),
                    Ok(other) => Err(unexpected(&other).message),
                    Err(error) => Err(error.to_string()),
                },
                Err(error) => Err(error.message),
            };
            statuses.push(EndpointStatus { endpoint, result });
        }
        Ok(output::print_endpoint_status(self.print(), &statuses))
    }

    async fn endpoint_hashkv(
        self,
        targets: EndpointArgs,
        args: EndpointHashKvArgs,
    ) -> Result<Output, CtlError> {
        // pflag's Int64: any base prefix; a bad value is a flag error.
        let revision = parse_int_any_base(&args.rev).map_err(|error| {
            CtlError::error(format!(
                "invalid argument \"{}\" for \"--rev\" flag: {error}",
                args.rev
            ))
        })?;
        let mut hashes = Vec::new();
        for endpoint in self.endpoint_targets(&targets).await? {
            let result = match self.client_for(vec![endpoint.clone()]) {
                Ok(client) => match client
                    .request(Request::HashKv(HashKvRequest { revision }))
                    .await
                {
                    Ok(Response::HashKv(hash)) => Ok(hash),
                    Ok(other) => Err(unexpected(&other).message),
                    Err(error) => Err(error.to_string()),
                },
                Err(error) => Err(error.message),
            };
            hashes.push(EndpointHashKv { endpoint, result });
        }
        Ok(output::print_endpoint_hashkv(self.print(), &hashes))
    }

    /// Each endpoint (or, with `--cluster`, each member) defragments in
    /// turn, as etcdctl does; any failure makes the exit status 1.
    async fn defrag(self, args: DefragArgs) -> Result<Output, CtlError> {
        if !args.data_dir.is_empty() {
            return Err(CtlError::error(format!(
                "Failed to defragment etcd data[{}] (keel defragments running members only: \
                 omit --data-dir)",
                args.data_dir
            )));
        }
        let mut results = Vec::new();
        for endpoint in self.endpoint_targets(&args.endpoints).await? {
            let result = match self.client_for(vec![endpoint.clone()]) {
                Ok(client) => match client.request(Request::Defragment).await {
                    Ok(Response::Defragment(_)) => Ok(()),
                    Ok(other) => Err(unexpected(&other).message),
                    Err(error) => Err(error.to_string()),
                },
                Err(error) => Err(error.message),
            };
            results.push((endpoint, result));
        }
        Ok(output::print_defrag(&results))
    }

    async fn endpoint_health(self, args: EndpointArgs) -> Result<Output, CtlError> {
        let targets = self.endpoint_targets(&args).await?;
        let checks = targets.into_iter().map(|endpoint| {
            let client = self.client_for(vec![endpoint.clone()]);
            async move {
                let started = Instant::now();
                let error = match client {
                    Ok(client) => health_error(&client).await,
                    Err(error) => Some(error.message),
                };
                EndpointHealth {
                    endpoint,
                    took: started.elapsed(),
                    error,
                }
            }
        });
        // Every endpoint is checked at once, so one that hangs costs one
        // command timeout, not one each.
        let handles: Vec<_> = checks.map(tokio::spawn).collect();
        let mut results = Vec::new();
        for handle in handles {
            match handle.await {
                Ok(check) => results.push(check),
                Err(error) => return Err(CtlError::error(error.to_string())),
            }
        }
        Ok(output::print_endpoint_health(self.print(), &results))
    }

    async fn move_leader(self, args: ArgsOnly) -> Result<Output, CtlError> {
        let [target] = args.args.as_slice() else {
            return Err(CtlError::bad_args("move-leader command needs 1 argument"));
        };
        let target = parse_uint(target, 16).map_err(CtlError::bad_args)?;
        let mut leader = None;
        for endpoint in &self.globals.endpoints {
            let client = self.client_for(vec![endpoint.clone()])?;
            match client
                .request(Request::Status)
                .await
                .map_err(request_error)?
            {
                Response::Status(status) if status.header.member_id == status.leader => {
                    leader = Some((client, status.leader));
                    break;
                }
                Response::Status(_) => {}
                other => return Err(unexpected(&other)),
            }
        }
        let Some((client, leader_id)) = leader else {
            return Err(CtlError::bad_args(format!(
                "no leader endpoint given at [{}]",
                self.globals.endpoints.join(" ")
            )));
        };
        let request = Request::MoveLeader(MoveLeaderRequest { target_id: target });
        match client.request(request).await.map_err(request_error)? {
            Response::MoveLeader(_) => {
                Ok(output::print_move_leader(self.print(), leader_id, target))
            }
            other => Err(unexpected(&other)),
        }
    }

    async fn alarm(self, command: AlarmCommand) -> Result<Output, CtlError> {
        let listed = self
            .alarm_request(AlarmAction::Get, 0, AlarmType::None)
            .await?;
        match command {
            AlarmCommand::List => Ok(output::print_alarm(self.print(), &listed)),
            AlarmCommand::Disarm => {
                // As clientv3 does: deactivate each raised alarm by name.
                let mut disarmed = AlarmResponse::default();
                for alarm in &listed.alarms {
                    let response = self
                        .alarm_request(AlarmAction::Deactivate, alarm.member_id, alarm.alarm)
                        .await?;
                    disarmed.alarms.extend(response.alarms);
                }
                Ok(output::print_alarm(self.print(), &disarmed))
            }
        }
    }

    async fn alarm_request(
        &self,
        action: AlarmAction,
        member_id: u64,
        alarm: AlarmType,
    ) -> Result<AlarmResponse, CtlError> {
        let request = Request::Alarm(AlarmRequest {
            action,
            member_id,
            alarm,
        });
        match self.send(request).await? {
            Response::Alarm(response) => Ok(response),
            other => Err(unexpected(&other)),
        }
    }
}

/// The client settings for `endpoints` under `globals`. As in etcdctl, a
/// dial timeout of 0 sets no limit on dialing (the command's own timeout
/// still bounds it), and `--insecure-transport=false` makes endpoints
/// without a scheme use TLS even when no TLS file is given.
pub(super) fn client_options(globals: &Globals, endpoints: Vec<String>) -> ClientOptions {
    let endpoints = if globals.insecure_transport {
        endpoints
    } else {
        endpoints
            .into_iter()
            .map(|endpoint| {
                if endpoint.contains("://") {
                    endpoint
                } else {
                    format!("https://{endpoint}")
                }
            })
            .collect()
    };
    let mut options = ClientOptions::new(endpoints);
    options.dial_timeout = if globals.dial_timeout.is_zero() {
        Duration::MAX
    } else {
        globals.dial_timeout
    };
    options.command_timeout = globals.command_timeout;
    options.tls = globals.tls.clone();
    options
}

/// Why `client`'s member is unhealthy, or `None`: etcdctl's check, a
/// linearizable read (it must pass through consensus) and no active alarm.
async fn health_error(client: &Client) -> Option<String> {
    let read = Request::Range(RangeRequest {
        key: Bytes::from_static(b"health"),
        ..RangeRequest::default()
    });
    if let Err(error) = client.request(read).await {
        return Some(error.to_string());
    }
    let alarms = Request::Alarm(AlarmRequest {
        action: AlarmAction::Get,
        member_id: 0,
        alarm: AlarmType::None,
    });
    match client.request(alarms).await {
        Ok(Response::Alarm(response)) if response.alarms.is_empty() => None,
        Ok(Response::Alarm(response)) => {
            let mut text = String::from("Active Alarm(s): ");
            for alarm in &response.alarms {
                text.push_str(alarm.alarm.name());
                text.push(' ');
            }
            Some(text)
        }
        _ => Some("Unable to fetch the alarm list".to_string()),
    }
}

/// A member id argument in hex, with etcdctl's messages.
fn member_id(args: &[String]) -> Result<u64, CtlError> {
    let Some(text) = args.first() else {
        return Err(CtlError::bad_args("member ID is not provided"));
    };
    parse_uint(text, 16).map_err(|error| {
        CtlError::bad_args(format!("bad member ID arg ({error}), expecting ID in Hex"))
    })
}

/// `--peer-urls`: comma separated URLs, each checked as etcd checks them.
fn check_peer_urls(list: &str) -> Result<Vec<String>, CtlError> {
    let mut urls = Vec::new();
    for url in list.split(',') {
        let scheme_ok = ["http://", "https://"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        if !scheme_ok {
            return Err(CtlError::error(format!(
                "URL scheme must be http, https, unix, or unixs: {url}"
            )));
        }
        let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
        let (authority, path) = match after_scheme.find('/') {
            Some(slash) => after_scheme.split_at(slash),
            None => (after_scheme, ""),
        };
        if !path.is_empty() && path != "/" {
            return Err(CtlError::error(format!(
                "URL must not contain a path: {url}"
            )));
        }
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && !port.is_empty());
        if !has_port {
            return Err(CtlError::error(format!(
                "URL address does not have the form \"host:port\": {url}"
            )));
        }
        crate::url::Url::parse(url).map_err(|error| CtlError::error(error.to_string()))?;
        urls.push(url.to_string());
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_urls_are_checked_with_etcds_messages() {
        assert_eq!(
            check_peer_urls("foo").unwrap_err().message,
            "URL scheme must be http, https, unix, or unixs: foo"
        );
        assert_eq!(
            check_peer_urls("http://127.0.0.1").unwrap_err().message,
            "URL address does not have the form \"host:port\": http://127.0.0.1"
        );
        assert_eq!(
            check_peer_urls("http://h:1/x").unwrap_err().message,
            "URL must not contain a path: http://h:1/x"
        );
        assert_eq!(
            check_peer_urls("http://a:1,https://b:2").unwrap(),
            vec!["http://a:1", "https://b:2"]
        );
    }

    #[test]
    fn client_options_follow_etcdctls_dial_and_transport_rules() {
        let globals = |words: &[&str]| match parse(
            words.iter().map(OsString::from).collect(),
            &BTreeMap::new(),
        ) {
            Parsed::Run { globals, .. } => *globals,
            _ => panic!("{words:?}"),
        };
        let endpoints = vec!["a:1".to_string(), "http://b:2".into(), "https://c:3".into()];
        let plain = client_options(
            &globals(&["--dial-timeout=3s", "get", "k"]),
            endpoints.clone(),
        );
        assert_eq!(plain.dial_timeout, Duration::from_secs(3));
        assert_eq!(plain.endpoints, endpoints);
        // 0s: no limit on dialing (the command timeout still bounds it).
        let unlimited = client_options(&globals(&["--dial-timeout=0s", "get", "k"]), vec![]);
        assert_eq!(unlimited.dial_timeout, Duration::MAX);
        // --insecure-transport=false: endpoints without a scheme use TLS.
        let secure = client_options(
            &globals(&[
                "--insecure-transport=false",
                "--insecure-skip-tls-verify=true",
                "get",
                "k",
            ]),
            endpoints,
        );
        assert_eq!(
            secure.endpoints,
            vec!["https://a:1", "http://b:2", "https://c:3"]
        );
        assert!(secure.tls.insecure_skip_verify);
    }

    #[test]
    fn member_ids_are_hex() {
        assert_eq!(
            member_id(&["bdae9bbc11dd390d".into()]),
            Ok(0xbdae9bbc11dd390d)
        );
        assert_eq!(
            member_id(&[]).unwrap_err().message,
            "member ID is not provided"
        );
        assert_eq!(
            member_id(&["zzz".into()]).unwrap_err().message,
            "bad member ID arg (strconv.ParseUint: parsing \"zzz\": invalid syntax), expecting ID in Hex"
        );
    }
}

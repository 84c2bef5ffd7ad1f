//! keelctl's command line: etcdctl 3.4's global flags and commands, and the
//! `KEELCTL_*` and `ETCDCTL_*` environment variables that stand in for its
//! flags.

use super::command_names::{Resolved, command_path, resolve};
use super::error::{CtlError, ExitCode};
use super::go_parse::parse_duration;
use super::kv_args::{DelArgs, GetArgs, PutArgs};
use super::lease::LeaseCommand;
use super::lock::{ElectArgs, LockArgs};
use super::make_mirror::MakeMirrorArgs;
use super::output::{Output, OutputFormat, PrintOptions};
use super::watch_args::{EnvKey, WatchArgs, exec_after_separator};
use super::{completion, help};
use crate::tls::ClientTlsFiles;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// A simple command line client for Keel (etcdctl's commands and output).
#[derive(Parser, Debug)]
#[command(
    name = "keelctl",
    about = "A simple command line client for Keel.",
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// gRPC-style endpoints, `host:port`, `http://host:port` or `https://host:port` (TLS) [default: 127.0.0.1:2379]
    #[arg(long, global = true, value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// dial timeout for client connections [default: 2s]
    #[arg(long, global = true)]
    pub dial_timeout: Option<String>,
    /// timeout for short running command (excluding dial timeout) [default: 5s]
    #[arg(long, global = true)]
    pub command_timeout: Option<String>,
    /// set the output format (json, simple, table) [default: simple]
    #[arg(short = 'w', long = "write-out", global = true)]
    pub write_out: Option<String>,
    /// print byte strings as hex encoded strings
    #[arg(long, global = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool)]
    pub hex: Option<bool>,
    /// verify certificates of TLS-enabled secure servers using this CA bundle
    #[arg(long, global = true)]
    pub cacert: Option<String>,
    /// identify secure client using this TLS certificate file
    #[arg(long, global = true)]
    pub cert: Option<String>,
    /// identify secure client using this TLS key file
    #[arg(long, global = true)]
    pub key: Option<String>,
    /// skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)
    #[arg(long, global = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool)]
    pub insecure_skip_tls_verify: Option<bool>,
    /// disable transport security for client connections [default: true]
    #[arg(long, global = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", value_parser = parse_go_bool)]
    pub insecure_transport: Option<bool>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// keelctl's commands. `override_usage` is cobra's `Use` (the command's
/// name and arguments) and `long_about` its `Long`, as the help shows them
/// (see [`super::help`]).
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Puts the given key into the store
    #[command(
        override_usage = "put [options] <key> <value> (<value> can also be given from stdin)",
        long_about = PUT_DESCRIPTION
    )]
    Put(PutArgs),
    /// Gets the key or a range of keys
    #[command(override_usage = "get [options] <key> [range_end]")]
    Get(GetArgs),
    /// Removes the specified key or range of keys [key, range_end)
    #[command(override_usage = "del [options] <key> [range_end]")]
    Del(DelArgs),
    /// Txn processes all the requests in one transaction
    #[command(override_usage = "txn [options]")]
    Txn(TxnArgs),
    /// Watches events stream on keys or prefixes
    #[command(
        override_usage = "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]"
    )]
    Watch(WatchArgs),
    /// Compacts the event history in etcd
    #[command(override_usage = "compaction [options] <revision>")]
    Compaction(CompactionArgs),
    /// Membership related commands
    #[command(subcommand)]
    Member(MemberCommand),
    /// Endpoint related commands
    Endpoint(EndpointGroup),
    /// Transfers leadership to another etcd cluster member.
    #[command(
        about = "Transfers leadership to another etcd cluster member.",
        override_usage = "move-leader <transferee-member-id>"
    )]
    MoveLeader(ArgsOnly),
    /// Defragments the storage of the etcd members with given endpoints
    Defrag(DefragArgs),
    /// Alarm related commands
    #[command(subcommand)]
    Alarm(AlarmCommand),
    /// Lease related commands
    #[command(subcommand)]
    Lease(LeaseCommand),
    /// Acquires a named lock
    #[command(override_usage = "lock <lockname> [exec-command arg1 arg2 ...]")]
    Lock(LockArgs),
    /// Observes and participates in leader election
    #[command(override_usage = "elect <election-name> [proposal]")]
    Elect(ElectArgs),
    /// Manages etcd node snapshots
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Makes a mirror at the destination etcd cluster
    #[command(override_usage = "make-mirror [options] <destination>")]
    MakeMirror(MakeMirrorArgs),
    /// Prints the version of keelctl
    Version,
    /// commands for checking properties of the etcd cluster
    #[command(subcommand)]
    Check(CheckCommand),
    /// Help about any command
    #[command(override_usage = "help [command]", long_about = HELP_DESCRIPTION)]
    Help(HelpArgs),
    /// Generate the autocompletion script for the specified shell
    #[command(
        subcommand,
        override_usage = "completion",
        long_about = super::completion::COMPLETION_DESCRIPTION
    )]
    Completion(CompletionCommand),
}

/// etcdctl's description of `put`.
const PUT_DESCRIPTION: &str = "
Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.
";

/// cobra's description of its help command, with keelctl's name.
const HELP_DESCRIPTION: &str = "Help provides help for any command in the application.
Simply type keelctl help [path to command] for full details.";

/// etcdctl's description of `member list`.
const MEMBER_LIST_DESCRIPTION: &str = "When --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.
The items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.";

/// etcdctl's description of `endpoint status`.
const ENDPOINT_STATUS_DESCRIPTION: &str = "When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
The items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.";

/// etcdctl's description of `snapshot status`.
const SNAPSHOT_STATUS_DESCRIPTION: &str = "When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
The items in the lists are hash, revision, total keys, total size.";

/// `help [command...]`: the words of the command whose help to print
/// (unique prefixes allowed, as on the command line).
#[derive(clap::Args, Debug)]
pub struct HelpArgs {
    /// The command's words.
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub topic: Vec<String>,
}

/// `completion bash|zsh|fish|powershell`.
#[derive(Subcommand, Debug)]
pub enum CompletionCommand {
    /// Generate the autocompletion script for bash
    #[command(long_about = super::completion::BASH_DESCRIPTION)]
    Bash(CompletionArgs),
    /// Generate the autocompletion script for fish
    #[command(long_about = super::completion::FISH_DESCRIPTION)]
    Fish(CompletionArgs),
    /// Generate the autocompletion script for powershell
    #[command(long_about = super::completion::POWERSHELL_DESCRIPTION)]
    Powershell(CompletionArgs),
    /// Generate the autocompletion script for zsh
    #[command(long_about = super::completion::ZSH_DESCRIPTION)]
    Zsh(CompletionArgs),
}

/// `completion <shell> [--no-descriptions]`.
#[derive(clap::Args, Debug)]
pub struct CompletionArgs {
    /// disable completion descriptions
    #[arg(long = "no-descriptions", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = parse_go_bool)]
    pub no_descriptions: bool,
    /// Words after the shell: cobra's `unknown command`.
    #[arg(hide = true)]
    pub args: Vec<String>,
}

/// `check ...`.
#[derive(Subcommand, Debug)]
pub enum CheckCommand {
    /// Check the performance of the etcd cluster
    #[command(override_usage = "perf [options]")]
    Perf(CheckPerfArgs),
}

/// `check perf [options]`, with etcdctl's defaults. Extra arguments are
/// accepted and ignored, as etcdctl does.
#[derive(clap::Args, Debug)]
pub struct CheckPerfArgs {
    /// The performance check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)
    #[arg(verbatim_doc_comment, long, default_value = "s")]
    pub load: String,
    /// The prefix for writing the performance check's keys.
    #[arg(verbatim_doc_comment, long, default_value = "/etcdctl-check-perf/")]
    pub prefix: String,
    /// Compact storage with last revision after test is finished.
    #[arg(verbatim_doc_comment, long = "auto-compact", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = parse_go_bool)]
    pub auto_compact: bool,
    /// Defragment storage after test is finished.
    #[arg(verbatim_doc_comment, long = "auto-defrag", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", default_value = "false", value_parser = parse_go_bool)]
    pub auto_defrag: bool,
    /// Ignored.
    #[arg(hide = true)]
    pub args: Vec<String>,
    /// How long the check writes: always 60 s for users (see
    /// [`super::check::check_duration`]).
    #[arg(skip = super::check::CHECK_DURATION)]
    pub duration: Duration,
}

/// `txn [options]`.
#[derive(clap::Args, Debug)]
pub struct TxnArgs {
    /// Input transaction in interactive mode
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// (none accepted)
    pub args: Vec<String>,
}

/// `compaction [options] <revision>`.
#[derive(clap::Args, Debug)]
pub struct CompactionArgs {
    /// 'true' to wait for compaction to physically remove all old revisions
    #[arg(long)]
    pub physical: bool,
    /// The revision.
    pub args: Vec<String>,
}

/// `snapshot ...`.
#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Stores an etcd node backend snapshot to a given file
    #[command(override_usage = "save <filename>")]
    Save(ArgsOnly),
    /// Restores an etcd member snapshot to an etcd directory
    #[command(override_usage = "restore <filename> [options]")]
    Restore(SnapshotRestoreArgs),
    /// Gets backend snapshot status of a given file
    #[command(override_usage = "status <filename>", long_about = SNAPSHOT_STATUS_DESCRIPTION)]
    Status(ArgsOnly),
}

/// `snapshot restore <filename> [options]`, with etcdctl's defaults.
#[derive(clap::Args, Debug)]
pub struct SnapshotRestoreArgs {
    /// Path to the data directory (default: <name>.keel, as the keel daemon's)
    #[arg(long = "data-dir", default_value = "")]
    pub data_dir: String,
    /// Path to the WAL directory (use --data-dir if none given)
    #[arg(long = "wal-dir", default_value = "")]
    pub wal_dir: String,
    /// Initial cluster configuration for restore bootstrap
    #[arg(
        long = "initial-cluster",
        default_value = "default=http://localhost:2380"
    )]
    pub initial_cluster: String,
    /// Initial cluster token for the etcd cluster during restore bootstrap (keel's default token, as the keel daemon's)
    #[arg(long = "initial-cluster-token", default_value = "keel-cluster")]
    pub initial_cluster_token: String,
    /// List of this member's peer URLs to advertise to the rest of the cluster
    #[arg(
        long = "initial-advertise-peer-urls",
        default_value = "http://localhost:2380"
    )]
    pub initial_advertise_peer_urls: String,
    /// Human-readable name for this member
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Ignore snapshot integrity hash value (required if copied from data directory)
    #[arg(long = "skip-hash-check", num_args = 0..=1, default_missing_value = "true",
          default_value = "false", value_parser = parse_go_bool)]
    pub skip_hash_check: bool,
    /// The snapshot file.
    pub args: Vec<String>,
}

/// A command whose only input is its positional arguments.
#[derive(clap::Args, Debug)]
pub struct ArgsOnly {
    /// The arguments.
    pub args: Vec<String>,
}

/// `member ...`.
#[derive(Subcommand, Debug)]
pub enum MemberCommand {
    /// Lists all members in the cluster
    #[command(long_about = MEMBER_LIST_DESCRIPTION)]
    List,
    /// Adds a member into the cluster
    #[command(override_usage = "add <memberName> [options]")]
    Add(MemberAddArgs),
    /// Removes a member from the cluster
    #[command(override_usage = "remove <memberID>")]
    Remove(ArgsOnly),
    /// Updates a member in the cluster
    #[command(override_usage = "update <memberID> [options]")]
    Update(MemberUpdateArgs),
    /// Promotes a non-voting member in the cluster
    #[command(
        override_usage = "promote <memberID>",
        long_about = "Promotes a non-voting learner member to a voting one in the cluster."
    )]
    Promote(ArgsOnly),
}

/// `member add <memberName> [options]`.
#[derive(clap::Args, Debug)]
pub struct MemberAddArgs {
    /// comma separated peer URLs for the new member.
    #[arg(verbatim_doc_comment, long, default_value = "")]
    pub peer_urls: String,
    /// indicates if the new member is raft learner
    #[arg(long)]
    pub learner: bool,
    /// The member's name.
    pub args: Vec<String>,
}

/// `member update <memberID> [options]`.
#[derive(clap::Args, Debug)]
pub struct MemberUpdateArgs {
    /// comma separated peer URLs for the updated member.
    #[arg(verbatim_doc_comment, long, default_value = "")]
    pub peer_urls: String,
    /// The member id.
    pub args: Vec<String>,
}

/// `endpoint [--cluster] ...`: `--cluster` is `endpoint`'s persistent
/// flag, as in etcdctl, so it may come before or after the subcommand.
#[derive(clap::Args, Debug)]
pub struct EndpointGroup {
    /// use all endpoints from the cluster member list
    #[arg(long, global = true)]
    pub cluster: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: EndpointCommand,
}

impl EndpointGroup {
    /// Which endpoints the subcommand asks.
    pub fn targets(&self) -> EndpointArgs {
        EndpointArgs {
            cluster: self.cluster,
        }
    }
}

/// `endpoint ...`.
#[derive(Subcommand, Debug)]
pub enum EndpointCommand {
    /// Prints out the status of endpoints specified in `--endpoints` flag
    #[command(long_about = ENDPOINT_STATUS_DESCRIPTION)]
    Status,
    /// Checks the healthiness of endpoints specified in `--endpoints` flag
    Health,
    /// Prints the KV history hash for each endpoint in --endpoints
    Hashkv(EndpointHashKvArgs),
}

/// `endpoint hashkv [--rev N]`.
#[derive(clap::Args, Debug)]
pub struct EndpointHashKvArgs {
    /// maximum revision to hash (default: all revisions)
    #[arg(long, default_value = "0", allow_negative_numbers = true)]
    pub rev: String,
}

/// `defrag [--cluster] [--data-dir DIR]`.
#[derive(clap::Args, Debug)]
pub struct DefragArgs {
    /// Optional. If present, defragments a data directory not in use by etcd.
    #[arg(verbatim_doc_comment, long = "data-dir", default_value = "")]
    pub data_dir: String,
    /// The endpoints (and `--cluster`).
    #[command(flatten)]
    pub endpoints: EndpointArgs,
}

/// Whether to ask every member (`--cluster`) or the `--endpoints`
/// (`endpoint ...` and `defrag`).
#[derive(clap::Args, Debug)]
pub struct EndpointArgs {
    /// use all endpoints from the cluster member list
    #[arg(long)]
    pub cluster: bool,
}

/// `alarm ...`.
#[derive(Subcommand, Debug)]
pub enum AlarmCommand {
    /// Lists all alarms
    List,
    /// Disarms all alarms
    Disarm,
}

/// The global settings after flags and environment are combined.
#[derive(Debug, Clone, PartialEq)]
pub struct Globals {
    /// Where the cluster is.
    pub endpoints: Vec<String>,
    /// Longest wait to connect to one endpoint.
    pub dial_timeout: Duration,
    /// Longest a command may take.
    pub command_timeout: Duration,
    /// How to print.
    pub print: PrintOptions,
    /// TLS settings (`--cacert`, `--cert`, `--key`,
    /// `--insecure-skip-tls-verify`).
    pub tls: ClientTlsFiles,
    /// `--insecure-transport`: `false` makes endpoints without a scheme use
    /// TLS even when no TLS file is given (etcdctl's rule).
    pub insecure_transport: bool,
}

/// What parsing the command line gave: a command to run, or output to
/// print right away (help, or an error).
#[derive(Debug)]
pub enum Parsed {
    /// Run `command` with `globals`; `warnings` go to stderr first.
    Run {
        /// The combined global settings (boxed: they dwarf the other
        /// variants).
        globals: Box<Globals>,
        /// The command.
        command: Command,
        /// Lines for stderr (unrecognized `KEELCTL_*` variables).
        warnings: Vec<String>,
    },
    /// Help text (or a completion script) for stdout, exit 0.
    Help(String),
    /// Output to print as it is (`help` on an unknown topic).
    Output(Output),
    /// A usage error.
    Error(CtlError),
    /// A top-level word that names no command: cobra's message, which it
    /// prints twice around a usage hint (see
    /// [`super::output::print_unknown_command`]).
    UnknownCommand(String),
}

/// The prefixes of the variables that stand in for global flags:
/// keelctl's own first, then etcdctl's (scripts and etcd's e2e suite set
/// `ETCDCTL_ENDPOINTS` and the like).
const VARIABLE_PREFIXES: [&str; 2] = ["KEELCTL_", "ETCDCTL_"];

/// The variables keelctl reads, without their prefix. `API` is etcdctl's
/// `ETCDCTL_API`, which selects its v3 API and is no flag: never warned of.
const KNOWN_VARIABLES: [&str; 13] = [
    "ENDPOINTS",
    "CACERT",
    "CERT",
    "KEY",
    "INSECURE_SKIP_TLS_VERIFY",
    "INSECURE_TRANSPORT",
    "DIAL_TIMEOUT",
    "COMMAND_TIMEOUT",
    "WRITE_OUT",
    "HEX",
    "WATCH_KEY",
    "WATCH_RANGE_END",
    "API",
];

/// The variable that stands in for a flag: `KEELCTL_<suffix>`, else
/// `ETCDCTL_<suffix>`; its name and value.
fn variable<'a>(env: &'a BTreeMap<String, String>, suffix: &str) -> Option<(String, &'a str)> {
    VARIABLE_PREFIXES.iter().find_map(|prefix| {
        let name = format!("{prefix}{suffix}");
        env.get(&name).map(|value| (name, value.as_str()))
    })
}

/// Parses `args` (without the program name) and the environment `env`. A
/// global flag that is also set by its variable is an error (etcdctl's
/// rule); unknown `KEELCTL_*` and `ETCDCTL_*` variables are warnings.
/// Command words may be unique prefixes (cobra's rule, see
/// [`super::command_names`]). `watch` also gets what followed its `--`
/// (which clap drops) and `*_WATCH_KEY` and `*_WATCH_RANGE_END`.
pub fn parse(args: Vec<OsString>, env: &BTreeMap<String, String>) -> Parsed {
    let exec = exec_after_separator(&args);
    let mut root = Cli::command();
    root.build();
    let args = match resolve(&root, args) {
        Resolved::Args(args) => args,
        Resolved::UnknownCommand(message) => return Parsed::UnknownCommand(message),
    };
    let matches = match root
        .try_get_matches_from_mut(std::iter::once(OsString::from("keelctl")).chain(args.clone()))
    {
        Ok(matches) => matches,
        // `--help`, `-h`, or a command that needs a subcommand: the help
        // of the command the words select (cobra's help flag).
        Err(error) if is_help_request(&error) => {
            return Parsed::Help(help::render(&root, &command_path(&root, &args)));
        }
        Err(error) => return clap_error(error),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => return clap_error(error),
    };
    match &cli.command {
        Command::Help(topic) => return help_command(&root, &topic.topic),
        Command::Completion(shell) => return completion_command(&root, shell),
        _ => {}
    }
    if let Command::Watch(watch) = &mut cli.command {
        watch.exec = exec;
        let key = variable(env, "WATCH_KEY");
        let range_end = variable(env, "WATCH_RANGE_END");
        // The names in messages are those of the prefix that was used.
        let prefix = match (&key, &range_end) {
            (Some((name, _)), _) | (None, Some((name, _))) if name.starts_with("ETCDCTL_") => {
                "ETCDCTL_"
            }
            _ => "KEELCTL_",
        };
        watch.env = EnvKey {
            key: key.map(|(_, value)| value.to_string()).unwrap_or_default(),
            range_end: range_end
                .map(|(_, value)| value.to_string())
                .unwrap_or_default(),
            prefix,
        };
    }
    if let Command::Check(CheckCommand::Perf(perf)) = &mut cli.command {
        perf.duration = super::check::check_duration(env);
    }
    let mut warnings = Vec::new();
    for (name, value) in env {
        let suffix = VARIABLE_PREFIXES
            .iter()
            .find_map(|prefix| name.strip_prefix(prefix));
        if suffix.is_some_and(|suffix| !KNOWN_VARIABLES.contains(&suffix)) {
            warnings.push(format!(
                "keelctl: unrecognized environment variable {name}={value}"
            ));
        }
    }
    match globals(&cli, env) {
        Ok(globals) => Parsed::Run {
            globals: Box::new(globals),
            command: cli.command,
            warnings,
        },
        Err(error) => Parsed::Error(error),
    }
}

/// Whether clap stopped to show help rather than for an error.
fn is_help_request(error: &clap::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// cobra's `help [command...]`: the help of the command the words select
/// (unique prefixes allowed; words after the last command are ignored), or,
/// when the first selects none, `Unknown help topic` on stderr and the
/// top-level help on stdout, exit 0.
fn help_command(root: &clap::Command, topic: &[String]) -> Parsed {
    let words: Vec<OsString> = topic.iter().map(OsString::from).collect();
    let path = match resolve(root, words) {
        Resolved::Args(resolved) => command_path(root, &resolved),
        Resolved::UnknownCommand(_) => Vec::new(),
    };
    if path.is_empty() && topic.iter().any(|word| !word.starts_with('-')) {
        return Parsed::Output(Output {
            stdout: help::render_unknown_topic(root).into_bytes(),
            stderr: format!("Unknown help topic {}\n", help::go_quote_words(topic)).into_bytes(),
            exit_code: 0,
        });
    }
    Parsed::Help(help::render(root, &path))
}

/// `completion <shell>`: the script; a word after the shell is cobra's
/// `unknown command` for the shell's command, which etcdctl shows as its
/// help on stdout and the error twice on stderr, around the empty line
/// cobra prints for the usage it sent to stdout (exit 1).
fn completion_command(root: &clap::Command, shell: &CompletionCommand) -> Parsed {
    let (name, args) = match shell {
        CompletionCommand::Bash(args) => ("bash", args),
        CompletionCommand::Fish(args) => ("fish", args),
        CompletionCommand::Powershell(args) => ("powershell", args),
        CompletionCommand::Zsh(args) => ("zsh", args),
    };
    let Some(extra) = args.args.first() else {
        return Parsed::Help(completion::script(shell));
    };
    let error = format!("Error: unknown command \"{extra}\" for \"keelctl completion {name}\"\n");
    let path = ["completion".to_string(), name.to_string()];
    Parsed::Output(Output {
        stdout: help::render(root, &path).into_bytes(),
        stderr: format!("{error}\n{error}").into_bytes(),
        exit_code: ExitCode::Error.code(),
    })
}

/// pflag's `Bool` value: Go's `strconv.ParseBool`.
pub(super) fn parse_go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing \"{text}\": invalid syntax"
        )),
    }
}

fn globals(cli: &Cli, env: &BTreeMap<String, String>) -> Result<Globals, CtlError> {
    // etcdctl's rule: a variable whose flag was given is an error, even an
    // empty one; otherwise an empty variable is unset (Go's os.Getenv).
    let from_env = |suffix: &str, flag_given: bool| -> Result<Option<String>, CtlError> {
        match variable(env, suffix) {
            Some((name, _)) if flag_given => Err(CtlError::error(format!(
                "conflicting environment variable \"{name}\" is shadowed by corresponding \
                 command-line flag (either unset environment variable or disable flag)"
            ))),
            Some((_, value)) if !value.is_empty() => Ok(Some(value.to_string())),
            _ => Ok(None),
        }
    };
    let endpoints = match from_env("ENDPOINTS", !cli.endpoints.is_empty())? {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None if cli.endpoints.is_empty() => vec!["127.0.0.1:2379".to_string()],
        None => cli.endpoints.clone(),
    };
    let duration = |flag: &str, given: &Option<String>, suffix: &str, default: Duration| {
        let text = match from_env(suffix, given.is_some())? {
            Some(text) => text,
            None => match given {
                Some(text) => text.clone(),
                None => return Ok(default),
            },
        };
        parse_duration(&text).map_err(|e| {
            CtlError::error(format!(
                "invalid argument \"{text}\" for \"--{flag}\" flag: {e}"
            ))
        })
    };
    let dial_timeout = duration(
        "dial-timeout",
        &cli.dial_timeout,
        "DIAL_TIMEOUT",
        Duration::from_secs(2),
    )?;
    let command_timeout = duration(
        "command-timeout",
        &cli.command_timeout,
        "COMMAND_TIMEOUT",
        Duration::from_secs(5),
    )?;
    let format = match from_env("WRITE_OUT", cli.write_out.is_some())? {
        Some(text) => OutputFormat::parse(&text)?,
        None => OutputFormat::parse(cli.write_out.as_deref().unwrap_or("simple"))?,
    };
    let boolean = |suffix: &str, given: Option<bool>, default: bool| -> Result<bool, CtlError> {
        match from_env(suffix, given.is_some())? {
            Some(text) => parse_go_bool(&text).map_err(|error| {
                let name = variable(env, suffix)
                    .map(|(name, _)| name)
                    .unwrap_or_default();
                CtlError::error(format!("invalid value \"{text}\" for {name}: {error}"))
            }),
            None => Ok(given.unwrap_or(default)),
        }
    };
    let hex = boolean("HEX", cli.hex, false)?;
    let path = |suffix: &str, given: &Option<String>| -> Result<Option<PathBuf>, CtlError> {
        Ok(from_env(suffix, given.is_some())?
            .or_else(|| given.clone())
            .filter(|p| !p.is_empty())
            .map(PathBuf::from))
    };
    let tls = ClientTlsFiles {
        ca_file: path("CACERT", &cli.cacert)?,
        cert_file: path("CERT", &cli.cert)?,
        key_file: path("KEY", &cli.key)?,
        insecure_skip_verify: boolean(
            "INSECURE_SKIP_TLS_VERIFY",
            cli.insecure_skip_tls_verify,
            false,
        )?,
    };
    let insecure_transport = boolean("INSECURE_TRANSPORT", cli.insecure_transport, true)?;
    Ok(Globals {
        endpoints,
        dial_timeout,
        command_timeout,
        print: PrintOptions { format, hex },
        tls,
        insecure_transport,
    })
}

/// Maps clap's errors to cobra's wording and etcdctl's exit status (1).
fn clap_error(error: clap::Error) -> Parsed {
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    let message = match error.kind() {
        ErrorKind::UnknownArgument => match context(ContextKind::InvalidArg) {
            // pflag names the first unknown letter of a shorthand group.
            Some(flag) if !flag.starts_with("--") && flag.len() > 1 => {
                let letter = flag[1..].chars().next().unwrap_or('-');
                format!("unknown shorthand flag: '{letter}' in {flag}")
            }
            Some(flag) => format!("unknown flag: {}", flag.split('=').next().unwrap_or(&flag)),
            None => first_line(&error),
        },
        ErrorKind::InvalidSubcommand => match context(ContextKind::InvalidSubcommand) {
            // A command etcdctl has and keelctl lacks (`defrag`): cobra's
            // message without suggestions, which would name the command.
            Some(command) => {
                return Parsed::UnknownCommand(format!(
                    "unknown command \"{command}\" for \"keelctl\""
                ));
            }
            None => first_line(&error),
        },
        ErrorKind::ValueValidation => match (
            context(ContextKind::InvalidArg),
            context(ContextKind::InvalidValue),
        ) {
            // pflag's wording for a bad flag value; clap's source error is
            // the parser's message.
            (Some(flag), Some(value)) => {
                let long = flag
                    .split(['=', '[', ' '])
                    .next()
                    .unwrap_or(&flag)
                    .to_string();
                let cause = std::error::Error::source(&error)
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                format!("invalid argument \"{value}\" for \"{long}\" flag: {cause}")
            }
            _ => first_line(&error),
        },
        _ => first_line(&error),
    };
    Parsed::Error(CtlError::new(ExitCode::Error, message))
}

fn first_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let line = rendered.lines().next().unwrap_or("invalid arguments");
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn run_globals(words: &[&str], env: &[(&str, &str)]) -> Result<Globals, CtlError> {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match parse(args(words), &env) {
            Parsed::Run { globals, .. } => Ok(*globals),
            Parsed::Error(error) => Err(error),
            Parsed::Help(_) | Parsed::Output(_) => panic!("help"),
            Parsed::UnknownCommand(message) => panic!("{message}"),
        }
    }

    #[test]
    fn defaults_are_etcdctls() {
        let globals = run_globals(&["version"], &[]).unwrap();
        assert_eq!(globals.endpoints, vec!["127.0.0.1:2379"]);
        assert_eq!(globals.dial_timeout, Duration::from_secs(2));
        assert_eq!(globals.command_timeout, Duration::from_secs(5));
        assert_eq!(globals.print, PrintOptions::default());
    }

    #[test]
    fn global_flags_may_follow_the_command() {
        let globals = run_globals(
            &["get", "k", "--endpoints", "a:1,b:2", "-w", "json", "--hex"],
            &[],
        )
        .unwrap();
        assert_eq!(globals.endpoints, vec!["a:1", "b:2"]);
        assert_eq!(globals.print.format, OutputFormat::Json);
        assert!(globals.print.hex);
    }

    #[test]
    fn variables_stand_in_for_flags_and_conflicts_are_errors() {
        let globals = run_globals(
            &["version"],
            &[
                ("KEELCTL_ENDPOINTS", "x:1,y:2"),
                ("KEELCTL_COMMAND_TIMEOUT", "10s"),
                ("KEELCTL_WRITE_OUT", "table"),
            ],
        )
        .unwrap();
        assert_eq!(globals.endpoints, vec!["x:1", "y:2"]);
        assert_eq!(globals.command_timeout, Duration::from_secs(10));
        assert_eq!(globals.print.format, OutputFormat::Table);
        let error = run_globals(
            &["--endpoints", "a:1", "version"],
            &[("KEELCTL_ENDPOINTS", "x:1")],
        )
        .unwrap_err();
        assert!(
            error
                .message
                .starts_with("conflicting environment variable \"KEELCTL_ENDPOINTS\" is shadowed")
        );
        assert_eq!(error.exit, ExitCode::Error);
    }

    #[test]
    fn tls_flags_and_their_variables() {
        let globals = run_globals(
            &[
                "--cacert=/ca.pem",
                "--cert",
                "/c.pem",
                "--insecure-skip-tls-verify",
                "version",
            ],
            &[("KEELCTL_KEY", "/k.pem")],
        )
        .unwrap();
        assert_eq!(
            globals.tls,
            ClientTlsFiles {
                ca_file: Some(PathBuf::from("/ca.pem")),
                cert_file: Some(PathBuf::from("/c.pem")),
                key_file: Some(PathBuf::from("/k.pem")),
                insecure_skip_verify: true,
            }
        );
        let globals = run_globals(
            &["version"],
            &[("KEELCTL_INSECURE_SKIP_TLS_VERIFY", "true")],
        )
        .unwrap();
        assert!(globals.tls.insecure_skip_verify && globals.tls.ca_file.is_none());
        let error =
            run_globals(&["--cacert=/a", "version"], &[("KEELCTL_CACERT", "/b")]).unwrap_err();
        assert!(
            error
                .message
                .starts_with("conflicting environment variable \"KEELCTL_CACERT\" is shadowed")
        );
        assert!(
            run_globals(
                &["version"],
                &[("KEELCTL_INSECURE_SKIP_TLS_VERIFY", "maybe")]
            )
            .is_err()
        );
    }

    #[test]
    fn etcdctls_variables_stand_in_for_flags_too() {
        let globals = run_globals(
            &["put", "k", "v"],
            &[
                ("ETCDCTL_API", "3"),
                ("ETCDCTL_ENDPOINTS", "x:1,y:2"),
                ("ETCDCTL_DIAL_TIMEOUT", "0s"),
                ("ETCDCTL_CACERT", "/ca.pem"),
                ("ETCDCTL_CERT", "/c.pem"),
                ("ETCDCTL_KEY", "/k.pem"),
                ("ETCDCTL_INSECURE_TRANSPORT", "false"),
                ("ETCDCTL_COMMAND_TIMEOUT", ""),
            ],
        )
        .unwrap();
        assert_eq!(globals.endpoints, vec!["x:1", "y:2"]);
        assert_eq!(globals.dial_timeout, Duration::ZERO);
        // Empty is unset, as Go's os.Getenv reads it.
        assert_eq!(globals.command_timeout, Duration::from_secs(5));
        assert_eq!(globals.tls.key_file, Some(PathBuf::from("/k.pem")));
        assert!(!globals.insecure_transport);
        // keelctl's own variable wins over etcdctl's.
        let globals = run_globals(
            &["version"],
            &[("ETCDCTL_ENDPOINTS", "x:1"), ("KEELCTL_ENDPOINTS", "k:1")],
        )
        .unwrap();
        assert_eq!(globals.endpoints, vec!["k:1"]);
        let error = run_globals(
            &["--dial-timeout=1s", "version"],
            &[("ETCDCTL_DIAL_TIMEOUT", "")],
        )
        .unwrap_err();
        assert!(
            error.message.starts_with(
                "conflicting environment variable \"ETCDCTL_DIAL_TIMEOUT\" is shadowed"
            )
        );
        let env = [
            ("ETCDCTL_API".to_string(), "3".to_string()),
            ("ETCDCTL_BOGUS".to_string(), "1".to_string()),
        ]
        .into();
        match parse(args(&["version"]), &env) {
            Parsed::Run { warnings, .. } => assert_eq!(
                warnings,
                vec!["keelctl: unrecognized environment variable ETCDCTL_BOGUS=1"]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn watch_reads_the_key_from_either_prefix() {
        let env = [("ETCDCTL_WATCH_KEY".to_string(), "sample".to_string())].into();
        match parse(args(&["watch", "--rev", "1"]), &env) {
            Parsed::Run {
                command: Command::Watch(watch),
                warnings,
                ..
            } => {
                assert_eq!(watch.env.key, "sample");
                assert_eq!(watch.env.prefix, "ETCDCTL_");
                assert!(warnings.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn boolean_flags_take_pflags_values() {
        let globals = run_globals(
            &[
                "--insecure-transport=false",
                "--insecure-skip-tls-verify=true",
                "--hex=1",
                "get",
                "k",
            ],
            &[],
        )
        .unwrap();
        assert!(!globals.insecure_transport);
        assert!(globals.tls.insecure_skip_verify);
        assert!(globals.print.hex);
        let globals = run_globals(&["--insecure-skip-tls-verify=false", "get", "k"], &[]).unwrap();
        assert!(globals.insecure_transport && !globals.tls.insecure_skip_verify);
        // A bare boolean flag does not take the next word as its value.
        match parse(args(&["--hex", "get", "k"]), &BTreeMap::new()) {
            Parsed::Run {
                command: Command::Get(_),
                globals,
                ..
            } => assert!(globals.print.hex),
            other => panic!("{other:?}"),
        }
        let error = run_globals(&["--hex=maybe", "get", "k"], &[]).unwrap_err();
        assert_eq!(
            error.message,
            "invalid argument \"maybe\" for \"--hex\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax"
        );
    }

    #[test]
    fn unknown_variables_warn() {
        let env = [("KEELCTL_ENDPOINT".to_string(), "x".to_string())].into();
        match parse(args(&["version"]), &env) {
            Parsed::Run { warnings, .. } => {
                assert_eq!(
                    warnings,
                    vec!["keelctl: unrecognized environment variable KEELCTL_ENDPOINT=x"]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn command_words_may_be_unique_prefixes() {
        match parse(args(&["compact", "--physical", "5"]), &BTreeMap::new()) {
            Parsed::Run {
                command: Command::Compaction(compaction),
                ..
            } => assert!(compaction.physical && compaction.args == ["5"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(args(&["endp", "has", "--rev=3"]), &BTreeMap::new()),
            Parsed::Run {
                command: Command::Endpoint(EndpointGroup {
                    command: EndpointCommand::Hashkv(_),
                    ..
                }),
                ..
            }
        ));
        // `--cluster` is `endpoint`'s: before or after the subcommand.
        for words in [
            ["endpoint", "--cluster", "health"],
            ["endpoint", "health", "--cluster"],
        ] {
            assert!(matches!(
                parse(args(&words), &BTreeMap::new()),
                Parsed::Run {
                    command: Command::Endpoint(EndpointGroup {
                        cluster: true,
                        command: EndpointCommand::Health,
                    }),
                    ..
                }
            ));
        }
        assert!(matches!(
            parse(args(&["member", "bogus"]), &BTreeMap::new()),
            Parsed::Help(text) if text.contains("promote")
        ));
    }

    #[test]
    fn usage_errors_use_cobras_words() {
        assert!(matches!(
            parse(args(&["bogus"]), &BTreeMap::new()),
            Parsed::UnknownCommand(message) if message == "unknown command \"bogus\" for \"keelctl\""
        ));
        assert!(matches!(
            parse(args(&["migrate"]), &BTreeMap::new()),
            Parsed::UnknownCommand(message) if message == "unknown command \"migrate\" for \"keelctl\""
        ));
        let error = run_globals(&["get", "--bogus", "x"], &[]).unwrap_err();
        assert_eq!(error.message, "unknown flag: --bogus");
        let error = run_globals(&["lock", "l", "sh", "-c", "x"], &[]).unwrap_err();
        assert_eq!(error.message, "unknown shorthand flag: 'c' in -c");
        let error = run_globals(&["lease", "grant", "-5"], &[]).unwrap_err();
        assert_eq!(error.message, "unknown shorthand flag: '5' in -5");
        let error = run_globals(&["--dial-timeout", "5", "get", "x"], &[]).unwrap_err();
        assert_eq!(
            error.message,
            "invalid argument \"5\" for \"--dial-timeout\" flag: time: missing unit in duration \"5\""
        );
        let error = run_globals(&["-w", "yaml", "get", "x"], &[]).unwrap_err();
        assert_eq!(
            (error.message.as_str(), error.exit),
            ("unsupported output format", ExitCode::BadFeature)
        );
    }

    #[test]
    fn help_is_not_an_error() {
        assert!(matches!(
            parse(args(&["--help"]), &BTreeMap::new()),
            Parsed::Help(text) if text.contains("member")
        ));
    }
}

//! Output of `endpoint status|health`, `alarm list|disarm`, `move-leader`
//! and `version`.

use super::go_format::{go_duration, humanize_bytes};
use super::json::{self, Json, ObjectBuilder};
use super::table::render_table;
use super::{Output, OutputFormat, PrintOptions, format_not_supported};
use crate::ctl::error::{CtlError, ExitCode};
use keel_engine::api::{AlarmMember, AlarmResponse, AlarmType, HashKvResponse, StatusResponse};
use std::time::Duration;

/// One endpoint's answer to `endpoint status`: its status, or why none came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// The endpoint as the user gave it (or a client URL with `--cluster`).
    pub endpoint: String,
    /// The status, or the error text.
    pub result: Result<StatusResponse, String>,
}

/// One endpoint's answer to `endpoint hashkv`: its hash, or why none came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointHashKv {
    /// The endpoint as the user gave it (or a client URL with `--cluster`).
    pub endpoint: String,
    /// The hash, or the error text.
    pub result: Result<HashKvResponse, String>,
}

/// `endpoint hashkv`: `endpoint, hash` per endpoint that answered (or a
/// table row, or Go's JSON of etcdctl's `[{Endpoint, HashKV}]`); for each
/// that did not, `Failed to get the hash of endpoint E (error)` on stderr,
/// and then the last error as `Error: ...` with exit 1.
pub fn print_endpoint_hashkv(options: PrintOptions, hashes: &[EndpointHashKv]) -> Output {
    let mut answered = Vec::new();
    let mut stderr = String::new();
    let mut last_error = None;
    for hash in hashes {
        match &hash.result {
            Ok(response) => answered.push((hash.endpoint.as_str(), response)),
            Err(error) => {
                stderr.push_str(&format!(
                    "Failed to get the hash of endpoint {} ({error})\n",
                    hash.endpoint
                ));
                last_error = Some(error.clone());
            }
        }
    }
    let rows: Vec<Vec<String>> = answered
        .iter()
        .map(|(endpoint, response)| vec![endpoint.to_string(), response.hash.to_string()])
        .collect();
    let output = match options.format {
        OutputFormat::Simple => {
            let mut out = String::new();
            for row in &rows {
                out.push_str(&row.join(", "));
                out.push('\n');
            }
            Output::stdout(out)
        }
        OutputFormat::Table => Output::stdout(render_table(&["ENDPOINT", "HASH"], &rows)),
        OutputFormat::Json => {
            let items = answered
                .iter()
                .map(|(endpoint, response)| {
                    ObjectBuilder::new()
                        .string_always("Endpoint", endpoint)
                        .value("HashKV", Some(json::hash_kv(response)))
                        .build()
                })
                .collect();
            json_line(Json::Array(items))
        }
        other => return format_not_supported(other),
    };
    let output = Output {
        stderr: stderr.into_bytes(),
        ..output
    };
    match last_error {
        Some(error) => output.with_error(&CtlError::error(error)),
        None => output,
    }
}

/// `defrag`'s lines, one per endpoint in the order tried: etcdctl's
/// `Finished defragmenting etcd member[EP]` on stdout, `Failed to
/// defragment etcd member[EP] (ERROR)` on stderr; exit status 1 if any
/// failed. Every output format prints the same.
pub fn print_defrag(results: &[(String, Result<(), String>)]) -> Output {
    let (mut stdout, mut stderr) = (String::new(), String::new());
    for (endpoint, result) in results {
        match result {
            Ok(()) => stdout.push_str(&format!("Finished defragmenting etcd member[{endpoint}]\n")),
            Err(error) => stderr.push_str(&format!(
                "Failed to defragment etcd member[{endpoint}] ({error})\n"
            )),
        }
    }
    let failed = results.iter().any(|(_, result)| result.is_err());
    Output {
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
        exit_code: if failed { 1 } else { 0 },
    }
}

/// One endpoint's answer to `endpoint health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointHealth {
    /// The endpoint as the user gave it (or a client URL with `--cluster`).
    pub endpoint: String,
    /// How long the health check took.
    pub took: Duration,
    /// Why it is unhealthy; `None` when healthy.
    pub error: Option<String>,
}

const STATUS_HEADERS: [&str; 10] = [
    "ENDPOINT",
    "ID",
    "VERSION",
    "DB SIZE",
    "IS LEADER",
    "IS LEARNER",
    "RAFT TERM",
    "RAFT INDEX",
    "RAFT APPLIED INDEX",
    "ERRORS",
];

/// `endpoint status`: one line (or row) per endpoint that answered; for each
/// that did not, `Failed to get the status of endpoint E (error)` on stderr
/// and exit 1. DB size is humanized (`20 kB`) except in JSON.
pub fn print_endpoint_status(options: PrintOptions, statuses: &[EndpointStatus]) -> Output {
    let mut answered = Vec::new();
    let mut stderr = String::new();
    for status in statuses {
        match &status.result {
            Ok(response) => answered.push((status.endpoint.as_str(), response)),
            Err(error) => stderr.push_str(&format!(
                "Failed to get the status of endpoint {} ({error})\n",
                status.endpoint
            )),
        }
    }
    let mut output = match options.format {
        OutputFormat::Simple => {
            let mut out = String::new();
            for row in status_rows(&answered) {
                out.push_str(&row.join(", "));
                out.push('\n');
            }
            Output::stdout(out)
        }
        OutputFormat::Table => {
            Output::stdout(render_table(&STATUS_HEADERS, &status_rows(&answered)))
        }
        OutputFormat::Json => {
            let items = answered
                .iter()
                .map(|(endpoint, response)| {
                    ObjectBuilder::new()
                        .string_always("Endpoint", endpoint)
                        .value("Status", Some(json::status(response)))
                        .build()
                })
                .collect();
            json_line(Json::Array(items))
        }
        other => return format_not_supported(other),
    };
    if !stderr.is_empty() {
        let mut all = stderr.into_bytes();
        all.extend_from_slice(&output.stderr);
        output.stderr = all;
        output.exit_code = ExitCode::Error.code();
    }
    output
}

fn status_rows(answered: &[(&str, &StatusResponse)]) -> Vec<Vec<String>> {
    answered
        .iter()
        .map(|(endpoint, status)| {
            vec![
                endpoint.to_string(),
                format!("{:x}", status.header.member_id),
                status.version.clone(),
                humanize_bytes(u64::try_from(status.db_size).unwrap_or(0)),
                (status.leader == status.header.member_id).to_string(),
                status.is_learner.to_string(),
                status.raft_term.to_string(),
                status.raft_index.to_string(),
                status.raft_applied_index.to_string(),
                status.errors.join(", "),
            ]
        })
        .collect()
}

/// `endpoint health`: in the simple format every line goes to stderr (as in
/// etcdctl): `E is healthy: successfully committed proposal: took = 1.2ms`
/// or `E is unhealthy: failed to commit proposal: <error>`. Any unhealthy
/// endpoint adds `Error: unhealthy cluster` and exit 1, in every format.
pub fn print_endpoint_health(options: PrintOptions, checks: &[EndpointHealth]) -> Output {
    let output = match options.format {
        OutputFormat::Simple => {
            let mut stderr = String::new();
            for check in checks {
                match &check.error {
                    None => stderr.push_str(&format!(
                        "{} is healthy: successfully committed proposal: took = {}\n",
                        check.endpoint,
                        go_duration(check.took)
                    )),
                    Some(error) => stderr.push_str(&format!(
                        "{} is unhealthy: failed to commit proposal: {error}\n",
                        check.endpoint
                    )),
                }
            }
            Output {
                stderr: stderr.into_bytes(),
                ..Output::default()
            }
        }
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = checks
                .iter()
                .map(|check| {
                    vec![
                        check.endpoint.clone(),
                        check.error.is_none().to_string(),
                        go_duration(check.took),
                        check.error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            Output::stdout(render_table(
                &["ENDPOINT", "HEALTH", "TOOK", "ERROR"],
                &rows,
            ))
        }
        OutputFormat::Json => {
            let items = checks
                .iter()
                .map(|check| {
                    ObjectBuilder::new()
                        .string_always("endpoint", &check.endpoint)
                        .bool_always("health", check.error.is_none())
                        .string_always("took", &go_duration(check.took))
                        .string("error", check.error.as_deref().unwrap_or(""))
                        .build()
                })
                .collect();
            json_line(Json::Array(items))
        }
        other => return format_not_supported(other),
    };
    if checks.iter().any(|check| check.error.is_some()) {
        output.with_error(&CtlError::error("unhealthy cluster"))
    } else {
        output
    }
}

/// One alarm as etcdctl prints it: Go protobuf's compact text,
/// `memberID:<decimal> alarm:NOSPACE ` (zero fields left out, trailing space).
pub fn alarm_text(alarm: &AlarmMember) -> String {
    let mut text = String::new();
    if alarm.member_id != 0 {
        text.push_str(&format!("memberID:{} ", alarm.member_id));
    }
    if alarm.alarm != AlarmType::None {
        text.push_str(&format!("alarm:{} ", alarm.alarm.name()));
    }
    text
}

/// `alarm list` / `alarm disarm`: one line per alarm; JSON without a header
/// (etcd sends none for alarms).
pub fn print_alarm(options: PrintOptions, response: &AlarmResponse) -> Output {
    match options.format {
        OutputFormat::Simple => {
            let mut out = String::new();
            for alarm in &response.alarms {
                out.push_str(&alarm_text(alarm));
                out.push('\n');
            }
            Output::stdout(out)
        }
        OutputFormat::Json => json_line(
            ObjectBuilder::new()
                .array(
                    "alarms",
                    response.alarms.iter().map(json::alarm_member).collect(),
                )
                .build(),
        ),
        other => format_not_supported(other),
    }
}

/// `move-leader`: `Leadership transferred from <leader> to <target>` (hex
/// ids); JSON is `{}` (etcd's response carries no header).
pub fn print_move_leader(options: PrintOptions, leader: u64, target: u64) -> Output {
    match options.format {
        OutputFormat::Simple => Output::stdout(format!(
            "Leadership transferred from {leader:x} to {target:x}\n"
        )),
        OutputFormat::Json => Output::stdout("{}\n"),
        other => format_not_supported(other),
    }
}

/// `version`: keelctl's version with the etcdctl release whose output it
/// follows, and the etcd API version it speaks, in every format (etcdctl
/// prints it directly). etcdctl prints `etcdctl version: 3.4.23`; the etcd
/// version stays on the first line so tools that look for it find it.
pub fn print_version(keelctl_version: &str, etcdctl_version: &str, api_version: &str) -> Output {
    Output::stdout(format!(
        "keelctl version: {keelctl_version} (etcdctl {etcdctl_version})\nAPI version: {api_version}\n"
    ))
}

fn json_line(value: Json) -> Output {
    let mut text = value.render();
    text.push('\n');
    Output::stdout(text)
}

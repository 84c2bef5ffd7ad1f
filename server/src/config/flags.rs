//! The flag table, the command line, the environment and the config file,
//! merged into one map of settings by flag name.

use super::ConfigError;
use clap::{Arg, ArgAction, Command};
use std::collections::BTreeMap;

/// One of the daemon's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    /// Its name, as in `--name`.
    pub name: &'static str,
    /// Its default, as `--help` shows it.
    pub default: &'static str,
    /// What it does.
    pub help: &'static str,
}

/// Every flag the daemon takes (etcd's names and defaults).
pub const FLAGS: &[Flag] = &[
    Flag {
        name: "name",
        default: "default",
        help: "Human-readable name for this member.",
    },
    Flag {
        name: "data-dir",
        default: "${name}.keel",
        help: "Path to the data directory.",
    },
    Flag {
        name: "wal-dir",
        default: "",
        help: "Path to the dedicated wal directory (default: the data directory's wal).",
    },
    Flag {
        name: "listen-client-urls",
        default: "http://localhost:2379",
        help: "List of URLs to listen on for client traffic.",
    },
    Flag {
        name: "advertise-client-urls",
        default: "http://localhost:2379",
        help: "List of this member's client URLs to advertise to the public.",
    },
    Flag {
        name: "listen-peer-urls",
        default: "http://localhost:2380",
        help: "List of URLs to listen on for peer traffic.",
    },
    Flag {
        name: "initial-advertise-peer-urls",
        default: "http://localhost:2380",
        help: "List of this member's peer URLs to advertise to the rest of the cluster.",
    },
    Flag {
        name: "initial-cluster",
        default: "${name}=${initial-advertise-peer-urls}",
        help: "Initial cluster configuration for bootstrapping: name=url,name=url.",
    },
    Flag {
        name: "initial-cluster-state",
        default: "new",
        help: "Initial cluster state ('new' or 'existing').",
    },
    Flag {
        name: "initial-cluster-token",
        default: "keel-cluster",
        help: "Initial cluster token for the cluster during bootstrap.",
    },
    Flag {
        name: "snapshot-count",
        default: "100000",
        help: "Number of committed transactions to trigger a snapshot to disk.",
    },
    Flag {
        name: "heartbeat-interval",
        default: "100",
        help: "Time (in milliseconds) of a heartbeat interval.",
    },
    Flag {
        name: "election-timeout",
        default: "1000",
        help: "Time (in milliseconds) for an election to timeout.",
    },
    Flag {
        name: "quota-backend-bytes",
        default: "0",
        help: "Raise alarms when backend size exceeds the given quota (0 defaults to 2 GiB).",
    },
    Flag {
        name: "max-request-bytes",
        default: "1572864",
        help: "Maximum client request size in bytes the server will accept.",
    },
    Flag {
        name: "max-txn-ops",
        default: "128",
        help: "Maximum number of operations permitted in a transaction.",
    },
    Flag {
        name: "log-level",
        default: "info",
        help: "Configures log level. Only supports debug, info, warn, error, panic, or fatal.",
    },
    Flag {
        name: "cert-file",
        default: "",
        help: "Path to the client server TLS cert file.",
    },
    Flag {
        name: "key-file",
        default: "",
        help: "Path to the client server TLS key file.",
    },
    Flag {
        name: "client-cert-auth",
        default: "false",
        help: "Enable client cert authentication.",
    },
    Flag {
        name: "trusted-ca-file",
        default: "",
        help: "Path to the client server TLS trusted CA cert file.",
    },
    Flag {
        name: "peer-cert-file",
        default: "",
        help: "Path to the peer server TLS cert file.",
    },
    Flag {
        name: "peer-key-file",
        default: "",
        help: "Path to the peer server TLS key file.",
    },
    Flag {
        name: "peer-client-cert-auth",
        default: "false",
        help: "Enable peer client cert authentication.",
    },
    Flag {
        name: "peer-trusted-ca-file",
        default: "",
        help: "Path to the peer server TLS trusted CA file.",
    },
    Flag {
        name: "auto-tls",
        default: "false",
        help: "Client TLS using generated certificates (under <data-dir>/fixtures/client) when https client URLs have no --cert-file/--key-file.",
    },
    Flag {
        name: "peer-auto-tls",
        default: "false",
        help: "Peer TLS using generated certificates (under <data-dir>/fixtures/peer) when https peer URLs have no --peer-cert-file/--peer-key-file; peers' certificates are then not verified.",
    },
    Flag {
        name: "client-crl-file",
        default: "",
        help: "Path to the client certificate revocation list file (with --client-cert-auth).",
    },
    Flag {
        name: "client-cert-allowed-hostname",
        default: "",
        help: "Allowed TLS hostname for client cert authentication: a client certificate must be valid for it (DNS or IP subject alternative name).",
    },
    Flag {
        name: "peer-cert-allowed-cn",
        default: "",
        help: "Allowed CN for inter peer authentication (peers' certificates must have this Common Name).",
    },
    Flag {
        name: "peer-cert-allowed-hostname",
        default: "",
        help: "Allowed TLS hostname for inter peer authentication (peers' certificates must be valid for it).",
    },
    Flag {
        name: "cipher-suites",
        default: "",
        help: "Comma-separated list of supported TLS 1.2 cipher suites between client/server and peers, Go's names (empty: Keel's defaults; TLS 1.3 is not restricted, as in etcd). Keel implements the ECDHE AES-GCM and ChaCha20-Poly1305 ones.",
    },
    Flag {
        name: "experimental-peer-skip-client-san-verification",
        default: "false",
        help: "Skip verification of SAN field in client certificate for peer connections (Keel never checks it).",
    },
    Flag {
        name: "strict-reconfig-check",
        default: "true",
        help: "Reject reconfiguration requests that would cause quorum loss.",
    },
    Flag {
        name: "experimental-initial-corrupt-check",
        default: "false",
        help: "Enable to check data corruption before serving any client/peer traffic: on a restart, compare this member's hash of its keys with its peers'.",
    },
    Flag {
        name: "experimental-corrupt-check-time",
        default: "0s",
        help: "Duration of time between cluster corruption check passes (0s: never).",
    },
    Flag {
        name: "enable-v2",
        default: "false",
        help: "Accept etcd V2 client requests (accepted for etcd compatibility; Keel serves only the v3 API).",
    },
    Flag {
        name: "experimental-enable-v2v3",
        default: "",
        help: "v3 prefix for serving emulated v2 state (accepted for etcd compatibility; Keel serves only the v3 API).",
    },
    Flag {
        name: "force-new-cluster",
        default: "false",
        help: "Force to create a new one member cluster.",
    },
    Flag {
        name: "auto-compaction-retention",
        default: "0",
        help: "Auto compaction retention for mvcc key value store. 0 means disable auto compaction.",
    },
    Flag {
        name: "auto-compaction-mode",
        default: "periodic",
        help: "Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention.",
    },
    Flag {
        name: "listen-metrics-urls",
        default: "",
        help: "List of URLs to listen on for the metrics and health endpoints.",
    },
    Flag {
        name: "metrics",
        default: "basic",
        help: "Set level of detail for exported metrics, specify 'extensive' to include server side grpc histogram metrics.",
    },
    Flag {
        name: "auth-token",
        default: "simple",
        help: "Specify auth token specific options ('simple'; 'jwt,...' is accepted and served with simple tokens).",
    },
    Flag {
        name: "auth-token-ttl",
        default: "300",
        help: "The lifetime in seconds of the auth token.",
    },
    Flag {
        name: "bcrypt-cost",
        default: "10",
        help: "Specify bcrypt algorithm cost factor for auth password hashing.",
    },
    Flag {
        name: "max-concurrent-streams",
        default: "4096",
        help: "Maximum concurrent streams (gRPC calls) that each client connection can open at a time (etcd's default is unbounded).",
    },
    Flag {
        name: "logger",
        default: "capnslog",
        help: "Specify 'zap' for structured logging or 'capnslog' (Keel writes its own format either way).",
    },
    Flag {
        name: "log-outputs",
        default: "default",
        help: "Where to write the log: 'default' or 'stderr' (standard error), or 'stdout'.",
    },
    Flag {
        name: "debug",
        default: "false",
        help: "Enable debug-level logging (the same as --log-level=debug).",
    },
    Flag {
        name: "config-file",
        default: "",
        help: "Path to the server configuration file. Other flags and environment variables are ignored if provided.",
    },
];

/// The flags that are booleans: `--flag` alone means `--flag=true`, as
/// with etcd's (Go's) boolean flags; a value needs `=`.
pub const BOOLEAN_FLAGS: &[&str] = &[
    "client-cert-auth",
    "peer-client-cert-auth",
    "auto-tls",
    "peer-auto-tls",
    "experimental-peer-skip-client-san-verification",
    "strict-reconfig-check",
    "experimental-initial-corrupt-check",
    "enable-v2",
    "force-new-cluster",
    "debug",
];

/// The flags whose value is a list: a comma-separated one on the command
/// line, a YAML list (or such a string) in the config file.
pub const LIST_FLAGS: &[&str] = &["log-outputs", "cipher-suites"];

/// The environment variable of `flag` with `prefix` (`KEEL_` or `ETCD_`).
pub fn variable(prefix: &str, flag: &str) -> String {
    format!("{prefix}{}", flag.to_uppercase().replace('-', "_"))
}

fn command() -> Command {
    let mut command = Command::new("keel")
        // Go's flags take a repeated flag, the last value winning; etcd's
        // own e2e harness passes --client-cert-auth twice.
        .args_override_self(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .long("version")
                .action(ArgAction::SetTrue)
                .help("Print the version and exit."),
        )
        .about("keel: a replicated, strongly consistent key-value store (etcd-compatible flags)")
        .after_help(
            "Every flag can also be set as KEEL_<FLAG> (e.g. KEEL_INITIAL_CLUSTER) or, \
             for an existing etcd environment file, ETCD_<FLAG>.",
        );
    for flag in FLAGS {
        let help = if flag.default.is_empty() {
            flag.help.to_string()
        } else {
            format!("{} [default: {}]", flag.help, flag.default)
        };
        let mut arg = Arg::new(flag.name)
            .long(flag.name)
            .value_name("value")
            .help(help)
            .action(ArgAction::Set);
        if BOOLEAN_FLAGS.contains(&flag.name) {
            arg = arg
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true");
        }
        command = command.arg(arg);
    }
    command
}

/// The flags given on the command line.
pub fn parse_command_line(args: &[String]) -> Result<BTreeMap<String, String>, ConfigError> {
    let matches = command()
        .try_get_matches_from(args)
        .map_err(|e| match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                ConfigError::Info(e.to_string())
            }
            _ => ConfigError::Usage(e.to_string()),
        })?;
    if matches.get_flag("version") {
        return Err(ConfigError::Info(version_text()));
    }
    Ok(FLAGS
        .iter()
        .filter_map(|f| {
            matches
                .get_one::<String>(f.name)
                .map(|v| (f.name.to_string(), v.clone()))
        })
        .collect())
}

/// What `keel --version` prints: shaped like `etcd --version`, with Keel's
/// own version first and the etcd API version it serves.
pub fn version_text() -> String {
    use keel_engine::version::{ETCD_VERSION, KEEL_VERSION, etcd_api_version};
    format!(
        "keel Version: {KEEL_VERSION}\netcd API Version: {} (reported as etcd {ETCD_VERSION})\n\
         OS/Arch: {}/{}\n",
        etcd_api_version(),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `KEEL_*` variables the binary reads that are not flags (`KEEL_LOG`: the
/// log filter), so no warning calls them unknown.
const NOT_FLAGS: [&str; 1] = ["KEEL_LOG"];

/// Merges the command line with `KEEL_*` and `ETCD_*` variables: a setting
/// given twice is an error; unknown variables become warnings.
pub fn merge(
    cli: &BTreeMap<String, String>,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut settings = BTreeMap::new();
    for flag in FLAGS {
        let mut sources: Vec<(String, &String)> = Vec::new();
        if let Some(value) = cli.get(flag.name) {
            sources.push((format!("--{}", flag.name), value));
        }
        for prefix in ["KEEL_", "ETCD_"] {
            let name = variable(prefix, flag.name);
            if let Some(value) = env.get(&name) {
                sources.push((name, value));
            }
        }
        match sources.as_slice() {
            [] => {}
            [(_, value)] => {
                settings.insert(flag.name.to_string(), (*value).clone());
            }
            [first, second, ..] => {
                let variable = if first.0.starts_with("--") {
                    &second.0
                } else {
                    &first.0
                };
                let other = if first.0.starts_with("--") {
                    &first.0
                } else {
                    &second.0
                };
                return Err(ConfigError::Conflict {
                    variable: variable.clone(),
                    other: other.clone(),
                });
            }
        }
    }
    let known: Vec<String> = FLAGS
        .iter()
        .flat_map(|f| [variable("KEEL_", f.name), variable("ETCD_", f.name)])
        .collect();
    for (name, value) in env {
        let ours = NOT_FLAGS.contains(&name.as_str());
        if (name.starts_with("KEEL_") || name.starts_with("ETCD_"))
            && !known.contains(name)
            && !ours
        {
            warnings.push(format!("unrecognized environment variable {name}={value}"));
        }
    }
    Ok(settings)
}

/// Settings from an etcd-style YAML config file (`name: ...`, `data-dir:
/// ...`); unknown keys become warnings.
pub fn from_yaml(
    path: &str,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let file_error = |why: String| ConfigError::File {
        path: path.to_string(),
        why,
    };
    let value: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| file_error(e.to_string()))?;
    let mapping = match value {
        serde_norway::Value::Mapping(mapping) => mapping,
        serde_norway::Value::Null => return Ok(BTreeMap::new()),
        _ => return Err(file_error("expected a mapping of settings".into())),
    };
    let mut settings = BTreeMap::new();
    for (key, value) in mapping {
        let Some(key) = key.as_str().map(str::to_string) else {
            return Err(file_error("setting names must be strings".into()));
        };
        if let Some(prefix) = match key.as_str() {
            "client-transport-security" => Some(""),
            "peer-transport-security" => Some("peer-"),
            _ => None,
        } {
            // etcd's file nests the TLS settings: `client-transport-security:
            // {cert-file: ..., key-file: ..., client-cert-auth: true,
            // trusted-ca-file: ...}`, the same under `peer-transport-security`.
            let serde_norway::Value::Mapping(section) = value else {
                return Err(file_error(format!("{key}: expected a mapping")));
            };
            for (inner, value) in section {
                let Some(inner) = inner.as_str() else {
                    return Err(file_error(format!("{key}: setting names must be strings")));
                };
                let flag = format!("{prefix}{inner}");
                let known = [
                    "cert-file",
                    "key-file",
                    "client-cert-auth",
                    "trusted-ca-file",
                    "auto-tls",
                ];
                let Some(text) = scalar(&key, value).map_err(file_error)? else {
                    continue;
                };
                if known.contains(&inner) {
                    settings.insert(flag, text);
                } else {
                    warnings.push(format!(
                        "config file {path}: unrecognized setting {key}.{inner}"
                    ));
                }
            }
            continue;
        }
        if let Some(prefix) = match key.to_ascii_lowercase().as_str() {
            "clienttlsinfo" => Some(""),
            "peertlsinfo" => Some("peer-"),
            _ => None,
        } {
            // etcd 3.4 reads its `Config` struct from the file, so the
            // untagged `ClientTLSInfo`/`PeerTLSInfo` fields take Go's field
            // names, matched case-insensitively as encoding/json does: the
            // file's only way to give `AllowedCN` and `AllowedHostname`.
            let serde_norway::Value::Mapping(section) = value else {
                return Err(file_error(format!("{key}: expected a mapping")));
            };
            for (inner, value) in section {
                let Some(inner) = inner.as_str() else {
                    return Err(file_error(format!("{key}: setting names must be strings")));
                };
                let flag = match (prefix, inner.to_ascii_lowercase().as_str()) {
                    ("peer-", "allowedcn") => Some("peer-cert-allowed-cn"),
                    (_, "allowedhostname") => Some(if prefix.is_empty() {
                        "client-cert-allowed-hostname"
                    } else {
                        "peer-cert-allowed-hostname"
                    }),
                    _ => None,
                };
                let Some(text) = scalar(&key, value).map_err(file_error)? else {
                    continue;
                };
                match flag {
                    Some(flag) => {
                        settings.insert(flag.to_string(), text);
                    }
                    None => warnings.push(format!(
                        "config file {path}: unrecognized setting {key}.{inner}"
                    )),
                }
            }
            continue;
        }
        let text = match value {
            serde_norway::Value::String(s) => s,
            serde_norway::Value::Number(n) => n.to_string(),
            serde_norway::Value::Bool(b) => b.to_string(),
            serde_norway::Value::Null => continue,
            // etcd's file gives these as YAML lists (`log-outputs: [stderr]`).
            serde_norway::Value::Sequence(items) if LIST_FLAGS.contains(&key.as_str()) => {
                let mut texts = Vec::new();
                for item in items {
                    if let Some(text) = scalar(&key, item).map_err(file_error)? {
                        texts.push(text);
                    }
                }
                texts.join(",")
            }
            _ => return Err(file_error(format!("{key}: expected a single value"))),
        };
        if FLAGS.iter().any(|f| f.name == key) && key != "config-file" {
            settings.insert(key, text);
        } else {
            warnings.push(format!("config file {path}: unrecognized setting {key:?}"));
        }
    }
    Ok(settings)
}

/// A single YAML value as text (`None` for null).
fn scalar(key: &str, value: serde_norway::Value) -> Result<Option<String>, String> {
    Ok(Some(match value {
        serde_norway::Value::String(s) => s,
        serde_norway::Value::Number(n) => n.to_string(),
        serde_norway::Value::Bool(b) => b.to_string(),
        serde_norway::Value::Null => return Ok(None),
        _ => return Err(format!("{key}: expected a single value")),
    }))
}

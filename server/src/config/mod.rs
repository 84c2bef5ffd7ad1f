//! The `keel` daemon's configuration: etcd's flags, their environment
//! variables, and etcd's YAML config file.
//!
//! Every flag `--some-flag` may also come from `KEEL_SOME_FLAG` or, for
//! drop-in use of an existing etcd environment file, `ETCD_SOME_FLAG`. A
//! setting given in two places is an error naming both; an unknown
//! `KEEL_*` (or `ETCD_*`) variable is a warning. With `--config-file`, the
//! file's settings are used and other flags and variables are ignored, as
//! etcd does.
//!
//! [`parse_server_config`] is a pure function of its inputs so tests and
//! fuzzers call it without touching the process environment.

mod compat;
mod flags;

use crate::client_port::ClientPortOptions;
use crate::daemon::{ClusterState, DaemonOptions};
use crate::metrics::{MetricsLevel, MetricsOptions};
use crate::peer::PeerTransportOptions;
use crate::tls::cipher_suites::{GoCipherSuite, go_cipher_suite, implemented_tls12_names};
use crate::tls::identity::CertCheck;
use crate::tls::{CipherSuite, TlsFiles};
use crate::url::Url;
pub use compat::LogOutput;
pub use flags::{FLAGS, Flag};
use keel_engine::node::NodeConfig;
use keel_engine::storage::wal::WalOptions;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The command line does not parse (clap's message, or help/version).
    #[error("{0}")]
    Usage(String),
    /// `--help` or `--version` was asked for: print this and exit 0.
    #[error("{0}")]
    Info(String),
    /// The same setting was given twice.
    #[error(
        "conflicting environment variable {variable:?} is shadowed by corresponding \
         command-line flag or variable {other} (either unset environment variable or disable flag)"
    )]
    Conflict {
        /// The variable.
        variable: String,
        /// Where else it was set.
        other: String,
    },
    /// A value does not parse or is out of range.
    #[error("invalid value {value:?} for flag --{flag}: {why}")]
    Invalid {
        /// The flag.
        flag: String,
        /// The value given.
        value: String,
        /// What is wrong.
        why: String,
    },
    /// The settings contradict each other.
    #[error("{0}")]
    Inconsistent(String),
    /// The config file could not be read or parsed.
    #[error("config file {path}: {why}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        why: String,
    },
}

/// A validated daemon configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// What the daemon runs with.
    pub daemon: DaemonOptions,
    /// `--log-level` (`debug` with `--debug`).
    pub log_level: String,
    /// `--log-outputs`: where the log goes.
    pub log_output: LogOutput,
}

fn invalid(flag: &str, value: &str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag: flag.into(),
        value: value.into(),
        why: why.into(),
    }
}

/// Parses the daemon's configuration from the command line `args` (the
/// program name first), the environment `env`, and, with `--config-file`,
/// the file read through `read_file`. Returns the configuration and the
/// warnings to log.
pub fn parse_server_config(
    args: &[String],
    env: &BTreeMap<String, String>,
    read_file: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<(ServerConfig, Vec<String>), ConfigError> {
    let cli = flags::parse_command_line(args)?;
    let mut warnings = Vec::new();
    let mut settings = flags::merge(&cli, env, &mut warnings)?;
    if let Some(path) = settings.get("config-file").cloned() {
        let text = read_file(Path::new(&path)).map_err(|e| ConfigError::File {
            path: path.clone(),
            why: e.to_string(),
        })?;
        settings = flags::from_yaml(&path, &text, &mut warnings)?;
        warnings.push(format!(
            "using the config file {path}; other flags and environment variables are ignored"
        ));
    }
    let config = build(&settings, &mut warnings)?;
    Ok((config, warnings))
}

/// A setting, or its default.
fn get<'a>(settings: &'a BTreeMap<String, String>, flag: &str, default: &'a str) -> &'a str {
    settings.get(flag).map(String::as_str).unwrap_or(default)
}

/// `--bcrypt-cost`: etcd uses its default (10) for a cost bcrypt does not
/// take (outside 4..=31), with a warning.
fn bcrypt_cost(
    settings: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<u32, ConfigError> {
    let cost: u32 = number(settings, "bcrypt-cost", "10")?;
    if (4..=31).contains(&cost) {
        return Ok(cost);
    }
    warnings.push(format!(
        "--bcrypt-cost={cost}: outside 4..31; using the default, 10"
    ));
    Ok(keel_engine::auth::DEFAULT_BCRYPT_COST)
}

fn number<T: std::str::FromStr>(
    settings: &BTreeMap<String, String>,
    flag: &str,
    default: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let value = get(settings, flag, default);
    value
        .trim()
        .parse()
        .map_err(|e: T::Err| invalid(flag, value, e.to_string()))
}

fn urls(
    settings: &BTreeMap<String, String>,
    flag: &str,
    default: &str,
) -> Result<Vec<Url>, ConfigError> {
    let value = get(settings, flag, default);
    let parsed: Result<Vec<Url>, ConfigError> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|u| Url::parse(u).map_err(|e| invalid(flag, value, e.why)))
        .collect();
    let parsed = parsed?;
    if parsed.is_empty() {
        return Err(invalid(flag, value, "at least one URL is needed"));
    }
    Ok(parsed)
}

/// `name=url,name=url` (`--initial-cluster`) into pairs; a malformed entry
/// or URL is an error naming the flag.
pub fn initial_cluster(value: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, url) = entry.split_once('=').ok_or_else(|| {
            invalid(
                "initial-cluster",
                value,
                format!("{entry:?} is not name=url"),
            )
        })?;
        Url::parse(url).map_err(|e| invalid("initial-cluster", value, e.why))?;
        if name.is_empty() {
            return Err(invalid("initial-cluster", value, "a member needs a name"));
        }
        out.push((name.to_string(), url.to_string()));
    }
    if out.is_empty() {
        return Err(invalid("initial-cluster", value, "no members"));
    }
    Ok(out)
}

/// A boolean flag's value (`default` when not set), Go's
/// `strconv.ParseBool` words.
fn boolean(
    settings: &BTreeMap<String, String>,
    flag: &str,
    default: bool,
) -> Result<bool, ConfigError> {
    let Some(value) = settings.get(flag) else {
        return Ok(default);
    };
    match value.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(invalid(
            flag,
            other,
            "strconv.ParseBool: parsing: invalid syntax",
        )),
    }
}

/// `--cipher-suites`, as etcd reads it: a name Go does not know is refused
/// with etcd's message; then the names Go knows but Keel's TLS (rustls)
/// does not implement are refused, all named. `None` when not given;
/// otherwise the TLS 1.2 suites listed, in order (TLS 1.3 names are
/// accepted and change nothing: TLS 1.3 keeps all its suites, as in Go).
fn cipher_suites(
    settings: &BTreeMap<String, String>,
) -> Result<Option<Vec<CipherSuite>>, ConfigError> {
    let Some(list) = settings
        .get("cipher-suites")
        .filter(|l| !l.trim().is_empty())
    else {
        return Ok(None);
    };
    let mut tls12 = Vec::new();
    let mut not_implemented = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match go_cipher_suite(name) {
            GoCipherSuite::Tls12(suite) => tls12.push(suite),
            GoCipherSuite::Tls13 => {}
            GoCipherSuite::NotImplemented => not_implemented.push(name),
            GoCipherSuite::Unknown => {
                return Err(ConfigError::Inconsistent(format!(
                    "unexpected TLS cipher suite {name:?}"
                )));
            }
        }
    }
    if !not_implemented.is_empty() {
        return Err(invalid(
            "cipher-suites",
            list,
            format!(
                "Keel's TLS does not implement {} (it implements, for TLS 1.2: {})",
                not_implemented.join(", "),
                implemented_tls12_names().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(Some(tls12))
}

/// One side's allowed CN or hostname (`--peer-cert-allowed-cn`,
/// `--peer-cert-allowed-hostname`, `--client-cert-allowed-hostname`). etcd
/// refuses both at once when it builds that side's TLS configuration
/// (`AllowedCN and AllowedHostname are mutually exclusive`), which it does
/// when the side has a certificate; without one the settings are unused.
fn cert_check(
    settings: &BTreeMap<String, String>,
    prefix: &str,
    has_cert: bool,
) -> Result<Option<CertCheck>, ConfigError> {
    let value = |name: &str| {
        settings
            .get(&format!("{prefix}{name}"))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    // There is no --client-cert-allowed-cn (etcd 3.4 has none).
    let cn = if prefix.is_empty() {
        None
    } else {
        value("cert-allowed-cn")
    };
    let hostname_flag = if prefix.is_empty() {
        "client-cert-allowed-hostname"
    } else {
        "peer-cert-allowed-hostname"
    };
    let hostname = settings
        .get(hostname_flag)
        .filter(|v| !v.is_empty())
        .cloned();
    match (cn, hostname) {
        (Some(cn), Some(hostname)) if has_cert => Err(ConfigError::Inconsistent(format!(
            "--{prefix}cert-allowed-cn and --{hostname_flag} are mutually exclusive \
             (cn={cn:?}, hostname={hostname:?})"
        ))),
        (Some(cn), _) => Ok(Some(CertCheck::CommonName(cn))),
        (None, Some(hostname)) => Ok(Some(CertCheck::Hostname(hostname))),
        (None, None) => Ok(None),
    }
}

/// One side's TLS flags (`prefix` is `""` or `"peer-"`); a certificate
/// without its key (or the reverse) and client-cert-auth without a CA are
/// refused here, the files themselves are read when the member starts.
fn tls_files(
    settings: &BTreeMap<String, String>,
    prefix: &str,
    warnings: &mut Vec<String>,
) -> Result<TlsFiles, ConfigError> {
    let path = |name: &str| {
        settings
            .get(&format!("{prefix}{name}"))
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
    };
    let files = TlsFiles {
        cert_file: path("cert-file"),
        key_file: path("key-file"),
        trusted_ca_file: path("trusted-ca-file"),
        client_cert_auth: boolean(settings, &format!("{prefix}client-cert-auth"), false)?,
        crl_file: if prefix.is_empty() {
            path("client-crl-file")
        } else {
            None
        },
        cert_check: None,
        cipher_suites: cipher_suites(settings)?,
    };
    let files = TlsFiles {
        cert_check: cert_check(settings, prefix, files.has_cert())?,
        ..files
    };
    if prefix.is_empty() && files.cert_check.is_some() && !files.client_cert_auth {
        warnings.push(
            "--client-cert-allowed-hostname has no effect without --client-cert-auth (clients \
             are not asked for certificates to check)"
                .into(),
        );
    }
    if files.cert_file.is_some() != files.key_file.is_some() {
        return Err(ConfigError::Inconsistent(format!(
            "--{prefix}cert-file and --{prefix}key-file must be given together"
        )));
    }
    if files.client_cert_auth && files.trusted_ca_file.is_none() {
        return Err(ConfigError::Inconsistent(format!(
            "--{prefix}client-cert-auth needs --{prefix}trusted-ca-file (the CA that signs \
             the certificates to accept)"
        )));
    }
    if files.crl_file.is_some() && !files.client_cert_auth {
        warnings.push(
            "--client-crl-file has no effect without --client-cert-auth (clients are not \
             asked for certificates to check against it)"
                .into(),
        );
    }
    Ok(files)
}

/// Whether one side's generated certificate is used (`--auto-tls` for
/// clients, `--peer-auto-tls` for peers): only when that side has no
/// certificate and key of its own, as etcd ignores the flag otherwise.
fn auto_tls(
    settings: &BTreeMap<String, String>,
    side: &str,
    files: &TlsFiles,
    warnings: &mut Vec<String>,
) -> Result<bool, ConfigError> {
    let flag = if side == "client" {
        "auto-tls"
    } else {
        "peer-auto-tls"
    };
    let asked = boolean(settings, flag, false)?;
    if asked && (files.cert_file.is_some() || files.key_file.is_some()) {
        warnings.push(format!("ignoring {side} auto TLS since certs given"));
        return Ok(false);
    }
    Ok(asked)
}

/// etcd's rules for https:// URLs: an https listener (or advertised URL)
/// needs its side's certificate and key, or the generated one (`auto`); an
/// http one ignores them, with a warning, as etcd does.
fn check_tls_urls(
    side: &str,
    prefix: &str,
    files: &TlsFiles,
    auto: bool,
    urls: &[&Url],
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for url in urls {
        if url.tls && !files.has_cert() && !auto {
            return Err(ConfigError::Inconsistent(format!(
                "TLS key/cert (--{prefix}cert-file, --{prefix}key-file) must be provided for \
                 {side} url {url} with HTTPS scheme"
            )));
        }
        if !url.tls && files.has_cert() {
            warnings.push(format!(
                "scheme is HTTP while key and cert files are present; ignoring key and cert \
                 files for {side} url {url}"
            ));
        }
        if !url.tls && files.client_cert_auth {
            warnings.push(format!(
                "scheme is HTTP while --{prefix}client-cert-auth is enabled; ignoring client \
                 cert auth for {side} url {url}"
            ));
        }
    }
    Ok(())
}

/// `--listen-metrics-urls` (none by default) and `--metrics`
/// (`basic` or `extensive`, etcd's words when it is neither).
fn metrics_options(settings: &BTreeMap<String, String>) -> Result<MetricsOptions, ConfigError> {
    let listen_urls = match settings
        .get("listen-metrics-urls")
        .filter(|u| !u.trim().is_empty())
    {
        Some(_) => urls(settings, "listen-metrics-urls", "")?,
        None => Vec::new(),
    };
    let level_text = get(settings, "metrics", "basic");
    let level = MetricsLevel::parse(level_text).ok_or_else(|| {
        ConfigError::Inconsistent(format!(
            "unknown metrics option {level_text:?} (only supports \"basic\", \"extensive\")"
        ))
    })?;
    Ok(MetricsOptions { listen_urls, level })
}

fn build(
    settings: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<ServerConfig, ConfigError> {
    let name = get(settings, "name", "default").to_string();
    let data_dir = PathBuf::from(match settings.get("data-dir") {
        Some(dir) => dir.clone(),
        None => format!("{name}.keel"),
    });
    let listen_client_urls = urls(settings, "listen-client-urls", "http://localhost:2379")?;
    let advertise_client_urls = urls(settings, "advertise-client-urls", "http://localhost:2379")?;
    let listen_peer_urls = urls(settings, "listen-peer-urls", "http://localhost:2380")?;
    let advertise_peer_urls = urls(
        settings,
        "initial-advertise-peer-urls",
        "http://localhost:2380",
    )?;
    let advertise_peer: Vec<String> = advertise_peer_urls.iter().map(|u| u.to_string()).collect();
    let default_cluster: String = advertise_peer
        .iter()
        .map(|u| format!("{name}={u}"))
        .collect::<Vec<_>>()
        .join(",");
    let cluster = initial_cluster(get(settings, "initial-cluster", &default_cluster))?;
    let client_tls = tls_files(settings, "", warnings)?;
    let peer_tls = tls_files(settings, "peer-", warnings)?;
    let client_auto_tls = auto_tls(settings, "client", &client_tls, warnings)?;
    let peer_auto_tls = auto_tls(settings, "peer", &peer_tls, warnings)?;
    let client_urls: Vec<&Url> = listen_client_urls.iter().collect();
    check_tls_urls(
        "client",
        "",
        &client_tls,
        client_auto_tls,
        &client_urls,
        warnings,
    )?;
    let peer_urls: Vec<&Url> = listen_peer_urls.iter().collect();
    check_tls_urls(
        "peer",
        "peer-",
        &peer_tls,
        peer_auto_tls,
        &peer_urls,
        warnings,
    )?;
    if let Some(url) = advertise_client_urls.iter().find(|u| u.tls) {
        if !listen_client_urls.iter().any(|u| u.tls) {
            return Err(ConfigError::Inconsistent(format!(
                "--advertise-client-urls has {url}, but no --listen-client-urls is https://"
            )));
        }
    }
    if let Some(url) = advertise_peer_urls.iter().find(|u| u.tls) {
        if !listen_peer_urls.iter().any(|u| u.tls) {
            return Err(ConfigError::Inconsistent(format!(
                "--initial-advertise-peer-urls has {url}, but no --listen-peer-urls is https://"
            )));
        }
    }
    // Peers with https:// URLs are dialed with TLS, which needs the CA that
    // signs their certificates (this build has no system roots), unless
    // peers use generated certificates, which are not verified (etcd's
    // --peer-auto-tls).
    if let Some((name, url)) = cluster.iter().find(|(_, u)| u.starts_with("https://")) {
        if peer_tls.trusted_ca_file.is_none() && !peer_auto_tls {
            return Err(ConfigError::Inconsistent(format!(
                "--initial-cluster has {name}={url}: dialing https:// peers needs \
                 --peer-trusted-ca-file"
            )));
        }
    }
    let state = match get(settings, "initial-cluster-state", "new") {
        "new" => ClusterState::New,
        "existing" => ClusterState::Existing,
        other => {
            return Err(invalid(
                "initial-cluster-state",
                other,
                "valid values are \"new\", \"existing\"",
            ));
        }
    };
    let token = get(settings, "initial-cluster-token", "keel-cluster").to_string();
    let snapshot_count: u64 = number(settings, "snapshot-count", "100000")?;
    let heartbeat_ms: u64 = number(settings, "heartbeat-interval", "100")?;
    let election_ms: u64 = number(settings, "election-timeout", "1000")?;
    if heartbeat_ms == 0 {
        return Err(invalid("heartbeat-interval", "0", "must be positive"));
    }
    if election_ms < 5 * heartbeat_ms {
        return Err(ConfigError::Inconsistent(format!(
            "--election-timeout[{election_ms}ms] should be at least as 5 times as --heartbeat-interval[{heartbeat_ms}ms]"
        )));
    }
    if election_ms > 50_000 {
        return Err(invalid(
            "election-timeout",
            &election_ms.to_string(),
            "is too long (over 50s)",
        ));
    }
    let quota: u64 = number(settings, "quota-backend-bytes", "0")?;
    let max_request_bytes: usize = number(settings, "max-request-bytes", "1572864")?;
    let max_txn_ops: usize = number(settings, "max-txn-ops", "128")?;
    if max_txn_ops == 0 {
        return Err(invalid("max-txn-ops", "0", "must be positive"));
    }
    let (log_level, log_output) = compat::logging(settings, warnings)?;
    compat::flags_without_effect(settings, warnings)?;
    let initial_corrupt_check = boolean(settings, "experimental-initial-corrupt-check", false)?;
    let corrupt_check_time = get(settings, "experimental-corrupt-check-time", "0s");
    let corrupt_check_interval = crate::ctl::go_parse::parse_duration(corrupt_check_time.trim())
        .map_err(|e| invalid("experimental-corrupt-check-time", corrupt_check_time, e))?;
    let corrupt_check_interval =
        (!corrupt_check_interval.is_zero()).then_some(corrupt_check_interval);
    let metrics = metrics_options(settings)?;
    let metrics_urls: Vec<&Url> = metrics.listen_urls.iter().collect();
    check_tls_urls(
        "metrics",
        "",
        &client_tls,
        client_auto_tls,
        &metrics_urls,
        warnings,
    )?;
    let mut client_port = ClientPortOptions::for_max_request_bytes(max_request_bytes);
    if settings.contains_key("max-concurrent-streams") {
        // etcd's default is unbounded; Keel keeps its own bound unless told.
        client_port.grpc.max_concurrent_streams =
            number(settings, "max-concurrent-streams", "4096")?;
    }
    let advertised_in_cluster = cluster
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, u)| u.clone())
        .collect::<Vec<_>>();
    if state == ClusterState::New && advertised_in_cluster.is_empty() {
        return Err(ConfigError::Inconsistent(format!(
            "couldn't find local name {name:?} in the initial cluster configuration"
        )));
    }
    let mut node = NodeConfig::new(0);
    node.tick_interval = Duration::from_millis(heartbeat_ms);
    node.election_ticks = (election_ms / heartbeat_ms) as usize;
    node.snapshot_count = snapshot_count.max(1);
    node.max_request_bytes = max_request_bytes;
    node.max_txn_ops = max_txn_ops;
    compat::auth_tokens(settings, warnings)?;
    node.auth_token_ttl = Duration::from_secs(number(settings, "auth-token-ttl", "300")?);
    node.bcrypt_cost = bcrypt_cost(settings, warnings)?;
    node.quota_backend_bytes = if quota == 0 { 2 << 30 } else { quota };
    node.strict_reconfig_check = boolean(settings, "strict-reconfig-check", true)?;
    node.force_new_cluster = boolean(settings, "force-new-cluster", false)?;
    let daemon = DaemonOptions {
        name,
        data_dir,
        wal_dir: settings
            .get("wal-dir")
            .filter(|dir| !dir.trim().is_empty())
            .map(PathBuf::from),
        listen_client_urls,
        advertise_client_urls: advertise_client_urls
            .iter()
            .map(|u| u.to_string())
            .collect(),
        listen_peer_urls,
        initial_advertise_peer_urls: advertise_peer,
        initial_cluster: cluster,
        initial_cluster_state: state,
        initial_cluster_token: token,
        node,
        wal: WalOptions::default(),
        client_port,
        peer_transport: PeerTransportOptions::default(),
        join_timeout: Duration::from_secs(60),
        client_tls,
        peer_tls,
        client_auto_tls,
        peer_auto_tls,
        initial_corrupt_check,
        corrupt_check_interval,
        auto_compaction: compat::auto_compaction(settings)?,
        metrics,
    };
    Ok(ServerConfig {
        daemon,
        log_level,
        log_output,
    })
}

#[cfg(test)]
mod tests;

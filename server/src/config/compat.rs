//! etcd flags that Keel takes so that etcd's command lines, environment
//! files and test harness start it, but that ask for something Keel does
//! differently or not at all. Each is checked as etcd checks it; one that
//! would change nothing logs a warning saying so, and one whose request
//! Keel cannot honour safely is refused.

use super::{ConfigError, boolean, get, invalid};
use keel_engine::compactor::{AutoCompaction, AutoCompactionError};
use std::collections::BTreeMap;

/// Where the daemon writes its log (`--log-outputs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOutput {
    /// Standard error (`default`, `stderr`).
    Stderr,
    /// Standard output (`stdout`).
    Stdout,
}

/// The log level (`--log-level`, raised to `debug` by `--debug`) and
/// output (`--log-outputs`); `--logger` is checked and otherwise ignored:
/// Keel writes its own format with either.
pub fn logging(
    settings: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(String, LogOutput), ConfigError> {
    let mut level = get(settings, "log-level", "info").to_string();
    if !["debug", "info", "warn", "error", "panic", "fatal"].contains(&level.as_str()) {
        return Err(invalid(
            "log-level",
            &level,
            "valid values are debug, info, warn, error, panic, fatal",
        ));
    }
    if boolean(settings, "debug", false)? {
        level = "debug".into();
    }
    match get(settings, "logger", "capnslog") {
        "capnslog" | "zap" => {}
        other => {
            return Err(ConfigError::Inconsistent(format!(
                "unknown logger option {other:?}"
            )));
        }
    }
    let outputs: Vec<&str> = get(settings, "log-outputs", "default")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let output = match outputs.as_slice() {
        [] | ["default"] | ["stderr"] => LogOutput::Stderr,
        ["stdout"] => LogOutput::Stdout,
        [one] => {
            return Err(ConfigError::Inconsistent(format!(
                "unknown log-output {one:?} (only supports \"default\", \"stderr\", \"stdout\")"
            )));
        }
        _ => {
            return Err(ConfigError::Inconsistent(format!(
                "--log-outputs supports only 1 value, got {outputs:?}"
            )));
        }
    };
    if settings.contains_key("logger") {
        warnings.push(format!(
            "--logger={}: Keel writes its own log format",
            get(settings, "logger", "")
        ));
    }
    Ok((level, output))
}

/// The flags that change nothing in Keel, checked and warned about; the
/// ones asking for what Keel cannot do are refused.
pub fn flags_without_effect(
    settings: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    if boolean(settings, "enable-v2", false)? {
        warnings.push(
            "--enable-v2: the v2 API is not served (Keel serves etcd's v3 API only); v2 \
             requests will fail"
                .into(),
        );
    }
    if let Some(prefix) = settings
        .get("experimental-enable-v2v3")
        .filter(|p| !p.is_empty())
    {
        warnings.push(format!(
            "--experimental-enable-v2v3={prefix}: the v2 API is not served, emulated or not \
             (Keel serves etcd's v3 API only)"
        ));
    }
    // Keel never checks a peer's client certificate SANs against its
    // address, which is what the flag turns off in etcd: either value
    // describes what Keel does.
    boolean(
        settings,
        "experimental-peer-skip-client-san-verification",
        false,
    )?;
    Ok(())
}

/// `--auto-compaction-mode` and `--auto-compaction-retention`, read as
/// etcd 3.4 reads them (`None`: retention 0, no automatic compaction).
pub fn auto_compaction(
    settings: &BTreeMap<String, String>,
) -> Result<Option<AutoCompaction>, ConfigError> {
    let mode = get(settings, "auto-compaction-mode", "periodic");
    let retention = get(settings, "auto-compaction-retention", "0");
    AutoCompaction::from_settings(mode, retention, |text| {
        crate::ctl::go_parse::parse_duration(text).map_err(|e| e.to_string())
    })
    .map_err(|e| match e {
        AutoCompactionError::UnknownMode(_) => ConfigError::Inconsistent(e.to_string()),
        AutoCompactionError::BadRetention(_) => {
            invalid("auto-compaction-retention", retention, e.to_string())
        }
    })
}

/// `--auth-token`: `simple` (etcd's default), or `jwt,...`, which Keel
/// accepts but serves with simple tokens (a warning says so; clients treat
/// tokens as opaque). Anything else is refused, as etcd refuses it.
pub(super) fn auth_tokens(
    settings: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let token = settings
        .get("auth-token")
        .map(String::as_str)
        .unwrap_or("simple");
    let kind = token.split(',').next().unwrap_or_default();
    match kind {
        "simple" => Ok(()),
        "jwt" => {
            warnings.push(format!(
                "--auth-token={token}: JWT tokens are not implemented; simple tokens are issued instead"
            ));
            Ok(())
        }
        _ => Err(invalid(
            "auth-token",
            token,
            "auth: invalid auth options (simple or jwt)",
        )),
    }
}

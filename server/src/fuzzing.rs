//! Entry points shared by the fuzz targets (`fuzz/`) and the corpus replay
//! tests for what the server parses: the daemon's configuration and
//! keelctl's txn input. Each takes arbitrary bytes and must return without
//! panicking.

use std::collections::BTreeMap;
use std::path::Path;

/// Splits `data` at NUL bytes into three parts — command-line arguments
/// (one per line), environment (`KEY=VALUE` lines) and the config file's
/// text — and parses them as `keel` would. The config file is read only if
/// `--config-file` (or its variable) names one.
pub fn config(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let args_text = parts.next().unwrap_or("");
    let env_text = parts.next().unwrap_or("");
    let file_text = parts.next().unwrap_or("").to_string();
    let mut args = vec!["keel".to_string()];
    args.extend(
        args_text
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string),
    );
    let env: BTreeMap<String, String> = env_text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let read = move |_: &Path| -> std::io::Result<String> { Ok(file_text.clone()) };
    crate::config::parse_server_config(&args, &env, &read)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parses `data` as keelctl's txn input (compares, success and failure
/// operations).
pub fn txn_input(data: &[u8]) -> Result<usize, String> {
    crate::ctl::txn_input::parse_txn(data)
        .map(|txn| txn.compare.len() + txn.success.len() + txn.failure.len())
        .map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_flags_environment_and_file() {
        assert!(config(b"--name\nm1\0KEEL_SNAPSHOT_COUNT=10\0").is_ok());
        assert!(config(b"--config-file\n/etc/keel.yaml\0\0name: 'infra1'\n").is_ok());
        assert!(config(b"--no-such-flag\0\0").is_err());
        assert!(
            config(b"--name\nm1\0KEEL_NAME=m2\0").is_err(),
            "flag and variable both set"
        );
        assert!(config(b"--config-file\nx\0\0: : [ not yaml").is_err());
    }

    #[test]
    fn txn_input_counts_what_it_parsed() {
        assert_eq!(
            txn_input(b"mod(\"k\") > \"0\"\n\nput k v\n\nget k\ndel k\n\n"),
            Ok(4)
        );
        assert_eq!(
            txn_input(b"bogus\n\n\n\n"),
            Err("malformed comparison: bogus".into())
        );
    }
}

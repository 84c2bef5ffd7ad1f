//! The captured etcdctl 3.4.23 fixtures (`tests/fixtures/etcdctl/`, written
//! by the capture scripts there): what etcdctl printed and its exit status
//! for each case, and the normalisation the replays share.

use std::path::PathBuf;

/// The fixtures directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/etcdctl")
}

/// `NAME.SUFFIX` (`out` or `err`), empty if etcdctl printed nothing there.
pub fn fixture_text(name: &str, suffix: &str) -> String {
    std::fs::read_to_string(fixtures().join(format!("{name}.{suffix}"))).unwrap_or_default()
}

/// The exit status etcdctl had for `name`, from the capture's index file
/// (lines `NAME exit=N: etcdctl ARGS`).
pub fn expected_exit_in(index_file: &str, name: &str) -> i32 {
    let index = std::fs::read_to_string(fixtures().join(index_file)).unwrap();
    let prefix = format!("{name} exit=");
    let line = index
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{name} is not in {index_file}"));
    line[prefix.len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Replaces the number after each `marker` with `N`.
pub fn blank_number(text: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let after = at + marker.len();
        out.push_str(&rest[..after]);
        out.push('N');
        rest = rest[after..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// The command a capture's index file recorded for `name`: `etcdctl ARGS`,
/// the arguments joined by single spaces (environment changes, if the
/// script made any, come first).
pub fn captured_command_in(index_file: &str, name: &str) -> String {
    let index = std::fs::read_to_string(fixtures().join(index_file)).unwrap();
    let prefix = format!("{name} exit=");
    let line = index
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{name} is not in {index_file}"));
    match line.split_once(": ") {
        Some((_, command)) => command.to_string(),
        None => panic!("no command in {index_file}'s line {line:?}"),
    }
}

/// The case names of a capture's index file, in the order they ran.
pub fn captured_names_in(index_file: &str) -> Vec<String> {
    std::fs::read_to_string(fixtures().join(index_file))
        .unwrap()
        .lines()
        .filter_map(|line| line.split(" exit=").next())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// Standard error as the capture scripts kept it: without zap's
/// `{"level":"warn",...}` log lines (clientv3's retry warnings, whose
/// timestamps and attempt counts vary).
pub fn without_zap_warnings(stderr: &str) -> String {
    stderr
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("{\"level\":\"warn\""))
        .collect()
}

/// Health check durations vary run to run; each becomes `T`: `took = 1.2ms`
/// in simple output, `"took":"1.2ms"` in JSON. (Tables: see the replay's
/// column rules.)
pub fn blank_took(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.find("took = ") {
            Some(at) => {
                out.push_str(&line[..at]);
                out.push_str("took = T");
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    let marker = "\"took\":\"";
    let mut blanked = String::new();
    let mut rest = out.as_str();
    while let Some(at) = rest.find(marker) {
        let after = at + marker.len();
        blanked.push_str(&rest[..after]);
        blanked.push('T');
        rest = &rest[after..];
        rest = &rest[rest.find('"').unwrap_or(rest.len())..];
    }
    blanked.push_str(rest);
    blanked
}

/// Lock and election keys end in the session's lease id (`NAME/ID`, the id
/// in hex): the id becomes `ID` after each of `prefixes` (`"L1/"`, ...).
pub fn blank_lease_keys(text: &str, prefixes: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = prefixes
        .iter()
        .filter_map(|prefix| rest.find(prefix).map(|at| at + prefix.len()))
        .min()
    {
        out.push_str(&rest[..at]);
        out.push_str("ID");
        rest = rest[at..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

/// How many rounds a keep-alive printed before its lease went away varies:
/// repeated consecutive lines collapse into one.
pub fn collapse_repeated_lines(text: &str) -> String {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines.dedup();
    lines.concat()
}

/// The number right after the first `marker` in `text`, if any.
pub fn number_after(text: &str, marker: &str) -> Option<i64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// The `etcdctl` on `PATH`, if there is one.
pub fn etcdctl_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("etcdctl"))
        .find(|candidate| candidate.is_file())
}

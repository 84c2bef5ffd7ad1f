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

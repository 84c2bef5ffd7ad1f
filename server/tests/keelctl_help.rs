//! `keelctl help [command]`, `--help` and `completion`, against etcdctl
//! 3.4's help as `fixtures/etcdctl/capture-help.sh` captured it (no server
//! needed).
//!
//! What differs by design, and is left out of the byte-for-byte checks:
//! keelctl's name, about line and version at the top level (etcdctl's are
//! its own); the commands keelctl lacks (`auth`, `user`, `role`,
//! `migrate`, `check datascale`) and the global flags it lacks (`--debug`,
//! `--discovery-srv*`, `--insecure-discovery`, `--keepalive-*`,
//! `--user`, `--password`), which also narrow the GLOBAL OPTIONS column;
//! `--endpoints` and `--write-out`, whose help says what keelctl accepts;
//! `get --count-only` and `watch --progress-notify`, which keelctl adds;
//! `snapshot restore`'s
//! `--data-dir` and `--initial-cluster-token`, whose defaults are Keel's;
//! and `completion bash`, whose script (clap_complete's, not cobra's) needs
//! no `bash-completion` package, and whose usage line keeps `[flags]`.

mod common;

use common::etcdctl::{captured_command_in, captured_names_in, expected_exit_in, fixture_text};
use keel_server::ctl::output::Output;
use keel_server::ctl::{Invocation, run};
use std::collections::BTreeMap;
use std::ffi::OsString;

const INDEX: &str = "index-help.txt";

/// Commands whose help, down to the end of OPTIONS, is etcdctl's with
/// `etcdctl` read as `keelctl` (in the sections above OPTIONS only: flag
/// defaults are compared as they are).
const SAME_AS_ETCDCTL: [&str; 40] = [
    "help_put",
    "help_del",
    "help_txn",
    "help_compaction",
    "help_member",
    "help_member_list",
    "help_member_add",
    "help_member_remove",
    "help_member_update",
    "help_member_promote",
    "help_endpoint",
    "help_endpoint_status",
    "help_endpoint_health",
    "help_endpoint_hashkv",
    "help_move_leader",
    "help_defrag",
    "help_alarm",
    "help_alarm_list",
    "help_alarm_disarm",
    "help_lease",
    "help_lease_grant",
    "help_lease_revoke",
    "help_lease_timetolive",
    "help_lease_list",
    "help_lease_keep_alive",
    "help_lock",
    "help_elect",
    "help_snapshot",
    "help_snapshot_save",
    "help_snapshot_status",
    "help_make_mirror",
    "help_version",
    "help_check_perf",
    "help_help",
    "help_completion",
    "help_completion_zsh",
    "help_completion_fish",
    "help_completion_powershell",
    "help_put_flag",
    "help_member_list_flag",
];

/// Flags whose help line differs from etcdctl's by design (see the module
/// comment).
const DIFFERENT_FLAGS: [&str; 4] = [
    "--endpoints",
    "--write-out",
    "--data-dir=\"\"\tPath to the data directory",
    "--initial-cluster-token",
];

fn keelctl(args: &[&str]) -> Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut stdin: &[u8] = &[];
    let mut prompts = Vec::new();
    let mut output = runtime.block_on(run(Invocation {
        args: args.iter().map(OsString::from).collect(),
        env: BTreeMap::new(),
        stdin: &mut stdin,
        prompts: &mut prompts,
        stderr: None,
        stdin_lines: None,
        interrupt: None,
    }));
    prompts.extend_from_slice(&output.stdout);
    output.stdout = prompts;
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The captured case's arguments (after `etcdctl`).
fn captured_args(name: &str) -> Vec<String> {
    let command = captured_command_in(INDEX, name);
    command
        .strip_prefix("etcdctl")
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The lines of section `title` (`OPTIONS:`), without the title.
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|line| *line != title)
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect()
}

/// A flag line with its tab run read as one tab (the column width depends
/// on the other flags).
fn collapsed(line: &str) -> String {
    let mut out = String::new();
    for part in line.split('\t').filter(|part| !part.is_empty()) {
        if !out.is_empty() {
            out.push('\t');
        }
        out.push_str(part);
    }
    out
}

fn flag_name(line: &str) -> &str {
    let after = &line[line.find("--").unwrap_or(0)..];
    after
        .split(['=', '[', '\t'])
        .next()
        .unwrap_or(after)
        .trim_end()
}

fn is_different_by_design(line: &str) -> bool {
    let collapsed = collapsed(line);
    DIFFERENT_FLAGS
        .iter()
        .any(|flag| collapsed.contains(flag) && (flag.contains('\t') || flag_name(line) == *flag))
}

#[test]
fn help_matches_etcdctls_where_keelctl_does_the_same() {
    for name in captured_names_in(INDEX) {
        if !name.starts_with("help_") {
            continue;
        }
        let args = captured_args(&name);
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = keelctl(&words);
        assert_eq!(output.exit_code, expected_exit_in(INDEX, &name), "{name}");
        let ours = text(&output.stdout);
        let theirs = fixture_text(&name, "out");
        assert!(!ours.is_empty(), "{name}: no help");
        if SAME_AS_ETCDCTL.contains(&name.as_str()) {
            let head = |help: &str| -> String {
                let end = help.find("\nGLOBAL OPTIONS:\n").unwrap_or(help.len());
                let options = help[..end].find("\nOPTIONS:\n").unwrap_or(end);
                format!(
                    "{}{}",
                    help[..options].replace("etcdctl", "keelctl"),
                    &help[options..end]
                )
            };
            assert_eq!(head(&ours), head(&theirs), "{name}");
        }
        // Every flag both have: the same line, but for the tab run.
        for title in ["OPTIONS:", "GLOBAL OPTIONS:"] {
            let theirs_lines = section(&theirs, title);
            for line in section(&ours, title) {
                if is_different_by_design(line) {
                    continue;
                }
                let flag = flag_name(line);
                if let Some(etcdctl_line) = theirs_lines.iter().find(|l| flag_name(l) == flag) {
                    assert_eq!(
                        collapsed(line).replace("keelctl", "etcdctl"),
                        collapsed(etcdctl_line),
                        "{name} {title}"
                    );
                }
            }
        }
    }
}

#[test]
fn help_flag_prints_what_help_prints() {
    let root = keelctl(&["help"]);
    let listed = text(&root.stdout);
    let commands: Vec<&str> = listed
        .lines()
        .skip_while(|line| *line != "COMMANDS:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| line.trim_start_matches('\t').split('\t').next().unwrap())
        .collect();
    assert!(commands.contains(&"member list") && commands.contains(&"completion bash"));
    assert_eq!(keelctl(&["--help"]).stdout, root.stdout);
    assert_eq!(keelctl(&[]).stdout, root.stdout);
    for command in commands {
        let words: Vec<&str> = command.split(' ').collect();
        let mut help = vec!["help"];
        help.extend(&words);
        let mut flag = words.clone();
        flag.push("--help");
        let mut short = words.clone();
        short.push("-h");
        let expected = keelctl(&help);
        assert_eq!(expected.exit_code, 0, "{command}");
        assert!(
            text(&expected.stdout).starts_with(&format!("NAME:\n\t{command} - ")),
            "{command}"
        );
        assert_eq!(keelctl(&flag).stdout, expected.stdout, "{command} --help");
        assert_eq!(keelctl(&short).stdout, expected.stdout, "{command} -h");
    }
    // A command with subcommands and none given prints its help too.
    assert_eq!(
        keelctl(&["member"]).stdout,
        keelctl(&["help", "member"]).stdout
    );
}

#[test]
fn help_resolves_unique_prefixes() {
    let full = keelctl(&["help", "member", "list"]);
    assert_eq!(keelctl(&["help", "mem", "li"]).stdout, full.stdout);
    assert_eq!(keelctl(&["mem", "li", "--help"]).stdout, full.stdout);
    // Words after the command, and unknown subcommands, are ignored.
    assert_eq!(
        keelctl(&["help", "get", "extra"]).stdout,
        keelctl(&["help", "get"]).stdout
    );
    assert_eq!(
        keelctl(&["help", "member", "nosuch"]).stdout,
        keelctl(&["help", "member"]).stdout
    );
    // Global flags may come first.
    assert_eq!(
        keelctl(&["-w", "json", "help", "put"]).stdout,
        keelctl(&["help", "put"]).stdout
    );
}

#[test]
fn unknown_help_topic_is_cobras() {
    let output = keelctl(&["help", "nosuch"]);
    assert_eq!(output.exit_code, expected_exit_in(INDEX, "help_nosuch"));
    assert_eq!(text(&output.stderr), fixture_text("help_nosuch", "err"));
    // As in etcdctl, the top-level help without its own -h line.
    let root = text(&keelctl(&["help"]).stdout);
    let without_help_flag: String = root
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("  -h, --help"))
        .collect();
    assert_eq!(text(&output.stdout), without_help_flag);
    let etcdctl_root: String = fixture_text("help_root", "out")
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("  -h, --help"))
        .collect();
    assert_eq!(fixture_text("help_nosuch", "out"), etcdctl_root);
    // An ambiguous prefix is unknown too.
    let output = keelctl(&["help", "comp"]);
    assert_eq!(text(&output.stderr), "Unknown help topic [`comp`]\n");
}

#[test]
fn completion_without_a_known_shell_prints_its_help() {
    let help = keelctl(&["help", "completion"]);
    for name in ["completion_no_shell", "completion_nosuch"] {
        let args = captured_args(name);
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = keelctl(&words);
        assert_eq!(output.exit_code, expected_exit_in(INDEX, name), "{name}");
        assert_eq!(output.stdout, help.stdout, "{name}");
        assert_eq!(text(&output.stderr), fixture_text(name, "err"), "{name}");
        // etcdctl too prints its `help completion` there.
        assert_eq!(
            fixture_text(name, "out"),
            fixture_text("help_completion", "out")
        );
    }
}

#[test]
fn a_word_after_the_shell_is_cobras_unknown_command() {
    let name = "completion_bash_extra";
    let args = captured_args(name);
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = keelctl(&words);
    assert_eq!(output.exit_code, expected_exit_in(INDEX, name));
    assert_eq!(
        text(&output.stderr),
        fixture_text(name, "err").replace("etcdctl", "keelctl")
    );
    assert_eq!(
        output.stdout,
        keelctl(&["help", "completion", "bash"]).stdout
    );
    assert_eq!(
        fixture_text(name, "out"),
        fixture_text("help_completion_bash", "out")
    );
}

/// What bash offers for the words of `line` (the last word is the one
/// being completed), from keelctl's bash completion script.
fn bash_completions(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let driver = format!(
        "source '{}'\n\
         COMP_WORDS=({})\n\
         COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _keelctl keelctl \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" ")
    );
    let output = std::process::Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(driver)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text(&output.stdout).lines().map(str::to_string).collect()
}

#[test]
fn bash_completion_completes_commands_and_flags() {
    let output = keelctl(&["completion", "bash"]);
    assert_eq!(output.exit_code, 0);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("keelctl.bash");
    std::fs::write(&script, &output.stdout).unwrap();
    let offered = bash_completions(&script, &["keelctl", "mem"]);
    assert!(offered.contains(&"member".to_string()), "{offered:?}");
    let offered = bash_completions(&script, &["keelctl", "member", ""]);
    assert!(offered.contains(&"list".to_string()), "{offered:?}");
    assert!(offered.contains(&"promote".to_string()), "{offered:?}");
    let offered = bash_completions(&script, &["keelctl", "put", "--pr"]);
    assert_eq!(offered, ["--prev-kv"]);
    let offered = bash_completions(&script, &["keelctl", "lease", "ke"]);
    assert_eq!(offered, ["keep-alive"]);
    let offered = bash_completions(&script, &["keelctl", "completion", ""]);
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(offered.contains(&shell.to_string()), "{offered:?}");
    }
}

#[test]
fn zsh_completion_is_valid_zsh() {
    let output = keelctl(&["completion", "zsh"]);
    assert_eq!(output.exit_code, 0);
    let script = text(&output.stdout);
    assert!(script.contains("#compdef keelctl"));
    assert!(script.contains("member"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("_keelctl");
    std::fs::write(&path, &script).unwrap();
    match std::process::Command::new("zsh")
        .arg("-n")
        .arg(&path)
        .output()
    {
        Ok(checked) => assert!(
            checked.status.success(),
            "{}",
            String::from_utf8_lossy(&checked.stderr)
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            println!("zsh is not installed: `zsh -n` check skipped");
        }
        Err(error) => panic!("zsh: {error}"),
    }
}

#[test]
fn every_shell_has_a_script() {
    for (shell, marker) in [
        ("fish", "complete -c keelctl"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = keelctl(&["completion", shell]);
        assert_eq!(output.exit_code, 0, "{shell}");
        let script = text(&output.stdout);
        assert!(script.contains(marker), "{shell}");
        assert!(script.contains("keep-alive"), "{shell}");
    }
    // Without descriptions, the commands are still there.
    let bare = text(&keelctl(&["completion", "fish", "--no-descriptions"]).stdout);
    assert!(bare.contains("keep-alive"));
    assert!(!bare.contains("Keeps leases alive"));
}

//! cobra's command-name matching, as etcdctl enables it: a unique prefix of
//! a command's name selects the command (`compact` is `compaction`, `mem li`
//! is `member list`), at every level.
//!
//! The words are resolved before clap parses the line. At the top level a
//! word that names no command, or starts the names of several, is cobra's
//! `unknown command` error with its suggestions; the candidates are all of
//! etcdctl's commands, so a prefix keelctl would find unique but etcdctl
//! finds ambiguous (`a`: `alarm`, `auth`) fails as in etcdctl. `help`
//! resolves its topic's words by the same rules (see `cli.rs`).
//! Below the top level cobra runs the parent command, which has no action of
//! its own and prints its help: so does keelctl.

use clap::{Arg, Command};
use std::ffi::OsString;

/// etcdctl 3.4's top-level commands in cobra's order (the order they were
/// added; `help` and `completion` come last), which is the order of its
/// suggestions.
const ETCDCTL_COMMANDS: [&str; 24] = [
    "get",
    "put",
    "del",
    "txn",
    "compaction",
    "alarm",
    "defrag",
    "endpoint",
    "move-leader",
    "watch",
    "version",
    "lease",
    "member",
    "snapshot",
    "make-mirror",
    "migrate",
    "lock",
    "elect",
    "auth",
    "user",
    "role",
    "check",
    "help",
    "completion",
];

/// cobra's default `SuggestionsMinimumDistance`.
const SUGGESTION_DISTANCE: usize = 2;

/// What resolving the command words gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The arguments with each command word spelled out in full.
    Args(Vec<OsString>),
    /// A top-level word that selects no command: cobra's error text
    /// (`unknown command "m" for "keelctl"` and its suggestions).
    UnknownCommand(String),
}

/// Spells out the command words of `args` (without the program name) for
/// `root`, keelctl's clap command: each word that is a unique prefix of a
/// subcommand's name becomes that name. Flags are stepped over (with the
/// value that follows a flag that takes one); the words after the last
/// command level, and everything after `--`, are left alone.
pub fn resolve(root: &Command, args: Vec<OsString>) -> Resolved {
    let mut path: Vec<&Command> = vec![root];
    let mut out = Vec::with_capacity(args.len());
    let mut words = args.into_iter();
    while let Some(word) = words.next() {
        let Some(current) = path.last().copied() else {
            break;
        };
        let text = word.to_string_lossy().into_owned();
        if text == "--" || !current.has_subcommands() {
            out.push(word);
            out.extend(words.by_ref());
            break;
        }
        if text.starts_with('-') && text.len() > 1 {
            let takes_next = flag_takes_next(&path, &text);
            out.push(word);
            if takes_next {
                out.extend(words.next());
            }
            continue;
        }
        let top_level = path.len() == 1;
        match select(current, &text, top_level) {
            Some(command) => {
                out.push(OsString::from(command.get_name()));
                path.push(command);
            }
            None if top_level && !is_etcdctl_command(&text) => {
                return Resolved::UnknownCommand(unknown_command(&text));
            }
            // A command etcdctl has and keelctl lacks: clap names it.
            None if top_level => {
                out.push(word);
                out.extend(words.by_ref());
                break;
            }
            // cobra runs the parent, which only prints its help.
            None => {
                out.push(OsString::from("--help"));
                return Resolved::Args(out);
            }
        }
    }
    Resolved::Args(out)
}

/// The subcommand of `parent` that `word` selects: the one so named, or the
/// only one whose name starts with it (at the top level, among all of
/// etcdctl's commands).
fn select<'a>(parent: &'a Command, word: &str, top_level: bool) -> Option<&'a Command> {
    if let Some(exact) = parent.get_subcommands().find(|c| c.get_name() == word) {
        return Some(exact);
    }
    if word.is_empty() {
        return None;
    }
    let name = if top_level {
        let mut matches = ETCDCTL_COMMANDS.iter().filter(|c| c.starts_with(word));
        match (matches.next(), matches.next()) {
            (Some(only), None) => *only,
            _ => return None,
        }
    } else {
        let mut matches = parent
            .get_subcommands()
            .filter(|c| c.get_name().starts_with(word));
        match (matches.next(), matches.next()) {
            (Some(only), None) => return Some(only),
            _ => return None,
        }
    };
    parent.get_subcommands().find(|c| c.get_name() == name)
}

/// The names of the commands that the words of `args` select below
/// `root` (`["member", "list"]`), once [`resolve`] has spelled them out:
/// flags (with their values) are stepped over, and the walk stops at the
/// first word that names no subcommand, or at `--`.
pub fn command_path(root: &Command, args: &[OsString]) -> Vec<String> {
    let mut path: Vec<&Command> = vec![root];
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let Some(current) = path.last().copied() else {
            break;
        };
        let text = word.to_string_lossy();
        if text == "--" || !current.has_subcommands() {
            break;
        }
        // cobra looks the command up before it knows the help flag, so
        // `--help` or `-h` takes the next word as its value (`--help put`
        // is the top level's help).
        let is_help = text == "--help" || text == "-h";
        if text.starts_with('-') && text.len() > 1 {
            if is_help || flag_takes_next(&path, &text) {
                words.next();
            }
            continue;
        }
        match current.get_subcommands().find(|c| c.get_name() == text) {
            Some(command) => path.push(command),
            None => break,
        }
    }
    path.iter()
        .skip(1)
        .map(|command| command.get_name().to_string())
        .collect()
}

/// Whether `word` selects one of etcdctl's commands (by name or prefix).
fn is_etcdctl_command(word: &str) -> bool {
    !word.is_empty()
        && ETCDCTL_COMMANDS
            .iter()
            .filter(|c| c.starts_with(word))
            .count()
            == 1
}

/// cobra's `unknown command` error for the top level, with its
/// `Did you mean this?` list: the commands within edit distance 2 of the
/// word (case ignored) or starting with it, in command order.
pub fn unknown_command(word: &str) -> String {
    let lower = word.to_lowercase();
    let suggestions: Vec<&str> = ETCDCTL_COMMANDS
        .iter()
        .copied()
        .filter(|name| {
            edit_distance(&lower, name) <= SUGGESTION_DISTANCE || name.starts_with(&lower)
        })
        .collect();
    let mut message = format!("unknown command \"{word}\" for \"keelctl\"");
    if !suggestions.is_empty() {
        message.push_str("\n\nDid you mean this?\n");
        for name in suggestions {
            message.push('\t');
            message.push_str(name);
            message.push('\n');
        }
    }
    message
}

/// Levenshtein distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = Vec::with_capacity(b.len() + 1);
        row.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            row.push(substitute.min(previous[j + 1] + 1).min(row[j] + 1));
        }
        previous = row;
    }
    previous[b.len()]
}

/// Whether flag word `text` (`--name`, `--name=v`, `-w`, `-wjson`) is
/// followed by its value as the next word: the flag is one of the
/// commands' on `path` (global flags are the root's) and takes a value that
/// was not attached.
fn flag_takes_next(path: &[&Command], text: &str) -> bool {
    let find = |matches: &dyn Fn(&Arg) -> bool| -> Option<bool> {
        path.iter()
            .rev()
            .flat_map(|command| command.get_arguments())
            .find(|arg| matches(arg))
            .map(takes_separate_value)
    };
    if let Some(long) = text.strip_prefix("--") {
        if long.contains('=') {
            return false;
        }
        return find(&|arg| arg.get_long() == Some(long)).unwrap_or(false);
    }
    // A group of short flags: the value is the rest of the word, or the
    // next word when the flag taking it comes last.
    let letters: Vec<char> = text.chars().skip(1).collect();
    for (at, letter) in letters.iter().enumerate() {
        if find(&|arg| arg.get_short() == Some(*letter)).unwrap_or(false) {
            return at + 1 == letters.len();
        }
    }
    false
}

/// Whether `arg` takes its value from the next word when none is attached.
fn takes_separate_value(arg: &Arg) -> bool {
    let takes_values = arg.get_action().takes_values();
    let optional = arg
        .get_num_args()
        .is_some_and(|range| range.min_values() == 0);
    takes_values && !optional && !arg.is_require_equals_set()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::cli::Cli;
    use clap::CommandFactory;

    fn resolved(words: &[&str]) -> Resolved {
        let mut root = Cli::command();
        root.build();
        resolve(&root, words.iter().map(OsString::from).collect())
    }

    fn args(words: &[&str]) -> Resolved {
        Resolved::Args(words.iter().map(OsString::from).collect())
    }

    #[test]
    fn unique_prefixes_select_commands_at_every_level() {
        assert_eq!(resolved(&["compact", "5"]), args(&["compaction", "5"]));
        assert_eq!(resolved(&["mem", "li"]), args(&["member", "list"]));
        assert_eq!(
            resolved(&[
                "--endpoints",
                "a:1",
                "-w",
                "json",
                "endp",
                "st",
                "--cluster"
            ]),
            args(&[
                "--endpoints",
                "a:1",
                "-w",
                "json",
                "endpoint",
                "status",
                "--cluster"
            ])
        );
        assert_eq!(
            resolved(&["--endpoints=a:1", "-wjson", "ver"]),
            args(&["--endpoints=a:1", "-wjson", "version"])
        );
        // Words after the last command level are arguments, kept as they are.
        assert_eq!(resolved(&["get", "mem"]), args(&["get", "mem"]));
        assert_eq!(
            resolved(&["lease", "gr", "li"]),
            args(&["lease", "grant", "li"])
        );
        // A flag's value is not a command word.
        assert_eq!(
            resolved(&["--command-timeout", "pu", "pu", "k", "v"]),
            args(&["--command-timeout", "pu", "put", "k", "v"])
        );
    }

    #[test]
    fn ambiguous_and_unknown_words_are_cobras_errors() {
        assert_eq!(
            resolved(&["m"]),
            Resolved::UnknownCommand(
                "unknown command \"m\" for \"keelctl\"\n\nDid you mean this?\n\
                 \tmove-leader\n\tmember\n\tmake-mirror\n\tmigrate\n"
                    .into()
            )
        );
        // `comp` starts both `compaction` and `completion`: ambiguous.
        assert!(
            matches!(resolved(&["comp", "1"]), Resolved::UnknownCommand(m)
            if m.ends_with("\tcompaction\n\tcompletion\n"))
        );
        assert_eq!(
            resolved(&["bogus"]),
            Resolved::UnknownCommand("unknown command \"bogus\" for \"keelctl\"".into())
        );
        // Edit distance 2 or less suggests too.
        assert!(matches!(resolved(&["gte"]), Resolved::UnknownCommand(m)
            if m.ends_with("Did you mean this?\n\tget\n")));
        // Below the top level cobra prints the parent's help.
        assert_eq!(resolved(&["member", "x", "y"]), args(&["member", "--help"]));
        // A command etcdctl has and keelctl lacks is left for clap to name.
        assert_eq!(resolved(&["migr"]), args(&["migr"]));
        assert_eq!(resolved(&["defr"]), args(&["defrag"]));
        assert_eq!(
            resolved(&["snap", "sta", "f"]),
            args(&["snapshot", "status", "f"])
        );
    }

    #[test]
    fn command_path_names_the_selected_commands() {
        let mut root = Cli::command();
        root.build();
        let path = |words: &[&str]| {
            command_path(&root, &words.iter().map(OsString::from).collect::<Vec<_>>())
        };
        assert_eq!(path(&["member", "list", "--help"]), ["member", "list"]);
        assert_eq!(path(&["-w", "json", "put", "k", "--help"]), ["put"]);
        // cobra's quirk: the help flag takes the next word as its value.
        assert_eq!(path(&["--help", "put"]), Vec::<String>::new());
        assert_eq!(path(&["member", "nosuch"]), ["member"]);
        assert_eq!(path(&["--", "put"]), Vec::<String>::new());
        assert_eq!(path(&["completion", "bash"]), ["completion", "bash"]);
    }

    #[test]
    fn edit_distance_is_levenshteins() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("get", "get"), 0);
        assert_eq!(edit_distance("gte", "get"), 2);
    }
}

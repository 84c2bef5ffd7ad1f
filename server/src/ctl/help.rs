//! keelctl's help text in etcdctl 3.4's layout, rendered from keelctl's clap
//! command model: the NAME, USAGE, VERSION, API VERSION, COMMANDS,
//! DESCRIPTION, OPTIONS and GLOBAL OPTIONS sections, columns aligned with
//! tabs as Go's `text/tabwriter` aligns them, and flags with Go-style
//! defaults (`--lease="0"`, `--prev-kv[=false]`, `--rev=0`).
//!
//! What the model gives: a command's name, its `about` (the NAME line), its
//! `long_about` (DESCRIPTION), its `override_usage` (cobra's `Use`: the
//! command's name and arguments; a command without one shows its name, or
//! `<name> <subcommand>` for a command with subcommands), and its flags.
//! Two things clap does not know are read from conventions: a flag whose
//! default clap does not hold (an `Option` global flag) ends its help with
//! ` [default: X]`, shown as its Go default; and the flags that are not
//! strings in etcdctl (numbers, durations), whose defaults Go prints
//! unquoted, are listed in [`UNQUOTED_FLAGS`].

use clap::{Arg, ArgAction, Command};
use keel_engine::version::{KEEL_VERSION, etcd_api_version};

/// Flags that are numbers or durations in etcdctl: pflag prints their
/// default unquoted (`--rev=0`), where a string's is quoted (`--lease="0"`).
const UNQUOTED_FLAGS: [&str; 5] = ["command-timeout", "dial-timeout", "limit", "rev", "ttl"];

/// The suffix of a flag's help that names a default clap does not hold.
const DEFAULT_MARKER: &str = " [default: ";

/// Go's `text/tabwriter` settings in etcdctl's usage function.
const TAB_MIN_WIDTH: usize = 1;
const TAB_WIDTH: usize = 8;
const TAB_PADDING: usize = 1;

/// The help of the command at `path` (its words spelled out, empty for the
/// top level) of `root`, keelctl's built clap command: what `keelctl help
/// <path>` and `keelctl <path> --help` print. A path that names no command
/// gives the top level's help.
pub fn render(root: &Command, path: &[String]) -> String {
    align(&layout(root, path, true))
}

/// The top-level help without its own `-h, --help` line: what cobra prints
/// after `Unknown help topic`, before the help flag is set up.
pub fn render_unknown_topic(root: &Command) -> String {
    align(&layout(root, &[], false))
}

/// The commands at `path` below `root`, root first; the walk stops at the
/// first word that names no subcommand.
fn commands_on<'a>(root: &'a Command, path: &[String]) -> Vec<&'a Command> {
    let mut commands = vec![root];
    for word in path {
        let Some(current) = commands.last() else {
            break;
        };
        match current.get_subcommands().find(|c| c.get_name() == word) {
            Some(next) => commands.push(next),
            None => break,
        }
    }
    commands
}

/// The help before alignment: cells separated by tabs.
fn layout(root: &Command, path: &[String], help_flag: bool) -> String {
    let commands = commands_on(root, path);
    let command = commands.last().copied().unwrap_or(root);
    let is_root = commands.len() == 1;
    let names: Vec<&str> = commands.iter().skip(1).map(|c| c.get_name()).collect();
    let about = command
        .get_about()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut text = String::from("NAME:\n");
    let shown_name = if is_root {
        root.get_name().to_string()
    } else {
        names.join(" ")
    };
    text.push_str(&format!("\t{shown_name} - {about}\n"));
    text.push_str(&format!("\nUSAGE:\n\t{}\n", usage_line(root, &commands)));
    if is_root {
        text.push_str(&format!("\nVERSION:\n\t{KEEL_VERSION}\n"));
    }
    if command.has_subcommands() {
        text.push_str(&format!("\nAPI VERSION:\n\t{}\n", etcd_api_version()));
        text.push_str("\n\nCOMMANDS:\n");
        for (words, leaf) in leaves(command) {
            let about = leaf
                .get_about()
                .map(ToString::to_string)
                .unwrap_or_default();
            text.push_str(&format!("\t{}\t{about}\n", words.join(" ")));
        }
    }
    if let Some(long) = command.get_long_about() {
        text.push_str("\nDESCRIPTION:\n");
        for line in long.to_string().trim_matches(['\n', '\t', ' ']).split('\n') {
            text.push_str(&format!("\t{line}\n"));
        }
    }
    // cobra's persistent flags are clap's global ones: those of the
    // commands above are this one's GLOBAL OPTIONS (clap has copied them
    // into it), the rest its own.
    let mut inherited: Vec<&Arg> = Vec::new();
    for ancestor in commands.iter().take(commands.len().saturating_sub(1)) {
        for arg in ancestor.get_arguments() {
            let known = inherited.iter().any(|seen| seen.get_id() == arg.get_id());
            if arg.is_global_set() && !is_help_flag(arg) && !known {
                inherited.push(arg);
            }
        }
    }
    let local: Vec<&Arg> = command
        .get_arguments()
        .filter(|arg| !inherited.iter().any(|seen| seen.get_id() == arg.get_id()))
        .filter(|arg| help_flag || !is_help_flag(arg))
        .collect();
    text.push_str("\nOPTIONS:\n");
    text.push_str(&flag_lines(&local, command.get_name()));
    if !inherited.is_empty() {
        text.push_str("\nGLOBAL OPTIONS:\n");
        text.push_str(&flag_lines(&inherited, command.get_name()));
    }
    text.push('\n');
    text
}

/// cobra's `UseLine`: the parents' names, the command's `Use` (its
/// `override_usage`, or its name), and ` [flags]`.
fn usage_line(root: &Command, commands: &[&Command]) -> String {
    let mut words = vec![root.get_name().to_string()];
    let Some((command, parents)) = commands.split_last() else {
        return format!("{} [flags]", root.get_name());
    };
    if !parents.is_empty() {
        words.extend(parents.iter().skip(1).map(|c| c.get_name().to_string()));
        let usage = match command.get_overridden_usage() {
            Some(usage) => usage.to_string(),
            None if command.has_subcommands() => format!("{} <subcommand>", command.get_name()),
            None => command.get_name().to_string(),
        };
        words.push(usage);
    }
    words.push("[flags]".to_string());
    words.join(" ")
}

/// The commands below `command` that run (those without subcommands of
/// their own), with their names relative to `command`, in name order.
fn leaves(command: &Command) -> Vec<(Vec<&str>, &Command)> {
    let mut children: Vec<&Command> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .collect();
    children.sort_by_key(|c| c.get_name());
    let mut out = Vec::new();
    for child in children {
        if child.has_subcommands() {
            for (mut words, leaf) in leaves(child) {
                words.insert(0, child.get_name());
                out.push((words, leaf));
            }
        } else {
            out.push((vec![child.get_name()], child));
        }
    }
    out
}

fn is_help_flag(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Help | ArgAction::HelpLong)
}

/// One line per flag, in name order (pflag's): `  -w, --write-out="simple"`
/// or `      --prev-kv[=false]`, a tab, then its help. Positional and
/// hidden arguments are not flags.
fn flag_lines(args: &[&Arg], command_name: &str) -> String {
    let mut flags: Vec<(&str, &Arg)> = args
        .iter()
        .filter(|arg| !arg.is_hide_set())
        .filter_map(|arg| arg.get_long().map(|long| (long, *arg)))
        .collect();
    flags.sort_by_key(|(long, _)| *long);
    let mut text = String::new();
    for (long, arg) in flags {
        let (default, help) = if is_help_flag(arg) {
            ("false".to_string(), format!("help for {command_name}"))
        } else {
            default_and_help(arg)
        };
        match arg.get_short() {
            Some(short) => text.push_str(&format!("  -{short}, --{long}")),
            None => text.push_str(&format!("      --{long}")),
        }
        let kind = kind(arg, long);
        let default = match kind {
            FlagKind::Bool if default.is_empty() => "false".to_string(),
            _ => default,
        };
        let value = match kind {
            FlagKind::Bool => format!("[={default}]"),
            FlagKind::List => format!("=[{default}]"),
            FlagKind::Unquoted => format!("={default}"),
            FlagKind::Text => format!("={}", go_quote(&default)),
        };
        text.push_str(&value);
        text.push('\t');
        text.push_str(&help);
        text.push('\n');
    }
    text
}

/// How Go prints a flag's default, by the flag's Go type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    /// A bool: `[=false]`, as pflag shows a flag with a no-value default.
    Bool,
    /// A string slice: `=[a,b]`.
    List,
    /// A number or duration: `=0`.
    Unquoted,
    /// A string: `="x"`.
    Text,
}

fn kind(arg: &Arg, long: &str) -> FlagKind {
    // `SetTrue` flags and pflag-style `--flag[=value]` ones both parse
    // to a bool.
    let is_bool = arg.get_value_parser().type_id() == std::any::TypeId::of::<bool>();
    match arg.get_action() {
        _ if is_bool || is_help_flag(arg) => FlagKind::Bool,
        ArgAction::Append => FlagKind::List,
        _ if arg.get_value_delimiter().is_some() => FlagKind::List,
        _ if UNQUOTED_FLAGS.contains(&long) => FlagKind::Unquoted,
        _ => FlagKind::Text,
    }
}

/// The default Go would show, and the help without a `[default: X]`
/// suffix.
fn default_and_help(arg: &Arg) -> (String, String) {
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    if let Some(at) = help.rfind(DEFAULT_MARKER)
        && help.ends_with(']')
    {
        let default = &help[at + DEFAULT_MARKER.len()..help.len() - 1];
        return (default.to_string(), help[..at].to_string());
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    let default = match arg.get_action() {
        _ if !defaults.is_empty() => defaults.join(","),
        ArgAction::SetFalse => "true".to_string(),
        ArgAction::SetTrue => "false".to_string(),
        _ => String::new(),
    };
    (default, help)
}

/// Go's `%q` for the plain text of flag defaults: double quotes, with `"`
/// and `\` escaped (other escapes never occur in keelctl's defaults).
fn go_quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Go's `%#q` of cobra's help arguments, as `Unknown help topic` prints
/// them: `[`a` `b`]` (back quotes, or double quotes for a word holding a
/// back quote or a control character).
pub fn go_quote_words(words: &[String]) -> String {
    let quoted: Vec<String> = words
        .iter()
        .map(|word| {
            if word.contains('`') || word.chars().any(char::is_control) {
                format!("{word:?}")
            } else {
                format!("`{word}`")
            }
        })
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// Aligns tab-separated cells as Go's `text/tabwriter` does with etcdctl's
/// settings (minimum width 1, tab width 8, padding 1, tabs as padding): a
/// column's width is that of its widest cell plus the padding, over a block
/// of consecutive lines that have that column, and a cell is followed by
/// as many tabs as reach that width rounded up to a tab stop. The last cell
/// of a line (the text after its last tab) is not a column.
pub fn align(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<Vec<usize>> = lines
        .iter()
        .map(|cells| vec![0; cells.len().saturating_sub(1)])
        .collect();
    column_widths(&lines, &mut widths, 0, 0, lines.len());
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for (index, cells) in lines.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let terminated = cells.len().saturating_sub(1);
        for (column, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if column < terminated {
                let cell_width = widths[index][column].div_ceil(TAB_WIDTH) * TAB_WIDTH;
                let padding = cell_width.saturating_sub(cell.chars().count());
                for _ in 0..padding.div_ceil(TAB_WIDTH) {
                    out.push('\t');
                }
            }
        }
    }
    out
}

/// Sets the width of `column` for each block of consecutive lines in
/// `first..end` that have a cell there, then the next column's within each
/// block.
fn column_widths(
    lines: &[Vec<&str>],
    widths: &mut [Vec<usize>],
    column: usize,
    first: usize,
    end: usize,
) {
    let has_column = |line: usize| lines[line].len().saturating_sub(1) > column;
    let mut line = first;
    while line < end {
        if !has_column(line) {
            line += 1;
            continue;
        }
        let start = line;
        let mut width = TAB_MIN_WIDTH;
        while line < end && has_column(line) {
            width = width.max(lines[line][column].chars().count() + TAB_PADDING);
            line += 1;
        }
        for row in &mut widths[start..line] {
            row[column] = width;
        }
        column_widths(lines, widths, column + 1, start, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_pads_to_the_widest_cell_of_each_block() {
        // "role revoke-permission" is 22 wide: 23 with padding, 24 at the
        // tab stop; "put" needs three tabs to get there.
        let text = "\tput\tPuts\n\trole revoke-permission\tRevokes\n\nX:\n\ta\tb\n";
        assert_eq!(
            align(text),
            "\tput\t\t\tPuts\n\trole revoke-permission\tRevokes\n\nX:\n\ta\tb\n"
        );
        // A cell exactly at a tab stop minus one still gets one tab.
        assert_eq!(align("1234567\tx\n"), "1234567\tx\n");
        assert_eq!(align("12345678\tx\n1\ty\n"), "12345678\tx\n1\t\ty\n");
        // Blocks end at a line without the column.
        assert_eq!(
            align("12345678\tx\nnone\n1\ty\n"),
            "12345678\tx\nnone\n1\ty\n"
        );
    }

    /// A small tree with one flag of each Go kind.
    fn sample() -> Command {
        let go_bool = |text: &str| -> Result<bool, String> { Ok(text == "true") };
        let mut root = Command::new("keelctl")
            .about("A client.")
            .disable_help_subcommand(true)
            .arg(
                Arg::new("dial-timeout")
                    .long("dial-timeout")
                    .global(true)
                    .help("dial timeout [default: 2s]"),
            )
            .arg(
                Arg::new("endpoints")
                    .long("endpoints")
                    .global(true)
                    .value_delimiter(',')
                    .help("endpoints [default: a:1,b:2]"),
            )
            .subcommand(
                Command::new("group")
                    .about("Group commands")
                    .arg(
                        Arg::new("cluster")
                            .long("cluster")
                            .global(true)
                            .action(ArgAction::SetTrue)
                            .help("every member"),
                    )
                    .subcommand(
                        Command::new("leaf")
                            .about("A leaf")
                            .long_about("\nFirst line.\n\nSecond line.\n")
                            .override_usage("leaf <key> [options]")
                            .arg(
                                Arg::new("lease")
                                    .long("lease")
                                    .default_value("0")
                                    .help("a string"),
                            )
                            .arg(
                                Arg::new("rev")
                                    .long("rev")
                                    .default_value("0")
                                    .help("a number"),
                            )
                            .arg(
                                Arg::new("learner")
                                    .short('l')
                                    .long("learner")
                                    .num_args(0..=1)
                                    .default_missing_value("true")
                                    .default_value("true")
                                    .value_parser(go_bool)
                                    .help("a bool"),
                            )
                            .arg(Arg::new("key").help("positional")),
                    ),
            );
        root.build();
        root
    }

    #[test]
    fn a_leaf_has_etcdctls_sections_and_go_defaults() {
        let root = sample();
        let help = render(&root, &["group".into(), "leaf".into()]);
        assert_eq!(
            help,
            "NAME:\n\tgroup leaf - A leaf\n\n\
             USAGE:\n\tkeelctl group leaf <key> [options] [flags]\n\n\
             DESCRIPTION:\n\tFirst line.\n\t\n\tSecond line.\n\n\
             OPTIONS:\n  -h, --help[=false]\thelp for leaf\n\
             \x20 -l, --learner[=true]\ta bool\n\
             \x20     --lease=\"0\"\ta string\n\
             \x20     --rev=0\t\ta number\n\n\
             GLOBAL OPTIONS:\n      --cluster[=false]\t\tevery member\n\
             \x20     --dial-timeout=2s\t\tdial timeout\n\
             \x20     --endpoints=[a:1,b:2]\tendpoints\n\n"
        );
    }

    #[test]
    fn the_top_level_lists_every_leaf_and_has_no_global_options() {
        let root = sample();
        let help = render(&root, &[]);
        assert!(help.starts_with("NAME:\n\tkeelctl - A client.\n\nUSAGE:\n\tkeelctl [flags]\n\n"));
        assert!(help.contains(&format!("\nVERSION:\n\t{KEEL_VERSION}\n")));
        assert!(help.contains("\n\nCOMMANDS:\n\tgroup leaf\tA leaf\n\nOPTIONS:\n"));
        assert!(help.contains("  -h, --help[=false]"));
        assert!(!help.contains("GLOBAL OPTIONS"));
        assert!(!render_unknown_topic(&root).contains("--help"));
        // A command with subcommands: `<subcommand>` usage, relative names,
        // its persistent flag among its own.
        let group = render(&root, &["group".into()]);
        assert!(group.contains("USAGE:\n\tkeelctl group <subcommand> [flags]\n"));
        assert!(group.contains("\nAPI VERSION:\n"));
        assert!(group.contains("COMMANDS:\n\tleaf\tA leaf\n"));
        assert!(group.contains("OPTIONS:\n      --cluster[=false]\tevery member\n"));
    }

    #[test]
    fn go_quotes_words_as_percent_hash_q() {
        assert_eq!(go_quote_words(&["nosuch".into()]), "[`nosuch`]");
        assert_eq!(go_quote_words(&["a".into(), "b`c".into()]), "[`a` \"b`c\"]");
        assert_eq!(go_quote("a\"b"), "\"a\\\"b\"");
    }
}

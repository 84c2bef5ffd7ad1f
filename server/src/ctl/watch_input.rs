//! `watch -i`'s request lines, read as etcdctl 3.4 reads them: words split
//! by `argify` (txn's), `watch` with the command's own flags parsed as
//! pflag parses them (interspersed, `--name=value`, base prefixes in
//! `--rev`, pflag's error texts), `progress`, and etcdctl's verdict on
//! each line — run it, reject it with a message and go on, or end the
//! session.

use super::error::{CtlError, ExitCode};
use super::go_parse::{argify, parse_int_any_base};
use super::output::go_format::go_quote;
use super::watch_args::{
    BAD_ARGS, ENV_CONFLICT, EnvKey, SEPARATOR_LAST, WatchFlags, WatchSpec, create_request,
    without_exec,
};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// What one line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// Open this watch (and go on reading).
    Watch(WatchSpec),
    /// `progress`: every open watch reports the current revision.
    Progress,
    /// Not run: these bytes go to stderr and the session goes on.
    Rejected(Vec<u8>),
    /// The session ends with this error, as etcdctl exits on it.
    Fatal(CtlError),
}

/// etcdctl's verdict on `line` (without its newline). `env` supplies the
/// key as on the command line; flags given on the command line do not
/// apply to lines (etcdctl parses each line with fresh flags).
pub fn parse_line(line: &[u8], env: &EnvKey) -> Line {
    let text = String::from_utf8_lossy(line);
    let rejected = |why: &str| {
        let mut out = b"Invalid command ".to_vec();
        out.extend_from_slice(line);
        out.extend_from_slice(format!(" ({why})\n").as_bytes());
        Line::Rejected(out)
    };
    let words = match argify(&text) {
        Ok(words) => words,
        Err(error) => return Line::Fatal(CtlError::new(ExitCode::InvalidInput, error)),
    };
    match words.first().map(Vec::as_slice) {
        None => {
            let mut out = b"Invalid command: ".to_vec();
            out.extend_from_slice(line);
            out.extend_from_slice(b" (watch and progress supported)\n");
            Line::Rejected(out)
        }
        Some(b"watch") if words.len() < 2 && env.key.is_empty() => {
            rejected("command type or key is not provided")
        }
        Some(b"watch") => match watch_line(&words[1..], env) {
            Ok(Ok(spec)) => Line::Watch(spec),
            Ok(Err(why)) => rejected(why),
            Err(fatal) => Line::Fatal(fatal),
        },
        Some(b"progress") => Line::Progress,
        Some(_) => rejected("only support watch"),
    }
}

/// The words after `watch`: the spec, a reason to reject the line
/// (etcdctl's `getWatchChan` errors), or an error that ends the session
/// (etcdctl's `parseWatchArgs` errors, exit 128).
fn watch_line(
    words: &[Vec<u8>],
    env: &EnvKey,
) -> Result<Result<WatchSpec, &'static str>, CtlError> {
    let separator = words.iter().position(|word| word == b"--");
    if separator.is_some_and(|at| at + 1 == words.len()) {
        return Err(CtlError::bad_args(SEPARATOR_LAST));
    }
    let (flags, positional) = parse_flags(words).map_err(CtlError::bad_args)?;
    if separator.is_none() {
        if env.key.is_empty() && positional.is_empty() {
            return Err(CtlError::bad_args(BAD_ARGS));
        }
        if !env.key.is_empty() && !positional.is_empty() {
            return Err(CtlError::bad_args(ENV_CONFLICT));
        }
    }
    let exec: Vec<Vec<u8>> = separator.map_or_else(Vec::new, |at| words[at + 1..].to_vec());
    let mut keys = env.words();
    keys.extend(positional);
    let keys = without_exec(keys, &exec);
    Ok(create_request(&keys, flags).map(|create| WatchSpec {
        create,
        exec: exec.into_iter().map(OsString::from_vec).collect(),
    }))
}

/// The command's flags, as pflag parses them, and the other words (those
/// after `--` included, as pflag keeps them).
fn parse_flags(words: &[Vec<u8>]) -> Result<(WatchFlags, Vec<Vec<u8>>), String> {
    let mut flags = WatchFlags::default();
    let mut args = Vec::new();
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        if word == b"--" {
            args.extend(rest.cloned());
            break;
        }
        let text = String::from_utf8_lossy(word);
        if !text.starts_with('-') || text == "-" {
            args.push(word.clone());
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            if long.is_empty() || long.starts_with('-') || long.starts_with('=') {
                return Err(format!("bad flag syntax: {text}"));
            }
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            match name {
                "rev" => {
                    let value = match value {
                        Some(value) => value,
                        None => match rest.next() {
                            Some(next) => String::from_utf8_lossy(next).into_owned(),
                            None => return Err("flag needs an argument: --rev".into()),
                        },
                    };
                    flags.rev = parse_int_any_base(&value)
                        .map_err(|error| invalid_argument(&value, "--rev", &error))?;
                }
                "help" => return Err("pflag: help requested".into()),
                _ => set_bool(&mut flags, name, value.as_deref().unwrap_or("true"))?,
            }
            continue;
        }
        let shorthands = &text[1..];
        for (at, letter) in shorthands.char_indices() {
            match letter {
                'i' => {
                    let after = &shorthands[at + 1..];
                    if after.len() > 1 && after.starts_with('=') {
                        set_bool(&mut flags, "interactive", &after[1..])?;
                        break;
                    }
                }
                'h' => return Err("pflag: help requested".into()),
                _ => {
                    return Err(format!(
                        "unknown shorthand flag: '{letter}' in -{shorthands}"
                    ));
                }
            }
        }
    }
    Ok((flags, args))
}

/// A boolean flag by its long name (`interactive` is accepted and means
/// nothing on a line).
fn set_bool(flags: &mut WatchFlags, name: &str, value: &str) -> Result<(), String> {
    let (slot, shown) = match name {
        "interactive" => (None, "-i, --interactive"),
        "prefix" => (Some(&mut flags.prefix), "--prefix"),
        "prev-kv" => (Some(&mut flags.prev_kv), "--prev-kv"),
        "progress-notify" => (Some(&mut flags.progress_notify), "--progress-notify"),
        _ => return Err(format!("unknown flag: --{name}")),
    };
    let parsed = match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
        "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
        _ => {
            let error = format!(
                "strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(value)
            );
            return Err(invalid_argument(value, shown, &error));
        }
    };
    if let Some(slot) = slot {
        *slot = parsed;
    }
    Ok(())
}

fn invalid_argument(value: &str, flag: &str, error: &str) -> String {
    format!(
        "invalid argument {} for \"{flag}\" flag: {error}",
        go_quote(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        parse_line(text.as_bytes(), &EnvKey::default())
    }

    fn rejected(text: &str) -> String {
        match line(text) {
            Line::Rejected(out) => String::from_utf8(out).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    fn fatal(text: &str) -> String {
        match line(text) {
            Line::Fatal(error) => {
                assert_eq!(error.exit, ExitCode::BadArgs);
                error.message
            }
            other => panic!("{other:?}"),
        }
    }

    fn spec(text: &str) -> WatchSpec {
        match line(text) {
            Line::Watch(spec) => spec,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejected_lines_use_etcdctls_words() {
        assert_eq!(
            rejected(""),
            "Invalid command:  (watch and progress supported)\n"
        );
        assert_eq!(
            rejected("bogus"),
            "Invalid command bogus (only support watch)\n"
        );
        assert_eq!(
            rejected("watch"),
            "Invalid command watch (command type or key is not provided)\n"
        );
        assert_eq!(
            rejected("watch --prefix a b"),
            "Invalid command watch --prefix a b (`range_end` and `--prefix` are mutually exclusive)\n"
        );
        assert_eq!(
            rejected("watch -- echo hi"),
            "Invalid command watch -- echo hi (bad number of arguments)\n"
        );
        assert_eq!(line("progress"), Line::Progress);
    }

    #[test]
    fn flag_errors_end_the_session_with_pflags_words() {
        assert_eq!(fatal("watch --bogus a"), "unknown flag: --bogus");
        assert_eq!(fatal("watch -x a"), "unknown shorthand flag: 'x' in -x");
        assert_eq!(fatal("watch -ix a"), "unknown shorthand flag: 'x' in -ix");
        assert_eq!(fatal("watch a --rev"), "flag needs an argument: --rev");
        assert_eq!(
            fatal("watch --rev=x a"),
            "invalid argument \"x\" for \"--rev\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            fatal("watch -i=no a"),
            "invalid argument \"no\" for \"-i, --interactive\" flag: strconv.ParseBool: parsing \"no\": invalid syntax"
        );
        assert_eq!(fatal("watch ---rev 1 a"), "bad flag syntax: ---rev");
        assert_eq!(fatal("watch -h"), "pflag: help requested");
        assert_eq!(fatal("watch a --"), SEPARATOR_LAST);
        assert_eq!(fatal("watch --prefix"), BAD_ARGS);
    }

    #[test]
    fn watch_lines_take_the_commands_flags_anywhere() {
        let watch = spec("watch a --prefix --rev 0x2 --prev-kv=true -i");
        assert_eq!(watch.create.key.as_ref(), b"a");
        assert_eq!(watch.create.range_end.as_ref(), b"b");
        assert_eq!(watch.create.start_revision, 2);
        assert!(watch.create.prev_kv);
        let quoted = spec(r#"watch "x y" -- sh -c "echo \"$K\"""#);
        assert_eq!(quoted.create.key.as_ref(), b"x y");
        assert_eq!(
            quoted.exec,
            vec![OsString::from("sh"), "-c".into(), "echo \"$K\"".into()]
        );
        assert_eq!(spec("watch k1 k3").create.range_end.as_ref(), b"k3");
        // A third word: etcdctl watches the first key alone.
        assert!(spec("watch k1 k3 extra").create.range_end.is_empty());
    }

    #[test]
    fn the_environment_key_stands_in_for_the_lines_key() {
        let env = EnvKey {
            key: "x".into(),
            range_end: String::new(),
            ..EnvKey::default()
        };
        match parse_line(b"watch --prefix", &env) {
            Line::Watch(spec) => assert_eq!(spec.create.range_end.as_ref(), b"y"),
            other => panic!("{other:?}"),
        }
        match parse_line(b"watch x", &env) {
            Line::Fatal(error) => assert_eq!(error.message, ENV_CONFLICT),
            other => panic!("{other:?}"),
        }
    }
}

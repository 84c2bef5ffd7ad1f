//! `watch`'s command line as etcdctl 3.4 reads it: the key and range end,
//! the `--` exec form, the key from `KEELCTL_WATCH_KEY` and
//! `KEELCTL_WATCH_RANGE_END` (etcdctl's `ETCDCTL_WATCH_*`), with etcdctl's
//! checks in etcdctl's order and its messages. `watch -i`'s request lines
//! are read by [`super::watch_input`] into the same [`WatchSpec`].

use super::error::CtlError;
use super::go_parse::parse_int_any_base;
use super::kv_args::{bytes_args, key_and_end};
use super::output::go_format::go_quote;
use bytes::Bytes;
use keel_engine::api::WatchCreateRequest;
use std::ffi::OsString;

/// `watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WatchArgs {
    /// Interactive mode
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Watch on a prefix if prefix is set
    #[arg(long)]
    pub prefix: bool,
    /// Revision to start watching
    #[arg(long, default_value = "0", allow_negative_numbers = true)]
    pub rev: String,
    /// get the previous key-value pair before the event happens
    #[arg(long)]
    pub prev_kv: bool,
    /// get periodic watch progress notification from server
    #[arg(long)]
    pub progress_notify: bool,
    /// key and optional range_end, then after `--` the command to run for
    /// each event
    pub args: Vec<OsString>,
    /// What followed the first `--` after `watch` on the command line
    /// (`None`: there was no `--`). Set by [`super::cli::parse`] from the
    /// raw arguments: clap drops the `--` itself.
    #[arg(skip)]
    pub exec: Option<Vec<OsString>>,
    /// The key and range end from the environment.
    #[arg(skip)]
    pub env: EnvKey,
}

/// `KEELCTL_WATCH_KEY` and `KEELCTL_WATCH_RANGE_END` (or etcdctl's
/// `ETCDCTL_WATCH_*`); empty is unset, as in etcdctl (Go's `os.Getenv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvKey {
    /// The key (or prefix) every watch of the invocation watches.
    pub key: String,
    /// The range end that goes with it.
    pub range_end: String,
    /// The prefix of the variables that were read (`KEELCTL_` or
    /// `ETCDCTL_`), for the names in messages.
    pub prefix: &'static str,
}

impl Default for EnvKey {
    fn default() -> Self {
        EnvKey {
            key: String::new(),
            range_end: String::new(),
            prefix: "KEELCTL_",
        }
    }
}

/// The flags of one watch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchFlags {
    /// `--prefix`.
    pub prefix: bool,
    /// `--rev`.
    pub rev: i64,
    /// `--prev-kv`.
    pub prev_kv: bool,
    /// `--progress-notify` (keelctl's; etcdctl 3.4 has no such flag).
    pub progress_notify: bool,
}

/// One watch to open, and the command to run for each of its events
/// (empty: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSpec {
    /// The watch.
    pub create: WatchCreateRequest,
    /// The program and its arguments.
    pub exec: Vec<OsString>,
}

/// etcdctl's `errBadArgsNum`.
pub const BAD_ARGS: &str = "bad number of arguments";
/// etcdctl's `errBadArgsNumSeparator`.
pub const SEPARATOR_LAST: &str = "bad number of arguments (found separator --, but no commands)";
/// etcdctl's `errBadArgsNumConflictEnv`.
pub const ENV_CONFLICT: &str = "bad number of arguments (found conflicting environment key)";

impl EnvKey {
    /// etcdctl's first check, made before `-i` is looked at: a range end
    /// needs a key.
    pub fn check(&self) -> Result<(), CtlError> {
        if self.key.is_empty() && !self.range_end.is_empty() {
            return Err(CtlError::bad_args(format!(
                "{prefix}WATCH_KEY is empty but got {prefix}WATCH_RANGE_END={}",
                go_quote(&self.range_end),
                prefix = self.prefix
            )));
        }
        Ok(())
    }

    /// The words the environment puts before the arguments.
    pub fn words(&self) -> Vec<Vec<u8>> {
        let mut words = Vec::new();
        if !self.key.is_empty() {
            words.push(self.key.as_bytes().to_vec());
            if !self.range_end.is_empty() {
                words.push(self.range_end.as_bytes().to_vec());
            }
        }
        words
    }
}

impl WatchArgs {
    /// `--rev` as pflag's `Int64` parses it (any base prefix); a bad value
    /// is a flag error, found before anything else (exit 1).
    pub fn rev(&self) -> Result<i64, CtlError> {
        parse_int_any_base(&self.rev).map_err(|error| {
            CtlError::error(format!(
                "invalid argument {} for \"--rev\" flag: {error}",
                go_quote(&self.rev)
            ))
        })
    }

    /// The watch the command line asks for (without `-i`), with etcdctl's
    /// argument errors (exit 128): a `--` with nothing after it, a key both
    /// in the environment and in the arguments, no key, a range end with
    /// `--prefix`. Words past the range end are ignored, as etcdctl
    /// ignores them.
    pub fn spec(&self) -> Result<WatchSpec, CtlError> {
        let flags = WatchFlags {
            prefix: self.prefix,
            rev: self.rev()?,
            prev_kv: self.prev_kv,
            progress_notify: self.progress_notify,
        };
        let exec = self.exec.clone().unwrap_or_default();
        if self.exec.is_some() && exec.is_empty() {
            return Err(CtlError::bad_args(SEPARATOR_LAST));
        }
        let positional = bytes_args(&self.args);
        let before_separator = positional.len().saturating_sub(exec.len());
        if !self.env.key.is_empty() && before_separator > 0 {
            return Err(CtlError::bad_args(ENV_CONFLICT));
        }
        let mut keys = self.env.words();
        keys.extend(positional);
        let exec_words = bytes_args(&exec);
        let keys = without_exec(keys, &exec_words);
        let create = create_request(&keys, flags).map_err(CtlError::bad_args)?;
        Ok(WatchSpec { create, exec })
    }
}

/// etcdctl's cut of the exec command off the watch's words: everything
/// from the last word equal to the command's first word on.
pub fn without_exec(mut keys: Vec<Vec<u8>>, exec: &[Vec<u8>]) -> Vec<Vec<u8>> {
    if let Some(program) = exec.first() {
        let end = keys.iter().rposition(|word| word == program).unwrap_or(0);
        keys.truncate(end);
    }
    keys
}

/// etcdctl's `getWatchChan`: the key, an optional range end (further words
/// ignored), `--prefix` or a range end but not both.
pub fn create_request(
    keys: &[Vec<u8>],
    flags: WatchFlags,
) -> Result<WatchCreateRequest, &'static str> {
    let Some(key) = keys.first() else {
        return Err(BAD_ARGS);
    };
    let (key, range_end) = if keys.len() == 2 {
        if flags.prefix {
            return Err("`range_end` and `--prefix` are mutually exclusive");
        }
        (Bytes::from(key.clone()), Bytes::from(keys[1].clone()))
    } else {
        key_and_end(&keys[..1], flags.prefix, false)
    };
    Ok(WatchCreateRequest {
        key,
        range_end,
        start_revision: flags.rev,
        prev_kv: flags.prev_kv,
        progress_notify: flags.progress_notify,
        ..WatchCreateRequest::default()
    })
}

/// What follows the first `--` after the `watch` command in `raw` (the
/// invocation's arguments), as etcdctl finds it in `os.Args`.
pub fn exec_after_separator(raw: &[OsString]) -> Option<Vec<OsString>> {
    let watch = raw.iter().position(|arg| arg == "watch")?;
    let rest = &raw[watch + 1..];
    let separator = rest.iter().position(|arg| arg == "--")?;
    Some(rest[separator + 1..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::ExitCode;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn args(words: &[&str], exec: Option<&[&str]>) -> WatchArgs {
        let mut all = os(words);
        if let Some(exec) = exec {
            all.extend(os(exec));
        }
        WatchArgs {
            rev: "0".into(),
            args: all,
            exec: exec.map(os),
            ..WatchArgs::default()
        }
    }

    #[test]
    fn the_exec_form_splits_at_the_separator() {
        let spec = args(&["foo"], Some(&["echo", "hi"])).spec().unwrap();
        assert_eq!(spec.create.key.as_ref(), b"foo");
        assert!(spec.create.range_end.is_empty());
        assert_eq!(spec.exec, os(&["echo", "hi"]));
        let error = args(&["foo"], Some(&[])).spec().unwrap_err();
        assert_eq!(
            (error.message.as_str(), error.exit),
            (SEPARATOR_LAST, ExitCode::BadArgs)
        );
        assert_eq!(
            args(&[], Some(&["echo", "hi"])).spec().unwrap_err().message,
            BAD_ARGS
        );
        assert_eq!(
            exec_after_separator(&os(&["--endpoints", "e", "watch", "k", "--", "sh", "--"])),
            Some(os(&["sh", "--"]))
        );
        assert_eq!(exec_after_separator(&os(&["watch", "k"])), None);
    }

    #[test]
    fn extra_words_are_ignored_and_prefix_excludes_a_range_end() {
        let spec = args(&["x", "y", "z"], None).spec().unwrap();
        assert_eq!(spec.create.key.as_ref(), b"x");
        assert!(spec.create.range_end.is_empty());
        let mut prefix = args(&["a", "b"], None);
        prefix.prefix = true;
        assert_eq!(
            prefix.spec().unwrap_err().message,
            "`range_end` and `--prefix` are mutually exclusive"
        );
        prefix.args = os(&["a"]);
        assert_eq!(prefix.spec().unwrap().create.range_end.as_ref(), b"b");
    }

    #[test]
    fn the_environment_supplies_the_key() {
        let mut from_env = args(&[], None);
        from_env.env = EnvKey {
            key: "x".into(),
            range_end: "xb".into(),
            ..EnvKey::default()
        };
        let spec = from_env.spec().unwrap();
        assert_eq!(
            (spec.create.key.as_ref(), spec.create.range_end.as_ref()),
            (&b"x"[..], &b"xb"[..])
        );
        from_env.args = os(&["x"]);
        assert_eq!(from_env.spec().unwrap_err().message, ENV_CONFLICT);
        let lonely_end = EnvKey {
            key: String::new(),
            range_end: "y".into(),
            prefix: "ETCDCTL_",
        };
        assert_eq!(
            lonely_end.check().unwrap_err().message,
            "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=\"y\""
        );
    }

    #[test]
    fn rev_takes_base_prefixes_with_pflags_error() {
        let mut watch = args(&["k"], None);
        watch.rev = "0x10".into();
        assert_eq!(watch.spec().unwrap().create.start_revision, 16);
        watch.rev = "x".into();
        let error = watch.spec().unwrap_err();
        assert_eq!(
            error.message,
            "invalid argument \"x\" for \"--rev\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(error.exit, ExitCode::Error);
    }
}

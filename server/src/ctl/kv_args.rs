//! `put`, `get` and `del`: their flags and how they become requests, with
//! etcdctl 3.4's checks and messages. Shared by the commands and by `txn`'s
//! operation lines.

use super::error::{CtlError, ExitCode};
use super::go_parse::parse_int;
use bytes::Bytes;
use keel_engine::api::{DeleteRangeRequest, PutRequest, RangeRequest, SortOrder, SortTarget};
use keel_engine::mvcc::KeyRange;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;

/// `put [options] <key> <value>` (the value may come from stdin).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PutArgs {
    /// return the previous key-value pair before modification
    #[arg(long)]
    pub prev_kv: bool,
    /// lease ID (in hexadecimal) to attach to the key
    #[arg(long, default_value = "0")]
    pub lease: String,
    /// updates the key using its current value
    #[arg(long)]
    pub ignore_value: bool,
    /// updates the key using its current lease
    #[arg(long)]
    pub ignore_lease: bool,
    /// key and value
    pub args: Vec<OsString>,
}

impl PutArgs {
    /// The request etcdctl would send; `stdin` supplies the value when only
    /// the key is given.
    pub fn request(&self, stdin: &mut dyn Read) -> Result<PutRequest, CtlError> {
        let needs = "put command needs 1 argument and input from stdin or 2 arguments";
        let args = bytes_args(&self.args);
        let Some(key) = args.first() else {
            return Err(CtlError::bad_args(needs));
        };
        if self.ignore_value && args.len() > 1 {
            return Err(CtlError::bad_args(
                "put command needs only 1 argument when 'ignore-value' is set",
            ));
        }
        let value = if self.ignore_value {
            Vec::new()
        } else if let Some(value) = args.get(1) {
            value.clone()
        } else {
            let mut value = Vec::new();
            if stdin.read_to_end(&mut value).is_err() || value.is_empty() {
                return Err(CtlError::bad_args(needs));
            }
            value
        };
        let lease = parse_int(&self.lease, 16)
            .map_err(|e| CtlError::bad_args(format!("bad lease ID ({e}), expecting ID in Hex")))?;
        Ok(PutRequest {
            key: Bytes::from(key.clone()),
            value: Bytes::from(value),
            lease,
            prev_kv: self.prev_kv,
            ignore_value: self.ignore_value,
            ignore_lease: self.ignore_lease,
        })
    }
}

/// `get [options] <key> [range_end]`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GetArgs {
    /// Linearizable(l) or Serializable(s)
    #[arg(long, default_value = "l")]
    pub consistency: String,
    /// Order of results; ASCEND or DESCEND (ASCEND by default)
    #[arg(long, default_value = "")]
    pub order: String,
    /// Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION
    #[arg(long, default_value = "")]
    pub sort_by: String,
    /// Maximum number of results
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub limit: i64,
    /// Get keys with matching prefix
    #[arg(long)]
    pub prefix: bool,
    /// Get keys that are greater than or equal to the given key using byte compare
    #[arg(long)]
    pub from_key: bool,
    /// Specify the kv revision
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub rev: i64,
    /// Get only the keys
    #[arg(long)]
    pub keys_only: bool,
    /// Get only the count
    #[arg(long)]
    pub count_only: bool,
    /// Only write values when using the "simple" output format
    #[arg(long)]
    pub print_value_only: bool,
    /// key and optional range_end
    pub args: Vec<OsString>,
}

impl GetArgs {
    /// The request etcdctl would send.
    pub fn request(&self) -> Result<RangeRequest, CtlError> {
        let args = bytes_args(&self.args);
        if args.is_empty() || args.len() > 2 {
            return Err(CtlError::bad_args(
                "get command needs one argument as key and an optional argument as range_end",
            ));
        }
        check_prefix_from_key(self.prefix, self.from_key)?;
        let serializable = match self.consistency.as_str() {
            "l" => false,
            "s" => true,
            other => {
                return Err(CtlError::bad_feature(format!(
                    "unknown consistency flag {}",
                    super::output::go_format::go_quote(other)
                )));
            }
        };
        if args.len() > 1 && (self.prefix || self.from_key) {
            return Err(CtlError::bad_args(
                "too many arguments, only accept one argument when `--prefix` or `--from-key` is set",
            ));
        }
        let sort_order = match self.order.to_uppercase().as_str() {
            "" => SortOrder::None,
            "ASCEND" => SortOrder::Ascend,
            "DESCEND" => SortOrder::Descend,
            _ => {
                return Err(CtlError::bad_feature(format!(
                    "bad sort order {}",
                    self.order
                )));
            }
        };
        let sort_target = match self.sort_by.to_uppercase().as_str() {
            "" | "KEY" => SortTarget::Key,
            "CREATE" => SortTarget::Create,
            "MODIFY" => SortTarget::Mod,
            "VALUE" => SortTarget::Value,
            "VERSION" => SortTarget::Version,
            _ => {
                return Err(CtlError::bad_feature(format!(
                    "bad sort target {}",
                    self.sort_by
                )));
            }
        };
        // clientv3's WithSort: ascending by key is what the server does
        // anyway, so it sends no order (and the limit applies before sorting).
        let sort_order = if sort_target == SortTarget::Key && sort_order == SortOrder::Ascend {
            SortOrder::None
        } else {
            sort_order
        };
        let (key, range_end) = key_and_end(&args, self.prefix, self.from_key);
        Ok(RangeRequest {
            key,
            range_end,
            limit: self.limit,
            revision: self.rev,
            sort_order,
            sort_target,
            serializable,
            keys_only: self.keys_only,
            count_only: self.count_only,
            ..RangeRequest::default()
        })
    }
}

/// `del [options] <key> [range_end]`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DelArgs {
    /// delete keys with matching prefix
    #[arg(long)]
    pub prefix: bool,
    /// return deleted key-value pairs
    #[arg(long)]
    pub prev_kv: bool,
    /// delete keys that are greater than or equal to the given key using byte compare
    #[arg(long)]
    pub from_key: bool,
    /// key and optional range_end
    pub args: Vec<OsString>,
}

impl DelArgs {
    /// The request etcdctl would send.
    pub fn request(&self) -> Result<DeleteRangeRequest, CtlError> {
        let args = bytes_args(&self.args);
        if args.is_empty() || args.len() > 2 {
            return Err(CtlError::bad_args(
                "del command needs one argument as key and an optional argument as range_end",
            ));
        }
        check_prefix_from_key(self.prefix, self.from_key)?;
        if args.len() > 1 && (self.prefix || self.from_key) {
            return Err(CtlError::bad_args(
                "too many arguments, only accept one argument when `--prefix` or `--from-key` is set.",
            ));
        }
        let (key, range_end) = key_and_end(&args, self.prefix, self.from_key);
        Ok(DeleteRangeRequest {
            key,
            range_end,
            prev_kv: self.prev_kv,
        })
    }
}

fn check_prefix_from_key(prefix: bool, from_key: bool) -> Result<(), CtlError> {
    if prefix && from_key {
        return Err(CtlError::new(
            ExitCode::BadArgs,
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        ));
    }
    Ok(())
}

/// The key and range end for `args` (key, optional end) and the flags, as
/// clientv3 builds them: an empty key with `--prefix` or `--from-key` means
/// every key.
pub(super) fn key_and_end(args: &[Vec<u8>], prefix: bool, from_key: bool) -> (Bytes, Bytes) {
    let key = args.first().cloned().unwrap_or_default();
    let all_keys = || (Bytes::from_static(&[0]), Bytes::from_static(&[0]));
    if prefix {
        if key.is_empty() {
            return all_keys();
        }
        let end = KeyRange::prefix_end(&key);
        return (Bytes::from(key), end);
    }
    if from_key {
        if key.is_empty() {
            return all_keys();
        }
        return (Bytes::from(key), Bytes::from_static(&[0]));
    }
    let end = args.get(1).cloned().unwrap_or_default();
    (Bytes::from(key), Bytes::from(end))
}

pub(super) fn bytes_args(args: &[OsString]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.clone().into_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn put_takes_the_value_from_stdin_when_only_the_key_is_given() {
        let put = PutArgs {
            args: os(&["sk"]),
            lease: "0".into(),
            ..PutArgs::default()
        };
        let request = put.request(&mut &b"line\n"[..]).unwrap();
        assert_eq!(request.value.as_ref(), b"line\n");
        let error = put.request(&mut &b""[..]).unwrap_err();
        assert_eq!(error.exit, ExitCode::BadArgs);
    }

    #[test]
    fn put_parses_the_lease_in_hex() {
        let mut put = PutArgs {
            args: os(&["k", "v"]),
            lease: "1234abcd".into(),
            ..PutArgs::default()
        };
        assert_eq!(put.request(&mut &b""[..]).unwrap().lease, 0x1234abcd);
        put.lease = "zz".into();
        assert_eq!(
            put.request(&mut &b""[..]).unwrap_err().message,
            r#"bad lease ID (strconv.ParseInt: parsing "zz": invalid syntax), expecting ID in Hex"#
        );
    }

    #[test]
    fn get_builds_prefix_and_from_key_ranges() {
        let get = GetArgs {
            args: os(&["f"]),
            prefix: true,
            consistency: "l".into(),
            ..GetArgs::default()
        };
        let request = get.request().unwrap();
        assert_eq!(
            (request.key.as_ref(), request.range_end.as_ref()),
            (&b"f"[..], &b"g"[..])
        );
        let all = GetArgs {
            args: os(&[""]),
            from_key: true,
            consistency: "s".into(),
            ..GetArgs::default()
        }
        .request()
        .unwrap();
        assert_eq!(
            (all.key.as_ref(), all.range_end.as_ref()),
            (&[0u8][..], &[0u8][..])
        );
        assert!(all.serializable);
    }

    #[test]
    fn get_refuses_what_etcdctl_refuses() {
        let base = GetArgs {
            args: os(&["f"]),
            consistency: "l".into(),
            ..GetArgs::default()
        };
        let bad_order = GetArgs {
            order: "BOGUS".into(),
            ..base.clone()
        };
        assert_eq!(
            bad_order.request().unwrap_err().message,
            "bad sort order BOGUS"
        );
        assert_eq!(bad_order.request().unwrap_err().exit, ExitCode::BadFeature);
        let lower = GetArgs {
            order: "descend".into(),
            sort_by: "modify".into(),
            ..base.clone()
        };
        let request = lower.request().unwrap();
        assert_eq!(
            (request.sort_order, request.sort_target),
            (SortOrder::Descend, SortTarget::Mod)
        );
        let both = GetArgs {
            prefix: true,
            from_key: true,
            ..base.clone()
        };
        assert_eq!(both.request().unwrap_err().exit, ExitCode::BadArgs);
        let none = GetArgs {
            args: Vec::new(),
            ..base
        };
        assert_eq!(none.request().unwrap_err().exit, ExitCode::BadArgs);
    }

    #[test]
    fn del_with_prefix_refuses_a_range_end() {
        let del = DelArgs {
            args: os(&["a", "b"]),
            prefix: true,
            ..DelArgs::default()
        };
        assert!(del.request().unwrap_err().message.ends_with("is set."));
        let del = DelArgs {
            args: os(&["a", "b"]),
            ..DelArgs::default()
        };
        let request = del.request().unwrap();
        assert_eq!(request.range_end.as_ref(), b"b");
    }
}

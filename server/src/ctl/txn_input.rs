//! etcdctl's txn input: compares, a blank line, success operations, a
//! blank line, failure operations, a blank line.
//!
//! A compare is `<target>("<key>") <op> "<value>"` with target `value|val`,
//! `version|ver`, `create|c`, `mod|m` or `lease`, op one of `= != < >`, key
//! and value Go-quoted. An operation is a `put`, `get` or `del` command line
//! with its flags. Errors carry etcdctl's messages and the invalid-input exit
//! code; input that ends before the third blank line is `EOF`.

use super::error::{CtlError, ExitCode};
use super::go_parse::{argify, parse_int, scan_quoted};
use super::kv_args::{DelArgs, GetArgs, PutArgs};
use super::output::go_format::go_quote_bytes;
use bytes::Bytes;
use clap::Parser;
use keel_engine::api::{Compare, CompareResult, CompareTarget, RequestOp, TxnRequest};
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::os::unix::ffi::OsStringExt;

/// Prompts printed before each section by `txn --interactive`.
const PROMPTS: [&str; 3] = [
    "compares:\n",
    "success requests (get, put, del):\n",
    "failure requests (get, put, del):\n",
];

/// Reads a whole txn from `input`. With `prompts`, each section's prompt is
/// written there first (etcdctl's `--interactive`).
pub fn read_txn(
    input: &mut dyn BufRead,
    mut prompts: Option<&mut dyn Write>,
) -> Result<TxnRequest, CtlError> {
    let mut sections: [Vec<String>; 3] = Default::default();
    for (section, prompt) in sections.iter_mut().zip(PROMPTS) {
        if let Some(out) = prompts.as_deref_mut() {
            let _ = out.write_all(prompt.as_bytes());
            let _ = out.flush();
        }
        *section = read_section(input)?;
    }
    let [compares, success, failure] = sections;
    Ok(TxnRequest {
        compare: compares
            .iter()
            .map(|line| parse_compare(line))
            .collect::<Result<_, _>>()?,
        success: success
            .iter()
            .map(|line| parse_operation(line))
            .collect::<Result<_, _>>()?,
        failure: failure
            .iter()
            .map(|line| parse_operation(line))
            .collect::<Result<_, _>>()?,
    })
}

/// Parses a whole txn text (no prompts): the function the fuzz target and
/// the tests call.
pub fn parse_txn(text: &[u8]) -> Result<TxnRequest, CtlError> {
    read_txn(&mut &text[..], None)
}

fn invalid(message: impl Into<String>) -> CtlError {
    CtlError::new(ExitCode::InvalidInput, message)
}

/// Lines up to the next blank one, trimmed. A line must end in `\n`: input
/// that stops first is `EOF`, as Go's `ReadString` reports it.
fn read_section(input: &mut dyn BufRead) -> Result<Vec<String>, CtlError> {
    let mut lines = Vec::new();
    loop {
        let mut raw = Vec::new();
        match input.read_until(b'\n', &mut raw) {
            Ok(_) if raw.last() != Some(&b'\n') => return Err(invalid("EOF")),
            Ok(_) => {}
            Err(error) => return Err(invalid(error.to_string())),
        }
        let line = String::from_utf8_lossy(&raw).trim().to_string();
        if line.is_empty() {
            return Ok(lines);
        }
        lines.push(line);
    }
}

/// One compare line.
pub fn parse_compare(line: &str) -> Result<Compare, CtlError> {
    let malformed = || invalid(format!("malformed comparison: {line}"));
    let (target, rest) = line.split_once('(').ok_or_else(malformed)?;
    let (key, rest) = scan_quoted(rest).ok_or_else(malformed)?;
    let rest = rest.strip_prefix(')').ok_or_else(malformed)?.trim_start();
    let op_len = rest.find(char::is_whitespace).ok_or_else(malformed)?;
    let (op, rest) = rest.split_at(op_len);
    let (value, trailing) = scan_quoted(rest.trim_start()).ok_or_else(|| {
        invalid(format!(
            "malformed comparison: {line}; got {target}({}) {op} \"\"",
            go_quote_bytes(&key)
        ))
    })?;
    if !trailing.trim().is_empty() {
        return Err(malformed());
    }
    let result = match op {
        "=" | "==" => CompareResult::Equal,
        "!=" => CompareResult::NotEqual,
        "<" => CompareResult::Less,
        ">" => CompareResult::Greater,
        other => {
            return Err(invalid(format!(
                "malformed comparison: {line} (unknown operator {other})"
            )));
        }
    };
    let number = || {
        std::str::from_utf8(&value)
            .ok()
            .and_then(|text| parse_int(text, 10).ok())
            .ok_or_else(|| invalid(format!("invalid txn compare request: {line}")))
    };
    let target = match target {
        "ver" | "version" => CompareTarget::Version(number()?),
        "c" | "create" => CompareTarget::Create(number()?),
        "m" | "mod" => CompareTarget::Mod(number()?),
        "val" | "value" => CompareTarget::Value(Bytes::from(value)),
        "lease" => CompareTarget::Lease(number()?),
        other => {
            return Err(invalid(format!(
                "malformed comparison: {line} (unknown target {other})"
            )));
        }
    };
    Ok(Compare {
        result,
        target,
        key: Bytes::from(key),
        range_end: Bytes::new(),
    })
}

/// The commands a txn operation line may hold.
#[derive(Parser, Debug)]
#[command(no_binary_name = true, disable_help_subcommand = true)]
enum Operation {
    Put(PutArgs),
    Get(GetArgs),
    Del(DelArgs),
}

/// One operation line: `put`, `get` or `del` with etcdctl's flags.
pub fn parse_operation(line: &str) -> Result<RequestOp, CtlError> {
    let words = argify(line).map_err(invalid)?;
    if words.len() < 2 {
        return Err(invalid(format!("invalid txn compare request: {line}")));
    }
    let words = words.into_iter().map(OsString::from_vec);
    let invalid_request = || invalid(format!("invalid txn request: {line}"));
    let operation = Operation::try_parse_from(words).map_err(|_| invalid_request())?;
    let op = match operation {
        // A value must be on the line: stdin is the txn itself.
        Operation::Put(put) => RequestOp::Put(put.request(&mut std::io::empty())?),
        Operation::Get(get) => RequestOp::Range(get.request()?),
        Operation::Del(del) => RequestOp::DeleteRange(del.request()?),
    };
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_engine::api::{DeleteRangeRequest, PutRequest, RangeRequest};

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/etcdctl/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(path).unwrap()
    }

    #[test]
    fn the_captured_success_input_parses() {
        let txn = parse_txn(&fixture("txn_success.in")).unwrap();
        assert_eq!(
            txn.compare,
            vec![Compare {
                result: CompareResult::Greater,
                target: CompareTarget::Mod(0),
                key: Bytes::from_static(b"t1"),
                range_end: Bytes::new(),
            }]
        );
        assert_eq!(
            txn.success,
            vec![
                RequestOp::Put(PutRequest {
                    key: Bytes::from_static(b"t1"),
                    value: Bytes::from_static(b"overwrote-t1"),
                    ..PutRequest::default()
                }),
                RequestOp::Range(RangeRequest {
                    key: Bytes::from_static(b"t2"),
                    ..RangeRequest::default()
                }),
            ]
        );
        assert_eq!(txn.failure.len(), 1);
    }

    #[test]
    fn the_captured_failure_input_parses_flags() {
        let txn = parse_txn(&fixture("txn_failure.in")).unwrap();
        assert_eq!(
            txn.compare[0].target,
            CompareTarget::Value(Bytes::from_static(b"nope"))
        );
        assert_eq!(
            txn.failure[1],
            RequestOp::DeleteRange(DeleteRangeRequest {
                key: Bytes::from_static(b"t2"),
                range_end: Bytes::new(),
                prev_kv: true,
            })
        );
        assert!(matches!(&txn.failure[2], RequestOp::Put(p) if p.prev_kv));
    }

    #[test]
    fn the_captured_errors_match_etcdctl() {
        for (input, message) in [
            ("txn_malformed.in", "malformed comparison: bogus"),
            ("txn_eof.in", "EOF"),
        ] {
            let error = parse_txn(&fixture(input)).unwrap_err();
            let expected = String::from_utf8(fixture(&input.replace(".in", ".err"))).unwrap();
            assert_eq!(format!("Error: {}\n", error.message), expected);
            assert_eq!(error.message, message);
            assert_eq!(error.exit, ExitCode::InvalidInput);
        }
    }

    #[test]
    fn compares_cover_every_target_and_operator() {
        let cases = [
            (
                r#"ver("k") = "3""#,
                CompareTarget::Version(3),
                CompareResult::Equal,
            ),
            (
                r#"c("k") != "4""#,
                CompareTarget::Create(4),
                CompareResult::NotEqual,
            ),
            (
                r#"m("k") < "5""#,
                CompareTarget::Mod(5),
                CompareResult::Less,
            ),
            (
                r#"lease("k") > "6""#,
                CompareTarget::Lease(6),
                CompareResult::Greater,
            ),
            (
                r#"val("k") = "a\x00b""#,
                CompareTarget::Value(Bytes::from_static(b"a\x00b")),
                CompareResult::Equal,
            ),
        ];
        for (line, target, result) in cases {
            let compare = parse_compare(line).unwrap();
            assert_eq!((compare.target, compare.result), (target, result), "{line}");
        }
        assert_eq!(
            parse_compare(r#"mod("k") > "x""#).unwrap_err().message,
            r#"invalid txn compare request: mod("k") > "x""#
        );
        assert_eq!(
            parse_compare(r#"size("k") > "1""#).unwrap_err().message,
            r#"malformed comparison: size("k") > "1" (unknown target size)"#
        );
        assert!(parse_compare(r#"mod("k") >= "1""#).is_err());
        assert!(parse_compare(r#"mod("k" > "1""#).is_err());
    }

    #[test]
    fn operations_refuse_what_etcdctl_refuses() {
        assert_eq!(
            parse_operation("get").unwrap_err().message,
            "invalid txn compare request: get"
        );
        assert_eq!(
            parse_operation("watch k").unwrap_err().message,
            "invalid txn request: watch k"
        );
        assert_eq!(
            parse_operation("put k").unwrap_err().exit,
            ExitCode::BadArgs
        );
        assert!(matches!(
            parse_operation("get --prefix a").unwrap(),
            RequestOp::Range(r) if r.range_end.as_ref() == b"b"
        ));
    }

    #[test]
    fn interactive_mode_prompts_before_each_section() {
        let mut prompts = Vec::new();
        read_txn(&mut &fixture("txn_success.in")[..], Some(&mut prompts)).unwrap();
        assert_eq!(String::from_utf8(prompts).unwrap(), PROMPTS.concat());
    }
}

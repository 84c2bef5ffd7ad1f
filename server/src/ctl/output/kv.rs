//! Output of `get`, `put`, `del`, `txn` and `compaction`.

use super::go_format::hex_escaped;
use super::json::{self, Json, ObjectBuilder};
use super::{Output, OutputFormat, PrintOptions, format_not_supported, protobuf};
use keel_engine::api::{
    DeleteRangeResponse, KeyValue, PutResponse, RangeResponse, ResponseOp, TxnResponse,
};

/// `get`: `key\nvalue\n` per pair (`--print-value-only`: values only;
/// `--keys-only` responses print an empty value line, as etcdctl does).
pub fn print_get(options: PrintOptions, response: &RangeResponse, value_only: bool) -> Output {
    match options.format {
        OutputFormat::Simple => {
            let mut out = Vec::new();
            simple_get(&mut out, options.hex, value_only, response);
            Output::stdout(out)
        }
        OutputFormat::Json => json_line(range_json(response)),
        OutputFormat::Protobuf => protobuf::get(response),
        other => format_not_supported(other),
    }
}

/// `put`: `OK`, then the previous pair if `--prev-kv` found one.
pub fn print_put(options: PrintOptions, response: &PutResponse) -> Output {
    match options.format {
        OutputFormat::Simple => {
            let mut out = Vec::new();
            simple_put(&mut out, options.hex, response);
            Output::stdout(out)
        }
        OutputFormat::Json => json_line(put_json(response)),
        OutputFormat::Protobuf => protobuf::put(response),
        other => format_not_supported(other),
    }
}

/// `del`: the number deleted, then the deleted pairs if `--prev-kv`.
pub fn print_delete(options: PrintOptions, response: &DeleteRangeResponse) -> Output {
    match options.format {
        OutputFormat::Simple => {
            let mut out = Vec::new();
            simple_delete(&mut out, options.hex, response);
            Output::stdout(out)
        }
        OutputFormat::Json => json_line(delete_json(response)),
        OutputFormat::Protobuf => protobuf::delete(response),
        other => format_not_supported(other),
    }
}

/// `txn`: `SUCCESS` or `FAILURE`, then each operation's output after a
/// blank line.
pub fn print_txn(options: PrintOptions, response: &TxnResponse) -> Output {
    match options.format {
        OutputFormat::Simple => {
            let mut out = Vec::new();
            simple_txn(&mut out, options.hex, response);
            Output::stdout(out)
        }
        OutputFormat::Json => json_line(txn_json(response)),
        OutputFormat::Protobuf => protobuf::txn(response),
        other => format_not_supported(other),
    }
}

/// `compaction`: `compacted revision N`, in every format (etcdctl prints it
/// directly, not through its printers).
pub fn print_compaction(revision: i64) -> Output {
    Output::stdout(format!("compacted revision {revision}\n"))
}

fn json_line(value: Json) -> Output {
    let mut text = value.render();
    text.push('\n');
    Output::stdout(text)
}

fn push_line(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

pub(super) fn simple_kv(out: &mut Vec<u8>, hex: bool, value_only: bool, kv: &KeyValue) {
    if hex {
        if !value_only {
            push_line(out, hex_escaped(&kv.key).as_bytes());
        }
        push_line(out, hex_escaped(&kv.value).as_bytes());
    } else {
        if !value_only {
            push_line(out, &kv.key);
        }
        push_line(out, &kv.value);
    }
}

fn simple_get(out: &mut Vec<u8>, hex: bool, value_only: bool, response: &RangeResponse) {
    for kv in &response.kvs {
        simple_kv(out, hex, value_only, kv);
    }
}

fn simple_put(out: &mut Vec<u8>, hex: bool, response: &PutResponse) {
    push_line(out, b"OK");
    if let Some(prev) = &response.prev_kv {
        simple_kv(out, hex, false, prev);
    }
}

fn simple_delete(out: &mut Vec<u8>, hex: bool, response: &DeleteRangeResponse) {
    push_line(out, response.deleted.to_string().as_bytes());
    for kv in &response.prev_kvs {
        simple_kv(out, hex, false, kv);
    }
}

/// Nested txns (which etcdctl's txn input cannot express) print like the
/// outer one; etcdctl would print Go's `%+v` of the struct.
fn simple_txn(out: &mut Vec<u8>, hex: bool, response: &TxnResponse) {
    push_line(
        out,
        if response.succeeded {
            b"SUCCESS"
        } else {
            b"FAILURE"
        },
    );
    for op in &response.responses {
        out.push(b'\n');
        match op {
            ResponseOp::Range(range) => simple_get(out, hex, false, range),
            ResponseOp::Put(put) => simple_put(out, hex, put),
            ResponseOp::DeleteRange(delete) => simple_delete(out, hex, delete),
            ResponseOp::Txn(txn) => simple_txn(out, hex, txn),
        }
    }
}

/// `RangeResponse`: header, kvs, more, count.
pub fn range_json(response: &RangeResponse) -> Json {
    ObjectBuilder::new()
        .value("header", Some(json::header(&response.header)))
        .array("kvs", response.kvs.iter().map(json::key_value).collect())
        .flag("more", response.more)
        .signed("count", response.count)
        .build()
}

/// `PutResponse`: header, prev_kv.
pub fn put_json(response: &PutResponse) -> Json {
    ObjectBuilder::new()
        .value("header", Some(json::header(&response.header)))
        .value("prev_kv", response.prev_kv.as_ref().map(json::key_value))
        .build()
}

/// `DeleteRangeResponse`: header, deleted, prev_kvs.
pub fn delete_json(response: &DeleteRangeResponse) -> Json {
    ObjectBuilder::new()
        .value("header", Some(json::header(&response.header)))
        .signed("deleted", response.deleted)
        .array(
            "prev_kvs",
            response.prev_kvs.iter().map(json::key_value).collect(),
        )
        .build()
}

/// `TxnResponse`: header, succeeded, responses (each wrapped as Go's oneof:
/// `{"Response":{"ResponsePut":{...}}}`).
pub fn txn_json(response: &TxnResponse) -> Json {
    let responses = response
        .responses
        .iter()
        .map(|op| {
            let (name, body) = match op {
                ResponseOp::Range(range) => ("ResponseRange", range_json(range)),
                ResponseOp::Put(put) => ("ResponsePut", put_json(put)),
                ResponseOp::DeleteRange(delete) => ("ResponseDeleteRange", delete_json(delete)),
                ResponseOp::Txn(txn) => ("ResponseTxn", txn_json(txn)),
            };
            Json::Object(vec![("Response", Json::Object(vec![(name, body)]))])
        })
        .collect();
    ObjectBuilder::new()
        .value("header", Some(json::header(&response.header)))
        .flag("succeeded", response.succeeded)
        .array("responses", responses)
        .build()
}

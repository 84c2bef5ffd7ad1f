//! `tests/fixtures/gateway/cases.json`: what etcd 3.4.23 answered to each
//! gateway request (see that directory's README.md for the format).

use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The run-time values of one phase, by name (`E1_ID`, `AUTO_LEASE`, ...).
pub type Vars = BTreeMap<String, String>;

/// The whole capture.
pub struct Fixture {
    /// Each phase's run-time values, as etcd gave them.
    pub vars: BTreeMap<String, Vars>,
    /// Every case, in capture order.
    pub cases: Vec<Case>,
}

/// One captured exchange.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub phase: String,
    pub kind: Kind,
}

/// A curl request or a raw exchange.
#[derive(Debug, Clone)]
pub enum Kind {
    Curl(Box<Curl>),
    Raw(Raw),
}

/// A request curl sent and what came back.
#[derive(Debug, Clone)]
pub struct Curl {
    pub method: String,
    pub request_line: String,
    pub request_headers: Vec<(String, String)>,
    /// The body with `@VAR@` placeholders; `None`: no body at all.
    pub body_template: Option<String>,
    pub during: Option<String>,
    pub max_time_seconds: f64,
    /// `HTTP/1.1 200 OK`; empty when no head arrived at all.
    pub status_line: String,
    pub response_headers: Vec<(String, String)>,
    pub chunked: bool,
    pub chunks: Option<Vec<Vec<u8>>>,
    pub stream_complete: Option<bool>,
    pub trailers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub body_truncated_to: Option<usize>,
}

/// Raw bytes on one connection and every byte answered.
#[derive(Debug, Clone)]
pub struct Raw {
    pub request: Vec<u8>,
    pub response: Vec<u8>,
    /// Whether etcd closed the connection (else it was idle after 1 s).
    pub closed: bool,
}

fn pairs(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .map(|pair| {
                    (
                        pair[0].as_str().unwrap().to_string(),
                        pair[1].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn base64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// Reads `cases.json`.
pub fn load() -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gateway/cases.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let vars = doc["vars"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(phase, values)| {
            let values = values
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect();
            (phase.clone(), values)
        })
        .collect();
    let cases = doc["cases"].as_array().unwrap().iter().map(case).collect();
    Fixture { vars, cases }
}

fn case(c: &Value) -> Case {
    let kind = if c["kind"] == "raw" {
        Kind::Raw(Raw {
            request: c["raw_request"].as_str().unwrap().as_bytes().to_vec(),
            response: base64(c["raw_response_base64"].as_str().unwrap()),
            closed: c["connection_end"] == "closed",
        })
    } else {
        let chunks = c["chunks"].as_array().map(|list| {
            list.iter()
                .map(|chunk| chunk.as_str().unwrap().as_bytes().to_vec())
                .collect()
        });
        Kind::Curl(Box::new(Curl {
            method: c["method"].as_str().unwrap().to_string(),
            request_line: c["request_line"].as_str().unwrap().to_string(),
            request_headers: pairs(&c["request_headers"]),
            body_template: c["request_body_template"].as_str().map(str::to_string),
            during: c["during"].as_str().map(str::to_string),
            max_time_seconds: c["max_time"].as_f64().unwrap_or(10.0),
            status_line: c["status_line"].as_str().unwrap_or("").to_string(),
            response_headers: pairs(&c["response_headers"]),
            chunked: c["chunked"].as_bool().unwrap_or(false),
            chunks,
            stream_complete: c["stream_complete"].as_bool(),
            trailers: pairs(&c["trailers"]),
            body: base64(c["body_base64"].as_str().unwrap_or("")),
            body_truncated_to: c["body_truncated_to"].as_u64().map(|n| n as usize),
        }))
    };
    Case {
        name: c["name"].as_str().unwrap().to_string(),
        phase: c["phase"].as_str().unwrap().to_string(),
        kind,
    }
}

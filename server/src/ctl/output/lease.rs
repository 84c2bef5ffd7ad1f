//! Output of `lease grant|revoke|timetolive|list|keep-alive`.
//!
//! etcdctl prints clientv3's lease structs, not the protobuf ones, in JSON:
//! the header's fields sit in the object itself (an embedded
//! `*pb.ResponseHeader`, `omitempty`), followed by fields that are always
//! there (`"ID"`, `"TTL"`, `"Error"`; `"id"`, `"ttl"`, `"granted-ttl"`,
//! `"keys"`). Only revoke prints a protobuf response (`{"header":{...}}`).
//! Table is not a lease format: etcdctl's error, exit 4.

use super::json::{self, Json, ObjectBuilder};
use super::{Output, OutputFormat, PrintOptions, format_not_supported};
use base64::Engine as _;
use keel_engine::api::{
    LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse, LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
};

/// A lease id as etcdctl prints it: Go's `%016x` of the signed id (a
/// negative id keeps its sign in front of the zero padding).
pub fn lease_id_hex(id: i64) -> String {
    if id < 0 {
        format!("-{:015x}", id.unsigned_abs())
    } else {
        format!("{id:016x}")
    }
}

/// `lease grant`: `lease <id> granted with TTL(<ttl>s)`.
pub fn print_lease_grant(options: PrintOptions, response: &LeaseGrantResponse) -> Output {
    match options.format {
        OutputFormat::Simple => Output::stdout(format!(
            "lease {} granted with TTL({}s)\n",
            lease_id_hex(response.id),
            response.ttl_seconds
        )),
        OutputFormat::Json => json_line(
            ObjectBuilder::new()
                .header_fields(&response.header)
                .always("ID", Json::Signed(response.id))
                .always("TTL", Json::Signed(response.ttl_seconds))
                .always("Error", Json::String(String::new()))
                .build(),
        ),
        other => format_not_supported(other),
    }
}

/// `lease revoke ID`: `lease <id> revoked`; JSON is the protobuf response.
pub fn print_lease_revoke(
    options: PrintOptions,
    id: i64,
    response: &LeaseRevokeResponse,
) -> Output {
    match options.format {
        OutputFormat::Simple => Output::stdout(format!("lease {} revoked\n", lease_id_hex(id))),
        OutputFormat::Json => json_line(
            ObjectBuilder::new()
                .value("header", Some(json::header(&response.header)))
                .build(),
        ),
        other => format_not_supported(other),
    }
}

/// `lease keep-alive`: one line per renewal, `lease <id> keepalived with
/// TTL(<ttl>)` (no `s`, as etcdctl prints it).
pub fn print_lease_keep_alive(options: PrintOptions, response: &LeaseKeepAliveResponse) -> Output {
    match options.format {
        OutputFormat::Simple => Output::stdout(format!(
            "lease {} keepalived with TTL({})\n",
            lease_id_hex(response.id),
            response.ttl_seconds
        )),
        OutputFormat::Json => json_line(
            ObjectBuilder::new()
                .header_fields(&response.header)
                .always("ID", Json::Signed(response.id))
                .always("TTL", Json::Signed(response.ttl_seconds))
                .build(),
        ),
        other => format_not_supported(other),
    }
}

/// The line `lease keep-alive` ends with once the lease is gone (simple
/// format only; JSON prints nothing).
pub fn print_lease_keep_alive_ended(options: PrintOptions, id: i64) -> Output {
    match options.format {
        OutputFormat::Simple => {
            Output::stdout(format!("lease {} expired or revoked.\n", lease_id_hex(id)))
        }
        _ => Output::default(),
    }
}

/// `lease timetolive ID [--keys]`: `lease <id> granted with TTL(<g>s),
/// remaining(<r>s)`, with `, attached keys([k1 k2])` when `keys` was asked
/// for; a lease that does not exist is `lease <id> already expired`. JSON
/// has `"keys":null` when there are none (or they were not asked for).
pub fn print_lease_time_to_live(
    options: PrintOptions,
    response: &LeaseTimeToLiveResponse,
    keys: bool,
) -> Output {
    match options.format {
        OutputFormat::Simple => {
            if response.granted_ttl_seconds == 0 && response.ttl_seconds == -1 {
                return Output::stdout(format!(
                    "lease {} already expired\n",
                    lease_id_hex(response.id)
                ));
            }
            let mut out = format!(
                "lease {} granted with TTL({}s), remaining({}s)",
                lease_id_hex(response.id),
                response.granted_ttl_seconds,
                response.ttl_seconds
            )
            .into_bytes();
            if keys {
                out.extend_from_slice(b", attached keys([");
                for (index, key) in response.keys.iter().enumerate() {
                    if index > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(key);
                }
                out.extend_from_slice(b"])");
            }
            out.push(b'\n');
            Output::stdout(out)
        }
        OutputFormat::Json => {
            let keys = if response.keys.is_empty() {
                Json::Null
            } else {
                Json::Array(
                    response
                        .keys
                        .iter()
                        .map(|key| {
                            Json::String(base64::engine::general_purpose::STANDARD.encode(key))
                        })
                        .collect(),
                )
            };
            json_line(
                ObjectBuilder::new()
                    .header_fields(&response.header)
                    .always("id", Json::Signed(response.id))
                    .always("ttl", Json::Signed(response.ttl_seconds))
                    .always("granted-ttl", Json::Signed(response.granted_ttl_seconds))
                    .always("keys", keys)
                    .build(),
            )
        }
        other => format_not_supported(other),
    }
}

/// `lease list`: `found N leases`, then one id per line (in the order the
/// server gave them).
pub fn print_lease_list(options: PrintOptions, response: &LeaseLeasesResponse) -> Output {
    match options.format {
        OutputFormat::Simple => {
            let mut out = format!("found {} leases\n", response.leases.len());
            for id in &response.leases {
                out.push_str(&lease_id_hex(*id));
                out.push('\n');
            }
            Output::stdout(out)
        }
        OutputFormat::Json => {
            let leases = response
                .leases
                .iter()
                .map(|id| Json::Object(vec![("id", Json::Signed(*id))]))
                .collect();
            json_line(
                ObjectBuilder::new()
                    .header_fields(&response.header)
                    .always("leases", Json::Array(leases))
                    .build(),
            )
        }
        other => format_not_supported(other),
    }
}

fn json_line(value: Json) -> Output {
    let mut text = value.render();
    text.push('\n');
    Output::stdout(text)
}
